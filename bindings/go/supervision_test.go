// SPDX-License-Identifier: MIT

package cfutures_test

// Tests of what was added after 0.1.0: per-task time limits, cancelling running tasks, replacing dead workers
// (with restart intensity), executor stats and the log handler.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cfutures"
)

func init() {
	// Writes its worker's pid to the file named by the first line of its argument (the test's sign that the
	// task has begun in the worker: a future is already "running" when its task is handed to a worker), then
	// sleeps for the duration on the second line.
	cfutures.MustRegisterTask("test.mark_sleep", func(b []byte) ([]byte, error) {
		path, duration, _ := strings.Cut(string(b), "\n")
		d, err := time.ParseDuration(duration)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path+".tmp", []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
			return nil, err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return nil, err
		}
		time.Sleep(d)
		return []byte("slept"), nil
	})
}

// markSleep submits test.mark_sleep and returns its future and a function that waits (bounded) until the
// task has begun in its worker and returns the worker's pid.
func markSleep(t *testing.T, pool *cfutures.Executor, d time.Duration, opts cfutures.SubmitOptions) (*cfutures.Future, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "started")
	f := ok(pool.SubmitNamedWith("test.mark_sleep", []byte(path+"\n"+d.String()), opts))
	t.Cleanup(func() { f.Close() })
	return f, func() string {
		t.Helper()
		deadline := time.Now().Add(patience)
		for {
			if pid, err := os.ReadFile(path); err == nil {
				return string(pid)
			}
			if time.Now().After(deadline) {
				t.Fatal("the task did not begin")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// patience bounds every wait for something that should happen soon; only a hang reaches it.
const patience = 30 * time.Second

func supervisedPool(t *testing.T, opts cfutures.ProcessPoolOptions) *cfutures.Executor {
	t.Helper()
	opts.SharedMemoryBytes = 8 << 20
	pool := ok(cfutures.NewProcessPool(opts))
	t.Cleanup(func() { pool.Close() })
	return pool
}

// countLog routes the library's log (the warnings of replaced workers would otherwise fill the test output) to
// a counter of messages per level, until the test ends.
func countLog(t *testing.T) func(cfutures.Level) int64 {
	var counts [cfutures.LevelError + 1]atomic.Int64
	cfutures.SetLogHandler(cfutures.LogHandlerFunc(func(level cfutures.Level, _ string) {
		if level >= 0 && level <= cfutures.LevelError {
			counts[level].Add(1)
		}
	}))
	t.Cleanup(func() { cfutures.SetLogHandler(nil) })
	return func(level cfutures.Level) int64 { return counts[level].Load() }
}

func stats(t *testing.T, pool *cfutures.Executor) cfutures.Stats {
	t.Helper()
	s, err := pool.Stats()
	noErr(t, err)
	return s
}

func wantStatus(t *testing.T, err error, status cfutures.Status, text string) {
	t.Helper()
	var ce *cfutures.Error
	if !errors.As(err, &ce) || ce.Status != status || !strings.Contains(err.Error(), text) {
		t.Fatalf("error %v (%#v): want status %v and %q", err, err, status, text)
	}
}

func TestNewStatusesAndOptions(t *testing.T) {
	if cfutures.StatusTimeLimit.String() != "CF_E_TIME_LIMIT" || cfutures.StatusWorkerDied.String() != "CF_E_WORKER_DIED" {
		t.Fatalf("%v / %v", cfutures.StatusTimeLimit, cfutures.StatusWorkerDied)
	}
	if cfutures.ErrTimeLimit.Error() == "" || cfutures.ErrWorkerDied.Error() == "" {
		t.Fatal("empty sentinel text")
	}
	// A time limit is not a wait's timeout (a loop retrying on ErrTimeout must not spin on it), and a dead
	// worker that was replaced is not a broken pool.
	if errors.Is(cfutures.ErrTimeLimit, cfutures.ErrTimeout) || errors.Is(cfutures.ErrTimeout, cfutures.ErrTimeLimit) ||
		errors.Is(cfutures.ErrWorkerDied, cfutures.ErrBrokenExecutor) {
		t.Fatal("unrelated sentinels match")
	}
	for level, want := range map[cfutures.Level]string{cfutures.LevelDebug: "DEBUG", cfutures.LevelInfo: "INFO",
		cfutures.LevelWarn: "WARN", cfutures.LevelError: "ERROR", cfutures.LevelInfo + 5: "INFO+5", 5: "DEBUG-5"} {
		if level.String() != want {
			t.Fatalf("level %d is %q, want %q", int(level), level.String(), want)
		}
	}
	if cfutures.LevelDebug != 10 || cfutures.LevelInfo != 20 || cfutures.LevelWarn != 30 || cfutures.LevelError != 40 {
		t.Fatal("levels differ from the library's")
	}
	_, err := cfutures.NewProcessPool(cfutures.ProcessPoolOptions{MaxRestarts: -1})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	_, err = cfutures.NewProcessPool(cfutures.ProcessPoolOptions{OnWorkerDeath: 7})
	wantIs(t, err, cfutures.ErrInvalidArgument)
	// Stats of a closed executor.
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1}))
	noErr(t, pool.Close())
	_, err = pool.Stats()
	wantIs(t, err, cfutures.ErrClosed)
	_, err = pool.SubmitWith(func() ([]byte, error) { return nil, nil }, cfutures.SubmitOptions{})
	wantIs(t, err, cfutures.ErrClosed)
}

