# SPDX-License-Identifier: MIT
"""mpi4py.futures' MPIPoolExecutor on the workloads of bench/mpi_pool_bench, over the same ranks.

Run under MPI, rank 0 the client and every other rank a worker:
    mpiexec -n N python3 -m mpi4py.futures mpi4py_futures.py tasks round_trips cpu_tasks cpu_ms
Prints `key value` lines (µs, and the speed-up of cpu_tasks tasks of cpu_ms ms of CPU over running them one after
another).
"""
import statistics
import sys
import time

from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor, wait


def empty():
    return None


def spin(ms):
    """Keeps a CPU busy for ms milliseconds (a clock-bounded loop, as the C benchmark's task)."""
    end = time.perf_counter() + ms / 1000.0
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def main():
    tasks, round_trips, cpu_tasks, cpu_ms = (int(a) for a in sys.argv[1:5])
    workers = MPI.COMM_WORLD.Get_size() - 1
    with MPIPoolExecutor() as pool:
        pool.submit(empty).result()  # every worker up before the clock starts
        wait([pool.submit(empty) for _ in range(workers * 4)])

        t0 = time.perf_counter()
        wait([pool.submit(empty) for _ in range(tasks)])
        print("empty_us_per_task", (time.perf_counter() - t0) / tasks * 1e6)

        samples = []
        for _ in range(round_trips):
            t0 = time.perf_counter()
            pool.submit(empty).result()
            samples.append((time.perf_counter() - t0) * 1e6)
        samples.sort()
        print("round_trip_median_us", statistics.median(samples))
        print("round_trip_p99_us", samples[min(len(samples) - 1, int(0.99 * len(samples)))])

        t0 = time.perf_counter()
        wait([pool.submit(spin, cpu_ms) for _ in range(cpu_tasks)])
        elapsed = time.perf_counter() - t0
        print("cpu_speedup", cpu_tasks * cpu_ms / 1000.0 / elapsed)
    print("workers", workers)


if __name__ == "__main__":
    main()
