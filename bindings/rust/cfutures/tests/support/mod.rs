// SPDX-License-Identifier: MIT
//! A minimal async executor for the tests (no async runtime crate is used): `block_on` parks the thread between
//! polls, `join_all` polls several futures at once, and `CountingWaker` counts its wakes and lets a test wait for
//! them (an event, not a sleep).
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Wakes the thread that blocks in `block_on`, and counts the wakes.
struct Unpark {
    thread: Thread,
    wakes: AtomicUsize,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Runs a future to completion on this thread; also says how many times it was woken.
pub fn block_on_counting<F: Future>(future: F) -> (F::Output, usize) {
    let unpark = Arc::new(Unpark { thread: std::thread::current(), wakes: AtomicUsize::new(0) });
    let waker = Waker::from(Arc::clone(&unpark));
    let mut cx = Context::from_waker(&waker);
    let mut future = Box::pin(future);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return (out, unpark.wakes.load(Ordering::SeqCst));
        }
        // A wake before this park makes it return at once (the thread's token), so no wake is lost. The timeout
        // only turns a lost wake (a bug) into a failure instead of a hang.
        let now = Instant::now();
        assert!(now < deadline, "block_on: never woken");
        std::thread::park_timeout(deadline - now);
    }
}

/// Runs a future to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    block_on_counting(future).0
}

/// Polls every future whenever it is polled; ready with all outputs, in order, once each is ready.
pub struct JoinAll<F: Future> {
    futures: Vec<Option<Pin<Box<F>>>>,
    outputs: Vec<Option<F::Output>>,
}

pub fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> JoinAll<F> {
    let futures: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let outputs = futures.iter().map(|_| None).collect();
    JoinAll { futures, outputs }
}

// Nothing is pinned in place: each future is boxed, the outputs are plain values.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let this = self.get_mut();
        for (slot, out) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(future) = slot {
                if let Poll::Ready(value) = future.as_mut().poll(cx) {
                    *out = Some(value);
                    *slot = None;
                }
            }
        }
        if this.futures.iter().all(Option::is_none) {
            Poll::Ready(this.outputs.iter_mut().map(|o| o.take().expect("an output")).collect())
        } else {
            Poll::Pending
        }
    }
}

/// Runs `then` right after the first poll of `future` (e.g. to let its tasks finish only once it waits for them).
pub struct AfterFirstPoll<F, G> {
    future: Pin<Box<F>>,
    then: Option<G>,
}

pub fn after_first_poll<F: Future, G: FnOnce()>(future: F, then: G) -> AfterFirstPoll<F, G> {
    AfterFirstPoll { future: Box::pin(future), then: Some(then) }
}

impl<F: Future, G: FnOnce() + Unpin> Future for AfterFirstPoll<F, G> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let out = this.future.as_mut().poll(cx);
        if let Some(then) = this.then.take() {
            then();
        }
        out
    }
}

/// A waker that counts its wakes; `wait_for` blocks until it has been woken so many times.
#[derive(Default)]
pub struct CountingWaker {
    wakes: Mutex<usize>,
    woken: Condvar,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        *self.wakes.lock().unwrap() += 1;
        self.woken.notify_all();
    }
}

impl CountingWaker {
    /// A new counter and a waker of it.
    pub fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counter));
        (counter, waker)
    }

    pub fn wakes(&self) -> usize {
        *self.wakes.lock().unwrap()
    }

    /// Waits until woken at least `n` times (fails after 30 s).
    pub fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut wakes = self.wakes.lock().unwrap();
        while *wakes < n {
            let now = Instant::now();
            assert!(now < deadline, "woken {} times, expected {n}", *wakes);
            wakes = self.woken.wait_timeout(wakes, deadline - now).unwrap().0;
        }
    }
}

/// Polls a future once with `waker`.
pub fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// A latch: tasks block in `wait` until the test calls `open`.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }
    pub fn wait(&self) {
        let mut open = self.0 .0.lock().unwrap();
        while !*open {
            open = self.0 .1.wait(open).unwrap();
        }
    }
}

/// A thread pool of `workers` threads.
pub fn pool(workers: usize) -> cfutures::ThreadPool {
    cfutures::ThreadPool::new(cfutures::ThreadPoolOptions::new().max_workers(workers)).expect("thread pool")
}

/// Submits a task that waits for `gate` to open, then returns `value`.
pub fn gated<T: Send + 'static>(pool: &cfutures::ThreadPool, gate: &Gate, value: T) -> cfutures::Future<T> {
    let g = gate.clone();
    pool.submit(move || {
        g.wait();
        value
    })
    .unwrap()
}
