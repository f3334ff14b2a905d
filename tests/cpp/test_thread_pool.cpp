// SPDX-License-Identifier: MIT
// cf::ThreadPoolExecutor: the behaviour of CPython's Lib/test/test_concurrent_futures/test_thread_pool.py,
// executor.py, test_shutdown.py and test_init.py, ported to C++, plus what this library promises beyond Python
// (lazy threads counted exactly, thread names in /proc, byte-string tasks and their TaskContext, map with
// buffersize and completion order, waits inside a worker that run queued tasks instead of deadlocking).
//
// Synchronisation is by gates, latches and futures, never by sleeping and hoping: a test that has to watch a call
// that must NOT return yet (shutdown waiting for a task) only asserts that it has not returned, which a correct
// library guarantees however long the test looks. The one exception is the idle-CPU test, which by its nature
// measures over a second.
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "pool_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cftest::Bounded;
using cftest::Clock;
using cftest::eventually;
using cftest::Gate;
using cftest::kLong;
using cftest::kLongDuration;
using cftest::Latch;
using cftest::stat_fields_at;
using cftest::usable_cpus;
// How long a test watches a call it expects to be blocked. Used only to assert "not returned yet".
constexpr auto kGrace = cftest::kPoolGrace;

// ---------------------------------------------------------------------------------------------------------------
// Test tools

// Opens gates when it goes out of scope. Declared after the executor, it runs before the executor's destructor,
// so a test that fails half-way does not leave tasks blocked on a gate that the destructor would wait for.
class OpenOnExit {
public:
    explicit OpenOnExit(std::vector<Gate *> gates) : gates_(std::move(gates)) {}
    ~OpenOnExit() {
        for (Gate *g : gates_) g->open();
    }

private:
    std::vector<Gate *> gates_;
};

cf::ThreadPoolExecutor::Options pool_options(std::size_t max_workers, std::string prefix = {},
                                             std::function<void()> initializer = {}) {
    cf::ThreadPoolExecutor::Options o;
    o.max_workers = max_workers;
    o.thread_name_prefix = std::move(prefix);
    o.initializer = std::move(initializer);
    return o;
}

long current_tid() { return static_cast<long>(syscall(SYS_gettid)); }

std::string own_thread_name() {
    char name[64] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

// Submits n tasks that each wait until all n are running (so each has a thread of its own), then return the name of
// their thread. all_running must count n and outlive the executor (declare it first); the test waits on it.
std::vector<cf::Future<std::string>> submit_name_reporters(cf::ThreadPoolExecutor &ex, int n, Latch &all_running) {
    std::vector<cf::Future<std::string>> names;
    for (int i = 0; i < n; ++i)
        names.push_back(ex.submit([&all_running] {
            all_running.arrive_and_wait();
            return own_thread_name();
        }));
    return names;
}

// The names of all threads of this process, as the kernel keeps them (/proc/self/task/<tid>/comm).
std::vector<std::string> thread_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec)) {
        std::ifstream in(it->path() / "comm");
        std::string name;
        if (std::getline(in, name)) names.push_back(name);
    }
    return names;
}

std::size_t count_named(const std::string &name) {
    auto names = thread_names();
    return static_cast<std::size_t>(std::count(names.begin(), names.end(), name));
}

// The names of this process's threads that begin with prefix.
std::multiset<std::string> names_with_prefix(const std::string &prefix) {
    std::multiset<std::string> out;
    for (const std::string &name : thread_names())
        if (name.compare(0, prefix.size(), prefix) == 0) out.insert(name);
    return out;
}

std::size_t count_with_prefix(const std::string &prefix) { return names_with_prefix(prefix).size(); }

// CPU time this process has used, user plus system, in clock ticks.
long process_cpu_ticks() {
    auto f = stat_fields_at("/proc/self/stat");
    if (f.size() < 13) return -1;
    return std::stol(f[11]) + std::stol(f[12]);
}

char thread_state(long tid) {
    auto f = stat_fields_at("/proc/self/task/" + std::to_string(tid) + "/stat");
    return f.empty() || f[0].empty() ? '?' : f[0][0];
}

// ---------------------------------------------------------------------------------------------------------------
// Byte-string tasks: the test's own TaskCall invoker, so that tasks are plain functions of (context, argument).

using BytesTask = int (*)(cf::TaskContext &ctx, std::string_view arg, void *user_data);

int invoke_bytes_task(const cf::TaskCall &call, cf::TaskContext &ctx, const void *arg, std::size_t len) {
    auto fn = reinterpret_cast<BytesTask>(call.fn);
    return fn(ctx, std::string_view(static_cast<const char *>(arg), len), call.user_data);
}

cf::TaskCall bytes_call(BytesTask fn, void *user_data = nullptr) {
    cf::TaskCall call;
    call.invoke = &invoke_bytes_task;
    call.fn = reinterpret_cast<void (*)()>(fn);
    call.user_data = user_data;
    return call;
}

// An argument source over a fixed list; counts how many items were pulled.
cf::detail::ArgSource list_source(std::vector<std::string> items, std::shared_ptr<std::atomic<int>> pulls = {}) {
    auto next = std::make_shared<std::size_t>(0);
    auto held = std::make_shared<std::vector<std::string>>(std::move(items));
    return [held, next, pulls](std::string_view &out) {
        if (*next == held->size()) return false;
        out = (*held)[(*next)++];
        if (pulls) ++*pulls;
        return true;
    };
}

// "0", "1", "2", ... without end; counts how many items were pulled.
cf::detail::ArgSource endless_source(std::shared_ptr<std::atomic<int>> pulls) {
    auto current = std::make_shared<std::string>();
    auto n = std::make_shared<long>(0);
    return [current, n, pulls](std::string_view &out) {
        *current = std::to_string((*n)++);
        out = *current;
        ++*pulls;
        return true;
    };
}

std::vector<std::string> drain(cf::MapResults &results) {
    std::vector<std::string> out;
    while (auto r = results.next()) out.emplace_back(*r);
    return out;
}

std::vector<std::string> numbers(int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(std::to_string(i));
    return v;
}

// Echoes its argument: Python's map(str, ...).
int echo_task(cf::TaskContext &ctx, std::string_view arg, void *) {
    ctx.return_bytes(arg);
    return 0;
}

// The square of a decimal number, as a decimal number.
int square_task(cf::TaskContext &ctx, std::string_view arg, void *) {
    long n = std::stol(std::string(arg));
    ctx.return_bytes(std::to_string(n * n));
    return 0;
}

// divmod over "a,b": "q,r", or ZeroDivisionError as Python raises it.
int divmod_task(cf::TaskContext &ctx, std::string_view arg, void *) {
    std::string s(arg);
    std::size_t comma = s.find(',');
    long a = std::stol(s.substr(0, comma)), b = std::stol(s.substr(comma + 1));
    if (b == 0) {
        ctx.raise("ZeroDivisionError", "integer division or modulo by zero");
        return -1;
    }
    ctx.return_bytes(std::to_string(a / b) + "," + std::to_string(a % b));
    return 0;
}

int mul(int x, int y) { return x * y; }

// ---------------------------------------------------------------------------------------------------------------
// Configuration (test_default_workers, max_workers limits)

TEST(ThreadPoolConfig, DefaultMaxWorkersIsUsableCpusPlusFourAtMost32) {
    std::size_t expected = std::min<std::size_t>(32, usable_cpus() + 4);
    cf::ThreadPoolExecutor by_default;
    EXPECT_EQ(by_default.max_workers(), expected);
    cf::ThreadPoolExecutor zero(pool_options(0));
    EXPECT_EQ(zero.max_workers(), expected);
}

TEST(ThreadPoolConfig, ExplicitMaxWorkersIsKept) {
    cf::ThreadPoolExecutor seven(pool_options(7));
    EXPECT_EQ(seven.max_workers(), 7u);
    cf::ThreadPoolExecutor one(pool_options(1));
    EXPECT_EQ(one.max_workers(), 1u);
}

TEST(ThreadPoolConfig, MoreThan65536WorkersIsInvalid) {
    EXPECT_THROW({ cf::ThreadPoolExecutor ex(pool_options(65537)); }, cf::InvalidArgument);
    EXPECT_THROW({ cf::ThreadPoolExecutor ex(pool_options(std::numeric_limits<std::size_t>::max())); },
                 cf::InvalidArgument);
    try {
        cf::ThreadPoolExecutor ex(pool_options(100000));
        ADD_FAILURE() << "max_workers 100000 was accepted";
    } catch (const cf::Error &e) {
        EXPECT_EQ(e.status(), cf::Status::InvalidArgument);
    }
    // The limit itself is allowed: no thread starts before a task needs one.
    cf::ThreadPoolExecutor limit(pool_options(65536));
    EXPECT_EQ(limit.max_workers(), 65536u);
    EXPECT_EQ(limit.thread_count(), 0u);
}

// ---------------------------------------------------------------------------------------------------------------
// Threads: lazy start, reuse, names (test_saturation, test_idle_thread_reuse, test_thread_names_*)

TEST(ThreadPoolThreads, NoThreadStartsBeforeTheFirstSubmit) {
    cf::ThreadPoolExecutor ex(pool_options(4));
    EXPECT_EQ(ex.thread_count(), 0u);
    EXPECT_EQ(ex.submit(mul, 6, 7).result(kLong), 42);
    EXPECT_GE(ex.thread_count(), 1u);
}

