// SPDX-License-Identifier: MIT
//! [`Scope`]: closures that borrow from the caller's stack, submitted to a [`ThreadPool`] inside
//! [`ThreadPool::scope`], which waits for all of them, as `std::thread::scope` does for threads.
//!
//! # Why this is sound
//!
//! A scoped closure (and the value it makes) may borrow anything that outlives `'scope`, the call of the scope's
//! body. The library, however, keeps a task's closure for as long as it likes: it may run it (perhaps after its
//! future is done, with a time limit or `cancel_running`), drop it unrun (cancelled, shut down), or, on a failed
//! submit, never see it. So its lifetime is erased (`transmute` to `'static`, as `std::thread::scope` does) and
//! [`ThreadPool::scope`] must not return, nor unwind, before every such closure is gone. That is what the
//! scope's counter ensures, and nothing else is relied on:
//!
//! - The counter (`ScopeState::pending`) starts at 1 for the body. Each submit adds 2 *before* the task is
//!   handed to the library: one unit for the closure, one for the future.
//! - The closure's unit is given back by `ScopedTask`'s `Drop`, which runs when the closure has run (at the end
//!   of the call, panicking or not) or when it is dropped unrun, whoever drops it (the library's release of the
//!   job, a failed submit). It first drops the closure and this task's handle on the value's slot, and only then
//!   gives the unit back, so nothing that may borrow is touched afterwards. A closure that is never dropped
//!   (leaked, which the binding does only when the library runs out of memory) keeps the scope waiting forever:
//!   a hang, never a dangling borrow.
//! - The future's unit is given back by the release of a done callback (`cf_future_add_done_callback_ex`),
//!   which the library calls once the future is done (or at once when the registration fails). It is not needed
//!   for soundness; it makes every scoped future done by the time the scope returns.
//! - It does not depend on [`Future`]s being dropped: a future leaked with `mem::forget` holds no unit. Its value
//!   slot, which may hold a borrowing value, is then leaked too, never touched again. A future kept beyond the
//!   body (returned from it) is one whose value type the borrow checker lets live that long: whatever the value
//!   borrows outlives the future, so reading or dropping the value later is fine. (The task's own handle on the
//!   slot is dropped before its unit is given back, see above.)
//! - The body's unit is given back after the body returned or panicked (`catch_unwind`); the scope then waits
//!   until the counter is 0, and only then returns or resumes the body's panic. Waiting cannot panic (poisoned
//!   locks are entered anyway).
//! - New tasks come only from code that holds `&'scope Scope`: the body, which holds its unit until it ends,
//!   or a scoped closure, which holds its own. So once the counter is 0, it stays 0.
//!
//! The wait goes through the library (a C future completed when the counter reaches 0), so that a scope opened
//! inside a task of a pool (its own or another) runs queued tasks while it waits instead of blocking the worker:
//! a nested scope cannot starve a full pool. A condition variable on the counter is the final word.

use crate::error::Result;
use crate::executor::SubmitOptions;
use crate::future::{empty_error, Future, Slot, Value};
use crate::thread_pool::ThreadPool;
use crate::util::panic_message;
use cfutures_sys as sys;
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Condvar, Mutex};

