"""ProcessPoolExecutor: C tasks registered by name (tests/tasks.c), bytes in and out, in worker processes."""
import multiprocessing
import os
import struct
import threading
import time
import unittest

import cfutures
from cfutures import BrokenProcessPool, ProcessPoolExecutor, TaskError, TimeoutError

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

    def test_unknown_task(self):
        ex = self.pool()
        with self.assertRaises(cfutures.UnknownTaskError) as cm:
            ex.submit("no.such.task", b"")
        self.assertIn("no.such.task", str(cm.exception))
        with self.assertRaises(TypeError):
            ex.submit(len, b"")
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

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=0)
        with self.assertRaises(TypeError):
            ProcessPoolExecutor(max_workers=1, initializer=print)
        with self.assertRaises(cfutures.UnknownTaskError):
            ProcessPoolExecutor(max_workers=1, initializer="no.such.init", start_method=self.start_method)
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, start_method="spawn")
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        with self.assertRaises(ValueError):
            ProcessPoolExecutor(max_workers=1, max_tasks_per_child=0, start_method=self.start_method)


class ForkserverTest(ProcessPoolTestMixin, unittest.TestCase):
    start_method = None  # the default: forkserver

    def test_default_is_forkserver(self):
        self.assertEqual(self.pool()._start_method, "forkserver")

    def test_max_tasks_per_child_replaces_workers(self):
        ex = self.pool(max_workers=1, max_tasks_per_child=2)
        pids = [ex.submit("test.pid").result(LONG) for _ in range(6)]
        self.assertEqual(len(set(pids)), 3)


class ForkTest(ProcessPoolTestMixin, unittest.TestCase):
    start_method = "fork"

    def test_max_tasks_per_child_refused_with_fork(self):
        with self.assertRaisesRegex(ValueError, "incompatible with the 'fork'"):
            ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1, start_method="fork")

    def test_mp_context_object(self):
        ex = ProcessPoolExecutor(1, multiprocessing.get_context("fork"), library=tasks_library())
        self.addCleanup(ex.shutdown)
        self.assertEqual(ex._start_method, "fork")
        self.assertEqual(ex.submit("test.echo", b"ctx").result(LONG), b"ctx")


if __name__ == "__main__":
    unittest.main()
