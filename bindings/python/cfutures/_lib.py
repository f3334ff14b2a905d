# SPDX-License-Identifier: MIT
"""Loading libcfutures with ctypes: the C types, the function prototypes and the status -> exception mapping.

Internal module. The library is found, in this order, through
  1. the environment variable CFUTURES_LIBRARY (a path or a name for dlopen),
  2. ``pkg-config --variable=libdir cfutures`` (libcfutures.so.0 in that directory),
  3. ctypes.util.find_library("cfutures"), then plain "libcfutures.so.0" (the dynamic loader's search path).

Every function is bound through ctypes.CDLL, so every call releases the GIL while it runs: a call that blocks
(a result, a wait, a shutdown) lets the library's worker threads call back into Python meanwhile.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
# The exception classes are those of concurrent.futures itself (TimeoutError is the builtin one from 3.11).
from concurrent.futures import CancelledError, InvalidStateError, TimeoutError
from concurrent.futures.thread import BrokenThreadPool
from concurrent.futures.process import BrokenProcessPool

SONAME = "libcfutures.so.0"
REQUIRED_MAJOR = 0
REQUIRED_VERSION = (0, 1, 0)

# --------------------------------------------------------------------------------------------------------------
# Status codes (cf_status) and enums

CF_OK = 0
CF_DONE = 1
CF_E_INVALID_ARGUMENT = -1
CF_E_NO_MEMORY = -2
CF_E_TIMEOUT = -3
CF_E_CANCELLED = -4
CF_E_SHUTDOWN = -5
CF_E_BROKEN_THREAD_POOL = -6
CF_E_BROKEN_PROCESS_POOL = -7
CF_E_INVALID_STATE = -8
CF_E_TASK_FAILED = -9
CF_E_UNKNOWN_TASK = -10
CF_E_DEADLOCK = -11
CF_E_SYSTEM = -12
CF_E_TOO_LARGE = -13
CF_E_TIME_LIMIT = -14        # added after 0.1.0: the task ran past its time limit
CF_E_WORKER_DIED = -15       # added after 0.1.0: its worker died and was replaced (CF_WORKER_DEATH_REPLACE)

CF_PENDING, CF_RUNNING, CF_CANCELLED, CF_FINISHED = 0, 1, 2, 3
CF_ALL_COMPLETED, CF_FIRST_COMPLETED, CF_FIRST_EXCEPTION = 0, 1, 2
CF_START_DEFAULT, CF_START_FORK, CF_START_FORKSERVER, CF_START_SPAWN = 0, 1, 2, 3
CF_WORKER_DEATH_BREAK, CF_WORKER_DEATH_REPLACE = 0, 1
CF_LOG_DEBUG, CF_LOG_INFO, CF_LOG_WARNING, CF_LOG_ERROR = 10, 20, 30, 40
CF_FOREVER = -1.0

# --------------------------------------------------------------------------------------------------------------
# C types. Handles are opaque: they travel as c_void_p (a Python int, or None for NULL).

c_size_t = ctypes.c_size_t
c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_double = ctypes.c_double
c_uint64 = ctypes.c_uint64


class cf_slice(ctypes.Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class cf_error(ctypes.Structure):
    _fields_ = [("status", c_int), ("type", c_char_p), ("message", c_char_p), ("detail", c_char_p)]


# int (*cf_task_fn)(cf_task_ctx *ctx, const void *arg, size_t arg_len, void *user_data)
TASK_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
# void (*cf_done_fn)(cf_future *f, void *user_data)
DONE_FN = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)
# int (*cf_arg_source)(void *state, cf_slice *next)
ARG_SOURCE = ctypes.CFUNCTYPE(c_int, c_void_p, ctypes.POINTER(cf_slice))
# void (*cf_log_fn)(int level, const char *message, void *user_data)
LOG_FN = ctypes.CFUNCTYPE(None, c_int, c_char_p, c_void_p)


class cf_thread_pool_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("max_workers", c_size_t),
        ("thread_name_prefix", c_char_p),
        ("initializer", TASK_FN),
        ("initarg", c_void_p),
        ("initarg_len", c_size_t),
        ("initializer_data", c_void_p),
        # Added after 0.1.0 (a library that predates a field reports a struct_size that ends before it).
        ("cancel_running", c_int),
    ]


class cf_process_pool_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("max_workers", c_size_t),
        ("start_method", c_int),
        ("max_tasks_per_child", c_size_t),
        ("initializer", c_char_p),
        ("initarg", c_void_p),
        ("initarg_len", c_size_t),
        ("shared_memory_bytes", c_size_t),
        ("worker_program", c_char_p),
        ("worker_start_timeout", c_double),
        ("cancel_running", c_int),
        ("on_worker_death", c_int),          # cf_worker_death
        ("max_restarts", c_size_t),
        ("restart_period", c_double),
        ("worker_args", c_void_p),           # const char *const *: a spawned worker's argv[1...], NULL-ended
    ]


class cf_fork_hook(ctypes.Structure):
    _fields_ = [
        ("fn", c_void_p),
        ("data", c_void_p),
    ]


class cf_submit_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("time_limit", c_double),
        ("release_user_data", c_void_p),
    ]


class cf_executor_stats(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("workers", c_uint64),
        ("idle_workers", c_uint64),
        ("queued", c_uint64),
        ("running", c_uint64),
        ("completed", c_uint64),
        ("failed", c_uint64),
        ("cancelled", c_uint64),
        ("worker_deaths", c_uint64),
        ("workers_replaced", c_uint64),
        ("max_workers", c_uint64),
        ("workers_started", c_uint64),
    ]


class cf_map_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("timeout", ctypes.c_double),
        ("chunksize", c_size_t),
        ("buffersize", c_size_t),
        ("unordered", c_int),
    ]


# A newer library may have a longer options struct, which its *_options_init fills whole: the structs are laid
# over a buffer that leaves room for that, and the library's own struct_size is kept.
_OPTIONS_ROOM = 1024


def new_options(struct_type, init):
    buf = ctypes.create_string_buffer(max(_OPTIONS_ROOM, ctypes.sizeof(struct_type)))
    opts = struct_type.from_buffer(buf)
    init(ctypes.byref(opts))
    opts._keepalive = [buf]  # the buffer must outlive the view
    return opts


def has_field(opts, name):
    """True when the library that initialized opts (new_options) knows the field: its struct_size covers it."""
    field = getattr(type(opts), name)
    return opts.struct_size >= field.offset + field.size


# --------------------------------------------------------------------------------------------------------------
# Finding and loading the library


def _pkg_config_libdir():
    try:
        proc = subprocess.run(["pkg-config", "--variable=libdir", "cfutures"], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, "pkg-config could not run (%s)" % exc
    libdir = proc.stdout.strip()
    if proc.returncode != 0 or not libdir:
        return None, "pkg-config --variable=libdir cfutures failed: %s" % (proc.stderr.strip() or "no libdir")
    return os.path.normpath(libdir), None


def _load():
    tried = []
    candidates = []
    override = os.environ.get("CFUTURES_LIBRARY")
    if override:
        candidates.append(override)
    else:
        libdir, why = _pkg_config_libdir()
        if libdir:
            candidates.append(os.path.join(libdir, SONAME))
        else:
            tried.append(why)
        found = ctypes.util.find_library("cfutures")
        if found:
            candidates.append(found)
        candidates.append(SONAME)
    for name in candidates:
        try:
            return ctypes.CDLL(name), name
        except OSError as exc:
            tried.append("%s: %s" % (name, exc))
    raise ImportError(
        "cfutures: cannot load the libcfutures C library (%s). Install libcfutures and make "
        "`pkg-config --variable=libdir cfutures` find it (set PKG_CONFIG_PATH, and LD_LIBRARY_PATH for a "
        "non-system prefix), or set CFUTURES_LIBRARY to the path of %s." % ("; ".join(tried), SONAME),
        name="cfutures")


lib, library_path = _load()


# The same library, for the few calls that keep the GIL while they run (see cf_submit_keeping_gil).
lib_keeping_gil = ctypes.PyDLL(library_path, handle=lib._handle)


def _proto(name, restype, *argtypes, dll=None):
    try:
        fn = getattr(dll or lib, name)
    except AttributeError:
        raise ImportError("cfutures: %s (version %s) has no %s: it is not a complete libcfutures %s build"
                          % (library_path, lib.cf_version_string and _version_text(), name,
                             ".".join(map(str, REQUIRED_VERSION))), name="cfutures") from None
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


def _optional_proto(name, restype, *argtypes):
    """As _proto, for a function that an older 0.x library may lack: None then."""
    fn = getattr(lib, name, None)
    if fn is None:
        return None
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


def _version_text():
    try:
        lib.cf_version_string.restype = c_char_p
        return lib.cf_version_string().decode()
    except Exception:
        return "unknown"


P = ctypes.POINTER
cf_version = _proto("cf_version", ctypes.c_uint)
cf_version_string = _proto("cf_version_string", c_char_p)
cf_status_name = _proto("cf_status_name", c_char_p, c_int)
cf_strerror = _proto("cf_strerror", c_char_p, c_int)
cf_last_error = _proto("cf_last_error", c_char_p)

cf_future_new = _proto("cf_future_new", c_int, P(c_void_p))
cf_future_retain = _proto("cf_future_retain", None, c_void_p)
cf_future_release = _proto("cf_future_release", None, c_void_p)
cf_future_get_state = _proto("cf_future_get_state", c_int, c_void_p)
cf_future_done = _proto("cf_future_done", c_int, c_void_p)
cf_future_running = _proto("cf_future_running", c_int, c_void_p)
cf_future_cancelled = _proto("cf_future_cancelled", c_int, c_void_p)
cf_future_cancel = _proto("cf_future_cancel", c_int, c_void_p)
cf_future_result = _proto("cf_future_result", c_int, c_void_p, ctypes.c_double, P(cf_slice))
cf_future_exception = _proto("cf_future_exception", c_int, c_void_p, ctypes.c_double, P(cf_error))
cf_future_add_done_callback = _proto("cf_future_add_done_callback", c_int, c_void_p, DONE_FN, c_void_p)
cf_future_set_running_or_notify_cancel = _proto("cf_future_set_running_or_notify_cancel", c_int, c_void_p)
cf_future_set_result = _proto("cf_future_set_result", c_int, c_void_p, c_void_p, c_size_t)
cf_future_set_exception = _proto("cf_future_set_exception", c_int, c_void_p, c_char_p, c_char_p)

cf_wait = _proto("cf_wait", c_int, P(c_void_p), c_size_t, ctypes.c_double, c_int, P(ctypes.c_ubyte), P(c_size_t))
cf_as_completed = _proto("cf_as_completed", c_int, P(c_void_p), c_size_t, ctypes.c_double, P(c_void_p))
cf_as_completed_next = _proto("cf_as_completed_next", c_int, c_void_p, P(c_void_p))
cf_as_completed_free = _proto("cf_as_completed_free", None, c_void_p)

cf_task_return = _proto("cf_task_return", c_int, c_void_p, c_void_p, c_size_t)
cf_task_return_buffer = _proto("cf_task_return_buffer", c_void_p, c_void_p, c_size_t)
cf_task_raise = _proto("cf_task_raise", c_int, c_void_p, c_char_p, c_char_p)
cf_task_cancel_requested = _proto("cf_task_cancel_requested", c_int, c_void_p)

cf_thread_pool_options_init = _proto("cf_thread_pool_options_init", None, P(cf_thread_pool_options))
cf_process_pool_options_init = _proto("cf_process_pool_options_init", None, P(cf_process_pool_options))
cf_thread_pool_new = _proto("cf_thread_pool_new", c_int, P(cf_thread_pool_options), P(c_void_p))
cf_process_pool_new = _proto("cf_process_pool_new", c_int, P(cf_process_pool_options), P(c_void_p))
cf_submit = _proto("cf_submit", c_int, c_void_p, TASK_FN, c_void_p, c_void_p, c_size_t, P(c_void_p))
# A thread pool's submit never waits (it queues the task, or starts a thread for it) and calls no Python: it keeps
# the GIL, as CPython's own submit does. Letting it go would hand it, for every task, to the worker thread that the
# submit has just woken, and back: two thread switches a task.
cf_submit_keeping_gil = _proto("cf_submit", c_int, c_void_p, TASK_FN, c_void_p, c_void_p, c_size_t, P(c_void_p),
                               dll=lib_keeping_gil)
cf_submit_named = _proto("cf_submit_named", c_int, c_void_p, c_char_p, c_void_p, c_size_t, P(c_void_p))
cf_executor_shutdown = _proto("cf_executor_shutdown", c_int, c_void_p, c_int, c_int)
cf_executor_terminate_workers = _proto("cf_executor_terminate_workers", c_int, c_void_p)
cf_executor_kill_workers = _proto("cf_executor_kill_workers", c_int, c_void_p)
cf_executor_free = _proto("cf_executor_free", None, c_void_p)

# map by task name (newer than 0.1.0: without it ProcessPoolExecutor.map submits one task per item).
cf_map_options_init = _optional_proto("cf_map_options_init", None, P(cf_map_options))
cf_map_named_source = _optional_proto("cf_map_named_source", c_int, c_void_p, c_char_p, ARG_SOURCE, c_void_p,
                                      P(cf_map_options), P(c_void_p))
cf_map_next = _optional_proto("cf_map_next", c_int, c_void_p, P(cf_slice))
cf_map_error = _optional_proto("cf_map_error", c_int, c_void_p, P(cf_error))
cf_map_free = _optional_proto("cf_map_free", None, c_void_p)
HAVE_MAP_NAMED = None not in (cf_map_options_init, cf_map_named_source, cf_map_next, cf_map_error, cf_map_free)

# Added after 0.1.0: per-task options (time limits), executor counters and the log handler. With an older library
# these are None, and the features that need them raise NotImplementedError (see require()).
cf_submit_options_init = _optional_proto("cf_submit_options_init", None, P(cf_submit_options))
cf_submit_ex = _optional_proto("cf_submit_ex", c_int, c_void_p, TASK_FN, c_void_p, c_void_p, c_size_t,
                               P(cf_submit_options), P(c_void_p))
cf_submit_named_ex = _optional_proto("cf_submit_named_ex", c_int, c_void_p, c_char_p, c_void_p, c_size_t,
                                     P(cf_submit_options), P(c_void_p))
cf_executor_stats_get = _optional_proto("cf_executor_stats_get", c_int, c_void_p, P(cf_executor_stats))
# The handler travels as a plain pointer (a LOG_FN cast to c_void_p), so that None passes NULL.
cf_set_log_handler = _optional_proto("cf_set_log_handler", None, c_void_p, c_void_p)
HAVE_SUBMIT_OPTIONS = None not in (cf_submit_options_init, cf_submit_ex, cf_submit_named_ex)
# An argument in parts (a large pickled call), copied straight into a process pool's shared memory.
cf_submit_named_parts = _optional_proto("cf_submit_named_parts", c_int, c_void_p, c_char_p, P(cf_slice), c_size_t,
                                        P(cf_submit_options), P(c_void_p))
# Python functions in process pools (cfutures._worker).
cf_task_register = _proto("cf_task_register", c_int, c_char_p, TASK_FN, c_void_p)
cf_process_worker_entry = _proto("cf_process_worker_entry", c_int)
cf_task_raise_detail = _optional_proto("cf_task_raise_detail", c_int, c_void_p, c_char_p, c_char_p, c_char_p)
cf_set_fork_hooks = _optional_proto("cf_set_fork_hooks", c_int, P(cf_fork_hook), c_size_t, P(cf_fork_hook), c_size_t,
                                    P(cf_fork_hook), c_size_t)
HAVE_PYTHON_WORKERS = None not in (cf_task_raise_detail, cf_set_fork_hooks)

_version = cf_version()
version_info = (_version >> 16, (_version >> 8) & 0xFF, _version & 0xFF)
if version_info[0] != REQUIRED_MAJOR or version_info < REQUIRED_VERSION:
    raise ImportError("cfutures: %s is version %s; this binding needs %d.x at least %s"
                      % (library_path, cf_version_string().decode(), REQUIRED_MAJOR,
                         ".".join(map(str, REQUIRED_VERSION))), name="cfutures")

# --------------------------------------------------------------------------------------------------------------
# Errors


class CFuturesError(Exception):
    """A libcfutures failure with no concurrent.futures counterpart.

    Attributes: ``status`` (the negative CF_E_* code), ``status_name`` ("CF_E_SYSTEM"), ``library_message`` (the
    library's text, from cf_last_error or the future's cf_error) and ``what`` (the operation that failed).
    """


class UnknownTaskError(CFuturesError, LookupError):
    """A task name that is not registered (CF_E_UNKNOWN_TASK)."""


class TaskError(CFuturesError):
    """A task in a process pool failed (cf_task_raise, or a non-zero return).

    ``type`` is the type name the task gave ("ValueError"), ``message`` its message and ``detail`` where it
    happened (task name, worker pid), as the library reports them.
    """

    def __init__(self, type, message, detail="", status=CF_E_TASK_FAILED):  # noqa: A002 - the C field's name
        text = "%s: %s" % (type, message) if message else type
        if detail:
            text += " (%s)" % detail
        super().__init__(text)
        self.type = type
        self.message = message
        self.detail = detail
        self.status = status
        self.status_name = status_name(status)
        self.library_message = text
        self.what = "task"


def status_name(status):
    return cf_status_name(status).decode()


def last_error():
    return cf_last_error().decode("utf-8", "replace")


_SHUTDOWN_MESSAGE = "cannot schedule new futures after shutdown"

class TimeLimitError(TimeoutError):
    """A task ran past its time limit (CF_E_TIME_LIMIT). A TimeoutError, so ``except TimeoutError`` catches it;
    unlike the TimeoutError of ``result(timeout)``, the task itself is over: its future is done and failed.

    In a process pool the worker that ran it was killed (a new one takes its place); in a thread pool the thread
    cannot be stopped: the task was asked to stop (``cfutures.cancel_requested()``) and its late result is
    discarded. Carries ``status``, ``status_name``, ``library_message``, ``type`` and ``detail``."""


class DeadlockError(CFuturesError, RuntimeError):
    """A wait that could never end, refused (CF_E_DEADLOCK): a task waiting for its own future, tasks waiting for
    each other's futures, or every worker of a pool waiting for work queued behind it. The future waited for is
    not touched: it is the waiting task that must give up (or wait with a timeout)."""


class WorkerDiedError(CFuturesError):
    """The worker process running the task died (a crash, an exit, a signal from outside) and the pool, created
    with ``on_worker_death="replace"``, replaced it (CF_E_WORKER_DIED). Only this task failed; the pool goes on."""


def require(feature, available):
    """Raises NotImplementedError when the loaded library lacks what a feature needs."""
    if not available:
        raise NotImplementedError("cfutures: %s needs a newer libcfutures than %s (version %s)"
                                  % (feature, library_path, _version_text()))


# The class make_error raises, with the full message, for each status not handled on its own.
_ERROR_CLASSES = {
    CF_E_INVALID_STATE: InvalidStateError,
    CF_E_BROKEN_THREAD_POOL: BrokenThreadPool,
    CF_E_BROKEN_PROCESS_POOL: BrokenProcessPool,
    CF_E_INVALID_ARGUMENT: ValueError,
    CF_E_NO_MEMORY: MemoryError,
    CF_E_UNKNOWN_TASK: UnknownTaskError,
    CF_E_TIME_LIMIT: TimeLimitError,
    CF_E_WORKER_DIED: WorkerDiedError,
    CF_E_DEADLOCK: DeadlockError,
}


def make_error(status, what, message=None):
    """The exception for a failed call: the concurrent.futures class where there is one, with ``status``,
    ``status_name``, ``library_message`` and ``what`` attached. Reads cf_last_error unless message is given, so
    call it right after the failing call, on the same thread."""
    lib_msg = last_error() if message is None else message
    name = status_name(status)
    full = "%s: %s (%s)" % (what, lib_msg or cf_strerror(status).decode(), name)
    if status == CF_E_TIMEOUT:
        exc = TimeoutError()
    elif status == CF_E_CANCELLED:
        exc = CancelledError()
    elif status == CF_E_SHUTDOWN:
        exc = RuntimeError(_SHUTDOWN_MESSAGE)
    else:
        exc = _ERROR_CLASSES.get(status, CFuturesError)(full)
    exc.status = status
    exc.status_name = name
    exc.library_message = lib_msg
    exc.what = what
    return exc


def check(status, what):
    """Raises make_error(status, what) for a negative status; returns the status otherwise."""
    if status < 0:
        raise make_error(status, what)
    return status


def as_buffer(data, what):
    """(pointer, length, keepalive) for a bytes-like object, for a call that copies it."""
    if isinstance(data, str):
        raise TypeError("%s: a task argument is bytes, not str (encode it)" % what)
    if not isinstance(data, bytes):
        try:
            data = bytes(memoryview(data))
        except TypeError:
            raise TypeError("%s: a task argument must be bytes-like, not %s" % (what, type(data).__name__)) \
                from None
    return ctypes.cast(ctypes.c_char_p(data), c_void_p), len(data), data
