# SPDX-License-Identifier: MIT
"""Future, wait and as_completed over libcfutures futures.

Every Future owns one reference to a C future (cf_future), released when the Future is collected. The C future
carries the state and the completion; the Python objects a thread-pool task returns or raises stay in the
Future itself (the C future of a Python task finishes with an empty result, or fails with the exception's type
name and message, so that cf_wait's FIRST_EXCEPTION sees it). A process-pool Future's result is the bytes of the
C result, and its exception is built from the C future's cf_error.

Future is a concurrent.futures.Future: asyncio (wrap_future, run_in_executor) and the standard library's wait()
and as_completed() take it. Those reach into the base class's private protocol: they lock ``_condition``, read
``_state`` (twice, counting on the same answer while they hold the lock) and add waiters to ``_waiters``, which
must hear of the completion under ``_condition``. The C future completes without that lock, so its completion
reaches ``_state`` only when ``_condition`` is taken: the first to take it and find the C future done (the C
done callback, which the library calls after every completion, or anyone taking it before) records the final
state and tells the waiters, once (see Future._catch_up).
"""
from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import itertools
import logging
import threading
import time
import weakref
from concurrent.futures import _base as _std

from . import _lib, _worker
from ._lib import (BrokenProcessPool, BrokenThreadPool, CancelledError, InvalidStateError, TaskError,
                   TimeLimitError, TimeoutError, WorkerDiedError)

LOGGER = logging.getLogger("concurrent.futures")

FIRST_COMPLETED = "FIRST_COMPLETED"
FIRST_EXCEPTION = "FIRST_EXCEPTION"
ALL_COMPLETED = "ALL_COMPLETED"
_RETURN_WHEN = {FIRST_COMPLETED: _lib.CF_FIRST_COMPLETED, FIRST_EXCEPTION: _lib.CF_FIRST_EXCEPTION,
                ALL_COMPLETED: _lib.CF_ALL_COMPLETED}

DoneAndNotDoneFutures = collections.namedtuple("DoneAndNotDoneFutures", "done not_done")

_STATE_NAMES = {_lib.CF_PENDING: "pending", _lib.CF_RUNNING: "running", _lib.CF_CANCELLED: "cancelled",
                _lib.CF_FINISHED: "finished"}

# The states of concurrent.futures.Future, as its private ``_state`` names them.
PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED = (
    _std.PENDING, _std.RUNNING, _std.CANCELLED, _std.CANCELLED_AND_NOTIFIED, _std.FINISHED)

# How the outcome of a future is kept.
_PYTHON = 0   # a Python object or exception kept in the Future (thread pools, user-created futures)
_BYTES = 1    # the C future's bytes and cf_error (process pools' C tasks)
_PICKLED = 2  # a Python call in a process pool: the C future's bytes are the pickled result (cfutures._worker)

# While the main thread blocks in the library it cannot run signal handlers (Ctrl-C); its waits without a limit
# are cut into slices of this many seconds, so that a KeyboardInterrupt is raised within that time.
_MAIN_THREAD_SLICE = 0.25

_keys = itertools.count(1)
# Futures whose completion the library will report (Future._watch): executor futures, held strongly until their
# C done callback has run (their done callbacks must run even if nobody else keeps the Future), and user-created
# ones, held weakly (a user Future nobody can reach can never be completed). An executor's future is watched
# only once something needs to hear of its completion (add_done_callback, asyncio, the standard library's
# wait): most are only read (result(), cfutures.wait), and a completion that calls no Python code costs no
# GIL on the completing thread.
_pending = {}
_user_futures = weakref.WeakValueDictionary()
# Thread-pool work not started yet, by the key of its Future: (future, pool, fn, args, kwargs). The trampoline
# pops its item when it starts; what never runs is dropped when its future is cancelled (Future.cancel), when
# the pool is shut down (cancel_futures, a broken pool: forget_work_items) or by the done notification.
_work_items = {}


