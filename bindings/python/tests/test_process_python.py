# SPDX-License-Identifier: MIT
"""ProcessPoolExecutor running Python functions: submit, map, initializer, exceptions with the remote traceback,
broken pools, and the fork protocol that lets forked workers run Python, under fork, forkserver and spawn."""
import concurrent.futures
import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import unittest

import cfutures
from cfutures import BrokenProcessPool, ProcessPoolExecutor

from .support import LONG, tasks_library

# -- what the workers run (module level: pickled by reference) --------------------------------------------------


def square(x):
    return x * x


def add(a, b, *, scale=1):
    return (a + b) * scale


def pid():
    return os.getpid()


def fails(text):
    raise KeyError(text)


class Unpicklable:
    def __reduce__(self):
        raise TypeError("this object cannot be pickled")


def returns_unpicklable():
    return Unpicklable()


def exits():
    sys.exit(3)


def dies():
    os.kill(os.getpid(), signal.SIGKILL)


_initialized = None


def initialize(value):
    global _initialized
    _initialized = value


def initialized():
    return _initialized


def initializer_fails():
    raise RuntimeError("initializer failed on purpose")


_after_fork_marks = []
os.register_at_fork(after_in_child=lambda: _after_fork_marks.append(os.getpid()))


def after_fork_marks():
    """The pids for which this process ran Python's after-fork hooks (os.register_at_fork)."""
    return list(_after_fork_marks)


def initialize_with_lock(lock):
    global _initialized
    _initialized = "lock %s" % type(lock).__name__


def set_event(event):
    event.set()
    return event.is_set()


def thread_count():
    return threading.active_count()


def echo(data):
    return data


def echo_all(*args, **kwargs):
    return args, kwargs


def same_object(a, b):
    return a is b


def target():
    return "target"


def replacement():
    return "replacement"


def rebind_target_here():
    """In a worker: the module's name `target` now leads to replacement."""
    globals()["target"] = replacement
    return True


class Holder:
    @staticmethod
    def cube(x):
        return x ** 3


class Blob(bytes):
    """A bytes subclass: pickled as itself, never taken for plain bytes."""


