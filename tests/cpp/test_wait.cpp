// SPDX-License-Identifier: MIT
// cf::wait: the behaviour of CPython's Lib/test/test_concurrent_futures/test_wait.py, with futures completed by
// hand (promises and threads) instead of by an executor.
//
// One difference from CPython shapes the ports: there, a future that was cancelled but whose executor has not yet
// been told (CANCELLED, not CANCELLED_AND_NOTIFIED) is not done for wait(). Here cancel() completes a future at once,
// so every cancelled future is done.
#include <atomic>
#include <chrono>
#include <future>
#include <limits>
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

// cf::wait with kLong as timeout, checking it returned because the condition held. wait() reports the states it
// sees when it returns, so a missed wake-up would still give the right sets, only late: the time tells.
cf::DoneAndNotDone<int> wait_long(const Futures &fs, cf::ReturnWhen when) {
    cftest::WakeCheck check;
    return cf::wait(fs, kLong, when);
}

// Starts wait_long(fs, when) on a thread of its own and checks that it blocks (none of its conditions holds yet);
// the test then completes futures and takes wait()'s answer from the returned std::future.
std::future<cf::DoneAndNotDone<int>> start_blocked_wait(const Futures &fs, cf::ReturnWhen when) {
    auto waiter = on_thread([fs, when] { return wait_long(fs, when); });
    EXPECT_TRUE(still_blocked(waiter)) << "wait() returned before its condition held";
    return waiter;
}

// ---------------------------------------------------------------------------------------------------------------
// Duplicates (test_20369)

TEST(Wait, DuplicatesAreReportedOnce) {
    cf::Promise<int> p;
    auto f = p.get_future();
    ThreadGroup threads;
    threads.spawn([p]() mutable { p.set_result(2); });
    auto r = wait_long({f, f}, cf::ReturnWhen::AllCompleted);
    ASSERT_EQ(r.done.size(), 1u);
    EXPECT_TRUE(r.done[0] == f);
    EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, DuplicatesAmongPendingAndDone) {
    auto done = successful_future();
    auto pending = pending_future();
    Futures fs{done, pending, done, pending, pending};
    auto r = cf::wait(fs, 0.0, cf::ReturnWhen::AllCompleted);
    EXPECT_EQ(positions(r.done, fs), Positions{0});
    EXPECT_EQ(positions(r.not_done, fs), Positions{1});
}

TEST(Wait, DuplicatePendingFutureCompletedLaterIsCountedOnce) {
    // Each distinct future must be counted once: counting the duplicate twice (or waiting for it twice) would
    // leave ALL_COMPLETED waiting for an arrival that never comes.
    cf::Promise<int> p;
    auto f = p.get_future();
    auto g = successful_future();
    auto waiter = start_blocked_wait(Futures{f, g, f, f}, cf::ReturnWhen::AllCompleted);
    p.set_result(1);
    auto r = waiter.get();
    EXPECT_EQ(r.done.size(), 2u);
    EXPECT_TRUE(r.not_done.empty());
}

// ---------------------------------------------------------------------------------------------------------------
// FIRST_COMPLETED (test_first_completed, test_first_completed_some_already_completed)

TEST(Wait, FirstCompleted) {
    cf::Promise<int> p1;
    auto f1 = p1.get_future();
    auto f2 = pending_future();  // never completes
    ThreadGroup threads;
    threads.spawn([p1]() mutable { p1.set_result(42); });
    Futures fs{f1, f2};
    auto r = wait_long(fs, cf::ReturnWhen::FirstCompleted);
    EXPECT_EQ(positions(r.done, fs), Positions{0});
    EXPECT_EQ(positions(r.not_done, fs), Positions{1});
}

TEST(Wait, FirstCompletedSomeAlreadyCompleted) {
    auto f1 = pending_future();
    Futures fs{cancelled_and_notified_future(), successful_future(), f1};
    auto r = wait_long(fs, cf::ReturnWhen::FirstCompleted);
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1}));
    EXPECT_EQ(positions(r.not_done, fs), Positions{2});
}

TEST(Wait, FirstCompletedCountsACancelledFutureAsDone) {
    Futures fs{cancelled_future(), pending_future()};
    auto r = wait_long(fs, cf::ReturnWhen::FirstCompleted);
    EXPECT_EQ(positions(r.done, fs), Positions{0});
    EXPECT_EQ(positions(r.not_done, fs), Positions{1});
}

