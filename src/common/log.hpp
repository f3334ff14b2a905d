// SPDX-License-Identifier: MIT
// The library's log: every message it would write to stderr goes through log_message, to the handler the
// program set (cf_set_log_handler / cf::set_log_handler) or, by default, to stderr. Safe to call from any
// thread and in a forked worker (no lock: the handler is one atomic pointer to an immutable record).
// Internal: no API.
#pragma once

#include <string>

#include <cfutures/executor.hpp>

namespace cf::detail {

void log_message(LogLevel level, const std::string &message);

}  // namespace cf::detail
