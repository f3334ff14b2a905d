#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The MPI executor against raw MPI and mpi4py.futures, one run each, on the same number of ranks:
#   scripts/bench_mpi.sh [ranks] [empty_tasks] [round_trips] [cpu_tasks_per_worker]
# Builds the release preset's mpi_bench, installs this build for the Python binding, then prints each measure
# and the ratios (python3-mpi4py is Debian's; scripts/setup-debian.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=${1:-3}
counts=("${2:-20000}" "${3:-2000}" "${4:-200}")
build=${CF_BENCH_BUILD:-build/release}   # another build directory with mpi_bench built: CF_BENCH_BUILD

bash scripts/setup-debian.sh
if [[ -z ${CF_BENCH_BUILD:-} ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target cfutures cfutures_mpi mpi_bench
fi
prefix=$PWD/$build/bench/prefix
cmake --install "$build" --prefix "$prefix" --component runtime >/dev/null
cmake --install "$build" --prefix "$prefix" --component mpi >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
run=(mpiexec -n "$ranks" --oversubscribe)
py=/usr/bin/python3
peer=bench/peers/mpi4py_futures.py
c=$("${run[@]}" "$build/bench/mpi_bench" "${counts[@]}")
m=$("${run[@]}" "$py" -m mpi4py.futures "$peer" mpi4py "${counts[@]}")
p=$(LD_LIBRARY_PATH=$prefix/lib CFUTURES_LIBRARY=$prefix/lib/libcfutures.so.0 PYTHONPATH=$PWD/bindings/python \
    "${run[@]}" "$py" "$peer" cfutures "${counts[@]}")
value() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
pp=$(value "$c" mpi_ping_pong_us)
echo "MPI executor, $ranks ranks ($((ranks - 1)) workers), $(nproc) CPUs"
printf '%-26s %14s %14s %14s\n' "" "libcfutures C" "cfutures (Py)" "mpi4py.futures"
for k in empty_task_us round_trip_us round_trip_median_us cpu_1ms_elapsed_s cpu_1ms_efficiency; do
  printf '%-26s %14s %14s %14s\n' "$k" "$(value "$c" $k)" "$(value "$p" $k)" "$(value "$m" $k)"
done
ppm=$(value "$c" mpi_ping_pong_median_us)
echo "raw MPI ping-pong (8 bytes): ${pp} us mean, ${ppm} us median"
echo "empty task: C $(ratio "$(value "$m" empty_task_us)" "$(value "$c" empty_task_us)") faster than mpi4py.futures," \
     "Python binding $(ratio "$(value "$m" empty_task_us)" "$(value "$p" empty_task_us)")"
echo "round trip: C $(ratio "$(value "$c" round_trip_us)" "$pp") of the raw ping-pong (means)," \
     "$(ratio "$(value "$c" round_trip_median_us)" "$ppm") (medians); mpi4py.futures $(ratio "$(value "$m" round_trip_us)" "$pp")"
