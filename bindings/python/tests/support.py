# SPDX-License-Identifier: MIT
"""Shared by the tests: the C task library (tests/tasks.c), compiled once per run into the build directory."""
import os
import shlex
import subprocess
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.environ.get("CF_BINDINGS_BUILD_DIR") or "/tmp/cf-bindings-python"
_lock = threading.Lock()
_built = None

# A generous bound for waits that should end quickly: a hang fails the test instead of stalling the run.
LONG = 30.0


def tasks_library():
    """The path of the compiled tests/tasks.c (built with cc and pkg-config on first use, or when stale)."""
    global _built
    with _lock:
        if _built:
            return _built
        os.makedirs(BUILD_DIR, exist_ok=True)
        src = os.path.join(HERE, "tasks.c")
        out = os.path.join(BUILD_DIR, "libcftasks.so")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "cfutures"], check=True, capture_output=True,
                               text=True).stdout
        cmd = [os.environ.get("CC", "cc"), "-Wall", "-Wextra", "-O2", "-shared", "-fPIC", src,
               *shlex.split(flags), "-o", out + ".tmp"]
        subprocess.run(cmd, check=True)
        os.replace(out + ".tmp", out)
        _built = out
        return out
