// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: map over a process pool (test_map, test_map_chunksize, test_map_exception,
// test_map_timeout), in C++ and through the C ABI; over every start method.
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolMap);

// ---------------------------------------------------------------------------------------------------------------
// map (test_map, test_map_chunksize, test_map_exception, test_map_timeout)

TEST_P(ProcessPoolMap, ResultsInInputOrderWithChunksizeOneAndThree) {
    cf::ProcessPoolExecutor ex(options(2));
    for (std::size_t chunksize : {1, 3, 6, 40, 50}) {
        cf::MapOptions mo;
        mo.chunksize = chunksize;
        cf::MapResults results = ex.map_bytes(c_call(square_task), list_source(numbers(0, 40)), mo);
        std::vector<std::string> got;
        while (auto r = results.next()) got.emplace_back(*r);
        EXPECT_EQ(got, squares(0, 40)) << "chunksize " << chunksize;
    }
}

TEST_P(ProcessPoolMap, FailingItemYieldsTheEarlierResultsThenTheFailure) {
    cf::ProcessPoolExecutor ex(options(2));
    for (std::size_t chunksize : {1, 3}) {
        cf::MapOptions mo;
        mo.chunksize = chunksize;
        cf::MapResults results =
            ex.map_bytes(c_call(square_task), list_source({"1", "2", "3", "four", "5", "6", "7"}), mo);
        std::vector<std::string> got;
        try {
            while (auto r = results.next()) got.emplace_back(*r);
            ADD_FAILURE() << "the failing item was skipped (chunksize " << chunksize << ")";
        } catch (const cf::RemoteError &e) {
            EXPECT_EQ(e.type(), "ValueError");
            EXPECT_EQ(e.message(), "invalid literal for int(): 'four'");
            EXPECT_TRUE(contains(e.detail(), "test_process_pool.square")) << e.detail();
        }
        EXPECT_EQ(got, (std::vector<std::string>{"1", "4", "9"})) << "chunksize " << chunksize;
        // The failure is handed out once; then the sequence ends.
        EXPECT_FALSE(results.next().has_value());
    }
}

TEST_P(ProcessPoolMap, UnorderedGivesEveryResultOnce) {
    cf::ProcessPoolExecutor ex(options(2));
    cf::MapOptions mo;
    mo.unordered = true;
    mo.chunksize = 4;
    mo.buffersize = 3;
    cf::MapResults results = ex.map_bytes(c_call(square_task), list_source(numbers(0, 50)), mo);
    std::multiset<std::string> got;
    while (auto r = results.next()) got.emplace(*r);
    auto expected = squares(0, 50);
    EXPECT_EQ(got, std::multiset<std::string>(expected.begin(), expected.end()));
}

TEST_P(ProcessPoolMap, ChunksizeZeroIsInvalid) {
    cf::ProcessPoolExecutor ex(options(1));
    cf::MapOptions mo;
    mo.chunksize = 0;
    EXPECT_THROW(ex.map_bytes(c_call(square_task), list_source(numbers(0, 3)), mo), cf::InvalidArgument);
}

TEST_P(ProcessPoolMap, UnregisteredFunctionIsUnknownTaskError) {
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_THROW(ex.map_bytes(c_call(unregistered_task), list_source(numbers(0, 3))), cf::UnknownTaskError);
}

TEST_P(ProcessPoolMap, TimeoutThrowsWhileAnItemCannotFinish) {
    // The first item waits for a gate that opens only after the map gave up: its timeout must run out.
    Scratch s;
    cf::ProcessPoolExecutor ex(options(2));
    OpenAtExit open_gate(s);
    cf::MapOptions mo;
    mo.timeout = 0.2;
    cf::MapResults results = ex.map_bytes(c_call(gate_task), list_source({s.gate(0), s.gate(1)}), mo);
    EXPECT_THROW(results.next(), cf::TimeoutError);
    EXPECT_FALSE(results.next().has_value());
}

TEST_P(ProcessPoolMap, MapThroughTheCAbi) {
    CExecutor ex{c_pool(2)};
    ASSERT_NE(ex.ex, nullptr);
    std::vector<std::string> items = {"3", "4", "x", "6"};
    std::vector<cf_slice> args;
    for (auto &i : items) args.push_back(cf_slice{i.data(), i.size()});
    cf_map_options mo;
    cf_map_options_init(&mo);
    mo.chunksize = 3;
    cf_map_iter *it = nullptr;
    ASSERT_EQ(cf_map(ex.ex, square_task, nullptr, args.data(), args.size(), &mo, &it), CF_OK) << cf_last_error();
    cf_slice r{};
    ASSERT_EQ(cf_map_next(it, &r), CF_OK);
    EXPECT_EQ(std::string(static_cast<const char *>(r.data), r.len), "9");
    ASSERT_EQ(cf_map_next(it, &r), CF_OK);
    EXPECT_EQ(std::string(static_cast<const char *>(r.data), r.len), "16");
    EXPECT_EQ(cf_map_next(it, &r), CF_E_TASK_FAILED);
    cf_error e{};
    ASSERT_EQ(cf_map_error(it, &e), CF_OK);
    EXPECT_STREQ(e.type, "ValueError");
    EXPECT_EQ(cf_map_next(it, &r), CF_DONE);
    cf_map_free(it);
}

}  // namespace
