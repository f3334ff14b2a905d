# SPDX-License-Identifier: MIT
"""CPython's ProcessPoolExecutor (fork context unless stated) on the workloads of bench/process_pool_bench.cpp.

Prints `key value` lines. Usage: cpython_process_pool.py workers tasks round_trips map_items payload_bytes
starts cpu_tasks
"""
import math
import multiprocessing
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, wait

PRIMES = [112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419]
EXPECTED = [True, True, True, True, True, False]
MASK64 = (1 << 64) - 1


def empty():
    return None


def echo(x):
    return x


def churn(steps):
    """The same xorshift chain as the C benchmark's, in 64-bit arithmetic."""
    x = 88172645463325252
    for _ in range(steps):
        x ^= (x << 13) & MASK64
        x ^= x >> 7
        x ^= (x << 17) & MASK64
    return x


def is_prime(n):
    """The Python docs' ProcessPoolExecutor example, unchanged."""
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):
        if n % i == 0:
            return False
    return True


def best_of(runs, f):
    return min(f() for _ in range(runs))


def own_cpu_ms():
    """CPU time (user + system) of this process so far, all its threads but none of its children."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return (u.ru_utime + u.ru_stime) * 1e3


def round_trips_us(pool, n):
    """n round trips of an empty task, one in flight at a time: their median and p99 in µs."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        pool.submit(empty).result()
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def report(key, value):
    print(key, value, flush=True)


def small_tasks(fork, workers, n_tasks, n_round_trips, n_map):
    with ProcessPoolExecutor(max_workers=workers, mp_context=fork) as pool:
        pool.submit(empty).result()  # start the workers before timing

        def throughput():
            t0 = time.perf_counter()
            fs = [pool.submit(empty) for _ in range(n_tasks)]
            wait(fs)
            t = (time.perf_counter() - t0) / n_tasks * 1e6
            for f in fs:
                f.result()
            return t

        report("throughput_us", best_of(3, throughput))

        median, p99 = round_trips_us(pool, n_round_trips)
        report("rt_median_us", median)
        report("rt_p99_us", p99)

        items = [b"%08d" % (i % 100000000) for i in range(n_map)]

        def mapped():
            t0 = time.perf_counter()
            out = list(pool.map(echo, items, chunksize=256))
            t = (time.perf_counter() - t0) / n_map * 1e6
            assert out == items, "map results differ"
            return t

        report("map256_us", best_of(3, mapped))


def large_payload(fork, workers, payload):
    data = bytes(i * 131 % 256 for i in range(256)) * (payload // 256) + b"x" * (payload % 256)
    seconds = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=fork) as pool:
        for run in range(6):  # the first run is a warm-up, as in the C benchmark
            t0 = time.perf_counter()
            back = pool.submit(echo, data).result()
            t = time.perf_counter() - t0
            assert back == data, "the echoed payload differs"
            del back
            if run > 0:
                seconds.append(t)
    report("echo_mb_s", payload / 1e6 / statistics.median(seconds))


def start_to_shutdown_ms(context, workers, starts):
    ms = []
    for _ in range(starts):
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pool.submit(empty).result()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def cpu_bound(fork, workers, cpu_tasks):
    probe = 20000

    def per_step_us():
        t0 = time.perf_counter()
        churn(probe)
        return (time.perf_counter() - t0) / probe * 1e6

    steps = int(1000 / best_of(5, per_step_us))  # about 1 ms of pure Python
    expected = churn(steps)

    def sequential():
        t0 = time.perf_counter()
        for _ in range(cpu_tasks):
            churn(steps)
        return (time.perf_counter() - t0) * 1e3

    report("cpu_steps", steps)
    report("cpu_seq_ms", best_of(3, sequential))
    with ProcessPoolExecutor(max_workers=workers, mp_context=fork) as pool:
        pool.submit(empty).result()
        caller_cpu = []

        def pooled():
            cpu0 = own_cpu_ms()
            t0 = time.perf_counter()
            fs = [pool.submit(churn, steps) for _ in range(cpu_tasks)]
            wait(fs)
            t = (time.perf_counter() - t0) * 1e3
            caller_cpu.append(own_cpu_ms() - cpu0)
            assert all(f.result() == expected for f in fs), "a CPU-bound task returned a wrong result"
            return t

        report("cpu_pool_ms", best_of(3, pooled))
        report("cpu_caller_ms", sum(caller_cpu) / len(caller_cpu))


def primes(fork, workers):
    def sequential():
        t0 = time.perf_counter()
        verdicts = [is_prime(n) for n in PRIMES]
        t = (time.perf_counter() - t0) * 1e3
        assert verdicts == EXPECTED
        return t

    def pooled():
        # As in the docs: the pool is made and shut down inside the timed block.
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers, mp_context=fork) as pool:
            verdicts = list(pool.map(is_prime, PRIMES))
        t = (time.perf_counter() - t0) * 1e3
        assert verdicts == EXPECTED
        return t

    report("primes_seq_ms", best_of(3, sequential))
    report("primes_pool_ms", best_of(3, pooled))


def main():
    workers, n_tasks, n_round_trips, n_map, payload, starts, cpu_tasks = (int(a) for a in sys.argv[1:8])
    fork = multiprocessing.get_context("fork")
    small_tasks(fork, workers, n_tasks, n_round_trips, n_map)
    large_payload(fork, workers, payload)
    report("start_fork_ms", start_to_shutdown_ms(fork, workers, starts))
    report("start_forkserver_ms", start_to_shutdown_ms(multiprocessing.get_context("forkserver"), workers, starts))
    report("start_spawn_ms", start_to_shutdown_ms(multiprocessing.get_context("spawn"), workers, starts))
    cpu_bound(fork, workers, cpu_tasks)
    primes(fork, workers)


if __name__ == "__main__":
    main()
