// SPDX-License-Identifier: MIT
// Shared by the thread-pool and process-pool tests: a one-shot gate, polling for what no event announces, a way to
// watch a call that may deadlock without hanging the test, and the CPUs this process may use. Builds on
// future_test_support.hpp (kLong, kLongDuration, Clock, Latch).
#pragma once

#include <sched.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "future_test_support.hpp"

namespace cftest {

// How long a pool test watches a call it expects to stay blocked (a shutdown waiting for a task, a submit waiting for
// room). Only ever used to assert "not returned yet", which a correct library guarantees whatever the length. Longer
// than kGrace: a worker process takes longer to get going than a thread.
inline constexpr std::chrono::milliseconds kPoolGrace{100};

// A one-shot event: closed until open() is called, then open for good.
class Gate {
public:
    void open() {
        std::lock_guard<std::mutex> lock(mu_);
        open_ = true;
        cv_.notify_all();
    }
    // True once open; false if kLong (or the given time) ran out first.
    bool wait(double seconds = kLong) {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return open_; });
    }
    bool is_open() {
        std::lock_guard<std::mutex> lock(mu_);
        return open_;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;
};

// Polls pred every millisecond until it holds or kLong ran out; returns its last value. For what no event
// announces (a thread or process leaving /proc, a file appearing, a thread falling asleep).
template <class Pred>
bool eventually(Pred pred) {
    auto end = Clock::now() + kLongDuration;
    while (!pred()) {
        if (Clock::now() >= end) return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// Runs fn on a thread of its own and lets the test wait for it with a bound. If fn never finishes (a deadlock in
// the library), the thread is detached and leaked so that the test fails instead of hanging; whatever fn uses must
// then be leaked too (the tests that use this keep their executor on the heap and forget it on failure).
class Bounded {
public:
    template <class F>
    explicit Bounded(F fn) : done_(std::make_shared<Gate>()) {
        thread_ = std::thread([fn = std::move(fn), done = done_]() mutable {
            fn();
            done->open();
        });
    }
    Bounded(const Bounded &) = delete;
    Bounded &operator=(const Bounded &) = delete;
    ~Bounded() {
        if (done_->is_open())
            thread_.join();
        else
            thread_.detach();
    }
    bool finished() { return done_->wait(kLong); }
    bool still_running() { return !done_->wait(std::chrono::duration<double>(kPoolGrace).count()); }

private:
    std::shared_ptr<Gate> done_;
    std::thread thread_;
};

// The CPUs this process may run on (its affinity mask), as the pools count them for their default size.
inline std::size_t usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return static_cast<std::size_t>(CPU_COUNT(&set));
}

// The fields of a /proc stat file (a process's or a thread's) after the command name: [0] the state, [1] ppid,
// [11] utime, [12] stime. Empty when the file is gone.
inline std::vector<std::string> stat_fields_at(const std::string &path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    std::size_t close = line.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) return fields;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    while (rest >> field) fields.push_back(field);
    return fields;
}

}  // namespace cftest
