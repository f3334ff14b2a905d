#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bundles the scaling sweeps (thread pool and process pool) for the lent 16-core machine
# (../shared/design/scaling.md): a self-contained folder .bench16/ with the programs, the libraries they need
# beyond glibc, the Python peers (CPython's executors; loky comes from that machine's joblib) and sweep.sh. Run there as
# `cd .bench16 && ./sweep.sh` (it writes $OUT/results.jsonl and prints the tables); here, `./sweep.sh` alone tries
# it with the workers capped at this machine's CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh libtbb-dev
cmake --preset release >/dev/null
cmake --build --preset release --target thread_pool_scaling process_pool_scaling cfutures
b=.bench16
rm -rf "$b"
mkdir -p "$b/bin/peers" "$b/lib"
grep -qx "/$b/" .git/info/exclude 2>/dev/null || echo "/$b/" >> .git/info/exclude
cp build/release/bench/thread_pool_scaling build/release/bench/process_pool_scaling "$b/bin/"
cp bench/peers/cpython_thread_scaling.py bench/peers/python_process_scaling.py bench/peers/cpython_process_pool.py \
   "$b/bin/peers/"
cp -L build/release/libcfutures.so.0 "$b/lib/"
for lib in "$(g++ -print-file-name=libstdc++.so.6)" "$(gcc -print-file-name=libgcc_s.so.1)" \
           "$(ldconfig -p | awk '/libtbb\.so\.12 /{print $NF; exit}')"; do
  cp -L "$lib" "$b/lib/"
done
# The program keeps the build tree's rpath; sweep.sh points the loader at lib/ (LD_LIBRARY_PATH comes first).
cat > "$b/sweep.sh" <<'SWEEP'
#!/usr/bin/env bash
# The scaling sweeps, one run each: every library side by side for each W up to the CPUs present. The two
# time limits add up to 400 s, inside a device run of about 420 s. Tried here with --max-workers 2 (44 s).
set -u
cd "$(dirname "$0")"
out=${OUT:-.}
export LD_LIBRARY_PATH="$PWD/lib"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
timeout 230 ./bin/thread_pool_scaling --json "$out/results.jsonl" "$@"
echo "thread_pool_scaling exit: $?"
timeout 170 ./bin/process_pool_scaling --json "$out/results.jsonl" "$@"
echo "process_pool_scaling exit: $?"
SWEEP
chmod +x "$b/sweep.sh"
env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$PWD/$b/lib" ldd "$b/bin/thread_pool_scaling" "$b/bin/process_pool_scaling"
echo "bundle ready in $b/"
