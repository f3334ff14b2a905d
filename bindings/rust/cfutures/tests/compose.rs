// SPDX-License-Identifier: MIT
//! Futures made of futures on thread pools: `then`, `then_cloned`, `then_bytes`, `then_named`, `when_all`,
//! `when_any`, and awaiting them with the minimal executor of `support`. Tasks that must stay busy wait on a
//! [`Gate`] the test opens, and the tests wait on events (a closure's drop, a wake), never on sleeps.

mod support;

use cfutures::{register_task, task_fn, when_all, when_any, Error, Future, Promise, State, TaskError, Waitable};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};
use support::{after_first_poll, block_on, gated, join_all, poll_once, pool, CountingWaker, Gate};

const LONG: Option<Duration> = Some(Duration::from_secs(30));
const NOW: Option<Duration> = Some(Duration::ZERO);

task_fn! {
    fn shout(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        if arg.is_empty() {
            return Err(TaskError::new("ValueError", "nothing to shout"));
        }
        Ok(arg.to_ascii_uppercase())
    }
}

task_fn! {
    fn reverse(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        Ok(arg.iter().rev().copied().collect())
    }
}

fn register() {
    register_task("compose.shout", shout).unwrap();
    register_task("compose.reverse", reverse).unwrap();
}

/// Captured by a step's closure: counts its drops and reports each on a channel, so that a test can wait for
/// the drop of a closure that never runs (the library drops it on whichever thread learns it never will).
struct Probe {
    drops: Arc<AtomicUsize>,
    dropped: mpsc::Sender<()>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        let _ = self.dropped.send(());
    }
}

/// What a test learns of a probed step: whether it ran, and how often its closure was dropped.
struct Probed {
    ran: Arc<AtomicBool>,
    drops: Arc<AtomicUsize>,
    dropped: mpsc::Receiver<()>,
}

impl Probed {
    /// A probe to capture, and its observer.
    fn new() -> (Probe, Probed) {
        let (tx, rx) = mpsc::channel();
        let drops = Arc::new(AtomicUsize::new(0));
        (
            Probe { drops: drops.clone(), dropped: tx },
            Probed { ran: Arc::new(AtomicBool::new(false)), drops, dropped: rx },
        )
    }

    /// A step closure that records its run, holding the probe.
    fn step<T: Send + 'static>(&self, probe: Probe) -> impl FnOnce(T) -> T + Send + 'static {
        let ran = self.ran.clone();
        move |value| {
            let _held = &probe;
            ran.store(true, Ordering::SeqCst);
            value
        }
    }

    /// Waits until the closure was dropped, then checks it was dropped once and never ran.
    fn dropped_unrun(&self) {
        self.dropped.recv_timeout(Duration::from_secs(30)).expect("the step's closure was never dropped");
        assert!(!self.ran.load(Ordering::SeqCst), "the step ran");
        assert_eq!(self.drops.load(Ordering::SeqCst), 1, "the closure is dropped exactly once");
    }
}

/// Waits until the future's task has started (the library offers no event for it; this polls a cheap state).
fn until_running<T>(f: &Future<T>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while f.state() == State::Pending {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::yield_now();
    }
}

#[test]
fn a_step_runs_after_its_source_with_its_value() {
    let pool = pool(2);
    let gate = Gate::default();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (l1, l2, l3, g) = (log.clone(), log.clone(), log.clone(), gate.clone());
    let source = pool
        .submit(move || {
            g.wait();
            l1.lock().unwrap().push("source");
            String::from("<h1>alpha</h1>")
        })
        .unwrap();
    let length = source
        .then(&pool, move |html: String| {
            l2.lock().unwrap().push("length");
            html.len()
        })
        .unwrap();
    let doubled = length
        .then(&pool, move |n: usize| {
            l3.lock().unwrap().push("doubled");
            (n * 2) as u64
        })
        .unwrap();
    assert!(!doubled.wait(Some(Duration::from_millis(20))), "done before its source ran");
    assert!(log.lock().unwrap().is_empty(), "a step ran before its source");
    gate.open();
    assert_eq!(doubled.result(LONG).unwrap(), 28);
    assert_eq!(*log.lock().unwrap(), ["source", "length", "doubled"]);
    assert_eq!(doubled.result(None).unwrap(), 28, "the continuation's value can be read again (Clone)");

    // A source done already: the step is submitted at once.
    let done = pool.submit(|| 20).unwrap();
    done.wait(None);
    assert_eq!(done.then(&pool, |n| n + 22).unwrap().result(LONG).unwrap(), 42);

    // Values that are not Clone move through the chain.
    struct NotClone(Vec<u32>);
    let moved = pool.submit(|| NotClone(vec![1, 2])).unwrap().then(&pool, |mut v| {
        v.0.push(3);
        v
    });
    assert_eq!(moved.unwrap().into_result(LONG).unwrap().0, [1, 2, 3]);
}

