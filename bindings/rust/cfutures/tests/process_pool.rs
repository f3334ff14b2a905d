// SPDX-License-Identifier: MIT
//! Process-pool tests, with their own `main` (`harness = false` in Cargo.toml).
//!
//! A pool using the spawn start method executes this test binary again as its worker. The worker must reach
//! `cfutures::worker_entry()` before doing anything else, with the same tasks registered: libtest's harness would
//! instead start running (and forking pools from) every test in the worker. So `main` registers the tasks, calls
//! `worker_entry()` (where a spawned worker serves tasks and exits), and only then runs the tests, one after
//! another, with a minimal runner: `process_pool [substring]` runs the tests whose name contains it.

mod support;

use cfutures::{
    register_task, set_log_handler, task_fn, when_all, when_any, worker_entry, Error, Level, MapOptions, ProcessPool,
    ProcessPoolOptions, StartMethod, State, SubmitOptions, TaskError, WorkerDeath,
};
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LONG: Option<Duration> = Some(Duration::from_secs(60));
const NOW: Option<Duration> = Some(Duration::ZERO);
const PRIMES: [u64; 6] =
    [112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419];

extern "C" {
    fn raise(sig: c_int) -> c_int;
    fn getpid() -> c_int;
}
const SIGKILL: c_int = 9;

fn u64_arg(arg: &[u8]) -> Result<u64, TaskError> {
    let bytes: [u8; 8] = arg.try_into().map_err(|_| TaskError::new("ValueError", "wants one 8-byte number"))?;
    Ok(u64::from_le_bytes(bytes))
}

task_fn! {
    fn square(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        let v = u64_arg(arg)?;
        Ok((v * v).to_le_bytes().to_vec())
    }
}

task_fn! {
    fn is_prime(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        let n = u64_arg(arg)?;
        let mut prime = n >= 2 && (n == 2 || n % 2 == 1);
        let mut d = 3;
        while prime && d <= n / d {
            prime = n % d != 0;
            d += 2;
        }
        Ok(vec![prime as u8])
    }
}

task_fn! {
    fn pid(_arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        Ok(unsafe { getpid() }.to_le_bytes().to_vec())
    }
}

task_fn! {
    /// Sleeps for the argument's milliseconds, then returns the worker's pid.
    fn sleep_ms(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        std::thread::sleep(Duration::from_millis(u64_arg(arg)?));
        Ok(unsafe { getpid() }.to_le_bytes().to_vec())
    }
}

task_fn! {
    /// Writes the worker's pid to the file named by the argument (so the test knows the task has begun in the
    /// worker), then sleeps for up to 60 s, deaf to cancel requests: only killing its worker ends it early. (A task
    /// that stopped on `cancel_requested` could finish between the cancel request and the kill, and then
    /// `cancel` rightly returns false.)
    fn mark_and_sleep(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        let path = std::path::PathBuf::from(String::from_utf8_lossy(arg).into_owned());
        let partial = path.with_extension("partial");
        let io = |e: std::io::Error| TaskError::new("OSError", e.to_string());
        std::fs::write(&partial, unsafe { getpid() }.to_string()).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(TaskError::new("TimeoutError", "never killed"))
    }
}

task_fn! {
    fn panics(_arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        panic!("panicked in a worker")
    }
}

task_fn! {
    fn die_sigkill(_arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        unsafe { raise(SIGKILL) };
        Ok(Vec::new())
    }
}

task_fn! {
    fn die_abort(_arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        std::process::abort()
    }
}

task_fn! {
    /// Writes its result in place, then runs until asked to stop if the argument says so.
    fn with_context(ctx: &mut TaskContext, arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        if arg == b"wait for cancel" {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !ctx.cancel_requested() && !cfutures::cancel_requested() {
                if Instant::now() > deadline {
                    return Err(TaskError::new("TimeoutError", "never asked to stop"));
                }
                std::thread::yield_now();
            }
            return Err(TaskError::new("CancelledError", "stopped on request"));
        }
        let n = arg.len();
        let buf = ctx.result_buffer(n).map_err(|e| TaskError::new("MemoryError", e.to_string()))?;
        buf.copy_from_slice(arg);
        buf.reverse();
        Ok(Vec::new()) // empty: keeps the result written through the context

    }
}