def forget_work_items(pool):
    """Drops the work items of a pool's tasks that are done without having run (cancelled, a broken pool)."""
    for key, item in list(_work_items.items()):
        future = item[0]
        if item[1] is pool and future._handle is not None and _lib.cf_future_done(future._handle):
            _work_items.pop(key, None)


class _FutureCondition(threading.Condition):
    """The _condition of a Future: taking it afresh (not nested) first catches up with the C future
    (Future._sync), so that what a holder reads of _state is up to date, and stays so until it lets go."""

    def __init__(self, lock, future):
        super().__init__(lock)
        self._future = weakref.ref(future)
        self.acquire = self._acquire      # (Condition.__init__ set the lock's own)

    def _acquire(self, blocking=True, timeout=-1):
        outermost = not self._lock._is_owned()
        if not self._lock.acquire(blocking, timeout):
            return False
        if outermost:
            future = self._future()
            if future is not None:
                try:
                    future._sync()
                    # Whoever takes _condition (the standard library's wait, as_completed) may add a waiter,
                    # which must hear of the completion: from the C done callback.
                    if future._final is None:
                        future._watch()
                except BaseException:
                    self._lock.release()
                    raise
        return True

    def __enter__(self):
        return self._acquire()


def _timeout_arg(timeout):
    if timeout is None:
        return _lib.CF_FOREVER
    timeout = float(timeout)
    if timeout != timeout:
        raise ValueError("timeout is NaN")
    return max(timeout, 0.0)


def blocking(call, timeout):
    """Runs call(seconds) -> status, a blocking library call that returns CF_E_TIMEOUT when its time runs out.

    In the main thread, a long wait is cut into short slices so that signal handlers (KeyboardInterrupt) run in
    between; elsewhere the call blocks for the whole timeout. Returns the last status."""
    if threading.current_thread() is not threading.main_thread():
        return call(_timeout_arg(timeout))
    end = None if timeout is None else time.monotonic() + _timeout_arg(timeout)
    while True:
        remaining = _MAIN_THREAD_SLICE if end is None else min(_MAIN_THREAD_SLICE, max(end - time.monotonic(), 0.0))
        status = call(remaining)
        if status != _lib.CF_E_TIMEOUT or (end is not None and time.monotonic() >= end):
            return status


@_lib.DONE_FN
def _on_c_done(handle, key):
    """The C done callback of every Future: runs the Python done callbacks, on the completing thread."""
    try:
        _work_items.pop(key, None)
        future = _pending.pop(key, None)
        if future is None:
            future = _user_futures.get(key)
        if future is not None:
            future._invoke_callbacks()
    except BaseException:  # never let an exception cross into C
        LOGGER.exception("cfutures: exception in a done notification")


