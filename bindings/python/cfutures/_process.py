# SPDX-License-Identifier: MIT
"""ProcessPoolExecutor: Python functions, and C tasks registered by name, run in worker processes.

A Python call is pickled and travels through the library's shared memory as a task of its own (cfutures._worker
runs it in the worker). A C task is a function registered under a name (CF_TASK / cf_task_register) in a shared
library that this process loads with ctypes (load_library) before the pool starts its workers; bytes in, bytes
out.
"""
from __future__ import annotations

import collections
import ctypes
import functools
import itertools
import os
import threading
import time
import weakref

from . import _lib
from ._future import (CancelledError, Future, TimeoutError, _BYTES, _PICKLED, _failure_exception,
                      _keys as _future_keys, _timeout_arg)
from . import _worker
from ._options import SubmitOptions, _check_seconds, submit_options
from ._thread import Executor, _Handle, _finalize_pool, _live_executors
from . import _thread

_WORKER_DEATH = {"break": _lib.CF_WORKER_DEATH_BREAK, "replace": _lib.CF_WORKER_DEATH_REPLACE}

_START_METHODS = {"fork": _lib.CF_START_FORK, "forkserver": _lib.CF_START_FORKSERVER, "spawn": _lib.CF_START_SPAWN}
DEFAULT_START_METHOD = "forkserver"

_libraries = {}                 # what load_library loaded: key -> ctypes.CDLL (never unloaded)
_libraries_lock = threading.Lock()
_forkserver_libraries = None    # the libraries loaded when the first forkserver pool started (None: not yet)
_keys = itertools.count(1)


def _library_key(name):
    return os.path.realpath(name) if os.sep in name or os.path.exists(name) else name


def load_library(name):
    """Loads a shared library of tasks (a path, or a name the dynamic loader finds) so that its CF_TASK
    registrations run in this process; returns the ctypes.CDLL. Loading the same library again is a no-op.

    The library must link against libcfutures (cc -shared -fPIC tasks.c $(pkg-config --cflags --libs cfutures)).
    Load every task library before the first forkserver pool: the forkserver is forked once, and its workers
    only know the tasks registered then."""
    name = os.fspath(name)
    key = _library_key(name)
    with _libraries_lock:
        handle = _libraries.get(key)
        if handle is None:
            try:
                handle = ctypes.CDLL(name)
            except OSError as exc:
                raise OSError("cfutures: cannot load the task library %r: %s" % (name, exc)) from exc
            _libraries[key] = handle
        return handle


def _start_method_of(start_method, mp_context):
    method = start_method
    if method is None and mp_context is not None:
        method = mp_context if isinstance(mp_context, str) else mp_context.get_start_method()
    if method is None:
        method = DEFAULT_START_METHOD
    if method not in _START_METHODS:
        raise ValueError("cfutures.ProcessPoolExecutor: unknown start method %r (use 'forkserver', 'fork' or "
                         "'spawn')" % (method,))
    return method


def _default_workers():
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _task_name(fn, what):
    if isinstance(fn, str):
        return fn.encode("utf-8")
    if isinstance(fn, bytes):
        return fn
    raise TypeError("ProcessPoolExecutor.%s: the task is a callable or a registered C task's name (str), not %s"
                    % (what, type(fn).__name__))


def _is_c_task(fn):
    return isinstance(fn, (str, bytes))


def _chunks(iterables, chunksize):
    """The argument tuples of map(fn, *iterables), in lists of chunksize."""
    it = zip(*iterables)
    while True:
        chunk = list(itertools.islice(it, chunksize))
        if not chunk:
            return
        yield chunk


def _flatten(chunk_results):
    """The items of each chunk's result list, in order; stops the underlying iterator (which cancels the rest)
    when closed."""
    try:
        for results in chunk_results:
            yield from results
    finally:
        close = getattr(chunk_results, "close", None)
        if close is not None:
            close()


def _large_bytes_in(args, kwargs):
    """Whether an argument is a large bytes: then the call is pickled in pieces, and the bytes copied once,
    straight into the shared memory (cfutures._worker.dump_pieces). (A bytearray, which another thread may change
    meanwhile, is pickled as before: copied while this thread holds the GIL.)"""
    for arg in itertools.chain(args, kwargs.values()) if kwargs else args:
        if type(arg) is bytes and len(arg) >= _worker.STREAM_MIN:
            return True
    return False


