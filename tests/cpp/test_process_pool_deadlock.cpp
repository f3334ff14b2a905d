// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: no hang whatever goes wrong where (test_deadlock.py): crashes during shutdown or
// with payloads in flight, submit storms, callbacks submitting into a full arena; over every start method.
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolDeadlock);

// ---------------------------------------------------------------------------------------------------------------
// test_deadlock.py: no hang whatever goes wrong where

TEST_P(ProcessPoolDeadlock, CrashDuringAWaitingShutdown) {
    // test_shutdown_deadlock: a worker dies after shutdown(wait=True) was called. Both workers are blocked when
    // the queued tasks arrive, so none of those can run before the pool breaks.
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(2));
    cf::FutureBase other = ex->submit_named("test_process_pool.sleep", s.sleep_arg(1, 30));
    ASSERT_TRUE(s.wait_started(1));
    cf::FutureBase dying = ex->submit_named("test_process_pool.die_sigkill", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    std::vector<cf::FutureBase> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(ex->submit_named("test_process_pool.echo", std::to_string(i)));
    Bounded shutdown([ex] { ex->shutdown(true); });
    EXPECT_TRUE(shutdown.still_running());
    s.open();
    if (!shutdown.finished()) {
        ADD_FAILURE() << "shutdown(wait=true) hung after a worker died";
        return;
    }
    expect_broken(dying, "the task that died");
    EXPECT_TRUE(contains(dying.error(kLong).detail, std::to_string(worker)));
    expect_broken(other, "the sleeper in the other worker");
    for (std::size_t i = 0; i < queued.size(); ++i) {
        EXPECT_TRUE(queued[i].done());
        EXPECT_FALSE(queued[i].cancelled()) << "queued future " << i << " was cancelled instead of failing";
        if (!queued[i].cancelled()) EXPECT_EQ(queued[i].error(kLong).status, cf::Status::BrokenProcessPool);
    }
    EXPECT_THROW(ex->submit_named("test_process_pool.echo", "x"), cf::BrokenProcessPool);
    delete ex;
}

TEST_P(ProcessPoolDeadlock, CrashWithLargeArgumentsInFlight) {
    // test_crash_big_data: the pool breaks while big arguments wait in shared memory and in submit.
    Scratch s;
    auto o = options(1);
    o.shared_memory_bytes = 16 * kMiB;
    auto *ex = new cf::ProcessPoolExecutor(o);
    cf::FutureBase dying = ex->submit_named("test_process_pool.die_exit3", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    auto fs = std::make_shared<std::vector<cf::FutureBase>>();
    auto refused = std::make_shared<std::atomic<int>>(0);
    // More than the arena holds: the last submits wait for room that only the breakage can end.
    Bounded submit([ex, fs, refused] {
        for (int i = 0; i < 8; ++i) {
            try {
                fs->push_back(ex->submit_named("test_process_pool.checksum", pattern(3 * kMiB, i)));
            } catch (const cf::BrokenProcessPool &) {
                ++*refused;
            }
        }
    });
    EXPECT_TRUE(submit.still_running()) << "eight 3 MiB arguments fitted a 16 MiB arena at once";
    s.open();
    if (!submit.finished()) {
        ADD_FAILURE() << "submit hung after the pool broke";
        return;
    }
    expect_broken(dying, "the task that died");
    EXPECT_GT(refused->load(), 0) << "the submits waiting for room were not released with BrokenProcessPool";
    for (auto &f : *fs) EXPECT_TRUE(f.wait(kLong));
    Bounded destroy([ex] { delete ex; });
    EXPECT_TRUE(destroy.finished());
}

TEST_P(ProcessPoolDeadlock, SubmitStormIntoOneWorker) {
    // gh-105829: many quick submits while the pool is busy completing others must neither lose nor stall a task.
    cf::ProcessPoolExecutor ex(options(1));
    std::vector<std::vector<cf::FutureBase>> per_thread(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 400; ++i) per_thread[t].push_back(ex.submit_named("test_process_pool.nothing", ""));
        });
    for (auto &th : threads) th.join();
    for (auto &v : per_thread)
        for (auto &f : v) EXPECT_EQ(f.error(kLong).status, cf::Status::Ok);
}

TEST_P(ProcessPoolDeadlock, DoneCallbackSubmittingIntoAFullArena) {
    // Done callbacks run on the thread that collects completions. A callback that submits while the arena is full
    // must not wait for room that only that very thread could make (CPython's submit never blocks).
    Scratch s;
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    auto *ex = new cf::ProcessPoolExecutor(o);
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 3; ++i) fs.push_back(ex->submit_named("test_process_pool.gate", s.gate(i, kMiB)));
    ASSERT_TRUE(s.wait_started(0));
    auto follow_ups = std::make_shared<std::vector<cf::FutureBase>>();
    auto error = std::make_shared<std::string>();
    auto called = std::make_shared<Gate>();
    fs[0].add_done_callback([ex, follow_ups, error, called](const cf::FutureBase &) {
        try {
            for (int i = 0; i < 2; ++i)
                follow_ups->push_back(ex->submit_named("test_process_pool.checksum", pattern(kMiB, 77 + i)));
        } catch (const cf::Error &e) {
            *error = e.what();
        }
        called->open();
    });
    s.open();
    if (!called->wait(kLong)) {
        ADD_FAILURE() << "a submit from a done callback waited forever for arena space (the pool is leaked)";
        return;
    }
    for (std::size_t i = 0; i < follow_ups->size(); ++i)
        EXPECT_EQ(text((*follow_ups)[i]), std::to_string(fnv1a(pattern(kMiB, 77 + i))) + "|" + std::to_string(kMiB));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(parse_gate_result(text(fs[i])).len, s.gate(i, kMiB).size());
    EXPECT_EQ(text(ex->submit_named("test_process_pool.echo", "after")), "after");
    delete ex;
}

}  // namespace