class Future(concurrent.futures.Future):
    """The result of an asynchronous computation: a concurrent.futures.Future (asyncio.wrap_future,
    loop.run_in_executor and the standard library's wait / as_completed take it).

    ``Future()`` makes a pending future that you complete yourself (set_running_or_notify_cancel, set_result,
    set_exception); executors make the others. Methods are thread-safe."""

    def __init__(self):
        out = ctypes.c_void_p()
        _lib.check(_lib.cf_future_new(ctypes.byref(out)), "Future(): cf_future_new")
        self._init(out.value, _PYTHON, next(_keys), by_hand=True)
        _user_futures[self._key] = self
        self._watch()

    # -- construction ------------------------------------------------------------------------------------------

    @property
    def _condition(self):
        """The threading.Condition of concurrent.futures.Future's protocol, over this future's lock."""
        cond = self._cond
        if cond is None:
            with self._lock:
                cond = self._cond
                if cond is None:
                    cond = self._cond = _FutureCondition(self._lock, self)
        return cond

    # What a future starts with, shared until set on the instance: a submit makes a future, and every attribute
    # set there counts. The protocol of concurrent.futures.Future (its wait/as_completed lock _condition, read
    # _state and append to _waiters) uses one lock, this class's own; its condition and its lists of waiters
    # and callbacks are made on first use (see _condition and __getattr__): most futures never meet them.
    _cond = None
    _final = None                   # the final _state once caught up (_catch_up); None while not done
    _outcome_set = False            # a Python result/exception is stored
    _result = None
    _exception = None               # the Python exception a task raised, or set_exception's
    _lib_exception = None           # for failures known only to the library, built once
    _bytes = None
    _watched = False                # the C done callback is registered (_watch)
    _notified = False               # the C done callback has run
    # A future made by Future() rather than by an executor: as in CPython, cancelling it leaves it CANCELLED,
    # and the waiters of wait()/as_completed() hear of it only from set_running_or_notify_cancel().
    _by_hand = False

    def _init(self, handle, kind, key, by_hand=False):
        self._handle = handle
        self._kind = kind
        self._key = key
        if by_hand:
            self._by_hand = True
        self._lock = threading.RLock()

    def __getattr__(self, name):
        # (only for what the instance lacks) the lists, made on first use; every use holds _lock
        if name == "_waiters" or name == "_callbacks":
            value = self.__dict__[name] = []
            return value
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))

    @classmethod
    def _for_task(cls, kind, key, handle):
        """A Future for an executor's task, taking over the reference to its C future (handle). It is watched
        (_watch) once something needs to hear of its completion."""
        self = cls.__new__(cls)
        self._init(handle, kind, key)
        return self

    def _watch(self):
        """Asks the library to tell us when the C future is done (at once, on this thread, if it is already);
        once. An executor's future is kept in _pending until then."""
        with self._lock:
            if self._watched or self._handle is None:
                return
            self._watched = True
            if not self._by_hand:
                _pending[self._key] = self
        rc = _lib.cf_future_add_done_callback(self._handle, _on_c_done, self._key)
        if rc < 0:
            with self._lock:
                self._watched = False
            _pending.pop(self._key, None)
            _lib.check(rc, "cf_future_add_done_callback")

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            try:
                _lib.cf_future_release(handle)
            except Exception:  # interpreter shutdown
                pass

    # -- the outcome of a Python task (called by the thread-pool trampoline before the C future completes) ------

    def _store_result(self, result):
        with self._lock:
            if not self._outcome_set:
                self._result = result
                self._outcome_set = True

    def _store_exception(self, exception):
        with self._lock:
            if not self._outcome_set:
                self._exception = exception
                self._outcome_set = True

    # -- state ---------------------------------------------------------------------------------------------------

    def _c_state(self):
        return _lib.cf_future_get_state(self._handle)

    @property
    def _state(self):
        """The state as concurrent.futures.Future names it: PENDING, RUNNING, CANCELLED (a future made by
        Future(), cancelled, before set_running_or_notify_cancel), CANCELLED_AND_NOTIFIED or FINISHED, read
        from the C future.

        While a caller holds _condition (the standard library's wait/as_completed read _state of every future
        twice under it, and count on the same answer), a C future that became done meanwhile still reads as
        not done: that changes only when _condition is taken afresh (this read without it held, a wait taking
        it, the C done callback), which is also when the waiters hear of it."""
        with self._condition:             # (taken afresh: caught up first)
            if self._final is not None:
                return self._final
            if self._handle is None:      # an executor's future before its C future is attached
                return PENDING
            c_state = self._c_state()
            # (a C future done but not caught up yet was running, or pending if cancelled)
            return PENDING if c_state in (_lib.CF_PENDING, _lib.CF_CANCELLED) else RUNNING

    @_state.setter
    def _state(self, value):
        raise AttributeError("cfutures.Future._state is read-only: it follows the C future (use cancel(), "
                             "set_running_or_notify_cancel(), set_result() or set_exception())")

    def _sync(self):
        """With _lock held: catches up with a C future found done (see _catch_up)."""
        if self._final is None and self._handle is not None:
            c_state = self._c_state()
            if c_state in (_lib.CF_FINISHED, _lib.CF_CANCELLED):
                self._catch_up(c_state)

    def _catch_up(self, c_state):
        """Records the final state of a C future found done, and tells the waiters of the standard library's
        wait()/as_completed(). Called with _lock held, once (while _final is None), by the first to find the C
        future done having taken _lock: the C done callback (_invoke_callbacks), or a reader of _state before
        it. The library calls the done callback after every completion, so a waiter added while the C future
        reads as not done hears of it."""
        if c_state == _lib.CF_FINISHED:
            self._final = FINISHED
            waiters = self.__dict__.get("_waiters")
            if waiters:
                failed = self._finished_with_failure()
                for waiter in waiters:
                    if failed:
                        waiter.add_exception(self)
                    else:
                        waiter.add_result(self)
        elif self._by_hand:
            self._final = CANCELLED       # until set_running_or_notify_cancel, as in CPython
        else:
            # An executor's future is cancelled by the library (cancel(), shutdown(cancel_futures=True)), and
            # nothing else will call set_running_or_notify_cancel for it: the waiters hear of it now.
            self._final = CANCELLED_AND_NOTIFIED
            for waiter in self._waiters:
                waiter.add_cancelled(self)
        if self._cond is not None:   # (nobody can wait on a condition not made yet)
            self._cond.notify_all()

    def _finished_with_failure(self):
        """For a finished future: True when it failed (result() raises), for the waiters of the standard
        library's wait(FIRST_EXCEPTION). The C future's cf_error says so for every kind of outcome here."""
        err = _lib.cf_error()
        return (_lib.cf_future_exception(self._handle, 0.0, ctypes.byref(err)) == _lib.CF_OK
                and err.status != _lib.CF_OK)

    def __repr__(self):
        state = self._c_state()
        name = _STATE_NAMES.get(state, "invalid")
        if state == _lib.CF_FINISHED:
            exc = self.exception(0)
            if exc is not None:
                return "<%s at %#x state=finished raised %s>" % (type(self).__name__, id(self), type(exc).__name__)
            return "<%s at %#x state=finished returned %s>" % (type(self).__name__, id(self),
                                                                type(self.result(0)).__name__)
        return "<%s at %#x state=%s>" % (type(self).__name__, id(self), name)

    def cancel(self):
        """Cancels the future if it is still pending: True if it is (or was already) cancelled, False if it is
        running or done. A running task is also asked to stop (cfutures.cancel_requested() in a thread-pool
        task, cf_task_cancel_requested in a C task). With an executor made with cancel_running=True a running
        task is cancelled too (True): a process pool kills its worker, a thread pool discards its late result."""
        cancelled = bool(_lib.check(_lib.cf_future_cancel(self._handle), "Future.cancel"))
        if cancelled:
            _work_items.pop(self._key, None)   # a thread-pool task that will never run
        return cancelled

    def cancelled(self):
        return bool(_lib.cf_future_cancelled(self._handle))

    def running(self):
        return bool(_lib.cf_future_running(self._handle))

    def done(self):
        """True when the future was cancelled or finished."""
        return bool(_lib.cf_future_done(self._handle))

    # -- outcome -------------------------------------------------------------------------------------------------

    def _failure(self, status):
        """The exception of a finished future that failed with status (built once, then the same instance)."""
        with self._lock:
            # The exception a Python task raised (or set_exception's) is the future's failure when the library
            # reports a task failure; a library failure of its own (a time limit, a broken pool, ...) wins over an
            # exception a thread-pool task raised too late to count (past its time limit, or once cancelled).
            if status == _lib.CF_E_TASK_FAILED and self._exception is not None:
                return self._exception
            if self._lib_exception is not None:
                return self._lib_exception
            err = _lib.cf_error()
            rc = _lib.cf_future_exception(self._handle, 0.0, ctypes.byref(err))
            if rc == _lib.CF_OK and err.status != _lib.CF_OK:
                status = err.status
                typ = (err.type or b"").decode("utf-8", "replace")
                msg = (err.message or b"").decode("utf-8", "replace")
                detail = (err.detail or b"").decode("utf-8", "replace")
            else:
                typ, msg, detail = _lib.status_name(status), _lib.last_error(), ""
            if status == _lib.CF_E_TASK_FAILED and self._exception is not None:
                return self._exception
            if self._kind == _PICKLED and status == _lib.CF_E_TASK_FAILED:
                self._lib_exception = _remote_exception(typ, msg, detail)
            else:
                self._lib_exception = _failure_exception(status, typ, msg, detail)
            return self._lib_exception

    def result(self, timeout=None):
        """The result, waiting at most timeout seconds (None: without limit).

        Raises CancelledError if the future was cancelled, TimeoutError if it is not done in time, and the
        task's own exception if it raised (the very same object)."""
        out = _lib.cf_slice()
        handle = self._handle
        # A process pool's future done already needs no wait set up. (Not a thread pool's: every call into the
        # library lets the GIL go, and the worker thread that wants it for the task would then take it first.)
        status = _lib.CF_E_TIMEOUT
        if self._kind != _PYTHON:
            status = _lib.cf_future_result(handle, 0.0, ctypes.byref(out))
        if status == _lib.CF_E_TIMEOUT and (timeout != 0 or self._kind == _PYTHON):
            status = blocking(lambda t: _lib.cf_future_result(handle, t, ctypes.byref(out)), timeout)
        if status == _lib.CF_OK:
            if self._kind == _PYTHON:
                return self._result
            if self._kind == _PICKLED:
                return self._unpickled_result(out)
            with self._lock:
                if self._bytes is None:
                    self._bytes = ctypes.string_at(out.data, out.len) if out.len else b""
                return self._bytes
        if status == _lib.CF_E_TIMEOUT:
            raise TimeoutError()
        if status == _lib.CF_E_CANCELLED:
            raise CancelledError()
        if status == _lib.CF_E_DEADLOCK:   # the wait was refused; the future itself has not failed
            raise _lib.make_error(status, "Future.result")
        exc = self._failure(status)
        try:
            raise exc
        finally:
            exc = None  # as CPython: no reference cycle through this frame

    def _unpickled_result(self, out):
        """The result of a Python call in a process pool, unpickled once from the C future's bytes."""
        with self._lock:
            if not self._outcome_set:
                try:
                    self._result = _worker.load_result(out.data, out.len)
                except BaseException as exc:
                    # As concurrent.futures: a result that cannot be read here is a broken pool's failure (for
                    # this future only: the pool goes on).
                    broken = BrokenProcessPool("the result of the task could not be unpickled: %r" % (exc,))
                    broken.__cause__ = exc
                    self._exception = broken
                self._outcome_set = True
            if self._exception is not None:
                exc = self._exception
                try:
                    raise exc
                finally:
                    exc = None
            return self._result

    def exception(self, timeout=None):
        """The exception the task raised, or None if it succeeded; waits as result() does and raises
        CancelledError / TimeoutError the same way."""
        err = _lib.cf_error()
        handle = self._handle
        status = blocking(lambda t: _lib.cf_future_exception(handle, t, ctypes.byref(err)), timeout)
        if status == _lib.CF_E_TIMEOUT:
            raise TimeoutError()
        if status == _lib.CF_E_CANCELLED:
            raise CancelledError()
        _lib.check(status, "Future.exception")   # (CF_E_DEADLOCK: DeadlockError)
        if err.status == _lib.CF_OK:
            return None
        return self._failure(err.status)

    # -- callbacks -----------------------------------------------------------------------------------------------

    def add_done_callback(self, fn):
        """Calls fn(future) once the future is done (cancelled or finished), on the thread that completes it,
        or at once on this thread if it is done already. Exceptions from fn are logged and ignored."""
        with self._lock:
            queued = not self._notified
            if queued:
                self._callbacks.append(fn)
        if queued:
            self._watch()   # (runs the callbacks now, on this thread, if the C future is done already)
            return
        try:
            fn(self)
        except Exception:
            LOGGER.exception("exception calling callback for %r", self)

    def _invoke_callbacks(self):
        with self._lock:
            self._sync()
            self._notified = True
            callbacks = self.__dict__.pop("_callbacks", ())
        for callback in callbacks:
            try:
                callback(self)
            except Exception:
                LOGGER.exception("exception calling callback for %r", self)

    # -- composition -----------------------------------------------------------------------------------------------

    def then(self, executor, fn):
        """A continuation: once this future succeeds, fn(its result) runs on executor (any concurrent.futures
        executor: a thread pool, a process pool, CPython's), and the returned Future holds what fn returns or
        raises. A failure or cancellation of this future passes on (the same exception object) without running
        fn; cancelling the continuation before fn runs cancels its task. No thread waits meanwhile."""
        return _then(self, executor, fn)

    # -- for executors and tests that complete futures themselves ------------------------------------------------

    def set_running_or_notify_cancel(self):
        """True: the future is now running; False: it was cancelled (the waiters of wait()/as_completed() are
        told now, and its state becomes CANCELLED_AND_NOTIFIED). Raises RuntimeError if it is running or done
        already, or was cancelled and told so already, as concurrent.futures does."""
        with self._lock:
            rc = _lib.cf_future_set_running_or_notify_cancel(self._handle)
            self._sync()
            if rc == 0:
                if self._final == CANCELLED:
                    self._final = CANCELLED_AND_NOTIFIED
                    for waiter in self._waiters:
                        waiter.add_cancelled(self)
                    return False
            elif rc != _lib.CF_E_INVALID_STATE:
                return bool(_lib.check(rc, "Future.set_running_or_notify_cancel"))
            LOGGER.critical("Future %s in unexpected state: %s", id(self), self._state)
            raise RuntimeError("Future in unexpected state")

    def _claim(self):
        if self._outcome_set or _lib.cf_future_done(self._handle):
            self._sync()
            raise InvalidStateError("%s: %r" % (self._state, self))
        self._outcome_set = True

    def set_result(self, result):
        """Completes the future with result. InvalidStateError if it is done or cancelled already."""
        with self._lock:
            self._claim()
            self._result = result
        self._complete(_lib.cf_future_set_result(self._handle, None, 0), "Future.set_result")

    def set_exception(self, exception):
        """Fails the future with exception. InvalidStateError if it is done or cancelled already."""
        with self._lock:
            self._claim()
            self._exception = exception
        typ = type(exception).__qualname__.encode("utf-8", "replace")
        self._complete(_lib.cf_future_set_exception(self._handle, typ, _safe_str(exception).encode("utf-8", "replace")),
                       "Future.set_exception")

    def _complete(self, rc, what):
        if rc == _lib.CF_E_INVALID_STATE:  # cancelled meanwhile
            raise InvalidStateError("%s: %r" % (self._state, self))   # (read without _lock held: caught up)
        _lib.check(rc, what)


