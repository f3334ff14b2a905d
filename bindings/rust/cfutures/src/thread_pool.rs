// SPDX-License-Identifier: MIT
//! [`ThreadPool`]: Python's `ThreadPoolExecutor`, running Rust closures and byte-string tasks.

use crate::error::{check, last_error, Error, Result};
use crate::executor::{ByteMap, MapOptions, RawExecutor, Stats, SubmitOptions};
use crate::future::{Future, Slot, Value};
use crate::scope::Scope;
use crate::task::{CurrentTask, TaskContext, TaskFn};
use crate::util::{c_string, panic_message};
use cfutures_sys as sys;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::ffi::CString;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Initializer = dyn Fn() -> std::result::Result<(), String> + Send + Sync + 'static;

/// Options of a [`ThreadPool`], as a builder: `ThreadPool::new(ThreadPoolOptions::new().max_workers(4))`.
#[derive(Clone, Default)]
pub struct ThreadPoolOptions {
    max_workers: usize,
    thread_name_prefix: Option<String>,
    initializer: Option<Arc<Initializer>>,
    cancel_running: bool,
}

impl ThreadPoolOptions {
    /// The defaults: `min(32, CPUs + 4)` workers, threads named `cf<k>_<i>`, no initializer.
    pub fn new() -> ThreadPoolOptions {
        ThreadPoolOptions::default()
    }
    /// At most this many threads (0: `min(32, usable CPUs + 4)`; more than 65536 is invalid).
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = n;
        self
    }
    /// Threads are named `<prefix>_<i>` (cut to 15 bytes).
    pub fn thread_name_prefix(mut self, prefix: &str) -> Self {
        self.thread_name_prefix = Some(prefix.to_string());
        self
    }
    /// Runs once in each new worker thread before its first task. An `Err` (or a panic) breaks the pool:
    /// pending and later submits fail with [`Error::BrokenThreadPool`].
    pub fn initializer<F>(mut self, f: F) -> Self
    where
        F: Fn() -> std::result::Result<(), String> + Send + Sync + 'static,
    {
        self.initializer = Some(Arc::new(f));
        self
    }
    /// `true` lets [`Future::cancel`] cancel a running task: `cancel` returns true and the future ends
    /// cancelled at once; the task is asked to stop ([`cancel_requested`](crate::cancel_requested)), but a
    /// thread cannot be stopped, so it runs on and its late result is discarded. Shutdown with `cancel_futures`
    /// then cancels running tasks too. `false` (default): as CPython, a running task cannot be cancelled.
    pub fn cancel_running(mut self, cancel_running: bool) -> Self {
        self.cancel_running = cancel_running;
        self
    }
}

impl std::fmt::Debug for ThreadPoolOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPoolOptions")
            .field("max_workers", &self.max_workers)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("initializer", &self.initializer.is_some())
            .field("cancel_running", &self.cancel_running)
            .finish()
    }
}

/// A pool of threads: Python's `ThreadPoolExecutor`.
///
/// Dropping it shuts it down and waits for every submitted task (like leaving a `with` block). It is `Send` and
/// `Sync` (all the library's executor calls are thread-safe; freeing happens in `Drop`), so one pool may be
/// shared, e.g. in an `Arc`. Do not let the last owner be dropped by one of the pool's own tasks: the drop
/// waits for the pool's tasks, that one included.
///
/// ```
/// use cfutures::{ThreadPool, ThreadPoolOptions, Error};
/// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(4)).unwrap();
/// let five = pool.submit(|| 2 + 3).unwrap();
/// assert_eq!(five.result(None).unwrap(), 5);
/// let bad = pool.submit(|| -> u32 { panic!("no such page") }).unwrap();
/// assert!(matches!(bad.result(None), Err(Error::Task { .. })));
/// ```
pub struct ThreadPool {
    // Field order matters: the executor is freed (its threads joined) before the initializer they call is dropped.
    exec: RawExecutor,
    _initializer: Option<Box<Arc<Initializer>>>,
    /// Futures of this pool may complete while their task still runs (see `submit_closure`).
    cancel_running: bool,
}