#[test]
fn a_step_closure_that_runs_is_dropped_once_with_its_value() {
    let pool = pool(1);
    let (probe, probed) = Probed::new();
    let cont = pool.submit(|| 5).unwrap().then(&pool, probed.step(probe)).unwrap();
    assert_eq!(cont.result(LONG).unwrap(), 5);
    probed.dropped.recv_timeout(Duration::from_secs(30)).expect("the closure is dropped once it ran");
    assert!(probed.ran.load(Ordering::SeqCst));
    assert_eq!(probed.drops.load(Ordering::SeqCst), 1);
    pool.shutdown(true, false).unwrap();
    assert_eq!(probed.drops.load(Ordering::SeqCst), 1, "and never again");
}

#[test]
fn failures_and_panics_pass_on_and_the_step_does_not_run() {
    let pool = pool(2);
    // A panic in the source.
    let (probe, probed) = Probed::new();
    let source = pool.submit(|| -> u32 { panic!("no such page") }).unwrap();
    let cont = source.then(&pool, probed.step(probe)).unwrap().then(&pool, |n| n + 1).unwrap();
    match cont.result(LONG) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!((type_name.as_str(), message.as_str()), ("panic", "no such page"))
        }
        other => panic!("expected the source's panic, got {other:?}"),
    }
    probed.dropped_unrun();

    // A failure set by hand, with its type.
    let promise = Promise::new().unwrap();
    let (probe, probed) = Probed::new();
    let cont = promise.future().then(&pool, probed.step(probe)).unwrap();
    promise.set_exception("ValueError", "bad input").unwrap();
    match cont.result(LONG) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!((type_name.as_str(), message.as_str()), ("ValueError", "bad input"))
        }
        other => panic!("expected the ValueError, got {other:?}"),
    }
    probed.dropped_unrun();

    // A panic in the step fails the continuation; the pool survives it.
    let cont = pool.submit(|| 1).unwrap().then(&pool, |_: i32| -> i32 { panic!("step {}", 2) }).unwrap();
    match cont.result(LONG) {
        Err(Error::Task { type_name, message, .. }) => {
            assert_eq!((type_name.as_str(), message.as_str()), ("panic", "step 2"))
        }
        other => panic!("expected the step's panic, got {other:?}"),
    }
    assert_eq!(pool.submit(|| 3).unwrap().then(&pool, |n| n * 2).unwrap().result(LONG).unwrap(), 6);
}

#[test]
fn a_failed_submit_passes_on() {
    let source_pool = pool(1);
    let closed = pool(1);
    closed.shutdown(true, false).unwrap();
    // The source done already: the submit fails at once, in the returned future.
    let (probe, probed) = Probed::new();
    let done = source_pool.submit(|| 1).unwrap();
    done.wait(None);
    let cont = done.then(&closed, probed.step(probe)).unwrap();
    assert!(matches!(cont.result(LONG), Err(Error::Shutdown(_))), "{:?}", cont.result(NOW));
    probed.dropped_unrun();

    // The source still pending: the submit fails when it is done.
    let gate = Gate::default();
    let (probe, probed) = Probed::new();
    let cont = gated(&source_pool, &gate, 2).then(&closed, probed.step(probe)).unwrap();
    gate.open();
    assert!(matches!(cont.result(LONG), Err(Error::Shutdown(_))), "{:?}", cont.result(NOW));
    probed.dropped_unrun();
}

#[test]
fn cancelling_the_source_cancels_the_continuation_and_drops_the_step_unrun() {
    let pool = pool(1);
    let gate = Gate::default();
    let blocker = gated(&pool, &gate, ());
    until_running(&blocker);
    let source = pool.submit(|| 7).unwrap(); // queued behind the blocker
    let (probe, probed) = Probed::new();
    let cont = source.clone().then(&pool, probed.step(probe)).unwrap();
    assert!(source.cancel());
    assert!(matches!(cont.result(LONG), Err(Error::Cancelled(_))));
    assert!(cont.cancelled());
    probed.dropped_unrun();
    gate.open();
}

