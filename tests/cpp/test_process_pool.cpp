// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: the behaviour of CPython's Lib/test/test_concurrent_futures/test_process_pool.py,
// test_shutdown.py, test_init.py and test_deadlock.py, ported to C++ and run over both start methods that exist
// (fork and spawn), plus what the library promises beyond Python: payloads in shared memory (large arguments, a
// small arena that makes submit wait, results too large for a worker's heap, result slices that outlive the pool),
// workers that die with their parent, and an idle pool that costs nothing.
//
// Tasks run in other processes, so tests and tasks meet in a scratch directory: a blocking task announces itself
// by creating started.<id> (holding its pid) and waits until the file "go" exists. Nothing waits by sleeping and
// hoping; a test that watches a call that must NOT return yet only asserts that it has not returned, which a
// correct library guarantees however long the test looks. Elapsed time is asserted only twice, where it is the
// point: workers gone within one second of their parent's death, and the CPU an idle pool uses in one second.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
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
using cftest::usable_cpus;
// How long a blocking task waits for its gate before it gives up (so that a failed test cannot leave a worker
// behind for long).
constexpr double kGateLimit = 60.0;

constexpr std::size_t kMiB = std::size_t(1) << 20;

// ---------------------------------------------------------------------------------------------------------------
// Small tools shared by tasks (which run in the workers) and tests

std::uint64_t fnv1a(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// Bytes that differ from position to position and from seed to seed, so that a shifted or truncated copy shows.
std::string pattern(std::size_t n, std::uint64_t seed) {
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

void sleep_ms(long ms) {
    struct timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool file_exists(const std::string &path) { return ::access(path.c_str(), F_OK) == 0; }

// Writes text to path atomically (a temporary file renamed into place), so a reader never sees half of it.
bool write_file_atomically(const std::string &path, const std::string &text) {
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// ---------------------------------------------------------------------------------------------------------------
// The tasks. Each is a plain cf_task_fn registered at load time, so fork and spawn workers both know it.

// What the initializer leaves behind in a worker; tasks report it. Stays empty in the test process itself.
std::string g_initialized;

// A blocking task's argument: "<dir>\n<id>\n", then anything (padding that makes a large argument).
struct GateArg {
    std::string dir;
    std::string id;
};

std::optional<GateArg> parse_gate(const void *arg, std::size_t len) {
    std::string_view s(static_cast<const char *>(arg), len);
    std::size_t a = s.find('\n');
    if (a == std::string_view::npos) return std::nullopt;
    std::size_t b = s.find('\n', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    return GateArg{std::string(s.substr(0, a)), std::string(s.substr(a + 1, b - a - 1))};
}

// Announces the task (started.<id> holds the worker's pid), then waits for <dir>/go. False if it never came.
bool announce_and_wait(const GateArg &g) {
    write_file_atomically(g.dir + "/started." + g.id, std::to_string(getpid()) + " " + std::to_string(getppid()));
    std::string go = g.dir + "/go";
    for (long waited = 0; waited < static_cast<long>(kGateLimit * 1000); ++waited) {
        if (file_exists(go)) return true;
        sleep_ms(1);
    }
    return false;
}

// Waits for the gate, then returns "<pid>|<initialized>|<fnv1a of the whole argument>|<argument length>".
int gate_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g) return cf_task_raise(ctx, "ValueError", "malformed gate argument");
    if (!announce_and_wait(*g)) return cf_task_raise(ctx, "GateTimeout", "the test never opened the gate");
    std::string out = std::to_string(getpid()) + "|" + g_initialized + "|" +
                      std::to_string(fnv1a(std::string_view(static_cast<const char *>(arg), len))) + "|" +
                      std::to_string(len);
    return cf_task_return(ctx, out.data(), out.size());
}
CF_TASK("test_process_pool.gate", gate_task);

// The same wait, then the worker process ends in one of the ways a worker can die.
int die_sigkill_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g || !announce_and_wait(*g)) return cf_task_raise(ctx, "GateTimeout", "no gate");
    raise(SIGKILL);
    return 0;
}
CF_TASK("test_process_pool.die_sigkill", die_sigkill_task);

// Dies at once, without waiting on a gate.
int die_now_task(cf_task_ctx *, const void *, size_t, void *) {
    raise(SIGKILL);
    return 0;
}
CF_TASK("test_process_pool.die_now", die_now_task);

int die_segv_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g || !announce_and_wait(*g)) return cf_task_raise(ctx, "GateTimeout", "no gate");
    // A sanitizer's own SIGSEGV handler would turn the crash into an exit code: let the kernel kill the process.
    signal(SIGSEGV, SIG_DFL);
    // A real fault, not a null store (which UBSan reports and turns into an abort before the fault happens):
    // a write into a page that may not be written.
    void *page = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *static_cast<int *volatile>(page) = 42;
    return 0;
}
CF_TASK("test_process_pool.die_segv", die_segv_task);

int die_abort_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g || !announce_and_wait(*g)) return cf_task_raise(ctx, "GateTimeout", "no gate");
    signal(SIGABRT, SIG_DFL);
    abort();
}
CF_TASK("test_process_pool.die_abort", die_abort_task);

int die_exit3_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g || !announce_and_wait(*g)) return cf_task_raise(ctx, "GateTimeout", "no gate");
    _exit(3);
}
CF_TASK("test_process_pool.die_exit3", die_exit3_task);

int die_exit0_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g || !announce_and_wait(*g)) return cf_task_raise(ctx, "GateTimeout", "no gate");
    _exit(0);
}
CF_TASK("test_process_pool.die_exit0", die_exit0_task);

// Announces itself like a gate task, then sleeps: "<dir>\n<id>\n<seconds>".
int sleep_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g) return cf_task_raise(ctx, "ValueError", "malformed sleep argument");
    write_file_atomically(g->dir + "/started." + g->id, std::to_string(getpid()) + " " + std::to_string(getppid()));
    std::string_view s(static_cast<const char *>(arg), len);
    long seconds = std::atol(std::string(s.substr(s.rfind('\n') + 1)).c_str());
    sleep_ms(seconds * 1000);
    return CF_OK;
}
CF_TASK("test_process_pool.sleep", sleep_task);

// Announces itself, then watches cf_task_cancel_requested for up to 10 s.
int cancel_watch_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    auto g = parse_gate(arg, len);
    if (!g) return cf_task_raise(ctx, "ValueError", "malformed argument");
    write_file_atomically(g->dir + "/started." + g->id, std::to_string(getpid()));
    for (int i = 0; i < 10000; ++i) {
        if (cf_task_cancel_requested(ctx)) return cf_task_raise(ctx, "CancelledError", "cancel requested");
        sleep_ms(1);
    }
    static const char never[] = "cancellation was never requested";
    return cf_task_return(ctx, never, sizeof never - 1);
}
CF_TASK("test_process_pool.cancel_watch", cancel_watch_task);

int echo_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }
CF_TASK("test_process_pool.echo", echo_task);

// The worker's pid in decimal.
int pid_task(cf_task_ctx *ctx, const void *, size_t, void *) {
    std::string pid = std::to_string(getpid());
    return cf_task_return(ctx, pid.data(), pid.size());
}
CF_TASK("test_process_pool.pid", pid_task);

// "<pid>|<initialized>": what the initializer left in this worker.
int init_status_task(cf_task_ctx *ctx, const void *, size_t, void *) {
    std::string out = std::to_string(getpid()) + "|" + g_initialized;
    return cf_task_return(ctx, out.data(), out.size());
}
CF_TASK("test_process_pool.init_status", init_status_task);

