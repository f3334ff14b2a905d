# SPDX-License-Identifier: MIT
"""Per-task options (SubmitOptions, for submit_with) and executor counters (ExecutorStats, from stats())."""
from __future__ import annotations

import ctypes
import dataclasses
import math
import numbers

from . import _lib


def _check_seconds(value, what):
    """A float number of seconds >= 0 (inf allowed), or None; ValueError/TypeError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a number of seconds or None, not %s" % (what, type(value).__name__))
    value = float(value)
    if math.isnan(value):
        raise ValueError("%s is NaN" % what)
    if value < 0:
        raise ValueError("%s must be >= 0 (None: no limit), not %r" % (what, value))
    return value


@dataclasses.dataclass(frozen=True)
class SubmitOptions:
    """Options for one task, given to ``executor.submit_with(options, fn, ...)``.

    time_limit: seconds the task may run, counted from when it starts running (not from submit). None or
    ``math.inf``: no limit. Past it the future fails with ``cfutures.TimeLimitError`` (a ``TimeoutError``): a
    process pool kills the worker running it (a new one takes its place); a thread pool cannot stop a thread, so
    the task is asked to stop (``cfutures.cancel_requested()`` turns true), runs on, and its late result or
    exception is discarded.
    """

    time_limit: float = None

    def __post_init__(self):
        object.__setattr__(self, "time_limit", _check_seconds(self.time_limit, "time_limit"))

    def _c_options(self):
        """The cf_submit_options for the library; None when every option is the default (plain cf_submit)."""
        if self.time_limit is None or self.time_limit == math.inf:
            return None
        _lib.require("a per-task time limit", _lib.HAVE_SUBMIT_OPTIONS)
        opts = _lib.new_options(_lib.cf_submit_options, _lib.cf_submit_options_init)
        opts.time_limit = self.time_limit
        return opts


DEFAULT_SUBMIT_OPTIONS = SubmitOptions()


def submit_options(options):
    """options (a SubmitOptions or None) checked; the SubmitOptions to use."""
    if options is None:
        return DEFAULT_SUBMIT_OPTIONS
    if not isinstance(options, SubmitOptions):
        raise TypeError("submit_with: options must be a cfutures.SubmitOptions (or None), not %s"
                        % type(options).__name__)
    return options


@dataclasses.dataclass(frozen=True)
class ExecutorStats:
    """A snapshot of an executor's counters (``executor.stats()``).

    workers / idle_workers: threads or worker processes alive, and of those the ones waiting for work; queued:
    submitted, not running yet; running; completed (with a result), failed (with an exception: the task's, a time
    limit, a dead worker, a broken pool), cancelled; worker_deaths: worker processes that died unasked (a crash,
    an exit, a signal from outside); workers_replaced: workers started in place of dead, killed or retired ones.

    Each counter is read on its own, so a snapshot taken under load may be off by the tasks that moved meanwhile;
    once every future is done, ``completed + failed + cancelled`` is the number of tasks submitted (a
    ``ProcessPoolExecutor.map`` chunk counts as one task).
    """

    workers: int
    idle_workers: int
    queued: int
    running: int
    completed: int
    failed: int
    cancelled: int
    worker_deaths: int
    workers_replaced: int

    @property
    def finished(self):
        """completed + failed + cancelled: the tasks that are over."""
        return self.completed + self.failed + self.cancelled


_STATS_FIELDS = [f.name for f in dataclasses.fields(ExecutorStats)]


def read_stats(handle, what):
    """ExecutorStats of a live cf_executor handle."""
    _lib.require("executor stats", _lib.cf_executor_stats_get is not None)
    out = _lib.cf_executor_stats()
    out.struct_size = ctypes.sizeof(out)
    _lib.check(_lib.cf_executor_stats_get(handle, ctypes.byref(out)), what)
    return ExecutorStats(**{name: int(getattr(out, name)) for name in _STATS_FIELDS})
