#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and tests the Go binding of libcfutures, then builds and runs both examples.
# The caller sets PKG_CONFIG_PATH and LD_LIBRARY_PATH for the libcfutures to test; the binding finds it only
# through `pkg-config cfutures`. Env: CF_BINDINGS_BUILD_DIR (default /tmp/cf-bindings-go) for every build
# output; CF_SANITIZER ("", "asan" or "tsan"): how the installed library was built; GO (default: go).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${CF_BINDINGS_BUILD_DIR:-/tmp/cf-bindings-go}"
sanitizer="${CF_SANITIZER:-}"
go="${GO:-go}"

if [[ "$sanitizer" == tsan ]]; then
    echo "go binding: CF_SANITIZER=tsan: nothing runs. Go's race detector (-race) is its own ThreadSanitizer"
    echo "  runtime linked into the Go program; it cannot be combined with a library built with gcc's"
    echo "  -fsanitize=thread (libtsan), and a Go program without -race cannot host libtsan either (TSan does"
    echo "  not follow goroutine stack switches). The Go binding is race-checked by 'go test -race' against the"
    echo "  normal library instead, in the default run."
    exit 77  # ctest reports the test as skipped (SKIP_RETURN_CODE), not as passed
fi
case "$sanitizer" in "" | asan) ;; *) echo "go binding: unknown CF_SANITIZER '$sanitizer'" >&2; exit 2 ;; esac

mkdir -p "$build/bin" "$build/tmp"
export GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOENV=off GOTOOLCHAIN=local
export GOCACHE="$build/gocache${sanitizer:+-$sanitizer}" GOPATH="$build/gopath" GOTMPDIR="$build/tmp"
export CGO_ENABLED=1
# Go's build cache does not notice a change in a C header from outside the module (the installed cfutures.h):
# a cached object built against an older header would see options structs of the old size. The header's hash
# in CGO_CFLAGS (part of the cache key) makes a new header a new build.
header_hash="$(cat "$(pkg-config --variable=includedir cfutures)"/cfutures/*.h | sha256sum | cut -c1-16)"
export CGO_CFLAGS="${CGO_CFLAGS:--g -O2} -DCFGO_HEADERS_${header_hash}"

cd "$here"
start=$SECONDS
echo "go binding: $("$go" version), libcfutures $(pkg-config --modversion cfutures) from $(pkg-config --variable=libdir cfutures)"
"$go" vet ./...

if [[ "$sanitizer" == asan ]]; then
    # The library was built with -fsanitize=address,undefined: the Go program must be built with -asan so that
    # the ASan runtime comes first. UBSan findings stop the run.
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0}"
    echo "go binding: CF_SANITIZER=asan: tests and examples built with 'go build -asan'; -race is not run"
    echo "  (Go cannot combine -race with -asan, and the ASan library needs the ASan runtime in the program)."
    flags=(-asan)
    "$go" test "${flags[@]}" -count=1 -timeout 150s ./...
else
    flags=()
    echo "go binding: go test (GODEBUG=cgocheck=2)"
    GODEBUG=cgocheck=2 "$go" test -count=1 -timeout 120s ./...
    echo "go binding: go test -race"
    "$go" test -race -count=1 -timeout 120s ./...
fi

echo "go binding: examples"
"$go" build "${flags[@]}" -o "$build/bin/" ./examples/primes ./examples/downloads
"$build/bin/primes"
"$build/bin/downloads"
echo "go binding: all passed in $((SECONDS - start)) s"
