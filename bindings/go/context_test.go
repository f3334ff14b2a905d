// SPDX-License-Identifier: MIT

package cfutures_test

// Tests of the waits with a context.Context: a context ended before the call, during it, and by its deadline;
// what ends is the wait, never the future; no goroutine is left behind.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cfutures"
)

func init() {
	// Holds its argument's room in the pool's arena until the test lets it go: the first line of the argument
	// names a FIFO whose writing end the test holds open; the task reads it until the test closes that end.
	// (Opened without blocking and read blocking, it ends at once if the test closed it already.)
	cfutures.MustRegisterTask("test.fifo_wait", func(b []byte) ([]byte, error) {
		path, _, _ := strings.Cut(string(b), "\n")
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, err
		}
		defer syscall.Close(fd)
		if err := syscall.SetNonblock(fd, false); err != nil {
			return nil, err
		}
		buf := make([]byte, 64)
		for {
			n, err := syscall.Read(fd, buf)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return []byte("let go"), nil
			}
		}
	})
}

// watchedCtx is a cancellable context that closes entered when a call first asks for its Done channel: the
// call is then about to wait on it, and a cancel after entered tests a cancellation during the wait.
type watchedCtx struct {
	context.Context
	once    sync.Once
	entered chan struct{}
}

func watched(t *testing.T) (*watchedCtx, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &watchedCtx{Context: ctx, entered: make(chan struct{})}, cancel
}

func (c *watchedCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.entered) })
	return c.Context.Done()
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// settleGoroutines waits (bounded) until no more than want goroutines are left.
func settleGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// wantCtxErr checks a context error: errors.Is reaches target, and the error names the call.
func wantCtxErr(t *testing.T, err, target error, op string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v (%T) is not %v", err, err, target)
	}
	if !strings.Contains(err.Error(), op) {
		t.Fatalf("error %q does not name %s", err, op)
	}
}

func TestResultContext(t *testing.T) {
	pool := threadPool(t, 2)
	f := ok(pool.Submit(func() ([]byte, error) { return []byte("hello"), nil }))
	defer f.Close()
	if got := ok(f.ResultContext(context.Background())); string(got) != "hello" {
		t.Fatalf("result %q", got)
	}
	if failure, err := f.ExceptionContext(context.Background()); failure != nil || err != nil {
		t.Fatalf("exception %v, %v", failure, err)
	}
	g := ok(pool.Submit(func() ([]byte, error) { return nil, typedError{"ValueError", "bad"} }))
	defer g.Close()
	_, err := g.ResultContext(context.Background())
	var te *cfutures.TaskError
	if !errors.As(err, &te) || te.Type != "ValueError" || !errors.Is(err, typedError{"ValueError", "bad"}) {
		t.Fatalf("task error %v", err)
	}
	failure, err := g.ExceptionContext(context.Background())
	if err != nil || !errors.As(failure, &te) || te.Message != "bad" {
		t.Fatalf("exception %v, %v", failure, err)
	}
	// A done ctx ends the call at once, even for a done future.
	_, err = f.ResultContext(cancelled())
	wantCtxErr(t, err, context.Canceled, "Future.ResultContext")
	_, err = f.ExceptionContext(cancelled())
	wantCtxErr(t, err, context.Canceled, "Future.ExceptionContext")
	// A cancelled future, and a closed one.
	h := ok(cfutures.NewFuture())
	h.Cancel()
	_, err = h.ResultContext(context.Background())
	wantIs(t, err, cfutures.ErrCancelled)
	_, err = h.ExceptionContext(context.Background())
	wantIs(t, err, cfutures.ErrCancelled)
	h.Close()
	_, err = h.ResultContext(context.Background())
	wantIs(t, err, cfutures.ErrClosed)
}

func TestResultContextCancelledBefore(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	f := ok(pool.Submit(b.task))
	defer f.Close()
	<-b.started
	_, err := f.ResultContext(cancelled())
	wantCtxErr(t, err, context.Canceled, "Future.ResultContext")
	if f.Cancelled() || !f.Running() {
		t.Fatal("the wait's context cancelled the future")
	}
	close(b.release)
	if got := ok(f.ResultContext(context.Background())); string(got) != "released" {
		t.Fatalf("result %q", got)
	}
}

