// SPDX-License-Identifier: MIT

package cfutures_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cfutures"
)

func TestVersion(t *testing.T) {
	if v := cfutures.Version(); !strings.HasPrefix(v, "0.") {
		t.Fatalf("version %q", v)
	}
}

func TestSubmitResult(t *testing.T) {
	pool := threadPool(t, 2)
	f := ok(pool.Submit(func() ([]byte, error) { return []byte("hello"), nil }))
	defer f.Close()
	got := ok(f.Result(cfutures.Forever))
	if string(got) != "hello" {
		t.Fatalf("result %q", got)
	}
	if !f.Done() || f.Running() || f.Cancelled() {
		t.Fatalf("done %v running %v cancelled %v", f.Done(), f.Running(), f.Cancelled())
	}
	if failure, err := f.Exception(0); failure != nil || err != nil {
		t.Fatalf("exception %v, %v", failure, err)
	}
	// An empty result is an empty slice, not an error.
	g := ok(pool.Submit(func() ([]byte, error) { return nil, nil }))
	if got := ok(g.Result(cfutures.Forever)); len(got) != 0 {
		t.Fatalf("empty result %q", got)
	}
}

func TestClosureStateVisibleAfterResult(t *testing.T) {
	// What a task writes is visible once Result returns (checked by -race: the C library's synchronisation
	// is invisible to the race detector, so the binding must order it itself).
	pool := threadPool(t, 4)
	values := make([]int, 64)
	fs := make([]*cfutures.Future, len(values))
	for i := range values {
		i := i
		fs[i] = ok(pool.Submit(func() ([]byte, error) { values[i] = i * i; return nil, nil }))
	}
	for i, f := range fs {
		ok(f.Result(cfutures.Forever))
		if values[i] != i*i {
			t.Fatalf("values[%d] = %d", i, values[i])
		}
	}
}

var errNotFound = errors.New("page not found")

func TestTaskError(t *testing.T) {
	pool := threadPool(t, 2)
	f := ok(pool.Submit(func() ([]byte, error) { return nil, fmt.Errorf("fetching: %w", errNotFound) }))
	_, err := f.Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is no TaskError", err, err)
	}
	wantIs(t, err, cfutures.ErrTaskFailed)
	wantIs(t, err, errNotFound) // the task's own error, kept for tasks run in this process
	if te.Type != "*fmt.wrapError" || te.Message != "fetching: page not found" {
		t.Fatalf("type %q message %q", te.Type, te.Message)
	}
	if errors.Is(err, cfutures.ErrTimeout) || errors.Is(err, cfutures.ErrCancelled) {
		t.Fatalf("%v matches the wrong sentinel", err)
	}
	failure, err := f.Exception(cfutures.Forever)
	if err != nil || !errors.Is(failure, errNotFound) {
		t.Fatalf("exception %v, %v", failure, err)
	}

	g := ok(pool.Submit(func() ([]byte, error) { return nil, typedError{"KeyError", "no such key"} }))
	_, err = g.Result(cfutures.Forever)
	if !errors.As(err, &te) || te.Type != "KeyError" || te.Message != "no such key" {
		t.Fatalf("typed error: %v", err)
	}
}

func TestPanicBecomesTaskError(t *testing.T) {
	pool := threadPool(t, 1)
	f := ok(pool.Submit(func() ([]byte, error) { panic("boom") }))
	_, err := f.Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.As(err, &te) || te.Type != "panic" || te.Message != "boom" {
		t.Fatalf("panic gave %v", err)
	}
	g := ok(pool.Submit(func() ([]byte, error) {
		var m map[string]int
		m["x"] = 1 // a runtime panic
		return nil, nil
	}))
	_, err = g.Result(cfutures.Forever)
	if !errors.As(err, &te) || !strings.Contains(te.Message, "nil map") {
		t.Fatalf("runtime panic gave %v", err)
	}
	// The pool survives.
	h := ok(pool.Submit(func() ([]byte, error) { return []byte("ok"), nil }))
	if got := ok(h.Result(cfutures.Forever)); string(got) != "ok" {
		t.Fatalf("after panics: %q", got)
	}
}

