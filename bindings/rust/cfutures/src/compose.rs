// SPDX-License-Identifier: MIT
//! Futures made of futures: continuations ([`Future::then`], [`Future::then_cloned`], [`Future::then_bytes`],
//! [`Future::then_named`]) and joins ([`when_all`], [`when_any`]), over `cf_future_then_ex`,
//! `cf_future_then_named`, `cf_when_all` and `cf_when_any`.
//!
//! None of them holds a thread while it waits: each is a done callback of the library on its inputs, and a chain
//! of continuations submits one step when the one before it ends.
//!
//! How a typed step keeps Rust values on the Rust side, as [`ThreadPool::submit`] does: the step's closure, the
//! source's value source and the slot for the step's own value live in one box (`Step`), handed to
//! `cf_future_then_ex` as the task's user data with a `release_user_data` that frees it. The library calls that
//! release exactly once, after the step has run or when it never will (the source failed or was cancelled, the
//! continuation was cancelled, the submit failed, or the call itself failed), and never while the step runs. So
//! the trampoline may borrow the box while it runs, and the closure is dropped exactly once: consumed by its call,
//! or dropped unrun by the release. The step reads its input when it runs, after the source succeeded: a
//! closure's value from the source's slot (filled before the source's C future completed), a byte-string task's
//! value decoded from the result bytes the library passes as the step's argument.

use crate::error::{check, last_error, Error, Result};
use crate::executor::SubmitOptions;
use crate::future::{taken, Future, Slot, Value};
use crate::process_pool::ProcessPool;
use crate::task::{CurrentTask, TaskContext};
use crate::thread_pool::ThreadPool;
use crate::util::{c_string, panic_message};
use crate::wait::Waitable;
use cfutures_sys as sys;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Arc, Mutex};

mod sealed {
    pub trait Sealed {}
}

/// An executor that runs registered byte-string tasks by name: [`ThreadPool`] and [`ProcessPool`], the
/// executors [`Future::then_named`] accepts.
pub trait Executor: sealed::Sealed {
    /// The C handle (borrowed).
    #[doc(hidden)]
    fn raw_executor(&self) -> *mut sys::cf_executor;
}

impl sealed::Sealed for ThreadPool {}
impl Executor for ThreadPool {
    fn raw_executor(&self) -> *mut sys::cf_executor {
        self.as_raw()
    }
}
impl sealed::Sealed for ProcessPool {}
impl Executor for ProcessPool {
    fn raw_executor(&self) -> *mut sys::cf_executor {
        self.as_raw()
    }
}

/// How a step gets its input from the source's value and the source's result bytes (its C argument).
type Input<T> = fn(&Value<T>, &[u8]) -> Result<T>;

/// Moves the source's value into the step (`then`, `then_bytes`).
fn take_input<T>(source: &Value<T>, bytes: &[u8]) -> Result<T> {
    match source {
        Value::Slot(slot) => slot.take().ok_or_else(taken),
        Value::Bytes(decode) => Ok(decode(bytes)),
    }
}

/// Gives the step a copy of the source's value, leaving it in the source (`then_cloned`).
fn clone_input<T: Clone>(source: &Value<T>, bytes: &[u8]) -> Result<T> {
    match source {
        Value::Slot(slot) => slot.cloned().ok_or_else(taken),
        Value::Bytes(decode) => Ok(decode(bytes)),
    }
}

/// Where a step's value goes.
enum Output<U> {
    /// A slot the continuation's `Future` shares (the C future carries only completion and failures).
    Slot(Arc<Slot<U>>),
    /// The library's result bytes (`cf_task_return`), which C readers and `then_named` see.
    Bytes(for<'a> fn(&'a U) -> &'a [u8]),
}

/// What a continuation's step owns: its closure until it runs, where its input comes from, where its value goes.
/// Freed by `release_step` (see the module's notes).
struct Step<T, U, F> {
    closure: Mutex<Option<F>>,
    source: Value<T>,
    input: Input<T>,
    output: Output<U>,
}

/// Submits `f` as the continuation of `source` on `pool`, with its input read by `input` and its value stored
/// per `output`; the returned future reads its value through `value`.
fn then_closure<T, U, F>(
    source: &Future<T>,
    pool: &ThreadPool,
    f: F,
    input: Input<T>,
    output: Output<U>,
    value: Value<U>,
    what: &str,
) -> Result<Future<U>>
where
    F: FnOnce(T) -> U + Send + 'static,
    T: Send + 'static,
    U: Send + 'static,
{
    let step = Box::new(Step { closure: Mutex::new(Some(f)), source: source.value().clone(), input, output });
    let data = Box::into_raw(step) as *mut c_void;
    let mut options = SubmitOptions::new().raw();
    options.release_user_data = Some(release_step::<T, U, F>);
    let mut out = ptr::null_mut();
    // SAFETY: valid handles and options. From here on the box belongs to the library, which hands it to
    // release_step exactly once (also when this call fails: the options are valid), after run_step returned or
    // when it never will; the step may run, and the box be freed, before this call returns.
    let rc = unsafe {
        sys::cf_future_then_ex(source.as_raw(), pool.as_raw(), Some(run_step::<T, U, F>), data, &options, &mut out)
    };
    if rc < 0 {
        return Err(last_error(rc, what));
    }
    // SAFETY: we own the new reference.
    Ok(unsafe { Future::from_raw(out, value) })
}