TEST(ThreadPoolThreads, SaturationStartsExactlyMaxWorkersThreads) {
    Gate release;
    std::vector<cf::Future<int>> fs;
    {
        cf::ThreadPoolExecutor ex(pool_options(4));
        OpenOnExit guard({&release});
        for (int i = 0; i < 60; ++i) {
            fs.push_back(ex.submit([&release, i] { return release.wait() ? i : -1; }));
            // No task can finish, so no thread is ever idle: each of the first four submits starts one.
            EXPECT_EQ(ex.thread_count(), static_cast<std::size_t>(std::min(i + 1, 4))) << "after submit " << i;
        }
        EXPECT_EQ(ex.thread_count(), 4u);
        release.open();
        ex.shutdown(true);
        EXPECT_EQ(ex.thread_count(), 4u);
    }
    for (int i = 0; i < 60; ++i) {
        ASSERT_TRUE(fs[i].done());
        EXPECT_EQ(fs[i].result(), i);
    }
}

TEST(ThreadPoolThreads, IdleThreadIsReused) {
    cf::ThreadPoolExecutor ex;  // the default: many workers allowed, yet one suffices
    ASSERT_GT(ex.max_workers(), 1u);
    EXPECT_EQ(ex.submit(mul, 21, 2).result(kLong), 42);
    EXPECT_EQ(ex.submit(mul, 6, 7).result(kLong), 42);
    EXPECT_EQ(ex.submit(mul, 3, 14).result(kLong), 42);
    EXPECT_EQ(ex.thread_count(), 1u);
}

// The same, many times over on fresh pools: a thread that has finished its task must count as idle by the time
// the submitter sees the result, or a second thread starts now and then.
TEST(ThreadPoolThreads, IdleThreadIsReusedEveryTime) {
    int extra_threads = 0;
    for (int round = 0; round < 200; ++round) {
        cf::ThreadPoolExecutor ex(pool_options(8));
        for (int i = 0; i < 3; ++i) ASSERT_EQ(ex.submit(mul, i, 2).result(kLong), 2 * i);
        if (ex.thread_count() != 1u) ++extra_threads;
    }
    EXPECT_EQ(extra_threads, 0) << "rounds (of 200) in which sequential submit-then-result started a 2nd thread";
}

TEST(ThreadPoolThreads, ThreadsAreNamedPrefixUnderscoreIndex) {
    Latch all_running(5);
    cf::ThreadPoolExecutor ex(pool_options(5, "SpecialPool"));
    auto names = submit_name_reporters(ex, 5, all_running);
    ASSERT_TRUE(all_running.wait());
    // All five are running (each on its own thread) while we look at /proc.
    std::multiset<std::string> in_proc = names_with_prefix("SpecialPool");
    std::multiset<std::string> expected{"SpecialPool_0", "SpecialPool_1", "SpecialPool_2", "SpecialPool_3",
                                        "SpecialPool_4"};
    EXPECT_EQ(in_proc, expected);
    std::multiset<std::string> seen_by_tasks;
    for (auto &f : names) seen_by_tasks.insert(f.result(kLong));
    EXPECT_EQ(seen_by_tasks, expected);
    ex.shutdown(true);
    // Joined threads leave /proc.
    EXPECT_TRUE(eventually([] { return count_with_prefix("SpecialPool") == 0; }));
}

TEST(ThreadPoolThreads, LongPrefixIsCutTo15Bytes) {
    const std::string prefix = "a_rather_long_thread_name_prefix";
    const std::string cut = prefix.substr(0, 15);  // "a_rather_long_t"
    Latch all_running(3);
    cf::ThreadPoolExecutor ex(pool_options(3, prefix));
    auto names = submit_name_reporters(ex, 3, all_running);
    ASSERT_TRUE(all_running.wait());
    EXPECT_EQ(count_named(cut), 3u);
    for (auto &f : names) EXPECT_EQ(f.result(kLong), cut);
}

TEST(ThreadPoolThreads, NameIsCutAfterTheIndexDigitsThatFit) {
    // 13 bytes of prefix: "_0" .. "_9" still fit in 15 bytes, "_10" and "_11" lose their last digit.
    const std::string prefix = "thirteen_char";
    ASSERT_EQ(prefix.size(), 13u);
    Latch all_running(12);
    cf::ThreadPoolExecutor ex(pool_options(12, prefix));
    auto names = submit_name_reporters(ex, 12, all_running);
    ASSERT_TRUE(all_running.wait());
    std::multiset<std::string> in_proc = names_with_prefix(prefix);
    std::multiset<std::string> expected;
    for (int i = 0; i < 12; ++i) expected.insert((prefix + "_" + std::to_string(i)).substr(0, 15));
    EXPECT_EQ(in_proc, expected);
    EXPECT_EQ(in_proc.count(prefix + "_1"), 3u);  // index 1, 10 and 11
    for (auto &f : names) f.result(kLong);
}

TEST(ThreadPoolThreads, DefaultNamesAreCfPoolNumberUnderscoreIndex) {
    const std::regex pattern("cf([0-9]+)_0");
    cf::ThreadPoolExecutor a;
    cf::ThreadPoolExecutor b;
    std::string name_a = a.submit(own_thread_name).result(kLong);
    std::string name_b = b.submit(own_thread_name).result(kLong);
    std::smatch ma, mb;
    ASSERT_TRUE(std::regex_match(name_a, ma, pattern)) << name_a;
    ASSERT_TRUE(std::regex_match(name_b, mb, pattern)) << name_b;
    EXPECT_NE(ma[1].str(), mb[1].str()) << "two pools got the same default prefix";
}

TEST(ThreadPoolThreads, ThreadsExitAfterShutdown) {
    // test_threads_terminate
    Gate release;
    Latch all_running(3);
    cf::ThreadPoolExecutor ex(pool_options(3, "tp_exit"));
    OpenOnExit guard({&release});
    std::vector<cf::Future<bool>> fs;
    for (int i = 0; i < 3; ++i)
        fs.push_back(ex.submit([&release, &all_running] {
            all_running.count_down();
            return release.wait();
        }));
    EXPECT_EQ(ex.thread_count(), 3u);
    ASSERT_TRUE(all_running.wait());  // each thread has named itself by the time it runs a task
    EXPECT_EQ(count_with_prefix("tp_exit_"), 3u);
    release.open();
    ex.shutdown(true);
    for (auto &f : fs) EXPECT_TRUE(f.result(0.0));
    EXPECT_TRUE(eventually([] { return count_with_prefix("tp_exit_") == 0; }));
}

// ---------------------------------------------------------------------------------------------------------------
// Initializer (test_init.py)

thread_local int t_initialized = 0;

TEST(ThreadPoolInitializer, RunsOnceInEachNewThreadBeforeItsTasks) {
    std::mutex mu;
    std::vector<std::thread::id> initialized;
    auto init = [&] {
        ++t_initialized;
        std::lock_guard<std::mutex> lock(mu);
        initialized.push_back(std::this_thread::get_id());
    };
    struct Seen {
        std::thread::id thread;
        int initialized;
    };
    Latch all_running(3);
    std::vector<cf::Future<Seen>> fs;
    cf::ThreadPoolExecutor ex(pool_options(3, "tp_init", init));
    // Three tasks that meet: three threads.
    for (int i = 0; i < 3; ++i)
        fs.push_back(ex.submit([&all_running] {
            all_running.arrive_and_wait();
            return Seen{std::this_thread::get_id(), t_initialized};
        }));
    // And more, which reuse them.
    for (int i = 0; i < 30; ++i)
        fs.push_back(ex.submit([] { return Seen{std::this_thread::get_id(), t_initialized}; }));
    std::set<std::thread::id> task_threads;
    for (auto &f : fs) {
        Seen s = f.result(kLong);
        EXPECT_EQ(s.initialized, 1) << "the initializer ran " << s.initialized << " times on a task's thread";
        task_threads.insert(s.thread);
    }
    ex.shutdown(true);
    EXPECT_EQ(ex.thread_count(), 3u);
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(initialized.size(), 3u);
    EXPECT_EQ(std::set<std::thread::id>(initialized.begin(), initialized.end()), task_threads);
    EXPECT_EQ(t_initialized, 0) << "the initializer ran on the submitting thread";
}

TEST(ThreadPoolInitializer, FailingInitializerBreaksThePool) {
    std::atomic<int> ran{0};
    cf::ThreadPoolExecutor ex(pool_options(2, {}, [] { throw std::runtime_error("error in initializer"); }));
    cf::Future<int> f = ex.submit([&ran] { return ++ran; });
    EXPECT_THROW(f.result(kLong), cf::BrokenThreadPool);
    EXPECT_THROW(f.result(kLong), cf::BrokenExecutor);
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_EQ(info.status, cf::Status::BrokenThreadPool);
    try {
        f.result(kLong);
    } catch (const cf::BrokenThreadPool &e) {
        EXPECT_NE(std::string(e.what()).find("error in initializer"), std::string::npos)
            << "the reason does not name the initializer's error: " << e.what();
    }
    // From now on every submit fails.
    try {
        ex.submit([] { return 0; });
        ADD_FAILURE() << "submit on a broken pool succeeded";
    } catch (const cf::BrokenThreadPool &e) {
        EXPECT_EQ(e.status(), cf::Status::BrokenThreadPool);
    }
    EXPECT_THROW(ex.submit_bytes(bytes_call(echo_task), "x"), cf::BrokenThreadPool);
    EXPECT_THROW(ex.map_bytes(bytes_call(echo_task), list_source({"a", "b"})), cf::BrokenThreadPool);
    EXPECT_EQ(ran.load(), 0);
    ex.shutdown(true);  // a broken pool still shuts down
}

