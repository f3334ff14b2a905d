// SPDX-License-Identifier: MIT
// Waiter: the one mechanism by which a thread sleeps until futures complete. result(), wait() and
// as_completed() all register a Waiter on the futures they watch; a completing future hands itself to every
// registered Waiter, which wakes its thread once the thread's condition holds.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

#include "future/deadline.hpp"

namespace cf::core {

class FutureState;

class Waiter {
public:
    // The thread wakes once `wake_after` futures have arrived, or at the first failed one when
    // wake_on_failure is set.
    explicit Waiter(std::size_t wake_after = 1, bool wake_on_failure = false)
        : wake_after_(wake_after), wake_on_failure_(wake_on_failure), ready_seen_(wake_after == 0) {}
    Waiter(const Waiter &) = delete;
    Waiter &operator=(const Waiter &) = delete;

    // Called by a future, under its own lock, when it becomes done.
    void arrive(FutureState *f, bool failed);

    // Sleeps until the condition holds, a poke, or the deadline; returns whether the condition holds.
    bool sleep_until(const Deadline &deadline);

    // Whether the condition holds now. Takes no lock while it does not: a thread that polls between turns of other
    // work (a pool's collecting or an MPI provider's progress) asks this many times a microsecond.
    bool ready_now();

    // Wakes the sleeping thread without an arrival (a thread pool telling a helping waiter of new work).
    void poke();

    // Sets how many arrivals wake the thread; the thread that sleeps sets it before it sleeps.
    void set_wake_after(std::size_t n);

    // While set, every wake-up of this waiter (an arrival that makes its condition hold, or a poke) also calls
    // fn(context): for a thread that sleeps elsewhere than on this waiter (on a process pool's doorbell).
    void set_wake_hook(void (*fn)(void *), void *context);

    // Takes the earliest arrival not taken yet (nullptr if none); for as_completed, which wants each arrival.
    FutureState *take();

private:
    bool ready() const { return arrived_.size() >= wake_after_ || failure_seen_; }
    bool woken() const { return ready() || poked_; }
    void wake_locked();
    // After any change to what ready() reads: its value for ready_now.
    void publish_ready_locked();

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<FutureState *> arrived_;
    std::size_t wake_after_;
    bool wake_on_failure_;
    bool failure_seen_ = false;
    bool poked_ = false;
    void (*wake_hook_)(void *) = nullptr;
    void *wake_context_ = nullptr;
    std::atomic<bool> ready_seen_{false};  // ready(), as of the last change under mu_
};

}  // namespace cf::core
