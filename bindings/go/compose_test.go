// SPDX-License-Identifier: MIT

package cfutures_test

// Tests of the futures made of futures: Then, ThenWith, ThenNamed, the generic Then, WhenAll and WhenAny. They
// wait on events (channels, futures), never on sleeps; the only timeouts bound how long a broken binding may
// hang a test before it fails.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"cfutures"
)

// hang bounds a wait that only a bug could make long.
const hang = 30 * time.Second

// released waits until the library has released the Go step behind f (Then): it ran, or never will.
func released(t *testing.T, f *cfutures.Future) {
	t.Helper()
	ch := cfutures.StepReleased(f)
	if ch == nil {
		t.Fatal("not a future made by Then")
	}
	select {
	case <-ch:
	case <-time.After(hang):
		t.Fatal("the step was not released")
	}
}

func notReleased(t *testing.T, f *cfutures.Future) {
	t.Helper()
	select {
	case <-cfutures.StepReleased(f):
		t.Fatal("the step was released early")
	default:
	}
}

// blocked returns a one-thread pool whose thread is held by a task until the returned function is called.
func blocked(t *testing.T) (pool *cfutures.Executor, unblock func()) {
	t.Helper()
	pool = threadPool(t, 1)
	started, gate := make(chan struct{}), make(chan struct{})
	blocker := ok(pool.Submit(func() ([]byte, error) {
		close(started)
		<-gate
		return nil, nil
	}))
	t.Cleanup(func() { blocker.Close() })
	<-started
	var once atomic.Bool
	return pool, func() {
		if once.CompareAndSwap(false, true) {
			close(gate)
		}
	}
}

// step is a Then step that records that it ran.
type step struct{ runs atomic.Int32 }

func (s *step) fn(suffix string) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		s.runs.Add(1)
		return append(b, suffix...), nil
	}
}

func (s *step) never(t *testing.T) {
	t.Helper()
	if n := s.runs.Load(); n != 0 {
		t.Fatalf("the step ran %d times", n)
	}
}

func TestThenOrder(t *testing.T) {
	pool := threadPool(t, 2)
	src := ok(cfutures.NewFuture())
	defer src.Close()
	var s step
	var sawSourceDone atomic.Bool
	a := ok(src.Then(pool, func(b []byte) ([]byte, error) {
		sawSourceDone.Store(src.Done())
		return s.fn("b")(b)
	}))
	defer a.Close()
	b := ok(a.Then(pool, s.fn("c")))
	defer b.Close()
	// Nothing runs before the source is done.
	if a.Done() || b.Done() {
		t.Fatal("a continuation is done before its source")
	}
	s.never(t)
	notReleased(t, a)
	noErr(t, src.SetResult([]byte("a")))
	if got := string(ok(b.Result(cfutures.Forever))); got != "abc" {
		t.Fatalf("chain result %q", got)
	}
	if got := string(ok(a.Result(0))); got != "ab" {
		t.Fatalf("first step %q", got)
	}
	if !sawSourceDone.Load() || s.runs.Load() != 2 {
		t.Fatalf("steps: source done %v, runs %d", sawSourceDone.Load(), s.runs.Load())
	}
	released(t, a)
	released(t, b)

	// A source done already: the step is submitted at once.
	c := ok(b.Then(pool, s.fn("d")))
	defer c.Close()
	if got := string(ok(c.Result(cfutures.Forever))); got != "abcd" {
		t.Fatalf("after a done source %q", got)
	}
	released(t, c)

	// A source from a pool, a step on another pool, its own failure and panic.
	other := threadPool(t, 1)
	d := ok(ok(pool.Submit(func() ([]byte, error) { return []byte("x"), nil })).Then(other, s.fn("y")))
	defer d.Close()
	if got := string(ok(d.Result(cfutures.Forever))); got != "xy" {
		t.Fatalf("across pools %q", got)
	}
	fail := ok(d.Then(pool, func([]byte) ([]byte, error) { return nil, fmt.Errorf("step: %w", errOdd) }))
	defer fail.Close()
	_, err := fail.Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.Is(err, errOdd) || !errors.As(err, &te) || te.Message != "step: odd input" {
		t.Fatalf("the step's own error: %v", err)
	}
	boom := ok(d.Then(pool, func([]byte) ([]byte, error) { panic("boom") }))
	defer boom.Close()
	if _, err := boom.Result(cfutures.Forever); !errors.As(err, &te) || te.Type != "panic" || te.Message != "boom" {
		t.Fatalf("a panicking step: %v", err)
	}
	released(t, boom)
}