func TestResultContextCancelledDuring(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	f := ok(pool.Submit(b.task))
	defer f.Close()
	ctx, cancel := watched(t)
	errs := make(chan error, 1)
	go func() {
		_, err := f.ResultContext(ctx)
		errs <- err
	}()
	<-ctx.entered
	cancel()
	wantCtxErr(t, <-errs, context.Canceled, "Future.ResultContext")
	if f.Cancelled() || f.Done() {
		t.Fatal("the wait's context ended the future")
	}
	close(b.release)
	if got := ok(f.Result(cfutures.Forever)); string(got) != "released" {
		t.Fatalf("result %q", got)
	}
}

func TestResultContextDeadline(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	f := ok(pool.Submit(b.task))
	defer f.Close()
	<-b.started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.ResultContext(ctx)
	wantCtxErr(t, err, context.DeadlineExceeded, "Future.ResultContext")
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Fatalf("gave up after %v", d)
	}
	if errors.Is(err, cfutures.ErrTimeout) {
		t.Fatal("a context's deadline is not a timeout of the library")
	}
	_, err = f.ExceptionContext(ctx)
	wantCtxErr(t, err, context.DeadlineExceeded, "Future.ExceptionContext")
	close(b.release)
	ok(f.Result(cfutures.Forever))
}

// A wait with a context inside a task waits in the library, which runs the task waited for on the same thread:
// on a one-thread pool, a task that waits for a task it submitted still finishes.
func TestContextWaitInsideTask(t *testing.T) {
	pool := threadPool(t, 1)
	outer := ok(pool.Submit(func() ([]byte, error) {
		inner, err := pool.Submit(func() ([]byte, error) { return []byte("inner"), nil })
		if err != nil {
			return nil, err
		}
		defer inner.Close()
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		return inner.ResultContext(ctx)
	}))
	defer outer.Close()
	if got := ok(outer.ResultContext(context.Background())); string(got) != "inner" {
		t.Fatalf("result %q", got)
	}
	// And a wait there still ends with its context.
	b := newBlocker()
	two := threadPool(t, 2)
	ctx, cancel := watched(t)
	waiter := ok(two.Submit(func() ([]byte, error) {
		inner, err := two.Submit(b.task)
		if err != nil {
			return nil, err
		}
		defer inner.Close()
		// Running on the other thread: the wait cannot run it here (a wait inside a task may run the task it
		// waits for on its own thread, and cannot see its context end until that task has ended).
		<-b.started
		_, err = inner.ResultContext(ctx)
		return nil, err
	}))
	defer waiter.Close()
	<-ctx.entered
	cancel()
	_, err := waiter.ResultContext(context.Background())
	wantIs(t, err, context.Canceled)
	close(b.release)
}