TEST(ThreadPoolInitializer, EveryPendingFutureFailsWithBrokenThreadPool) {
    Gate fail_now;
    std::atomic<int> ran{0};
    std::vector<cf::Future<int>> fs;
    cf::ThreadPoolExecutor ex(pool_options(2, {}, [&fail_now] {
        fail_now.wait();
        throw std::invalid_argument("cannot initialize");
    }));
    OpenOnExit guard({&fail_now});
    // The initializers are still waiting, so the pool is not broken yet: these are accepted and queued.
    for (int i = 0; i < 10; ++i) fs.push_back(ex.submit([&ran] { return ++ran; }));
    fail_now.open();
    auto r = cf::wait(fs, kLong);
    ASSERT_EQ(r.done.size(), 10u);
    for (auto &f : fs) {
        EXPECT_THROW(f.result(0.0), cf::BrokenThreadPool);
        EXPECT_EQ(f.error(0.0).status, cf::Status::BrokenThreadPool);
    }
    EXPECT_EQ(ran.load(), 0);
    EXPECT_THROW(ex.submit([] { return 1; }), cf::BrokenThreadPool);
}

TEST(ThreadPoolInitializer, FailureInOneThreadLetsTheRunningTaskFinish) {
    // The initializer fails only on the second thread; the task already running on the first completes normally.
    Gate release;
    Latch first_running(1);
    cf::ThreadPoolExecutor ex(pool_options(2, "tp_half", [] {
        if (own_thread_name() == "tp_half_1") throw std::runtime_error("second thread refuses");
    }));
    OpenOnExit guard({&release});
    cf::Future<std::string> a = ex.submit([&] {
        first_running.count_down();
        return release.wait() ? std::string("finished") : std::string("gate timed out");
    });
    ASSERT_TRUE(first_running.wait());
    cf::Future<int> b = ex.submit([] { return 2; });  // starts the second thread, whose initializer fails
    EXPECT_THROW(b.result(kLong), cf::BrokenThreadPool);
    EXPECT_THROW(ex.submit([] { return 3; }), cf::BrokenThreadPool);
    EXPECT_FALSE(a.done());
    release.open();
    EXPECT_EQ(a.result(kLong), "finished");
}

// ---------------------------------------------------------------------------------------------------------------
// submit with C++ callables (test_submit, test_submit_keyword, test_swallows_falsey_exceptions)

struct Accumulator {
    int total = 0;
    int add(int x) { return total += x; }
};

TEST(ThreadPoolSubmit, FunctionPointerLambdaAndMemberFunction) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    EXPECT_EQ(ex.submit(mul, 2, 8).result(kLong), 16);
    EXPECT_EQ(ex.submit(&mul, 6, 7).result(kLong), 42);
    int base = 100;
    EXPECT_EQ(ex.submit([base](int x) { return base + x; }, 5).result(kLong), 105);
    std::function<std::string(std::string, int)> repeat = [](std::string s, int n) {
        std::string out;
        for (int i = 0; i < n; ++i) out += s;
        return out;
    };
    EXPECT_EQ(ex.submit(repeat, std::string("ab"), 3).result(kLong), "ababab");
    Accumulator acc;
    EXPECT_EQ(ex.submit(&Accumulator::add, &acc, 5).result(kLong), 5);
    EXPECT_EQ(ex.submit(&Accumulator::add, &acc, 7).result(kLong), 12);
    EXPECT_EQ(ex.submit([] { return std::vector<int>{1, 2, 3}; }).result(kLong), (std::vector<int>{1, 2, 3}));
}

TEST(ThreadPoolSubmit, MoveOnlyArgumentsAndCallables) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    auto owned = std::make_unique<int>(41);
    cf::Future<int> f = ex.submit([](std::unique_ptr<int> p) { return *p + 1; }, std::move(owned));
    EXPECT_EQ(owned, nullptr);
    EXPECT_EQ(f.result(kLong), 42);
    auto held = std::make_unique<std::string>("moved in");
    cf::Future<std::string> g = ex.submit([p = std::move(held)] { return *p; });
    EXPECT_EQ(g.result(kLong), "moved in");
}

TEST(ThreadPoolSubmit, ArgumentsAreCopiedUnlessPassedByReference) {
    cf::ThreadPoolExecutor ex(pool_options(1));
    std::string text = "original";
    cf::Future<std::string> f = ex.submit([](std::string s) { return s += "+task"; }, text);
    text = "changed after submit";
    EXPECT_EQ(f.result(kLong), "original+task");
    int counter = 0;
    ex.submit([](int &c) { c += 5; }, std::ref(counter)).result(kLong);
    EXPECT_EQ(counter, 5);
}

TEST(ThreadPoolSubmit, VoidTask) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    std::atomic<int> hits{0};
    cf::Future<void> f = ex.submit([&hits] { ++hits; });
    f.result(kLong);
    EXPECT_TRUE(f.done());
    EXPECT_EQ(hits.load(), 1);
    EXPECT_EQ(f.exception(0.0), nullptr);
    EXPECT_EQ(f.error(0.0).status, cf::Status::Ok);
}

TEST(ThreadPoolSubmit, ExceptionIsStoredAndRethrownWithItsType) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    cf::Future<int> f = ex.submit([]() -> int { throw std::out_of_range("index 7 is past the end"); });
    EXPECT_TRUE(f.wait(kLong));
    EXPECT_TRUE(f.done());
    EXPECT_FALSE(f.cancelled());
    EXPECT_EQ(f.state(), cf::State::Finished);
    try {
        f.result();
        ADD_FAILURE() << "result() did not throw";
    } catch (const std::out_of_range &e) {
        EXPECT_STREQ(e.what(), "index 7 is past the end");
    }
    cf::ErrorInfo info = f.error();
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "std::out_of_range");
    EXPECT_EQ(info.message, "index 7 is past the end");
    std::exception_ptr e = f.exception();
    ASSERT_NE(e, nullptr);
    EXPECT_THROW(std::rethrow_exception(e), std::out_of_range);
    // The pool is unharmed.
    EXPECT_EQ(ex.submit(mul, 3, 3).result(kLong), 9);
}

TEST(ThreadPoolSubmit, EmptyMessageAndNonStdExceptionsAreNotLost) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    // Python's falsey exceptions: an empty what() still is a failure.
    cf::Future<void> empty = ex.submit([] { throw std::runtime_error(""); });
    EXPECT_THROW(empty.result(kLong), std::runtime_error);
    EXPECT_EQ(empty.error().type, "std::runtime_error");
    EXPECT_EQ(empty.error().message, "");
    cf::Future<int> odd = ex.submit([]() -> int { throw 42; });
    EXPECT_THROW(odd.result(kLong), int);
    EXPECT_EQ(odd.error().status, cf::Status::TaskFailed);
    EXPECT_EQ(odd.error().type, "int");
}

TEST(ThreadPoolSubmit, CancelledPendingTaskNeverRuns) {
    Gate release;
    std::atomic<bool> ran{false};
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&release});
    Latch busy_running(1);
    cf::Future<bool> busy = ex.submit([&release, &busy_running] {
        busy_running.count_down();
        return release.wait();
    });
    ASSERT_TRUE(busy_running.wait());
    cf::Future<void> victim = ex.submit([&ran] { ran = true; });
    EXPECT_TRUE(victim.cancel());
    EXPECT_TRUE(victim.cancelled());
    EXPECT_THROW(victim.result(0.0), cf::CancelledError);
    EXPECT_FALSE(busy.cancel()) << "a running task cannot be cancelled";
    release.open();
    EXPECT_TRUE(busy.result(kLong));
    ex.shutdown(true);
    EXPECT_FALSE(ran.load());
}

TEST(ThreadPoolSubmit, ManySubmittersManyTasks) {
    cf::ThreadPoolExecutor ex(pool_options(4));
    constexpr int kThreads = 4, kPerThread = 500;
    std::vector<std::vector<cf::Future<long>>> fs(kThreads);
    std::vector<std::thread> submitters;
    for (int t = 0; t < kThreads; ++t)
        submitters.emplace_back([&ex, &fs, t] {
            for (int i = 0; i < kPerThread; ++i) fs[t].push_back(ex.submit([](long v) { return v * v; }, long(i)));
        });
    for (auto &s : submitters) s.join();
    long total = 0;
    for (auto &v : fs)
        for (auto &f : v) total += f.result(kLong);
    long expected = 0;
    for (long i = 0; i < kPerThread; ++i) expected += i * i;
    EXPECT_EQ(total, expected * kThreads);
    EXPECT_LE(ex.thread_count(), 4u);
}

TEST(ThreadPoolSubmit, NoStaleReferenceToTheTask) {
    // test_no_stale_references: once a task has run, the pool lets go of it (and of what it captured), even
    // though its future was dropped.
    cf::ThreadPoolExecutor ex(pool_options(2));
    auto object = std::make_shared<int>(7);
    std::weak_ptr<int> watch = object;
    Latch ran(1);
    ex.submit([object, &ran] { ran.count_down(); });
    object.reset();
    ASSERT_TRUE(ran.wait());
    EXPECT_TRUE(eventually([&watch] { return watch.expired(); })) << "the pool still holds the finished task";
}

// ---------------------------------------------------------------------------------------------------------------
// Byte-string tasks (submit_bytes, submit_named) and the TaskContext

TEST(ThreadPoolBytes, ResultsThroughTheTaskContext) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    EXPECT_EQ(ex.submit_bytes(bytes_call(echo_task), "hello").bytes(kLong), "hello");
    std::string binary("a\0b", 3);
    EXPECT_EQ(ex.submit_bytes(bytes_call(echo_task), binary).bytes(kLong), binary);
    auto in_place = [](cf::TaskContext &ctx, std::string_view arg, void *) -> int {
        char *out = static_cast<char *>(ctx.return_buffer(arg.size()));
        std::reverse_copy(arg.begin(), arg.end(), out);
        return 0;
    };
    EXPECT_EQ(ex.submit_bytes(bytes_call(+in_place), "abc").bytes(kLong), "cba");
    auto twice = [](cf::TaskContext &ctx, std::string_view, void *) -> int {
        ctx.return_bytes("first");
        ctx.return_bytes("second");
        return 0;
    };
    EXPECT_EQ(ex.submit_bytes(bytes_call(+twice), "").bytes(kLong), "second");
    auto nothing = [](cf::TaskContext &, std::string_view, void *) -> int { return 0; };
    cf::FutureBase empty = ex.submit_bytes(bytes_call(+nothing), "ignored");
    EXPECT_EQ(empty.bytes(kLong), "");
    EXPECT_EQ(empty.error().status, cf::Status::Ok);
    // user_data reaches the task.
    int seen = 0;
    auto poke = [](cf::TaskContext &, std::string_view, void *ud) -> int {
        *static_cast<int *>(ud) = 99;
        return 0;
    };
    ex.submit_bytes(bytes_call(+poke, &seen), "").bytes(kLong);
    EXPECT_EQ(seen, 99);
}