fn register_all() {
    for (name, f) in [
        ("pp.square", square as cfutures::TaskFn),
        ("pp.is_prime", is_prime),
        ("pp.pid", pid),
        ("pp.panics", panics),
        ("pp.die_sigkill", die_sigkill),
        ("pp.die_abort", die_abort),
        ("pp.with_context", with_context),
        ("pp.sleep_ms", sleep_ms),
        ("pp.mark_and_sleep", mark_and_sleep),
    ] {
        register_task(name, f).expect("register");
    }
}

fn new_pool(method: StartMethod, workers: usize) -> ProcessPool {
    ProcessPool::new(ProcessPoolOptions::new().start_method(method).max_workers(workers).shared_memory_bytes(8 << 20))
        .expect("process pool")
}

fn results_and_failures(method: StartMethod) {
    let pool = new_pool(method, 2);
    let f = pool.submit_named("pp.square", &7u64.to_le_bytes()).unwrap();
    assert_eq!(f.result(LONG).unwrap(), 49u64.to_le_bytes());
    assert_eq!(pool.submit_task(square, &9u64.to_le_bytes()).unwrap().result(LONG).unwrap(), 81u64.to_le_bytes());

    // The task ran in another process.
    let worker_pid = pool.submit_named("pp.pid", b"").unwrap().result(LONG).unwrap();
    assert_ne!(i32::from_le_bytes(worker_pid[..4].try_into().unwrap()), unsafe { getpid() });

    // A TaskError: type, message, and the task name in the detail.
    match pool.submit_named("pp.square", b"xy").unwrap().result(LONG) {
        Err(Error::Task { type_name, message, detail }) => {
            assert_eq!(type_name, "ValueError");
            assert!(message.contains("8-byte"), "{message}");
            assert!(detail.contains("pp.square"), "{detail}");
        }
        other => panic!("expected a task error, got {other:?}"),
    }
    // A panic in the worker is a task failure too; the worker survives it.
    match pool.submit_named("pp.panics", b"").unwrap().result(LONG) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!(type_name, "panic");
            assert_eq!(message, "panicked in a worker");
        }
        other => panic!("expected the panic, got {other:?}"),
    }
    // Result written in place through the context.
    assert_eq!(pool.submit_named("pp.with_context", b"abc").unwrap().result(LONG).unwrap(), b"cba");

    match pool.submit_named("pp.no such task", b"") {
        Err(Error::UnknownTask(m)) => assert!(m.contains("no such task"), "{m}"),
        other => panic!("expected UnknownTask, got {other:?}"),
    }
    // An argument larger than the arena can ever hold.
    assert!(matches!(pool.submit_named("pp.square", &vec![0u8; 16 << 20]), Err(Error::TooLarge(_))));

    pool.shutdown(true, false).unwrap();
    match pool.submit_named("pp.square", &7u64.to_le_bytes()) {
        Err(Error::Shutdown(_)) => {}
        other => panic!("expected Shutdown, got {other:?}"),
    }
}

/// Process-pool futures awaited: woken by the done callbacks that the pool's supervisor runs as results come in.
fn await_results(method: StartMethod) {
    let pool = new_pool(method, 2);
    let futures: Vec<_> = (1..=6u64).map(|i| pool.submit_named("pp.square", &i.to_le_bytes()).unwrap()).collect();
    let squares: Vec<u64> = support::block_on(support::join_all(futures))
        .into_iter()
        .map(|r| u64::from_le_bytes(r.unwrap()[..].try_into().unwrap()))
        .collect();
    assert_eq!(squares, [1, 4, 9, 16, 25, 36]);
    let failed = support::block_on(pool.submit_named("pp.square", b"xy").unwrap());
    assert!(matches!(failed, Err(Error::Task { ref type_name, .. }) if type_name == "ValueError"), "{failed:?}");
}