/// A scope of a [`ThreadPool`], given to the body of [`ThreadPool::scope`]: its [`submit`](Scope::submit) takes
/// closures that borrow from the caller's stack (anything that outlives the scope), because the scope waits for
/// every task submitted to it before it returns, as [`std::thread::scope`] waits for its threads.
///
/// The scope waits for the tasks themselves, not for their [`Future`]s: a future may be dropped, kept, or even
/// leaked with [`std::mem::forget`], and the scope still waits. Scoped tasks may submit more tasks to the same
/// scope (a `&Scope` can be captured: it is `Sync`).
///
/// ```
/// use cfutures::{ThreadPool, ThreadPoolOptions};
/// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(4)).unwrap();
/// let numbers: Vec<u64> = (1..=100).collect();
/// let mut sums = [0u64; 4];
/// pool.scope(|s| {
///     for (chunk, sum) in numbers.chunks(25).zip(sums.iter_mut()) {
///         s.submit(move || *sum = chunk.iter().sum()).unwrap();
///     }
/// });
/// assert_eq!(sums.iter().sum::<u64>(), 5050);
/// ```
///
/// A scoped future may leave the scope (it is done by then), but one whose value borrows cannot outlive what it
/// borrows:
///
/// ```compile_fail
/// use cfutures::{ThreadPool, ThreadPoolOptions};
/// let pool = ThreadPool::new(ThreadPoolOptions::new()).unwrap();
/// let name = String::from("borrowed");
/// let escaped = pool.scope(|s| s.submit(|| name.as_str()).unwrap());
/// drop(name);
/// println!("{}", escaped.result(None).unwrap());
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    pool: &'env ThreadPool,
    state: Arc<ScopeState>,
    // Invariance over both lifetimes, as in std::thread::Scope: 'scope can be neither shortened (tasks would
    // outlive it) nor lengthened.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Runs `f` on the scope's pool, as [`ThreadPool::submit`] does, but `f` and its value may borrow anything
    /// that outlives the scope. The scope waits until `f` has run (or was dropped unrun: a cancelled future or a
    /// shutdown with `cancel_futures`) and its future is done.
    ///
    /// A panic in `f` becomes the future's [`Error::Task`](crate::Error::Task) with type `"panic"`; it does not
    /// end the scope. [`Error::Shutdown`](crate::Error::Shutdown) after the pool's shutdown.
    pub fn submit<F, T>(&'scope self, f: F) -> Result<Future<T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.submit_inner(f, None)
    }

    /// [`submit`](Scope::submit) with per-task options, as [`ThreadPool::submit_with`]. A task past its time limit
    /// has a failed future but may still be running: the scope waits for the closure to return too.
    pub fn submit_with<F, T>(&'scope self, f: F, options: &SubmitOptions) -> Result<Future<T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.submit_inner(f, Some(options))
    }

    /// The pool this scope submits to.
    pub fn pool(&self) -> &'env ThreadPool {
        self.pool
    }

    fn submit_inner<F, T>(&'scope self, f: F, options: Option<&SubmitOptions>) -> Result<Future<T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let slot = Arc::new(Slot::new());
        // Both units first: from here on the library may run the closure at any moment.
        self.state.add(2);
        let task = ScopedTask { f: Some(f), slot: Some(Arc::clone(&slot)), state: Arc::clone(&self.state) };
        let job: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || task.run());
        // SAFETY: only the lifetime changes (the same fat pointer). The job is not used beyond 'scope: the scope
        // does not end before `task` is dropped (see the module's comment), and dropping it is the last thing the
        // job does with anything it borrows.
        let job: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(job) };
        let future = match self.pool.submit_boxed(job, options) {
            Ok(future) => future,
            Err(e) => {
                // The closure's unit went with the job, dropped by the failed submit; this is the future's.
                self.state.done_one();
                return Err(e);
            }
        };
        let data = Arc::into_raw(Arc::clone(&self.state)) as *mut c_void;
        // SAFETY: valid handle; the library passes `data` (an `Arc`) to `release_future_unit` exactly once, after
        // the callback ran, or at once when this call fails: the result needs no check.
        unsafe {
            sys::cf_future_add_done_callback_ex(future.as_raw(), Some(future_done), data, Some(release_future_unit))
        };
        Ok(future.with_value(Value::Slot(slot)))
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("pool", self.pool).field("pending", &*self.state.lock()).finish()
    }
}

/// `ThreadPool::scope`: see [`Scope`] and the module's comment.
pub(crate) fn run<'env, F, R>(pool: &'env ThreadPool, body: F) -> R
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
{
    let scope = Scope { pool, state: Arc::new(ScopeState::new()), scope: PhantomData, env: PhantomData };
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&scope)));
    scope.state.done_one(); // the body's unit
    scope.state.wait();
    match outcome {
        Ok(value) => value,
        Err(payload) => resume_unwind(payload),
    }
}

/// What a scope waits for; shared by the scope, its tasks and their callbacks.
struct ScopeState {
    /// 1 for the body until it ends, plus per task 1 until its closure is gone and 1 until its future is done.
    pending: Mutex<usize>,
    /// Notified when `pending` reaches 0.
    zero: Condvar,
    /// Completed when `pending` reaches 0 (absent when `cf_future_new` failed: then only the condvar is used).
    latch: Option<NonNull<sys::cf_future>>,
}

// SAFETY: the counter is behind a mutex; the latch is only used through thread-safe cf_future_* calls, and released
// in Drop, once nobody else holds the state.
unsafe impl Send for ScopeState {}
// SAFETY: as above.
unsafe impl Sync for ScopeState {}

