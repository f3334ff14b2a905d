// SPDX-License-Identifier: MIT
//! Raw declarations of the libcfutures C ABI (`cfutures/cfutures.h`, version 0.1).
//!
//! Everything here mirrors the header one to one: the handles are opaque types used only behind raw pointers,
//! the enums are `c_int` type aliases with one constant per value (a C enum is an `int` here, and a Rust enum
//! would make values the library may add later undefined behaviour), and the structs are `#[repr(C)]` with the
//! fields in the header's order. `tests/layout.rs` checks sizes, offsets and constants against a C compiler.
//!
//! The library is found through pkg-config by `build.rs`. For a safe API use the `cfutures` crate.
//!
//! Not expressible in Rust: the `CF_TASK` macro (a C load-time constructor); register with
//! [`cf_task_register`] before creating pools, and before [`cf_process_worker_entry`] in spawned programs.
#![allow(non_camel_case_types)]

use std::marker::{PhantomData, PhantomPinned};
// `std::os::raw` rather than `core::ffi` (stable only from Rust 1.64; the MSRV is 1.63).
pub use std::os::raw::{c_char, c_int, c_uint, c_void};

/* ---------------------------------------------------------------------------------------------------------- */
/* Version                                                                                                      */

pub const CF_VERSION_MAJOR: c_uint = 0;
pub const CF_VERSION_MINOR: c_uint = 1;
pub const CF_VERSION_PATCH: c_uint = 0;
pub const CF_VERSION_NUMBER: c_uint = (CF_VERSION_MAJOR << 16) | (CF_VERSION_MINOR << 8) | CF_VERSION_PATCH;

