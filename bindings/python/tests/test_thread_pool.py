# SPDX-License-Identifier: MIT
"""ThreadPoolExecutor: Python callables on the library's worker threads."""
import concurrent.futures
import itertools
import logging
import threading
import time
import unittest

import cfutures
from cfutures import (BrokenThreadPool, CancelledError, ExecutorStats, SubmitOptions, ThreadPoolExecutor,
                      TimeLimitError, TimeoutError)

from .support import LONG


def mul(x, y):
    return x * y


class SubmitTest(unittest.TestCase):
    def setUp(self):
        self.executor = ThreadPoolExecutor(max_workers=4)

    def tearDown(self):
        self.executor.shutdown(wait=True)

    def test_submit_args_and_kwargs(self):
        self.assertEqual(self.executor.submit(pow, 2, 8).result(LONG), 256)
        self.assertEqual(self.executor.submit(mul, 2, y=8).result(LONG), 16)
        # fn is positional-only: a keyword named fn goes to the callable
        self.assertEqual(self.executor.submit(lambda **kw: kw, fn=1).result(LONG), {"fn": 1})

    def test_result_is_the_same_object(self):
        obj = object()
        self.assertIs(self.executor.submit(lambda: obj).result(LONG), obj)

    def test_exception_is_the_same_instance(self):
        exc = ValueError("mine")

        def raiser():
            raise exc

        f = self.executor.submit(raiser)
        with self.assertRaises(ValueError) as cm:
            f.result(LONG)
        self.assertIs(cm.exception, exc)
        self.assertIs(f.exception(), exc)
        self.assertFalse(f.cancelled())

    def test_base_exception_goes_to_the_future(self):
        def bail():
            raise SystemExit(3)

        f = self.executor.submit(bail)
        self.assertIsInstance(f.exception(LONG), SystemExit)

    def test_runs_in_parallel_threads(self):
        # Four tasks that each wait for all four to have started: only possible on four threads at once.
        barrier = threading.Barrier(4, timeout=LONG)
        fs = [self.executor.submit(barrier.wait) for _ in range(4)]
        self.assertEqual(sorted(f.result(LONG) for f in fs), [0, 1, 2, 3])

    def test_running_and_cancel(self):
        started, release = threading.Event(), threading.Event()
        ex = ThreadPoolExecutor(max_workers=1)
        try:
            running = ex.submit(lambda: (started.set(), release.wait(LONG)))
            queued = ex.submit(lambda: "never")
            self.assertTrue(started.wait(LONG))
            self.assertTrue(running.running())
            self.assertFalse(running.cancel())
            self.assertTrue(queued.cancel())
            self.assertTrue(queued.cancelled())
            release.set()
            self.assertTrue(running.result(LONG))
            with self.assertRaises(CancelledError):
                queued.result(LONG)
        finally:
            release.set()
            ex.shutdown()

    def test_cancelled_work_is_let_go(self):
        from cfutures import _future
        started, release = threading.Event(), threading.Event()
        ex = ThreadPoolExecutor(max_workers=1)
        try:
            blocker = ex.submit(lambda: (started.set(), release.wait(LONG)))
            self.assertTrue(started.wait(LONG))
            fs = [ex.submit(pow, 2, i) for i in range(10)]
            self.assertTrue(all(f.cancel() for f in fs))
            keys = {f._key for f in fs}
            self.assertFalse(keys & set(_future._work_items))   # the callables and arguments are dropped
            self.assertFalse(keys & set(_future._pending))
        finally:
            release.set()
            ex.shutdown()
        self.assertTrue(blocker.result(0))

    def test_timeout(self):
        release = threading.Event()
        f = self.executor.submit(release.wait, LONG)
        with self.assertRaises(TimeoutError):
            f.result(timeout=0.05)
        with self.assertRaises(concurrent.futures.TimeoutError):
            f.exception(timeout=0)
        release.set()
        self.assertTrue(f.result(LONG))

    def test_done_callback_runs_on_the_worker_with_the_future(self):
        seen = []
        done = threading.Event()
        f = self.executor.submit(lambda: 7)

        def cb(fut):
            seen.append((fut, fut.result(), threading.current_thread().name))
            done.set()

        f.add_done_callback(cb)
        self.assertTrue(done.wait(LONG))
        self.assertIs(seen[0][0], f)
        self.assertEqual(seen[0][1], 7)

    def test_callback_runs_for_a_dropped_future(self):
        done = threading.Event()
        self.executor.submit(lambda: 1).add_done_callback(lambda f: done.set())
        self.assertTrue(done.wait(LONG))

    def test_task_waits_on_another_task(self):
        # The inner result() releases the GIL inside the library; the inner task needs it to run.
        ex = ThreadPoolExecutor(max_workers=2)
        try:
            def outer():
                return ex.submit(lambda: "inner").result(LONG) + "+outer"
            self.assertEqual(ex.submit(outer).result(LONG), "inner+outer")
        finally:
            ex.shutdown()

    def test_deadlock_example_of_the_docs_completes_on_one_worker(self):
        # Beyond CPython: a waiting worker runs its pool's queued work (see the library README).
        ex = ThreadPoolExecutor(max_workers=1)
        try:
            def wait_on_b():
                return ex.submit(pow, 5, 4).result(LONG)
            self.assertEqual(ex.submit(wait_on_b).result(LONG), 625)
        finally:
            ex.shutdown()

    def test_many_tasks_hold_the_gil_in_turn(self):
        counter = itertools.count()
        fs = [self.executor.submit(lambda: next(counter)) for _ in range(2000)]
        self.assertEqual(sorted(f.result(LONG) for f in fs), list(range(2000)))


