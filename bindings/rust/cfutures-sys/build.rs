// SPDX-License-Identifier: MIT
//! Finds libcfutures through the `pkg-config` program (no crates) and tells cargo how to link it.
//!
//! Environment: `PKG_CONFIG` (the program to run, default `pkg-config`) and `PKG_CONFIG_PATH` (where the
//! `cfutures.pc` of a non-system install lives, e.g. `<prefix>/lib/pkgconfig`).

use std::env;
use std::process::{self, Command};

const HELP: &str = "\
libcfutures is found through pkg-config. Either
  - install pkg-config (Debian/Ubuntu: `apt-get install pkg-config`), and
  - install libcfutures (`cmake --install <build dir> --prefix <prefix>`), then
  - if <prefix> is not a system prefix, point pkg-config at it:
        export PKG_CONFIG_PATH=<prefix>/lib/pkgconfig
        export LD_LIBRARY_PATH=<prefix>/lib      # so that programs find libcfutures.so.0 at run time
Check with: pkg-config --cflags --libs cfutures";

fn fail(what: &str) -> ! {
    eprintln!("error: cfutures-sys: {what}\n\n{HELP}");
    println!("cargo:warning=cfutures-sys: {}", what.replace('\n', " "));
    process::exit(1);
}

fn main() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-changed=build.rs");

    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let output = match Command::new(&pkg_config).args(["--libs", "cfutures"]).output() {
        Ok(output) => output,
        Err(e) => fail(&format!("could not run `{pkg_config}` ({e}): is pkg-config installed?")),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        fail(&format!(
            "`{pkg_config} --libs cfutures` failed ({}): {}\nPKG_CONFIG_PATH is {:?}",
            output.status,
            stderr.trim(),
            env::var("PKG_CONFIG_PATH").unwrap_or_default()
        ));
    }
    let libs = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut found_cfutures = false;
    for token in libs.split_whitespace() {
        if let Some(dir) = token.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
            // Exported to dependents' build scripts as DEP_CFUTURES_LIBDIR (see `links`).
            println!("cargo:libdir={dir}");
        } else if let Some(lib) = token.strip_prefix("-l") {
            found_cfutures |= lib == "cfutures";
            println!("cargo:rustc-link-lib=dylib={lib}");
        } else if token == "-pthread" {
            // Rust's std already links the thread library.
        } else {
            println!("cargo:rustc-link-arg={token}");
        }
    }
    if !found_cfutures {
        fail(&format!("`{pkg_config} --libs cfutures` printed no -lcfutures: {:?}", libs.trim()));
    }
}