func TestWaitContext(t *testing.T) {
	fs := newFutures(t, 3)
	ctx, _ := watched(t)
	go func() {
		<-ctx.entered
		_ = fs[1].SetResult([]byte("one"))
	}()
	done, notDone, err := cfutures.WaitContext(ctx, fs, cfutures.FirstCompleted)
	if err != nil || !same(done, fs[1:2]) || !same(notDone, []*cfutures.Future{fs[0], fs[2]}) {
		t.Fatalf("done %v not done %v err %v", done, notDone, err)
	}

	// FIRST_EXCEPTION: a success does not end it, a failure does; a duplicate counts once.
	fs = newFutures(t, 3)
	ctx, _ = watched(t)
	go func() {
		<-ctx.entered
		_ = fs[0].SetResult([]byte("fine"))
		_ = fs[2].SetException("ValueError", "bad")
	}()
	done, notDone, err = cfutures.WaitContext(ctx, append(fs, fs[0]), cfutures.FirstException)
	if err != nil || !same(done, []*cfutures.Future{fs[0], fs[2], fs[0]}) || !same(notDone, fs[1:2]) {
		t.Fatalf("first exception: done %v not done %v err %v", done, notDone, err)
	}

	// ALL_COMPLETED, cancelled during the wait: the split as it stands, and the context's error.
	fs = newFutures(t, 3)
	noErr(t, fs[0].SetResult(nil))
	ctx, cancel := watched(t)
	go func() {
		<-ctx.entered
		_ = fs[1].SetResult(nil)
		cancel()
	}()
	done, notDone, err = cfutures.WaitContext(ctx, fs, cfutures.AllCompleted)
	wantCtxErr(t, err, context.Canceled, "WaitContext")
	if len(done)+len(notDone) != 3 || done[0] != fs[0] || notDone[len(notDone)-1] != fs[2] {
		t.Fatalf("cancelled: done %v not done %v", done, notDone)
	}
	if fs[2].Cancelled() {
		t.Fatal("the wait's context cancelled a future")
	}
	// Then completed one by one from another goroutine, ALL_COMPLETED returns once all are.
	ctx, _ = watched(t)
	go func() {
		<-ctx.entered
		_ = fs[2].SetException("ValueError", "late")
	}()
	done, notDone, err = cfutures.WaitContext(ctx, fs, cfutures.AllCompleted)
	if err != nil || !same(done, fs) || notDone != nil {
		t.Fatalf("all: done %v not done %v err %v", done, notDone, err)
	}

	// Deadline; cancelled before; nothing to wait for; bad arguments.
	fs = newFutures(t, 2)
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	done, notDone, err = cfutures.WaitContext(dctx, fs, cfutures.FirstCompleted)
	wantCtxErr(t, err, context.DeadlineExceeded, "WaitContext")
	if done != nil || !same(notDone, fs) {
		t.Fatalf("deadline: done %v not done %v", done, notDone)
	}
	noErr(t, fs[0].SetResult(nil))
	done, _, err = cfutures.WaitContext(cancelled(), fs, cfutures.FirstCompleted)
	wantCtxErr(t, err, context.Canceled, "WaitContext")
	if !same(done, fs[:1]) {
		t.Fatalf("cancelled before: done %v", done)
	}
	if done, notDone, err := cfutures.WaitContext(context.Background(), nil, cfutures.AllCompleted); err != nil || done != nil || notDone != nil {
		t.Fatalf("empty wait: %v %v %v", done, notDone, err)
	}
	_, _, err = cfutures.WaitContext(context.Background(), []*cfutures.Future{nil}, cfutures.AllCompleted)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, _, err = cfutures.WaitContext(context.Background(), fs, cfutures.ReturnWhen(42))
	wantIs(t, err, cfutures.ErrInvalidArgument)
}