impl ThreadPool {
    /// Starts a pool (threads are started on demand, as in Python).
    pub fn new(options: ThreadPoolOptions) -> Result<ThreadPool> {
        let mut o = sys::cf_thread_pool_options {
            struct_size: 0,
            max_workers: 0,
            thread_name_prefix: ptr::null(),
            initializer: None,
            initarg: ptr::null(),
            initarg_len: 0,
            initializer_data: ptr::null_mut(),
            cancel_running: 0,
        };
        // SAFETY: valid out-pointer.
        unsafe { sys::cf_thread_pool_options_init(&mut o) };
        o.max_workers = options.max_workers;
        o.cancel_running = options.cancel_running as i32;
        let prefix: Option<CString> = match &options.thread_name_prefix {
            Some(p) => Some(c_string(p, "ThreadPool::new: thread_name_prefix")?),
            None => None,
        };
        if let Some(p) = &prefix {
            o.thread_name_prefix = p.as_ptr();
        }
        let initializer: Option<Box<Arc<Initializer>>> = options.initializer.map(Box::new);
        if let Some(init) = &initializer {
            o.initializer = Some(run_initializer);
            o.initializer_data = &**init as *const Arc<Initializer> as *mut c_void;
        }
        let mut raw = ptr::null_mut();
        // SAFETY: the options and strings are valid for the call (the library copies them); the initializer box
        // lives in the returned pool, whose Drop frees the executor first.
        check(unsafe { sys::cf_thread_pool_new(&o, &mut raw) }, "ThreadPool::new")?;
        Ok(ThreadPool {
            exec: unsafe { RawExecutor::from_raw(raw) },
            _initializer: initializer,
            cancel_running: options.cancel_running,
        })
    }

