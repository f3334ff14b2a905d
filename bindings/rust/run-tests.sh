#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and runs the Rust binding's tests and both examples against the libcfutures that pkg-config finds.
#
# The caller sets PKG_CONFIG_PATH / LD_LIBRARY_PATH. Environment:
#   CF_BINDINGS_BUILD_DIR  where build outputs go (default /tmp/cf-bindings-rust; nothing is written to the source
#                          tree except Cargo.lock, which is committed)
#   CF_SANITIZER           "", "asan" or "tsan": the installed library was built with that sanitizer
#   CARGO                  the cargo to use (default: cargo in PATH)
#   CF_RUST_MSRV_CARGO / CF_RUST_MSRV_RUSTC
#                          a Rust 1.63 toolchain to also build and test with in the normal run (default
#                          /usr/bin/cargo + /usr/bin/rustc when present; set CF_RUST_MSRV_CARGO=none to skip)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${CF_BINDINGS_BUILD_DIR:-/tmp/cf-bindings-rust}"
sanitizer="${CF_SANITIZER:-}"
cargo="${CARGO:-cargo}"
mkdir -p "$build"
cd "$here"

export RUST_BACKTRACE=0          # the tests panic on purpose; keep their output short
export CARGO_TERM_COLOR=never

say() { printf '\n=== rust: %s\n' "$*"; }

if ! command -v pkg-config >/dev/null; then
    echo "rust: pkg-config is not installed (apt-get install pkg-config)" >&2
    exit 1
fi
if ! pkg-config --exists cfutures; then
    echo "rust: pkg-config does not find cfutures; set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig" >&2
    exit 1
fi
say "libcfutures $(pkg-config --modversion cfutures): $(pkg-config --libs cfutures)"
say "$("$cargo" --version), $(rustc --version)"

start=$SECONDS

run_examples() { # cargo args before `run`, e.g. "--target x86_64-unknown-linux-gnu"
    say "example: primes (process pool, spawn)"
    "$cargo" run --offline -q "$@" --example primes -- spawn
    say "example: primes (process pool, forkserver)"
    "$cargo" run --offline -q "$@" --example primes -- forkserver
    say "example: downloads (20-thread pool)"
    "$cargo" run --offline -q "$@" --example downloads
}

case "$sanitizer" in
"")
    export CARGO_TARGET_DIR="$build/target"
    say "cargo test (unit, layout, thread pool, process pool, doc tests)"
    "$cargo" test --offline
    run_examples

    # Documentation builds need neither pkg-config nor the library: docs.rs (DOCS_RS set, no pkg-config there), and
    # a plain `cargo doc` where pkg-config is missing. Linking a program there must still fail, naming the library.
    docs_target="$build/target-docs-rs"
    say "docs.rs-style cargo doc (DOCS_RS=1, PKG_CONFIG=/nonexistent)"
    DOCS_RS=1 PKG_CONFIG=/nonexistent CARGO_TARGET_DIR="$docs_target" "$cargo" doc --offline -q
    say "cargo doc without pkg-config (PKG_CONFIG=/nonexistent): warns, does not fail"
    PKG_CONFIG=/nonexistent CARGO_TARGET_DIR="$docs_target" "$cargo" doc --offline -q
    say "linking without pkg-config fails, naming the library"
    if link_log="$(PKG_CONFIG=/nonexistent CARGO_TARGET_DIR="$docs_target" "$cargo" build --offline --example downloads 2>&1)"; then
        echo "rust: a build without pkg-config linked" >&2
        exit 1
    fi
    if ! grep -q "could not run \`/nonexistent\`" <<<"$link_log" || ! grep -q -- "-lcfutures" <<<"$link_log"; then
        echo "$link_log" >&2
        echo "rust: a build without pkg-config failed without saying why" >&2
        exit 1
    fi

    msrv_cargo="${CF_RUST_MSRV_CARGO:-/usr/bin/cargo}"
    msrv_rustc="${CF_RUST_MSRV_RUSTC:-/usr/bin/rustc}"
    if [ "$msrv_cargo" != none ] && [ -x "$msrv_cargo" ] && [ -x "$msrv_rustc" ]; then
        say "MSRV: $("$msrv_cargo" --version), $("$msrv_rustc" --version): cargo test"
        # RUSTC/RUSTDOC: otherwise this cargo would run the rustup proxy's (newer) rustc found in PATH.
        CARGO_TARGET_DIR="$build/target-msrv" RUSTC="$msrv_rustc" RUSTDOC="$(dirname "$msrv_rustc")/rustdoc" \
            "$msrv_cargo" test --offline
    else
        say "MSRV check skipped (no Rust 1.63 toolchain at $msrv_cargo / $msrv_rustc)"
    fi
    ;;

