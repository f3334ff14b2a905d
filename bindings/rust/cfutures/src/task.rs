// SPDX-License-Identifier: MIT
//! Byte-string tasks: `extern "C"` functions registered by name, which process pools run in other processes.

use crate::error::{check, Error, Result};
use crate::util::{c_string, c_string_lossy, panic_message};
use cfutures_sys as sys;
use std::cell::Cell;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Mutex;

/// A task as the C ABI runs it: `(ctx, arg, arg_len, user_data) -> status`. Write one with [`task_fn!`]
/// (safe, panics caught) or by hand with [`run_task`].
///
/// [`task_fn!`]: crate::task_fn
pub type TaskFn = unsafe extern "C" fn(
    ctx: *mut sys::cf_task_ctx,
    arg: *const c_void,
    arg_len: usize,
    user_data: *mut c_void,
) -> c_int;

/// Tasks registered through [`register_task`], by name: `map_named` finds the function here, since `cf_map`
/// takes a function pointer.
static REGISTERED: Mutex<Vec<(String, TaskFn)>> = Mutex::new(Vec::new());

/// Registers `task` under `name` (`cf_task_register`, user data NULL) so that executors find it by name
/// (`submit_named`, `map_named`) and process-pool workers find it in their own process.
///
/// Register before creating process pools (fork and forkserver workers see what was registered before they
/// start) and, for the spawn method, before [`worker_entry`]: a spawned worker is this program started again and
/// must register the same names. Registering the same name with the same function again is a no-op; with
/// another function it is [`Error::InvalidArgument`].
pub fn register_task(name: &str, task: TaskFn) -> Result<()> {
    let c_name = c_string(name, "register_task: name")?;
    // SAFETY: a valid string and function; the library copies the name.
    check(unsafe { sys::cf_task_register(c_name.as_ptr(), Some(task), ptr::null_mut()) }, "register_task")?;
    let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if !registered.iter().any(|(n, _)| n == name) {
        registered.push((name.to_string(), task));
    }
    Ok(())
}

/// The function registered under `name` through [`register_task`].
pub(crate) fn registered_task(name: &str) -> Option<TaskFn> {
    let registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    registered.iter().find(|(n, _)| n == name).map(|&(_, f)| f)
}

/// Call first thing in `main` (after [`register_task`] calls) in programs whose process pools use
/// [`StartMethod::Spawn`](crate::StartMethod::Spawn): in a process started as a spawned worker it serves tasks
/// and ends the process (never returning); anywhere else it returns `Ok(())` at once.
pub fn worker_entry() -> Result<()> {
    // SAFETY: no arguments.
    check(unsafe { sys::cf_process_worker_entry() }, "worker_entry").map(drop)
}

/// A task's failure: a type (`"ValueError"`) and a message; it reaches the caller as [`Error::Task`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// The failure's type name.
    pub type_name: String,
    /// What went wrong.
    pub message: String,
}

impl TaskError {
    /// A failure of this type with this message.
    pub fn new(type_name: impl Into<String>, message: impl Into<String>) -> TaskError {
        TaskError { type_name: type_name.into(), message: message.into() }
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.type_name, self.message)
    }
}

impl std::error::Error for TaskError {}

/// The context of a running byte-string task (borrowed from the library for the duration of the call).
pub struct TaskContext<'a> {
    ctx: *mut sys::cf_task_ctx,
    result_set: bool,
    _call: std::marker::PhantomData<&'a mut sys::cf_task_ctx>,
}

impl<'a> TaskContext<'a> {
    /// # Safety
    /// `ctx` is the context the library passed to the running task, and outlives `'a`.
    pub unsafe fn from_raw(ctx: *mut sys::cf_task_ctx) -> TaskContext<'a> {
        TaskContext { ctx, result_set: false, _call: std::marker::PhantomData }
    }

    /// Sets the result to a copy of `bytes` (a second call replaces the first).
    pub fn set_result(&mut self, bytes: &[u8]) -> Result<()> {
        // SAFETY: the context is live for 'a; the bytes are copied.
        check(unsafe { sys::cf_task_return(self.ctx, bytes.as_ptr() as *const c_void, bytes.len()) }, "set_result")?;
        self.result_set = true;
        Ok(())
    }

    /// A buffer of `len` bytes that becomes the result, to fill in place (in a process pool it lies in shared
    /// memory: no copy). [`Error::TooLarge`] when the worker's result heap cannot hold it.
    pub fn result_buffer(&mut self, len: usize) -> Result<&mut [u8]> {
        // SAFETY: the context is live for 'a; the buffer stays valid until the task returns or sets another
        // result, which needs `&mut self` again.
        unsafe {
            let p = sys::cf_task_return_buffer(self.ctx, len);
            if p.is_null() {
                return Err(crate::error::last_error(sys::CF_E_NO_MEMORY, "result_buffer"));
            }
            self.result_set = true;
            Ok(std::slice::from_raw_parts_mut(p as *mut u8, len))
        }
    }

    /// Fails the task (`cf_task_raise`); returns the status for the task to return.
    pub fn raise(&self, type_name: &str, message: &str) -> c_int {
        let (t, m) = (c_string_lossy(type_name), c_string_lossy(message));
        // SAFETY: the context is live; the strings are copied.
        unsafe { sys::cf_task_raise(self.ctx, t.as_ptr(), m.as_ptr()) }
    }

    /// True once cancellation of this running task was asked for.
    pub fn cancel_requested(&self) -> bool {
        // SAFETY: the context is live.
        unsafe { sys::cf_task_cancel_requested(self.ctx) == 1 }
    }
}

