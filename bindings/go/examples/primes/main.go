// SPDX-License-Identifier: MIT

// The CPU-bound example of Python's concurrent.futures docs: is each of six large numbers prime? Computed
// sequentially, then on a process pool whose workers are this program started again (the spawn method), and
// checked against each other and against the known answers.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"cfutures"
)

var primes = []uint64{112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419}

// The docs' answers: all prime but the last.
var want = []bool{true, true, true, true, true, false}

// isPrime is the docs' trial division by the odd numbers up to the square root.
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

// Registered in init, so that a spawned worker (this program again) has it before WorkerEntry.
func init() {
	cfutures.MustRegisterTask("primes.is_prime", func(arg []byte) ([]byte, error) {
		if len(arg) != 8 {
			return nil, fmt.Errorf("is_prime wants one 8-byte number, got %d bytes", len(arg))
		}
		if isPrime(binary.LittleEndian.Uint64(arg)) {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	})
}

func run() error {
	start := time.Now()
	sequential := make([]bool, len(primes))
	for i, n := range primes {
		sequential[i] = isPrime(n)
	}
	seqTime := time.Since(start)

	start = time.Now()
	pool, err := cfutures.NewProcessPool(cfutures.ProcessPoolOptions{}) // one worker per CPU, spawned
	if err != nil {
		return err
	}
	defer pool.Close()
	args := make([][]byte, len(primes))
	for i, n := range primes {
		args[i] = binary.LittleEndian.AppendUint64(nil, n)
	}
	results, err := pool.MapNamed("primes.is_prime", args, cfutures.MapOptions{})
	if err != nil {
		return err
	}
	defer results.Close()
	var pooled []bool
	for results.Next() {
		pooled = append(pooled, results.Value()[0] == 1)
	}
	if err := results.Err(); err != nil {
		return err
	}
	if err := pool.Close(); err != nil {
		return err
	}
	poolTime := time.Since(start)

	if len(pooled) != len(primes) {
		return fmt.Errorf("%d results for %d numbers", len(pooled), len(primes))
	}
	for i, n := range primes {
		fmt.Printf("%d is prime: %v\n", n, pooled[i])
		if pooled[i] != want[i] || sequential[i] != want[i] {
			return fmt.Errorf("wrong answer for %d: pool %v, sequential %v, want %v", n, pooled[i], sequential[i], want[i])
		}
	}
	fmt.Printf("sequential %.3f s, process pool %.3f s (%.1fx, including starting the workers)\n",
		seqTime.Seconds(), poolTime.Seconds(), seqTime.Seconds()/poolTime.Seconds())
	return nil
}

func main() {
	// First thing: in a spawned worker this serves tasks and never returns.
	if err := cfutures.WorkerEntry(); err != nil {
		fmt.Fprintln(os.Stderr, "primes:", err)
		os.Exit(1)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "primes:", err)
		os.Exit(1)
	}
}
