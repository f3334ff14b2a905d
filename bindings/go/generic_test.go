// SPDX-License-Identifier: MIT

package cfutures_test

// Tests of the generic helpers: Submit[T], TypedFuture[T], Map[T, R] and their context forms.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"cfutures"
)

type point struct {
	X, Y int
	Tag  string
}

var errOdd = errors.New("odd input")

func TestGenericSubmit(t *testing.T) {
	pool := threadPool(t, 2)
	f := ok(cfutures.Submit(pool, func() (point, error) { return point{1, 2, "p"}, nil }))
	defer f.Close()
	if got := ok(f.Result()); got != (point{1, 2, "p"}) {
		t.Fatalf("result %+v", got)
	}
	if !f.Done() || f.Running() || f.Cancelled() {
		t.Fatal("state after the result")
	}
	if failure, err := f.Exception(); failure != nil || err != nil {
		t.Fatalf("exception %v, %v", failure, err)
	}
	if got := ok(f.ResultTimeout(0)); got.Tag != "p" {
		t.Fatalf("result %+v", got)
	}
	// Pointers, slices, maps and channels stay Go values.
	ch := make(chan int, 1)
	g := ok(cfutures.Submit(pool, func() (map[string]chan int, error) { return map[string]chan int{"c": ch}, nil }))
	defer g.Close()
	if got := ok(g.ResultContext(context.Background())); got["c"] != ch {
		t.Fatal("a channel did not come back as itself")
	}
}

func TestGenericErrors(t *testing.T) {
	pool := threadPool(t, 2)
	f := ok(cfutures.Submit(pool, func() (int, error) { return 7, fmt.Errorf("wrapped: %w", errOdd) }))
	defer f.Close()
	v, err := f.Result()
	if v != 0 || !errors.Is(err, errOdd) || !errors.Is(err, cfutures.ErrTaskFailed) {
		t.Fatalf("result %v, %v", v, err)
	}
	var te *cfutures.TaskError
	if !errors.As(err, &te) || te.Type != "*fmt.wrapError" || te.Message != "wrapped: odd input" {
		t.Fatalf("task error %#v", err)
	}
	failure, err := f.ExceptionContext(context.Background())
	if err != nil || !errors.Is(failure, errOdd) {
		t.Fatalf("exception %v, %v", failure, err)
	}
	// A panic.
	p := ok(cfutures.Submit(pool, func() ([]string, error) { panic("boom") }))
	defer p.Close()
	_, err = p.Result()
	if !errors.As(err, &te) || te.Type != "panic" || te.Message != "boom" {
		t.Fatalf("panic %v", err)
	}
	// Bad arguments, a closed pool, a process pool.
	_, err = cfutures.Submit[int](pool, nil)
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.Submit(nil, func() (int, error) { return 0, nil })
	wantIs(t, err, cfutures.ErrInvalidArgument)
	procs := processPool(t, 1)
	_, err = cfutures.Submit(procs, func() (int, error) { return 0, nil })
	wantIs(t, err, cfutures.ErrUnknownTask)
	closed := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1}))
	closed.Close()
	_, err = cfutures.Submit(closed, func() (int, error) { return 0, nil })
	wantIs(t, err, cfutures.ErrClosed)
	// A closed future.
	f.Close()
	_, err = f.Result()
	wantIs(t, err, cfutures.ErrClosed)
}

func TestGenericCancelAndContext(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	running := ok(cfutures.Submit(pool, func() (string, error) { s, err := b.task(); return string(s), err }))
	defer running.Close()
	<-b.started
	var ran atomic.Bool
	queued := ok(cfutures.Submit(pool, func() (int, error) { ran.Store(true); return 1, nil }))
	defer queued.Close()
	if !queued.Cancel() || !queued.Cancelled() {
		t.Fatal("the queued task was not cancelled")
	}
	_, err := queued.Result()
	wantIs(t, err, cfutures.ErrCancelled)
	if running.Cancel() || !running.Running() {
		t.Fatal("the running task was cancelled")
	}
	// Waits with a context: before, during, deadline.
	_, err = running.ResultContext(cancelled())
	wantCtxErr(t, err, context.Canceled, "TypedFuture.ResultContext")
	ctx, cancel := watched(t)
	errs := make(chan error, 1)
	go func() {
		_, err := running.ResultContext(ctx)
		errs <- err
	}()
	<-ctx.entered
	cancel()
	wantCtxErr(t, <-errs, context.Canceled, "TypedFuture.ResultContext")
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	_, err = running.ResultContext(dctx)
	wantIs(t, err, context.DeadlineExceeded)
	_, err = running.ExceptionContext(dctx)
	wantIs(t, err, context.DeadlineExceeded)
	_, err = running.ResultTimeout(time.Millisecond)
	wantIs(t, err, cfutures.ErrTimeout)
	if running.Done() {
		t.Fatal("a wait ended the task")
	}
	// SubmitContext: refused with a done ctx, not cancelled by ctx afterwards.
	_, err = cfutures.SubmitContext(cancelled(), pool, func() (int, error) { return 0, nil })
	wantCtxErr(t, err, context.Canceled, "SubmitContext")
	sctx, scancel := context.WithCancel(context.Background())
	later := ok(cfutures.SubmitContext(sctx, pool, func() (float64, error) { return 2.5, nil }))
	defer later.Close()
	scancel()
	close(b.release)
	if got := ok(running.Result()); got != "released" {
		t.Fatalf("result %q", got)
	}
	if got := ok(later.Result()); got != 2.5 {
		t.Fatalf("result %v", got)
	}
	if ran.Load() {
		t.Fatal("the cancelled task ran")
	}
}

