#!/usr/bin/env bash
# The benchmarks: installs what is missing (oneTBB too, a peer of the scaling sweep), builds the release preset
# and runs each benchmark with its peers. Usage: scripts/bench.sh [workers]; the scaling sweep writes its JSON
# lines to build/release/bench/scaling.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh libtbb-dev
cmake --preset release >/dev/null
cmake --build --preset release --target thread_pool_bench thread_pool_scaling process_pool_bench
# Arguments go to the thread-pool benchmark; the process-pool one runs with its defaults (2 workers).
./build/release/bench/thread_pool_bench "$@"
rm -f build/release/bench/scaling.jsonl
./build/release/bench/thread_pool_scaling --json build/release/bench/scaling.jsonl
./build/release/bench/process_pool_bench