    /// Runs `f` on the pool. Its value is kept on the Rust side and comes back through [`Future::result`];
    /// a panic in `f` is caught and becomes the future's [`Error::Task`] with type `"panic"`.
    ///
    /// If the future is cancelled before `f` starts (or the pool is shut down with `cancel_futures`), `f` is
    /// dropped without running. [`Error::Shutdown`] after [`shutdown`](ThreadPool::shutdown),
    /// [`Error::BrokenThreadPool`] once an initializer failed.
    pub fn submit<F, T>(&self, f: F) -> Result<Future<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        submit_closure(&self.exec, f, None, self.cancel_running)
    }

    /// [`submit`](ThreadPool::submit) with per-task options (`cf_submit_ex`). Past its
    /// [`time_limit`](SubmitOptions::time_limit) (counted from when `f` starts) the future fails with
    /// [`Error::TimeLimit`] and `f` sees [`cancel_requested`](crate::cancel_requested); a thread cannot be
    /// stopped, so `f` runs on until it returns, and its value is then dropped. If the limit passes before `f`
    /// was even entered, `f` is dropped without running.
    ///
    /// ```
    /// use cfutures::{Error, SubmitOptions, ThreadPool, ThreadPoolOptions};
    /// use std::time::Duration;
    /// let pool = ThreadPool::new(ThreadPoolOptions::new()).unwrap();
    /// let limited = SubmitOptions::new().time_limit(Duration::from_millis(50));
    /// let slow = pool
    ///     .submit_with(
    ///         || {
    ///             while !cfutures::cancel_requested() {
    ///                 std::thread::sleep(Duration::from_millis(1));
    ///             }
    ///             "stopped"
    ///         },
    ///         &limited,
    ///     )
    ///     .unwrap();
    /// assert!(matches!(slow.result(None), Err(Error::TimeLimit(_))));
    /// ```
    pub fn submit_with<F, T>(&self, f: F, options: &SubmitOptions) -> Result<Future<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        submit_closure(&self.exec, f, Some(options), self.cancel_running)
    }

    /// Runs `body` with a [`Scope`] whose [`submit`](Scope::submit) takes closures that borrow from the caller's
    /// stack (no `'static` needed), as [`std::thread::scope`] does for threads. Before it returns (or resumes a
    /// panic of `body`), it waits until every task submitted to the scope has run, or was dropped unrun when its
    /// future was cancelled, and its future is done; whether or not the futures were kept, dropped or leaked.
    ///
    /// Called inside a task of a pool, the wait runs queued tasks of that pool meanwhile (as a
    /// [`Future::result`] does there), so scopes may nest even in a one-thread pool.
    ///
    /// ```
    /// use cfutures::{ThreadPool, ThreadPoolOptions};
    /// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(4)).unwrap();
    /// let words = vec!["alpha".to_string(), "beta".to_string(), "gamma".to_string()];
    /// let mut lengths = vec![0; words.len()];
    /// let shortest = pool.scope(|s| {
    ///     for (word, length) in words.iter().zip(lengths.iter_mut()) {
    ///         s.submit(move || *length = word.len()).unwrap();
    ///     }
    ///     // A scoped task's value may borrow too.
    ///     let shortest = s.submit(|| words.iter().min_by_key(|w| w.len()).unwrap().as_str()).unwrap();
    ///     shortest.result(None).unwrap().to_string()
    /// });
    /// assert_eq!(lengths, [5, 4, 5]);
    /// assert_eq!(shortest, "beta");
    /// ```
    pub fn scope<'env, F, R>(&'env self, body: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        crate::scope::run(self, body)
    }

    /// Submits a closure whose lifetime a [`Scope`] erased (see `scope.rs`).
    pub(crate) fn submit_boxed(
        &self,
        f: Box<dyn FnOnce() + Send + 'static>,
        options: Option<&SubmitOptions>,
    ) -> Result<Future<()>> {
        submit_closure(&self.exec, f, options, self.cancel_running)
    }

    /// Runs the byte-string task registered under `task` (see [`register_task`](crate::register_task)).
    pub fn submit_named(&self, task: &str, arg: &[u8]) -> Result<Future<Vec<u8>>> {
        self.exec.submit_named(task, arg, None)
    }

    /// Runs a byte-string task function (registered or not).
    pub fn submit_task(&self, task: TaskFn, arg: &[u8]) -> Result<Future<Vec<u8>>> {
        self.exec.submit_task(task, arg, None)
    }

    /// [`submit_named`](ThreadPool::submit_named) with per-task options (`cf_submit_named_ex`), as
    /// [`submit_with`](ThreadPool::submit_with).
    pub fn submit_named_with(&self, task: &str, arg: &[u8], options: &SubmitOptions) -> Result<Future<Vec<u8>>> {
        self.exec.submit_named(task, arg, Some(options))
    }

    /// [`submit_task`](ThreadPool::submit_task) with per-task options (`cf_submit_ex`), as
    /// [`submit_with`](ThreadPool::submit_with).
    pub fn submit_task_with(&self, task: TaskFn, arg: &[u8], options: &SubmitOptions) -> Result<Future<Vec<u8>>> {
        self.exec.submit_task(task, arg, Some(options))
    }

    /// A snapshot of the pool's counters: threads, queue, outcomes.
    pub fn stats(&self) -> Result<Stats> {
        self.exec.stats()
    }

    /// Python's `executor.map`: `f` over every input, `options.chunksize` items per task, results in input order.
    ///
    /// Every chunk is submitted before this returns. The iterator yields `Ok(value)` per item; a panic in `f`,
    /// the end of `options.timeout` (counted from this call) or a cancelled chunk is yielded once as an `Err`
    /// and ends the iteration (the items before it in its chunk are still yielded). Dropping the iterator
    /// cancels the chunks not started. `buffersize` and `unordered` apply to byte-string maps only.
    ///
    /// ```
    /// use cfutures::{MapOptions, ThreadPool, ThreadPoolOptions};
    /// let pool = ThreadPool::new(ThreadPoolOptions::new()).unwrap();
    /// let squares: Vec<u64> = pool
    ///     .map(|x: u64| x * x, 1..=5, &MapOptions::new().chunksize(2))
    ///     .unwrap()
    ///     .collect::<Result<_, _>>()
    ///     .unwrap();
    /// assert_eq!(squares, [1, 4, 9, 16, 25]);
    /// ```
    pub fn map<A, T, F, I>(&self, f: F, inputs: I, options: &MapOptions) -> Result<MapResults<T>>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + 'static,
        I: IntoIterator<Item = A>,
    {
        if options.chunksize == 0 {
            return Err(Error::InvalidArgument("ThreadPool::map: chunksize must be at least 1".into()));
        }
        let deadline = options.timeout.map(|t| Instant::now() + t);
        let f = Arc::new(f);
        let mut chunks = VecDeque::new();
        let mut inputs = inputs.into_iter();
        let mut first = 0usize;
        loop {
            let chunk: Vec<A> = inputs.by_ref().take(options.chunksize).collect();
            if chunk.is_empty() {
                break;
            }
            let (f, n) = (Arc::clone(&f), chunk.len());
            let submitted = self.submit(move || run_chunk(&*f, chunk, first));
            match submitted {
                Ok(future) => chunks.push_back(future),
                Err(e) => {
                    for c in &chunks {
                        c.cancel();
                    }
                    return Err(e);
                }
            }
            first += n;
        }
        Ok(MapResults { chunks, current: Vec::new().into_iter(), failure: None, deadline, finished: false })
    }

    /// A byte-string task function over byte-string inputs through the library's `cf_map` (all of
    /// [`MapOptions`] apply).
    pub fn map_task<I>(&self, task: TaskFn, inputs: I, options: &MapOptions) -> Result<ByteMap<'_>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.exec.map_task(task, inputs, options)
    }

    /// Like [`map_task`](ThreadPool::map_task), for a task registered with
    /// [`register_task`](crate::register_task).
    pub fn map_named<I>(&self, task: &str, inputs: I, options: &MapOptions) -> Result<ByteMap<'_>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.exec.map_named(task, inputs, options)
    }

    /// Python's `shutdown(wait, cancel_futures)`: no new tasks ([`Error::Shutdown`]); `wait` blocks until the
    /// submitted tasks have finished; `cancel_futures` cancels those not started (and, with
    /// [`cancel_running`](ThreadPoolOptions::cancel_running), the running ones). Idempotent.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) -> Result<()> {
        self.exec.shutdown(wait, cancel_futures)
    }

    /// The C handle, still owned by the pool (for use with `cfutures_sys`).
    pub fn as_raw(&self) -> *mut sys::cf_executor {
        self.exec.as_raw()
    }
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool").field("handle", &self.exec.as_raw()).finish()
    }
}

