// SPDX-License-Identifier: MIT
//! [`ProcessPool`]: Python's `ProcessPoolExecutor`, running registered byte-string tasks in worker processes.

use crate::error::{check, Result};
use crate::executor::{ByteMap, MapOptions, RawExecutor, Stats, SubmitOptions};
use crate::future::Future;
use crate::task::TaskFn;
use crate::util::c_string;
use cfutures_sys as sys;
use std::ffi::CString;
use std::os::raw::c_void;
use std::ptr;
use std::time::Duration;

/// How a process pool starts its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMethod {
    /// The library's default (fork on Linux).
    Default,
    /// `fork()` from the pool's supervisor thread: fastest; the children hold copies of other threads' locks,
    /// so tasks must not rely on locks other threads may hold.
    Fork,
    /// Workers forked by a small single-threaded server process, started with the first such pool: they
    /// inherit no threads; they see the tasks registered before that server started.
    Forkserver,
    /// The program is executed again (or `worker_program`); it must call [`worker_entry`](crate::worker_entry)
    /// first thing in `main`, after registering its tasks.
    Spawn,
}

impl StartMethod {
    fn raw(self) -> sys::cf_start_method {
        match self {
            StartMethod::Default => sys::CF_START_DEFAULT,
            StartMethod::Fork => sys::CF_START_FORK,
            StartMethod::Forkserver => sys::CF_START_FORKSERVER,
            StartMethod::Spawn => sys::CF_START_SPAWN,
        }
    }
}

/// What a worker process that dies unasked (a crash, an exit, a signal from outside) does to its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkerDeath {
    /// As CPython: the pool breaks; the dead worker's future, the pending ones and later submits fail with
    /// [`Error::BrokenProcessPool`](crate::Error::BrokenProcessPool).
    #[default]
    Break,
    /// Only the task the worker was running fails, with [`Error::WorkerDied`](crate::Error::WorkerDied); a new
    /// worker takes its place, the tasks queued behind it run elsewhere, and the pool goes on, unless more than
    /// [`max_restarts`](ProcessPoolOptions::max_restarts) workers die within
    /// [`restart_period`](ProcessPoolOptions::restart_period) (then it breaks, as with `Break`).
    Replace,
}

impl WorkerDeath {
    fn raw(self) -> sys::cf_worker_death {
        match self {
            WorkerDeath::Break => sys::CF_WORKER_DEATH_BREAK,
            WorkerDeath::Replace => sys::CF_WORKER_DEATH_REPLACE,
        }
    }
}

/// Options of a [`ProcessPool`], as a builder.
#[derive(Debug, Clone)]
pub struct ProcessPoolOptions {
    max_workers: usize,
    start_method: StartMethod,
    max_tasks_per_child: usize,
    initializer: Option<(String, Vec<u8>)>,
    shared_memory_bytes: usize,
    worker_program: Option<String>,
    cancel_running: bool,
    on_worker_death: WorkerDeath,
    max_restarts: usize,
    restart_period: Option<Duration>,
}

impl Default for ProcessPoolOptions {
    fn default() -> Self {
        ProcessPoolOptions {
            max_workers: 0,
            start_method: StartMethod::Default,
            max_tasks_per_child: 0,
            initializer: None,
            shared_memory_bytes: 0,
            worker_program: None,
            cancel_running: false,
            on_worker_death: WorkerDeath::Break,
            max_restarts: 0,
            restart_period: None,
        }
    }
}

