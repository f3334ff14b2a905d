// SPDX-License-Identifier: MIT

package cfutures_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"cfutures"
)

// Tasks for the process-pool tests, registered in init so that the spawned workers (this test binary started
// again) register them too.
func init() {
	cfutures.MustRegisterTask("test.double", func(b []byte) ([]byte, error) {
		return append(b, b...), nil
	})
	cfutures.MustRegisterTask("test.pid", func([]byte) ([]byte, error) {
		return []byte(fmt.Sprint(os.Getpid())), nil
	})
	cfutures.MustRegisterTask("test.is_prime", func(b []byte) ([]byte, error) {
		if len(b) != 8 {
			return nil, typedError{"ValueError", "is_prime wants one 8-byte number"}
		}
		if isPrime(binary.LittleEndian.Uint64(b)) {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	})
	cfutures.MustRegisterTask("test.fail", func(b []byte) ([]byte, error) {
		return nil, typedError{"ValueError", "bad input " + string(b)}
	})
	cfutures.MustRegisterTask("test.nil_deref", func([]byte) ([]byte, error) {
		var p *int
		return []byte{byte(*p)}, nil // a nil dereference: a panic, in the worker too
	})
	cfutures.MustRegisterTask("test.sigkill", func([]byte) ([]byte, error) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // not reached
	})
	cfutures.MustRegisterTask("test.sigabrt", func([]byte) ([]byte, error) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGABRT) // what C abort() raises
		select {}
	})
	cfutures.MustRegisterTask("test.sleep", func(b []byte) ([]byte, error) {
		d, _ := time.ParseDuration(string(b))
		time.Sleep(d)
		return b, nil
	})
}

func TestMain(m *testing.M) {
	// First thing: in a spawned worker this serves tasks and never returns.
	if err := cfutures.WorkerEntry(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

type typedError struct{ typ, msg string }

func (e typedError) Error() string         { return e.msg }
func (e typedError) TaskErrorType() string { return e.typ }

// The docs' is_prime: trial division by the odd numbers up to the square root.
func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for i := uint64(3); i*i <= n; i += 2 {
		if n%i == 0 {
			return false
		}
	}
	return true
}

func u64(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

// ok returns v, or panics on an error that no test expects (the panic fails the test and names it).
func ok[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func threadPool(t *testing.T, workers int) *cfutures.Executor {
	t.Helper()
	pool := ok(cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: workers}))
	t.Cleanup(func() { pool.Close() })
	return pool
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v (%T) is not %v", err, err, target)
	}
}
