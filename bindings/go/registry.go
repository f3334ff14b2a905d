// SPDX-License-Identifier: MIT

package cfutures

/*
#include <stdlib.h>
#include "cfgo.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// TaskFunc is a task that can be registered by name: bytes in, bytes out.
type TaskFunc func(arg []byte) ([]byte, error)

// MaxRegisteredTasks is how many tasks RegisterTask accepts in one program.
const MaxRegisteredTasks = C.CFGO_MAX_REGISTERED

var registry struct {
	mu     sync.RWMutex
	slots  []TaskFunc
	byName map[string]int
}

func registeredFunc(slot int) TaskFunc {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	if slot < 0 || slot >= len(registry.slots) {
		return nil
	}
	return registry.slots[slot]
}

func registeredSlot(name string) (int, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	slot, ok := registry.byName[name]
	return slot, ok
}

// RegisterTask makes fn runnable by name: with SubmitNamed and MapNamed on any executor, and in the worker
// processes of a process pool. Register in an init function (or at least before WorkerEntry and before the
// pool is created): a spawned worker is this program started again, and it only knows the tasks registered
// by the time it reaches WorkerEntry.
//
// A name can be registered once; registering it again, or a name a C library registered, fails with
// ErrInvalidArgument. At most MaxRegisteredTasks tasks can be registered.
func RegisterTask(name string, fn TaskFunc) error {
	const op = "RegisterTask"
	if fn == nil {
		return &Error{Status: StatusInvalidArgument, Op: op, Message: "task function is nil"}
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, ok := registry.byName[name]; ok {
		return &Error{Status: StatusInvalidArgument, Op: op, Message: fmt.Sprintf("task %q is already registered", name)}
	}
	slot := len(registry.slots)
	if slot >= MaxRegisteredTasks {
		return &Error{Status: StatusInvalidArgument, Op: op,
			Message: fmt.Sprintf("at most %d Go tasks can be registered", MaxRegisteredTasks)}
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	// The slot's function is published before C can call it.
	registry.slots = append(registry.slots, fn)
	var msg *C.char
	if rc := C.cfgo_task_register(cname, C.int(slot), &msg); rc != C.CF_OK {
		registry.slots = registry.slots[:slot]
		return callError(op, rc, msg)
	}
	if registry.byName == nil {
		registry.byName = make(map[string]int)
	}
	registry.byName[name] = slot
	return nil
}

// MustRegisterTask is RegisterTask that panics on failure, for init functions.
func MustRegisterTask(name string, fn TaskFunc) {
	if err := RegisterTask(name, fn); err != nil {
		panic(err)
	}
}

// WorkerEntry must be the first statement of main in every program that uses a process pool (and of TestMain
// in its tests): in a worker process started by the pool it serves tasks and ends the process without
// returning; anywhere else it returns nil at once.
func WorkerEntry() error {
	var msg *C.char
	if rc := C.cfgo_worker_entry(&msg); rc != C.CF_OK {
		return callError("WorkerEntry", rc, msg)
	}
	return nil
}
