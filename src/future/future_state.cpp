// SPDX-License-Identifier: MIT
#include "future/future_state.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/spin.hpp"
#include "future/completion_source.hpp"
#include "future/wait_helper.hpp"
#include "future/wait_graph.hpp"
#include "future/waiter.hpp"

namespace cf::core {

FutureState::~FutureState() = default;

void FutureState::release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

bool FutureState::done() const noexcept {
    State s = state();
    return s == State::Cancelled || s == State::Finished;
}

bool FutureState::cancel() {
    std::vector<Callback> callbacks;
    std::shared_ptr<CompletionSource> source;  // let go of after the lock (it may be the executor's last owner)
    std::shared_ptr<CompletionSource> stopper;  // cancel_running in another process: the pool that stops it
    std::uint32_t lane = 0;
    std::uint64_t id = 0;
    {
        std::lock_guard<std::mutex> lock(mu_);
        State s = state();
        if (s == State::Cancelled) return true;
        if (s == State::Finished) return false;
        // Pending: becomes cancelled, and waiters hear of it at once (no "cancelled but not notified" limbo).
        // The one change that may race with ours is Pending -> Running, made without the lock.
        if (s == State::Pending && cancel_from_locked(State::Pending)) {
            notify_locked(callbacks, source);
        } else {
            // Running: the task is asked to stop (cf_task_cancel_requested), and that is all, as in CPython,
            // unless the executor lets running tasks be cancelled. A task in another process is then stopped by
            // its pool without being asked first: asked, it could finish with a result before the pool stops it.
            bool stops_remotely = cancel_running_.load(std::memory_order_acquire) && source_;
            if (!stops_remotely) {
                request_cancel();
                if (remote_cancel_word_) remote_cancel_word_->store(remote_cancel_id_, std::memory_order_release);
            }
            if (!cancel_running_.load(std::memory_order_acquire)) return false;
            if (source_) {
                stopper = source_;
                lane = remote_lane_;
                id = remote_cancel_id_;
            } else if (!cancel_running_locked(callbacks, source)) {
                // A thread cannot be stopped: the future is cancelled now and the task's late result discarded.
                return false;
            }
        }
    }
    if (stopper) {
        // The pool is called without this future's lock (its lane locks come first). The future becomes
        // cancelled unless the task's result arrived meanwhile.
        if (!stopper->stop_running(lane, id)) return state() == State::Cancelled;
        std::lock_guard<std::mutex> lock(mu_);
        if (!cancel_running_locked(callbacks, source)) return state() == State::Cancelled;
    }
    run_callbacks(callbacks);
    return true;
}

bool FutureState::cancel_running_locked(std::vector<Callback> &callbacks, std::shared_ptr<CompletionSource> &source) {
    if (!cancel_from_locked(State::Running)) return false;
    notify_locked(callbacks, source);
    return true;
}

bool FutureState::cancel_from_locked(State from) {
    // Counted before the state can be seen: whoever sees the future done (a wait that returns) and then reads the
    // executor's stats finds it counted. Taken back when the change does not happen.
    if (counters_) counters_->bump(TaskCounters::Cancelled);
    if (state_.compare_exchange_strong(from, State::Cancelled, std::memory_order_acq_rel)) return true;
    if (counters_) counters_->unbump(TaskCounters::Cancelled);
    return false;
}

bool FutureState::set_running_or_notify_cancel() {
    // Lock-free: it is on every task's path, and the other transitions out of Pending re-check under the lock.
    State s = State::Pending;
    if (state_.compare_exchange_strong(s, State::Running, std::memory_order_acq_rel)) return true;
    if (s == State::Cancelled) return false;
    throw InvalidStateError("future is already running or finished");
}

bool FutureState::try_start() noexcept {
    State s = State::Pending;
    return state_.compare_exchange_strong(s, State::Running, std::memory_order_acq_rel);
}

bool FutureState::set_value(std::unique_ptr<ValueHolder> value) {
    return finish(std::move(value), nullptr, nullptr);
}

bool FutureState::set_bytes(std::string bytes) { return finish(nullptr, nullptr, &bytes); }

bool FutureState::set_failure(Failure failure) {
    return finish(nullptr, std::make_unique<Failure>(std::move(failure)), nullptr);
}

CompletionHook &completion_hook() noexcept {
    static thread_local CompletionHook hook;
    return hook;
}

bool FutureState::finish(std::unique_ptr<ValueHolder> value, std::unique_ptr<Failure> failure, std::string *bytes) {
    CompletionHook &hook = completion_hook();
    if (hook.future == this) {
        hook.future = nullptr;
        hook.fn(hook.context);
    }
    std::vector<Callback> callbacks;
    std::shared_ptr<CompletionSource> source;  // let go of after the lock (it may be the executor's last owner)
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (done()) return false;
        // Nobody reads the value before the state says Finished (released below).
        value_ = std::move(value);
        failure_ = std::move(failure);
        if (bytes) inline_bytes_.data = std::move(*bytes);
        // Counted before the state can be seen (see cancel_from_locked).
        if (counters_) counters_->bump(failure_ ? TaskCounters::Failed : TaskCounters::Completed);
        State s = state();
        while (!state_.compare_exchange_weak(s, State::Finished, std::memory_order_acq_rel)) {
            // Only Pending -> Running happens without our lock; any other state here is a bug.
        }
        notify_locked(callbacks, source);
    }
    run_callbacks(callbacks);
    return true;
}

