// SPDX-License-Identifier: MIT

package cfutures

/*
#include <stdlib.h>
#include "cfgo.h"
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"
)

// Future is the eventual outcome of a task: bytes or an error. Its methods are safe for concurrent use.
// Close releases it; a future that is closed before its task ends does not cancel the task.
type Future struct {
	g     *guard[C.cf_future]
	n     *doneNotifier // for waits with a context
	task  *goTask       // Submit's or Then's closure; ThenNamed, WhenAll, WhenAny: a link to Go tasks; else nil
	owned bool          // made by NewFuture: its result is set by the program
}

func newFuture(p *C.cf_future, task *goTask, owned bool) *Future {
	f := &Future{g: newGuard(p, func(p *C.cf_future) { C.cf_future_release(p) }), n: &doneNotifier{}, task: task,
		owned: owned}
	runtime.SetFinalizer(f, (*Future).Close)
	return f
}

// NewFuture makes a pending future that the program completes itself with SetResult or SetException (for
// tests, or to hand work done elsewhere to Wait and AsCompleted).
func NewFuture() (*Future, error) {
	var p *C.cf_future
	var msg *C.char
	if rc := C.cfgo_future_new(&p, &msg); rc != C.CF_OK {
		return nil, callError("NewFuture", rc, msg)
	}
	return newFuture(p, nil, true), nil
}

// Close releases the future. It never blocks and is idempotent; methods called afterwards return ErrClosed.
func (f *Future) Close() error {
	runtime.SetFinalizer(f, nil)
	f.g.close()
	return nil
}

// joined makes the end of the task visible to the race detector before the caller looks at what the task
// wrote (the C library's own synchronisation is invisible to it); it returns the task's Go error.
func (f *Future) joined() error {
	if f.task == nil {
		return nil
	}
	return f.task.joined()
}

// Result waits up to timeout (Forever, or any negative duration: no limit; 0: do not wait) and returns the
// task's bytes, or an error: ErrTimeout, ErrCancelled, a *TaskError, or the pool's failure
// (ErrBrokenProcessPool, ErrBrokenThreadPool, ...).
func (f *Future) Result(timeout time.Duration) ([]byte, error) {
	const op = "Future.Result"
	p, err := f.g.acquire(op)
	if err != nil {
		return nil, err
	}
	defer f.g.release()
	return f.result(op, p, timeout)
}

// result is Result on the acquired handle p.
func (f *Future) result(op string, p *C.cf_future, timeout time.Duration) ([]byte, error) {
	var out C.cf_slice
	var msg *C.char
	rc := C.cfgo_future_result(p, seconds(timeout), &out, &msg)
	if rc != C.CF_OK {
		return nil, f.failure(op, p, rc, msg)
	}
	f.joined()
	return goBytes(unsafe.Pointer(out.data), out.len), nil
}

// failure describes why the wait on a future failed: the wait itself (timeout, cancelled, bad argument), or
// the future's recorded failure.
func (f *Future) failure(op string, p *C.cf_future, rc C.int, msg *C.char) error {
	text := goError(msg)
	switch rc {
	case C.CF_E_TIMEOUT, C.CF_E_CANCELLED, C.CF_E_INVALID_ARGUMENT:
		return &Error{Status: Status(rc), Op: op, Message: text}
	}
	var e C.cf_error
	if C.cfgo_future_exception(p, 0, &e, nil) != C.CF_OK || e.status == C.CF_OK {
		return &Error{Status: Status(rc), Op: op, Message: text}
	}
	return f.describe(op, &e, text)
}

// describe turns a future's cf_error into a Go error; fallback is the text when the record has no message.
func (f *Future) describe(op string, e *C.cf_error, fallback string) error {
	typ, message, detail := cString(e._type), cString(e.message), cString(e.detail)
	if e.status == C.CF_E_TASK_FAILED {
		return &TaskError{Type: typ, Message: message, Detail: detail, Err: f.task.cause(typ, message)}
	}
	if message == "" {
		message = fallback
	}
	return &Error{Status: Status(e.status), Op: op, Message: message, Detail: detail}
}

func cString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// Exception waits like Result and returns the task's failure (nil when it succeeded) as its first value; the
// second is the failure of the wait itself: ErrTimeout or ErrCancelled.
func (f *Future) Exception(timeout time.Duration) (failure error, err error) {
	const op = "Future.Exception"
	p, err := f.g.acquire(op)
	if err != nil {
		return nil, err
	}
	defer f.g.release()
	return f.exception(op, p, timeout)
}

// exception is Exception on the acquired handle p.
func (f *Future) exception(op string, p *C.cf_future, timeout time.Duration) (failure error, err error) {
	var e C.cf_error
	var msg *C.char
	if rc := C.cfgo_future_exception(p, seconds(timeout), &e, &msg); rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	if e.status == C.CF_OK {
		f.joined()
		return nil, nil
	}
	return f.describe(op, &e, ""), nil
}

// predicate runs one of the library's yes/no questions; a closed future answers false.
func (f *Future) predicate(fn func(*C.cf_future) C.int) bool {
	p, err := f.g.acquire("")
	if err != nil {
		return false
	}
	defer f.g.release()
	return fn(p) == 1
}

// Cancel cancels the task if it has not started and reports whether the future is cancelled (now or before).
// A running task is only asked to stop (cf_task_cancel_requested) and keeps running, and Cancel returns
// false, unless its pool was made with CancelRunning: then Cancel returns true and the future is cancelled at
// once (a process pool kills the worker running it and starts a new one; a thread pool lets the closure run
// on and discards its result).
func (f *Future) Cancel() bool {
	return f.predicate(func(p *C.cf_future) C.int { return C.cf_future_cancel(p) })
}

// Cancelled reports whether the future was cancelled.
func (f *Future) Cancelled() bool {
	return f.predicate(func(p *C.cf_future) C.int { return C.cf_future_cancelled(p) })
}

// Running reports whether the task is running now.
func (f *Future) Running() bool {
	return f.predicate(func(p *C.cf_future) C.int { return C.cf_future_running(p) })
}

// Done reports whether the future is finished or cancelled.
func (f *Future) Done() bool {
	return f.predicate(func(p *C.cf_future) C.int { return C.cf_future_done(p) })
}

// AddDoneCallback arranges for fn(f) to run once the future is done: on the goroutine that completes it, or
// at once on this goroutine when it is done already. Callbacks run in the order added; a panicking callback
// is reported on stderr and does not stop the others. A callback on a future that never completes is kept
// (with the future) for the life of the program.
func (f *Future) AddDoneCallback(fn func(*Future)) error {
	const op = "Future.AddDoneCallback"
	if fn == nil {
		return &Error{Status: StatusInvalidArgument, Op: op, Message: "callback is nil"}
	}
	p, err := f.g.acquire(op)
	if err != nil {
		return err
	}
	defer f.g.release()
	h := cgo.NewHandle(func() {
		f.joined()
		fn(f)
	})
	var msg *C.char
	if rc := C.cfgo_future_add_done_callback(p, C.uintptr_t(h), &msg); rc != C.CF_OK {
		h.Delete()
		return callError(op, rc, msg)
	}
	return nil
}

// settable returns the handle of a future made by NewFuture.
func (f *Future) settable(op string) (*C.cf_future, error) {
	if !f.owned {
		return nil, &Error{Status: StatusInvalidState, Op: op, Message: "only a future made by NewFuture can be set"}
	}
	return f.g.acquire(op)
}

// SetResult completes a future made by NewFuture with a copy of b; ErrInvalidState when it is done already
// (the first value is kept).
func (f *Future) SetResult(b []byte) error {
	const op = "Future.SetResult"
	p, err := f.settable(op)
	if err != nil {
		return err
	}
	defer f.g.release()
	var data unsafe.Pointer
	if len(b) > 0 {
		data = unsafe.Pointer(&b[0])
	}
	var msg *C.char
	if rc := C.cfgo_future_set_result(p, data, C.size_t(len(b)), &msg); rc != C.CF_OK {
		return callError(op, rc, msg)
	}
	return nil
}

// SetException fails a future made by NewFuture with a task error of the given type and message.
func (f *Future) SetException(typ, message string) error {
	const op = "Future.SetException"
	p, err := f.settable(op)
	if err != nil {
		return err
	}
	defer f.g.release()
	ctype, cmsg := C.CString(typ), C.CString(message)
	defer C.free(unsafe.Pointer(ctype))
	defer C.free(unsafe.Pointer(cmsg))
	var msg *C.char
	if rc := C.cfgo_future_set_exception(p, ctype, cmsg, &msg); rc != C.CF_OK {
		return callError(op, rc, msg)
	}
	return nil
}

// SetRunningOrNotifyCancel marks a pending future made by NewFuture as running (true), or reports that it was
// cancelled (false); ErrInvalidState when it is running or done already.
func (f *Future) SetRunningOrNotifyCancel() (bool, error) {
	const op = "Future.SetRunningOrNotifyCancel"
	p, err := f.settable(op)
	if err != nil {
		return false, err
	}
	defer f.g.release()
	var msg *C.char
	rc := C.cfgo_future_set_running_or_notify_cancel(p, &msg)
	if rc < 0 {
		return false, callError(op, rc, msg)
	}
	return rc == 1, nil
}