TEST(Wait, FirstCompletedTimesOutWithNothingDone) {
    Futures fs{pending_future(), running_future()};
    cf::DoneAndNotDone<int> r;
    auto took = cftest::time_of([&] { r = cf::wait(fs, 0.05, cf::ReturnWhen::FirstCompleted); });
    EXPECT_GE(took, 50ms);
    EXPECT_TRUE(r.done.empty());
    EXPECT_EQ(positions(r.not_done, fs), (Positions{0, 1}));
}

// ---------------------------------------------------------------------------------------------------------------
// FIRST_EXCEPTION (test_first_exception, test_first_exception_some_already_complete,
// test_first_exception_one_already_failed)

TEST(Wait, FirstException) {
    cf::Promise<int> p1, p2;
    auto f1 = p1.get_future();
    auto f2 = p2.get_future();
    auto f3 = pending_future();  // never completes
    ThreadGroup threads;
    // f1 succeeds strictly before f2 fails, so both are done when the failure wakes the wait.
    threads.spawn([p1, p2]() mutable {
        p1.set_result(42);
        p2.set_exception(std::make_exception_ptr(std::runtime_error("this is an exception")));
    });
    Futures fs{f1, f2, f3};
    auto r = wait_long(fs, cf::ReturnWhen::FirstException);
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1}));
    EXPECT_EQ(positions(r.not_done, fs), Positions{2});
}

TEST(Wait, FirstExceptionSomeAlreadyComplete) {
    cf::Promise<int> p1;
    auto f1 = p1.get_future();
    auto f2 = pending_future();  // never completes
    Futures fs{successful_future(), cancelled_future(), cancelled_and_notified_future(), f1, f2};
    // The finished and cancelled futures are no exception: the wait goes on.
    auto waiter = start_blocked_wait(fs, cf::ReturnWhen::FirstException);
    p1.set_failure(cf::Status::TaskFailed, "ZeroDivisionError", "integer division or modulo by zero");
    auto r = waiter.get();
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1, 2, 3}));
    EXPECT_EQ(positions(r.not_done, fs), Positions{4});
}

TEST(Wait, FirstExceptionOneAlreadyFailed) {
    auto f1 = pending_future();
    Futures fs{failed_future(), f1};
    auto r = wait_long(fs, cf::ReturnWhen::FirstException);
    EXPECT_EQ(positions(r.done, fs), Positions{0});
    EXPECT_EQ(positions(r.not_done, fs), Positions{1});
}

TEST(Wait, FirstExceptionDoesNotTreatCancelledAsFailure) {
    Futures fs{successful_future(), cancelled_future(), cancelled_and_notified_future(), pending_future()};
    cf::DoneAndNotDone<int> r;
    auto took = cftest::time_of([&] { r = cf::wait(fs, 0.05, cf::ReturnWhen::FirstException); });
    EXPECT_GE(took, 50ms) << "wait() returned at once: a cancelled future was taken for a failure";
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1, 2}));
    EXPECT_EQ(positions(r.not_done, fs), Positions{3});
}

TEST(Wait, FirstExceptionIgnoresACancelWhileWaiting) {
    cf::Promise<int> p1, p2;
    auto f1 = p1.get_future();
    auto f2 = p2.get_future();
    auto f3 = pending_future();  // never completes
    Futures fs{f1, f2, f3};
    auto waiter = start_blocked_wait(fs, cf::ReturnWhen::FirstException);
    EXPECT_TRUE(f1.cancel());
    EXPECT_TRUE(still_blocked(waiter)) << "a cancel woke FIRST_EXCEPTION";
    p2.set_exception(std::make_exception_ptr(DiskFull("x")));
    auto r = waiter.get();
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1}));
    EXPECT_EQ(positions(r.not_done, fs), Positions{2});
}

TEST(Wait, FirstExceptionHoldsWhenAllAreDoneWithoutFailure) {
    cf::Promise<int> p;
    auto f = p.get_future();
    Futures fs{successful_future(), cancelled_future(), f};
    auto waiter = start_blocked_wait(fs, cf::ReturnWhen::FirstException);
    p.set_result(1);
    auto r = waiter.get();
    EXPECT_EQ(r.done.size(), 3u);
    EXPECT_TRUE(r.not_done.empty());
}

