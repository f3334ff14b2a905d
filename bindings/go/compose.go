// SPDX-License-Identifier: MIT

package cfutures

// Futures made of futures: continuations (Then, ThenNamed) and joins (WhenAll, WhenAny). Each is a callback
// inside the library on its inputs: nothing waits on a goroutine or a thread, and a chain of any length costs
// neither goroutines nor stack.

/*
#include <stdlib.h>
#include "cfgo.h"
*/
import "C"

import (
	"context"
	"runtime/cgo"
	"time"
	"unsafe"
)

// Then arranges for fn to run on the thread pool e once f succeeds, with f's result bytes, and returns the
// future of that step (a continuation), whose outcome is fn's. Then itself never waits.
//
//   - A failure or cancellation of f passes on to the continuation, and fn never runs; so does a failed submit
//     of the step (e shut down meanwhile: ErrShutdown). A *TaskError passed on from a Go task keeps that task's
//     error in Err, so errors.Is reaches it through a chain.
//   - Cancelling the continuation before fn starts cancels the step: fn never runs. Once fn runs, Cancel
//     behaves as for any task (see Future.Cancel and ThreadPoolOptions.CancelRunning).
//   - fn is released (the binding lets go of the closure) exactly once: when it has run, or when it is known
//     that it never will.
//   - A panic in fn becomes a *TaskError of type "panic", as with Submit.
//
// A process pool refuses Go closures (ErrUnknownTask, at once): use ThenNamed. f may be any future: a task's,
// another continuation's, one made by NewFuture, WhenAll or WhenAny (whose result is the index, see Index).
// Closing f does not stop the continuation.
func (f *Future) Then(e *Executor, fn func([]byte) ([]byte, error)) (*Future, error) {
	return f.then("Future.Then", e, fn, SubmitOptions{})
}

// ThenWith is Then with per-step options: a TimeLimit counts from when the step starts to run.
func (f *Future) ThenWith(e *Executor, fn func([]byte) ([]byte, error), opts SubmitOptions) (*Future, error) {
	return f.then("Future.ThenWith", e, fn, opts)
}

func (f *Future) then(op string, e *Executor, fn func([]byte) ([]byte, error), opts SubmitOptions) (*Future, error) {
	switch {
	case f == nil:
		return nil, invalid(op, "future is nil")
	case e == nil:
		return nil, invalid(op, "executor is nil")
	case fn == nil:
		return nil, invalid(op, "step function is nil")
	case e.process:
		return nil, &Error{Status: StatusUnknownTask, Op: op,
			Message: "a process pool runs registered tasks only, not Go closures: use ThenNamed"}
	}
	p, ex, release, err := acquireStep(op, f, e)
	if err != nil {
		return nil, err
	}
	defer release()
	task := &goTask{step: fn, prev: f.task, released: make(chan struct{})}
	h := cgo.NewHandle(task)
	var out *C.cf_future
	var msg *C.char
	// From here the library owns h: it calls cfgoReleaseStep once, also when this call fails.
	if rc := C.cfgo_future_then(p, ex, C.uintptr_t(h), timeLimit(opts.TimeLimit), &out, &msg); rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	return newFuture(out, task, false), nil
}

// ThenNamed is Then with the task registered under name (RegisterTask, or a C task), which gets f's result
// bytes: the way to continue on a process pool (its worker receives them through shared memory), and it works
// on a thread pool too. A name that is not registered fails the continuation with ErrUnknownTask once f
// succeeds (the binding cannot know the tasks C code registers).
func (f *Future) ThenNamed(e *Executor, name string) (*Future, error) {
	const op = "Future.ThenNamed"
	switch {
	case f == nil:
		return nil, invalid(op, "future is nil")
	case e == nil:
		return nil, invalid(op, "executor is nil")
	}
	p, ex, release, err := acquireStep(op, f, e)
	if err != nil {
		return nil, err
	}
	defer release()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var out *C.cf_future
	var msg *C.char
	if rc := C.cfgo_future_then_named(p, ex, cname, &out, &msg); rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	var link *goTask // passes on the Go error of a failed source, and orders the source first
	if f.task != nil {
		link = &goTask{prev: f.task}
	}
	return newFuture(out, link, false), nil
}

// WhenAll returns a future that is done when every future of fs is: it succeeds, with empty bytes, when all of
// them succeeded, and otherwise ends with the first failure or cancellation among them that the library saw
// (not necessarily the first in fs); a *TaskError it passes on from a Go task keeps that task's error in Err
// (the first input, in the order of fs, that failed with the same type and message). The futures keep their own
// results, to be read from them. Cancelling the returned future cancels none of fs. An empty fs gives a future
// done at once; a nil future in fs is ErrInvalidArgument. A future may appear more than once. For typed
// futures, pass Untyped(fs).
func WhenAll(fs []*Future) (*Future, error) {
	return when("WhenAll", fs, joinAll)
}

// WhenAny returns a future that is done when the first future of fs is done, succeeded or not: its result is
// that future's index in fs, which Index and IndexContext read (in its bytes, a uint64 in this machine's byte
// order). Futures done already count first, in their order in fs. Cancelling the returned future cancels none
// of fs. An empty fs is ErrInvalidArgument (nothing could ever be first), and so is a nil future in fs.
func WhenAny(fs []*Future) (*Future, error) {
	return when("WhenAny", fs, joinAny)
}