def _safe_str(obj):
    try:
        return str(obj)
    except Exception:
        return "<unprintable %s>" % type(obj).__name__


_BROKEN_THREAD_MESSAGE = "A thread initializer failed, the thread pool is not usable anymore"
_BROKEN_PROCESS_MESSAGE = ("A process in the process pool was terminated abruptly while the future was running "
                           "or pending.")


def _remote_exception(typ, msg, detail):
    """The exception a Python call raised in a worker, with its traceback; a failure without one (the library's
    own, as an unknown task) as _failure_exception gives it."""
    try:
        exc = _worker.remote_exception(detail)
    except Exception as unreadable:   # pickled, but not readable here (a class this process cannot import)
        exc = TaskError(typ, msg, detail.partition(_worker.DETAIL_MARKER)[0])
        exc.__cause__ = unreadable
    return exc if exc is not None else _failure_exception(_lib.CF_E_TASK_FAILED, typ, msg, detail)


def _failure_exception(status, typ, msg, detail):
    """The Python exception for a failure known only to the library."""
    if status == _lib.CF_E_TASK_FAILED:
        return TaskError(typ, msg, detail)
    text = msg or detail
    if status in (_lib.CF_E_TIME_LIMIT, _lib.CF_E_WORKER_DIED):
        cls = TimeLimitError if status == _lib.CF_E_TIME_LIMIT else WorkerDiedError
        exc = cls("%s (%s)" % (msg, detail) if msg and detail else text or _lib.cf_strerror(status).decode())
    elif status == _lib.CF_E_BROKEN_THREAD_POOL:
        exc = BrokenThreadPool(_BROKEN_THREAD_MESSAGE)
    elif status == _lib.CF_E_BROKEN_PROCESS_POOL:
        exc = BrokenProcessPool("%s (%s)" % (_BROKEN_PROCESS_MESSAGE, text) if text else _BROKEN_PROCESS_MESSAGE)
    else:
        exc = _lib.make_error(status, "task", message="%s: %s" % (typ, text) if typ else text)
    exc.status = status
    exc.status_name = _lib.status_name(status)
    exc.library_message = text
    exc.type = typ
    exc.detail = detail
    return exc