// ---------------------------------------------------------------------------------------------------------------
// ALL_COMPLETED (test_all_completed) and timeouts (test_timeout)

TEST(Wait, AllCompleted) {
    cf::Promise<int> p1, p2;
    auto f1 = p1.get_future();
    auto f2 = p2.get_future();
    ThreadGroup threads;
    threads.spawn([p1, p2]() mutable {
        p1.set_exception(std::make_exception_ptr(std::domain_error("divmod by zero")));
        p2.set_result(42);
    });
    Futures fs{successful_future(), cancelled_and_notified_future(), failed_future(), f1, f2};
    auto r = wait_long(fs, cf::ReturnWhen::AllCompleted);
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1, 2, 3, 4}));
    EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, AllCompletedIsWokenByTheLastCompletion) {
    cf::Promise<int> p1, p2;
    auto f1 = p1.get_future();
    auto f2 = p2.get_future();
    Futures fs{f1, successful_future(), f2};
    auto waiter = start_blocked_wait(fs, cf::ReturnWhen::AllCompleted);
    p1.set_result(1);
    EXPECT_TRUE(still_blocked(waiter)) << "ALL_COMPLETED returned with a future still pending";
    p2.set_result(2);
    auto r = waiter.get();
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1, 2}));
}

TEST(Wait, TimeoutGivesPartialResult) {
    auto pending = pending_future();
    Futures fs{cancelled_and_notified_future(), failed_future(), successful_future(), pending};
    cf::DoneAndNotDone<int> r;
    auto took = cftest::time_of([&] { r = cf::wait(fs, 0.05, cf::ReturnWhen::AllCompleted); });
    EXPECT_GE(took, 50ms);
    EXPECT_EQ(positions(r.done, fs), (Positions{0, 1, 2}));
    EXPECT_EQ(positions(r.not_done, fs), Positions{3});
}

TEST(Wait, ZeroTimeoutSplitsInInputOrder) {
    Futures fs{pending_future(), successful_future(), running_future(), failed_future(), cancelled_future()};
    auto r = cf::wait(fs, 0.0);
    EXPECT_EQ(positions(r.done, fs), (Positions{1, 3, 4}));
    EXPECT_EQ(positions(r.not_done, fs), (Positions{0, 2}));
}

TEST(Wait, ChronoTimeout) {
    Futures fs{successful_future(), pending_future()};
    auto r = cf::wait(fs, 10ms, cf::ReturnWhen::AllCompleted);
    EXPECT_EQ(positions(r.done, fs), Positions{0});
    EXPECT_EQ(positions(r.not_done, fs), Positions{1});
}

TEST(Wait, NanTimeoutIsInvalid) {
    Futures fs{pending_future()};
    EXPECT_THROW(cf::wait(fs, std::numeric_limits<double>::quiet_NaN()), cf::InvalidArgument);
}

// ---------------------------------------------------------------------------------------------------------------
// Woken from another thread

TEST(Wait, SetResultFromAnotherThreadWakesIt) {
    cf::Promise<int> p;
    auto f = p.get_future();
    Futures fs{f};
    auto waiter = start_blocked_wait(fs, cf::ReturnWhen::AllCompleted);
    ThreadGroup threads;
    threads.spawn([p]() mutable { p.set_result(5); });
    auto r = waiter.get();
    EXPECT_EQ(positions(r.done, fs), Positions{0});
    EXPECT_EQ(f.result(0.0), 5);
}

TEST(Wait, CancelFromAnotherThreadWakesIt) {
    auto f = pending_future();
    Futures fs{f, pending_future()};
    auto waiter = start_blocked_wait(fs, cf::ReturnWhen::FirstCompleted);
    ThreadGroup threads;
    threads.spawn([f]() mutable { EXPECT_TRUE(f.cancel()); });
    auto r = waiter.get();
    EXPECT_EQ(positions(r.done, fs), Positions{0});
    EXPECT_EQ(positions(r.not_done, fs), Positions{1});
    EXPECT_TRUE(f.cancelled());
}

// ---------------------------------------------------------------------------------------------------------------
// Many futures completed together (test_pending_calls_race, issue #14406)

