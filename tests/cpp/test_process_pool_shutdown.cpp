// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: shutdown with and without waiting, cancel_futures, results that outlive the pool
// (test_shutdown.py), and the forced ends terminate_workers and kill_workers; over every start method.
#include <sys/types.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolShutdown);
CF_PROCESS_POOL_SUITE(ProcessPoolForceShutdown);

// ---------------------------------------------------------------------------------------------------------------
// Shutdown (test_shutdown.py)

TEST_P(ProcessPoolShutdown, SubmitAfterShutdownIsShutdownError) {
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "x")), "x");
    ex.shutdown(true);
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    EXPECT_THROW(ex.submit_bytes(c_call(echo_task), "x"), cf::ShutdownError);
    EXPECT_THROW(ex.map_bytes(c_call(echo_task), list_source({"x"})), cf::ShutdownError);
}

TEST_P(ProcessPoolShutdown, SubmitAfterShutdownThroughTheCAbi) {
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    ASSERT_EQ(cf_executor_shutdown(ex.ex, 0, 0), CF_OK);
    CFuture f;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &f.f), CF_E_SHUTDOWN);
    EXPECT_EQ(f.f, nullptr);
}

TEST_P(ProcessPoolShutdown, ShutdownIsIdempotentAndNeedsNoWorker) {
    cf::ProcessPoolExecutor ex(options(2));
    ex.shutdown(true);
    ex.shutdown(true);
    ex.shutdown(false, true);
    EXPECT_TRUE(ex.worker_pids().empty());
}

TEST_P(ProcessPoolShutdown, WaitingShutdownRunsEveryQueuedTask) {
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(2));
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 2; ++i) {
        fs.push_back(ex->submit_named("test_process_pool.gate", s.gate(i)));
        ASSERT_TRUE(s.wait_started(i));
    }
    for (int i = 0; i < 20; ++i) fs.push_back(ex->submit_named("test_process_pool.square", std::to_string(i)));
    auto pids = ex->worker_pids();
    Bounded shutdown([ex] { ex->shutdown(true); });
    EXPECT_TRUE(shutdown.still_running()) << "shutdown(wait=true) returned while tasks were running";
    s.open();
    if (!shutdown.finished()) {
        ADD_FAILURE() << "shutdown(wait=true) never returned";
        return;  // the executor is leaked with the thread
    }
    for (int i = 0; i < 2; ++i) EXPECT_EQ(parse_gate_result(text(fs[i])).len, s.gate(i).size());
    for (int i = 0; i < 20; ++i) EXPECT_EQ(text(fs[2 + i]), std::to_string(i * i));
    for (pid_t p : pids) EXPECT_TRUE(process_gone(p));
    delete ex;
}

TEST_P(ProcessPoolShutdown, ShutdownWithoutWaitReturnsAndTasksStillFinish) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase blocked = ex.submit_named("test_process_pool.gate", s.gate(0));
    cf::FutureBase queued = ex.submit_named("test_process_pool.square", "5");
    ASSERT_TRUE(s.wait_started(0));
    ex.shutdown(false);  // must return although a task cannot finish
    EXPECT_FALSE(blocked.done());
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    s.open();
    EXPECT_EQ(parse_gate_result(text(blocked)).len, s.gate(0).size());
    EXPECT_EQ(text(queued), "25");
}

TEST_P(ProcessPoolShutdown, CancelFuturesCancelsWhatHasNotStarted) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase running = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    std::vector<cf::FutureBase> queued;
    for (int i = 0; i < 100; ++i) queued.push_back(ex.submit_named("test_process_pool.square", std::to_string(i)));
    ex.shutdown(false, true);
    EXPECT_FALSE(running.cancelled());
    EXPECT_TRUE(queued.back().cancelled()) << "the last of 100 queued tasks was not cancelled";
    s.open();
    ex.shutdown(true);
    EXPECT_EQ(parse_gate_result(text(running)).len, s.gate(0).size());
    std::size_t cancelled = 0;
    for (int i = 0; i < 100; ++i) {
        if (queued[i].cancelled()) {
            ++cancelled;
            continue;
        }
        ASSERT_TRUE(queued[i].done()) << "future " << i << " neither cancelled nor finished after shutdown";
        EXPECT_EQ(text(queued[i]), std::to_string(i * i));
    }
    EXPECT_GT(cancelled, 0u);
}

TEST_P(ProcessPoolShutdown, DestroyingTheExecutorWaitsForItsTasks) {
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(2));
    cf::FutureBase blocked = ex->submit_named("test_process_pool.gate", s.gate(0));
    cf::FutureBase queued = ex->submit_named("test_process_pool.square", "6");
    ASSERT_TRUE(s.wait_started(0));
    Bounded destroy([ex] { delete ex; });
    EXPECT_TRUE(destroy.still_running()) << "the destructor returned while a task was running";
    s.open();
    if (!destroy.finished()) {
        ADD_FAILURE() << "the destructor never returned";
        return;
    }
    EXPECT_TRUE(blocked.done());
    EXPECT_EQ(parse_gate_result(text(blocked)).len, s.gate(0).size());
    EXPECT_EQ(text(queued), "36");
}

TEST_P(ProcessPoolShutdown, ShutdownFromADoneCallbackDoesNotDeadlock) {
    // The callback runs on the thread that completes futures; a waiting shutdown there must not wait for itself.
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(1));
    cf::FutureBase f = ex->submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    Gate called;
    f.add_done_callback([ex, &called](const cf::FutureBase &) {
        ex->shutdown(true);
        called.open();
    });
    s.open();
    if (!called.wait()) {
        ADD_FAILURE() << "shutdown(wait=true) in a done callback never returned";
        return;
    }
    EXPECT_THROW(ex->submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    Bounded destroy([ex] { delete ex; });
    EXPECT_TRUE(destroy.finished()) << "the destructor hung after a shutdown from a callback";
}