// Many futures completed by a pool: WaitContext and AsCompletedContext see every one.
func TestWaitContextMany(t *testing.T) {
	pool := threadPool(t, 4)
	fs := make([]*cfutures.Future, 200)
	for i := range fs {
		i := i
		fs[i] = ok(pool.Submit(func() ([]byte, error) { return []byte{byte(i)}, nil }))
		defer fs[i].Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	it := ok(cfutures.AsCompletedContext(ctx, fs))
	seen := make(map[int]bool)
	for it.Next() {
		if it.Future() != fs[it.Index()] || seen[it.Index()] {
			t.Fatalf("index %d", it.Index())
		}
		seen[it.Index()] = true
	}
	noErr(t, it.Err())
	it.Close()
	if len(seen) != len(fs) {
		t.Fatalf("yielded %d of %d", len(seen), len(fs))
	}
	done, notDone, err := cfutures.WaitContext(ctx, fs, cfutures.AllCompleted)
	if err != nil || len(done) != len(fs) || notDone != nil {
		t.Fatalf("done %d not done %d err %v", len(done), len(notDone), err)
	}
}

func TestAsCompletedContext(t *testing.T) {
	fs := newFutures(t, 3)
	noErr(t, fs[2].SetResult([]byte("2")))
	it := ok(cfutures.AsCompletedContext(context.Background(), append(fs, fs[0]))) // a duplicate is yielded once
	defer it.Close()
	var order []*cfutures.Future
	var indexes []int
	for it.Next() {
		f := it.Future()
		order = append(order, f)
		indexes = append(indexes, it.Index())
		// Complete the next one only once the previous was yielded: the order is then certain.
		switch f {
		case fs[2]:
			go func() { _ = fs[0].SetResult([]byte("0")) }()
		case fs[0]:
			go func() { _ = fs[1].SetResult([]byte("1")) }()
		}
	}
	noErr(t, it.Err())
	if !same(order, []*cfutures.Future{fs[2], fs[0], fs[1]}) || fmt.Sprint(indexes) != "[2 0 1]" {
		t.Fatalf("order %v, indexes %v", order, indexes)
	}
	if it.Next() || it.Future() != nil || it.Index() != -1 {
		t.Fatal("Next after the end")
	}

	// Already-done futures come first, in input order.
	fs = newFutures(t, 4)
	noErr(t, fs[3].SetResult(nil))
	noErr(t, fs[1].SetResult(nil))
	it = ok(cfutures.AsCompletedContext(context.Background(), fs))
	defer it.Close()
	if !it.Next() || it.Index() != 1 || !it.Next() || it.Index() != 3 {
		t.Fatalf("done first: index %d", it.Index())
	}

	// Cancelled during Next: Next returns false, Err is the context's; the futures are untouched.
	ctx, cancel := watched(t)
	it = ok(cfutures.AsCompletedContext(ctx, fs))
	defer it.Close()
	go func() {
		<-ctx.entered
		cancel()
	}()
	n := 0
	for it.Next() {
		n++
	}
	wantCtxErr(t, it.Err(), context.Canceled, "CompletedIter.Next")
	if n != 2 || fs[0].Cancelled() || fs[0].Done() {
		t.Fatalf("yielded %d", n)
	}
	if it.Next() {
		t.Fatal("Next after the context ended")
	}

	// A deadline.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	it = ok(cfutures.AsCompletedContext(dctx, fs[:1]))
	if it.Next() {
		t.Fatal("yielded an unfinished future")
	}
	wantCtxErr(t, it.Err(), context.DeadlineExceeded, "CompletedIter.Next")
	it.Close()

	// Close from another goroutine ends a waiting Next.
	it = ok(cfutures.AsCompletedContext(context.Background(), fs[:1]))
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if it.Next() {
			t.Error("yielded an unfinished future")
		}
	}()
	it.Close()
	<-closed
	wantIs(t, it.Err(), cfutures.ErrClosed)

	// A ctx that has ended already is the call's error.
	_, err := cfutures.AsCompletedContext(cancelled(), fs)
	wantCtxErr(t, err, context.Canceled, "AsCompletedContext")
}

func TestSubmitContext(t *testing.T) {
	pool := threadPool(t, 1)
	_, err := pool.SubmitContext(cancelled(), func() ([]byte, error) { return nil, nil })
	wantCtxErr(t, err, context.Canceled, "Executor.SubmitContext")
	_, err = pool.SubmitNamedContext(cancelled(), "test.double", nil)
	wantCtxErr(t, err, context.Canceled, "Executor.SubmitNamedContext")
	// The submit's context ending later does not cancel the task.
	ctx, cancel := context.WithCancel(context.Background())
	b := newBlocker()
	f := ok(pool.SubmitContext(ctx, b.task))
	defer f.Close()
	g := ok(pool.SubmitNamedContext(ctx, "test.double", []byte("ab")))
	defer g.Close()
	cancel()
	close(b.release)
	if got := ok(f.Result(cfutures.Forever)); string(got) != "released" {
		t.Fatalf("result %q", got)
	}
	if got := ok(g.Result(cfutures.Forever)); string(got) != "abab" {
		t.Fatalf("result %q", got)
	}
}

// fifo makes a FIFO for test.fifo_wait and holds its writing end; let go closes it (idempotent).
func fifo(t *testing.T) (path string, letGo func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "fifo")
	noErr(t, syscall.Mkfifo(path, 0o600))
	w := ok(os.OpenFile(path, os.O_RDWR, 0)) // O_RDWR: does not wait for a reader
	var once sync.Once
	letGo = func() { once.Do(func() { w.Close() }) }
	t.Cleanup(letGo)
	return path, letGo
}