unsafe extern "C" fn run_step<T, U, F>(
    ctx: *mut sys::cf_task_ctx,
    arg: *const c_void,
    arg_len: usize,
    data: *mut c_void,
) -> c_int
where
    F: FnOnce(T) -> U + Send + 'static,
    T: Send + 'static,
    U: Send + 'static,
{
    // SAFETY: the box outlives this call (release_step runs after it); the argument is the source's result bytes,
    // valid for the call.
    let step = &*(data as *const Step<T, U, F>);
    let arg: &[u8] =
        if arg.is_null() || arg_len == 0 { &[] } else { std::slice::from_raw_parts(arg as *const u8, arg_len) };
    let mut context = TaskContext::from_raw(ctx);
    // A panic in the closure, or in dropping it or its input, fails the step; it never unwinds into C.
    let outcome = catch_unwind(AssertUnwindSafe(|| -> c_int {
        let closure = step.closure.lock().unwrap_or_else(|e| e.into_inner()).take();
        let closure = match closure {
            Some(closure) => closure,
            None => return context.raise("InvalidStateError", "cfutures: a continuation ran twice"),
        };
        let input = match (step.input)(&step.source, arg) {
            Ok(input) => input,
            Err(e) => {
                drop(closure);
                return context.raise(e.kind_name(), &format!("the step's input: {}", e.message()));
            }
        };
        let _current = CurrentTask::enter(ctx);
        let value = closure(input);
        match &step.output {
            Output::Slot(slot) => {
                slot.put(value);
                sys::CF_OK
            }
            Output::Bytes(as_bytes) => match context.set_result(as_bytes(&value)) {
                Ok(()) => sys::CF_OK,
                Err(e) => context.raise(e.kind_name(), e.message()),
            },
        }
    }));
    match outcome {
        Ok(rc) => rc,
        Err(payload) => context.raise("panic", &panic_message(&*payload)),
    }
}

unsafe extern "C" fn release_step<T, U, F>(data: *mut c_void) {
    // SAFETY: the box made by then_closure; the library calls this exactly once, never while run_step runs.
    // Dropping a closure that never ran (or the values the box holds) may panic: that must not unwind into C.
    let step = Box::from_raw(data as *mut Step<T, U, F>);
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(step))) {
        eprintln!("cfutures: dropping a continuation's closure panicked: {}", panic_message(&*payload));
    }
}

impl<T> Future<T> {
    /// A continuation: once this future succeeds, `f` runs on `pool` with its value, and the returned future
    /// gets `f`'s value (kept on the Rust side, as [`ThreadPool::submit`] does).
    ///
    /// - The value is **moved** into `f`, as [`into_result`](Future::into_result) and `.await` move it, so `T`
    ///   need not be `Clone`; a [`clone`](Clone::clone) of this future then gets [`Error::InvalidState`] from
    ///   `result`. To keep the value readable (or to continue one future more than once), use
    ///   [`then_cloned`](Future::then_cloned).
    /// - A failure of this future (a panic included), or its cancellation, passes to the returned future without
    ///   running `f`; so does a failed submit ([`Error::Shutdown`] once `pool` is shut down). A panic in `f`
    ///   fails the returned future ([`Error::Task`] of type `"panic"`).
    /// - Cancelling the returned future before `f` starts cancels the step: `f` never runs. Once `f` runs, a
    ///   cancel only asks it to stop ([`cancel_requested`](crate::cancel_requested)), as for any task.
    /// - `f` is dropped exactly once: consumed by its call, or dropped unrun once it is known never to run
    ///   (when this future fails or is cancelled; when a cancelled step leaves the pool's queue; a continuation
    ///   cancelled while this future is still pending keeps `f` until this future is done).
    /// - Nothing waits on a thread: the step is submitted by a done callback when this future completes (at
    ///   once if it succeeded already). Chains of any length cost no thread and no stack.
    ///
    /// The returned future is awaitable like any other. [`Error::InvalidArgument`] for an invalid handle.
    ///
    /// ```
    /// use cfutures::{ThreadPool, ThreadPoolOptions};
    /// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
    /// let page = pool.submit(|| String::from("<h1>alpha</h1>")).unwrap();
    /// let length = page.then(&pool, |html| html.len()).unwrap().then(&pool, |n| n * 2).unwrap();
    /// assert_eq!(length.result(None).unwrap(), 28);
    ///
    /// // A failure passes on; the step does not run.
    /// let bad = pool.submit(|| -> u32 { panic!("no such page") }).unwrap();
    /// let next = bad.then(&pool, |n| n + 1).unwrap();
    /// assert!(matches!(next.result(None), Err(cfutures::Error::Task { .. })));
    /// ```
    pub fn then<U, F>(self, pool: &ThreadPool, f: F) -> Result<Future<U>>
    where
        F: FnOnce(T) -> U + Send + 'static,
        T: Send + 'static,
        U: Send + 'static,
    {
        let slot = Arc::new(Slot::new());
        let output = Output::Slot(Arc::clone(&slot));
        then_closure(&self, pool, f, take_input::<T>, output, Value::Slot(slot), "Future::then")
    }

