// SPDX-License-Identifier: MIT
// The C handles that wrap C++ objects, and how a cf_task_fn becomes a cf::TaskCall.
#pragma once

#include <cstdint>
#include <memory>

#include <cfutures/cfutures.h>
#include <cfutures/executor.hpp>
#include "common/handle_storage.hpp"

// Allocated through handle storage (see src/common/handle_storage.hpp) so that a freed executor handle is an
// error, not a use-after-free.
struct cf_executor : cf::detail::TaggedHandle<0x43464558> {  // "CFEX"
    std::unique_ptr<cf::Executor> executor;
};

namespace cf::capi {

// Calls a C task: the TaskCall keeps the cf_task_fn as a generic function pointer; it is cast back here.
int invoke_c_task(const TaskCall &call, TaskContext &ctx, const void *arg, std::size_t len);

inline TaskCall c_task_call(cf_task_fn fn, void *user_data) {
    TaskCall call;
    call.invoke = invoke_c_task;
    call.fn = reinterpret_cast<void (*)()>(fn);
    call.user_data = user_data;
    return call;
}

}  // namespace cf::capi
