// SPDX-License-Identifier: MIT
// The C handle of an executor, holding the core executor as cf_future is the future's state itself, and how a
// cf_task_fn becomes the core's TaskCall.
#pragma once

#include <memory>

#include <cfutures/cfutures.h>
#include "common/handle_storage.hpp"
#include "executor/executor_core.hpp"
#include "capi/capi_support.hpp"

// Allocated through handle storage (see src/common/handle_storage.hpp) so that a freed executor handle is an
// error, not a use-after-free.
struct cf_executor : cf::core::TaggedHandle<0x43464558> {  // "CFEX"
    explicit cf_executor(std::shared_ptr<cf::core::ExecutorCore> c) noexcept : core(std::move(c)) {}
    // Freeing the handle shuts the executor down and waits, as leaving Python's `with` block does.
    ~cf_executor() { cf::core::ExecutorCore::retire(core); }  // core stays set: running tasks may still submit
    std::shared_ptr<cf::core::ExecutorCore> core;
};

namespace cf::capi {

inline cf::core::TaskCall c_task_call(cf_task_fn fn, void *user_data) { return cf::core::TaskCall{fn, user_data}; }

// The core's options for a task from the C struct (read and checked by read_options first).
inline cf::core::SubmitOptions submit_options(const cf_submit_options &o) {
    cf::core::SubmitOptions out;
    out.time_limit = o.time_limit;
    return out;
}

// The executor behind a handle, or null for anything that is not a live cf_executor.
inline cf_executor *executor_of(cf_executor *ex) { return handle_cast<cf_executor>(ex); }

// Gives a new future to the caller: the C handle takes over the FutureBase's reference (no count traffic on a
// line a worker may be using).
inline int hand_out(cf_future **out, cf::core::FutureBase future) {
    *out = reinterpret_cast<cf_future *>(future.release_handle());
    return CF_OK;
}

}  // namespace cf::capi
