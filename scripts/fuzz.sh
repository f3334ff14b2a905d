#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) into build/fuzz and runs each for a while.
#
#   scripts/fuzz.sh            # the short run: 15 s per target, about 60 s in all (part of the test command)
#   scripts/fuzz.sh 3600       # the long run: an hour per target
#   scripts/fuzz.sh 60 fuzz_wire fuzz_typed_payload   # some targets only
#
# Each target runs on a copy of its committed corpus (build/fuzz/corpus-work/<target>), so the repository's
# corpus is not changed; see tests/fuzz/README.md to merge new finds back. Exits non-zero when any target
# crashes, leaks, times out or runs out of memory; the input is left in build/fuzz/artifacts/<target>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-15}"
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_wire fuzz_shm_records fuzz_typed_payload fuzz_capi_sequence)
case "$seconds" in ''|*[!0-9]*) echo "usage: $0 [seconds-per-target] [target...]" >&2; exit 2 ;; esac

build="$root/build/fuzz"
for tool in clang clang++ cmake; do
    command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing (apt-get install clang libclang-rt-14-dev cmake)" >&2; exit 2; }
done

if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-2}" >/dev/null

# Sanitizer settings: leaks are failures; UBSan stops at the first report (the build uses -fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
summary=()
for t in "${targets[@]}"; do
    corpus="$root/tests/fuzz/corpus/$t"
    work="$build/corpus-work/$t"
    artifacts="$build/artifacts/$t"
    rm -rf "$work"
    mkdir -p "$work" "$artifacts"
    [ -d "$corpus" ] && cp -r "$corpus/." "$work/"
    dict=()
    [ -f "$root/tests/fuzz/$t.dict" ] && dict=(-dict="$root/tests/fuzz/$t.dict")
    log="$build/$t.log"
    echo "== $t: ${seconds}s (log: ${log#$root/})"
    rc=0
    # The work copy comes first: new inputs go there; the committed corpus is only read.
    "$build/$t" "$work" "$corpus" "${dict[@]}" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
    execs="$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -1)"
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
    [ -n "$done_line" ] && echo "   $done_line"
    if [ "$rc" -ne 0 ]; then
        echo "   FAILED (exit $rc): $(grep -E 'ERROR: |SUMMARY: |check failed' "$log" | head -3 | tr '\n' ' ')"
        ls "$artifacts" | sed 's/^/   artifact: /'
        status=1
        summary+=("$t: FAILED after ${execs:-?} executions")
    else
        summary+=("$t: ok, ${execs:-?} executions")
    fi
done
echo "== summary"
printf '   %s\n' "${summary[@]}"
exit "$status"
