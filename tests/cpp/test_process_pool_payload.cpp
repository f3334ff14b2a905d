// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: arguments and results through shared memory (large payloads, a small arena that
// makes submit wait, results larger than a worker's heap); over every start method.
#include <sys/types.h>

#include <atomic>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolPayload);

// ---------------------------------------------------------------------------------------------------------------
// Payloads through shared memory

TEST_P(ProcessPoolPayload, SixteenMiBArgumentIsEchoedIntact) {
    cf::ProcessPoolExecutor ex(options(1));
    std::string big = pattern(16 * kMiB, 16);
    cf::FutureBase f = ex.submit_named("test_process_pool.echo", big);
    std::string_view r = f.bytes(kLong);
    ASSERT_EQ(r.size(), big.size());
    EXPECT_TRUE(r == big) << "the 16 MiB round trip changed the bytes";
    // The worker saw the same bytes, too.
    EXPECT_EQ(text(ex.submit_named("test_process_pool.checksum", big)),
              std::to_string(fnv1a(big)) + "|" + std::to_string(big.size()));
}

TEST_P(ProcessPoolPayload, ArgumentLargerThanTheArenaIsTooLargeAtSubmit) {
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    cf::ProcessPoolExecutor ex(o);
    std::string big(4 * kMiB + 1, 'a');
    try {
        ex.submit_named("test_process_pool.echo", big);
        FAIL() << "an argument larger than the arena was accepted";
    } catch (const cf::TooLargeError &e) {
        EXPECT_EQ(e.status(), cf::Status::TooLarge);
        EXPECT_TRUE(contains(e.what(), std::to_string(big.size()))) << e.what();
    }
    // The pool is usable afterwards.
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "small")), "small");
}

TEST_P(ProcessPoolPayload, ArgumentLargerThanTheArenaThroughTheCAbi) {
    CExecutor ex{c_pool(1, 4 * kMiB)};
    ASSERT_NE(ex.ex, nullptr);
    std::string big(8 * kMiB, 'b');
    CFuture f;
    EXPECT_EQ(cf_submit(ex.ex, echo_task, nullptr, big.data(), big.size(), &f.f), CF_E_TOO_LARGE);
    EXPECT_EQ(f.f, nullptr);
    EXPECT_STRNE(cf_last_error(), "");
}

TEST_P(ProcessPoolPayload, SubmitWaitsForArenaSpaceInsteadOfFailing) {
    // A 4 MiB arena holds three 1 MiB arguments but not four: the fourth submit waits until a task is done.
    Scratch s;
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    auto *ex = new cf::ProcessPoolExecutor(o);
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 3; ++i) fs.push_back(ex->submit_named("test_process_pool.gate", s.gate(i, kMiB)));
    ASSERT_TRUE(s.wait_started(0));
    auto fourth = std::make_shared<cf::FutureBase>();
    auto error = std::make_shared<std::string>();
    std::string arg = s.gate(3, kMiB);
    Bounded submit([ex, fourth, error, arg] {
        try {
            *fourth = ex->submit_named("test_process_pool.gate", arg);
        } catch (const std::exception &e) {
            *error = e.what();
        }
    });
    EXPECT_TRUE(submit.still_running()) << "the fourth 1 MiB argument did not wait for room (" << *error << ")";
    s.open();
    if (!submit.finished()) {
        ADD_FAILURE() << "submit never found room";
        return;
    }
    EXPECT_EQ(*error, "");
    fs.push_back(*fourth);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(fs[i].valid()) << i;
        GateResult r = parse_gate_result(text(fs[i]));
        std::string sent = s.gate(i, kMiB);
        EXPECT_EQ(r.len, sent.size()) << i;
        EXPECT_EQ(r.fnv, fnv1a(sent)) << i;
    }
    delete ex;
}

TEST_P(ProcessPoolPayload, ManyLargeArgumentsThroughASmallArena) {
    // Twenty-four 1 MiB arguments through a 4 MiB arena and two workers: submit waits as needed, all complete.
    auto o = options(2);
    o.shared_memory_bytes = 4 * kMiB;
    cf::ProcessPoolExecutor ex(o);
    std::vector<std::string> args;
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 24; ++i) {
        args.push_back(pattern(kMiB, 100 + i));
        fs.push_back(ex.submit_named("test_process_pool.checksum", args.back()));
    }
    for (int i = 0; i < 24; ++i)
        EXPECT_EQ(text(fs[i]), std::to_string(fnv1a(args[i])) + "|" + std::to_string(kMiB)) << i;
}

