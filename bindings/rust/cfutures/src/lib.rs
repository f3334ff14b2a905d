// SPDX-License-Identifier: MIT
//! Python's `concurrent.futures` for Rust, over the libcfutures C library.
//!
//! - [`ThreadPool`]: runs Rust closures ([`ThreadPool::submit`] gives a typed [`Future<T>`]), `map`, shutdown,
//!   thread initializers; [`ThreadPool::scope`] runs closures that borrow from the caller's stack ([`Scope`]).
//! - [`ProcessPool`]: runs byte-string tasks in crash-isolated worker processes (fork, forkserver or spawn);
//!   tasks are `extern "C"` functions registered by name ([`register_task`], [`task_fn!`]).
//! - [`Future`], [`Promise`], [`wait()`], [`as_completed`], and [`Error`], one variant per library status. A
//!   [`Future`] is also a [`std::future::Future`]: `future.await` works in any async runtime.
//! - Futures made of futures: [`Future::then`] continues a future with a closure on a thread pool (typed values,
//!   failures and cancellations passed on), [`Future::then_named`] with a registered task on either pool, and
//!   [`when_all`] / [`when_any`] join futures of any types; no thread waits for them, and they can be awaited.
//! - Beyond Python: per-task time limits ([`SubmitOptions`] with the `submit_*_with` methods), cancelling
//!   running tasks (`cancel_running` in the pool options), process pools that replace dead workers
//!   ([`WorkerDeath::Replace`]), executor counters ([`ThreadPool::stats`], [`ProcessPool::stats`]) and a
//!   handler for the library's log ([`set_log_handler`]).
//!
//! ```
//! use cfutures::{as_completed, ThreadPool, ThreadPoolOptions};
//!
//! let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(4)).unwrap();
//! let pages: Vec<_> = ["alpha", "beta", "gamma"]
//!     .iter()
//!     .map(|name| pool.submit(move || format!("{name}.html")).unwrap())
//!     .collect();
//! for page in as_completed(&pages, None).unwrap() {
//!     println!("done: {}", page.unwrap().result(None).unwrap());
//! }
//! ```
//!
//! Programs with process pools using [`StartMethod::Spawn`] call [`worker_entry`] first thing in `main`, after
//! registering their tasks: a spawned worker is the same program started again.
//!
//! Every C handle is owned by exactly one Rust value and released in its `Drop`. No panic ever unwinds into the
//! C library: task closures, task functions, initializers, done callbacks and the log handler run under
//! `catch_unwind`.

#![warn(missing_docs)]

mod compose;
mod error;
mod executor;
mod future;
mod log;
mod process_pool;
mod scope;
mod task;
mod thread_pool;
mod util;
mod wait;

/// The raw C declarations (`cfutures-sys`), for what the safe API does not cover.
pub use cfutures_sys as sys;

pub use compose::{when_all, when_any, Executor};
pub use error::{Error, Result};
pub use executor::{ByteMap, MapOptions, Stats, SubmitOptions};
pub use future::{Future, Promise, State};
pub use log::{set_log_handler, Level, LogHandler};
pub use process_pool::{ProcessPool, ProcessPoolOptions, StartMethod, WorkerDeath};
pub use scope::Scope;
pub use task::{cancel_requested, register_task, run_task, worker_entry, TaskContext, TaskError, TaskFn};
pub use thread_pool::{MapResults, ThreadPool, ThreadPoolOptions};
pub use wait::{as_completed, wait, AsCompleted, ReturnWhen, Waitable};

/// The version of the library loaded at run time, e.g. `"0.1.0"` (may be newer than these bindings).
pub fn version() -> String {
    // SAFETY: a static string.
    unsafe { error::owned(sys::cf_version_string()) }
}
