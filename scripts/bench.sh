#!/usr/bin/env bash
# The benchmarks: installs what is missing, builds the release preset and runs each benchmark with its peers.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh
cmake --preset release >/dev/null
cmake --build --preset release --target thread_pool_bench process_pool_bench
# Arguments go to the thread-pool benchmark; the process-pool one runs with its defaults (2 workers).
./build/release/bench/thread_pool_bench "$@"
./build/release/bench/process_pool_bench
