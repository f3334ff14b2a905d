#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs CPython's own test_concurrent_futures against cfutures (see cpython_suite.py for how it is pointed at
# the binding) and reports, per test class, run / passed / failed / errors / skipped, every failing test with a
# one-line reason, and which tests use private attributes (those may fail).
#
#   bash run-cpython-tests.sh [--threads | --all | --process] [-k TEXT] [-v] [--json PATH] [--gate-process]
#
# --threads (default, or CF_CPYTHON_TESTS=threads): the thread-pool, Future, wait and as_completed classes;
# --all (CF_CPYTHON_TESTS=all): the process-pool classes too (they need the Python-callable process pool);
# --process: only those. Exit status: 0 when the gated classes have no unexpected failure and no dangling
# thread, 1 otherwise, 77 when the suite is not installed (Debian: apt-get install libpython3.11-testsuite).
#
# CPYTHON_TESTS_PYTHON: the interpreter whose test package is used (default /usr/bin/python3).
# Expects PKG_CONFIG_PATH / LD_LIBRARY_PATH to find an installed libcfutures, as run-tests.sh does;
# CF_SANITIZER=asan|tsan preloads the sanitizer runtime into the interpreter, as run-tests.sh does.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${CPYTHON_TESTS_PYTHON:-/usr/bin/python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "run-cpython-tests.sh: no interpreter $PYTHON (set CPYTHON_TESTS_PYTHON)" >&2
    exit 77
fi
PYTHON="$("$PYTHON" -c 'import sys; print(sys.executable)')"
version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
have_suite='import importlib.util as u, sys
sys.exit(0 if u.find_spec("test") and u.find_spec("test.test_concurrent_futures") else 1)'
if ! "$PYTHON" -c "$have_suite" 2>/dev/null; then
    cat >&2 <<MSG
run-cpython-tests.sh: CPython's test suite is not installed for $PYTHON (Python $version):
  test.test_concurrent_futures cannot be imported. Install it, then run this again:
    Debian/Ubuntu:  sudo apt-get install libpython$version-testsuite
  (it provides /usr/lib/python$version/test/test_concurrent_futures.py), or set CPYTHON_TESTS_PYTHON to an
  interpreter that has its test package.
MSG
    exit 77
fi
if ! pkg-config --exists cfutures; then
    echo "run-cpython-tests.sh: pkg-config cannot find cfutures (PKG_CONFIG_PATH?)" >&2
    exit 1
fi

export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
preload=""
case "${CF_SANITIZER:-}" in
    "") ;;
    asan)
        preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}abort_on_error=1:detect_leaks=0"
        export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
        ;;
    tsan)
        preload="$(gcc -print-file-name=libtsan.so)"
        export TSAN_OPTIONS="halt_on_error=1:exitcode=66${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
        ;;
    *) echo "run-cpython-tests.sh: unknown CF_SANITIZER '$CF_SANITIZER' (expected '', asan or tsan)" >&2; exit 2 ;;
esac
# (the child interpreters some tests start inherit LD_PRELOAD, PKG_CONFIG_PATH and LD_LIBRARY_PATH)
if [ -n "$preload" ]; then export LD_PRELOAD="$preload"; fi
cd "$here"
exec "$PYTHON" "$here/cpython_suite.py" "$@"