TEST_P(ProcessPoolPayload, ResultLargerThanTheHeapArrivesWhole) {
    // A result with no room in the worker's heap travels in parts through it; nothing that ran is lost.
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    cf::ProcessPoolExecutor ex(o);
    pid_t worker = pid_of(ex.submit_named("test_process_pool.pid", ""));
    for (const char *task : {"test_process_pool.big_buffer", "test_process_pool.big_copy"}) {
        cf::FutureBase f = ex.submit_named(task, std::to_string(8 * kMiB));
        char fill = std::string(task) == "test_process_pool.big_buffer" ? 'x' : 'y';
        EXPECT_EQ(std::string(f.bytes(kLong)), std::string(8 * kMiB, fill)) << task;
        // The pool stays usable, with the same worker.
        EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "fine")), "fine");
    }
    EXPECT_EQ(pid_of(ex.submit_named("test_process_pool.pid", "")), worker);
    // A result that fits still comes back whole.
    EXPECT_EQ(text(ex.submit_named("test_process_pool.big_buffer", std::to_string(kMiB))), std::string(kMiB, 'x'));
}

TEST_P(ProcessPoolPayload, ResultBlocksAreReusedOnceTheirFuturesAreGone) {
    // One worker with a 4 MiB result heap returns twenty 1 MiB results, one after the other: the heap only lasts
    // if each result's block is handed back when its future lets go.
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    cf::ProcessPoolExecutor ex(o);
    for (int i = 0; i < 20; ++i) {
        std::string arg = pattern(kMiB, 500 + i);
        cf::FutureBase f = ex.submit_named("test_process_pool.echo", arg);
        std::string_view r;
        try {
            r = f.bytes(kLong);
        } catch (const cf::Error &e) {
            FAIL() << "round " << i << ": " << e.what();
        }
        EXPECT_TRUE(r == arg) << "round " << i;
    }
}

TEST_P(ProcessPoolPayload, ResultsSurviveTheReplacementOfTheirWorker) {
    // A slot's result heap outlives the worker: results a retired worker left behind stay intact while its
    // replacement writes new ones into the same heap.
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    o.max_tasks_per_child = 1;
    cf::ProcessPoolExecutor ex(o);
    std::vector<std::string> args;
    std::vector<cf::FutureBase> held;
    std::set<pid_t> pids;
    for (int i = 0; i < 3; ++i) {
        args.push_back(pattern(kMiB, 900 + i));
        held.push_back(ex.submit_named("test_process_pool.echo", args.back()));
        ASSERT_TRUE(held.back().wait(kLong));
        pids.insert(pid_of(ex.submit_named("test_process_pool.pid", "")));
    }
    EXPECT_EQ(pids.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(held[i].bytes(kLong) == args[i]) << "result " << i << " was overwritten";
}

TEST_P(ProcessPoolPayload, SubmitWaitingForRoomEndsAtShutdown) {
    Scratch s;
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    auto *ex = new cf::ProcessPoolExecutor(o);
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 3; ++i) fs.push_back(ex->submit_named("test_process_pool.gate", s.gate(i, kMiB)));
    ASSERT_TRUE(s.wait_started(0));
    auto fourth = std::make_shared<cf::FutureBase>();
    auto refused = std::make_shared<std::atomic<bool>>(false);
    std::string arg = s.gate(3, kMiB);
    Bounded submit([ex, fourth, refused, arg] {
        try {
            *fourth = ex->submit_named("test_process_pool.gate", arg);
        } catch (const cf::ShutdownError &) {
            *refused = true;
        }
    });
    ASSERT_TRUE(submit.still_running());
    ex->shutdown(false);
    s.open();
    if (!submit.finished()) {
        ADD_FAILURE() << "a submit waiting for room hung across shutdown";
        return;
    }
    // Either refused as a submit after shutdown, or accepted and run.
    if (!*refused) EXPECT_EQ(parse_gate_result(text(*fourth)).len, arg.size());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(parse_gate_result(text(fs[i])).len, s.gate(i, kMiB).size());
    delete ex;
}

}  // namespace
