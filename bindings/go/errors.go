// SPDX-License-Identifier: MIT

package cfutures

/*
#include "cfgo.h"

// Every status of the header's one list (cf_status_map.h), for the test that checks this file against it.
#define CFGO_STATUS_VALUE(c_name, value, cxx, cxx_exception, python_exception, text) value,
static const int cfgo_status_map[] = {CF_STATUS_MAP(CFGO_STATUS_VALUE)};
#undef CFGO_STATUS_VALUE
static int cfgo_status_count(void) { return (int)(sizeof cfgo_status_map / sizeof cfgo_status_map[0]); }
static int cfgo_status_at(int i) { return cfgo_status_map[i]; }
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
)

// Status is a libcfutures status code (CF_OK, CF_E_TIMEOUT, ...).
type Status int

// The library's status codes.
const (
	StatusOK                Status = C.CF_OK
	StatusDone              Status = C.CF_DONE
	StatusInvalidArgument   Status = C.CF_E_INVALID_ARGUMENT
	StatusNoMemory          Status = C.CF_E_NO_MEMORY
	StatusTimeout           Status = C.CF_E_TIMEOUT
	StatusCancelled         Status = C.CF_E_CANCELLED
	StatusShutdown          Status = C.CF_E_SHUTDOWN
	StatusBrokenThreadPool  Status = C.CF_E_BROKEN_THREAD_POOL
	StatusBrokenProcessPool Status = C.CF_E_BROKEN_PROCESS_POOL
	StatusInvalidState      Status = C.CF_E_INVALID_STATE
	StatusTaskFailed        Status = C.CF_E_TASK_FAILED
	StatusUnknownTask       Status = C.CF_E_UNKNOWN_TASK
	StatusDeadlock          Status = C.CF_E_DEADLOCK
	StatusSystem            Status = C.CF_E_SYSTEM
	StatusTooLarge          Status = C.CF_E_TOO_LARGE
	StatusTimeLimit         Status = C.CF_E_TIME_LIMIT
	StatusWorkerDied        Status = C.CF_E_WORKER_DIED
)

// String is the library's name of the status, e.g. "CF_E_TIMEOUT".
func (s Status) String() string { return C.GoString(C.cf_status_name(C.int(s))) }

// Description is the library's one-line description of the status.
func (s Status) Description() string { return C.GoString(C.cf_strerror(C.int(s))) }

// sentinel is the type of the Err* values: one per status, compared by identity.
type sentinel struct {
	status Status
	text   string
	parent error // ErrBrokenExecutor for the two broken pools
}

func (s *sentinel) Error() string { return "cfutures: " + s.text }
func (s *sentinel) Unwrap() error { return s.parent }

func newSentinel(s Status, parent error) *sentinel {
	return &sentinel{status: s, text: s.Description(), parent: parent}
}

// Sentinel errors, one per failure status, for errors.Is. Every error this package returns matches exactly
// one of them (and ErrBrokenExecutor as well for a broken pool, as in Python's exception hierarchy), except the
// error of a call whose context.Context ended, which wraps ctx.Err() (context.Canceled or
// context.DeadlineExceeded).
var (
	ErrInvalidArgument = newSentinel(StatusInvalidArgument, nil)
	ErrNoMemory        = newSentinel(StatusNoMemory, nil)
	ErrTimeout         = newSentinel(StatusTimeout, nil)
	ErrCancelled       = newSentinel(StatusCancelled, nil)
	ErrShutdown        = newSentinel(StatusShutdown, nil)
	// ErrBrokenExecutor matches both broken pools, like Python's BrokenExecutor.
	ErrBrokenExecutor    error = &sentinel{text: "the executor is broken"}
	ErrBrokenThreadPool        = newSentinel(StatusBrokenThreadPool, ErrBrokenExecutor)
	ErrBrokenProcessPool       = newSentinel(StatusBrokenProcessPool, ErrBrokenExecutor)
	ErrInvalidState            = newSentinel(StatusInvalidState, nil)
	// ErrTaskFailed matches every *TaskError: a task returned an error or panicked.
	ErrTaskFailed  = newSentinel(StatusTaskFailed, nil)
	ErrUnknownTask = newSentinel(StatusUnknownTask, nil)
	ErrDeadlock    = newSentinel(StatusDeadlock, nil)
	ErrSystem      = newSentinel(StatusSystem, nil)
	ErrTooLarge    = newSentinel(StatusTooLarge, nil)
	// ErrTimeLimit: the task ran past its SubmitOptions.TimeLimit. It does not match ErrTimeout, which is
	// only a wait (Result, Wait, ...) running out of time while the task may still finish.
	ErrTimeLimit = newSentinel(StatusTimeLimit, nil)
	// ErrWorkerDied: the worker process running the task died and was replaced (WorkerDeathReplace); the pool
	// goes on.
	ErrWorkerDied = newSentinel(StatusWorkerDied, nil)
	// ErrClosed is returned by methods of a handle after its Close; it also matches ErrInvalidArgument.
	ErrClosed error = &sentinel{status: StatusInvalidArgument, text: "use of a closed handle", parent: ErrInvalidArgument}
)

// headerStatuses lists every status the C header knows, in the header's order.
func headerStatuses() []Status {
	n := int(C.cfgo_status_count())
	out := make([]Status, n)
	for i := range out {
		out[i] = Status(C.cfgo_status_at(C.int(i)))
	}
	return out
}

func sentinelOf(s Status) error {
	switch s {
	case StatusInvalidArgument:
		return ErrInvalidArgument
	case StatusNoMemory:
		return ErrNoMemory
	case StatusTimeout:
		return ErrTimeout
	case StatusCancelled:
		return ErrCancelled
	case StatusShutdown:
		return ErrShutdown
	case StatusBrokenThreadPool:
		return ErrBrokenThreadPool
	case StatusBrokenProcessPool:
		return ErrBrokenProcessPool
	case StatusInvalidState:
		return ErrInvalidState
	case StatusTaskFailed:
		return ErrTaskFailed
	case StatusUnknownTask:
		return ErrUnknownTask
	case StatusDeadlock:
		return ErrDeadlock
	case StatusSystem:
		return ErrSystem
	case StatusTooLarge:
		return ErrTooLarge
	case StatusTimeLimit:
		return ErrTimeLimit
	case StatusWorkerDied:
		return ErrWorkerDied
	}
	return nil
}

// Error is a failure reported by the library: the status, the operation that failed and the library's text
// (cf_last_error, or the future's failure). errors.Is matches it against the sentinel of its status.
type Error struct {
	Status  Status
	Op      string // the Go method that failed, e.g. "Future.Result"
	Message string // the library's text
	Detail  string // for a future's failure: where it happened (worker pid, signal, task name), else ""
}

func (e *Error) Error() string {
	return "cfutures: " + e.Op + ": " + e.Status.String() + describe(e.Message, e.Detail)
}

// describe joins a message and a detail, without repeating a message the detail already contains.
func describe(message, detail string) string {
	switch {
	case detail != "" && strings.Contains(detail, message):
		return ": " + detail
	case detail != "" && message != "":
		return ": " + message + " (" + detail + ")"
	case message != "":
		return ": " + message
	}
	return ""
}

// Unwrap gives the sentinel of the status, so that errors.Is(err, ErrTimeout) and the like work.
func (e *Error) Unwrap() error { return sentinelOf(e.Status) }

// TaskError is the failure of a task: it returned an error or panicked (Type "panic"), or, for a C task, called
// cf_task_raise. errors.Is(err, ErrTaskFailed) holds for every TaskError.
type TaskError struct {
	Type    string // the error's Go type ("*errors.errorString"), "panic", or the type given by the task
	Message string
	Detail  string // where it happened, e.g. the task name and worker pid on a process pool
	// Err is the error the task returned, when it ran in this process (thread pools); nil otherwise.
	Err error
}

func (e *TaskError) Error() string {
	return "cfutures: task failed: " + e.Type + describe(e.Message, e.Detail)
}

// Is reports ErrTaskFailed as a match.
func (e *TaskError) Is(target error) bool { return target == ErrTaskFailed }

// Unwrap gives the task's own error when it ran in this process, so errors.Is/As reach it.
func (e *TaskError) Unwrap() error { return e.Err }

// TypedError lets a task's error name the type reported in TaskError.Type (by default its Go type name);
// useful on process pools, where only the type and the message cross the process boundary.
type TypedError interface {
	error
	TaskErrorType() string
}

// callError builds the error of a failed C call from its status and the captured cf_last_error text.
func callError(op string, rc C.int, msg *C.char) error {
	return &Error{Status: Status(rc), Op: op, Message: goError(msg)}
}

func closedError(op string) error { return fmt.Errorf("cfutures: %s: %w", op, ErrClosed) }

// taskErrorMessage is the message of err for cf_task_raise: a *TaskError passes its own message on.
func taskErrorMessage(err error) string {
	var te *TaskError
	if errors.As(err, &te) {
		return te.Message
	}
	return err.Error()
}

// taskErrorType names err's type for cf_task_raise.
func taskErrorType(err error) string {
	var typed TypedError
	if errors.As(err, &typed) {
		return typed.TaskErrorType()
	}
	var te *TaskError
	if errors.As(err, &te) && te.Type != "" {
		return te.Type
	}
	return fmt.Sprintf("%T", err)
}
