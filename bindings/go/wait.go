// SPDX-License-Identifier: MIT

package cfutures

/*
#include "cfgo.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// ReturnWhen says when Wait returns.
type ReturnWhen int

// Wait's conditions, as in Python.
const (
	AllCompleted   ReturnWhen = C.CF_ALL_COMPLETED   // every future is done
	FirstCompleted ReturnWhen = C.CF_FIRST_COMPLETED // any future is done
	FirstException ReturnWhen = C.CF_FIRST_EXCEPTION // any future failed, or all are done
)

// firstHandle is the C array of ps: a pointer to its first handle, nil when it is empty.
func firstHandle(ps []*C.cf_future) **C.cf_future {
	if len(ps) == 0 {
		return nil
	}
	return &ps[0]
}

// acquireAll takes the C handles of fs for one call; done releases them.
func acquireAll(op string, fs []*Future) (ps []*C.cf_future, done func(), err error) {
	ps = make([]*C.cf_future, 0, len(fs))
	done = func() {
		for i := range ps {
			fs[i].g.release()
		}
	}
	for _, f := range fs {
		if f == nil {
			done()
			return nil, nil, invalid(op, "a future is nil")
		}
		p, err := f.g.acquire(op)
		if err != nil {
			done()
			return nil, nil, err
		}
		ps = append(ps, p)
	}
	return ps, done, nil
}

// Wait waits until the condition holds for fs, or the timeout (Forever, or negative: no limit) runs out, and
// splits fs into the done futures and the others, in input order. When the time runs out first it returns
// ErrTimeout together with the split as it stands then.
func Wait(fs []*Future, timeout time.Duration, when ReturnWhen) (done, notDone []*Future, err error) {
	const op = "Wait"
	ps, release, err := acquireAll(op, fs)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	flags := make([]C.uchar, len(fs))
	var cps **C.cf_future
	var cflags *C.uchar
	if len(fs) > 0 {
		cps, cflags = &ps[0], &flags[0]
	}
	var msg *C.char
	rc := C.cfgo_wait(cps, C.size_t(len(ps)), seconds(timeout), C.int(when), cflags, &msg)
	if rc != C.CF_OK && rc != C.CF_E_TIMEOUT {
		return nil, nil, callError(op, rc, msg)
	}
	for i, f := range fs {
		if flags[i] != 0 {
			f.joined()
			done = append(done, f)
		} else {
			notDone = append(notDone, f)
		}
	}
	if rc == C.CF_E_TIMEOUT {
		return done, notDone, callError(op, rc, msg)
	}
	return done, notDone, nil
}

// CompletedIter yields futures as they complete; see AsCompleted. One goroutine at a time may use it.
type CompletedIter struct {
	g        *guard[C.cf_as_completed_iter] // AsCompleted; else nil
	gc       *guard[ctxCompleted]           // AsCompletedContext; else nil
	stop     chan struct{}                  // AsCompletedContext: closed by Close, to end a waiting Next
	byPtr    map[*C.cf_future]*Future
	index    map[*C.cf_future]int // the index in fs of each distinct future (its first)
	cur      *Future
	curIndex int
	err      error
}

// AsCompleted returns an iterator over the distinct futures of fs: those already done first (in input order),
// then each as it completes. The timeout (Forever, or negative: no limit) counts from this call; when it runs
// out, Next returns false and Err is ErrTimeout saying how many futures are unfinished.
//
// It is an iterator rather than a channel so that nothing runs behind the caller's back: a channel would need
// a goroutine blocked in the C iterator, which could not be stopped when the caller loses interest (with no
// timeout it would block until every future completes). The iterator waits only inside Next, stops at once on
// Close, and reports a timeout in-line through Err, in the style of bufio.Scanner:
//
//	it, err := cfutures.AsCompleted(fs, time.Minute)
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		b, err := it.Future().Result(0)
//		...
//	}
//	if err := it.Err(); err != nil { ... }
func AsCompleted(fs []*Future, timeout time.Duration) (*CompletedIter, error) {
	const op = "AsCompleted"
	ps, release, err := acquireAll(op, fs)
	if err != nil {
		return nil, err
	}
	defer release()
	cps := firstHandle(ps)
	var it *C.cf_as_completed_iter
	var msg *C.char
	if rc := C.cfgo_as_completed(cps, C.size_t(len(ps)), seconds(timeout), &it, &msg); rc != C.CF_OK {
		return nil, callError(op, rc, msg)
	}
	byPtr := make(map[*C.cf_future]*Future, len(fs))
	index := make(map[*C.cf_future]int, len(fs))
	for i, p := range ps {
		if _, ok := byPtr[p]; !ok {
			byPtr[p], index[p] = fs[i], i
		}
	}
	ci := &CompletedIter{
		g:        newGuard(it, func(it *C.cf_as_completed_iter) { C.cf_as_completed_free(it) }),
		byPtr:    byPtr,
		index:    index,
		curIndex: -1,
	}
	runtime.SetFinalizer(ci, (*CompletedIter).Close)
	return ci, nil
}

// Next waits for the next completed future and reports whether there is one.
func (it *CompletedIter) Next() bool {
	const op = "CompletedIter.Next"
	it.cur, it.curIndex = nil, -1
	if it.gc != nil {
		return it.nextCtx()
	}
	p, ok := beginNext(it.g, op, &it.err)
	if !ok {
		return false
	}
	defer it.g.release()
	var f *C.cf_future
	var msg *C.char
	switch rc := C.cfgo_as_completed_next(p, &f, &msg); rc {
	case C.CF_OK:
		it.cur, it.curIndex = it.byPtr[f], it.index[f]
		it.cur.joined()
		return true
	case C.CF_DONE:
		return false
	default:
		it.err = callError(op, rc, msg)
		return false
	}
}

// Future is the future Next found (one of those given to AsCompleted).
func (it *CompletedIter) Future() *Future { return it.cur }

// Index is the position in the slice given to AsCompleted of the future Next found (its first position, when
// it was given more than once), or -1 when Next found none. It finds the typed future of a future made by
// Submit[T] or SubmitContext[T].
func (it *CompletedIter) Index() int { return it.curIndex }

// Err is why the iteration stopped early (ErrTimeout; for AsCompletedContext a context error, or ErrClosed
// when Close ended a waiting Next), or nil when every future was yielded.
func (it *CompletedIter) Err() error { return it.err }

// Close frees the iterator (not the futures). Idempotent. An iterator made by AsCompletedContext may be closed
// from another goroutine while Next waits: Next then returns false.
func (it *CompletedIter) Close() error {
	runtime.SetFinalizer(it, nil)
	if it.gc != nil {
		if it.gc.close() {
			close(it.stop)
		}
		return nil
	}
	it.g.close()
	return nil
}