impl ProcessPoolOptions {
    /// One worker per CPU of the affinity mask, the default start method (fork), 256 MiB of shared memory.
    pub fn new() -> ProcessPoolOptions {
        ProcessPoolOptions::default()
    }
    /// The number of worker processes (0: CPUs in this process's affinity mask; more than 4096 is invalid).
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = n;
        self
    }
    /// How workers start.
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = method;
        self
    }
    /// Replace a worker after this many tasks (0: never). Refused with fork, as in CPython.
    pub fn max_tasks_per_child(mut self, n: usize) -> Self {
        self.max_tasks_per_child = n;
        self
    }
    /// A registered task run first in every worker with `initarg`; its failure breaks the pool.
    pub fn initializer(mut self, task: &str, initarg: &[u8]) -> Self {
        self.initializer = Some((task.to_string(), initarg.to_vec()));
        self
    }
    /// Size of the shared-memory arena for arguments and results (0: 256 MiB; reserved, not used up front).
    pub fn shared_memory_bytes(mut self, bytes: usize) -> Self {
        self.shared_memory_bytes = bytes;
        self
    }
    /// Spawn only: the program workers execute (default: this one again). It must register the same tasks.
    pub fn worker_program(mut self, path: &str) -> Self {
        self.worker_program = Some(path.to_string());
        self
    }
    /// `true` lets [`Future::cancel`](crate::Future::cancel) cancel a running task by killing the worker running
    /// it (a new one takes its place): `cancel` returns true and the future ends cancelled. Shutdown with
    /// `cancel_futures` then cancels running tasks too. `false` (default): as CPython, a running task is only
    /// asked to stop ([`cancel_requested`](crate::cancel_requested)).
    pub fn cancel_running(mut self, cancel_running: bool) -> Self {
        self.cancel_running = cancel_running;
        self
    }
    /// What a worker that dies unasked does to the pool (default: [`WorkerDeath::Break`], as CPython).
    pub fn on_worker_death(mut self, what: WorkerDeath) -> Self {
        self.on_worker_death = what;
        self
    }
    /// With [`WorkerDeath::Replace`]: more than this many worker deaths within
    /// [`restart_period`](ProcessPoolOptions::restart_period) break the pool (the restart intensity of an
    /// Erlang/OTP supervisor). 0: the library's default, 10. Workers the pool kills itself (time limits,
    /// `cancel_running`, `max_tasks_per_child`) do not count.
    pub fn max_restarts(mut self, n: usize) -> Self {
        self.max_restarts = n;
        self
    }
    /// The window of [`max_restarts`](ProcessPoolOptions::max_restarts) (zero: the library's default, 60 s).
    pub fn restart_period(mut self, period: Duration) -> Self {
        self.restart_period = Some(period);
        self
    }
}

/// A pool of worker processes: Python's `ProcessPoolExecutor`, crash-isolated.
///
/// Tasks cross the process boundary as registered names ([`register_task`](crate::register_task)) with bytes
/// in and bytes out; arguments and results travel through shared memory. By default a worker that dies (a
/// signal, an abort, `_exit`) breaks the pool: its futures and the pending ones fail with
/// [`Error::BrokenProcessPool`](crate::Error::BrokenProcessPool), and so do later submits. With
/// [`WorkerDeath::Replace`] only the task it was running fails ([`Error::WorkerDied`](crate::Error::WorkerDied))
/// and a new worker takes its place.
///
/// Dropping the pool shuts it down and waits. `Send` and `Sync`: the library's executor calls are thread-safe
/// and the handle is freed only in `Drop`.
pub struct ProcessPool {
    exec: RawExecutor,
}

impl ProcessPool {
    /// Starts the pool (with fork: all its workers now).
    pub fn new(options: ProcessPoolOptions) -> Result<ProcessPool> {
        let mut o = sys::cf_process_pool_options {
            struct_size: 0,
            max_workers: 0,
            start_method: sys::CF_START_DEFAULT,
            max_tasks_per_child: 0,
            initializer: ptr::null(),
            initarg: ptr::null(),
            initarg_len: 0,
            shared_memory_bytes: 0,
            worker_program: ptr::null(),
            worker_start_timeout: 0.0,
            cancel_running: 0,
            on_worker_death: sys::CF_WORKER_DEATH_BREAK,
            max_restarts: 0,
            restart_period: 0.0,
            worker_args: ptr::null(),
        };
        // SAFETY: valid out-pointer.
        unsafe { sys::cf_process_pool_options_init(&mut o) };
        o.max_workers = options.max_workers;
        o.start_method = options.start_method.raw();
        o.max_tasks_per_child = options.max_tasks_per_child;
        o.shared_memory_bytes = options.shared_memory_bytes;
        o.cancel_running = options.cancel_running as i32;
        o.on_worker_death = options.on_worker_death.raw();
        o.max_restarts = options.max_restarts;
        o.restart_period = options.restart_period.map_or(0.0, |p| p.as_secs_f64());
        let mut keep: Vec<CString> = Vec::new();
        if let Some((name, arg)) = &options.initializer {
            let name = c_string(name, "ProcessPool::new: initializer")?;
            o.initializer = name.as_ptr();
            o.initarg = arg.as_ptr() as *const c_void;
            o.initarg_len = arg.len();
            keep.push(name);
        }
        if let Some(program) = &options.worker_program {
            let program = c_string(program, "ProcessPool::new: worker_program")?;
            o.worker_program = program.as_ptr();
            keep.push(program);
        }
        let mut raw = ptr::null_mut();
        // SAFETY: the options and what they point to are valid for the call (the library copies them).
        check(unsafe { sys::cf_process_pool_new(&o, &mut raw) }, "ProcessPool::new")?;
        drop(keep);
        Ok(ProcessPool { exec: unsafe { RawExecutor::from_raw(raw) } })
    }

