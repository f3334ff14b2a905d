// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: submit and result, one task at a time (executor.py's test_submit, test_traceback),
// failures that cross the process boundary, cancel, wait, registration at run time; over every start method.
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolSubmit);

// ---------------------------------------------------------------------------------------------------------------
// submit and result (executor.py's test_submit, test_traceback, test_map_exception's single-task cousins)

TEST_P(ProcessPoolSubmit, SubmitNamedReturnsTheResult) {
    cf::ProcessPoolExecutor ex(options(2));
    cf::FutureBase f = ex.submit_named("test_process_pool.echo", "hello, worker");
    EXPECT_EQ(text(f), "hello, worker");
    EXPECT_EQ(f.state(), cf::State::Finished);
    EXPECT_EQ(f.error(kLong).status, cf::Status::Ok);
    EXPECT_EQ(f.exception(kLong), nullptr);
}

TEST_P(ProcessPoolSubmit, SubmitBytesFindsTheRegisteredFunction) {
    cf::ProcessPoolExecutor ex(options(2));
    cf::FutureBase f = ex.submit_bytes(c_call(square_task), "12");
    EXPECT_EQ(text(f), "144");
    // Typed access to the same bytes.
    cf::Future<std::string> typed(ex.submit_bytes(c_call(echo_task), "typed"));
    EXPECT_EQ(typed.result(kLong), "typed");
}

TEST_P(ProcessPoolSubmit, TheTaskRunsInAWorkerProcess) {
    cf::ProcessPoolExecutor ex(options(2));
    pid_t worker = pid_of(ex.submit_named("test_process_pool.pid", ""));
    EXPECT_NE(worker, getpid());
    auto pids = ex.worker_pids();
    EXPECT_NE(std::find(pids.begin(), pids.end(), worker), pids.end()) << "the task ran outside the pool's workers";
    // A worker is a child of the process that made the pool, or (forkserver) of the server it forked. (A fork
    // pool's later workers, in place of dead or retired ones, come from a server of the pool's own.)
    auto f = stat_fields(worker);
    ASSERT_GE(f.size(), 2u);
    pid_t parent = static_cast<pid_t>(std::atol(f[1].c_str()));
    if (forkserver()) {
        EXPECT_NE(parent, getpid());
        auto server = stat_fields(parent);
        ASSERT_GE(server.size(), 2u);
        EXPECT_EQ(std::atol(server[1].c_str()), getpid()) << "the worker's server is not a child of this process";
    } else {
        EXPECT_EQ(parent, getpid());
    }
}

TEST_P(ProcessPoolSubmit, EmptyArgumentAndEmptyResult) {
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "")), "");
    cf::FutureBase nothing = ex.submit_named("test_process_pool.nothing", "ignored");
    EXPECT_EQ(nothing.bytes(kLong).size(), 0u);
    EXPECT_EQ(nothing.error(kLong).status, cf::Status::Ok);
    // Bytes that are not text survive too, zeros included.
    std::string binary("\0\1\2\0\xff\xfe", 6);
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", binary)), binary);
}

TEST_P(ProcessPoolSubmit, UnregisteredFunctionIsUnknownTaskError) {
    cf::ProcessPoolExecutor ex(options(1));
    try {
        ex.submit_bytes(c_call(unregistered_task), "x");
        FAIL() << "an unregistered function was accepted";
    } catch (const cf::UnknownTaskError &e) {
        EXPECT_EQ(e.status(), cf::Status::UnknownTask);
        EXPECT_TRUE(contains(e.what(), "not registered")) << e.what();
    }
    try {
        ex.submit_named("test_process_pool.no_such_task", "x");
        FAIL() << "an unknown name was accepted";
    } catch (const cf::UnknownTaskError &e) {
        EXPECT_TRUE(contains(e.what(), "test_process_pool.no_such_task")) << e.what();
    }
    // The pool is not hurt by the refusals.
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "still fine")), "still fine");
}

TEST_P(ProcessPoolSubmit, UnregisteredFunctionThroughTheCAbi) {
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    CFuture f;
    EXPECT_EQ(cf_submit(ex.ex, unregistered_task, nullptr, "x", 1, &f.f), CF_E_UNKNOWN_TASK);
    EXPECT_EQ(f.f, nullptr);
    EXPECT_TRUE(contains(cf_last_error(), "not registered")) << cf_last_error();
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.no_such_task", "x", 1, &f.f), CF_E_UNKNOWN_TASK);
    EXPECT_TRUE(contains(cf_last_error(), "test_process_pool.no_such_task")) << cf_last_error();
    // A registered function through cf_submit works on the same pool.
    ASSERT_EQ(cf_submit(ex.ex, square_task, nullptr, "7", 1, &f.f), CF_OK) << cf_last_error();
    cf_slice r{};
    ASSERT_EQ(cf_future_result(f.f, kLong, &r), CF_OK) << cf_last_error();
    EXPECT_EQ(std::string(static_cast<const char *>(r.data), r.len), "49");
}