// acquireStep holds f's and e's C handles for a continuation's call; release lets go of both.
func acquireStep(op string, f *Future, e *Executor) (*C.cf_future, *C.cf_executor, func(), error) {
	p, err := f.g.acquire(op)
	if err != nil {
		return nil, nil, nil, err
	}
	ex, err := e.g.acquire(op)
	if err != nil {
		f.g.release()
		return nil, nil, nil, err
	}
	return p, ex, func() { e.g.release(); f.g.release() }, nil
}

func when(op string, fs []*Future, kind joinKind) (*Future, error) {
	ps, release, err := acquireAll(op, fs)
	if err != nil {
		return nil, err
	}
	defer release()
	cps := firstHandle(ps)
	var out *C.cf_future
	var msg *C.char
	var rc C.int
	if kind == joinAll {
		rc = C.cfgo_when_all(cps, C.size_t(len(ps)), &out, &msg)
	} else {
		rc = C.cfgo_when_any(cps, C.size_t(len(ps)), &out, &msg)
	}
	if rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	inputs := make([]*goTask, len(fs))
	for i, f := range fs {
		inputs[i] = f.task
	}
	return newFuture(out, &goTask{join: kind, inputs: inputs}, false), nil
}

// Index waits like Result (timeout: Forever, or negative: no limit; 0: do not wait) for a future made by
// WhenAny and returns the index in its slice of the first future done. It fails as Result does (ErrTimeout,
// ErrCancelled when the WhenAny future itself was cancelled), and with ErrInvalidState on any other future.
// The future at that index is done; read its outcome from it.
func (f *Future) Index(timeout time.Duration) (int, error) {
	const op = "Future.Index"
	if err := f.checkAny(op); err != nil {
		return -1, err
	}
	p, err := f.g.acquire(op)
	if err != nil {
		return -1, err
	}
	defer f.g.release()
	b, err := f.result(op, p, timeout)
	if err != nil {
		return -1, err
	}
	return f.index(op, b)
}

// IndexContext is Index with a context instead of a timeout: when ctx ends first it returns a context error
// (errors.Is(err, context.Canceled) or context.DeadlineExceeded); the WhenAny future is not cancelled.
func (f *Future) IndexContext(ctx context.Context) (int, error) {
	const op = "Future.IndexContext"
	if err := f.checkAny(op); err != nil {
		return -1, err
	}
	b, err := f.resultContext(ctx, op)
	if err != nil {
		return -1, err
	}
	return f.index(op, b)
}

func (f *Future) checkAny(op string) error {
	if f == nil {
		return invalid(op, "future is nil")
	}
	if f.task == nil || f.task.join != joinAny {
		return &Error{Status: StatusInvalidState, Op: op, Message: "only a future made by WhenAny holds an index"}
	}
	return nil
}

// index decodes the result of a WhenAny future and orders the winner's task before the caller.
func (f *Future) index(op string, b []byte) (int, error) {
	var v uint64
	if len(b) != int(unsafe.Sizeof(v)) {
		return -1, &Error{Status: StatusInvalidState, Op: op, Message: "the result of WhenAny is not an index"}
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), len(b)), b) // this machine's byte order
	inputs := f.task.inputs
	if v >= uint64(len(inputs)) {
		return -1, &Error{Status: StatusInvalidState, Op: op, Message: "the index of WhenAny is out of range"}
	}
	inputs[v].joined()
	return int(v), nil
}

// Then arranges for fn to run on the thread pool e with f's value once f succeeds, and returns the typed future
// of that step: the generic form of Future.Then. Values stay Go values: nothing is encoded, and the step reads
// f's value in this process. Failures, cancellation and the release of fn behave as for Future.Then; an error
// returned by fn (or by f's task, passed on) is a *TaskError whose Err is that error. A process pool refuses
// it (ErrUnknownTask).
func Then[T, R any](f *TypedFuture[T], e *Executor, fn func(T) (R, error)) (*TypedFuture[R], error) {
	return thenTyped("Then", f, e, fn, SubmitOptions{})
}

// ThenWith is Then with per-step options, e.g. a time limit (see SubmitOptions).
func ThenWith[T, R any](f *TypedFuture[T], e *Executor, fn func(T) (R, error), opts SubmitOptions) (*TypedFuture[R], error) {
	return thenTyped("ThenWith", f, e, fn, opts)
}

func thenTyped[T, R any](op string, f *TypedFuture[T], e *Executor, fn func(T) (R, error), opts SubmitOptions) (*TypedFuture[R], error) {
	if f == nil || f.f == nil {
		return nil, invalid(op, "future is nil")
	}
	if fn == nil {
		return nil, invalid(op, "step function is nil")
	}
	src, value := f.value, new(R)
	g, err := f.f.then(op, e, func([]byte) ([]byte, error) {
		// f succeeded, and its task wrote *src before it ended (runStep ordered that end before this read).
		return keepValue(value, func() (R, error) { return fn(*src) })
	}, opts)
	if err != nil {
		return nil, err
	}
	return &TypedFuture[R]{f: g, value: value}, nil
}
