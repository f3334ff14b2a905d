// SPDX-License-Identifier: MIT
//! [`Future`]: the eventual result of a task; [`Promise`]: a future completed by hand.

use crate::error::{check, from_cf_error, last_error, Error, Result};
use crate::util::{panic_message, seconds};
use cfutures_sys as sys;
use std::ffi::CString;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
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
    /// Moves the value out (`None`: not there, or moved out already).
    pub(crate) fn take(&self) -> Option<T> {
        self.with(Option::take)
    }
}

impl<T: Clone> Slot<T> {
    /// A copy of the value, left in place.
    pub(crate) fn cloned(&self) -> Option<T> {
        self.with(|v| v.clone())
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
/// # Awaiting
/// `Future<T>` also implements [`std::future::Future`] with `Output = Result<T>`, so `future.await` works in
/// any async runtime (tokio, async-std, smol, a hand-written executor): the task's waker is registered through
/// a done callback of the C future and woken on the thread that completes it, no thread blocks meanwhile.
/// Awaiting consumes the handle and moves the value out, as [`into_result`](Future::into_result) does, so `T`
/// need not be `Clone`; for a closure's future, a [`clone`](Clone::clone) of the same future (which shares the
/// value) then gets [`Error::InvalidState`] from `result`. A cancelled future gives [`Error::Cancelled`], a
/// failed one its failure. Dropping a future while it is awaited drops its waker at once.
///
/// ```
/// use cfutures::{ThreadPool, ThreadPoolOptions};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     // Any executor will do; this one parks the thread between polls.
/// #     struct Unpark(std::thread::Thread);
/// #     impl std::task::Wake for Unpark {
/// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
/// #     }
/// #     let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = Box::pin(f);
/// #     loop {
/// #         match f.as_mut().poll(&mut cx) {
/// #             std::task::Poll::Ready(out) => return out,
/// #             std::task::Poll::Pending => std::thread::park(),
/// #         }
/// #     }
/// # }
/// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
/// let sum = block_on(async {
///     let a = pool.submit(|| 20).unwrap();
///     let b = pool.submit(|| 22).unwrap();
///     Ok::<_, cfutures::Error>(a.await? + b.await?)
/// });
/// assert_eq!(sum.unwrap(), 42);
/// ```
///
/// # Thread safety
/// `Future<T>` is `Send` and `Sync` when `T: Send`: every `cf_future_*` call is thread-safe, the only
/// thread-unsafe one (releasing a handle another thread still uses) happens in `Drop`, which Rust runs only once
/// no borrow is left; the Rust-side value is only touched under a mutex, so sharing needs no `T: Sync`.
pub struct Future<T> {
    raw: NonNull<sys::cf_future>,
    value: Value<T>,
    /// Where the done callback finds the waker of the last poll; made and registered by the first poll that finds
    /// the future not done (each handle has its own: a clone is awaited on its own).
    waker: Option<Arc<WakerSlot>>,
}

/// The latest waker of an awaited future, shared with the C future's done callback (`wake_on_done`), which
/// takes it out and wakes it; the callback's release (`release_waker_slot`) drops the callback's `Arc`.
struct WakerSlot(Mutex<Option<Waker>>);

impl WakerSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
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
        Future { raw: NonNull::new(raw).expect("libcfutures returned CF_OK and a NULL future"), value, waker: None }
    }

    /// The same C future with another value source: takes over this handle's reference.
    pub(crate) fn with_value<U>(self, value: Value<U>) -> Future<U> {
        // The reference moves to the new handle: this one must not release it, but its other fields are dropped.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: each field is read out once, and `this` is neither used nor dropped afterwards.
        let (old_value, old_waker) = unsafe { (ptr::read(&this.value), ptr::read(&this.waker)) };
        drop(old_value);
        drop(old_waker);
        Future { raw: this.raw, value, waker: None }
    }

    /// Where this future's value comes from (for continuations, which read it in their step).
    pub(crate) fn value(&self) -> &Value<T> {
        &self.value
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
        self.take_result(timeout, "Future::into_result")
    }

    /// Waits for the outcome and moves the value out of the slot (a closure's) or decodes the bytes.
    fn take_result(&self, timeout: Option<Duration>, what: &str) -> Result<T> {
        let bytes = self.wait_bytes(timeout, what)?;
        match &self.value {
            Value::Bytes(decode) => Ok(decode(bytes)),
            Value::Slot(slot) => slot.take().ok_or_else(taken),
        }
    }

