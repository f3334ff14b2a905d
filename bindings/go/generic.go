// SPDX-License-Identifier: MIT

package cfutures

import (
	"context"
	"time"
)

// TypedFuture is the future of a Go function run in this process by Submit[T] (or SubmitContext[T],
// SubmitWith[T]): its result is a T kept on the Go side, never encoded to bytes; the library's future behind it
// (Untyped) carries only its completion, cancellation and failure. It is called TypedFuture because Go does not
// let the generic type share the name of Future. Its methods are safe for concurrent use.
type TypedFuture[T any] struct {
	f     *Future
	value *T // written by the task before it returns; read once the future is done
}

// Submit runs fn on a thread pool and returns its typed future. A panic in fn becomes a *TaskError of type
// "panic"; an error returned by fn becomes a *TaskError whose Err is that error, so errors.Is and errors.As
// reach it. A process pool refuses closures (ErrUnknownTask). It is the generic form of Executor.Submit.
func Submit[T any](e *Executor, fn func() (T, error)) (*TypedFuture[T], error) {
	return submitTyped(context.Background(), "Submit", e, fn, SubmitOptions{})
}

// SubmitContext is Submit with a context, as Executor.SubmitContext: a ctx that has ended already refuses the
// task; ctx ending later does not cancel it.
func SubmitContext[T any](ctx context.Context, e *Executor, fn func() (T, error)) (*TypedFuture[T], error) {
	return submitTyped(ctx, "SubmitContext", e, fn, SubmitOptions{})
}

// SubmitWith is Submit with per-task options, e.g. a time limit (see SubmitOptions).
func SubmitWith[T any](e *Executor, fn func() (T, error), opts SubmitOptions) (*TypedFuture[T], error) {
	return submitTyped(context.Background(), "SubmitWith", e, fn, opts)
}

func submitTyped[T any](ctx context.Context, op string, e *Executor, fn func() (T, error), opts SubmitOptions) (*TypedFuture[T], error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(op, err)
	}
	if e == nil {
		return nil, invalid(op, "executor is nil")
	}
	if fn == nil {
		return nil, invalid(op, "task function is nil")
	}
	value := new(T)
	f, err := e.submit(op, func() ([]byte, error) { return keepValue(value, fn) }, opts)
	if err != nil {
		return nil, err
	}
	return &TypedFuture[T]{f: f, value: value}, nil
}

// keepValue runs produce for a typed task: its value goes to *value, where the TypedFuture reads it once the
// task has ended; the task's bytes stay empty.
func keepValue[T any](value *T, produce func() (T, error)) ([]byte, error) {
	v, err := produce()
	if err != nil {
		return nil, err
	}
	*value = v
	return nil, nil
}

// Untyped is the Future behind the typed one, for Wait, WaitContext, AsCompleted and AsCompletedContext (whose
// CompletedIter.Index gives the position of the future found). Its Result is empty bytes on success.
func (t *TypedFuture[T]) Untyped() *Future { return t.f }

// Untyped returns the futures behind typed futures, in the same order, for Wait and AsCompleted.
func Untyped[T any](fs []*TypedFuture[T]) []*Future {
	out := make([]*Future, len(fs))
	for i, f := range fs {
		if f != nil {
			out[i] = f.f
		}
	}
	return out
}

// Result waits (without limit) for the task and returns its value, or an error as Future.Result does: a
// *TaskError (fn's error or panic), ErrCancelled, ErrTimeLimit, ErrBrokenThreadPool, ...
func (t *TypedFuture[T]) Result() (T, error) { return t.ResultContext(context.Background()) }

// ResultContext waits until the task is done or ctx ends. When ctx ends first (or has ended already) it
// returns a context error (errors.Is(err, context.Canceled) or context.DeadlineExceeded); the task is not
// cancelled.
func (t *TypedFuture[T]) ResultContext(ctx context.Context) (T, error) {
	var zero T
	if _, err := t.f.resultContext(ctx, "TypedFuture.ResultContext"); err != nil {
		return zero, err
	}
	return *t.value, nil // ordered after the task's write by the wait (see Future.joined)
}

// ResultTimeout waits up to timeout (Forever, or negative: no limit; 0: do not wait) as Future.Result does.
func (t *TypedFuture[T]) ResultTimeout(timeout time.Duration) (T, error) {
	var zero T
	if _, err := t.f.Result(timeout); err != nil {
		return zero, err
	}
	return *t.value, nil
}

// Exception waits (without limit) and returns the task's failure, nil when it succeeded; the second value is
// the failure of the wait itself (ErrCancelled).
func (t *TypedFuture[T]) Exception() (failure error, err error) {
	return t.f.ExceptionContext(context.Background())
}

// ExceptionContext is Exception with a context: when ctx ends first the second value is a context error.
func (t *TypedFuture[T]) ExceptionContext(ctx context.Context) (failure error, err error) {
	return t.f.ExceptionContext(ctx)
}

// Cancel cancels the task if it has not started, as Future.Cancel does, and reports whether it is cancelled.
func (t *TypedFuture[T]) Cancel() bool { return t.f.Cancel() }

// Cancelled reports whether the future was cancelled.
func (t *TypedFuture[T]) Cancelled() bool { return t.f.Cancelled() }

// Running reports whether the task is running now.
func (t *TypedFuture[T]) Running() bool { return t.f.Running() }

// Done reports whether the future is finished or cancelled.
func (t *TypedFuture[T]) Done() bool { return t.f.Done() }

// AddDoneCallback arranges for fn(t) to run once the future is done, as Future.AddDoneCallback does.
func (t *TypedFuture[T]) AddDoneCallback(fn func(*TypedFuture[T])) error {
	if fn == nil {
		return t.f.AddDoneCallback(nil)
	}
	return t.f.AddDoneCallback(func(*Future) { fn(t) })
}

// Close releases the future; the task is not cancelled. Idempotent; methods called afterwards return
// ErrClosed.
func (t *TypedFuture[T]) Close() error { return t.f.Close() }
