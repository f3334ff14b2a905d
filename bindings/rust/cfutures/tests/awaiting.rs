// SPDX-License-Identifier: MIT
//! `cfutures::Future` as a `std::future::Future`: awaited with the minimal executor of `support` (no runtime
//! crate). Tasks that must stay busy wait on a [`Gate`] the test opens; the tests wait on wakes, not on sleeps.

mod support;

use cfutures::{Error, Future, Promise, SubmitOptions};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use support::{after_first_poll, block_on, block_on_counting, gated, join_all, poll_once, pool, CountingWaker, Gate};

#[test]
fn await_gives_values_and_failures() {
    let pool = pool(2);
    assert_eq!(block_on(pool.submit(|| 6 * 7).unwrap()).unwrap(), 42);

    // Values that are not Clone are moved out.
    struct NotClone(String);
    let moved = block_on(pool.submit(|| NotClone("moved".into())).unwrap()).unwrap();
    assert_eq!(moved.0, "moved");

    let failed = block_on(pool.submit(|| -> u8 { panic!("no such page") }).unwrap());
    match failed {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!((type_name.as_str(), message.as_str()), ("panic", "no such page"))
        }
        other => panic!("expected a task failure, got {other:?}"),
    }

    // In an async block, with `?`.
    let sum = block_on(async {
        let a = pool.submit(|| 20u32)?;
        let b = pool.submit(|| 22u32)?;
        Ok::<_, Error>(a.await? + b.await?)
    });
    assert_eq!(sum.unwrap(), 42);
}

#[test]
fn the_waker_is_called_when_the_task_completes() {
    let pool = pool(1);
    let gate = Gate::default();
    let mut f = gated(&pool, &gate, 7u32);
    let (counter, waker) = CountingWaker::new();
    assert!(poll_once(&mut f, &waker).is_pending());
    assert_eq!(counter.wakes(), 0, "nothing done yet");
    gate.open();
    counter.wait_for(1); // woken by the done callback, on the worker thread
    match poll_once(&mut f, &waker) {
        Poll::Ready(value) => assert_eq!(value.unwrap(), 7),
        Poll::Pending => panic!("woken, yet still pending"),
    }
    assert_eq!(counter.wakes(), 1, "woken exactly once");
}

#[test]
fn only_the_latest_waker_is_woken_and_the_same_one_is_kept_once() {
    let pool = pool(1);
    let gate = Gate::default();
    let mut f = gated(&pool, &gate, "late");
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    assert_eq!(Arc::strong_count(&first), 2, "the counter and its waker");
    assert!(poll_once(&mut f, &first_waker).is_pending());
    assert_eq!(Arc::strong_count(&first), 3, "the future keeps a clone of the waker");
    assert!(poll_once(&mut f, &first_waker).is_pending());
    assert_eq!(Arc::strong_count(&first), 3, "polled again with the same waker: still one clone");
    assert!(poll_once(&mut f, &second_waker).is_pending());
    assert_eq!(Arc::strong_count(&first), 2, "the replaced waker is dropped");
    gate.open();
    second.wait_for(1);
    assert_eq!(first.wakes(), 0, "the replaced waker is not woken");
    assert_eq!(poll_once(&mut f, &second_waker).map(Result::unwrap), Poll::Ready("late"));
    // The worker drops the woken clone just after waking it: once the pool is shut down, it has.
    pool.shutdown(true, false).unwrap();
    assert_eq!(Arc::strong_count(&second), 2, "no clone is left once the future is done");
}

#[test]
fn awaiting_a_done_future_is_ready_at_once() {
    let pool = pool(1);
    let mut f = pool.submit(|| vec![1, 2, 3]).unwrap();
    assert!(f.wait(None));
    let (counter, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut f, &waker).map(Result::unwrap), Poll::Ready(vec![1, 2, 3]));
    assert_eq!((counter.wakes(), Arc::strong_count(&counter)), (0, 2), "neither woken nor kept");

    // Polled again after Ready: a closure's value was moved out.
    assert!(matches!(poll_once(&mut f, &waker), Poll::Ready(Err(Error::InvalidState(_)))));
    assert!(matches!(f.result(None), Err(Error::InvalidState(_))), "a handle that awaited has no value left");

    let (out, wakes) = block_on_counting(pool.submit(|| 5).unwrap().clone());
    assert_eq!(out.unwrap(), 5);
    assert!(wakes <= 1);
}

