# SPDX-License-Identifier: MIT
"""Executor (the shared map / with-statement logic) and ThreadPoolExecutor over the library's thread pool.

A Python task reaches a library worker thread through one ctypes trampoline (_run_task): the library calls it
with the task's key as user_data; ctypes takes the GIL for the call; the trampoline looks the work item up in
_work_items, runs it, and keeps the returned object or the raised exception in the Future, then lets the C
future finish (empty result) or fail (the exception's type name and message, via cf_task_raise).
"""
from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import itertools
import os
import threading
import time
import weakref
from itertools import islice

from . import _lib, _worker
from ._future import LOGGER, Future, _PYTHON, _keys as _future_keys, _safe_str, _work_items, forget_work_items
from ._lib import BrokenThreadPool
from ._options import read_stats, submit_options

# --------------------------------------------------------------------------------------------------------------
# Interpreter exit: like concurrent.futures, wait for every pool's work before the interpreter goes away (a
# library worker thread must never call into a finalized interpreter).

_live_executors = weakref.WeakSet()
_orphans = []           # handles of collected executors that could not be freed where they were collected
_global_shutdown = False
_global_lock = threading.Lock()


def _python_exit():
    global _global_shutdown
    with _global_lock:
        _global_shutdown = True
    for executor in list(_live_executors):
        try:
            executor.shutdown(wait=True)
        except Exception:
            LOGGER.exception("cfutures: shutting down %r at exit", executor)
    while _orphans:
        _orphans.pop().release()
    _worker.remove_fork_hooks()   # no fork may call into the interpreter once it is finalizing


threading._register_atexit(_python_exit)


class _Handle:
    """A cf_executor handle and its release, shared by an executor and its finalizer. Released exactly once,
    waiting for the pool's work (cf_executor_free shuts down and waits)."""

    def __init__(self, handle, key):
        self.handle = handle
        self.key = key          # the pool's key: worker threads record it in their thread-local `owned` set
        self.lock = threading.Lock()
        self.final_stats = None  # the counters as they were when the executor was freed

    def stats(self, what):
        """The executor's counters (ExecutorStats): live, or as they were when it was freed."""
        with self.lock:  # not freed meanwhile
            if self.handle is not None:
                return read_stats(self.handle, what)
            if self.final_stats is not None:
                return self.final_stats
        raise RuntimeError("%s: the executor was freed before its counters could be read" % what)

    def on_own_worker(self):
        """True on one of this pool's worker threads (which must not wait for the pool, nor free it)."""
        return self.key in _tls_get("owned", ())

    def release(self):
        with self.lock:
            handle, self.handle = self.handle, None
            if handle is not None and _lib.cf_executor_stats_get is not None:
                try:
                    # (after a waiting shutdown: every task is over, the counters are final)
                    self.final_stats = read_stats(handle, "stats")
                except Exception:
                    pass
        if handle is not None:
            _lib.cf_executor_free(handle)


def _result_or_cancel(fut, timeout=None):
    try:
        try:
            return fut.result(timeout)
        finally:
            fut.cancel()
    finally:
        del fut


