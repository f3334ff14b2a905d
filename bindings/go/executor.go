package cfutures

/*
#include <stdlib.h>
#include "cfgo.h"
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Executor is a thread pool or a process pool. Its methods are safe for concurrent use. Close it when done:
// Close shuts it down, waits for its tasks and frees it.
type Executor struct {
	g *guard[C.cf_executor]
}

// ThreadPoolOptions configure NewThreadPool. The zero value is the library's default pool.
type ThreadPoolOptions struct {
	// MaxWorkers is the number of threads; 0 means min(32, usable CPUs + 4).
	MaxWorkers int
	// ThreadNamePrefix names the threads <prefix>_<i> (cut to 15 bytes); "" lets the library choose.
	ThreadNamePrefix string
	// Initializer, if not nil, runs once in each new worker thread; an error (or panic) breaks the pool:
	// pending and later submits fail with ErrBrokenThreadPool.
	Initializer func() error
}

// StartMethod says how a process pool starts its workers.
type StartMethod int

// Spawn, the only start method offered to Go programs, starts each worker by executing the program again;
// the program must call WorkerEntry first thing in main. (Fork and forkserver would run Go code in a forked
// copy of a multi-threaded Go runtime, which does not work.)
const Spawn StartMethod = 0

// ProcessPoolOptions configure NewProcessPool. The zero value is a spawn pool with one worker per CPU.
type ProcessPoolOptions struct {
	// MaxWorkers is the number of worker processes; 0 means the CPUs in this process's affinity mask.
	MaxWorkers int
	// StartMethod is Spawn (the zero value).
	StartMethod StartMethod
	// MaxTasksPerChild replaces a worker after that many tasks; 0 means never.
	MaxTasksPerChild int
	// Initializer names a registered task run first in every worker with InitArg; its failure breaks the pool.
	Initializer string
	InitArg     []byte
	// SharedMemoryBytes is the size of the arena that carries arguments (and each worker's results);
	// 0 means 256 MiB (reserved, not used, until needed).
	SharedMemoryBytes int
	// WorkerProgram is executed as the worker instead of this program; it must register the same tasks.
	WorkerProgram string
}

func newExecutor(p *C.cf_executor, init cgo.Handle) *Executor {
	e := &Executor{g: newGuard(p, func(p *C.cf_executor) {
		C.cf_executor_free(p)
		if init != 0 {
			init.Delete()
		}
	})}
	// Freeing waits for the pool's tasks, so a forgotten executor is freed on a goroutine of its own rather
	// than on the finalizer goroutine.
	runtime.SetFinalizer(e, func(e *Executor) { go e.g.close() })
	return e
}

func invalid(op, message string) error {
	return &Error{Status: StatusInvalidArgument, Op: op, Message: message}
}

// NewThreadPool starts a thread pool that runs Go closures (Submit, Map) and registered tasks (SubmitNamed,
// MapNamed).
func NewThreadPool(opts ThreadPoolOptions) (*Executor, error) {
	const op = "NewThreadPool"
	if opts.MaxWorkers < 0 {
		return nil, invalid(op, "MaxWorkers is negative")
	}
	var prefix *C.char
	if opts.ThreadNamePrefix != "" {
		prefix = C.CString(opts.ThreadNamePrefix)
		defer C.free(unsafe.Pointer(prefix))
	}
	var init cgo.Handle
	if opts.Initializer != nil {
		fn := opts.Initializer
		init = cgo.NewHandle(&goTask{fn: func() ([]byte, error) { return nil, fn() }})
	}
	var p *C.cf_executor
	var msg *C.char
	if rc := C.cfgo_thread_pool_new(C.size_t(opts.MaxWorkers), prefix, C.uintptr_t(init), &p, &msg); rc != C.CF_OK {
		if init != 0 {
			init.Delete()
		}
		return nil, callError(op, rc, msg)
	}
	return newExecutor(p, init), nil
}

// NewProcessPool starts a process pool that runs registered tasks (RegisterTask) in worker processes. The
// program must call WorkerEntry first thing in main.
func NewProcessPool(opts ProcessPoolOptions) (*Executor, error) {
	const op = "NewProcessPool"
	switch {
	case opts.StartMethod != Spawn:
		return nil, invalid(op, "Go programs can only use the Spawn start method")
	case opts.MaxWorkers < 0, opts.MaxTasksPerChild < 0, opts.SharedMemoryBytes < 0:
		return nil, invalid(op, "MaxWorkers, MaxTasksPerChild and SharedMemoryBytes must not be negative")
	}
	var initializer, program *C.char
	if opts.Initializer != "" {
		initializer = C.CString(opts.Initializer)
		defer C.free(unsafe.Pointer(initializer))
	}
	if opts.WorkerProgram != "" {
		program = C.CString(opts.WorkerProgram)
		defer C.free(unsafe.Pointer(program))
	}
	var initarg unsafe.Pointer
	if len(opts.InitArg) > 0 {
		initarg = unsafe.Pointer(&opts.InitArg[0])
	}
	var p *C.cf_executor
	var msg *C.char
	rc := C.cfgo_process_pool_new(C.size_t(opts.MaxWorkers), C.size_t(opts.MaxTasksPerChild), initializer, initarg,
		C.size_t(len(opts.InitArg)), C.size_t(opts.SharedMemoryBytes), program, &p, &msg)
	if rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	return newExecutor(p, 0), nil
}

// Submit schedules fn on a thread pool and returns its future. A panic in fn becomes a *TaskError of type
// "panic". A process pool refuses closures (ErrUnknownTask): use RegisterTask and SubmitNamed.
func (e *Executor) Submit(fn func() ([]byte, error)) (*Future, error) {
	const op = "Executor.Submit"
	if fn == nil {
		return nil, invalid(op, "task function is nil")
	}
	p, err := e.g.acquire(op)
	if err != nil {
		return nil, err
	}
	defer e.g.release()
	task := &goTask{fn: fn}
	h := cgo.NewHandle(task)
	var f *C.cf_future
	var msg *C.char
	if rc := C.cfgo_submit(p, C.uintptr_t(h), &f, &msg); rc != C.CF_OK {
		h.Delete()
		return nil, callError(op, rc, msg)
	}
	// The handle is deleted once the future is done: the task has then run, or never will. (Adding a callback
	// to a valid future cannot fail; if it did, keeping the handle, a small leak, would be the safe side.)
	C.cfgo_future_add_release_callback(f, C.uintptr_t(h), nil)
	return newFuture(f, task, false), nil
}

// SubmitNamed schedules the task registered under name (RegisterTask, or a C task) with a copy of arg.
func (e *Executor) SubmitNamed(name string, arg []byte) (*Future, error) {
	const op = "Executor.SubmitNamed"
	p, err := e.g.acquire(op)
	if err != nil {
		return nil, err
	}
	defer e.g.release()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var data unsafe.Pointer
	if len(arg) > 0 {
		data = unsafe.Pointer(&arg[0])
	}
	var f *C.cf_future
	var msg *C.char
	if rc := C.cfgo_submit_named(p, cname, data, C.size_t(len(arg)), &f, &msg); rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	return newFuture(f, nil, false), nil
}

// Shutdown stops the executor from accepting work (later submits fail with ErrShutdown). With wait it returns
// once every task has finished; with cancelFutures the tasks not started yet are cancelled. Idempotent.
func (e *Executor) Shutdown(wait, cancelFutures bool) error {
	const op = "Executor.Shutdown"
	p, err := e.g.acquire(op)
	if err != nil {
		return err
	}
	defer e.g.release()
	var msg *C.char
	if rc := C.cfgo_executor_shutdown(p, cbool(wait), cbool(cancelFutures), &msg); rc != C.CF_OK {
		return callError(op, rc, msg)
	}
	return nil
}

// TerminateWorkers stops a process pool's workers with SIGTERM (ErrInvalidArgument on a thread pool).
func (e *Executor) TerminateWorkers() error {
	return e.signalWorkers("Executor.TerminateWorkers", func(p *C.cf_executor, msg **C.char) C.int {
		return C.cfgo_executor_terminate_workers(p, msg)
	})
}

// KillWorkers stops a process pool's workers with SIGKILL (ErrInvalidArgument on a thread pool).
func (e *Executor) KillWorkers() error {
	return e.signalWorkers("Executor.KillWorkers", func(p *C.cf_executor, msg **C.char) C.int {
		return C.cfgo_executor_kill_workers(p, msg)
	})
}

func (e *Executor) signalWorkers(op string, fn func(*C.cf_executor, **C.char) C.int) error {
	p, err := e.g.acquire(op)
	if err != nil {
		return err
	}
	defer e.g.release()
	var msg *C.char
	if rc := fn(p, &msg); rc != C.CF_OK {
		return callError(op, rc, msg)
	}
	return nil
}

// Close shuts the executor down, waits for its tasks and frees it, like leaving Python's with block.
// Idempotent; methods called afterwards return ErrClosed.
func (e *Executor) Close() error {
	err := e.Shutdown(true, false)
	runtime.SetFinalizer(e, nil)
	if !e.g.close() {
		return nil
	}
	return err
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
