// SPDX-License-Identifier: MIT
// What executors run: a TaskCall (a C ABI task function and its user data: every task, the C++ API's included,
// reaches the core as one), the core's own Jobs (a map chunk), and the source of map arguments.
// Internal: no API.
#pragma once

#include <functional>
#include <string_view>

#include <cfutures/cfutures.h>

namespace cf::core {

struct TaskCall {
    cf_task_fn fn = nullptr;
    void *user_data = nullptr;
};

class PromiseBase;

// Work of the core's own that a thread pool runs: run() completes the promise.
class Job {
public:
    virtual ~Job() = default;
    virtual void run(PromiseBase &promise) = 0;
};

// Supplies map arguments one at a time; false at the end. The view must stay valid until the next call.
using ArgSource = std::function<bool(std::string_view &next)>;

}  // namespace cf::core