# --------------------------------------------------------------------------------------------------------------
# Composition: then, when_all, when_any, over any concurrent.futures.Future (done-callbacks: no thread waits)


def _notify_cancelled(target):
    """Tells the waiters of a cancelled Future() of ours (wait(), as_completed()), once."""
    try:
        target.set_running_or_notify_cancel()
    except RuntimeError:   # told already
        pass


def _settle(target, result=None, exception=None, cancelled=False):
    """Completes a composed future (a Future() of ours) once: False when it was done or cancelled already."""
    with target._lock:
        if target.done():
            if target.cancelled():
                _notify_cancelled(target)
            return False
        if cancelled:
            target.cancel()
            _notify_cancelled(target)
            return True
        if not target.set_running_or_notify_cancel():   # cancelled by its holder just now (and told)
            return False
        if exception is not None:
            target.set_exception(exception)
        else:
            target.set_result(result)
        return True


def _pass_on(source, target):
    if source.cancelled():
        _settle(target, cancelled=True)
        return
    exc = source.exception()
    if exc is not None:
        _settle(target, exception=exc)
    else:
        _settle(target, result=source.result())


def _then(source, executor, fn):
    target = Future()
    step = []

    def on_target_done(t):
        if t.cancelled():
            _settle(t, cancelled=True)          # (tells the waiters of wait()/as_completed())
            if step:
                step[0].cancel()

    def start(src):
        if target.done():
            return
        if src.cancelled() or src.exception() is not None:
            _pass_on(src, target)
            return
        try:
            submitted = executor.submit(fn, src.result())
        except BaseException as exc:   # (a shut-down executor: the continuation fails with its error)
            _settle(target, exception=exc)
            return
        step.append(submitted)
        if target.cancelled():
            submitted.cancel()
        submitted.add_done_callback(lambda s: _pass_on(s, target))

    target.add_done_callback(on_target_done)
    source.add_done_callback(start)
    return target


