// SPDX-License-Identifier: MIT

// Package cfutures is the Go binding of libcfutures, Python's concurrent.futures as a C library: futures,
// Wait, AsCompleted, a thread pool that runs Go closures, and a crash-isolated process pool that runs Go
// functions registered by name in worker processes.
//
// A thread pool runs closures:
//
//	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 4})
//	if err != nil { ... }
//	defer pool.Close()
//	f, err := pool.Submit(func() ([]byte, error) { return []byte("hello"), nil })
//	if err != nil { ... }
//	defer f.Close()
//	out, err := f.Result(cfutures.Forever)
//
// A process pool runs functions registered with RegisterTask (in init, so that a worker, which is the same
// program started again, registers them too) and needs WorkerEntry as the first statement of main:
//
//	func init() { cfutures.MustRegisterTask("upper", func(b []byte) ([]byte, error) { return bytes.ToUpper(b), nil }) }
//
//	func main() {
//		cfutures.WorkerEntry() // in a spawned worker: serves tasks and never returns
//		pool, err := cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxWorkers: 2})
//		...
//		f, err := pool.SubmitNamed("upper", []byte("hello"))
//	}
//
// Values that cross the library are byte slices in both directions; results are copied into Go memory. The
// generic Submit[T] and Map[T, R] run Go functions in this process on a thread pool and keep their values as
// they are (TypedFuture, TypedMapIter):
//
//	f, err := cfutures.Submit(pool, func() (int, error) { return 6 * 7, nil })
//	...
//	n, err := f.Result() // 42
//
// Futures compose without waiting: Future.Then (and the generic Then) runs a step on a pool once a future
// succeeds, ThenNamed a registered task (on a process pool too), WhenAll and WhenAny join several futures:
//
//	parsed, err := page.ThenNamed(procs, "parse")
//	...
//	first, err := cfutures.WhenAny([]*cfutures.Future{a, b})
//	...
//	i, err := first.Index(cfutures.Forever) // which was done first
//
// Every blocking call has a form that takes a context.Context (Future.ResultContext, WaitContext,
// AsCompletedContext, Executor.MapContext, Executor.ShutdownContext, Executor.SubmitNamedContext, ...). When
// the context ends, the call returns an error for which errors.Is(err, context.Canceled) or
// errors.Is(err, context.DeadlineExceeded) holds; only the wait ends, never the future (call Cancel for that),
// except that a map cancels its chunks not started. Such waits block no goroutine in C and leave nothing behind.
//
// Errors support errors.Is against the sentinels (ErrTimeout, ErrCancelled, ErrBrokenProcessPool, ...) and
// errors.As to *Error and *TaskError.
//
// Every handle (Executor, Future, MapIter, CompletedIter) should be closed with Close once it is no longer
// needed; a finalizer releases what was forgotten, but only at the garbage collector's pace.
package cfutures

/*
#cgo pkg-config: cfutures
#include <stdlib.h>
#include "cfgo.h"
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"
)

// Forever, as a timeout, waits without limit. Any negative duration does the same.
const Forever time.Duration = -1

// Version is the version of the libcfutures library actually loaded, e.g. "0.1.0".
func Version() string { return C.GoString(C.cf_version_string()) }

// seconds converts a timeout to the library's convention: negative waits without limit, 0 does not wait.
func seconds(d time.Duration) C.double {
	if d < 0 {
		return C.CF_FOREVER
	}
	return C.double(d.Seconds())
}

// guard owns one C handle: any number of goroutines may use the handle at once, and it is freed exactly once,
// when it has been closed and its last user is done (the C API forbids freeing a handle another thread still
// uses). Closing never waits: the last user frees.
type guard[T any] struct {
	mu     sync.Mutex
	p      *T
	users  int
	closed bool
	free   func(*T)
}

func newGuard[T any](p *T, free func(*T)) *guard[T] { return &guard[T]{p: p, free: free} }

// acquire returns the handle for one use, to be ended with release; an ErrClosed error once closed.
func (g *guard[T]) acquire(op string) (*T, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, closedError(op)
	}
	g.users++
	return g.p, nil
}

func (g *guard[T]) release() {
	g.mu.Lock()
	g.users--
	p := g.detachLocked()
	g.mu.Unlock()
	if p != nil {
		g.free(p)
	}
}

// close marks the handle closed and frees it unless it is in use; it reports whether this call closed it.
func (g *guard[T]) close() bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.closed = true
	p := g.detachLocked()
	g.mu.Unlock()
	if p != nil {
		g.free(p)
	}
	return true
}

func (g *guard[T]) detachLocked() *T {
	if !g.closed || g.users > 0 || g.p == nil {
		return nil
	}
	p := g.p
	g.p = nil
	return p
}

// beginNext starts an iterator's Next: it takes the handle for the call, to be ended with release. It reports
// false, taking nothing, when the iteration has already stopped (*stopped is set) or when the handle cannot be
// taken (closed), which then becomes *stopped.
func beginNext[T any](g *guard[T], op string, stopped *error) (*T, bool) {
	if *stopped != nil {
		return nil, false
	}
	p, err := g.acquire(op)
	if err != nil {
		*stopped = err
		return nil, false
	}
	return p, true
}

// goError turns a C error text captured by a wrapper into a Go string and frees it.
func goError(msg *C.char) string {
	if msg == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(msg))
	return C.GoString(msg)
}