class ThreadsTest(unittest.TestCase):
    def test_max_workers_validation(self):
        with self.assertRaises(ValueError):
            ThreadPoolExecutor(max_workers=0)
        with self.assertRaises(ValueError):
            ThreadPoolExecutor(max_workers=-1)
        with self.assertRaises(TypeError):
            ThreadPoolExecutor(max_workers=1, initializer=42)
        with self.assertRaises(ValueError) as cm:
            ThreadPoolExecutor(max_workers=100000)  # the library refuses more than 65536
        self.assertEqual(cm.exception.status_name, "CF_E_INVALID_ARGUMENT")
        self.assertIn("max_workers", str(cm.exception))

    def test_default_max_workers(self):
        import os
        with ThreadPoolExecutor() as ex:
            self.assertEqual(ex._max_workers, min(32, (os.cpu_count() or 1) + 4))

    def test_thread_names(self):
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="SpecialPool") as ex:
            barrier = threading.Barrier(2, timeout=LONG)
            fs = [ex.submit(lambda: (barrier.wait(), threading.current_thread().name)[1]) for _ in range(2)]
        names = {f.result() for f in fs}
        self.assertEqual(len(names), 2)
        for name in names:
            self.assertRegex(name, r"^SpecialPool_\d+$")

    def test_no_dangling_threads_after_shutdown(self):
        # CPython's tests check threading.enumerate() after each test: the pool's threads must be gone from it.
        # (Only this pool's threads are counted: other tests' helper threads may end meanwhile.)
        def ours():
            return [t for t in threading.enumerate() if t.name.startswith("GonePool_")]
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="GonePool") as ex:
            barrier = threading.Barrier(2, timeout=LONG)
            for f in [ex.submit(barrier.wait) for _ in range(2)]:
                f.result(LONG)
            self.assertEqual(len(ours()), 2)
        self.assertEqual(ours(), [])

    def test_default_thread_name_prefix(self):
        with ThreadPoolExecutor(max_workers=1) as ex:
            name = ex.submit(lambda: threading.current_thread().name).result(LONG)
        self.assertRegex(name, r"^ThreadPoolExecutor-\d+_0$")

    def test_initializer_and_thread_local_state(self):
        local = threading.local()

        def init(value):
            local.value = value

        with ThreadPoolExecutor(max_workers=2, initializer=init, initargs=("set",)) as ex:
            fs = [ex.submit(lambda: getattr(local, "value", None)) for _ in range(20)]
        # The initializer ran in the worker, and its thread-local state lives on across the tasks.
        self.assertEqual({f.result() for f in fs}, {"set"})

    def test_initializer_failure_breaks_the_pool(self):
        def init():
            raise ValueError("no good")

        with self.assertLogs("concurrent.futures", level=logging.CRITICAL) as logs:
            ex = ThreadPoolExecutor(max_workers=2, initializer=init)
            f = ex.submit(lambda: 1)
            with self.assertRaises(BrokenThreadPool) as cm:
                f.result(LONG)
        self.assertIn("initializer", str(cm.exception))
        self.assertIn("Exception in initializer", logs.output[0])
        with self.assertRaises(BrokenThreadPool):
            ex.submit(lambda: 2)
        with self.assertRaises(cfutures.BrokenExecutor):
            ex.submit(lambda: 2)
        ex.shutdown()