TEST(ThreadPoolBytes, FailuresThroughTheTaskContext) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    auto raising = [](cf::TaskContext &ctx, std::string_view, void *) -> int {
        ctx.raise("ValueError", "bad value");
        return 0;  // raised: fails whatever it returns
    };
    cf::FutureBase r = ex.submit_bytes(bytes_call(+raising), "");
    try {
        r.bytes(kLong);
        ADD_FAILURE() << "no exception";
    } catch (const cf::TaskError &e) {
        EXPECT_EQ(e.type(), "ValueError");
        EXPECT_EQ(e.message(), "bad value");
        EXPECT_EQ(e.status(), cf::Status::TaskFailed);
    }
    EXPECT_EQ(r.error().type, "ValueError");

    auto minus_five = [](cf::TaskContext &ctx, std::string_view, void *) -> int {
        ctx.return_bytes("ignored");
        return -5;
    };
    cf::ErrorInfo info = ex.submit_bytes(bytes_call(+minus_five), "").error(kLong);
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "cf_task_error");
    EXPECT_NE(info.message.find("-5"), std::string::npos) << info.message;

    auto throwing = [](cf::TaskContext &, std::string_view, void *) -> int { throw std::out_of_range("from C++"); };
    cf::FutureBase t = ex.submit_bytes(bytes_call(+throwing), "");
    EXPECT_THROW(t.bytes(kLong), std::out_of_range);
    EXPECT_EQ(t.error().type, "std::out_of_range");
    EXPECT_EQ(t.error().message, "from C++");
}

TEST(ThreadPoolBytes, NullTaskIsInvalid) {
    cf::ThreadPoolExecutor ex(pool_options(1));
    cf::TaskCall no_invoker = bytes_call(echo_task);
    no_invoker.invoke = nullptr;
    EXPECT_THROW(ex.submit_bytes(no_invoker, "x"), cf::InvalidArgument);
    cf::TaskCall no_fn = bytes_call(echo_task);
    no_fn.fn = nullptr;
    EXPECT_THROW(ex.submit_bytes(no_fn, "x"), cf::InvalidArgument);
    EXPECT_THROW(ex.map_bytes(no_fn, list_source({"x"})), cf::InvalidArgument);
}

TEST(ThreadPoolBytes, ArgumentIsCopiedBeforeSubmitReturns) {
    Gate release;
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&release});
    cf::Future<bool> busy = ex.submit([&release] { return release.wait(); });
    cf::FutureBase f;
    {
        std::string arg = "short-lived argument";
        f = ex.submit_bytes(bytes_call(echo_task), arg);
        arg.assign(arg.size(), 'X');
    }
    release.open();
    EXPECT_EQ(f.bytes(kLong), "short-lived argument");
    EXPECT_TRUE(busy.result(kLong));
}

struct CancelProbe {
    Gate started;
    std::atomic<bool> finished{false};
};

// Runs until cancellation is requested (bounded by kLong); returns "cancel seen" or "no cancel".
int wait_for_cancel_task(cf::TaskContext &ctx, std::string_view, void *ud) {
    auto *probe = static_cast<CancelProbe *>(ud);
    probe->started.open();
    bool seen = eventually([&ctx] { return ctx.cancel_requested(); });
    ctx.return_bytes(seen ? "cancel seen" : "no cancel");
    probe->finished = true;
    return 0;
}

TEST(ThreadPoolBytes, CancelOfARunningTaskIsRequestedNotForced) {
    CancelProbe probe;
    cf::ThreadPoolExecutor ex(pool_options(1));
    cf::FutureBase f = ex.submit_bytes(bytes_call(wait_for_cancel_task, &probe), "");
    ASSERT_TRUE(probe.started.wait());
    EXPECT_FALSE(f.cancel()) << "cancel() of a running task returns false, as in Python";
    EXPECT_EQ(f.bytes(kLong), "cancel seen");
    EXPECT_FALSE(f.cancelled());
}

int reverse_c_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::string s(static_cast<const char *>(arg), len);
    std::reverse(s.begin(), s.end());
    return cf_task_return(ctx, s.data(), s.size());
}

TEST(ThreadPoolBytes, SubmitNamedRunsARegisteredTask) {
    ASSERT_EQ(cf_task_register("test_thread_pool.reverse", reverse_c_task, nullptr), CF_OK);
    cf::ThreadPoolExecutor ex(pool_options(2));
    EXPECT_EQ(ex.submit_named("test_thread_pool.reverse", "stressed").bytes(kLong), "desserts");
    EXPECT_THROW(ex.submit_named("test_thread_pool.no_such_task", ""), cf::UnknownTaskError);
}

// ---------------------------------------------------------------------------------------------------------------
// shutdown (test_shutdown.py)

TEST(ThreadPoolShutdown, SubmitAfterShutdownThrows) {
    // test_run_after_shutdown
    cf::ThreadPoolExecutor ex(pool_options(2));
    EXPECT_EQ(ex.submit(mul, 2, 5).result(kLong), 10);
    ex.shutdown();
    try {
        ex.submit(mul, 2, 5);
        ADD_FAILURE() << "submit after shutdown succeeded";
    } catch (const cf::ShutdownError &e) {
        EXPECT_EQ(e.status(), cf::Status::Shutdown);
    }
    EXPECT_THROW(ex.submit_bytes(bytes_call(echo_task), "x"), cf::ShutdownError);
    EXPECT_THROW(ex.map_bytes(bytes_call(echo_task), list_source({"x"})), cf::ShutdownError);
    std::vector<int> items{1, 2, 3};
    EXPECT_THROW(ex.map([](int x) { return x; }, items), cf::ShutdownError);
}

TEST(ThreadPoolShutdown, ShutdownOfAPoolThatNeverRanATask) {
    cf::ThreadPoolExecutor ex(pool_options(4));
    ex.shutdown(true);
    EXPECT_EQ(ex.thread_count(), 0u);
    EXPECT_THROW(ex.submit(mul, 1, 1), cf::ShutdownError);
}

// As in CPython, where the thread a submit starts takes its task at once: shutdown with cancel_futures right
// after the first submit does not cancel that task; what is queued behind it is cancelled (or ran already).
TEST(ThreadPoolShutdown, CancelFuturesKeepsTheTaskANewThreadWasStartedFor) {
    for (int round = 0; round < 50; ++round) {
        cf::ThreadPoolExecutor ex(pool_options(1));
        cf::Future<int> first = ex.submit([] { return 1; });
        cf::Future<int> second = ex.submit([] { return 2; });
        ex.shutdown(true, true);
        ASSERT_FALSE(first.cancelled()) << "round " << round;
        EXPECT_EQ(first.result(kLong), 1);
        EXPECT_TRUE(second.cancelled() || second.result(kLong) == 2);
    }
}

TEST(ThreadPoolShutdown, ShutdownIsIdempotent) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    cf::Future<int> f = ex.submit(mul, 4, 4);
    ex.shutdown(true);
    EXPECT_NO_THROW(ex.shutdown(true));
    EXPECT_NO_THROW(ex.shutdown(false));
    EXPECT_NO_THROW(ex.shutdown(true, true));
    EXPECT_NO_THROW(ex.shutdown(false, true));
    EXPECT_EQ(f.result(0.0), 16);
    EXPECT_THROW(ex.submit(mul, 1, 1), cf::ShutdownError);
}

TEST(ThreadPoolShutdown, WaitingShutdownRunsEveryQueuedTask) {
    // test_hang_issue12364: queued tasks still run after shutdown(wait=true), which returns when they are done.
    Gate release;
    std::atomic<int> ran{0};
    std::vector<cf::Future<int>> fs;
    cf::ThreadPoolExecutor ex(pool_options(4));
    OpenOnExit guard({&release});
    for (int i = 0; i < 50; ++i)
        fs.push_back(ex.submit([&release, &ran, i] {
            release.wait();
            ++ran;
            return i;
        }));
    auto shutting_down = std::async(std::launch::async, [&ex] { ex.shutdown(true); });
    EXPECT_EQ(shutting_down.wait_for(kGrace), std::future_status::timeout) << "shutdown(wait) did not wait";
    release.open();
    ASSERT_EQ(shutting_down.wait_for(kLongDuration), std::future_status::ready);
    EXPECT_EQ(ran.load(), 50);
    for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(fs[i].done());
        EXPECT_EQ(fs[i].result(0.0), i);
    }
}

TEST(ThreadPoolShutdown, ShutdownWithoutWaitReturnsAndTasksStillFinish) {
    // test_shutdown_no_wait
    Gate release;
    std::vector<cf::Future<int>> fs;
    cf::ThreadPoolExecutor ex(pool_options(5));
    OpenOnExit guard({&release});
    for (int i = -5; i < 5; ++i)
        fs.push_back(ex.submit([&release](int v) { return release.wait() ? std::abs(v) : -1; }, i));
    ex.shutdown(false);  // returns although every task is blocked
    EXPECT_THROW(ex.submit(mul, 1, 1), cf::ShutdownError);
    for (auto &f : fs) EXPECT_FALSE(f.done());
    release.open();
    for (int i = -5; i < 5; ++i) EXPECT_EQ(fs[i + 5].result(kLong), std::abs(i));
}