// blocker is a task that signals it started and then waits for release.
type blocker struct {
	started, release chan struct{}
}

func newBlocker() *blocker { return &blocker{make(chan struct{}), make(chan struct{})} }

func (b *blocker) task() ([]byte, error) {
	close(b.started)
	<-b.release
	return []byte("released"), nil
}

func TestCancelQueuedTask(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	running := ok(pool.Submit(b.task))
	<-b.started
	var ran atomic.Bool
	queued := ok(pool.Submit(func() ([]byte, error) { ran.Store(true); return nil, nil }))

	if running.Cancel() {
		t.Fatal("a running task was cancelled")
	}
	if !running.Running() {
		t.Fatal("the blocker is not running")
	}
	if !queued.Cancel() || !queued.Cancelled() || !queued.Done() {
		t.Fatal("the queued task was not cancelled")
	}
	_, err := queued.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrCancelled)
	if _, err := queued.Exception(0); !errors.Is(err, cfutures.ErrCancelled) {
		t.Fatalf("exception of a cancelled future: %v", err)
	}
	close(b.release)
	if got := ok(running.Result(cfutures.Forever)); string(got) != "released" {
		t.Fatalf("blocker result %q", got)
	}
	// One more task through the single worker proves the cancelled one was skipped, not run late.
	ok(ok(pool.Submit(func() ([]byte, error) { return nil, nil })).Result(cfutures.Forever))
	if ran.Load() {
		t.Fatal("the cancelled task ran")
	}
}

func TestResultTimeout(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	f := ok(pool.Submit(b.task))
	<-b.started
	start := time.Now()
	_, err := f.Result(30 * time.Millisecond)
	wantIs(t, err, cfutures.ErrTimeout)
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	var ce *cfutures.Error
	if !errors.As(err, &ce) || ce.Status != cfutures.StatusTimeout || ce.Op != "Future.Result" || ce.Message == "" {
		t.Fatalf("timeout error %#v", err)
	}
	if _, err := f.Result(0); !errors.Is(err, cfutures.ErrTimeout) {
		t.Fatalf("zero timeout: %v", err)
	}
	if _, err := f.Exception(time.Millisecond); !errors.Is(err, cfutures.ErrTimeout) {
		t.Fatalf("exception timeout: %v", err)
	}
	close(b.release)
	ok(f.Result(cfutures.Forever))
}

func newFutures(t *testing.T, n int) []*cfutures.Future {
	t.Helper()
	fs := make([]*cfutures.Future, n)
	for i := range fs {
		fs[i] = ok(cfutures.NewFuture())
		t.Cleanup(func() { fs[i].Close() })
	}
	return fs
}

func same(a, b []*cfutures.Future) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWaitFirstCompleted(t *testing.T) {
	fs := newFutures(t, 3)
	go func() { _ = fs[1].SetResult([]byte("one")) }()
	done, notDone, err := cfutures.Wait(fs, cfutures.Forever, cfutures.FirstCompleted)
	if err != nil || !same(done, fs[1:2]) || !same(notDone, []*cfutures.Future{fs[0], fs[2]}) {
		t.Fatalf("done %v not done %v err %v", done, notDone, err)
	}
}

func TestWaitFirstException(t *testing.T) {
	fs := newFutures(t, 3)
	noErr(t, fs[0].SetResult([]byte("fine")))
	// A success alone does not end a FIRST_EXCEPTION wait.
	done, notDone, err := cfutures.Wait(fs, 20*time.Millisecond, cfutures.FirstException)
	wantIs(t, err, cfutures.ErrTimeout)
	if !same(done, fs[:1]) || len(notDone) != 2 {
		t.Fatalf("after timeout: done %v not done %v", done, notDone)
	}
	go func() { _ = fs[2].SetException("ValueError", "bad") }()
	done, notDone, err = cfutures.Wait(fs, cfutures.Forever, cfutures.FirstException)
	if err != nil || !same(done, []*cfutures.Future{fs[0], fs[2]}) || !same(notDone, fs[1:2]) {
		t.Fatalf("done %v not done %v err %v", done, notDone, err)
	}
	_, err = fs[2].Result(0)
	var te *cfutures.TaskError
	if !errors.As(err, &te) || te.Type != "ValueError" || te.Message != "bad" {
		t.Fatalf("set exception: %v", err)
	}
}

