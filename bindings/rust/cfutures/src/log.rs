// SPDX-License-Identifier: MIT
//! The library's log (`cf_set_log_handler`): where the messages it would write to stderr go.

use cfutures_sys as sys;
use std::ffi::CStr;
use std::fmt;
use std::io::Write;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// The level of a library log message, as Python's `logging` numbers them (`cf_log_level`). Ordered:
/// `Level::Debug < Level::Info < Level::Warning < Level::Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `CF_LOG_DEBUG` (10).
    Debug,
    /// `CF_LOG_INFO` (20): e.g. a worker killed at a task's time limit.
    Info,
    /// `CF_LOG_WARNING` (30): e.g. a worker that died and was replaced ([`WorkerDeath::Replace`]).
    ///
    /// [`WorkerDeath::Replace`]: crate::WorkerDeath::Replace
    Warning,
    /// `CF_LOG_ERROR` (40): e.g. a process pool that broke.
    Error,
}

impl Level {
    /// The level of a raw `cf_log_level`. A number between two levels (a level added in a later library) is
    /// the level below it, as Python's logging thresholds work; anything below `CF_LOG_DEBUG` is `Debug`.
    pub fn from_raw(level: i32) -> Level {
        match level {
            l if l >= sys::CF_LOG_ERROR => Level::Error,
            l if l >= sys::CF_LOG_WARNING => Level::Warning,
            l if l >= sys::CF_LOG_INFO => Level::Info,
            _ => Level::Debug,
        }
    }

    /// The raw `cf_log_level`: 10, 20, 30 or 40.
    pub fn raw(self) -> i32 {
        match self {
            Level::Debug => sys::CF_LOG_DEBUG,
            Level::Info => sys::CF_LOG_INFO,
            Level::Warning => sys::CF_LOG_WARNING,
            Level::Error => sys::CF_LOG_ERROR,
        }
    }

    /// `"DEBUG"`, `"INFO"`, `"WARNING"` or `"ERROR"`, as Python's logging names them.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A log handler for [`set_log_handler`]: gets each message's level and text (one line, without its newline).
pub type LogHandler = Box<dyn Fn(Level, &str) + Send + Sync + 'static>;

/// Sends the library's log messages to `handler` instead of stderr; `None` restores the default (stderr,
/// warnings and errors only). Process-wide (`cf_set_log_handler`).
///
/// The handler may be called on any thread: a pool's supervisor, a worker thread, the thread that completes a
/// future, and in a worker process started by fork or forkserver (there, as anything run after a fork, it must
/// not rely on locks that another thread of this process might have held). It must not call back into the
/// library's executors (submit, shutdown, ...). A panic in it is caught (it never unwinds into C) and reported
/// on stderr with the message. Workers started with [`StartMethod::Spawn`](crate::StartMethod::Spawn) are a new
/// program image: only a handler that program sets (before [`worker_entry`](crate::worker_entry)) reaches them.
///
/// The library may still be running a replaced handler on another thread when the next one is set, so each
/// handler given here is kept for the rest of the process and never dropped: set one once (or a few times),
/// not per task.
///
/// ```
/// use cfutures::{set_log_handler, Level};
/// set_log_handler(Some(Box::new(|level: Level, message: &str| {
///     if level >= Level::Warning {
///         eprintln!("[libcfutures {level}] {message}");
///     }
/// })));
/// // ...
/// set_log_handler(None); // back to stderr
/// ```
pub fn set_log_handler(handler: Option<LogHandler>) {
    match handler {
        None => {
            // SAFETY: NULL restores the library's default.
            unsafe { sys::cf_set_log_handler(None, ptr::null_mut()) }
        }
        Some(handler) => {
            // Leaked on purpose (see above): a thin pointer to the boxed closure, valid for the whole process.
            let data: &'static LogHandler = Box::leak(Box::new(handler));
            // SAFETY: the trampoline matches cf_log_fn; the data it gets lives forever and is Sync.
            unsafe {
                sys::cf_set_log_handler(Some(log_trampoline), data as *const LogHandler as *mut c_void);
            }
        }
    }
}

unsafe extern "C" fn log_trampoline(level: c_int, message: *const c_char, data: *mut c_void) {
    // SAFETY (all of it): `data` is a leaked `LogHandler` (set_log_handler), `message` NULL or a C string valid for
    // the call. Nothing may unwind out of here.
    let text = if message.is_null() { Default::default() } else { CStr::from_ptr(message).to_string_lossy() };
    let handler = &*(data as *const LogHandler);
    let level = Level::from_raw(level);
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler(level, &text))) {
        let why = crate::util::panic_message(&*payload);
        // Dropping the payload could panic too: then it is forgotten.
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(again);
        }
        // Written without `eprintln!`, which panics when stderr is gone.
        let _ = writeln!(std::io::stderr(), "cfutures: the log handler panicked ({why}) on: {level}: {text}");
    }
}
