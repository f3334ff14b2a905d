// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: workers that die by signal or exit, in a task or idle, and the broken pool each
// death leaves behind (test_killed_child and the traceback tests); over every start method.
#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolCrash);

// ---------------------------------------------------------------------------------------------------------------
// Workers that die (test_killed_child, test_broken_process_pool_traceback,
// test_traceback_when_child_process_terminates_abruptly)

// A task that dies in the way `task` dies breaks the pool: its future fails with BrokenProcessPool naming the
// worker's pid and `how`; later submits throw BrokenProcessPool; the pool's other workers go too.
void expect_death_breaks_pool(cf::ProcessPoolExecutor::Options o, const char *task, const std::string &how) {
    Scratch s;
    o.max_workers = 2;
    cf::ProcessPoolExecutor ex(o);
    OpenAtExit open_gate(s);
    cf::FutureBase f = ex.submit_named(task, s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    s.open();
    expect_broken(f, task);
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
    EXPECT_TRUE(contains(info.detail, how)) << info.detail;
    EXPECT_TRUE(contains(info.detail, task)) << info.detail;
    EXPECT_TRUE(contains(info.message, std::to_string(worker))) << info.message;
    EXPECT_TRUE(contains(info.message, how)) << info.message;
    try {
        ex.submit_named("test_process_pool.echo", "x");
        ADD_FAILURE() << "a broken pool accepted a task";
    } catch (const cf::BrokenProcessPool &e) {
        EXPECT_TRUE(contains(e.what(), std::to_string(worker))) << e.what();
    }
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); }));
}

TEST_P(ProcessPoolCrash, SigkillInATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_sigkill", "signal 9");
}

TEST_P(ProcessPoolCrash, SegfaultInATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_segv", "signal 11");
}

TEST_P(ProcessPoolCrash, AbortInATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_abort", "signal 6");
}

TEST_P(ProcessPoolCrash, ExitCode3InATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_exit3", "code 3");
}

TEST_P(ProcessPoolCrash, ExitCode0InATaskBreaksThePool) {
    // A worker that leaves cleanly in the middle of a task still lost that task.
    expect_death_breaks_pool(options(2), "test_process_pool.die_exit0", "code 0");
}

TEST_P(ProcessPoolCrash, SignalIsNamed) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase f = ex.submit_named("test_process_pool.die_sigkill", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    s.open();
    EXPECT_TRUE(contains(f.error(kLong).detail, "SIGKILL")) << f.error(kLong).detail;
}

TEST_P(ProcessPoolCrash, EveryPendingFutureFailsWithBrokenProcessPool) {
    // CPython fails every pending work item with BrokenProcessPool when the pool breaks: those already handed to
    // a worker and those still waiting in the parent alike.
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase dying = ex.submit_named("test_process_pool.die_sigkill", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    std::vector<cf::FutureBase> behind;
    for (int i = 0; i < 5; ++i) behind.push_back(ex.submit_named("test_process_pool.echo", "behind " + std::to_string(i)));
    s.open();
    expect_broken(dying, "the task that died");
    for (std::size_t i = 0; i < behind.size(); ++i) {
        ASSERT_TRUE(behind[i].wait(kLong)) << "future " << i << " never finished";
        EXPECT_FALSE(behind[i].cancelled()) << "future " << i << " was cancelled instead of failing";
        if (behind[i].cancelled()) continue;
        expect_broken(behind[i], "future behind the task that died");
        cf::ErrorInfo info = behind[i].error(kLong);
        EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
        // Each future names its own task.
        EXPECT_TRUE(contains(info.detail, "test_process_pool.echo")) << info.detail;
    }
}

TEST_P(ProcessPoolCrash, DeathBreaksTheTaskRunningInAnotherWorker) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(2));
    OpenAtExit open_gate(s);
    cf::FutureBase survivor = ex.submit_named("test_process_pool.sleep", s.sleep_arg(1, 30));
    ASSERT_TRUE(s.wait_started(1));
    cf::FutureBase dying = ex.submit_named("test_process_pool.die_exit3", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t other = s.started_pid(1);
    ASSERT_NE(other, s.started_pid(0));
    s.open();
    expect_broken(dying, "the task that died");
    // The sleeper in the other worker is not waited for: the broken pool ends its process too.
    expect_broken(survivor, "the task in the other worker");
    EXPECT_TRUE(eventually([&] { return process_gone(other); }));
}

TEST_P(ProcessPoolCrash, WorkerKilledFromOutsideBreaksThePool) {
    // test_killed_child: someone else terminates a worker that runs a task.
    Scratch s;
    cf::ProcessPoolExecutor ex(options(2));
    OpenAtExit open_gate(s);
    cf::FutureBase f = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    ASSERT_EQ(kill(worker, SIGTERM), 0);
    expect_broken(f, "the task of the killed worker");
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
    EXPECT_TRUE(contains(info.detail, "signal 15")) << info.detail;
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::BrokenProcessPool);
}

TEST_P(ProcessPoolCrash, IdleWorkerKilledFromOutsideBreaksThePool) {
    cf::ProcessPoolExecutor ex(options(1));
    pid_t worker = pid_of(ex.submit_named("test_process_pool.pid", ""));
    ASSERT_EQ(kill(worker, SIGKILL), 0);
    // Nothing announces when the pool has noticed, so submit (one task at a time) until it refuses. A task
    // accepted before that was handed to the dead worker, the only one: it must fail with BrokenProcessPool.
    std::optional<std::string> refusal;
    eventually([&] {
        cf::FutureBase accepted;
        try {
            accepted = ex.submit_named("test_process_pool.echo", "x");
        } catch (const cf::BrokenProcessPool &e) {
            refusal = e.what();
            return true;
        }
        EXPECT_TRUE(accepted.wait(kLong));
        EXPECT_FALSE(accepted.cancelled());
        if (!accepted.cancelled()) EXPECT_EQ(accepted.error(kLong).status, cf::Status::BrokenProcessPool);
        return false;
    });
    ASSERT_TRUE(refusal.has_value()) << "the pool ignored the death of its worker";
    EXPECT_TRUE(contains(*refusal, std::to_string(worker))) << *refusal;
    EXPECT_TRUE(contains(*refusal, "signal 9")) << *refusal;
}

TEST_P(ProcessPoolCrash, BrokenPoolThroughTheCAbi) {
    Scratch s;
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    OpenAtExit open_gate(s);
    std::string arg = s.gate(0);
    CFuture f;
    ASSERT_EQ(cf_submit(ex.ex, die_segv_task, nullptr, arg.data(), arg.size(), &f.f), CF_OK) << cf_last_error();
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    s.open();
    cf_slice r{};
    EXPECT_EQ(cf_future_result(f.f, kLong, &r), CF_E_BROKEN_PROCESS_POOL);
    cf_error e{};
    ASSERT_EQ(cf_future_exception(f.f, kLong, &e), CF_OK);
    EXPECT_EQ(e.status, CF_E_BROKEN_PROCESS_POOL);
    ASSERT_NE(e.detail, nullptr);
    EXPECT_TRUE(contains(e.detail, std::to_string(worker))) << e.detail;
    EXPECT_TRUE(contains(e.detail, "signal 11")) << e.detail;
    CFuture later;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &later.f), CF_E_BROKEN_PROCESS_POOL);
    EXPECT_EQ(later.f, nullptr);
}

}  // namespace
