// SPDX-License-Identifier: MIT
#include "future/waiter.hpp"

namespace cf::core {

void Waiter::arrive(FutureState *f, bool failed) {
    std::lock_guard<std::mutex> lock(mu_);
    bool was_ready = ready();
    arrived_.push_back(f);
    if (failed && wake_on_failure_) failure_seen_ = true;
    if (!was_ready && ready()) wake_locked();
}

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
}

FutureState *Waiter::take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (arrived_.empty()) return nullptr;
    FutureState *f = arrived_.front();
    arrived_.pop_front();
    return f;
}

}  // namespace cf::core
