# SPDX-License-Identifier: MIT
"""cfutures futures are concurrent.futures futures: asyncio (wrap_future, run_in_executor, gather), the standard
library's wait() and as_completed() over them (and cfutures's over the standard library's), and the private
protocol of concurrent.futures.Future that those rely on (_condition, _state, _waiters)."""
import asyncio
import concurrent.futures
import gc
import sys
import threading
import unittest
import weakref
from concurrent.futures import _base

import cfutures
from cfutures import Future, ProcessPoolExecutor, TaskError, ThreadPoolExecutor

from .support import LONG, tasks_library


def setUpModule():
    # Loaded before any forkserver pool starts, so that the forkserver's workers know the tasks.
    cfutures.load_library(tasks_library())


def finished(value):
    f = Future()
    f.set_result(value)
    return f


def std_finished(value):
    f = concurrent.futures.Future()
    f.set_result(value)
    return f


class Pool:
    """A thread pool per test; blocked() tasks wait until the test ends (or self.release is set)."""

    def setUp(self):
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="aio")
        self.release = threading.Event()

    def tearDown(self):
        self.release.set()
        self.pool.shutdown(wait=True)

    def blocked(self):
        return self.pool.submit(self.release.wait, LONG)


class SubclassTest(Pool, unittest.TestCase):
    def test_futures_are_concurrent_futures_futures(self):
        self.assertTrue(issubclass(Future, concurrent.futures.Future))
        self.assertIsInstance(Future(), concurrent.futures.Future)
        self.assertIsInstance(self.pool.submit(int), concurrent.futures.Future)
        with ProcessPoolExecutor(max_workers=1, library=tasks_library()) as pool:
            f = pool.submit("test.echo", b"x")
            self.assertIsInstance(f, concurrent.futures.Future)
            self.assertEqual(f.result(LONG), b"x")

    def test_generic_alias(self):
        self.assertIn("Future[int]", repr(Future[int]))