// A process pool's submit waits while its arena is full; SubmitNamedContext gives up with its context, and the
// submit left behind ends (with its future cancelled and released) once there is room.
func TestSubmitNamedContextFullArena(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := ok(cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxWorkers: 1, SharedMemoryBytes: 1 << 20}))
	defer pool.Close()
	path, letGo := fifo(t)
	big := make([]byte, 700<<10)
	holder := ok(pool.SubmitNamed("test.fifo_wait", append([]byte(path+"\n"), big...)))
	defer holder.Close()

	// The arena has no room for a second argument this large: the submit waits.
	ctx, cancel := watched(t)
	errs := make(chan error, 1)
	go func() {
		f, err := pool.SubmitNamedContext(ctx, "test.double", big)
		if f != nil {
			f.Close()
		}
		errs <- err
	}()
	<-ctx.entered
	cancel()
	wantCtxErr(t, <-errs, context.Canceled, "Executor.SubmitNamedContext")

	// A deadline, too.
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	_, err := pool.SubmitNamedContext(dctx, "test.double", big)
	wantCtxErr(t, err, context.DeadlineExceeded, "Executor.SubmitNamedContext")

	// Room comes back with the holder's end: the abandoned submits get through and let go of their futures.
	letGo()
	if got := ok(holder.Result(cfutures.Forever)); string(got) != "let go" {
		t.Fatalf("holder %q", got)
	}
	f := ok(pool.SubmitNamedContext(context.Background(), "test.double", []byte("x")))
	defer f.Close()
	if got := ok(f.Result(cfutures.Forever)); string(got) != "xx" {
		t.Fatalf("result %q", got)
	}
	noErr(t, pool.Close())
	settleGoroutines(t, before)

	// A shutdown ends a submit left waiting for room, too (with ErrShutdown, in the background).
	before = runtime.NumGoroutine()
	pool = ok(cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxWorkers: 1, SharedMemoryBytes: 1 << 20}))
	defer pool.Close()
	path, letGo = fifo(t)
	holder2 := ok(pool.SubmitNamed("test.fifo_wait", append([]byte(path+"\n"), big...)))
	defer holder2.Close()
	dctx2, dcancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel2()
	_, err = pool.SubmitNamedContext(dctx2, "test.double", big)
	wantCtxErr(t, err, context.DeadlineExceeded, "Executor.SubmitNamedContext")
	noErr(t, pool.Shutdown(false, false))
	settleGoroutines(t, before)
	letGo()
	if got := ok(holder2.Result(cfutures.Forever)); string(got) != "let go" {
		t.Fatalf("holder %q", got)
	}
}

func TestShutdownContext(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1}))
	b := newBlocker()
	running := ok(pool.Submit(b.task))
	defer running.Close()
	queued := ok(pool.Submit(func() ([]byte, error) { return []byte("queued"), nil }))
	defer queued.Close()
	<-b.started

	// Cancelled during the wait: the pool is shut down all the same, and its tasks go on.
	ctx, cancel := watched(t)
	go func() {
		<-ctx.entered
		cancel()
	}()
	wantCtxErr(t, pool.ShutdownContext(ctx, false), context.Canceled, "Executor.ShutdownContext")
	_, err := pool.Submit(func() ([]byte, error) { return nil, nil })
	wantIs(t, err, cfutures.ErrShutdown)
	if queued.Done() || running.Done() {
		t.Fatal("the shutdown's context ended a task")
	}
	// A deadline, and a ctx that has ended already.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	wantCtxErr(t, pool.ShutdownContext(dctx, false), context.DeadlineExceeded, "Executor.ShutdownContext")
	wantCtxErr(t, pool.ShutdownContext(cancelled(), false), context.Canceled, "Executor.ShutdownContext")

	close(b.release)
	ctx2, cancel2 := context.WithTimeout(context.Background(), patience)
	defer cancel2()
	noErr(t, pool.ShutdownContext(ctx2, false))
	if got := ok(queued.Result(0)); string(got) != "queued" {
		t.Fatalf("queued %q", got)
	}
	noErr(t, pool.Close())
	wantIs(t, pool.ShutdownContext(context.Background(), false), cfutures.ErrClosed)
	settleGoroutines(t, before)
}

