// SPDX-License-Identifier: MIT
// Typed continuations on process pools (ProcessPoolExecutor::then<&fn>, <cfutures/serialization.hpp>): sources of
// every kind (a thread pool's value, a process pool's, a Promise's, a Future<void>), the chain thread -> process ->
// thread, failures and cancellations passed on without running the step, a step that throws in its worker, and
// bytes that are no T. Every TEST_P runs once per start method (fork, forkserver, spawn).
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>
#include <cfutures/serialization.hpp>

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "process_pool_test_support.hpp"

namespace typed_then_tests {

// ---- the steps the workers run

// Steps to reach 1 in the Collatz sequence: CPU work with a known answer (111 for 27).
std::uint64_t collatz_steps(std::uint64_t n) {
    std::uint64_t steps = 0;
    for (; n > 1; ++steps) n = n % 2 ? 3 * n + 1 : n / 2;
    return steps;
}

std::vector<double> squares(std::vector<double> xs) {
    for (double &x : xs) x *= x;
    return xs;
}

double total(const std::vector<double> &xs) { return std::accumulate(xs.begin(), xs.end(), 0.0); }

std::string exclaim(const std::string &s) { return s + "!"; }

std::size_t length_of(std::string_view s) { return s.size(); }

int half_of_even(int n) {
    if (n % 2 != 0) throw std::domain_error(std::to_string(n) + " is odd");
    return n / 2;
}

int forty_two() { return 42; }

constexpr double kWait = 60.0;  // seconds; a spawned worker under a sanitizer starts slowly

// ---- the fixture

CF_PROCESS_POOL_SUITE(TypedThen);

// The exception result() throws, as a RemoteError; fails the test when it throws none or another.
template <class T>
cf::RemoteError remote_error_of(const cf::Future<T> &f) {
    try {
        f.result(kWait);
    } catch (const cf::RemoteError &e) {
        return e;
    }
    ADD_FAILURE() << "no RemoteError";
    return cf::RemoteError("", "", "");
}

// ---- the tests

TEST_P(TypedThen, AThreadPoolsValueRunsInAWorker) {
    cf::ThreadPoolExecutor threads(cf::ThreadPoolExecutor::Options{2});
    cf::ProcessPoolExecutor procs(options(2));
    cf::Future<std::uint64_t> start = threads.submit([] { return std::uint64_t{27}; });
    cf::Future<std::uint64_t> steps = procs.then<&collatz_steps>(start);
    EXPECT_EQ(steps.result(kWait), 111u);

    // An object the thread pool holds (no bytes of its own) is serialized where it completes.
    std::vector<double> xs = {3, 4, 12};
    cf::Future<std::vector<double>> values = threads.submit([xs] { return xs; });
    EXPECT_DOUBLE_EQ(procs.then<&total>(values).result(kWait), 19.0);
    EXPECT_EQ(values.then<&squares>(procs).result(kWait), (std::vector<double>{9, 16, 144}));  // the other spelling

    // A std::string held as an object, to a const reference and to a std::string_view parameter.
    cf::Future<std::string> text = threads.submit([] { return std::string("typed steps"); });
    EXPECT_EQ(procs.then<&exclaim>(text).result(kWait), "typed steps!");
    EXPECT_EQ(procs.then<&length_of>(text).result(kWait), 11u);
}

TEST_P(TypedThen, PromisesOfEveryKind) {
    cf::ProcessPoolExecutor procs(options(1));
    cf::Promise<std::vector<double>> object;
    cf::Promise<int> bytes;
    cf::Promise<void> nothing;
    cf::Future<double> n = procs.then<&total>(object.get_future());
    cf::Future<int> h = procs.then<&half_of_even>(bytes.get_future());
    cf::Future<int> answer = nothing.get_future().then<&forty_two>(procs);
    EXPECT_FALSE(n.done());
    object.set_result({6, 8});
    bytes.set_result(84);
    nothing.set_result();
    EXPECT_DOUBLE_EQ(n.result(kWait), 14.0);
    EXPECT_EQ(h.result(kWait), 42);
    EXPECT_EQ(answer.result(kWait), 42);
}

TEST_P(TypedThen, ProcessToProcessChains) {
    cf::ProcessPoolExecutor procs(options(2));
    std::vector<double> xs = {1.5, 2.5, -1.0, 4.0};
    // A Boost-archived result is the argument archive of a one-parameter step of its type, byte for byte: the
    // step lends the bytes on as they are.
    using traits = cf::detail::serial::function_traits<decltype(&squares)>;
    EXPECT_EQ(cf::Codec<std::vector<double>>::encode(xs), traits::encode(xs));
    cf::Future<std::vector<double>> once = procs.submit<&squares>(xs);
    cf::Future<std::vector<double>> twice = procs.then<&squares>(once);
    cf::Future<double> sum = procs.then<&total>(twice);
    EXPECT_EQ(twice.result(kWait), squares(squares(xs)));
    EXPECT_DOUBLE_EQ(sum.result(kWait), total(squares(squares(xs))));
    // Raw results (trivially copyable, std::string) are rewritten into the argument archive.
    cf::Future<int> quarter = procs.then<&half_of_even>(procs.submit<&half_of_even>(84));
    EXPECT_EQ(quarter.result(kWait), 21);
    EXPECT_EQ(procs.then<&exclaim>(procs.submit<&exclaim>(std::string("twice"))).result(kWait), "twice!!");
}

TEST_P(TypedThen, ThreadThenProcessThenThread) {
    cf::ThreadPoolExecutor io(cf::ThreadPoolExecutor::Options{4});
    cf::ProcessPoolExecutor cpu(options(2));
    std::vector<cf::Future<std::uint64_t>> stored;
    for (std::uint64_t page = 0; page < 6; ++page) {
        cf::Future<std::uint64_t> start = io.submit([page] { return 27 + page; });
        cf::Future<std::uint64_t> steps = cpu.then<&collatz_steps>(start);
        stored.push_back(steps.then(io, [page](std::uint64_t n) { return n * 100 + page; }));
    }
    for (std::uint64_t page = 0; page < 6; ++page)
        EXPECT_EQ(stored[page].result(kWait), collatz_steps(27 + page) * 100 + page);
}

TEST_P(TypedThen, AFailedSourcePassesOnWithoutRunningTheStep) {
    cf::ThreadPoolExecutor threads(cf::ThreadPoolExecutor::Options{1});
    cf::ProcessPoolExecutor procs(options(1));
    // A thread pool's exception: the very exception, type and message.
    cf::Future<std::uint64_t> missing = threads.submit([]() -> std::uint64_t { throw std::out_of_range("no page 7"); });
    cf::Future<std::uint64_t> steps = procs.then<&collatz_steps>(missing);
    try {
        steps.result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range &e) {
        EXPECT_STREQ(e.what(), "no page 7");
    }
    // A worker's exception stays a RemoteError, through a chain of typed steps.
    cf::Future<int> odd = procs.submit<&half_of_even>(3);
    cf::Future<int> after = procs.then<&half_of_even>(procs.then<&half_of_even>(odd));
    cf::RemoteError e = remote_error_of(after);
    EXPECT_EQ(e.type(), "std::domain_error");
    EXPECT_EQ(e.message(), "3 is odd");
    // A cancelled source cancels the continuation.
    cf::Promise<std::uint64_t> cancelled;
    cf::Future<std::uint64_t> never = procs.then<&collatz_steps>(cancelled.get_future());
    EXPECT_TRUE(cancelled.get_future().cancel());
    EXPECT_THROW(never.result(kWait), cf::CancelledError);
    procs.shutdown(true);
    cf::ExecutorStats s = procs.stats();
    EXPECT_EQ(s.completed, 0u);  // no step ran: only the submit<&half_of_even>(3) did, and failed
    EXPECT_EQ(s.failed, 1u);
}

TEST_P(TypedThen, AStepThatThrowsInItsWorker) {
    cf::ThreadPoolExecutor threads(cf::ThreadPoolExecutor::Options{1});
    cf::ProcessPoolExecutor procs(options(1));
    cf::Future<int> seven = threads.submit([] { return 7; });
    cf::Future<int> half = procs.then<&half_of_even>(seven);
    cf::RemoteError e = remote_error_of(half);
    EXPECT_EQ(e.type(), "std::domain_error");
    EXPECT_EQ(e.message(), "7 is odd");
    EXPECT_NE(e.detail().find(cf::TypedTask<&half_of_even>::name()), std::string::npos) << e.detail();
    EXPECT_EQ(seven.result(kWait), 7);  // the source keeps its value
}

TEST_P(TypedThen, CancelledBeforeItRunsItNeverDoes) {
    cf::ProcessPoolExecutor procs(options(1));
    cf::Promise<std::uint64_t> start;
    cf::Future<std::uint64_t> cancelled = procs.then<&collatz_steps>(start.get_future());
    cf::Future<std::uint64_t> kept = procs.then<&collatz_steps>(start.get_future());
    EXPECT_TRUE(cancelled.cancel());
    start.set_result(27);
    EXPECT_EQ(kept.result(kWait), 111u);
    EXPECT_THROW(cancelled.result(kWait), cf::CancelledError);
    procs.shutdown(true);
    EXPECT_EQ(procs.stats().completed, 1u);  // the kept step only
}

TEST_P(TypedThen, BytesThatAreNoTFailTheContinuation) {
    cf::ProcessPoolExecutor procs(options(1));
    // Bytes read here: the step that makes the argument fails the continuation with the codec's exception.
    cf::Future<std::uint64_t> short_bytes(procs.submit_named("test_process_pool.echo", "abc"));
    cf::Future<std::vector<double>> garbage(procs.submit_named("test_process_pool.echo", "no archive here"));
    EXPECT_THROW(procs.then<&collatz_steps>(short_bytes).result(kWait), cf::InvalidStateError);
    // Bytes lent on as the argument archive are checked by the worker, which says so (and keeps serving).
    cf::RemoteError e = remote_error_of(procs.then<&total>(garbage));
    EXPECT_EQ(e.type(), "cf::InvalidArgument");
    EXPECT_NE(e.message().find("cannot decode the arguments"), std::string::npos) << e.message();
    EXPECT_EQ(procs.then<&half_of_even>(procs.submit<&half_of_even>(8)).result(kWait), 2);
}

}  // namespace typed_then_tests