TEST_P(ProcessPoolSubmit, RaisingTaskFailsOnlyItsOwnFuture) {
    cf::ProcessPoolExecutor ex(options(1));
    cf::FutureBase before = ex.submit_named("test_process_pool.echo", "before");
    cf::FutureBase failing = ex.submit_named("test_process_pool.raise", "7");
    cf::FutureBase after = ex.submit_named("test_process_pool.echo", "after");
    try {
        failing.bytes(kLong);
        FAIL() << "the failure was lost";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "ValueError");
        EXPECT_EQ(e.message(), "bad value 7");
        EXPECT_TRUE(contains(e.detail(), "test_process_pool.raise")) << e.detail();
        EXPECT_EQ(e.status(), cf::Status::TaskFailed);
    }
    cf::ErrorInfo info = failing.error(kLong);
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "ValueError");
    EXPECT_EQ(info.message, "bad value 7");
    EXPECT_TRUE(contains(info.detail, "test_process_pool.raise")) << info.detail;
    // exception() hands out the same failure as a RemoteError, which is a TaskError.
    std::exception_ptr p = failing.exception(kLong);
    ASSERT_NE(p, nullptr);
    EXPECT_THROW(std::rethrow_exception(p), cf::TaskError);
    // Its neighbours, in the same worker, are unharmed, and so is the pool.
    EXPECT_EQ(text(before), "before");
    EXPECT_EQ(text(after), "after");
    EXPECT_EQ(text(ex.submit_named("test_process_pool.square", "9")), "81");
}

TEST_P(ProcessPoolSubmit, FailureDetailNamesTheWorker) {
    cf::ProcessPoolExecutor ex(options(1));
    pid_t worker = pid_of(ex.submit_named("test_process_pool.pid", ""));
    cf::ErrorInfo info = ex.submit_named("test_process_pool.raise", "x").error(kLong);
    EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
}

TEST_P(ProcessPoolSubmit, NonZeroReturnWithoutRaiseIsCfTaskError) {
    cf::ProcessPoolExecutor ex(options(1));
    cf::FutureBase f = ex.submit_named("test_process_pool.minus_five", "");
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "cf_task_error");
    EXPECT_EQ(info.message, "task returned -5");
    EXPECT_THROW(f.bytes(kLong), cf::RemoteError);
}

TEST_P(ProcessPoolSubmit, CppExceptionKeepsItsTypeNameAcrossProcesses) {
    // test_traceback: the type and text of what the worker raised reach the caller.
    cf::ProcessPoolExecutor ex(options(1));
    try {
        ex.submit_named("test_process_pool.throw", "9").bytes(kLong);
        FAIL() << "the exception was lost";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "std::out_of_range");
        EXPECT_EQ(e.message(), "index 9");
        EXPECT_TRUE(contains(e.detail(), "test_process_pool.throw")) << e.detail();
    }
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "alive")), "alive");
}

TEST_P(ProcessPoolSubmit, ResultsThroughTheCAbi) {
    CExecutor ex{c_pool(2)};
    ASSERT_NE(ex.ex, nullptr);
    CFuture ok, bad;
    ASSERT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "abc", 3, &ok.f), CF_OK) << cf_last_error();
    ASSERT_EQ(cf_submit(ex.ex, raise_task, nullptr, "5", 1, &bad.f), CF_OK) << cf_last_error();
    cf_slice r{};
    ASSERT_EQ(cf_future_result(ok.f, kLong, &r), CF_OK);
    EXPECT_EQ(std::string(static_cast<const char *>(r.data), r.len), "abc");
    EXPECT_EQ(cf_future_result(bad.f, kLong, &r), CF_E_TASK_FAILED);
    cf_error e{};
    ASSERT_EQ(cf_future_exception(bad.f, kLong, &e), CF_OK);
    EXPECT_EQ(e.status, CF_E_TASK_FAILED);
    EXPECT_STREQ(e.type, "ValueError");
    EXPECT_STREQ(e.message, "bad value 5");
    ASSERT_NE(e.detail, nullptr);
    EXPECT_TRUE(contains(e.detail, "test_process_pool.raise")) << e.detail;
}

TEST_P(ProcessPoolSubmit, ReleasingAFutureDoesNotCancelItsTask) {
    Scratch s;
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    std::string marker = s.path("ran");
    cf_future *f = nullptr;
    ASSERT_EQ(cf_submit_named(ex.ex, "test_process_pool.touch", marker.data(), marker.size(), &f), CF_OK);
    cf_future_release(f);
    ASSERT_EQ(cf_executor_shutdown(ex.ex, 1, 0), CF_OK);
    EXPECT_TRUE(file_exists(marker));
}

TEST_P(ProcessPoolSubmit, ManySubmittersAtOnce) {
    // Four threads submit 150 tasks each into a two-worker pool; every result comes back to its own future.
    cf::ProcessPoolExecutor ex(options(2));
    std::vector<std::vector<cf::FutureBase>> per_thread(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 150; ++i)
                per_thread[t].push_back(ex.submit_named("test_process_pool.echo", std::to_string(t * 1000 + i)));
        });
    }
    for (auto &th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
        ASSERT_EQ(per_thread[t].size(), 150u);
        for (int i = 0; i < 150; ++i) EXPECT_EQ(text(per_thread[t][i]), std::to_string(t * 1000 + i));
    }
}

