// SPDX-License-Identifier: MIT
// cf::as_completed: the behaviour of CPython's Lib/test/test_concurrent_futures/test_as_completed.py, with futures
// completed by hand (promises and threads) instead of by an executor.
//
// Not ported: test_free_reference_yielded_future. The contract is the opposite on purpose: the iterator holds a
// reference to every future until it is destroyed (HoldsItsOwnReferences below checks that side).
#include <chrono>
#include <future>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

#include "future_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace cftest;  // the helpers of future_test_support.hpp

// What one pass over as_completed produced: the futures in the order yielded, and the TimeoutError if one ended it.
struct Drained {
    Futures yielded;
    bool timed_out = false;
    std::string message;
};

Drained drain(cf::AsCompleted<int> &range) {
    cftest::WakeCheck check;
    Drained d;
    try {
        for (const auto &f : range) d.yielded.push_back(f);
    } catch (const cf::TimeoutError &e) {
        d.timed_out = true;
        d.message = e.what();
    }
    return d;
}

Drained drain(const Futures &fs, double timeout) {
    auto range = cf::as_completed(fs, timeout);
    return drain(range);
}

// ---------------------------------------------------------------------------------------------------------------
// test_no_timeout

TEST(AsCompleted, NoTimeout) {
    cf::Promise<int> p1, p2;
    ThreadGroup threads;
    Futures fs{cancelled_and_notified_future(), failed_future(), successful_future(), p1.get_future(),
               p2.get_future()};
    threads.spawn([p1, p2]() mutable {
        p1.set_result(42);
        p2.set_result(42);
    });
    Drained d = drain(fs, kLong);
    EXPECT_FALSE(d.timed_out) << d.message;
    auto got = positions(d.yielded, fs);
    EXPECT_EQ(got.size(), 5u);
    EXPECT_EQ(std::set<int>(got.begin(), got.end()), (std::set<int>{0, 1, 2, 3, 4}));
}

TEST(AsCompleted, AllAlreadyDoneWithZeroTimeoutDoesNotTimeOut) {
    Futures fs{successful_future(), failed_future(), cancelled_future()};
    Drained d = drain(fs, 0.0);
    EXPECT_FALSE(d.timed_out) << d.message;
    EXPECT_EQ(positions(d.yielded, fs), (Positions{0, 1, 2}));
}

// ---------------------------------------------------------------------------------------------------------------
// Order: those done at the start first, in input order, then in completion order

TEST(AsCompleted, AlreadyDoneFirstInInputOrderThenCompletionOrder) {
    cf::Promise<int> p0, p4;
    Futures fs{p0.get_future(), successful_future(), failed_future(), cancelled_future(), p4.get_future()};
    auto range = cf::as_completed(fs, kLong);
    // Completed after as_completed started, before the first step: they come after the three done at the start.
    p4.set_result(4);
    EXPECT_TRUE(fs[0].cancel());
    Drained d = drain(range);
    EXPECT_FALSE(d.timed_out) << d.message;
    EXPECT_EQ(positions(d.yielded, fs), (Positions{1, 2, 3, 4, 0}));
}

TEST(AsCompleted, CompletionOrder) {
    std::vector<cf::Promise<int>> ps(5);
    Futures fs;
    for (auto &p : ps) fs.push_back(p.get_future());
    auto range = cf::as_completed(fs, kLong);
    ps[3].set_result(3);
    ps[1].set_exception(std::make_exception_ptr(DiskFull("x")));
    EXPECT_TRUE(fs[4].cancel());
    ps[0].set_failure(cf::Status::TaskFailed, "ValueError", "bad");
    ps[2].set_result(2);
    Drained d = drain(range);
    EXPECT_FALSE(d.timed_out) << d.message;
    EXPECT_EQ(positions(d.yielded, fs), (Positions{3, 1, 4, 0, 2}));
}

TEST(AsCompleted, CompletionOrderFromAnotherThread) {
    std::vector<cf::Promise<int>> ps(4);
    Futures fs;
    for (auto &p : ps) fs.push_back(p.get_future());
    auto range = cf::as_completed(fs, kLong);
    ThreadGroup threads;
    // One thread completes them one after another, so the completion order is known: 2, 0, 3, 1.
    threads.spawn([ps]() mutable {
        for (int i : {2, 0, 3, 1}) ps[i].set_result(i);
    });
    Drained d = drain(range);
    EXPECT_FALSE(d.timed_out) << d.message;
    EXPECT_EQ(positions(d.yielded, fs), (Positions{2, 0, 3, 1}));
    for (const auto &f : d.yielded) EXPECT_TRUE(f.done());
}

// ---------------------------------------------------------------------------------------------------------------
// test_duplicate_futures

TEST(AsCompleted, DuplicatesAreYieldedOnce) {
    cf::Promise<int> p;
    auto f = p.get_future();
    ThreadGroup threads;
    threads.spawn([p]() mutable { p.set_result(1); });
    Drained d = drain(Futures{f, f, f}, kLong);
    EXPECT_FALSE(d.timed_out) << d.message;
    ASSERT_EQ(d.yielded.size(), 1u);
    EXPECT_TRUE(d.yielded[0] == f);
}