// ---- process pools --------------------------------------------------------------------------------------

func TestProcessPoolTimeLimit(t *testing.T) {
	pool := supervisedPool(t, cfutures.ProcessPoolOptions{MaxWorkers: 2})
	limited, begun := markSleep(t, pool, 10*time.Second, cfutures.SubmitOptions{TimeLimit: 200 * time.Millisecond})
	// A sibling within its (generous) limit succeeds, on the other worker or on the one that replaces the
	// killed worker.
	sibling := ok(pool.SubmitNamedWith("test.sleep", []byte("300ms"), cfutures.SubmitOptions{TimeLimit: patience}))
	defer sibling.Close()
	begun()
	start := time.Now()
	_, err := limited.Result(patience)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the time limit of 0.2 s ended the task after %v", d)
	}
	wantIs(t, err, cfutures.ErrTimeLimit)
	if errors.Is(err, cfutures.ErrTimeout) || errors.Is(err, cfutures.ErrBrokenExecutor) {
		t.Fatalf("%v matches the wrong sentinel", err)
	}
	wantStatus(t, err, cfutures.StatusTimeLimit, "test.mark_sleep")
	if failure, err := limited.Exception(0); err != nil || !errors.Is(failure, cfutures.ErrTimeLimit) {
		t.Fatalf("Exception: %v, %v", failure, err)
	}
	if got := ok(sibling.Result(patience)); string(got) != "300ms" {
		t.Fatalf("sibling %q", got)
	}
	// The pool goes on (a worker is started again when one is needed); a kill for a time limit is no death.
	if got := ok(ok(pool.SubmitNamed("test.double", []byte("x"))).Result(patience)); string(got) != "xx" {
		t.Fatalf("after the time limit: %q", got)
	}
	s := stats(t, pool)
	if s.Completed != 2 || s.Failed != 1 || s.Cancelled != 0 || s.WorkerDeaths != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestProcessPoolCancelRunning(t *testing.T) {
	pool := supervisedPool(t, cfutures.ProcessPoolOptions{MaxWorkers: 1, CancelRunning: true})
	before := string(ok(ok(pool.SubmitNamed("test.pid", nil)).Result(patience)))
	running, begun := markSleep(t, pool, 30*time.Second, cfutures.SubmitOptions{})
	if pid := begun(); pid != before {
		t.Fatalf("the task runs in worker %s, not %s", pid, before)
	}
	if !running.Cancel() {
		t.Fatal("Cancel of a running task returned false")
	}
	if !running.Cancelled() || !running.Done() {
		t.Fatalf("cancelled %v done %v", running.Cancelled(), running.Done())
	}
	_, err := running.Result(0)
	wantIs(t, err, cfutures.ErrCancelled)
	// Its worker was killed: the next task runs in a new one.
	after := string(ok(ok(pool.SubmitNamed("test.pid", nil)).Result(patience)))
	if after == before {
		t.Fatalf("the worker %s survived the cancel", before)
	}
	s := stats(t, pool)
	if s.Completed != 2 || s.Cancelled != 1 || s.Failed != 0 || s.WorkerDeaths != 0 || s.WorkersReplaced < 1 {
		t.Fatalf("stats %+v", s)
	}
	// Closures stay refused with options too.
	_, err = pool.SubmitWith(func() ([]byte, error) { return nil, nil }, cfutures.SubmitOptions{TimeLimit: time.Second})
	wantIs(t, err, cfutures.ErrUnknownTask)
}

