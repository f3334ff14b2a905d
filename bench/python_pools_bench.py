#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python binding's pools side by side with CPython's, on the same Python functions, in one run.

    PYTHONPATH=bindings/python python3 bench/python_pools_bench.py [--quick] [--start-method fork|forkserver|spawn]

(with PKG_CONFIG_PATH / LD_LIBRARY_PATH finding the libcfutures to measure; scripts/bench.sh sets them). Prints a
Markdown table: time per task or per call of each, and the ratio CPython / cfutures (above 1: cfutures is faster).

- process pool, empty tasks: submit N calls of a function that returns None, then wait for all; time per task.
- process pool, round trip: submit one call and wait for its result, N times; the median.
- process pool, 64 MiB echo: a bytes object of 64 MiB to a worker and back; the median of a few.
- thread pool, empty tasks and round trip: the same on threads.
Both sides use max_workers=2, pools started and warmed before the clock runs; each figure is the best of three
rounds, the rounds of the two sides interleaved.
"""
import argparse
import concurrent.futures
import multiprocessing
import os
import statistics
import sys
import time

import cfutures


def empty(*_):
    return None


def echo(data):
    return data


def per_task_batch(pool, n):
    """Seconds per task: n submits, then every result."""
    start = time.perf_counter()
    futures = [pool.submit(empty) for _ in range(n)]
    for f in futures:
        f.result()
    return (time.perf_counter() - start) / n


def round_trip_median(pool, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        pool.submit(empty).result()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def echo_median(pool, data, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        back = pool.submit(echo, data).result()
        times.append(time.perf_counter() - start)
        assert len(back) == len(data)
    return statistics.median(times)


def warm(pool, workers):
    list(pool.map(empty, range(workers * 20)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tasks (a smoke run)")
    parser.add_argument("--start-method", default="fork", choices=["fork", "forkserver", "spawn"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    workers = args.workers
    rows = []

    def row(name, ours, theirs, unit="us"):
        factor = 1e6 if unit == "us" else 1e3
        rows.append((name, "%.1f %s" % (ours * factor, unit), "%.1f %s" % (theirs * factor, unit), theirs / ours))

    ctx = multiprocessing.get_context(args.start_method)
    data = os.urandom(1 << 20) * 64   # 64 MiB, not compressible
    rounds = 3

    def side_by_side(name, measure, ours, theirs, n_ours, n_theirs, unit="us"):
        """Each side measured `rounds` times, the rounds interleaved (so that neither side always runs on a
        machine just warmed or cooled by the other); the best round of each."""
        mine, others = [], []
        for _ in range(rounds):
            mine.append(measure(ours, n_ours))
            others.append(measure(theirs, n_theirs))
        row(name, min(mine), min(others), unit)

    with cfutures.ProcessPoolExecutor(workers, mp_context=args.start_method) as ours, \
            concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as theirs:
        warm(ours, workers)
        warm(theirs, workers)
        side_by_side("process pool: empty tasks, per task", per_task_batch, ours, theirs, 20000 // scale,
                     5000 // scale)
        side_by_side("process pool: round trip, median", round_trip_median, ours, theirs, 2000 // scale,
                     1000 // scale)
        side_by_side("process pool: 64 MiB bytes echo, median", lambda pool, n: echo_median(pool, data, n), ours,
                     theirs, max(5 // scale, 2), max(5 // scale, 2), unit="ms")
    with cfutures.ThreadPoolExecutor(workers) as ours, concurrent.futures.ThreadPoolExecutor(workers) as theirs:
        warm(ours, workers)
        warm(theirs, workers)
        side_by_side("thread pool: empty tasks, per task", per_task_batch, ours, theirs, 50000 // scale,
                     50000 // scale)
        side_by_side("thread pool: round trip, median", round_trip_median, ours, theirs, 5000 // scale,
                     5000 // scale)

    print("Python %s, %d CPUs, max_workers=%d, start method %s, libcfutures %s"
          % (sys.version.split()[0], os.cpu_count(), workers, args.start_method, cfutures.library_version))
    print()
    print("| | cfutures | CPython concurrent.futures | CPython / cfutures |")
    print("|---|---|---|---|")
    for name, ours, theirs, ratio in rows:
        print("| %s | %s | %s | %.2fx |" % (name, ours, theirs, ratio))


if __name__ == "__main__":
    main()