TEST_P(ProcessPoolShutdown, ResultOutlivesTheExecutor) {
    std::string big = pattern(kMiB, 42);
    cf::FutureBase f;
    {
        cf::ProcessPoolExecutor ex(options(1));
        f = ex.submit_named("test_process_pool.echo", big);
        ASSERT_TRUE(f.wait(kLong));
    }
    std::string_view r = f.bytes(0);
    ASSERT_EQ(r.size(), big.size());
    EXPECT_TRUE(r == big) << "the result changed after the executor was destroyed";
    // A result read before the destruction stays readable too.
    cf::FutureBase g;
    std::string_view early;
    {
        cf::ProcessPoolExecutor ex(options(1));
        g = ex.submit_named("test_process_pool.echo", "read early");
        early = g.bytes(kLong);
    }
    EXPECT_EQ(early, "read early");
}

TEST_P(ProcessPoolShutdown, ResultSliceOutlivesCExecutorFree) {
    std::string big = pattern(2 * kMiB, 7);
    cf_executor *ex = c_pool(1);
    ASSERT_NE(ex, nullptr);
    CFuture f;
    ASSERT_EQ(cf_submit_named(ex, "test_process_pool.echo", big.data(), big.size(), &f.f), CF_OK) << cf_last_error();
    cf_slice before{};
    ASSERT_EQ(cf_future_result(f.f, kLong, &before), CF_OK);
    cf_executor_free(ex);
    cf_slice after{};
    ASSERT_EQ(cf_future_result(f.f, 0, &after), CF_OK);
    ASSERT_EQ(after.len, big.size());
    EXPECT_EQ(std::memcmp(after.data, big.data(), big.size()), 0);
    EXPECT_EQ(std::memcmp(before.data, big.data(), big.size()), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// terminate_workers and kill_workers (test_force_shutdown_workers, _stops_pool, _dead_workers, _not_started_yet)

void expect_force_shutdown(cf::ProcessPoolExecutor::Options o, bool kill, const std::string &signal_text) {
    Scratch s;
    o.max_workers = 1;
    cf::ProcessPoolExecutor ex(o);
    OpenAtExit open_gate(s);
    cf::FutureBase running = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    std::vector<cf::FutureBase> queued;
    for (int i = 0; i < 100; ++i) queued.push_back(ex.submit_named("test_process_pool.square", std::to_string(i)));
    if (kill) ex.kill_workers(); else ex.terminate_workers();
    // The running task fails, naming the worker and the signal.
    expect_broken(running, "the running task");
    cf::ErrorInfo info = running.error(kLong);
    EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
    EXPECT_TRUE(contains(info.detail, signal_text)) << info.detail;
    // What never started is cancelled; nothing behind the blocked task ran.
    EXPECT_TRUE(queued.back().cancelled());
    for (std::size_t i = 0; i < queued.size(); ++i) {
        ASSERT_TRUE(queued[i].wait(kLong)) << "future " << i << " never finished";
        if (queued[i].cancelled()) continue;
        EXPECT_EQ(queued[i].error(kLong).status, cf::Status::BrokenProcessPool) << "future " << i;
    }
    // The pool is over: submit says so as after shutdown (not as a broken pool).
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    EXPECT_TRUE(eventually([&] { return process_gone(worker); }));
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); }));
}

TEST_P(ProcessPoolForceShutdown, TerminateWorkers) { expect_force_shutdown(options(1), false, "signal 15"); }

TEST_P(ProcessPoolForceShutdown, KillWorkers) { expect_force_shutdown(options(1), true, "signal 9"); }

TEST_P(ProcessPoolForceShutdown, KillStopsAnIdlePool) {
    cf::ProcessPoolExecutor ex(options(1));
    pid_t worker = pid_of(ex.submit_named("test_process_pool.pid", ""));
    ex.kill_workers();
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    EXPECT_TRUE(eventually([&] { return process_gone(worker); }));
}

TEST_P(ProcessPoolForceShutdown, BeforeAnyWorkerStarted) {
    cf::ProcessPoolExecutor ex(options(2));
    bool started = !ex.worker_pids().empty();  // fork starts its workers with the pool
    EXPECT_EQ(started, fork_method());
    EXPECT_NO_THROW(ex.terminate_workers());
    EXPECT_NO_THROW(ex.kill_workers());
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    if (!started) EXPECT_TRUE(ex.worker_pids().empty());
}

TEST_P(ProcessPoolForceShutdown, AfterTheWorkersAreGone) {
    cf::ProcessPoolExecutor ex(options(2));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "x")), "x");
    ex.shutdown(true);
    EXPECT_NO_THROW(ex.terminate_workers());
    EXPECT_NO_THROW(ex.kill_workers());
}

TEST_P(ProcessPoolForceShutdown, CAbi) {
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    CFuture f;
    ASSERT_EQ(cf_submit_named(ex.ex, "test_process_pool.pid", nullptr, 0, &f.f), CF_OK);
    cf_slice r{};
    ASSERT_EQ(cf_future_result(f.f, kLong, &r), CF_OK);
    EXPECT_EQ(cf_executor_kill_workers(ex.ex), CF_OK);
    CFuture later;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &later.f), CF_E_SHUTDOWN);
    // On a thread pool both calls are invalid.
    CExecutor threads;
    ASSERT_EQ(cf_thread_pool_new(nullptr, &threads.ex), CF_OK);
    EXPECT_EQ(cf_executor_terminate_workers(threads.ex), CF_E_INVALID_ARGUMENT);
    EXPECT_EQ(cf_executor_kill_workers(threads.ex), CF_E_INVALID_ARGUMENT);
}

}  // namespace
