# SPDX-License-Identifier: MIT
"""The library's log (cf_set_log_handler) as records of the Python logger "cfutures".

Installed when cfutures is imported: every message libcfutures would write to stderr becomes a record of the
logger "cfutures", at the level the library gives (its levels are Python's numbers: DEBUG 10, INFO 20, WARNING
30, ERROR 40). With logging not configured, Python's last-resort handler prints warnings and errors to stderr,
as the library does by itself. ``use_python_logging(False)`` gives the library its own stderr output back.

The library calls the handler on any thread (a pool's supervisor, a worker thread); ctypes takes the GIL for the
call. Two places must not reach the logging module:
  - a process forked by the library (a fork or forkserver worker) inherits the handler: there the message goes
    to stderr with os.write, as the library's default would (the logging module's locks may be held by threads
    that do not exist in the child);
  - interpreter exit: the default handler is put back (atexit) once the pools are shut down, before the
    interpreter is finalized, so that no library thread calls into a finalized interpreter.
"""
from __future__ import annotations

import atexit
import ctypes
import logging
import os
import sys
import threading

from . import _lib

LOGGER = logging.getLogger("cfutures")

_owner_pid = os.getpid()
_lock = threading.Lock()
_enabled = False


def _on_library_log(level, message, _user_data):
    try:
        if sys.is_finalizing():
            return
        if os.getpid() != _owner_pid:
            # A forked worker: no logging module here (see the module docstring); the library's default instead.
            if level >= _lib.CF_LOG_WARNING:
                os.write(2, b"cfutures: " + (message or b"") + b"\n")
            return
        if LOGGER.isEnabledFor(level):
            ident = threading.get_ident()
            foreign = ident not in threading._active   # a library thread (a pool's supervisor)
            LOGGER.log(level, (message or b"").decode("utf-8", "replace"))
            if foreign:
                _forget_dummy_thread(ident)
    except BaseException:  # never into C
        pass


def _forget_dummy_thread(ident):
    """A log record names its thread, which makes the threading module adopt a library thread as a _DummyThread
    that it would list for ever (threading.enumerate, the test suites' dangling-thread checks): let it go."""
    with threading._active_limbo_lock:
        if isinstance(threading._active.get(ident), threading._DummyThread):
            del threading._active[ident]


# Kept for the life of the process: the library may still be calling a handler after it was replaced.
_HANDLER = _lib.LOG_FN(_on_library_log)
_HANDLER_PTR = ctypes.cast(_HANDLER, ctypes.c_void_p)


def use_python_logging(enabled=True):
    """Routes the library's log to the logger "cfutures" (enabled, the default since import) or back to the
    library's own output (stderr, warnings and errors only). The setting is process-wide. Returns the previous
    setting. A no-op returning False with a library that has no log handler (older than its C ABI's
    cf_set_log_handler)."""
    global _enabled
    if _lib.cf_set_log_handler is None:
        return False
    with _lock:
        previous, _enabled = _enabled, bool(enabled)
        _lib.cf_set_log_handler(_HANDLER_PTR if _enabled else None, None)
    return previous


def _at_exit():
    # atexit runs after threading's exit hooks, which shut the pools down (see _thread._python_exit).
    if _enabled:
        use_python_logging(False)


def _after_fork_in_child():
    # A child made by os.fork() (multiprocessing's fork, ...) is a Python process of its own: it logs through its
    # own logging module.
    global _owner_pid
    _owner_pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
use_python_logging(True)
