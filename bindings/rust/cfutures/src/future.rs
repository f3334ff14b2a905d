// SPDX-License-Identifier: MIT
//! [`Future`]: the eventual result of a task; [`Promise`]: a future completed by hand.

use crate::error::{check, from_cf_error, last_error, Error, Result};
use crate::util::{panic_message, seconds};
use cfutures_sys as sys;
use std::ffi::CString;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a finished future's value comes from.
pub(crate) enum Value<T> {
    /// A Rust closure's value: stored here by the task before the C future completes (the C future carries
    /// only the completion and failures).
    Slot(Arc<Slot<T>>),
    /// The bytes the C future holds, converted on demand.
    Bytes(fn(&[u8]) -> T),
}

impl<T> Clone for Value<T> {
    fn clone(&self) -> Self {
        match self {
            Value::Slot(slot) => Value::Slot(Arc::clone(slot)),
            Value::Bytes(decode) => Value::Bytes(*decode),
        }
    }
}

/// The cell a closure task writes its value into.
pub(crate) struct Slot<T>(Mutex<Option<T>>);

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Slot(Mutex::new(None))
    }
    pub(crate) fn put(&self, value: T) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }
    fn with<R>(&self, f: impl FnOnce(&mut Option<T>) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The state of a future, as `cf_future_get_state` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started yet; can still be cancelled.
    Pending,
    /// Running now; cannot be cancelled any more (the task is only asked to stop), unless its pool was made
    /// with `cancel_running`.
    Running,
    /// Cancelled before it started (or, in a pool with `cancel_running`, while it ran).
    Cancelled,
    /// Finished, with a value or a failure.
    Finished,
}

/// The eventual result of a task: Python's `concurrent.futures.Future`.
///
/// A `Future<T>` owns one reference to a C `cf_future`, released in `Drop`; [`Clone`] takes another one
/// (both handles then refer to the same future). Dropping a future does not cancel its task.
///
/// Futures of Rust closures ([`ThreadPool::submit`](crate::ThreadPool::submit)) hold their value on the Rust side;
/// futures of byte-string tasks ([`ProcessPool::submit_named`](crate::ProcessPool::submit_named), ...) are
/// `Future<Vec<u8>>` and read the bytes the library holds.
///
/// # Thread safety
/// `Future<T>` is `Send` and `Sync` when `T: Send`: every `cf_future_*` call is thread-safe, the only
/// thread-unsafe one (releasing a handle another thread still uses) happens in `Drop`, which Rust runs only once
/// no borrow is left; the Rust-side value is only touched under a mutex, so sharing needs no `T: Sync`.
pub struct Future<T> {
    raw: NonNull<sys::cf_future>,
    value: Value<T>,
}

// SAFETY: see "Thread safety" above.
unsafe impl<T: Send> Send for Future<T> {}
// SAFETY: see "Thread safety" above.
unsafe impl<T: Send> Sync for Future<T> {}

impl<T> Future<T> {
    /// Takes ownership of one reference to `raw`.
    ///
    /// # Safety
    /// `raw` is a valid future whose reference the caller gives away.
    pub(crate) unsafe fn from_raw(raw: *mut sys::cf_future, value: Value<T>) -> Self {
        Future { raw: NonNull::new(raw).expect("libcfutures returned CF_OK and a NULL future"), value }
    }

    /// The C handle, still owned by this future (for use with `cfutures_sys`).
    pub fn as_raw(&self) -> *mut sys::cf_future {
        self.raw.as_ptr()
    }

    /// The current state.
    pub fn state(&self) -> State {
        // SAFETY: the handle is valid while self lives.
        match unsafe { sys::cf_future_get_state(self.as_raw()) } {
            sys::CF_PENDING => State::Pending,
            sys::CF_RUNNING => State::Running,
            sys::CF_CANCELLED => State::Cancelled,
            _ => State::Finished,
        }
    }

    /// True once the future is finished or cancelled.
    pub fn done(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { sys::cf_future_done(self.as_raw()) == 1 }
    }

    /// True while the task runs.
    pub fn running(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { sys::cf_future_running(self.as_raw()) == 1 }
    }

    /// True when the future was cancelled.
    pub fn cancelled(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { sys::cf_future_cancelled(self.as_raw()) == 1 }
    }

    /// Cancels the future if it has not started: true when it is cancelled (now or before), false when it is
    /// running or finished. A running task is asked to stop ([`cancel_requested`](crate::cancel_requested))
    /// but keeps running, unless its pool was made with `cancel_running`
    /// ([`ThreadPoolOptions::cancel_running`](crate::ThreadPoolOptions::cancel_running),
    /// [`ProcessPoolOptions::cancel_running`](crate::ProcessPoolOptions::cancel_running)): then a running future
    /// is cancelled too (true), and a process pool kills the worker running it.
    pub fn cancel(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { sys::cf_future_cancel(self.as_raw()) == 1 }
    }