// Succeeds without setting a result.
int nothing_task(cf_task_ctx *, const void *, size_t, void *) { return CF_OK; }
CF_TASK("test_process_pool.nothing", nothing_task);

int raise_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::string message = "bad value " + std::string(static_cast<const char *>(arg), len);
    return cf_task_raise(ctx, "ValueError", message.c_str());
}
CF_TASK("test_process_pool.raise", raise_task);

int minus_five_task(cf_task_ctx *, const void *, size_t, void *) { return -5; }
CF_TASK("test_process_pool.minus_five", minus_five_task);

int throw_task(cf_task_ctx *, const void *arg, size_t len, void *) {
    throw std::out_of_range("index " + std::string(static_cast<const char *>(arg), len));
}
CF_TASK("test_process_pool.throw", throw_task);

// The square of a decimal number; ValueError for anything else (Python's int() of a bad literal).
int square_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::string s(static_cast<const char *>(arg), len);
    if (s.empty() || s.find_first_not_of("-0123456789") != std::string::npos) {
        std::string message = "invalid literal for int(): '" + s + "'";
        return cf_task_raise(ctx, "ValueError", message.c_str());
    }
    long n = std::atol(s.c_str());
    std::string out = std::to_string(n * n);
    return cf_task_return(ctx, out.data(), out.size());
}
CF_TASK("test_process_pool.square", square_task);

// fnv1a of the argument and its length: "<fnv>|<len>".
int checksum_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::string out = std::to_string(fnv1a(std::string_view(static_cast<const char *>(arg), len))) + "|" +
                      std::to_string(len);
    return cf_task_return(ctx, out.data(), out.size());
}
CF_TASK("test_process_pool.checksum", checksum_task);

// Asks for a result buffer of the decimal size given and fills it.
int big_buffer_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::size_t n = std::strtoull(std::string(static_cast<const char *>(arg), len).c_str(), nullptr, 10);
    void *p = cf_task_return_buffer(ctx, n);
    if (!p) return CF_E_TOO_LARGE;
    std::memset(p, 'x', n);
    return CF_OK;
}
CF_TASK("test_process_pool.big_buffer", big_buffer_task);

// Copies a result of the decimal size given out with cf_task_return.
int big_copy_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::size_t n = std::strtoull(std::string(static_cast<const char *>(arg), len).c_str(), nullptr, 10);
    std::string big(n, 'y');
    return cf_task_return(ctx, big.data(), big.size());
}
CF_TASK("test_process_pool.big_copy", big_copy_task);

// Creates the file named by the argument: proof that the task ran.
int touch_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::string path(static_cast<const char *>(arg), len);
    if (!write_file_atomically(path, std::to_string(getpid()))) return cf_task_raise(ctx, "OSError", "cannot write");
    return CF_OK;
}
CF_TASK("test_process_pool.touch", touch_task);

// Initializers: one records "<initarg>@<pid>" for the tasks to report, one fails as Python's init_fail does.
int init_ok_task(cf_task_ctx *, const void *arg, size_t len, void *) {
    g_initialized = std::string(static_cast<const char *>(arg), len) + "@" + std::to_string(getpid());
    return CF_OK;
}
CF_TASK("test_process_pool.init_ok", init_ok_task);

int init_fail_task(cf_task_ctx *ctx, const void *, size_t, void *) {
    return cf_task_raise(ctx, "ValueError", "error in initializer");
}
CF_TASK("test_process_pool.init_fail", init_fail_task);

// Registered at run time by a test, not at load time.
int late_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }

// Never registered: a process pool must refuse it.
int unregistered_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }

// How a cf_task_fn becomes a cf::TaskCall (the same as capi/handles.hpp does): the function pointer travels as a
// generic one and is cast back when called. In a process pool only its identity matters: the parent finds the
// registered name by the pointer.
int call_c_task(const cf::TaskCall &call, cf::TaskContext &ctx, const void *arg, std::size_t len) {
    auto fn = reinterpret_cast<cf_task_fn>(call.fn);
    return fn(reinterpret_cast<cf_task_ctx *>(&ctx.impl()), arg, len, call.user_data);
}