func TestThenFailurePassesOn(t *testing.T) {
	pool := threadPool(t, 2)
	var s step
	// A Go task's error passes along a chain, and errors.Is still reaches it.
	src := ok(pool.Submit(func() ([]byte, error) { return nil, fmt.Errorf("source: %w", errOdd) }))
	defer src.Close()
	a := ok(src.Then(pool, s.fn("a")))
	defer a.Close()
	b := ok(a.Then(pool, s.fn("b")))
	defer b.Close()
	_, err := b.Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.Is(err, errOdd) || !errors.As(err, &te) || te.Message != "source: odd input" {
		t.Fatalf("failure at the end of the chain: %v", err)
	}
	if failure, err := a.Exception(0); err != nil || !errors.Is(failure, errOdd) {
		t.Fatalf("Exception of the first continuation: %v, %v", failure, err)
	}
	released(t, a)
	released(t, b)
	s.never(t)

	// A failure set by the program keeps its type and message.
	set := ok(cfutures.NewFuture())
	defer set.Close()
	c := ok(set.Then(pool, s.fn("c")))
	defer c.Close()
	noErr(t, set.SetException("KeyError", "no such key"))
	if _, err := c.Result(cfutures.Forever); !errors.As(err, &te) || te.Type != "KeyError" || te.Message != "no such key" || te.Err != nil {
		t.Fatalf("a set failure passed on: %#v", err)
	}
	released(t, c)
	s.never(t)

	// A step submitted to a pool that was shut down meanwhile: the continuation fails, the step never runs.
	closing := threadPool(t, 1)
	pending := ok(cfutures.NewFuture())
	defer pending.Close()
	d := ok(pending.Then(closing, s.fn("d")))
	defer d.Close()
	noErr(t, closing.Shutdown(true, false))
	noErr(t, pending.SetResult(nil))
	_, err = d.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrShutdown)
	released(t, d)
	// The same with a source done already: Then returns a future that failed.
	e := ok(pending.Then(closing, s.fn("e")))
	defer e.Close()
	_, err = e.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrShutdown)
	released(t, e)
	s.never(t)
}

func TestThenCancelSource(t *testing.T) {
	pool := threadPool(t, 2)
	var s step
	// A pending future made by the program.
	src := ok(cfutures.NewFuture())
	defer src.Close()
	a := ok(src.Then(pool, s.fn("a")))
	defer a.Close()
	b := ok(a.Then(pool, s.fn("b")))
	defer b.Close()
	if !src.Cancel() {
		t.Fatal("cancel of a pending source failed")
	}
	_, err := b.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrCancelled)
	if !a.Cancelled() || !b.Cancelled() {
		t.Fatal("the continuations are not cancelled")
	}
	released(t, a)
	released(t, b)

	// A task queued behind another on a one-thread pool.
	one, unblock := blocked(t)
	defer unblock()
	queued := ok(one.Submit(func() ([]byte, error) { s.runs.Add(1); return nil, nil }))
	defer queued.Close()
	c := ok(queued.Then(pool, s.fn("c")))
	defer c.Close()
	if !queued.Cancel() {
		t.Fatal("cancel of a queued task failed")
	}
	_, err = c.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrCancelled)
	released(t, c)
	unblock()
	s.never(t)
}

