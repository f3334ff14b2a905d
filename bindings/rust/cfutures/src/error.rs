// SPDX-License-Identifier: MIT
//! The error type: one variant per libcfutures status code, each carrying the library's own text.

use cfutures_sys as sys;
use std::ffi::CStr;
use std::fmt;
use std::os::raw::{c_char, c_int};

/// A failure reported by libcfutures, or by a task.
///
/// Each variant mirrors one `CF_E_*` status code ([`Error::status`] gives it back). The `String` says what
/// failed and includes the library's own description (`cf_last_error()`, or the failure stored on a future).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `CF_E_INVALID_ARGUMENT` (Python's `ValueError` / `TypeError`).
    InvalidArgument(String),
    /// `CF_E_NO_MEMORY` (`MemoryError`).
    NoMemory(String),
    /// `CF_E_TIMEOUT` (`TimeoutError`): the time ran out before the future (or map, or iterator) was done.
    Timeout(String),
    /// `CF_E_CANCELLED` (`CancelledError`): the future was cancelled.
    Cancelled(String),
    /// `CF_E_SHUTDOWN`: cannot schedule new futures after shutdown.
    Shutdown(String),
    /// `CF_E_BROKEN_THREAD_POOL` (`BrokenThreadPool`): a thread initializer failed.
    BrokenThreadPool(String),
    /// `CF_E_BROKEN_PROCESS_POOL` (`BrokenProcessPool`): a worker process died; says which, how, and running what.
    BrokenProcessPool(String),
    /// `CF_E_INVALID_STATE` (`InvalidStateError`).
    InvalidState(String),
    /// `CF_E_TASK_FAILED`: the task failed (a Rust panic, [`TaskError`](crate::TaskError), `cf_task_raise`, or a
    /// non-zero return of a C task).
    Task {
        /// The failure's type: `"panic"` for a Rust panic, else what the task said (`"ValueError"`, ...).
        type_name: String,
        /// The failure's message (a panic's payload when it is a string).
        message: String,
        /// Where it happened, when the library knows: task name, worker pid, ... (may be empty).
        detail: String,
    },
    /// `CF_E_UNKNOWN_TASK`: a task name (or function) not registered for cross-process use.
    UnknownTask(String),
    /// `CF_E_DEADLOCK`: a wait that can never finish.
    Deadlock(String),
    /// `CF_E_SYSTEM`: an operating-system call failed.
    System(String),
    /// `CF_E_TOO_LARGE`: a payload larger than the pool can carry.
    TooLarge(String),
    /// `CF_E_TIME_LIMIT` (Python's `TimeoutError`): the task ran past the time limit it was submitted with
    /// ([`SubmitOptions::time_limit`](crate::SubmitOptions::time_limit)). A process pool killed its worker (a new
    /// one took its place); a thread pool failed the future and asked the task to stop.
    TimeLimit(String),
    /// `CF_E_WORKER_DIED`: the worker process running the task died and the pool replaced it
    /// ([`WorkerDeath::Replace`](crate::WorkerDeath::Replace)); says which worker, how, and running what.
    WorkerDied(String),
    /// A status this version of the binding does not know (a newer library).
    Other {
        /// The raw status code.
        status: i32,
        /// The library's text.
        message: String,
    },
}

impl Error {
    /// Builds the error for a status code and a text.
    pub fn from_status(status: i32, message: String) -> Error {
        match status {
            sys::CF_E_INVALID_ARGUMENT => Error::InvalidArgument(message),
            sys::CF_E_NO_MEMORY => Error::NoMemory(message),
            sys::CF_E_TIMEOUT => Error::Timeout(message),
            sys::CF_E_CANCELLED => Error::Cancelled(message),
            sys::CF_E_SHUTDOWN => Error::Shutdown(message),
            sys::CF_E_BROKEN_THREAD_POOL => Error::BrokenThreadPool(message),
            sys::CF_E_BROKEN_PROCESS_POOL => Error::BrokenProcessPool(message),
            sys::CF_E_INVALID_STATE => Error::InvalidState(message),
            sys::CF_E_TASK_FAILED => Error::Task { type_name: "cf_task_error".into(), message, detail: String::new() },
            sys::CF_E_UNKNOWN_TASK => Error::UnknownTask(message),
            sys::CF_E_DEADLOCK => Error::Deadlock(message),
            sys::CF_E_SYSTEM => Error::System(message),
            sys::CF_E_TOO_LARGE => Error::TooLarge(message),
            sys::CF_E_TIME_LIMIT => Error::TimeLimit(message),
            sys::CF_E_WORKER_DIED => Error::WorkerDied(message),
            _ => Error::Other { status, message },
        }
    }