func TestWaitAllCompleted(t *testing.T) {
	pool := threadPool(t, 4)
	fs := make([]*cfutures.Future, 8)
	for i := range fs {
		i := i
		fs[i] = ok(pool.Submit(func() ([]byte, error) {
			time.Sleep(time.Duration(i) * time.Millisecond)
			return []byte{byte(i)}, nil
		}))
	}
	done, notDone, err := cfutures.Wait(fs, cfutures.Forever, cfutures.AllCompleted)
	if err != nil || !same(done, fs) || len(notDone) != 0 {
		t.Fatalf("done %d not done %d err %v", len(done), len(notDone), err)
	}
	for i, f := range fs {
		if got := ok(f.Result(0)); got[0] != byte(i) {
			t.Fatalf("future %d: %v", i, got)
		}
	}
	// With one future pending, ALL_COMPLETED times out and says which.
	pending := newFutures(t, 1)[0]
	done, notDone, err = cfutures.Wait(append(fs[:2:2], pending), 10*time.Millisecond, cfutures.AllCompleted)
	wantIs(t, err, cfutures.ErrTimeout)
	if len(done) != 2 || !same(notDone, []*cfutures.Future{pending}) {
		t.Fatalf("done %d not done %v", len(done), notDone)
	}
	// Nothing to wait for is done at once.
	if done, notDone, err := cfutures.Wait(nil, cfutures.Forever, cfutures.AllCompleted); err != nil || done != nil || notDone != nil {
		t.Fatalf("empty wait: %v %v %v", done, notDone, err)
	}
}