    /// [`then`](Future::then) with a clone of the value: this future keeps its value, so it can still be read,
    /// awaited, and continued again (several continuations of one future).
    ///
    /// ```
    /// use cfutures::{when_all, ThreadPool, ThreadPoolOptions};
    /// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
    /// let words = pool.submit(|| vec!["alpha", "beta", "gamma"]).unwrap();
    /// let count = words.then_cloned(&pool, |w| w.len()).unwrap();
    /// let longest = words.then_cloned(&pool, |w| w.iter().map(|s| s.len()).max().unwrap()).unwrap();
    /// assert_eq!((count.result(None).unwrap(), longest.result(None).unwrap()), (3, 5));
    /// assert_eq!(words.result(None).unwrap().len(), 3);
    /// ```
    pub fn then_cloned<U, F>(&self, pool: &ThreadPool, f: F) -> Result<Future<U>>
    where
        F: FnOnce(T) -> U + Send + 'static,
        T: Clone + Send + 'static,
        U: Send + 'static,
    {
        let slot = Arc::new(Slot::new());
        let output = Output::Slot(Arc::clone(&slot));
        then_closure(self, pool, f, clone_input::<T>, output, Value::Slot(slot), "Future::then_cloned")
    }

    /// [`then`](Future::then) with a step that makes bytes, which the library holds as the result (as a
    /// byte-string task's), so that the returned future can be continued on a process pool with
    /// [`then_named`](Future::then_named), lend them with [`result_bytes`](Future::result_bytes), or be read
    /// from C. The bytes are copied once, into the library.
    ///
    /// ```
    /// use cfutures::{ThreadPool, ThreadPoolOptions};
    /// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
    /// let n = pool.submit(|| 7u64).unwrap();
    /// let bytes = n.then_bytes(&pool, |n| n.to_le_bytes().to_vec()).unwrap();
    /// assert_eq!(bytes.result_bytes(None).unwrap(), 7u64.to_le_bytes());
    /// ```
    pub fn then_bytes<F>(self, pool: &ThreadPool, f: F) -> Result<Future<Vec<u8>>>
    where
        F: FnOnce(T) -> Vec<u8> + Send + 'static,
        T: Send + 'static,
    {
        let output = Output::Bytes(Vec::as_slice);
        then_closure(&self, pool, f, take_input::<T>, output, Value::Bytes(<[u8]>::to_vec), "Future::then_bytes")
    }
}

