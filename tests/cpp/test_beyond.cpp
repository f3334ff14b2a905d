// SPDX-License-Identifier: MIT
// Beyond concurrent.futures through the C++ API: per-task time limits (SubmitOptions, TimeLimitError),
// cancelling running tasks (cancel_running), replacing dead workers (WorkerDeath::Replace, WorkerDiedError)
// within a restart intensity, stats() and the log handler; on every start method, and on thread pools.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cfutures/cfutures.h"
#include "cfutures/cfutures.hpp"
#include "pool_test_support.hpp"

namespace {

using namespace cftest;
using namespace std::chrono_literals;

int sleep_ten_seconds(cf_task_ctx *ctx, const void *, size_t, void *) {
    for (int i = 0; i < 1000 && !cf_task_cancel_requested(ctx); ++i) usleep(10000);
    return cf_task_return(ctx, "slept", 5);
}
// Creates the file named by its argument once it runs (what a test waits for to know the worker has begun it),
// then sleeps as above.
int announce_then_sleep(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    std::string path(static_cast<const char *>(arg), len);
    if (FILE *f = std::fopen(path.c_str(), "w")) std::fclose(f);
    return sleep_ten_seconds(ctx, arg, len, user_data);
}
int own_pid(cf_task_ctx *ctx, const void *, size_t, void *) {
    std::int32_t pid = getpid();
    return cf_task_return(ctx, &pid, sizeof pid);
}
int kill_self(cf_task_ctx *, const void *, size_t, void *) {
    raise(SIGKILL);
    return CF_OK;
}

}  // namespace

CF_TASK("test_beyond.sleep", sleep_ten_seconds);
CF_TASK("test_beyond.announce_then_sleep", announce_then_sleep);
CF_TASK("test_beyond.pid", own_pid);
CF_TASK("test_beyond.crash", kill_self);