    /// The `CF_E_*` status code this error mirrors.
    pub fn status(&self) -> i32 {
        match self {
            Error::InvalidArgument(_) => sys::CF_E_INVALID_ARGUMENT,
            Error::NoMemory(_) => sys::CF_E_NO_MEMORY,
            Error::Timeout(_) => sys::CF_E_TIMEOUT,
            Error::Cancelled(_) => sys::CF_E_CANCELLED,
            Error::Shutdown(_) => sys::CF_E_SHUTDOWN,
            Error::BrokenThreadPool(_) => sys::CF_E_BROKEN_THREAD_POOL,
            Error::BrokenProcessPool(_) => sys::CF_E_BROKEN_PROCESS_POOL,
            Error::InvalidState(_) => sys::CF_E_INVALID_STATE,
            Error::Task { .. } => sys::CF_E_TASK_FAILED,
            Error::UnknownTask(_) => sys::CF_E_UNKNOWN_TASK,
            Error::Deadlock(_) => sys::CF_E_DEADLOCK,
            Error::System(_) => sys::CF_E_SYSTEM,
            Error::TooLarge(_) => sys::CF_E_TOO_LARGE,
            Error::TimeLimit(_) => sys::CF_E_TIME_LIMIT,
            Error::WorkerDied(_) => sys::CF_E_WORKER_DIED,
            Error::Other { status, .. } => *status,
        }
    }

    /// The status's name as the library spells it, e.g. `"CF_E_TIMEOUT"`.
    pub fn status_name(&self) -> String {
        // SAFETY: cf_status_name returns a static string for every int.
        unsafe { owned(sys::cf_status_name(self.status())) }
    }

    /// The text without the kind: what failed and why (for [`Error::Task`]: the task's message).
    pub fn message(&self) -> &str {
        match self {
            Error::Task { message, .. } | Error::Other { message, .. } => message,
            Error::InvalidArgument(m)
            | Error::NoMemory(m)
            | Error::Timeout(m)
            | Error::Cancelled(m)
            | Error::Shutdown(m)
            | Error::BrokenThreadPool(m)
            | Error::BrokenProcessPool(m)
            | Error::InvalidState(m)
            | Error::UnknownTask(m)
            | Error::Deadlock(m)
            | Error::System(m)
            | Error::TooLarge(m)
            | Error::TimeLimit(m)
            | Error::WorkerDied(m) => m,
        }
    }

    /// The Python-style name of the failure: `"TimeoutError"`, `"BrokenProcessPool"`, a task's own type, ...
    pub fn kind_name(&self) -> &str {
        match self {
            Error::InvalidArgument(_) => "ValueError",
            Error::NoMemory(_) => "MemoryError",
            Error::Timeout(_) => "TimeoutError",
            Error::Cancelled(_) => "CancelledError",
            Error::Shutdown(_) => "ShutdownError",
            Error::BrokenThreadPool(_) => "BrokenThreadPool",
            Error::BrokenProcessPool(_) => "BrokenProcessPool",
            Error::InvalidState(_) => "InvalidStateError",
            Error::Task { type_name, .. } => type_name,
            Error::UnknownTask(_) => "UnknownTaskError",
            Error::Deadlock(_) => "DeadlockError",
            Error::System(_) => "OSError",
            Error::TooLarge(_) => "TooLargeError",
            Error::TimeLimit(_) => "TimeoutError",
            Error::WorkerDied(_) => "WorkerDiedError",
            Error::Other { .. } => "Error",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Task { type_name, message, detail } => {
                write!(f, "{type_name}")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                if !detail.is_empty() {
                    write!(f, " ({detail})")?;
                }
                Ok(())
            }
            Error::Other { status, message } => write!(f, "status {status}: {message}"),
            other => write!(f, "{}: {}", other.kind_name(), other.message()),
        }
    }
}

impl std::error::Error for Error {}

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Copies a C string (NULL gives "").
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn owned(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// The error for a negative return `rc` of the C call described by `what`, with this thread's `cf_last_error()`.
/// Must be called on the thread that made the call, before any other library call.
pub(crate) fn last_error(rc: c_int, what: &str) -> Error {
    // SAFETY: cf_last_error never returns NULL; the text is copied at once.
    let detail = unsafe { owned(sys::cf_last_error()) };
    let message = if detail.is_empty() {
        // SAFETY: cf_strerror returns a static string.
        format!("{what}: {}", unsafe { owned(sys::cf_strerror(rc)) })
    } else {
        format!("{what}: {detail}")
    };
    Error::from_status(rc, message)
}

/// `Ok(rc)` for a non-negative return, else the error of [`last_error`].
pub(crate) fn check(rc: c_int, what: &str) -> Result<c_int> {
    if rc < 0 {
        Err(last_error(rc, what))
    } else {
        Ok(rc)
    }
}

/// The error a `cf_error` describes (status != CF_OK).
///
/// # Safety
/// The strings of `e` are NULL or valid C strings.
pub(crate) unsafe fn from_cf_error(e: &sys::cf_error) -> Error {
    let (type_name, message, detail) = (owned(e.type_), owned(e.message), owned(e.detail));
    if e.status == sys::CF_E_TASK_FAILED {
        return Error::Task { type_name, message, detail };
    }
    let mut text = if message.is_empty() { type_name } else { format!("{type_name}: {message}") };
    if !detail.is_empty() {
        text = format!("{text} ({detail})");
    }
    Error::from_status(e.status, text)
}
