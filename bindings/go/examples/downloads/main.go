// SPDX-License-Identifier: MIT

// The I/O-bound example of Python's concurrent.futures docs: 20 simulated downloads (each a 100 ms wait that
// returns the page's size), one after another and then on a 20-thread pool. The example checks that both give
// the same sizes and that the pool ran the waits side by side.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"cfutures"
)

// download pretends to fetch url: a 100 ms round trip, then the page's size.
func download(url string) uint32 {
	time.Sleep(100 * time.Millisecond)
	return 1000 + uint32(len(url))*37
}

func run() error {
	urls := make([]string, 20)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://example.org/%s", string(rune('a'+i)))
	}

	start := time.Now()
	var sequential uint32
	for _, url := range urls {
		sequential += download(url)
	}
	seqTime := time.Since(start)

	start = time.Now()
	pool, err := cfutures.NewThreadPool(cfutures.ThreadPoolOptions{MaxWorkers: len(urls), ThreadNamePrefix: "download"})
	if err != nil {
		return err
	}
	defer pool.Close()
	futures := make([]*cfutures.Future, len(urls))
	for i, url := range urls {
		url := url
		futures[i], err = pool.Submit(func() ([]byte, error) {
			return binary.LittleEndian.AppendUint32(nil, download(url)), nil
		})
		if err != nil {
			return err
		}
		defer futures[i].Close()
	}
	var pooled uint32
	it, err := cfutures.AsCompleted(futures, 10*time.Second)
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	for it.Next() {
		page, err := it.Future().Result(0)
		if err != nil {
			return err
		}
		pooled += binary.LittleEndian.Uint32(page)
		n++
	}
	if err := it.Err(); err != nil {
		return err
	}
	poolTime := time.Since(start)

	fmt.Printf("%d pages (%d bytes): sequential %.2f s, %d-thread pool %.2f s (%.1fx faster)\n",
		n, pooled, seqTime.Seconds(), len(urls), poolTime.Seconds(), seqTime.Seconds()/poolTime.Seconds())
	if n != len(urls) || pooled != sequential {
		return fmt.Errorf("the pool got %d pages of %d bytes, sequentially %d pages of %d bytes", n, pooled, len(urls), sequential)
	}
	if poolTime > seqTime/2 {
		return fmt.Errorf("the pool took %v, not much less than %v sequentially: the downloads did not overlap", poolTime, seqTime)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "downloads:", err)
		os.Exit(1)
	}
}
