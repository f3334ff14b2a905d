// SPDX-License-Identifier: MIT

package cfutures

/*
#include "cfgo.h"
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Level is the severity of a message of the library's log; the values are the library's (and Python's
// logging module's) numbers, so levels in between order as expected.
type Level int

// The library's log levels, named as in log/slog.
const (
	LevelDebug Level = C.CF_LOG_DEBUG
	LevelInfo  Level = C.CF_LOG_INFO
	LevelWarn  Level = C.CF_LOG_WARNING
	LevelError Level = C.CF_LOG_ERROR
)

// String names the level as log/slog does: "DEBUG", "INFO", "WARN", "ERROR", and e.g. "INFO+5" in between.
func (l Level) String() string {
	name := func(base string, delta Level) string {
		if delta == 0 {
			return base
		}
		return fmt.Sprintf("%s%+d", base, int(delta))
	}
	switch {
	case l < LevelInfo:
		return name("DEBUG", l-LevelDebug)
	case l < LevelWarn:
		return name("INFO", l-LevelInfo)
	case l < LevelError:
		return name("WARN", l-LevelWarn)
	default:
		return name("ERROR", l-LevelError)
	}
}

// LogHandler receives the library's log: one message per call, a line without its newline. It is called on
// the library's own threads (a process pool's supervisor, a thread pool's workers), possibly from several at
// once, so it must be safe for concurrent use; it should return quickly and must not call back into an
// executor (submit, shut down, close). A panic in it is reported on stderr and swallowed.
type LogHandler interface {
	Handle(level Level, msg string)
}

// LogHandlerFunc adapts a function to LogHandler.
type LogHandlerFunc func(level Level, msg string)

// Handle calls f(level, msg).
func (f LogHandlerFunc) Handle(level Level, msg string) { f(level, msg) }

// handlerBox lets an atomic.Value hold a nil handler (atomic.Value refuses nil and mixed types).
type handlerBox struct{ h LogHandler }

var logState struct {
	mu        sync.Mutex   // serialises SetLogHandler
	installed bool         // the library calls cfgoLog (guarded by mu)
	handler   atomic.Value // handlerBox, read by cfgoLog
}

// SetLogHandler routes the library's log (process-wide) to h: a worker that died and was replaced (LevelWarn),
// a worker killed for its task's time limit (LevelInfo), a pool that broke (LevelError), ... Every level
// reaches h. nil restores the default: warnings and errors written to stderr, "cfutures: <message>".
//
// The handler is this process's only: a process pool's workers are this program started again, so the
// library's messages from inside a worker reach a handler only if the program sets it before WorkerEntry
// (which then runs in the worker too); otherwise they go to the worker's stderr, which is this program's.
func SetLogHandler(h LogHandler) {
	if f, ok := h.(LogHandlerFunc); ok && f == nil {
		h = nil
	}
	logState.mu.Lock()
	defer logState.mu.Unlock()
	logState.handler.Store(handlerBox{h})
	// The library keeps every handler it is given for good: the C trampoline is handed over only when the
	// log switches between stderr and Go; changing from one Go handler to another changes only the Go side.
	if on := h != nil; on != logState.installed {
		C.cfgo_set_log_handler(cbool(on))
		logState.installed = on
	}
}

//export cfgoLog
func cfgoLog(level C.int, msg *C.char) {
	text := C.GoString(msg)
	box, _ := logState.handler.Load().(handlerBox)
	if box.h == nil {
		// A message that raced with SetLogHandler(nil): as the library's default.
		if Level(level) >= LevelWarn {
			fmt.Fprintf(os.Stderr, "cfutures: %s\n", text)
		}
		return
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "cfutures: the log handler panicked: %v (message: %s)\n", r, text)
		}
	}()
	box.h.Handle(Level(level), text)
}