namespace {

std::int32_t pid_of(const cf::FutureBase &f) {
    std::string_view b = f.bytes(kLong);
    std::int32_t pid = -1;
    if (b.size() == sizeof pid) std::memcpy(&pid, b.data(), sizeof pid);
    return pid;
}

class Beyond : public ::testing::TestWithParam<cf::StartMethod> {
protected:
    cf::ProcessPoolExecutor::Options options(std::size_t workers) const {
        cf::ProcessPoolExecutor::Options o;
        o.max_workers = workers;
        o.start_method = GetParam();
        o.shared_memory_bytes = std::size_t(8) << 20;
        return o;
    }
};

INSTANTIATE_TEST_SUITE_P(StartMethods, Beyond,
                         ::testing::Values(cf::StartMethod::Fork, cf::StartMethod::Forkserver, cf::StartMethod::Spawn),
                         [](const ::testing::TestParamInfo<cf::StartMethod> &info) -> std::string {
                             return info.param == cf::StartMethod::Spawn        ? "spawn"
                                    : info.param == cf::StartMethod::Forkserver ? "forkserver"
                                                                                : "fork";
                         });

TEST_P(Beyond, ATaskPastItsTimeLimitFailsAndItsSiblingsFinish) {
    cf::ProcessPoolExecutor ex(options(2));
    cf::SubmitOptions limited;
    limited.time_limit = 0.2;
    auto t0 = Clock::now();
    cf::FutureBase slow = ex.submit_named("test_beyond.sleep", "", limited);
    std::vector<cf::FutureBase> siblings;
    for (int i = 0; i < 4; ++i) siblings.push_back(ex.submit_named("test_beyond.pid", ""));
    EXPECT_THROW(slow.bytes(kLong), cf::TimeLimitError);
    EXPECT_LT(Clock::now() - t0, 1s);
    EXPECT_EQ(slow.error().status, cf::Status::TimeLimit);
    // TimeLimitError is a TimeoutError, as Python's would be.
    EXPECT_THROW(slow.bytes(), cf::TimeoutError);
    for (auto &f : siblings) EXPECT_GT(pid_of(f), 0);
    EXPECT_GT(pid_of(ex.submit_named("test_beyond.pid", "")), 0);  // the pool goes on
    limited.time_limit = std::nan("");
    EXPECT_THROW(ex.submit_named("test_beyond.pid", "", limited), cf::InvalidArgument);
}

TEST_P(Beyond, CancellingARunningTaskReplacesItsWorker) {
    auto o = options(1);
    o.cancel_running = true;
    cf::ProcessPoolExecutor ex(o);
    std::int32_t before = pid_of(ex.submit_named("test_beyond.pid", ""));
    std::string started = "/tmp/cf_test_beyond_" + std::to_string(getpid()) + "_" + std::to_string(int(GetParam()));
    std::remove(started.c_str());
    cf::FutureBase f = ex.submit_named("test_beyond.announce_then_sleep", started);
    ASSERT_TRUE(eventually([&] { return access(started.c_str(), F_OK) == 0; }));
    std::remove(started.c_str());
    EXPECT_TRUE(f.cancel());
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW(f.bytes(0), cf::CancelledError);
    std::int32_t after = pid_of(ex.submit_named("test_beyond.pid", ""));
    EXPECT_GT(after, 0);
    EXPECT_NE(after, before);
    EXPECT_GE(ex.stats().workers_replaced, 1u);
    EXPECT_EQ(ex.stats().worker_deaths, 0u);  // killed by the pool: no death
}

TEST_P(Beyond, CancellingATaskQueuedInAWorkersRingSkipsIt) {
    auto o = options(1);
    o.cancel_running = true;
    cf::ProcessPoolExecutor ex(o);
    std::string started = "/tmp/cf_test_beyond_q_" + std::to_string(getpid()) + "_" + std::to_string(int(GetParam()));
    std::remove(started.c_str());
    std::vector<cf::FutureBase> fs;
    // Enough behind it that some wait in the worker's ring (their futures show running already, as in CPython).
    fs.push_back(ex.submit_named("test_beyond.announce_then_sleep", started));
    for (int i = 0; i < 40; ++i) fs.push_back(ex.submit_named("test_beyond.pid", ""));
    ASSERT_TRUE(eventually([&] { return access(started.c_str(), F_OK) == 0; }));
    std::remove(started.c_str());
    std::int32_t first = 0;
    for (std::size_t i = 1; i < fs.size(); ++i) EXPECT_TRUE(fs[i].cancel());
    EXPECT_TRUE(fs[0].cancel());  // the running one: its worker is killed
    for (std::size_t i = 0; i < fs.size(); ++i) EXPECT_TRUE(fs[i].cancelled()) << i;
    first = pid_of(ex.submit_named("test_beyond.pid", ""));
    EXPECT_GT(first, 0);
    cf::ExecutorStats s = ex.stats();
    EXPECT_EQ(s.cancelled, 41u);
    EXPECT_EQ(s.completed, 1u);
}

TEST_P(Beyond, WithoutCancelRunningARunningTaskIsOnlyAskedToStop) {
    cf::ProcessPoolExecutor ex(options(1));
    cf::FutureBase f = ex.submit_named("test_beyond.sleep", "");
    ASSERT_TRUE(eventually([&] { return f.running(); }));
    EXPECT_FALSE(f.cancel());  // as CPython
    EXPECT_EQ(f.bytes(kLong), "slept");  // the task saw cancel_requested and returned early
}

TEST_P(Beyond, ReplaceFailsOnlyTheTasksOfDeadWorkers) {
    auto o = options(2);
    o.on_worker_death = cf::WorkerDeath::Replace;
    cf::ProcessPoolExecutor ex(o);
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 100; ++i) fs.push_back(ex.submit_named(i % 10 == 7 ? "test_beyond.crash" : "test_beyond.pid", ""));
    int ok = 0, died = 0;
    for (int i = 0; i < 100; ++i) {
        try {
            ok += pid_of(fs[i]) > 0;
        } catch (const cf::WorkerDiedError &e) {
            died += i % 10 == 7;
            EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(ok, 90);
    EXPECT_EQ(died, 10);
    EXPECT_GT(pid_of(ex.submit_named("test_beyond.pid", "")), 0);
    cf::ExecutorStats s = ex.stats();
    EXPECT_EQ(s.worker_deaths, 10u);
    EXPECT_EQ(s.completed + s.failed + s.cancelled, 101u);
}

TEST_P(Beyond, TooManyDeathsWithinThePeriodBreakThePool) {
    auto o = options(1);
    o.on_worker_death = cf::WorkerDeath::Replace;
    o.max_restarts = 1;
    o.restart_period = 3600;
    cf::ProcessPoolExecutor ex(o);
    EXPECT_THROW(ex.submit_named("test_beyond.crash", "").bytes(kLong), cf::WorkerDiedError);
    EXPECT_THROW(ex.submit_named("test_beyond.crash", "").bytes(kLong), cf::BrokenProcessPool);
    EXPECT_THROW(ex.submit_named("test_beyond.pid", ""), cf::BrokenProcessPool);
}

TEST_P(Beyond, WithoutReplaceADeathBreaksThePoolAsInCPython) {
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_THROW(ex.submit_named("test_beyond.crash", "").bytes(kLong), cf::BrokenProcessPool);
}

TEST_P(Beyond, StatsAddUpUnderLoad) {
    cf::ProcessPoolExecutor ex(options(2));
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 300; ++i) fs.push_back(ex.submit_named("test_beyond.pid", ""));
    std::size_t cancelled = 0;
    for (std::size_t i = fs.size(); i-- > 0;)
        if (i % 4 == 0) cancelled += fs[i].cancel();
    cf::ExecutorStats during = ex.stats();
    EXPECT_LE(during.completed + during.failed + during.cancelled, 300u);
    for (auto &f : fs) f.wait(kLong);
    cf::ExecutorStats s = ex.stats();
    EXPECT_EQ(s.completed + s.failed + s.cancelled, 300u);
    EXPECT_EQ(s.cancelled, cancelled);
    EXPECT_EQ(s.queued, 0u);
    EXPECT_EQ(s.running, 0u);
    EXPECT_EQ(s.idle_workers, s.workers);
}

TEST(BeyondThreadPool, ATimeLimitFailsTheFutureAndTellsTheTask) {
    cf::ThreadPoolExecutor ex;
    cf::SubmitOptions limited;
    limited.time_limit = 0.1;
    std::atomic<bool> told{false};
    Gate done;
    auto f = ex.submit_with(limited, [&] {
        // Bounded, so that a flag that never comes fails the test rather than hangs the pool's shutdown.
        for (auto end = Clock::now() + kLongDuration; !cf::this_task_cancel_requested() && Clock::now() < end;)
            std::this_thread::sleep_for(1ms);
        told = cf::this_task_cancel_requested();
        done.open();
        return 7;
    });
    EXPECT_THROW(f.result(kLong), cf::TimeLimitError);
    ASSERT_TRUE(done.wait());
    EXPECT_TRUE(told);
    EXPECT_EQ(ex.stats().failed, 1u);
}

TEST(BeyondThreadPool, CancelRunningCancelsAtOnce) {
    cf::ThreadPoolExecutor::Options o;
    o.cancel_running = true;
    cf::ThreadPoolExecutor ex(o);
    Gate started, finished;
    auto f = ex.submit([&] {
        started.open();
        // Bounded, so that a flag that never comes fails the test rather than hangs the pool's shutdown.
        for (auto end = Clock::now() + kLongDuration; !cf::this_task_cancel_requested() && Clock::now() < end;)
            std::this_thread::sleep_for(1ms);
        finished.open();
        return 1;
    });
    ASSERT_TRUE(started.wait());
    EXPECT_TRUE(f.cancel());
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW(f.result(0), cf::CancelledError);
    ASSERT_TRUE(finished.wait());  // the thread ran on until it looked; its result is discarded
    EXPECT_EQ(ex.stats().cancelled, 1u);
}

std::mutex log_mu;
std::vector<std::pair<int, std::string>> logged;
void keep(int level, const char *message, void *) {
    std::lock_guard<std::mutex> lock(log_mu);
    logged.emplace_back(level, message);
}

TEST(BeyondLog, TheHandlerHearsOfAReplacedWorker) {
    cf::set_log_handler(keep);
    {
        cf::ProcessPoolExecutor::Options o;
        o.max_workers = 1;
        o.start_method = cf::StartMethod::Fork;
        o.on_worker_death = cf::WorkerDeath::Replace;
        cf::ProcessPoolExecutor ex(o);
        EXPECT_THROW(ex.submit_named("test_beyond.crash", "").bytes(kLong), cf::WorkerDiedError);
        EXPECT_GT(pid_of(ex.submit_named("test_beyond.pid", "")), 0);
    }
    cf::set_log_handler(nullptr);
    std::lock_guard<std::mutex> lock(log_mu);
    bool heard = false;
    for (auto &[level, text] : logged)
        heard |= level == static_cast<int>(cf::LogLevel::Warning) && text.find("a new worker takes its place") != std::string::npos;
    EXPECT_TRUE(heard);
}

}  // namespace