TEST_P(ProcessPoolSubmit, CancelledPendingFutureNeverRuns) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase blocker = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    // Far more behind it than one worker can hold: the last one waits in the parent's queue.
    std::vector<cf::FutureBase> queued;
    for (int i = 0; i < 100; ++i) queued.push_back(ex.submit_named("test_process_pool.touch", s.path("ran." + std::to_string(i))));
    EXPECT_TRUE(queued.back().cancel());
    EXPECT_TRUE(queued.back().cancelled());
    EXPECT_THROW(queued.back().bytes(kLong), cf::CancelledError);
    s.open();
    EXPECT_EQ(parse_gate_result(text(blocker)).len, s.gate(0).size());
    ex.shutdown(true);
    EXPECT_FALSE(file_exists(s.path("ran.99"))) << "a cancelled task ran";
    for (int i = 0; i < 99; ++i)
        if (!queued[i].cancelled()) EXPECT_TRUE(file_exists(s.path("ran." + std::to_string(i)))) << i;
}

TEST_P(ProcessPoolSubmit, CancelOfARunningTaskIsRequested) {
    // c-api.md: cf_task_cancel_requested turns 1 once cancel() is called on the running task's future (which still
    // returns false, as in Python).
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    cf::FutureBase f = ex.submit_named("test_process_pool.cancel_watch", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    EXPECT_FALSE(f.cancel());
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_EQ(info.type, "CancelledError") << "the running task never saw the request (" << info.type << ": "
                                           << (info.status == cf::Status::Ok ? text(f) : info.message) << ")";
}

TEST_P(ProcessPoolSubmit, StateTimeoutAndWaitOfARunningTask) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase f = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    EXPECT_TRUE(f.running());
    EXPECT_FALSE(f.done());
    EXPECT_THROW(f.bytes(0.05), cf::TimeoutError);
    EXPECT_FALSE(f.wait(0));
    s.open();
    EXPECT_TRUE(f.wait(kLong));
    EXPECT_EQ(f.state(), cf::State::Finished);
}

TEST_P(ProcessPoolSubmit, WaitForTheFirstException) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(2));
    OpenAtExit open_gate(s);
    cf::FutureBase blocked = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    cf::FutureBase failing = ex.submit_named("test_process_pool.raise", "1");
    std::vector<cf::Future<std::string>> typed{cf::Future<std::string>(blocked), cf::Future<std::string>(failing)};
    auto [done, not_done] = cf::wait(typed, kLong, cf::ReturnWhen::FirstException);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0], failing);
    ASSERT_EQ(not_done.size(), 1u);
    EXPECT_EQ(not_done[0], blocked);
}

TEST_P(ProcessPoolSubmit, RunTimeRegistrationReachesOnlyWorkersForkedAfterIt) {
    // c-api.md: workers see the registrations made before they were started (fork), or made by the worker program
    // before cf_process_worker_entry() (spawn). The parent knows the name, so the worker reports it on the future.
    static int round = 0;  // a fresh name each time, so that the test can be repeated in one process
    const std::string name =
        "test_process_pool.late_" + method_name({GetParam(), 0}) + "_" + std::to_string(++round);
    cf::ProcessPoolExecutor before(options(1));
    EXPECT_EQ(text(before.submit_named("test_process_pool.echo", "start the workers")), "start the workers");
    ASSERT_EQ(cf_task_register(name.c_str(), late_task, nullptr), CF_OK) << cf_last_error();
    cf::FutureBase f = before.submit_named(name, "late");
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_EQ(info.status, cf::Status::UnknownTask);
    EXPECT_TRUE(contains(info.message, name)) << info.message;
    EXPECT_THROW(f.bytes(kLong), cf::UnknownTaskError);
    // The pool is not broken by it.
    EXPECT_EQ(text(before.submit_named("test_process_pool.echo", "still fine")), "still fine");
    cf::ProcessPoolExecutor after(options(1));
    cf::FutureBase g = after.submit_named(name, "late");
    if (fork_method()) {
        EXPECT_EQ(text(g), "late");
    } else {
        // A spawned worker re-executes the program: it has only what the program registers as it starts. A
        // forkserver's workers have what the program had registered when the (one, process-wide) server started,
        // which was before this registration.
        EXPECT_EQ(g.error(kLong).status, cf::Status::UnknownTask);
    }
}

TEST_P(ProcessPoolSubmit, DoneCallbackMaySubmitToThePool) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase first = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    std::mutex mu;
    cf::FutureBase second;
    Gate submitted;
    first.add_done_callback([&](const cf::FutureBase &) {
        cf::FutureBase f = ex.submit_named("test_process_pool.echo", "from a callback");
        {
            std::lock_guard<std::mutex> lock(mu);
            second = f;
        }
        submitted.open();
    });
    s.open();
    ASSERT_TRUE(submitted.wait());
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(text(second), "from a callback");
}

}  // namespace