class Executor(concurrent.futures.Executor):
    """What both executors share: map() over submit(), shutdown(), and the with statement."""

    _handle = None

    def map(self, fn, *iterables, timeout=None, chunksize=1, buffersize=None):
        """Returns an iterator equivalent to map(fn, *iterables), the calls running on the pool.

        timeout: seconds from this call after which a result not yet available raises TimeoutError.
        chunksize: accepted for compatibility (each item is its own task).
        buffersize: None submits every item at once (consuming the iterables now); n keeps at most n tasks in
        flight, pulling the input lazily as results are taken (Python 3.14). If a call raises, the iterator
        raises that exception when its value is reached, and the remaining tasks are cancelled."""
        if buffersize is not None and not isinstance(buffersize, int):
            raise TypeError("buffersize must be an integer or None")
        if buffersize is not None and buffersize < 1:
            raise ValueError("buffersize must be None or > 0")
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end_time = None if timeout is None else timeout + time.monotonic()
        zipped = zip(*iterables)
        if buffersize:
            fs = collections.deque(self.submit(fn, *args) for args in islice(zipped, buffersize))
        else:
            fs = [self.submit(fn, *args) for args in zipped]
        executor_ref = weakref.ref(self)

        def result_iterator():
            try:
                fs.reverse()  # pop() from the end keeps the input order
                while fs:
                    if buffersize:
                        executor = executor_ref()
                        args = next(zipped, None) if executor is not None else None
                        if args is not None:
                            fs.appendleft(executor.submit(fn, *args))
                        executor = None
                    if end_time is None:
                        yield _result_or_cancel(fs.pop())
                    else:
                        yield _result_or_cancel(fs.pop(), end_time - time.monotonic())
            finally:
                for future in fs:
                    future.cancel()

        return result_iterator()

    def stats(self):
        """A snapshot of the executor's counters, as a cfutures.ExecutorStats (workers, idle_workers, queued,
        running, completed, failed, cancelled, worker_deaths, workers_replaced). After shutdown(wait=True) it
        gives the counters as they were when the pool was freed."""
        box = self._handle
        if box is None:
            raise RuntimeError("%s.stats: the executor was not created" % type(self).__name__)
        return box.stats("%s.stats" % type(self).__name__)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.shutdown(wait=True)
        return False

    def _shutdown_c(self, wait, cancel_futures):
        box = self._handle
        handle = box.handle if box is not None else None
        if handle is None:
            return
        _lib.check(_lib.cf_executor_shutdown(handle, int(bool(wait)), int(bool(cancel_futures))),
                   "%s.shutdown" % type(self).__name__)
        if wait:  # (from one of the pool's own tasks the library waits for the other workers only)
            self._release(wait=True)

    def _release(self, wait=True):
        """Frees the C executor (after its work is done), unless called from one of its own workers."""
        box = self._handle
        if box is None or box.handle is None or box.on_own_worker():
            return
        box.release()


def _tls_get(name, default=None):
    return getattr(_tls, name, default)


_tls = threading.local()
_keys = itertools.count(1)       # pool keys
# Thread-pool state by key, for the initializer trampoline (the executor itself may be gone by then).
_pools = {}


def _adopt_worker_thread(pool):
    """First Python code on a library worker thread: keep its Python thread state for good (see README) and
    give the threading module's view of it the pool's name."""
    if _tls_get("pool_key") == pool.key:   # every later task of the thread's pool: nothing to do
        return
    if not _tls_get("pinned"):
        # ctypes creates a Python thread state for a callback on a foreign thread and destroys it when the
        # callback returns, which would reset threading.local() data (and threading.current_thread()'s view)
        # between tasks. One extra PyGILState_Ensure, never released, keeps it for the thread's life.
        ctypes.pythonapi.PyGILState_Ensure()
        _tls.pinned = True
    owned = _tls_get("owned")
    if owned is None:
        owned = _tls.owned = set()
    if pool.key not in owned:
        owned.add(pool.key)
        pool.idents.add(threading.get_ident())
        thread = threading.current_thread()
        if isinstance(thread, threading._DummyThread):
            thread.name = "%s_%d" % (pool.prefix, next(pool.thread_numbers))
    _tls.pool_key = pool.key


class _PoolState:
    """What the trampolines need of a thread pool, kept apart from the executor object."""

    def __init__(self, key, prefix, initializer, initargs):
        self.key = key
        self.prefix = prefix
        self.initializer = initializer
        self.initargs = initargs
        self.thread_numbers = itertools.count(0)
        self.broken = None
        self.idents = set()   # the library threads that ran this pool's Python code


def _forget_threads(pool, blocking=True):
    """After the pool's threads have ended: takes them out of threading.enumerate(). The threading module knows
    a library thread only as a _DummyThread, which it never removes by itself (it cannot see the thread end).
    blocking=False (from a finalizer, which may run while this thread holds threading's lock): gives up when the
    lock is taken."""
    me = threading.get_ident()
    if not threading._active_limbo_lock.acquire(blocking):
        return
    try:
        for ident in pool.idents:
            if ident != me and isinstance(threading._active.get(ident), threading._DummyThread):
                del threading._active[ident]
    finally:
        threading._active_limbo_lock.release()
    pool.idents = {me} & pool.idents