func TestThenCancelContinuation(t *testing.T) {
	var s step
	t.Run("source pending", func(t *testing.T) {
		pool := threadPool(t, 1)
		src := ok(cfutures.NewFuture())
		defer src.Close()
		a := ok(src.Then(pool, s.fn("a")))
		defer a.Close()
		if !a.Cancel() || !a.Cancelled() {
			t.Fatal("cancel of a waiting continuation failed")
		}
		// The closure goes once the step can no longer run: when the source is done.
		noErr(t, src.SetResult([]byte("x")))
		released(t, a)
		if got := string(ok(src.Result(0))); got != "x" {
			t.Fatalf("the source's own result %q", got)
		}
		_, err := a.Result(0)
		wantIs(t, err, cfutures.ErrCancelled)
	})
	t.Run("step queued", func(t *testing.T) {
		// The source is done already: the continuation is the step, queued behind a blocked thread.
		pool, unblock := blocked(t)
		defer unblock()
		src := ok(cfutures.NewFuture())
		defer src.Close()
		noErr(t, src.SetResult([]byte("x")))
		a := ok(src.Then(pool, s.fn("a")))
		defer a.Close()
		if !a.Cancel() {
			t.Fatal("cancel of a queued step failed")
		}
		unblock()
		released(t, a)
		_, err := a.Result(0)
		wantIs(t, err, cfutures.ErrCancelled)
	})
	t.Run("step submitted later", func(t *testing.T) {
		// The source ends while the continuation waits: its step is submitted then, behind a blocked thread,
		// and cancelling the continuation cancels that step.
		pool, unblock := blocked(t)
		defer unblock()
		src := ok(cfutures.NewFuture())
		defer src.Close()
		a := ok(src.Then(pool, s.fn("a")))
		defer a.Close()
		noErr(t, src.SetResult([]byte("x")))
		if !a.Cancel() {
			t.Fatal("cancel of a continuation whose step is queued failed")
		}
		unblock()
		released(t, a)
		_, err := a.Result(0)
		wantIs(t, err, cfutures.ErrCancelled)
	})
	s.never(t)
}

func TestThenChainOf1000(t *testing.T) {
	const n = 1000
	pool := threadPool(t, 2)
	src := ok(cfutures.NewFuture())
	defer src.Close()
	// The steps append to a plain slice: each runs after the one before it.
	var order []int
	chain := make([]*cfutures.Future, n)
	prev := src
	for i := range chain {
		i := i
		chain[i] = ok(prev.Then(pool, func(b []byte) ([]byte, error) {
			v, err := strconv.Atoi(string(b))
			if err != nil || v != i {
				return nil, fmt.Errorf("step %d got %q", i, b)
			}
			order = append(order, i)
			return []byte(strconv.Itoa(i + 1)), nil
		}))
		prev = chain[i]
	}
	if chain[n-1].Done() {
		t.Fatal("the chain ended before it started")
	}
	noErr(t, src.SetResult([]byte("0")))
	if got := string(ok(chain[n-1].Result(cfutures.Forever))); got != strconv.Itoa(n) {
		t.Fatalf("end of the chain %q", got)
	}
	if len(order) != n || order[0] != 0 || order[n-1] != n-1 {
		t.Fatalf("%d steps ran", len(order))
	}
	for _, f := range chain {
		released(t, f)
		f.Close()
	}

	// A typed chain from a source done already: each step is submitted as the one before it ends.
	first := ok(cfutures.Submit(pool, func() (int, error) { return 0, nil }))
	defer first.Close()
	typed := first
	for i := 0; i < n; i++ {
		next := ok(cfutures.Then(typed, pool, func(v int) (int, error) { return v + 1, nil }))
		if typed != first {
			typed.Close()
		}
		typed = next
	}
	defer typed.Close()
	if got := ok(typed.Result()); got != n {
		t.Fatalf("typed chain %d", got)
	}
}