TEST(AsCompleted, DuplicatesAmongDoneAndPendingAreYieldedOnce) {
    cf::Promise<int> p;
    auto done = successful_future();
    auto pending = p.get_future();
    Futures fs{done, pending, done, pending};
    auto range = cf::as_completed(fs, kLong);
    p.set_result(2);
    Drained d = drain(range);
    EXPECT_FALSE(d.timed_out) << d.message;
    EXPECT_EQ(positions(d.yielded, fs), (Positions{0, 1}));
}

// ---------------------------------------------------------------------------------------------------------------
// Timeouts (test_future_times_out, test_correct_timeout_exception_msg)

TEST(AsCompleted, FutureTimesOut) {
    for (double timeout : {0.0, 0.1}) {
        SCOPED_TRACE(timeout);
        auto pending = pending_future();
        Futures fs{cancelled_and_notified_future(), failed_future(), successful_future(), pending};
        Drained d;
        auto took = cftest::time_of([&] { d = drain(fs, timeout); });
        // The three done futures come out, the pending one does not, and the timeout ends it.
        EXPECT_EQ(positions(d.yielded, fs), (Positions{0, 1, 2}));
        EXPECT_TRUE(d.timed_out);
        EXPECT_EQ(d.message, "1 (of 4) futures unfinished");
        EXPECT_GE(took, std::chrono::duration<double>(timeout));
    }
}

TEST(AsCompleted, CorrectTimeoutExceptionMessage) {
    Futures fs{cancelled_and_notified_future(), pending_future(), running_future(), successful_future()};
    auto range = cf::as_completed(fs, 0.0);
    Futures yielded;
    try {
        for (const auto &f : range) yielded.push_back(f);
        FAIL() << "no TimeoutError";
    } catch (const cf::TimeoutError &e) {
        EXPECT_STREQ(e.what(), "2 (of 4) futures unfinished");
        EXPECT_EQ(e.status(), cf::Status::Timeout);
    }
    EXPECT_EQ(positions(yielded, fs), (Positions{0, 3}));
}

TEST(AsCompleted, ShortTimeoutOnPendingOnly) {
    Futures fs{pending_future()};
    Drained d;
    auto took = cftest::time_of([&] { d = drain(fs, 0.05); });
    EXPECT_TRUE(d.yielded.empty());
    EXPECT_TRUE(d.timed_out);
    EXPECT_EQ(d.message, "1 (of 1) futures unfinished");
    EXPECT_GE(took, 50ms);
}

TEST(AsCompleted, ChronoTimeout) {
    Futures fs{successful_future(), pending_future()};
    auto range = cf::as_completed(fs, 0ms);
    Drained d = drain(range);
    EXPECT_EQ(positions(d.yielded, fs), Positions{0});
    EXPECT_TRUE(d.timed_out);
    EXPECT_EQ(d.message, "1 (of 2) futures unfinished");
}

TEST(AsCompleted, KeepsTimingOutOnceTimedOut) {
    cf::Promise<int> p;
    Futures fs{successful_future(), p.get_future()};
    const cf::FutureBase *ptrs[] = {&fs[0], &fs[1]};
    cf::AsCompletedBase it(ptrs, 2, 0.0);
    cf::FutureBase out;
    ASSERT_TRUE(it.next(out));
    EXPECT_TRUE(out == fs[0]);
    auto expect_timeout = [&] {
        try {
            it.next(out);
            ADD_FAILURE() << "no TimeoutError";
        } catch (const cf::TimeoutError &e) {
            EXPECT_STREQ(e.what(), "1 (of 2) futures unfinished");
        }
    };
    expect_timeout();
    expect_timeout();
    // A completion after the time ran out does not revive the iterator (the contract: every later call times out).
    p.set_result(2);
    expect_timeout();
}

TEST(AsCompleted, NanTimeoutIsInvalid) {
    Futures fs{pending_future()};
    EXPECT_THROW(cf::as_completed(fs, std::numeric_limits<double>::quiet_NaN()), cf::InvalidArgument);
}

// ---------------------------------------------------------------------------------------------------------------
// Completion from another thread while iterating

TEST(AsCompleted, FutureCompletedFromAnotherThreadWhileIteratingIsYielded) {
    cf::Promise<int> p;
    Futures fs{successful_future(1), p.get_future()};
    ThreadGroup threads;
    Futures yielded;
    cftest::WakeCheck check;
    for (const auto &f : cf::as_completed(fs, kLong)) {
        yielded.push_back(f);
        // Only now, with the iteration under way, does the other future get its result.
        if (f == fs[0]) threads.spawn([p]() mutable { p.set_result(2); });
    }
    EXPECT_EQ(positions(yielded, fs), (Positions{0, 1}));
    EXPECT_EQ(yielded[1].result(0.0), 2);
}