func TestShutdownContextCancelFutures(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	running := ok(pool.Submit(b.task))
	defer running.Close()
	var ran atomic.Bool
	queued := ok(pool.Submit(func() ([]byte, error) { ran.Store(true); return nil, nil }))
	defer queued.Close()
	<-b.started
	ctx, cancel := watched(t)
	go func() {
		<-ctx.entered
		close(b.release)
	}()
	defer cancel()
	noErr(t, pool.ShutdownContext(ctx, true))
	if !queued.Cancelled() || ran.Load() {
		t.Fatal("the queued task was not cancelled")
	}
	ok(running.Result(0))
}

func TestMapContext(t *testing.T) {
	pool := threadPool(t, 3)
	it := ok(pool.MapContext(context.Background(), double, inputs(10), cfutures.MapOptions{Chunksize: 3}))
	if got := collect(t, it); fmt.Sprint(got) != fmt.Sprint(wantDoubled(10)) {
		t.Fatalf("results %v", got)
	}
	// The inputs are copied.
	in := inputs(3)
	it = ok(pool.MapContext(context.Background(), double, in, cfutures.MapOptions{Buffersize: 1}))
	in[0][0] = 'X'
	if got := collect(t, it); fmt.Sprint(got) != fmt.Sprint(wantDoubled(3)) {
		t.Fatalf("results %v", got)
	}
	// A failure ends it after the results before it.
	it = ok(pool.MapContext(context.Background(), func(b []byte) ([]byte, error) {
		if string(b) == "2" {
			return nil, typedError{"ValueError", "no 2"}
		}
		return b, nil
	}, inputs(5), cfutures.MapOptions{}))
	var got []string
	for it.Next() {
		got = append(got, string(it.Value()))
	}
	var te *cfutures.TaskError
	if !errors.As(it.Err(), &te) || te.Message != "no 2" || fmt.Sprint(got) != "[0 1]" {
		t.Fatalf("got %v, err %v", got, it.Err())
	}
	it.Close()
	// Unordered; the map's own timeout.
	it = ok(pool.MapContext(context.Background(), double, inputs(6), cfutures.MapOptions{Unordered: true}))
	if got := collect(t, it); len(got) != 6 {
		t.Fatalf("unordered %v", got)
	}
	b := newBlocker()
	it = ok(pool.MapContext(context.Background(), func([]byte) ([]byte, error) { return b.task() },
		inputs(1), cfutures.MapOptions{Timeout: 10 * time.Millisecond}))
	if it.Next() {
		t.Fatal("a result past the timeout")
	}
	wantIs(t, it.Err(), cfutures.ErrTimeout)
	it.Close()
	close(b.release)
	// Bad arguments; a ctx that has ended already; a process pool refuses closures.
	_, err := pool.MapContext(cancelled(), double, inputs(2), cfutures.MapOptions{})
	wantCtxErr(t, err, context.Canceled, "Executor.MapContext")
	_, err = pool.MapContext(context.Background(), nil, inputs(2), cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = pool.MapContext(context.Background(), double, inputs(2), cfutures.MapOptions{Chunksize: -1})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	procs := processPool(t, 1)
	_, err = procs.MapContext(context.Background(), double, inputs(2), cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrUnknownTask)
	// Nothing to map.
	it = ok(pool.MapContext(context.Background(), double, nil, cfutures.MapOptions{}))
	if it.Next() || it.Err() != nil {
		t.Fatal("an empty map yielded")
	}
	it.Close()
}

func wantDoubled(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i) + fmt.Sprint(i)
	}
	return out
}