fn six_primes(method: StartMethod) {
    let pool = new_pool(method, 2);
    let args: Vec<[u8; 8]> = PRIMES.iter().map(|n| n.to_le_bytes()).collect();
    let verdicts: Vec<bool> = pool
        .map_named("pp.is_prime", &args, &MapOptions::new().chunksize(2))
        .unwrap()
        .map(|r| r.unwrap() == [1])
        .collect();
    assert_eq!(verdicts, [true, true, true, true, true, false]);
    // The same through individual futures.
    let futures: Vec<_> = args.iter().map(|a| pool.submit_named("pp.is_prime", a).unwrap()).collect();
    let again: Vec<bool> = futures.iter().map(|f| f.result(LONG).unwrap() == [1]).collect();
    assert_eq!(again, verdicts);
    // A failing item ends the map after the items before it.
    let mixed: Vec<Vec<u8>> = vec![4u64.to_le_bytes().to_vec(), b"bad".to_vec(), 5u64.to_le_bytes().to_vec()];
    let r: Vec<_> = pool.map_named("pp.square", &mixed, &MapOptions::new()).unwrap().collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].as_ref().unwrap(), &16u64.to_le_bytes());
    assert!(matches!(&r[1], Err(Error::Task { type_name, .. }) if type_name == "ValueError"));
}

fn crash(method: StartMethod, task: &str, signal_text: &str) {
    let pool = new_pool(method, 1);
    let dead = pool.submit_named(task, b"").unwrap();
    // The worker may already be dead (and the pool broken) by the time this is submitted.
    let queued = pool.submit_named("pp.square", &2u64.to_le_bytes());
    match dead.result(LONG) {
        Err(Error::BrokenProcessPool(m)) => {
            assert!(m.contains(signal_text), "{m}");
            assert!(m.contains(task), "the message names the task: {m}");
        }
        other => panic!("expected BrokenProcessPool, got {other:?}"),
    }
    let e = dead.exception(None).unwrap().expect("an exception");
    assert_eq!(e.status(), cfutures::sys::CF_E_BROKEN_PROCESS_POOL);
    // The queued one was refused, never ran (cancelled) or failed with the pool.
    match queued {
        Ok(queued) => {
            assert!(matches!(queued.result(LONG), Err(Error::BrokenProcessPool(_)) | Err(Error::Cancelled(_))))
        }
        Err(e) => assert!(matches!(e, Error::BrokenProcessPool(_)), "{e}"),
    }
    // Later submits are refused with the same error.
    match pool.submit_named("pp.square", &2u64.to_le_bytes()) {
        Err(Error::BrokenProcessPool(m)) => assert!(m.contains(signal_text), "{m}"),
        other => panic!("later submits must be refused, got {other:?}"),
    }
    assert!(pool.map_named("pp.square", [2u64.to_le_bytes()], &MapOptions::new()).is_err());
}

fn cancel_running(method: StartMethod) {
    let pool = new_pool(method, 1);
    let f = pool.submit_named("pp.with_context", b"wait for cancel").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f.running() {
        assert!(Instant::now() < deadline, "never started");
        std::thread::yield_now();
    }
    assert!(!f.cancel(), "running: only asked to stop");
    match f.result(LONG) {
        Err(Error::Task { type_name, .. }) => assert_eq!(type_name, "CancelledError"),
        other => panic!("expected the task's CancelledError, got {other:?}"),
    }
}

fn kill_workers(method: StartMethod) {
    let pool = new_pool(method, 1);
    let running = pool.submit_named("pp.with_context", b"wait for cancel").unwrap();
    let waiting = pool.submit_named("pp.square", &3u64.to_le_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !running.running() {
        assert!(Instant::now() < deadline, "never started");
        std::thread::yield_now();
    }
    pool.kill_workers().unwrap();
    assert!(matches!(running.result(LONG), Err(Error::BrokenProcessPool(_))));
    assert!(matches!(waiting.result(LONG), Err(Error::Cancelled(_))));
    assert!(matches!(pool.submit_named("pp.square", b""), Err(Error::Shutdown(_))));
}

fn bad_options() {
    match ProcessPool::new(ProcessPoolOptions::new().max_workers(5000)) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("max_workers"), "{m}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert!(matches!(
        ProcessPool::new(ProcessPoolOptions::new().max_workers(1).initializer("pp.no such init", b"")),
        Err(Error::UnknownTask(_))
    ));
}

fn max_tasks_per_child(method: StartMethod) {
    let pool = ProcessPool::new(
        ProcessPoolOptions::new().start_method(method).max_workers(1).max_tasks_per_child(1),
    )
    .unwrap();
    let a = pool.submit_named("pp.pid", b"").unwrap().result(LONG).unwrap();
    let b = pool.submit_named("pp.pid", b"").unwrap().result(LONG).unwrap();
    assert_ne!(a, b, "the worker is replaced after each task");
}

