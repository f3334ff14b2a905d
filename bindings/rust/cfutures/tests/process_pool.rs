//! Process-pool tests, with their own `main` (`harness = false` in Cargo.toml).
//!
//! A pool using the spawn start method executes this test binary again as its worker. The worker must reach
//! `cfutures::worker_entry()` before doing anything else, with the same tasks registered: libtest's harness would
//! instead start running (and forking pools from) every test in the worker. So `main` registers the tasks, calls
//! `worker_entry()` (where a spawned worker serves tasks and exits), and only then runs the tests, one after
//! another, with a minimal runner: `process_pool [substring]` runs the tests whose name contains it.

use cfutures::{
    register_task, task_fn, worker_entry, Error, MapOptions, ProcessPool, ProcessPoolOptions, StartMethod, TaskError,
};
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const LONG: Option<Duration> = Some(Duration::from_secs(60));
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
        ("fork_crash_sigkill", || crash(StartMethod::Fork, "pp.die_sigkill", "SIGKILL")),
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
