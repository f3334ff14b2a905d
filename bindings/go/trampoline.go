// SPDX-License-Identifier: MIT

package cfutures

// The Go functions the library calls: tasks and done-callbacks. Each recovers from panics, since a panic must
// never unwind through C frames. (A file with //export may only declare things in its C preamble.)

/*
#include <stdlib.h>
#include "cfgo.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// panicError is what a recovered panic of a task becomes; its TaskError type is "panic".
type panicError struct{ value any }

func (p *panicError) Error() string         { return fmt.Sprint(p.value) }
func (p *panicError) TaskErrorType() string { return "panic" }

// call runs a task function, turning a panic into an error.
func call(fn func() ([]byte, error)) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &panicError{r}
		}
	}()
	return fn()
}

// goTask is a closure submitted to a thread pool, reached from C through a cgo.Handle.
type goTask struct {
	fn func() ([]byte, error)
	// mu orders the task's end before what its waiters do next for the race detector, which does not see the
	// synchronisation inside the C library; it also guards err.
	mu  sync.Mutex
	err error
}

func (t *goTask) run() ([]byte, error) {
	out, err := call(t.fn)
	t.mu.Lock()
	t.err = err
	t.mu.Unlock()
	return out, err
}

// joined is called by whoever saw the task's future done; it returns the task's own error.
func (t *goTask) joined() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// goBytes copies C bytes into Go memory.
func goBytes(arg unsafe.Pointer, n C.size_t) []byte {
	b := make([]byte, int(n))
	if n > 0 {
		copy(b, unsafe.Slice((*byte)(arg), int(n)))
	}
	return b
}

// finish hands a task's outcome to the library.
func finish(ctx *C.cf_task_ctx, out []byte, err error) C.int {
	if err != nil {
		msg := err.Error()
		var te *TaskError
		if errors.As(err, &te) {
			msg = te.Message
		}
		ctype, cmsg := C.CString(taskErrorType(err)), C.CString(msg)
		defer C.free(unsafe.Pointer(ctype))
		defer C.free(unsafe.Pointer(cmsg))
		return C.cfgo_task_raise(ctx, ctype, cmsg)
	}
	if len(out) == 0 {
		return C.CF_OK
	}
	return C.cfgo_task_return(ctx, unsafe.Pointer(&out[0]), C.size_t(len(out)), nil)
}

//export cfgoClosureTask
func cfgoClosureTask(ctx *C.cf_task_ctx, h C.uintptr_t) C.int {
	var t *goTask
	out, err := call(func() ([]byte, error) {
		t = cgo.Handle(h).Value().(*goTask)
		return nil, nil
	})
	if err == nil {
		out, err = t.run()
	}
	return finish(ctx, out, err)
}

//export cfgoInitializerTask
func cfgoInitializerTask(ctx *C.cf_task_ctx, h C.uintptr_t) C.int {
	return cfgoClosureTask(ctx, h)
}

//export cfgoReleaseTask
func cfgoReleaseTask(h C.uintptr_t) { cgo.Handle(h).Delete() }

//export cfgoNotifyDone
func cfgoNotifyDone(h C.uintptr_t) { cgo.Handle(h).Value().(*doneNotifier).fire() }

//export cfgoReleaseHandle
func cfgoReleaseHandle(h C.uintptr_t) { cgo.Handle(h).Delete() }

//export cfgoDoneCallback
func cfgoDoneCallback(h C.uintptr_t) {
	handle := cgo.Handle(h)
	cb := handle.Value().(func())
	handle.Delete()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "cfutures: a done callback panicked: %v\n", r)
		}
	}()
	cb()
}

// mapFunc is the function of one Map call. Map functions live in a table rather than behind a cgo.Handle: a
// chunk already running when its iterator is closed may still call in, and must find "closed", not a freed
// handle.
type mapFunc struct {
	fn func([]byte) ([]byte, error)
	mu sync.Mutex // orders each item's end before the iterator's next step, for the race detector
}

var (
	mapFuncs  sync.Map // uintptr -> *mapFunc
	mapFuncID atomic.Uintptr
)

func (m *mapFunc) joined() {
	m.mu.Lock()
	//lint:ignore SA2001 an empty critical section is the point: it orders memory for the race detector
	m.mu.Unlock()
}

//export cfgoMapTask
func cfgoMapTask(ctx *C.cf_task_ctx, arg unsafe.Pointer, n C.size_t, id C.uintptr_t) C.int {
	v, ok := mapFuncs.Load(uintptr(id))
	if !ok {
		return finish(ctx, nil, &TaskError{Type: "InvalidStateError", Message: "the map iterator was closed"})
	}
	m := v.(*mapFunc)
	in := goBytes(arg, n)
	out, err := call(func() ([]byte, error) { return m.fn(in) })
	m.joined()
	return finish(ctx, out, err)
}

//export cfgoRegisteredTask
func cfgoRegisteredTask(ctx *C.cf_task_ctx, arg unsafe.Pointer, n C.size_t, slot C.int) C.int {
	fn := registeredFunc(int(slot))
	if fn == nil {
		return finish(ctx, nil, &TaskError{Type: "UnknownTaskError", Message: fmt.Sprintf("no Go task in slot %d", int(slot))})
	}
	in := goBytes(arg, n)
	out, err := call(func() ([]byte, error) { return fn(in) })
	return finish(ctx, out, err)
}