thread_local! {
    /// The context of the task running on this thread (closures and byte-string tasks), for `cancel_requested`.
    static CURRENT: Cell<*mut sys::cf_task_ctx> = const { Cell::new(ptr::null_mut()) };
}

/// Sets CURRENT for the duration of a task (restoring the outer one: a waiting worker may run nested tasks).
pub(crate) struct CurrentTask(*mut sys::cf_task_ctx);
impl CurrentTask {
    pub(crate) fn enter(ctx: *mut sys::cf_task_ctx) -> CurrentTask {
        CurrentTask(CURRENT.with(|c| c.replace(ctx)))
    }
}
impl Drop for CurrentTask {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Inside a task (a closure on a [`ThreadPool`](crate::ThreadPool), or a [`task_fn!`](crate::task_fn)): true
/// once its cancellation was asked for ([`Future::cancel`](crate::Future::cancel) while it runs, or
/// `shutdown(.., cancel_futures = true)`); a long task may check it and stop early. False outside tasks.
pub fn cancel_requested() -> bool {
    let ctx = CURRENT.with(|c| c.get());
    // SAFETY: CURRENT is non-NULL only while its task runs on this thread.
    !ctx.is_null() && unsafe { sys::cf_task_cancel_requested(ctx) == 1 }
}

/// Runs a Rust task body inside a [`TaskFn`]: gives it the argument bytes and the context, stores its
/// `Ok(bytes)` as the result (an empty `Ok` keeps a result already set through the context), turns `Err(TaskError)` into the task's failure and a panic into a failure of
/// type `"panic"` (a panic never unwinds into C). [`task_fn!`](crate::task_fn) writes the wrapper for you.
///
/// # Safety
/// The arguments are those the library passed to the running task.
pub unsafe fn run_task<F>(ctx: *mut sys::cf_task_ctx, arg: *const c_void, arg_len: usize, body: F) -> c_int
where
    F: FnOnce(&mut TaskContext<'_>, &[u8]) -> std::result::Result<Vec<u8>, TaskError>,
{
    let arg: &[u8] =
        if arg.is_null() || arg_len == 0 { &[] } else { std::slice::from_raw_parts(arg as *const u8, arg_len) };
    let _current = CurrentTask::enter(ctx);
    let mut context = TaskContext::from_raw(ctx);
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&mut context, arg)));
    match outcome {
        Ok(Ok(bytes)) if bytes.is_empty() && context.result_set => sys::CF_OK,
        Ok(Ok(bytes)) => match context.set_result(&bytes) {
            Ok(()) => sys::CF_OK,
            Err(e) => context.raise(e.kind_name(), e.message()),
        },
        Ok(Err(e)) => context.raise(&e.type_name, &e.message),
        Err(payload) => context.raise("panic", &panic_message(&*payload)),
    }
}

/// Defines a [`TaskFn`] from a safe Rust body over bytes, for [`register_task`] and process pools.
///
/// ```
/// use cfutures::{task_fn, TaskError};
/// task_fn! {
///     /// The argument in upper case.
///     pub fn shout(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
///         if arg.is_empty() {
///             return Err(TaskError::new("ValueError", "nothing to shout"));
///         }
///         Ok(arg.to_ascii_uppercase())
///     }
/// }
/// cfutures::register_task("doc.shout", shout).unwrap();
/// ```
///
/// A second form also receives the [`TaskContext`] (to write the result in place or check cancellation):
/// `fn name(ctx: &mut TaskContext, arg: &[u8]) -> Result<Vec<u8>, TaskError> { ... }`; returning an empty
/// `Ok` then keeps the result written through the context. The body runs under
/// `catch_unwind`: a panic becomes the task's failure (type `"panic"`).
#[macro_export]
macro_rules! task_fn {
    // The first form is the second with the context unused.
    ($(#[$meta:meta])* $vis:vis fn $name:ident($arg:ident : &[u8]) -> $ret:ty $body:block) => {
        $crate::task_fn! {
            $(#[$meta])*
            $vis fn $name(_ctx: &mut TaskContext, $arg: &[u8]) -> $ret $body
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($ctx:ident : &mut TaskContext, $arg:ident : &[u8]) -> $ret:ty $body:block) => {
        $(#[$meta])*
        $vis unsafe extern "C" fn $name(
            ctx: *mut $crate::sys::cf_task_ctx,
            arg: *const ::std::os::raw::c_void,
            arg_len: usize,
            _user_data: *mut ::std::os::raw::c_void,
        ) -> ::std::os::raw::c_int {
            fn body($ctx: &mut $crate::TaskContext<'_>, $arg: &[u8]) -> $ret $body
            $crate::run_task(ctx, arg, arg_len, body)
        }
    };
}

impl From<TaskError> for Error {
    fn from(e: TaskError) -> Error {
        Error::Task { type_name: e.type_name, message: e.message, detail: String::new() }
    }
}