class AsyncioThreadPoolTest(Pool, unittest.TestCase):
    def test_wrap_future(self):
        async def main():
            return await asyncio.wrap_future(self.pool.submit(pow, 2, 10))
        self.assertEqual(asyncio.run(main()), 1024)

    def test_wrap_future_raises_the_same_exception(self):
        exc = ValueError("from the task")

        def raiser():
            raise exc

        async def main():
            with self.assertRaises(ValueError) as cm:
                await asyncio.wrap_future(self.pool.submit(raiser))
            return cm.exception
        self.assertIs(asyncio.run(main()), exc)

    def test_run_in_executor_runs_on_a_pool_thread(self):
        async def main():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, lambda: threading.current_thread().name)
        self.assertTrue(asyncio.run(main()).startswith("aio_"))

    def test_gather(self):
        async def main():
            loop = asyncio.get_running_loop()
            wrapped = [asyncio.wrap_future(self.pool.submit(pow, 2, i)) for i in range(10)]
            in_executor = [loop.run_in_executor(self.pool, pow, 3, i) for i in range(10)]
            return await asyncio.gather(*wrapped, *in_executor)
        self.assertEqual(asyncio.run(main()), [2 ** i for i in range(10)] + [3 ** i for i in range(10)])

    def test_gather_with_an_exception(self):
        async def main():
            fs = [self.pool.submit(divmod, 1, d) for d in (1, 0, 2)]
            return await asyncio.gather(*map(asyncio.wrap_future, fs), return_exceptions=True)
        results = asyncio.run(main())
        self.assertEqual(results[0], (1, 0))
        self.assertIsInstance(results[1], ZeroDivisionError)
        self.assertEqual(results[2], (0, 1))

    def test_cancelling_the_asyncio_future_cancels_ours(self):
        with ThreadPoolExecutor(max_workers=1) as pool:
            blocker = pool.submit(self.release.wait, LONG)
            queued = pool.submit(pow, 2, 2)

            async def main():
                loop = asyncio.get_running_loop()
                cancelled = asyncio.Event()
                queued.add_done_callback(lambda f: loop.call_soon_threadsafe(cancelled.set))
                wrapped = asyncio.wrap_future(queued)
                wrapped.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await wrapped
                await asyncio.wait_for(cancelled.wait(), LONG)

            asyncio.run(main())
            self.assertTrue(queued.cancelled())
            self.assertEqual(queued._state, _base.CANCELLED_AND_NOTIFIED)
            self.release.set()
            self.assertTrue(blocker.result(LONG))

    def test_cancelling_ours_cancels_the_asyncio_future(self):
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(self.release.wait, LONG)
            queued = pool.submit(pow, 2, 2)

            async def main():
                wrapped = asyncio.wrap_future(queued)
                self.assertTrue(queued.cancel())
                with self.assertRaises(asyncio.CancelledError):
                    await wrapped
                return wrapped.cancelled()

            self.assertTrue(asyncio.run(main()))
            self.release.set()

    def test_wait_for_timeout_asks_the_running_task_to_stop(self):
        started = threading.Event()

        def task():
            started.set()
            self.release.wait(LONG)
            return cfutures.cancel_requested()

        async def main():
            f = self.pool.submit(task)
            await asyncio.wrap_future(self.pool.submit(started.wait, LONG))
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.wrap_future(f), 0.01)
            return f

        f = asyncio.run(main())
        self.assertFalse(f.cancelled())     # a running task cannot be cancelled (without cancel_running)
        self.release.set()
        self.assertTrue(f.result(LONG))     # but it was asked to stop

    def test_hand_made_future_completed_from_a_thread(self):
        f = Future()

        async def main():
            wrapped = asyncio.wrap_future(f)
            threading.Thread(target=f.set_result, args=("late",)).start()
            return await wrapped
        self.assertEqual(asyncio.run(main()), "late")

    def test_as_destination_of_a_chain(self):
        # asyncio copies an asyncio future's outcome into a concurrent.futures.Future through the public methods
        # (run_coroutine_threadsafe does so): cancel, set_running_or_notify_cancel, set_result.
        ours = Future()

        async def main():
            source = asyncio.get_running_loop().create_future()
            asyncio.futures._chain_future(source, ours)
            source.set_result(7)
            await asyncio.sleep(0)
        asyncio.run(main())
        self.assertEqual(ours.result(LONG), 7)

        cancelled = Future()

        async def main2():
            source = asyncio.get_running_loop().create_future()
            asyncio.futures._chain_future(source, cancelled)
            source.cancel()
            await asyncio.sleep(0)
        asyncio.run(main2())
        self.assertTrue(cancelled.cancelled())
        self.assertEqual(cancelled._state, _base.CANCELLED_AND_NOTIFIED)


class AsyncioProcessPoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pool = ProcessPoolExecutor(max_workers=2, library=tasks_library())

    @classmethod
    def tearDownClass(cls):
        cls.pool.shutdown(wait=True)

    def test_run_in_executor(self):
        async def main():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, "test.echo", b"abc")
        self.assertEqual(asyncio.run(main()), b"abc")

    def test_gather(self):
        async def main():
            loop = asyncio.get_running_loop()
            calls = [loop.run_in_executor(self.pool, "test.reverse", b"%d-x" % i) for i in range(8)]
            wrapped = [asyncio.wrap_future(self.pool.submit("test.echo", b"%d" % i)) for i in range(8)]
            return await asyncio.gather(*calls, *wrapped)
        self.assertEqual(asyncio.run(main()), [b"x-%d" % i for i in range(8)] + [b"%d" % i for i in range(8)])

    def test_task_failure(self):
        async def main():
            loop = asyncio.get_running_loop()
            with self.assertRaises(TaskError) as cm:
                await loop.run_in_executor(self.pool, "test.raise", b"no good")
            return cm.exception
        exc = asyncio.run(main())
        self.assertEqual((exc.type, exc.message), ("ValueError", "no good"))


