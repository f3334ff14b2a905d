# SPDX-License-Identifier: MIT
"""Python functions on MPI ranks, on the shapes of bench/mpi_bench.c, in world mode, through mpi4py.futures'
MPIPoolExecutor or the Python binding's cfutures.MpiPoolExecutor:
    mpiexec -n N python3 -m mpi4py.futures mpi4py_futures.py mpi4py [empty_tasks] [round_trips] [cpu_per_worker]
    mpiexec -n N python3 mpi4py_futures.py cfutures [empty_tasks] [round_trips] [cpu_per_worker]
Prints the same "name value" lines."""
import os
import sys
import time
from concurrent.futures import wait


def empty():
    return None


def spin_1ms():
    end = time.perf_counter() + 1e-3
    x = 0
    while time.perf_counter() < end:
        x += 1


def burst(ex, fn, n):
    t0 = time.perf_counter()
    fs = [ex.submit(fn) for _ in range(n)]
    wait(fs)
    return time.perf_counter() - t0


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "mpi4py"
    n_empty = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    n_round = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    per_worker = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    size = int(os.environ.get("OMPI_COMM_WORLD_SIZE") or os.environ.get("PMI_SIZE") or 2)
    workers = size - 1
    if which == "cfutures":
        import cfutures
        executor = cfutures.MpiPoolExecutor   # ranks other than 0 serve inside and end with the pool
    else:
        from mpi4py.futures import MPIPoolExecutor as executor
    with executor() as ex:
        burst(ex, empty, 1000)
        per_empty = burst(ex, empty, n_empty) / n_empty
        times = []
        for _ in range(n_round):
            t0 = time.perf_counter()
            ex.submit(empty).result()
            times.append(time.perf_counter() - t0)
        rt = sum(times) / n_round
        rt_median = sorted(times)[n_round // 2]
        n_cpu = per_worker * workers
        cpu = burst(ex, spin_1ms, n_cpu)
    print("ranks %d" % size)
    print("workers %d" % workers)
    print("empty_task_us %.2f" % (per_empty * 1e6))
    print("round_trip_us %.2f" % (rt * 1e6))
    print("round_trip_median_us %.2f" % (rt_median * 1e6))
    print("cpu_1ms_tasks %d" % n_cpu)
    print("cpu_1ms_elapsed_s %.4f" % cpu)
    print("cpu_1ms_efficiency %.3f" % (n_cpu * 1e-3 / workers / cpu))


if __name__ == "__main__":
    main()