def cancel_requested():
    """True inside a thread-pool task once its stop was asked for: its future was cancelled while it ran
    (``Future.cancel()``; with ``cancel_running=True`` the future is then already cancelled), ``shutdown(
    cancel_futures=True)`` with ``cancel_running=True``, or its time limit passed. A thread cannot be stopped
    from outside: a long task polls this to end early. False outside a task."""
    ctx = _tls_get("ctx")
    return bool(ctx) and bool(_lib.cf_task_cancel_requested(ctx))


@_lib.TASK_FN
def _run_task(ctx, arg, arg_len, key):
    try:
        item = _work_items.pop(key, None)
        if item is None:
            return _lib.cf_task_raise(ctx, b"RuntimeError", b"cfutures: no work item for this task")
        future, pool, fn, args, kwargs = item
        del item
        _adopt_worker_thread(pool)
        # (a task waiting on a future of its own pool may run another task on this thread meanwhile: nested)
        outer_ctx, _tls.ctx = _tls_get("ctx"), ctx
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # as CPython: every exception goes to the future
            future._store_exception(exc)
            typ = type(exc).__qualname__.encode("utf-8", "replace")
            msg = _safe_str(exc).encode("utf-8", "replace")
            exc = None
            return _lib.cf_task_raise(ctx, typ, msg)
        finally:
            _tls.ctx = outer_ctx
        future._store_result(result)
        return _lib.CF_OK
    except BaseException:
        LOGGER.exception("cfutures: internal error running a task")
        return _lib.CF_E_SYSTEM


@_lib.TASK_FN
def _run_initializer(ctx, arg, arg_len, pool_key):
    try:
        pool = _pools.get(pool_key)
        if pool is None:
            return _lib.CF_OK
        _adopt_worker_thread(pool)
        try:
            pool.initializer(*pool.initargs)
        except BaseException:
            LOGGER.critical("Exception in initializer:", exc_info=True)
            pool.broken = "A thread initializer failed, the thread pool is not usable anymore"
            return _lib.cf_task_raise(ctx, b"BrokenThreadPool", pool.broken.encode())
        return _lib.CF_OK
    except BaseException:
        LOGGER.exception("cfutures: internal error running an initializer")
        return _lib.CF_E_SYSTEM


