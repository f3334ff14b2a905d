// SPDX-License-Identifier: MIT
// The tasks the process-pool tests submit, each a plain cf_task_fn registered by name at load time (CF_TASK) in
// this one file, so that every test process and every worker (forked, served or spawned) knows the same set.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <cfutures/cfutures.h>

#include "process_pool_test_support.hpp"

namespace cftest {

std::string g_initialized;

namespace {

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

}  // namespace

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

}  // namespace cftest
