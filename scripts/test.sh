#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite: installs what is missing, then for each preset given configures, builds and runs ctest
# (C++, C, stress, consumer, package and the Rust, Go and Python bindings), and for "fuzz" the short fuzzing run.
# Default: dev fuzz. Presets: dev, release, asan (ASan+UBSan), tsan, and fuzz (scripts/fuzz.sh, about 60 s).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(dev fuzz)
for preset in "${presets[@]}"; do
  if [ "$preset" = fuzz ]; then
    echo "=== fuzz: libFuzzer targets, 15 s each (scripts/fuzz.sh; the long run is scripts/fuzz.sh 3600)"
    bash scripts/fuzz.sh
    continue
  fi
  echo "=== preset ${preset}: configure, build, test"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}"
  ctest --preset "${preset}"
done
