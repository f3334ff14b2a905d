// SPDX-License-Identifier: MIT
//! Thread pools, futures, wait, as_completed and map, on real pools. Tasks that must stay busy wait on a
//! [`Gate`] the test opens; nothing sleeps to "let things happen".

mod support;

use cfutures::{
    as_completed, register_task, task_fn, wait, Error, Future, MapOptions, Promise, ReturnWhen, State, SubmitOptions,
    TaskError, ThreadPool, ThreadPoolOptions, Waitable,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{gated, pool, Gate};

const SHORT: Option<Duration> = Some(Duration::from_millis(20));
const LONG: Option<Duration> = Some(Duration::from_secs(30));

/// Waits until the future's task has started (the library offers no event for it; this polls a cheap state).
fn until_running<T>(f: &Future<T>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while f.state() == State::Pending {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::yield_now();
    }
}

task_fn! {
    fn shout(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        if arg.is_empty() {
            return Err(TaskError::new("ValueError", "nothing to shout"));
        }
        Ok(arg.to_ascii_uppercase())
    }
}

#[test]
fn closure_results_are_typed_and_repeatable() {
    let pool = pool(2);
    let f = pool.submit(|| 6 * 7).unwrap();
    assert_eq!(f.result(LONG).unwrap(), 42);
    assert_eq!(f.result(None).unwrap(), 42, "result() can be asked again");
    assert!(f.done() && !f.running() && !f.cancelled());
    assert_eq!(f.state(), State::Finished);
    assert_eq!(f.exception(None).unwrap(), None);

    let s = pool.submit(|| String::from("hello")).unwrap();
    let clone = s.clone();
    assert_eq!(clone.result(None).unwrap(), "hello");
    assert_eq!(s.result(None).unwrap(), "hello");

    // A value that is not Clone comes back through into_result.
    struct NotClone(Vec<u32>);
    let n = pool.submit(|| NotClone(vec![1, 2, 3])).unwrap();
    assert_eq!(n.into_result(None).unwrap().0, [1, 2, 3]);
}

#[test]
fn values_and_closures_are_dropped_exactly_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let pool = pool(2);
        let captured = Counted(drops.clone());
        let d = drops.clone();
        let f = pool
            .submit(move || {
                let _keep = &captured;
                Counted(d)
            })
            .unwrap();
        f.wait(None);
        drop(f); // the value, never read
    }
    assert_eq!(drops.load(Ordering::SeqCst), 2, "the captured value and the result, once each");
}

#[test]
fn task_failures_carry_type_and_message() {
    register_task("tests.shout", shout).unwrap();
    let pool = pool(2);
    let ok = pool.submit_named("tests.shout", b"hello").unwrap();
    assert_eq!(ok.result(LONG).unwrap(), b"HELLO");
    assert_eq!(ok.result_bytes(None).unwrap(), b"HELLO");

    let bad = pool.submit_named("tests.shout", b"").unwrap();
    match bad.result(LONG) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!(type_name, "ValueError");
            assert_eq!(message, "nothing to shout");
        }
        other => panic!("expected a task error, got {other:?}"),
    }
    let e = bad.exception(None).unwrap().expect("an exception");
    assert_eq!(e.status(), cfutures::sys::CF_E_TASK_FAILED);
    assert_eq!(e.status_name(), "CF_E_TASK_FAILED");
    assert!(e.to_string().starts_with("ValueError: nothing to shout"), "{e}");

    // Unregistered names are refused at submit, with the library's message.
    match pool.submit_named("tests.no such task", b"") {
        Err(Error::UnknownTask(m)) => assert!(m.contains("no such task"), "{m}"),
        other => panic!("expected UnknownTask, got {other:?}"),
    }
    // An unregistered function runs fine on a thread pool.
    assert_eq!(pool.submit_task(shout, b"abc").unwrap().result(LONG).unwrap(), b"ABC");
}

#[test]
fn panics_become_task_errors_and_the_pool_survives() {
    let pool = pool(1);
    let f = pool.submit(|| -> u32 { panic!("boom {}", 7) }).unwrap();
    match f.result(LONG) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!(type_name, "panic");
            assert_eq!(message, "boom 7");
        }
        other => panic!("expected the panic, got {other:?}"),
    }
    assert!(matches!(f.exception(None), Ok(Some(Error::Task { .. }))));
    assert_eq!(pool.submit(|| 1).unwrap().result(LONG).unwrap(), 1, "the worker survived the panic");
}

