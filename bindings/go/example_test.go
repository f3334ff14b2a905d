// SPDX-License-Identifier: MIT

package cfutures_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cfutures"
)

// Submit runs a Go function on a thread pool and keeps its result a Go value.
func ExampleSubmit() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	type stats struct {
		Words int
		Upper string
	}
	text := "the quick brown fox"
	f, err := cfutures.Submit(pool, func() (stats, error) {
		return stats{Words: len(strings.Fields(text)), Upper: strings.ToUpper(text)}, nil
	})
	if err != nil {
		panic(err)
	}
	defer f.Close()
	s, err := f.Result()
	fmt.Println(s.Words, s.Upper, err)
	// Output: 4 THE QUICK BROWN FOX <nil>
}

// The error a task returns comes back wrapped in a *TaskError: errors.Is and errors.As reach it.
func ExampleSubmit_error() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	errNotFound := errors.New("not found")
	f, err := cfutures.Submit(pool, func() (int, error) { return 0, errNotFound })
	if err != nil {
		panic(err)
	}
	defer f.Close()
	_, err = f.Result()
	fmt.Println(errors.Is(err, errNotFound), errors.Is(err, cfutures.ErrTaskFailed))
	// Output: true true
}

// Map runs a function over typed inputs; the results come in input order.
func ExampleMap() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 4})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	square := func(n int) (int, error) { return n * n, nil }
	it, err := cfutures.Map(pool, square, []int{1, 2, 3, 4, 5}, cfutures.MapOptions{Chunksize: 2})
	if err != nil {
		panic(err)
	}
	defer it.Close()
	for it.Next() {
		fmt.Print(it.Value(), " ")
	}
	fmt.Println(it.Err())
	// Output: 1 4 9 16 25 <nil>
}

// A context bounds a wait; when it ends, the wait gives up and the task goes on.
func ExampleTypedFuture_ResultContext() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	release := make(chan struct{})
	f, err := cfutures.Submit(pool, func() (string, error) {
		<-release
		return "finished", nil
	})
	if err != nil {
		panic(err)
	}
	defer f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = f.ResultContext(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded), f.Cancelled())

	close(release)
	fmt.Println(f.Result())
	// Output:
	// true false
	// finished <nil>
}

// Future.ResultContext is Future.Result with a context instead of a timeout.
func ExampleFuture_ResultContext() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	f, err := pool.SubmitContext(context.Background(), func() ([]byte, error) { return []byte("hello"), nil })
	if err != nil {
		panic(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := f.ResultContext(ctx)
	fmt.Println(string(b), err)
	// Output: hello <nil>
}

// WaitContext waits for a condition over futures, or until the context ends.
func ExampleWaitContext() {
	fs := make([]*cfutures.Future, 3)
	for i := range fs {
		fs[i], _ = cfutures.NewFuture()
		defer fs[i].Close()
	}
	_ = fs[1].SetResult([]byte("one"))

	done, notDone, err := cfutures.WaitContext(context.Background(), fs, cfutures.FirstCompleted)
	fmt.Println(len(done), len(notDone), done[0] == fs[1], err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, notDone, err = cfutures.WaitContext(ctx, fs, cfutures.AllCompleted)
	fmt.Println(len(notDone), errors.Is(err, context.Canceled))
	// Output:
	// 1 2 true <nil>
	// 2 true
}

// AsCompletedContext yields futures as they complete; Index finds the typed future behind each.
func ExampleAsCompletedContext() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	words := []string{"alpha", "beta", "gamma"}
	fs := make([]*cfutures.TypedFuture[int], len(words))
	for i, w := range words {
		w := w
		if fs[i], err = cfutures.Submit(pool, func() (int, error) { return len(w), nil }); err != nil {
			panic(err)
		}
		defer fs[i].Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it, err := cfutures.AsCompletedContext(ctx, cfutures.Untyped(fs))
	if err != nil {
		panic(err)
	}
	defer it.Close()
	lengths := make(map[string]int)
	for it.Next() {
		n, _ := fs[it.Index()].Result()
		lengths[words[it.Index()]] = n
	}
	fmt.Println(lengths, it.Err())
	// Output: map[alpha:5 beta:4 gamma:5] <nil>
}

// MapContext is Map with a context that ends the iteration.
func ExampleExecutor_MapContext() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	upper := func(b []byte) ([]byte, error) { return []byte(strings.ToUpper(string(b))), nil }
	inputs := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it, err := pool.MapContext(ctx, upper, inputs, cfutures.MapOptions{})
	if err != nil {
		panic(err)
	}
	defer it.Close()
	for it.Next() {
		fmt.Print(string(it.Value()))
	}
	fmt.Println(" ", it.Err())
	// Output: ABC  <nil>
}

// ShutdownContext shuts a pool down and waits for its tasks, or until the context ends.
func ExampleExecutor_ShutdownContext() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	release := make(chan struct{})
	f, err := cfutures.Submit(pool, func() (bool, error) { <-release; return true, nil })
	if err != nil {
		panic(err)
	}
	defer f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err = pool.ShutdownContext(ctx, false) // gives up waiting; the pool stays shut down
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	_, err = pool.Submit(func() ([]byte, error) { return nil, nil })
	fmt.Println(errors.Is(err, cfutures.ErrShutdown))

	close(release)
	fmt.Println(pool.ShutdownContext(context.Background(), false), f.Done())
	// Output:
	// true
	// true
	// <nil> true
}