func TestThenNamed(t *testing.T) {
	threads := threadPool(t, 2)
	procs := processPool(t, 1)
	src := ok(threads.Submit(func() ([]byte, error) { return []byte("ab"), nil }))
	defer src.Close()
	// A registered task on a thread pool, then on a process pool, then a closure on the thread pool again.
	onThreads := ok(src.ThenNamed(threads, "test.double"))
	defer onThreads.Close()
	onProcs := ok(onThreads.ThenNamed(procs, "test.double"))
	defer onProcs.Close()
	back := ok(onProcs.Then(threads, func(b []byte) ([]byte, error) { return append(b, '!'), nil }))
	defer back.Close()
	if got := string(ok(back.Result(cfutures.Forever))); got != "abababab!" {
		t.Fatalf("named chain %q", got)
	}
	if got := string(ok(onThreads.Result(0))); got != "abab" {
		t.Fatalf("on the thread pool %q", got)
	}
	// The task runs in a worker process.
	pid := string(ok(ok(src.ThenNamed(procs, "test.pid")).Result(cfutures.Forever)))
	if pid == "" || pid == strconv.Itoa(os.Getpid()) {
		t.Fatalf("ThenNamed ran in process %q", pid)
	}
	// The worker's failure; a Go source's failure passed on (its error still reached); an unknown name, which
	// fails the continuation once the source succeeded.
	var te *cfutures.TaskError
	_, err := ok(src.ThenNamed(procs, "test.fail")).Result(cfutures.Forever)
	if !errors.As(err, &te) || te.Type != "ValueError" || te.Message != "bad input ab" {
		t.Fatalf("a failing named step: %v", err)
	}
	failed := ok(threads.Submit(func() ([]byte, error) { return nil, errOdd }))
	defer failed.Close()
	_, err = ok(failed.ThenNamed(procs, "test.double")).Result(cfutures.Forever)
	if !errors.Is(err, errOdd) {
		t.Fatalf("a failure passed on through ThenNamed: %v", err)
	}
	pending := ok(cfutures.NewFuture())
	defer pending.Close()
	unknown := ok(pending.ThenNamed(procs, "test.no_such_task"))
	defer unknown.Close()
	noErr(t, pending.SetResult(nil))
	_, err = unknown.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrUnknownTask)
	// Closures are refused at once on a process pool.
	_, err = src.Then(procs, func(b []byte) ([]byte, error) { return b, nil })
	wantIs(t, err, cfutures.ErrUnknownTask)
	_, err = cfutures.Then(ok(cfutures.Submit(threads, func() (int, error) { return 1, nil })), procs,
		func(v int) (int, error) { return v, nil })
	wantIs(t, err, cfutures.ErrUnknownTask)
}

func TestThenWithTimeLimit(t *testing.T) {
	pool := threadPool(t, 1)
	src := ok(cfutures.NewFuture())
	defer src.Close()
	gate := make(chan struct{})
	a := ok(src.ThenWith(pool, func([]byte) ([]byte, error) {
		<-gate
		return nil, nil
	}, cfutures.SubmitOptions{TimeLimit: time.Millisecond}))
	defer a.Close()
	noErr(t, src.SetResult(nil))
	_, err := a.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrTimeLimit)
	// A thread cannot be stopped: the closure runs on, and is released once it has ended.
	notReleased(t, a)
	close(gate)
	released(t, a)
}

