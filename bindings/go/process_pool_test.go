// SPDX-License-Identifier: MIT

package cfutures_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cfutures"
)

func processPool(t *testing.T, workers int) *cfutures.Executor {
	t.Helper()
	pool := ok(cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxWorkers: workers, SharedMemoryBytes: 8 << 20}))
	t.Cleanup(func() { pool.Close() })
	return pool
}

func TestProcessPoolNamedTasks(t *testing.T) {
	pool := processPool(t, 2)
	f := ok(pool.SubmitNamed("test.double", []byte("spawn")))
	defer f.Close()
	if got := ok(f.Result(cfutures.Forever)); string(got) != "spawnspawn" {
		t.Fatalf("result %q", got)
	}
	// The task runs in another process.
	pid := string(ok(ok(pool.SubmitNamed("test.pid", nil)).Result(cfutures.Forever)))
	if pid == "" || pid == fmt.Sprint(os.Getpid()) {
		t.Fatalf("task ran in process %q, the test is %d", pid, os.Getpid())
	}
	// A task's error crosses the process boundary as type and message, with where it happened.
	_, err := ok(pool.SubmitNamed("test.fail", []byte("x"))).Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.As(err, &te) || te.Type != "ValueError" || te.Message != "bad input x" || !strings.Contains(te.Detail, "test.fail") {
		t.Fatalf("task error %#v", err)
	}
	wantIs(t, err, cfutures.ErrTaskFailed)
	// Unknown names are refused at submit.
	_, err = pool.SubmitNamed("test.nope", nil)
	wantIs(t, err, cfutures.ErrUnknownTask)
	// The same registered task through map, chunked.
	got := collect(t, ok(pool.MapNamed("test.double", inputs(5), cfutures.MapOptions{Chunksize: 2})))
	if strings.Join(got, ",") != "00,11,22,33,44" {
		t.Fatalf("MapNamed %v", got)
	}
	// A failure in a map chunk on a worker.
	it := ok(pool.MapNamed("test.fail", inputs(3), cfutures.MapOptions{}))
	defer it.Close()
	if it.Next() || !errors.As(it.Err(), &te) || te.Message != "bad input 0" {
		t.Fatalf("MapNamed failure: %v", it.Err())
	}
}

var sixPrimes = []uint64{112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419}

func TestProcessPoolSixPrimes(t *testing.T) {
	pool := processPool(t, 2)
	in := make([][]byte, len(sixPrimes))
	for i, n := range sixPrimes {
		in[i] = u64(n)
	}
	for _, chunk := range []int{1, 4} {
		it := ok(pool.MapNamed("test.is_prime", in, cfutures.MapOptions{Chunksize: chunk}))
		var verdicts []bool
		for it.Next() {
			verdicts = append(verdicts, it.Value()[0] == 1)
		}
		noErr(t, it.Err())
		it.Close()
		if fmt.Sprint(verdicts) != "[true true true true true false]" {
			t.Fatalf("chunksize %d: %v", chunk, verdicts)
		}
	}
	_, err := ok(pool.SubmitNamed("test.is_prime", []byte("short"))).Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.As(err, &te) || te.Type != "ValueError" {
		t.Fatalf("bad argument: %v", err)
	}
}

func TestProcessPoolPanicIsTaskError(t *testing.T) {
	// A nil dereference in a worker is a Go panic (the binding gives the Go runtime its signal handlers back
	// in spawned workers), so it fails the task and leaves the pool working.
	pool := processPool(t, 1)
	_, err := ok(pool.SubmitNamed("test.nil_deref", nil)).Result(cfutures.Forever)
	var te *cfutures.TaskError
	if !errors.As(err, &te) || te.Type != "panic" || !strings.Contains(te.Message, "nil pointer dereference") {
		t.Fatalf("nil dereference gave %v", err)
	}
	if got := ok(ok(pool.SubmitNamed("test.double", []byte("z"))).Result(cfutures.Forever)); string(got) != "zz" {
		t.Fatalf("after the panic: %q", got)
	}
}

