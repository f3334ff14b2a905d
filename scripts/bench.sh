#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmarks: installs what is missing (oneTBB, a peer of the thread-pool sweep; joblib, whose loky is a peer
# of the process-pool sweep), builds the release preset and runs each benchmark with its peers. Usage:
# scripts/bench.sh [workers]; the scaling sweeps write their JSON lines to build/release/bench/scaling.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh libtbb-dev python3-joblib
cmake --preset release >/dev/null
cmake --build --preset release --target thread_pool_bench cpp_api_bench thread_pool_scaling process_pool_bench \
  process_pool_scaling compose_bench
# The peers run under Debian's python3, where python3-joblib put loky (a python3 earlier in PATH may lack it).
[ -x /usr/bin/python3 ] && export CF_BENCH_PYTHON=/usr/bin/python3
# Arguments go to the thread-pool benchmark; the process-pool one runs with its defaults (2 workers).
./build/release/bench/thread_pool_bench "$@"
./build/release/bench/cpp_api_bench "$@"
rm -f build/release/bench/scaling.jsonl
./build/release/bench/thread_pool_scaling --json build/release/bench/scaling.jsonl
./build/release/bench/process_pool_bench
./build/release/bench/process_pool_scaling --json build/release/bench/scaling.jsonl
./build/release/bench/compose_bench
# The Python binding's pools against CPython's, on the same Python functions (a fresh install of this build).
cmake --install build/release --prefix build/release/bench/prefix >/dev/null
PKG_CONFIG_PATH=$PWD/build/release/bench/prefix/lib/pkgconfig LD_LIBRARY_PATH=$PWD/build/release/bench/prefix/lib \
  PYTHONPATH=$PWD/bindings/python "${CF_BENCH_PYTHON:-python3}" bench/python_pools_bench.py
