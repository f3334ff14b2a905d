# SPDX-License-Identifier: MIT
"""MpiPoolExecutor: the process pool's interface over MPI ranks (libcfutures_mpi), as mpi4py.futures'
MPIPoolExecutor.

The program runs under ``mpiexec -n N python3 prog.py``. Creating the executor on rank 0 gives a pool of the
N - 1 other ranks; on every other rank the constructor serves tasks and, when rank 0's pool shuts down, ends the
process (it never returns there). Python calls travel pickled, as in ProcessPoolExecutor, and run in the other
ranks' interpreters, which run the same program (so a function of __main__ is found there too); C tasks
registered by name (CF_TASK, in a library loaded with load_library before the pool is made) run as well.

libcfutures_mpi.so.0 is looked for beside libcfutures (cfutures.library_path()), or where the environment
variable CFUTURES_MPI_LIBRARY says.
"""
from __future__ import annotations

import ctypes
import os
import threading
import weakref

from . import _lib
from . import _worker  # noqa: F401  (registers the task that runs Python calls, in every rank)
from ._process import ProcessPoolExecutor, _keys, load_library
from ._thread import _Handle, _finalize_pool, _live_executors

MPI_SONAME = "libcfutures_mpi.so.0"
CF_MPI_WORLD = 0


class cf_mpi_pool_options(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("mode", ctypes.c_int), ("max_workers", ctypes.c_int),
                ("worker_program", ctypes.c_char_p)]


_mpi = None
_mpi_lock = threading.Lock()


def _mpi_library():
    """The MPI library, loaded once (it finds the libcfutures already loaded by its SONAME)."""
    global _mpi
    with _mpi_lock:
        if _mpi is None:
            beside = os.path.dirname(_lib.library_path)   # empty when libcfutures was found by name
            path = os.environ.get("CFUTURES_MPI_LIBRARY") or os.path.join(beside, MPI_SONAME)
            try:
                lib = ctypes.CDLL(path)
            except OSError as exc:
                raise ImportError("cfutures.MpiPoolExecutor needs %s (built where an MPI is installed): %s"
                                  % (MPI_SONAME, exc)) from None
            lib.cf_mpi_pool_options_init.argtypes = [ctypes.POINTER(cf_mpi_pool_options)]
            lib.cf_mpi_pool_options_init.restype = None
            lib.cf_mpi_pool_new.argtypes = [ctypes.POINTER(cf_mpi_pool_options), ctypes.POINTER(ctypes.c_void_p)]
            lib.cf_mpi_pool_new.restype = ctypes.c_int
            _mpi = lib
        return _mpi


class MpiPoolExecutor(ProcessPoolExecutor):
    """concurrent.futures' Executor over MPI ranks (world mode: the ranks of mpiexec).

    max_workers: None (every rank but 0), or a number from 1 to N - 1 that is only checked (all of them serve).
    library: a shared library of C tasks to load first (see load_library); every rank loads it, since every rank
    runs this same code.

    submit, submit_with (no time limits), map (with chunksize), shutdown and the futures are those of
    ProcessPoolExecutor. An MPI error breaks the pool (BrokenProcessPool). A rank that dies ends the whole MPI job
    (mpiexec's rule), the caller included."""

    def __init__(self, max_workers=None, *, library=None):
        if max_workers is not None and max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        mpi = _mpi_library()
        if library is not None:
            load_library(library)
        self._start_method = "mpi"
        self._open_for_submits()
        self._initializer_token = None
        self._cancel_running = False
        self._on_worker_death = "break"
        opts = cf_mpi_pool_options()
        mpi.cf_mpi_pool_options_init(ctypes.byref(opts))
        opts.mode = CF_MPI_WORLD
        opts.max_workers = max_workers or 0
        out = ctypes.c_void_p()
        # On ranks other than 0 this serves Python calls (the GIL is let go while it waits) and ends the process.
        _lib.check(mpi.cf_mpi_pool_new(ctypes.byref(opts), ctypes.byref(out)), "MpiPoolExecutor: cf_mpi_pool_new")
        self._pool_key = -next(_keys)
        self._handle = _Handle(out.value, self._pool_key)
        weakref.finalize(self, _finalize_pool, self._handle, self._pool_key)
        _live_executors.add(self)
        self._max_workers = self.stats().workers

    def submit(self, fn, /, *args, **kwargs):
        """As ProcessPoolExecutor.submit; a C task takes no time_limit here."""
        if kwargs.get("time_limit") is not None and isinstance(fn, (str, bytes)):
            raise ValueError("MpiPoolExecutor has no time limits for tasks")
        return super().submit(fn, *args, **kwargs)

    def terminate_workers(self):
        raise ValueError("MpiPoolExecutor cannot signal MPI ranks: use shutdown()")

    kill_workers = terminate_workers
