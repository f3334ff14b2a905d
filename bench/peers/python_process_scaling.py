# SPDX-License-Identifier: MIT
"""CPython's ProcessPoolExecutor and loky (vendored by joblib) on the workloads of bench/process_pool_scaling.cpp,
for one worker count W. Prints `key value` lines, each key prefixed with `cpython_` or `loky_`; a peer that is
not installed prints nothing.

Usage: python_process_scaling.py W empty_tasks round_trips cpu_tasks starts payload_bytes sequential(0|1)
"""
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, wait

sys.path.insert(0, __import__("os").path.dirname(__file__))
from cpython_process_pool import best_of, churn, echo, empty, round_trips_us  # noqa: E402  (the same tasks as the other bench)



def import_loky():
    """loky as joblib vendors it, or standalone; None when neither is installed. Imported only when its turn
    comes: a forkserver or spawn worker of CPython imports this script again, and should not pay for joblib."""
    try:
        from joblib.externals import loky
    except ImportError:
        try:
            import loky
        except ImportError:
            return None
    return loky


def report(key, value):
    print(key, value, flush=True)


def one_ms_steps():
    probe = 20000

    def per_step_us():
        t0 = time.perf_counter()
        churn(probe)
        return (time.perf_counter() - t0) / probe * 1e6

    return int(1000 / best_of(5, per_step_us))


def measure(prefix, make_pool, n_empty, n_rt, n_cpu, steps, payload):
    with make_pool() as pool:
        pool.submit(empty).result()  # the workers are up before the clock runs

        def throughput():
            t0 = time.perf_counter()
            fs = [pool.submit(empty) for _ in range(n_empty)]
            wait(fs)
            t = time.perf_counter() - t0
            for f in fs:
                f.result()
            return t

        report(prefix + "empty_tps", n_empty / best_of(3, throughput))
        median, p99 = round_trips_us(pool, n_rt)
        report(prefix + "rtt_median_us", median)
        report(prefix + "rtt_p99_us", p99)
        expected = churn(steps)
        t0 = time.perf_counter()
        fs = [pool.submit(churn, steps) for _ in range(n_cpu)]
        wait(fs)
        report(prefix + "cpu_pool_s", time.perf_counter() - t0)
        assert all(f.result() == expected for f in fs), "a CPU-bound task returned a wrong result"
        if payload:
            data = bytes(range(256)) * (payload // 256)
            seconds = []
            for run in range(4):
                t0 = time.perf_counter()
                back = pool.submit(echo, data).result()
                if run:
                    seconds.append(time.perf_counter() - t0)
                assert back == data, "the echoed payload differs"
                del back
            report(prefix + "echo_mb_s", len(data) / 1e6 / statistics.median(seconds))


def start_ms(make_pool, starts):
    ms = []
    for _ in range(starts):
        t0 = time.perf_counter()
        with make_pool() as pool:
            pool.submit(empty).result()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def main():
    w, n_empty, n_rt, n_cpu, starts, payload, sequential = (int(a) for a in sys.argv[1:8])
    steps = one_ms_steps()
    report("cpu_steps", steps)
    if sequential:
        t0 = time.perf_counter()
        for _ in range(n_cpu):
            churn(steps)
        report("cpu_seq_s", time.perf_counter() - t0)
    fork = multiprocessing.get_context("fork")
    measure("cpython_", lambda: ProcessPoolExecutor(w, mp_context=fork), n_empty, n_rt, n_cpu, steps, payload)
    for method in ("fork", "forkserver", "spawn"):
        ctx = multiprocessing.get_context(method)
        report("cpython_start_%s_ms" % method, start_ms(lambda: ProcessPoolExecutor(w, mp_context=ctx), starts))
    loky = import_loky()
    if loky is not None:
        measure("loky_", lambda: loky.ProcessPoolExecutor(w), n_empty, n_rt, n_cpu, steps, payload)
        report("loky_start_loky_ms", start_ms(lambda: loky.ProcessPoolExecutor(w), starts))


if __name__ == "__main__":
    main()