def when_all(fs):
    """A Future done when every future of fs is (any concurrent.futures.Future): its result is the list of their
    results, in order, when all succeeded; otherwise it carries the first exception (or cancellation) it saw.
    It cancels none of fs."""
    fs = list(fs)
    target = Future()
    if not fs:
        _settle(target, result=[])
        return target
    left = [len(fs)]
    lock = threading.Lock()

    def one(f):
        if f.cancelled() or f.exception() is not None:
            _pass_on(f, target)
            return
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            _settle(target, result=[g.result() for g in fs])

    for f in fs:
        f.add_done_callback(one)
    return target


def when_any(fs):
    """A Future done when the first future of fs is: its result is that future's index in fs (those done
    already count first, in order). ValueError for no futures; it cancels none of fs."""
    fs = list(fs)
    if not fs:
        raise ValueError("when_any: no futures")
    target = Future()
    for i, f in enumerate(fs):
        f.add_done_callback(lambda _f, i=i: _settle(target, result=i))
    return target


# --------------------------------------------------------------------------------------------------------------
# wait and as_completed


def _library_waits(fs, what):
    """True when the library can wait for every future of fs (cf_wait, cf_as_completed): all are cfutures
    Futures whose C completion is their completion for wait(): an executor's, or one made by Future() that is
    finished or cancelled-and-notified for good. Any other concurrent.futures.Future (the standard library's, or
    one of ours that is pending, or CANCELLED and not yet notified) is waited for through the waiter protocol of
    concurrent.futures, which ours follow too. Raises TypeError for an object that is not a future."""
    library = True
    for f in fs:
        if isinstance(f, Future):
            if library and f._by_hand and f._state not in (FINISHED, CANCELLED_AND_NOTIFIED):
                library = False
        elif isinstance(f, concurrent.futures.Future):
            library = False
        else:
            raise TypeError("%s: expected futures (cfutures.Future or concurrent.futures.Future), got %s"
                            % (what, type(f).__name__))
    return library


