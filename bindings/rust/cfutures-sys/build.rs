// SPDX-License-Identifier: MIT
//! Finds libcfutures through the `pkg-config` program (no crates) and tells cargo how to link it.
//!
//! Environment: `PKG_CONFIG` (the program to run, default `pkg-config`) and `PKG_CONFIG_PATH` (where the
//! `cfutures.pc` of a non-system install lives, e.g. `<prefix>/lib/pkgconfig`).
//!
//! Documentation builds need no library. With `DOCS_RS` set (docs.rs has neither pkg-config nor libcfutures) this
//! script probes nothing and emits no link directive. Without it, a missing pkg-config or library must not break
//! `cargo doc` either, but a build script cannot tell `cargo doc` from `cargo build` (cargo even reuses its output
//! for both). So when the library is not found, the script does not fail: it explains why in a warning, still asks
//! for `-lcfutures`, and leaves the failure to the link, the first step that needs the library. `cargo doc` and
//! `cargo check` then work, and building a program (a test, an example, a binary) stops with that warning and the
//! linker's "cannot find -lcfutures". Until the probe succeeds, it runs again at every build.

use std::env;
use std::path::Path;
use std::process::Command;

const HELP: &str = "\
libcfutures is found through pkg-config. Either
  - install pkg-config (Debian/Ubuntu: `apt-get install pkg-config`), and
  - install libcfutures (`cmake --install <build dir> --prefix <prefix>`), then
  - if <prefix> is not a system prefix, point pkg-config at it:
        export PKG_CONFIG_PATH=<prefix>/lib/pkgconfig
        export LD_LIBRARY_PATH=<prefix>/lib      # so that programs find libcfutures.so.0 at run time
Check with: pkg-config --cflags --libs cfutures";

/// The library was not found: warn (shown by cargo for path and workspace packages), and leave it to the link to
/// fail, so that documentation builds still work.
fn not_found(what: &str) {
    eprintln!("error: cfutures-sys: {what}\n\n{HELP}");
    println!("cargo:warning=cfutures-sys: {}", what.replace('\n', " "));
    println!(
        "cargo:warning=cfutures-sys: libcfutures is not linked: `cargo doc` and `cargo check` work, but linking a \
         program fails (cannot find -lcfutures). Install pkg-config and libcfutures, and set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig \
         for a non-system prefix (see `pkg-config --libs cfutures`)."
    );
    println!("cargo:rustc-link-lib=dylib=cfutures");
    // A path that never exists: cargo then runs this script again at every build, so that installing pkg-config
    // or the library (which changes no variable it watches) is noticed.
    let out_dir = env::var("OUT_DIR").unwrap_or_else(|_| ".".to_string());
    let never = Path::new(&out_dir).join("probe-again-until-libcfutures-is-found");
    println!("cargo:rerun-if-changed={}", never.display());
}

/// `pkg-config --libs cfutures`, or why it failed.
fn probe(pkg_config: &str) -> Result<String, String> {
    let output = Command::new(pkg_config)
        .args(["--libs", "cfutures"])
        .output()
        .map_err(|e| format!("could not run `{pkg_config}` ({e}): is pkg-config installed?"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "`{pkg_config} --libs cfutures` failed ({}): {}\nPKG_CONFIG_PATH is {:?}",
            output.status,
            stderr.trim(),
            env::var("PKG_CONFIG_PATH").unwrap_or_default()
        ));
    }
    let libs = String::from_utf8_lossy(&output.stdout).into_owned();
    if !libs.split_whitespace().any(|token| token == "-lcfutures") {
        return Err(format!("`{pkg_config} --libs cfutures` printed no -lcfutures: {:?}", libs.trim()));
    }
    Ok(libs)
}

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    println!("cargo:rerun-if-changed=build.rs");

    if env::var_os("DOCS_RS").is_some() {
        // A documentation build on docs.rs: nothing is linked, so nothing is looked for.
        return;
    }

    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let libs = match probe(&pkg_config) {
        Ok(libs) => libs,
        Err(why) => return not_found(&why),
    };
    for token in libs.split_whitespace() {
        if let Some(dir) = token.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
            // Exported to dependents' build scripts as DEP_CFUTURES_LIBDIR (see `links`).
            println!("cargo:libdir={dir}");
        } else if let Some(lib) = token.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        } else if token == "-pthread" {
            // Rust's std already links the thread library.
        } else {
            println!("cargo:rustc-link-arg={token}");
        }
    }
}