cf::TaskCall c_call(cf_task_fn fn) {
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

GateResult parse_gate_result(std::string_view r) {
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

std::string text(const cf::FutureBase &f) { return std::string(f.bytes(kLong)); }
pid_t pid_of(const cf::FutureBase &f) { return static_cast<pid_t>(std::atol(text(f).c_str())); }

bool contains(const std::string &haystack, const std::string &needle) {
    return haystack.find(needle) != std::string::npos;
}

// The fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime. Empty when
// the process is gone.
std::vector<std::string> stat_fields(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    std::size_t close = line.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) return fields;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    while (rest >> field) fields.push_back(field);
    return fields;
}

// Gone: no longer in /proc, or dead and only waiting to be reaped (a zombie runs nothing and holds no memory).
bool process_gone(pid_t pid) {
    auto f = stat_fields(pid);
    return f.empty() || f[0] == "Z" || f[0] == "X";
}

long cpu_ticks(pid_t pid) {
    auto f = stat_fields(pid);
    if (f.size() < 13) return 0;
    return std::stol(f[11]) + std::stol(f[12]);
}

std::set<std::string> dev_shm_names() {
    std::set<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/dev/shm", ec), end; !ec && it != end; it.increment(ec))
        names.insert(it->path().filename().string());
    return names;
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
void expect_broken(const cf::FutureBase &f, const std::string &what) {
    EXPECT_THROW(f.bytes(kLong), cf::BrokenProcessPool) << what;
    cf::ErrorInfo e = f.error(kLong);
    EXPECT_EQ(e.status, cf::Status::BrokenProcessPool) << what;
    EXPECT_EQ(e.type, "BrokenProcessPool") << what;
    EXPECT_FALSE(e.message.empty()) << what;
}

// The other argument source map_bytes takes: a fixed list.
cf::detail::ArgSource list_source(std::vector<std::string> items) {
    auto held = std::make_shared<std::vector<std::string>>(std::move(items));
    auto next = std::make_shared<std::size_t>(0);
    return [held, next](std::string_view &out) {
        if (*next == held->size()) return false;
        out = (*held)[(*next)++];
        return true;
    };
}

std::vector<std::string> numbers(int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(std::to_string(i));
    return v;
}

std::vector<std::string> squares(int from, int to) {
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

}  // namespace

namespace cf {
// How GoogleTest prints a start method (in test names and failures): by name, not as four bytes.
static void PrintTo(StartMethod m, std::ostream *os) {
    *os << (m == StartMethod::Spawn ? "spawn" : m == StartMethod::Forkserver ? "forkserver" : "fork");
}
}  // namespace cf

namespace {

std::string method_name(const ::testing::TestParamInfo<cf::StartMethod> &info) {
    switch (info.param) {
        case cf::StartMethod::Spawn: return "spawn";
        case cf::StartMethod::Forkserver: return "forkserver";
        default: return "fork";
    }
}

#define CF_PROCESS_POOL_SUITE(Name)                                                                  \
    class Name : public ProcessPoolBase {};                                                          \
    INSTANTIATE_TEST_SUITE_P(StartMethods, Name,                                                     \
                             ::testing::Values(cf::StartMethod::Fork, cf::StartMethod::Forkserver,   \
                                               cf::StartMethod::Spawn),                              \
                             method_name)

CF_PROCESS_POOL_SUITE(ProcessPoolSubmit);
CF_PROCESS_POOL_SUITE(ProcessPoolMap);
CF_PROCESS_POOL_SUITE(ProcessPoolWorkers);
CF_PROCESS_POOL_SUITE(ProcessPoolInitializer);
CF_PROCESS_POOL_SUITE(ProcessPoolCrash);
CF_PROCESS_POOL_SUITE(ProcessPoolShutdown);
CF_PROCESS_POOL_SUITE(ProcessPoolForceShutdown);
CF_PROCESS_POOL_SUITE(ProcessPoolPayload);
CF_PROCESS_POOL_SUITE(ProcessPoolDeadlock);
CF_PROCESS_POOL_SUITE(ProcessPoolParentDeath);
CF_PROCESS_POOL_SUITE(ProcessPoolIdle);
CF_PROCESS_POOL_SUITE(ProcessPoolCollectors);

// ---------------------------------------------------------------------------------------------------------------
// Configuration (test_max_workers_negative and friends; start methods)

TEST(ProcessPoolConfig, UnknownStartMethodIsRefusedWithAClearMessage) {
    // Fork, forkserver and spawn all run every TEST_P below; a value that is no start method is refused.
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

// ---------------------------------------------------------------------------------------------------------------
// Initializer (test_init.py)

TEST_P(ProcessPoolInitializer, RunsInEveryWorkerBeforeItsTasks) {
    constexpr int kWorkers = 3;
    Scratch s;
    auto o = options(kWorkers);
    o.initializer = "test_process_pool.init_ok";
    o.initarg = "initialized";
    cf::ProcessPoolExecutor ex(o);
    OpenAtExit open_gate(s);
    // One task per worker at the same time (each submitted once the one before has started), so that every
    // worker answers.
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < kWorkers; ++i) {
        fs.push_back(ex.submit_named("test_process_pool.gate", s.gate(i)));
        ASSERT_TRUE(s.wait_started(i));
    }
    s.open();
    std::set<pid_t> pids;
    for (auto &f : fs) {
        GateResult r = parse_gate_result(text(f));
        pids.insert(r.pid);
        // The initializer ran in that very process (not in the parent before a fork) with the initarg.
        EXPECT_EQ(r.initialized, "initialized@" + std::to_string(r.pid));
    }
    EXPECT_EQ(pids.size(), static_cast<std::size_t>(kWorkers));
    EXPECT_EQ(g_initialized, "") << "the initializer ran in the parent";
}

TEST_P(ProcessPoolInitializer, RunsAgainInEveryReplacementWorker) {
    auto o = options(1);
    o.initializer = "test_process_pool.init_ok";
    o.initarg = "again";
    o.max_tasks_per_child = 1;
    cf::ProcessPoolExecutor ex(o);
    std::set<pid_t> pids;
    for (int i = 0; i < 3; ++i) {
        std::string r = text(ex.submit_named("test_process_pool.init_status", ""));
        std::string pid = r.substr(0, r.find('|'));
        EXPECT_EQ(r, pid + "|again@" + pid);
        pids.insert(static_cast<pid_t>(std::atol(pid.c_str())));
    }
    EXPECT_EQ(pids.size(), 3u);
}

TEST_P(ProcessPoolInitializer, FailingInitializerBreaksThePool) {
    auto o = options(1);
    o.initializer = "test_process_pool.init_fail";
    cf::ProcessPoolExecutor ex(o);
    cf::FutureBase f;
    std::string message;
    try {
        f = ex.submit_named("test_process_pool.init_status", "");
    } catch (const cf::BrokenProcessPool &e) {
        // Only fork starts its workers with the pool, so only there can the break come before a submit.
        EXPECT_TRUE(fork_method()) << "the pool broke before any worker could have run its initializer";
        message = e.what();
    }
    if (f.valid()) {
        EXPECT_THROW(f.bytes(kLong), cf::BrokenProcessPool);
        cf::ErrorInfo info = f.error(kLong);
        EXPECT_EQ(info.status, cf::Status::BrokenProcessPool);
        message = info.message;
    }
    EXPECT_TRUE(contains(message, "initializer")) << message;
    EXPECT_TRUE(contains(message, "ValueError")) << message;
    EXPECT_TRUE(contains(message, "error in initializer")) << message;
    // From now on every submit is refused.
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::BrokenProcessPool);
    EXPECT_THROW(ex.submit_bytes(c_call(echo_task), "x"), cf::BrokenProcessPool);
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); }));
}

TEST_P(ProcessPoolInitializer, FailingInitializerThroughTheCAbi) {
    cf_process_pool_options o;
    cf_process_pool_options_init(&o);
    o.max_workers = 1;
    o.start_method = c_method();
    o.initializer = "test_process_pool.init_fail";
    CExecutor ex;
    ASSERT_EQ(cf_process_pool_new(&o, &ex.ex), CF_OK) << cf_last_error();
    CFuture f;
    int rc = cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &f.f);
    if (fork_method() && rc == CF_E_BROKEN_PROCESS_POOL) {
        // Fork starts the workers with the pool, so the initializer may have failed before this submit.
        EXPECT_TRUE(contains(cf_last_error(), "initializer")) << cf_last_error();
    } else {
        ASSERT_EQ(rc, CF_OK) << cf_last_error();
        cf_slice r{};
        EXPECT_EQ(cf_future_result(f.f, kLong, &r), CF_E_BROKEN_PROCESS_POOL);
    }
    CFuture later;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &later.f), CF_E_BROKEN_PROCESS_POOL);
    EXPECT_TRUE(contains(cf_last_error(), "initializer")) << cf_last_error();
}

// ---------------------------------------------------------------------------------------------------------------
// Workers that die (test_killed_child, test_broken_process_pool_traceback,
// test_traceback_when_child_process_terminates_abruptly)

// A task that dies in the way `task` dies breaks the pool: its future fails with BrokenProcessPool naming the
// worker's pid and `how`; later submits throw BrokenProcessPool; the pool's other workers go too.
void expect_death_breaks_pool(cf::ProcessPoolExecutor::Options o, const char *task, const std::string &how) {
    Scratch s;
    o.max_workers = 2;
    cf::ProcessPoolExecutor ex(o);
    OpenAtExit open_gate(s);
    cf::FutureBase f = ex.submit_named(task, s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    s.open();
    expect_broken(f, task);
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
    EXPECT_TRUE(contains(info.detail, how)) << info.detail;
    EXPECT_TRUE(contains(info.detail, task)) << info.detail;
    EXPECT_TRUE(contains(info.message, std::to_string(worker))) << info.message;
    EXPECT_TRUE(contains(info.message, how)) << info.message;
    try {
        ex.submit_named("test_process_pool.echo", "x");
        ADD_FAILURE() << "a broken pool accepted a task";
    } catch (const cf::BrokenProcessPool &e) {
        EXPECT_TRUE(contains(e.what(), std::to_string(worker))) << e.what();
    }
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); }));
}

TEST_P(ProcessPoolCrash, SigkillInATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_sigkill", "signal 9");
}

TEST_P(ProcessPoolCrash, SegfaultInATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_segv", "signal 11");
}

TEST_P(ProcessPoolCrash, AbortInATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_abort", "signal 6");
}

TEST_P(ProcessPoolCrash, ExitCode3InATaskBreaksThePool) {
    expect_death_breaks_pool(options(2), "test_process_pool.die_exit3", "code 3");
}