    /// Waits until the future is done or the timeout (`None`: no limit) runs out; true when it is done.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut e = empty_error();
        // SAFETY: valid handle and out-pointer.
        let rc = unsafe { sys::cf_future_exception(self.as_raw(), seconds(timeout), &mut e) };
        rc == sys::CF_OK || rc == sys::CF_E_CANCELLED
    }

    /// Waits like `result` and says how the task failed: `Ok(None)` when it succeeded, `Ok(Some(error))` when
    /// it failed; `Err` with [`Error::Timeout`] or [`Error::Cancelled`] when there is no outcome to tell.
    pub fn exception(&self, timeout: Option<Duration>) -> Result<Option<Error>> {
        let mut e = empty_error();
        // SAFETY: valid handle and out-pointer; the strings live as long as the future, copied at once.
        unsafe {
            check(sys::cf_future_exception(self.as_raw(), seconds(timeout), &mut e), "Future::exception")?;
            Ok(if e.status == sys::CF_OK { None } else { Some(from_cf_error(&e)) })
        }
    }

    /// Runs `callback` once the future is done (finished or cancelled): on the thread that completes it, or at
    /// once on this thread when it is done already. Callbacks run in the order added. A callback that panics is
    /// reported on stderr and does not stop the others (the panic never crosses into C).
    pub fn add_done_callback<C>(&self, callback: C) -> Result<()>
    where
        C: FnOnce(&Future<T>) + Send + 'static,
        T: Send + 'static,
    {
        let boxed: Box<(Value<T>, C)> = Box::new((self.value.clone(), callback));
        let data = Box::into_raw(boxed);
        // SAFETY: valid handle; `done_callback::<T, C>` takes back the box exactly once.
        let rc = unsafe {
            sys::cf_future_add_done_callback(self.as_raw(), Some(done_callback::<T, C>), data as *mut c_void)
        };
        if rc < 0 {
            let err = last_error(rc, "Future::add_done_callback");
            // SAFETY: the library did not keep the callback, so the box is still ours.
            drop(unsafe { Box::from_raw(data) });
            return Err(err);
        }
        Ok(())
    }

    /// Waits for the outcome and returns the C result bytes (valid while self lives) or the failure.
    fn wait_bytes(&self, timeout: Option<Duration>, what: &str) -> Result<&[u8]> {
        let mut out = sys::cf_slice { data: ptr::null(), len: 0 };
        // SAFETY: valid handle and out-pointer.
        let rc = unsafe { sys::cf_future_result(self.as_raw(), seconds(timeout), &mut out) };
        if rc == sys::CF_OK {
            // SAFETY: the slice stays valid as long as the future, which `self` keeps alive.
            return Ok(unsafe { bytes_of(out) });
        }
        let fallback = last_error(rc, what);
        if matches!(rc, sys::CF_E_TIMEOUT | sys::CF_E_CANCELLED | sys::CF_E_INVALID_ARGUMENT) {
            return Err(fallback);
        }
        // A failure stored on the future: take its type, message and detail.
        let mut e = empty_error();
        // SAFETY: valid handle and out-pointer; the strings are copied at once.
        unsafe {
            if sys::cf_future_exception(self.as_raw(), 0.0, &mut e) == sys::CF_OK && e.status != sys::CF_OK {
                return Err(from_cf_error(&e));
            }
        }
        Err(fallback)
    }

    /// Waits for the outcome and moves the value out: the form for values that are not `Clone`.
    /// On [`Error::Timeout`] the future is gone; use [`wait`](Future::wait) first to wait in steps.
    pub fn into_result(self, timeout: Option<Duration>) -> Result<T> {
        let bytes = self.wait_bytes(timeout, "Future::into_result")?;
        match &self.value {
            Value::Bytes(decode) => Ok(decode(bytes)),
            Value::Slot(slot) => slot.with(|v| v.take()).ok_or_else(taken),
        }
    }
}

impl<T: Clone> Future<T> {
    /// Waits for the outcome (`None`: without limit; `Some(Duration::ZERO)`: not at all) and returns the value,
    /// or the failure: [`Error::Timeout`], [`Error::Cancelled`], [`Error::Task`] for a task that failed or
    /// panicked, [`Error::BrokenProcessPool`] when its worker died, ... Can be called any number of times.
    pub fn result(&self, timeout: Option<Duration>) -> Result<T> {
        let bytes = self.wait_bytes(timeout, "Future::result")?;
        match &self.value {
            Value::Bytes(decode) => Ok(decode(bytes)),
            Value::Slot(slot) => slot.with(|v| v.clone()).ok_or_else(taken),
        }
    }
}

