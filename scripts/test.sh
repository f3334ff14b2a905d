#!/usr/bin/env bash
# The whole test suite: installs what is missing, configures, builds and runs ctest for each preset given
# (default: dev). Presets: dev, release, asan (ASan+UBSan), tsan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(dev)
for preset in "${presets[@]}"; do
  echo "=== preset ${preset}: configure, build, test"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}"
  ctest --preset "${preset}"
done
