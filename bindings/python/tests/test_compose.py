# SPDX-License-Identifier: MIT
"""Future.then, when_all and when_any: values and the very exception objects passed on, cancellation both ways,
thread and process pools (and CPython's executors) mixed in one chain, asyncio.gather over composed futures."""
import asyncio
import concurrent.futures
import threading
import unittest

import cfutures
from cfutures import Future, ProcessPoolExecutor, ThreadPoolExecutor, when_all, when_any

from .support import LONG


def double(x):
    return 2 * x


def fail_on(x):
    raise KeyError(x)


class ThenTest(unittest.TestCase):
    def setUp(self):
        self.threads = ThreadPoolExecutor(2)
        self.addCleanup(self.threads.shutdown)

    def test_chain_across_thread_and_process_pools(self):
        with ProcessPoolExecutor(1, mp_context="fork") as procs, concurrent.futures.ThreadPoolExecutor(1) as std:
            f = self.threads.submit(lambda: 5)
            g = f.then(procs, double).then(std, double).then(self.threads, str)
            self.assertEqual(g.result(LONG), "20")
            self.assertEqual(f.result(), 5)
            self.assertIsInstance(g, concurrent.futures.Future)

    def test_failure_passes_on_without_running_the_step(self):
        ran = []
        f = self.threads.submit(fail_on, "k")
        g = f.then(self.threads, lambda v: ran.append(v)).then(self.threads, lambda v: ran.append(v))
        with self.assertRaises(KeyError) as cm:
            g.result(LONG)
        self.assertIs(cm.exception, f.exception())   # the same exception object
        self.assertEqual(ran, [])

    def test_cancellation_both_ways(self):
        ran = []
        source = Future()
        g = source.then(self.threads, lambda v: ran.append(v))
        self.assertTrue(g.cancel())
        source.set_running_or_notify_cancel()
        source.set_result(1)
        self.threads.shutdown(wait=True)
        self.assertEqual(ran, [])
        self.assertTrue(g.cancelled())
        # a cancelled source cancels the continuation, whose waiters hear of it
        pool = ThreadPoolExecutor(1)
        self.addCleanup(pool.shutdown)
        source = Future()
        g = source.then(pool, lambda v: ran.append(v))
        self.assertTrue(source.cancel())
        source.set_running_or_notify_cancel()
        done, _ = concurrent.futures.wait([g], timeout=LONG)
        self.assertEqual(done, {g})
        self.assertTrue(g.cancelled())

    def test_long_chain_holds_no_thread(self):
        source = Future()
        at = source
        for _ in range(2000):
            at = at.then(self.threads, lambda v: v + 1)
        before = threading.active_count()
        source.set_running_or_notify_cancel()
        source.set_result(0)
        self.assertEqual(at.result(LONG), 2000)
        self.assertLessEqual(threading.active_count(), before + 2)


class JoinTest(unittest.TestCase):
    def test_when_all_and_when_any(self):
        with ThreadPoolExecutor(2) as pool:
            a, b = Future(), Future()
            every, first = when_all([a, pool.submit(lambda: "x"), b]), when_any([a, b])
            b.set_running_or_notify_cancel()
            b.set_result(2)
            self.assertEqual(first.result(LONG), 1)
            self.assertFalse(every.done())
            a.set_running_or_notify_cancel()
            a.set_result(1)
            self.assertEqual(every.result(LONG), [1, "x", 2])
            boom = pool.submit(fail_on, "z")
            with self.assertRaises(KeyError):
                when_all([Future(), boom]).result(LONG)
            self.assertEqual(when_all([]).result(0), [])
            with self.assertRaises(ValueError):
                when_any([])
            done = pool.submit(lambda: 1)
            done.result(LONG)
            self.assertEqual(when_any([Future(), done]).result(LONG), 1)   # done already counts

    def test_asyncio_gather_over_composed_futures(self):
        with ThreadPoolExecutor(2) as pool:
            async def main():
                fs = [pool.submit(lambda i=i: i).then(pool, double) for i in range(5)]
                return await asyncio.gather(*(asyncio.wrap_future(f) for f in fs))
            self.assertEqual(asyncio.run(main()), [0, 2, 4, 6, 8])


class DeadlockTest(unittest.TestCase):
    """The deadlock examples of the concurrent.futures docs: a wait that cannot end raises DeadlockError at once."""

    @staticmethod
    def _outcomes(plan, waits):
        """Runs a task per entry of plan (name -> the names of the futures it waits for, through waits), on one
        pool, every task running before any waits; returns their outcomes in plan's order: "done", or the
        DeadlockError the task was told."""
        with ThreadPoolExecutor(max_workers=len(plan)) as executor:
            all_run = threading.Barrier(len(plan))
            futures = {}
            ready = threading.Event()

            def wait_for(names):
                all_run.wait(LONG)
                ready.wait(LONG)
                try:
                    waits([futures[n] for n in names])
                    return "done"
                except cfutures.DeadlockError as exc:
                    return exc

            for name, names in plan.items():
                futures[name] = executor.submit(wait_for, names)
            ready.set()
            return [futures[name].result(LONG) for name in plan]

    def test_two_tasks_waiting_for_each_other(self):
        for _ in range(5):
            outcomes = self._outcomes({"a": ["b"], "b": ["a"]}, lambda fs: fs[0].result())
            told = [o for o in outcomes if isinstance(o, cfutures.DeadlockError)]
            self.assertGreaterEqual(len(told), 1)
            self.assertIsInstance(told[0], RuntimeError)

    def test_wait_and_as_completed_in_a_cycle(self):
        # a waits for the first of b and c (or as they complete); b and c wait for a: whoever waits last is told.
        for waits in (lambda fs: cfutures.wait(fs, return_when=cfutures.FIRST_COMPLETED),
                      lambda fs: list(cfutures.as_completed(fs)), lambda fs: fs[0].result()):
            outcomes = self._outcomes({"a": ["b", "c"], "b": ["a"], "c": ["a"]}, waits)
            self.assertTrue(any(isinstance(o, cfutures.DeadlockError) for o in outcomes), outcomes)

    def test_waiting_for_its_own_future(self):
        with ThreadPoolExecutor(max_workers=1) as executor:
            mine = []
            ready = threading.Event()

            def wait_on_self():
                ready.wait(LONG)
                with self.assertRaises(cfutures.DeadlockError):
                    mine[0].result()
                return "told"

            mine.append(executor.submit(wait_on_self))
            ready.set()
            self.assertEqual(mine[0].result(LONG), "told")

    def test_one_worker_waiting_on_its_own_queue_still_completes(self):
        with ThreadPoolExecutor(max_workers=1) as executor:
            def wait_on_future():
                return executor.submit(pow, 5, 2).result()
            self.assertEqual(executor.submit(wait_on_future).result(LONG), 25)


if __name__ == "__main__":
    unittest.main()