func TestGenericWithWaitAndAsCompleted(t *testing.T) {
	pool := threadPool(t, 4)
	fs := make([]*cfutures.TypedFuture[int], 10)
	for i := range fs {
		i := i
		fs[i] = ok(cfutures.Submit(pool, func() (int, error) { return i * i, nil }))
		defer fs[i].Close()
	}
	done, notDone, err := cfutures.WaitContext(context.Background(), cfutures.Untyped(fs), cfutures.AllCompleted)
	if err != nil || len(done) != len(fs) || notDone != nil {
		t.Fatalf("wait: %d, %d, %v", len(done), len(notDone), err)
	}
	if done[3] != fs[3].Untyped() {
		t.Fatal("Untyped is not the future Wait returns")
	}
	it := ok(cfutures.AsCompleted(cfutures.Untyped(fs), cfutures.Forever))
	defer it.Close()
	sum := 0
	for it.Next() {
		sum += ok(fs[it.Index()].Result())
	}
	noErr(t, it.Err())
	if sum != 285 {
		t.Fatalf("sum %d", sum)
	}
	// A done callback sees the typed future.
	got := make(chan int, 1)
	noErr(t, fs[2].AddDoneCallback(func(f *cfutures.TypedFuture[int]) { got <- ok(f.Result()) }))
	if v := <-got; v != 4 {
		t.Fatalf("callback saw %d", v)
	}
	wantIs(t, fs[2].AddDoneCallback(nil), cfutures.ErrInvalidArgument)
}

func TestGenericTimeLimit(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	f := ok(cfutures.SubmitWith(pool, func() (int, error) { b.task(); return 1, nil },
		cfutures.SubmitOptions{TimeLimit: 20 * time.Millisecond}))
	defer f.Close()
	_, err := f.Result()
	wantIs(t, err, cfutures.ErrTimeLimit)
	close(b.release)
}

func TestGenericMap(t *testing.T) {
	pool := threadPool(t, 4)
	const n = 40
	in := make([]int, n)
	for i := range in {
		in[i] = i
	}
	// Later items finish first; the results still come in input order.
	slow := func(i int) (string, error) {
		time.Sleep(time.Duration(n-i) * 50 * time.Microsecond)
		return strconv.Itoa(i * 2), nil
	}
	for _, opts := range []cfutures.MapOptions{{}, {Chunksize: 3}, {Buffersize: 2}, {Chunksize: 4, Buffersize: 1}} {
		it := ok(cfutures.Map(pool, slow, in, opts))
		i := 0
		for it.Next() {
			if it.Value() != strconv.Itoa(i*2) || it.Index() != i {
				t.Fatalf("%+v: result %d is %q (index %d)", opts, i, it.Value(), it.Index())
			}
			i++
		}
		noErr(t, it.Err())
		it.Close()
		if i != n {
			t.Fatalf("%+v: %d results", opts, i)
		}
	}
	// Unordered: every result once; Index says which input it came from.
	it := ok(cfutures.Map(pool, func(p point) (point, error) { return point{p.Y, p.X, p.Tag}, nil },
		[]point{{1, 2, "a"}, {3, 4, "b"}, {5, 6, "c"}}, cfutures.MapOptions{Unordered: true}))
	seen := map[int]point{}
	for it.Next() {
		seen[it.Index()] = it.Value()
	}
	noErr(t, it.Err())
	it.Close()
	if fmt.Sprint(seen) != "map[0:{2 1 a} 1:{4 3 b} 2:{6 5 c}]" {
		t.Fatalf("unordered %v", seen)
	}
	// Nothing to map.
	empty := ok(cfutures.Map(pool, slow, nil, cfutures.MapOptions{}))
	if empty.Next() || empty.Err() != nil || empty.Index() != -1 {
		t.Fatal("an empty map yielded")
	}
	empty.Close()
}

