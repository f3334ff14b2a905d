#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo: installs what is missing, builds libcfutures (release) and runs examples/demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh
cmake --preset release >/dev/null
cmake --build --preset release --target cfutures_demo
./build/release/examples/cfutures_demo "$@"
