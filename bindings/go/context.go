// SPDX-License-Identifier: MIT

package cfutures

// Waiting with a context.Context. The library's own waits take a timeout and cannot be interrupted, so a wait
// with a context does not block in C: each future has a doneNotifier, armed once (one done-callback in the
// library per future, however many waits come and go), and a wait subscribes to the notifiers of its futures
// and selects on their events and ctx.Done(). Nothing is left behind when the wait is abandoned: no goroutine,
// and no callback beyond the future's one, which goes with the future.
//
// Inside a thread-pool task the calling goroutine holds the worker's thread, and the library's waits there run
// queued tasks meanwhile (a task waiting for a task queued behind it on a one-thread pool would otherwise never
// finish). There a wait with a context waits in the library in short slices and looks at ctx between them.

/*
#include "cfgo.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"time"
)

// inTaskSlice bounds each wait in the library made inside a thread-pool task on behalf of a wait with a
// context: how late such a wait can notice that its context ended.
const inTaskSlice = 10 * time.Millisecond

// contextError is the error of a call whose context ended: errors.Is(err, context.Canceled) or
// errors.Is(err, context.DeadlineExceeded) holds for it.
func contextError(op string, err error) error { return fmt.Errorf("cfutures: %s: %w", op, err) }

// doneNotifier learns from the library when its future is done and tells the waits subscribed to it. It is
// reached from C through a cgo.Handle that refers to it alone (not to the Future), so that a forgotten Future
// can still be finalized; the library releases the handle once the future is done or freed.
type doneNotifier struct {
	arm    sync.Once
	armErr error

	mu   sync.Mutex
	done bool
	subs map[chan<- int]int // subscribed waits: each is sent its index once, when the future is done
}

// fire runs (from the library's done-callback) once the future is done.
func (n *doneNotifier) fire() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done {
		return
	}
	n.done = true
	for c, i := range n.subs {
		select {
		case c <- i: // the channel has room for every future of its wait
		default:
		}
	}
	n.subs = nil
}

// subscribe asks for i on c once the future is done; it reports true, subscribing nothing, when it is done.
func (n *doneNotifier) subscribe(c chan<- int, i int) (done bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done {
		return true
	}
	if n.subs == nil {
		n.subs = make(map[chan<- int]int)
	}
	n.subs[c] = i
	return false
}

func (n *doneNotifier) unsubscribe(c chan<- int) {
	n.mu.Lock()
	delete(n.subs, c)
	n.mu.Unlock()
}

// armNotifier registers the future's done-callback with the library, once; p is the future's acquired handle.
func (f *Future) armNotifier(op string, p *C.cf_future) error {
	n := f.n
	n.arm.Do(func() {
		h := cgo.NewHandle(n)
		var msg *C.char
		// On failure the library has released the handle already (cf_future_add_done_callback_ex).
		if rc := C.cfgo_future_add_done_notify(p, C.uintptr_t(h), &msg); rc != C.CF_OK {
			n.armErr = callError(op, rc, msg)
		}
	})
	return n.armErr
}

// waitSet is one wait with a context over a set of futures: next yields each future's index once it is done,
// once. close unsubscribes from every notifier.
type waitSet struct {
	events    chan int
	subs      []*doneNotifier
	pending   map[int]*C.cf_future // added and not yielded yet (their acquired handles)
	delivered map[int]bool         // yielded already: a late event for them is dropped
}

func newWaitSet(capacity int) *waitSet {
	return &waitSet{events: make(chan int, capacity), pending: make(map[int]*C.cf_future), delivered: make(map[int]bool)}
}

// add subscribes to f (p: its acquired handle, which must stay acquired while the wait set is used), which
// reports i; when f is done already, i is queued at once. At most the capacity given to newWaitSet futures may
// be added, each with an index of its own.
func (w *waitSet) add(op string, f *Future, p *C.cf_future, i int) error {
	if err := f.armNotifier(op, p); err != nil {
		return err
	}
	w.pending[i] = p
	if f.n.subscribe(w.events, i) {
		w.events <- i
		return nil
	}
	w.subs = append(w.subs, f.n)
	return nil
}

func (w *waitSet) close() {
	for _, n := range w.subs {
		n.unsubscribe(w.events)
	}
	w.subs = nil
}

// deliver marks i yielded; it reports false when it was already (a late event).
func (w *waitSet) deliver(i int) bool {
	if w.delivered[i] {
		return false
	}
	w.delivered[i] = true
	delete(w.pending, i)
	return true
}

// waitStop are the other ways a wait can end besides its context: a closed iterator, a map's own timeout.
// Either may be nil.
type waitStop struct {
	closed  <-chan struct{}
	timeout <-chan time.Time
}

// errTimedOut is what next returns when waitStop.timeout fires; the caller words the error.
var errTimedOut = fmt.Errorf("timed out")

// next waits for the next future done and returns its index; or the end of ctx (a contextError), or one of
// stop's channels (closedError(op), or errTimedOut). Inside a thread-pool task it waits in the library (see the
// top of this file).
func (w *waitSet) next(ctx context.Context, op string, stop waitStop) (int, error) {
	for {
		select {
		case i := <-w.events:
			if w.deliver(i) {
				return i, nil
			}
			continue
		default:
		}
		if err := ctx.Err(); err != nil {
			return -1, contextError(op, err)
		}
		select {
		case <-stop.closed:
			return -1, closedError(op)
		case <-stop.timeout:
			return -1, errTimedOut
		default:
		}
		if len(w.pending) == 0 {
			return -1, invalid(op, "nothing to wait for") // not reached: callers know what they added
		}
		if C.cf_task_current() != nil {
			if i, err := w.waitInTask(ctx, op, stop); i >= 0 || err != nil {
				return i, err
			}
			continue
		}
		select {
		case i := <-w.events:
			if w.deliver(i) {
				return i, nil
			}
		case <-ctx.Done():
			return -1, contextError(op, ctx.Err())
		case <-stop.closed:
			return -1, closedError(op)
		case <-stop.timeout:
			return -1, errTimedOut
		}
	}
}

// waitInTask waits in the library, at most inTaskSlice when something else can end the wait, for one of the
// pending futures; it returns the index of one that is done (its event, which may still be on its way, is then
// dropped), or -1.
func (w *waitSet) waitInTask(ctx context.Context, op string, stop waitStop) (int, error) {
	idx := make([]int, 0, len(w.pending))
	ps := make([]*C.cf_future, 0, len(w.pending))
	for i, p := range w.pending {
		idx, ps = append(idx, i), append(ps, p)
	}
	timeout := C.double(inTaskSlice.Seconds())
	if ctx.Done() == nil && stop.closed == nil && stop.timeout == nil {
		timeout = C.CF_FOREVER // nothing else can end it: the library may also detect a deadlock
	}
	var msg *C.char
	switch rc := C.cfgo_wait(&ps[0], C.size_t(len(ps)), timeout, C.CF_FIRST_COMPLETED, nil, &msg); rc {
	case C.CF_OK:
		for j, p := range ps {
			if C.cf_future_done(p) == 1 && w.deliver(idx[j]) {
				return idx[j], nil
			}
		}
		return -1, nil
	case C.CF_E_TIMEOUT:
		goError(msg)
		return -1, nil
	default:
		return -1, callError(op, rc, msg)
	}
}

// awaitDone waits until the future (p: its acquired handle) is done or ctx ends. A ctx that has ended already
// ends the wait at once, even for a done future.
func (f *Future) awaitDone(ctx context.Context, op string, p *C.cf_future) error {
	if err := ctx.Err(); err != nil {
		return contextError(op, err)
	}
	if C.cf_future_done(p) == 1 {
		return nil
	}
	w := newWaitSet(1)
	defer w.close()
	if err := w.add(op, f, p, 0); err != nil {
		return err
	}
	_, err := w.next(ctx, op, waitStop{})
	return err
}

// ResultContext is Result with a context instead of a timeout: it waits until the future is done or ctx ends.
// When ctx ends first (or has ended already) it returns an error for which errors.Is(err, context.Canceled) or
// errors.Is(err, context.DeadlineExceeded) holds. Abandoning the wait does not cancel the future, whose task
// goes on; call Cancel for that. Otherwise it returns what Result returns.
func (f *Future) ResultContext(ctx context.Context) ([]byte, error) {
	return f.resultContext(ctx, "Future.ResultContext")
}

func (f *Future) resultContext(ctx context.Context, op string) ([]byte, error) {
	p, err := f.g.acquire(op)
	if err != nil {
		return nil, err
	}
	defer f.g.release()
	if err := f.awaitDone(ctx, op, p); err != nil {
		return nil, err
	}
	return f.result(op, p, Forever) // done: does not wait
}

// ExceptionContext is Exception with a context instead of a timeout: the task's failure (nil when it
// succeeded), then the failure of the wait itself: ErrCancelled, or a context error when ctx ends first (the
// future is not cancelled).
func (f *Future) ExceptionContext(ctx context.Context) (failure error, err error) {
	const op = "Future.ExceptionContext"
	p, err := f.g.acquire(op)
	if err != nil {
		return nil, err
	}
	defer f.g.release()
	if err := f.awaitDone(ctx, op, p); err != nil {
		return nil, err
	}
	return f.exception(op, p, Forever)
}

// WaitContext is Wait with a context instead of a timeout: it waits until the condition holds for fs or ctx
// ends, and splits fs into the done futures and the others, in input order. When ctx ends first (or has ended
// already) it returns a context error together with the split as it stands then; no future is cancelled.
func WaitContext(ctx context.Context, fs []*Future, when ReturnWhen) (done, notDone []*Future, err error) {
	const op = "WaitContext"
	if when != AllCompleted && when != FirstCompleted && when != FirstException {
		return nil, nil, invalid(op, "when is not a ReturnWhen")
	}
	ps, release, err := acquireAll(op, fs)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	// split asks the library whether the condition holds now (without waiting) and splits fs.
	split := func() (bool, error) {
		done, notDone = nil, nil
		flags := make([]C.uchar, len(fs))
		var cps **C.cf_future
		var cflags *C.uchar
		if len(fs) > 0 {
			cps, cflags = &ps[0], &flags[0]
		}
		var msg *C.char
		rc := C.cfgo_wait(cps, C.size_t(len(ps)), 0, C.int(when), cflags, &msg)
		if rc != C.CF_OK && rc != C.CF_E_TIMEOUT {
			return false, callError(op, rc, msg)
		}
		goError(msg)
		for i, f := range fs {
			if flags[i] != 0 {
				f.joined()
				done = append(done, f)
			} else {
				notDone = append(notDone, f)
			}
		}
		return rc == C.CF_OK, nil
	}
	holds, err := split()
	if err != nil {
		return nil, nil, err
	}
	if cerr := ctx.Err(); cerr != nil {
		return done, notDone, contextError(op, cerr)
	}
	if holds {
		return done, notDone, nil
	}

	// Subscribe to each distinct future; the events then say which are done.
	first := make(map[*C.cf_future]int, len(ps))
	for i, p := range ps {
		if _, ok := first[p]; !ok {
			first[p] = i
		}
	}
	w := newWaitSet(len(first))
	defer w.close()
	for p, i := range first {
		if err := w.add(op, fs[i], p, i); err != nil {
			return nil, nil, err
		}
	}
	remaining := len(first)
	for {
		i, werr := w.next(ctx, op, waitStop{})
		if werr != nil {
			if _, err := split(); err != nil {
				return nil, nil, err
			}
			return done, notDone, werr
		}
		remaining--
		// The library has the last word on the condition; these are only the moments it may have come true.
		maybe := remaining == 0 || when == FirstCompleted
		if when == FirstException && !maybe {
			var e C.cf_error
			maybe = C.cfgo_future_exception(ps[i], 0, &e, nil) == C.CF_OK && e.status != C.CF_OK
		}
		if maybe {
			holds, err := split()
			if err != nil {
				return nil, nil, err
			}
			if holds {
				return done, notDone, nil
			}
		}
	}
}

// ctxCompleted is the state of a CompletedIter made by AsCompletedContext.
type ctxCompleted struct {
	ctx     context.Context
	fs      []*Future
	ps      []*C.cf_future // acquired until the iterator is freed
	release func()
	w       *waitSet
	ready   []int           // indexes of futures done when the iterator was made, not yet yielded
	waiting map[int]bool    // indexes whose events have not come yet
	closed  <-chan struct{} // closed by the iterator's Close
}

// AsCompletedContext is AsCompleted with a context instead of a timeout: an iterator over the distinct futures
// of fs, those already done first (in input order), then each as it completes. When ctx ends, Next returns
// false and Err is a context error (errors.Is(err, context.Canceled) or context.DeadlineExceeded); no future is
// cancelled. A ctx that has ended already is returned as the error of this call. Close, from any goroutine,
// also ends a Next that waits (its Err is then ErrClosed).
func AsCompletedContext(ctx context.Context, fs []*Future) (*CompletedIter, error) {
	const op = "AsCompletedContext"
	if err := ctx.Err(); err != nil {
		return nil, contextError(op, err)
	}
	ps, release, err := acquireAll(op, fs)
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	c := &ctxCompleted{ctx: ctx, fs: fs, ps: ps, release: release, waiting: make(map[int]bool), closed: stop}
	byPtr := make(map[*C.cf_future]*Future, len(fs))
	index := make(map[*C.cf_future]int, len(fs))
	for i, p := range ps {
		if _, ok := index[p]; !ok {
			index[p], byPtr[p] = i, fs[i]
		}
	}
	c.w = newWaitSet(len(index))
	for i, p := range ps {
		if index[p] != i {
			continue
		}
		// A future done now is yielded first, in input order; the others come through the wait set.
		done := C.cf_future_done(p) == 1
		if !done {
			if err = c.w.add(op, fs[i], p, i); err != nil {
				break
			}
			c.waiting[i] = true
		} else {
			c.ready = append(c.ready, i)
		}
	}
	if err != nil {
		c.w.close()
		release()
		return nil, err
	}
	// A future subscribed above may have finished since: its event is queued and it is yielded in its turn.
	it := &CompletedIter{
		gc:       newGuard(c, func(c *ctxCompleted) { c.w.close(); c.release() }),
		stop:     stop,
		byPtr:    byPtr,
		index:    index,
		curIndex: -1,
	}
	runtime.SetFinalizer(it, (*CompletedIter).Close)
	return it, nil
}

// nextCtx is Next for an iterator made by AsCompletedContext.
func (it *CompletedIter) nextCtx() bool {
	const op = "CompletedIter.Next"
	c, ok := beginNext(it.gc, op, &it.err)
	if !ok {
		return false
	}
	defer it.gc.release()
	if err := c.ctx.Err(); err != nil {
		it.err = contextError(op, err)
		return false
	}
	var i int
	switch {
	case len(c.ready) > 0:
		i, c.ready = c.ready[0], c.ready[1:]
	case len(c.waiting) == 0:
		return false
	default:
		var err error
		i, err = c.w.next(c.ctx, op, waitStop{closed: c.closed})
		if err != nil {
			it.err = err
			return false
		}
		delete(c.waiting, i)
	}
	it.cur = c.fs[i]
	it.curIndex = i
	it.cur.joined()
	return true
}

// SubmitContext is Submit with a context: a ctx that has ended already refuses the task (a context error).
// A thread pool's submit never waits, so ctx is looked at only before it. The task's life is its own
// afterwards: ctx ending later does not cancel it (call the future's Cancel for that).
func (e *Executor) SubmitContext(ctx context.Context, fn func() ([]byte, error)) (*Future, error) {
	const op = "Executor.SubmitContext"
	if err := ctx.Err(); err != nil {
		return nil, contextError(op, err)
	}
	return e.submit(op, fn, SubmitOptions{})
}

// SubmitNamedContext is SubmitNamed with a context. A process pool's submit waits while its shared-memory
// arena has no room for the argument; when ctx ends first, SubmitNamedContext returns a context error at once,
// and the submit, which cannot be interrupted, goes on in the background (a goroutine, until there is room or
// the pool shuts down): if it gets through, its future is cancelled (or, if a worker took the task already, its
// result is discarded) and released. A ctx that has ended already refuses the task. As with SubmitContext,
// ctx ending after the submit does not cancel the task.
func (e *Executor) SubmitNamedContext(ctx context.Context, name string, arg []byte) (*Future, error) {
	return e.submitNamedContext(ctx, "Executor.SubmitNamedContext", name, arg, SubmitOptions{})
}

func (e *Executor) submitNamedContext(ctx context.Context, op, name string, arg []byte, opts SubmitOptions) (*Future, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(op, err)
	}
	if !e.process || ctx.Done() == nil { // a thread pool's submit does not wait; nor can ctx end
		return e.submitNamed(op, name, arg, opts)
	}
	type outcome struct {
		f   *Future
		err error
	}
	out := make(chan outcome, 1)
	abandoned := make(chan struct{})
	go func() {
		f, err := e.submitNamed(op, name, arg, opts)
		select {
		case out <- outcome{f, err}:
		case <-abandoned:
			if f != nil {
				f.Cancel()
				f.Close()
			}
		}
	}()
	select {
	case o := <-out:
		return o.f, o.err
	case <-ctx.Done():
		close(abandoned)
		// The submit may have ended meanwhile: then its outcome is here, and the future must be let go.
		select {
		case o := <-out:
			if o.f != nil {
				o.f.Cancel()
				o.f.Close()
			}
		default:
		}
		return nil, contextError(op, ctx.Err())
	}
}

// drainState is the one goroutine per executor that waits for a shutdown on behalf of ShutdownContext.
type drainState struct {
	done chan struct{}
	err  error
}

// ShutdownContext is Shutdown(true, cancelFutures) with a context, in the manner of http.Server.Shutdown: it
// shuts the executor down at once (later submits fail with ErrShutdown; with cancelFutures the tasks not started
// are cancelled), then waits until every task has finished or ctx ends. When ctx ends first (or has ended
// already) it returns a context error: the shutdown is not undone and the tasks go on; the wait for them goes
// on in the background (one goroutine per executor, ending with the last task), and Close still waits for them.
func (e *Executor) ShutdownContext(ctx context.Context, cancelFutures bool) error {
	const op = "Executor.ShutdownContext"
	if err := e.shutdown(op, false, cancelFutures); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return contextError(op, err)
	}
	if ctx.Done() == nil {
		return e.shutdown(op, true, false)
	}
	d := e.drained(op)
	select {
	case <-d.done:
		return d.err
	case <-ctx.Done():
		return contextError(op, ctx.Err())
	}
}

// drained starts, once, the goroutine that waits for the executor's shutdown.
func (e *Executor) drained(op string) *drainState {
	e.drainOnce.Do(func() {
		d := &drainState{done: make(chan struct{})}
		e.drain = d
		g := e.g // not e: a forgotten executor can still be finalized meanwhile
		go func() {
			defer close(d.done)
			p, err := g.acquire(op)
			if err != nil {
				return // closed: Close waited for the tasks before it closed the handle
			}
			defer g.release()
			var msg *C.char
			if rc := C.cfgo_executor_shutdown(p, 1, 0, &msg); rc != C.CF_OK {
				d.err = callError(op, rc, msg)
			}
		}()
	})
	return e.drain
}