#[test]
fn a_cancelled_future_wakes_its_awaiter_and_gives_cancelled() {
    let pool = pool(1);
    let gate = Gate::default();
    let blocker = gated(&pool, &gate, ());
    let mut queued = pool.submit(|| "never").unwrap();
    let (counter, waker) = CountingWaker::new();
    assert!(poll_once(&mut queued, &waker).is_pending());
    assert!(queued.cancel());
    // A cancel runs the done callbacks on the calling thread before it returns.
    assert_eq!(counter.wakes(), 1);
    assert!(matches!(poll_once(&mut queued, &waker), Poll::Ready(Err(Error::Cancelled(_)))));

    // Awaiting a future cancelled before the first poll.
    let cancelled = pool.submit(|| "never either").unwrap();
    assert!(cancelled.cancel());
    assert!(matches!(block_on(cancelled), Err(Error::Cancelled(_))));

    gate.open();
    block_on(blocker).unwrap();
}

#[test]
fn dropping_an_awaited_future_drops_its_waker_at_once() {
    let pool = pool(1);
    let gate = Gate::default();
    let mut f = gated(&pool, &gate, String::from("unread"));
    let watch = f.clone();
    let (counter, waker) = CountingWaker::new();
    assert!(poll_once(&mut f, &waker).is_pending());
    assert_eq!(Arc::strong_count(&counter), 3);
    drop(f); // as a select! drops the branch that lost
    assert_eq!(Arc::strong_count(&counter), 2, "the waker went with the future");
    gate.open();
    assert_eq!(watch.result(None).unwrap(), "unread");
    pool.shutdown(true, false).unwrap(); // the done callbacks have run
    assert_eq!(counter.wakes(), 0, "nobody is woken for a dropped future");

    // A promise's future polled and then dropped with its promise, never completed: the C future is freed
    // unfinished, and the callback's share of the waker slot with it (a leak here shows under ASan).
    let promise = Promise::new().unwrap();
    let mut pending = promise.future();
    let (counter, waker) = CountingWaker::new();
    assert!(poll_once(&mut pending, &waker).is_pending());
    drop(promise);
    drop(pending);
    assert_eq!((counter.wakes(), Arc::strong_count(&counter)), (0, 2));
}

#[test]
fn join_of_many_futures_waits_on_wakes() {
    let pool = pool(4);
    let gate = Gate::default();
    let futures: Vec<Future<usize>> = (0..16)
        .map(|i| {
            let g = gate.clone();
            pool.submit(move || {
                g.wait();
                i * i
            })
            .unwrap()
        })
        .collect();
    // The tasks are let go only once every future is pending on the join: they complete while it waits.
    let opener = gate.clone();
    let (results, wakes) = block_on_counting(after_first_poll(join_all(futures), move || opener.open()));
    let squares: Vec<usize> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(squares, (0..16).map(|i| i * i).collect::<Vec<_>>());
    assert!(wakes >= 1, "the join was woken by the done callbacks");
}

#[test]
fn byte_string_futures_and_promises_are_awaited() {
    let promise = Promise::new().unwrap();
    let mut f = promise.future();
    let (counter, waker) = CountingWaker::new();
    assert!(poll_once(&mut f, &waker).is_pending());
    promise.set_result(b"hello").unwrap(); // runs the callback here
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut f, &waker).map(Result::unwrap), Poll::Ready(b"hello".to_vec()));
    assert_eq!(poll_once(&mut f, &waker).map(Result::unwrap), Poll::Ready(b"hello".to_vec()), "bytes stay");

    let failing = Promise::new().unwrap();
    let g = failing.future();
    let setter = std::thread::spawn(move || failing.set_exception("ValueError", "bad bytes").unwrap());
    match block_on(g) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!((type_name.as_str(), message.as_str()), ("ValueError", "bad bytes"))
        }
        other => panic!("expected a task failure, got {other:?}"),
    }
    setter.join().unwrap();
}

#[test]
fn awaited_futures_move_between_threads() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let pool = pool(2);
    let gate = Gate::default();
    let f = gated(&pool, &gate, 11u64);
    // The async block holding a cfutures::Future is Send: it may be polled on any thread of a runtime.
    let task = assert_send(async move { f.await.map(|v| v * 2) });
    let opener = gate.clone();
    let result = std::thread::spawn(move || block_on(after_first_poll(task, move || opener.open()))).join().unwrap();
    assert_eq!(result.unwrap(), 22);
}

#[test]
fn a_time_limit_shows_when_awaited() {
    let pool = pool(1);
    let limit = SubmitOptions::new().time_limit(Duration::from_millis(20));
    let f = pool
        .submit_with(
            || {
                while !cfutures::cancel_requested() {
                    std::thread::yield_now();
                }
            },
            &limit,
        )
        .unwrap();
    assert!(matches!(block_on(f), Err(Error::TimeLimit(_))));
}
