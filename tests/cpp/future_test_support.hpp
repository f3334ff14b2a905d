// SPDX-License-Identifier: MIT
// Shared by the C++ future tests: futures in each state, a latch (C++17 has none), a thread group that always
// joins, and a way to run a blocking call on its own thread and check that it is still blocked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

namespace cftest {

using Clock = std::chrono::steady_clock;

// A limit no correct run comes near. A wait that reaches it missed its wake-up, and it fails cleanly (a timeout
// error or a too-long elapsed time) instead of hanging the test.
inline constexpr double kLong = 30.0;
inline constexpr std::chrono::seconds kLongDuration{30};

// How long a test watches a blocked call before it unblocks it. Only ever used to assert that the call has NOT
// returned yet, which a correct library guarantees whatever the length, so it cannot make a test flaky.
inline constexpr std::chrono::milliseconds kGrace{30};

// An exception type of the tests' own, with a field that only survives if the very object is rethrown.
struct DiskFull : std::runtime_error {
    explicit DiskFull(const std::string &what, int code = 28) : std::runtime_error(what), code(code) {}
    int code;
};

// A template, to see that the demangled name keeps its arguments.
template <class T>
struct Tagged : std::logic_error {
    explicit Tagged(const std::string &what) : std::logic_error(what) {}
};

// Counts down once per arrival; wait() returns true when the count reaches zero, false if kLong ran out first (a
// lost arrival fails the test instead of hanging it).
class Latch {
public:
    explicit Latch(std::ptrdiff_t count) : count_(count) {}
    void count_down() {
        std::lock_guard<std::mutex> lock(mu_);
        if (--count_ <= 0) cv_.notify_all();
    }
    bool wait() {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, kLongDuration, [this] { return count_ <= 0; });
    }
    bool arrive_and_wait() {
        count_down();
        return wait();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::ptrdiff_t count_;
};

// Threads that are joined when the group goes out of scope, so a failed ASSERT never leaves a joinable thread.
class ThreadGroup {
public:
    ThreadGroup() = default;
    ThreadGroup(const ThreadGroup &) = delete;
    ThreadGroup &operator=(const ThreadGroup &) = delete;
    ~ThreadGroup() { join_all(); }

    template <class F>
    std::thread::id spawn(F fn) {
        threads_.emplace_back(std::move(fn));
        return threads_.back().get_id();
    }
    void join_all() {
        for (auto &t : threads_)
            if (t.joinable()) t.join();
        threads_.clear();
    }

private:
    std::vector<std::thread> threads_;
};

// Runs fn on a thread of its own; the std::future carries its value or exception back.
template <class F>
auto on_thread(F fn) {
    return std::async(std::launch::async, std::move(fn));
}

// True when the call behind fut has not returned after kGrace: it is blocked, as it must be until woken.
template <class R>
bool still_blocked(const std::future<R> &fut) {
    return fut.wait_for(kGrace) == std::future_status::timeout;
}

template <class F>
Clock::duration time_of(F &&fn) {
    auto start = Clock::now();
    std::forward<F>(fn)();
    return Clock::now() - start;
}

// Fails the test when the scope it guards lasts kLong or more. A wait given kLong as its limit that is woken late
// (or never) still finds its future done once the limit has run out, and so returns the right answer: only the time
// shows the missed wake-up.
class WakeCheck {
public:
    WakeCheck() = default;
    WakeCheck(const WakeCheck &) = delete;
    WakeCheck &operator=(const WakeCheck &) = delete;
    ~WakeCheck() {
        EXPECT_LT(Clock::now() - start_, kLongDuration) << "a blocked call ran into its kLong limit: it missed its wake-up";
    }

private:
    Clock::time_point start_ = Clock::now();
};

// Futures in the states of CPython's test_concurrent_futures/util.py.
inline cf::Future<int> pending_future() { return cf::Promise<int>().get_future(); }

inline cf::Future<int> running_future() {
    cf::Promise<int> p;
    EXPECT_TRUE(p.set_running_or_notify_cancel());
    return p.get_future();
}

inline cf::Future<int> cancelled_future() {
    cf::Promise<int> p;
    cf::Future<int> f = p.get_future();
    EXPECT_TRUE(f.cancel());
    return f;
}

// Cancelled, and the producer has been told (set_running_or_notify_cancel returned false).
inline cf::Future<int> cancelled_and_notified_future() {
    cf::Promise<int> p;
    cf::Future<int> f = p.get_future();
    EXPECT_TRUE(f.cancel());
    EXPECT_FALSE(p.set_running_or_notify_cancel());
    return f;
}

inline cf::Future<int> failed_future(const std::string &what = "no space left on device") {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(DiskFull(what)));
    return p.get_future();
}

inline cf::Future<int> successful_future(int value = 42) {
    cf::Promise<int> p;
    p.set_result(value);
    return p.get_future();
}

// A set of int futures as wait() and as_completed() take it, and their positions in it (see positions()).
using Futures = std::vector<cf::Future<int>>;
using Positions = std::vector<int>;

// The positions of the yielded/selected futures in `all`, for readable comparisons (-1: not in `all`).
template <class T>
std::vector<int> positions(const std::vector<cf::Future<T>> &picked, const std::vector<cf::Future<T>> &all) {
    std::vector<int> out;
    for (const auto &f : picked) {
        int at = -1;
        for (std::size_t i = 0; i < all.size(); ++i)
            if (all[i] == f) {
                at = static_cast<int>(i);
                break;
            }
        out.push_back(at);
    }
    return out;
}

}  // namespace cftest