class ShutdownTest(unittest.TestCase):
    def test_submit_after_shutdown(self):
        ex = ThreadPoolExecutor(max_workers=1)
        ex.shutdown()
        with self.assertRaisesRegex(RuntimeError, "^cannot schedule new futures after shutdown$"):
            ex.submit(pow, 2, 5)
        ex.shutdown()  # idempotent

    def test_with_statement_waits(self):
        results = []
        with ThreadPoolExecutor(max_workers=2) as ex:
            for i in range(4):
                ex.submit(lambda i=i: (time.sleep(0.02), results.append(i)))
        self.assertEqual(sorted(results), [0, 1, 2, 3])
        with self.assertRaises(RuntimeError):
            ex.submit(pow, 2, 2)

    def test_shutdown_no_wait_lets_work_finish(self):
        ex = ThreadPoolExecutor(max_workers=1)
        release = threading.Event()
        f = ex.submit(release.wait, LONG)
        g = ex.submit(lambda: "queued")
        ex.shutdown(wait=False)
        release.set()
        self.assertTrue(f.result(LONG))
        self.assertEqual(g.result(LONG), "queued")

    def test_cancel_futures(self):
        ex = ThreadPoolExecutor(max_workers=1)
        started, release = threading.Event(), threading.Event()
        running = ex.submit(lambda: (started.set(), release.wait(LONG))[1])
        queued = [ex.submit(lambda: 1) for _ in range(5)]
        self.assertTrue(started.wait(LONG))
        ex.shutdown(wait=False, cancel_futures=True)
        release.set()
        self.assertTrue(running.result(LONG))
        self.assertTrue(all(f.cancelled() for f in queued))
        ex.shutdown(wait=True)

    def test_cancel_futures_right_after_the_first_submit(self):
        # As CPython: the thread the first submit starts takes that task, so cancel_futures does not cancel it.
        for _ in range(20):
            ex = ThreadPoolExecutor(max_workers=1)
            f = ex.submit(lambda: 7)
            ex.shutdown(wait=True, cancel_futures=True)
            self.assertFalse(f.cancelled())
            self.assertEqual(f.result(LONG), 7)

    def test_shutdown_from_a_task(self):
        ex = ThreadPoolExecutor(max_workers=2)
        f = ex.submit(lambda: ex.shutdown(wait=True))
        self.assertIsNone(f.result(LONG))
        with self.assertRaises(RuntimeError):
            ex.submit(pow, 2, 2)
        ex.shutdown()

    def test_executor_collected_without_shutdown(self):
        import gc
        import weakref
        ex = ThreadPoolExecutor(max_workers=2)
        f = ex.submit(lambda: 3)
        ref = weakref.ref(ex)
        del ex
        gc.collect()
        self.assertIsNone(ref())
        self.assertEqual(f.result(LONG), 3)


