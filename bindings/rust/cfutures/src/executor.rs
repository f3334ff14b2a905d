// SPDX-License-Identifier: MIT
//! What both pools share: the owned `cf_executor` handle, byte-string submits, `cf_map`, per-task options and
//! the executor's counters.

use crate::error::{check, from_cf_error, last_error, Error, Result};
use crate::future::{bytes_of, empty_error, Future, Value};
use crate::task::{registered_task, TaskFn};
use crate::util::{c_string, seconds};
use cfutures_sys as sys;
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::ptr::{self, NonNull};
use std::time::Duration;

/// An owned executor handle, freed (after a waiting shutdown) in `Drop`.
pub(crate) struct RawExecutor(NonNull<sys::cf_executor>);

// SAFETY: every cf_executor call is thread-safe; the one that is not (cf_executor_free while others use the
// handle) runs in Drop, when no borrow is left.
unsafe impl Send for RawExecutor {}
// SAFETY: as above.
unsafe impl Sync for RawExecutor {}

impl RawExecutor {
    /// # Safety
    /// `raw` is a valid executor whose ownership the caller gives away.
    pub(crate) unsafe fn from_raw(raw: *mut sys::cf_executor) -> RawExecutor {
        RawExecutor(NonNull::new(raw).expect("libcfutures returned CF_OK and a NULL executor"))
    }

    pub(crate) fn as_raw(&self) -> *mut sys::cf_executor {
        self.0.as_ptr()
    }

    /// `cf_submit_named` (options `None`) or `cf_submit_named_ex`.
    pub(crate) fn submit_named(
        &self,
        task: &str,
        arg: &[u8],
        options: Option<&SubmitOptions>,
    ) -> Result<Future<Vec<u8>>> {
        let name = c_string(task, "submit_named: task")?;
        let o = options.map(SubmitOptions::raw);
        let mut out = ptr::null_mut();
        // SAFETY: valid handle, string, bytes and options (all copied before the call returns).
        unsafe {
            let rc = sys::cf_submit_named_ex(
                self.as_raw(),
                name.as_ptr(),
                arg.as_ptr() as *const c_void,
                arg.len(),
                o.as_ref().map_or(ptr::null(), |o| o as *const sys::cf_submit_options),
                &mut out,
            );
            check(rc, &format!("submit_named({task:?})"))?;
            Ok(Future::from_raw(out, Value::Bytes(<[u8]>::to_vec)))
        }
    }

    /// `cf_submit` (options `None`) or `cf_submit_ex` of a byte-string task function.
    pub(crate) fn submit_task(
        &self,
        task: TaskFn,
        arg: &[u8],
        options: Option<&SubmitOptions>,
    ) -> Result<Future<Vec<u8>>> {
        let o = options.map(SubmitOptions::raw);
        let mut out = ptr::null_mut();
        // SAFETY: valid handle, bytes and options; user data NULL, as register_task registers it.
        unsafe {
            let rc = sys::cf_submit_ex(
                self.as_raw(),
                Some(task),
                ptr::null_mut(),
                arg.as_ptr() as *const c_void,
                arg.len(),
                o.as_ref().map_or(ptr::null(), |o| o as *const sys::cf_submit_options),
                &mut out,
            );
            check(rc, "submit_task")?;
            Ok(Future::from_raw(out, Value::Bytes(<[u8]>::to_vec)))
        }
    }

    /// `cf_executor_stats_get`.
    pub(crate) fn stats(&self) -> Result<Stats> {
        let mut s = sys::cf_executor_stats {
            struct_size: std::mem::size_of::<sys::cf_executor_stats>(),
            ..sys::cf_executor_stats::default()
        };
        // SAFETY: valid handle and out-pointer, its struct_size set to its size.
        check(unsafe { sys::cf_executor_stats_get(self.as_raw(), &mut s) }, "stats")?;
        Ok(Stats {
            workers: s.workers,
            idle_workers: s.idle_workers,
            queued: s.queued,
            running: s.running,
            completed: s.completed,
            failed: s.failed,
            cancelled: s.cancelled,
            worker_deaths: s.worker_deaths,
            workers_replaced: s.workers_replaced,
        })
    }