func TestAsCompleted(t *testing.T) {
	fs := newFutures(t, 3)
	noErr(t, fs[2].SetResult([]byte("2")))
	it := ok(cfutures.AsCompleted(append(fs, fs[0]), cfutures.Forever)) // a duplicate is yielded once
	defer it.Close()
	var order []*cfutures.Future
	for it.Next() {
		f := it.Future()
		order = append(order, f)
		// Complete the next one only once the previous was yielded: the order is then certain.
		switch f {
		case fs[2]:
			go func() { _ = fs[0].SetResult([]byte("0")) }()
		case fs[0]:
			go func() { _ = fs[1].SetResult([]byte("1")) }()
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if !same(order, []*cfutures.Future{fs[2], fs[0], fs[1]}) {
		t.Fatalf("order %v, futures %v", order, fs)
	}
}

func TestAsCompletedTimeout(t *testing.T) {
	fs := newFutures(t, 3)
	noErr(t, fs[1].SetResult(nil))
	it := ok(cfutures.AsCompleted(fs, 20*time.Millisecond))
	defer it.Close()
	n := 0
	for it.Next() {
		if it.Future() != fs[1] {
			t.Fatal("yielded an unfinished future")
		}
		n++
	}
	wantIs(t, it.Err(), cfutures.ErrTimeout)
	if n != 1 || !strings.Contains(it.Err().Error(), "2 (of 3) futures unfinished") {
		t.Fatalf("yielded %d, error %v", n, it.Err())
	}
	if it.Next() {
		t.Fatal("Next after a timeout")
	}
}

func double(b []byte) ([]byte, error) { return append(b, b...), nil }

func inputs(n int) [][]byte {
	in := make([][]byte, n)
	for i := range in {
		in[i] = []byte(fmt.Sprint(i))
	}
	return in
}

func collect(t *testing.T, it *cfutures.MapIter) []string {
	t.Helper()
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, string(it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMapInOrder(t *testing.T) {
	pool := threadPool(t, 4)
	const n = 40
	// Later items finish first; the results still come in input order.
	slow := func(b []byte) ([]byte, error) {
		var i int
		fmt.Sscan(string(b), &i)
		time.Sleep(time.Duration(n-i) * 100 * time.Microsecond)
		return double(b)
	}
	got := collect(t, ok(pool.Map(slow, inputs(n), cfutures.MapOptions{})))
	if len(got) != n {
		t.Fatalf("%d results", len(got))
	}
	for i, s := range got {
		if want := fmt.Sprint(i) + fmt.Sprint(i); s != want {
			t.Fatalf("result %d is %q, want %q", i, s, want)
		}
	}
	if got := collect(t, ok(pool.Map(double, nil, cfutures.MapOptions{}))); len(got) != 0 {
		t.Fatalf("empty map gave %v", got)
	}
	// Unordered: every result, in completion order.
	got = collect(t, ok(pool.Map(double, inputs(10), cfutures.MapOptions{Unordered: true})))
	if len(got) != 10 {
		t.Fatalf("unordered: %v", got)
	}
}

func TestMapChunksize(t *testing.T) {
	pool := threadPool(t, 3)
	var mu sync.Mutex
	tids := map[string]int{}
	record := func(b []byte) ([]byte, error) {
		mu.Lock()
		tids[string(b)] = syscall.Gettid() // the pool thread running the item
		mu.Unlock()
		time.Sleep(time.Millisecond)
		return double(b)
	}
	const n, chunk = 12, 4
	got := collect(t, ok(pool.Map(record, inputs(n), cfutures.MapOptions{Chunksize: chunk})))
	for i, s := range got {
		if want := fmt.Sprint(i) + fmt.Sprint(i); s != want {
			t.Fatalf("result %d is %q, want %q", i, s, want)
		}
	}
	// A chunk is one task: its items ran one after another on one thread.
	for i := 0; i < n; i++ {
		if tids[fmt.Sprint(i)] != tids[fmt.Sprint(i-i%chunk)] {
			t.Fatalf("items of one chunk ran on different threads: %v", tids)
		}
	}
	if _, err := pool.Map(double, inputs(2), cfutures.MapOptions{Chunksize: -1}); !errors.Is(err, cfutures.ErrInvalidArgument) {
		t.Fatalf("negative chunksize: %v", err)
	}
}

func TestMapFailureStopsIteration(t *testing.T) {
	pool := threadPool(t, 2)
	fail := func(b []byte) ([]byte, error) {
		if string(b) == "5" {
			return nil, typedError{"ValueError", "five"}
		}
		return b, nil
	}
	it := ok(pool.Map(fail, inputs(10), cfutures.MapOptions{Chunksize: 3}))
	defer it.Close()
	var got []string
	for it.Next() {
		got = append(got, string(it.Value()))
	}
	var te *cfutures.TaskError
	if !errors.As(it.Err(), &te) || te.Type != "ValueError" || te.Message != "five" {
		t.Fatalf("map error %v", it.Err())
	}
	wantIs(t, it.Err(), cfutures.ErrTaskFailed)
	if strings.Join(got, ",") != "0,1,2,3,4" {
		t.Fatalf("results before the failure: %v", got)
	}
}

func TestMapTimeout(t *testing.T) {
	pool := threadPool(t, 2)
	release := make(chan struct{})
	defer close(release)
	wait := func(b []byte) ([]byte, error) {
		if string(b) == "1" {
			<-release
		}
		return b, nil
	}
	start := time.Now()
	it := ok(pool.Map(wait, inputs(3), cfutures.MapOptions{Timeout: 30 * time.Millisecond}))
	defer it.Close()
	var got []string
	for it.Next() {
		got = append(got, string(it.Value()))
	}
	wantIs(t, it.Err(), cfutures.ErrTimeout)
	// Item 1 never finished, so nothing from it on can be yielded; item 0 normally was (unless a loaded
	// machine kept it from finishing within the timeout).
	if d := time.Since(start); d < 25*time.Millisecond || len(got) > 1 || (len(got) == 1 && got[0] != "0") {
		t.Fatalf("after %v got %v", d, got)
	}
}

func TestMapBuffersize(t *testing.T) {
	pool := threadPool(t, 4)
	var calls atomic.Int32
	count := func(b []byte) ([]byte, error) { calls.Add(1); return b, nil }
	it := ok(pool.Map(count, inputs(20), cfutures.MapOptions{Buffersize: 2}))
	defer it.Close()
	time.Sleep(20 * time.Millisecond) // the pool has time to run whatever was submitted
	if c := calls.Load(); c > 2 {
		t.Fatalf("%d items ran before any result was taken, with Buffersize 2", c)
	}
	n := 0
	for it.Next() {
		n++
	}
	if n != 20 || it.Err() != nil || calls.Load() != 20 {
		t.Fatalf("%d results, %d calls, err %v", n, calls.Load(), it.Err())
	}
}

func TestShutdownRefusesWork(t *testing.T) {
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1}))
	b := newBlocker()
	running := ok(pool.Submit(b.task))
	<-b.started
	queued := ok(pool.Submit(func() ([]byte, error) { return nil, nil }))
	go func() { time.Sleep(10 * time.Millisecond); close(b.release) }()
	// cancel_futures: the queued task is cancelled, the running one finishes; wait: returns after it.
	if err := pool.Shutdown(true, true); err != nil {
		t.Fatal(err)
	}
	if !running.Done() || !queued.Cancelled() {
		t.Fatalf("running done %v, queued cancelled %v", running.Done(), queued.Cancelled())
	}
	_, err := pool.Submit(func() ([]byte, error) { return nil, nil })
	wantIs(t, err, cfutures.ErrShutdown)
	var ce *cfutures.Error
	if !errors.As(err, &ce) || ce.Status != cfutures.StatusShutdown || !strings.Contains(err.Error(), "Executor.Submit") {
		t.Fatalf("shutdown error %#v", err)
	}
	_, err = pool.SubmitNamed("test.double", []byte("x"))
	wantIs(t, err, cfutures.ErrShutdown)
	_, err = pool.Map(double, inputs(2), cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrShutdown)
	if err := pool.Shutdown(true, false); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Submit(func() ([]byte, error) { return nil, nil })
	wantIs(t, err, cfutures.ErrClosed)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	if err := pool.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestDoneCallbacks(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	f := ok(pool.Submit(b.task))
	var mu sync.Mutex
	var calls []string
	got := make(chan *cfutures.Future, 2)
	for _, name := range []string{"first", "second"} {
		name := name
		noErr(t, f.AddDoneCallback(func(g *cfutures.Future) {
			mu.Lock()
			calls = append(calls, name)
			mu.Unlock()
			got <- g
		}))
	}
	close(b.release)
	if <-got != f || <-got != f {
		t.Fatal("callback got another future")
	}
	mu.Lock()
	if strings.Join(calls, ",") != "first,second" {
		t.Fatalf("calls %v", calls)
	}
	mu.Unlock()
	// On a done future the callback runs at once, on this goroutine.
	ran := false
	noErr(t, f.AddDoneCallback(func(g *cfutures.Future) { ran = g.Done() }))
	if !ran {
		t.Fatal("callback on a done future did not run at once")
	}
	// A callback on a cancelled future runs too.
	pending := newFutures(t, 1)[0]
	cancelled := make(chan bool, 1)
	noErr(t, pending.AddDoneCallback(func(g *cfutures.Future) { cancelled <- g.Cancelled() }))
	if !pending.Cancel() || !<-cancelled {
		t.Fatal("callback of a cancelled future")
	}
}

func TestBrokenThreadPool(t *testing.T) {
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{
		MaxWorkers:  1,
		Initializer: func() error { return errors.New("no database") },
	}))
	defer pool.Close()
	f, err := pool.Submit(func() ([]byte, error) { return nil, nil })
	if err == nil {
		_, err = f.Result(cfutures.Forever)
	}
	wantIs(t, err, cfutures.ErrBrokenThreadPool)
	wantIs(t, err, cfutures.ErrBrokenExecutor)
	if errors.Is(err, cfutures.ErrBrokenProcessPool) {
		t.Fatal("a broken thread pool is no broken process pool")
	}
	_, err = pool.Submit(func() ([]byte, error) { return nil, nil })
	wantIs(t, err, cfutures.ErrBrokenThreadPool)
}