TEST_P(ProcessPoolCrash, ExitCode0InATaskBreaksThePool) {
    // A worker that leaves cleanly in the middle of a task still lost that task.
    expect_death_breaks_pool(options(2), "test_process_pool.die_exit0", "code 0");
}

TEST_P(ProcessPoolCrash, SignalIsNamed) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase f = ex.submit_named("test_process_pool.die_sigkill", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    s.open();
    EXPECT_TRUE(contains(f.error(kLong).detail, "SIGKILL")) << f.error(kLong).detail;
}

TEST_P(ProcessPoolCrash, EveryPendingFutureFailsWithBrokenProcessPool) {
    // CPython fails every pending work item with BrokenProcessPool when the pool breaks: those already handed to
    // a worker and those still waiting in the parent alike.
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase dying = ex.submit_named("test_process_pool.die_sigkill", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    std::vector<cf::FutureBase> behind;
    for (int i = 0; i < 5; ++i) behind.push_back(ex.submit_named("test_process_pool.echo", "behind " + std::to_string(i)));
    s.open();
    expect_broken(dying, "the task that died");
    for (std::size_t i = 0; i < behind.size(); ++i) {
        ASSERT_TRUE(behind[i].wait(kLong)) << "future " << i << " never finished";
        EXPECT_FALSE(behind[i].cancelled()) << "future " << i << " was cancelled instead of failing";
        if (behind[i].cancelled()) continue;
        expect_broken(behind[i], "future behind the task that died");
        cf::ErrorInfo info = behind[i].error(kLong);
        EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
        // Each future names its own task.
        EXPECT_TRUE(contains(info.detail, "test_process_pool.echo")) << info.detail;
    }
}

TEST_P(ProcessPoolCrash, DeathBreaksTheTaskRunningInAnotherWorker) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(2));
    OpenAtExit open_gate(s);
    cf::FutureBase survivor = ex.submit_named("test_process_pool.sleep", s.sleep_arg(1, 30));
    ASSERT_TRUE(s.wait_started(1));
    cf::FutureBase dying = ex.submit_named("test_process_pool.die_exit3", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t other = s.started_pid(1);
    ASSERT_NE(other, s.started_pid(0));
    s.open();
    expect_broken(dying, "the task that died");
    // The sleeper in the other worker is not waited for: the broken pool ends its process too.
    expect_broken(survivor, "the task in the other worker");
    EXPECT_TRUE(eventually([&] { return process_gone(other); }));
}

TEST_P(ProcessPoolCrash, WorkerKilledFromOutsideBreaksThePool) {
    // test_killed_child: someone else terminates a worker that runs a task.
    Scratch s;
    cf::ProcessPoolExecutor ex(options(2));
    OpenAtExit open_gate(s);
    cf::FutureBase f = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    ASSERT_EQ(kill(worker, SIGTERM), 0);
    expect_broken(f, "the task of the killed worker");
    cf::ErrorInfo info = f.error(kLong);
    EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
    EXPECT_TRUE(contains(info.detail, "signal 15")) << info.detail;
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::BrokenProcessPool);
}

TEST_P(ProcessPoolCrash, IdleWorkerKilledFromOutsideBreaksThePool) {
    cf::ProcessPoolExecutor ex(options(1));
    pid_t worker = pid_of(ex.submit_named("test_process_pool.pid", ""));
    ASSERT_EQ(kill(worker, SIGKILL), 0);
    // Nothing announces when the pool has noticed, so submit (one task at a time) until it refuses. A task
    // accepted before that was handed to the dead worker, the only one: it must fail with BrokenProcessPool.
    std::optional<std::string> refusal;
    eventually([&] {
        cf::FutureBase accepted;
        try {
            accepted = ex.submit_named("test_process_pool.echo", "x");
        } catch (const cf::BrokenProcessPool &e) {
            refusal = e.what();
            return true;
        }
        EXPECT_TRUE(accepted.wait(kLong));
        EXPECT_FALSE(accepted.cancelled());
        if (!accepted.cancelled()) EXPECT_EQ(accepted.error(kLong).status, cf::Status::BrokenProcessPool);
        return false;
    });
    ASSERT_TRUE(refusal.has_value()) << "the pool ignored the death of its worker";
    EXPECT_TRUE(contains(*refusal, std::to_string(worker))) << *refusal;
    EXPECT_TRUE(contains(*refusal, "signal 9")) << *refusal;
}

TEST_P(ProcessPoolCrash, BrokenPoolThroughTheCAbi) {
    Scratch s;
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    OpenAtExit open_gate(s);
    std::string arg = s.gate(0);
    CFuture f;
    ASSERT_EQ(cf_submit(ex.ex, die_segv_task, nullptr, arg.data(), arg.size(), &f.f), CF_OK) << cf_last_error();
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    s.open();
    cf_slice r{};
    EXPECT_EQ(cf_future_result(f.f, kLong, &r), CF_E_BROKEN_PROCESS_POOL);
    cf_error e{};
    ASSERT_EQ(cf_future_exception(f.f, kLong, &e), CF_OK);
    EXPECT_EQ(e.status, CF_E_BROKEN_PROCESS_POOL);
    ASSERT_NE(e.detail, nullptr);
    EXPECT_TRUE(contains(e.detail, std::to_string(worker))) << e.detail;
    EXPECT_TRUE(contains(e.detail, "signal 11")) << e.detail;
    CFuture later;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &later.f), CF_E_BROKEN_PROCESS_POOL);
    EXPECT_EQ(later.f, nullptr);
}

// ---------------------------------------------------------------------------------------------------------------
// Shutdown (test_shutdown.py)

TEST_P(ProcessPoolShutdown, SubmitAfterShutdownIsShutdownError) {
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "x")), "x");
    ex.shutdown(true);
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    EXPECT_THROW(ex.submit_bytes(c_call(echo_task), "x"), cf::ShutdownError);
    EXPECT_THROW(ex.map_bytes(c_call(echo_task), list_source({"x"})), cf::ShutdownError);
}

TEST_P(ProcessPoolShutdown, SubmitAfterShutdownThroughTheCAbi) {
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    ASSERT_EQ(cf_executor_shutdown(ex.ex, 0, 0), CF_OK);
    CFuture f;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &f.f), CF_E_SHUTDOWN);
    EXPECT_EQ(f.f, nullptr);
}

TEST_P(ProcessPoolShutdown, ShutdownIsIdempotentAndNeedsNoWorker) {
    cf::ProcessPoolExecutor ex(options(2));
    ex.shutdown(true);
    ex.shutdown(true);
    ex.shutdown(false, true);
    EXPECT_TRUE(ex.worker_pids().empty());
}

TEST_P(ProcessPoolShutdown, WaitingShutdownRunsEveryQueuedTask) {
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(2));
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 2; ++i) {
        fs.push_back(ex->submit_named("test_process_pool.gate", s.gate(i)));
        ASSERT_TRUE(s.wait_started(i));
    }
    for (int i = 0; i < 20; ++i) fs.push_back(ex->submit_named("test_process_pool.square", std::to_string(i)));
    auto pids = ex->worker_pids();
    Bounded shutdown([ex] { ex->shutdown(true); });
    EXPECT_TRUE(shutdown.still_running()) << "shutdown(wait=true) returned while tasks were running";
    s.open();
    if (!shutdown.finished()) {
        ADD_FAILURE() << "shutdown(wait=true) never returned";
        return;  // the executor is leaked with the thread
    }
    for (int i = 0; i < 2; ++i) EXPECT_EQ(parse_gate_result(text(fs[i])).len, s.gate(i).size());
    for (int i = 0; i < 20; ++i) EXPECT_EQ(text(fs[2 + i]), std::to_string(i * i));
    for (pid_t p : pids) EXPECT_TRUE(process_gone(p));
    delete ex;
}