func TestGenericThen(t *testing.T) {
	pool := threadPool(t, 2)
	p := ok(cfutures.Submit(pool, func() (point, error) { return point{3, 4, "p"}, nil }))
	defer p.Close()
	ch := make(chan int, 1)
	// Values stay Go values along the chain: a struct, then a string, then a channel.
	s := ok(cfutures.Then(p, pool, func(v point) (string, error) { return fmt.Sprintf("%s:%d", v.Tag, v.X*v.Y), nil }))
	defer s.Close()
	c := ok(cfutures.Then(s, pool, func(v string) (chan int, error) { ch <- len(v); return ch, nil }))
	defer c.Close()
	if got := ok(c.Result()); got != ch || <-ch != 4 {
		t.Fatal("the channel did not come back as itself")
	}
	if got := ok(s.Result()); got != "p:12" {
		t.Fatalf("typed step %q", got)
	}
	released(t, s.Untyped())

	// Failures: the source's passes on (the step does not run), the step's own, a panic.
	var runs atomic.Int32
	bad := ok(cfutures.Submit(pool, func() (int, error) { return 0, errOdd }))
	defer bad.Close()
	after := ok(cfutures.Then(bad, pool, func(v int) (int, error) { runs.Add(1); return v, nil }))
	defer after.Close()
	if v, err := after.Result(); v != 0 || !errors.Is(err, errOdd) {
		t.Fatalf("passed-on failure %v, %v", v, err)
	}
	own := ok(cfutures.ThenWith(p, pool, func(point) (int, error) { return 0, errOdd }, cfutures.SubmitOptions{}))
	defer own.Close()
	if _, err := own.Result(); !errors.Is(err, errOdd) {
		t.Fatalf("the step's error %v", err)
	}
	panicky := ok(cfutures.Then(p, pool, func(point) (int, error) { panic("typed boom") }))
	defer panicky.Close()
	var te *cfutures.TaskError
	if _, err := panicky.Result(); !errors.As(err, &te) || te.Type != "panic" {
		t.Fatalf("a panicking typed step %v", err)
	}
	released(t, after.Untyped())
	if runs.Load() != 0 {
		t.Fatal("a typed step ran after a failure")
	}

	// Cancelling a typed continuation before it runs.
	one, unblock := blocked(t)
	defer unblock()
	queued := ok(cfutures.Then(p, one, func(v point) (int, error) { runs.Add(1); return v.X, nil }))
	defer queued.Close()
	if !queued.Cancel() {
		t.Fatal("cancel of a queued typed step failed")
	}
	unblock()
	released(t, queued.Untyped())
	if _, err := queued.Result(); !errors.Is(err, cfutures.ErrCancelled) || runs.Load() != 0 {
		t.Fatalf("cancelled typed step: %v, runs %d", err, runs.Load())
	}
}

func TestThenBadInput(t *testing.T) {
	pool := threadPool(t, 1)
	src := ok(cfutures.NewFuture())
	defer src.Close()
	id := func(b []byte) ([]byte, error) { return b, nil }
	var nilFuture *cfutures.Future
	_, err := nilFuture.Then(pool, id)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = nilFuture.ThenNamed(pool, "test.double")
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = src.Then(nil, id)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = src.ThenNamed(nil, "test.double")
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = src.Then(pool, nil)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.Then[int, int](nil, pool, func(v int) (int, error) { return v, nil })
	wantIs(t, err, cfutures.ErrInvalidArgument)
	typed := ok(cfutures.Submit(pool, func() (int, error) { return 1, nil }))
	defer typed.Close()
	_, err = cfutures.Then[int, int](typed, pool, nil)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.Then(typed, nil, func(v int) (int, error) { return v, nil })
	wantIs(t, err, cfutures.ErrInvalidArgument)
	// Closed handles.
	closed := ok(cfutures.NewFuture())
	closed.Close()
	_, err = closed.Then(pool, id)
	wantIs(t, err, cfutures.ErrClosed)
	_, err = closed.ThenNamed(pool, "test.double")
	wantIs(t, err, cfutures.ErrClosed)
	gone := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1}))
	gone.Close()
	_, err = src.Then(gone, id)
	wantIs(t, err, cfutures.ErrClosed)
	_, err = src.ThenNamed(gone, "test.double")
	wantIs(t, err, cfutures.ErrClosed)
}

