"""ProcessPoolExecutor: registered C tasks, bytes in and bytes out, run in worker processes.

Python callables cannot cross into the library's worker processes (they run C only, never the interpreter), so
a process-pool task is a C function registered under a name (CF_TASK / cf_task_register) in a shared library
that this process loads with ctypes before the pool starts its workers.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import threading
import weakref

from . import _lib
from ._future import Future, _BYTES, _keys as _future_keys, _pending
from ._thread import Executor, _Handle, _finalize_pool, _live_executors
from . import _thread

_START_METHODS = {"fork": _lib.CF_START_FORK, "forkserver": _lib.CF_START_FORKSERVER}
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
    if method == "spawn":
        raise ValueError(
            "cfutures.ProcessPoolExecutor: the 'spawn' start method is not supported: it re-executes the program, "
            "which here is the Python interpreter running your script again, before a worker could serve C tasks."
            " Use 'forkserver' (the default) or 'fork'.")
    if method not in _START_METHODS:
        raise ValueError("cfutures.ProcessPoolExecutor: unknown start method %r (use 'forkserver' or 'fork')"
                         % (method,))
    return method


def _default_workers():
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ProcessPoolExecutor(Executor):
    """concurrent.futures.ProcessPoolExecutor for registered C tasks.

    max_workers: None gives the number of CPUs this process may run on.
    mp_context / start_method: 'forkserver' (default) or 'fork' (a string, or a multiprocessing context).
    initializer: the name of a registered task run first in every worker, with initargs (bytes); if it fails,
    the pool is broken (BrokenProcessPool).
    max_tasks_per_child: replace a worker after that many tasks (not with 'fork', as in CPython).
    library: a shared library of tasks to load first (see load_library).
    shared_memory_bytes: the arena for arguments (None: the library's default, 256 MiB reserved, not used).

    submit(task_name, data=b"") runs the task on data in a worker and gives a Future whose result is bytes. A
    task that fails (cf_task_raise) raises cfutures.TaskError (type, message, detail); a worker that dies breaks
    the pool: its futures and every later submit raise BrokenProcessPool."""

    def __init__(self, max_workers=None, mp_context=None, initializer=None, initargs=b"", *,
                 max_tasks_per_child=None, library=None, start_method=None, shared_memory_bytes=None):
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
            if method == "fork":
                raise ValueError("max_tasks_per_child is incompatible with the 'fork' multiprocessing start "
                                 "method; supply a different mp_context.")
        if initializer is not None and not isinstance(initializer, (str, bytes)):
            raise TypeError("initializer must be the name of a registered task (a str), not %s"
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
        self._shutdown = False
        self._shutdown_lock = threading.Lock()

        opts = _lib.new_options(_lib.cf_process_pool_options, _lib.cf_process_pool_options_init)
        opts.max_workers = max_workers
        opts.start_method = _START_METHODS[method]
        opts.max_tasks_per_child = max_tasks_per_child or 0
        keep = []
        if initializer is not None:
            name = initializer.encode() if isinstance(initializer, str) else initializer
            opts.initializer = name
            ptr, length, data = _lib.as_buffer(initargs, "ProcessPoolExecutor initargs")
            opts.initarg, opts.initarg_len = ptr, length
            keep += [name, data]
        if shared_memory_bytes:
            opts.shared_memory_bytes = shared_memory_bytes
        out = ctypes.c_void_p()
        # With forkserver, the first pool forks the server here, from this thread, with the GIL released: the
        # server and its workers run only library code, never Python.
        _lib.check(_lib.cf_process_pool_new(ctypes.byref(opts), ctypes.byref(out)),
                   "ProcessPoolExecutor: cf_process_pool_new")
        del keep
        self._pool_key = -next(_keys)   # negative: apart from thread-pool keys; no thread of ours runs in it
        self._handle = _Handle(out.value, self._pool_key)
        weakref.finalize(self, _finalize_pool, self._handle, self._pool_key)
        _live_executors.add(self)

    def submit(self, fn, data=b"", /):
        """Runs the task registered as fn (a str) on data (bytes-like) in a worker; returns a Future of bytes."""
        if isinstance(fn, str):
            name = fn.encode("utf-8")
        elif isinstance(fn, bytes):
            name = fn
        else:
            raise TypeError("ProcessPoolExecutor.submit: the task is a registered name (str), not %s; Python "
                            "callables cannot run in libcfutures worker processes" % type(fn).__name__)
        ptr, length, keep = _lib.as_buffer(data, "ProcessPoolExecutor.submit")
        with self._shutdown_lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _thread._global_shutdown:
                raise RuntimeError("cannot schedule new futures after interpreter shutdown")
            out = ctypes.c_void_p()
            rc = _lib.cf_submit_named(self._handle.handle, name, ptr, length, ctypes.byref(out))
            if rc == _lib.CF_E_BROKEN_PROCESS_POOL:
                exc = _lib.make_error(rc, "ProcessPoolExecutor.submit")
                exc.args = ("A child process terminated abruptly, the process pool is not usable anymore (%s)"
                            % exc.library_message,)
                raise exc
            _lib.check(rc, "ProcessPoolExecutor.submit(%r)" % (fn,))
        future = Future._for_task(_BYTES, next(_future_keys))
        future._attach(out.value)
        _pending[future._key] = future
        future._watch()
        return future

    def map(self, fn, *iterables, timeout=None, chunksize=1, buffersize=None):
        """map(task_name, iterable_of_bytes): the results (bytes) in input order; see Executor.map."""
        if len(iterables) != 1:
            raise TypeError("ProcessPoolExecutor.map takes one iterable of bytes (a task takes one argument)")
        return super().map(fn, *iterables, timeout=timeout, chunksize=chunksize, buffersize=buffersize)

    def shutdown(self, wait=True, *, cancel_futures=False):
        """Refuses new work; cancel_futures cancels what has not started (and asks running tasks to stop);
        wait blocks until the work is done and the workers have exited, and frees the pool. Idempotent."""
        with self._shutdown_lock:
            self._shutdown = True
        self._shutdown_c(wait, cancel_futures)

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