impl Future<Vec<u8>> {
    /// A continuation by registered name ([`register_task`](crate::register_task)): once this future
    /// succeeds, the byte-string task `task` runs on `executor` with its result bytes as the argument (a
    /// [`ProcessPool`]'s worker gets them through shared memory), and the returned future gets the task's result.
    /// Failures, cancellations and cancelling the continuation pass on as for [`then`](Future::then). This
    /// future keeps its result.
    ///
    /// Only for futures whose bytes the library holds: byte-string tasks (`submit_named`, `submit_task`,
    /// `then_named`), [`then_bytes`](Future::then_bytes) and [`Promise`](crate::Promise) futures. A closure's
    /// `Vec<u8>` ([`ThreadPool::submit`], [`then`](Future::then)) lives on the Rust side: that is
    /// [`Error::InvalidArgument`]; make it with `then_bytes` instead. A name not registered fails the
    /// returned future with [`Error::UnknownTask`] once this one succeeds.
    ///
    /// ```
    /// use cfutures::{register_task, task_fn, TaskError, ThreadPool, ThreadPoolOptions};
    /// task_fn! {
    ///     fn shout(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
    ///         Ok(arg.to_ascii_uppercase())
    ///     }
    /// }
    /// register_task("doc.then.shout", shout).unwrap();
    /// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
    /// let word = pool.submit(|| "hello").unwrap().then_bytes(&pool, |s| s.as_bytes().to_vec()).unwrap();
    /// let loud = word.then_named(&pool, "doc.then.shout").unwrap(); // a ProcessPool works the same way
    /// assert_eq!(loud.result(None).unwrap(), b"HELLO");
    /// ```
    pub fn then_named<E: Executor + ?Sized>(&self, executor: &E, task: &str) -> Result<Future<Vec<u8>>> {
        if let Value::Slot(_) = self.value() {
            return Err(Error::InvalidArgument(
                "Future::then_named: the Vec<u8> of a closure lives on the Rust side, not in the library; \
                 make it with then_bytes"
                    .into(),
            ));
        }
        let name = c_string(task, "Future::then_named: task")?;
        let mut out = ptr::null_mut();
        // SAFETY: valid handles; the name is copied.
        unsafe {
            check(
                sys::cf_future_then_named(self.as_raw(), executor.raw_executor(), name.as_ptr(), &mut out),
                &format!("Future::then_named({task:?})"),
            )?;
            Ok(Future::from_raw(out, Value::Bytes(<[u8]>::to_vec)))
        }
    }
}

fn unit(_bytes: &[u8]) {}

/// The index `cf_when_any` stores: a `u64` in native byte order.
fn index_of(bytes: &[u8]) -> usize {
    bytes.try_into().map(u64::from_ne_bytes).map_or(usize::MAX, |i| i as usize)
}

fn handles<W: Waitable>(futures: &[W]) -> Vec<*mut sys::cf_future> {
    futures.iter().map(Waitable::raw_future).collect()
}

/// A future done when all of `futures` are (`cf_when_all`): it succeeds (with `()`) when every one
/// succeeded, and otherwise fails with the first failure, or is cancelled by the first cancellation, that it
/// saw. No input is consumed: each keeps its own result, read from its own handle once the join is done
/// (`result` or `into_result`, or `.await`, which then does not wait). Cancelling the join cancels no input.
/// No input at all gives a future done at once. Futures of different value types mix as `&dyn Waitable`.
///
/// ```
/// use cfutures::{when_all, ThreadPool, ThreadPoolOptions, Waitable};
/// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
/// let name = pool.submit(|| String::from("alpha")).unwrap();
/// let size = pool.submit(|| 1024u64).unwrap();
/// let both = when_all(&[&name as &dyn Waitable, &size]).unwrap();
/// both.result(None).unwrap();
/// assert!(name.done() && size.done());
/// assert_eq!((name.result(None).unwrap(), size.result(None).unwrap()), ("alpha".to_string(), 1024));
/// ```
pub fn when_all<W: Waitable>(futures: &[W]) -> Result<Future<()>> {
    let handles = handles(futures);
    let fs = if handles.is_empty() { ptr::null() } else { handles.as_ptr() };
    let mut out = ptr::null_mut();
    // SAFETY: n live handles (the library takes what it needs of them); valid out-pointer.
    unsafe {
        check(sys::cf_when_all(fs, handles.len(), &mut out), "when_all")?;
        Ok(Future::from_raw(out, Value::Bytes(unit)))
    }
}

/// A future done when the first of `futures` is (`cf_when_any`): its value is that future's index in
/// `futures`, whether it succeeded, failed or was cancelled; futures done already count first, in input order.
/// No input is consumed, and cancelling the returned future cancels none. [`Error::InvalidArgument`] for no
/// futures at all (nothing could ever be first).
///
/// ```
/// use cfutures::{when_any, Promise, ThreadPool, ThreadPoolOptions};
/// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
/// let never = Promise::new().unwrap(); // completed by no one
/// let quick = pool.submit(|| 42).unwrap();
/// let first = when_any(&[&never.future(), &pool.submit(|| vec![1u8]).unwrap()]).unwrap();
/// assert_eq!(first.result(None).unwrap(), 1);
/// assert_eq!(when_any(&[&quick]).unwrap().result(None).unwrap(), 0);
/// assert!(when_any::<&cfutures::Future<u8>>(&[]).is_err());
/// ```
pub fn when_any<W: Waitable>(futures: &[W]) -> Result<Future<usize>> {
    let handles = handles(futures);
    let fs = if handles.is_empty() { ptr::null() } else { handles.as_ptr() };
    let mut out = ptr::null_mut();
    // SAFETY: n live handles; valid out-pointer.
    unsafe {
        check(sys::cf_when_any(fs, handles.len(), &mut out), "when_any")?;
        Ok(Future::from_raw(out, Value::Bytes(index_of)))
    }
}
