// SPDX-License-Identifier: MIT
//! `ThreadPool::scope`: closures that borrow from the caller's stack. Tasks that must stay busy wait on a
//! [`Gate`]; where a test must know that the scope waited, the gate is opened only once the scope's body has
//! ended (by a helper thread told so by the body's last statement), so the task still runs while the scope waits.

mod support;

use cfutures::{Error, State, SubmitOptions, ThreadPool, ThreadPoolOptions};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use support::{block_on, pool, Gate};

/// A thread that opens `gate` once told that the scope's body has ended.
fn open_after_the_body(gate: &Gate) -> (mpsc::Sender<()>, JoinHandle<()>) {
    let (body_ended, told) = mpsc::channel();
    let gate = gate.clone();
    let opener = std::thread::spawn(move || {
        told.recv().expect("the body's end");
        gate.open();
    });
    (body_ended, opener)
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn scoped_tasks_borrow_and_mutate_the_callers_data() {
    let pool = pool(4);
    let numbers: Vec<u64> = (1..=1000).collect();
    let mut sums = [0u64; 10];
    pool.scope(|s| {
        for (chunk, sum) in numbers.chunks(100).zip(sums.iter_mut()) {
            s.submit(move || *sum = chunk.iter().sum()).unwrap();
        }
    });
    assert_eq!(sums.iter().sum::<u64>(), 500_500);
    assert_eq!(sums[0], (1..=100).sum::<u64>());

    // Shared borrows from several tasks, and values that borrow.
    let names = [String::from("alpha"), String::from("beta")];
    let (first, lengths) = pool.scope(|s| {
        let first = s.submit(|| names[0].as_str()).unwrap();
        let lengths: Vec<_> = names.iter().map(|n| s.submit(move || n.len()).unwrap()).collect();
        let lengths: Vec<usize> = lengths.iter().map(|f| f.result(None).unwrap()).collect();
        (first.result(None).unwrap(), lengths)
    });
    assert_eq!((first, lengths), ("alpha", vec![5, 4]));
}

#[test]
fn the_scope_waits_for_tasks_whose_futures_were_forgotten() {
    let pool = pool(2);
    let gate = Gate::default();
    let (body_ended, opener) = open_after_the_body(&gate);
    let mut written = Vec::new();
    let finished = AtomicBool::new(false);
    let forgotten = pool.scope(|s| {
        let (g, w, f) = (gate.clone(), &mut written, &finished);
        let future = s
            .submit(move || {
                g.wait();
                w.extend_from_slice(b"written after the body");
                f.store(true, Ordering::SeqCst);
            })
            .unwrap();
        body_ended.send(()).unwrap();
        // Not dropped in the scope, as with mem::forget: the scope must not rely on the future's Drop. (Handed out
        // to be dropped after the scope, so that the test itself leaks nothing under ASan.)
        ManuallyDrop::new(future)
    });
    assert!(finished.load(Ordering::SeqCst), "the scope returned before its task");
    assert!(forgotten.done());
    drop(ManuallyDrop::into_inner(forgotten));
    assert_eq!(written, b"written after the body");
    opener.join().unwrap();
}

#[test]
fn the_scope_waits_even_when_its_body_panics() {
    let pool = pool(2);
    let gate = Gate::default();
    let (body_ended, opener) = open_after_the_body(&gate);
    let finished = AtomicBool::new(false);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            let (g, f) = (gate.clone(), &finished);
            s.submit(move || {
                g.wait();
                f.store(true, Ordering::SeqCst);
            })
            .unwrap();
            body_ended.send(()).unwrap();
            panic!("the body fails");
        })
    }));
    let payload = outcome.expect_err("the body's panic is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the body fails"));
    assert!(finished.load(Ordering::SeqCst), "the scope unwound before its task finished");
    opener.join().unwrap();
}

#[test]
fn a_cancelled_scoped_task_is_dropped_unrun_and_the_scope_ends() {
    let pool = pool(1);
    let gate = Gate::default();
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = AtomicBool::new(false);
    let forgotten = pool.scope(|s| {
        let g = gate.clone();
        let blocker = s.submit(move || g.wait()).unwrap();
        let captured = Counted(Arc::clone(&drops));
        let r = &ran;
        let queued = s
            .submit(move || {
                let _keep = &captured;
                r.store(true, Ordering::SeqCst);
            })
            .unwrap();
        assert!(queued.cancel());
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the closure is dropped when its future is cancelled");
        assert!(matches!(queued.result(None), Err(Error::Cancelled(_))));
        // A scoped future that is cancelled and not dropped in the scope (as with mem::forget).
        let forgotten = s.submit(|| ran.store(true, Ordering::SeqCst)).unwrap();
        assert!(forgotten.cancel());
        gate.open();
        drop(blocker);
        ManuallyDrop::new(forgotten)
    });
    drop(ManuallyDrop::into_inner(forgotten));
    assert!(!ran.load(Ordering::SeqCst), "a cancelled closure never runs");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "and is dropped exactly once");
}