func TestThreadNamePrefix(t *testing.T) {
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1, ThreadNamePrefix: "gopool"}))
	defer pool.Close()
	f := ok(pool.Submit(func() ([]byte, error) {
		return os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", syscall.Gettid()))
	}))
	if name := strings.TrimSpace(string(ok(f.Result(cfutures.Forever)))); name != "gopool_0" {
		t.Fatalf("thread name %q", name)
	}
}

func TestSubmitNamedOnThreadPool(t *testing.T) {
	pool := threadPool(t, 2)
	f := ok(pool.SubmitNamed("test.double", []byte("ab")))
	if got := ok(f.Result(cfutures.Forever)); string(got) != "abab" {
		t.Fatalf("got %q", got)
	}
	got := collect(t, ok(pool.MapNamed("test.double", inputs(3), cfutures.MapOptions{Chunksize: 2})))
	if strings.Join(got, ",") != "00,11,22" {
		t.Fatalf("MapNamed: %v", got)
	}
	_, err := pool.SubmitNamed("no such task", nil)
	wantIs(t, err, cfutures.ErrUnknownTask)
	if !strings.Contains(err.Error(), "no such task") {
		t.Fatalf("message %v", err)
	}
	_, err = pool.MapNamed("no such task", nil, cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrUnknownTask)
}