fn pid_of(bytes: &[u8]) -> i32 {
    i32::from_le_bytes(bytes[..4].try_into().unwrap())
}

/// Collects the library's log while it lives (a process-wide handler: the tests here run one at a time), and
/// restores the default (stderr) when dropped.
struct LogCapture(Arc<Mutex<Vec<(Level, String)>>>);

impl LogCapture {
    fn start() -> LogCapture {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        set_log_handler(Some(Box::new(move |level: Level, message: &str| {
            sink.lock().unwrap_or_else(|e| e.into_inner()).push((level, message.to_string()));
        })));
        LogCapture(lines)
    }
    fn lines(&self) -> Vec<(Level, String)> {
        self.0.lock().unwrap().clone()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        set_log_handler(None);
    }
}

/// A task sleeping 10 s with a 0.2 s time limit fails with TimeLimit well before; a sibling task succeeds; the
/// killed worker is replaced (not counted as a death) and the pool goes on, even with the default `Break`.
fn time_limit(method: StartMethod) {
    let pool = new_pool(method, 2);
    // Warm up: both workers serving, so that the timing below measures the limit, not the start of workers.
    let warm: Vec<_> = (0..2).map(|_| pool.submit_named("pp.sleep_ms", &100u64.to_le_bytes()).unwrap()).collect();
    for f in &warm {
        f.result(LONG).unwrap();
    }
    let t0 = Instant::now();
    let limit = SubmitOptions::new().time_limit(Duration::from_millis(200));
    let slow = pool.submit_named_with("pp.sleep_ms", &10_000u64.to_le_bytes(), &limit).unwrap();
    let sibling =
        pool.submit_task_with(square, &6u64.to_le_bytes(), &SubmitOptions::new().time_limit(Duration::from_secs(30)));
    match slow.result(LONG) {
        Err(Error::TimeLimit(m)) => {
            assert!(m.contains("pp.sleep_ms") && m.contains("time limit"), "{m}");
        }
        other => panic!("expected TimeLimit, got {other:?}"),
    }
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "the time limit took {took:?}");
    assert_eq!(sibling.unwrap().result(LONG).unwrap(), 36u64.to_le_bytes());
    let e = slow.exception(None).unwrap().expect("an exception");
    assert_eq!(e.status(), cfutures::sys::CF_E_TIME_LIMIT);
    assert_eq!(e.kind_name(), "TimeoutError");
    assert_eq!(e.status_name(), "CF_E_TIME_LIMIT");
    // The pool goes on.
    assert_eq!(pool.submit_named("pp.square", &3u64.to_le_bytes()).unwrap().result(LONG).unwrap(), 9u64.to_le_bytes());
    // The killed worker is replaced when work needs it: no death, whatever the pool has started since.
    let stats = pool.stats().unwrap();
    assert_eq!(stats.worker_deaths, 0, "a worker killed at a time limit is no death: {stats:?}");
    assert!(stats.workers <= 2, "{stats:?}");
    assert_eq!((stats.completed, stats.failed, stats.cancelled), (4, 1, 0), "{stats:?}");
}

