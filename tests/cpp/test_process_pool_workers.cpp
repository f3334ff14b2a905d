// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: its worker processes, how many there are, when they start, their reuse and their
// replacement after max_tasks_per_child tasks; over every start method.
#include <sys/types.h>

#include <cstddef>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolWorkers);

// ---------------------------------------------------------------------------------------------------------------
// Workers: how many, when they start, reuse, max_tasks_per_child (test_saturation, test_idle_process_reuse_one,
// test_max_tasks_per_child, test_max_tasks_early_shutdown, gh-115634, gh-119592)

TEST_P(ProcessPoolWorkers, DefaultMaxWorkersIsTheUsableCpus) {
    cf::ProcessPoolExecutor ex(options(0));
    EXPECT_EQ(ex.max_workers(), usable_cpus());
    cf::ProcessPoolExecutor three(options(3));
    EXPECT_EQ(three.max_workers(), 3u);
}

TEST_P(ProcessPoolWorkers, NoWorkerBeforeTheFirstTask) {
    cf::ProcessPoolExecutor ex(options(2));
    // Fork starts the whole pool with the executor (the one moment no task is being submitted); the others
    // start workers on demand.
    EXPECT_EQ(ex.worker_pids().size(), fork_method() ? 2u : 0u);
    ex.shutdown(true);
    EXPECT_TRUE(ex.worker_pids().empty());
}

TEST_P(ProcessPoolWorkers, SaturationStartsExactlyMaxWorkersProcesses) {
    constexpr std::size_t kWorkers = 3;
    Scratch s;
    cf::ProcessPoolExecutor ex(options(kWorkers));
    OpenAtExit open_gate(s);
    std::vector<cf::FutureBase> fs;
    for (std::size_t i = 0; i < 15 * kWorkers; ++i)
        fs.push_back(ex.submit_named("test_process_pool.gate", s.gate(static_cast<int>(i))));
    // Every worker ends up inside a task that cannot finish; no fourth task can start.
    ASSERT_TRUE(eventually([&] { return s.started_count() >= kWorkers; }));
    EXPECT_EQ(s.started_count(), kWorkers);
    auto live = ex.worker_pids();
    EXPECT_EQ(live.size(), kWorkers);
    s.open();
    std::set<pid_t> pids;
    for (auto &f : fs) pids.insert(parse_gate_result(text(f)).pid);
    EXPECT_EQ(pids.size(), kWorkers) << "the 45 tasks ran in " << pids.size() << " processes";
    EXPECT_EQ(pids, std::set<pid_t>(live.begin(), live.end()));
}

TEST_P(ProcessPoolWorkers, NoTaskWaitsBehindABlockedOneWhileAWorkerIsFree) {
    // Three tasks submitted at once to three workers run at once, as in CPython: none may be queued behind a task
    // that blocks while another worker has nothing to do.
    constexpr std::size_t kWorkers = 3;
    Scratch s;
    cf::ProcessPoolExecutor ex(options(kWorkers));
    OpenAtExit open_gate(s);
    std::vector<cf::FutureBase> fs;
    for (std::size_t i = 0; i < kWorkers; ++i)
        fs.push_back(ex.submit_named("test_process_pool.gate", s.gate(static_cast<int>(i))));
    bool all_started = eventually([&] { return s.started_count() == kWorkers; });
    EXPECT_TRUE(all_started) << "only " << s.started_count() << " of " << kWorkers << " tasks started; "
                             << ex.worker_pids().size() << " workers alive";
    s.open();
    std::set<pid_t> pids;
    for (auto &f : fs) pids.insert(parse_gate_result(text(f)).pid);
    EXPECT_EQ(pids.size(), kWorkers);
}

TEST_P(ProcessPoolWorkers, IdleWorkerIsReused) {
    cf::ProcessPoolExecutor ex(options(4));
    std::set<pid_t> pids;
    for (int i = 0; i < 3; ++i) pids.insert(pid_of(ex.submit_named("test_process_pool.pid", "")));
    if (!fork_method()) {
        // Spawn and forkserver start a worker only when none is idle: one did everything.
        EXPECT_EQ(pids.size(), 1u);
        EXPECT_EQ(ex.worker_pids().size(), 1u);
    } else {
        // Fork starts the whole pool with the first task, as CPython does.
        EXPECT_EQ(ex.worker_pids().size(), 4u);
    }
}

