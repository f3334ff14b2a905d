#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The flaky-test hunt: runs the whole suite (C++, C, stress, consumer and every binding's tests, as ctest runs
# them) many times in each build, first on a quiet machine and then with every CPU kept busy by burner
# processes, which changes the timing that races hide in. A test that fails even once is a bug, in the test or
# in the library.
#
#   scripts/flake-hunt.sh [N] [preset ...]     N repetitions per build and load (default 5);
#                                              presets default to: dev asan tsan
#
# Each run is logged under build/flake-hunt/<preset>-<quiet|loaded>.log; the summary at the end names every
# test that failed, and the exit status is 1 when any did.
set -uo pipefail
cd "$(dirname "$0")/.."

n=${1:-5}
shift || true
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(dev asan tsan)
case "$n" in '' | *[!0-9]*) echo "usage: $0 [N] [preset ...]" >&2; exit 2 ;; esac

bash scripts/setup-debian.sh >/dev/null
logs=build/flake-hunt
mkdir -p "$logs"
cpus=$(nproc)
burners=()
start_load() {
  for _ in $(seq "$cpus"); do (while :; do :; done) & burners+=($!); done
}
stop_load() {
  [ ${#burners[@]} -gt 0 ] && kill "${burners[@]}" 2>/dev/null && wait "${burners[@]}" 2>/dev/null
  burners=()
}
trap stop_load EXIT

failed=()
for preset in "${presets[@]}"; do
  echo "=== ${preset}: build"
  cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j"$cpus" >/dev/null || { failed+=("${preset}: build"); continue; }
  for load in quiet loaded; do
    log="$logs/${preset}-${load}.log"
    [ "$load" = loaded ] && start_load
    started=$(date +%s)
    # until-fail: each test runs up to N times and stops at its first failure; the others go on.
    ctest --preset "$preset" -j"$cpus" --repeat until-fail:"$n" --output-on-failure >"$log" 2>&1
    rc=$?
    stop_load
    bad=$(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ' | sed -E 's/^\s+[0-9]+ - //' || true)
    echo "    ${load}: ${n} runs, $(( $(date +%s) - started )) s, ctest exit ${rc}${bad:+, failed:}"
    if [ -n "$bad" ]; then
      while IFS= read -r t; do failed+=("${preset} ${load}: ${t}"); echo "      ${t}"; done <<<"$bad"
    elif [ "$rc" -ne 0 ]; then
      failed+=("${preset} ${load}: ctest exit ${rc} (see ${log})")
    fi
  done
done

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "flake hunt: clean (${n} runs of the suite per build, quiet and loaded: ${presets[*]})"
  exit 0
fi
echo "flake hunt: ${#failed[@]} failure(s):"
printf '  %s\n' "${failed[@]}"
echo "logs: ${logs}/"
exit 1