func TestWhenAll(t *testing.T) {
	pool := threadPool(t, 2)
	a, b := ok(cfutures.NewFuture()), ok(cfutures.NewFuture())
	defer a.Close()
	defer b.Close()
	doneAlready := ok(pool.Submit(func() ([]byte, error) { return []byte("d"), nil }))
	defer doneAlready.Close()
	ok(doneAlready.Result(cfutures.Forever))
	all := ok(cfutures.WhenAll([]*cfutures.Future{a, doneAlready, b, a}))
	defer all.Close()
	noErr(t, a.SetResult([]byte("a")))
	if all.Done() {
		t.Fatal("WhenAll is done before all its inputs")
	}
	noErr(t, b.SetResult([]byte("b")))
	if got, err := all.Result(cfutures.Forever); err != nil || len(got) != 0 {
		t.Fatalf("WhenAll result %q, %v", got, err)
	}
	if got := string(ok(b.Result(0))); got != "b" {
		t.Fatalf("an input's own result %q", got)
	}

	// Empty: done at once. Only done inputs: done at once.
	empty := ok(cfutures.WhenAll(nil))
	defer empty.Close()
	if got, err := empty.Result(0); err != nil || len(got) != 0 {
		t.Fatalf("WhenAll of nothing: %q, %v", got, err)
	}
	twice := ok(cfutures.WhenAll([]*cfutures.Future{doneAlready, a}))
	defer twice.Close()
	if _, err := twice.Result(0); err != nil {
		t.Fatalf("WhenAll of done futures: %v", err)
	}

	// A failure: the Go error of the input that failed is reached.
	slow, unblock := blocked(t)
	defer unblock()
	pendingTask := ok(slow.Submit(func() ([]byte, error) { return nil, nil }))
	defer pendingTask.Close()
	failing := ok(pool.Submit(func() ([]byte, error) { return nil, fmt.Errorf("input: %w", errOdd) }))
	defer failing.Close()
	withFailure := ok(cfutures.WhenAll([]*cfutures.Future{pendingTask, failing}))
	defer withFailure.Close()
	_, err := withFailure.Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.Is(err, errOdd) || !errors.As(err, &te) || te.Message != "input: odd input" {
		t.Fatalf("WhenAll failure %v", err)
	}
	if pendingTask.Done() {
		t.Fatal("the blocked input is done")
	}
	// ... also after a continuation, and through a WhenAll of WhenAlls.
	after := ok(withFailure.Then(pool, func(b []byte) ([]byte, error) { return b, nil }))
	defer after.Close()
	if _, err := after.Result(cfutures.Forever); !errors.Is(err, errOdd) {
		t.Fatalf("WhenAll failure passed on: %v", err)
	}
	nested := ok(cfutures.WhenAll([]*cfutures.Future{after, withFailure}))
	defer nested.Close()
	if _, err := nested.Result(cfutures.Forever); !errors.Is(err, errOdd) {
		t.Fatalf("nested WhenAll failure: %v", err)
	}
	// A cancellation; cancelling WhenAll cancels no input.
	c := ok(cfutures.NewFuture())
	defer c.Close()
	withCancel := ok(cfutures.WhenAll([]*cfutures.Future{c, pendingTask}))
	defer withCancel.Close()
	c.Cancel()
	_, err = withCancel.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrCancelled)
	d := ok(cfutures.NewFuture())
	defer d.Close()
	cancelled := ok(cfutures.WhenAll([]*cfutures.Future{d}))
	defer cancelled.Close()
	if !cancelled.Cancel() || d.Cancelled() {
		t.Fatal("cancelling WhenAll cancelled its input, or failed")
	}
	unblock()

	// Bad input.
	_, err = cfutures.WhenAll([]*cfutures.Future{a, nil})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	closed := ok(cfutures.NewFuture())
	closed.Close()
	_, err = cfutures.WhenAll([]*cfutures.Future{closed})
	wantIs(t, err, cfutures.ErrClosed)
}

func TestWhenAllThen(t *testing.T) {
	// Tasks write their results to a plain slice; a step after WhenAll reads them: it runs after every input.
	pool := threadPool(t, 4)
	results := make([]int, 8)
	fs := make([]*cfutures.TypedFuture[struct{}], len(results))
	for i := range fs {
		i := i
		fs[i] = ok(cfutures.Submit(pool, func() (struct{}, error) { results[i] = i * i; return struct{}{}, nil }))
		defer fs[i].Close()
	}
	all := ok(cfutures.WhenAll(cfutures.Untyped(fs)))
	defer all.Close()
	// Once WhenAll is done, the results can be read here.
	ok(all.Result(cfutures.Forever))
	if results[7] != 49 {
		t.Fatalf("results %v", results)
	}
	sum := ok(all.Then(pool, func([]byte) ([]byte, error) {
		total := 0
		for _, r := range results {
			total += r
		}
		return []byte(strconv.Itoa(total)), nil
	}))
	defer sum.Close()
	if got := string(ok(sum.Result(cfutures.Forever))); got != "140" {
		t.Fatalf("sum %s", got)
	}
}