func TestFutureMisuse(t *testing.T) {
	pool := threadPool(t, 1)
	f := ok(pool.Submit(func() ([]byte, error) { return nil, nil }))
	ok(f.Result(cfutures.Forever))
	wantIs(t, f.SetResult(nil), cfutures.ErrInvalidState) // not the program's to set

	g := ok(cfutures.NewFuture())
	running, err := g.SetRunningOrNotifyCancel()
	if err != nil || !running || !g.Running() {
		t.Fatalf("set running: %v %v", running, err)
	}
	noErr(t, g.SetResult([]byte("first")))
	err = g.SetResult([]byte("second"))
	wantIs(t, err, cfutures.ErrInvalidState)
	if got := ok(g.Result(0)); string(got) != "first" {
		t.Fatalf("kept %q", got)
	}
	g.Close()
	g.Close()
	_, err = g.Result(0)
	wantIs(t, err, cfutures.ErrClosed)
	if g.Done() || g.Cancel() {
		t.Fatal("a closed future answers false")
	}
	if _, _, err := cfutures.Wait([]*cfutures.Future{g}, 0, cfutures.AllCompleted); !errors.Is(err, cfutures.ErrClosed) {
		t.Fatalf("wait on a closed future: %v", err)
	}
	if _, err := pool.Submit(nil); !errors.Is(err, cfutures.ErrInvalidArgument) {
		t.Fatalf("nil task: %v", err)
	}
	if _, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 70000}); !errors.Is(err, cfutures.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "max_workers") {
		t.Fatalf("too many workers: %v", err)
	}
}

func TestErrorSentinels(t *testing.T) {
	wantIs(t, cfutures.ErrBrokenProcessPool, cfutures.ErrBrokenExecutor)
	wantIs(t, cfutures.ErrBrokenThreadPool, cfutures.ErrBrokenExecutor)
	if errors.Is(cfutures.ErrTimeout, cfutures.ErrBrokenExecutor) || errors.Is(cfutures.ErrBrokenProcessPool, cfutures.ErrBrokenThreadPool) {
		t.Fatal("unrelated sentinels match")
	}
	if cfutures.StatusTimeout.String() != "CF_E_TIMEOUT" || cfutures.ErrTimeout.Error() == "" {
		t.Fatalf("%v / %v", cfutures.StatusTimeout, cfutures.ErrTimeout)
	}
}

func TestRegisterTaskConflicts(t *testing.T) {
	err := cfutures.RegisterTask("test.double", double)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	if err := cfutures.RegisterTask("test.nil", nil); !errors.Is(err, cfutures.ErrInvalidArgument) {
		t.Fatalf("nil task: %v", err)
	}
}

func TestClosureOnProcessPoolRefused(t *testing.T) {
	pool := ok(cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxWorkers: 1}))
	defer pool.Close()
	_, err := pool.Submit(func() ([]byte, error) { return nil, nil })
	wantIs(t, err, cfutures.ErrUnknownTask)
	_, err = pool.Map(double, inputs(2), cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrUnknownTask)
	if !bytes.Contains([]byte(err.Error()), []byte("not registered")) {
		t.Fatalf("message %v", err)
	}
}