TEST_P(ProcessPoolShutdown, ShutdownWithoutWaitReturnsAndTasksStillFinish) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase blocked = ex.submit_named("test_process_pool.gate", s.gate(0));
    cf::FutureBase queued = ex.submit_named("test_process_pool.square", "5");
    ASSERT_TRUE(s.wait_started(0));
    ex.shutdown(false);  // must return although a task cannot finish
    EXPECT_FALSE(blocked.done());
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    s.open();
    EXPECT_EQ(parse_gate_result(text(blocked)).len, s.gate(0).size());
    EXPECT_EQ(text(queued), "25");
}

TEST_P(ProcessPoolShutdown, CancelFuturesCancelsWhatHasNotStarted) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    OpenAtExit open_gate(s);
    cf::FutureBase running = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    std::vector<cf::FutureBase> queued;
    for (int i = 0; i < 100; ++i) queued.push_back(ex.submit_named("test_process_pool.square", std::to_string(i)));
    ex.shutdown(false, true);
    EXPECT_FALSE(running.cancelled());
    EXPECT_TRUE(queued.back().cancelled()) << "the last of 100 queued tasks was not cancelled";
    s.open();
    ex.shutdown(true);
    EXPECT_EQ(parse_gate_result(text(running)).len, s.gate(0).size());
    std::size_t cancelled = 0;
    for (int i = 0; i < 100; ++i) {
        if (queued[i].cancelled()) {
            ++cancelled;
            continue;
        }
        ASSERT_TRUE(queued[i].done()) << "future " << i << " neither cancelled nor finished after shutdown";
        EXPECT_EQ(text(queued[i]), std::to_string(i * i));
    }
    EXPECT_GT(cancelled, 0u);
}

TEST_P(ProcessPoolShutdown, DestroyingTheExecutorWaitsForItsTasks) {
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(2));
    cf::FutureBase blocked = ex->submit_named("test_process_pool.gate", s.gate(0));
    cf::FutureBase queued = ex->submit_named("test_process_pool.square", "6");
    ASSERT_TRUE(s.wait_started(0));
    Bounded destroy([ex] { delete ex; });
    EXPECT_TRUE(destroy.still_running()) << "the destructor returned while a task was running";
    s.open();
    if (!destroy.finished()) {
        ADD_FAILURE() << "the destructor never returned";
        return;
    }
    EXPECT_TRUE(blocked.done());
    EXPECT_EQ(parse_gate_result(text(blocked)).len, s.gate(0).size());
    EXPECT_EQ(text(queued), "36");
}

TEST_P(ProcessPoolShutdown, ShutdownFromADoneCallbackDoesNotDeadlock) {
    // The callback runs on the thread that completes futures; a waiting shutdown there must not wait for itself.
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(1));
    cf::FutureBase f = ex->submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    Gate called;
    f.add_done_callback([ex, &called](const cf::FutureBase &) {
        ex->shutdown(true);
        called.open();
    });
    s.open();
    if (!called.wait()) {
        ADD_FAILURE() << "shutdown(wait=true) in a done callback never returned";
        return;
    }
    EXPECT_THROW(ex->submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    Bounded destroy([ex] { delete ex; });
    EXPECT_TRUE(destroy.finished()) << "the destructor hung after a shutdown from a callback";
}

TEST_P(ProcessPoolShutdown, ResultOutlivesTheExecutor) {
    std::string big = pattern(kMiB, 42);
    cf::FutureBase f;
    {
        cf::ProcessPoolExecutor ex(options(1));
        f = ex.submit_named("test_process_pool.echo", big);
        ASSERT_TRUE(f.wait(kLong));
    }
    std::string_view r = f.bytes(0);
    ASSERT_EQ(r.size(), big.size());
    EXPECT_TRUE(r == big) << "the result changed after the executor was destroyed";
    // A result read before the destruction stays readable too.
    cf::FutureBase g;
    std::string_view early;
    {
        cf::ProcessPoolExecutor ex(options(1));
        g = ex.submit_named("test_process_pool.echo", "read early");
        early = g.bytes(kLong);
    }
    EXPECT_EQ(early, "read early");
}

TEST_P(ProcessPoolShutdown, ResultSliceOutlivesCExecutorFree) {
    std::string big = pattern(2 * kMiB, 7);
    cf_executor *ex = c_pool(1);
    ASSERT_NE(ex, nullptr);
    CFuture f;
    ASSERT_EQ(cf_submit_named(ex, "test_process_pool.echo", big.data(), big.size(), &f.f), CF_OK) << cf_last_error();
    cf_slice before{};
    ASSERT_EQ(cf_future_result(f.f, kLong, &before), CF_OK);
    cf_executor_free(ex);
    cf_slice after{};
    ASSERT_EQ(cf_future_result(f.f, 0, &after), CF_OK);
    ASSERT_EQ(after.len, big.size());
    EXPECT_EQ(std::memcmp(after.data, big.data(), big.size()), 0);
    EXPECT_EQ(std::memcmp(before.data, big.data(), big.size()), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// terminate_workers and kill_workers (test_force_shutdown_workers, _stops_pool, _dead_workers, _not_started_yet)

void expect_force_shutdown(cf::ProcessPoolExecutor::Options o, bool kill, const std::string &signal_text) {
    Scratch s;
    o.max_workers = 1;
    cf::ProcessPoolExecutor ex(o);
    OpenAtExit open_gate(s);
    cf::FutureBase running = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    std::vector<cf::FutureBase> queued;
    for (int i = 0; i < 100; ++i) queued.push_back(ex.submit_named("test_process_pool.square", std::to_string(i)));
    if (kill) ex.kill_workers(); else ex.terminate_workers();
    // The running task fails, naming the worker and the signal.
    expect_broken(running, "the running task");
    cf::ErrorInfo info = running.error(kLong);
    EXPECT_TRUE(contains(info.detail, std::to_string(worker))) << info.detail;
    EXPECT_TRUE(contains(info.detail, signal_text)) << info.detail;
    // What never started is cancelled; nothing behind the blocked task ran.
    EXPECT_TRUE(queued.back().cancelled());
    for (std::size_t i = 0; i < queued.size(); ++i) {
        ASSERT_TRUE(queued[i].wait(kLong)) << "future " << i << " never finished";
        if (queued[i].cancelled()) continue;
        EXPECT_EQ(queued[i].error(kLong).status, cf::Status::BrokenProcessPool) << "future " << i;
    }
    // The pool is over: submit says so as after shutdown (not as a broken pool).
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    EXPECT_TRUE(eventually([&] { return process_gone(worker); }));
    EXPECT_TRUE(eventually([&] { return ex.worker_pids().empty(); }));
}

TEST_P(ProcessPoolForceShutdown, TerminateWorkers) { expect_force_shutdown(options(1), false, "signal 15"); }

TEST_P(ProcessPoolForceShutdown, KillWorkers) { expect_force_shutdown(options(1), true, "signal 9"); }

TEST_P(ProcessPoolForceShutdown, KillStopsAnIdlePool) {
    cf::ProcessPoolExecutor ex(options(1));
    pid_t worker = pid_of(ex.submit_named("test_process_pool.pid", ""));
    ex.kill_workers();
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    EXPECT_TRUE(eventually([&] { return process_gone(worker); }));
}

TEST_P(ProcessPoolForceShutdown, BeforeAnyWorkerStarted) {
    cf::ProcessPoolExecutor ex(options(2));
    bool started = !ex.worker_pids().empty();  // fork starts its workers with the pool
    EXPECT_EQ(started, fork_method());
    EXPECT_NO_THROW(ex.terminate_workers());
    EXPECT_NO_THROW(ex.kill_workers());
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "x"), cf::ShutdownError);
    if (!started) EXPECT_TRUE(ex.worker_pids().empty());
}

