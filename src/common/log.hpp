// SPDX-License-Identifier: MIT
// The library's log: every message it would write to stderr goes through log_message, to the handler the
// program set (cf_set_log_handler / cf::set_log_handler) or, by default, to stderr. Safe to call from any
// thread and in a forked worker (no lock: the handler is one atomic pointer to an immutable record).
// Internal: no API.
#pragma once

#include <string>

#include <cfutures/cfutures.h>

namespace cf::core {

// Levels as Python's logging numbers them (the C ABI's cf_log_level).
enum class LogLevel : int { Debug = 10, Info = 20, Warning = 30, Error = 40 };

void log_message(LogLevel level, const std::string &message);
// Where messages go from now on: fn (NULL: back to stderr, warnings and errors only). Process-wide.
void set_log_handler(cf_log_fn fn, void *user_data);

}  // namespace cf::core