// Then chains a step to a future: it runs on a pool with the future's result bytes once the future succeeds,
// and nothing waits meanwhile. A failure passes along the chain without running the steps after it.
func ExampleFuture_Then() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	fetch, err := pool.Submit(func() ([]byte, error) { return []byte("the quick brown fox"), nil })
	if err != nil {
		panic(err)
	}
	defer fetch.Close()
	upper, err := fetch.Then(pool, func(b []byte) ([]byte, error) { return []byte(strings.ToUpper(string(b))), nil })
	if err != nil {
		panic(err)
	}
	defer upper.Close()
	count, err := upper.Then(pool, func(b []byte) ([]byte, error) {
		return []byte(fmt.Sprintf("%s (%d words)", b, len(strings.Fields(string(b))))), nil
	})
	if err != nil {
		panic(err)
	}
	defer count.Close()
	out, err := count.Result(cfutures.Forever)
	fmt.Println(string(out), err)

	errMissing := errors.New("missing")
	failed, err := pool.Submit(func() ([]byte, error) { return nil, errMissing })
	if err != nil {
		panic(err)
	}
	defer failed.Close()
	next, err := failed.Then(pool, func(b []byte) ([]byte, error) { panic("not reached") })
	if err != nil {
		panic(err)
	}
	defer next.Close()
	_, err = next.Result(cfutures.Forever)
	fmt.Println(errors.Is(err, errMissing))
	// Output:
	// THE QUICK BROWN FOX (4 words) <nil>
	// true
}

// The generic Then keeps the values of in-process steps as Go values.
func ExampleThen() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	words, err := cfutures.Submit(pool, func() ([]string, error) { return strings.Fields("to be or not to be"), nil })
	if err != nil {
		panic(err)
	}
	defer words.Close()
	counts, err := cfutures.Then(words, pool, func(ws []string) (map[string]int, error) {
		m := map[string]int{}
		for _, w := range ws {
			m[w]++
		}
		return m, nil
	})
	if err != nil {
		panic(err)
	}
	defer counts.Close()
	m, err := counts.Result()
	fmt.Println(m["to"], m["be"], m["or"], err)
	// Output: 2 2 1 <nil>
}

// WhenAll is done when every future is; WhenAny when the first is, and Index says which.
func ExampleWhenAny() {
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	never, err := cfutures.NewFuture() // stands for work that has not ended
	if err != nil {
		panic(err)
	}
	defer never.Close()
	quick, err := pool.Submit(func() ([]byte, error) { return []byte("quick"), nil })
	if err != nil {
		panic(err)
	}
	defer quick.Close()

	first, err := cfutures.WhenAny([]*cfutures.Future{never, quick})
	if err != nil {
		panic(err)
	}
	defer first.Close()
	i, err := first.Index(cfutures.Forever)
	fmt.Println(i, err)

	all, err := cfutures.WhenAll([]*cfutures.Future{never, quick})
	if err != nil {
		panic(err)
	}
	defer all.Close()
	fmt.Println(all.Done())
	if err := never.SetResult(nil); err != nil {
		panic(err)
	}
	_, err = all.Result(cfutures.Forever)
	fmt.Println(err)
	// Output:
	// 1 <nil>
	// false
	// <nil>
}
