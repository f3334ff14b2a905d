# SPDX-License-Identifier: MIT
"""wait() and as_completed(), as concurrent.futures documents them."""
import gc
import threading
import unittest
import weakref

from cfutures import (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor,
                      TimeoutError, as_completed, wait)

from .support import LONG


def finished(value):
    f = Future()
    f.set_result(value)
    return f


def failed(exc):
    f = Future()
    f.set_exception(exc)
    return f


def cancelled():
    """Cancelled and notified, as an executor leaves a future it cancelled: done for wait() and as_completed().
    (A future made by hand and only cancelled is CANCELLED: as in CPython, waits see it done only once
    set_running_or_notify_cancel() has told them; see test_asyncio.StdlibProtocolTest.)"""
    f = Future()
    f.cancel()
    f.set_running_or_notify_cancel()
    return f


class PoolTestCase(unittest.TestCase):
    """A thread pool per test; blocked() tasks wait until the test ends (or sets self.release)."""

    def setUp(self):
        self.executor = ThreadPoolExecutor(max_workers=4)
        self.release = threading.Event()

    def tearDown(self):
        self.release.set()
        self.executor.shutdown()

    def blocked(self):
        return self.executor.submit(self.release.wait, LONG)


class WaitTest(PoolTestCase):
    def test_first_completed(self):
        done_f, pending = finished(1), self.blocked()
        done, not_done = wait([pending, done_f], timeout=LONG, return_when=FIRST_COMPLETED)
        self.assertEqual(done, {done_f})
        self.assertEqual(not_done, {pending})

    def test_first_completed_wakes_on_completion(self):
        gate = threading.Event()
        f1 = self.executor.submit(gate.wait, LONG)
        f2 = self.blocked()
        threading.Timer(0.05, gate.set).start()
        done, not_done = wait([f1, f2], timeout=LONG, return_when=FIRST_COMPLETED)
        self.assertEqual((done, not_done), ({f1}, {f2}))

    def test_first_exception(self):
        ok, bad, pending = finished(1), failed(ValueError()), self.blocked()
        done, not_done = wait([ok, bad, pending], timeout=LONG, return_when=FIRST_EXCEPTION)
        self.assertEqual(done, {ok, bad})
        self.assertEqual(not_done, {pending})

    def test_first_exception_from_a_task(self):
        def boom():
            raise OSError("x")
        bad, pending = self.executor.submit(boom), self.blocked()
        done, not_done = wait([bad, pending], timeout=LONG, return_when=FIRST_EXCEPTION)
        self.assertEqual((done, not_done), ({bad}, {pending}))

    def test_first_exception_ignores_cancelled(self):
        c, pending = cancelled(), self.blocked()
        done, not_done = wait([c, pending], timeout=0.1, return_when=FIRST_EXCEPTION)
        self.assertEqual((done, not_done), ({c}, {pending}))  # returned on the timeout, not at once

    def test_all_completed(self):
        fs = [finished(1), failed(KeyError()), cancelled()]
        done, not_done = wait(fs, return_when=ALL_COMPLETED)
        self.assertEqual(done, set(fs))
        self.assertEqual(not_done, set())

    def test_timeout(self):
        ok, pending = finished(1), self.blocked()
        result = wait([ok, pending], timeout=0.05)
        self.assertEqual(result.done, {ok})
        self.assertEqual(result.not_done, {pending})

    def test_duplicates_and_empty(self):
        ok = finished(1)
        done, not_done = wait([ok, ok, ok])
        self.assertEqual(done, {ok})
        self.assertEqual(wait([]), (set(), set()))

    def test_bad_return_when(self):
        with self.assertRaises(ValueError):
            wait([finished(1)], return_when="SOMETIME")


class AsCompletedTest(PoolTestCase):
    def test_done_first_then_in_completion_order(self):
        a, b = finished("a"), cancelled()
        gates = [threading.Event() for _ in range(3)]
        fs = [self.executor.submit(g.wait, LONG) for g in gates]
        it = as_completed([fs[0], a, fs[1], b, fs[2]], timeout=LONG)
        self.assertEqual({next(it), next(it)}, {a, b})
        for i in (2, 0, 1):
            gates[i].set()
            self.assertIs(next(it), fs[i])
        with self.assertRaises(StopIteration):
            next(it)

    def test_duplicates_yielded_once(self):
        f = finished(1)
        g = self.executor.submit(lambda: 2)
        self.assertEqual(set(as_completed([f, f, g, g, f], timeout=LONG)), {f, g})
        self.assertEqual(len(list(as_completed([f, f, g], timeout=LONG))), 2)

    def test_timeout_message(self):
        ok = finished(1)
        pending = [self.blocked() for _ in range(2)]
        seen = []
        with self.assertRaises(TimeoutError) as cm:
            for f in as_completed([ok, pending[0], pending[1], pending[0]], timeout=0.05):
                seen.append(f)
        self.assertEqual(seen, [ok])
        self.assertEqual(str(cm.exception), "2 (of 3) futures unfinished")

    def test_zero_timeout_with_all_done(self):
        fs = [finished(i) for i in range(3)]
        self.assertEqual(set(as_completed(fs, timeout=0)), set(fs))

    def test_yielded_futures_are_not_kept(self):
        # As CPython since bpo-14406: a future the loop is done with (and its result) can be collected before the
        # loop ends.
        futures_list = [Future() for _ in range(4)] + [finished(42), cancelled()]
        with self.assertRaises(TimeoutError):
            for future in as_completed(futures_list, timeout=0):
                futures_list.remove(future)
                ref = weakref.ref(future)
                del future
                gc.collect()
                self.assertIsNone(ref())
        self.assertEqual(len(futures_list), 4)

    def test_abandoned_generator(self):
        fs = [finished(1), self.blocked()]
        it = as_completed(fs)
        self.assertIs(next(it), fs[0])
        it.close()  # frees the library's iterator; must not block
        self.release.set()

    def test_rejects_what_is_not_a_future(self):
        with self.assertRaises(TypeError):
            list(as_completed([finished(1), object()]))
        with self.assertRaises(TypeError):
            wait([finished(1), 42])


if __name__ == "__main__":
    unittest.main()
