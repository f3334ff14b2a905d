// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: the initializer (test_init.py), run in every worker and every replacement, and the
// broken pool a failing one leaves; over every start method.
#include <sys/types.h>

#include <cstddef>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolInitializer);

// ---------------------------------------------------------------------------------------------------------------
// Initializer (test_init.py)

TEST_P(ProcessPoolInitializer, RunsInEveryWorkerBeforeItsTasks) {
    constexpr int kWorkers = 3;
    Scratch s;
    auto o = options(kWorkers);
    o.initializer = "test_process_pool.init_ok";
    o.initarg = "initialized";
    cf::ProcessPoolExecutor ex(o);
    OpenAtExit open_gate(s);
    // One task per worker at the same time (each submitted once the one before has started), so that every
    // worker answers.
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < kWorkers; ++i) {
        fs.push_back(ex.submit_named("test_process_pool.gate", s.gate(i)));
        ASSERT_TRUE(s.wait_started(i));
    }
    s.open();
    std::set<pid_t> pids;
    for (auto &f : fs) {
        GateResult r = parse_gate_result(text(f));
        pids.insert(r.pid);
        // The initializer ran in that very process (not in the parent before a fork) with the initarg.
        EXPECT_EQ(r.initialized, "initialized@" + std::to_string(r.pid));
    }
    EXPECT_EQ(pids.size(), static_cast<std::size_t>(kWorkers));
    EXPECT_EQ(g_initialized, "") << "the initializer ran in the parent";
}

TEST_P(ProcessPoolInitializer, RunsAgainInEveryReplacementWorker) {
    auto o = options(1);
    o.initializer = "test_process_pool.init_ok";
    o.initarg = "again";
    o.max_tasks_per_child = 1;
    cf::ProcessPoolExecutor ex(o);
    std::set<pid_t> pids;
    for (int i = 0; i < 3; ++i) {
        std::string r = text(ex.submit_named("test_process_pool.init_status", ""));
        std::string pid = r.substr(0, r.find('|'));
        EXPECT_EQ(r, pid + "|again@" + pid);
        pids.insert(static_cast<pid_t>(std::atol(pid.c_str())));
    }
    EXPECT_EQ(pids.size(), 3u);
}

TEST_P(ProcessPoolInitializer, FailingInitializerBreaksThePool) {
    auto o = options(1);
    o.initializer = "test_process_pool.init_fail";
    cf::ProcessPoolExecutor ex(o);
    cf::FutureBase f;
    std::string message;
    try {
        f = ex.submit_named("test_process_pool.init_status", "");
    } catch (const cf::BrokenProcessPool &e) {
        // Only fork starts its workers with the pool, so only there can the break come before a submit.
        EXPECT_TRUE(fork_method()) << "the pool broke before any worker could have run its initializer";
        message = e.what();
    }
    if (f.valid()) {
        EXPECT_THROW(f.bytes(kLong), cf::BrokenProcessPool);
        cf::ErrorInfo info = f.error(kLong);
        EXPECT_EQ(info.status, cf::Status::BrokenProcessPool);
        message = info.message;
    }
    EXPECT_TRUE(contains(message, "initializer")) << message;
    EXPECT_TRUE(contains(message, "ValueError")) << message;
    EXPECT_TRUE(contains(message, "error in initializer")) << message;
    // From now on every submit is refused.
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::BrokenProcessPool);
    EXPECT_THROW(ex.submit_bytes(c_call(echo_task), "x"), cf::BrokenProcessPool);
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); }));
}

TEST_P(ProcessPoolInitializer, FailingInitializerThroughTheCAbi) {
    cf_process_pool_options o;
    cf_process_pool_options_init(&o);
    o.max_workers = 1;
    o.start_method = c_method();
    o.initializer = "test_process_pool.init_fail";
    CExecutor ex;
    ASSERT_EQ(cf_process_pool_new(&o, &ex.ex), CF_OK) << cf_last_error();
    CFuture f;
    int rc = cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &f.f);
    if (fork_method() && rc == CF_E_BROKEN_PROCESS_POOL) {
        // Fork starts the workers with the pool, so the initializer may have failed before this submit.
        EXPECT_TRUE(contains(cf_last_error(), "initializer")) << cf_last_error();
    } else {
        ASSERT_EQ(rc, CF_OK) << cf_last_error();
        cf_slice r{};
        EXPECT_EQ(cf_future_result(f.f, kLong, &r), CF_E_BROKEN_PROCESS_POOL);
    }
    CFuture later;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &later.f), CF_E_BROKEN_PROCESS_POOL);
    EXPECT_TRUE(contains(cf_last_error(), "initializer")) << cf_last_error();
}

}  // namespace