class MapTest(unittest.TestCase):
    def setUp(self):
        self.executor = ThreadPoolExecutor(max_workers=4)

    def tearDown(self):
        self.executor.shutdown()

    def test_map_in_order(self):
        self.assertEqual(list(self.executor.map(pow, range(10), range(10))), list(map(pow, range(10), range(10))))
        self.assertEqual(list(self.executor.map(pow, range(10), range(10), chunksize=3)),
                         list(map(pow, range(10), range(10))))

    def test_map_exception(self):
        it = self.executor.map(divmod, [1, 1, 1, 1], [2, 3, 0, 5])
        self.assertEqual(next(it), (0, 1))
        self.assertEqual(next(it), (0, 1))
        with self.assertRaises(ZeroDivisionError):
            next(it)

    def test_map_timeout(self):
        release = threading.Event()
        results = []
        with self.assertRaises(TimeoutError):
            for r in self.executor.map(lambda x: release.wait(LONG) if x else x, [0, 1], timeout=0.1):
                results.append(r)
        release.set()
        self.assertEqual(results, [0])

    def test_map_buffersize_validation(self):
        with self.assertRaisesRegex(ValueError, "buffersize must be None or > 0"):
            self.executor.map(str, range(3), buffersize=0)
        with self.assertRaisesRegex(TypeError, "buffersize must be an integer or None"):
            self.executor.map(str, range(3), buffersize=2.0)

    def test_map_buffersize_is_lazy(self):
        pulled = []

        def source():
            for i in range(100):
                pulled.append(i)
                yield i

        it = self.executor.map(lambda x: x * 2, source(), buffersize=3)
        self.assertEqual(len(pulled), 3)           # only the first buffer was taken at the call
        self.assertEqual(next(it), 0)
        self.assertLessEqual(len(pulled), 4)       # one more per result taken
        self.assertEqual(list(it), [2 * i for i in range(1, 100)])

    def test_map_buffersize_infinite_input(self):
        it = self.executor.map(str, itertools.count(), buffersize=2)
        self.assertEqual([next(it) for _ in range(5)], ["0", "1", "2", "3", "4"])
        it.close()

    def test_map_close_cancels_the_rest(self):
        release = threading.Event()
        ex = ThreadPoolExecutor(max_workers=1)
        try:
            calls = []
            it = ex.map(lambda x: (calls.append(x), x and release.wait(LONG))[1], range(5))
            self.assertEqual(next(it), 0)
            it.close()  # as CPython: a started map iterator cancels what has not started when closed
            release.set()
        finally:
            ex.shutdown()
        self.assertLess(len(calls), 5)


class ConcurrencyTest(unittest.TestCase):
    def test_main_thread_waits_while_tasks_call_back_into_python(self):
        # Each task runs Python (it needs the GIL) and completes futures that other tasks wait on, while the
        # main thread blocks in wait(): every blocking call must release the GIL.
        with ThreadPoolExecutor(max_workers=8) as ex:
            gates = [cfutures.Future() for _ in range(8)]

            def chain(i):
                if i:
                    gates[i - 1].result(LONG)
                gates[i].set_result(i)
                return sum(range(1000))

            fs = [ex.submit(chain, i) for i in reversed(range(8))]
            done, not_done = cfutures.wait(fs, timeout=LONG)
            self.assertEqual(len(done), 8)
            self.assertEqual(not_done, set())
            self.assertEqual([g.result() for g in gates], list(range(8)))

    def test_submit_from_done_callbacks(self):
        with ThreadPoolExecutor(max_workers=2) as ex:
            finished = threading.Event()
            count = itertools.count(1)

            def again(f):
                if next(count) < 50:
                    ex.submit(lambda: None).add_done_callback(again)
                else:
                    finished.set()

            ex.submit(lambda: None).add_done_callback(again)
            self.assertTrue(finished.wait(LONG))


def wait_for(predicate, what):
    """Polls predicate (bounded by LONG): for what a task does after its future is done, with nothing to wait on."""
    deadline = time.monotonic() + LONG
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.001)


class StopWhenAsked:
    """A task that runs until cfutures.cancel_requested() turns true (at most LONG seconds), then returns a late
    result or raises a late exception. started / stopped tell where it is."""

    def __init__(self, raise_at_end=None):
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.saw_request = None
        self.raise_at_end = raise_at_end

    def __call__(self):
        self.started.set()
        try:
            deadline = time.monotonic() + LONG
            while not cfutures.cancel_requested() and time.monotonic() < deadline:
                time.sleep(0.001)
            self.saw_request = cfutures.cancel_requested()
            if self.raise_at_end is not None:
                raise self.raise_at_end
            return "late result"
        finally:
            self.stopped.set()


