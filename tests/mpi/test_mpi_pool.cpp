// SPDX-License-Identifier: MIT
// The C++ API of the MPI executor (cf::MpiPoolExecutor, <cfutures/mpi_pool.hpp>) under mpiexec: typed tasks
// through the serialization component, a thrown exception as RemoteError, tasks by name, as_completed, map and
// shutdown. One pool for the whole program, made in main() before the tests: in world mode the ranks other than
// 0 serve inside its constructor and never reach the tests.
//   mpiexec -n N test_mpi_pool_cpp world       mpiexec -n 1 test_mpi_pool_cpp spawn K
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>
#include <cfutures/mpi_pool.hpp>
#include <cfutures/serialization.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpi_tests {

constexpr double kWait = 30.0;

std::unique_ptr<cf::MpiPoolExecutor> g_pool;

bool is_prime(std::uint64_t n) {
    if (n < 2) return false;
    for (std::uint64_t d = 2; d * d <= n; ++d)
        if (n % d == 0) return false;
    return true;
}

std::vector<double> running_sum(std::vector<double> xs) {
    std::partial_sum(xs.begin(), xs.end(), xs.begin());
    return xs;
}

std::string shout(const std::string &s) { return s + "!"; }

int checked_at(const std::vector<int> &xs, int i) { return xs.at(static_cast<std::size_t>(i)); }

int twice(cf_task_ctx *ctx, const void *arg, std::size_t len, void *) {
    std::uint32_t n = 0;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "twice wants 4 bytes");
    std::memcpy(&n, arg, sizeof n);
    n *= 2;
    return cf_task_return(ctx, &n, sizeof n);
}
CF_TASK("mpi_cpp.twice", twice);

TEST(MpiPool, TypedTasks) {
    cf::MpiPoolExecutor &pool = *g_pool;
    EXPECT_TRUE(pool.submit<&is_prime>(std::uint64_t{112272535095293ull}).result(kWait));
    EXPECT_FALSE(pool.submit<&is_prime>(std::uint64_t{1099726899285419ull}).result(kWait));
    EXPECT_EQ(pool.submit<&shout>(std::string("mpi")).result(kWait), "mpi!");
    std::vector<double> sums = pool.submit<&running_sum>(std::vector<double>{1, 2, 3}).result(kWait);
    EXPECT_EQ(sums, (std::vector<double>{1, 3, 6}));
}

TEST(MpiPool, ExceptionBecomesRemoteError) {
    try {
        g_pool->submit<&checked_at>(std::vector<int>{1, 2}, 5).result(kWait);
        FAIL() << "no exception";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "std::out_of_range");
        EXPECT_NE(e.detail().find("MPI rank"), std::string::npos) << e.detail();
    }
    EXPECT_EQ(g_pool->submit<&checked_at>(std::vector<int>{1, 2}, 1).result(kWait), 2);
}

TEST(MpiPool, ByNameAndAsCompleted) {
    std::vector<cf::Future<std::uint32_t>> fs;
    for (std::uint32_t i = 0; i < 40; ++i)
        fs.emplace_back(g_pool->submit_named("mpi_cpp.twice", std::string_view(reinterpret_cast<const char *>(&i), sizeof i)));
    std::size_t n = 0;
    for (const auto &f : cf::as_completed(fs, kWait)) {
        EXPECT_EQ(f.result() % 2, 0u);
        ++n;
    }
    EXPECT_EQ(n, fs.size());
    for (std::uint32_t i = 0; i < 40; ++i) EXPECT_EQ(fs[i].result(), 2 * i);
    EXPECT_THROW(g_pool->submit_named("mpi_cpp.no_such_task", ""), cf::UnknownTaskError);
}

TEST(MpiPool, ManyTypedTasks) {
    std::vector<cf::Future<bool>> fs;
    for (std::uint64_t n = 1000; n < 1300; ++n) fs.push_back(g_pool->submit<&is_prime>(n));
    for (std::uint64_t n = 1000; n < 1300; ++n) EXPECT_EQ(fs[n - 1000].result(kWait), is_prime(n)) << n;
    EXPECT_GE(g_pool->max_workers(), 2u);
}

}  // namespace mpi_tests

int main(int argc, char **argv) {
    cf::mpi_worker_entry();  // a spawned worker serves here and never returns
    cf::mpi_init(&argc, &argv);
    cf::MpiPoolExecutor::Options o;
    if (argc > 1 && std::strcmp(argv[1], "spawn") == 0) {
        o.mode = cf::MpiMode::Spawn;
        o.max_workers = argc > 2 ? std::atoi(argv[2]) : 2;
    }
    mpi_tests::g_pool = std::make_unique<cf::MpiPoolExecutor>(o);  // world: ranks 1..N-1 stay inside
    testing::InitGoogleTest(&argc, argv);
    int rc = RUN_ALL_TESTS();
    mpi_tests::g_pool->shutdown();
    mpi_tests::g_pool.reset();
    return rc;
}
