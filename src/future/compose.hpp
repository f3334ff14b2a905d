// SPDX-License-Identifier: MIT
// Futures made of other futures: a continuation (then: a task run on an executor with the first future's result)
// and the joins when_all / when_any. They cost no thread while they wait: each is a done-callback on its inputs.
// Internal: no API.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "future/future_ref.hpp"

namespace cf::core {

// Submits the continuation's task with the bytes of the first future's result as its argument (copied before it
// returns), and gives the task's future. Given a target (the continuation's own future, pending), an executor
// that can may run the task to complete the target itself, and give the target back (a thread pool: no second
// future, no outcome to pass on).
using StepSubmit = std::function<FutureBase(std::string_view argument, const FutureBase *target)>;

// A future that becomes the outcome of the task submit() starts once `source` succeeds. A failure or cancellation
// of `source` passes to it without running the task; a submit that throws (the executor was shut down) fails it
// with that error. Cancelling it before the task runs cancels the task; once the task runs, cancelling it only
// asks the task to stop (the task's own future cannot be cancelled then) and discards its outcome.
FutureBase then(FutureState &source, StepSubmit submit);

// Whether `source` has succeeded already; if so, bytes receives its result's bytes (valid while it lives).
bool succeeded(FutureState &source, std::string_view &bytes) noexcept;

// A continuation failed by the library's exception being handled (a step's submit refused: a shut-down
// executor, an unknown name), with its status.
FutureBase failed_by_library_error();

// Completes the continuation's future from the bytes of the first future's result, on the thread that completes
// the first future (at once when it has succeeded already). The future is running meanwhile.
using InlineStep = std::function<void(std::string_view argument, FutureState &target)>;

// A continuation without an executor: step runs where `source` succeeds and completes the returned future itself
// (bytes, an object or a failure). A failure or cancellation of `source` passes on without running it, and so
// does cancelling the continuation before it runs.
FutureBase then_inline(FutureState &source, InlineStep step);

// Done when every input is: it succeeds (with no bytes) when all succeeded, and otherwise carries the first
// failure or cancellation seen. No input: done at once.
FutureBase when_all(const std::vector<FutureState *> &inputs);

// Done when the first input is: its result is that input's index, a std::uint64_t in this machine's byte order.
// Inputs done already count in their order. Needs at least one input.
FutureBase when_any(const std::vector<FutureState *> &inputs);

}  // namespace cf::core
