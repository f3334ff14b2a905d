# SPDX-License-Identifier: MIT
"""cfutures.MpiPoolExecutor under mpiexec (world mode): run as ``mpiexec -n N python3 mpi_world.py``.

Rank 0 makes the pool and runs the tests; the other ranks serve inside the constructor and end with the pool.
Not a unittest module that discovery finds (it needs mpiexec): ctest runs it (tests/mpi/CMakeLists.txt)."""
import os
import sys
import tempfile
import time
import unittest

import cfutures

POOL = None


def square(x):
    return x * x


def divide(a, b):
    return a / b


def wait_for_file(path):
    """Holds a worker until path exists (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("the gate never opened")
        time.sleep(0.001)
    return os.getpid()


class MpiPoolTest(unittest.TestCase):
    def test_submit_and_map(self):
        self.assertEqual(POOL.submit(square, 12).result(30), 144)
        for chunksize in (1, 3, 50):
            self.assertEqual(list(POOL.map(square, range(40), chunksize=chunksize)), [x * x for x in range(40)])
        self.assertEqual(list(POOL.map(divide, [6, 8], [3, 4])), [2.0, 2.0])

    def test_exception_comes_back(self):
        f = POOL.submit(divide, 1, 0)
        with self.assertRaises(ZeroDivisionError):
            f.result(30)
        self.assertIsInstance(f.exception(30), ZeroDivisionError)
        it = POOL.map(divide, [1, 2, 3], [1, 0, 1])
        self.assertEqual(next(it), 1.0)
        with self.assertRaises(ZeroDivisionError):
            next(it)

    def test_as_completed_and_wait(self):
        fs = [POOL.submit(square, i) for i in range(20)]
        self.assertEqual(sorted(f.result() for f in cfutures.as_completed(fs, timeout=30)),
                         sorted(i * i for i in range(20)))
        done, not_done = cfutures.wait(fs, timeout=30)
        self.assertEqual((len(done), len(not_done)), (20, 0))

    def test_cancel_a_queued_call(self):
        with tempfile.TemporaryDirectory() as d:
            gate = os.path.join(d, "gate")
            holds = [POOL.submit(wait_for_file, gate) for _ in range(2 * POOL._max_workers)]
            deadline = time.monotonic() + 30
            while not all(h.running() for h in holds) and time.monotonic() < deadline:
                time.sleep(0.001)
            queued = POOL.submit(square, 3)
            self.assertTrue(queued.cancel())
            kept = POOL.submit(square, 4)
            open(gate, "w").close()
            self.assertEqual(len({h.result(30) for h in holds}) >= 1, True)
            self.assertTrue(queued.cancelled())
            self.assertEqual(kept.result(30), 16)


def main():
    global POOL
    POOL = cfutures.MpiPoolExecutor()   # ranks other than 0 serve here and never return
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    POOL.shutdown(wait=True)
    print("mpi python: %d run, %d failed" % (result.testsRun, len(result.failures) + len(result.errors)))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
