# SPDX-License-Identifier: MIT
"""Python functions in a process pool's worker processes.

A Python call travels as a library task of its own, registered under PYTHON_TASK: its argument is the pickled
(fn, args, kwargs), its result the pickled return value. The library moves both through its shared memory. A
failure carries the exception's type name and message, and as its detail the remote traceback's text followed
by the pickled exception (base64, after DETAIL_MARKER), so that the caller raises the task's own exception with
the traceback as its __cause__, as concurrent.futures does.

How a worker gets an interpreter:

- fork and forkserver: the worker is a fork of this process (or of the forkserver, itself a fork of it). The
  library forks from its own threads, so this module hands it CPython's own fork protocol (cf_set_fork_hooks):
  the forking thread takes the GIL and the import lock first, and the child repairs the interpreter
  (PyOS_AfterFork_Child: the other threads are gone) before any Python code runs there; as os.fork() does.
- spawn: the worker is a new interpreter (sys.executable) that runs spawned_main(): it prepares itself as
  multiprocessing's spawn does (sys.path, working directory, the main module imported as __mp_main__), loads the
  parent's task libraries, registers the tasks and serves them (cf_process_worker_entry).
"""
from __future__ import annotations

import base64
import ctypes
import itertools
import os
import pickle
import sys
import traceback

from . import _lib

PYTHON_TASK = b"cfutures.python"
PYTHON_INITIALIZER = b"cfutures.python.initializer"
DETAIL_MARKER = "\n--- cfutures: the exception, pickled (base64) ---\n"
# A result's first byte says how the rest is to be read: a pickle, or the bytes of a large bytes result.
_PICKLED_RESULT = b"P"
_RAW_RESULT = b"B"
_RAW_BYTES_MIN = 64 * 1024
_VIEW_MIN = 64 * 1024   # arguments and results from this size are read in place rather than copied first

# The code a spawned worker interpreter runs: argv[1] is the directory holding the cfutures package, argv[2] the
# preparation data (spawn_arguments).
_SPAWN_CODE = ("import sys; sys.path.insert(0, sys.argv[1]); "
               "from cfutures._worker import spawned_main; spawned_main(sys.argv[2])")


# --------------------------------------------------------------------------------------------------------------
# In the worker: the tasks


def read_bytes(address, length):
    """Bytes in C memory (a task's argument, a future's result): copied when small (the quickest way to read
    them), a view of them when large."""
    if length < _VIEW_MIN:
        return ctypes.string_at(address, length) if length else b""
    return memoryview((ctypes.c_char * length).from_address(address)).cast("B")


def _raise_remotely(ctx, exc):
    """Fails the task with exc: its type and message, and the traceback and the pickled exception as detail."""
    tb_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        blob = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as pickling_error:   # the exception cannot travel: say why, with its text
        substitute = pickle.PicklingError("the exception %r raised by the task cannot be pickled: %s"
                                          % (exc, pickling_error))
        blob = pickle.dumps(substitute, protocol=pickle.HIGHEST_PROTOCOL)
    detail = tb_text + DETAIL_MARKER + base64.b64encode(blob).decode("ascii")
    typ = type(exc).__qualname__.encode("utf-8", "replace")
    message = _safe_text(exc).encode("utf-8", "replace")
    return _lib.cf_task_raise_detail(ctx, typ, message, detail.encode("utf-8", "replace"))


def _safe_text(exc):
    try:
        return str(exc)
    except BaseException:
        return "<unprintable %s>" % type(exc).__name__


def _die_unreadable_call(exc):
    """A call that cannot be unpickled here ends the worker, as in concurrent.futures (BrokenProcessPool):
    nothing of the caller's can run in this process."""
    try:
        sys.stderr.write("cfutures worker %d: cannot read the call: %s\n%s"
                         % (os.getpid(), _safe_text(exc), "".join(traceback.format_exception(exc))))
        sys.stderr.flush()
    finally:
        os._exit(1)


@_lib.TASK_FN
def _run_call(ctx, arg, arg_len, _user_data):
    try:
        fn, args, kwargs = pickle.loads(read_bytes(arg, arg_len))
    except BaseException as exc:
        _die_unreadable_call(exc)
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return _raise_remotely(ctx, exc)
    finally:
        fn = args = kwargs = None
    if type(result) is bytes and len(result) >= _RAW_BYTES_MIN:
        return _return_raw_bytes(ctx, result)
    try:
        data = _PICKLED_RESULT + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:
        return _raise_remotely(ctx, exc)
    return _lib.cf_task_return(ctx, data, len(data))


def _return_raw_bytes(ctx, result):
    """A large bytes result goes to the shared memory as it is, without pickling it into a copy first."""
    n = len(result)
    block = _lib.cf_task_return_buffer(ctx, n + 1)
    if not block:
        return _lib.CF_E_TOO_LARGE
    ctypes.memmove(block, _RAW_RESULT, 1)
    ctypes.memmove(block + 1, result, n)
    return _lib.CF_OK


@_lib.TASK_FN
def _run_initializer(ctx, arg, arg_len, _user_data):
    try:
        how, what, authkey = pickle.loads(read_bytes(arg, arg_len))
        if authkey is not None:   # a spawned worker: the caller's, for multiprocessing's managers and proxies
            import multiprocessing
            multiprocessing.current_process().authkey = authkey
        initializer, initargs = _inherited_initializers[what] if how == "inherited" else what
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:
        import logging
        logging.getLogger("concurrent.futures").critical("Exception in initializer:", exc_info=True)
        return _raise_remotely(ctx, exc)
    return _lib.CF_OK


# Fork pools' initializers and their arguments, which a forked worker finds in its copy of this memory: they
# need not be picklable (a multiprocessing.Queue, say, may only be inherited).
_inherited_initializers = {}
_initializer_tokens = itertools.count(1)