def _check_call(rc, what):
    """check() for submit and map: a broken pool raises BrokenProcessPool with CPython's message."""
    if rc == _lib.CF_E_BROKEN_PROCESS_POOL:
        exc = _lib.make_error(rc, what)
        exc.args = ("A child process terminated abruptly, the process pool is not usable anymore (%s)"
                    % exc.library_message,)
        raise exc
    _lib.check(rc, what)


_END = object()


class _MapState:
    """One ProcessPoolExecutor.map over cf_map_named_source: the input (the items taken ahead, then the rest of the
    user's iterator), the cf_arg_source callback over it, and the C iterator (cf_map_iter), freed exactly once.

    The library calls the callback on the thread that calls cf_map_named_source / cf_map_next (ctypes takes the
    GIL for it). An exception from the user's iterator (or a non-bytes item) cannot cross into C: it is kept in
    ``error``, the callback returns a failure status, and the Python side raises the kept exception instead of
    the library's error."""

    def __init__(self, ahead, rest):
        self.ahead = ahead          # deque of bytes
        self.rest = rest            # iterator, or None when the input is exhausted
        self.current = None         # the bytes the library holds a view of, until its next pull
        self.error = None
        self.handle = None          # the cf_map_iter
        self.lock = threading.Lock()
        self.callback = _lib.ARG_SOURCE(self._pull)

    def _pull(self, _state, out):
        try:
            self.current = None
            if self.error is not None:
                return _lib.CF_E_INVALID_ARGUMENT
            if self.ahead:
                data = self.ahead.popleft()
            elif self.rest is None:
                return _lib.CF_DONE
            else:
                try:
                    item = next(self.rest)
                except StopIteration:
                    self.rest = None
                    return _lib.CF_DONE
                data = item
            ptr, length, self.current = _lib.as_buffer(data, "ProcessPoolExecutor.map")
            out[0].data = ptr.value
            out[0].len = length
            return _lib.CF_OK
        except BaseException as exc:  # never into C: raised by the caller of cf_map_next
            self.error = exc
            self.rest = None
            return _lib.CF_E_INVALID_ARGUMENT

    def next(self):
        """The next result (bytes), or _END; raises the failure."""
        handle = self.handle
        if handle is None:
            return _END
        out = _lib.cf_slice()
        rc = _lib.cf_map_next(handle, ctypes.byref(out))
        if rc == _lib.CF_OK:
            return ctypes.string_at(out.data, out.len) if out.len else b""
        if rc == _lib.CF_DONE:
            return _END
        raise self._failure(rc)

    def _failure(self, rc):
        if self.error is not None:
            error, self.error = self.error, None
            return error
        text = _lib.last_error()
        err = _lib.cf_error()
        if _lib.cf_map_error(self.handle, ctypes.byref(err)) == _lib.CF_OK and err.status != _lib.CF_OK:
            status = err.status
            typ = (err.type or b"").decode("utf-8", "replace")
            msg = (err.message or b"").decode("utf-8", "replace")
            detail = (err.detail or b"").decode("utf-8", "replace")
        else:
            status, typ, msg, detail = rc, _lib.status_name(rc), text, ""
        if status == _lib.CF_E_TIMEOUT:
            return TimeoutError()
        if status == _lib.CF_E_CANCELLED:
            return CancelledError()
        if status == _lib.CF_E_SHUTDOWN:
            return _lib.make_error(status, "ProcessPoolExecutor.map", message=text)
        return _failure_exception(status, typ, msg, detail)

    def free(self):
        """Frees the C iterator (cancelling what has not started); idempotent."""
        with self.lock:
            handle, self.handle = self.handle, None
        if handle is not None:
            _lib.cf_map_free(handle)
        self.ahead = self.rest = self.current = None
        self.callback = None    # (a reference cycle through the bound method otherwise)


def _map_results(state):
    try:
        while True:
            result = state.next()
            if result is _END:
                return
            yield result
    finally:
        state.free()


