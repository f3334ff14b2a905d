# SPDX-License-Identifier: MIT
"""cfutures: Python's concurrent.futures on libcfutures, the C library (through ctypes, standard library only).

Code written for concurrent.futures runs by changing the import::

    from cfutures import ThreadPoolExecutor, as_completed, wait

ThreadPoolExecutor runs Python callables on the library's worker threads; ProcessPoolExecutor runs C tasks
registered by name (CF_TASK) in worker processes, with bytes in and bytes out. The exceptions are the very classes
of concurrent.futures, so ``except concurrent.futures.CancelledError`` catches ours too, and Future is a
concurrent.futures.Future: asyncio.wrap_future, loop.run_in_executor and the standard library's wait and
as_completed take it (and cfutures.wait / as_completed take the standard library's futures).

Beyond concurrent.futures: per-task time limits (``submit_with(SubmitOptions(time_limit=...), ...)``, and
``ProcessPoolExecutor.submit(..., time_limit=...)``), cancelling running tasks (``cancel_running=True``),
process pools that survive a dead worker (``on_worker_death="replace"``), ``executor.stats()``, and the
library's log as records of the logger "cfutures".
"""
from ._lib import (BrokenProcessPool, BrokenThreadPool, CancelledError, CFuturesError, DeadlockError,
                   InvalidStateError,
                   TaskError, TimeLimitError, TimeoutError, UnknownTaskError, WorkerDiedError, library_path,
                   version_info)
from concurrent.futures import BrokenExecutor
from ._future import (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, DoneAndNotDoneFutures, Future,
                      as_completed, wait, when_all, when_any)
from ._options import ExecutorStats, SubmitOptions
from ._thread import Executor, ThreadPoolExecutor, cancel_requested
from ._process import ProcessPoolExecutor, load_library
from ._mpi import MpiPoolExecutor   # (loads libcfutures_mpi only when one is made)
from ._log import use_python_logging   # (importing it routes the library's log to the logger "cfutures")

__version__ = "0.1.0"
library_version = "%d.%d.%d" % version_info

__all__ = [
    "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION",
    "BrokenExecutor", "BrokenProcessPool", "BrokenThreadPool", "CancelledError", "InvalidStateError",
    "TimeoutError", "CFuturesError", "DeadlockError", "TaskError", "UnknownTaskError", "TimeLimitError", "WorkerDiedError",
    "DoneAndNotDoneFutures", "Executor", "Future", "MpiPoolExecutor", "ProcessPoolExecutor", "ThreadPoolExecutor",
    "ExecutorStats", "SubmitOptions", "cancel_requested", "use_python_logging",
    "as_completed", "wait", "when_all", "when_any", "load_library", "library_path", "library_version",
]