TEST_P(ProcessPoolForceShutdown, AfterTheWorkersAreGone) {
    cf::ProcessPoolExecutor ex(options(2));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "x")), "x");
    ex.shutdown(true);
    EXPECT_NO_THROW(ex.terminate_workers());
    EXPECT_NO_THROW(ex.kill_workers());
}

TEST_P(ProcessPoolForceShutdown, CAbi) {
    CExecutor ex{c_pool(1)};
    ASSERT_NE(ex.ex, nullptr);
    CFuture f;
    ASSERT_EQ(cf_submit_named(ex.ex, "test_process_pool.pid", nullptr, 0, &f.f), CF_OK);
    cf_slice r{};
    ASSERT_EQ(cf_future_result(f.f, kLong, &r), CF_OK);
    EXPECT_EQ(cf_executor_kill_workers(ex.ex), CF_OK);
    CFuture later;
    EXPECT_EQ(cf_submit_named(ex.ex, "test_process_pool.echo", "x", 1, &later.f), CF_E_SHUTDOWN);
    // On a thread pool both calls are invalid.
    CExecutor threads;
    ASSERT_EQ(cf_thread_pool_new(nullptr, &threads.ex), CF_OK);
    EXPECT_EQ(cf_executor_terminate_workers(threads.ex), CF_E_INVALID_ARGUMENT);
    EXPECT_EQ(cf_executor_kill_workers(threads.ex), CF_E_INVALID_ARGUMENT);
}

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

// ---------------------------------------------------------------------------------------------------------------
// test_deadlock.py: no hang whatever goes wrong where

TEST_P(ProcessPoolDeadlock, CrashDuringAWaitingShutdown) {
    // test_shutdown_deadlock: a worker dies after shutdown(wait=True) was called. Both workers are blocked when
    // the queued tasks arrive, so none of those can run before the pool breaks.
    Scratch s;
    auto *ex = new cf::ProcessPoolExecutor(options(2));
    cf::FutureBase other = ex->submit_named("test_process_pool.sleep", s.sleep_arg(1, 30));
    ASSERT_TRUE(s.wait_started(1));
    cf::FutureBase dying = ex->submit_named("test_process_pool.die_sigkill", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    pid_t worker = s.started_pid(0);
    std::vector<cf::FutureBase> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(ex->submit_named("test_process_pool.echo", std::to_string(i)));
    Bounded shutdown([ex] { ex->shutdown(true); });
    EXPECT_TRUE(shutdown.still_running());
    s.open();
    if (!shutdown.finished()) {
        ADD_FAILURE() << "shutdown(wait=true) hung after a worker died";
        return;
    }
    expect_broken(dying, "the task that died");
    EXPECT_TRUE(contains(dying.error(kLong).detail, std::to_string(worker)));
    expect_broken(other, "the sleeper in the other worker");
    for (std::size_t i = 0; i < queued.size(); ++i) {
        EXPECT_TRUE(queued[i].done());
        EXPECT_FALSE(queued[i].cancelled()) << "queued future " << i << " was cancelled instead of failing";
        if (!queued[i].cancelled()) EXPECT_EQ(queued[i].error(kLong).status, cf::Status::BrokenProcessPool);
    }
    EXPECT_THROW(ex->submit_named("test_process_pool.echo", "x"), cf::BrokenProcessPool);
    delete ex;
}

TEST_P(ProcessPoolDeadlock, CrashWithLargeArgumentsInFlight) {
    // test_crash_big_data: the pool breaks while big arguments wait in shared memory and in submit.
    Scratch s;
    auto o = options(1);
    o.shared_memory_bytes = 16 * kMiB;
    auto *ex = new cf::ProcessPoolExecutor(o);
    cf::FutureBase dying = ex->submit_named("test_process_pool.die_exit3", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    auto fs = std::make_shared<std::vector<cf::FutureBase>>();
    auto refused = std::make_shared<std::atomic<int>>(0);
    // More than the arena holds: the last submits wait for room that only the breakage can end.
    Bounded submit([ex, fs, refused] {
        for (int i = 0; i < 8; ++i) {
            try {
                fs->push_back(ex->submit_named("test_process_pool.checksum", pattern(3 * kMiB, i)));
            } catch (const cf::BrokenProcessPool &) {
                ++*refused;
            }
        }
    });
    EXPECT_TRUE(submit.still_running()) << "eight 3 MiB arguments fitted a 16 MiB arena at once";
    s.open();
    if (!submit.finished()) {
        ADD_FAILURE() << "submit hung after the pool broke";
        return;
    }
    expect_broken(dying, "the task that died");
    EXPECT_GT(refused->load(), 0) << "the submits waiting for room were not released with BrokenProcessPool";
    for (auto &f : *fs) EXPECT_TRUE(f.wait(kLong));
    Bounded destroy([ex] { delete ex; });
    EXPECT_TRUE(destroy.finished());
}

TEST_P(ProcessPoolDeadlock, SubmitStormIntoOneWorker) {
    // gh-105829: many quick submits while the pool is busy completing others must neither lose nor stall a task.
    cf::ProcessPoolExecutor ex(options(1));
    std::vector<std::vector<cf::FutureBase>> per_thread(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 400; ++i) per_thread[t].push_back(ex.submit_named("test_process_pool.nothing", ""));
        });
    for (auto &th : threads) th.join();
    for (auto &v : per_thread)
        for (auto &f : v) EXPECT_EQ(f.error(kLong).status, cf::Status::Ok);
}

TEST_P(ProcessPoolDeadlock, DoneCallbackSubmittingIntoAFullArena) {
    // Done callbacks run on the thread that collects completions. A callback that submits while the arena is full
    // must not wait for room that only that very thread could make (CPython's submit never blocks).
    Scratch s;
    auto o = options(1);
    o.shared_memory_bytes = 4 * kMiB;
    auto *ex = new cf::ProcessPoolExecutor(o);
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < 3; ++i) fs.push_back(ex->submit_named("test_process_pool.gate", s.gate(i, kMiB)));
    ASSERT_TRUE(s.wait_started(0));
    auto follow_ups = std::make_shared<std::vector<cf::FutureBase>>();
    auto error = std::make_shared<std::string>();
    auto called = std::make_shared<Gate>();
    fs[0].add_done_callback([ex, follow_ups, error, called](const cf::FutureBase &) {
        try {
            for (int i = 0; i < 2; ++i)
                follow_ups->push_back(ex->submit_named("test_process_pool.checksum", pattern(kMiB, 77 + i)));
        } catch (const cf::Error &e) {
            *error = e.what();
        }
        called->open();
    });
    s.open();
    if (!called->wait(kLong)) {
        ADD_FAILURE() << "a submit from a done callback waited forever for arena space (the pool is leaked)";
        return;
    }
    for (std::size_t i = 0; i < follow_ups->size(); ++i)
        EXPECT_EQ(text((*follow_ups)[i]), std::to_string(fnv1a(pattern(kMiB, 77 + i))) + "|" + std::to_string(kMiB));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(parse_gate_result(text(fs[i])).len, s.gate(i, kMiB).size());
    EXPECT_EQ(text(ex->submit_named("test_process_pool.echo", "after")), "after");
    delete ex;
}