class ProcessPoolExecutor(Executor):
    """concurrent.futures.ProcessPoolExecutor for registered C tasks.

    max_workers: None gives the number of CPUs this process may run on.
    mp_context / start_method: 'forkserver' (default) or 'fork' (a string, or a multiprocessing context).
    initializer: the name of a registered task run first in every worker, with initargs (bytes); if it fails,
    the pool is broken (BrokenProcessPool).
    max_tasks_per_child: replace a worker after that many tasks (with 'fork' too, unlike CPython: the library
    forks later workers from a single-threaded server of the pool's own).
    library: a shared library of tasks to load first (see load_library).
    shared_memory_bytes: the arena for arguments (None: the library's default, 256 MiB reserved, not used).
    cancel_running: True lets Future.cancel() cancel a running task by killing its worker (a new one takes its
    place): cancel() returns True and the future is cancelled. shutdown(cancel_futures=True) then cancels
    running tasks too. False (default): as CPython, a running task is only asked to stop.
    on_worker_death: what a worker that dies unasked (a crash, an exit, a signal from outside) does to the pool.
    "break" (default, as CPython): the pool breaks, its futures and every later submit raise BrokenProcessPool.
    "replace": only the task it was running fails, with cfutures.WorkerDiedError; a new worker takes its place
    and the pool goes on, unless more than max_restarts workers die within restart_period seconds (None: 10
    deaths, 60 s), which breaks it. Workers the pool kills itself (time limits, cancel_running,
    max_tasks_per_child) do not count.

    submit(task_name, data=b"", *, time_limit=None) runs the task on data in a worker and gives a Future whose
    result is bytes; past time_limit seconds of running its worker is killed and the future fails with
    cfutures.TimeLimitError (a TimeoutError). A task that fails (cf_task_raise) raises cfutures.TaskError (type,
    message, detail)."""

    def __init__(self, max_workers=None, mp_context=None, initializer=None, initargs=b"", *,
                 max_tasks_per_child=None, library=None, start_method=None, shared_memory_bytes=None,
                 cancel_running=False, on_worker_death="break", max_restarts=None, restart_period=None):
        global _forkserver_libraries
        if max_workers is None:
            max_workers = _default_workers()
        elif max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        method = _start_method_of(start_method, mp_context)
        if max_tasks_per_child is not None:
            if not isinstance(max_tasks_per_child, int):
                raise TypeError("max_tasks_per_child must be a positive int")
            if max_tasks_per_child <= 0:
                raise ValueError("max_tasks_per_child must be >= 1")
        if on_worker_death not in _WORKER_DEATH:
            raise ValueError("on_worker_death must be 'break' or 'replace', not %r" % (on_worker_death,))
        if max_restarts is not None:
            if isinstance(max_restarts, bool) or not isinstance(max_restarts, int):
                raise TypeError("max_restarts must be a positive int or None")
            if max_restarts <= 0:
                raise ValueError("max_restarts must be >= 1 (None: 10); on_worker_death='break' breaks the pool "
                                 "at the first death")
        restart_period = _check_seconds(restart_period, "restart_period")
        if restart_period is not None and not 0 < restart_period < float("inf"):
            raise ValueError("restart_period must be a positive, finite number of seconds (None: 60)")
        if on_worker_death != "replace" and (max_restarts is not None or restart_period is not None):
            raise ValueError("max_restarts and restart_period apply to on_worker_death='replace' only")
        if initializer is not None and not (_is_c_task(initializer) or callable(initializer)):
            raise TypeError("initializer must be a callable (or a registered C task's name), not %s"
                            % type(initializer).__name__)
        if library is not None:
            load_library(library)
        with _libraries_lock:
            if method == "forkserver":
                if _forkserver_libraries is None:
                    _forkserver_libraries = set(_libraries)
                elif library is not None and _library_key(os.fspath(library)) not in _forkserver_libraries:
                    raise ValueError(
                        "cfutures.ProcessPoolExecutor: %r was loaded after the forkserver started, so forkserver "
                        "workers do not know its tasks. Load every task library (cfutures.load_library) before "
                        "the first forkserver pool, or use start_method='fork'." % (os.fspath(library),))
        self._max_workers = max_workers
        self._start_method = method
        self._open_for_submits()

        opts = _lib.new_options(_lib.cf_process_pool_options, _lib.cf_process_pool_options_init)
        opts.max_workers = max_workers
        opts.start_method = _START_METHODS[method]
        opts.max_tasks_per_child = max_tasks_per_child or 0
        keep = []
        self._initializer_token = None
        name = None
        if initializer is not None and _is_c_task(initializer):
            name = initializer.encode() if isinstance(initializer, str) else initializer
            ptr, length, data = _lib.as_buffer(initargs, "ProcessPoolExecutor initargs")
        elif _lib.HAVE_PYTHON_WORKERS and (initializer is not None or method == "spawn"):
            # Python's: the user's initializer, and in a spawned worker the caller's authkey first.
            name = _worker.PYTHON_INITIALIZER
            call, self._initializer_token = _worker.initializer_call(initializer, initargs, method)
            ptr, length, data = _lib.as_buffer(call, "ProcessPoolExecutor initializer")
        elif initializer is not None:
            _lib.require("a Python initializer", False)
        if name is not None:
            opts.initializer = name
            opts.initarg, opts.initarg_len = ptr, length
            keep += [name, data]
        if method == "spawn":
            # The worker is a new interpreter that runs cfutures._worker.spawned_main (Python calls and the C
            # tasks of the libraries loaded here alike).
            _lib.require("start_method='spawn'", _lib.has_field(opts, "worker_args"))
            with _libraries_lock:
                libraries = list(_libraries)
            program, args = _worker.spawn_arguments(libraries)
            encoded = [program.encode()] + [a.encode() for a in args]
            argv = (ctypes.c_char_p * (len(args) + 1))(*encoded[1:], None)
            opts.worker_program = encoded[0]
            opts.worker_args = ctypes.cast(argv, ctypes.c_void_p)
            keep += [encoded, argv]
        if shared_memory_bytes:
            opts.shared_memory_bytes = shared_memory_bytes
        self._cancel_running = bool(cancel_running)
        self._on_worker_death = on_worker_death
        if self._cancel_running:
            _lib.require("cancel_running", _lib.has_field(opts, "cancel_running"))
            opts.cancel_running = 1
        if on_worker_death != "break":
            _lib.require("on_worker_death=%r" % (on_worker_death,), _lib.has_field(opts, "restart_period"))
            opts.on_worker_death = _WORKER_DEATH[on_worker_death]
            opts.max_restarts = max_restarts or 0
            opts.restart_period = restart_period or 0.0
        out = ctypes.c_void_p()
        # With forkserver, the first pool forks the server here, from this thread, with the GIL released: the
        # server and its workers run only library code, never Python.
        try:
            _lib.check(_lib.cf_process_pool_new(ctypes.byref(opts), ctypes.byref(out)),
                       "ProcessPoolExecutor: cf_process_pool_new")
        except BaseException:
            _worker.forget_initializer(self._initializer_token)
            raise
        del keep
        self._pool_key = -next(_keys)   # negative: apart from thread-pool keys; no thread of ours runs in it
        self._handle = _Handle(out.value, self._pool_key)
        weakref.finalize(self, _finalize_pool, self._handle, self._pool_key)
        _live_executors.add(self)

    def submit(self, fn, /, *args, **kwargs):
        """Schedules fn(*args, **kwargs) in a worker process and returns its Future, as concurrent.futures does:
        fn, its arguments and its result travel pickled; an exception it raises is raised again by result(),
        with the worker's traceback as its __cause__.

        A registered C task: submit(name, data=b"", *, time_limit=None) runs the task registered as name (a str)
        on data (bytes-like); the Future's result is bytes. time_limit: seconds the task may run once started
        (None: no limit); past it the worker is killed (a new one takes its place) and the future fails with
        cfutures.TimeLimitError, a TimeoutError. (For a Python call, submit_with gives it options.)"""
        if _is_c_task(fn):
            return self._submit_c_task(fn, *args, **kwargs)
        return self._submit_call(None, fn, args, kwargs)

    def _submit_c_task(self, fn, data=b"", *, time_limit=None):
        c_options = None if time_limit is None else SubmitOptions(time_limit=time_limit)._c_options()
        return self._submit(c_options, fn, data)

    def submit_with(self, options, fn, /, *args, **kwargs):
        """As submit, with per-task options: a cfutures.SubmitOptions (or None): submit_with(options, fn, *args,
        **kwargs) for a Python call, submit_with(options, name, data=b"") for a C task."""
        c_options = submit_options(options)._c_options()
        if _is_c_task(fn):
            return self._submit(c_options, fn, *args, **kwargs)
        return self._submit_call(c_options, fn, args, kwargs)

    def _submit_call(self, c_options, fn, args, kwargs):
        """A Python call: pickled here, run by cfutures._worker in a worker."""
        if not callable(fn):
            raise TypeError("ProcessPoolExecutor.submit: %s is neither callable nor a C task's name"
                            % type(fn).__name__)
        if not _lib.HAVE_PYTHON_WORKERS:
            _lib.require("Python functions in a process pool", False)
        pieces = None
        try:
            if (args or kwargs) and _lib.cf_submit_named_parts is not None and _large_bytes_in(args, kwargs):
                pieces = _worker.dump_pieces((fn, args, kwargs))
                call = b""
            else:
                call = _worker.dump_call(fn, args, kwargs)
        except Exception as exc:
            # As concurrent.futures: a call that cannot be pickled fails its future, not the submit.
            with self._shutdown_lock:
                self._check_open()
            future = Future()
            future.set_exception(exc)
            return future
        return self._submit(c_options, _worker.PYTHON_TASK, call, kind=_PICKLED, pieces=pieces)

    def _submit(self, c_options, fn, data=b"", kind=_BYTES, pieces=None):
        """Submits the task with data as its argument, or the argument made of pieces (bytes-like objects, laid
        end to end) when given."""
        name = fn if fn is _worker.PYTHON_TASK else _task_name(fn, "submit")
        if pieces is not None:
            slices, data = _worker.piece_slices(pieces)
        elif type(data) is bytes:   # (the common case, as a pickled call nearly always is: no conversion)
            ptr, length = data, len(data)
        else:
            ptr, length, data = _lib.as_buffer(data, "ProcessPoolExecutor.submit")
        out = self._submitted_ref
        with self._shutdown_lock:
            if self._shutdown or _thread._global_shutdown:
                self._check_open()
            if pieces is not None:
                rc = _lib.cf_submit_named_parts(self._handle.handle, name, slices, len(pieces),
                                                None if c_options is None else ctypes.byref(c_options), out)
            elif c_options is None:
                rc = _lib.cf_submit_named(self._handle.handle, name, ptr, length, out)
            else:
                rc = _lib.cf_submit_named_ex(self._handle.handle, name, ptr, length, ctypes.byref(c_options), out)
            handle = self._submitted.value
        if rc != _lib.CF_OK:   # (the text only for a failure: it costs as much as a submit's checks)
            _check_call(rc, "ProcessPoolExecutor.submit(%r)" % (fn,))
        return Future._for_task(kind, next(_future_keys), handle)

    def _open_for_submits(self):
        """The state submit needs, made once by the constructor (this class's, or a subclass's own)."""
        self._shutdown = False
        self._shutdown_lock = threading.Lock()
        # Where cf_submit* writes the new future, reused by every submit (under _shutdown_lock).
        self._submitted = ctypes.c_void_p()
        self._submitted_ref = ctypes.byref(self._submitted)

    def _check_open(self):
        """Raises RuntimeError once shutdown has begun (call with _shutdown_lock held)."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        if _thread._global_shutdown:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    def map(self, fn, *iterables, timeout=None, chunksize=1, buffersize=None):
        """map(fn, *iterables): an iterator of fn(*args) for the argument tuples of the iterables, run in the
        workers, in input order (as concurrent.futures): chunksize items travel as one task; buffersize None
        takes the whole input now, n keeps at most n chunks in flight (Python 3.14); timeout in seconds from this
        call. The first call that raised raises its exception when the iterator reaches it, and the rest is
        cancelled.

        map(task_name, iterable_of_bytes): a registered C task on each item; an iterator of the results (bytes).

        chunksize: the items are sent to the workers in chunks of this many, each chunk one task that a worker
        runs item after item (fewer round trips for many small items).
        buffersize: None takes the whole input now; n keeps at most n items in flight, rounded up to whole
        chunks (ceil(n / chunksize) chunks), pulling the input lazily as results are taken (Python 3.14).
        timeout: seconds from this call; a result not available by then raises TimeoutError from the iterator.
        The first item that fails raises its exception when the iterator reaches it (the results before it come
        first), and the rest is cancelled. An unknown task name raises UnknownTaskError here, as submit does."""
        if not _is_c_task(fn):
            if not isinstance(chunksize, int):
                raise TypeError("chunksize must be an integer")
            if chunksize < 1:
                raise ValueError("chunksize must be >= 1.")
            if chunksize == 1:
                return super().map(fn, *iterables, timeout=timeout, buffersize=buffersize)
            results = super().map(functools.partial(_worker.process_chunk, fn), _chunks(iterables, chunksize),
                                  timeout=timeout, buffersize=buffersize)
            return _flatten(results)
        if len(iterables) != 1:
            raise TypeError("ProcessPoolExecutor.map takes one iterable of bytes (a task takes one argument)")
        if not _lib.HAVE_MAP_NAMED:   # an older library: one task per item, chunksize ignored
            return super().map(fn, *iterables, timeout=timeout, chunksize=chunksize, buffersize=buffersize)
        name = _task_name(fn, "map")
        if buffersize is not None and not isinstance(buffersize, int):
            raise TypeError("buffersize must be an integer or None")
        if buffersize is not None and buffersize < 1:
            raise ValueError("buffersize must be None or > 0")
        if not isinstance(chunksize, int):
            raise TypeError("chunksize must be an integer")
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end_time = None if timeout is None else _timeout_arg(timeout) + time.monotonic()
        with self._shutdown_lock:
            self._check_open()
        # The first window of input is taken here, in Python, so that the user's iterator never runs inside the
        # library call below (made with _shutdown_lock held): an iterator that submits to this pool or shuts it
        # down must not deadlock. Later items are pulled lazily by cf_map_next, through _MapState._pull.
        items = iter(iterables[0])
        what = "ProcessPoolExecutor.map"
        if buffersize is None:
            chunks_in_flight = 0       # all at once
            ahead = collections.deque(_lib.as_buffer(item, what)[2] for item in items)
            rest = None
        else:
            chunks_in_flight = -(-buffersize // chunksize)     # the library counts chunks, CPython items
            window = chunks_in_flight * chunksize
            ahead = collections.deque(_lib.as_buffer(item, what)[2] for item in itertools.islice(items, window))
            rest = items if len(ahead) == window else None
        state = _MapState(ahead, rest)
        opts = _lib.new_options(_lib.cf_map_options, _lib.cf_map_options_init)
        opts.timeout = _lib.CF_FOREVER if end_time is None else max(end_time - time.monotonic(), 0.0)
        opts.chunksize = chunksize
        opts.buffersize = chunks_in_flight
        opts.unordered = 0
        out = ctypes.c_void_p()
        with self._shutdown_lock:
            self._check_open()
            rc = _lib.cf_map_named_source(self._handle.handle, name, state.callback, None, ctypes.byref(opts),
                                          ctypes.byref(out))
            if rc < 0:
                error, state.error = state.error, None
                state.free()
                if error is not None:
                    try:
                        raise error
                    finally:
                        error = None
                _check_call(rc, "ProcessPoolExecutor.map(%r)" % (fn,))
            state.handle = out.value
        results = _map_results(state)
        # An iterator never started (or dropped unfinished) frees the C iterator when collected; a finished or
        # closed one has freed it already (free is idempotent).
        weakref.finalize(results, state.free)
        return results

    def shutdown(self, wait=True, *, cancel_futures=False):
        """Refuses new work; cancel_futures cancels what has not started (and asks running tasks to stop; with
        cancel_running, cancels them, killing their workers); wait blocks until the work is done and the workers
        have exited, and frees the pool. Idempotent."""
        with self._shutdown_lock:
            self._shutdown = True
        self._shutdown_c(wait, cancel_futures)
        if wait:   # (no worker will be started any more)
            _worker.forget_initializer(self._initializer_token)

    def terminate_workers(self):
        """Stops every worker with SIGTERM (Python 3.14); the pool is then shut down."""
        self._signal_workers(_lib.cf_executor_terminate_workers, "terminate_workers")

    def kill_workers(self):
        """Stops every worker with SIGKILL (Python 3.14); the pool is then shut down."""
        self._signal_workers(_lib.cf_executor_kill_workers, "kill_workers")

    def _signal_workers(self, call, what):
        with self._shutdown_lock:
            self._shutdown = True
        box = self._handle
        with box.lock:  # not freed meanwhile by a shutdown in another thread
            if box.handle is not None:
                _lib.check(call(box.handle), "ProcessPoolExecutor.%s" % what)

    def __repr__(self):
        return "<%s %s max_workers=%d>" % (type(self).__name__, self._start_method, self._max_workers)