/// `CF_VERSION_AT_LEAST`: true when these declarations are at least `major.minor.patch`.
pub const fn cf_version_at_least(major: c_uint, minor: c_uint, patch: c_uint) -> bool {
    CF_VERSION_NUMBER >= ((major << 16) | (minor << 8) | patch)
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Status codes                                                                                                 */

pub type cf_status = c_int;
pub const CF_OK: cf_status = 0;
pub const CF_DONE: cf_status = 1;
pub const CF_E_INVALID_ARGUMENT: cf_status = -1;
pub const CF_E_NO_MEMORY: cf_status = -2;
pub const CF_E_TIMEOUT: cf_status = -3;
pub const CF_E_CANCELLED: cf_status = -4;
pub const CF_E_SHUTDOWN: cf_status = -5;
pub const CF_E_BROKEN_THREAD_POOL: cf_status = -6;
pub const CF_E_BROKEN_PROCESS_POOL: cf_status = -7;
pub const CF_E_INVALID_STATE: cf_status = -8;
pub const CF_E_TASK_FAILED: cf_status = -9;
pub const CF_E_UNKNOWN_TASK: cf_status = -10;
pub const CF_E_DEADLOCK: cf_status = -11;
pub const CF_E_SYSTEM: cf_status = -12;
pub const CF_E_TOO_LARGE: cf_status = -13;
/// The task ran past its time limit (Python: `TimeoutError`). Added after 0.1.0.
pub const CF_E_TIME_LIMIT: cf_status = -14;
/// Its worker died and was replaced (`CF_WORKER_DEATH_REPLACE`). Added after 0.1.0.
pub const CF_E_WORKER_DIED: cf_status = -15;
pub const CF_STATUS_MAX_ENUM: cf_status = 0x7FFF_FFFF;

/* ---------------------------------------------------------------------------------------------------------- */
/* Values and timeouts                                                                                          */

/// A byte string. A result slice stays valid as long as the future that owns it.
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct cf_slice {
    pub data: *const c_void,
    pub len: usize,
}

/// Wait without limit.
pub const CF_FOREVER: f64 = -1.0;

/* ---------------------------------------------------------------------------------------------------------- */
/* Futures                                                                                                      */

/// Opaque future handle (reference counted: `cf_future_retain` / `cf_future_release`).
#[repr(C)]
pub struct cf_future {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

pub type cf_future_state = c_int;
pub const CF_FUTURE_INVALID: cf_future_state = -1;
pub const CF_PENDING: cf_future_state = 0;
pub const CF_RUNNING: cf_future_state = 1;
pub const CF_CANCELLED: cf_future_state = 2;
pub const CF_FINISHED: cf_future_state = 3;
pub const CF_FUTURE_STATE_MAX_ENUM: cf_future_state = 0x7FFF_FFFF;

/// Why a future failed. The strings are owned by the future and live as long as it does.
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct cf_error {
    pub status: c_int,
    pub type_: *const c_char,
    pub message: *const c_char,
    pub detail: *const c_char,
}

pub type cf_done_fn = Option<unsafe extern "C" fn(f: *mut cf_future, user_data: *mut c_void)>;

/* ---------------------------------------------------------------------------------------------------------- */
/* wait and as_completed                                                                                        */

pub type cf_return_when = c_int;
pub const CF_ALL_COMPLETED: cf_return_when = 0;
pub const CF_FIRST_COMPLETED: cf_return_when = 1;
pub const CF_FIRST_EXCEPTION: cf_return_when = 2;
pub const CF_RETURN_WHEN_MAX_ENUM: cf_return_when = 0x7FFF_FFFF;

/// Opaque iterator handle, freed with `cf_as_completed_free`.
#[repr(C)]
pub struct cf_as_completed_iter {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Tasks                                                                                                        */

/// Opaque context of a running task.
#[repr(C)]
pub struct cf_task_ctx {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

pub type cf_task_fn = Option<
    unsafe extern "C" fn(ctx: *mut cf_task_ctx, arg: *const c_void, arg_len: usize, user_data: *mut c_void) -> c_int,
>;

/* ---------------------------------------------------------------------------------------------------------- */
/* Executors                                                                                                    */

/// Opaque executor handle (thread or process pool), freed with `cf_executor_free`.
#[repr(C)]
pub struct cf_executor {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct cf_thread_pool_options {
    pub struct_size: usize,
    pub max_workers: usize,
    pub thread_name_prefix: *const c_char,
    pub initializer: cf_task_fn,
    pub initarg: *const c_void,
    pub initarg_len: usize,
    pub initializer_data: *mut c_void,
    /// Added after 0.1.0: 1 lets `cf_future_cancel` cancel a running task (its late result is discarded).
    pub cancel_running: c_int,
}

pub type cf_start_method = c_int;
pub const CF_START_DEFAULT: cf_start_method = 0;
pub const CF_START_FORK: cf_start_method = 1;
pub const CF_START_FORKSERVER: cf_start_method = 2;
pub const CF_START_SPAWN: cf_start_method = 3;
pub const CF_START_METHOD_MAX_ENUM: cf_start_method = 0x7FFF_FFFF;

/// What a worker process that dies does to its pool (added after 0.1.0).
pub type cf_worker_death = c_int;
/// As CPython: the pool breaks, every pending future fails `CF_E_BROKEN_PROCESS_POOL`.
pub const CF_WORKER_DEATH_BREAK: cf_worker_death = 0;
/// Only the task it was running fails (`CF_E_WORKER_DIED`); a new worker takes its place.
pub const CF_WORKER_DEATH_REPLACE: cf_worker_death = 1;
pub const CF_WORKER_DEATH_MAX_ENUM: cf_worker_death = 0x7FFF_FFFF;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct cf_process_pool_options {
    pub struct_size: usize,
    pub max_workers: usize,
    pub start_method: cf_start_method,
    pub max_tasks_per_child: usize,
    pub initializer: *const c_char,
    pub initarg: *const c_void,
    pub initarg_len: usize,
    pub shared_memory_bytes: usize,
    pub worker_program: *const c_char,
    pub worker_start_timeout: f64,
    /// Added after 0.1.0: 1 lets `cf_future_cancel` cancel a running task by killing its worker.
    pub cancel_running: c_int,
    /// Added after 0.1.0: `CF_WORKER_DEATH_BREAK` (default) or `CF_WORKER_DEATH_REPLACE`.
    pub on_worker_death: cf_worker_death,
    /// Added after 0.1.0: with `CF_WORKER_DEATH_REPLACE`, more than `max_restarts` deaths within
    /// `restart_period` seconds break the pool (0: 10 deaths; 0 or less seconds: 60).
    pub max_restarts: usize,
    pub restart_period: f64,
    /// Added after 0.1.0: `CF_START_SPAWN`: each worker's arguments after the program's name, a NULL-terminated
    /// array (NULL: none).
    pub worker_args: *const *const c_char,
}

/// Per-task options of `cf_submit_ex` / `cf_submit_named_ex` (added after 0.1.0).
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct cf_submit_options {
    pub struct_size: usize,
    /// Seconds the task may run, counted from when it starts; negative or +Inf: no limit; NaN is invalid.
    pub time_limit: f64,
    /// Called once with the task's user data when it has run or never will; `None`: nothing to release.
    pub release_user_data: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
}

/// A snapshot of an executor's counters (added after 0.1.0); the caller sets `struct_size`.
#[repr(C)]
#[derive(Debug, Copy, Clone, Default)]
pub struct cf_executor_stats {
    pub struct_size: usize,
    pub workers: u64,
    pub idle_workers: u64,
    pub queued: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub worker_deaths: u64,
    pub workers_replaced: u64,
    /// The most workers the executor runs at once.
    pub max_workers: u64,
    /// Workers started since the executor was made.
    pub workers_started: u64,
}

/* ---------------------------------------------------------------------------------------------------------- */
/* map                                                                                                          */

/// Opaque map iterator, freed with `cf_map_free`.
#[repr(C)]
pub struct cf_map_iter {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct cf_map_options {
    pub struct_size: usize,
    pub timeout: f64,
    pub chunksize: usize,
    pub buffersize: usize,
    pub unordered: c_int,
}

pub type cf_arg_source = Option<unsafe extern "C" fn(state: *mut c_void, next: *mut cf_slice) -> c_int>;

/* ---------------------------------------------------------------------------------------------------------- */
/* Logging (added after 0.1.0)                                                                                  */

/// Levels as Python's logging module numbers them.
pub type cf_log_level = c_int;
pub const CF_LOG_DEBUG: cf_log_level = 10;
pub const CF_LOG_INFO: cf_log_level = 20;
pub const CF_LOG_WARNING: cf_log_level = 30;
pub const CF_LOG_ERROR: cf_log_level = 40;
pub const CF_LOG_LEVEL_MAX_ENUM: cf_log_level = 0x7FFF_FFFF;

/// Receives every message the library would otherwise write to stderr (one line, no newline); called on any
/// thread, and in forked workers.
pub type cf_log_fn = Option<unsafe extern "C" fn(level: c_int, message: *const c_char, user_data: *mut c_void)>;

/* ---------------------------------------------------------------------------------------------------------- */
/* Functions                                                                                                    */

extern "C" {
    pub fn cf_version() -> c_uint;
    pub fn cf_version_string() -> *const c_char;

    pub fn cf_status_name(status: c_int) -> *const c_char;
    pub fn cf_strerror(status: c_int) -> *const c_char;
    pub fn cf_last_error() -> *const c_char;

    pub fn cf_future_new(out: *mut *mut cf_future) -> c_int;
    pub fn cf_future_retain(f: *mut cf_future);
    pub fn cf_future_release(f: *mut cf_future);
    pub fn cf_future_get_state(f: *const cf_future) -> cf_future_state;
    pub fn cf_future_done(f: *const cf_future) -> c_int;
    pub fn cf_future_running(f: *const cf_future) -> c_int;
    pub fn cf_future_cancelled(f: *const cf_future) -> c_int;
    pub fn cf_future_cancel(f: *mut cf_future) -> c_int;
    pub fn cf_future_result(f: *mut cf_future, timeout: f64, out: *mut cf_slice) -> c_int;
    pub fn cf_future_exception(f: *mut cf_future, timeout: f64, out: *mut cf_error) -> c_int;
    pub fn cf_future_add_done_callback(f: *mut cf_future, fn_: cf_done_fn, user_data: *mut c_void) -> c_int;
    /// `cf_future_add_done_callback`, and `release(user_data)` once the callback has run or can no longer run (the
    /// future was freed unfinished, or this call failed). Added after 0.1.0.
    pub fn cf_future_add_done_callback_ex(
        f: *mut cf_future,
        fn_: cf_done_fn,
        user_data: *mut c_void,
        release: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
    ) -> c_int;
    pub fn cf_future_set_running_or_notify_cancel(f: *mut cf_future) -> c_int;
    pub fn cf_future_set_result(f: *mut cf_future, data: *const c_void, len: usize) -> c_int;
    pub fn cf_future_set_exception(f: *mut cf_future, type_: *const c_char, message: *const c_char) -> c_int;

    pub fn cf_wait(
        fs: *const *mut cf_future,
        n: usize,
        timeout: f64,
        when: cf_return_when,
        done: *mut u8,
        n_done: *mut usize,
    ) -> c_int;
    pub fn cf_as_completed(
        fs: *const *mut cf_future,
        n: usize,
        timeout: f64,
        out: *mut *mut cf_as_completed_iter,
    ) -> c_int;
    pub fn cf_as_completed_next(it: *mut cf_as_completed_iter, out: *mut *mut cf_future) -> c_int;
    pub fn cf_as_completed_free(it: *mut cf_as_completed_iter);

    pub fn cf_task_return(ctx: *mut cf_task_ctx, data: *const c_void, len: usize) -> c_int;
    pub fn cf_task_return_buffer(ctx: *mut cf_task_ctx, len: usize) -> *mut c_void;
    pub fn cf_task_raise(ctx: *mut cf_task_ctx, type_: *const c_char, message: *const c_char) -> c_int;
    pub fn cf_task_cancel_requested(ctx: *const cf_task_ctx) -> c_int;

    pub fn cf_task_register(name: *const c_char, fn_: cf_task_fn, user_data: *mut c_void) -> c_int;
    pub fn cf_task_register_at_load(name: *const c_char, fn_: cf_task_fn);

    pub fn cf_thread_pool_options_init(o: *mut cf_thread_pool_options);
    pub fn cf_process_pool_options_init(o: *mut cf_process_pool_options);
    pub fn cf_process_pool_new(o: *const cf_process_pool_options, out: *mut *mut cf_executor) -> c_int;
    pub fn cf_process_worker_entry() -> c_int;
    pub fn cf_thread_pool_new(o: *const cf_thread_pool_options, out: *mut *mut cf_executor) -> c_int;

    pub fn cf_submit(
        ex: *mut cf_executor,
        fn_: cf_task_fn,
        user_data: *mut c_void,
        arg: *const c_void,
        arg_len: usize,
        out: *mut *mut cf_future,
    ) -> c_int;
    pub fn cf_submit_named(
        ex: *mut cf_executor,
        task: *const c_char,
        arg: *const c_void,
        arg_len: usize,
        out: *mut *mut cf_future,
    ) -> c_int;
    pub fn cf_submit_options_init(o: *mut cf_submit_options);
    pub fn cf_submit_ex(
        ex: *mut cf_executor,
        fn_: cf_task_fn,
        user_data: *mut c_void,
        arg: *const c_void,
        arg_len: usize,
        o: *const cf_submit_options,
        out: *mut *mut cf_future,
    ) -> c_int;
    pub fn cf_submit_named_ex(
        ex: *mut cf_executor,
        task: *const c_char,
        arg: *const c_void,
        arg_len: usize,
        o: *const cf_submit_options,
        out: *mut *mut cf_future,
    ) -> c_int;
    pub fn cf_executor_shutdown(ex: *mut cf_executor, wait: c_int, cancel_futures: c_int) -> c_int;
    pub fn cf_executor_terminate_workers(ex: *mut cf_executor) -> c_int;
    pub fn cf_executor_kill_workers(ex: *mut cf_executor) -> c_int;
    pub fn cf_executor_free(ex: *mut cf_executor);
    pub fn cf_executor_stats_get(ex: *mut cf_executor, out: *mut cf_executor_stats) -> c_int;

    pub fn cf_map_options_init(o: *mut cf_map_options);
    pub fn cf_map(
        ex: *mut cf_executor,
        fn_: cf_task_fn,
        user_data: *mut c_void,
        args: *const cf_slice,
        n_args: usize,
        o: *const cf_map_options,
        out: *mut *mut cf_map_iter,
    ) -> c_int;
    pub fn cf_map_source(
        ex: *mut cf_executor,
        fn_: cf_task_fn,
        user_data: *mut c_void,
        source: cf_arg_source,
        state: *mut c_void,
        o: *const cf_map_options,
        out: *mut *mut cf_map_iter,
    ) -> c_int;
    pub fn cf_map_named(
        ex: *mut cf_executor,
        task: *const c_char,
        args: *const cf_slice,
        n_args: usize,
        o: *const cf_map_options,
        out: *mut *mut cf_map_iter,
    ) -> c_int;
    pub fn cf_map_named_source(
        ex: *mut cf_executor,
        task: *const c_char,
        source: cf_arg_source,
        state: *mut c_void,
        o: *const cf_map_options,
        out: *mut *mut cf_map_iter,
    ) -> c_int;
    pub fn cf_map_next(it: *mut cf_map_iter, result: *mut cf_slice) -> c_int;
    pub fn cf_map_error(it: *const cf_map_iter, out: *mut cf_error) -> c_int;
    pub fn cf_map_free(it: *mut cf_map_iter);

    pub fn cf_set_log_handler(fn_: cf_log_fn, user_data: *mut c_void);

    /* Composition: futures made of futures (added after 0.1.0). None of them holds a thread while it waits. */

    /// A continuation: once `f` succeeds, `fn_` runs on `ex` with `f`'s result bytes as its argument, and `*out`
    /// becomes its outcome; a failure or cancellation of `f` (or a failed submit) passes on without running it.
    /// Cancelling `*out` before the step runs cancels the step.
    pub fn cf_future_then(
        f: *mut cf_future,
        ex: *mut cf_executor,
        fn_: cf_task_fn,
        user_data: *mut c_void,
        out: *mut *mut cf_future,
    ) -> c_int;
    /// `cf_future_then` with per-step options: `time_limit`, and `release_user_data`, called once with
    /// `user_data` when the step has run or never will, also when this call fails (unless `o` is invalid).
    pub fn cf_future_then_ex(
        f: *mut cf_future,
        ex: *mut cf_executor,
        fn_: cf_task_fn,
        user_data: *mut c_void,
        o: *const cf_submit_options,
        out: *mut *mut cf_future,
    ) -> c_int;
    /// `cf_future_then` with a registered task (copied name): the way to continue on a process pool. An unknown
    /// name fails `*out` with `CF_E_UNKNOWN_TASK` once `f` is done.
    pub fn cf_future_then_named(
        f: *mut cf_future,
        ex: *mut cf_executor,
        task: *const c_char,
        out: *mut *mut cf_future,
    ) -> c_int;
    /// Done when all of `fs` are: succeeds with no bytes, or carries the first failure or cancellation seen. The
    /// inputs keep their results; cancelling `*out` cancels none of them. `n == 0`: done at once.
    pub fn cf_when_all(fs: *const *mut cf_future, n: usize, out: *mut *mut cf_future) -> c_int;
    /// Done when the first of `fs` is: its result is that future's index, a `u64` in native byte order (8
    /// bytes); futures done already count first, in order. `n == 0` is `CF_E_INVALID_ARGUMENT`.
    pub fn cf_when_any(fs: *const *mut cf_future, n: usize, out: *mut *mut cf_future) -> c_int;
}