#[test]
fn cancelling_the_continuation_before_its_step_runs() {
    let pool = pool(1);

    // While the source is pending: the source is not cancelled, and the closure is dropped once it is done.
    let gate = Gate::default();
    let source = gated(&pool, &gate, 11);
    let (probe, probed) = Probed::new();
    let cont = source.clone().then(&pool, probed.step(probe)).unwrap();
    assert!(cont.cancel());
    assert_eq!(cont.state(), State::Cancelled);
    assert!(matches!(cont.result(NOW), Err(Error::Cancelled(_))));
    assert_eq!(probed.drops.load(Ordering::SeqCst), 0, "kept until the source is done");
    gate.open();
    assert_eq!(source.result(LONG).unwrap(), 11, "cancelling a continuation does not cancel its source");
    probed.dropped_unrun();

    // The source done, the step queued behind a busy worker: cancelling the continuation cancels the step.
    let gate = Gate::default();
    let blocker = gated(&pool, &gate, ());
    until_running(&blocker);
    let promise = Promise::new().unwrap();
    promise.set_result(b"done").unwrap();
    let (probe, probed) = Probed::new();
    let cont = promise.future().then(&pool, probed.step(probe)).unwrap();
    assert_eq!(cont.state(), State::Pending, "queued behind the blocker");
    assert!(cont.cancel());
    gate.open();
    blocker.wait(None);
    probed.dropped_unrun();
    assert!(matches!(cont.result(NOW), Err(Error::Cancelled(_))));
    assert_eq!(promise.future().result(NOW).unwrap(), b"done");

    // The source completing while the continuation is cancelled (either order): the step never runs.
    let other = support::pool(1);
    let gate = Gate::default();
    let busy = gated(&other, &gate, ());
    until_running(&busy);
    let source = pool.submit(|| 3).unwrap();
    let (probe, probed) = Probed::new();
    let cont = source.clone().then(&other, probed.step(probe)).unwrap();
    source.wait(None);
    assert!(cont.cancel());
    gate.open();
    probed.dropped_unrun();
}

#[test]
fn a_chain_of_1000_steps() {
    let pool = pool(2);
    let gate = Gate::default();
    let mut chain = gated(&pool, &gate, 0u64);
    for i in 0..1000u64 {
        chain = chain.then(&pool, move |n| n + i).unwrap();
    }
    assert!(!chain.done());
    gate.open();
    assert_eq!(chain.result(LONG).unwrap(), 999 * 1000 / 2);

    // Awaited, on a one-thread pool.
    let pool = support::pool(1);
    let mut chain = pool.submit(String::new).unwrap();
    for _ in 0..1000 {
        chain = chain
            .then(&pool, |mut s| {
                s.push('x');
                s
            })
            .unwrap();
    }
    assert_eq!(block_on(chain).unwrap().len(), 1000);
}

#[test]
fn then_moves_the_value_and_then_cloned_leaves_it() {
    let pool = pool(2);
    let words = pool.submit(|| vec!["alpha", "beta", "gamma"]).unwrap();
    let count = words.then_cloned(&pool, |w| w.len()).unwrap();
    let first = words.then_cloned(&pool, |w| w[0]).unwrap();
    assert_eq!((count.result(LONG).unwrap(), first.result(LONG).unwrap()), (3, "alpha"));
    assert_eq!(words.result(NOW).unwrap().len(), 3, "then_cloned leaves the value in the source");

    let kept = words.clone();
    let joined = words.then(&pool, |w| w.join(",")).unwrap();
    assert_eq!(joined.result(LONG).unwrap(), "alpha,beta,gamma");
    assert!(matches!(kept.result(NOW), Err(Error::InvalidState(_))), "then moved the value out");
    // Continuing a future whose value was moved out fails the step (it is not run).
    match kept.then(&pool, |w| w.len()).unwrap().result(LONG) {
        Err(Error::Task { type_name, .. }) => assert_eq!(type_name, "InvalidStateError"),
        other => panic!("expected an InvalidStateError, got {other:?}"),
    }
}