void FutureState::set_remote(std::atomic<std::uint64_t> *word, std::uint64_t id,
                             std::shared_ptr<CompletionSource> source, std::uint32_t lane) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done()) return;
    remote_cancel_word_ = word;
    remote_cancel_id_ = id;
    remote_lane_ = lane;
    has_source_.store(source != nullptr, std::memory_order_release);
    source_ = std::move(source);
}

std::shared_ptr<CompletionSource> FutureState::completion_source() {
    if (done()) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    return source_;
}

void FutureState::notify_locked(std::vector<Callback> &callbacks, std::shared_ptr<CompletionSource> &source) {
    remote_cancel_word_ = nullptr;
    source.swap(source_);
    bool is_failure = failure_ != nullptr;
    // Waiters are told under our lock, so none can unregister and vanish in between.
    for (Waiter *w : waiters_) w->arrive(this, is_failure);
    waiters_.clear();
    callbacks.swap(callbacks_);
}

void FutureState::run_callbacks(std::vector<Callback> &callbacks) {
    if (callbacks.empty()) return;
    // Callbacks may drop the last outside reference; hold one until they are through.
    retain();
    for (auto &cb : callbacks) run_callback(cb);
    release();
}

void FutureState::run_callback(Callback &cb) {
    try {
        cb(*this);
    } catch (...) {
        // As in concurrent.futures, a failing callback does not stop the others.
    }
}

void FutureState::add_done_callback(Callback cb) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!done()) {
            callbacks_.push_back(std::move(cb));
            has_callbacks_.store(true, std::memory_order_release);
            return;
        }
    }
    run_callback(cb);
}

bool FutureState::add_waiter(Waiter *w) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done()) return false;
    waiters_.push_back(w);
    return true;
}

void FutureState::remove_waiter(Waiter *w) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(waiters_.begin(), waiters_.end(), w);
    if (it != waiters_.end()) waiters_.erase(it);
}

WaitHelper *&current_wait_helper() noexcept {
    static thread_local WaitHelper *helper = nullptr;
    return helper;
}

bool sleep_or_help(Waiter &w, const Deadline &deadline, WaitTargets targets) {
    if (WaitHelper *helper = current_wait_helper()) return helper->help_sleep(w, deadline, targets);
    for (std::size_t i = 0; i < targets.n; ++i)
        if (std::shared_ptr<CompletionSource> source = targets.items[i]->completion_source())
            return source->collect_while_waiting(w, deadline);
    return w.sleep_until(deadline);
}

void FutureState::count_in(TaskCounters *counters) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    counters_ = counters;
}

bool FutureState::wait_until(const Deadline &deadline) {
    if (done()) return true;
    // A task's endless wait is an edge of the wait-for graph: refused (DeadlockError) when it could never end.
    std::optional<WaitEdge> edge;
    if (deadline.infinite()) edge.emplace(*this);
    // Spinning pays only for a task that is about to finish. A future still queued behind other tasks is waited
    // for asleep, after a glance long enough for an idle worker to pick it up: the spinning caller would take a
    // CPU that the workers need. A future whose completion this thread can collect itself (a process pool's)
    // is not spun on here at all: that would only wait for someone else to collect it.
    bool collects = has_source_.load(std::memory_order_acquire) && !current_wait_helper();
    if (!collects && !deadline.passed() &&
        spin_until([this] { return state() != State::Pending; }, kPendingSpinBudget) &&
        spin_until([this] { return done(); }))
        return true;
    Waiter w;
    if (!add_waiter(&w)) return true;
    bool ok;
    try {
        FutureState *self = this;
        ok = sleep_or_help(w, deadline, WaitTargets{&self, 1});
    } catch (...) {
        remove_waiter(&w);
        throw;
    }
    if (!ok) remove_waiter(&w);
    return ok || done();
}

}  // namespace cf::core
