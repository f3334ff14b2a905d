#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the Python binding's test suite, then both examples as smoke tests.
# Expects PKG_CONFIG_PATH / LD_LIBRARY_PATH to find an installed libcfutures (pkg-config cfutures).
# CF_SANITIZER=asan|tsan: the installed library was built with that sanitizer; the interpreter (not instrumented)
# then runs with the sanitizer runtime preloaded.
# CF_BINDINGS_BUILD_DIR: where the test task library is compiled (default /tmp/cf-bindings-python).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CF_BINDINGS_BUILD_DIR="${CF_BINDINGS_BUILD_DIR:-/tmp/cf-bindings-python}"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
# The interpreter itself, not a wrapper script (a pyenv shim is a bash script, which does not survive a
# preloaded sanitizer runtime).
PYTHON="$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')"
mkdir -p "$CF_BINDINGS_BUILD_DIR"
preload=""

pkg-config --exists cfutures || { echo "run-tests.sh: pkg-config cannot find cfutures (PKG_CONFIG_PATH?)" >&2; exit 1; }
echo "python binding: $("$PYTHON" --version 2>&1), libcfutures $(pkg-config --modversion cfutures) in $(pkg-config --variable=libdir cfutures)"

case "${CF_SANITIZER:-}" in
    "") ;;
    asan)
        # CPython is not built with ASan: the runtime must be loaded first, and CPython's allocations that live
        # until exit (by design) would be reported as leaks.
        preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}abort_on_error=1:detect_leaks=0"  # later settings win
        export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
        echo "asan: LD_PRELOAD=$preload ASAN_OPTIONS=$ASAN_OPTIONS (leak checking off: CPython keeps memory until exit by design)"
        ;;
    tsan)
        preload="$(gcc -print-file-name=libtsan.so)"
        export TSAN_OPTIONS="halt_on_error=1:exitcode=66${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
        echo "tsan: LD_PRELOAD=$preload TSAN_OPTIONS=$TSAN_OPTIONS"
        ;;
    *) echo "run-tests.sh: unknown CF_SANITIZER '$CF_SANITIZER' (expected '', asan or tsan)" >&2; exit 2 ;;
esac
# Only the interpreter runs with the sanitizer runtime preloaded.
py=(env ${preload:+LD_PRELOAD="$preload"} "$PYTHON")

start=$SECONDS
cd "$here"
echo "== unit tests"
"${py[@]}" -m unittest discover -s tests -t . -v || { echo "python binding: unit tests FAILED" >&2; exit 1; }

echo "== example: downloads.py"
"${py[@]}" examples/downloads.py
echo "== example: primes.py"
"${py[@]}" examples/primes.py
echo "python binding: all passed in $((SECONDS - start)) s"