    pub(crate) fn shutdown(&self, wait: bool, cancel_futures: bool) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::cf_executor_shutdown(self.as_raw(), wait as i32, cancel_futures as i32) }, "shutdown")
            .map(drop)
    }

    pub(crate) fn map_task<I>(&self, task: TaskFn, inputs: I, options: &MapOptions) -> Result<ByteMap<'_>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let args: Vec<Vec<u8>> = inputs.into_iter().map(|a| a.as_ref().to_vec()).collect();
        let slices: Vec<sys::cf_slice> =
            args.iter().map(|a| sys::cf_slice { data: a.as_ptr() as *const c_void, len: a.len() }).collect();
        let mut o = sys::cf_map_options { struct_size: 0, timeout: 0.0, chunksize: 0, buffersize: 0, unordered: 0 };
        // SAFETY: valid out-pointer.
        unsafe { sys::cf_map_options_init(&mut o) };
        o.timeout = seconds(options.timeout);
        o.chunksize = options.chunksize;
        o.buffersize = options.buffersize;
        o.unordered = options.unordered as i32;
        let mut it = ptr::null_mut();
        let p = if slices.is_empty() { ptr::null() } else { slices.as_ptr() };
        // SAFETY: the slices and the bytes they point to live in the ByteMap, which frees the iterator before
        // dropping them (field order); the executor outlives the ByteMap (lifetime 'a).
        check(unsafe { sys::cf_map(self.as_raw(), Some(task), ptr::null_mut(), p, slices.len(), &o, &mut it) }, "map")?;
        let it = NonNull::new(it).expect("cf_map returned CF_OK and a NULL iterator");
        Ok(ByteMap { it, _slices: slices, _args: args, finished: false, _executor: PhantomData })
    }

    pub(crate) fn map_named<I>(&self, task: &str, inputs: I, options: &MapOptions) -> Result<ByteMap<'_>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let f = registered_task(task).ok_or_else(|| {
            Error::UnknownTask(format!("map_named: no task {task:?} was registered with cfutures::register_task"))
        })?;
        self.map_task(f, inputs, options)
    }
}

impl Drop for RawExecutor {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed exactly once (this shuts down and waits for the tasks).
        unsafe { sys::cf_executor_free(self.as_raw()) }
    }
}

/// Per-task options of the `submit_*_with` methods (`cf_submit_options`), as a builder:
/// `pool.submit_named_with("task", b"arg", &SubmitOptions::new().time_limit(Duration::from_secs(5)))`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitOptions {
    pub(crate) time_limit: Option<Duration>,
}

impl SubmitOptions {
    /// The defaults: no time limit.
    pub fn new() -> SubmitOptions {
        SubmitOptions::default()
    }

    /// How long the task may run, counted from when it starts running (not from the submit). Past it the
    /// future fails with [`Error::TimeLimit`](crate::Error::TimeLimit): a process pool kills the worker running
    /// it (a new worker takes its place; this is no worker death in [`Stats::worker_deaths`] and does not count
    /// against the restart intensity); a thread pool cannot stop a thread, so it fails the future at the limit,
    /// asks the task to stop ([`cancel_requested`](crate::cancel_requested)) and discards its late result.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// True when these options let a future complete while its task still runs.
    pub(crate) fn has_time_limit(&self) -> bool {
        self.time_limit.is_some()
    }

    pub(crate) fn raw(&self) -> sys::cf_submit_options {
        let mut o = sys::cf_submit_options { struct_size: 0, time_limit: 0.0, release_user_data: None };
        // SAFETY: valid out-pointer.
        unsafe { sys::cf_submit_options_init(&mut o) };
        o.time_limit = seconds(self.time_limit);
        o
    }
}