class StdlibWaitTest(Pool, unittest.TestCase):
    """concurrent.futures.wait / as_completed (the standard library's) over cfutures futures."""

    def test_first_completed_wakes_on_completion(self):
        gate = threading.Event()
        f1 = self.pool.submit(gate.wait, LONG)
        f2 = self.blocked()
        waiter = threading.Timer(0, gate.set)   # (completes f1 whether wait() is already waiting or not)
        waiter.start()
        done, not_done = concurrent.futures.wait([f1, f2], timeout=LONG,
                                                 return_when=concurrent.futures.FIRST_COMPLETED)
        waiter.join()
        self.assertEqual((done, not_done), ({f1}, {f2}))

    def test_first_exception(self):
        def boom():
            raise OSError("x")
        bad, ok, pending = self.pool.submit(boom), finished(1), self.blocked()
        done, not_done = concurrent.futures.wait([bad, ok, pending], timeout=LONG,
                                                 return_when=concurrent.futures.FIRST_EXCEPTION)
        self.assertEqual((done, not_done), ({bad, ok}, {pending}))

    def test_all_completed_under_fast_thread_switching(self):
        # As CPython's test_pending_calls_race: completions race with wait() installing its waiter; none may be
        # lost (wait() would then block until its timeout) and none told twice (it would return too early).
        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            for _ in range(5):
                gate = threading.Event()
                fs = {self.pool.submit(gate.wait, LONG) for _ in range(50)}
                gate.set()
                done, not_done = concurrent.futures.wait(fs, timeout=LONG)
                self.assertEqual((len(done), not_done), (50, set()))
                self.assertTrue(all(f.done() for f in done))
        finally:
            sys.setswitchinterval(old)

    def test_as_completed_mixed_with_stdlib_futures(self):
        gates = [threading.Event() for _ in range(3)]
        ours = [self.pool.submit(g.wait, LONG) for g in gates]
        with concurrent.futures.ThreadPoolExecutor(1) as std_pool:
            theirs = std_pool.submit(pow, 2, 5)
            plain = std_finished("plain")
            it = concurrent.futures.as_completed([ours[1], plain, theirs, ours[0], ours[2]], timeout=LONG)
            first = {next(it), next(it)}
            self.assertEqual(first, {plain, theirs})    # (ours wait for their gates)
            for g in gates:
                g.set()
            rest = set(it)
        self.assertEqual(first | rest, {plain, theirs, *ours})

    def test_as_completed_timeout(self):
        pending = self.blocked()
        it = concurrent.futures.as_completed([finished(1), pending], timeout=0.01)
        self.assertEqual(next(it).result(), 1)
        with self.assertRaises(concurrent.futures.TimeoutError):
            next(it)