#[test]
fn shutdown_with_cancel_futures_inside_a_scope() {
    let pool = pool(1);
    let gate = Gate::default();
    let ran = AtomicUsize::new(0);
    let drops = Arc::new(AtomicUsize::new(0));
    pool.scope(|s| {
        let g = gate.clone();
        let r = &ran;
        let blocker = s
            .submit(move || {
                g.wait();
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let queued: Vec<_> = (0..5)
            .map(|_| {
                let captured = Counted(Arc::clone(&drops));
                s.submit(move || {
                    let _keep = &captured;
                    r.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap()
            })
            .collect();
        // The blocker must be running, not queued, for the count below.
        while blocker.state() == State::Pending {
            std::thread::yield_now();
        }
        s.pool().shutdown(false, true).unwrap();
        assert!(queued.iter().all(|f| f.cancelled()));
        assert!(matches!(s.submit(|| ()), Err(Error::Shutdown(_))));
        gate.open();
    });
    assert_eq!(ran.load(Ordering::SeqCst), 1, "only the running task ran");
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn scopes_nest_and_scoped_tasks_submit_more_even_in_a_one_thread_pool() {
    let pool = pool(1);
    let total = AtomicUsize::new(0);
    let outer: Vec<usize> = (1..=4).collect();
    pool.scope(|s| {
        for &n in &outer {
            let total = &total;
            let pool = &pool;
            // A task that submits to the same scope ...
            s.submit(move || {
                s.submit(move || total.fetch_add(n, Ordering::SeqCst)).unwrap();
                // ... and one that opens a scope of its own on its (only) worker thread: the wait runs the
                // queued inner tasks instead of blocking the pool.
                let inner: Vec<usize> = (0..3).map(|i| i * n).collect();
                let mut sums = [0usize; 3];
                pool.scope(|inner_scope| {
                    for (v, sum) in inner.iter().zip(sums.iter_mut()) {
                        inner_scope.submit(move || *sum = *v + 100).unwrap();
                    }
                });
                total.fetch_add(sums.iter().sum::<usize>(), Ordering::SeqCst);
            })
            .unwrap();
        }
    });
    // 1+2+3+4 from the nested submits; each inner scope adds 300 + 3n.
    assert_eq!(total.load(Ordering::SeqCst), 10 + 4 * 300 + 3 * 10);
}

#[test]
fn scoped_futures_are_done_when_the_scope_returns() {
    let pool = pool(2);
    let factor = 6;
    let (ok, failed) =
        pool.scope(|s| (s.submit(|| 7 * factor).unwrap(), s.submit(|| -> u8 { panic!("scoped panic") }).unwrap()));
    assert!(ok.done() && failed.done());
    assert_eq!(ok.result(Some(Duration::ZERO)).unwrap(), 42);
    match failed.result(Some(Duration::ZERO)) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!((type_name.as_str(), message.as_str()), ("panic", "scoped panic"))
        }
        other => panic!("expected a task failure, got {other:?}"),
    }
}

#[test]
fn scoped_futures_can_be_awaited() {
    let pool = pool(2);
    let text = String::from("borrowed text");
    let words = pool.scope(|s| {
        let first = s.submit(|| text.split(' ').next().unwrap()).unwrap();
        let count = s.submit(|| text.split(' ').count()).unwrap();
        block_on(async { (first.await.unwrap(), count.await.unwrap()) })
    });
    assert_eq!(words, ("borrowed", 2));
}

#[test]
fn a_scoped_task_past_its_time_limit_is_still_waited_for() {
    let pool = pool(1);
    let gate = Gate::default();
    let (body_ended, opener) = open_after_the_body(&gate);
    let mut log = Vec::new();
    let limit = SubmitOptions::new().time_limit(Duration::from_millis(20));
    pool.scope(|s| {
        let (g, l) = (gate.clone(), &mut log);
        let f = s
            .submit_with(
                move || {
                    while !cfutures::cancel_requested() {
                        std::thread::yield_now();
                    }
                    g.wait(); // runs on after its future failed, until the body has ended
                    l.push("finished after the limit");
                },
                &limit,
            )
            .unwrap();
        assert!(matches!(f.result(None), Err(Error::TimeLimit(_))));
        body_ended.send(()).unwrap();
    });
    assert_eq!(log, ["finished after the limit"], "the scope returned while its closure still ran");
    opener.join().unwrap();
}

#[test]
fn a_cancelled_running_scoped_task_is_still_waited_for() {
    let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(1).cancel_running(true)).unwrap();
    let gate = Gate::default();
    let (body_ended, opener) = open_after_the_body(&gate);
    let (started_tx, started) = mpsc::channel();
    let mut log = Vec::new();
    pool.scope(|s| {
        let (g, l) = (gate.clone(), &mut log);
        let f = s
            .submit(move || {
                started_tx.send(()).unwrap();
                g.wait();
                l.push("finished after its cancel");
            })
            .unwrap();
        started.recv().unwrap();
        assert!(f.cancel(), "cancel_running cancels a running task");
        assert_eq!(f.state(), State::Cancelled);
        body_ended.send(()).unwrap();
    });
    assert_eq!(log, ["finished after its cancel"], "the scope returned while its closure still ran");
    opener.join().unwrap();
}