TEST(ThreadPoolShutdown, CancelFuturesCancelsPendingAndLetsTheRunningTaskFinish) {
    CancelProbe probe;
    std::atomic<int> pending_ran{0};
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(1));
    cf::FutureBase running = ex->submit_bytes(bytes_call(wait_for_cancel_task, &probe), "");
    ASSERT_TRUE(probe.started.wait());
    std::vector<cf::Future<int>> pending;
    for (int i = 0; i < 20; ++i) pending.push_back(ex->submit([&pending_ran, i] { return ++pending_ran, i; }));

    // Waiters already asleep on the pending futures must be woken by their cancellation.
    auto waiting = std::async(std::launch::async, [&pending] { return cf::wait(pending, kLong).done.size(); });
    auto iterating = std::async(std::launch::async, [&pending] {
        std::size_t n = 0;
        for (auto &f : cf::as_completed(pending, kLong)) n += f.cancelled();
        return n;
    });
    EXPECT_EQ(waiting.wait_for(kGrace), std::future_status::timeout);

    cf::ThreadPoolExecutor *pool = ex.get();
    Bounded shutting_down([pool] { pool->shutdown(true, true); });
    EXPECT_EQ(waiting.get(), 20u);
    EXPECT_EQ(iterating.get(), 20u);
    for (auto &f : pending) {
        EXPECT_TRUE(f.cancelled());
        EXPECT_THROW(f.result(0.0), cf::CancelledError);
    }
    // The running task is told, finishes on its own terms, and only then does shutdown return.
    if (!shutting_down.finished()) {
        (void)ex.release();  // leaked with its stuck threads
        FAIL() << "shutdown(wait=true, cancel_futures=true) did not return";
    }
    EXPECT_TRUE(probe.finished.load());
    EXPECT_FALSE(running.cancelled());
    EXPECT_EQ(running.bytes(0.0), "cancel seen");
    EXPECT_EQ(pending_ran.load(), 0);
    EXPECT_THROW(ex->submit(mul, 1, 1), cf::ShutdownError);
}

TEST(ThreadPoolShutdown, CancelFuturesWithoutWait) {
    Gate release;
    std::atomic<int> pending_ran{0};
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&release});
    Latch started(1);
    cf::Future<bool> running = ex.submit([&] {
        started.count_down();
        return release.wait();
    });
    ASSERT_TRUE(started.wait());
    std::vector<cf::Future<int>> pending;
    for (int i = 0; i < 10; ++i) pending.push_back(ex.submit([&pending_ran] { return ++pending_ran; }));
    ex.shutdown(false, true);
    for (auto &f : pending) EXPECT_TRUE(f.cancelled());
    EXPECT_FALSE(running.done());
    release.open();
    EXPECT_TRUE(running.result(kLong));
    ex.shutdown(true);
    EXPECT_EQ(pending_ran.load(), 0);
}

TEST(ThreadPoolShutdown, FutureCancelledJustBeforeShutdown) {
    // test_hang_gh94440: shutdown(wait=true) does not hang on a future cancelled right before it.
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(1));
    EXPECT_EQ(ex->submit([] { return 0; }).result(kLong), 0);
    ex->submit([] { return 1; }).cancel();
    cf::ThreadPoolExecutor *pool = ex.get();
    Bounded shutting_down([pool] { pool->shutdown(true); });
    if (!shutting_down.finished()) {
        (void)ex.release();  // leaked: its threads are stuck
        FAIL() << "shutdown(wait=true) hung after a cancel";
    }
}

TEST(ThreadPoolShutdown, DestructorWaitsForRunningAndQueuedTasks) {
    // The `with` statement: leaving it shuts down and waits; queued tasks are not cancelled.
    Gate release;
    std::atomic<int> ran{0};
    std::vector<cf::Future<int>> fs;
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(2));
    OpenOnExit guard({&release});
    for (int i = 0; i < 6; ++i)
        fs.push_back(ex->submit([&release, &ran, i] {
            release.wait();
            ++ran;
            return i * 10;
        }));
    auto destroying = std::async(std::launch::async, [&ex] { ex.reset(); });
    EXPECT_EQ(destroying.wait_for(kGrace), std::future_status::timeout) << "the destructor did not wait";
    release.open();
    ASSERT_EQ(destroying.wait_for(kLongDuration), std::future_status::ready);
    EXPECT_EQ(ran.load(), 6);
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(fs[i].done());
        EXPECT_EQ(fs[i].result(0.0), i * 10);
    }
}

TEST(ThreadPoolShutdown, FuturesOutliveTheExecutor) {
    cf::Future<std::string> f;
    {
        cf::ThreadPoolExecutor ex(pool_options(1));
        f = ex.submit([] { return std::string("kept"); });
    }
    EXPECT_TRUE(f.done());
    EXPECT_EQ(f.result(0.0), "kept");
}

TEST(ThreadPoolShutdown, ShutdownFromInsideATaskWaitsForTheOthers) {
    // shutdown(wait=true) from one of the pool's own tasks waits for the other tasks, never for itself.
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(2));
    auto release = std::make_shared<Gate>();
    auto other_running = std::make_shared<Latch>(1);
    auto other_finished = std::make_shared<std::atomic<bool>>(false);
    auto calling_shutdown = std::make_shared<Gate>();
    cf::Future<bool> other = ex->submit([release, other_running, other_finished] {
        other_running->count_down();
        bool ok = release->wait();
        *other_finished = true;
        return ok;
    });
    ASSERT_TRUE(other_running->wait());
    cf::ThreadPoolExecutor *pool = ex.get();
    cf::Future<bool> inner = ex->submit([pool, calling_shutdown, other_finished] {
        calling_shutdown->open();
        pool->shutdown(true);
        return other_finished->load();  // the other task must be through by now
    });
    ASSERT_TRUE(calling_shutdown->wait());
    release->open();
    if (!inner.wait(kLong)) {
        (void)ex.release();
        FAIL() << "shutdown(wait=true) inside a task deadlocked";
    }
    EXPECT_TRUE(inner.result(0.0)) << "shutdown inside a task returned before the other task finished";
    EXPECT_TRUE(other.result(kLong));
    EXPECT_THROW(ex->submit(mul, 1, 1), cf::ShutdownError);
}

TEST(ThreadPoolShutdown, ShutdownFromATaskWhileTheOwnerIsWaitingInShutdown) {
    // The owner calls shutdown(wait=true), which waits for the one worker; that worker's task then calls
    // shutdown(wait=true) too. The task waits for nobody (it is the only worker), so both must return.
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(1));
    auto go = std::make_shared<Gate>();
    auto running = std::make_shared<Latch>(1);
    cf::ThreadPoolExecutor *pool = ex.get();
    cf::Future<std::string> task = ex->submit([pool, go, running] {
        running->count_down();
        if (!go->wait()) return std::string("gate timed out");
        pool->shutdown(true);
        return std::string("returned");
    });
    ASSERT_TRUE(running->wait());

    auto owner_tid = std::make_shared<std::atomic<long>>(0);
    Bounded owner([pool, owner_tid] {
        *owner_tid = current_tid();
        pool->shutdown(true);
    });
    // Let the owner get into its wait (asleep in the kernel, after shutdown began) before the task calls shutdown.
    ASSERT_TRUE(eventually([&] { return owner_tid->load() != 0; }));
    bool asleep = eventually([&] {
        bool began = false;
        try {
            pool->submit([] {}).cancel();
        } catch (const cf::ShutdownError &) {
            began = true;
        }
        return began && thread_state(owner_tid->load()) == 'S';
    });
    EXPECT_TRUE(asleep) << "the owner never went to sleep in shutdown";
    go->open();
    if (!owner.finished()) {
        (void)ex.release();  // leaked with its stuck threads
        FAIL() << "deadlock: the owner's shutdown(wait=true) never returned once the task called shutdown too";
    }
    ASSERT_TRUE(task.done()) << "the owner's shutdown returned before the task finished";
    EXPECT_EQ(task.result(0.0), "returned");
}

// ---------------------------------------------------------------------------------------------------------------
// ThreadPoolExecutor::map, the typed map (test_map, test_map_exception, test_map_timeout)

