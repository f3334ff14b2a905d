// SPDX-License-Identifier: MIT
// Shared by the process-pool test files (test_process_pool_*.cpp): the registered tasks they submit (defined once,
// in process_pool_tasks.cpp), the scratch directory where tests and tasks meet, small helpers, and the fixture that
// runs every TEST_P once per start method (fork, forkserver, spawn). Builds on pool_test_support.hpp.
//
// Tasks run in other processes, so tests and tasks meet in a scratch directory: a blocking task announces itself
// by creating started.<id> (holding its pid) and waits until the file "go" exists. Nothing waits by sleeping and
// hoping; a test that watches a call that must NOT return yet only asserts that it has not returned, which a
// correct library guarantees however long the test looks. Elapsed time is asserted only twice, where it is the
// point: workers gone within one second of their parent's death, and the CPU an idle pool uses in one second.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "pool_test_support.hpp"

namespace cftest {

// How long a blocking task waits for its gate before it gives up (so that a failed test cannot leave a worker
// behind for long).
inline constexpr double kGateLimit = 60.0;

inline constexpr std::size_t kMiB = std::size_t(1) << 20;

// ---------------------------------------------------------------------------------------------------------------
// Small tools shared by tasks (which run in the workers) and tests

inline std::uint64_t fnv1a(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// Bytes that differ from position to position and from seed to seed, so that a shifted or truncated copy shows.
inline std::string pattern(std::size_t n, std::uint64_t seed) {
    std::string out(n, '\0');
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    for (std::size_t i = 0; i < n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::memcpy(&out[i], &x, std::min<std::size_t>(8, n - i));
    }
    return out;
}

inline void sleep_ms(long ms) {
    struct timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

inline bool file_exists(const std::string &path) { return ::access(path.c_str(), F_OK) == 0; }

// Writes text to path atomically (a temporary file renamed into place), so a reader never sees half of it.
inline bool write_file_atomically(const std::string &path, const std::string &text) {
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

inline std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// ---------------------------------------------------------------------------------------------------------------
// The tasks, defined and registered (CF_TASK, at load time, so that fork and spawn workers both know them) once, in
// process_pool_tasks.cpp, under the names "test_process_pool.<name without _task>". Tests submit them by name or
// pass the function itself.

// What the initializer leaves behind in a worker; tasks report it. Stays empty in the test process itself.
extern std::string g_initialized;

int gate_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int die_sigkill_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int die_now_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int die_segv_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int die_abort_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int die_exit3_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int die_exit0_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int sleep_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int cancel_watch_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int echo_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int pid_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int init_status_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int nothing_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int raise_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int minus_five_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int throw_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int square_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int checksum_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int big_buffer_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int big_copy_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int touch_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int init_ok_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int init_fail_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
// Registered at run time by a test, not at load time.
int late_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
// Never registered: a process pool must refuse it.
int unregistered_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);

// How a cf_task_fn becomes a cf::TaskCall (the same as capi/handles.hpp does): the function pointer travels as a
// generic one and is cast back when called. In a process pool only its identity matters: the parent finds the
// registered name by the pointer.
inline int call_c_task(const cf::TaskCall &call, cf::TaskContext &ctx, const void *arg, std::size_t len) {
    auto fn = reinterpret_cast<cf_task_fn>(call.fn);
    return fn(ctx.native_handle(), arg, len, call.user_data);
}

inline cf::TaskCall c_call(cf_task_fn fn) {
    cf::TaskCall call;
    call.invoke = &call_c_task;
    call.fn = reinterpret_cast<void (*)()>(fn);
    return call;
}

// ---------------------------------------------------------------------------------------------------------------
// Test tools

// A scratch directory where tests and tasks meet (see the top of the file); removed at the end of the test.
class Scratch {
public:
    Scratch() {
        const char *tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/cf_process_pool_XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
        dir_ = buf.data();
    }
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    Scratch(const Scratch &) = delete;
    Scratch &operator=(const Scratch &) = delete;

    const std::string &dir() const { return dir_; }
    std::string path(const std::string &name) const { return dir_ + "/" + name; }
    // The argument of a blocking task, padded with pattern bytes up to pad_to bytes.
    std::string gate(int id, std::size_t pad_to = 0) const {
        std::string arg = dir_ + "\n" + std::to_string(id) + "\n";
        if (pad_to > arg.size()) arg += pattern(pad_to - arg.size(), static_cast<std::uint64_t>(id) + 1);
        return arg;
    }
    std::string sleep_arg(int id, int seconds) const {
        return dir_ + "\n" + std::to_string(id) + "\n" + std::to_string(seconds);
    }
    void open() const { write_file_atomically(path("go"), "go"); }
    bool started(int id) const { return file_exists(path("started." + std::to_string(id))); }
    bool wait_started(int id) const { return eventually([&] { return started(id); }); }
    // What started.<id> holds: the worker's pid, then its parent's.
    pid_t started_pid(int id) const {
        return static_cast<pid_t>(std::atol(read_file(path("started." + std::to_string(id))).c_str()));
    }
    pid_t started_ppid(int id) const {
        std::istringstream in(read_file(path("started." + std::to_string(id))));
        long pid = 0, ppid = 0;
        in >> pid >> ppid;
        return static_cast<pid_t>(ppid);
    }
    std::size_t started_count() const {
        std::size_t n = 0;
        for (const auto &e : std::filesystem::directory_iterator(dir_)) {
            std::string name = e.path().filename().string();
            n += name.rfind("started.", 0) == 0 && name.find(".tmp.") == std::string::npos;
        }
        return n;
    }

private:
    std::string dir_;
};

// Opens the gate when it goes out of scope. Declared after the executor, it runs before the executor's destructor,
// so a test that fails half-way does not leave tasks blocked on a gate the destructor would wait for.
class OpenAtExit {
public:
    explicit OpenAtExit(const Scratch &s) : s_(s) {}
    ~OpenAtExit() { s_.open(); }

private:
    const Scratch &s_;
};

// What gate_task returns.
struct GateResult {
    pid_t pid = 0;
    std::string initialized;
    std::uint64_t fnv = 0;
    std::size_t len = 0;
};

inline GateResult parse_gate_result(std::string_view r) {
    GateResult out;
    std::string s(r);
    std::size_t a = s.find('|'), b = s.find('|', a + 1), c = s.find('|', b + 1);
    if (a == std::string::npos || b == std::string::npos || c == std::string::npos) return out;
    out.pid = static_cast<pid_t>(std::atol(s.substr(0, a).c_str()));
    out.initialized = s.substr(a + 1, b - a - 1);
    out.fnv = std::strtoull(s.substr(b + 1, c - b - 1).c_str(), nullptr, 10);
    out.len = std::strtoull(s.substr(c + 1).c_str(), nullptr, 10);
    return out;
}

inline std::string text(const cf::FutureBase &f) { return std::string(f.bytes(kLong)); }
inline pid_t pid_of(const cf::FutureBase &f) { return static_cast<pid_t>(std::atol(text(f).c_str())); }

inline bool contains(const std::string &haystack, const std::string &needle) {
    return haystack.find(needle) != std::string::npos;
}

// The fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime. Empty when
// the process is gone.
inline std::vector<std::string> stat_fields(pid_t pid) {
    return stat_fields_at("/proc/" + std::to_string(pid) + "/stat");
}

// Gone: no longer in /proc, or dead and only waiting to be reaped (a zombie runs nothing and holds no memory).
inline bool process_gone(pid_t pid) {
    auto f = stat_fields(pid);
    return f.empty() || f[0] == "Z" || f[0] == "X";
}

// Runs f and returns the exception it throws, or nullptr.
template <class F>
std::exception_ptr thrown_by(F f) {
    try {
        f();
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

// Holds the result's failure as the C++ API reports it; the checks the crash tests share.
inline void expect_broken(const cf::FutureBase &f, const std::string &what) {
    EXPECT_THROW(f.bytes(kLong), cf::BrokenProcessPool) << what;
    cf::ErrorInfo e = f.error(kLong);
    EXPECT_EQ(e.status, cf::Status::BrokenProcessPool) << what;
    EXPECT_EQ(e.type, "BrokenProcessPool") << what;
    EXPECT_FALSE(e.message.empty()) << what;
}

// The other argument source map_bytes takes: a fixed list.
inline cf::detail::ArgSource list_source(std::vector<std::string> items) {
    auto held = std::make_shared<std::vector<std::string>>(std::move(items));
    auto next = std::make_shared<std::size_t>(0);
    return [held, next](std::string_view &out) {
        if (*next == held->size()) return false;
        out = (*held)[(*next)++];
        return true;
    };
}

inline std::vector<std::string> numbers(int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(std::to_string(i));
    return v;
}

inline std::vector<std::string> squares(int from, int to) {
    std::vector<std::string> v;
    for (long i = from; i < to; ++i) v.push_back(std::to_string(i * i));
    return v;
}

// C handles that let go at the end of the scope.
struct CExecutor {
    cf_executor *ex = nullptr;
    ~CExecutor() { cf_executor_free(ex); }
};
struct CFuture {
    cf_future *f = nullptr;
    ~CFuture() { cf_future_release(f); }
};

// ---------------------------------------------------------------------------------------------------------------
// The fixtures: every TEST_P runs once per start method.

class ProcessPoolBase : public ::testing::TestWithParam<cf::StartMethod> {
protected:
    cf::ProcessPoolExecutor::Options options(std::size_t max_workers) const {
        cf::ProcessPoolExecutor::Options o;
        o.max_workers = max_workers;
        o.start_method = GetParam();
        return o;
    }
    bool spawn() const { return GetParam() == cf::StartMethod::Spawn; }
    bool fork_method() const { return GetParam() == cf::StartMethod::Fork; }
    bool forkserver() const { return GetParam() == cf::StartMethod::Forkserver; }
    cf_start_method c_method() const {
        return spawn() ? CF_START_SPAWN : forkserver() ? CF_START_FORKSERVER : CF_START_FORK;
    }
    // A C executor with this test's start method.
    cf_executor *c_pool(std::size_t max_workers, std::size_t shared_memory_bytes = 0) const {
        cf_process_pool_options o;
        cf_process_pool_options_init(&o);
        o.max_workers = max_workers;
        o.start_method = c_method();
        o.shared_memory_bytes = shared_memory_bytes;
        cf_executor *ex = nullptr;
        EXPECT_EQ(cf_process_pool_new(&o, &ex), CF_OK) << cf_last_error();
        return ex;
    }
};

// How a test name spells its start method: TEST_P names end in /fork, /forkserver or /spawn.
inline std::string method_name(const ::testing::TestParamInfo<cf::StartMethod> &info) {
    switch (info.param) {
        case cf::StartMethod::Spawn: return "spawn";
        case cf::StartMethod::Forkserver: return "forkserver";
        default: return "fork";
    }
}

// Declares the fixture Name, a ProcessPoolBase, and runs its TEST_Ps once per start method. Use it once per suite,
// in the file that holds the suite's tests.
#define CF_PROCESS_POOL_SUITE(Name)                                                                  \
    class Name : public ::cftest::ProcessPoolBase {};                                                \
    INSTANTIATE_TEST_SUITE_P(StartMethods, Name,                                                     \
                             ::testing::Values(cf::StartMethod::Fork, cf::StartMethod::Forkserver,   \
                                               cf::StartMethod::Spawn),                              \
                             ::cftest::method_name)

}  // namespace cftest

namespace cf {
// How GoogleTest prints a start method (in test names and failures): by name, not as four bytes.
inline void PrintTo(StartMethod m, std::ostream *os) {
    *os << (m == StartMethod::Spawn ? "spawn" : m == StartMethod::Forkserver ? "forkserver" : "fork");
}
}  // namespace cf