// Cancelled during Next: the iteration ends with the context's error, and the chunks not started are cancelled.
func TestMapContextCancelledDuring(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	var ran atomic.Int32
	ctx, cancel := watched(t)
	it := ok(pool.MapContext(ctx, func(in []byte) ([]byte, error) {
		ran.Add(1)
		if string(in) == "0" {
			return b.task()
		}
		return in, nil
	}, inputs(5), cfutures.MapOptions{}))
	defer it.Close()
	<-b.started
	go func() {
		<-ctx.entered
		cancel()
	}()
	if it.Next() {
		t.Fatal("a result from a blocked task")
	}
	wantCtxErr(t, it.Err(), context.Canceled, "Executor.MapContext")
	close(b.release)
	// One more task through the single worker: the cancelled chunks were skipped, not run late.
	ok(ok(pool.Submit(func() ([]byte, error) { return nil, nil })).Result(cfutures.Forever))
	if n := ran.Load(); n != 1 {
		t.Fatalf("%d items ran", n)
	}
	if it.Next() {
		t.Fatal("Next after the context ended")
	}
}

func TestMapContextCloseDuringNext(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	it := ok(pool.MapContext(context.Background(), func([]byte) ([]byte, error) { return b.task() },
		inputs(2), cfutures.MapOptions{}))
	<-b.started
	done := make(chan bool)
	go func() { done <- it.Next() }()
	it.Close()
	if <-done {
		t.Fatal("a result after Close")
	}
	wantIs(t, it.Err(), cfutures.ErrClosed)
	close(b.release)
}

func TestMapNamedContext(t *testing.T) {
	pool := processPool(t, 2)
	it := ok(pool.MapNamedContext(context.Background(), "test.double", inputs(7), cfutures.MapOptions{Chunksize: 3, Buffersize: 2}))
	if got := collect(t, it); fmt.Sprint(got) != fmt.Sprint(wantDoubled(7)) {
		t.Fatalf("results %v", got)
	}
	it = ok(pool.MapNamedContext(context.Background(), "test.fail", inputs(2), cfutures.MapOptions{}))
	if it.Next() {
		t.Fatal("a result from a failing task")
	}
	var te *cfutures.TaskError
	if !errors.As(it.Err(), &te) || te.Type != "ValueError" {
		t.Fatalf("error %v", it.Err())
	}
	it.Close()
	_, err := pool.MapNamedContext(context.Background(), "test.no_such_task", inputs(2), cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrUnknownTask)
	_, err = pool.MapNamedContext(cancelled(), "test.double", inputs(2), cfutures.MapOptions{})
	wantCtxErr(t, err, context.Canceled, "Executor.MapNamedContext")
	// On a thread pool, too.
	threads := threadPool(t, 2)
	it = ok(threads.MapNamedContext(context.Background(), "test.double", inputs(3), cfutures.MapOptions{Unordered: true}))
	if got := collect(t, it); len(got) != 3 {
		t.Fatalf("results %v", got)
	}
}

// Waits abandoned in every way leave no goroutine behind once their tasks are done.
func TestContextNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2}))
	b := newBlocker()
	f := ok(pool.Submit(b.task))
	<-b.started
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		_, _ = f.ResultContext(ctx)
		_, _ = f.ExceptionContext(ctx)
		_, _, _ = cfutures.WaitContext(ctx, []*cfutures.Future{f}, cfutures.AllCompleted)
		if it, err := cfutures.AsCompletedContext(ctx, []*cfutures.Future{f}); err == nil {
			for it.Next() {
			}
			if i%2 == 0 {
				it.Close() // the others are left to the finalizer
			}
		}
		if it, err := pool.MapContext(ctx, func(b []byte) ([]byte, error) { return b, nil }, inputs(3), cfutures.MapOptions{}); err == nil {
			for it.Next() {
			}
			it.Close()
		}
		tctx, tcancel := context.WithTimeout(context.Background(), time.Millisecond)
		_, _ = f.ResultContext(tctx)
		tcancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = pool.ShutdownContext(ctx, false)
	sctx, scancel := context.WithTimeout(context.Background(), time.Millisecond)
	_ = pool.ShutdownContext(sctx, false) // its waiter goroutine stays until the blocker ends
	scancel()
	close(b.release)
	ok(f.Result(cfutures.Forever))
	f.Close()
	noErr(t, pool.Close())
	runtime.GC()
	settleGoroutines(t, before)
}