TEST(AsCompleted, EachStepHandsOverTheNextCompletion) {
    // A ping-pong: each yielded future makes the other thread complete the next one.
    constexpr int kSteps = 20;
    std::vector<cf::Promise<int>> ps(kSteps);
    Futures fs;
    for (auto &p : ps) fs.push_back(p.get_future());
    std::vector<std::promise<void>> turn(kSteps);
    ThreadGroup threads;
    threads.spawn([&ps, &turn] {
        for (int i = kSteps - 1; i >= 0; --i) {  // completes them from the last to the first
            turn[i].get_future().wait();
            ps[i].set_result(i);
        }
    });
    turn[kSteps - 1].set_value();
    Positions got;
    cftest::WakeCheck check;
    for (const auto &f : cf::as_completed(fs, kLong)) {
        int i = f.result(0.0);
        got.push_back(i);
        if (i > 0) turn[i - 1].set_value();
    }
    Positions expected;
    for (int i = kSteps - 1; i >= 0; --i) expected.push_back(i);
    EXPECT_EQ(got, expected);
}

TEST(AsCompleted, BlockedIterationIsWokenBySetResult) {
    cf::Promise<int> p;
    Futures fs{p.get_future()};
    auto waiter = on_thread([fs] { return drain(fs, kLong); });
    EXPECT_TRUE(still_blocked(waiter));
    p.set_result(6);
    Drained d = waiter.get();
    EXPECT_FALSE(d.timed_out) << d.message;
    ASSERT_EQ(positions(d.yielded, fs), Positions{0});
    EXPECT_EQ(d.yielded[0].result(0.0), 6);
}

TEST(AsCompleted, BlockedIterationIsWokenByCancel) {
    auto f = pending_future();
    Futures fs{f};
    auto waiter = on_thread([fs] { return drain(fs, kLong); });
    EXPECT_TRUE(still_blocked(waiter));
    ThreadGroup threads;
    threads.spawn([f]() mutable { EXPECT_TRUE(f.cancel()); });
    Drained d = waiter.get();
    EXPECT_FALSE(d.timed_out) << d.message;
    ASSERT_EQ(positions(d.yielded, fs), Positions{0});
    EXPECT_TRUE(d.yielded[0].cancelled());
}

TEST(AsCompleted, ManyFuturesFromManyThreadsAreEachYieldedOnce) {
    constexpr int kFutures = 100, kThreads = 10, kRounds = 10;
    for (int round = 0; round < kRounds; ++round) {
        SCOPED_TRACE(round);
        if (HasFailure()) return;
        std::vector<cf::Promise<int>> ps(kFutures);
        Futures fs;
        for (auto &p : ps) fs.push_back(p.get_future());
        // Some are done before as_completed starts, the rest race with it.
        for (int i = 0; i < kFutures; i += 7) ps[i].set_result(i);
        cftest::Latch go(kThreads + 1);
        ThreadGroup threads;
        for (int t = 0; t < kThreads; ++t)
            threads.spawn([&ps, &go, t] {
                go.arrive_and_wait();
                for (int i = t; i < kFutures; i += kThreads) {
                    if (i % 7 == 0) continue;
                    if (i % 2) {
                        ps[i].set_result(i);
                    } else {
                        cf::FutureBase f = ps[i].future_base();
                        f.cancel();
                    }
                }
            });
        auto range = cf::as_completed(fs, kLong);
        go.count_down();
        Drained d = drain(range);
        EXPECT_FALSE(d.timed_out) << d.message;
        auto got = positions(d.yielded, fs);
        ASSERT_EQ(got.size(), static_cast<std::size_t>(kFutures));
        EXPECT_EQ(std::set<int>(got.begin(), got.end()).size(), static_cast<std::size_t>(kFutures));
        // Those done at the start lead, in input order.
        for (int k = 0; k * 7 < kFutures; ++k) EXPECT_EQ(got[k], k * 7);
        for (const auto &f : d.yielded) EXPECT_TRUE(f.done());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Odds and ends

TEST(AsCompleted, EmptyList) {
    auto range = cf::as_completed(Futures{}, cf::forever);
    EXPECT_TRUE(range.begin() == range.end());
    Drained d = drain(Futures{}, 0.0);
    EXPECT_TRUE(d.yielded.empty());
    EXPECT_FALSE(d.timed_out) << d.message;
}

TEST(AsCompleted, HoldsItsOwnReferences) {
    cf::Promise<int> p;
    std::optional<cf::AsCompleted<int>> range;
    {
        Futures fs{p.get_future()};
        range.emplace(fs, kLong);
    }
    p.set_result(7);
    p = cf::Promise<int>();  // from here on only the iterator keeps the future alive
    std::vector<int> got;
    for (const auto &f : *range) got.push_back(f.result(0.0));
    EXPECT_EQ(got, std::vector<int>{7});
}

TEST(AsCompleted, TypedFutures) {
    cf::Promise<std::string> a, b;
    std::vector<cf::Future<std::string>> fs{a.get_future(), b.get_future()};
    auto range = cf::as_completed(fs, kLong);
    b.set_result("second set, first out");
    a.set_result("first set, second out");
    std::vector<std::string> got;
    for (const cf::Future<std::string> &f : range) got.push_back(f.result(0.0));
    EXPECT_EQ(got, (std::vector<std::string>{"second set, first out", "first set, second out"}));
}

}  // namespace
