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
	"sync"
	"time"
	"unsafe"
)

// Executor is a thread pool or a process pool. Its methods are safe for concurrent use. Close it when done:
// Close shuts it down, waits for its tasks and frees it.
type Executor struct {
	g       *guard[C.cf_executor]
	process bool // a process pool: its submits may wait for room in its arena

	drainOnce sync.Once   // ShutdownContext's waiter, started once
	drain     *drainState // set by drainOnce
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
	// CancelRunning lets Future.Cancel cancel a running task: its future ends cancelled at once. A thread
	// cannot be stopped, so the closure runs on to its end and its late result is discarded. Shutdown with
	// cancelFutures then cancels running tasks too. False (the default): as Python, Cancel fails on a running
	// task.
	CancelRunning bool
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
	// WorkerStartTimeout is how long a new worker has to reach WorkerEntry; one that does not breaks the
	// pool. 0 or negative means 60 s.
	WorkerStartTimeout time.Duration
	// CancelRunning lets Future.Cancel cancel a running task by killing its worker (SIGKILL; a new worker
	// takes its place): Cancel returns true and the future is cancelled. Shutdown with cancelFutures then
	// cancels running tasks too. False (the default): as Python, Cancel fails on a running task.
	CancelRunning bool
	// OnWorkerDeath says what a worker that dies unasked (a crash, an exit, a signal from outside) does to the
	// pool: WorkerDeathBreak (the zero value, as Python) or WorkerDeathReplace.
	OnWorkerDeath WorkerDeath
	// With WorkerDeathReplace, more than MaxRestarts deaths within RestartPeriod break the pool after all
	// (restart intensity, as in Erlang/OTP supervisors). MaxRestarts 0 means 10; RestartPeriod 0 or negative
	// means 60 s. Workers the pool kills itself (TimeLimit, CancelRunning, MaxTasksPerChild) do not count.
	MaxRestarts   int
	RestartPeriod time.Duration
}

// WorkerDeath is what the death of a process pool's worker does to the pool.
type WorkerDeath int

const (
	// WorkerDeathBreak (the default), as Python: the pool breaks and every pending future fails with
	// ErrBrokenProcessPool.
	WorkerDeathBreak WorkerDeath = C.CF_WORKER_DEATH_BREAK
	// WorkerDeathReplace: only the task the worker was running fails, with ErrWorkerDied; a new worker takes its
	// place, the tasks queued behind it run elsewhere and the pool goes on (within MaxRestarts).
	WorkerDeathReplace WorkerDeath = C.CF_WORKER_DEATH_REPLACE
)

// SubmitOptions are the per-task options of SubmitWith and SubmitNamedWith. The zero value is what Submit
// and SubmitNamed do.
type SubmitOptions struct {
	// TimeLimit bounds how long the task may run, counted from when it starts running (not from the submit);
	// 0 or negative means no limit. Past it the future fails with ErrTimeLimit. A process pool kills the
	// worker running the task (a new one takes its place); a thread pool cannot stop a thread, so the
	// closure runs on to its end and its late result is discarded.
	TimeLimit time.Duration
}

// timeLimit is the library's time_limit for a SubmitOptions.TimeLimit: negative for none.
func timeLimit(d time.Duration) C.double {
	if d <= 0 {
		return -1
	}
	return C.double(d.Seconds())
}

// Stats is a snapshot of an executor's counters. Each counter is read on its own, so a snapshot taken under
// load may be off by the tasks that moved meanwhile; once every future is done, Completed + Failed +
// Cancelled equals the number of tasks submitted.
type Stats struct {
	Workers         uint64 // threads or worker processes alive
	IdleWorkers     uint64 // of those, waiting for work
	Queued          uint64 // submitted, not running yet
	Running         uint64
	Completed       uint64 // finished with a result
	Failed          uint64 // finished with an error: the task's, a time limit, a dead worker, a broken pool...
	Cancelled       uint64
	WorkerDeaths    uint64 // worker processes that died unasked (crash, exit, a signal from outside)
	WorkersReplaced uint64 // workers started in place of dead, killed or retired ones
}

func newExecutor(p *C.cf_executor, init cgo.Handle, process bool) *Executor {
	e := &Executor{g: newGuard(p, func(p *C.cf_executor) {
		C.cf_executor_free(p)
		if init != 0 {
			init.Delete()
		}
	}), process: process}
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
	rc := C.cfgo_thread_pool_new(C.size_t(opts.MaxWorkers), prefix, C.uintptr_t(init), cbool(opts.CancelRunning), &p, &msg)
	if rc != C.CF_OK {
		if init != 0 {
			init.Delete()
		}
		return nil, callError(op, rc, msg)
	}
	return newExecutor(p, init, false), nil
}