class StdlibProtocolTest(Pool, unittest.TestCase):
    """The private attributes of concurrent.futures.Future follow the C future."""

    def test_state_of_a_hand_made_future(self):
        f = Future()
        self.assertEqual(f._state, _base.PENDING)
        self.assertTrue(f.set_running_or_notify_cancel())
        self.assertEqual(f._state, _base.RUNNING)
        f.set_result(3)
        self.assertEqual(f._state, _base.FINISHED)
        with self.assertRaisesRegex(concurrent.futures.InvalidStateError,
                                    r"^FINISHED: <Future at 0x[0-9a-f]+ state=finished returned int>$"):
            f.set_result(4)

    def test_cancel_by_hand_as_cpython(self):
        # Cancelled: CANCELLED, done, but wait() and as_completed() hear of it only from
        # set_running_or_notify_cancel() (CANCELLED_AND_NOTIFIED), which returns False once and then raises.
        f = Future()
        self.assertTrue(f.cancel())
        self.assertEqual(f._state, _base.CANCELLED)
        self.assertTrue(f.done() and f.cancelled())
        for wait in (cfutures.wait, concurrent.futures.wait):
            self.assertEqual(wait([f], timeout=0), (set(), {f}))
        self.assertTrue(f.cancel())
        self.assertEqual(f._state, _base.CANCELLED)

        results = []
        started = threading.Event()

        def waiting():
            started.set()
            results.append(cfutures.wait([f], timeout=LONG))
        t = threading.Thread(target=waiting)
        t.start()
        started.wait(LONG)
        self.assertFalse(f.set_running_or_notify_cancel())
        t.join(LONG)
        self.assertEqual(results, [({f}, set())])
        self.assertEqual(f._state, _base.CANCELLED_AND_NOTIFIED)
        for wait in (cfutures.wait, concurrent.futures.wait):
            self.assertEqual(wait([f], timeout=0), ({f}, set()))
        self.assertEqual(list(cfutures.as_completed([f], timeout=0)), [f])
        with self.assertRaises(RuntimeError), self.assertLogs("concurrent.futures", "CRITICAL"):
            f.set_running_or_notify_cancel()

    def test_executor_futures_are_notified_when_cancelled(self):
        # An executor's cancelled future has nobody left to call set_running_or_notify_cancel: waits see it done.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(self.release.wait, LONG)
            queued = pool.submit(int)
            self.assertTrue(queued.cancel())
            self.assertEqual(queued._state, _base.CANCELLED_AND_NOTIFIED)
            self.assertEqual(concurrent.futures.wait([queued], timeout=0), ({queued}, set()))
            self.release.set()

    def test_state_is_finished_as_soon_as_the_result_is(self):
        f = self.pool.submit(pow, 2, 3)
        self.assertEqual(f.result(LONG), 8)
        self.assertEqual(f._state, _base.FINISHED)   # even before the done notification has run
        self.assertEqual(concurrent.futures.wait([f], timeout=0), ({f}, set()))

    def test_running_state(self):
        started = threading.Event()

        def task():
            started.set()
            self.release.wait(LONG)
        f = self.pool.submit(task)
        started.wait(LONG)
        self.assertEqual(f._state, _base.RUNNING)
        self.release.set()
        f.result(LONG)

    def test_state_is_read_only(self):
        f = Future()
        with self.assertRaises(AttributeError):
            f._state = _base.FINISHED
        self.assertEqual(f._state, _base.PENDING)

    def test_state_is_stable_while_the_condition_is_held(self):
        # The standard library's wait() reads _state twice under _condition and counts on the same answer. A
        # completion made in C meanwhile (here by calling the library directly, as a process pool's does) shows
        # once _condition is taken afresh, and the waiter added under it hears of it then, once.
        import ctypes
        from cfutures import _lib
        f = Future()
        waiter = _base._AllCompletedWaiter(1, stop_on_exception=False)
        with f._condition:
            self.assertEqual(f._state, _base.PENDING)
            f._waiters.append(waiter)
            completer = threading.Thread(target=_lib.cf_future_set_result, args=(f._handle, None, 0))
            completer.start()
            out = _lib.cf_slice()
            self.assertEqual(_lib.cf_future_result(f._handle, LONG, ctypes.byref(out)), _lib.CF_OK)
            self.assertTrue(f.done())                           # the C future is done...
            self.assertIn(f._state, (_base.PENDING, _base.RUNNING))   # ...not for whoever holds _condition
            self.assertEqual(waiter.finished_futures, [])
        completer.join(LONG)                                    # (its done callback took _condition)
        self.assertEqual(f._state, _base.FINISHED)
        self.assertEqual(waiter.finished_futures, [f])
        self.assertTrue(waiter.event.is_set())

    def test_waiters_are_told_once(self):
        # A waiter installed while pending hears of the completion exactly once, through the C done callback.
        f = Future()
        waiter = _base._AllCompletedWaiter(1, stop_on_exception=False)
        with f._condition:
            self.assertEqual(f._state, _base.PENDING)
            f._waiters.append(waiter)
        f.set_result(None)
        self.assertEqual(f._state, _base.FINISHED)
        self.assertEqual(waiter.finished_futures, [f])
        self.assertTrue(waiter.event.is_set())
        g = Future()
        with g._condition:
            g._waiters.append(waiter)
        g.set_exception(KeyError())
        self.assertEqual(waiter.finished_futures, [f, g])


