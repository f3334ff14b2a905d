// SPDX-License-Identifier: MIT
// A short bounded spin before a thread parks. Handing a result across CPUs through a futex costs tens of
// microseconds on virtual machines, a spinning hand-off well under one; waits that end soon end here.
#pragma once

#include <sched.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace cf::core {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// How long a waiter spins before it sleeps; short enough that an idle thread costs nothing measurable.
inline constexpr std::chrono::microseconds kSpinBudget{20};
// How long a waiter spins for a still-queued task to start before it sleeps.
inline constexpr std::chrono::microseconds kPendingSpinBudget{4};
// How long an idle pool worker spins for new work. Longer than a futex wake-up takes here (20-50 µs), so that a
// caller woken from a sleep still finds the worker spinning when it submits its next task; otherwise caller and
// worker can fall into step, each going to sleep just before the other hands it something.
inline constexpr std::chrono::microseconds kWorkerSpinBudget{100};

// Looks at pred() in rounds until it holds or the budget is spent, calling between() after each round; returns
// pred()'s last value.
template <class Pred, class Between>
bool spin_rounds(Pred &pred, std::chrono::microseconds budget, Between between) {
    auto end = std::chrono::steady_clock::now() + budget;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (pred()) return true;
            cpu_relax();
        }
        if (std::chrono::steady_clock::now() >= end) return pred();
        between();
    }
}

// Spins until pred() holds or the budget is spent; returns pred()'s last value.
template <class Pred>
bool spin_until(Pred pred, std::chrono::microseconds budget = kSpinBudget) {
    // On one CPU the thread we wait for cannot run while we spin.
    static const bool multi_cpu = std::thread::hardware_concurrency() > 1;
    if (!multi_cpu) return pred();
    return spin_rounds(pred, budget, [] {});
}

// Like spin_until, but offers the CPU to other runnable threads between rounds of looking: for a party whose CPU
// another thread of the program may be waiting for (a process-pool worker idling beside a submitting thread on a
// full machine). When nothing else wants the CPU, sched_yield returns at once and this is a plain spin.
template <class Pred>
bool spin_yielding_until(Pred pred, std::chrono::microseconds budget) {
    return spin_rounds(pred, budget, [] { sched_yield(); });
}

// A mutex for short critical sections under contention: it spins a little before it sleeps, so that threads
// passing a lock back and forth for a few hundred nanoseconds do not pay a futex call each time. While it spins
// it reads a plain flag rather than retrying the lock (a locked instruction each time, which would take the
// line away from the holder).
class SpinMutex {
public:
    void lock() {
        for (int i = 0; i < 256; ++i) {
            if (!held_.load(std::memory_order_relaxed) && mu_.try_lock()) return mark_held();
            cpu_relax();
        }
        mu_.lock();
        mark_held();
    }
    bool try_lock() {
        if (!mu_.try_lock()) return false;
        mark_held();
        return true;
    }
    void unlock() {
        held_.store(false, std::memory_order_relaxed);
        mu_.unlock();
    }

private:
    void mark_held() { held_.store(true, std::memory_order_relaxed); }

    std::mutex mu_;
    std::atomic<bool> held_{false};  // a hint for spinners; the mutex itself decides
};

// A lock for critical sections of a few dozen instructions (a queue's push or pop): waiters spin on a plain read
// of the flag (not on a locked instruction, which would bounce the line between the CPUs they run on) and
// yield the CPU after a while, in case the holder was preempted.
class SpinLock {
public:
    void lock() noexcept {
        for (;;) {
            if (!locked_.exchange(true, std::memory_order_acquire)) return;
            for (int i = 0; locked_.load(std::memory_order_relaxed); ++i) {
                if (i < 128) cpu_relax(); else std::this_thread::yield();
            }
        }
    }
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

}  // namespace cf::core
