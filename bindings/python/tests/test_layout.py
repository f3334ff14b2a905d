# SPDX-License-Identifier: MIT
"""The ctypes structs of cfutures._lib against the C header: every field at the C offset with the C size.

A small C program, generated from the ctypes definitions and compiled against the installed header (cc and
pkg-config, as tests/tasks.c), prints offsetof / sizeof of each field and the size of each struct."""
import ctypes
import os
import shlex
import subprocess
import unittest

from cfutures import _lib

from .support import BUILD_DIR

STRUCTS = [_lib.cf_slice, _lib.cf_error, _lib.cf_thread_pool_options, _lib.cf_process_pool_options,
           _lib.cf_map_options, _lib.cf_submit_options, _lib.cf_executor_stats]


def c_layout():
    lines = ["#include <cfutures/cfutures.h>", "#include <stddef.h>", "#include <stdio.h>", "int main(void) {"]
    for struct in STRUCTS:
        name = struct.__name__
        lines.append('    printf("%s %%zu\\n", sizeof(%s));' % (name, name))
        for field, _ in struct._fields_:
            lines.append('    printf("%s.%s %%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s *)0)->%s));'
                         % (name, field, name, field, name, field))
    lines += ["    return 0;", "}"]
    return run_c_program("layout", lines).splitlines()


def run_c_program(name, lines):
    """Compiles the C program of these lines against the installed header (cc and pkg-config) and returns what
    it prints. It needs nothing of the library itself: no sanitizer runtime, no LD_PRELOAD."""
    os.makedirs(BUILD_DIR, exist_ok=True)
    src = os.path.join(BUILD_DIR, name + ".c")
    exe = os.path.join(BUILD_DIR, name)
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    flags = subprocess.run(["pkg-config", "--cflags", "cfutures"], check=True, capture_output=True,
                           text=True).stdout
    subprocess.run([os.environ.get("CC", "cc"), "-Wall", src, *shlex.split(flags), "-o", exe], check=True)
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return subprocess.run([exe], check=True, capture_output=True, text=True, env=env).stdout


def ctypes_layout():
    lines = []
    for struct in STRUCTS:
        name = struct.__name__
        lines.append("%s %d" % (name, ctypes.sizeof(struct)))
        for field, _ in struct._fields_:
            descriptor = getattr(struct, field)
            lines.append("%s.%s %d %d" % (name, field, descriptor.offset, descriptor.size))
    return lines


class LayoutTest(unittest.TestCase):
    def test_structs_match_the_header(self):
        self.assertEqual(ctypes_layout(), c_layout())

    def test_new_fields_are_known_to_the_loaded_library(self):
        # The installed library fills struct_size with its own sizeof: it knows every field the binding sets.
        for struct, init, last in [
                (_lib.cf_thread_pool_options, _lib.cf_thread_pool_options_init, "cancel_running"),
                (_lib.cf_process_pool_options, _lib.cf_process_pool_options_init, "restart_period"),
                (_lib.cf_submit_options, _lib.cf_submit_options_init, "time_limit")]:
            with self.subTest(struct=struct.__name__):
                opts = _lib.new_options(struct, init)
                self.assertTrue(_lib.has_field(opts, last))
        submit = _lib.new_options(_lib.cf_submit_options, _lib.cf_submit_options_init)
        self.assertEqual(submit.time_limit, _lib.CF_FOREVER)   # the default: no limit


if __name__ == "__main__":
    unittest.main()


def c_status_map():
    """(name, value, python exception) for every status of the header's one list, cf_status_map.h."""
    lines = ["#include <cfutures/cfutures.h>", "#include <stdio.h>", "int main(void) {",
             "#define ENTRY(c_name, value, cxx, cxx_exception, python_exception, text) \\",
             '    printf("%s %d %s\\n", #c_name, (int)(value), python_exception[0] ? python_exception : "-");',
             "    CF_STATUS_MAP(ENTRY)", "    return 0;", "}"]
    out = run_c_program("status_map", lines)
    return [(name, int(value), exc) for name, value, exc in (line.split() for line in out.splitlines())]


class StatusMapTest(unittest.TestCase):
    def test_every_status_has_its_constant_name_and_exception(self):
        entries = c_status_map()
        self.assertGreaterEqual(len(entries), 17)
        for name, value, exception in entries:
            with self.subTest(status=name):
                self.assertEqual(getattr(_lib, name), value, "cfutures._lib.%s" % name)
                self.assertEqual(_lib.status_name(value), name)
                if exception == "-":
                    self.assertGreaterEqual(value, 0)
                elif name == "CF_E_TASK_FAILED":
                    # A task's failure is raised as TaskError (or, on a thread pool, the task's own exception).
                    self.assertEqual(_lib.TaskError("T", "m").status, value)
                    self.assertEqual(_lib.TaskError.__name__, exception)
                else:
                    error = _lib.make_error(value, "test", "message")
                    self.assertEqual(type(error).__name__, exception)
                    self.assertEqual(error.status, value)