class MixedWaitTest(Pool, unittest.TestCase):
    """cfutures.wait / as_completed over the standard library's futures (and ours mixed in)."""

    def test_wait_mixed(self):
        with concurrent.futures.ThreadPoolExecutor(2) as std_pool:
            gate = threading.Event()
            theirs = std_pool.submit(gate.wait, LONG)
            ours, pending = self.pool.submit(pow, 2, 2), self.blocked()
            plain = std_finished(1)
            done, not_done = cfutures.wait([theirs, ours, pending, plain], timeout=LONG,
                                           return_when=cfutures.FIRST_COMPLETED)
            self.assertLessEqual(done, {ours, plain})
            self.assertIn(plain, done)
            gate.set()
            theirs.result(LONG), ours.result(LONG)
            done, not_done = cfutures.wait([theirs, ours, pending, plain], timeout=0)
            self.assertEqual(not_done, {pending})
            self.release.set()
            done, not_done = cfutures.wait([theirs, ours, pending, plain], timeout=LONG)
            self.assertEqual((done, not_done), ({theirs, ours, pending, plain}, set()))

    def test_first_exception_mixed(self):
        bad = concurrent.futures.Future()
        bad.set_exception(ValueError())
        pending = self.blocked()
        done, not_done = cfutures.wait([bad, pending, finished(2)], timeout=LONG,
                                       return_when=cfutures.FIRST_EXCEPTION)
        self.assertIn(bad, done)
        self.assertEqual(not_done, {pending})

    def test_as_completed_mixed(self):
        theirs = concurrent.futures.Future()
        ours = self.blocked()
        it = cfutures.as_completed([finished("a"), theirs, ours], timeout=LONG)
        self.assertEqual(next(it).result(), "a")
        threading.Thread(target=theirs.set_result, args=("b",)).start()
        self.assertIs(next(it), theirs)
        self.release.set()
        self.assertIs(next(it), ours)
        with self.assertRaises(StopIteration):
            next(it)

    def test_as_completed_mixed_timeout_message(self):
        it = cfutures.as_completed([std_finished(1), concurrent.futures.Future(), self.blocked()], timeout=0.01)
        self.assertEqual(next(it).result(), 1)
        with self.assertRaises(cfutures.TimeoutError) as cm:
            next(it)
        self.assertEqual(str(cm.exception), "2 (of 3) futures unfinished")

    def test_as_completed_mixed_lets_yielded_futures_go(self):
        # bpo-14406 on the waiter-protocol path too.
        futures_list = [concurrent.futures.Future(), Future(), std_finished(1), finished(2)]
        with self.assertRaises(cfutures.TimeoutError):
            for future in cfutures.as_completed(futures_list, timeout=0):
                futures_list.remove(future)
                ref = weakref.ref(future)
                del future
                gc.collect()
                self.assertIsNone(ref())
        self.assertEqual(len(futures_list), 2)

    def test_library_path_still_used_for_executor_futures(self):
        # Only cfutures executor futures (and finished hand-made ones): the library waits, and a cancelled
        # executor future counts as done.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(self.release.wait, LONG)
            queued = pool.submit(int)
            queued.cancel()
            self.assertTrue(cfutures._future._library_waits([queued, finished(1)], "wait"))
            self.assertFalse(cfutures._future._library_waits([queued, Future()], "wait"))
            self.assertFalse(cfutures._future._library_waits([queued, std_finished(1)], "wait"))
            self.assertEqual(cfutures.wait([queued], timeout=0), ({queued}, set()))
            self.release.set()

    def test_hand_made_cancelled_future_in_a_mixed_wait(self):
        cancelled = Future()
        cancelled.cancel()
        done, not_done = cfutures.wait([cancelled, finished(1)], timeout=0,
                                       return_when=cfutures.FIRST_COMPLETED)
        self.assertEqual(not_done, {cancelled})
        self.assertFalse(cancelled.set_running_or_notify_cancel())
        done, not_done = cfutures.wait([cancelled], timeout=LONG)
        self.assertEqual(done, {cancelled})

    def test_not_a_future(self):
        with self.assertRaises(TypeError):
            cfutures.wait([std_finished(1), object()])
        with self.assertRaises(TypeError):
            list(cfutures.as_completed([Future(), "x"], timeout=0))


if __name__ == "__main__":
    unittest.main()