func testWorkerCrash(t *testing.T, task, signal string) {
	pool := processPool(t, 1)
	dead := ok(pool.SubmitNamed(task, nil))
	queued := ok(pool.SubmitNamed("test.double", []byte("q")))
	_, err := dead.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrBrokenProcessPool)
	wantIs(t, err, cfutures.ErrBrokenExecutor)
	var ce *cfutures.Error
	if !errors.As(err, &ce) || ce.Status != cfutures.StatusBrokenProcessPool ||
		!strings.Contains(ce.Error(), signal) || !strings.Contains(ce.Error(), task) {
		t.Fatalf("crash error %#v: %v", err, err)
	}
	if failure, err := dead.Exception(0); err != nil || !errors.Is(failure, cfutures.ErrBrokenProcessPool) {
		t.Fatalf("Exception of the crashed task: %v, %v", failure, err)
	}
	// The queued task never ran: it failed with the pool, or was cancelled.
	if _, err := queued.Result(cfutures.Forever); err == nil {
		t.Fatal("a task queued behind the crash succeeded")
	}
	// The broken pool refuses new work with the same error.
	_, err = pool.SubmitNamed("test.double", []byte("later"))
	wantIs(t, err, cfutures.ErrBrokenProcessPool)
	_, err = pool.MapNamed("test.double", inputs(2), cfutures.MapOptions{})
	wantIs(t, err, cfutures.ErrBrokenProcessPool)
}

func TestProcessPoolWorkerKilled(t *testing.T) { testWorkerCrash(t, "test.sigkill", "SIGKILL") }

func TestProcessPoolWorkerAborted(t *testing.T) { testWorkerCrash(t, "test.sigabrt", "SIGABRT") }

func TestProcessPoolShutdownAndKill(t *testing.T) {
	pool := processPool(t, 1)
	running := ok(pool.SubmitNamed("test.sleep", []byte("30s")))
	waiting := ok(pool.SubmitNamed("test.sleep", []byte("30s")))
	for !running.Running() {
		time.Sleep(time.Millisecond)
	}
	noErr(t, pool.KillWorkers())
	_, err := running.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrBrokenProcessPool)
	_, err = waiting.Result(cfutures.Forever)
	wantIs(t, err, cfutures.ErrCancelled)
	_, err = pool.SubmitNamed("test.double", nil)
	wantIs(t, err, cfutures.ErrShutdown)

	other := processPool(t, 1)
	noErr(t, other.Shutdown(true, false))
	_, err = other.SubmitNamed("test.double", nil)
	wantIs(t, err, cfutures.ErrShutdown)
	thread := threadPool(t, 1)
	wantIs(t, thread.KillWorkers(), cfutures.ErrInvalidArgument)
}

func TestProcessPoolOptions(t *testing.T) {
	_, err := cfutures.NewProcessPool(cfutures.ProcessPoolOptions{StartMethod: 2})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxWorkers: 5000})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	if !strings.Contains(err.Error(), "max_workers") {
		t.Fatalf("message %v", err)
	}
	_, err = cfutures.NewProcessPool(cfutures.ProcessPoolOptions{Initializer: "no such initializer"})
	wantIs(t, err, cfutures.ErrUnknownTask)
	// max_tasks_per_child: every task in a new worker.
	pool := ok(cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxWorkers: 1, MaxTasksPerChild: 1, SharedMemoryBytes: 8 << 20}))
	defer pool.Close()
	a := string(ok(ok(pool.SubmitNamed("test.pid", nil)).Result(cfutures.Forever)))
	b := string(ok(ok(pool.SubmitNamed("test.pid", nil)).Result(cfutures.Forever)))
	if a == b {
		t.Fatalf("both tasks ran in worker %s", a)
	}
}