/// What a closure task owns: the closure until it runs, and the slot its value goes to.
///
/// Who frees it depends on whether the future can complete while its task still runs:
/// - Not (the default): a future completes only after its task returned, so the C future's done callback owns
///   the job (it frees it once the future is done, whether the closure ran or was cancelled) and the task's
///   trampoline borrows it through the `user_data` pointer.
/// - It can (a time limit, or a pool with `cancel_running`): the done callback may run before, during or after
///   the task, and the library may even call the task after the callback (a time limit can pass between the
///   task being marked running and the call). So the task gets no pointer, but a key into `LIVE_JOBS`: the
///   done callback removes the job from it (dropping the closure if it has not been taken yet), and the
///   trampoline holds its own `Arc` while it runs; a trampoline that finds no job returns at once.
struct Job<F, T> {
    closure: Mutex<Option<F>>,
    slot: Arc<Slot<T>>,
}

type AnyJob = Arc<dyn Any + Send + Sync>;

/// The jobs of futures that may complete while their task runs, by key (see `Job`).
static LIVE_JOBS: Mutex<Option<HashMap<usize, AnyJob>>> = Mutex::new(None);
static NEXT_JOB_KEY: AtomicUsize = AtomicUsize::new(1);

fn live_jobs<R>(f: impl FnOnce(&mut HashMap<usize, AnyJob>) -> R) -> R {
    let mut guard = LIVE_JOBS.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

/// Submits a closure; `cancel_running` says whether the pool lets running futures be cancelled.
pub(crate) fn submit_closure<F, T>(
    exec: &RawExecutor,
    f: F,
    options: Option<&SubmitOptions>,
    cancel_running: bool,
) -> Result<Future<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let raw_options = options.map(SubmitOptions::raw);
    let o = raw_options.as_ref().map_or(ptr::null(), |o| o as *const sys::cf_submit_options);
    if cancel_running || options.map_or(false, SubmitOptions::has_time_limit) {
        return submit_detached(exec, f, o);
    }
    let slot = Arc::new(Slot::new());
    let job = Box::into_raw(Box::new(Job { closure: Mutex::new(Some(f)), slot: Arc::clone(&slot) }));
    let mut out = ptr::null_mut();
    // SAFETY: the job pointer stays valid until release_job frees it (after the future is done, which here
    // happens only after the task returned); the options are valid for the call.
    let rc = unsafe {
        sys::cf_submit_ex(exec.as_raw(), Some(run_job::<F, T>), job as *mut c_void, ptr::null(), 0, o, &mut out)
    };
    if rc < 0 {
        let err = last_error(rc, "ThreadPool::submit");
        // SAFETY: the task was not queued, so nothing else refers to the job.
        drop(unsafe { Box::from_raw(job) });
        return Err(err);
    }
    // SAFETY: we own the new reference.
    let future = unsafe { Future::from_raw(out, Value::Slot(slot)) };
    // SAFETY: valid handle; release_job takes the job back exactly once, when the future is done.
    let rc = unsafe { sys::cf_future_add_done_callback(out, Some(release_job::<F, T>), job as *mut c_void) };
    if rc < 0 {
        // The task may run at any moment, so the job cannot be freed here: it is leaked (only on out-of-memory).
        return Err(last_error(rc, "ThreadPool::submit: cf_future_add_done_callback"));
    }
    Ok(future)
}