func TestGenericMapFailure(t *testing.T) {
	pool := threadPool(t, 2)
	check := func(i int) (int, error) {
		if i == 5 {
			return 0, errOdd
		}
		if i == 8 {
			panic("eight")
		}
		return i, nil
	}
	in := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	// The results before the failure, including those of its own chunk, then the failure.
	it := ok(cfutures.Map(pool, check, in, cfutures.MapOptions{Chunksize: 3}))
	var got []int
	for it.Next() {
		got = append(got, it.Value())
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" || !errors.Is(it.Err(), errOdd) || !errors.Is(it.Err(), cfutures.ErrTaskFailed) {
		t.Fatalf("got %v, err %v", got, it.Err())
	}
	if it.Next() {
		t.Fatal("Next after the failure")
	}
	it.Close()
	var te *cfutures.TaskError
	it = ok(cfutures.Map(pool, check, in[6:], cfutures.MapOptions{}))
	got = nil
	for it.Next() {
		got = append(got, it.Value())
	}
	if fmt.Sprint(got) != "[6 7]" || !errors.As(it.Err(), &te) || te.Type != "panic" {
		t.Fatalf("got %v, err %v", got, it.Err())
	}
	it.Close()
	// Bad arguments; a process pool refuses closures.
	_, err := cfutures.Map[int, int](pool, nil, in, cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.Map(pool, check, in, cfutures.MapOptions{Buffersize: -1})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.Map(processPool(t, 1), check, in, cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrUnknownTask)
}

func TestGenericMapContext(t *testing.T) {
	pool := threadPool(t, 1)
	itoa := func(i int) (string, error) { return strconv.Itoa(i), nil }
	_, err := cfutures.MapContext(cancelled(), pool, itoa, []int{1}, cfutures.MapOptions{})
	wantCtxErr(t, err, context.Canceled, "MapContext")
	b := newBlocker()
	var ran atomic.Int32
	ctx, cancel := watched(t)
	it := ok(cfutures.MapContext(ctx, pool, func(i int) (int, error) {
		ran.Add(1)
		if i == 1 {
			b.task()
		}
		return i, nil
	}, []int{0, 1, 2, 3}, cfutures.MapOptions{Buffersize: 3}))
	defer it.Close()
	if !it.Next() || it.Value() != 0 {
		t.Fatalf("first %v, %v", it.Value(), it.Err())
	}
	<-b.started
	go func() {
		<-ctx.entered
		cancel()
	}()
	if it.Next() {
		t.Fatal("a result from a blocked task")
	}
	wantCtxErr(t, it.Err(), context.Canceled, "MapContext")
	close(b.release)
	ok(ok(pool.Submit(func() ([]byte, error) { return nil, nil })).Result(cfutures.Forever))
	if n := ran.Load(); n != 2 {
		t.Fatalf("%d items ran", n)
	}
	// A deadline through the context, and the map's own timeout.
	b = newBlocker()
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	block := func(int) (int, error) { b.task(); return 0, nil }
	it = ok(cfutures.MapContext(dctx, pool, block, []int{1}, cfutures.MapOptions{}))
	if it.Next() {
		t.Fatal("a result past the deadline")
	}
	wantIs(t, it.Err(), context.DeadlineExceeded)
	it.Close()
	it = ok(cfutures.MapContext(context.Background(), pool, block, []int{1}, cfutures.MapOptions{Timeout: 10 * time.Millisecond}))
	if it.Next() {
		t.Fatal("a result past the timeout")
	}
	wantIs(t, it.Err(), cfutures.ErrTimeout)
	it.Close()
	close(b.release)
}

// A forgotten typed iterator and typed futures are released by finalizers; no goroutine is left.
func TestGenericNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2}))
	for i := 0; i < 20; i++ {
		f := ok(cfutures.Submit(pool, func() (int, error) { return 1, nil }))
		ok(f.ResultContext(context.Background()))
		it := ok(cfutures.Map(pool, func(i int) (int, error) { return i, nil }, []int{1, 2, 3}, cfutures.MapOptions{}))
		it.Next()
	}
	runtime.GC()
	noErr(t, pool.Close())
	runtime.GC()
	settleGoroutines(t, before)
}
