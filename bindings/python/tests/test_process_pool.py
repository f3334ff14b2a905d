# SPDX-License-Identifier: MIT
"""ProcessPoolExecutor: C tasks registered by name (tests/tasks.c), bytes in and out, in worker processes."""
import concurrent.futures
import gc
import itertools
import logging
import multiprocessing
import os
import shutil
import struct
import tempfile
import threading
import time
import unittest

import cfutures
from cfutures import (BrokenProcessPool, CancelledError, ProcessPoolExecutor, SubmitOptions, TaskError,
                      TimeLimitError, TimeoutError, WorkerDiedError)

from .support import LONG, tasks_library

PRIMES = [112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419]
VERDICTS = [True, True, True, True, True, False]


def setUpModule():
    # Loaded before any forkserver pool starts, so that the forkserver's workers know the tasks.
    cfutures.load_library(tasks_library())


def u64(n):
    return struct.pack("<Q", n)


def wait_running(future):
    """Waits (briefly polling: a future has no "started" notification) until a task has started."""
    deadline = time.monotonic() + LONG
    while not future.running():
        if future.done() or time.monotonic() > deadline:
            raise AssertionError("the task did not start: %r" % future)
        time.sleep(0.001)


def wait_begun(path):
    """Waits (bounded polling) until test.mark_and_sleep has written its file: the task has begun in its worker
    (a running future may still sit in the worker's queue). Returns the worker's pid."""
    deadline = time.monotonic() + LONG
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError("test.mark_and_sleep did not begin")
        time.sleep(0.001)
    with open(path) as f:
        return int(f.read())


def wait_all(fs):
    """Waits (bounded) until every future is done."""
    done, not_done = cfutures.wait(fs, timeout=LONG)
    if not_done:
        raise AssertionError("%d futures not done: %r" % (len(not_done), list(not_done)[:3]))