TEST_P(ProcessPoolWorkers, MaxTasksPerChildReplacesTheWorker) {
    auto o = options(1);
    o.max_tasks_per_child = 3;
    cf::ProcessPoolExecutor ex(o);
    std::vector<pid_t> pids;
    for (int i = 0; i < 7; ++i) pids.push_back(pid_of(ex.submit_named("test_process_pool.pid", "")));
    EXPECT_EQ(pids[1], pids[0]);
    EXPECT_EQ(pids[2], pids[0]);
    EXPECT_NE(pids[3], pids[0]) << "the worker was not replaced after 3 tasks";
    EXPECT_EQ(pids[4], pids[3]);
    EXPECT_EQ(pids[5], pids[3]);
    EXPECT_NE(pids[6], pids[3]);
    EXPECT_NE(pids[6], pids[0]);
    // The retired workers are gone and only one is alive.
    EXPECT_TRUE(process_gone(pids[0]));
    EXPECT_TRUE(eventually([&] { return process_gone(pids[3]); }));
    EXPECT_EQ(ex.worker_pids().size(), 1u);
    // The pool keeps working.
    EXPECT_EQ(text(ex.submit_named("test_process_pool.square", "11")), "121");
}

TEST_P(ProcessPoolWorkers, MaxTasksPerChildWithEarlyShutdown) {
    auto o = options(3);
    o.max_tasks_per_child = 1;
    cf::ProcessPoolExecutor ex(o);
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 6; ++i) fs.push_back(ex.submit_named("test_process_pool.square", std::to_string(i)));
    ex.shutdown(true);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(text(fs[i]), std::to_string(i * i));
}

TEST_P(ProcessPoolWorkers, MaxTasksPerChildWithABacklog) {
    // gh-115634: workers retiring while a backlog waits must be replaced, or the backlog hangs.
    for (auto [workers, max_tasks, n] : {std::tuple<int, int, int>{1, 2, 6}, {2, 2, 8}}) {
        auto o = options(static_cast<std::size_t>(workers));
        o.max_tasks_per_child = static_cast<std::size_t>(max_tasks);
        cf::ProcessPoolExecutor ex(o);
        std::vector<cf::FutureBase> fs;
        for (int i = 0; i < n; ++i) fs.push_back(ex.submit_named("test_process_pool.square", std::to_string(i)));
        std::map<pid_t, int> per_pid;
        for (int i = 0; i < n; ++i) EXPECT_EQ(text(fs[i]), std::to_string(i * i));
        for (int i = 0; i < n; ++i) ++per_pid[pid_of(ex.submit_named("test_process_pool.pid", ""))];
        for (auto &[pid, count] : per_pid) EXPECT_LE(count, max_tasks) << "worker " << pid;
        ex.shutdown(true, true);
    }
}

TEST_P(ProcessPoolWorkers, RetiringWorkerIsReplacedAfterShutdownWithoutWait) {
    // gh-119592: a worker that reaches max_tasks_per_child after shutdown(wait=False) must still be replaced so
    // that the work already submitted runs.
    Scratch s;
    auto o = options(1);
    o.max_tasks_per_child = 1;
    cf::ProcessPoolExecutor ex(o);
    OpenAtExit open_gate(s);
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 3; ++i) fs.push_back(ex.submit_named("test_process_pool.gate", s.gate(i)));
    ASSERT_TRUE(s.wait_started(0));
    ex.shutdown(false);
    s.open();
    std::set<pid_t> pids;
    for (int i = 0; i < 3; ++i) {
        GateResult r = parse_gate_result(text(fs[i]));
        EXPECT_EQ(r.len, s.gate(i).size());
        pids.insert(r.pid);
    }
    EXPECT_EQ(pids.size(), 3u) << "each task must have had a worker of its own";
}

TEST_P(ProcessPoolWorkers, WorkersExitAfterShutdown) {
    cf::ProcessPoolExecutor ex(options(2));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "x")), "x");
    auto pids = ex.worker_pids();
    ASSERT_FALSE(pids.empty());
    ex.shutdown(true);
    // A waiting shutdown has reaped every worker by the time it returns.
    for (pid_t p : pids) EXPECT_TRUE(process_gone(p)) << "worker " << p << " outlived shutdown(wait=true)";
    EXPECT_TRUE(ex.worker_pids().empty());
}

}  // namespace
