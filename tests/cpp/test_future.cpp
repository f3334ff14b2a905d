// SPDX-License-Identifier: MIT
// cf::Future, cf::Promise and the exceptions: the behaviour of CPython's
// Lib/test/test_concurrent_futures/test_future.py, plus what only C++ has (typed values, rethrown C++ exceptions).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <limits>
#include <mutex>
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

// ---------------------------------------------------------------------------------------------------------------
// State queries (test_done, test_running, test_cancelled)

void expect_state(const cf::FutureBase &f, cf::State state) {
    EXPECT_EQ(f.state(), state);
    EXPECT_EQ(f.done(), state == cf::State::Cancelled || state == cf::State::Finished);
    EXPECT_EQ(f.running(), state == cf::State::Running);
    EXPECT_EQ(f.cancelled(), state == cf::State::Cancelled);
}

TEST(FutureQueries, ReportEachState) {
    {
        SCOPED_TRACE("pending");
        expect_state(pending_future(), cf::State::Pending);
    }
    {
        SCOPED_TRACE("running");
        expect_state(running_future(), cf::State::Running);
    }
    {
        SCOPED_TRACE("cancelled");
        expect_state(cancelled_future(), cf::State::Cancelled);
    }
    {
        SCOPED_TRACE("cancelled and notified");
        expect_state(cancelled_and_notified_future(), cf::State::Cancelled);
    }
    {
        SCOPED_TRACE("finished with an exception");
        expect_state(failed_future(), cf::State::Finished);
    }
    {
        SCOPED_TRACE("finished with a result");
        expect_state(successful_future(), cf::State::Finished);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// cancel() on each state (test_cancel)

TEST(FutureCancel, PendingIsCancelled) {
    auto f = pending_future();
    EXPECT_TRUE(f.cancel());
    expect_state(f, cf::State::Cancelled);
}

TEST(FutureCancel, RunningIsNotCancelled) {
    auto f = running_future();
    EXPECT_FALSE(f.cancel());
    expect_state(f, cf::State::Running);
}

TEST(FutureCancel, CancelledStaysCancelled) {
    auto f = cancelled_future();
    EXPECT_TRUE(f.cancel());
    expect_state(f, cf::State::Cancelled);
}

TEST(FutureCancel, CancelledAndNotifiedStaysCancelled) {
    auto f = cancelled_and_notified_future();
    EXPECT_TRUE(f.cancel());
    expect_state(f, cf::State::Cancelled);
}

TEST(FutureCancel, FinishedWithExceptionIsNotCancelled) {
    auto f = failed_future();
    EXPECT_FALSE(f.cancel());
    expect_state(f, cf::State::Finished);
    EXPECT_THROW(f.result(0.0), DiskFull);
}

TEST(FutureCancel, FinishedWithResultIsNotCancelled) {
    auto f = successful_future(5);
    EXPECT_FALSE(f.cancel());
    expect_state(f, cf::State::Finished);
    EXPECT_EQ(f.result(0.0), 5);
}

TEST(FutureCancel, RefusedCancelOfRunningFutureLeavesItCompletable) {
    cf::Promise<int> p;
    auto f = p.get_future();
    ASSERT_TRUE(p.set_running_or_notify_cancel());
    EXPECT_FALSE(f.cancel());
    p.set_result(7);
    EXPECT_EQ(f.result(0.0), 7);
    EXPECT_FALSE(f.cancelled());
}

// ---------------------------------------------------------------------------------------------------------------
// result(timeout) and exception(timeout) on each state (test_result_with_timeout, test_exception_with_timeout)

TEST(FutureResult, ZeroTimeoutOnEachState) {
    EXPECT_THROW(pending_future().result(0.0), cf::TimeoutError);
    EXPECT_THROW(running_future().result(0.0), cf::TimeoutError);
    EXPECT_THROW(cancelled_future().result(0.0), cf::CancelledError);
    EXPECT_THROW(cancelled_and_notified_future().result(0.0), cf::CancelledError);
    EXPECT_THROW(failed_future().result(0.0), DiskFull);
    EXPECT_EQ(successful_future(42).result(0.0), 42);
}

TEST(FutureResult, ZeroChronoTimeoutOnEachState) {
    EXPECT_THROW(pending_future().result(0ms), cf::TimeoutError);
    EXPECT_THROW(running_future().result(0ms), cf::TimeoutError);
    EXPECT_THROW(cancelled_future().result(0ms), cf::CancelledError);
    EXPECT_THROW(failed_future().result(0ms), DiskFull);
    EXPECT_EQ(successful_future(42).result(0ms), 42);
}

TEST(FutureResult, TimeoutErrorCarriesItsStatus) {
    try {
        pending_future().result(0.0);
        FAIL() << "no TimeoutError";
    } catch (const cf::TimeoutError &e) {
        EXPECT_EQ(e.status(), cf::Status::Timeout);
    }
    try {
        cancelled_future().result(0.0);
        FAIL() << "no CancelledError";
    } catch (const cf::CancelledError &e) {
        EXPECT_EQ(e.status(), cf::Status::Cancelled);
    }
}

TEST(FutureResult, TimeoutIsNotCutShort) {
    auto f = pending_future();
    auto took = cftest::time_of([&] { EXPECT_THROW(f.result(0.05), cf::TimeoutError); });
    EXPECT_GE(took, 50ms);
}

TEST(FutureResult, TinyTimeoutTimesOut) {
    EXPECT_THROW(pending_future().result(1e-9), cf::TimeoutError);
    EXPECT_THROW(pending_future().result(std::numeric_limits<double>::denorm_min()), cf::TimeoutError);
}

TEST(FutureResult, NanTimeoutIsInvalid) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(pending_future().result(nan), cf::InvalidArgument);
    EXPECT_THROW(pending_future().exception(nan), cf::InvalidArgument);
    EXPECT_THROW(pending_future().wait(nan), cf::InvalidArgument);
}

TEST(FutureResult, NegativeInfiniteAndHugeTimeoutsWaitWithoutLimit) {
    // The huge ones must not overflow into a deadline in the past.
    for (double timeout : {-1.0, -0.5, cf::forever, std::numeric_limits<double>::infinity(), 2.9e9, 1e10, 1e300,
                           std::numeric_limits<double>::max()}) {
        SCOPED_TRACE(timeout);
        cf::Promise<int> p;
        auto f = p.get_future();
        auto waiter = on_thread([f, timeout] { return f.result(timeout); });
        // Treated as a zero timeout it would have thrown TimeoutError at once.
        EXPECT_TRUE(still_blocked(waiter));
        p.set_result(3);
        EXPECT_EQ(waiter.get(), 3);
    }
}

TEST(FutureException, ZeroTimeoutOnEachState) {
    EXPECT_THROW(pending_future().exception(0.0), cf::TimeoutError);
    EXPECT_THROW(running_future().exception(0.0), cf::TimeoutError);
    EXPECT_THROW(cancelled_future().exception(0.0), cf::CancelledError);
    EXPECT_THROW(cancelled_and_notified_future().exception(0.0), cf::CancelledError);
    std::exception_ptr e = failed_future("disk 3 full").exception(0.0);
    ASSERT_TRUE(e);
    try {
        std::rethrow_exception(e);
    } catch (const DiskFull &d) {
        EXPECT_STREQ(d.what(), "disk 3 full");
    } catch (...) {
        ADD_FAILURE() << "exception() did not hold the DiskFull that was set";
    }
    EXPECT_FALSE(successful_future().exception(0.0));
}

TEST(FutureError, ZeroTimeoutOnEachState) {
    EXPECT_THROW(pending_future().error(0.0), cf::TimeoutError);
    EXPECT_THROW(running_future().error(0.0), cf::TimeoutError);
    EXPECT_THROW(cancelled_future().error(0.0), cf::CancelledError);

    cf::ErrorInfo failed = failed_future("disk 3 full").error(0.0);
    EXPECT_EQ(failed.status, cf::Status::TaskFailed);
    EXPECT_EQ(failed.type, "cftest::DiskFull");
    EXPECT_EQ(failed.message, "disk 3 full");

    cf::ErrorInfo ok = successful_future().error(0.0);
    EXPECT_EQ(ok.status, cf::Status::Ok);
    EXPECT_TRUE(ok.type.empty());
    EXPECT_TRUE(ok.message.empty());
    EXPECT_TRUE(ok.detail.empty());
}

TEST(FutureWait, ReportsWhetherDoneInTime) {
    EXPECT_FALSE(pending_future().wait(0.0));
    EXPECT_FALSE(running_future().wait(0.0));
    EXPECT_FALSE(pending_future().wait(10ms));
    EXPECT_TRUE(cancelled_future().wait(0.0));
    EXPECT_TRUE(failed_future().wait(0.0));  // wait() does not throw the failure
    EXPECT_TRUE(successful_future().wait());
}

// ---------------------------------------------------------------------------------------------------------------
// Completion from another thread wakes a blocked waiter (test_result_with_success, test_result_with_cancel,
// test_exception_with_success)

TEST(FutureCrossThread, ResultSetLaterWakesBlockedResult) {
    cf::Promise<int> p;
    auto f = p.get_future();
    auto waiter = on_thread([f] {
        cftest::WakeCheck check;
        return f.result(kLong);
    });
    EXPECT_TRUE(still_blocked(waiter));
    p.set_result(42);
    EXPECT_EQ(waiter.get(), 42);
}

TEST(FutureCrossThread, CancelWakesBlockedResultWithCancelledError) {
    cf::Promise<int> p;
    auto f = p.get_future();
    auto waiter = on_thread([f] {
        cftest::WakeCheck check;
        return f.result(kLong);
    });
    EXPECT_TRUE(still_blocked(waiter));
    EXPECT_TRUE(f.cancel());
    EXPECT_THROW(waiter.get(), cf::CancelledError);
}

TEST(FutureCrossThread, CancelFromAnotherThreadWakesWaiterHere) {
    cf::Promise<int> p;
    auto f = p.get_future();
    ThreadGroup threads;
    threads.spawn([f]() mutable {
        std::this_thread::sleep_for(kGrace);  // let the main thread block first (not needed for correctness)
        f.cancel();
    });
    {
        cftest::WakeCheck check;
        EXPECT_THROW(f.result(kLong), cf::CancelledError);
    }
    EXPECT_TRUE(f.cancelled());
}

TEST(FutureCrossThread, ExceptionSetLaterWakesBlockedException) {
    cf::Promise<int> p;
    auto f = p.get_future();
    auto waiter = on_thread([f] {
        cftest::WakeCheck check;
        return f.exception(kLong);
    });
    EXPECT_TRUE(still_blocked(waiter));
    p.set_exception(std::make_exception_ptr(DiskFull("late")));
    std::exception_ptr e = waiter.get();
    ASSERT_TRUE(e);
    EXPECT_THROW(std::rethrow_exception(e), DiskFull);
}

TEST(FutureCrossThread, FailureSetLaterIsRethrownInTheWaitingThread) {
    cf::Promise<int> p;
    auto f = p.get_future();
    auto waiter = on_thread([f] {
        cftest::WakeCheck check;
        return f.result(kLong);
    });
    EXPECT_TRUE(still_blocked(waiter));
    p.set_exception(std::make_exception_ptr(std::out_of_range("index 9")));
    EXPECT_THROW(waiter.get(), std::out_of_range);
}

TEST(FutureCrossThread, WaitMethodIsWokenBySetResult) {
    cf::Promise<int> p;
    auto f = p.get_future();
    auto waiter = on_thread([f] {
        cftest::WakeCheck check;
        return f.wait(kLong);
    });
    EXPECT_TRUE(still_blocked(waiter));
    p.set_result(1);
    EXPECT_TRUE(waiter.get());
}

TEST(FutureCrossThread, EveryBlockedWaiterIsWoken) {
    constexpr int kWaiters = 8;
    cf::Promise<int> p;
    auto f = p.get_future();
    cftest::Latch started(kWaiters);
    std::vector<std::future<int>> waiters;
    for (int i = 0; i < kWaiters; ++i)
        waiters.push_back(on_thread([f, &started] {
            started.count_down();
            cftest::WakeCheck check;
            return f.result(kLong);
        }));
    EXPECT_TRUE(started.wait());
    p.set_result(99);
    for (auto &w : waiters) EXPECT_EQ(w.get(), 99);
}

TEST(FutureCrossThread, ConcurrentSetResultHasExactlyOneWinner) {
    constexpr int kSetters = 8;
    for (int round = 0; round < 20; ++round) {
        cf::Promise<int> p;
        cftest::Latch go(kSetters);
        std::atomic<int> winners{0}, refused{0}, winner_value{-1};
        {
            ThreadGroup threads;
            for (int i = 0; i < kSetters; ++i)
                threads.spawn([&, i] {
                    go.arrive_and_wait();
                    try {
                        p.set_result(i);
                        ++winners;
                        winner_value = i;
                    } catch (const cf::InvalidStateError &) {
                        ++refused;
                    }
                });
        }
        EXPECT_EQ(winners.load(), 1);
        EXPECT_EQ(refused.load(), kSetters - 1);
        EXPECT_EQ(p.get_future().result(0.0), winner_value.load());
    }
}

TEST(FutureCrossThread, CancelRacingSetResultHasExactlyOneWinner) {
    for (int round = 0; round < 100; ++round) {
        cf::Promise<int> p;
        auto f = p.get_future();
        cftest::Latch go(2);
        bool cancelled = false, set = false;
        {
            ThreadGroup threads;
            threads.spawn([&] {
                go.arrive_and_wait();
                cancelled = f.cancel();
            });
            threads.spawn([&] {
                go.arrive_and_wait();
                try {
                    p.set_result(round);
                    set = true;
                } catch (const cf::InvalidStateError &) {
                }
            });
        }
        ASSERT_NE(cancelled, set) << "round " << round;
        if (cancelled) {
            EXPECT_THROW(f.result(0.0), cf::CancelledError);
        } else {
            EXPECT_EQ(f.result(0.0), round);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The producer's side: set_* rules (test_multiple_set_result, test_multiple_set_exception)

TEST(PromiseSet, SecondSetResultIsInvalidAndKeepsTheFirst) {
    cf::Promise<int> p;
    p.set_result(1);
    EXPECT_THROW(p.set_result(2), cf::InvalidStateError);
    auto f = p.get_future();
    EXPECT_TRUE(f.done());
    EXPECT_EQ(f.result(), 1);
}

TEST(PromiseSet, SecondSetExceptionIsInvalidAndKeepsTheFirst) {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(DiskFull("first")));
    EXPECT_THROW(p.set_exception(std::make_exception_ptr(std::logic_error("second"))), cf::InvalidStateError);
    try {
        p.get_future().result();
        FAIL() << "no exception";
    } catch (const DiskFull &e) {
        EXPECT_STREQ(e.what(), "first");
    }
}

TEST(PromiseSet, SetAfterTheOtherKindIsInvalid) {
    cf::Promise<int> ok;
    ok.set_result(1);
    EXPECT_THROW(ok.set_exception(std::make_exception_ptr(DiskFull("x"))), cf::InvalidStateError);
    EXPECT_THROW(ok.set_failure(cf::Status::TaskFailed, "ValueError", "x"), cf::InvalidStateError);
    EXPECT_THROW(ok.set_bytes("xyzw"), cf::InvalidStateError);
    EXPECT_EQ(ok.get_future().result(), 1);

    cf::Promise<int> failed;
    failed.set_failure(cf::Status::TaskFailed, "ValueError", "bad");
    EXPECT_THROW(failed.set_result(2), cf::InvalidStateError);
    EXPECT_EQ(failed.get_future().error().type, "ValueError");
}

TEST(PromiseSet, EverySetAfterCancelIsInvalid) {
    cf::Promise<int> p;
    auto f = p.get_future();
    ASSERT_TRUE(f.cancel());
    EXPECT_THROW(p.set_result(1), cf::InvalidStateError);
    EXPECT_THROW(p.set_bytes("abcd"), cf::InvalidStateError);
    EXPECT_THROW(p.set_exception(std::make_exception_ptr(DiskFull("x"))), cf::InvalidStateError);
    EXPECT_THROW(p.set_failure(cf::Status::TaskFailed, "ValueError", "x"), cf::InvalidStateError);
    expect_state(f, cf::State::Cancelled);
    EXPECT_THROW(f.result(0.0), cf::CancelledError);
}

TEST(PromiseSet, SetFromPendingWithoutRunningIsAllowed) {
    cf::Promise<int> p;
    p.set_result(8);
    EXPECT_EQ(p.get_future().result(0.0), 8);
}

TEST(PromiseSet, SetWhileRunning) {
    cf::Promise<int> p;
    ASSERT_TRUE(p.set_running_or_notify_cancel());
    p.set_result(9);
    expect_state(p.get_future(), cf::State::Finished);
    EXPECT_EQ(p.get_future().result(0.0), 9);
}

TEST(PromiseSet, NullExceptionIsInvalidArgument) {
    cf::Promise<int> p;
    EXPECT_THROW(p.set_exception(nullptr), cf::InvalidArgument);
    expect_state(p.get_future(), cf::State::Pending);
}

TEST(PromiseSet, FailureNeedsAFailingStatus) {
    cf::Promise<int> p;
    EXPECT_THROW(p.set_failure(cf::Status::Ok, "T", "m"), cf::InvalidArgument);
    EXPECT_THROW(p.set_failure(cf::Status::Done, "T", "m"), cf::InvalidArgument);
    expect_state(p.get_future(), cf::State::Pending);
}

TEST(PromiseSet, CopiesShareOneFuture) {
    cf::Promise<int> a;
    cf::Promise<int> b = a;
    EXPECT_TRUE(a.get_future() == b.get_future());
    b.set_result(4);
    EXPECT_EQ(a.get_future().result(0.0), 4);
    EXPECT_THROW(a.set_result(5), cf::InvalidStateError);
}

TEST(PromiseSet, MovedFromPromiseRefusesToSet) {
    cf::Promise<int> a;
    auto f = a.get_future();
    cf::Promise<int> b = std::move(a);
    EXPECT_THROW(a.set_result(1), cf::InvalidStateError);  // NOLINT(bugprone-use-after-move): on purpose
    b.set_result(2);
    EXPECT_EQ(f.result(0.0), 2);
}

TEST(PromiseSet, FutureOutlivesPromise) {
    cf::Future<std::string> f;
    {
        cf::Promise<std::string> p;
        f = p.get_future();
        p.set_result("kept");
    }
    EXPECT_EQ(f.result(0.0), "kept");
}

TEST(PromiseSet, PromiseOutlivesFuture) {
    cf::Promise<std::string> p;
    { auto f = p.get_future(); }
    p.set_result("nobody listens");
    EXPECT_EQ(p.get_future().result(0.0), "nobody listens");
}

// ---------------------------------------------------------------------------------------------------------------
// set_running_or_notify_cancel

TEST(SetRunningOrNotifyCancel, PendingBecomesRunning) {
    cf::Promise<int> p;
    EXPECT_TRUE(p.set_running_or_notify_cancel());
    expect_state(p.get_future(), cf::State::Running);
}

TEST(SetRunningOrNotifyCancel, CancelledReturnsFalse) {
    cf::Promise<int> p;
    ASSERT_TRUE(p.get_future().cancel());
    EXPECT_FALSE(p.set_running_or_notify_cancel());
    expect_state(p.get_future(), cf::State::Cancelled);
}

TEST(SetRunningOrNotifyCancel, RunningThrows) {
    cf::Promise<int> p;
    ASSERT_TRUE(p.set_running_or_notify_cancel());
    EXPECT_THROW(p.set_running_or_notify_cancel(), cf::InvalidStateError);
    expect_state(p.get_future(), cf::State::Running);
}

TEST(SetRunningOrNotifyCancel, FinishedThrows) {
    cf::Promise<int> ok;
    ok.set_result(1);
    EXPECT_THROW(ok.set_running_or_notify_cancel(), cf::InvalidStateError);
    expect_state(ok.get_future(), cf::State::Finished);

    cf::Promise<int> failed;
    failed.set_exception(std::make_exception_ptr(DiskFull("x")));
    EXPECT_THROW(failed.set_running_or_notify_cancel(), cf::InvalidStateError);
    expect_state(failed.get_future(), cf::State::Finished);
}

// ---------------------------------------------------------------------------------------------------------------
// Done callbacks (test_done_callback_*)

TEST(DoneCallback, SeesTheResult) {
    cf::Promise<int> p;
    auto f = p.get_future();
    int seen = 0;
    f.add_done_callback([&](const cf::Future<int> &g) { seen = g.result(0.0); });
    EXPECT_EQ(seen, 0);
    p.set_result(5);
    EXPECT_EQ(seen, 5);
}

TEST(DoneCallback, SeesTheException) {
    cf::Promise<int> p;
    auto f = p.get_future();
    std::exception_ptr seen;
    f.add_done_callback([&](const cf::Future<int> &g) { seen = g.exception(0.0); });
    p.set_exception(std::make_exception_ptr(DiskFull("test")));
    ASSERT_TRUE(seen);
    try {
        std::rethrow_exception(seen);
    } catch (const DiskFull &e) {
        EXPECT_STREQ(e.what(), "test");
    }
}

TEST(DoneCallback, SeesTheCancel) {
    auto f = pending_future();
    bool was_cancelled = false;
    f.add_done_callback([&](const cf::Future<int> &g) { was_cancelled = g.cancelled(); });
    EXPECT_TRUE(f.cancel());
    EXPECT_TRUE(was_cancelled);
}

TEST(DoneCallback, RunsOnceEvenIfCancelledAgain) {
    auto f = pending_future();
    int calls = 0;
    f.add_done_callback([&](const cf::Future<int> &) { ++calls; });
    EXPECT_TRUE(f.cancel());
    EXPECT_TRUE(f.cancel());
    EXPECT_EQ(calls, 1);
}

TEST(DoneCallback, RunInTheOrderAdded) {
    cf::Promise<int> p;
    auto f = p.get_future();
    std::vector<int> order;
    for (int i = 0; i < 6; ++i) f.add_done_callback([&order, i](const cf::Future<int> &) { order.push_back(i); });
    EXPECT_TRUE(order.empty());
    p.set_result(0);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(DoneCallback, ThrowingCallbackDoesNotStopTheOthers) {
    cf::Promise<int> p;
    auto f = p.get_future();
    bool raising_was_called = false, non_std_was_called = false, fn_was_called = false;
    f.add_done_callback([&](const cf::Future<int> &) {
        raising_was_called = true;
        throw std::runtime_error("doh!");
    });
    f.add_done_callback([&](const cf::Future<int> &) {
        non_std_was_called = true;
        throw 17;
    });
    f.add_done_callback([&](const cf::Future<int> &) { fn_was_called = true; });
    EXPECT_NO_THROW(p.set_result(5));
    EXPECT_TRUE(raising_was_called);
    EXPECT_TRUE(non_std_was_called);
    EXPECT_TRUE(fn_was_called);
    EXPECT_EQ(f.result(0.0), 5);
}

TEST(DoneCallback, ThrowingCallbackOnDoneFutureDoesNotPropagate) {
    auto f = successful_future(5);
    bool called = false;
    EXPECT_NO_THROW(f.add_done_callback([&](const cf::Future<int> &) {
        called = true;
        throw std::runtime_error("doh!");
    }));
    EXPECT_TRUE(called);
}

TEST(DoneCallback, ThrowingCallbackOnCancelDoesNotPropagate) {
    auto f = pending_future();
    bool after = false;
    f.add_done_callback([](const cf::Future<int> &) { throw std::runtime_error("doh!"); });
    f.add_done_callback([&](const cf::Future<int> &) { after = true; });
    bool cancelled = false;
    EXPECT_NO_THROW(cancelled = f.cancel());
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(after);
}

// Runs one callback on an already-done future and checks it ran at once, on this thread.
void expect_runs_at_once_here(cf::Future<int> f) {
    std::thread::id ran_on;
    bool saw_done = false;
    f.add_done_callback([&](const cf::Future<int> &g) {
        ran_on = std::this_thread::get_id();
        saw_done = g.done();
    });
    EXPECT_EQ(ran_on, std::this_thread::get_id());  // set before add_done_callback returned
    EXPECT_TRUE(saw_done);
}

TEST(DoneCallback, RunsAtOnceWhenAlreadySucceeded) {
    auto f = successful_future(5);
    int seen = 0;
    f.add_done_callback([&](const cf::Future<int> &g) { seen = g.result(0.0); });
    EXPECT_EQ(seen, 5);
    expect_runs_at_once_here(f);
}

TEST(DoneCallback, RunsAtOnceWhenAlreadyFailed) {
    auto f = failed_future("test");
    std::exception_ptr seen;
    f.add_done_callback([&](const cf::Future<int> &g) { seen = g.exception(0.0); });
    ASSERT_TRUE(seen);
    EXPECT_THROW(std::rethrow_exception(seen), DiskFull);
    expect_runs_at_once_here(f);
}

TEST(DoneCallback, RunsAtOnceWhenAlreadyCancelled) {
    auto f = cancelled_future();
    bool was_cancelled = false;
    f.add_done_callback([&](const cf::Future<int> &g) { was_cancelled = g.cancelled(); });
    EXPECT_TRUE(was_cancelled);
    expect_runs_at_once_here(f);
}

TEST(DoneCallback, RunsOnTheCompletingThread) {
    cf::Promise<int> p;
    auto f = p.get_future();
    std::thread::id ran_on;
    f.add_done_callback([&](const cf::Future<int> &) { ran_on = std::this_thread::get_id(); });
    std::thread::id completer;
    {
        ThreadGroup threads;
        completer = threads.spawn([p]() mutable { p.set_result(1); });
    }
    EXPECT_EQ(ran_on, completer);
    EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(DoneCallback, SeesTheDoneFutureAndMayReadIt) {
    cf::Promise<int> p;
    auto f = p.get_future();
    bool same = false, done = false, waited = false;
    cf::State state = cf::State::Pending;
    int value = 0;
    f.add_done_callback([&](const cf::Future<int> &g) {
        same = g == f;
        done = g.done();
        state = g.state();
        waited = g.wait(0.0);
        value = g.result();  // no timeout: must not block or deadlock inside the callback
    });
    p.set_result(11);
    EXPECT_TRUE(same);
    EXPECT_TRUE(done);
    EXPECT_EQ(state, cf::State::Finished);
    EXPECT_TRUE(waited);
    EXPECT_EQ(value, 11);
}

TEST(DoneCallback, CallbackAddedFromACallbackRunsAtOnce) {
    cf::Promise<int> p;
    auto f = p.get_future();
    std::vector<std::string> order;
    f.add_done_callback([&](const cf::Future<int> &g) {
        order.push_back("first");
        cf::Future<int> h = g;
        h.add_done_callback([&](const cf::Future<int> &) { order.push_back("nested"); });
        order.push_back("first done");
    });
    f.add_done_callback([&](const cf::Future<int> &) { order.push_back("second"); });
    p.set_result(1);
    EXPECT_EQ(order, (std::vector<std::string>{"first", "nested", "first done", "second"}));
}

TEST(DoneCallback, RunsAfterTheLastFutureHandleIsGone) {
    cf::Promise<int> p;
    int seen = 0;
    {
        auto f = p.get_future();
        f.add_done_callback([&](const cf::Future<int> &g) { seen = g.result(0.0); });
    }
    p.set_result(21);
    EXPECT_EQ(seen, 21);
}

TEST(DoneCallback, UntypedCallbackSeesTheBytes) {
    cf::PromiseBase p;
    std::string seen;
    cf::FutureBase f = p.future_base();
    f.add_done_callback([&](const cf::FutureBase &g) { seen = std::string(g.bytes(0.0)); });
    p.set_bytes("raw");
    EXPECT_EQ(seen, "raw");
}

TEST(DoneCallback, RunsForADescribedFailure) {
    cf::Promise<int> p;
    auto f = p.get_future();
    cf::ErrorInfo seen;
    f.add_done_callback([&](const cf::Future<int> &g) { seen = g.error(0.0); });
    p.set_failure(cf::Status::TaskFailed, "KeyError", "'k'");
    EXPECT_EQ(seen.status, cf::Status::TaskFailed);
    EXPECT_EQ(seen.type, "KeyError");
    EXPECT_EQ(seen.message, "'k'");
}

// ---------------------------------------------------------------------------------------------------------------
// Exceptions carried by futures

TEST(FutureExceptions, CurrentExceptionIsRethrownWithItsOriginalType) {
    cf::Promise<int> p;
    try {
        throw std::out_of_range("index 7 past the end");
    } catch (...) {
        p.set_exception(std::current_exception());
    }
    auto f = p.get_future();
    try {
        f.result();
        FAIL() << "no exception";
    } catch (const std::out_of_range &e) {
        EXPECT_STREQ(e.what(), "index 7 past the end");
    } catch (...) {
        FAIL() << "rethrown with another type";
    }
    // and again: reading a failed future twice throws twice
    EXPECT_THROW(f.result(), std::out_of_range);
}

TEST(FutureExceptions, UserExceptionKeepsItsFields) {
    cf::Promise<int> p;
    try {
        throw DiskFull("volume /data", 122);
    } catch (...) {
        p.set_exception(std::current_exception());
    }
    try {
        p.get_future().result();
        FAIL() << "no exception";
    } catch (const DiskFull &e) {
        EXPECT_EQ(e.code, 122);  // not sliced to std::runtime_error
        EXPECT_STREQ(e.what(), "volume /data");
    }
}

TEST(FutureExceptions, ErrorReportsDemangledTypeAndWhat) {
    struct Case {
        std::exception_ptr e;
        const char *type;
        const char *message;
    };
    const Case cases[] = {
        {std::make_exception_ptr(std::out_of_range("idx")), "std::out_of_range", "idx"},
        {std::make_exception_ptr(DiskFull("full")), "cftest::DiskFull", "full"},
        {std::make_exception_ptr(cftest::Tagged<int>("tagged")), "cftest::Tagged<int>", "tagged"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.type);
        cf::Promise<int> p;
        p.set_exception(c.e);
        cf::ErrorInfo info = p.get_future().error(0.0);
        EXPECT_EQ(info.status, cf::Status::TaskFailed);
        EXPECT_EQ(info.type, c.type);
        EXPECT_EQ(info.message, c.message);
    }
}

TEST(FutureExceptions, NonStdExceptionIsRethrownAsIs) {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(42));
    auto f = p.get_future();
    try {
        f.result();
        FAIL() << "no exception";
    } catch (int v) {
        EXPECT_EQ(v, 42);
    }
    cf::ErrorInfo info = f.error();
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "int");
    EXPECT_FALSE(info.message.empty());
}

TEST(FutureExceptions, ExceptionPointerRethrowsTheOriginal) {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(DiskFull("x", 5)));
    std::exception_ptr e = p.get_future().exception();
    ASSERT_TRUE(e);
    try {
        std::rethrow_exception(e);
    } catch (const DiskFull &d) {
        EXPECT_EQ(d.code, 5);
    }
}

TEST(FutureExceptions, SetFailureThrowsTaskError) {
    cf::Promise<int> p;
    p.set_failure(cf::Status::TaskFailed, "ZeroDivisionError", "division by zero", "task 'divide'");
    auto f = p.get_future();
    try {
        f.result();
        FAIL() << "no exception";
    } catch (const cf::TaskError &e) {
        EXPECT_EQ(e.type(), "ZeroDivisionError");
        EXPECT_EQ(e.message(), "division by zero");
        EXPECT_EQ(e.detail(), "task 'divide'");
        EXPECT_EQ(e.status(), cf::Status::TaskFailed);
        EXPECT_STREQ(e.what(), "ZeroDivisionError: division by zero");
        EXPECT_EQ(dynamic_cast<const cf::RemoteError *>(&e), nullptr);  // it happened here, not remotely
    }
    EXPECT_THROW(f.result(), cf::Error);  // TaskError is a cf::Error

    cf::ErrorInfo info = f.error();
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "ZeroDivisionError");
    EXPECT_EQ(info.message, "division by zero");
    EXPECT_EQ(info.detail, "task 'divide'");

    std::exception_ptr e = f.exception();
    ASSERT_TRUE(e);
    EXPECT_THROW(std::rethrow_exception(e), cf::TaskError);
}

TEST(FutureExceptions, TaskErrorWithoutMessageIsNamedByItsType) {
    cf::Promise<int> p;
    p.set_failure(cf::Status::TaskFailed, "StopIteration", "");
    try {
        p.get_future().result();
        FAIL() << "no exception";
    } catch (const cf::TaskError &e) {
        EXPECT_STREQ(e.what(), "StopIteration");
        EXPECT_TRUE(e.message().empty());
    }
}

TEST(FutureExceptions, BrokenPoolFailureThrowsItsClass) {
    cf::Promise<int> p;
    p.set_failure(cf::Status::BrokenProcessPool, "SIGKILL", "worker 4711 terminated by signal 9", "pid 4711");
    auto f = p.get_future();
    EXPECT_THROW(f.result(), cf::BrokenProcessPool);
    EXPECT_THROW(f.result(), cf::BrokenExecutor);
    cf::ErrorInfo info = f.error();
    EXPECT_EQ(info.status, cf::Status::BrokenProcessPool);
    EXPECT_EQ(info.type, "SIGKILL");
    EXPECT_EQ(info.message, "worker 4711 terminated by signal 9");
    EXPECT_EQ(info.detail, "pid 4711");
    try {
        f.result();
    } catch (const cf::Error &e) {
        EXPECT_EQ(e.status(), cf::Status::BrokenProcessPool);
    }
}

TEST(FutureExceptions, TaskErrorThroughSetExceptionKeepsItsDescription) {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(cf::RemoteError("KeyError", "'x'", "in task 'lookup'")));
    auto f = p.get_future();
    EXPECT_THROW(f.result(), cf::RemoteError);
    cf::ErrorInfo info = f.error();
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "KeyError");
    EXPECT_EQ(info.message, "'x'");
    EXPECT_EQ(info.detail, "in task 'lookup'");
}