// ---------------------------------------------------------------------------------------------------------------
// The parent dies: its workers go with it and nothing stays behind in /dev/shm

TEST_P(ProcessPoolParentDeath, WorkersDieWithTheirParent) {
    constexpr int kWorkers = 2;
    Scratch s;
    std::set<std::string> shm_before = dev_shm_names();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    cf::StartMethod method = GetParam();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The child: a pool whose workers sleep, their pids written to the pipe, then wait to be killed.
        close(fds[0]);
        try {
            cf::ProcessPoolExecutor::Options o;
            o.max_workers = kWorkers;
            o.start_method = method;
            auto *ex = new cf::ProcessPoolExecutor(o);  // never destroyed: the process is killed
            auto *fs = new std::vector<cf::FutureBase>;
            for (int i = 0; i < kWorkers; ++i) fs->push_back(ex->submit_named("test_process_pool.sleep", s.sleep_arg(i, 30)));
            std::string line;
            for (int i = 0; i < kWorkers; ++i) {
                if (!eventually([&] { return s.started(i); })) _exit(2);
                line += std::to_string(s.started_pid(i)) + " " + std::to_string(s.started_ppid(i)) + " ";
            }
            line += "\n";
            if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(3);
        } catch (...) {
            _exit(4);
        }
        for (;;) pause();
    }
    close(fds[1]);
    struct KillAtExit {
        pid_t pid;
        bool reaped = false;
        ~KillAtExit() {
            if (reaped) return;
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    } guard{child};
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    char buf[256];
    while (line.find('\n') == std::string::npos && poll(&p, 1, 30000) > 0) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    std::vector<pid_t> workers;
    std::set<pid_t> parents;  // the child itself, or (forkserver) the server it started
    std::istringstream in(line);
    for (long pid, ppid; in >> pid >> ppid;) {
        workers.push_back(static_cast<pid_t>(pid));
        parents.insert(static_cast<pid_t>(ppid));
    }
    ASSERT_EQ(workers.size(), static_cast<std::size_t>(kWorkers)) << "the child did not report its workers";
    for (pid_t w : workers) ASSERT_FALSE(process_gone(w)) << "worker " << w << " died early";
    // The workers' parent: the child itself, or (forkserver) a server. The server is the child's own when the
    // child started it; when this process had started one before the fork, the child inherited the connection to
    // it and shares it, and then that server belongs to this process and must outlive the child.
    std::vector<pid_t> must_die = workers;
    std::vector<pid_t> must_live;
    if (forkserver()) {
        EXPECT_EQ(parents.count(child), 0u);
        for (pid_t server : parents) {
            auto f = stat_fields(server);
            ASSERT_GE(f.size(), 2u);
            pid_t owner = static_cast<pid_t>(std::atol(f[1].c_str()));
            if (owner == child) must_die.push_back(server);
            else if (owner == getpid()) must_live.push_back(server);
            else ADD_FAILURE() << "the forkserver " << server << " belongs to neither the child nor this process";
        }
    } else {
        EXPECT_EQ(parents, std::set<pid_t>{child});
    }

    ASSERT_EQ(kill(child, SIGKILL), 0);
    ASSERT_EQ(waitpid(child, nullptr, 0), child);
    guard.reaped = true;
    auto deadline = Clock::now() + 1s;
    auto all_gone = [&] {
        return std::all_of(must_die.begin(), must_die.end(), [](pid_t p) { return process_gone(p); });
    };
    while (!all_gone() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    for (pid_t p : must_die) EXPECT_TRUE(process_gone(p)) << "process " << p << " outlived the pool's owner by 1 s";
    for (pid_t p : must_live) EXPECT_FALSE(process_gone(p)) << "this process's forkserver died with the child";
    std::set<std::string> shm_after = dev_shm_names();
    std::vector<std::string> added;
    std::set_difference(shm_after.begin(), shm_after.end(), shm_before.begin(), shm_before.end(),
                        std::back_inserter(added));
    EXPECT_TRUE(added.empty()) << "left in /dev/shm: " << (added.empty() ? "" : added.front());
    // Leave nothing of the child's running if the library failed.
    for (pid_t p : must_die)
        if (!process_gone(p)) kill(p, SIGKILL);
    // And this process's own pools still work.
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "after")), "after");
}

// ---------------------------------------------------------------------------------------------------------------
// An idle pool costs nothing

TEST_P(ProcessPoolIdle, IdlePoolUsesNoCpu) {
    constexpr int kWorkers = 2;
    Scratch s;
    cf::ProcessPoolExecutor ex(options(kWorkers));
    OpenAtExit open_gate(s);
    // Both workers take a task at the same time, so that both exist, then a burst of small tasks.
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < kWorkers; ++i) {
        fs.push_back(ex.submit_named("test_process_pool.gate", s.gate(i)));
        ASSERT_TRUE(s.wait_started(i));
    }
    s.open();
    for (int i = 0; i < 200; ++i) fs.push_back(ex.submit_named("test_process_pool.nothing", ""));
    for (auto &f : fs) ASSERT_EQ(f.error(kLong).status, cf::Status::Ok);
    auto workers = ex.worker_pids();
    ASSERT_EQ(workers.size(), static_cast<std::size_t>(kWorkers));
    std::this_thread::sleep_for(100ms);  // let parent and workers settle into their idle wait
    // Everything the pool runs on: this process (its supervisor thread), the workers and, for forkserver, the server.
    std::set<pid_t> processes{getpid()};
    for (pid_t w : workers) {
        processes.insert(w);
        auto f = stat_fields(w);
        if (f.size() > 1) processes.insert(static_cast<pid_t>(std::atol(f[1].c_str())));
    }
    auto total = [&] {
        long t = 0;
        for (pid_t p : processes) t += cpu_ticks(p);
        return t;
    };
    long before = total();
    std::this_thread::sleep_for(1s);
    long used = total() - before;
    EXPECT_LE(used, 5) << "an idle pool of " << kWorkers << " workers used " << used << " clock ticks (of "
                       << sysconf(_SC_CLK_TCK) << " per second) in one second";
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "awake")), "awake");
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting threads collect results themselves (the supervisor only when none does)

TEST_P(ProcessPoolCollectors, ADoneCallbackBlockedOnAnotherResultDoesNotStopIt) {
    // A's callback waits for B's callback. Whichever thread collects A (this one, waiting on B, or the
    // supervisor) runs A's callback and is blocked; B must still be collected by the other. A thread running a
    // callback is no collector while it does: were it still counted, no worker would wake the supervisor.
    Scratch sa, sb;
    cf::ProcessPoolExecutor ex(options(2));
    cf::FutureBase a = ex.submit_named("test_process_pool.gate", sa.gate(0));
    cf::FutureBase b = ex.submit_named("test_process_pool.gate", sb.gate(0));
    auto b_called = std::make_shared<Gate>();
    auto a_called = std::make_shared<Gate>();
    auto a_saw_b = std::make_shared<std::atomic<bool>>(false);
    b.add_done_callback([b_called](const cf::FutureBase &) { b_called->open(); });
    a.add_done_callback([&sb, b_called, a_called, a_saw_b](const cf::FutureBase &) {
        sb.open();
        *a_saw_b = b_called->wait();
        a_called->open();
    });
    // Both run before either ends (forkserver and spawn start the second worker on demand, on the supervisor,
    // which may be the thread that runs A's callback).
    ASSERT_TRUE(sa.wait_started(0));
    ASSERT_TRUE(sb.wait_started(0));
    sa.open();
    EXPECT_EQ(b.error(kLong).status, cf::Status::Ok);
    ASSERT_TRUE(a_called->wait()) << "A's callback never ended";
    EXPECT_TRUE(*a_saw_b) << "B's result was not collected while A's callback ran";
    EXPECT_EQ(a.error(kLong).status, cf::Status::Ok);
}