class TimeLimitTest(unittest.TestCase):
    def setUp(self):
        self.executor = ThreadPoolExecutor(max_workers=2)

    def tearDown(self):
        self.executor.shutdown(wait=True)

    def test_time_limit_fails_the_future(self):
        task = StopWhenAsked()
        start = time.monotonic()
        f = self.executor.submit_with(SubmitOptions(time_limit=0.2), task)
        sibling = self.executor.submit(lambda: (time.sleep(0.4), "sibling")[1])
        with self.assertRaises(TimeLimitError) as cm:
            f.result(LONG)
        self.assertLess(time.monotonic() - start, 1.0)
        e = cm.exception
        self.assertIsInstance(e, TimeoutError)
        self.assertIsInstance(e, concurrent.futures.TimeoutError)
        self.assertEqual(e.status_name, "CF_E_TIME_LIMIT")
        self.assertIn("time limit", str(e))
        self.assertTrue(f.done())
        self.assertFalse(f.cancelled())
        self.assertEqual(sibling.result(LONG), "sibling")
        # The task was asked to stop (a thread cannot be killed); what it returned then is discarded.
        self.assertTrue(task.stopped.wait(LONG))
        self.assertTrue(task.saw_request)
        self.assertIs(f.exception(0), e)
        with self.assertRaises(TimeLimitError):
            f.result(0)

    def test_late_exception_is_discarded(self):
        late = ValueError("too late")
        task = StopWhenAsked(raise_at_end=late)
        f = self.executor.submit_with(SubmitOptions(time_limit=0.1), task)
        self.assertIsInstance(f.exception(LONG), TimeLimitError)
        self.assertTrue(task.stopped.wait(LONG))
        wait_for(lambda: f._exception is late, "the trampoline to take the late exception")
        self.assertIsInstance(f.exception(0), TimeLimitError)   # not the task's late ValueError
        with self.assertRaises(TimeLimitError):
            f.result(0)

    def test_time_limit_counts_from_the_start(self):
        ex = ThreadPoolExecutor(max_workers=1)
        self.addCleanup(ex.shutdown)
        first = ex.submit(time.sleep, 0.3)
        second = ex.submit_with(SubmitOptions(time_limit=0.25), lambda: "in time")
        self.assertIsNone(first.result(LONG))
        self.assertEqual(second.result(LONG), "in time")

    def test_within_the_limit_and_defaults(self):
        ex = self.executor
        self.assertEqual(ex.submit_with(SubmitOptions(time_limit=LONG), pow, 2, 10).result(LONG), 1024)
        self.assertEqual(ex.submit_with(SubmitOptions(time_limit=float("inf")), pow, 2, 3).result(LONG), 8)
        self.assertEqual(ex.submit_with(SubmitOptions(), mul, 3, y=4).result(LONG), 12)
        self.assertEqual(ex.submit_with(None, mul, 3, 5).result(LONG), 15)
        exc = KeyError("own")
        f = ex.submit_with(SubmitOptions(time_limit=LONG), lambda: (_ for _ in ()).throw(exc))
        self.assertIs(f.exception(LONG), exc)   # a task's own exception within its limit: the very object

    def test_keywords_reach_the_callable(self):
        # submit forwards every keyword to fn: a task may take time_limit or options arguments of its own.
        ex = self.executor
        self.assertEqual(ex.submit(lambda **kw: kw, time_limit=1).result(LONG), {"time_limit": 1})
        self.assertEqual(ex.submit_with(None, lambda **kw: kw, options=2, fn=3).result(LONG),
                         {"options": 2, "fn": 3})

    def test_submit_options_validation(self):
        for bad in (-0.5, float("nan")):
            with self.assertRaises(ValueError):
                SubmitOptions(time_limit=bad)
        for bad in ("1", True, [1]):
            with self.assertRaises(TypeError):
                SubmitOptions(time_limit=bad)
        self.assertEqual(SubmitOptions(time_limit=1).time_limit, 1.0)
        self.assertIsNone(SubmitOptions().time_limit)
        with self.assertRaises(AttributeError):       # frozen
            SubmitOptions().time_limit = 3
        with self.assertRaises(TypeError):
            self.executor.submit_with(0.5, pow, 2, 2)

    def test_cancel_requested_outside_a_task(self):
        self.assertFalse(cfutures.cancel_requested())