    /// Runs the task registered under `task` in a worker, with a copy of `arg`.
    /// [`Error::UnknownTask`](crate::Error::UnknownTask) for a name not registered.
    pub fn submit_named(&self, task: &str, arg: &[u8]) -> Result<Future<Vec<u8>>> {
        self.exec.submit_named(task, arg, None)
    }

    /// Runs a registered task function (found by its address) in a worker.
    pub fn submit_task(&self, task: TaskFn, arg: &[u8]) -> Result<Future<Vec<u8>>> {
        self.exec.submit_task(task, arg, None)
    }

    /// [`submit_named`](ProcessPool::submit_named) with per-task options (`cf_submit_named_ex`): past its
    /// [`time_limit`](SubmitOptions::time_limit) the worker running the task is killed (a new one takes its
    /// place) and the future fails with [`Error::TimeLimit`](crate::Error::TimeLimit).
    ///
    /// ```no_run
    /// # use cfutures::{Error, ProcessPool, ProcessPoolOptions, SubmitOptions};
    /// # use std::time::Duration;
    /// # let pool = ProcessPool::new(ProcessPoolOptions::new()).unwrap();
    /// let limited = SubmitOptions::new().time_limit(Duration::from_secs(2));
    /// match pool.submit_named_with("slow", b"input", &limited).unwrap().result(None) {
    ///     Err(Error::TimeLimit(why)) => eprintln!("gave up: {why}"),
    ///     other => println!("{other:?}"),
    /// }
    /// ```
    pub fn submit_named_with(&self, task: &str, arg: &[u8], options: &SubmitOptions) -> Result<Future<Vec<u8>>> {
        self.exec.submit_named(task, arg, Some(options))
    }

    /// [`submit_task`](ProcessPool::submit_task) with per-task options (`cf_submit_ex`), as
    /// [`submit_named_with`](ProcessPool::submit_named_with).
    pub fn submit_task_with(&self, task: TaskFn, arg: &[u8], options: &SubmitOptions) -> Result<Future<Vec<u8>>> {
        self.exec.submit_task(task, arg, Some(options))
    }

    /// A snapshot of the pool's counters: workers, queue, outcomes, worker deaths and replacements.
    pub fn stats(&self) -> Result<Stats> {
        self.exec.stats()
    }

    /// Python's `executor.map` over the task registered under `task` with
    /// [`register_task`](crate::register_task): one shared-memory descriptor per chunk of `options.chunksize`.
    pub fn map_named<I>(&self, task: &str, inputs: I, options: &MapOptions) -> Result<ByteMap<'_>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.exec.map_named(task, inputs, options)
    }

    /// Like [`map_named`](ProcessPool::map_named), for a registered task function.
    pub fn map_task<I>(&self, task: TaskFn, inputs: I, options: &MapOptions) -> Result<ByteMap<'_>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.exec.map_task(task, inputs, options)
    }

    /// Python's `shutdown(wait, cancel_futures)`; `cancel_futures` also asks running tasks to stop (with
    /// [`cancel_running`](ProcessPoolOptions::cancel_running): cancels them, killing their workers).
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) -> Result<()> {
        self.exec.shutdown(wait, cancel_futures)
    }

    /// Stops the workers with SIGTERM (Python's `terminate_workers`).
    pub fn terminate_workers(&self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::cf_executor_terminate_workers(self.exec.as_raw()) }, "terminate_workers").map(drop)
    }

    /// Stops the workers with SIGKILL (Python's `kill_workers`).
    pub fn kill_workers(&self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::cf_executor_kill_workers(self.exec.as_raw()) }, "kill_workers").map(drop)
    }

    /// The C handle, still owned by the pool (for use with `cfutures_sys`).
    pub fn as_raw(&self) -> *mut sys::cf_executor {
        self.exec.as_raw()
    }
}

impl std::fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessPool").field("handle", &self.exec.as_raw()).finish()
    }
}