TEST_P(ProcessPoolCollectors, ManyThreadsWaitingAtOnceEachGetTheirOwnResults) {
    cf::ProcessPoolExecutor ex(options(2));
    constexpr int kThreads = 6, kTrips = 300;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kTrips; ++i) {
                std::string arg = std::to_string(t) + ":" + std::to_string(i);
                try {
                    if (text(ex.submit_named("test_process_pool.echo", arg)) != arg) ++wrong;
                } catch (const std::exception &) {
                    ++wrong;  // a lost wake-up shows as TimeoutError after kLong
                }
            }
        });
    for (auto &th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Dispatch without one lock: submitters go straight to the workers' lanes or, when none can take a task, to the
// queue; shutdown and breakage must still account for every task either way.

CF_PROCESS_POOL_SUITE(ProcessPoolDispatch);

TEST_P(ProcessPoolDispatch, ManySubmittersFillingTheRingsEachGetTheirOwnResults) {
    // Submit everything first, then wait: the rings fill up (the deep path) and tasks queue behind them.
    cf::ProcessPoolExecutor ex(options(3));
    constexpr int kThreads = 4, kTasks = 3000;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            std::vector<cf::FutureBase> fs;
            std::vector<std::string> args;
            for (int i = 0; i < kTasks; ++i) {
                args.push_back(std::to_string(t) + "/" + std::to_string(i));
                fs.push_back(ex.submit_named("test_process_pool.echo", args.back()));
            }
            for (int i = 0; i < kTasks; ++i) {
                try {
                    if (text(fs[static_cast<std::size_t>(i)]) != args[static_cast<std::size_t>(i)]) ++wrong;
                } catch (const std::exception &) {
                    ++wrong;
                }
            }
        });
    for (auto &th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ProcessPoolDispatch, ShutdownAmidConcurrentSubmitsLosesNoTask) {
    // Every submit either throws ShutdownError or returns a future that completes with its own result: a task
    // accepted just as the pool closed must not be left behind by the waiting shutdown.
    cf::ProcessPoolExecutor ex(options(2));
    constexpr int kThreads = 4;
    std::atomic<int> submitted{0}, wrong{0}, refused{0};
    std::vector<std::vector<std::pair<std::string, cf::FutureBase>>> accepted(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0;; ++i) {
                std::string arg = std::to_string(t) + "#" + std::to_string(i);
                try {
                    accepted[static_cast<std::size_t>(t)].emplace_back(arg, ex.submit_named("test_process_pool.echo", arg));
                    ++submitted;
                } catch (const cf::ShutdownError &) {
                    ++refused;
                    return;
                }
            }
        });
    (void)eventually([&] { return submitted.load() >= 400; });  // bounded: a stuck submit fails below
    ex.shutdown(true);
    for (auto &th : threads) th.join();
    EXPECT_EQ(refused.load(), kThreads);
    for (auto &list : accepted)
        for (auto &[arg, f] : list) {
            // Done already: the waiting shutdown returned after every accepted task ended.
            if (!f.done() || text(f) != arg) ++wrong;
        }
    EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ProcessPoolDispatch, AWorkerDeathAmidConcurrentSubmitsEndsEveryFuture) {
    // A crash breaks the pool while other threads submit: each accepted future ends (its result, or
    // BrokenProcessPool), submits after the break are refused with BrokenProcessPool, and nothing hangs.
    cf::ProcessPoolExecutor ex(options(2));
    constexpr int kThreads = 3, kTasks = 1500;
    std::atomic<int> submitted{0}, hung{0}, other{0};
    std::vector<std::vector<cf::FutureBase>> accepted(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kTasks; ++i) {
                try {
                    accepted[static_cast<std::size_t>(t)].push_back(
                        ex.submit_named("test_process_pool.echo", std::to_string(i)));
                    ++submitted;
                } catch (const cf::BrokenProcessPool &) {
                    return;
                }
            }
        });
    (void)eventually([&] { return submitted.load() >= 200; });  // bounded: a stuck submit fails below
    cf::FutureBase crash = ex.submit_named("test_process_pool.die_now", "");
    EXPECT_EQ(crash.error(kLong).status, cf::Status::BrokenProcessPool);
    for (auto &th : threads) th.join();
    EXPECT_THROW(ex.submit_named("test_process_pool.echo", "late"), cf::BrokenProcessPool);
    for (auto &list : accepted)
        for (auto &f : list) {
            cf::ErrorInfo e = f.error(kLong);
            if (e.status == cf::Status::Timeout) ++hung;
            else if (e.status != cf::Status::Ok && e.status != cf::Status::BrokenProcessPool) ++other;
        }
    EXPECT_EQ(hung.load(), 0);
    EXPECT_EQ(other.load(), 0);
}

TEST_P(ProcessPoolCollectors, AWaitOverTwoPoolsSeesTheResultsOfBoth) {
    // The wait collects from the first pool; the second pool's results arrive through its supervisor, and must
    // still wake the waiting thread.
    CExecutor first, second;
    first.ex = c_pool(1);
    second.ex = c_pool(1);
    ASSERT_TRUE(first.ex && second.ex);
    Scratch s;
    std::vector<CFuture> fs(2);
    std::string gate = s.gate(0);
    ASSERT_EQ(cf_submit_named(first.ex, "test_process_pool.gate", gate.data(), gate.size(), &fs[0].f), CF_OK)
        << cf_last_error();
    ASSERT_EQ(cf_submit_named(second.ex, "test_process_pool.echo", "two", 3, &fs[1].f), CF_OK) << cf_last_error();
    cf_future *both[] = {fs[0].f, fs[1].f};
    size_t n_done = 0;
    ASSERT_EQ(cf_wait(both, 2, kLong, CF_FIRST_COMPLETED, nullptr, &n_done), CF_OK) << cf_last_error();
    EXPECT_EQ(n_done, 1u) << "the second pool's result did not end the wait";
    EXPECT_EQ(cf_future_done(fs[1].f), 1);
    s.open();
    ASSERT_EQ(cf_wait(both, 2, kLong, CF_ALL_COMPLETED, nullptr, &n_done), CF_OK) << cf_last_error();
    EXPECT_EQ(n_done, 2u);
}

TEST_P(ProcessPoolCollectors, AWaitWithATimeoutEndsWhileTheTaskRuns) {
    Scratch s;
    cf::ProcessPoolExecutor ex(options(1));
    cf::FutureBase f = ex.submit_named("test_process_pool.gate", s.gate(0));
    ASSERT_TRUE(s.wait_started(0));
    EXPECT_FALSE(f.wait(0.05)) << "a running task's future was done";
    EXPECT_THROW(f.bytes(0.01), cf::TimeoutError);
    s.open();
    EXPECT_TRUE(f.wait(kLong));
}

}  // namespace
