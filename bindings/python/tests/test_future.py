# SPDX-License-Identifier: MIT
"""Futures made and completed by hand, and the exception classes: as concurrent.futures documents them."""
import concurrent.futures
import logging
import threading
import unittest

import cfutures
from cfutures import CancelledError, Future, InvalidStateError, TimeoutError

from .support import LONG


class ExceptionClassesTest(unittest.TestCase):
    def test_same_classes_as_concurrent_futures(self):
        import concurrent.futures.process
        import concurrent.futures.thread
        self.assertIs(cfutures.CancelledError, concurrent.futures.CancelledError)
        self.assertIs(cfutures.TimeoutError, concurrent.futures.TimeoutError)
        self.assertIs(cfutures.InvalidStateError, concurrent.futures.InvalidStateError)
        self.assertIs(cfutures.BrokenExecutor, concurrent.futures.BrokenExecutor)
        self.assertIs(cfutures.BrokenThreadPool, concurrent.futures.thread.BrokenThreadPool)
        self.assertIs(cfutures.BrokenProcessPool, concurrent.futures.process.BrokenProcessPool)
        self.assertTrue(issubclass(cfutures.BrokenThreadPool, cfutures.BrokenExecutor))
        self.assertIs(cfutures.FIRST_COMPLETED, concurrent.futures.FIRST_COMPLETED)

    def test_catchable_as_concurrent_futures_error(self):
        f = Future()
        self.assertTrue(f.cancel())
        with self.assertRaises(concurrent.futures.CancelledError):
            f.result(0)


class FutureTest(unittest.TestCase):
    def test_pending_state(self):
        f = Future()
        self.assertFalse(f.done())
        self.assertFalse(f.running())
        self.assertFalse(f.cancelled())
        self.assertIn("state=pending", repr(f))
        with self.assertRaises(TimeoutError):
            f.result(timeout=0)
        with self.assertRaises(TimeoutError):
            f.exception(timeout=0.01)

    def test_set_result_returns_the_same_object(self):
        f = Future()
        value = object()
        f.set_result(value)
        self.assertTrue(f.done())
        self.assertIs(f.result(), value)
        self.assertIsNone(f.exception())
        self.assertIn("state=finished returned object", repr(f))

    def test_set_exception_raises_the_same_instance(self):
        f = Future()
        exc = KeyError("k")
        f.set_exception(exc)
        with self.assertRaises(KeyError) as cm:
            f.result()
        self.assertIs(cm.exception, exc)
        self.assertIs(f.exception(), exc)
        self.assertIn("raised KeyError", repr(f))

    def test_second_completion_is_invalid_state(self):
        f = Future()
        f.set_result(1)
        with self.assertRaises(InvalidStateError):
            f.set_result(2)
        with self.assertRaises(InvalidStateError):
            f.set_exception(ValueError())
        self.assertEqual(f.result(), 1)

    def test_set_result_after_cancel_is_invalid_state(self):
        f = Future()
        self.assertTrue(f.cancel())
        with self.assertRaises(InvalidStateError):
            f.set_result(1)
        self.assertTrue(f.cancelled())

    def test_cancel(self):
        f = Future()
        self.assertTrue(f.cancel())
        self.assertTrue(f.cancel())  # cancelled before: still True
        self.assertTrue(f.cancelled())
        self.assertTrue(f.done())
        with self.assertRaises(CancelledError):
            f.result()
        with self.assertRaises(CancelledError):
            f.exception()

    def test_set_running_or_notify_cancel(self):
        f = Future()
        self.assertTrue(f.set_running_or_notify_cancel())
        self.assertTrue(f.running())
        self.assertFalse(f.cancel())  # running: cannot be cancelled
        with self.assertRaises(RuntimeError), self.assertLogs("concurrent.futures", level=logging.CRITICAL):
            f.set_running_or_notify_cancel()  # as CPython: "Future in unexpected state", logged
        f.set_result("x")
        self.assertFalse(f.running())
        self.assertFalse(f.cancel())
        g = Future()
        g.cancel()
        self.assertFalse(g.set_running_or_notify_cancel())

    def test_result_waits_for_another_thread(self):
        f = Future()
        t = threading.Timer(0.05, f.set_result, args=("late",))
        t.start()
        self.assertEqual(f.result(timeout=LONG), "late")
        t.join()

    def test_callbacks_in_order_with_the_future(self):
        f = Future()
        seen = []
        f.add_done_callback(lambda fut: seen.append(("a", fut)))
        f.add_done_callback(lambda fut: seen.append(("b", fut)))
        self.assertEqual(seen, [])
        f.set_result(5)
        self.assertEqual(seen, [("a", f), ("b", f)])
        f.add_done_callback(lambda fut: seen.append(("late", fut.result())))  # done already: at once
        self.assertEqual(seen[-1], ("late", 5))

    def test_callback_on_cancel(self):
        f = Future()
        seen = []
        f.add_done_callback(lambda fut: seen.append(fut.cancelled()))
        f.cancel()
        self.assertEqual(seen, [True])

    def test_raising_callback_is_logged_and_others_still_run(self):
        f = Future()
        seen = []

        def bad(_):
            raise ZeroDivisionError("in callback")

        f.add_done_callback(bad)
        f.add_done_callback(lambda fut: seen.append("after"))
        with self.assertLogs("concurrent.futures", level=logging.ERROR) as logs:
            f.set_result(None)
        self.assertEqual(seen, ["after"])
        self.assertIn("exception calling callback", logs.output[0])
        with self.assertLogs("concurrent.futures", level=logging.ERROR):
            f.add_done_callback(bad)  # done already: called, logged, not raised

    def test_callback_completed_from_another_thread_runs_there(self):
        f = Future()
        where = []
        f.add_done_callback(lambda fut: where.append(threading.current_thread().name))
        t = threading.Thread(target=f.set_result, args=(1,), name="completer")
        t.start()
        t.join()
        self.assertEqual(where, ["completer"])


if __name__ == "__main__":
    unittest.main()
