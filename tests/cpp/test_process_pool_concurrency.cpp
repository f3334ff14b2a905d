// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor under concurrency: threads that wait collect results themselves, and submitters that
// dispatch without one lock while the pool shuts down or breaks; over every start method.
#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolCollectors);
CF_PROCESS_POOL_SUITE(ProcessPoolDispatch);

// ---------------------------------------------------------------------------------------------------------------
// Waiting threads collect results themselves (the supervisor only when none does)

TEST_P(ProcessPoolCollectors, ADoneCallbackBlockedOnAnotherResultDoesNotStopIt) {
    // A's callback waits for B's callback. Whichever thread collects A (this one, waiting on B, or the
    // supervisor) runs A's callback and is blocked; B must still be collected by the other. A thread running a
    // callback is no collector while it does: were it still counted, no worker would wake the supervisor.
    Scratch sa, sb;
    cf::ProcessPoolExecutor ex(options(2));
    cf::FutureBase a = ex.submit_named("test_process_pool.gate", sa.gate(0));
    cf::FutureBase b = ex.submit_named("test_process_pool.gate", sb.gate(0));
    auto b_called = std::make_shared<Gate>();
    auto a_called = std::make_shared<Gate>();
    auto a_saw_b = std::make_shared<std::atomic<bool>>(false);
    b.add_done_callback([b_called](const cf::FutureBase &) { b_called->open(); });
    a.add_done_callback([&sb, b_called, a_called, a_saw_b](const cf::FutureBase &) {
        sb.open();
        *a_saw_b = b_called->wait();
        a_called->open();
    });
    // Both run before either ends (forkserver and spawn start the second worker on demand, on the supervisor,
    // which may be the thread that runs A's callback).
    ASSERT_TRUE(sa.wait_started(0));
    ASSERT_TRUE(sb.wait_started(0));
    sa.open();
    EXPECT_EQ(b.error(kLong).status, cf::Status::Ok);
    ASSERT_TRUE(a_called->wait()) << "A's callback never ended";
    EXPECT_TRUE(*a_saw_b) << "B's result was not collected while A's callback ran";
    EXPECT_EQ(a.error(kLong).status, cf::Status::Ok);
}

TEST_P(ProcessPoolCollectors, ManyThreadsWaitingAtOnceEachGetTheirOwnResults) {
    cf::ProcessPoolExecutor ex(options(2));
    constexpr int kThreads = 6, kTrips = 300;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kTrips; ++i) {
                std::string arg = std::to_string(t) + ":" + std::to_string(i);
                try {
                    if (text(ex.submit_named("test_process_pool.echo", arg)) != arg) ++wrong;
                } catch (const std::exception &) {
                    ++wrong;  // a lost wake-up shows as TimeoutError after kLong
                }
            }
        });
    for (auto &th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ProcessPoolCollectors, AWaitOverTwoPoolsSeesTheResultsOfBoth) {
    // The wait collects from the first pool; the second pool's results arrive through its supervisor, and must
    // still wake the waiting thread.
    CExecutor first, second;
    first.ex = c_pool(1);
    second.ex = c_pool(1);
    ASSERT_TRUE(first.ex && second.ex);
    Scratch s;
    std::vector<CFuture> fs(2);
    std::string gate = s.gate(0);
    ASSERT_EQ(cf_submit_named(first.ex, "test_process_pool.gate", gate.data(), gate.size(), &fs[0].f), CF_OK)
        << cf_last_error();
    ASSERT_EQ(cf_submit_named(second.ex, "test_process_pool.echo", "two", 3, &fs[1].f), CF_OK) << cf_last_error();
    cf_future *both[] = {fs[0].f, fs[1].f};
    size_t n_done = 0;
    ASSERT_EQ(cf_wait(both, 2, kLong, CF_FIRST_COMPLETED, nullptr, &n_done), CF_OK) << cf_last_error();
    EXPECT_EQ(n_done, 1u) << "the second pool's result did not end the wait";
    EXPECT_EQ(cf_future_done(fs[1].f), 1);
    s.open();
    ASSERT_EQ(cf_wait(both, 2, kLong, CF_ALL_COMPLETED, nullptr, &n_done), CF_OK) << cf_last_error();
    EXPECT_EQ(n_done, 2u);
}