class ProcessPoolTestMixin:
    start_method = None

    def pool(self, **kw):
        kw.setdefault("max_workers", 2)
        ex = ProcessPoolExecutor(library=tasks_library(), start_method=self.start_method, **kw)
        self.addCleanup(ex.shutdown)
        return ex

    def test_submit_bytes_in_bytes_out(self):
        ex = self.pool()
        self.assertEqual(ex.submit("test.echo", b"hello\0world").result(LONG), b"hello\0world")
        self.assertEqual(ex.submit("test.echo").result(LONG), b"")
        self.assertEqual(ex.submit("test.reverse", bytearray(b"abc")).result(LONG), b"cba")
        big = os.urandom(1 << 20)
        self.assertEqual(ex.submit("test.reverse", memoryview(big)).result(LONG), big[::-1])

    def test_the_six_primes(self):
        ex = self.pool()
        fs = [ex.submit("demo.is_prime", u64(n)) for n in PRIMES]
        self.assertEqual([f.result(LONG) == b"\x01" for f in fs], VERDICTS)
        self.assertEqual([r == b"\x01" for r in ex.map("demo.is_prime", map(u64, PRIMES), chunksize=2)],
                         VERDICTS)

    def test_task_error(self):
        ex = self.pool()
        f = ex.submit("test.raise", b"bad input")
        with self.assertRaises(TaskError) as cm:
            f.result(LONG)
        e = cm.exception
        self.assertEqual((e.type, e.message), ("ValueError", "bad input"))
        self.assertIn("test.raise", e.detail)
        self.assertEqual(e.status_name, "CF_E_TASK_FAILED")
        self.assertIs(f.exception(), e)  # the same instance each time
        with self.assertRaises(TaskError) as again:
            f.result()
        self.assertIs(again.exception, e)
        # the pool is still usable
        self.assertEqual(ex.submit("test.echo", b"ok").result(LONG), b"ok")

    def test_map_stops_at_the_failure(self):
        ex = self.pool()
        it = ex.map("test.raise", [b"x"])
        with self.assertRaises(TaskError):
            next(it)
        with self.assertRaises(TypeError):
            ex.map("test.echo", [b"a"], [b"b"])

    # -- map: chunks through cf_map_named_source ----------------------------------------------------------------

    def test_map_chunksize_ordered_results(self):
        ex = self.pool()
        items = [b"item-%02d" % i for i in range(25)]
        expected = [x[::-1] for x in items]
        for chunksize in (1, 4, 7, 25, 100):
            with self.subTest(chunksize=chunksize):
                self.assertEqual(list(ex.map("test.reverse", items, chunksize=chunksize)), expected)
                self.assertEqual(list(ex.map("test.reverse", iter(items), chunksize=chunksize, buffersize=3)),
                                 expected)
        self.assertEqual(list(ex.map("test.echo", [], chunksize=4)), [])
        self.assertEqual(list(ex.map("test.echo", [bytearray(b"ba"), memoryview(b"mv"), b""])), [b"ba", b"mv", b""])
        with self.assertRaises(ValueError):
            ex.map("test.echo", [b"a"], chunksize=0)
        with self.assertRaises(ValueError):
            ex.map("test.echo", [b"a"], buffersize=0)
        with self.assertRaises(TypeError):
            ex.map("test.echo", [b"a"], buffersize=1.5)

    def test_map_chunk_runs_in_one_worker(self):
        # test.count gives "<pid>:<n>" with n the task's invocation count in that worker. A chunk is one task for
        # one worker, which runs its items one after the other: the same pid and consecutive counts.
        ex = self.pool(max_workers=2)
        chunksize = 4
        results = [r.decode().split(":") for r in ex.map("test.count", [b""] * 24, chunksize=chunksize)]
        self.assertEqual(len(results), 24)
        for start in range(0, 24, chunksize):
            chunk = results[start:start + chunksize]
            self.assertEqual(len({pid for pid, _ in chunk}), 1, chunk)
            counts = [int(n) for _, n in chunk]
            self.assertEqual(counts, list(range(counts[0], counts[0] + chunksize)), chunk)
            self.assertEqual(counts[0] % chunksize, 1, chunk)   # every task this worker ran was a whole chunk

    def test_map_failure_in_the_middle(self):
        ex = self.pool()
        items = [b"%d" % i for i in range(10)]
        items[5] = b"bad five"
        for chunksize in (1, 2, 3, 10):
            for buffersize in (None, 2):
                with self.subTest(chunksize=chunksize, buffersize=buffersize):
                    it = ex.map("test.check", items, chunksize=chunksize, buffersize=buffersize)
                    got = [next(it) for _ in range(5)]
                    self.assertEqual(got, items[:5])
                    with self.assertRaises(TaskError) as cm:
                        next(it)
                    self.assertEqual((cm.exception.type, cm.exception.message), ("ValueError", "bad five"))
                    self.assertIn("test.check", cm.exception.detail)
                    self.assertEqual(list(it), [])   # the rest is cancelled; the iterator is over
        self.assertEqual(ex.submit("test.echo", b"ok").result(LONG), b"ok")

    def test_map_buffersize_is_lazy(self):
        ex = self.pool()
        pulled = []

        def numbers():
            for i in itertools.count():
                pulled.append(i)
                yield b"%d" % i

        it = ex.map("test.echo", numbers(), chunksize=3, buffersize=4)
        # buffersize counts items, the library chunks: ceil(4 / 3) = 2 chunks of 3 are taken by map() itself.
        self.assertEqual(len(pulled), 6)
        self.assertEqual(list(itertools.islice(it, 20)), [b"%d" % i for i in range(20)])
        self.assertLessEqual(len(pulled), 20 + 3 * 3)
        it.close()
        # An infinite input with islice of the results, as in the Python docs.
        results = ex.map("test.reverse", map(lambda i: b"%03d" % i, itertools.count()), buffersize=8)
        self.assertEqual(list(itertools.islice(results, 50)), [(b"%03d" % i)[::-1] for i in range(50)])
        results.close()

    def test_map_timeout(self):
        ex = self.pool(max_workers=1)
        # The worker is started first: under spawn, an interpreter starting on a loaded machine could take longer
        # than the map's timeout, which is measured from the call.
        self.assertEqual(ex.submit("test.echo", b"up").result(LONG), b"up")
        start = time.monotonic()
        it = ex.map("test.slow", [b"10", b"3000", b"10"], timeout=1.0)
        self.assertEqual(next(it), b"slept")
        with self.assertRaises(TimeoutError):
            next(it)
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertEqual(list(it), [])
        # The slow task was asked to stop; the pool goes on.
        self.assertEqual(ex.submit("test.echo", b"after").result(LONG), b"after")
        with self.assertRaises(TimeoutError):
            list(ex.map("test.slow", [b"3000"], timeout=0, chunksize=2))

    def test_map_iterator_exception_propagates(self):
        ex = self.pool()

        def failing(n):
            for i in range(n):
                yield b"%d" % i
            raise ValueError("input broke")

        # Without buffersize the input is taken by map() itself: the exception comes from there.
        with self.assertRaisesRegex(ValueError, "input broke"):
            ex.map("test.echo", failing(3))
        # With buffersize it is pulled lazily: the exception comes from next(), once the window reaches it.
        it = ex.map("test.echo", failing(7), chunksize=2, buffersize=2)
        got = []
        with self.assertRaisesRegex(ValueError, "input broke") as cm:
            for r in it:
                got.append(r)
        self.assertIsInstance(cm.exception, ValueError)
        self.assertEqual(got, [b"%d" % i for i in range(len(got))])
        self.assertLessEqual(len(got), 7)
        self.assertEqual(list(it), [])
        # A KeyboardInterrupt-like BaseException crosses too; so does a non-bytes item pulled lazily.
        def interrupted():
            yield b"a"
            yield b"b"
            raise KeyboardInterrupt
        with self.assertRaises(KeyboardInterrupt):
            list(ex.map("test.echo", interrupted(), buffersize=1))
        with self.assertRaises(TypeError):
            list(ex.map("test.echo", iter([b"a", b"b", "str"]), buffersize=1))
        with self.assertRaises(TypeError):
            ex.map("test.echo", [b"a", "str"])
        self.assertEqual(list(ex.map("test.echo", [b"still", b"fine"])), [b"still", b"fine"])

    def test_map_unknown_task(self):
        ex = self.pool()
        pulled = []

        def items():
            pulled.append(1)
            yield b"x"

        with self.assertRaises(cfutures.UnknownTaskError) as cm:
            ex.map("no.such.task", items(), buffersize=1)   # at map() time, not from next()
        self.assertIn("no.such.task", str(cm.exception))
        with self.assertRaises(cfutures.UnknownTaskError):
            ex.map("no.such.task", [])
        with self.assertRaises(TypeError):
            ex.map(42, [b""])    # neither a task name nor a callable

    def test_map_after_shutdown(self):
        ex = self.pool()
        ex.shutdown()
        with self.assertRaisesRegex(RuntimeError, "cannot schedule new futures after shutdown"):
            ex.map("test.echo", [b"x"])
        with self.assertRaisesRegex(RuntimeError, "cannot schedule new futures after shutdown"):
            ex.map("test.echo", [b"x"], chunksize=2, buffersize=1)

    def test_map_worker_crash(self):
        ex = self.pool(max_workers=1)
        # The first chunk may crash its worker before map() has submitted the second: then map() itself raises
        # (as CPython's can). Either way the error surfaces, never a result and never a hang.
        with self.assertRaises(BrokenProcessPool):
            next(ex.map("test.crash", [b"", b""], chunksize=1))
        with self.assertRaises(BrokenProcessPool):
            ex.map("test.echo", [b"x"])

    def test_map_iterator_freed_once(self):
        ex = self.pool()

        def state_of(it):
            return it.gi_frame.f_locals["state"]

        # Closed early.
        it = ex.map("test.echo", [b"a", b"b", b"c"], chunksize=1)
        state = state_of(it)
        self.assertEqual(next(it), b"a")
        it.close()
        self.assertIsNone(state.handle)
        state.free()  # idempotent
        # Never started, then collected.
        it = ex.map("test.echo", (b"%d" % i for i in itertools.count()), buffersize=2)
        state = state_of(it)
        self.assertIsNotNone(state.handle)
        del it
        gc.collect()
        self.assertIsNone(state.handle)
        # Started, dropped unfinished.
        it = ex.map("test.echo", [b"a", b"b"])
        state = state_of(it)
        next(it)
        del it
        gc.collect()
        self.assertIsNone(state.handle)
        # Run to the end.
        it = ex.map("test.echo", [b"a"])
        state = state_of(it)
        self.assertEqual(list(it), [b"a"])
        self.assertIsNone(state.handle)

    def test_unknown_task(self):
        ex = self.pool()
        with self.assertRaises(cfutures.UnknownTaskError) as cm:
            # (a spawned worker is another program, which only it can ask: the name fails on the future)
            ex.submit("no.such.task", b"").result(LONG)
        self.assertIn("no.such.task", str(cm.exception))
        self.assertEqual(ex.submit("test.echo", b"still serving").result(LONG), b"still serving")
        with self.assertRaises(TypeError):
            ex.submit(42, b"")   # neither a task name nor a callable
        with self.assertRaises(TypeError):
            ex.submit("test.echo", "a str")

    def test_worker_crash_breaks_the_pool(self):
        ex = self.pool(max_workers=1)
        crashed = ex.submit("test.crash")
        with self.assertRaises(BrokenProcessPool) as cm:
            crashed.result(LONG)
        self.assertIn("SIGKILL", str(cm.exception))
        self.assertIsInstance(cm.exception, cfutures.BrokenExecutor)
        with self.assertRaises(BrokenProcessPool):
            ex.submit("test.echo", b"x")

    def test_pending_work_fails_with_the_pool(self):
        ex = self.pool(max_workers=1)
        # The worker is busy for 300 ms while the crash and another task queue behind it.
        first = ex.submit("test.slow", b"300")
        crashed = ex.submit("test.crash")
        queued = ex.submit("test.echo", b"x")
        self.assertEqual(first.result(LONG), b"slept")
        with self.assertRaises(BrokenProcessPool):
            crashed.result(LONG)
        with self.assertRaises(BrokenProcessPool):
            queued.result(LONG)

    def test_timeout_and_cancel_running(self):
        ex = self.pool(max_workers=1)
        f = ex.submit("test.slow", b"20000")
        queued = ex.submit("test.echo", b"q")
        with self.assertRaises(TimeoutError):
            f.result(timeout=0.05)
        self.assertTrue(queued.cancel())
        wait_running(f)
        self.assertFalse(f.cancel())     # running: not cancelled, but asked to stop
        self.assertFalse(f.cancelled())
        self.assertEqual(f.result(LONG), b"stopped")  # the task saw the request (cf_task_cancel_requested)

    def test_shutdown(self):
        ex = self.pool()
        f = ex.submit("test.slow", b"50")
        ex.shutdown(wait=True)
        self.assertEqual(f.result(0), b"slept")
        with self.assertRaisesRegex(RuntimeError, "cannot schedule new futures after shutdown"):
            ex.submit("test.echo", b"x")

    def test_with_statement_and_done_callback(self):
        seen = []
        got = threading.Event()
        with self.pool() as ex:
            f = ex.submit("test.echo", b"cb")
            f.add_done_callback(lambda fut: (seen.append(fut.result()), got.set()))
        self.assertTrue(got.wait(LONG))
        self.assertEqual(seen, [b"cb"])

    def test_kill_workers(self):
        ex = self.pool(max_workers=1)
        f = ex.submit("test.slow", b"20000")
        wait_running(f)
        ex.kill_workers()
        with self.assertRaises(BrokenProcessPool):
            f.result(LONG)
        with self.assertRaises(RuntimeError):
            ex.submit("test.echo", b"x")

    def test_initializer(self):
        ex = self.pool(initializer="test.init", initargs=b"ok")
        self.assertEqual(ex.submit("test.echo", b"x").result(LONG), b"x")

    def test_failing_initializer_breaks_the_pool(self):
        ex = self.pool(max_workers=1, initializer="test.init", initargs=b"fail")
        with self.assertRaises(BrokenProcessPool):
            ex.submit("test.echo", b"x").result(LONG)

    # -- max_tasks_per_child (every start method, fork included) ---------------------------------------------

    def test_max_tasks_per_child_replaces_workers(self):
        ex = self.pool(max_workers=1, max_tasks_per_child=2)
        pids = [ex.submit("test.pid").result(LONG) for _ in range(6)]
        self.assertEqual(len(set(pids)), 3)

    def test_map_chunk_is_one_task(self):
        # A worker that runs one task only: each chunk gets a fresh worker, all its items the same one.
        ex = self.pool(max_workers=1, max_tasks_per_child=1)
        pids = list(ex.map("test.pid", [b""] * 12, chunksize=4))
        self.assertEqual([len(set(pids[i:i + 4])) for i in range(0, 12, 4)], [1, 1, 1])
        self.assertEqual(len(set(pids)), 3)
        pids = list(ex.map("test.pid", [b""] * 4, chunksize=1))
        self.assertEqual(len(set(pids)), 4)

    # -- per-task time limits -----------------------------------------------------------------------------------

    def marker(self):
        """A path for test.mark_and_sleep's file, in a directory removed after the test (as bytes: its argument)."""
        directory = tempfile.mkdtemp(prefix="cf-python-test-")
        self.addCleanup(shutil.rmtree, directory, True)
        return os.path.join(directory, "begun")

    def warm(self, ex, n):
        """Has n workers started (forkserver starts them on demand): n tasks that overlap."""
        wait_all([ex.submit("test.slow", b"50") for _ in range(n)])

    def test_time_limit_kills_the_task_not_its_sibling(self):
        ex = self.pool(max_workers=2)
        self.warm(ex, 2)
        start = time.monotonic()
        limited = ex.submit("test.slow", b"10000", time_limit=0.2)    # would sleep 10 s
        sibling = ex.submit("test.slow", b"400")
        with self.assertRaises(TimeLimitError) as cm:
            limited.result(LONG)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 1.0)
        e = cm.exception
        self.assertIsInstance(e, TimeoutError)                       # builtin / concurrent.futures TimeoutError
        self.assertIsInstance(e, concurrent.futures.TimeoutError)
        self.assertEqual(e.status_name, "CF_E_TIME_LIMIT")
        self.assertIn("time limit", str(e))
        self.assertIn("test.slow", str(e))
        self.assertTrue(limited.done())
        self.assertFalse(limited.cancelled())
        self.assertIs(limited.exception(0), e)
        self.assertEqual(sibling.result(LONG), b"slept")
        # The worker was replaced; the pool goes on, and a task within its limit is untouched.
        self.assertEqual(ex.submit("test.slow", b"10", time_limit=LONG).result(LONG), b"slept")
        self.assertEqual(ex.submit("test.echo", b"after").result(LONG), b"after")

    def test_time_limit_counts_from_the_start(self):
        # One worker: the second task waits its turn (300 ms) without its 0.25 s limit running meanwhile.
        ex = self.pool(max_workers=1)
        first = ex.submit("test.slow", b"300")
        second = ex.submit("test.slow", b"10", time_limit=0.25)
        self.assertEqual(first.result(LONG), b"slept")
        self.assertEqual(second.result(LONG), b"slept")

    def test_submit_with_options(self):
        ex = self.pool(max_workers=1)
        f = ex.submit_with(SubmitOptions(time_limit=0.1), "test.slow", b"10000")
        with self.assertRaises(TimeLimitError):
            f.result(LONG)
        self.assertEqual(ex.submit_with(None, "test.echo", b"x").result(LONG), b"x")
        self.assertEqual(ex.submit_with(SubmitOptions(), "test.echo").result(LONG), b"")
        self.assertEqual(ex.submit("test.echo", b"inf", time_limit=float("inf")).result(LONG), b"inf")
        with self.assertRaises(TypeError):
            ex.submit_with({"time_limit": 1}, "test.echo", b"x")
        for bad in (-1, float("nan")):
            with self.assertRaises(ValueError):
                ex.submit("test.echo", b"x", time_limit=bad)
        with self.assertRaises(TypeError):
            ex.submit("test.echo", b"x", time_limit="1")

    # -- cancel_running -----------------------------------------------------------------------------------------

    def test_cancel_running_kills_the_worker(self):
        ex = self.pool(max_workers=1, cancel_running=True)
        first_pid = ex.submit("test.pid").result(LONG)
        marker = self.marker()
        f = ex.submit("test.mark_and_sleep", os.fsencode(marker))     # would sleep 10 s
        self.assertEqual(wait_begun(marker), int(first_pid))          # it runs in that worker now
        self.assertTrue(f.running())
        self.assertTrue(f.cancel())
        self.assertTrue(f.cancelled())
        self.assertTrue(f.done())
        with self.assertRaises(CancelledError):
            f.result(LONG)
        self.assertTrue(f.cancel())     # again: still cancelled
        new_pid = ex.submit("test.pid").result(LONG)
        self.assertNotEqual(new_pid, first_pid)
        self.assertEqual(ex.stats().worker_deaths, 0)   # killed by the pool: no death to count

    def test_cancel_running_done_future(self):
        ex = self.pool(max_workers=1, cancel_running=True)
        f = ex.submit("test.echo", b"x")
        self.assertEqual(f.result(LONG), b"x")
        self.assertFalse(f.cancel())     # finished: nothing to cancel

    def test_shutdown_cancel_futures_cancels_running_tasks(self):
        ex = self.pool(max_workers=1, cancel_running=True)
        marker = self.marker()
        running = ex.submit("test.mark_and_sleep", os.fsencode(marker))
        queued = ex.submit("test.echo", b"q")
        wait_begun(marker)
        start = time.monotonic()
        ex.shutdown(wait=True, cancel_futures=True)
        self.assertLess(time.monotonic() - start, 5.0)    # not the 10 s the task would take
        self.assertTrue(running.cancelled())
        self.assertTrue(queued.cancelled())

    # -- on_worker_death="replace" ------------------------------------------------------------------------------

    def test_replace_dead_workers(self):
        # 10 deaths are within the restart intensity (more than max_restarts=10 would break the pool).
        ex = self.pool(max_workers=2, on_worker_death="replace", max_restarts=10)
        crash_at = set(range(5, 100, 10))
        fs = [ex.submit("test.crash") if i in crash_at else ex.submit("test.echo", b"%d" % i) for i in range(100)]
        wait_all(fs)
        results, died = {}, []
        for i, f in enumerate(fs):
            exc = f.exception(0)
            if exc is None:
                results[i] = f.result(0)
            else:
                self.assertIsInstance(exc, WorkerDiedError, (i, exc))
                self.assertEqual(exc.status_name, "CF_E_WORKER_DIED")
                self.assertIn("test.crash", str(exc))
                self.assertIn("SIGKILL", str(exc))
                died.append(i)
        self.assertEqual(len(results), 90)
        self.assertEqual(set(died), crash_at)
        self.assertEqual(results, {i: b"%d" % i for i in range(100) if i not in crash_at})
        # The pool takes more work.
        self.assertEqual(list(ex.map("test.echo", [b"a", b"b", b"c"])), [b"a", b"b", b"c"])
        self.assertEqual(ex.submit("test.echo", b"more").result(LONG), b"more")
        stats = ex.stats()
        self.assertEqual(stats.worker_deaths, 10)
        self.assertGreaterEqual(stats.workers_replaced, 9)   # (the last one may start only on demand)

    def test_restart_intensity_exceeded_breaks_the_pool(self):
        ex = self.pool(max_workers=1, on_worker_death="replace", max_restarts=2, restart_period=60)
        for _ in range(2):
            with self.assertRaises(WorkerDiedError):
                ex.submit("test.crash").result(LONG)
        self.assertEqual(ex.submit("test.echo", b"alive").result(LONG), b"alive")
        with self.assertLogs("cfutures", "ERROR") as logs:
            with self.assertRaises(BrokenProcessPool) as cm:
                ex.submit("test.crash").result(LONG)     # the third death within the period: too many
        self.assertIn("more than 2 workers died", str(cm.exception))
        self.assertTrue(any("broken" in r.getMessage() for r in logs.records), logs.output)
        with self.assertRaises(BrokenProcessPool):
            ex.submit("test.echo", b"x")

    def test_replaced_worker_is_logged(self):
        ex = self.pool(max_workers=1, on_worker_death="replace")
        with self.assertLogs("cfutures", "WARNING") as logs:
            with self.assertRaises(WorkerDiedError):
                ex.submit("test.crash").result(LONG)
        self.assertEqual(len(logs.records), 1, logs.output)
        record = logs.records[0]
        self.assertEqual(record.levelno, logging.WARNING)
        self.assertEqual(record.name, "cfutures")
        self.assertRegex(record.getMessage(), r"worker \d+ terminated by signal 9 \(SIGKILL\) while running task "
                                              r"'test.crash'; a new worker takes its place")
        self.assertEqual(ex.submit("test.echo", b"x").result(LONG), b"x")

    def test_time_limit_is_logged_at_info(self):
        ex = self.pool(max_workers=1)
        with self.assertLogs("cfutures", "INFO") as logs:
            with self.assertRaises(TimeLimitError):
                ex.submit("test.slow", b"10000", time_limit=0.1).result(LONG)
        self.assertTrue(any(r.levelno == logging.INFO and "time limit" in r.getMessage() for r in logs.records),
                        logs.output)

    def test_library_log_back_to_stderr(self):
        # use_python_logging(False): the library writes to stderr itself, the logger gets nothing.
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = logging.getLogger("cfutures")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        ex = self.pool(max_workers=1, on_worker_death="replace")
        stderr_copy = os.dup(2)
        self.addCleanup(os.close, stderr_copy)
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)      # (the library's own line goes nowhere during the test)
            try:
                self.assertTrue(cfutures.use_python_logging(False))
                try:
                    with self.assertRaises(WorkerDiedError):
                        ex.submit("test.crash").result(LONG)
                finally:
                    self.assertFalse(cfutures.use_python_logging(True))
            finally:
                os.dup2(stderr_copy, 2)
        self.assertEqual(records, [])
        with self.assertLogs("cfutures", "WARNING"):
            with self.assertRaises(WorkerDiedError):
                ex.submit("test.crash").result(LONG)

    # -- stats --------------------------------------------------------------------------------------------------

    def test_stats_add_up_after_a_mixed_run(self):
        ex = self.pool(max_workers=1, on_worker_death="replace", cancel_running=True)
        before = ex.stats()
        self.assertIsInstance(before, cfutures.ExecutorStats)
        self.assertEqual((before.completed, before.failed, before.cancelled, before.queued, before.running),
                         (0, 0, 0, 0, 0))
        submitted = []

        def submit(*args, **kw):
            f = ex.submit(*args, **kw)
            submitted.append(f)
            return f

        wait_all([submit("test.echo", b"%d" % i) for i in range(5)])             # 5 completed
        wait_all([submit("test.raise", b"no") for _ in range(2)])                # 2 failed: TaskError
        self.assertIsInstance(submit("test.crash").exception(LONG), WorkerDiedError)   # failed: a death
        self.assertIsInstance(submit("test.slow", b"10000", time_limit=0.1).exception(LONG), TimeLimitError)
        marker = self.marker()
        running = submit("test.mark_and_sleep", os.fsencode(marker))
        queued = submit("test.echo", b"q")
        wait_begun(marker)
        self.assertTrue(queued.cancel())                                          # cancelled before it ran
        self.assertTrue(running.cancel())                                         # cancelled while running
        wait_all(submitted)
        # Every future is done: the outcomes add up (queued and running may still count the two cancelled
        # tasks until the pool has dropped the one and reaped the other's worker).
        s = ex.stats()
        self.assertEqual((s.completed, s.failed, s.cancelled), (5, 4, 2), s)
        self.assertEqual(s.completed + s.failed + s.cancelled, len(submitted))
        self.assertEqual(s.finished, len(submitted))
        self.assertEqual(s.worker_deaths, 1, s)   # the crash; the time limit and the cancel were the pool's kills
        self.assertLessEqual(s.idle_workers, s.workers)
        self.assertLessEqual(s.workers, 1)
        ex.shutdown(wait=True)
        final = ex.stats()                                    # after shutdown: the counters at the end
        self.assertEqual((final.completed, final.failed, final.cancelled), (5, 4, 2), final)
        self.assertEqual((final.queued, final.running, final.workers), (0, 0, 0), final)
        self.assertEqual(final.worker_deaths, 1, final)
        # New workers for the crashed one and the one the time limit killed, at least (the one the cancel killed
        # is replaced on demand in some start methods).
        self.assertGreaterEqual(final.workers_replaced, 2, final)

    def test_stats_count_map_chunks_and_queued_tasks(self):
        ex = self.pool(max_workers=1)
        blocker = ex.submit("test.slow", b"300")
        wait_running(blocker)
        queued = [ex.submit("test.echo", b"%d" % i) for i in range(3)]
        s = ex.stats()
        self.assertEqual((s.running, s.queued, s.workers, s.idle_workers), (1, 3, 1, 0), s)
        wait_all([blocker] + queued)
        self.assertEqual(list(ex.map("test.echo", [b"a"] * 6, chunksize=3)), [b"a"] * 6)
        s = ex.stats()
        self.assertEqual(s.completed, 4 + 2, s)               # two chunks of three: two tasks

    def test_new_option_arguments(self):
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, on_worker_death="restart", start_method=self.start_method)
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, on_worker_death="replace", max_restarts=0,
                                start_method=self.start_method)
        with self.assertRaises(TypeError):
            ProcessPoolExecutor(max_workers=1, on_worker_death="replace", max_restarts=2.5,
                                start_method=self.start_method)
        for period in (0, -1, float("nan"), float("inf")):
            with self.assertRaises(ValueError):
                ProcessPoolExecutor(max_workers=1, on_worker_death="replace", restart_period=period,
                                    start_method=self.start_method)
        with self.assertRaises(ValueError):    # only with "replace"
            ProcessPoolExecutor(max_workers=1, max_restarts=3, start_method=self.start_method)

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=0)
        with self.assertRaises(TypeError):
            ProcessPoolExecutor(max_workers=1, initializer=42)
        if self.start_method != "spawn":  # (a spawned worker reports an unknown name itself: the pool breaks)
            with self.assertRaises(cfutures.UnknownTaskError):
                ProcessPoolExecutor(max_workers=1, initializer="no.such.init", start_method=self.start_method)
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, start_method="thread")
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, mp_context="no-such-method")
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, max_tasks_per_child=0, start_method=self.start_method)