TEST(ThreadPoolMap, ResultsInInputOrder) {
    cf::ThreadPoolExecutor ex(pool_options(4));
    std::vector<int> items{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    auto pow_self = [](const int &x) {
        long r = 1;
        for (int i = 0; i < x; ++i) r *= x;
        return r;
    };
    std::vector<long> expected;
    for (int x : items) expected.push_back(pow_self(x));
    EXPECT_EQ(ex.map(pow_self, items), expected);
    for (std::size_t chunksize : {1u, 2u, 3u, 10u, 50u}) {
        cf::MapOptions o;
        o.chunksize = chunksize;
        EXPECT_EQ(ex.map(pow_self, items, o), expected) << "chunksize " << chunksize;
    }
    EXPECT_TRUE(ex.map(pow_self, std::vector<int>{}).empty());
}

TEST(ThreadPoolMap, InputOrderEvenWhenTasksFinishInReverse) {
    // Item i may finish only after item i+1 has: completion order 3, 2, 1, 0.
    Gate gates[4];
    gates[3].open();
    cf::ThreadPoolExecutor ex(pool_options(4));
    OpenOnExit guard({&gates[0], &gates[1], &gates[2], &gates[3]});
    std::vector<int> items{0, 1, 2, 3};
    std::mutex mu;
    std::vector<int> completion;
    auto out = ex.map(
        [&](const int &i) {
            gates[i].wait();
            {
                std::lock_guard<std::mutex> lock(mu);
                completion.push_back(i);
            }
            if (i > 0) gates[i - 1].open();
            return std::to_string(i);
        },
        items);
    EXPECT_EQ(out, (std::vector<std::string>{"0", "1", "2", "3"}));
    EXPECT_EQ(completion, (std::vector<int>{3, 2, 1, 0}));
}

TEST(ThreadPoolMap, ChunksizeRunsSeveralItemsPerTask) {
    // Two chunks of five: the first item of each chunk waits for the first of the other, so they must run as
    // two concurrent tasks, and only two threads are needed for ten items.
    Latch firsts(2);
    std::mutex mu;
    std::map<int, std::thread::id> thread_of;
    cf::ThreadPoolExecutor ex(pool_options(10));
    std::vector<int> items{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    cf::MapOptions o;
    o.chunksize = 5;
    auto out = ex.map(
        [&](const int &i) {
            if (i % 5 == 0) firsts.arrive_and_wait();
            std::lock_guard<std::mutex> lock(mu);
            thread_of[i] = std::this_thread::get_id();
            return i * 2;
        },
        items, o);
    EXPECT_EQ(out, (std::vector<int>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}));
    EXPECT_EQ(ex.thread_count(), 2u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(thread_of[i], thread_of[i - i % 5]) << "item " << i;
    EXPECT_NE(thread_of[0], thread_of[5]);
}

TEST(ThreadPoolMap, ChunksizeZeroIsInvalid) {
    cf::ThreadPoolExecutor ex(pool_options(1));
    cf::MapOptions o;
    o.chunksize = 0;
    std::vector<int> items{1};
    EXPECT_THROW(ex.map([](const int &x) { return x; }, items, o), cf::InvalidArgument);
}

TEST(ThreadPoolMap, FailingItemPropagatesAndTheRestIsCancelled) {
    // One worker: item 0 fails, item 1 blocks the worker until map has thrown, so items 2.. can only have been
    // cancelled by map.
    Gate release;
    std::mutex mu;
    std::set<int> ran;
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&release});
    std::vector<int> items{0, 1, 2, 3, 4, 5, 6, 7};
    auto f = [&](const int &i) {
        {
            std::lock_guard<std::mutex> lock(mu);
            ran.insert(i);
        }
        if (i == 0) throw std::domain_error("item 0 is bad");
        if (i == 1) release.wait();
        return i;
    };
    try {
        ex.map(f, items);
        ADD_FAILURE() << "map did not throw";
    } catch (const std::domain_error &e) {
        EXPECT_STREQ(e.what(), "item 0 is bad");
    }
    release.open();
    ex.shutdown(true);
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(ran.count(0), 1u);
    for (int i = 2; i < 8; ++i) EXPECT_EQ(ran.count(i), 0u) << "item " << i << " ran after map had failed";
}

TEST(ThreadPoolMap, DivmodFailureSurfaces) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    std::vector<std::pair<int, int>> pairs{{5, 2}, {5, 3}, {5, 0}, {5, 5}};
    auto divmod = [](const std::pair<int, int> &p) {
        if (p.second == 0) throw std::domain_error("integer division or modulo by zero");
        return std::make_pair(p.first / p.second, p.first % p.second);
    };
    EXPECT_THROW(ex.map(divmod, pairs), std::domain_error);
    std::vector<std::pair<int, int>> fine{{5, 2}, {5, 3}, {5, 5}};
    EXPECT_EQ(ex.map(divmod, fine), (std::vector<std::pair<int, int>>{{2, 1}, {1, 2}, {1, 0}}));
}

TEST(ThreadPoolMap, TimeoutThrowsAndCancelsTheRest) {
    Gate release;
    std::atomic<int> ran{0};
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&release});
    std::vector<int> items{0, 1, 2, 3, 4};
    cf::MapOptions o;
    o.timeout = 0.2;
    EXPECT_THROW(ex.map(
                     [&](const int &i) {
                         ++ran;
                         if (i == 0) release.wait();
                         return i;
                     },
                     items, o),
                 cf::TimeoutError);
    release.open();
    ex.shutdown(true);
    EXPECT_EQ(ran.load(), 1) << "items queued behind the timed-out one were not cancelled";
}

// ---------------------------------------------------------------------------------------------------------------
// Executor::map_bytes, the byte-string map

TEST(ThreadPoolMapBytes, ResultsInInputOrder) {
    cf::ThreadPoolExecutor ex(pool_options(4));
    std::vector<std::string> expected;
    for (int i = 0; i < 20; ++i) expected.push_back(std::to_string(i * i));
    for (std::size_t chunksize : {1u, 3u, 7u, 20u, 100u})
        for (std::size_t buffersize : {0u, 1u, 2u, 4u, 40u}) {
            cf::MapOptions o;
            o.chunksize = chunksize;
            o.buffersize = buffersize;
            cf::MapResults r = ex.map_bytes(bytes_call(square_task), list_source(numbers(0, 20)), o);
            EXPECT_EQ(drain(r), expected) << "chunksize " << chunksize << ", buffersize " << buffersize;
            EXPECT_FALSE(r.next().has_value());
        }
}

TEST(ThreadPoolMapBytes, EmptySource) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    for (std::size_t buffersize : {0u, 2u}) {
        cf::MapOptions o;
        o.buffersize = buffersize;
        cf::MapResults r = ex.map_bytes(bytes_call(echo_task), list_source({}), o);
        EXPECT_FALSE(r.next().has_value());
        EXPECT_FALSE(r.next().has_value());
    }
    EXPECT_EQ(ex.thread_count(), 0u);
}

TEST(ThreadPoolMapBytes, InvalidOptions) {
    cf::ThreadPoolExecutor ex(pool_options(1));
    cf::MapOptions zero_chunk;
    zero_chunk.chunksize = 0;
    EXPECT_THROW(ex.map_bytes(bytes_call(echo_task), list_source({"a"}), zero_chunk), cf::InvalidArgument);
    cf::MapOptions nan_timeout;
    nan_timeout.timeout = std::nan("");
    EXPECT_THROW(ex.map_bytes(bytes_call(echo_task), list_source({"a"}), nan_timeout), cf::InvalidArgument);
}

TEST(ThreadPoolMapBytes, DivmodYieldsTwoResultsThenTheFailure) {
    // test_map_exception (the failure ends the map here, as cf_map documents).
    cf::ThreadPoolExecutor ex(pool_options(2));
    cf::MapResults r = ex.map_bytes(bytes_call(divmod_task), list_source({"5,2", "5,3", "5,0", "5,5"}));
    EXPECT_EQ(r.next(), std::optional<std::string_view>("2,1"));
    EXPECT_EQ(r.next(), std::optional<std::string_view>("1,2"));
    try {
        r.next();
        ADD_FAILURE() << "the third item did not fail";
    } catch (const cf::TaskError &e) {
        EXPECT_EQ(e.type(), "ZeroDivisionError");
        EXPECT_EQ(e.message(), "integer division or modulo by zero");
    }
    EXPECT_FALSE(r.next().has_value());
    EXPECT_FALSE(r.next().has_value());
}

TEST(ThreadPoolMapBytes, DivmodFailureInsideAChunk) {
    // chunksize 3: the first chunk yields its result before the failing item, then the map ends.
    cf::ThreadPoolExecutor ex(pool_options(2));
    cf::MapOptions o;
    o.chunksize = 3;
    cf::MapResults r = ex.map_bytes(bytes_call(divmod_task), list_source({"5,2", "5,0", "5,3", "5,5"}), o);
    EXPECT_EQ(r.next(), std::optional<std::string_view>("2,1"));
    EXPECT_THROW(r.next(), cf::TaskError);
    EXPECT_FALSE(r.next().has_value());
}

TEST(ThreadPoolMapBytes, CppExceptionFromATaskKeepsItsType) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    auto throwing = [](cf::TaskContext &ctx, std::string_view arg, void *) -> int {
        if (arg == "bad") throw std::out_of_range("bad item");
        ctx.return_bytes(arg);
        return 0;
    };
    cf::MapResults r = ex.map_bytes(bytes_call(+throwing), list_source({"good", "bad", "good"}));
    EXPECT_EQ(r.next(), std::optional<std::string_view>("good"));
    EXPECT_THROW(r.next(), std::out_of_range);
    EXPECT_FALSE(r.next().has_value());
}

struct GatedItems {
    Gate release;
    std::mutex mu;
    std::vector<std::string> ran;
};

// Records its argument; "fail" raises, "block" waits for the gate.
int gated_task(cf::TaskContext &ctx, std::string_view arg, void *ud) {
    auto *g = static_cast<GatedItems *>(ud);
    {
        std::lock_guard<std::mutex> lock(g->mu);
        g->ran.emplace_back(arg);
    }
    if (arg == "fail") {
        ctx.raise("ValueError", "failing item");
        return -1;
    }
    if (arg == "block" && !g->release.wait()) {
        ctx.raise("TestError", "gate timed out");
        return -1;
    }
    ctx.return_bytes(arg);
    return 0;
}

TEST(ThreadPoolMapBytes, FailureCancelsTheOtherChunks) {
    GatedItems g;
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&g.release});
    cf::MapResults r = ex.map_bytes(bytes_call(gated_task, &g),
                                    list_source({"fail", "block", "c", "d", "e", "f"}));
    try {
        r.next();
        ADD_FAILURE() << "no failure";
    } catch (const cf::TaskError &e) {
        EXPECT_EQ(e.type(), "ValueError");
    }
    EXPECT_FALSE(r.next().has_value());
    g.release.open();
    ex.shutdown(true);
    std::lock_guard<std::mutex> lock(g.mu);
    ASSERT_FALSE(g.ran.empty());
    EXPECT_EQ(g.ran[0], "fail");
    for (const std::string &item : g.ran) EXPECT_TRUE(item == "fail" || item == "block") << item << " ran";
}

