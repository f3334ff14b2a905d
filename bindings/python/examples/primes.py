# SPDX-License-Identifier: MIT
"""The CPU-bound example of the concurrent.futures docs: is each of six large numbers prime? The check is a C task
(trial division by odd numbers up to the square root) run on a cfutures ProcessPoolExecutor.

Process-pool tasks are C functions registered by name, so this script compiles its own small task library
first (needs cc and pkg-config finding cfutures), loads it, and maps the numbers over the pool.

Run: PYTHONPATH=bindings/python python3 bindings/python/examples/primes.py
Exits non-zero on a wrong answer."""
import os
import shlex
import struct
import subprocess
import sys
import tempfile
import time

from cfutures import ProcessPoolExecutor

TASK_SOURCE = r"""
#include <cfutures/cfutures.h>
#include <stdint.h>
#include <string.h>

static int is_prime(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint64_t n, i;
    unsigned char verdict;
    (void)user_data;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "is_prime wants one 8-byte number");
    memcpy(&n, arg, sizeof n);
    verdict = n == 2 || (n > 2 && n % 2 == 1);
    for (i = 3; verdict && i <= n / i; i += 2)
        if (n % i == 0) verdict = 0;
    return cf_task_return(ctx, &verdict, 1);
}
CF_TASK("example.is_prime", is_prime);   /* registered by name when the library is loaded */
"""

PRIMES = [112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419]
EXPECTED = [True, True, True, True, True, False]


def build_task_library(directory):
    """Compiles TASK_SOURCE into a shared library linked against libcfutures; returns its path."""
    source = os.path.join(directory, "primes_tasks.c")
    library = os.path.join(directory, "libprimes_tasks.so")
    with open(source, "w") as f:
        f.write(TASK_SOURCE)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "cfutures"], check=True, capture_output=True,
                           text=True).stdout
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", source, *shlex.split(flags), "-o", library], check=True)
    return library


def main():
    with tempfile.TemporaryDirectory(prefix="cfutures-primes-") as tmp:
        library = build_task_library(tmp)
        t0 = time.monotonic()
        with ProcessPoolExecutor(library=library) as pool:   # one worker per CPU, started by a forkserver
            args = (struct.pack("<Q", n) for n in PRIMES)    # the task takes the number as 8 bytes
            verdicts = [result == b"\x01" for result in pool.map("example.is_prime", args)]
        elapsed = time.monotonic() - t0
    for number, prime in zip(PRIMES, verdicts):
        print("%d is prime: %s" % (number, prime))
    print("primes: process pool %.3f s (including start and shutdown)" % elapsed)
    if verdicts != EXPECTED:
        print("primes: wrong answer: %s, expected %s" % (verdicts, EXPECTED), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