TEST_P(ProcessPoolCollectors, AWaitWithATimeoutEndsWhileTheTaskRuns) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    cf::FutureBase f = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    EXPECT_FALSE(f.wait(0.05)) << "a running task's future was done";
    EXPECT_THROW(f.bytes(0.01), cf::TimeoutError);
    s.open();
    EXPECT_TRUE(f.wait(kLong));
}

// ---------------------------------------------------------------------------------------------------------------
// Dispatch without one lock: submitters go straight to the workers' lanes or, when none can take a task, to the
// queue; shutdown and breakage must still account for every task either way.

TEST_P(ProcessPoolDispatch, ManySubmittersFillingTheRingsEachGetTheirOwnResults) {
    // Submit everything first, then wait: the rings fill up (the deep path) and tasks queue behind them.
    cf::ProcessPoolExecutor ex(options(3));
    constexpr int kThreads = 4, kTasks = 3000;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            std::vector<cf::FutureBase> fs;
            std::vector<std::string> args;
            for (int i = 0; i < kTasks; ++i) {
                args.push_back(std::to_string(t) + "/" + std::to_string(i));
                fs.push_back(ex.submit_named("test_process_pool.echo", args.back()));
            }
            for (int i = 0; i < kTasks; ++i) {
                try {
                    if (text(fs[static_cast<std::size_t>(i)]) != args[static_cast<std::size_t>(i)]) ++wrong;
                } catch (const std::exception &) {
                    ++wrong;
                }
            }
        });
    for (auto &th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ProcessPoolDispatch, ShutdownAmidConcurrentSubmitsLosesNoTask) {
    // Every submit either throws ShutdownError or returns a future that completes with its own result: a task
    // accepted just as the pool closed must not be left behind by the waiting shutdown.
    cf::ProcessPoolExecutor ex(options(2));
    constexpr int kThreads = 4;
    std::atomic<int> submitted{0}, wrong{0}, refused{0};
    std::vector<std::vector<std::pair<std::string, cf::FutureBase>>> accepted(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0;; ++i) {
                std::string arg = std::to_string(t) + "#" + std::to_string(i);
                try {
                    accepted[static_cast<std::size_t>(t)].emplace_back(arg, ex.submit_named("test_process_pool.echo", arg));
                    ++submitted;
                } catch (const cf::ShutdownError &) {
                    ++refused;
                    return;
                }
            }
        });
    (void)eventually([&] { return submitted.load() >= 400; });  // bounded: a stuck submit fails below
    ex.shutdown(true);
    for (auto &th : threads) th.join();
    EXPECT_EQ(refused.load(), kThreads);
    for (auto &list : accepted)
        for (auto &[arg, f] : list) {
            // Done already: the waiting shutdown returned after every accepted task ended.
            if (!f.done() || text(f) != arg) ++wrong;
        }
    EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ProcessPoolDispatch, AWorkerDeathAmidConcurrentSubmitsEndsEveryFuture) {
    // A crash breaks the pool while other threads submit: each accepted future ends (its result, or
    // BrokenProcessPool), submits after the break are refused with BrokenProcessPool, and nothing hangs.
    cf::ProcessPoolExecutor ex(options(2));
    constexpr int kThreads = 3, kTasks = 1500;
    std::atomic<int> submitted{0}, hung{0}, other{0};
    std::vector<std::vector<cf::FutureBase>> accepted(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kTasks; ++i) {
                try {
                    accepted[static_cast<std::size_t>(t)].push_back(
                        ex.submit_named("test_process_pool.echo", std::to_string(i)));
                    ++submitted;
                } catch (const cf::BrokenProcessPool &) {
                    return;
                }
            }
        });
    (void)eventually([&] { return submitted.load() >= 200; });  // bounded: a stuck submit fails below
    cf::FutureBase crash = ex.submit_named("test_process_pool.die_now", "");
    EXPECT_EQ(crash.error(kLong).status, cf::Status::BrokenProcessPool);
    for (auto &th : threads) th.join();
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "late"), cf::BrokenProcessPool);
    for (auto &list : accepted)
        for (auto &f : list) {
            cf::ErrorInfo e = f.error(kLong);
            if (e.status == cf::Status::Timeout) ++hung;
            else if (e.status != cf::Status::Ok && e.status != cf::Status::BrokenProcessPool) ++other;
        }
    EXPECT_EQ(hung.load(), 0);
    EXPECT_EQ(other.load(), 0);
}

}  // namespace