class ForkserverTest(ProcessPoolTestMixin, unittest.TestCase):
    start_method = None  # the default: forkserver

    def test_default_is_forkserver(self):
        self.assertEqual(self.pool()._start_method, "forkserver")


class ForkTest(ProcessPoolTestMixin, unittest.TestCase):
    start_method = "fork"

    def test_max_tasks_per_child_works_with_fork(self):
        # CPython refuses this pair; the library forks later workers from a single-threaded server of the pool's
        # own, so a fork pool replaces its workers too.
        ex = ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1, start_method="fork",
                                 library=tasks_library())
        self.addCleanup(ex.shutdown)
        pids = [ex.submit("test.pid").result(LONG) for _ in range(3)]
        self.assertEqual(len(set(pids)), 3)
        self.assertNotIn(str(os.getpid()).encode(), pids)
        self.assertEqual(ex.submit("test.reverse", b"abc").result(LONG), b"cba")

    def test_mp_context_object(self):
        ex = ProcessPoolExecutor(1, multiprocessing.get_context("fork"), library=tasks_library())
        self.addCleanup(ex.shutdown)
        self.assertEqual(ex._start_method, "fork")
        self.assertEqual(ex.submit("test.echo", b"ctx").result(LONG), b"ctx")


class SpawnTest(ProcessPoolTestMixin, unittest.TestCase):
    """Every C-task test with spawned workers: new interpreters that load the task library themselves."""
    start_method = "spawn"


if __name__ == "__main__":
    unittest.main()