/// With `cancel_running`, cancelling a running task kills its worker: `cancel` is true, the future is
/// cancelled, and a new worker (another pid) takes the slot.
fn cancel_running_kills_the_worker(method: StartMethod) {
    let pool = ProcessPool::new(
        ProcessPoolOptions::new().start_method(method).max_workers(1).shared_memory_bytes(8 << 20).cancel_running(true),
    )
    .unwrap();
    let before = pid_of(&pool.submit_named("pp.pid", b"").unwrap().result(LONG).unwrap());
    let marker = std::env::temp_dir().join(format!("cf-rust-pp-{}-{method:?}.pid", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let f = pool.submit_named("pp.mark_and_sleep", marker.to_str().unwrap().as_bytes()).unwrap();
    // Wait until the task has begun in the worker (the future is running as soon as the worker has it queued).
    let deadline = Instant::now() + Duration::from_secs(60);
    let running_in = loop {
        if let Ok(text) = std::fs::read_to_string(&marker) {
            break text.parse::<i32>().unwrap();
        }
        assert!(Instant::now() < deadline && !f.done(), "the task never began: {:?}", f.result(Some(Duration::ZERO)));
        std::thread::sleep(Duration::from_millis(1));
    };
    let _ = std::fs::remove_file(&marker);
    assert_eq!(running_in, before, "one worker");
    assert!(f.running());
    let cancelled = f.cancel();
    assert!(
        cancelled,
        "cancel_running: a running future can be cancelled; cancel() gave false, state {:?}, outcome {:?}",
        f.state(),
        f.result(LONG)
    );
    assert!(f.cancelled());
    assert_eq!(f.state(), State::Cancelled);
    assert!(matches!(f.result(LONG), Err(Error::Cancelled(_))));
    let after = pid_of(&pool.submit_named("pp.pid", b"").unwrap().result(LONG).unwrap());
    assert_ne!(before, after, "the worker was killed and replaced");
    let stats = pool.stats().unwrap();
    assert_eq!(stats.worker_deaths, 0, "{stats:?}");
    assert!(stats.workers_replaced >= 1, "{stats:?}");
    assert_eq!((stats.completed, stats.failed, stats.cancelled), (2, 0, 1), "{stats:?}");
}

/// `WorkerDeath::Replace`: 100 tasks of which 10 crash give 90 results and 10 WorkerDied errors; the pool takes
/// more work afterwards; each death is logged as a WARNING.
fn replace_dead_workers(method: StartMethod) {
    let log = LogCapture::start();
    let pool = ProcessPool::new(
        ProcessPoolOptions::new()
            .start_method(method)
            .max_workers(2)
            .shared_memory_bytes(8 << 20)
            .on_worker_death(WorkerDeath::Replace)
            .max_restarts(20),
    )
    .unwrap();
    let crash_task = |i: u64| if i % 20 == 5 { ("pp.die_abort", "SIGABRT") } else { ("pp.die_sigkill", "SIGKILL") };
    let futures: Vec<_> = (0..100u64)
        .map(|i| {
            let task = if i % 10 == 5 { crash_task(i).0 } else { "pp.square" };
            (i, pool.submit_named(task, &i.to_le_bytes()).unwrap())
        })
        .collect();
    let (mut results, mut died) = (0, 0);
    for (i, f) in &futures {
        match f.result(LONG) {
            Ok(v) => {
                assert_ne!(i % 10, 5, "task {i} should have crashed");
                assert_eq!(v, (i * i).to_le_bytes(), "task {i}");
                results += 1;
            }
            Err(Error::WorkerDied(m)) => {
                assert_eq!(i % 10, 5, "task {i} died: {m}");
                let (task, signal) = crash_task(*i);
                assert!(m.contains(task) && m.contains(signal), "{m}");
                died += 1;
            }
            Err(e) => panic!("task {i}: {e}"),
        }
    }
    assert_eq!((results, died), (90, 10));
    assert_eq!(futures[5].1.exception(None).unwrap().unwrap().status(), cfutures::sys::CF_E_WORKER_DIED);
    // The pool goes on.
    let more: Vec<_> = (0..4u64).map(|i| pool.submit_named("pp.square", &i.to_le_bytes()).unwrap()).collect();
    for (i, f) in more.iter().enumerate() {
        assert_eq!(f.result(LONG).unwrap(), ((i * i) as u64).to_le_bytes());
    }
    let stats = pool.stats().unwrap();
    assert_eq!(stats.worker_deaths, 10, "{stats:?}");
    // A dead worker's slot is filled again when work needs it: the last ones may still be empty.
    assert!((8..=10).contains(&stats.workers_replaced), "{stats:?}");
    assert_eq!((stats.completed, stats.failed, stats.cancelled), (94, 10, 0), "{stats:?}");
    assert_eq!(stats.done(), 104);
    // Each death the pool survived was logged (before its future failed) as a warning.
    let warnings: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|(level, m)| *level == Level::Warning && m.contains("a new worker takes its place"))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(warnings.len(), 10, "{warnings:#?}");
    assert!(warnings.iter().all(|m| m.contains("terminated by signal")), "{warnings:#?}");
    assert!(warnings.iter().any(|m| m.contains("SIGKILL") && m.contains("pp.die_sigkill")), "{warnings:#?}");
}

/// More than `max_restarts` deaths within `restart_period` break a `Replace` pool, as `Break` would.
fn restart_intensity(method: StartMethod) {
    let log = LogCapture::start();
    let pool = ProcessPool::new(
        ProcessPoolOptions::new()
            .start_method(method)
            .max_workers(1)
            .shared_memory_bytes(8 << 20)
            .on_worker_death(WorkerDeath::Replace)
            .max_restarts(2)
            .restart_period(Duration::from_secs(600)),
    )
    .unwrap();
    for n in 1..=2 {
        match pool.submit_named("pp.die_sigkill", b"").unwrap().result(LONG) {
            Err(Error::WorkerDied(_)) => {}
            other => panic!("death {n}: expected WorkerDied, got {other:?}"),
        }
        assert_eq!(
            pool.submit_named("pp.square", &2u64.to_le_bytes()).unwrap().result(LONG).unwrap(),
            4u64.to_le_bytes()
        );
    }
    match pool.submit_named("pp.die_sigkill", b"").unwrap().result(LONG) {
        Err(Error::BrokenProcessPool(m)) => assert!(m.contains("more than 2"), "{m}"),
        other => panic!("the third death should break the pool, got {other:?}"),
    }
    match pool.submit_named("pp.square", &2u64.to_le_bytes()) {
        Err(Error::BrokenProcessPool(_)) => {}
        Ok(f) => assert!(matches!(f.result(LONG), Err(Error::BrokenProcessPool(_)))),
        Err(e) => panic!("expected BrokenProcessPool, got {e}"),
    }
    assert_eq!(pool.stats().unwrap().worker_deaths, 3);
    let lines = log.lines();
    let warnings = lines.iter().filter(|(level, _)| *level == Level::Warning).count();
    assert_eq!(warnings, 2, "{lines:#?}");
    assert!(lines.iter().any(|(level, m)| *level == Level::Error && m.contains("process pool broken")), "{lines:#?}");
}

/// After a mixed run (results, a task's failure, a time limit, a dead worker, cancellations), once every future
/// is done, completed + failed + cancelled == submitted, each as the futures say.
fn stats_add_up(method: StartMethod) {
    let pool = ProcessPool::new(
        ProcessPoolOptions::new()
            .start_method(method)
            .max_workers(1)
            .shared_memory_bytes(8 << 20)
            .on_worker_death(WorkerDeath::Replace),
    )
    .unwrap();
    let limit = SubmitOptions::new().time_limit(Duration::from_millis(300));
    let mut futures = vec![pool.submit_named_with("pp.with_context", b"wait for cancel", &limit).unwrap()];
    for i in 1..=3u64 {
        futures.push(pool.submit_named("pp.square", &i.to_le_bytes()).unwrap());
    }
    let maybe_cancelled = futures[2].cancel();
    futures.push(pool.submit_named("pp.square", b"bad").unwrap());
    futures.push(pool.submit_named("pp.die_sigkill", b"").unwrap());
    for i in 5..8u64 {
        futures.push(pool.submit_named("pp.square", &i.to_le_bytes()).unwrap());
    }
    let cancelled_while_queued = futures[7].cancel();
    let (mut completed, mut failed, mut cancelled) = (0, 0, 0);
    for f in &futures {
        match f.result(LONG) {
            Ok(_) => completed += 1,
            Err(Error::Cancelled(_)) => cancelled += 1,
            Err(_) => failed += 1,
        }
    }
    assert_eq!(failed, 3, "a time limit, a ValueError and a dead worker");
    assert_eq!(cancelled, maybe_cancelled as u64 + cancelled_while_queued as u64);
    let stats = pool.stats().unwrap();
    assert_eq!((stats.completed, stats.failed, stats.cancelled), (completed, failed, cancelled), "{stats:?}");
    assert_eq!(stats.done(), futures.len() as u64, "{stats:?}");
    assert_eq!((stats.queued, stats.running), (0, 0), "{stats:?}");
    assert_eq!(stats.worker_deaths, 1, "{stats:?}");
    assert!(stats.workers_replaced >= 2, "the killed and the dead worker: {stats:?}");
}

/// Continuations across a process pool and a thread pool: registered tasks by name on either, typed steps on the
/// thread pool in between (their bytes handed to the library with `then_bytes`), joins over process futures,
/// failures passed on, and the chain awaited.
fn then_named_across_pools(method: StartMethod) {
    let procs = new_pool(method, 2);
    let threads = support::pool(2);
    let num = |b: Vec<u8>| u64::from_le_bytes(b[..].try_into().unwrap());
    let squared = procs.submit_named("pp.square", &3u64.to_le_bytes()).unwrap();
    let fourth = squared.then_named(&procs, "pp.square").unwrap(); // in a worker, the bytes through shared memory
    let typed = fourth.then(&threads, num).unwrap(); // 81, on the Rust side
    let bytes = typed.then_bytes(&threads, |n| (n + 1).to_le_bytes().to_vec()).unwrap();
    let on_threads = bytes.then_named(&threads, "pp.square").unwrap(); // a registered task on the thread pool
    let back = on_threads.then_named(&procs, "pp.square").unwrap();
    assert_eq!(num(back.result(LONG).unwrap()), 82u64.pow(4));
    assert_eq!(num(squared.result(NOW).unwrap()), 9, "then_named leaves the source's bytes");

    // A thread pool's byte-string task continued in a process, awaited.
    let start = threads.submit_named("pp.square", &5u64.to_le_bytes()).unwrap();
    let chain = start.then_named(&procs, "pp.square").unwrap().then(&threads, num).unwrap();
    assert_eq!(support::block_on(chain).unwrap(), 625);

    // A failure in a worker passes on; the next steps do not run.
    let bad = procs.submit_named("pp.square", b"xy").unwrap().then_named(&procs, "pp.square").unwrap();
    let ran = Arc::new(Mutex::new(false));
    let r = ran.clone();
    let after = bad.then(&threads, move |b| *r.lock().unwrap() = !b.is_empty()).unwrap();
    match support::block_on(after) {
        Err(Error::Task { type_name, detail, .. }) => {
            assert_eq!(type_name, "ValueError");
            assert!(detail.contains("pp.square"), "{detail}");
        }
        other => panic!("expected the worker's ValueError, got {other:?}"),
    }
    assert!(!*ran.lock().unwrap(), "the step after a failure ran");
    // A name the workers do not know fails the continuation.
    let unknown = squared.then_named(&procs, "pp.no such task").unwrap();
    assert!(matches!(unknown.result(LONG), Err(Error::UnknownTask(_))), "{:?}", unknown.result(NOW));

    // Joins over process futures; the inputs keep their results.
    let futures: Vec<_> = (1..=4u64).map(|i| procs.submit_named("pp.square", &i.to_le_bytes()).unwrap()).collect();
    support::block_on(when_all(&futures).unwrap()).unwrap();
    let squares: Vec<u64> = futures.iter().map(|f| num(f.result(NOW).unwrap())).collect();
    assert_eq!(squares, [1, 4, 9, 16]);
    let first = support::block_on(when_any(&futures).unwrap()).unwrap();
    assert_eq!(first, 0, "all done already: the first in input order");
    let sum = when_all(&futures)
        .unwrap()
        .then(&threads, move |()| futures.iter().map(|f| num(f.result(NOW).unwrap())).sum::<u64>())
        .unwrap();
    assert_eq!(sum.result(LONG).unwrap(), 30);
}

fn log_levels() {
    assert!(Level::Debug < Level::Info && Level::Info < Level::Warning && Level::Warning < Level::Error);
    for level in [Level::Debug, Level::Info, Level::Warning, Level::Error] {
        assert_eq!(Level::from_raw(level.raw()), level);
    }
    assert_eq!(Level::from_raw(cfutures::sys::CF_LOG_WARNING), Level::Warning);
    assert_eq!(Level::from_raw(25), Level::Info, "between two levels: the one below");
    assert_eq!(Level::from_raw(50), Level::Error);
    assert_eq!(Level::from_raw(0), Level::Debug);
    assert_eq!(Level::Warning.to_string(), "WARNING");
    // A panicking handler is caught (reported on stderr), and the pool is unaffected.
    let pool = ProcessPool::new(
        ProcessPoolOptions::new().max_workers(1).shared_memory_bytes(8 << 20).on_worker_death(WorkerDeath::Replace),
    )
    .unwrap();
    set_log_handler(Some(Box::new(|_, _| panic!("a log handler that panics"))));
    let outcome = pool.submit_named("pp.die_sigkill", b"").unwrap().result(LONG);
    set_log_handler(None);
    assert!(matches!(outcome, Err(Error::WorkerDied(_))), "{outcome:?}");
    assert_eq!(pool.submit_named("pp.square", &3u64.to_le_bytes()).unwrap().result(LONG).unwrap(), 9u64.to_le_bytes());
}

fn main() -> ExitCode {
    register_all();
    // A spawned worker serves tasks in here and never returns.
    worker_entry().expect("worker_entry");

    type Test = (&'static str, fn());
    let tests: Vec<Test> = vec![
        ("bad_options", bad_options),
        ("spawn_results_and_failures", || results_and_failures(StartMethod::Spawn)),
        ("spawn_six_primes", || six_primes(StartMethod::Spawn)),
        ("spawn_crash_sigkill", || crash(StartMethod::Spawn, "pp.die_sigkill", "SIGKILL")),
        ("spawn_crash_abort", || crash(StartMethod::Spawn, "pp.die_abort", "SIGABRT")),
        ("spawn_cancel_running", || cancel_running(StartMethod::Spawn)),
        ("spawn_kill_workers", || kill_workers(StartMethod::Spawn)),
        ("spawn_max_tasks_per_child", || max_tasks_per_child(StartMethod::Spawn)),
        // Fork pools start later workers from a single-threaded server of their own, so they take it too.
        ("fork_max_tasks_per_child", || max_tasks_per_child(StartMethod::Fork)),
        ("forkserver_results_and_failures", || results_and_failures(StartMethod::Forkserver)),
        ("forkserver_six_primes", || six_primes(StartMethod::Forkserver)),
        ("forkserver_crash_sigkill", || crash(StartMethod::Forkserver, "pp.die_sigkill", "SIGKILL")),
        ("fork_six_primes", || six_primes(StartMethod::Fork)),
        ("fork_await_results", || await_results(StartMethod::Fork)),
        ("spawn_await_results", || await_results(StartMethod::Spawn)),
        ("fork_crash_sigkill", || crash(StartMethod::Fork, "pp.die_sigkill", "SIGKILL")),
        ("log_levels_and_a_panicking_handler", log_levels),
        ("fork_time_limit", || time_limit(StartMethod::Fork)),
        ("forkserver_time_limit", || time_limit(StartMethod::Forkserver)),
        ("spawn_time_limit", || time_limit(StartMethod::Spawn)),
        ("fork_cancel_running_kills_the_worker", || cancel_running_kills_the_worker(StartMethod::Fork)),
        ("forkserver_cancel_running_kills_the_worker", || cancel_running_kills_the_worker(StartMethod::Forkserver)),
        ("spawn_cancel_running_kills_the_worker", || cancel_running_kills_the_worker(StartMethod::Spawn)),
        ("fork_replace_dead_workers", || replace_dead_workers(StartMethod::Fork)),
        ("forkserver_replace_dead_workers", || replace_dead_workers(StartMethod::Forkserver)),
        ("spawn_replace_dead_workers", || replace_dead_workers(StartMethod::Spawn)),
        ("fork_restart_intensity", || restart_intensity(StartMethod::Fork)),
        ("forkserver_restart_intensity", || restart_intensity(StartMethod::Forkserver)),
        ("spawn_restart_intensity", || restart_intensity(StartMethod::Spawn)),
        ("fork_stats_add_up", || stats_add_up(StartMethod::Fork)),
        ("forkserver_stats_add_up", || stats_add_up(StartMethod::Forkserver)),
        ("spawn_stats_add_up", || stats_add_up(StartMethod::Spawn)),
        ("fork_then_named_across_pools", || then_named_across_pools(StartMethod::Fork)),
        ("spawn_then_named_across_pools", || then_named_across_pools(StartMethod::Spawn)),
    ];
    // cargo test passes its own flags (e.g. --nocapture); the first other argument filters by name.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_default();
    let selected: Vec<&Test> = tests.iter().filter(|(name, _)| name.contains(&filter)).collect();
    println!("\nrunning {} process-pool tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let t0 = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(test));
        let status = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!("test {name} ... {status} ({:.2} s)", t0.elapsed().as_secs_f64());
        if outcome.is_err() {
            failed.push(*name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; {} filtered out\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len(),
        tests.len() - selected.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failures: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}
