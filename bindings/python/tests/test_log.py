# SPDX-License-Identifier: MIT
"""The library's log as records of the logger "cfutures" (cfutures._log); the pools' messages themselves are
tested with the process pools (test_process_pool: a replaced worker, a time limit, a broken pool)."""
import logging
import os
import tempfile
import unittest

import cfutures
from cfutures import _lib, _log


class LibraryLogTest(unittest.TestCase):
    def test_installed_on_import(self):
        self.assertTrue(_log._enabled)
        self.assertIs(_log.LOGGER, logging.getLogger("cfutures"))

    def test_levels_and_messages_as_given(self):
        with self.assertLogs("cfutures", "DEBUG") as logs:
            for level in (_lib.CF_LOG_DEBUG, _lib.CF_LOG_INFO, _lib.CF_LOG_WARNING, _lib.CF_LOG_ERROR):
                _log._on_library_log(level, b"level %d, 100%% sure" % level, None)
            _log._on_library_log(_lib.CF_LOG_WARNING, b"not utf-8: \xff", None)
        self.assertEqual([r.levelno for r in logs.records], [10, 20, 30, 40, 30])
        self.assertEqual(logs.records[1].getMessage(), "level 20, 100% sure")   # no %-formatting of the text
        self.assertEqual(logs.records[4].getMessage(), "not utf-8: \ufffd")
        self.assertTrue(all(r.name == "cfutures" for r in logs.records))

    def test_disabled_levels_make_no_record(self):
        logger = logging.getLogger("cfutures")
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            _log._on_library_log(_lib.CF_LOG_INFO, b"quiet", None)
            _log._on_library_log(_lib.CF_LOG_ERROR, b"loud", None)
        finally:
            logger.setLevel(old_level)
            logger.removeHandler(handler)
        self.assertEqual([r.getMessage() for r in records], ["loud"])

    def test_in_a_process_the_library_forked_it_writes_to_stderr(self):
        # As in a worker forked by the library (no Python at-fork hook ran): the logging module is not used.
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("cfutures").addHandler(handler)
        owner = _log._owner_pid
        stderr_copy = os.dup(2)
        try:
            with tempfile.TemporaryFile() as err:
                os.dup2(err.fileno(), 2)
                try:
                    _log._owner_pid = owner + 1
                    _log._on_library_log(_lib.CF_LOG_ERROR, b"worker 1: its task ring was overwritten", None)
                    _log._on_library_log(_lib.CF_LOG_INFO, b"not shown", None)
                finally:
                    _log._owner_pid = owner
                    os.dup2(stderr_copy, 2)
                err.seek(0)
                written = err.read()
        finally:
            os.close(stderr_copy)
            logging.getLogger("cfutures").removeHandler(handler)
        self.assertEqual(written, b"cfutures: worker 1: its task ring was overwritten\n")
        self.assertEqual(records, [])

    def test_use_python_logging_switches_and_returns_the_previous_setting(self):
        try:
            self.assertTrue(cfutures.use_python_logging(False))
            self.assertFalse(_log._enabled)
            self.assertFalse(cfutures.use_python_logging(False))
            self.assertFalse(cfutures.use_python_logging(True))
        finally:
            cfutures.use_python_logging(True)
        self.assertTrue(_log._enabled)

    def test_a_handler_that_raises_does_not_escape(self):
        logger = logging.getLogger("cfutures")

        class Broken(logging.Handler):
            def emit(self, record):
                raise RuntimeError("handler broke")

            def handleError(self, record):
                raise RuntimeError("handleError broke too")

        handler = Broken()
        logger.addHandler(handler)
        try:
            _log._on_library_log(_lib.CF_LOG_ERROR, b"x", None)   # swallowed: nothing may cross into C
        finally:
            logger.removeHandler(handler)


if __name__ == "__main__":
    unittest.main()