class CancelRunningTest(unittest.TestCase):
    def test_cancel_running_cancels_a_running_task(self):
        ex = ThreadPoolExecutor(max_workers=1, cancel_running=True)
        self.addCleanup(ex.shutdown)
        task = StopWhenAsked()
        f = ex.submit(task)
        self.assertTrue(task.started.wait(LONG))
        self.assertTrue(f.running())
        self.assertTrue(f.cancel())
        self.assertTrue(f.cancelled())
        self.assertTrue(f.done())
        with self.assertRaises(CancelledError):
            f.result(LONG)
        # The thread runs on until the task sees the request and returns; its late result is discarded.
        self.assertTrue(task.stopped.wait(LONG))
        self.assertTrue(task.saw_request)
        with self.assertRaises(CancelledError):
            f.result(0)
        self.assertEqual(ex.submit(pow, 2, 4).result(LONG), 16)   # the pool goes on

    def test_without_cancel_running_a_running_task_is_only_asked_to_stop(self):
        ex = ThreadPoolExecutor(max_workers=1)
        self.addCleanup(ex.shutdown)
        task = StopWhenAsked()
        f = ex.submit(task)
        self.assertTrue(task.started.wait(LONG))
        self.assertFalse(f.cancel())          # as CPython: running, not cancelled
        self.assertEqual(f.result(LONG), "late result")
        self.assertTrue(task.saw_request)     # but asked to stop

    def test_shutdown_cancel_futures_cancels_running_tasks(self):
        ex = ThreadPoolExecutor(max_workers=1, cancel_running=True)
        task = StopWhenAsked()
        running = ex.submit(task)
        queued = ex.submit(pow, 2, 2)
        self.assertTrue(task.started.wait(LONG))
        ex.shutdown(wait=True, cancel_futures=True)
        self.assertTrue(running.cancelled())
        self.assertTrue(queued.cancelled())
        self.assertTrue(task.stopped.is_set())   # shutdown(wait=True) waited for the thread
        self.assertTrue(task.saw_request)

    def test_cancel_running_is_keyword_only(self):
        with self.assertRaises(TypeError):
            ThreadPoolExecutor(1, "", None, (), True)


class StatsTest(unittest.TestCase):
    def test_stats_add_up(self):
        ex = ThreadPoolExecutor(max_workers=1)
        self.addCleanup(ex.shutdown)
        stats = ex.stats()
        self.assertIsInstance(stats, ExecutorStats)
        self.assertEqual((stats.completed, stats.failed, stats.cancelled, stats.queued, stats.running),
                         (0, 0, 0, 0, 0))
        started, release = threading.Event(), threading.Event()
        blocker = ex.submit(lambda: (started.set(), release.wait(LONG))[1])
        self.assertTrue(started.wait(LONG))
        queued = [ex.submit(pow, 2, i) for i in range(3)]
        s = ex.stats()
        self.assertEqual((s.running, s.queued), (1, 3), s)
        self.assertTrue(queued[0].cancel())
        release.set()
        raising = ex.submit(lambda: 1 / 0)
        limited = ex.submit_with(SubmitOptions(time_limit=0.05), StopWhenAsked())
        fs = [blocker, *queued, raising, limited]
        done, not_done = cfutures.wait(fs, timeout=LONG)
        self.assertEqual(not_done, set())
        s = ex.stats()
        self.assertEqual((s.completed, s.failed, s.cancelled), (3, 2, 1), s)
        self.assertEqual(s.finished, len(fs))
        self.assertEqual((s.worker_deaths, s.workers_replaced), (0, 0), s)
        ex.shutdown(wait=True)
        final = ex.stats()     # the counters as the pool ended
        self.assertEqual((final.completed, final.failed, final.cancelled), (3, 2, 1), final)
        self.assertEqual((final.queued, final.running), (0, 0), final)


if __name__ == "__main__":
    unittest.main()