def initializer_call(initializer, initargs, start_method):
    """The argument of PYTHON_INITIALIZER for a pool, and the token to forget_initializer once the pool is gone
    (None when nothing was kept)."""
    authkey = None
    if start_method == "spawn":
        import multiprocessing
        authkey = bytes(multiprocessing.current_process().authkey)
    call = (initializer, tuple(initargs)) if initializer is not None else (None, ())
    if start_method == "fork" and initializer is not None:
        token = next(_initializer_tokens)
        _inherited_initializers[token] = call
        return pickle.dumps(("inherited", token, None), protocol=pickle.HIGHEST_PROTOCOL), token
    return pickle.dumps(("pickled", call, authkey), protocol=pickle.HIGHEST_PROTOCOL), None


def forget_initializer(token):
    if token is not None:
        _inherited_initializers.pop(token, None)


def process_chunk(fn, chunk):
    """Runs fn on each argument tuple of a map chunk, in a worker: the chunk's results, in order."""
    return [fn(*args) for args in chunk]


def _register_tasks():
    _lib.check(_lib.cf_task_register(PYTHON_TASK, _run_call, None), "cf_task_register(cfutures.python)")
    _lib.check(_lib.cf_task_register(PYTHON_INITIALIZER, _run_initializer, None),
               "cf_task_register(cfutures.python.initializer)")


# --------------------------------------------------------------------------------------------------------------
# In the caller: the fork hooks, spawn's command line, and reading what a worker sent back


def _c_function(name):
    return ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value


_PYGILSTATE_UNLOCKED = 1   # what PyGILState_Ensure returns on a thread that did not hold the GIL


def _hook_list(*hooks):
    return (_lib.cf_fork_hook * len(hooks))(*[_lib.cf_fork_hook(fn, data) for fn, data in hooks])


def install_fork_hooks():
    """Gives the library CPython's fork protocol, so that forked workers can run Python. The library never
    forks from a thread that holds the GIL (every call into it releases the GIL), so PyGILState_Ensure takes it,
    and PyGILState_Release(UNLOCKED) lets it go again in the parent. In the child, where PyOS_AfterFork_Child
    has made the forking thread the only one, PyEval_SaveThread lets the GIL go but keeps that thread's state:
    it is the interpreter's only one, and the next PyGILState_Ensure (every task call) finds it again. (Deleting
    it, as PyGILState_Release would, leaves the interpreter with no thread state, and CPython 3.11 then fails
    to make a new one: "init_threadstate: thread state already initialized".)"""
    ensure, release = _c_function("PyGILState_Ensure"), _c_function("PyGILState_Release")
    global _hooks
    _hooks = (_hook_list((ensure, None), (_c_function("PyOS_BeforeFork"), None)),
              _hook_list((_c_function("PyOS_AfterFork_Parent"), None), (release, _PYGILSTATE_UNLOCKED)),
              _hook_list((_c_function("PyOS_AfterFork_Child"), None), (_c_function("PyEval_SaveThread"), None)))
    before, parent, child = _hooks
    _lib.check(_lib.cf_set_fork_hooks(before, len(before), parent, len(parent), child, len(child)),
               "cf_set_fork_hooks")


def remove_fork_hooks():
    """At interpreter exit: a fork after it must not call into a finalized interpreter."""
    if _lib.cf_set_fork_hooks is not None:
        _lib.cf_set_fork_hooks(None, 0, None, 0, None, 0)


_hooks = None


def spawn_arguments(libraries):
    """The worker_program and worker_args of a spawn pool: this interpreter, running spawned_main with what a
    new interpreter needs to find the caller's functions (multiprocessing's preparation data) and tasks."""
    import multiprocessing.spawn
    data = multiprocessing.spawn.get_preparation_data("cfutures-worker")
    data.pop("authkey", None)   # (no multiprocessing connections here; and a command line is visible to all)
    data["cfutures_libraries"] = list(libraries)
    encoded = base64.b64encode(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return sys.executable, ["-c", _SPAWN_CODE, package_parent, encoded]


def spawned_main(encoded):
    """The life of a spawned worker interpreter: prepare as multiprocessing's spawn does, then serve tasks."""
    import multiprocessing.spawn
    data = pickle.loads(base64.b64decode(encoded))
    libraries = data.pop("cfutures_libraries", [])
    multiprocessing.spawn.prepare(data)
    from . import _process
    for name in libraries:
        _process.load_library(name)
    _lib.cf_process_worker_entry()   # serves tasks and ends the process
    sys.stderr.write("cfutures: spawned_main ran outside a spawned worker\n")
    os._exit(2)


def load_result(view):
    """The result a worker sent back (bytes, or a memoryview of the C future's bytes)."""
    if len(view) and view[0] == _RAW_RESULT[0]:
        return bytes(view[1:])
    if not len(view) or view[0] != _PICKLED_RESULT[0]:
        raise pickle.UnpicklingError("a Python task's result begins with neither %r nor %r"
                                     % (_PICKLED_RESULT, _RAW_RESULT))
    return pickle.loads(view[1:])


def remote_exception(detail):
    """The exception a Python task raised, from its failure's detail: the task's own exception with the remote
    traceback as __cause__ (as concurrent.futures); None when the detail carries no pickled exception."""
    tb_text, marker, encoded = detail.partition(DETAIL_MARKER)
    if not marker:
        return None
    from concurrent.futures.process import _RemoteTraceback
    exc = pickle.loads(base64.b64decode(encoded))
    exc.__cause__ = _RemoteTraceback('\n"""\n%s"""' % tb_text)
    return exc


_register_tasks()
if _lib.HAVE_PYTHON_WORKERS:
    install_fork_hooks()