#[test]
fn then_bytes_and_then_named_on_a_thread_pool() {
    register();
    let pool = pool(2);
    // Byte-string tasks by name, then a typed step.
    let loud = pool.submit_named("compose.shout", b"abc").unwrap();
    let back = loud.then_named(&pool, "compose.reverse").unwrap();
    assert_eq!(back.result(LONG).unwrap(), b"CBA");
    assert_eq!(loud.result(NOW).unwrap(), b"ABC", "then_named leaves the source's bytes");
    let text = back.then(&pool, |b| String::from_utf8(b).unwrap()).unwrap();
    assert_eq!(text.result(LONG).unwrap(), "CBA");

    // A closure's Vec<u8> lives on the Rust side: then_bytes hands it to the library.
    let closure_bytes = pool.submit(|| b"xyz".to_vec()).unwrap();
    assert!(matches!(closure_bytes.then_named(&pool, "compose.shout"), Err(Error::InvalidArgument(_))));
    let bytes = closure_bytes.then_bytes(&pool, |v| v).unwrap();
    assert_eq!(bytes.result_bytes(LONG).unwrap(), b"xyz");
    assert_eq!(bytes.then_named(&pool, "compose.shout").unwrap().result(LONG).unwrap(), b"XYZ");

    // Promise futures; the task's failure; a failure passed on (the task not run); an unknown name.
    let promise = Promise::new().unwrap();
    let shouted = promise.future().then_named(&pool, "compose.shout").unwrap();
    let empty = Promise::new().unwrap();
    let failed = empty.future().then_named(&pool, "compose.shout").unwrap();
    let passed_on = failed.then_named(&pool, "compose.reverse").unwrap();
    promise.set_result(b"hi").unwrap();
    empty.set_result(b"").unwrap();
    assert_eq!(shouted.result(LONG).unwrap(), b"HI");
    assert!(matches!(failed.result(LONG), Err(Error::Task { ref type_name, .. }) if type_name == "ValueError"));
    assert!(matches!(passed_on.result(LONG), Err(Error::Task { ref type_name, .. }) if type_name == "ValueError"));
    let unknown = shouted.then_named(&pool, "compose.no such task").unwrap();
    assert!(matches!(unknown.result(LONG), Err(Error::UnknownTask(_))), "{:?}", unknown.result(NOW));
    assert!(matches!(shouted.then_named(&pool, "nul\0name"), Err(Error::InvalidArgument(_))));
}

#[test]
fn when_all_waits_for_every_input_and_the_inputs_keep_their_results() {
    let pool = pool(3);
    let (g1, g2) = (Gate::default(), Gate::default());
    let name = gated(&pool, &g1, String::from("alpha"));
    let size = gated(&pool, &g2, 1024u64);
    let done = pool.submit(|| 'x').unwrap();
    done.wait(None);
    let all = when_all(&[&name as &dyn Waitable, &size, &done, &name]).unwrap();
    assert!(!all.done());
    g1.open();
    name.wait(None);
    assert!(!all.wait(Some(Duration::from_millis(10))), "done with an input pending");
    g2.open();
    all.result(LONG).unwrap();
    assert!(name.done() && size.done());
    assert_eq!(name.result(NOW).unwrap(), "alpha");
    assert_eq!(size.into_result(NOW).unwrap(), 1024);
    assert_eq!(done.result(NOW).unwrap(), 'x');

    // No input: done at once. Inputs all done already: done at once.
    assert!(when_all::<&Future<u8>>(&[]).unwrap().done());
    assert!(when_all(&[&done, &done]).unwrap().done());

    // The first failure passes on; the inputs keep their own outcomes.
    let gate = Gate::default();
    let slow = gated(&pool, &gate, 1);
    let bad = pool.submit(|| -> i32 { panic!("bad input") }).unwrap();
    let all = when_all(&[&slow, &bad]).unwrap();
    match all.result(LONG) {
        Err(Error::Task { message, .. }) => assert_eq!(message, "bad input"),
        other => panic!("expected the failure, got {other:?}"),
    }
    assert!(!slow.done(), "a join fails at its first failure");
    gate.open();
    assert_eq!(slow.result(LONG).unwrap(), 1);

    // A cancelled input cancels the join; cancelling the join cancels no input.
    let promise = Promise::new().unwrap();
    let cancelled = Promise::new().unwrap();
    let all = when_all(&[&promise.future(), &cancelled.future()]).unwrap();
    assert!(cancelled.future().cancel());
    assert!(matches!(all.result(LONG), Err(Error::Cancelled(_))));
    let all = when_all(&[&promise.future()]).unwrap();
    assert!(all.cancel());
    assert!(!promise.future().cancelled());
    promise.set_result(b"still fine").unwrap();

    // Then a step over the join, which reads the inputs.
    let (a, b) = (pool.submit(|| 2).unwrap(), pool.submit(|| 3).unwrap());
    let (ra, rb) = (a.clone(), b.clone());
    let product = when_all(&[&a, &b]).unwrap().then(&pool, move |()| ra.result(NOW).unwrap() * rb.result(NOW).unwrap());
    assert_eq!(product.unwrap().result(LONG).unwrap(), 6);
}

