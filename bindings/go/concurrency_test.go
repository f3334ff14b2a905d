// SPDX-License-Identifier: MIT

package cfutures_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"cfutures"
)

// Many goroutines share one pool and its futures; some futures are never closed and left to the finalizer.
func TestConcurrentUse(t *testing.T) {
	pool := threadPool(t, 4)
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		g := g
		wg.Add(1)
		go func() {
			defer wg.Done()
			fs := make([]*cfutures.Future, each)
			for i := range fs {
				want := fmt.Sprint(g, "/", i)
				f, err := pool.Submit(func() ([]byte, error) { return []byte(want), nil })
				if err != nil {
					errs <- err
					return
				}
				fs[i] = f
			}
			it, err := cfutures.AsCompleted(fs, cfutures.Forever)
			if err != nil {
				errs <- err
				return
			}
			n := 0
			for it.Next() {
				n++
			}
			it.Close()
			for i, f := range fs {
				got, err := f.Result(cfutures.Forever)
				if err != nil || string(got) != fmt.Sprint(g, "/", i) {
					errs <- fmt.Errorf("future %d/%d: %q, %v", g, i, got, err)
					return
				}
				if i%2 == 0 {
					f.Close() // the odd ones are left to the finalizer
				}
			}
			if n != each {
				errs <- fmt.Errorf("as_completed yielded %d of %d", n, each)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	runtime.GC()
	runtime.GC()
}

// Closing an executor while other goroutines submit: each submit either succeeds or is refused cleanly.
func TestCloseWhileSubmitting(t *testing.T) {
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 2}))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				f, err := pool.Submit(func() ([]byte, error) { return []byte("x"), nil })
				if err != nil {
					// Refused: during the shutdown, or after Close freed the pool.
					if !errors.Is(err, cfutures.ErrShutdown) && !errors.Is(err, cfutures.ErrClosed) {
						t.Errorf("submit during close: %v", err)
					}
					return
				}
				if _, err := f.Result(cfutures.Forever); err != nil {
					t.Error(err)
				}
				f.Close()
			}
		}()
	}
	noErr(t, pool.Close())
	wg.Wait()
}
