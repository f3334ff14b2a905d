# SPDX-License-Identifier: MIT
"""CPython's ThreadPoolExecutor on the workloads of bench/thread_pool_scaling.cpp, for one number of workers.

Usage: cpython_thread_scaling.py W N_EMPTY N_CPU N_ROUND_TRIPS N_MAP; prints `key value` lines.
"""
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def empty():
    return None


def burn20():
    end = time.perf_counter() + 20e-6
    while time.perf_counter() < end:
        pass


def echo(x):
    return x


def batch(pool, submitters, n, fn):
    """Seconds for n tasks submitted from `submitters` threads at once, each waiting for its own in order."""
    start = threading.Barrier(submitters + 1)

    def body():
        start.wait()
        for f in [pool.submit(fn) for _ in range(n // submitters)]:
            f.result()

    threads = [threading.Thread(target=body) for _ in range(submitters)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def main():
    workers, n, n_cpu, n_rt, n_map = (int(a) for a in sys.argv[1:6])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        batch(pool, 1, max(1, n // 10), empty)  # starts the threads
        for s in (1, 4, 16):
            print(f"empty_{s}", n / batch(pool, s, n, empty))
        print("cpu20_s", batch(pool, 1, n_cpu, burn20))
        samples = []
        for _ in range(n_rt):
            t0 = time.perf_counter()
            pool.submit(empty).result()
            samples.append((time.perf_counter() - t0) * 1e6)
        print("rtt_us", statistics.median(samples))
        items = [b"x" * 8] * n_map
        t0 = time.perf_counter()
        for _ in pool.map(echo, items, chunksize=64):
            pass
        print("map64", n_map / (time.perf_counter() - t0))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