func TestProcessPoolReplaceDeadWorkers(t *testing.T) {
	logged := countLog(t)
	pool := supervisedPool(t, cfutures.ProcessPoolOptions{MaxWorkers: 2, OnWorkerDeath: cfutures.WorkerDeathReplace,
		MaxRestarts: 20})
	const n, crashEvery = 100, 10
	fs := make([]*cfutures.Future, n)
	for i := range fs {
		if i%crashEvery == crashEvery/2 {
			fs[i] = ok(pool.SubmitNamed("test.sigkill", nil))
		} else {
			fs[i] = ok(pool.SubmitNamed("test.double", []byte(fmt.Sprint(i))))
		}
		defer fs[i].Close()
	}
	results, died := 0, 0
	for i, f := range fs {
		got, err := f.Result(patience)
		if i%crashEvery == crashEvery/2 {
			wantIs(t, err, cfutures.ErrWorkerDied)
			if errors.Is(err, cfutures.ErrBrokenExecutor) {
				t.Fatalf("task %d: %v", i, err)
			}
			wantStatus(t, err, cfutures.StatusWorkerDied, "SIGKILL")
			died++
			continue
		}
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if want := strings.Repeat(fmt.Sprint(i), 2); string(got) != want {
			t.Fatalf("task %d: %q, want %q", i, got, want)
		}
		results++
	}
	if results != 90 || died != 10 {
		t.Fatalf("%d results, %d dead workers", results, died)
	}
	// The pool takes more work.
	if got := ok(ok(pool.SubmitNamed("test.double", []byte("more"))).Result(patience)); string(got) != "moremore" {
		t.Fatalf("after the deaths: %q", got)
	}
	s := stats(t, pool)
	// (Spawned workers start on demand: how many replacements the run needed depends on its timing.)
	if s.Completed != 91 || s.Failed != 10 || s.Cancelled != 0 || s.WorkerDeaths != 10 || s.WorkersReplaced < 1 ||
		s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	// Each death the pool survived was logged (before its task's future failed).
	if logged(cfutures.LevelWarn) != 10 || logged(cfutures.LevelError) != 0 {
		t.Fatalf("%d warnings, %d errors logged", logged(cfutures.LevelWarn), logged(cfutures.LevelError))
	}
}

