// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: what a pool accepts at creation (start methods, worker counts, initializer, shared
// memory size) and a spawn pool whose workers run another program (worker_program).
#include <filesystem>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

// ---------------------------------------------------------------------------------------------------------------
// Configuration (test_max_workers_negative and friends; start methods)

TEST(ProcessPoolConfig, UnknownStartMethodIsRefusedWithAClearMessage) {
    // Fork, forkserver and spawn all run every process-pool TEST_P; a value that is no start method is refused.
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    o.start_method = static_cast<cf::StartMethod>(7);
    try {
        cf::ProcessPoolExecutor ex(o);
        FAIL() << "a pool with start method 7 was created";
    } catch (const cf::InvalidArgument &e) {
        EXPECT_TRUE(contains(e.what(), "start method")) << e.what();
    }
    cf_process_pool_options c;
    cf_process_pool_options_init(&c);
    c.max_workers = 1;
    c.start_method = static_cast<cf_start_method>(7);
    cf_executor *ex = reinterpret_cast<cf_executor *>(&c);  // must be overwritten
    EXPECT_EQ(cf_process_pool_new(&c, &ex), CF_E_INVALID_ARGUMENT);
    EXPECT_EQ(ex, nullptr);
    EXPECT_TRUE(contains(cf_last_error(), "start_method")) << cf_last_error();
}

TEST(ProcessPoolConfig, ForkserverIsAvailable) {
    cf_process_pool_options c;
    cf_process_pool_options_init(&c);
    c.max_workers = 1;
    c.start_method = CF_START_FORKSERVER;
    CExecutor ex;
    ASSERT_EQ(cf_process_pool_new(&c, &ex.ex), CF_OK) << cf_last_error();
    CFuture f;
    ASSERT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "fs", 2, &f.f), CF_OK) << cf_last_error();
    cf_slice r{};
    ASSERT_EQ(cf_future_result(f.f, kLong, &r), CF_OK) << cf_last_error();
    EXPECT_EQ(std::string(static_cast<const char *>(r.data), r.len), "fs");
}

TEST(ProcessPoolConfig, MoreThan4096WorkersIsInvalid) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 4097;
    try {
        cf::ProcessPoolExecutor ex(o);
        FAIL() << "a pool of 4097 workers was created";
    } catch (const cf::InvalidArgument &e) {
        EXPECT_TRUE(contains(e.what(), "4096")) << e.what();
    }
}

TEST(ProcessPoolConfig, UnregisteredInitializerIsRefusedAtCreation) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    o.initializer = "test_process_pool.no_such_initializer";
    try {
        cf::ProcessPoolExecutor ex(o);
        FAIL() << "a pool with an unregistered initializer was created";
    } catch (const cf::UnknownTaskError &e) {
        EXPECT_TRUE(contains(e.what(), "test_process_pool.no_such_initializer")) << e.what();
    }
}

TEST(ProcessPoolConfig, TinySharedMemoryIsInvalid) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    o.shared_memory_bytes = 16;
    EXPECT_THROW(cf::ProcessPoolExecutor ex(o), cf::InvalidArgument);
}

TEST(ProcessPoolConfig, NullTaskIsInvalid) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    cf::ProcessPoolExecutor ex(o);
    EXPECT_THROW(ex.submit_bytes(cf::TaskCall{}, "x"), cf::InvalidArgument);
}

// ---------------------------------------------------------------------------------------------------------------
// worker_program (spawn): the workers run another program, whose registry the parent cannot see.

std::string own_program() {
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

TEST(ProcessPoolWorkerProgram, UnknownNameIsReportedOnTheFuture) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    o.start_method = cf::StartMethod::Spawn;
    o.worker_program = own_program();
    ASSERT_FALSE(o.worker_program.empty());
    cf::ProcessPoolExecutor ex(o);
    EXPECT_EQ(text(ex.submit_named("test_process_pool.square", "8")), "64");
    cf::FutureBase f;
    ASSERT_NO_THROW(f = ex.submit_named("test_process_pool.not_in_the_worker", "x"));
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_EQ(info.status, cf::Status::UnknownTask);
    EXPECT_TRUE(contains(info.message, "test_process_pool.not_in_the_worker")) << info.message;
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "still fine")), "still fine");
}

TEST(ProcessPoolWorkerProgram, ProgramThatCannotRunBreaksThePool) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    o.start_method = cf::StartMethod::Spawn;
    o.worker_program = "/nonexistent/cfutures-worker";
    cf::ProcessPoolExecutor ex(o);
    cf::FutureBase f = ex.submit_named("test_process_pool.echo", "x");
    EXPECT_THROW(f.bytes(kLong), cf::BrokenProcessPool);
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::BrokenProcessPool);
}

}  // namespace