    /// Makes sure the done callback will wake `waker` (see `poll`): stores it as the latest one and, at the first
    /// call, registers the callback.
    fn register_waker(&mut self, waker: &Waker) -> Result<()> {
        if let Some(slot) = &self.waker {
            let mut current = slot.lock();
            if !current.as_ref().map_or(false, |w| w.will_wake(waker)) {
                // The replaced waker is dropped after the lock (dropping one may run the executor's code).
                let old = current.replace(waker.clone());
                drop(current);
                drop(old);
            }
            return Ok(());
        }
        let slot = Arc::new(WakerSlot(Mutex::new(Some(waker.clone()))));
        let data = Arc::into_raw(Arc::clone(&slot)) as *mut c_void;
        // SAFETY: valid handle; `data` is an `Arc` given to the library, which hands it to `release_waker_slot`
        // exactly once: after `wake_on_done` ran, when the future is freed unfinished, or now if the call fails.
        // The callback may run at once, on this thread, when the future is done by now.
        let rc = unsafe {
            sys::cf_future_add_done_callback_ex(self.as_raw(), Some(wake_on_done), data, Some(release_waker_slot))
        };
        if rc < 0 {
            return Err(last_error(rc, "Future::poll: cf_future_add_done_callback_ex"));
        }
        self.waker = Some(slot);
        Ok(())
    }
}

// Nothing in a `Future` is pinned (the C future lives on the heap), so polling it needs no `Pin` guarantees.
impl<T> Unpin for Future<T> {}

/// `future.await` gives the task's value or failure, as [`Future::into_result`] does without a timeout, without
/// blocking a thread: see "Awaiting" on [`Future`].
impl<T> std::future::Future for Future<T> {
    type Output = Result<T>;

    /// Ready once the C future is done. Otherwise the waker of `cx` is stored as the one to wake (replacing the
    /// one of an earlier poll), the C future's done callback is registered (once per handle), and the future is
    /// asked again: it may have completed between the first look and the registration, and then the callback
    /// (already run, perhaps before the waker was stored) will wake no one. The C state is set before the
    /// callbacks run, so a completion is either seen by that second look or followed by the callback, which takes
    /// the waker stored before the look. Polling again after `Ready` gives [`Error::InvalidState`] for a
    /// closure's future (the value was moved out), the result again for a byte-string task's.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        if !this.done() {
            if let Err(e) = this.register_waker(cx.waker()) {
                return Poll::Ready(Err(e));
            }
            if !this.done() {
                return Poll::Pending;
            }
        }
        Poll::Ready(this.take_result(Some(Duration::ZERO), "Future::poll"))
    }
}

unsafe extern "C" fn wake_on_done(_f: *mut sys::cf_future, data: *mut c_void) {
    // SAFETY: `data` is the slot's `Arc` given by register_waker, alive until release_waker_slot (called after
    // this). The waker is taken out under the lock and woken after it; neither may unwind into C.
    let slot = &*(data as *const WakerSlot);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let waker = slot.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }));
    if let Err(payload) = outcome {
        eprintln!("cfutures: waking an awaiting task panicked: {}", panic_message(&*payload));
    }
}

unsafe extern "C" fn release_waker_slot(data: *mut c_void) {
    // SAFETY: the `Arc` made by register_waker; the library calls this exactly once. The last reference drops a
    // waker that may still be stored, which runs the executor's code: no unwinding into C.
    let slot = Arc::from_raw(data as *const WakerSlot);
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(slot))) {
        eprintln!("cfutures: dropping an awaiting task's waker panicked: {}", panic_message(&*payload));
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
            Value::Slot(slot) => slot.cloned().ok_or_else(taken),
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

pub(crate) fn taken() -> Error {
    Error::InvalidState("Future::result: the value was already moved out by into_result or .await".into())
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        // SAFETY: valid handle; the new reference is owned by the clone.
        unsafe { sys::cf_future_retain(self.as_raw()) };
        Future { raw: self.raw, value: self.value.clone(), waker: None }
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        // A future dropped while awaited (e.g. the losing branch of a select) wakes no one later: its waker is
        // dropped now rather than when the C future completes. The slot itself is freed by the callback's release.
        if let Some(slot) = &self.waker {
            let waker = slot.lock().take();
            drop(waker);
        }
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
