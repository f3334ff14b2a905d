// SPDX-License-Identifier: MIT
#include "executor/task_context.hpp"

#include "common/memory_limit.hpp"

#include <cstring>
#include <utility>

namespace cf::core {

void TaskContext::raise(std::string type, std::string message, std::string detail) {
    allocation_failed_ = false;
    raised_ = make_failure(Status::TaskFailed, std::move(type), std::move(message));
    raised_->detail = std::move(detail);
}

bool TaskContext::return_object(std::unique_ptr<ForeignObject> object) {
    if (!future_) return false;  // a worker process: its objects cannot reach the parent
    object_ = std::move(object);
    result_.clear();
    if (allocation_failed_) raised_.reset(), allocation_failed_ = false;
    return true;
}

bool TaskContext::raise_object(std::unique_ptr<ForeignObject> object, std::string type,
                                     std::string message, std::string detail) {
    if (!future_) return false;
    raise(std::move(type), std::move(message));
    raised_->detail = std::move(detail);
    raised_->object = std::move(object);
    return true;
}

bool TaskContext::return_bytes(std::string_view bytes) {
    object_.reset();
    if (!sink_) {
        result_.assign(bytes.data(), bytes.size());
        if (allocation_failed_) raised_.reset(), allocation_failed_ = false;
        return true;
    }
    void *p = return_buffer(bytes.size());
    if (p && !bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    return p != nullptr;
}

void *TaskContext::return_buffer(std::size_t len) {
    object_.reset();
    void *p = nullptr;
    if (larger_than_memory(len)) {
        // Not even tried: an impossible size (a wrapped length) must not reach an allocator.
    } else if (!sink_) {
        result_.assign(len, '\0');
        p = result_.data();
    } else {
        p = sink_->allocate(len);
    }
    if (p) {
        // A task that got no buffer earlier may still return something else: that replaces the failure.
        if (allocation_failed_) raised_.reset();
        allocation_failed_ = false;
        return p;
    }
    allocation_error_ = "a result of " + std::to_string(len) + " bytes does not fit " +
                        (sink_ ? sink_->describe_capacity() : std::string("in memory"));
    if (!raised_ || allocation_failed_) {  // what the task raised itself stands
        raised_ = make_failure(Status::TooLarge, "TooLargeError", allocation_error_);
        allocation_failed_ = true;
    }
    return nullptr;
}


namespace {
thread_local TaskContext *t_current_task = nullptr;
}

TaskContext *current_task() noexcept { return t_current_task; }

TaskOutcome run_task_call(const TaskCall &call, const FutureState *future, std::string_view arg,
                          ResultSink *sink, RemoteCancel remote) {
    TaskContext impl(future, sink);
    if (remote.word) impl.watch_remote_cancel(remote.word, remote.id);
    TaskOutcome out;
    int rc = 0;
    // What cf_task_current() gives, for as long as the task runs (restored after: a waiting task may run others).
    struct Current {
        TaskContext *previous = t_current_task;
        explicit Current(TaskContext *now) noexcept { t_current_task = now; }
        ~Current() { t_current_task = previous; }
    } current(&impl);
    try {
        rc = call.fn(reinterpret_cast<cf_task_ctx *>(&impl), arg.data(), arg.size(), call.user_data);
    } catch (...) {
        out.failure = describe_exception(std::current_exception());
        return out;
    }
    if (impl.raised()) {
        out.failure = std::move(*impl.raised());
    } else if (rc != 0) {
        out.failure = make_failure(Status::TaskFailed, "cf_task_error", "task returned " + std::to_string(rc));
    } else {
        out.result = std::move(impl.result());
        out.object = std::move(impl.result_object());
    }
    return out;
}

bool complete_with(FutureState &f, TaskOutcome out) {
    if (out.failure) return f.set_failure(std::move(*out.failure));
    if (out.object) return f.set_value(std::move(out.object));
    return f.set_bytes(std::move(out.result));
}

}  // namespace cf::core
