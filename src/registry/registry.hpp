// SPDX-License-Identifier: MIT
// The task registry: name <-> byte-string task, for executors that look tasks up by name (every executor, with
// cf_submit_named) or must find them again in another process (process pools). This is one of the two pieces of
// global mutable state the library keeps; it lives for the whole program. Internal: no API.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "executor/task_call.hpp"

namespace cf::core {

struct RegisteredTask {
    std::string name;
    TaskCall call;
};

// Registers call under name. The same name with the same function and user data again is a no-op; with another
// it throws InvalidArgument. An empty name is invalid.
void register_task(std::string_view name, const TaskCall &call);
std::optional<RegisteredTask> find_task(std::string_view name);
std::optional<RegisteredTask> find_task(const TaskCall &call);  // by function pointer

// A conflict met while registering at load time (CF_TASK constructors cannot report it); empty if none.
void record_load_time_conflict(std::string message);
std::string load_time_conflict();

}  // namespace cf::core
