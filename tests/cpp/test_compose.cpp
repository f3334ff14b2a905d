// SPDX-License-Identifier: MIT
// Continuations and joins through the C++ API (header-only over cf_future_then_ex, cf_when_all, cf_when_any):
// typed values along a chain (objects included), exceptions and cancellations passed on with their own types,
// a continuation cancelled before its step, a 10,000-step chain, when_all / when_any over futures of mixed types,
// and composition with cf::wait.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <cfutures/process_pool.hpp>

#include "future_test_support.hpp"

namespace {

using cftest::kLong;

TEST(Then, TypedValuesAlongAChain) {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolExecutor::Options{2});
    cf::Future<int> six = pool.submit([] { return 6; });
    cf::Future<std::string> text = six.then(pool, [](int n) { return std::string(n, '*'); });
    cf::Future<std::size_t> size = pool.then(text, [](const std::string &s) { return s.size() * 7; });
    EXPECT_EQ(size.result(kLong), 42u);
    EXPECT_EQ(text.result(kLong), "******");  // every step keeps its own result
    cf::Future<void> done = size.then(pool, [](std::size_t) {});
    done.result(kLong);
    cf::Future<int> after_void = done.then(pool, [] { return 1; });
    EXPECT_EQ(after_void.result(kLong), 1);
}

TEST(Then, ExceptionsPassOnWithTheirTypes) {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolExecutor::Options{1});
    std::atomic<int> ran{0};
    cf::Future<int> bad = pool.submit([]() -> int { throw std::out_of_range("no such item"); });
    cf::Future<int> next = bad.then(pool, [&](int v) { ++ran; return v + 1; });
    cf::Future<int> last = next.then(pool, [&](int v) { ++ran; return v + 1; });
    EXPECT_THROW(last.result(kLong), std::out_of_range);
    EXPECT_EQ(ran.load(), 0);
    // a step that throws fails its continuation
    cf::Future<int> thrown = pool.submit([] { return 1; }).then(pool, [](int) -> int { throw std::logic_error("x"); });
    EXPECT_THROW(thrown.result(kLong), std::logic_error);
}

TEST(Then, CancellationPassesOnAndACancelledStepNeverRuns) {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolExecutor::Options{1});
    std::atomic<int> ran{0};
    cf::Promise<int> first;
    cf::Future<int> continued = first.get_future().then(pool, [&](int v) { ++ran; return v; });
    EXPECT_TRUE(continued.cancel());
    first.set_result(5);
    pool.shutdown(true);
    EXPECT_EQ(ran.load(), 0);
    EXPECT_TRUE(continued.cancelled());

    cf::ThreadPoolExecutor other(cf::ThreadPoolExecutor::Options{1});
    cf::Promise<int> second;
    cf::Future<int> after = second.get_future().then(other, [&](int v) { ++ran; return v; });
    EXPECT_TRUE(second.get_future().cancel());
    EXPECT_THROW(after.result(kLong), cf::CancelledError);
    EXPECT_EQ(ran.load(), 0);
}

TEST(Then, TenThousandStepsOnTwoThreads) {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolExecutor::Options{2});
    cf::Promise<std::uint64_t> start;
    cf::Future<std::uint64_t> at = start.get_future();
    for (int i = 0; i < 10000; ++i) at = at.then(pool, [](std::uint64_t n) { return n + 1; });
    EXPECT_EQ(pool.stats().workers, 0u);  // the chain waits without a thread
    start.set_result(0);
    EXPECT_EQ(at.result(kLong), 10000u);
    EXPECT_LE(pool.stats().workers, 2u);
}