// The exception classes themselves: statuses, bases and names.
template <class E>
void expect_error_class(cf::Status status) {
    try {
        throw E("text");
    } catch (const cf::Error &e) {
        EXPECT_EQ(e.status(), status);
        EXPECT_STREQ(e.what(), "text");
        EXPECT_NE(dynamic_cast<const E *>(&e), nullptr);
        EXPECT_NE(dynamic_cast<const std::runtime_error *>(&e), nullptr);
    }
}

TEST(ErrorClasses, CarryTheirStatus) {
    expect_error_class<cf::CancelledError>(cf::Status::Cancelled);
    expect_error_class<cf::TimeoutError>(cf::Status::Timeout);
    expect_error_class<cf::InvalidStateError>(cf::Status::InvalidState);
    expect_error_class<cf::InvalidArgument>(cf::Status::InvalidArgument);
    expect_error_class<cf::ShutdownError>(cf::Status::Shutdown);
    expect_error_class<cf::BrokenThreadPool>(cf::Status::BrokenThreadPool);
    expect_error_class<cf::BrokenProcessPool>(cf::Status::BrokenProcessPool);
    expect_error_class<cf::UnknownTaskError>(cf::Status::UnknownTask);
    expect_error_class<cf::DeadlockError>(cf::Status::Deadlock);
    expect_error_class<cf::SystemError>(cf::Status::System);
    expect_error_class<cf::TooLargeError>(cf::Status::TooLarge);
    EXPECT_TRUE((std::is_base_of_v<cf::BrokenExecutor, cf::BrokenThreadPool>));
    EXPECT_TRUE((std::is_base_of_v<cf::BrokenExecutor, cf::BrokenProcessPool>));
    EXPECT_TRUE((std::is_base_of_v<cf::TaskError, cf::RemoteError>));
}