/// A snapshot of an executor's counters (`cf_executor_stats`), from
/// [`ThreadPool::stats`](crate::ThreadPool::stats) or [`ProcessPool::stats`](crate::ProcessPool::stats).
///
/// Each counter is read on its own, so a snapshot taken under load may be off by the tasks that moved meanwhile;
/// once every future is done, `completed + failed + cancelled` ([`Stats::done`]) equals the number of tasks
/// submitted (a `map` counts one task per chunk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Threads or worker processes alive.
    pub workers: u64,
    /// Of those, the ones waiting for work.
    pub idle_workers: u64,
    /// Tasks submitted and not running yet.
    pub queued: u64,
    /// Tasks running now.
    pub running: u64,
    /// Tasks finished with a result.
    pub completed: u64,
    /// Tasks finished with a failure (the task's own, a time limit, a dead worker, a broken pool, ...).
    pub failed: u64,
    /// Futures cancelled.
    pub cancelled: u64,
    /// Worker processes that died unasked (a crash, an exit, a signal from outside); 0 for thread pools.
    pub worker_deaths: u64,
    /// Workers started in place of dead, killed (time limit, `cancel_running`) or retired
    /// (`max_tasks_per_child`) ones.
    pub workers_replaced: u64,
}

impl Stats {
    /// The futures done so far: `completed + failed + cancelled`.
    pub fn done(&self) -> u64 {
        self.completed + self.failed + self.cancelled
    }
}

/// Options of `map`: Python's `timeout`, `chunksize`, and libcfutures' `buffersize` and `unordered`.
#[derive(Debug, Clone, PartialEq)]
pub struct MapOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) chunksize: usize,
    pub(crate) buffersize: usize,
    pub(crate) unordered: bool,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions { timeout: None, chunksize: 1, buffersize: 0, unordered: false }
    }
}

impl MapOptions {
    /// No timeout, chunks of one item, everything submitted at once, results in input order.
    pub fn new() -> MapOptions {
        MapOptions::default()
    }
    /// A time limit for the whole map, counted from the `map` call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// How many items travel in one task (0 is invalid).
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = chunksize;
        self
    }
    /// Byte-string maps only: at most this many chunks in flight (0: all at once).
    pub fn buffersize(mut self, buffersize: usize) -> Self {
        self.buffersize = buffersize;
        self
    }
    /// Byte-string maps only: results in completion order instead of input order.
    pub fn unordered(mut self, unordered: bool) -> Self {
        self.unordered = unordered;
        self
    }
}

/// The results of a byte-string `map` (`cf_map`), one `Result` per item. A failure (a failing item, a timeout,
/// a broken pool) is yielded once and ends the iteration, as an exception ends Python's `map` generator.
/// Dropping it cancels the chunks not started yet.
///
/// `Send` but not `Sync`: the C iterator may be used by one thread at a time.
pub struct ByteMap<'a> {
    it: NonNull<sys::cf_map_iter>,
    // The argument bytes must outlive the C iterator: Drop frees it first.
    _slices: Vec<sys::cf_slice>,
    _args: Vec<Vec<u8>>,
    finished: bool,
    _executor: PhantomData<&'a RawExecutor>,
}

// SAFETY: the C iterator is used by one thread at a time (`&mut self`); the argument bytes it points to are owned
// here and never touched by Rust; the executor it submits to is Sync.
unsafe impl Send for ByteMap<'_> {}

impl Iterator for ByteMap<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut out = sys::cf_slice { data: ptr::null(), len: 0 };
        // SAFETY: valid iterator; the slice is valid until the next call and copied at once.
        let rc = unsafe { sys::cf_map_next(self.it.as_ptr(), &mut out) };
        match rc {
            sys::CF_OK => Some(Ok(unsafe { bytes_of(out) }.to_vec())),
            sys::CF_DONE => {
                self.finished = true;
                None
            }
            _ => {
                self.finished = true;
                let fallback = last_error(rc, "map");
                let mut e = empty_error();
                // SAFETY: valid iterator; the strings live until the next call and are copied at once.
                let err = unsafe {
                    if sys::cf_map_error(self.it.as_ptr(), &mut e) == sys::CF_OK && e.status != sys::CF_OK {
                        from_cf_error(&e)
                    } else {
                        fallback
                    }
                };
                Some(Err(err))
            }
        }
    }
}

impl Drop for ByteMap<'_> {
    fn drop(&mut self) {
        // SAFETY: owned iterator, freed exactly once, before the argument bytes (fields drop after this).
        unsafe { sys::cf_map_free(self.it.as_ptr()) }
    }
}