TEST(Join, WhenAllAndWhenAnyOverMixedTypes) {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolExecutor::Options{2});
    cf::Promise<int> a;
    cf::Promise<std::string> b;
    cf::Future<void> all = cf::when_all(a.get_future(), b.get_future());
    cf::Future<std::uint64_t> any = cf::when_any(a.get_future(), b.get_future());
    b.set_result("second");
    EXPECT_EQ(any.result(kLong), 1u);
    EXPECT_FALSE(all.done());
    a.set_result(1);
    all.result(kLong);
    EXPECT_EQ(b.get_future().result(), "second");

    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 4; ++i) fs.push_back(pool.submit([i]() -> int {
        if (i == 2) throw std::runtime_error("two");
        return i;
    }));
    EXPECT_THROW(cf::when_all(fs).result(kLong), std::runtime_error);
    // composes with wait: the join is an ordinary future
    std::vector<cf::Future<void>> joins{cf::when_all(fs)};
    auto waited = cf::wait(joins, kLong);
    EXPECT_EQ(waited.done.size(), 1u);
    EXPECT_THROW(cf::when_any(std::vector<cf::Future<int>>{}), cf::InvalidArgument);
}

TEST(Then, ByNameOnAProcessPoolAndBack) {
    cf::ThreadPoolExecutor threads(cf::ThreadPoolExecutor::Options{1});
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    o.start_method = cf::StartMethod::Fork;
    cf::ProcessPoolExecutor procs(o);
    cf::Future<std::string> text = threads.submit([] { return std::string("through shared memory"); });
    cf::Future<std::string> echoed = procs.then_named(text, "test_process_pool.echo");
    cf::Future<std::size_t> size = echoed.then(threads, [](const std::string &s) { return s.size(); });
    EXPECT_EQ(size.result(kLong), 21u);
    EXPECT_EQ(echoed.result(kLong), "through shared memory");
    EXPECT_THROW(procs.then_named(text, "no.such.task").result(kLong), cf::UnknownTaskError);
}

TEST(Deadlock, TasksWaitingForEachOtherAreTold) {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolExecutor::Options{2});
    for (int round = 0; round < 10; ++round) {
        cf::Promise<void> ready;
        std::atomic<int> arrived{0};
        cf::Future<int> futures[2];
        auto wait_on = [&](int other) -> int {
            ++arrived;
            ready.get_future().result(kLong);
            while (arrived.load() < 2) std::this_thread::yield();  // both run before either waits
            try {
                return futures[other].result();
            } catch (const cf::DeadlockError &) {
                return -1;
            }
        };
        futures[0] = pool.submit(wait_on, 1);
        futures[1] = pool.submit(wait_on, 0);
        ready.set_result();
        int a = futures[0].result(kLong), b = futures[1].result(kLong);
        EXPECT_TRUE(a == -1 || b == -1) << a << " " << b;
    }
}
TEST(Deadlock, WaitForTheFirstOfTasksWaitingForItIsTold) {
    cf::ThreadPoolExecutor pool(cf::ThreadPoolExecutor::Options{3});
    for (int round = 0; round < 10; ++round) {
        cf::Promise<void> ready;
        std::atomic<int> arrived{0};
        cf::Future<int> a, b, c;
        auto all_run = [&] {
            ++arrived;
            ready.get_future().result(kLong);
            while (arrived.load() < 3) std::this_thread::yield();
        };
        // a waits for the first of b and c, each of which waits for a: whichever waits last is told.
        a = pool.submit([&]() -> int {
            all_run();
            std::vector<cf::Future<int>> both{b, c};
            try {
                cf::wait(both, cf::forever, cf::ReturnWhen::FirstCompleted);
                return 0;
            } catch (const cf::DeadlockError &) {
                return -1;
            }
        });
        auto wait_for_a = [&]() -> int {
            all_run();
            try {
                a.result();
                return 0;
            } catch (const cf::DeadlockError &) {
                return -1;
            }
        };
        b = pool.submit(wait_for_a);
        c = pool.submit(wait_for_a);
        ready.set_result();
        int ra = a.result(kLong), rb = b.result(kLong), rc = c.result(kLong);
        EXPECT_TRUE(ra == -1 || rb == -1 || rc == -1) << ra << " " << rb << " " << rc;
    }
}
}  // namespace