TEST(ErrorClasses, ThrowStatusPicksTheClass) {
    EXPECT_THROW(cf::throw_status(cf::Status::Cancelled, "m"), cf::CancelledError);
    EXPECT_THROW(cf::throw_status(cf::Status::Timeout, "m"), cf::TimeoutError);
    EXPECT_THROW(cf::throw_status(cf::Status::InvalidState, "m"), cf::InvalidStateError);
    EXPECT_THROW(cf::throw_status(cf::Status::BrokenThreadPool, "m"), cf::BrokenThreadPool);
    EXPECT_THROW(cf::throw_status(cf::Status::TaskFailed, "m"), cf::TaskError);
    EXPECT_THROW(cf::throw_status(static_cast<cf::Status>(-999), "m"), cf::InvalidArgument);
}

// Every failure status of the list (cf_status_map.h) throws the exception class the list names, carrying the status.
TEST(ErrorClasses, ThrowStatusFollowsTheStatusMap) {
    struct Entry {
        cf::Status status;
        const char *c_name, *cxx_exception;
    };
    static const Entry entries[] = {
#define CF_TEST_ENTRY(c_name, value, cxx_name, cxx_exception, python_exception, description) \
    {cf::Status::cxx_name, #c_name, cxx_exception},
        CF_STATUS_MAP(CF_TEST_ENTRY)
#undef CF_TEST_ENTRY
    };
    int checked = 0;
    for (const Entry &e : entries) {
        EXPECT_STREQ(cf::status_name(static_cast<int>(e.status)), e.c_name);
        if (e.cxx_exception[0] == '\0') continue;  // CF_OK and CF_DONE are no failures
        ++checked;
        try {
            cf::throw_status(e.status, "m");
            ADD_FAILURE() << e.c_name << ": throw_status returned";
        } catch (const std::exception &thrown) {
            EXPECT_EQ(cf::detail::demangle(typeid(thrown).name()), e.cxx_exception) << e.c_name;
            if (auto *error = dynamic_cast<const cf::Error *>(&thrown)) EXPECT_EQ(error->status(), e.status) << e.c_name;
        }
    }
    EXPECT_EQ(checked, 15);
}

TEST(ErrorClasses, StatusNames) {
    EXPECT_STREQ(cf::status_name(static_cast<int>(cf::Status::Timeout)), "CF_E_TIMEOUT");
    EXPECT_STREQ(cf::status_name(static_cast<int>(cf::Status::Ok)), "CF_OK");
    EXPECT_STREQ(cf::status_name(12345), "CF_UNKNOWN_STATUS");
    EXPECT_STRNE(cf::status_description(static_cast<int>(cf::Status::Cancelled)), "");
}

// ---------------------------------------------------------------------------------------------------------------
// Typed values and handles

TEST(TypedFuture, StringResult) {
    cf::Promise<std::string> p;
    p.set_result("hello");
    auto f = p.get_future();
    EXPECT_EQ(f.result(), "hello");
    EXPECT_EQ(f.bytes(), "hello");
}

TEST(TypedFuture, StringResultFromStdString) {
    // The same as StringResult with the argument already of the promise's type.
    cf::Promise<std::string> p;
    p.set_result(std::string("hello"));
    auto f = p.get_future();
    EXPECT_EQ(f.result(), "hello");
    EXPECT_EQ(f.bytes(), "hello");
}

TEST(TypedFuture, SetResultConvertsToTheDeclaredType) {
    // A Promise<T> stores a T, whatever type the argument had (as std::promise<T>::set_value does).
    cf::Promise<double> d;
    d.set_result(1);  // an int literal
    EXPECT_EQ(d.get_future().result(), 1.0);
    EXPECT_EQ(d.get_future().bytes().size(), sizeof(double));

    cf::Promise<long long> ll;
    ll.set_result(5);
    EXPECT_EQ(ll.get_future().result(), 5);
}

TEST(TypedFuture, VoidResult) {
    cf::Promise<void> p;
    auto f = p.get_future();
    EXPECT_THROW(f.result(0.0), cf::TimeoutError);
    p.set_result();
    EXPECT_NO_THROW(f.result(0.0));
    EXPECT_TRUE(f.bytes().empty());
}

TEST(TypedFuture, ValueWithoutCodecIsHeldAsObject) {
    cf::Promise<std::vector<int>> p;
    p.set_result(std::vector<int>{1, 2, 3});
    EXPECT_EQ(p.get_future().result(), (std::vector<int>{1, 2, 3}));
}

TEST(TypedFuture, TriviallyCopyableValueExposesItsBytes) {
    cf::Promise<int> p;
    p.set_result(0x01020304);
    std::string_view b = p.get_future().bytes();
    ASSERT_EQ(b.size(), sizeof(int));
    int back = 0;
    std::memcpy(&back, b.data(), sizeof back);
    EXPECT_EQ(back, 0x01020304);
}

TEST(TypedFuture, BytesAreDecodedIntoTheType) {
    cf::Promise<double> p;
    const double v = 2.5;
    p.set_bytes(std::string_view(reinterpret_cast<const char *>(&v), sizeof v));
    EXPECT_EQ(p.get_future().result(), 2.5);
}

TEST(TypedFuture, WrongNumberOfBytesIsInvalidState) {
    cf::Promise<double> p;
    p.set_bytes("abc");
    EXPECT_THROW(p.get_future().result(), cf::InvalidStateError);
}

TEST(TypedFuture, ObjectWithoutCodecCannotBeReadAsAnotherType) {
    cf::Promise<std::vector<int>> p;
    p.set_result(std::vector<int>{1});
    cf::Future<std::vector<char>> other(p.get_future());
    EXPECT_THROW(other.result(), cf::InvalidStateError);
}

TEST(FutureHandle, EmptyHandleThrowsInvalidState) {
    cf::Future<int> f;
    EXPECT_FALSE(f.valid());
    EXPECT_THROW(f.state(), cf::InvalidStateError);
    EXPECT_THROW(f.done(), cf::InvalidStateError);
    EXPECT_THROW(f.cancel(), cf::InvalidStateError);
    EXPECT_THROW(f.result(0.0), cf::InvalidStateError);
    EXPECT_THROW(f.wait(0.0), cf::InvalidStateError);
    EXPECT_THROW(f.add_done_callback([](const cf::Future<int> &) {}), cf::InvalidStateError);
}

TEST(FutureHandle, CopiesShareStateAndCompareEqual) {
    cf::Promise<int> p;
    cf::Future<int> a = p.get_future();
    cf::Future<int> b = a;
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a == pending_future());
    EXPECT_TRUE(a.cancel());
    EXPECT_TRUE(b.cancelled());

    cf::Future<int> c = std::move(b);
    EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move): moved-from handles are empty
    EXPECT_TRUE(c == a);
}

}  // namespace
