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

// goTask is a closure submitted to a thread pool, reached from C through a cgo.Handle; or the step of a
// continuation (Then), which gets its source's result bytes. The futures of ThenNamed, WhenAll and WhenAny have
// one that runs nothing and only links them to the Go tasks they depend on.
type goTask struct {
	fn   func() ([]byte, error)
	step func([]byte) ([]byte, error) // a Then step instead of fn; dropped once the library releases it
	// mu orders the task's end before what its waiters do next for the race detector, which does not see the
	// synchronisation inside the C library; it also guards err, ran, prev and step.
	mu  sync.Mutex
	err error
	ran bool
	// prev is a continuation's source task: a failure of the source passed on to the continuation is the
	// source's (TaskError.Err), and the step is ordered after the source. Dropped once the step has run.
	prev *goTask
	// join and inputs: a WhenAll or WhenAny future's inputs (nil for those without a Go task), in order.
	join   joinKind
	inputs []*goTask
	// released is closed once the library has released a Then step (it ran, or never will); else nil.
	released chan struct{}
}

type joinKind int8

const (
	joinNone joinKind = iota
	joinAll
	joinAny
)

func (t *goTask) run() ([]byte, error) {
	out, err := call(t.fn)
	t.ended(err)
	return out, err
}

// runStep runs a Then step with its source's result bytes, after the source as the race detector sees it.
func (t *goTask) runStep(in []byte) ([]byte, error) {
	t.mu.Lock()
	step, prev := t.step, t.prev
	t.mu.Unlock()
	prev.joined()
	out, err := call(func() ([]byte, error) { return step(in) })
	t.ended(err)
	return out, err
}

func (t *goTask) ended(err error) {
	t.mu.Lock()
	t.err, t.ran = err, true
	t.mu.Unlock()
}

// release is the library's release_user_data of a Then step: it has run or never will.
func (t *goTask) release() {
	t.mu.Lock()
	if t.ran {
		t.prev = nil // the step's outcome is its own: a chain does not hold every task behind it
	}
	t.step = nil
	t.mu.Unlock()
	if t.released != nil {
		close(t.released)
	}
}

// state reads the fields that joined and cause follow.
func (t *goTask) state() (err error, ran bool, prev *goTask) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err, t.ran, t.prev
}

// joined is called by whoever saw the task's future done; it returns the task's own error, or, for a
// continuation whose step did not run, the error its source passed on. A WhenAll joins every input (all are
// done when it succeeds); a WhenAny none, as only its first is known to be done (Future.Index joins that one).
func (t *goTask) joined() error {
	for t != nil { // a loop, not a recursion: chains of continuations can be long
		err, ran, prev := t.state()
		if err != nil || ran {
			return err
		}
		if t.join == joinAll {
			for _, in := range t.inputs {
				in.joined()
			}
		}
		if t.join != joinNone {
			return nil
		}
		t = prev
	}
	return nil
}

// cause is TaskError.Err for a task failure (of type typ, with message) of the future of t: the Go error behind
// it when a Go task in this process failed. A WhenAll passes on the first failure it saw: its cause is the
// error of the first input (in input order) that failed with that type and message.
func (t *goTask) cause(typ, message string) error {
	for t != nil {
		err, ran, prev := t.state()
		if err != nil || ran {
			return err
		}
		if t.join == joinAll {
			for _, in := range t.inputs {
				if err := in.cause(typ, message); err != nil && taskErrorType(err) == typ && taskErrorMessage(err) == message {
					return err
				}
			}
		}
		if t.join != joinNone {
			return nil
		}
		t = prev
	}
	return nil
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
		ctype, cmsg := C.CString(taskErrorType(err)), C.CString(taskErrorMessage(err))
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

//export cfgoStepTask
func cfgoStepTask(ctx *C.cf_task_ctx, arg unsafe.Pointer, n C.size_t, h C.uintptr_t) C.int {
	var t *goTask
	_, err := call(func() ([]byte, error) {
		t = cgo.Handle(h).Value().(*goTask)
		return nil, nil
	})
	if err != nil {
		return finish(ctx, nil, err)
	}
	out, err := t.runStep(goBytes(arg, n))
	return finish(ctx, out, err)
}

//export cfgoReleaseStep
func cfgoReleaseStep(h C.uintptr_t) {
	handle := cgo.Handle(h)
	t := handle.Value().(*goTask)
	handle.Delete()
	t.release()
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
