// SPDX-License-Identifier: MIT
// Continuations whose step is a task (cf_future_then*, cf_future_then_named, cf_future_then_inline): on an
// executor, core::then with the step submitted at once, and no step function made, when the first future has
// succeeded already; inline, core::then_inline. Internal: no API.
#pragma once

#include <memory>
#include <string>

#include "common/types.hpp"
#include "executor/executor_core.hpp"
#include "executor/task_call.hpp"
#include "future/foreign_object.hpp"
#include "future/future_ref.hpp"

namespace cf::core {

// The task call on `executor` with the bytes of source's result; user_data is released once, when the task has
// run or will never run.
FutureBase then_call(FutureState &source, const std::shared_ptr<ExecutorCore> &executor, const TaskCall &call,
                     const SubmitOptions &options, UserDataRelease release);

// The task registered under `name`, run by `executor` (a process pool runs it in a worker).
FutureBase then_named(FutureState &source, const std::shared_ptr<ExecutorCore> &executor, std::string name);

// The task call run on the thread that completes `source` (within this call if it has succeeded already), its
// outcome the returned future's; user_data is released once, when it has run or will never run.
FutureBase then_inline_call(FutureState &source, const TaskCall &call, UserDataRelease release);

}  // namespace cf::core
