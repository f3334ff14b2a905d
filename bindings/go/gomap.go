// SPDX-License-Identifier: MIT

package cfutures

// Maps whose waits end with a context: Executor.MapContext, Executor.MapNamedContext, Map[T, R] and
// MapContext[T, R]. The library's map (cf_map_next) waits in C and cannot be interrupted, so these maps are run
// by this package over futures it submits itself, one per chunk, with the same options (MapOptions) and the
// same rules: results in input order unless Unordered, at most Buffersize chunks in flight, the first failure
// ends the iteration, and the chunks not started are cancelled when the iteration ends early or the iterator is
// closed. Their waits are those of WaitContext (see context.go).

/*
#include "cfgo.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// goMap is the state of one such map; R is the type of its results.
type goMap[R any] struct {
	op         string
	ctx        context.Context
	closed     <-chan struct{} // closed by the iterator's Close
	chunk      int             // items per chunk; chunk k starts at input k*chunk
	nChunks    int
	buffersize int
	unordered  bool
	// submit starts chunk k; collect gives the results of chunk k, done, and the failure that ends it if any.
	submit  func(ctx context.Context, k int) (*Future, error)
	collect func(k int, f *Future, p *C.cf_future) ([]R, error)

	fs        []*Future      // the chunks in flight (nil once collected)
	ps        []*C.cf_future // their acquired handles
	w         *waitSet
	timer     *time.Timer
	submitted int
	consumed  int
	ready     map[int]bool // chunks done and not collected yet (in input order)
	queue     []int        // the same, in completion order (Unordered)
	submitErr error        // a failed submit: the iteration ends with it after the chunks submitted before

	vals     []R   // results of the chunk being yielded
	valsAt   int   // the input index of vals[0]
	valsErr  error // the failure that follows vals
	cur      R
	curIndex int
	err      error
	finished bool
	released bool
}

// newGoMap starts a map of n items, submitting its first chunks. It fails, cancelling what it submitted, when one
// of those submits fails (all of them with Buffersize 0), as the library's map does.
func newGoMap[R any](ctx context.Context, op string, n int, opts MapOptions, closed <-chan struct{},
	submit func(ctx context.Context, k int) (*Future, error),
	collect func(k int, f *Future, p *C.cf_future) ([]R, error)) (*goMap[R], error) {
	chunk := opts.Chunksize
	if chunk == 0 {
		chunk = 1
	}
	m := &goMap[R]{op: op, ctx: ctx, closed: closed, chunk: chunk, nChunks: (n + chunk - 1) / chunk,
		buffersize: opts.Buffersize, unordered: opts.Unordered, submit: submit, collect: collect,
		ready: make(map[int]bool), curIndex: -1}
	m.fs = make([]*Future, m.nChunks)
	m.ps = make([]*C.cf_future, m.nChunks)
	m.w = newWaitSet(m.nChunks)
	if opts.Timeout > 0 {
		m.timer = time.NewTimer(opts.Timeout)
	}
	m.fill()
	if m.submitErr != nil {
		m.release()
		return nil, m.submitErr
	}
	return m, nil
}

// fill submits chunks while Buffersize allows.
func (m *goMap[R]) fill() {
	for m.submitErr == nil && m.submitted < m.nChunks && (m.buffersize == 0 || m.submitted-m.consumed < m.buffersize) {
		k := m.submitted
		f, err := m.submit(m.ctx, k)
		if err != nil {
			m.submitErr = err
			return
		}
		p, err := f.g.acquire(m.op)
		if err == nil {
			if err = m.w.add(m.op, f, p, k); err != nil {
				f.g.release()
			}
		}
		if err != nil {
			f.Cancel()
			f.Close()
			m.submitErr = err
			return
		}
		m.fs[k], m.ps[k] = f, p
		m.submitted++
	}
}

// release cancels and lets go of the chunks not collected; the iteration is over.
func (m *goMap[R]) release() {
	if m.released {
		return
	}
	m.released = true
	m.w.close()
	if m.timer != nil {
		m.timer.Stop()
	}
	for k, f := range m.fs {
		if f == nil {
			continue
		}
		f.Cancel()
		f.g.release()
		f.Close()
		m.fs[k], m.ps[k] = nil, nil
	}
	m.vals = nil
}

func (m *goMap[R]) fail(err error) bool {
	m.err = err
	m.release()
	return false
}

// next is the iterator's Next.
func (m *goMap[R]) next() bool {
	var zero R
	m.cur, m.curIndex = zero, -1
	for {
		if m.err != nil || m.finished {
			return false
		}
		if err := m.ctx.Err(); err != nil {
			return m.fail(contextError(m.op, err))
		}
		if len(m.vals) > 0 {
			m.cur, m.curIndex = m.vals[0], m.valsAt
			m.vals[0] = zero
			m.vals, m.valsAt = m.vals[1:], m.valsAt+1
			return true
		}
		if m.valsErr != nil {
			return m.fail(m.valsErr)
		}
		if m.consumed == m.submitted {
			if m.submitErr != nil {
				return m.fail(m.submitErr)
			}
			m.finished = true
			m.release()
			return false
		}
		k, err := m.nextDone()
		if err != nil {
			if errors.Is(err, errTimedOut) {
				err = &Error{Status: StatusTimeout, Op: m.op, Message: "the map's timeout ran out"}
			}
			return m.fail(err)
		}
		f, p := m.fs[k], m.ps[k]
		m.vals, m.valsErr = m.collect(k, f, p)
		m.valsAt = k * m.chunk
		m.fs[k], m.ps[k] = nil, nil
		f.g.release()
		f.Close()
		m.consumed++
		m.fill()
	}
}

// nextDone waits for the next chunk to collect: the next in input order, or any with Unordered.
func (m *goMap[R]) nextDone() (int, error) {
	var stop waitStop
	stop.closed = m.closed
	if m.timer != nil {
		stop.timeout = m.timer.C
	}
	for {
		if m.unordered && len(m.queue) > 0 {
			k := m.queue[0]
			m.queue = m.queue[1:]
			delete(m.ready, k)
			return k, nil
		}
		if !m.unordered && m.ready[m.consumed] {
			delete(m.ready, m.consumed)
			return m.consumed, nil
		}
		k, err := m.w.next(m.ctx, m.op, stop)
		if err != nil {
			return -1, err
		}
		m.ready[k] = true
		if m.unordered {
			m.queue = append(m.queue, k)
		}
	}
}

// goMapIter is what MapIter and TypedMapIter hold of a goMap.
type goMapIter[R any] struct {
	m    *goMap[R]
	g    *guard[goMap[R]] // frees: releases the map
	stop chan struct{}    // closed by Close, to end a waiting Next
}

func newGoMapIter[R any](m *goMap[R], stop chan struct{}) *goMapIter[R] {
	return &goMapIter[R]{m: m, g: newGuard(m, (*goMap[R]).release), stop: stop}
}

func (it *goMapIter[R]) next(op string) bool {
	m, ok := beginNext(it.g, op, &it.m.err)
	if !ok {
		var zero R
		it.m.cur, it.m.curIndex = zero, -1
		return false
	}
	defer it.g.release()
	return m.next()
}

func (it *goMapIter[R]) close() {
	if it.g.close() {
		close(it.stop)
	}
}

func checkMapArgs(op string, e *Executor, fnNil bool, opts MapOptions) error {
	switch {
	case e == nil:
		return invalid(op, "executor is nil")
	case fnNil:
		return invalid(op, "map function is nil")
	case opts.Chunksize < 0 || opts.Buffersize < 0:
		return invalid(op, "Chunksize and Buffersize must not be negative")
	}
	return nil
}

// chunkCell holds one chunk's results in Go memory: written by its task, read once its future is done.
type chunkCell[R any] struct {
	vals []R
	n    int // how many items succeeded
}

// mapClosures runs fn over inputs in chunks of Go closures on a thread pool.
func mapClosures[T, R any](ctx context.Context, op string, e *Executor, fn func(T) (R, error), inputs []T,
	opts MapOptions, closed <-chan struct{}) (*goMap[R], error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(op, err)
	}
	if err := checkMapArgs(op, e, fn == nil, opts); err != nil {
		return nil, err
	}
	in := append([]T(nil), inputs...)
	chunk := opts.Chunksize
	if chunk == 0 {
		chunk = 1
	}
	cells := make([]*chunkCell[R], (len(in)+chunk-1)/chunk)
	submit := func(ctx context.Context, k int) (*Future, error) {
		lo, hi := k*chunk, (k+1)*chunk
		if hi > len(in) {
			hi = len(in)
		}
		cell := &chunkCell[R]{vals: make([]R, hi-lo)}
		cells[k] = cell
		return e.submit(op, func() ([]byte, error) {
			for i := lo; i < hi; i++ {
				v, err := fn(in[i])
				if err != nil {
					return nil, err
				}
				cell.vals[i-lo] = v
				cell.n++
			}
			return nil, nil
		}, SubmitOptions{})
	}
	collect := func(k int, f *Future, p *C.cf_future) ([]R, error) {
		cell := cells[k]
		cells[k] = nil
		_, err := f.result(op, p, 0)
		if err == nil {
			return cell.vals, nil
		}
		var te *TaskError
		if errors.As(err, &te) { // the task has returned (ordered by f.joined): its first items are good
			return cell.vals[:cell.n], err
		}
		return nil, err // cancelled, past a time limit, a broken pool...: the task may still run
	}
	return newGoMap(ctx, op, len(in), opts, closed, submit, collect)
}

// MapContext is Map with a context: when ctx ends, Next returns false and Err is a context error
// (errors.Is(err, context.Canceled) or context.DeadlineExceeded), and the chunks not started are cancelled, as
// after any failure. A ctx that has ended already is returned as the error of this call. Unlike Map, it runs
// the map itself over futures of the pool (the library's map cannot stop waiting), and the results stay in Go
// memory. Close, from any goroutine, also ends a Next that waits (its Err is then ErrClosed).
func (e *Executor) MapContext(ctx context.Context, fn func([]byte) ([]byte, error), inputs [][]byte, opts MapOptions) (*MapIter, error) {
	const op = "Executor.MapContext"
	in := make([][]byte, len(inputs))
	for i, b := range inputs {
		in[i] = append([]byte{}, b...)
	}
	stop := make(chan struct{})
	m, err := mapClosures(ctx, op, e, fn, in, opts, stop)
	if err != nil {
		return nil, err
	}
	return newGoMapIterOf(m, stop), nil
}

// MapNamedContext is MapNamed with a context, as MapContext is to Map: it runs the map over SubmitNamedContext,
// one task per input: Chunksize is ignored (each input crosses to a worker on its own). It reaches tasks
// registered from C too.
func (e *Executor) MapNamedContext(ctx context.Context, name string, inputs [][]byte, opts MapOptions) (*MapIter, error) {
	const op = "Executor.MapNamedContext"
	if err := ctx.Err(); err != nil {
		return nil, contextError(op, err)
	}
	if err := checkMapArgs(op, e, false, opts); err != nil {
		return nil, err
	}
	in := make([][]byte, len(inputs))
	for i, b := range inputs {
		in[i] = append([]byte{}, b...)
	}
	opts.Chunksize = 1
	submit := func(ctx context.Context, k int) (*Future, error) {
		return e.submitNamedContext(ctx, op, name, in[k], SubmitOptions{})
	}
	collect := func(k int, f *Future, p *C.cf_future) ([][]byte, error) {
		b, err := f.result(op, p, 0)
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	stop := make(chan struct{})
	m, err := newGoMap(ctx, op, len(in), opts, stop, submit, collect)
	if err != nil {
		return nil, err
	}
	return newGoMapIterOf(m, stop), nil
}

func newGoMapIterOf(m *goMap[[]byte], stop chan struct{}) *MapIter {
	mi := &MapIter{gm: newGoMapIter(m, stop)}
	runtime.SetFinalizer(mi, (*MapIter).Close)
	return mi
}

// TypedMapIter yields the results of Map[T, R] or MapContext[T, R]. One goroutine at a time may use it, except
// that Close may come from any goroutine.
type TypedMapIter[R any] struct {
	it *goMapIter[R]
}

// Map runs fn over each input on a thread pool, Chunksize inputs per task, and returns an iterator over the
// results: Go values, never encoded to bytes. It is the generic form of Executor.Map, with the same options and
// rules: results in input order unless opts.Unordered (Index then says which input each came from), the first
// failure (a *TaskError wrapping fn's error or panic, ErrTimeout past opts.Timeout, ...) ends the iteration
// after the results before it, and the chunks not started are then cancelled, as they are by Close. The slice
// of inputs is copied (not the values in it).
func Map[T, R any](e *Executor, fn func(T) (R, error), inputs []T, opts MapOptions) (*TypedMapIter[R], error) {
	return MapContext(context.Background(), e, fn, inputs, opts)
}

// MapContext is Map with a context: when ctx ends, Next returns false and Err is a context error
// (errors.Is(err, context.Canceled) or context.DeadlineExceeded), and the chunks not started are cancelled. A
// ctx that has ended already is returned as the error of this call.
func MapContext[T, R any](ctx context.Context, e *Executor, fn func(T) (R, error), inputs []T, opts MapOptions) (*TypedMapIter[R], error) {
	stop := make(chan struct{})
	m, err := mapClosures(ctx, "MapContext", e, fn, inputs, opts, stop)
	if err != nil {
		return nil, err
	}
	t := &TypedMapIter[R]{it: newGoMapIter(m, stop)}
	runtime.SetFinalizer(t, (*TypedMapIter[R]).Close)
	return t, nil
}

// Next waits for the next result and reports whether there is one.
func (t *TypedMapIter[R]) Next() bool { return t.it.next("TypedMapIter.Next") }

// Value is the result Next found.
func (t *TypedMapIter[R]) Value() R { return t.it.m.cur }

// Index is the position in the inputs of the result Next found, or -1 when Next found none.
func (t *TypedMapIter[R]) Index() int { return t.it.m.curIndex }

// Err is why the iteration stopped early, or nil when every result was yielded.
func (t *TypedMapIter[R]) Err() error { return t.it.m.err }

// Close cancels the chunks not started yet and lets go of the rest. Idempotent.
func (t *TypedMapIter[R]) Close() error {
	runtime.SetFinalizer(t, nil)
	t.it.close()
	return nil
}