func TestWhenAny(t *testing.T) {
	pool := threadPool(t, 2)
	a, b, c := ok(cfutures.NewFuture()), ok(cfutures.NewFuture()), ok(cfutures.NewFuture())
	defer a.Close()
	defer b.Close()
	defer c.Close()
	anyOf := ok(cfutures.WhenAny([]*cfutures.Future{a, b, c}))
	defer anyOf.Close()
	if _, err := anyOf.Index(0); !errors.Is(err, cfutures.ErrTimeout) {
		t.Fatalf("Index of a pending WhenAny: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := anyOf.IndexContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("IndexContext with an ended context: %v", err)
	}
	noErr(t, b.SetException("ValueError", "b failed")) // a failure counts as done
	noErr(t, a.SetResult(nil))
	if i := ok(anyOf.Index(cfutures.Forever)); i != 1 {
		t.Fatalf("first done %d", i)
	}
	if i := ok(anyOf.IndexContext(context.Background())); i != 1 {
		t.Fatalf("first done, again %d", i)
	}
	if got := ok(anyOf.Result(0)); len(got) != 8 {
		t.Fatalf("WhenAny result %d bytes", len(got))
	}

	// Inputs done already count first, in their order.
	fresh := ok(cfutures.NewFuture())
	defer fresh.Close()
	early := ok(cfutures.WhenAny([]*cfutures.Future{fresh, c, b, a}))
	defer early.Close()
	if i := ok(early.Index(0)); i != 2 {
		t.Fatalf("first done among done inputs %d", i)
	}
	// A typed input found by its index; a step after WhenAny gets the index bytes.
	slow, unblock := blocked(t)
	defer unblock()
	typed := []*cfutures.TypedFuture[string]{
		ok(cfutures.Submit(slow, func() (string, error) { return "slow", nil })),
		ok(cfutures.Submit(pool, func() (string, error) { return "fast", nil })),
	}
	defer typed[0].Close()
	defer typed[1].Close()
	race := ok(cfutures.WhenAny(cfutures.Untyped(typed)))
	defer race.Close()
	i := ok(race.Index(cfutures.Forever))
	if got := ok(typed[i].ResultTimeout(0)); i != 1 || got != "fast" {
		t.Fatalf("winner %d %q", i, got)
	}
	size := ok(race.Then(pool, func(b []byte) ([]byte, error) { return []byte(fmt.Sprint(len(b))), nil }))
	defer size.Close()
	if got := string(ok(size.Result(cfutures.Forever))); got != "8" {
		t.Fatalf("a step after WhenAny got %s bytes", got)
	}
	unblock()

	// Cancelling WhenAny cancels no input.
	d := ok(cfutures.NewFuture())
	defer d.Close()
	cancelled := ok(cfutures.WhenAny([]*cfutures.Future{d}))
	defer cancelled.Close()
	if !cancelled.Cancel() || d.Cancelled() {
		t.Fatal("cancelling WhenAny cancelled its input, or failed")
	}
	_, err := cancelled.Index(0)
	wantIs(t, err, cfutures.ErrCancelled)

	// Bad input: nothing to wait for, a nil future, Index of another future.
	_, err = cfutures.WhenAny(nil)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.WhenAny([]*cfutures.Future{})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.WhenAny([]*cfutures.Future{a, nil})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = a.Index(0)
	wantIs(t, err, cfutures.ErrInvalidState)
	all := ok(cfutures.WhenAll([]*cfutures.Future{a}))
	defer all.Close()
	_, err = all.IndexContext(context.Background())
	wantIs(t, err, cfutures.ErrInvalidState)
	var nilFuture *cfutures.Future
	_, err = nilFuture.Index(0)
	wantIs(t, err, cfutures.ErrInvalidArgument)
}