#[test]
fn when_any_gives_the_index_of_the_first_done() {
    let pool = pool(3);
    let (g1, g2) = (Gate::default(), Gate::default());
    let first = gated(&pool, &g1, 1u8);
    let second = gated(&pool, &g2, 2u8);
    let any = when_any(&[&first, &second]).unwrap();
    assert!(!any.done());
    g2.open();
    assert_eq!(any.result(LONG).unwrap(), 1);
    assert!(!first.done(), "no input is cancelled or waited for");
    g1.open();
    assert_eq!(first.result(LONG).unwrap(), 1);

    // Inputs done already count first, in input order.
    let gate = Gate::default();
    let pending = gated(&pool, &gate, 0u8);
    let any = when_any(&[&pending, &second, &first]).unwrap();
    assert_eq!(any.result(NOW).unwrap(), 1);
    gate.open();

    // A failed or cancelled input counts as done; the value is the index, the failure stays on the input.
    let never = Promise::new().unwrap();
    let cancelled = Promise::new().unwrap();
    let any = when_any(&[&never.future(), &cancelled.future()]).unwrap();
    assert!(cancelled.future().cancel());
    assert_eq!(any.result(LONG).unwrap(), 1);
    let bad = pool.submit(|| -> u8 { panic!("bad") }).unwrap();
    assert_eq!(when_any(&[&never.future() as &dyn Waitable, &bad]).unwrap().result(LONG).unwrap(), 1);

    // No input: nothing could ever be first.
    assert!(matches!(when_any::<&Future<u8>>(&[]), Err(Error::InvalidArgument(_))));
    // Then a step on the index.
    let pick = when_any(&[&first]).unwrap().then(&pool, |i| ["first"][i]).unwrap();
    assert_eq!(pick.result(LONG).unwrap(), "first");
}

#[test]
fn continuations_and_joins_are_awaited() {
    let pool = pool(2);
    // A chain awaited in an async block, with `?`.
    let out = block_on(async {
        let n = pool.submit(|| 20u32)?.then(&pool, |n| n + 1)?.then(&pool, |n| n * 2)?.await?;
        let a = pool.submit(|| String::from("a"))?;
        let b = pool.submit(|| 2usize)?;
        when_all(&[&a as &dyn Waitable, &b])?.await?;
        let first = when_any(&[&a as &dyn Waitable, &b])?.await?;
        Ok::<_, Error>((n, a.await?.repeat(b.await?), first))
    });
    let (n, s, first) = out.unwrap();
    assert_eq!((n, s.as_str()), (42, "aa"));
    assert!(first < 2);

    // Pending when first polled: woken by the continuation's completion, not before.
    let gate = Gate::default();
    let mut cont = gated(&pool, &gate, 1).then(&pool, |n| n + 1).unwrap();
    let (counter, waker) = CountingWaker::new();
    assert!(poll_once(&mut cont, &waker).is_pending());
    gate.open();
    counter.wait_for(1);
    assert_eq!(poll_once(&mut cont, &waker).map(Result::unwrap), Poll::Ready(2));

    // Several joins and continuations at once, their sources let go only once everything waits.
    let gate = Gate::default();
    let sources: Vec<_> = (0..4).map(|i| gated(&pool, &gate, i)).collect();
    let all = when_all(&sources).unwrap().then(&pool, |()| 100).unwrap();
    let any = when_any(&sources).unwrap().then(&pool, |i| i as i32).unwrap();
    let steps: Vec<_> = sources.iter().map(|s| s.then_cloned(&pool, |v| v * 10).unwrap()).chain([all, any]).collect();
    let g = gate.clone();
    let results = block_on(after_first_poll(join_all(steps), move || g.open()));
    let values: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(values[..5], [0, 10, 20, 30, 100]);
    assert!((0..4).contains(&values[5]));

    // A cancelled continuation awaits as Cancelled.
    let gate = Gate::default();
    let cont = gated(&pool, &gate, 1).then(&pool, |n| n).unwrap();
    assert!(cont.cancel());
    assert!(matches!(block_on(cont), Err(Error::Cancelled(_))));
    gate.open();
}
