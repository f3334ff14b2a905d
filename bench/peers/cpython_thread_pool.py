# SPDX-License-Identifier: MIT
"""CPython's ThreadPoolExecutor on the workloads of bench/thread_pool_bench.cpp; prints `key value` lines."""
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait


def empty():
    return None


def echo(x):
    return x


def main():
    workers = int(sys.argv[1])
    n_tasks, n_round_trips, n_map = (int(a) for a in sys.argv[2:5])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pool.submit(empty).result()  # start a thread before timing
        t0 = time.perf_counter()
        wait([pool.submit(empty) for _ in range(n_tasks)])
        print("throughput_us", (time.perf_counter() - t0) / n_tasks * 1e6)

        samples = []
        for _ in range(n_round_trips):
            t0 = time.perf_counter()
            pool.submit(empty).result()
            samples.append((time.perf_counter() - t0) * 1e6)
        samples.sort()
        print("rt_median_us", statistics.median(samples))
        print("rt_p99_us", samples[int(len(samples) * 0.99)])

        items = [b"x" * 8] * n_map
        for chunk in (1, 256):
            t0 = time.perf_counter()
            for _ in pool.map(echo, items, chunksize=chunk):
                pass
            print(f"map{chunk}_us", (time.perf_counter() - t0) / n_map * 1e6)


if __name__ == "__main__":
    main()