func TestProcessPoolRestartIntensity(t *testing.T) {
	logged := countLog(t)
	pool := supervisedPool(t, cfutures.ProcessPoolOptions{MaxWorkers: 1, OnWorkerDeath: cfutures.WorkerDeathReplace,
		MaxRestarts: 2, RestartPeriod: time.Minute})
	// Two deaths are within the intensity: each fails only its task.
	for i := 0; i < 2; i++ {
		_, err := ok(pool.SubmitNamed("test.sigkill", nil)).Result(patience)
		wantIs(t, err, cfutures.ErrWorkerDied)
	}
	// The third within the minute breaks the pool.
	_, err := ok(pool.SubmitNamed("test.sigkill", nil)).Result(patience)
	wantIs(t, err, cfutures.ErrBrokenProcessPool)
	wantStatus(t, err, cfutures.StatusBrokenProcessPool, "more than 2 workers died")
	_, err = pool.SubmitNamed("test.double", nil)
	wantIs(t, err, cfutures.ErrBrokenProcessPool)
	if s := stats(t, pool); s.WorkerDeaths != 3 || s.Failed != 3 {
		t.Fatalf("stats %+v", s)
	}
	if logged(cfutures.LevelWarn) != 2 || logged(cfutures.LevelError) != 1 {
		t.Fatalf("%d warnings, %d errors logged", logged(cfutures.LevelWarn), logged(cfutures.LevelError))
	}
}

type logRecord struct {
	level cfutures.Level
	msg   string
}

// waitLog waits (bounded) for a record of the level whose message contains every part.
func waitLog(t *testing.T, records <-chan logRecord, level cfutures.Level, parts ...string) {
	t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case r := <-records:
			found := r.level == level
			for _, p := range parts {
				found = found && strings.Contains(r.msg, p)
			}
			if found {
				return
			}
		case <-timeout:
			t.Fatalf("no %v log message with %q", level, parts)
		}
	}
}

func TestLogHandler(t *testing.T) {
	records := make(chan logRecord, 256)
	cfutures.SetLogHandler(cfutures.LogHandlerFunc(func(level cfutures.Level, msg string) {
		select {
		case records <- logRecord{level, msg}:
		default: // never block the library's thread
		}
	}))
	t.Cleanup(func() { cfutures.SetLogHandler(nil) })

	pool := supervisedPool(t, cfutures.ProcessPoolOptions{MaxWorkers: 1, OnWorkerDeath: cfutures.WorkerDeathReplace})
	_, err := ok(pool.SubmitNamed("test.sigkill", nil)).Result(patience)
	wantIs(t, err, cfutures.ErrWorkerDied)
	waitLog(t, records, cfutures.LevelWarn, "SIGKILL", "test.sigkill", "a new worker takes its place")

	// A time limit's kill is reported at the INFO level, which the default (stderr) log leaves out.
	_, err = ok(pool.SubmitNamedWith("test.sleep", []byte("10s"), cfutures.SubmitOptions{TimeLimit: 100 * time.Millisecond})).Result(patience)
	wantIs(t, err, cfutures.ErrTimeLimit)
	waitLog(t, records, cfutures.LevelInfo, "test.sleep", "time limit")

	// A panicking handler is contained: the library goes on.
	cfutures.SetLogHandler(cfutures.LogHandlerFunc(func(cfutures.Level, string) { panic("handler bug") }))
	_, err = ok(pool.SubmitNamed("test.sigkill", nil)).Result(patience)
	wantIs(t, err, cfutures.ErrWorkerDied)
	if got := ok(ok(pool.SubmitNamed("test.double", []byte("y"))).Result(patience)); string(got) != "yy" {
		t.Fatalf("after the panicking handler: %q", got)
	}
	// A nil func is no handler: the default log again.
	cfutures.SetLogHandler(cfutures.LogHandlerFunc(nil))
}

// ---- thread pools ---------------------------------------------------------------------------------------