def big_results(n):
    """Large data inside a pickled result: bytes, a bytearray and a bytes subclass in a tuple."""
    data = bytes(range(256)) * (n // 256)
    return data, bytearray(data), Blob(data)


# -- the tests, once per start method ----------------------------------------------------------------------------


class PythonCallsMixin:
    start_method = None

    def pool(self, max_workers=2, **kw):
        ex = ProcessPoolExecutor(max_workers=max_workers, mp_context=self.start_method, **kw)
        self.addCleanup(ex.shutdown)
        return ex

    def test_submit_and_result(self):
        ex = self.pool()
        self.assertEqual(ex.submit(square, 12).result(LONG), 144)
        self.assertEqual(ex.submit(add, 1, 2, scale=10).result(LONG), 30)
        self.assertEqual(ex.submit(echo, {"nested": [1, (2, 3)], "bytes": b"\x00\xff"}).result(LONG),
                         {"nested": [1, (2, 3)], "bytes": b"\x00\xff"})
        f = ex.submit(echo, [1, 2])
        self.assertIs(f.result(LONG), f.result(LONG))     # unpickled once, then the same object
        worker = ex.submit(pid).result(LONG)
        self.assertNotEqual(worker, os.getpid())

    def test_is_a_concurrent_futures_executor(self):
        ex = self.pool()
        self.assertIsInstance(ex, concurrent.futures.Executor)
        done, not_done = cfutures.wait([ex.submit(square, i) for i in range(8)], timeout=LONG)
        self.assertEqual(sorted(f.result() for f in done), [i * i for i in range(8)])
        self.assertFalse(not_done)

    def test_map_in_order_with_chunks(self):
        ex = self.pool()
        for chunksize in (1, 3, 100):
            self.assertEqual(list(ex.map(square, range(25), chunksize=chunksize)), [i * i for i in range(25)])
        self.assertEqual(list(ex.map(add, [1, 2, 3], [10, 20, 30], chunksize=2)), [11, 22, 33])
        self.assertEqual(list(ex.map(square, [])), [])
        with self.assertRaises(ValueError):
            ex.map(square, [1], chunksize=0)

    def test_map_raises_at_the_failing_item(self):
        ex = self.pool()
        it = ex.map(square, [1, 2])
        self.assertEqual(list(it), [1, 4])
        it = ex.map(fails, ["first"], chunksize=2)
        with self.assertRaises(KeyError):
            next(it)

    def test_exception_with_remote_traceback(self):
        ex = self.pool()
        f = ex.submit(fails, "missing")
        with self.assertRaises(KeyError) as cm:
            f.result(LONG)
        self.assertEqual(cm.exception.args, ("missing",))
        cause = cm.exception.__cause__
        self.assertEqual(type(cause).__name__, "_RemoteTraceback")
        self.assertIn("in fails", str(cause))
        self.assertIn("KeyError: 'missing'", str(cause))
        self.assertIs(f.exception(LONG), cm.exception)
        # the first failure counts for FIRST_EXCEPTION, as a C task's does
        ok = ex.submit(square, 2)
        done, _ = cfutures.wait([f, ok], timeout=LONG, return_when=cfutures.FIRST_EXCEPTION)
        self.assertIn(f, done)

    def test_system_exit_in_a_task_is_its_exception(self):
        ex = self.pool(max_workers=1)
        with self.assertRaises(SystemExit):
            ex.submit(exits).result(LONG)
        self.assertEqual(ex.submit(square, 3).result(LONG), 9)   # the worker lives on

    def test_unpicklable_call_and_result(self):
        ex = self.pool(max_workers=1)
        f = ex.submit(lambda: 1)           # a lambda cannot be pickled: its future fails, not the submit
        with self.assertRaises((pickle.PicklingError, AttributeError)):
            f.result(LONG)
        with self.assertRaises(TypeError) as cm:
            ex.submit(returns_unpicklable).result(LONG)
        self.assertIn("cannot be pickled", str(cm.exception))
        self.assertEqual(ex.submit(square, 4).result(LONG), 16)

    def test_worker_death_breaks_the_pool(self):
        ex = self.pool(max_workers=1)
        with self.assertRaises(BrokenProcessPool):
            ex.submit(dies).result(LONG)
        with self.assertRaises(BrokenProcessPool):
            ex.submit(square, 1)

    def test_initializer(self):
        ex = self.pool(initializer=initialize, initargs=("ready",))
        self.assertEqual({ex.submit(initialized).result(LONG) for _ in range(4)}, {"ready"})

    def test_failing_initializer_breaks_the_pool(self):
        ex = self.pool(max_workers=1, initializer=initializer_fails)
        with self.assertRaises(BrokenProcessPool):
            ex.submit(square, 1).result(LONG)

    def test_max_tasks_per_child(self):
        ex = self.pool(max_workers=1, max_tasks_per_child=1)
        pids = [ex.submit(pid).result(LONG) for _ in range(3)]
        self.assertEqual(len(set(pids)), 3)

    def test_c_tasks_by_name_still_work(self):
        ex = self.pool(library=tasks_library())
        self.assertEqual(ex.submit("test.echo", b"C").result(LONG), b"C")
        self.assertEqual(ex.submit(square, 5).result(LONG), 25)

    def test_large_payload(self):
        ex = self.pool(max_workers=1)
        data = os.urandom(1 << 20) * 8   # 8 MiB
        self.assertEqual(ex.submit(echo, data).result(LONG), data)

    def test_large_arguments_keep_their_types_and_identity(self):
        # Large bytes-like arguments travel out of the pickler's buffer, copied once into shared memory; what the
        # function receives is what pickle itself would give it.
        ex = self.pool(max_workers=1)
        big = os.urandom(1 << 20) * 3
        args = (big, big, bytearray(big), Blob(big), "é" * (1 << 20), memoryview(b"small").tobytes())
        back_args, back_kwargs = ex.submit(echo_all, *args, extra=bytearray(big[:5 << 18])).result(LONG)
        self.assertEqual(back_args, args)
        self.assertEqual([type(a) for a in back_args], [type(a) for a in args])
        self.assertIs(back_args[0], back_args[1])   # one object in the call, one object back
        self.assertEqual(back_kwargs, {"extra": bytearray(big[:5 << 18])})
        self.assertIs(type(back_kwargs["extra"]), bytearray)
        self.assertTrue(ex.submit(same_object, big, big).result(LONG))
        self.assertFalse(ex.submit(same_object, big, big[:1] + big[1:]).result(LONG))   # equal, not one

    def test_large_results_keep_their_types(self):
        ex = self.pool(max_workers=1)
        data, array, blob = ex.submit(big_results, 5 << 20).result(LONG)
        want = bytes(range(256)) * ((5 << 20) // 256)
        self.assertEqual((type(data), type(array), type(blob)), (bytes, bytearray, Blob))
        self.assertTrue(data == want and array == want and blob == want)
        back = ex.submit(echo, Blob(want)).result(LONG)
        self.assertIs(type(back), Blob)
        self.assertEqual(back, want)

    def test_functions_travel_by_name_as_pickle_has_them(self):
        # A function goes as a reference, looked up by name on each side every time, as pickle does.
        ex = self.pool(max_workers=1)
        self.assertEqual(ex.submit(Holder.cube, 3).result(LONG), 27)   # a dotted qualified name
        first = target
        self.assertEqual(ex.submit(first).result(LONG), "target")
        self.assertTrue(ex.submit(rebind_target_here).result(LONG))
        # The worker looks the name up again: it now leads elsewhere there, as the unpickler would find.
        self.assertEqual(ex.submit(first).result(LONG), "replacement")
        # Here the name no longer leads to the function: pickle's own error, on the future.
        globals()["target"] = replacement
        try:
            with self.assertRaises(pickle.PicklingError):
                ex.submit(first).result(LONG)
        finally:
            globals()["target"] = first
        self.assertEqual(ex.submit(first, *()).result(LONG), "replacement")   # (the worker's name, still)

    def test_large_call_that_cannot_be_pickled_fails_its_future(self):
        ex = self.pool(max_workers=1)
        future = ex.submit(echo_all, os.urandom(2 << 20), Unpicklable())
        with self.assertRaises(TypeError):
            future.result(LONG)
        self.assertEqual(ex.submit(square, 3).result(LONG), 9)   # the pool goes on

    def test_forks_while_other_threads_run_python(self):
        # A thread busy in Python holds the GIL most of the time: a fork the library makes meanwhile must still
        # leave the worker an interpreter it can run (the fork hooks take the GIL first).
        stop = threading.Event()

        def spin():
            n = 0
            while not stop.is_set():
                n += 1

        spinner = threading.Thread(target=spin)
        spinner.start()
        try:
            for _ in range(3):
                ex = ProcessPoolExecutor(max_workers=2, mp_context=self.start_method, max_tasks_per_child=1)
                try:
                    self.assertEqual([ex.submit(square, i).result(LONG) for i in range(4)], [0, 1, 4, 9])
                finally:
                    ex.shutdown()
        finally:
            stop.set()
            spinner.join()


class ForkTest(PythonCallsMixin, unittest.TestCase):
    start_method = "fork"

    def test_initializer_arguments_are_inherited(self):
        # A lock cannot be pickled; a forked worker finds it in its copy of this process, as in CPython.
        ex = self.pool(max_workers=1, initializer=initialize_with_lock, initargs=(threading.Lock(),))
        self.assertEqual(ex.submit(initialized).result(LONG), "lock lock")

    def test_worker_ran_pythons_after_fork_hooks(self):
        # PyOS_AfterFork_Child ran in the worker: os.register_at_fork's hooks ran there, for its own pid, and the
        # threads of this process are gone from its threading module.
        ex = self.pool(max_workers=1)
        worker = ex.submit(pid).result(LONG)
        self.assertIn(worker, ex.submit(after_fork_marks).result(LONG))
        self.assertEqual(ex.submit(thread_count).result(LONG), 1)

    def test_functions_defined_after_import_are_known(self):
        # fork: the worker is a copy of this process, closures over module state included.
        ex = self.pool(max_workers=1)
        self.assertEqual(ex.submit(initialized).result(LONG), _initialized)


class LargeDataStreamsTest(unittest.TestCase):
    """The readers and writers of large calls and results, without a pool: a pickle in C memory read back
    through cfutures._worker.load_from whatever its protocol, never past its end."""

    def at(self, blob):
        buffer = ctypes.create_string_buffer(blob, len(blob))
        self.addCleanup(lambda: buffer)
        return ctypes.addressof(buffer)

    def test_every_protocol_reads_back(self):
        from cfutures import _worker
        value = {"bytes": os.urandom(5 << 20), "array": bytearray(3 << 20), "text": "x" * (2 << 20), "n": [1, 2.5]}
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            with self.subTest(protocol=protocol):
                blob = pickle.dumps(value, protocol=protocol)
                self.assertEqual(_worker.load_from(self.at(blob), len(blob)), value)
                pieces = _worker.dump_pieces(value)
                self.assertEqual(b"".join(bytes(memoryview(p)) for p in pieces),
                                 pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def test_truncated_or_overlong_streams_are_refused(self):
        from cfutures import _worker
        blob = pickle.dumps([os.urandom(3 << 20)], protocol=pickle.HIGHEST_PROTOCOL)
        with self.assertRaises(Exception):
            _worker.load_from(self.at(blob), len(blob) - 1)
        with self.assertRaises(pickle.UnpicklingError):
            _worker.load_from(self.at(blob + b"."), len(blob) + 1)

    def test_bytes_at_copies(self):
        from cfutures import _worker
        data = os.urandom(9 << 20)
        for n in (0, 1, 100, len(data)):
            self.assertEqual(_worker.bytes_at(self.at(data), n), data[:n])


class ForkserverTest(PythonCallsMixin, unittest.TestCase):
    start_method = "forkserver"


class SpawnTest(PythonCallsMixin, unittest.TestCase):
    start_method = "spawn"

    def test_mp_context_object(self):
        ex = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self.addCleanup(ex.shutdown)
        self.assertEqual(ex.submit(square, 9).result(LONG), 81)

    def test_manager_proxies_work_in_workers(self):
        # A proxy connects to its manager with the caller's authkey, which a spawned worker is given.
        with multiprocessing.get_context("spawn").Manager() as manager:
            event = manager.Event()
            ex = self.pool(max_workers=1)
            self.assertTrue(ex.submit(set_event, event).result(LONG))
            self.assertTrue(event.is_set())

    def test_worker_is_a_new_interpreter(self):
        ex = self.pool(max_workers=1)
        self.assertEqual(ex.submit(after_fork_marks).result(LONG), [])   # no fork ran Python's hooks there


if __name__ == "__main__":
    unittest.main()