/// `submit_closure` for a future that may complete while its task runs: the job lives in `LIVE_JOBS`.
fn submit_detached<F, T>(exec: &RawExecutor, f: F, o: *const sys::cf_submit_options) -> Result<Future<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(Slot::new());
    let job: AnyJob = Arc::new(Job { closure: Mutex::new(Some(f)), slot: Arc::clone(&slot) });
    let key = NEXT_JOB_KEY.fetch_add(1, Ordering::Relaxed);
    live_jobs(|jobs| jobs.insert(key, job));
    let mut out = ptr::null_mut();
    // SAFETY: the user data is a key, not a pointer; the options are valid for the call.
    let rc = unsafe {
        sys::cf_submit_ex(
            exec.as_raw(),
            Some(run_detached_job::<F, T>),
            key as *mut c_void,
            ptr::null(),
            0,
            o,
            &mut out,
        )
    };
    if rc < 0 {
        let err = last_error(rc, "ThreadPool::submit");
        let job = live_jobs(|jobs| jobs.remove(&key));
        drop(job); // outside the lock: dropping the closure runs user code
        return Err(err);
    }
    // SAFETY: we own the new reference.
    let future = unsafe { Future::from_raw(out, Value::Slot(slot)) };
    // SAFETY: valid handle; the callback only takes the key out of LIVE_JOBS.
    let rc = unsafe { sys::cf_future_add_done_callback(out, Some(release_detached_job::<F, T>), key as *mut c_void) };
    if rc < 0 {
        // Only on out-of-memory: the job stays in LIVE_JOBS (leaked) for the task to find, if it runs.
        return Err(last_error(rc, "ThreadPool::submit: cf_future_add_done_callback"));
    }
    Ok(future)
}

/// Runs the job's closure (taken out under its mutex) and stores its value. `None` when the closure was taken
/// already.
///
/// # Safety
/// `ctx` is the running task's context.
unsafe fn run_closure<F, T>(ctx: *mut sys::cf_task_ctx, job: &Job<F, T>) -> Option<c_int>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let closure = job.closure.lock().unwrap_or_else(|e| e.into_inner()).take()?;
    let context = TaskContext::from_raw(ctx);
    let _current = CurrentTask::enter(ctx);
    Some(match catch_unwind(AssertUnwindSafe(closure)) {
        Ok(value) => {
            job.slot.put(value);
            sys::CF_OK
        }
        Err(payload) => context.raise("panic", &panic_message(&*payload)),
    })
}

unsafe extern "C" fn run_job<F, T>(
    ctx: *mut sys::cf_task_ctx,
    _arg: *const c_void,
    _len: usize,
    data: *mut c_void,
) -> c_int
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: the job outlives this call (see Job).
    let job = &*(data as *const Job<F, T>);
    match run_closure(ctx, job) {
        Some(rc) => rc,
        None => TaskContext::from_raw(ctx).raise("InvalidStateError", "cfutures: a closure task ran twice"),
    }
}

unsafe extern "C" fn release_job<F, T>(_f: *mut sys::cf_future, data: *mut c_void) {
    // SAFETY: the box made by submit_closure; the library calls this exactly once, after the task (if it ran)
    // has returned. Dropping a closure that never ran may panic: that must not unwind into C.
    let job = Box::from_raw(data as *mut Job<F, T>);
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(job))) {
        eprintln!("cfutures: dropping a task's closure panicked: {}", panic_message(&*payload));
    }
}