// NewProcessPool starts a process pool that runs registered tasks (RegisterTask) in worker processes. The
// program must call WorkerEntry first thing in main.
func NewProcessPool(opts ProcessPoolOptions) (*Executor, error) {
	const op = "NewProcessPool"
	switch {
	case opts.StartMethod != Spawn:
		return nil, invalid(op, "Go programs can only use the Spawn start method")
	case opts.MaxWorkers < 0, opts.MaxTasksPerChild < 0, opts.SharedMemoryBytes < 0, opts.MaxRestarts < 0:
		return nil, invalid(op, "MaxWorkers, MaxTasksPerChild, SharedMemoryBytes and MaxRestarts must not be negative")
	case opts.OnWorkerDeath != WorkerDeathBreak && opts.OnWorkerDeath != WorkerDeathReplace:
		return nil, invalid(op, "OnWorkerDeath is neither WorkerDeathBreak nor WorkerDeathReplace")
	}
	extra := C.cfgo_process_extra{
		cancel_running:       cbool(opts.CancelRunning),
		on_worker_death:      C.int(opts.OnWorkerDeath),
		max_restarts:         C.size_t(opts.MaxRestarts),
		restart_period:       C.double(opts.RestartPeriod.Seconds()),
		worker_start_timeout: C.double(opts.WorkerStartTimeout.Seconds()),
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
		C.size_t(len(opts.InitArg)), C.size_t(opts.SharedMemoryBytes), program, &extra, &p, &msg)
	if rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	return newExecutor(p, 0, true), nil
}

// Submit schedules fn on a thread pool and returns its future. A panic in fn becomes a *TaskError of type
// "panic". A process pool refuses closures (ErrUnknownTask): use RegisterTask and SubmitNamed.
func (e *Executor) Submit(fn func() ([]byte, error)) (*Future, error) {
	return e.submit("Executor.Submit", fn, SubmitOptions{})
}

// SubmitWith is Submit with per-task options, e.g. a time limit.
func (e *Executor) SubmitWith(fn func() ([]byte, error), opts SubmitOptions) (*Future, error) {
	return e.submit("Executor.SubmitWith", fn, opts)
}

func (e *Executor) submit(op string, fn func() ([]byte, error), opts SubmitOptions) (*Future, error) {
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
	if rc := C.cfgo_submit(p, C.uintptr_t(h), timeLimit(opts.TimeLimit), &f, &msg); rc != C.CF_OK {
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
	return e.submitNamed("Executor.SubmitNamed", name, arg, SubmitOptions{})
}

// SubmitNamedWith is SubmitNamed with per-task options, e.g. a time limit.
func (e *Executor) SubmitNamedWith(name string, arg []byte, opts SubmitOptions) (*Future, error) {
	return e.submitNamed("Executor.SubmitNamedWith", name, arg, opts)
}

func (e *Executor) submitNamed(op, name string, arg []byte, opts SubmitOptions) (*Future, error) {
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
	rc := C.cfgo_submit_named(p, cname, data, C.size_t(len(arg)), timeLimit(opts.TimeLimit), &f, &msg)
	if rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	return newFuture(f, nil, false), nil
}

// Stats returns a snapshot of the executor's counters.
func (e *Executor) Stats() (Stats, error) {
	const op = "Executor.Stats"
	p, err := e.g.acquire(op)
	if err != nil {
		return Stats{}, err
	}
	defer e.g.release()
	var s C.cf_executor_stats
	var msg *C.char
	if rc := C.cfgo_executor_stats(p, &s, &msg); rc != C.CF_OK {
		return Stats{}, callError(op, rc, msg)
	}
	return Stats{
		Workers:         uint64(s.workers),
		IdleWorkers:     uint64(s.idle_workers),
		Queued:          uint64(s.queued),
		Running:         uint64(s.running),
		Completed:       uint64(s.completed),
		Failed:          uint64(s.failed),
		Cancelled:       uint64(s.cancelled),
		WorkerDeaths:    uint64(s.worker_deaths),
		WorkersReplaced: uint64(s.workers_replaced),
	}, nil
}

// Shutdown stops the executor from accepting work (later submits fail with ErrShutdown). With wait it returns
// once every task has finished; with cancelFutures the tasks not started yet are cancelled. Idempotent.
func (e *Executor) Shutdown(wait, cancelFutures bool) error {
	return e.shutdown("Executor.Shutdown", wait, cancelFutures)
}

func (e *Executor) shutdown(op string, wait, cancelFutures bool) error {
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
