// SPDX-License-Identifier: MIT
// TimeLimitWatch: a thread pool's time limits. A thread cannot be killed, so a task past its limit is failed
// from outside: at the deadline its future fails with TimeLimitError, the task sees cancel_requested(), and
// whatever it returns later is discarded (the future is done). One thread per pool, started with the first
// time-limited task, asleep until the next deadline. Internal: no API.
#pragma once

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "future/future_state.hpp"

namespace cf::core {

class TimeLimitWatch {
public:
    using Clock = std::chrono::steady_clock;
    using Token = std::uint64_t;

    TimeLimitWatch() = default;
    ~TimeLimitWatch();  // stops the thread; deadlines still armed are dropped
    TimeLimitWatch(const TimeLimitWatch &) = delete;
    TimeLimitWatch &operator=(const TimeLimitWatch &) = delete;

    // The task of `future` started now and may run `seconds`; the watch holds a reference until disarmed.
    Token arm(FutureState *future, double seconds);
    // The task returned: its deadline no longer matters.
    void disarm(Token t);

private:
    struct Armed {
        FutureState *future;
        double limit;  // seconds, for the message
        std::multimap<Clock::time_point, Token>::iterator due;  // deadlines.end() once it has fired
    };
    // What the thread works on: shared with it, so that a watch destroyed from within one of the futures'
    // callbacks (on the watch's own thread) leaves it something valid to return to.
    struct State {
        std::mutex mu;
        std::condition_variable cv;
        std::map<Token, Armed> armed;                       // guarded by mu, like the rest
        std::multimap<Clock::time_point, Token> deadlines;  // those not fired yet, earliest first
        Token next = 1;
        bool stopping = false;
    };
    static void watch(const std::shared_ptr<State> &s);

    std::shared_ptr<State> state_ = std::make_shared<State>();
    std::thread thread_;
};

}  // namespace cf::core