impl ScopeState {
    fn new() -> ScopeState {
        let mut raw = ptr::null_mut();
        // SAFETY: valid out-pointer; the reference is released in Drop.
        let latch = if unsafe { sys::cf_future_new(&mut raw) } == sys::CF_OK { NonNull::new(raw) } else { None };
        ScopeState { pending: Mutex::new(1), zero: Condvar::new(), latch }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, n: usize) {
        *self.lock() += n;
    }

    /// Gives one unit back; the last one opens the latch and wakes the waiting scope.
    fn done_one(&self) {
        let last = {
            let mut pending = self.lock();
            *pending -= 1;
            *pending == 0
        };
        if last {
            if let Some(latch) = self.latch {
                // SAFETY: the latch lives as long as self. Only the last unit gets here, once. The waiting scope
                // may go on (and drop the state, releasing the latch) as soon as it is woken, while this call still
                // ends its work on the latch: the reference held across the call keeps it, and orders the latch's
                // end after the call inside the library, where ThreadSanitizer sees it (the Arc that orders it too
                // is uninstrumented Rust).
                unsafe {
                    sys::cf_future_retain(latch.as_ptr());
                    sys::cf_future_set_result(latch.as_ptr(), ptr::null(), 0);
                    sys::cf_future_release(latch.as_ptr());
                }
            }
            // The counter went to 0 under the lock: a waiter has either seen that or is waiting to be told.
            self.zero.notify_all();
        }
    }

    /// Waits until the counter is 0. Never panics.
    fn wait(&self) {
        if let Some(latch) = self.latch {
            let mut e = empty_error();
            // SAFETY: valid handle and out-pointer. On a pool's worker thread this wait runs queued tasks
            // meanwhile. Whatever it returns, the counter below decides. As in done_one, a reference of this
            // call's own orders its reads of the latch before the latch's end inside the library (the state's
            // last Arc, which frees it, may be dropped by a task's thread).
            unsafe {
                sys::cf_future_retain(latch.as_ptr());
                sys::cf_future_exception(latch.as_ptr(), sys::CF_FOREVER, &mut e);
                sys::cf_future_release(latch.as_ptr());
            }
        }
        let mut pending = self.lock();
        while *pending > 0 {
            pending = self.zero.wait(pending).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for ScopeState {
    fn drop(&mut self) {
        if let Some(latch) = self.latch {
            // SAFETY: our own reference, released once.
            unsafe { sys::cf_future_release(latch.as_ptr()) }
        }
    }
}

/// A scoped closure with its share of the value's slot and the closure's unit of the scope's counter. However it
/// ends (run, panicked, dropped unrun), its `Drop` gives the unit back last.
struct ScopedTask<F, T> {
    f: Option<F>,
    slot: Option<Arc<Slot<T>>>,
    state: Arc<ScopeState>,
}

impl<F: FnOnce() -> T, T> ScopedTask<F, T> {
    fn run(mut self) {
        let f = self.f.take().expect("a scoped task runs once");
        // A panic unwinds through here: `self` is dropped all the same (and the trampoline reports the panic).
        let value = f();
        if let Some(slot) = &self.slot {
            slot.put(value);
        }
    }
}

impl<F, T> Drop for ScopedTask<F, T> {
    fn drop(&mut self) {
        /// Gives the unit back when dropped: declared first, so dropped last, even when a drop below panics.
        struct GiveBack<'a>(&'a ScopeState);
        impl Drop for GiveBack<'_> {
            fn drop(&mut self) {
                self.0.done_one();
            }
        }
        let _give_back = GiveBack(&self.state);
        let slot = self.slot.take();
        let f = self.f.take();
        drop(f); // a closure not run: its captures
        drop(slot); // perhaps the last handle on the value (the future was dropped or leaked)
    }
}

unsafe extern "C" fn future_done(_f: *mut sys::cf_future, _data: *mut c_void) {
    // Nothing: the release below, which follows it, gives the future's unit back.
}

unsafe extern "C" fn release_future_unit(data: *mut c_void) {
    // SAFETY: the `Arc` made by submit_inner; the library calls this exactly once.
    let state = Arc::from_raw(data as *const ScopeState);
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || state.done_one())) {
        eprintln!("cfutures: a scope's bookkeeping panicked: {}", panic_message(&*payload));
    }
}