class ThreadPoolExecutor(Executor):
    """concurrent.futures.ThreadPoolExecutor on the library's thread pool.

    max_workers: None gives min(32, CPUs + 4). thread_name_prefix: worker threads are named <prefix>_<i> (in
    threading and, cut to 15 bytes, in the OS). initializer(*initargs) runs first in every worker thread; if it
    raises, the pool is broken: pending and later submits fail with BrokenThreadPool.
    cancel_running: True lets Future.cancel() cancel a running task too: its future is cancelled at once and
    the task sees cancel_requested(); its thread runs on (a thread cannot be stopped) and its late result is
    discarded. shutdown(cancel_futures=True) then cancels running tasks too. False (default): as CPython.

    submit_with(SubmitOptions(time_limit=...), fn, *args, **kwargs) gives a task a time limit."""

    _counter = itertools.count().__next__

    def __init__(self, max_workers=None, thread_name_prefix="", initializer=None, initargs=(), *,
                 cancel_running=False):
        if max_workers is None:
            max_workers = min(32, (os.cpu_count() or 1) + 4)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._max_workers = max_workers
        self._thread_name_prefix = thread_name_prefix or ("ThreadPoolExecutor-%d" % self._counter())
        self._shutdown = False
        self._shutdown_lock = threading.Lock()
        self._pool_key = next(_keys)
        self._state = _PoolState(self._pool_key, self._thread_name_prefix, initializer, tuple(initargs))
        _pools[self._pool_key] = self._state

        opts = _lib.new_options(_lib.cf_thread_pool_options, _lib.cf_thread_pool_options_init)
        opts.max_workers = max_workers
        prefix = self._thread_name_prefix.encode("utf-8", "replace")
        opts.thread_name_prefix = prefix
        if initializer is not None:
            opts.initializer = _run_initializer
            opts.initializer_data = self._pool_key
        self._cancel_running = bool(cancel_running)
        out = ctypes.c_void_p()
        try:
            if self._cancel_running:
                _lib.require("cancel_running", _lib.has_field(opts, "cancel_running"))
                opts.cancel_running = 1
            _lib.check(_lib.cf_thread_pool_new(ctypes.byref(opts), ctypes.byref(out)),
                       "ThreadPoolExecutor: cf_thread_pool_new")
        except BaseException:
            _pools.pop(self._pool_key, None)
            raise
        self._handle = _Handle(out.value, self._pool_key)
        weakref.finalize(self, _finalize_pool, self._handle, self._pool_key)
        _live_executors.add(self)

    def submit(self, fn, /, *args, **kwargs):
        """Schedules fn(*args, **kwargs) and returns its Future."""
        return self._submit(None, fn, args, kwargs)

    def submit_with(self, options, fn, /, *args, **kwargs):
        """As submit(fn, *args, **kwargs), with per-task options: a cfutures.SubmitOptions (or None).

        SubmitOptions(time_limit=seconds): past that many seconds of running, the future fails with
        cfutures.TimeLimitError (a TimeoutError); the task is asked to stop (cancel_requested()) but its thread
        runs on until it returns, and what it returns or raises then is discarded."""
        return self._submit(submit_options(options)._c_options(), fn, args, kwargs)

    def _submit(self, c_options, fn, args, kwargs):
        with self._shutdown_lock:
            if self._state.broken:
                raise BrokenThreadPool(self._state.broken)
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _global_shutdown:
                raise RuntimeError("cannot schedule new futures after interpreter shutdown")
            key = next(_future_keys)
            out = ctypes.c_void_p()
            future = Future._for_task(_PYTHON, key, None)
            # The trampoline may run before cf_submit returns: the item must be in place first.
            _work_items[key] = (future, self._state, fn, args, kwargs)
            if c_options is None:
                rc = _lib.cf_submit_keeping_gil(self._handle.handle, _run_task, key, None, 0, ctypes.byref(out))
            else:
                rc = _lib.cf_submit_ex(self._handle.handle, _run_task, key, None, 0, ctypes.byref(c_options),
                                       ctypes.byref(out))
            if rc < 0:
                _work_items.pop(key, None)
                if rc == _lib.CF_E_BROKEN_THREAD_POOL:
                    raise BrokenThreadPool(self._state.broken or _lib.last_error())
                raise _lib.make_error(rc, "ThreadPoolExecutor.submit")
        future._handle = out.value   # (made before its C future: the task may run before cf_submit returns)
        return future

    def shutdown(self, wait=True, *, cancel_futures=False):
        """Refuses new work; cancel_futures cancels what has not started (and, with cancel_running, what runs);
        wait blocks until the running work is done and frees the pool. Idempotent."""
        with self._shutdown_lock:
            self._shutdown = True
        self._shutdown_c(wait, cancel_futures)
        forget_work_items(self._state)    # (what cancel_futures cancelled, or a broken pool never ran)
        if wait:  # the threads have ended (all but the caller's own, when it is one of them)
            _forget_threads(self._state)

    @property
    def _broken(self):
        # (as concurrent.futures.ThreadPoolExecutor: False, or why the pool is broken)
        return self._state.broken or False

    def __repr__(self):
        return "<%s %s max_workers=%d>" % (type(self).__name__, self._thread_name_prefix, self._max_workers)


def _finalize_pool(box, pool_key):
    # The executor was collected (or the interpreter exits): shut down and free, as `with` would. From one of
    # the pool's own worker threads that would wait for itself: leave it to the exit hook then.
    if box.on_own_worker():
        _orphans.append(box)
        return
    try:
        box.release()
    finally:
        pool = _pools.pop(pool_key, None)
    if pool is not None:    # (a thread pool, its threads over: as shutdown(wait=True) does)
        forget_work_items(pool)
        _forget_threads(pool, blocking=False)