impl Future<Vec<u8>> {
    /// Waits for the outcome and lends the result bytes without copying them (they live as long as the future).
    /// Only for futures of byte-string tasks (submit_named, submit_task, [`Promise`]).
    pub fn result_bytes(&self, timeout: Option<Duration>) -> Result<&[u8]> {
        match &self.value {
            Value::Bytes(_) => self.wait_bytes(timeout, "Future::result_bytes"),
            Value::Slot(_) => Err(Error::InvalidArgument(
                "Future::result_bytes: the value of a closure task lives on the Rust side; use result()".into(),
            )),
        }
    }
}

fn taken() -> Error {
    Error::InvalidState("Future::result: the value was already moved out by into_result".into())
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        // SAFETY: valid handle; the new reference is owned by the clone.
        unsafe { sys::cf_future_retain(self.as_raw()) };
        Future { raw: self.raw, value: self.value.clone() }
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        // SAFETY: this handle's own reference, released exactly once.
        unsafe { sys::cf_future_release(self.as_raw()) }
    }
}

impl<T> std::fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Future").field("handle", &self.raw).field("state", &self.state()).finish()
    }
}

unsafe extern "C" fn done_callback<T, C>(f: *mut sys::cf_future, data: *mut c_void)
where
    C: FnOnce(&Future<T>) + Send + 'static,
{
    // SAFETY: `data` is the box made by add_done_callback; the library calls this exactly once.
    let boxed = Box::from_raw(data as *mut (Value<T>, C));
    let outcome = catch_unwind(AssertUnwindSafe(move || {
        let (value, callback) = *boxed;
        // The callback gets a handle of its own (a new reference), released when it returns.
        sys::cf_future_retain(f);
        let future = Future::from_raw(f, value);
        callback(&future);
    }));
    if let Err(payload) = outcome {
        eprintln!("cfutures: a done callback panicked: {}", panic_message(&*payload));
    }
}

pub(crate) fn empty_error() -> sys::cf_error {
    sys::cf_error { status: sys::CF_OK, type_: ptr::null(), message: ptr::null(), detail: ptr::null() }
}

/// # Safety
/// `s` describes `len` readable bytes (or has len 0) that outlive the returned slice.
pub(crate) unsafe fn bytes_of<'a>(s: sys::cf_slice) -> &'a [u8] {
    if s.len == 0 || s.data.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts(s.data as *const u8, s.len)
    }
}

/// A future completed by hand: Python's `Future()` used by executors and tests (`cf_future_new`).
///
/// ```
/// let promise = cfutures::Promise::new().unwrap();
/// let future = promise.future();
/// std::thread::spawn(move || promise.set_result(b"hello").unwrap());
/// assert_eq!(future.result(None).unwrap(), b"hello");
/// ```
pub struct Promise {
    future: Future<Vec<u8>>,
}

impl Promise {
    /// A new pending future.
    pub fn new() -> Result<Promise> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid out-pointer; the reference is owned by the Future made from it.
        unsafe {
            check(sys::cf_future_new(&mut raw), "Promise::new")?;
            Ok(Promise { future: Future::from_raw(raw, Value::Bytes(<[u8]>::to_vec)) })
        }
    }

    /// Another handle to the future this promise completes.
    pub fn future(&self) -> Future<Vec<u8>> {
        self.future.clone()
    }

    /// Marks the future running: `Ok(true)`, or `Ok(false)` when it was cancelled (the callbacks have run);
    /// [`Error::InvalidState`] when it is running or done already.
    pub fn set_running_or_notify_cancel(&self) -> Result<bool> {
        // SAFETY: valid handle.
        let rc = unsafe { sys::cf_future_set_running_or_notify_cancel(self.future.as_raw()) };
        Ok(check(rc, "Promise::set_running_or_notify_cancel")? == 1)
    }

    /// Completes the future with a copy of `bytes`; [`Error::InvalidState`] when it is done already (the first
    /// value is kept).
    pub fn set_result(&self, bytes: &[u8]) -> Result<()> {
        // SAFETY: valid handle; the bytes are copied.
        let rc =
            unsafe { sys::cf_future_set_result(self.future.as_raw(), bytes.as_ptr() as *const c_void, bytes.len()) };
        check(rc, "Promise::set_result").map(drop)
    }

    /// Fails the future with [`Error::Task`] of this type and message.
    pub fn set_exception(&self, type_name: &str, message: &str) -> Result<()> {
        let type_name = crate::util::c_string(type_name, "Promise::set_exception: type")?;
        let message: CString = crate::util::c_string(message, "Promise::set_exception: message")?;
        // SAFETY: valid handle; the strings are copied.
        let rc = unsafe { sys::cf_future_set_exception(self.future.as_raw(), type_name.as_ptr(), message.as_ptr()) };
        check(rc, "Promise::set_exception").map(drop)
    }
}

impl std::fmt::Debug for Promise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Promise").field("future", &self.future).finish()
    }
}