def _handles(fs):
    return (ctypes.c_void_p * max(len(fs), 1))(*[f._handle for f in fs])


def wait(fs, timeout=None, return_when=ALL_COMPLETED):
    """Waits for the futures in fs (duplicates count once): until all are done (ALL_COMPLETED), any is done
    (FIRST_COMPLETED) or any finishes by raising (FIRST_EXCEPTION), or until timeout seconds have passed.

    Returns a named 2-tuple of sets (done, not_done). fs may mix cfutures futures with those of
    concurrent.futures (its executors', or Future()); the library waits when all are executors' futures of
    cfutures (or finished ones), concurrent.futures.wait otherwise."""
    fs = list(set(fs))
    if return_when not in _RETURN_WHEN:
        raise ValueError("Invalid return condition: %r" % (return_when,))
    _timeout_arg(timeout)   # (NaN: ValueError)
    if not fs:
        return DoneAndNotDoneFutures(set(), set())
    if not _library_waits(fs, "wait"):
        done, not_done = _std.wait(fs, timeout, return_when)
        return DoneAndNotDoneFutures(done, not_done)
    arr = _handles(fs)
    flags = (ctypes.c_ubyte * len(fs))()
    when = _RETURN_WHEN[return_when]
    status = blocking(lambda t: _lib.cf_wait(arr, len(fs), t, when, flags, None), timeout)
    if status not in (_lib.CF_OK, _lib.CF_E_TIMEOUT):
        _lib.check(status, "wait")
    done = {f for f, flag in zip(fs, flags) if flag}
    return DoneAndNotDoneFutures(done, set(fs) - done)


