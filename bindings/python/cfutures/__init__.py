"""cfutures: Python's concurrent.futures on libcfutures, the C library (through ctypes, standard library only).

Code written for concurrent.futures runs by changing the import::

    from cfutures import ThreadPoolExecutor, as_completed, wait

ThreadPoolExecutor runs Python callables on the library's worker threads; ProcessPoolExecutor runs C tasks
registered by name (CF_TASK) in worker processes, with bytes in and bytes out. The exceptions are the very classes
of concurrent.futures, so ``except concurrent.futures.CancelledError`` catches ours too.
"""
from ._lib import (BrokenProcessPool, BrokenThreadPool, CancelledError, CFuturesError, InvalidStateError,
                   TaskError, TimeoutError, UnknownTaskError, library_path, version_info)
from concurrent.futures import BrokenExecutor
from ._future import (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, DoneAndNotDoneFutures, Future,
                      as_completed, wait)
from ._thread import Executor, ThreadPoolExecutor
from ._process import ProcessPoolExecutor, load_library

__version__ = "0.1.0"
library_version = "%d.%d.%d" % version_info

__all__ = [
    "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION",
    "BrokenExecutor", "BrokenProcessPool", "BrokenThreadPool", "CancelledError", "InvalidStateError",
    "TimeoutError", "CFuturesError", "TaskError", "UnknownTaskError",
    "DoneAndNotDoneFutures", "Executor", "Future", "ProcessPoolExecutor", "ThreadPoolExecutor",
    "as_completed", "wait", "load_library", "library_path", "library_version",
]
