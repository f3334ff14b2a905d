// SPDX-License-Identifier: MIT
#include "future/waiter.hpp"

namespace cf::core {

void Waiter::arrive(FutureState *f, bool failed) {
    std::lock_guard<std::mutex> lock(mu_);
    bool was_ready = ready();
    arrived_.push_back(f);
    if (failed && wake_on_failure_) failure_seen_ = true;
    publish_ready_locked();
    if (!was_ready && ready()) wake_locked();
}

void Waiter::publish_ready_locked() { ready_seen_.store(ready(), std::memory_order_release); }

void Waiter::wake_locked() {
    cv_.notify_one();
    if (wake_hook_) wake_hook_(wake_context_);
}

void Waiter::set_wake_hook(void (*fn)(void *), void *context) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_hook_ = fn;
    wake_context_ = context;
}

bool Waiter::sleep_until(const Deadline &deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    if (deadline.infinite())
        cv_.wait(lock, [this] { return woken(); });
    else
        cv_.wait_until(lock, deadline.at(), [this] { return woken(); });
    poked_ = false;
    return ready();
}

bool Waiter::ready_now() {
    if (!ready_seen_.load(std::memory_order_acquire)) return false;
    // Ready: the lock is taken once, so that the arrival that made it so has left arrive() (and let go of mu_)
    // before this thread goes on, and perhaps destroys the waiter.
    std::lock_guard<std::mutex> lock(mu_);
    return ready();
}

void Waiter::poke() {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
    wake_locked();
}

void Waiter::set_wake_after(std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_after_ = n;
    publish_ready_locked();
}

FutureState *Waiter::take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (arrived_.empty()) return nullptr;
    FutureState *f = arrived_.front();
    arrived_.pop_front();
    publish_ready_locked();
    return f;
}

}  // namespace cf::core