func TestThreadPoolTimeLimit(t *testing.T) {
	pool := threadPool(t, 2)
	started, release, ended := make(chan struct{}), make(chan struct{}), make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release) // let the thread go before the pool's Close waits for it
		}
	}()
	limited := ok(pool.SubmitWith(func() ([]byte, error) {
		defer close(ended)
		close(started)
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		return []byte("late"), nil
	}, cfutures.SubmitOptions{TimeLimit: 200 * time.Millisecond}))
	defer limited.Close()
	sibling := ok(pool.SubmitWith(func() ([]byte, error) { return []byte("sibling"), nil }, cfutures.SubmitOptions{TimeLimit: patience}))
	defer sibling.Close()
	<-started
	start := time.Now()
	_, err := limited.Result(patience)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the time limit of 0.2 s ended the task after %v", d)
	}
	wantIs(t, err, cfutures.ErrTimeLimit)
	wantStatus(t, err, cfutures.StatusTimeLimit, "")
	if errors.Is(err, cfutures.ErrTimeout) {
		t.Fatalf("%v matches ErrTimeout", err)
	}
	if got := ok(sibling.Result(patience)); string(got) != "sibling" {
		t.Fatalf("sibling %q", got)
	}
	// The closure cannot be stopped: it runs on, and its late result is discarded.
	close(release)
	<-ended
	_, err = limited.Result(0)
	wantIs(t, err, cfutures.ErrTimeLimit)
	ok(ok(pool.Submit(func() ([]byte, error) { return nil, nil })).Result(patience))
}

func TestThreadPoolCancelRunning(t *testing.T) {
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: 1, CancelRunning: true}))
	defer pool.Close()
	b := newBlocker()
	running := ok(pool.Submit(b.task))
	defer running.Close()
	<-b.started
	if !running.Cancel() {
		close(b.release)
		t.Fatal("Cancel of a running task returned false")
	}
	if !running.Cancelled() || !running.Done() {
		close(b.release)
		t.Fatalf("cancelled %v done %v", running.Cancelled(), running.Done())
	}
	_, err := running.Result(0)
	wantIs(t, err, cfutures.ErrCancelled)
	// The closure runs on until released; the single thread then takes the next task.
	close(b.release)
	if got := ok(ok(pool.Submit(func() ([]byte, error) { return []byte("next"), nil })).Result(patience)); string(got) != "next" {
		t.Fatalf("next %q", got)
	}
	_, err = running.Result(0)
	wantIs(t, err, cfutures.ErrCancelled)
	if s := stats(t, pool); s.Cancelled != 1 || s.Completed != 1 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestExecutorStats(t *testing.T) {
	pool := threadPool(t, 1)
	b := newBlocker()
	blocked := ok(pool.Submit(b.task))
	<-b.started
	var fs []*cfutures.Future
	for i := 0; i < 2; i++ {
		fs = append(fs, ok(pool.Submit(func() ([]byte, error) { return []byte("ok"), nil })))
	}
	fs = append(fs, ok(pool.Submit(func() ([]byte, error) { return nil, errors.New("failed") })))
	fs = append(fs, ok(pool.Submit(func() ([]byte, error) { panic("panicked") })))
	fs = append(fs, ok(pool.SubmitNamed("test.fail", nil)))
	var ranCancelled atomic.Int32
	var cancelled []*cfutures.Future
	for i := 0; i < 3; i++ {
		cancelled = append(cancelled, ok(pool.Submit(func() ([]byte, error) { ranCancelled.Add(1); return nil, nil })))
	}
	s := stats(t, pool)
	if s.Workers != 1 || s.Running != 1 || s.Queued != 8 || s.Completed+s.Failed+s.Cancelled != 0 {
		close(b.release)
		t.Fatalf("stats while blocked %+v", s)
	}
	for _, f := range cancelled {
		if !f.Cancel() {
			close(b.release)
			t.Fatal("a queued task was not cancelled")
		}
	}
	close(b.release)
	ok(blocked.Result(patience))
	for _, f := range append(fs, cancelled...) {
		f.Exception(patience)
	}
	s = stats(t, pool)
	if s.Completed != 3 || s.Failed != 3 || s.Cancelled != 3 || s.WorkerDeaths != 0 {
		t.Fatalf("stats after the run %+v", s)
	}
	if s.Completed+s.Failed+s.Cancelled != 9 || ranCancelled.Load() != 0 {
		t.Fatalf("stats %+v, cancelled tasks ran %d times", s, ranCancelled.Load())
	}
}
