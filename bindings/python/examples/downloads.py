# SPDX-License-Identifier: MIT
"""20 simulated downloads (each waits 100 ms, as a network round trip would), one after another and then on a
20-thread cfutures pool: the I/O-bound example of the concurrent.futures docs.

Run: PYTHONPATH=bindings/python python3 bindings/python/examples/downloads.py
Exits non-zero if a result is wrong or the pool is not faster."""
import sys
import time

from cfutures import ThreadPoolExecutor, as_completed

URLS = ["https://example.org/%s" % name for name in
        ["a", "bb", "ccc", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"]]


def download(url):
    time.sleep(0.1)                    # the network; sleep releases the GIL, as real I/O does
    return 1000 + len(url) * 37        # the "page size"


def main():
    t0 = time.monotonic()
    expected = {url: download(url) for url in URLS}
    sequential = time.monotonic() - t0

    t0 = time.monotonic()
    got = {}
    with ThreadPoolExecutor(max_workers=20, thread_name_prefix="download") as pool:
        futures = {pool.submit(download, url): url for url in URLS}
        for future in as_completed(futures):
            got[futures[future]] = future.result()
    pooled = time.monotonic() - t0

    total = sum(got.values())
    print("downloads: %d pages (%d bytes): sequential %.2f s, 20-thread pool %.2f s (%.1fx faster)"
          % (len(got), total, sequential, pooled, sequential / pooled))
    if got != expected:
        print("downloads: the pool's results differ from the sequential ones", file=sys.stderr)
        return 1
    if pooled > sequential / 2:
        print("downloads: the pool was not faster (%.2f s against %.2f s)" % (pooled, sequential), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