def as_completed(fs, timeout=None):
    """A generator of the futures in fs (duplicates yielded once) as they complete: those done already first,
    then in completion order. Raises TimeoutError if some are not done timeout seconds after the first
    next(), with the message "N (of M) futures unfinished". fs may mix cfutures futures with those of
    concurrent.futures, as for wait().

    Note: the wait inside next() is one library call; in the main thread it cannot be interrupted by Ctrl-C
    before it returns (use a timeout where that matters)."""
    fs = list(dict.fromkeys(fs))   # distinct, in input order
    total = len(fs)
    if not fs:
        return
    _timeout_arg(timeout)   # (NaN: ValueError)
    if not _library_waits(fs, "as_completed"):
        others = _std.as_completed(fs, timeout)
        del fs   # the generator lets go of each future it yields (bpo-14406); this list must not keep them
        yield from others
        return
    arr = _handles(fs)
    # Each future is let go once yielded (as CPython since bpo-14406): the caller's loop decides how long a
    # finished future, and its result, lives.
    by_handle = {f._handle: f for f in fs}
    del fs
    it = ctypes.c_void_p()
    _lib.check(_lib.cf_as_completed(arr, total, _timeout_arg(timeout), ctypes.byref(it)), "as_completed")
    yielded = 0
    try:
        out = ctypes.c_void_p()
        while True:
            status = _lib.cf_as_completed_next(it, ctypes.byref(out))
            if status == _lib.CF_DONE:
                return
            if status == _lib.CF_E_TIMEOUT:
                raise TimeoutError("%d (of %d) futures unfinished" % (total - yielded, total))
            _lib.check(status, "as_completed")
            yielded += 1
            yield by_handle.pop(out.value)  # no local name keeps it while the generator waits
    finally:
        _lib.cf_as_completed_free(it)