// Completes fs[i] from thread i % n_threads, all threads released at the same moment; i % 3 picks how.
void race_to_complete(std::vector<cf::Promise<int>> &ps, int n_threads, cftest::Latch &go, ThreadGroup &threads) {
    for (int t = 0; t < n_threads; ++t)
        threads.spawn([&ps, &go, t, n_threads] {
            go.arrive_and_wait();
            for (std::size_t i = t; i < ps.size(); i += n_threads) {
                switch (i % 3) {
                    case 0: ps[i].set_result(static_cast<int>(i)); break;
                    case 1: ps[i].set_exception(std::make_exception_ptr(DiskFull("x"))); break;
                    case 2: {
                        cf::FutureBase f = ps[i].future_base();
                        f.cancel();
                        break;
                    }
                }
            }
        });
}

TEST(Wait, HundredFuturesCompletedTogetherNeverHangAllCompleted) {
    constexpr int kFutures = 100, kThreads = 10, kRounds = 10;
    for (int round = 0; round < kRounds; ++round) {
        SCOPED_TRACE(round);
        if (HasFailure()) return;  // one missed wake-up costs kLong: do not pay it every round
        std::vector<cf::Promise<int>> ps(kFutures);
        Futures fs;
        for (auto &p : ps) fs.push_back(p.get_future());
        cftest::Latch go(kThreads + 1);
        ThreadGroup threads;
        race_to_complete(ps, kThreads, go, threads);
        go.count_down();  // the completers start while this thread registers and goes to sleep
        auto r = wait_long(fs, cf::ReturnWhen::AllCompleted);
        EXPECT_EQ(r.done.size(), static_cast<std::size_t>(kFutures));
        EXPECT_TRUE(r.not_done.empty());
    }
}

TEST(Wait, HundredFuturesEachFromItsOwnThread) {
    constexpr int kFutures = 100, kRounds = 5;
    for (int round = 0; round < kRounds; ++round) {
        SCOPED_TRACE(round);
        if (HasFailure()) return;  // one missed wake-up costs kLong: do not pay it every round
        std::vector<cf::Promise<int>> ps(kFutures);
        Futures fs;
        for (auto &p : ps) fs.push_back(p.get_future());
        cftest::Latch go(kFutures + 1);
        ThreadGroup threads;
        race_to_complete(ps, kFutures, go, threads);
        go.count_down();
        auto r = wait_long(fs, cf::ReturnWhen::AllCompleted);
        EXPECT_EQ(r.done.size(), static_cast<std::size_t>(kFutures));
        EXPECT_TRUE(r.not_done.empty());
    }
}

TEST(Wait, ManyFuturesFirstExceptionAndFirstCompletedUnderRace) {
    constexpr int kFutures = 60, kThreads = 6;
    for (cf::ReturnWhen when : {cf::ReturnWhen::FirstCompleted, cf::ReturnWhen::FirstException}) {
        for (int round = 0; round < 10 && !HasFailure(); ++round) {
            std::vector<cf::Promise<int>> ps(kFutures);
            Futures fs;
            for (auto &p : ps) fs.push_back(p.get_future());
            cftest::Latch go(kThreads + 1);
            ThreadGroup threads;
            race_to_complete(ps, kThreads, go, threads);
            go.count_down();
            auto r = wait_long(fs, when);
            EXPECT_GE(r.done.size(), 1u);
            EXPECT_EQ(r.done.size() + r.not_done.size(), static_cast<std::size_t>(kFutures));
            for (const auto &f : r.done) EXPECT_TRUE(f.done());
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// An empty list

TEST(Wait, EmptyListReturnsAtOnce) {
    for (cf::ReturnWhen when :
         {cf::ReturnWhen::AllCompleted, cf::ReturnWhen::FirstCompleted, cf::ReturnWhen::FirstException}) {
        SCOPED_TRACE(static_cast<int>(when));
        // No future can ever wake it, so it must not sleep at all, even without a time limit.
        auto r = cf::wait(Futures{}, cf::forever, when);
        EXPECT_TRUE(r.done.empty());
        EXPECT_TRUE(r.not_done.empty());
        auto r0 = cf::wait(Futures{}, 0.0, when);
        EXPECT_TRUE(r0.done.empty());
        EXPECT_TRUE(r0.not_done.empty());
    }
}

}  // namespace