#[test]
fn a_queued_task_can_be_cancelled_and_its_closure_is_dropped_unrun() {
    let pool = pool(1);
    let gate = Gate::default();
    let blocker = gated(&pool, &gate, ());
    until_running(&blocker);
    assert!(!blocker.cancel(), "a running task cannot be cancelled");

    let ran = Arc::new(AtomicBool::new(false));
    let token = Arc::new(());
    let (r, t) = (ran.clone(), token.clone());
    let queued = pool
        .submit(move || {
            let _t = t;
            r.store(true, Ordering::SeqCst);
        })
        .unwrap();
    assert_eq!(queued.state(), State::Pending);
    assert!(queued.cancel());
    assert!(queued.cancel(), "cancel again: still cancelled");
    assert!(queued.cancelled() && queued.done());
    assert!(matches!(queued.result(None), Err(Error::Cancelled(_))));
    assert!(matches!(queued.exception(None), Err(Error::Cancelled(_))));
    assert_eq!(Arc::strong_count(&token), 1, "the cancelled closure was dropped at once");

    gate.open();
    blocker.result(LONG).unwrap();
    pool.shutdown(true, false).unwrap();
    assert!(!ran.load(Ordering::SeqCst), "a cancelled task never runs");
}

#[test]
fn result_times_out_then_succeeds() {
    let pool = pool(1);
    let gate = Gate::default();
    let f = gated(&pool, &gate, "late");
    let t0 = Instant::now();
    match f.result(SHORT) {
        Err(Error::Timeout(m)) => assert!(m.contains("not done"), "{m}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(t0.elapsed() >= Duration::from_millis(15));
    assert!(matches!(f.result(Some(Duration::ZERO)), Err(Error::Timeout(_))));
    assert!(!f.wait(Some(Duration::ZERO)));
    gate.open();
    assert_eq!(f.result(LONG).unwrap(), "late");
}

#[test]
fn wait_all_completed() {
    let pool = pool(4);
    let fs: Vec<_> = (0..8).map(|i| pool.submit(move || i).unwrap()).collect();
    let (done, not_done) = wait(&fs, LONG, ReturnWhen::AllCompleted).unwrap();
    assert_eq!((done.len(), not_done.len()), (8, 0));
    assert!(fs.iter().all(|f| f.done()));
    // Nothing to wait for is fine too.
    let none: Vec<Future<u8>> = Vec::new();
    assert_eq!(wait(&none, None, ReturnWhen::AllCompleted).unwrap().0.len(), 0);
}

#[test]
fn wait_first_completed_and_timeout() {
    let pool = pool(2);
    let gate = Gate::default();
    let slow = gated(&pool, &gate, ());
    let fast = pool.submit(|| ()).unwrap();
    let both = [&slow, &fast];
    let (done, not_done) = wait(&both, LONG, ReturnWhen::FirstCompleted).unwrap();
    assert_eq!(done.len(), 1);
    assert!(std::ptr::eq(*done[0], &fast));
    assert!(std::ptr::eq(*not_done[0], &slow));

    // With the time running out: not an error, the future is in not_done.
    let t0 = Instant::now();
    let only_slow = [&slow];
    let (done, not_done) = wait(&only_slow, SHORT, ReturnWhen::AllCompleted).unwrap();
    assert_eq!((done.len(), not_done.len()), (0, 1));
    assert!(t0.elapsed() >= Duration::from_millis(15));
    gate.open();
    slow.result(LONG).unwrap();
}

#[test]
fn wait_first_exception_mixing_value_types() {
    let pool = pool(3);
    let gate = Gate::default();
    let slow = gated(&pool, &gate, ());
    let ok = pool.submit(|| String::from("fine")).unwrap();
    ok.result(LONG).unwrap();
    // A finished future is not an exception: FIRST_EXCEPTION keeps waiting until one fails.
    let failing = pool.submit(|| -> u8 { panic!("first failure") }).unwrap();
    let all: [&dyn Waitable; 3] = [&slow, &ok, &failing];
    let (done, not_done) = wait(&all, LONG, ReturnWhen::FirstException).unwrap();
    assert_eq!(done.len(), 2, "the finished and the failed one");
    assert_eq!(not_done.len(), 1);
    assert_eq!(not_done[0].raw_future(), slow.as_raw());
    assert!(matches!(failing.result(None), Err(Error::Task { .. })));
    gate.open();
    // With no failure at all, FIRST_EXCEPTION waits for everything.
    let fs: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    let (done, _) = wait(&fs, LONG, ReturnWhen::FirstException).unwrap();
    assert_eq!(done.len(), 3);
}

#[test]
fn as_completed_yields_in_completion_order() {
    let pool = pool(3);
    let gates: Vec<Gate> = (0..3).map(|_| Gate::default()).collect();
    let fs: Vec<_> = gates.iter().enumerate().map(|(i, g)| gated(&pool, g, i)).collect();
    let mut it = as_completed(&fs, LONG).unwrap();
    for &i in &[2usize, 0, 1] {
        gates[i].open();
        let f = it.next().expect("one more").unwrap();
        assert_eq!(f.result(None).unwrap(), i);
    }
    assert!(it.next().is_none());

    // Already-done futures come first, in input order; duplicates once.
    let done: Vec<_> = (0..3).map(|i| pool.submit(move || i * 10).unwrap()).collect();
    wait(&done, LONG, ReturnWhen::AllCompleted).unwrap();
    let with_dup = [&done[0], &done[1], &done[0], &done[2]];
    let order: Vec<i32> = as_completed(&with_dup, None).unwrap().map(|f| f.unwrap().result(None).unwrap()).collect();
    assert_eq!(order, [0, 10, 20]);
}

#[test]
fn as_completed_times_out() {
    let pool = pool(2);
    let gate = Gate::default();
    let slow = gated(&pool, &gate, ());
    let fast = pool.submit(|| ()).unwrap();
    fast.result(LONG).unwrap();
    let fs = [&slow, &fast];
    let mut it = as_completed(&fs, SHORT).unwrap();
    assert!(std::ptr::eq(*it.next().unwrap().unwrap(), &fast));
    match it.next() {
        Some(Err(Error::Timeout(m))) => assert!(m.contains("1 (of 2)"), "{m}"),
        other => panic!("expected a timeout, got {:?}", other.map(|r| r.map(|_| ()))),
    }
    assert!(it.next().is_none());
    gate.open();
}

#[test]
fn map_gives_ordered_results_in_chunks() {
    let pool = pool(4);
    let squares: Vec<u64> = pool
        .map(|x: u64| x * x, 0..100u64, &MapOptions::new().chunksize(7))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(squares, (0..100u64).map(|x| x * x).collect::<Vec<_>>());
    // Strings in, owned values out; empty input.
    let words = vec!["map", "in", "order"];
    let out: Vec<String> =
        pool.map(|w: &str| w.to_uppercase(), words, &MapOptions::new()).unwrap().map(Result::unwrap).collect();
    assert_eq!(out, ["MAP", "IN", "ORDER"]);
    assert_eq!(pool.map(|x: u8| x, Vec::new(), &MapOptions::new()).unwrap().count(), 0);
    assert!(matches!(pool.map(|x: u8| x, vec![1], &MapOptions::new().chunksize(0)), Err(Error::InvalidArgument(_))));
}

#[test]
fn map_stops_at_the_first_panic() {
    let pool = pool(2);
    let results: Vec<Result<u32, Error>> = pool
        .map(|x: u32| if x == 5 { panic!("bad item {x}") } else { x }, 0..10u32, &MapOptions::new().chunksize(3))
        .unwrap()
        .collect();
    assert_eq!(results.len(), 6, "five values, then the failure, then the end");
    for (i, r) in results[..5].iter().enumerate() {
        assert_eq!(*r.as_ref().unwrap(), i as u32);
    }
    match &results[5] {
        Err(Error::Task { type_name, message, detail }) => {
            assert_eq!(type_name, "panic");
            assert_eq!(message, "bad item 5");
            assert_eq!(detail, "map item 5");
        }
        other => panic!("expected the panic, got {other:?}"),
    }
}

#[test]
fn map_times_out_and_cancels_the_rest() {
    let pool = pool(1);
    let gate = Gate::default();
    let g = gate.clone();
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let mut results = pool
        .map(
            move |x: u32| {
                s.fetch_add(1, Ordering::SeqCst);
                g.wait();
                x
            },
            0..5u32,
            &MapOptions::new().timeout(Duration::from_millis(30)),
        )
        .unwrap();
    match results.next() {
        Some(Err(Error::Timeout(_))) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(results.next().is_none());
    gate.open();
    pool.shutdown(true, false).unwrap();
    assert_eq!(started.load(Ordering::SeqCst), 1, "the chunks not started were cancelled");
}

#[test]
fn byte_string_map_through_the_library() {
    register_task("tests.shout", shout).unwrap();
    let pool = pool(3);
    let inputs = ["a", "bb", "ccc", "dddd", "eeeee"];
    let out: Vec<Vec<u8>> =
        pool.map_named("tests.shout", inputs, &MapOptions::new().chunksize(2)).unwrap().map(Result::unwrap).collect();
    assert_eq!(out, [&b"A"[..], b"BB", b"CCC", b"DDDD", b"EEEEE"]);
    let mut unordered: Vec<Vec<u8>> = pool
        .map_task(shout, inputs, &MapOptions::new().unordered(true).buffersize(1))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    unordered.sort();
    assert_eq!(unordered, out);
    // A failing item: the items before it, then its failure once.
    let r: Vec<_> = pool.map_task(shout, ["x", "", "z"], &MapOptions::new()).unwrap().collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].as_ref().unwrap(), b"X");
    assert!(matches!(&r[1], Err(Error::Task { type_name, .. }) if type_name == "ValueError"));
    assert!(matches!(pool.map_named("tests.unregistered", ["x"], &MapOptions::new()), Err(Error::UnknownTask(_))));
}

#[test]
fn shutdown_refuses_new_work() {
    let pool = pool(2);
    let f = pool.submit(|| 1).unwrap();
    pool.shutdown(true, false).unwrap();
    assert_eq!(f.result(Some(Duration::ZERO)).unwrap(), 1, "shutdown(wait) waited for it");
    pool.shutdown(true, false).unwrap(); // idempotent
    match pool.submit(|| 2) {
        Err(e @ Error::Shutdown(_)) => {
            assert_eq!(e.status(), cfutures::sys::CF_E_SHUTDOWN);
            assert!(e.message().contains("ThreadPool::submit"), "{e}");
        }
        other => panic!("expected Shutdown, got {other:?}"),
    }
    assert!(matches!(pool.submit_named("tests.shout", b"x"), Err(Error::Shutdown(_))));
    assert!(matches!(pool.map(|x: u8| x, vec![1], &MapOptions::new()), Err(Error::Shutdown(_))));
}

#[test]
fn shutdown_with_cancel_futures_cancels_the_queue() {
    let pool = pool(1);
    let gate = Gate::default();
    let running = gated(&pool, &gate, ());
    until_running(&running);
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    pool.shutdown(false, true).unwrap();
    assert!(queued.iter().all(|f| f.cancelled()));
    gate.open();
    running.result(LONG).unwrap();
}

#[test]
fn a_running_closure_sees_cancel_requests() {
    let pool = pool(1);
    let f = pool
        .submit(|| {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !cfutures::cancel_requested() {
                assert!(Instant::now() < deadline);
                std::thread::yield_now();
            }
            "stopped on request"
        })
        .unwrap();
    until_running(&f);
    assert!(!f.cancel(), "running: not cancelled, only asked to stop");
    assert_eq!(f.result(LONG).unwrap(), "stopped on request");
    assert!(!cfutures::cancel_requested(), "outside a task");
}

#[test]
fn initializer_runs_in_every_thread() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let pool =
        ThreadPool::new(ThreadPoolOptions::new().max_workers(2).thread_name_prefix("init").initializer(move || {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
    let name = pool.submit(|| std::thread::current().name().map(String::from)).unwrap().result(LONG).unwrap();
    assert!(calls.load(Ordering::SeqCst) >= 1);
    // Threads are named by the library (pthread name), which Rust's Thread::name does not see: just no crash.
    let _ = name;
    drop(pool);
    let n = calls.load(Ordering::SeqCst);
    assert!((1..=2).contains(&n), "once per thread, at most max_workers threads: {n}");
}

#[test]
fn a_failing_initializer_breaks_the_pool() {
    let pool =
        ThreadPool::new(ThreadPoolOptions::new().max_workers(1).initializer(|| Err("no database".into()))).unwrap();
    let f = pool.submit(|| 1).unwrap();
    match f.result(LONG) {
        Err(Error::BrokenThreadPool(m)) => assert!(m.contains("no database"), "{m}"),
        other => panic!("expected BrokenThreadPool, got {other:?}"),
    }
    match pool.submit(|| 2) {
        Err(Error::BrokenThreadPool(_)) => {}
        other => panic!("later submits must be refused, got {other:?}"),
    }
    // A panicking initializer breaks it the same way.
    let pool =
        ThreadPool::new(ThreadPoolOptions::new().max_workers(1).initializer(|| panic!("init panicked"))).unwrap();
    assert!(matches!(pool.submit(|| 1).unwrap().result(LONG), Err(Error::BrokenThreadPool(_))));
}

#[test]
fn done_callbacks_run_once_in_order() {
    let pool = pool(1);
    let gate = Gate::default();
    let f = gated(&pool, &gate, 5);
    let (tx, rx) = mpsc::channel();
    for tag in 0..3 {
        let tx = tx.clone();
        f.add_done_callback(move |done| tx.send((tag, done.result(Some(Duration::ZERO)).unwrap())).unwrap()).unwrap();
    }
    // A panicking callback does not stop the others (it is reported on stderr).
    f.add_done_callback(|_| panic!("callback panicked on purpose")).unwrap();
    let tx2 = tx.clone();
    f.add_done_callback(move |_| tx2.send((99, 0)).unwrap()).unwrap();
    assert!(rx.try_recv().is_err(), "not before the future is done");
    gate.open();
    let got: Vec<_> = (0..4).map(|_| rx.recv_timeout(Duration::from_secs(30)).unwrap()).collect();
    assert_eq!(got, [(0, 5), (1, 5), (2, 5), (99, 0)]);
    // On a done future: at once, on this thread.
    let here = std::thread::current().id();
    f.add_done_callback(move |_| tx.send((100, (std::thread::current().id() == here) as i32)).unwrap()).unwrap();
    assert_eq!(rx.try_recv().unwrap(), (100, 1));
}

#[test]
fn promises_complete_futures_by_hand() {
    let p = Promise::new().unwrap();
    let f = p.future();
    assert_eq!(f.state(), State::Pending);
    assert!(matches!(f.result(Some(Duration::ZERO)), Err(Error::Timeout(_))));
    assert!(p.set_running_or_notify_cancel().unwrap());
    assert!(f.running());
    let t = std::thread::spawn(move || {
        p.set_result(b"hello from another thread").unwrap();
        p
    });
    assert_eq!(f.result(LONG).unwrap(), b"hello from another thread");
    let p = t.join().unwrap();
    assert!(matches!(p.set_result(b"again"), Err(Error::InvalidState(_))));
    assert_eq!(f.result(None).unwrap(), b"hello from another thread", "the first value is kept");

    let p = Promise::new().unwrap();
    p.set_exception("KeyError", "no such key").unwrap();
    match p.future().result(None) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!((type_name.as_str(), message.as_str()), ("KeyError", "no such key"))
        }
        other => panic!("{other:?}"),
    }
    let p = Promise::new().unwrap();
    assert!(p.future().cancel());
    assert!(!p.set_running_or_notify_cancel().unwrap(), "cancelled before it ran");
    assert!(matches!(p.set_exception("A\0B", "x"), Err(Error::InvalidArgument(_))));
}

#[test]
fn futures_move_across_threads_and_pools_are_shared() {
    let pool = Arc::new(pool(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let pool = pool.clone();
            std::thread::spawn(move || pool.submit(move || i * 2).unwrap())
        })
        .collect();
    let futures: Vec<Future<i32>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let shared = Arc::new(futures);
    let s = shared.clone();
    let sum = std::thread::spawn(move || s.iter().map(|f| f.result(LONG).unwrap()).sum::<i32>()).join().unwrap();
    assert_eq!(sum, 12);
}

#[test]
fn invalid_options_are_reported() {
    match ThreadPool::new(ThreadPoolOptions::new().max_workers(100_000)) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("max_workers"), "{m}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert!(matches!(
        ThreadPool::new(ThreadPoolOptions::new().thread_name_prefix("a\0b")),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(cfutures::version().split('.').count(), 3);
}

task_fn! {
    /// Runs until asked to stop, then returns "late" (a result nobody should see).
    fn until_cancel_requested(ctx: &mut TaskContext, _arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ctx.cancel_requested() {
            if Instant::now() > deadline {
                return Err(TaskError::new("TimeoutError", "never asked to stop"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(b"late".to_vec())
    }
}

/// A closure for `submit`: runs until asked to stop, tells `stopped`, then returns `value` (to be discarded).
fn until_asked_to_stop<T: Send + 'static>(stopped: mpsc::Sender<()>, value: T) -> impl FnOnce() -> T + Send {
    until_asked_to_stop_after(None, stopped, value)
}

/// The same, saying on `started` that the closure has begun: a future shows running as soon as its task is
/// taken, a moment before the closure is entered, and a closure whose future is cancelled in that moment is
/// dropped without running.
fn until_asked_to_stop_after<T: Send + 'static>(
    started: Option<mpsc::Sender<()>>,
    stopped: mpsc::Sender<()>,
    value: T,
) -> impl FnOnce() -> T + Send {
    move || {
        if let Some(started) = started {
            started.send(()).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cfutures::cancel_requested() {
            assert!(Instant::now() < deadline, "never asked to stop");
            std::thread::sleep(Duration::from_millis(1));
        }
        stopped.send(()).unwrap();
        value
    }
}

#[test]
fn a_time_limit_fails_the_future_and_the_task_is_asked_to_stop() {
    register_task("tp.until_cancel_requested", until_cancel_requested).unwrap();
    let pool = pool(3);
    let (stopped, was_stopped) = mpsc::channel();
    let limit = SubmitOptions::new().time_limit(Duration::from_millis(100));
    let t0 = Instant::now();
    let slow = pool.submit_with(until_asked_to_stop(stopped, "late value"), &limit).unwrap();
    let sibling = pool.submit_with(|| 6 * 7, &SubmitOptions::new().time_limit(Duration::from_secs(30))).unwrap();
    let bytes = pool.submit_named_with("tp.until_cancel_requested", b"", &limit);
    assert_eq!(sibling.result(LONG).unwrap(), 42);
    match slow.result(LONG) {
        Err(Error::TimeLimit(m)) => assert!(m.contains("time limit"), "{m}"),
        other => panic!("expected TimeLimit, got {other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    let e = slow.exception(None).unwrap().expect("an exception");
    assert_eq!(e.status(), cfutures::sys::CF_E_TIME_LIMIT);
    assert_eq!(e.kind_name(), "TimeoutError");
    assert_eq!(slow.state(), State::Finished);
    // The closure saw cancel_requested() and returned; its late value is discarded.
    was_stopped.recv_timeout(Duration::from_secs(30)).expect("the task was asked to stop");
    // A byte-string task too.
    let bytes = bytes.unwrap();
    assert!(matches!(bytes.result(LONG), Err(Error::TimeLimit(_))), "{:?}", bytes.result(LONG));
    pool.shutdown(true, false).unwrap(); // every task has returned
    assert!(matches!(slow.result(None), Err(Error::TimeLimit(_))));
    assert!(matches!(bytes.result(None), Err(Error::TimeLimit(_))));
    // A task done in time is unaffected by its limit.
    let stats = pool.stats().unwrap();
    assert_eq!((stats.completed, stats.failed, stats.cancelled), (1, 2, 0), "{stats:?}");
    assert_eq!(stats.done(), 3);
    assert_eq!((stats.queued, stats.running, stats.worker_deaths), (0, 0, 0), "{stats:?}");
}

#[test]
fn cancel_running_cancels_a_running_closure() {
    register_task("tp.until_cancel_requested", until_cancel_requested).unwrap();
    let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(1).cancel_running(true)).unwrap();
    let (stopped, was_stopped) = mpsc::channel();
    let (started, has_started) = mpsc::channel();
    let f = pool.submit(until_asked_to_stop_after(Some(started), stopped, "late value")).unwrap();
    until_running(&f);
    has_started.recv_timeout(Duration::from_secs(30)).expect("the closure started");
    assert!(f.cancel(), "cancel_running: a running future can be cancelled");
    assert_eq!(f.state(), State::Cancelled);
    assert!(f.cancelled() && f.done() && !f.running());
    assert!(matches!(f.result(LONG), Err(Error::Cancelled(_))));
    was_stopped.recv_timeout(Duration::from_secs(30)).expect("the task was asked to stop");
    // The pool goes on (its one thread is free once the cancelled task returned).
    assert_eq!(pool.submit(|| 5).unwrap().result(LONG).unwrap(), 5);
    // A byte-string task too.
    let bytes = pool.submit_named("tp.until_cancel_requested", b"").unwrap();
    until_running(&bytes);
    assert!(bytes.cancel());
    assert!(matches!(bytes.result(LONG), Err(Error::Cancelled(_))));
    pool.shutdown(true, false).unwrap();
    assert!(matches!(f.result(None), Err(Error::Cancelled(_))), "the late value is discarded");
    let stats = pool.stats().unwrap();
    assert_eq!((stats.completed, stats.failed, stats.cancelled), (1, 0, 2), "{stats:?}");
}

#[test]
fn shutdown_with_cancel_futures_cancels_running_tasks_with_cancel_running() {
    let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(1).cancel_running(true)).unwrap();
    let (stopped, was_stopped) = mpsc::channel();
    let (started, has_started) = mpsc::channel();
    let running = pool.submit(until_asked_to_stop_after(Some(started), stopped, ())).unwrap();
    until_running(&running);
    has_started.recv_timeout(Duration::from_secs(30)).expect("the closure started");
    let queued = pool.submit(|| ()).unwrap();
    pool.shutdown(false, true).unwrap();
    assert!(running.cancelled() && queued.cancelled());
    was_stopped.recv_timeout(Duration::from_secs(30)).expect("the task was asked to stop");
}

/// Futures that may complete while their closure runs (time limits, cancel_running): whatever the race between
/// the limit, `cancel` and the task, each closure's captures and each value it made are dropped exactly once.
#[test]
fn closures_of_futures_done_early_are_dropped_exactly_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let n = 300;
    {
        let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(4).cancel_running(true)).unwrap();
        let futures: Vec<Future<Counted>> = (0..n)
            .map(|i| {
                let captured = Counted(drops.clone());
                let (d, r) = (drops.clone(), ran.clone());
                let closure = move || {
                    let _keep = &captured;
                    r.fetch_add(1, Ordering::SeqCst);
                    Counted(d)
                };
                match i % 3 {
                    // Limits so short that they often pass before the closure is entered.
                    0 => pool.submit_with(closure, &SubmitOptions::new().time_limit(Duration::from_nanos(1))),
                    1 => pool.submit_with(closure, &SubmitOptions::new().time_limit(Duration::from_micros(50))),
                    _ => pool.submit(closure),
                }
                .unwrap()
            })
            .collect();
        for f in futures.iter().step_by(4) {
            f.cancel();
        }
        for f in &futures {
            assert!(f.wait(LONG));
            match f.exception(Some(Duration::ZERO)) {
                Ok(None) | Ok(Some(Error::TimeLimit(_))) | Err(Error::Cancelled(_)) => {}
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        let stats = pool.stats().unwrap();
        assert_eq!(stats.done(), n as u64, "{stats:?}");
    } // the pool waits for every task, the futures are dropped
    let ran = ran.load(Ordering::SeqCst);
    assert!(ran <= n);
    assert_eq!(drops.load(Ordering::SeqCst), n + ran, "each capture once, each value made once");
}