unsafe extern "C" fn run_detached_job<F, T>(
    ctx: *mut sys::cf_task_ctx,
    _arg: *const c_void,
    _len: usize,
    data: *mut c_void,
) -> c_int
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let key = data as usize;
    // The future may be done already (a time limit that passed before this call): then nothing is left to run.
    let job = match live_jobs(|jobs| jobs.get(&key).cloned()) {
        Some(job) => job,
        None => return sys::CF_OK,
    };
    // The last reference may be this one (the future completed meanwhile): dropping the job, the value it holds
    // or a panic's payload must not unwind into C.
    let outcome = catch_unwind(AssertUnwindSafe(move || {
        let job = job.downcast::<Job<F, T>>().unwrap_or_else(|_| unreachable!("a job of another type"));
        // A closure already taken: the future was done before the task began (its late result is discarded).
        run_closure(ctx, &job).unwrap_or(sys::CF_OK)
    }));
    match outcome {
        Ok(rc) => rc,
        Err(payload) => {
            eprintln!("cfutures: dropping a task's value panicked: {}", panic_message(&*payload));
            sys::CF_OK
        }
    }
}

unsafe extern "C" fn release_detached_job<F, T>(_f: *mut sys::cf_future, data: *mut c_void)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let key = data as usize;
    let job = live_jobs(|jobs| jobs.remove(&key));
    // Outside the lock: the closure (when the task has not taken it) and perhaps the job are dropped here, which
    // runs user code; a running task keeps its own reference.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || {
        if let Some(job) = job {
            if let Ok(job) = job.downcast::<Job<F, T>>() {
                let closure = job.closure.lock().unwrap_or_else(|e| e.into_inner()).take();
                drop(closure);
            }
        }
    })) {
        eprintln!("cfutures: dropping a task's closure panicked: {}", panic_message(&*payload));
    }
}

unsafe extern "C" fn run_initializer(
    ctx: *mut sys::cf_task_ctx,
    _arg: *const c_void,
    _len: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: initializer_data points into the pool's box, which outlives its threads.
    let init = &*(data as *const Arc<Initializer>);
    let context = TaskContext::from_raw(ctx);
    match catch_unwind(AssertUnwindSafe(|| init())) {
        Ok(Ok(())) => sys::CF_OK,
        Ok(Err(message)) => context.raise("InitializerError", &message),
        Err(payload) => context.raise("panic", &panic_message(&*payload)),
    }
}

/// One chunk's outcome: the values of the items before the first failing one, and that failure.
struct ChunkOut<T> {
    values: Vec<T>,
    failure: Option<Error>,
}

fn run_chunk<A, T, F: Fn(A) -> T>(f: &F, chunk: Vec<A>, first: usize) -> ChunkOut<T> {
    let mut values = Vec::with_capacity(chunk.len());
    for (i, a) in chunk.into_iter().enumerate() {
        match catch_unwind(AssertUnwindSafe(|| f(a))) {
            Ok(v) => values.push(v),
            Err(payload) => {
                let failure = Error::Task {
                    type_name: "panic".into(),
                    message: panic_message(&*payload),
                    detail: format!("map item {}", first + i),
                };
                return ChunkOut { values, failure: Some(failure) };
            }
        }
    }
    ChunkOut { values, failure: None }
}

/// The ordered results of [`ThreadPool::map`]. Dropping it cancels the chunks not started.
pub struct MapResults<T> {
    chunks: VecDeque<Future<ChunkOut<T>>>,
    current: std::vec::IntoIter<T>,
    failure: Option<Error>,
    deadline: Option<Instant>,
    finished: bool,
}

impl<T> MapResults<T> {
    fn finish(&mut self) {
        self.finished = true;
        for c in self.chunks.drain(..) {
            c.cancel();
        }
    }
}

impl<T> Iterator for MapResults<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(v) = self.current.next() {
                return Some(Ok(v));
            }
            if let Some(e) = self.failure.take() {
                self.finish();
                return Some(Err(e));
            }
            if self.finished {
                return None;
            }
            let chunk = match self.chunks.pop_front() {
                Some(c) => c,
                None => {
                    self.finished = true;
                    return None;
                }
            };
            let timeout = self.deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if !chunk.wait(timeout) {
                chunk.cancel();
                self.finish();
                return Some(Err(Error::Timeout("ThreadPool::map: the map's timeout ran out".into())));
            }
            match chunk.into_result(Some(Duration::ZERO)) {
                Ok(out) => {
                    self.current = out.values.into_iter();
                    self.failure = out.failure;
                }
                Err(e) => {
                    self.finish();
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<T> Drop for MapResults<T> {
    fn drop(&mut self) {
        self.finish();
    }
}

#[allow(dead_code)]
fn _assert_traits() {
    fn send_sync<X: Send + Sync>() {}
    fn send<X: Send>() {}
    send_sync::<ThreadPool>();
    send::<MapResults<u32>>();
}
