// SPDX-License-Identifier: MIT
// TaskContext: the result or failure a byte-string task produces while it runs, and the code that runs a
// TaskCall and turns what it produced into the future's outcome. Shared by both executors. Internal: no API.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "executor/task_call.hpp"
#include "future/future_state.hpp"

namespace cf::core {

// Where a running task's result bytes go, when not into the context's own string: a process-pool worker puts
// them straight into shared memory. allocate() replaces any earlier block and returns nullptr when there is no
// room for len bytes.
class ResultSink {
public:
    virtual void *allocate(std::size_t len) = 0;
    virtual std::string describe_capacity() const = 0;  // for the "too large" message

protected:
    ~ResultSink() = default;
};

// What a cf_task_ctx handle is: the result or failure of the task that runs with it.
class TaskContext {
public:
    static constexpr std::uint32_t kTag = 0x43465443;  // "CFTC"
    bool tag_ok() const noexcept { return tag_ == kTag; }

    explicit TaskContext(const FutureState *future, ResultSink *sink = nullptr)
        : future_(future), sink_(sink) {}
    // In a worker process: cancellation is asked by the parent writing this task's id into word.
    void watch_remote_cancel(const std::atomic<std::uint64_t> *word, std::uint64_t id) {
        remote_word_ = word;
        remote_id_ = id;
    }
    ~TaskContext() { tag_ = 0; }
    TaskContext(const TaskContext &) = delete;
    TaskContext &operator=(const TaskContext &) = delete;

    // Both return false (having recorded a TooLarge failure) when a sink has no room.
    bool return_bytes(std::string_view bytes);
    void *return_buffer(std::size_t len);
    void raise(std::string type, std::string message, std::string detail = {});
    // Objects stay in their process: false (nothing recorded; the object is destroyed) in a worker process.
    bool return_object(std::unique_ptr<ForeignObject> object);
    bool raise_object(std::unique_ptr<ForeignObject> object, std::string type, std::string message,
                      std::string detail);
    bool cancel_requested() const noexcept {
        if (remote_word_) return remote_word_->load(std::memory_order_acquire) == remote_id_;
        return future_ && future_->cancel_requested();
    }

    std::string &result() noexcept { return result_; }
    std::unique_ptr<ForeignObject> &result_object() noexcept { return object_; }
    const std::string &allocation_error() const noexcept { return allocation_error_; }
    // The failure the task raised, if it did.
    std::optional<Failure> &raised() noexcept { return raised_; }

private:
    std::uint32_t tag_ = kTag;
    const FutureState *future_;
    ResultSink *sink_;
    const std::atomic<std::uint64_t> *remote_word_ = nullptr;
    std::uint64_t remote_id_ = 0;
    std::string result_;
    std::unique_ptr<ForeignObject> object_;  // the result, when the task returned an object
    std::optional<Failure> raised_;
    bool allocation_failed_ = false;  // raised_ is a failed return_buffer's, which a later result replaces
    std::string allocation_error_;    // why the last return_buffer failed
};

// The outcome of one byte-string task: its result bytes, or its failure.
struct TaskOutcome {
    std::string result;
    std::unique_ptr<ForeignObject> object;  // the result instead of the bytes, when the task returned an object
    std::optional<Failure> failure;
};

// The context of the task running on this thread (the innermost one), or nullptr.
TaskContext *current_task() noexcept;

// Calls the task (catching any C++ exception it lets escape) and reports what it produced. With a sink, the
// result bytes are in the sink, not in the outcome.
// In a worker process, where a cancellation request arrives: the word and the task's id.
struct RemoteCancel {
    const std::atomic<std::uint64_t> *word = nullptr;
    std::uint64_t id = 0;
};

TaskOutcome run_task_call(const TaskCall &call, const FutureState *future, std::string_view arg,
                          ResultSink *sink = nullptr, RemoteCancel remote = {});
// Completes f with an outcome: its failure, its object or its bytes. False when f was done already.
bool complete_with(FutureState &f, TaskOutcome out);

}  // namespace cf::core