TEST(ThreadPoolMapBytes, UnorderedGivesCompletionOrder) {
    Gate gates[3];
    auto gated = [](cf::TaskContext &ctx, std::string_view arg, void *ud) -> int {
        Gate *gs = static_cast<Gate *>(ud);
        if (!gs[std::stoi(std::string(arg))].wait()) return -1;
        ctx.return_bytes(arg);
        return 0;
    };
    cf::ThreadPoolExecutor ex(pool_options(3));
    OpenOnExit guard({&gates[0], &gates[1], &gates[2]});
    cf::MapOptions o;
    o.unordered = true;
    cf::MapResults r = ex.map_bytes(bytes_call(+gated, gates), list_source({"0", "1", "2"}), o);
    gates[2].open();
    EXPECT_EQ(r.next(), std::optional<std::string_view>("2"));
    gates[0].open();
    EXPECT_EQ(r.next(), std::optional<std::string_view>("0"));
    gates[1].open();
    EXPECT_EQ(r.next(), std::optional<std::string_view>("1"));
    EXPECT_FALSE(r.next().has_value());
}

TEST(ThreadPoolMapBytes, OrderedWaitsForTheFirstEvenWhenOthersFinishFirst) {
    struct State {
        Gate gates[3];
        Latch finished[3] = {Latch(1), Latch(1), Latch(1)};
    } s;
    auto gated = [](cf::TaskContext &ctx, std::string_view arg, void *ud) -> int {
        auto *st = static_cast<State *>(ud);
        int i = std::stoi(std::string(arg));
        if (!st->gates[i].wait()) return -1;
        ctx.return_bytes(arg);
        st->finished[i].count_down();
        return 0;
    };
    cf::ThreadPoolExecutor ex(pool_options(3));
    OpenOnExit guard({&s.gates[0], &s.gates[1], &s.gates[2]});
    cf::MapResults r = ex.map_bytes(bytes_call(+gated, &s), list_source({"0", "1", "2"}));
    s.gates[2].open();
    ASSERT_TRUE(s.finished[2].wait());
    s.gates[1].open();
    ASSERT_TRUE(s.finished[1].wait());
    s.gates[0].open();
    EXPECT_EQ(drain(r), (std::vector<std::string>{"0", "1", "2"}));
}

TEST(ThreadPoolMapBytes, MapSubmitsWithoutIteration) {
    // test_map_submits_without_iteration, test_shutdown_race_issue12456
    std::atomic<int> finished{0};
    auto counting = [](cf::TaskContext &, std::string_view, void *ud) -> int {
        ++*static_cast<std::atomic<int> *>(ud);
        return 0;
    };
    cf::ThreadPoolExecutor ex(pool_options(4));
    cf::MapResults r = ex.map_bytes(bytes_call(+counting, &finished), list_source(numbers(0, 10)));
    ex.shutdown(true);
    EXPECT_EQ(finished.load(), 10);
}

TEST(ThreadPoolMapBytes, BuffersizePullsTheSourceLazily) {
    // test_map_buffersize_when_buffer_is_full
    auto pulls = std::make_shared<std::atomic<int>>(0);
    cf::ThreadPoolExecutor ex(pool_options(4));
    cf::MapOptions o;
    o.buffersize = 2;
    cf::MapResults r = ex.map_bytes(bytes_call(echo_task), list_source(numbers(0, 4), pulls), o);
    ex.shutdown(true);
    EXPECT_EQ(pulls->load(), 2) << "should have pulled only buffersize items";
    // Without buffersize the source is drained at once.
    auto all_pulls = std::make_shared<std::atomic<int>>(0);
    cf::ThreadPoolExecutor ex2(pool_options(2));
    cf::MapResults r2 = ex2.map_bytes(bytes_call(echo_task), list_source(numbers(0, 7), all_pulls));
    EXPECT_EQ(all_pulls->load(), 7);
    // With chunks, buffersize counts chunks.
    auto chunk_pulls = std::make_shared<std::atomic<int>>(0);
    cf::MapOptions chunked;
    chunked.buffersize = 2;
    chunked.chunksize = 3;
    cf::MapResults r3 = ex2.map_bytes(bytes_call(echo_task), list_source(numbers(0, 20), chunk_pulls), chunked);
    EXPECT_EQ(chunk_pulls->load(), 6);
    EXPECT_EQ(drain(r3), numbers(0, 20));
    EXPECT_EQ(chunk_pulls->load(), 20);
}

TEST(ThreadPoolMapBytes, BuffersizeBoundsTheChunksInFlight) {
    struct Load {
        std::atomic<int> running{0}, most{0};
    } load;
    auto tracked = [](cf::TaskContext &ctx, std::string_view arg, void *ud) -> int {
        auto *l = static_cast<Load *>(ud);
        int now = ++l->running;
        int seen = l->most.load();
        while (now > seen && !l->most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(1ms);  // long enough for a wrong pool to overlap many of them
        --l->running;
        ctx.return_bytes(arg);
        return 0;
    };
    auto pulls = std::make_shared<std::atomic<int>>(0);
    cf::ThreadPoolExecutor ex(pool_options(8));
    cf::MapOptions o;
    o.buffersize = 2;
    cf::MapResults r = ex.map_bytes(bytes_call(+tracked, &load), list_source(numbers(0, 40), pulls), o);
    int consumed = 0;
    while (auto item = r.next()) {
        EXPECT_EQ(*item, std::to_string(consumed));
        ++consumed;
        EXPECT_LE(pulls->load() - consumed, 2) << "more than buffersize items in flight after " << consumed;
    }
    EXPECT_EQ(consumed, 40);
    EXPECT_LE(load.most.load(), 2);
}

TEST(ThreadPoolMapBytes, EndlessSourceWithBuffersize) {
    // test_map_buffersize_on_infinite_iterable
    auto pulls = std::make_shared<std::atomic<int>>(0);
    cf::ThreadPoolExecutor ex(pool_options(4));
    cf::MapOptions o;
    o.buffersize = 2;
    {
        cf::MapResults r = ex.map_bytes(bytes_call(echo_task), endless_source(pulls), o);
        EXPECT_EQ(r.next(), std::optional<std::string_view>("0"));
        EXPECT_EQ(r.next(), std::optional<std::string_view>("1"));
        EXPECT_EQ(r.next(), std::optional<std::string_view>("2"));
        for (int i = 3; i < 300; ++i) ASSERT_EQ(r.next(), std::optional<std::string_view>(std::to_string(i)));
        EXPECT_LE(pulls->load(), 302);
    }  // dropping the results cancels what is buffered
    ex.shutdown(true);
    EXPECT_LE(pulls->load(), 302);
}

TEST(ThreadPoolMapBytes, TimeoutIsMeasuredFromTheCall) {
    // test_map_timeout: [0, 0, block] with a timeout that runs out before the blocked item can finish.
    GatedItems g;
    cf::ThreadPoolExecutor ex(pool_options(3));
    OpenOnExit guard({&g.release});
    cf::MapOptions o;
    o.timeout = 0.25;
    auto called = Clock::now();
    cf::MapResults r = ex.map_bytes(bytes_call(gated_task, &g), list_source({"a", "b", "block"}), o);
    // The whole timeout passes before the first next(): it still counts, since it runs from the map call.
    std::this_thread::sleep_until(called + 400ms);
    std::vector<std::string> results;
    try {
        while (auto item = r.next()) results.emplace_back(*item);
        ADD_FAILURE() << "no TimeoutError";
    } catch (const cf::TimeoutError &e) {
        EXPECT_EQ(e.status(), cf::Status::Timeout);
    }
    // On a loaded machine the quick items may not have finished in time either (gh-110097).
    EXPECT_LE(results.size(), 2u);
    for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], i == 0 ? "a" : "b");
    EXPECT_FALSE(r.next().has_value());
    EXPECT_FALSE(r.next().has_value());
}

TEST(ThreadPoolMapBytes, TimeoutCancelsItemsNotStarted) {
    // test_executor_map_current_future_cancel
    GatedItems g;
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&g.release});
    cf::FutureBase first = ex.submit_bytes(bytes_call(gated_task, &g), "block");
    {
        cf::MapOptions o;
        o.timeout = 0;
        cf::MapResults r = ex.map_bytes(bytes_call(gated_task, &g), list_source({"second", "third"}), o);
        EXPECT_THROW(r.next(), cf::TimeoutError);
        EXPECT_FALSE(r.next().has_value());
    }
    g.release.open();
    EXPECT_EQ(first.bytes(kLong), "block");
    ex.shutdown(true);
    std::lock_guard<std::mutex> lock(g.mu);
    EXPECT_EQ(g.ran, std::vector<std::string>{"block"});
}

TEST(ThreadPoolMapBytes, DroppingTheResultsCancelsWhatHasNotStarted) {
    // test_map_close
    GatedItems g;
    cf::ThreadPoolExecutor ex(pool_options(1));
    OpenOnExit guard({&g.release});
    {
        cf::MapResults r = ex.map_bytes(bytes_call(gated_task, &g), list_source({"a", "block", "c", "d"}));
        EXPECT_EQ(r.next(), std::optional<std::string_view>("a"));
    }
    g.release.open();
    ex.shutdown(true);
    std::lock_guard<std::mutex> lock(g.mu);
    for (const std::string &item : g.ran) EXPECT_TRUE(item == "a" || item == "block") << item << " ran";
}

TEST(ThreadPoolMapBytes, RefillAfterShutdownFails) {
    cf::ThreadPoolExecutor ex(pool_options(2));
    cf::MapOptions o;
    o.buffersize = 1;
    cf::MapResults r = ex.map_bytes(bytes_call(echo_task), list_source({"a", "b", "c"}), o);
    EXPECT_EQ(r.next(), std::optional<std::string_view>("a"));
    ex.shutdown(true);
    EXPECT_THROW(r.next(), cf::ShutdownError);
    EXPECT_FALSE(r.next().has_value());
}

