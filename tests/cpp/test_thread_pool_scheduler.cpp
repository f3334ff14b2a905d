// SPDX-License-Identifier: MIT
// The thread pool's work-stealing scheduler: what its per-worker queues must never change (order with one
// worker, every task run exactly once whoever submits it, shutdown across all queues) and what they add (a task
// queued by a worker that then blocks is taken by another worker). Synchronised by gates and latches.
#include <atomic>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

#include "pool_test_support.hpp"

namespace {

using cftest::Bounded;
using cftest::Gate;
using cftest::kLong;
using cftest::Latch;

cf::ThreadPoolExecutor::Options workers(std::size_t n) {
    cf::ThreadPoolExecutor::Options o;
    o.max_workers = n;
    return o;
}

// Starts all n threads of a pool (each task holds its thread until all n have started) and lets them go idle.
void start_all_threads(cf::ThreadPoolExecutor &ex, std::size_t n) {
    Latch all(static_cast<std::ptrdiff_t>(n));
    std::vector<cf::Future<void>> fs;
    for (std::size_t i = 0; i < n; ++i) fs.push_back(ex.submit([&all] { all.arrive_and_wait(); }));
    for (auto &f : fs) f.result(kLong);
    ASSERT_EQ(ex.thread_count(), n);
}

TEST(ThreadPoolScheduler, OneWorkerRunsSubmissionsInOrder) {
    cf::ThreadPoolExecutor ex(workers(1));
    std::mutex mu;
    std::vector<int> order;
    std::vector<cf::Future<void>> fs;
    for (int i = 0; i < 2000; ++i)
        fs.push_back(ex.submit([&, i] {
            std::lock_guard<std::mutex> lock(mu);
            order.push_back(i);
        }));
    for (auto &f : fs) f.result(kLong);
    ASSERT_EQ(order.size(), 2000u);
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(ThreadPoolScheduler, SixteenSubmittersEveryTaskRunsExactlyOnce) {
    cf::ThreadPoolExecutor ex(workers(4));
    constexpr int kThreads = 16, kPerThread = 3000;
    std::vector<std::atomic<int>> runs(kThreads * kPerThread);
    std::vector<std::vector<cf::Future<void>>> fs(kThreads);
    Gate go;
    std::vector<std::thread> submitters;
    for (int t = 0; t < kThreads; ++t)
        submitters.emplace_back([&, t] {
            go.wait();
            for (int i = 0; i < kPerThread; ++i)
                fs[t].push_back(ex.submit([&runs, k = t * kPerThread + i] { runs[k].fetch_add(1); }));
        });
    go.open();
    for (auto &s : submitters) s.join();
    for (auto &v : fs)
        for (auto &f : v) f.result(kLong);
    for (std::size_t k = 0; k < runs.size(); ++k) ASSERT_EQ(runs[k].load(), 1) << "task " << k;
}

TEST(ThreadPoolScheduler, TaskQueuedByABlockedWorkerIsTakenByAnother) {
    // The child goes to the parent's own queue (the pool has all its threads), and the parent then blocks on
    // something that is not a future of the pool, so it cannot run the child itself: only a steal can.
    cf::ThreadPoolExecutor ex(workers(2));
    start_all_threads(ex, 2);
    auto parent = ex.submit([&ex] {
        auto fulfilled = std::make_shared<std::promise<void>>();
        std::future<void> done = fulfilled->get_future();
        ex.submit([fulfilled] { fulfilled->set_value(); });
        return done.wait_for(std::chrono::duration<double>(kLong)) == std::future_status::ready;
    });
    EXPECT_TRUE(parent.result(kLong + 5)) << "the child queued behind a blocked worker never ran";
}

TEST(ThreadPoolScheduler, WorkerThatBlocksLeavesItsQueueToTheOthers) {
    // Tasks spread over every queue by the round robin; one worker then blocks for good (until released): the
    // tasks that were queued for it still run, on the others.
    cf::ThreadPoolExecutor ex(workers(4));
    start_all_threads(ex, 4);
    Gate release;
    Gate blocked;
    auto blocker = ex.submit([&] {
        blocked.open();
        release.wait();
    });
    ASSERT_TRUE(blocked.wait());
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 400; ++i) fs.push_back(ex.submit([i] { return i; }));
    for (int i = 0; i < 400; ++i) ASSERT_EQ(fs[static_cast<std::size_t>(i)].result(kLong), i);
    release.open();
    blocker.result(kLong);
}

TEST(ThreadPoolScheduler, CancelFuturesCancelsWhatWaitsInEveryQueue) {
    constexpr std::size_t kWorkers = 4;
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(workers(kWorkers));
    start_all_threads(*ex, kWorkers);
    Gate release;
    Latch all_running(static_cast<std::ptrdiff_t>(kWorkers));
    std::vector<cf::Future<void>> running;
    for (std::size_t i = 0; i < kWorkers; ++i)
        running.push_back(ex->submit([&] {
            all_running.count_down();
            release.wait();
        }));
    ASSERT_TRUE(all_running.wait());
    std::atomic<int> ran{0};
    std::vector<cf::Future<void>> queued;
    for (int i = 0; i < 200; ++i) queued.push_back(ex->submit([&ran] { ++ran; }));
    ex->shutdown(false, true);
    for (auto &f : queued) EXPECT_TRUE(f.cancelled());
    release.open();
    cf::ThreadPoolExecutor *pool = ex.get();
    Bounded joined([pool] { pool->shutdown(true, false); });
    if (!joined.finished()) {
        (void)ex.release();
        FAIL() << "shutdown did not return";
    }
    for (auto &f : running) EXPECT_FALSE(f.cancelled());
    EXPECT_EQ(ran.load(), 0);
}

TEST(ThreadPoolScheduler, WaitingShutdownRunsWhatWaitsInEveryQueue) {
    std::atomic<int> ran{0};
    {
        cf::ThreadPoolExecutor ex(workers(4));
        for (int i = 0; i < 20000; ++i) ex.submit([&ran] { ++ran; });
        ex.shutdown(true, false);
        EXPECT_EQ(ran.load(), 20000);
    }
}

TEST(ThreadPoolScheduler, SubmissionsFromInsideTasksAllRun) {
    // Every task of a tree submits its children from a worker (to that worker's queue); the leaves count.
    cf::ThreadPoolExecutor ex(workers(4));
    std::atomic<int> leaves{0};
    std::function<void(int)> grow = [&](int depth) {
        if (depth == 0) {
            ++leaves;
            return;
        }
        std::vector<cf::Future<void>> kids;
        for (int i = 0; i < 4; ++i) kids.push_back(ex.submit(grow, depth - 1));
        for (auto &k : kids) k.result(kLong);
    };
    ex.submit(grow, 6).result(kLong);
    EXPECT_EQ(leaves.load(), 4096);
}

}  // namespace
