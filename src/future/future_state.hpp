// SPDX-License-Identifier: MIT
// FutureState: the shared state behind every future (cf::FutureBase, cf_future): the state machine of
// concurrent.futures.Future, its value or failure, its done-callbacks and the Waiters sleeping on it.
// Internal: no API.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/types.hpp"
#include "future/value.hpp"
#include "common/handle_storage.hpp"
#include "future/deadline.hpp"
#include "future/foreign_object.hpp"
#include "executor/task_counters.hpp"

namespace cf::core {

class Waiter;
class CompletionSource;
class FutureState;
struct WaitNode;

// Why a future failed. Immutable once stored; the C ABI hands out pointers to its strings.
struct Failure {
    Status status = Status::TaskFailed;
    std::string type, message, detail;
    std::exception_ptr original;  // the C++ exception itself, when there was one
    bool remote = false;          // raised in another process: C++ sees it as RemoteError
    std::shared_ptr<ForeignObject> object;  // kept with the failure for its owner (cf_*_exception_object)
};

// Describes a caught exception as a Failure (type name demangled, what() as message).
Failure describe_exception(std::exception_ptr e);
// A failure from its parts, with no C++ exception behind it.
Failure make_failure(Status status, std::string type, std::string message, std::string detail = {});

// Runs fn(context) on this thread just before `future` becomes done, before anyone can see it done. A thread
// pool uses it to count its worker as idle again, so that a caller who submits the moment its result arrives
// finds that worker idle. Thread-local; one hook at a time.
struct CompletionHook {
    const FutureState *future = nullptr;
    void (*fn)(void *context) = nullptr;
    void *context = nullptr;
};
CompletionHook &completion_hook() noexcept;

// A result that is just bytes, kept inside the future's state: no allocation beyond the bytes themselves.
class BytesValue final : public ValueHolder {
public:
    std::string_view bytes() const noexcept override { return data; }
    const void *object(const std::type_info &t) const noexcept override {
        return t == typeid(std::string) ? &data : nullptr;
    }
    std::string data;
};

class FutureState : public TaggedHandle<0x43465554> {  // "CFUT"
public:
    using Callback = std::function<void(FutureState &)>;

    static FutureState *create() { return new FutureState(); }
    void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept;

    State state() const noexcept { return state_.load(std::memory_order_acquire); }
    bool done() const noexcept;

    // The transitions; each returns false (and changes nothing) where concurrent.futures raises
    // InvalidStateError, except set_running_or_notify_cancel which throws as Python does.
    bool cancel();
    bool set_running_or_notify_cancel();
    // For executors: Pending -> Running, or false when the future is no longer pending (cancelled, or finished
    // by someone else: the C ABI lets any holder set a result). Never throws.
    bool try_start() noexcept;
    bool set_value(std::unique_ptr<ValueHolder> value);
    bool set_bytes(std::string bytes);
    bool set_failure(Failure failure);

    // Asked by cancel() while running, or by a pool shutting down with cancel_futures.
    void request_cancel() noexcept { cancel_requested_.store(true, std::memory_order_release); }
    bool cancel_requested() const noexcept { return cancel_requested_.load(std::memory_order_acquire); }
    // For a task running in another process: cancel() also writes id into word, which that process reads, and
    // a thread waiting for the future collects completions from source (when given). Both are dropped when the
    // future finishes; the caller must keep word valid until then.
    void set_remote(std::atomic<std::uint64_t> *word, std::uint64_t id,
                    std::shared_ptr<CompletionSource> source = nullptr, std::uint32_t lane = 0);
    // Lets cancel() cancel this future while it runs (the executor's cancel_running option): a remote task is
    // stopped through its source (stop_running), a local one is only told (cancel_requested) and its late
    // result is discarded. Set before the future starts running.
    void allow_cancel_running() noexcept { cancel_running_.store(true, std::memory_order_release); }
    // Counts the future's ending in its executor's counters. Set once, before anyone else sees the future.
    // The counters must outlive the future's completion (see TaskCounters).
    // (Under the lock: a continuation's future is already in its holder's hands, who may cancel it, when its
    // step is queued on a pool.)
    void count_in(TaskCounters *counters) noexcept;
    // The executor a waiter can collect this future's completion from; null once done or when there is none.
    std::shared_ptr<CompletionSource> completion_source();

    // Sleeps until done (spinning briefly first); false when the deadline passed first.
    bool wait_until(const Deadline &deadline);

    // Valid once finished: exactly one of them is non-null.
    const ValueHolder *value() const noexcept {
        if (value_) return value_.get();
        return state() == State::Finished && !failure_ ? &inline_bytes_ : nullptr;
    }
    const Failure *failure() const noexcept { return failure_.get(); }
    bool failed() const noexcept { return state() == State::Finished && failure_ != nullptr; }

    // Runs cb when done: later on the completing thread, or now on this one if done already.
    void add_done_callback(Callback cb);
    // Whether a done-callback was ever added (a hint, read without the lock: an executor completing the future
    // knows whether user code may run).
    bool has_callbacks() const noexcept { return has_callbacks_.load(std::memory_order_acquire); }

    // The task running to produce this future, in the wait-for graph (wait_graph.hpp); null when none is tracked.
    void set_producer(WaitNode *node) noexcept { producer_.store(node, std::memory_order_seq_cst); }
    const WaitNode *producer() const noexcept { return producer_.load(std::memory_order_seq_cst); }

    // Registers w to be told of completion; false (not registered) if the future is done already.
    bool add_waiter(Waiter *w);
    void remove_waiter(Waiter *w);

private:
    FutureState() = default;
    ~FutureState();
    // Running -> Cancelled under the lock (cancel_running); false when it is no longer running.
    bool cancel_running_locked(std::vector<Callback> &callbacks, std::shared_ptr<CompletionSource> &source);
    // from -> Cancelled under the lock, counted in the executor's stats before it can be seen; false when the
    // state was not `from` any more.
    bool cancel_from_locked(State from);
    // Moves to Finished and notifies; false if already done.
    bool finish(std::unique_ptr<ValueHolder> value, std::unique_ptr<Failure> failure, std::string *bytes);
    // Tells the waiters and hands back the callbacks to run once the lock is released.
    void notify_locked(std::vector<Callback> &callbacks, std::shared_ptr<CompletionSource> &source);
    void run_callbacks(std::vector<Callback> &callbacks);
    void run_callback(Callback &cb);

    std::atomic<int> refs_{1};
    std::atomic<State> state_{State::Pending};
    std::atomic<bool> cancel_requested_{false};
    std::atomic<std::uint64_t> *remote_cancel_word_ = nullptr;  // guarded by mu_
    std::uint64_t remote_cancel_id_ = 0;
    std::uint32_t remote_lane_ = 0;
    std::atomic<bool> cancel_running_{false};
    std::atomic<WaitNode *> producer_{nullptr};
    TaskCounters *counters_ = nullptr;
    std::shared_ptr<CompletionSource> source_;  // guarded by mu_
    std::atomic<bool> has_source_{false};
    std::atomic<bool> has_callbacks_{false};       // source_ was set (a hint read without the lock)
    std::mutex mu_;
    std::unique_ptr<ValueHolder> value_;  // a typed value; else the result is inline_bytes_
    BytesValue inline_bytes_;
    std::unique_ptr<Failure> failure_;
    std::vector<Callback> callbacks_;
    std::vector<Waiter *> waiters_;
};

}  // namespace cf::core