TEST(ThreadPoolMapBytes, ResultsOutliveTheExecutor) {
    // test_del_shutdown: the results were all computed before the executor went away.
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(5));
    std::vector<std::string> args, expected;
    for (int i = -5; i < 5; ++i) {
        args.push_back(std::to_string(i));
        expected.push_back(std::to_string(i * i));
    }
    cf::MapResults r = ex->map_bytes(bytes_call(square_task), list_source(args));
    ex.reset();
    EXPECT_EQ(drain(r), expected);
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting on the pool's own tasks (the deadlock examples of the concurrent.futures documentation)

// Runs body on a fresh one-worker pool and returns the outer task's result, or fails the test (leaking the pool)
// if it does not finish within kLong.
template <class Body>
std::optional<std::string> run_in_one_worker_pool(Body body) {
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(1));
    std::optional<std::string> out;
    try {
        out = body(*ex);
    } catch (const cf::TimeoutError &) {
        (void)ex.release();  // deadlocked threads: leak rather than hang in the destructor
        ADD_FAILURE() << "deadlock: the outer task did not finish within " << kLong << " s";
        return std::nullopt;
    }
    return out;
}

TEST(ThreadPoolDeadlock, TaskWaitsOnATaskItSubmittedToItsOwnPool) {
    // The documentation's wait_on_future(): one worker, busy running the waiting task itself.
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        cf::ThreadPoolExecutor *pool = &ex;
        return ex.submit([pool] { return std::to_string(pool->submit([] { return 5 * 5; }).result()); })
            .result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("25"));
}

TEST(ThreadPoolDeadlock, EarlierTaskWaitsOnALaterOne) {
    // a waits on b, and b is queued behind a on the only worker.
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        std::promise<cf::Future<int>> b_handle;
        std::shared_future<cf::Future<int>> b_of = b_handle.get_future().share();
        cf::Future<std::string> a = ex.submit([b_of] { return "a got " + std::to_string(b_of.get().result()); });
        cf::Future<int> b = ex.submit([] { return 6; });
        b_handle.set_value(b);
        return a.result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("a got 6"));
}

TEST(ThreadPoolDeadlock, LaterTaskWaitsOnAnEarlierOne) {
    // b waits on a, which was submitted first and is still running when b is queued.
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        auto release = std::make_shared<Gate>();
        cf::Future<int> a = ex.submit([release] { return release->wait() ? 5 : -1; });
        cf::Future<std::string> b = ex.submit([a] { return "b got " + std::to_string(a.result()); });
        release->open();
        return b.result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("b got 5"));
}

TEST(ThreadPoolDeadlock, ThreeLevelsOfNesting) {
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        cf::ThreadPoolExecutor *pool = &ex;
        auto level1 = [pool] {
            auto level2 = [pool] {
                auto level3 = [] { return std::string("3"); };
                return "2(" + pool->submit(level3).result() + ")";
            };
            return "1(" + pool->submit(level2).result() + ")";
        };
        return ex.submit(level1).result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("1(2(3))"));
}

TEST(ThreadPoolDeadlock, WaitWithoutResultInsideATaskAlsoHelps) {
    // FutureBase::wait() from a worker, on a task queued behind it.
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        cf::ThreadPoolExecutor *pool = &ex;
        return ex.submit([pool] {
                     cf::Future<int> inner = pool->submit([] { return 7; });
                     return std::string(inner.wait(kLong) ? "done" : "not done") + " " +
                            std::to_string(inner.result(0.0));
                 })
            .result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("done 7"));
}

TEST(ThreadPoolDeadlock, TimeoutInsideATaskStillTimesOut) {
    // A worker waiting on something that never completes gives up at its timeout.
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        return ex.submit([] {
                     cf::Promise<int> never;
                     try {
                         never.get_future().result(0.05);
                         return std::string("returned a value");
                     } catch (const cf::TimeoutError &) {
                         return std::string("timed out");
                     }
                 })
            .result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("timed out"));
}

TEST(ThreadPoolDeadlock, WorkerWaitingOnAPromiseRunsTheTaskThatFulfilsIt) {
    // The only worker waits on a plain promise; the task that fulfils it is submitted while it waits.
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(1));
    auto promise = std::make_shared<cf::Promise<int>>();
    auto waiting = std::make_shared<Latch>(1);
    cf::Future<int> outer = ex->submit([promise, waiting] {
        waiting->count_down();
        return promise->get_future().result() + 1;
    });
    ASSERT_TRUE(waiting->wait());
    ex->submit([promise] { promise->set_result(41); });
    try {
        EXPECT_EQ(outer.result(kLong), 42);
    } catch (const cf::TimeoutError &) {
        (void)ex.release();
        FAIL() << "deadlock: the waiting worker did not run the task queued behind it";
    }
}

TEST(ThreadPoolDeadlock, TypedMapInsideATaskOfItsOwnPool) {
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        cf::ThreadPoolExecutor *pool = &ex;
        return ex.submit([pool] {
                     std::vector<int> items{1, 2, 3, 4};
                     cf::MapOptions o;
                     o.chunksize = 2;
                     std::string joined;
                     for (int r : pool->map([](const int &x) { return x * 10; }, items, o))
                         joined += std::to_string(r) + " ";
                     return joined;
                 })
            .result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("10 20 30 40 "));
}

// A byte-string map inside a task of its own one-worker pool: its chunks are queued behind the task.
std::optional<std::string> map_bytes_in_own_pool(bool unordered) {
    return run_in_one_worker_pool([unordered](cf::ThreadPoolExecutor &ex) {
        cf::ThreadPoolExecutor *pool = &ex;
        return ex.submit([pool, unordered] {
                     cf::MapOptions o;
                     o.unordered = unordered;
                     cf::MapResults r = pool->map_bytes(bytes_call(square_task), list_source({"1", "2", "3"}), o);
                     std::vector<std::string> got = drain(r);
                     std::sort(got.begin(), got.end());
                     std::string joined;
                     for (const std::string &g : got) joined += g + " ";
                     return joined;
                 })
            .result(kLong);
    });
}

TEST(ThreadPoolDeadlock, OrderedMapBytesInsideATaskOfItsOwnPool) {
    EXPECT_EQ(map_bytes_in_own_pool(false), std::optional<std::string>("1 4 9 "));
}

TEST(ThreadPoolDeadlock, UnorderedMapBytesInsideATaskOfItsOwnPool) {
    EXPECT_EQ(map_bytes_in_own_pool(true), std::optional<std::string>("1 4 9 "));
}

// cf::wait and cf::as_completed inside a task are waits on the pool's own futures as much as result() is.
TEST(ThreadPoolDeadlock, WaitInsideATaskOfItsOwnPool) {
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        cf::ThreadPoolExecutor *pool = &ex;
        return ex.submit([pool] {
                     std::vector<cf::Future<int>> fs;
                     for (int i = 0; i < 3; ++i) fs.push_back(pool->submit([i] { return i; }));
                     return std::to_string(cf::wait(fs, kLong).done.size()) + " done";
                 })
            .result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("3 done"));
}

TEST(ThreadPoolDeadlock, AsCompletedInsideATaskOfItsOwnPool) {
    auto out = run_in_one_worker_pool([](cf::ThreadPoolExecutor &ex) {
        cf::ThreadPoolExecutor *pool = &ex;
        return ex.submit([pool] {
                     std::vector<cf::Future<int>> fs;
                     for (int i = 0; i < 3; ++i) fs.push_back(pool->submit([i] { return i; }));
                     int sum = 0;
                     for (auto &f : cf::as_completed(fs, kLong)) sum += f.result();
                     return "sum " + std::to_string(sum);
                 })
            .result(kLong);
    });
    EXPECT_EQ(out, std::optional<std::string>("sum 3"));
}

long fib_task(cf::ThreadPoolExecutor *pool, int n) {
    if (n < 2) return n;
    cf::Future<long> a = pool->submit(fib_task, pool, n - 1);
    cf::Future<long> b = pool->submit(fib_task, pool, n - 2);
    return a.result() + b.result();
}

TEST(ThreadPoolDeadlock, RecursiveForkJoinOnTwoWorkers) {
    // Hundreds of tasks, each waiting on two children, on two threads: only helping makes this finish.
    auto ex = std::make_unique<cf::ThreadPoolExecutor>(pool_options(2));
    cf::Future<long> f = ex->submit(fib_task, ex.get(), 14);
    try {
        EXPECT_EQ(f.result(kLong), 377);
    } catch (const cf::TimeoutError &) {
        (void)ex.release();
        FAIL() << "deadlock in recursive fork-join";
    }
    EXPECT_LE(ex->thread_count(), 2u);
}

// ---------------------------------------------------------------------------------------------------------------
// An idle pool costs nothing

TEST(ThreadPoolIdle, IdlePoolUsesNoCpu) {
    cf::ThreadPoolExecutor ex(pool_options(8));
    Latch all_running(8);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 8; ++i) fs.push_back(ex.submit([&all_running, i] { return all_running.arrive_and_wait(), i; }));
    for (int i = 0; i < 200; ++i) fs.push_back(ex.submit(mul, i, 2));
    for (auto &f : fs) f.result(kLong);
    ASSERT_EQ(ex.thread_count(), 8u);
    std::this_thread::sleep_for(100ms);  // let the workers settle into their idle wait
    long before = process_cpu_ticks();
    ASSERT_GE(before, 0);
    std::this_thread::sleep_for(1s);
    long used = process_cpu_ticks() - before;
    EXPECT_LE(used, 5) << "8 idle workers used " << used << " clock ticks (of " << sysconf(_SC_CLK_TCK)
                       << " per second) in one second";
    // And the idle pool still works.
    EXPECT_EQ(ex.submit(mul, 6, 7).result(kLong), 42);
}

}  // namespace
