// SPDX-License-Identifier: MIT

package cfutures

/*
#include <stdlib.h>
#include "cfgo.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// MapOptions configure Map and MapNamed. The zero value: no timeout, chunks of one item, everything submitted
// at once, results in input order.
type MapOptions struct {
	// Timeout bounds the whole map, counted from the Map call; 0 or negative means no limit. When it runs out,
	// Next returns false and Err is ErrTimeout.
	Timeout time.Duration
	// Chunksize items travel as one task (0 means 1); on a process pool larger chunks save round trips.
	Chunksize int
	// Buffersize caps the chunks in flight (0: no cap): inputs are then submitted as results are consumed.
	Buffersize int
	// Unordered yields results in completion order instead of input order.
	Unordered bool
}

// MapIter yields the results of a map; see Executor.Map. One goroutine at a time may use it (an iterator made
// by MapContext or MapNamedContext may also be closed from another goroutine while Next waits).
type MapIter struct {
	g   *guard[C.cf_map_iter] // Map, MapNamed; else nil
	gm  *goMapIter[[]byte]    // MapContext, MapNamedContext; else nil
	fn  *mapFunc              // nil for MapNamed
	cur []byte
	err error
}

// Map runs fn over each input on the executor (a thread pool) and returns an iterator over the results, in
// input order unless opts.Unordered. The inputs are copied. The first failure (a *TaskError, ErrTimeout, ...)
// ends the iteration: Next returns false and Err says why; chunks not started are then cancelled, as they
// are by Close.
func (e *Executor) Map(fn func([]byte) ([]byte, error), inputs [][]byte, opts MapOptions) (*MapIter, error) {
	const op = "Executor.Map"
	if fn == nil {
		return nil, invalid(op, "map function is nil")
	}
	m := &mapFunc{fn: fn}
	id := mapFuncID.Add(1)
	mapFuncs.Store(id, m)
	it, err := e.startMap(op, 0, id, inputs, opts, m)
	if err != nil {
		mapFuncs.Delete(id)
		return nil, err
	}
	return it, nil
}

// MapNamed is Map for a task registered with RegisterTask: on a process pool it runs in the workers, a chunk
// at a time.
func (e *Executor) MapNamed(name string, inputs [][]byte, opts MapOptions) (*MapIter, error) {
	const op = "Executor.MapNamed"
	slot, ok := registeredSlot(name)
	if !ok {
		return nil, &Error{Status: StatusUnknownTask, Op: op, Message: fmt.Sprintf("no Go task is registered as %q", name)}
	}
	return e.startMap(op, 1, uintptr(slot), inputs, opts, nil)
}

func (e *Executor) startMap(op string, kind int, id uintptr, inputs [][]byte, opts MapOptions, m *mapFunc) (*MapIter, error) {
	if opts.Chunksize < 0 || opts.Buffersize < 0 {
		return nil, invalid(op, "Chunksize and Buffersize must not be negative")
	}
	chunksize := opts.Chunksize
	if chunksize == 0 {
		chunksize = 1
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = Forever
	}
	p, err := e.g.acquire(op)
	if err != nil {
		return nil, err
	}
	defer e.g.release()

	// The library reads the arguments until the iterator is freed (with Buffersize, lazily), so they live in
	// C memory: one block for the slices, one for the bytes.
	total := 0
	for _, in := range inputs {
		total += len(in)
	}
	mem := C.malloc(C.size_t(total + len(inputs)*int(unsafe.Sizeof(C.cf_slice{})) + 1))
	if mem == nil {
		return nil, &Error{Status: StatusNoMemory, Op: op, Message: "cannot copy the inputs"}
	}
	var args *C.cf_slice
	if len(inputs) > 0 {
		slices := unsafe.Slice((*C.cf_slice)(mem), len(inputs))
		bytes := unsafe.Slice((*byte)(unsafe.Add(mem, len(inputs)*int(unsafe.Sizeof(C.cf_slice{})))), total)
		off := 0
		for i, in := range inputs {
			slices[i] = C.cf_slice{len: C.size_t(len(in))}
			if len(in) > 0 {
				copy(bytes[off:], in)
				slices[i].data = unsafe.Pointer(&bytes[off])
			}
			off += len(in)
		}
		args = &slices[0]
	}
	var it *C.cf_map_iter
	var msg *C.char
	rc := C.cfgo_map(p, C.int(kind), C.uintptr_t(id), args, C.size_t(len(inputs)), seconds(timeout),
		C.size_t(chunksize), C.size_t(opts.Buffersize), cbool(opts.Unordered), &it, &msg)
	if rc != C.CF_OK {
		C.free(mem)
		return nil, callError(op, rc, msg)
	}
	mi := &MapIter{
		g: newGuard(it, func(it *C.cf_map_iter) {
			C.cf_map_free(it)
			C.free(mem)
			if kind == 0 {
				mapFuncs.Delete(id)
			}
		}),
		fn: m,
	}
	runtime.SetFinalizer(mi, (*MapIter).Close)
	return mi, nil
}

// Next waits for the next result and reports whether there is one.
func (it *MapIter) Next() bool {
	const op = "MapIter.Next"
	if it.gm != nil {
		return it.gm.next(op)
	}
	it.cur = nil
	p, ok := beginNext(it.g, op, &it.err)
	if !ok {
		return false
	}
	defer it.g.release()
	var out C.cf_slice
	var msg *C.char
	rc := C.cfgo_map_next(p, &out, &msg)
	if it.fn != nil {
		it.fn.joined()
	}
	switch rc {
	case C.CF_OK:
		it.cur = goBytes(unsafe.Pointer(out.data), out.len)
		return true
	case C.CF_DONE:
		return false
	}
	text := goError(msg)
	var e C.cf_error
	if C.cf_map_error(p, &e) == C.CF_OK && e.status == C.CF_E_TASK_FAILED {
		it.err = &TaskError{Type: cString(e._type), Message: cString(e.message), Detail: cString(e.detail)}
	} else {
		detail := ""
		if e.status != C.CF_OK {
			detail = cString(e.detail)
		}
		it.err = &Error{Status: Status(rc), Op: op, Message: text, Detail: detail}
	}
	return false
}

// Value is the result Next found (a copy; the caller may keep it).
func (it *MapIter) Value() []byte {
	if it.gm != nil {
		return it.gm.m.cur
	}
	return it.cur
}

// Err is why the iteration stopped early, or nil when every result was yielded. For MapContext and
// MapNamedContext it may be a context error, or ErrClosed when Close ended a waiting Next.
func (it *MapIter) Err() error {
	if it.gm != nil {
		return it.gm.m.err
	}
	return it.err
}

// Close cancels the chunks not started yet and frees the iterator. Idempotent.
func (it *MapIter) Close() error {
	runtime.SetFinalizer(it, nil)
	if it.gm != nil {
		it.gm.close()
		return nil
	}
	it.g.close()
	return nil
}