asan)
    # The library links gcc's ASan runtime (libasan.so), which must be the first library loaded: it is preloaded
    # into the test programs through cargo's runner (not into cargo or rustc). The Rust code itself is
    # instrumented with -Zsanitizer=address (an unstable flag: RUSTC_BOOTSTRAP=1 allows it on a stable
    # toolchain) using that same gcc runtime (-Zexternal-clangrt) instead of rustc's own, since two ASan runtimes
    # cannot share a process. Rust's std stays uninstrumented (-Zbuild-std would need the rust-src component).
    libasan="$(gcc -print-file-name=libasan.so)"
    host="$(rustc -vV | sed -n 's/^host: //p')"
    runner_var="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
    export "$runner_var"="env LD_PRELOAD=$libasan"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    export CARGO_TARGET_DIR="$build/target-asan"
    rustflags="-Zsanitizer=address -Zexternal-clangrt -Clink-arg=-lasan"
    say "asan: building the tests with RUSTFLAGS='$rustflags' (RUSTC_BOOTSTRAP=1), runtime $libasan"
    if RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags" "$cargo" test --offline --target "$host" --tests --no-run; then
        export RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags"
        target_args=(--target "$host")
        say "asan: Rust code instrumented; running the tests (doc tests are not run under ASan)"
    else
        say "asan: this toolchain cannot build instrumented Rust code (needs -Zsanitizer and -Zexternal-clangrt," \
            "Rust >= 1.80 with RUSTC_BOOTSTRAP=1): running uninstrumented Rust against the ASan library instead"
        export CARGO_TARGET_DIR="$build/target-asan-plain"
        target_args=(--target "$host")
    fi
    "$cargo" test --offline "${target_args[@]}" --tests
    run_examples "${target_args[@]}"
    ;;

tsan)
    # Rust can instrument its own code with -Zsanitizer=thread, but not its std without -Zbuild-std (the
    # rust-src component, not installed and not downloadable here); then every synchronisation inside std
    # (Mutex, Condvar, mpsc, Arc, the test harness) is invisible to TSan, which reports false races on it, and
    # gcc 12's libtsan also lacks the __tsan_memcpy family that rustc's instrumentation calls. So the Rust
    # code runs uninstrumented, with gcc's libtsan preloaded: the library's own code is checked, as driven by
    # the Rust tests. Reports whose racing accesses are both outside the library (Rust std, the harness) are
    # counted and shown as false positives; any report with an access inside libcfutures fails the run.
    libtsan="$(gcc -print-file-name=libtsan.so)"
    host="$(rustc -vV | sed -n 's/^host: //p')"
    runner_var="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
    export "$runner_var"="env LD_PRELOAD=$libtsan"
    export CARGO_TARGET_DIR="$build/target-tsan"
    logdir="$build/tsan-logs"
    rm -rf "$logdir"
    mkdir -p "$logdir"
    # halt_on_error and exitcode are ours to set (a caller's TSAN_OPTIONS, e.g. the tsan preset's, would stop at the
    # first false positive): later settings win.
    export TSAN_OPTIONS="${TSAN_OPTIONS:-} second_deadlock_stack=1 halt_on_error=0 exitcode=0 log_path=$logdir/tsan"
    say "tsan: Rust std cannot be TSan-instrumented here (see run-tests.sh); running uninstrumented Rust with $libtsan"
    "$cargo" test --offline --target "$host" --tests
    run_examples --target "$host"
    # One report per "WARNING:" block; it involves the library when an access (the first frame past the
    # sanitizer's interceptors) is in libcfutures.
    total=0 library=0
    for log in "$logdir"/tsan*; do
        [ -e "$log" ] || continue
        read -r t l < <(awk '
            /^WARNING: ThreadSanitizer/ { if (inrep) { n++; if (lib) m++ } inrep = 1; lib = 0; want = 0; next }
            /^  (Write|Read|Atomic|Previous)/ { want = 1; next }
            want && /^    #[0-9]+ / {
                if ($0 ~ /libsanitizer|libtsan\.so/) next
                if ($0 ~ /libcfutures\.so|\/src\/.*\.(cpp|hpp)|\/capi\/.*\.cpp/) lib = 1
                want = 0
            }
            END { if (inrep) { n++; if (lib) m++ } print n + 0, m + 0 }' "$log")
        total=$((total + t))
        library=$((library + l))
        if [ "$l" -gt 0 ]; then
            echo "--- $log (reports involving libcfutures):"
            cat "$log"
        fi
    done
    say "tsan: $total report(s) in all, $library with an access inside libcfutures (logs in $logdir)"
    if [ "$library" -gt 0 ]; then
        echo "rust: ThreadSanitizer reported races in libcfutures" >&2
        exit 1
    fi
    ;;

*)
    echo "rust: unknown CF_SANITIZER=$sanitizer (expected asan, tsan or nothing)" >&2
    exit 1
    ;;
esac

say "all passed in $((SECONDS - start)) s"
