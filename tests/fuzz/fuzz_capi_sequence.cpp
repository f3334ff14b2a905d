// SPDX-License-Identifier: MIT
// fuzz_capi_sequence: programs of C ABI calls (include/cfutures/cfutures.h) with random arguments.
//
// The input is a program: each step is an opcode byte and its operands, run over a small table of handles
// (8 futures, 4 as_completed iterators, 2 executors, 4 map iterators). Arguments include NULL for every pointer,
// enum values outside their enumerators, NaN / negative / infinite / huge timeouts, options structs with a wrong
// struct_size, huge lengths with NULL pointers, and handles of the wrong type (a future passed as an executor,
// and so on). Freed handles are never passed again (out of scope: the table forgets a handle when it frees it).
//
// Nothing may block forever, by construction: a wait that could last forever (timeout negative, infinite or
// beyond a century) is only made when every future it waits for either is done already or comes from a thread
// pool (whose trivial tasks always end). Futures made by cf_future_new are completed only by this thread.
// Process pools are never created: cf_process_pool_new is only called with arguments it must refuse (and the
// harness aborts if it accepts them). Every handle is released at the end of each input (LeakSanitizer checks).
#include <fuzzer/FuzzedDataProvider.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cfutures/cfutures.h"

#include "fuzz_check.hpp"

namespace {

constexpr std::size_t kFutures = 8, kIters = 4, kExecutors = 2, kMaps = 4;
constexpr std::size_t kHuge = std::numeric_limits<std::size_t>::max();

std::atomic<std::uint64_t> g_callbacks{0};

// Bugs this target found (tests/fuzz/README.md, "Findings") are fixed; FUZZ_AVOID_KNOWN_BUGS=1 avoids them by
// construction again, to fuzz a tree that predates the fixes.
bool known_bugs() {
    static const bool on = std::getenv("FUZZ_AVOID_KNOWN_BUGS") == nullptr;
    return on;
}

// ---- tasks (run on pool threads; they touch nothing of the harness)

int task_echo(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }
int task_raise(cf_task_ctx *ctx, const void *, size_t len, void *) {
    return cf_task_raise(ctx, len % 2 ? "ValueError" : "", len % 3 ? "odd" : nullptr);
}
int task_code(cf_task_ctx *, const void *, size_t len, void *) { return static_cast<int>(len % 5) - 2; }
int task_buffer(cf_task_ctx *ctx, const void *, size_t len, void *) {
    // Sometimes an impossible size: must fail cleanly (NULL), not crash.
    std::size_t want = len % 4 == 3 ? kHuge : len * 3;
    void *p = cf_task_return_buffer(ctx, want);
    if (p) std::memset(p, 'b', want);
    return p ? CF_OK : CF_E_NO_MEMORY;
}
int task_misuse(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    // The task API with bad arguments from inside a task.
    FUZZ_CHECK(cf_task_return(ctx, nullptr, 5) == CF_E_INVALID_ARGUMENT);
    FUZZ_CHECK(cf_task_return(nullptr, arg, len) == CF_E_INVALID_ARGUMENT);
    FUZZ_CHECK(cf_task_return_buffer(nullptr, 4) == nullptr);
    FUZZ_CHECK(cf_task_cancel_requested(nullptr) == 0);
    (void)cf_task_cancel_requested(ctx);
    if (len % 2) return cf_task_raise(ctx, nullptr, "no type");
    return cf_task_return(ctx, arg, len);
}
int task_slow(cf_task_ctx *ctx, const void *, size_t, void *) {
    for (int i = 0; i < 20 && !cf_task_cancel_requested(ctx); ++i) usleep(50);
    return CF_OK;
}
const cf_task_fn kTasks[] = {task_echo, task_raise, task_code, task_buffer, task_misuse, task_slow};
constexpr std::size_t kNumTasks = sizeof kTasks / sizeof kTasks[0];

int init_ok(cf_task_ctx *, const void *, size_t, void *) { return CF_OK; }
int init_fails(cf_task_ctx *ctx, const void *, size_t, void *) { return cf_task_raise(ctx, "InitError", "no"); }

void on_done(cf_future *f, void *user_data) {
    // Runs on the completing thread, or now: the future is done; reading it again must be fine.
    static_cast<std::atomic<std::uint64_t> *>(user_data)->fetch_add(1);
    FUZZ_CHECK(cf_future_done(f) == 1);
    cf_slice s;
    (void)cf_future_result(f, 0, &s);
    (void)cf_future_cancel(f);
}

// A cf_arg_source over a few generated arguments, ending in CF_DONE or a bad status.
struct Source {
    std::vector<std::string> items;
    std::size_t next = 0;
    int end_status = CF_DONE;
    bool null_with_length = false;
};
int source_fn(void *state, cf_slice *out) {
    auto *s = static_cast<Source *>(state);
    if (s->next == s->items.size()) {
        if (s->null_with_length && s->end_status != CF_DONE) {
            *out = cf_slice{nullptr, 3};
            return CF_OK;
        }
        return s->end_status;
    }
    const std::string &item = s->items[s->next++];
    *out = cf_slice{item.data(), item.size()};
    return CF_OK;
}

struct MapArgs {  // what a map iterator reads until it is freed
    std::vector<std::string> items;
    std::vector<cf_slice> slices;
    Source source;
};

}  // namespace

// fuzz_capi_shim.c: enum arguments and fields set from any int, as a C caller may.
extern "C" int fuzz_shim_wait(cf_future *const *fs, size_t n, double timeout, int when, unsigned char *done,
                              size_t *n_done);
extern "C" void fuzz_shim_set_start_method(cf_process_pool_options *o, int method);

namespace {

class Program {
public:
    explicit Program(FuzzedDataProvider &p) : p_(p) {}

    ~Program() {
        // Iterators first (they hold references), then executors (shut down, waiting), then futures.
        for (auto &it : iters_) cf_as_completed_free(it);
        for (auto &m : maps_) cf_map_free(m);
        for (auto &e : executors_) cf_executor_free(e);
        for (std::size_t i = 0; i < kFutures; ++i) {
            // Leave no callback unrun: a manual future still pending is cancelled before it goes.
            if (futures_[i] && !cf_future_done(futures_[i]) && cf_future_cancel(futures_[i]) == 0)
                FUZZ_CHECK(cf_future_set_result(futures_[i], "end", 3) == CF_OK);  // it was running
            FUZZ_CHECK(!futures_[i] || cf_future_done(futures_[i]) == 1);
            cf_future_release(futures_[i]);
        }
    }

    void run() {
        for (int step = 0; step < 48 && p_.remaining_bytes() > 0; ++step) this->step();
    }

private:
    // ---- operand helpers

    cf_future *&future_slot() { return futures_[p_.ConsumeIntegralInRange<std::size_t>(0, kFutures - 1)]; }

    // A future argument: mostly a table entry (maybe NULL), sometimes a handle of another type.
    cf_future *future_arg() {
        switch (p_.ConsumeIntegralInRange<int>(0, 15)) {
            case 0: return nullptr;
            case 1: return reinterpret_cast<cf_future *>(any_other_handle(0));
            default: return future_slot();
        }
    }
    cf_executor *executor_arg() {
        switch (p_.ConsumeIntegralInRange<int>(0, 11)) {
            case 0: return nullptr;
            case 1: return reinterpret_cast<cf_executor *>(any_other_handle(1));
            default: return executors_[p_.ConsumeIntegralInRange<std::size_t>(0, kExecutors - 1)];
        }
    }
    cf_as_completed_iter *iter_arg() {
        switch (p_.ConsumeIntegralInRange<int>(0, 11)) {
            case 0: return nullptr;
            case 1: return reinterpret_cast<cf_as_completed_iter *>(any_other_handle(2));
            default: return iters_[p_.ConsumeIntegralInRange<std::size_t>(0, kIters - 1)];
        }
    }
    cf_map_iter *map_arg() {
        switch (p_.ConsumeIntegralInRange<int>(0, 11)) {
            case 0: return nullptr;
            case 1: return reinterpret_cast<cf_map_iter *>(any_other_handle(3));
            default: return maps_[p_.ConsumeIntegralInRange<std::size_t>(0, kMaps - 1)];
        }
    }
    // A live handle of a type other than `not_kind` (0 future, 1 executor, 2 as_completed, 3 map), or NULL.
    void *any_other_handle(int not_kind) {
        int kind = p_.ConsumeIntegralInRange<int>(0, 3);
        if (kind == not_kind) kind = (kind + 1) % 4;
        switch (kind) {
            case 0: return futures_[p_.ConsumeIntegralInRange<std::size_t>(0, kFutures - 1)];
            case 1: return executors_[p_.ConsumeIntegralInRange<std::size_t>(0, kExecutors - 1)];
            case 2: return iters_[p_.ConsumeIntegralInRange<std::size_t>(0, kIters - 1)];
            default: return maps_[p_.ConsumeIntegralInRange<std::size_t>(0, kMaps - 1)];
        }
    }

    bool is_future_handle(const cf_future *f) const {
        if (!f) return false;
        for (std::size_t i = 0; i < kFutures; ++i)
            if (futures_[i] == f) return true;
        return false;
    }
    // Known bug (tests/fuzz/README.md, crashes/capi-threadpool-break-cancelled-future): when a thread pool's
    // initializer fails, ThreadPool::break_pool calls set_failure on every queued future, which throws (and
    // terminates the process) for one the caller has cancelled meanwhile (fixed). With FUZZ_AVOID_KNOWN_BUGS, futures of a pool
    // whose initializer fails are never cancelled or completed by the harness (no cf_future_cancel, set_result or
    // set_exception on them, no cf_map on such a pool).
    bool breaking(const void *h) const {
        if (!h || known_bugs()) return false;
        for (std::size_t i = 0; i < kExecutors; ++i)
            if (executors_[i] == h) return executor_breaks_[i];
        for (std::size_t i = 0; i < kFutures; ++i)
            if (futures_[i] == h) return future_breaks_[i];
        return false;
    }
    // Known bug (README "Findings" 5): a thread pool's queued future completed by the caller (cf_future_set_result
    // / set_exception, which the C ABI accepts on any future) makes the pool thread's set_running_or_notify_cancel
    // throw out of worker_main: std::terminate (fixed; avoided with FUZZ_AVOID_KNOWN_BUGS).
    bool completes_pool_future(const cf_future *f) const { return !known_bugs() && pooled(f); }
    bool pooled(const cf_future *f) const {
        for (std::size_t i = 0; i < kFutures; ++i)
            if (futures_[i] == f) return pooled_[i];
        return false;
    }
    // May a wait on f last forever? Only when f cannot stay pending: done, or a thread-pool task.
    bool may_wait_forever(cf_future *f) const { return !is_future_handle(f) || pooled(f) || cf_future_done(f); }

    // Timeouts: the bounded ones always; the unbounded ones (forever) only when allowed.
    double timeout(bool forever_allowed) {
        static const double bounded[] = {std::nan(""), 0.0, -0.0, 1e-4, 5e-324, 2e-4};
        static const double forever[] = {-1.0, -std::numeric_limits<double>::infinity(),
                                         std::numeric_limits<double>::infinity(), 1e300,
                                         std::numeric_limits<double>::max(), 3.0e9 + 1, -1e-300};
        constexpr std::size_t nb = sizeof bounded / sizeof bounded[0], nf = sizeof forever / sizeof forever[0];
        std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, nb + nf - 1);
        if (k < nb) return bounded[k];
        return forever_allowed ? forever[k - nb] : 0.0;
    }

    // A subset of the future table (duplicates allowed), and whether waiting on all of it forever is safe.
    std::vector<cf_future *> subset(bool &forever_ok) {
        std::size_t n = p_.ConsumeIntegralInRange<std::size_t>(0, 6);
        std::vector<cf_future *> fs;
        forever_ok = true;
        for (std::size_t i = 0; i < n; ++i) {
            cf_future *f = future_arg();
            fs.push_back(f);
            forever_ok = forever_ok && may_wait_forever(f);
        }
        return fs;
    }

    // Bytes for an argument; sometimes NULL with a length (must be refused).
    struct Bytes {
        std::string owned;
        const void *data;
        std::size_t len;
    };
    Bytes bytes() {
        Bytes b;
        b.owned = p_.ConsumeRandomLengthString(64);
        b.data = b.owned.data();
        b.len = b.owned.size();
        switch (p_.ConsumeIntegralInRange<int>(0, 7)) {
            case 0: b.data = nullptr; b.len = kHuge; break;
            case 1: b.data = nullptr; b.len = p_.ConsumeIntegral<std::size_t>(); break;
            case 2: b.data = nullptr; b.len = 0; break;
            default: break;
        }
        return b;
    }

    const char *maybe_string(std::string &storage, std::size_t max) {
        storage = p_.ConsumeRandomLengthString(max);
        return p_.ConsumeIntegralInRange<int>(0, 4) == 0 ? nullptr : storage.c_str();
    }

    void put_future(cf_future *f, bool is_pooled, bool breaks = false) {
        std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kFutures - 1);
        future_breaks_[k] = breaks;
        if (futures_[k] && !pooled_[k] && !cf_future_done(futures_[k])) cf_future_cancel(futures_[k]);
        cf_future_release(futures_[k]);
        futures_[k] = f;
        pooled_[k] = is_pooled;
    }

    // ---- the steps

    void step() {
        switch (p_.ConsumeIntegralInRange<int>(0, 30)) {
            case 0: {  // cf_future_new
                cf_future *f = nullptr;
                if (p_.ConsumeIntegralInRange<int>(0, 9) == 0) {
                    FUZZ_CHECK(cf_future_new(nullptr) == CF_E_INVALID_ARGUMENT);
                    break;
                }
                FUZZ_CHECK(cf_future_new(&f) == CF_OK && f);
                FUZZ_CHECK(cf_future_get_state(f) == CF_PENDING);
                put_future(f, false);
                break;
            }
            case 1: {  // release (a pending manual future is cancelled first: nobody else could finish it)
                std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kFutures - 1);
                if (futures_[k] && !pooled_[k] && !cf_future_done(futures_[k])) cf_future_cancel(futures_[k]);
                cf_future_release(futures_[k]);
                futures_[k] = nullptr;
                cf_future_release(nullptr);
                break;
            }
            case 2: {  // retain + release pair, and a wrong handle
                cf_future *f = future_arg();
                if (is_future_handle(f)) {
                    cf_future_retain(f);
                    cf_future_release(f);
                } else {
                    cf_future_retain(f);  // NULL or another type: ignored
                    cf_future_release(f);
                }
                break;
            }
            case 3: {  // set_result (also on a pool's future, unless FUZZ_AVOID_KNOWN_BUGS: see completes_pool_future)
                cf_future *f = future_arg();
                if (completes_pool_future(f)) break;
                Bytes b = bytes();
                int rc = cf_future_set_result(f, b.data, b.len);
                if (!is_future_handle(f) || (!b.data && b.len)) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                else FUZZ_CHECK(rc == CF_OK || rc == CF_E_INVALID_STATE);
                break;
            }
            case 4: {  // set_exception
                cf_future *f = future_arg();
                if (completes_pool_future(f)) break;
                std::string t, m;
                const char *type = maybe_string(t, 32);
                const char *msg = maybe_string(m, 64);
                int rc = cf_future_set_exception(f, type, msg);
                if (!is_future_handle(f) || !type) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                else FUZZ_CHECK(rc == CF_OK || rc == CF_E_INVALID_STATE);
                break;
            }
            case 5: {  // cancel
                cf_future *f = future_arg();
                if (breaking(f)) break;
                int rc = cf_future_cancel(f);
                if (!is_future_handle(f)) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                else FUZZ_CHECK(rc == 0 || rc == 1);
                if (rc == 1) FUZZ_CHECK(cf_future_cancelled(f) == 1 && cf_future_done(f) == 1);
                break;
            }
            case 6: {  // set_running_or_notify_cancel (never on a pool's future: the pool owns those)
                cf_future *f = future_arg();
                if (pooled(f)) break;
                int rc = cf_future_set_running_or_notify_cancel(f);
                FUZZ_CHECK(rc == 1 || rc == 0 || rc == CF_E_INVALID_STATE || rc == CF_E_INVALID_ARGUMENT);
                if (rc == 1) FUZZ_CHECK(cf_future_running(f) == 1);
                break;
            }
            case 7: {  // predicates
                cf_future *f = future_arg();
                cf_future_state s = cf_future_get_state(f);
                int raw;
                std::memcpy(&raw, &s, sizeof raw);
                if (!is_future_handle(f)) {
                    FUZZ_CHECK(raw == CF_FUTURE_INVALID);
                    FUZZ_CHECK(cf_future_done(f) == 0 && cf_future_running(f) == 0 && cf_future_cancelled(f) == 0);
                } else {
                    FUZZ_CHECK(raw >= CF_PENDING && raw <= CF_FINISHED);
                }
                break;
            }
            case 8: {  // result
                cf_future *f = future_arg();
                double t = timeout(may_wait_forever(f));
                cf_slice s{nullptr, 0};
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 7) == 0;
                int rc = cf_future_result(f, t, null_out ? nullptr : &s);
                if (!is_future_handle(f) || null_out || std::isnan(t)) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                if (rc == CF_OK && s.len) {
                    volatile char c = static_cast<const char *>(s.data)[s.len - 1];  // the slice is readable
                    (void)c;
                }
                break;
            }
            case 9: {  // exception
                cf_future *f = future_arg();
                double t = timeout(may_wait_forever(f));
                cf_error e;
                std::memset(&e, 0x5a, sizeof e);
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 7) == 0;
                int rc = cf_future_exception(f, t, null_out ? nullptr : &e);
                if (!is_future_handle(f) || null_out || std::isnan(t)) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                if (rc == CF_OK && e.status != CF_OK) {
                    FUZZ_CHECK(e.type && e.message && e.detail);
                    (void)std::strlen(e.type), (void)std::strlen(e.message), (void)std::strlen(e.detail);
                }
                break;
            }
            case 10: {  // add_done_callback
                cf_future *f = future_arg();
                bool null_fn = p_.ConsumeIntegralInRange<int>(0, 7) == 0;
                int rc = cf_future_add_done_callback(f, null_fn ? nullptr : on_done, &g_callbacks);
                if (!is_future_handle(f) || null_fn) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                else FUZZ_CHECK(rc == CF_OK);
                break;
            }
            case 11: {  // wait
                bool forever_ok;
                std::vector<cf_future *> fs = subset(forever_ok);
                std::size_t n = fs.size();
                cf_future *const *arr = fs.data();
                int shape = p_.ConsumeIntegralInRange<int>(0, 7);
                if (shape == 0) { arr = nullptr; n = kHuge; }
                else if (shape == 1) { arr = nullptr; n = 0; }
                else if (shape == 2) { arr = nullptr; n = p_.ConsumeIntegral<std::size_t>(); }
                static const int whens[] = {CF_ALL_COMPLETED, CF_FIRST_COMPLETED, CF_FIRST_EXCEPTION, 3, -1,
                                            0x7FFFFFFF, INT32_MIN, 1000};
                int when = whens[p_.ConsumeIntegralInRange<std::size_t>(0, 7)];
                double t = timeout(forever_ok && arr != nullptr);
                std::vector<unsigned char> done(fs.size() + 1, 0xEE);
                std::size_t n_done = 12345;
                bool with_done = p_.ConsumeBool(), with_n = p_.ConsumeBool();
                int rc = fuzz_shim_wait(arr, n, t, when, with_done ? done.data() : nullptr,
                                 with_n ? &n_done : nullptr);
                bool bad = (n && !arr) || std::isnan(t) || when < 0 || when > 2;
                for (std::size_t i = 0; arr && i < n; ++i) bad = bad || !is_future_handle(arr[i]);
                if (bad) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                else FUZZ_CHECK(rc == CF_OK || rc == CF_E_TIMEOUT);
                if (rc == CF_OK || rc == CF_E_TIMEOUT) {
                    if (with_done)
                        for (std::size_t i = 0; i < n; ++i) FUZZ_CHECK(done[i] <= 1);
                    if (with_n) FUZZ_CHECK(n_done <= n);
                }
                break;
            }
            case 12: {  // as_completed
                bool forever_ok;
                std::vector<cf_future *> fs = subset(forever_ok);
                std::size_t n = fs.size();
                cf_future *const *arr = fs.data();
                int shape = p_.ConsumeIntegralInRange<int>(0, 7);
                if (shape == 0) { arr = nullptr; n = kHuge; }
                else if (shape == 1) { arr = nullptr; n = 0; }
                double t = timeout(forever_ok);
                std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kIters - 1);
                cf_as_completed_iter *it = nullptr;
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 7) == 0;
                int rc = cf_as_completed(arr, n, t, null_out ? nullptr : &it);
                if (null_out || (n && !arr) || std::isnan(t)) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                if (rc == CF_OK) {
                    cf_as_completed_free(iters_[k]);
                    iters_[k] = it;
                }
                break;
            }
            case 13: {  // as_completed_next
                cf_as_completed_iter *it = iter_arg();
                cf_future *f = reinterpret_cast<cf_future *>(0x1);
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 7) == 0;
                int rc = cf_as_completed_next(it, null_out ? nullptr : &f);
                FUZZ_CHECK(rc == CF_OK || rc == CF_DONE || rc == CF_E_TIMEOUT || rc == CF_E_INVALID_ARGUMENT);
                if (rc == CF_OK) FUZZ_CHECK(cf_future_done(f) == 1);
                break;
            }
            case 14: {  // as_completed_free
                std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kIters - 1);
                cf_as_completed_free(iters_[k]);
                iters_[k] = nullptr;
                cf_as_completed_free(nullptr);
                break;
            }
            case 15: {  // cf_thread_pool_new
                cf_thread_pool_options o;
                cf_thread_pool_options_init(&o);
                o.max_workers = p_.ConsumeIntegralInRange<std::size_t>(1, 2);
                std::string prefix;
                o.thread_name_prefix = maybe_string(prefix, 40);
                if (p_.ConsumeBool()) {
                    o.initializer = p_.ConsumeBool() ? init_ok : init_fails;
                    o.initarg = "x";
                    o.initarg_len = 1;
                }
                bool expect_fail = false;
                switch (p_.ConsumeIntegralInRange<int>(0, 9)) {
                    case 0: o.struct_size = p_.ConsumeIntegralInRange<std::size_t>(0, sizeof o - 1); break;
                    case 1: o.struct_size = sizeof o + p_.ConsumeIntegralInRange<std::size_t>(1, 64); break;
                    case 2: o.max_workers = 65537 + p_.ConsumeIntegralInRange<std::size_t>(0, 1000); expect_fail = true; break;
                    case 3: o.initarg = nullptr; o.initarg_len = kHuge; expect_fail = true; break;
                    default: break;
                }
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                bool null_opts = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                bool breaks = o.initializer == init_fails && !null_opts;
                std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kExecutors - 1);
                cf_executor *ex = nullptr;
                int rc;
                if (o.struct_size > sizeof o) {
                    // A newer caller's larger struct: the extra bytes must be ignored, not read past our copy.
                    auto big = std::make_unique<unsigned char[]>(o.struct_size);
                    std::memset(big.get(), 0, o.struct_size);
                    std::memcpy(big.get(), &o, sizeof o);
                    rc = cf_thread_pool_new(reinterpret_cast<cf_thread_pool_options *>(big.get()), null_out ? nullptr : &ex);
                } else {
                    rc = cf_thread_pool_new(null_opts ? nullptr : &o, null_out ? nullptr : &ex);
                }
                if (null_out || (expect_fail && !null_opts)) FUZZ_CHECK(rc != CF_OK);
                if (rc == CF_OK) {
                    FUZZ_CHECK(ex);
                    cf_executor_free(executors_[k]);
                    executors_[k] = ex;
                    executor_breaks_[k] = breaks;
                }
                break;
            }
            case 16: {  // cf_submit
                cf_executor *ex = executor_arg();
                bool null_fn = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                cf_task_fn fn = kTasks[p_.ConsumeIntegralInRange<std::size_t>(0, kNumTasks - 1)];
                Bytes b = bytes();
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                cf_future *f = nullptr;
                // Half the time through cf_submit_ex, with a time limit that may be none, short, or invalid.
                bool with_options = p_.ConsumeBool(), bad_options = false;
                cf_submit_options so;
                cf_submit_options_init(&so);
                if (with_options) {
                    static const double limits[] = {-1.0, 0.0, 0.0005, 0.01, 1e9, INFINITY, NAN};
                    so.time_limit = limits[p_.ConsumeIntegralInRange<std::size_t>(0, 6)];
                    if (p_.ConsumeIntegralInRange<int>(0, 7) == 0) so.struct_size = p_.ConsumeIntegralInRange<std::size_t>(0, 15);
                    bad_options = std::isnan(so.time_limit) || so.struct_size < sizeof so;
                }
                int rc = with_options
                             ? cf_submit_ex(ex, null_fn ? nullptr : fn, nullptr, b.data, b.len, &so, null_out ? nullptr : &f)
                             : cf_submit(ex, null_fn ? nullptr : fn, nullptr, b.data, b.len, null_out ? nullptr : &f);
                if (null_fn || null_out || (!b.data && b.len) || !ex || bad_options) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT || (bad_options && rc != CF_OK));
                if (rc == CF_OK) {
                    FUZZ_CHECK(f);
                    put_future(f, true, breaking(ex));
                } else {
                    FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT || rc == CF_E_SHUTDOWN || rc == CF_E_BROKEN_THREAD_POOL);
                }
                break;
            }
            case 17: {  // cf_submit_named (nothing is registered under these names but "fz.echo")
                cf_executor *ex = executor_arg();
                std::string n;
                const char *name = maybe_string(n, 16);
                if (p_.ConsumeBool()) name = "fz.echo";
                Bytes b = bytes();
                cf_future *f = nullptr;
                int rc = cf_submit_named(ex, name, b.data, b.len, &f);
                if (rc == CF_OK) put_future(f, true, breaking(ex));
                else FUZZ_CHECK(rc < 0);
                break;
            }
            case 18: {  // shutdown
                cf_executor *ex = executor_arg();
                int wait = p_.ConsumeIntegral<int>(), cancel = p_.ConsumeIntegral<int>();
                int rc = cf_executor_shutdown(ex, wait, cancel);
                FUZZ_CHECK(rc == CF_OK || rc == CF_E_INVALID_ARGUMENT);
                break;
            }
            case 19: {  // terminate / kill: a thread pool refuses
                cf_executor *ex = executor_arg();
                int rc = p_.ConsumeBool() ? cf_executor_terminate_workers(ex) : cf_executor_kill_workers(ex);
                FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                break;
            }
            case 20: {  // executor_free
                std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kExecutors - 1);
                cf_executor_free(executors_[k]);
                executors_[k] = nullptr;
                cf_executor_free(nullptr);
                break;
            }
            case 21: {  // cf_map / cf_map_source
                cf_executor *ex = executor_arg();
                if (breaking(ex)) break;  // cf_map_free cancels: see breaking()
                auto args = std::make_unique<MapArgs>();
                std::size_t n = p_.ConsumeIntegralInRange<std::size_t>(0, 8);
                for (std::size_t i = 0; i < n; ++i) args->items.push_back(p_.ConsumeRandomLengthString(32));
                for (const std::string &s : args->items) args->slices.push_back(cf_slice{s.data(), s.size()});
                if (!args->slices.empty() && p_.ConsumeIntegralInRange<int>(0, 7) == 0)
                    args->slices.back() = cf_slice{nullptr, 9};  // NULL data with a length: refused
                cf_map_options o;
                cf_map_options_init(&o);
                static const std::size_t chunks[] = {1, 0, 2, 3, kHuge, kHuge / 2 + 1};
                o.chunksize = chunks[p_.ConsumeIntegralInRange<std::size_t>(0, 5)];
                o.buffersize = p_.ConsumeBool() ? p_.ConsumeIntegralInRange<std::size_t>(0, 3) : kHuge;
                o.unordered = p_.ConsumeIntegral<int>();
                o.timeout = timeout(true);  // the tasks of a thread pool always end
                if (p_.ConsumeIntegralInRange<int>(0, 9) == 0) o.struct_size = p_.ConsumeIntegralInRange<std::size_t>(0, sizeof o - 1);
                bool null_opts = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                cf_task_fn fn = p_.ConsumeIntegralInRange<int>(0, 9) == 0
                                    ? nullptr
                                    : kTasks[p_.ConsumeIntegralInRange<std::size_t>(0, kNumTasks - 1)];
                cf_map_iter *it = nullptr;
                int rc;
                if (p_.ConsumeBool()) {
                    const cf_slice *arr = args->slices.data();
                    std::size_t count = args->slices.size();
                    if (p_.ConsumeIntegralInRange<int>(0, 7) == 0) { arr = nullptr; count = p_.ConsumeBool() ? kHuge : 0; }
                    rc = cf_map(ex, fn, nullptr, arr, count, null_opts ? nullptr : &o, null_out ? nullptr : &it);
                } else {
                    Source &s = args->source;
                    s.items = args->items;
                    static const int ends[] = {CF_DONE, CF_DONE, CF_E_TIMEOUT, 7, -1000, CF_OK};
                    s.end_status = ends[p_.ConsumeIntegralInRange<std::size_t>(0, 5)];
                    if (s.end_status == CF_OK) s.end_status = CF_DONE;
                    s.null_with_length = p_.ConsumeBool();
                    // Known bug (README "Findings" 4): an unordered map whose source fails while cf_map_source
                    // submits leaves its waiter registered on chunks already submitted: use after free.
                    if (o.unordered && !known_bugs()) {
                        s.end_status = CF_DONE;
                        s.null_with_length = false;
                    }
                    bool null_source = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                    rc = cf_map_source(ex, fn, nullptr, null_source ? nullptr : source_fn, &s,
                                       null_opts ? nullptr : &o, null_out ? nullptr : &it);
                }
                if (null_out || !fn || !ex) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                if (rc == CF_OK) {
                    FUZZ_CHECK(it);
                    std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kMaps - 1);
                    cf_map_free(maps_[k]);
                    maps_[k] = it;
                    map_args_[k] = std::move(args);
                }
                break;
            }
            case 22: {  // map_next (a few times)
                cf_map_iter *it = map_arg();
                int times = p_.ConsumeIntegralInRange<int>(1, 4);
                for (int i = 0; i < times; ++i) {
                    cf_slice s{nullptr, 0};
                    bool null_out = p_.ConsumeIntegralInRange<int>(0, 9) == 0;
                    int rc = cf_map_next(it, null_out ? nullptr : &s);
                    FUZZ_CHECK(rc <= CF_DONE);
                    if (rc == CF_OK && s.len) {
                        volatile char c = static_cast<const char *>(s.data)[s.len - 1];
                        (void)c;
                    }
                    if (rc < 0 && rc != CF_E_INVALID_ARGUMENT) {
                        cf_error e;
                        if (cf_map_error(it, &e) == CF_OK && e.status != CF_OK)
                            FUZZ_CHECK(e.type && e.message && e.detail);
                    }
                }
                break;
            }
            case 23: {  // map_error
                cf_map_iter *it = map_arg();
                cf_error e;
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 5) == 0;
                int rc = cf_map_error(it, null_out ? nullptr : &e);
                if (null_out || !it) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                if (rc == CF_OK && e.status != CF_OK) FUZZ_CHECK(e.type && e.message && e.detail);
                break;
            }
            case 24: {  // map_free
                std::size_t k = p_.ConsumeIntegralInRange<std::size_t>(0, kMaps - 1);
                cf_map_free(maps_[k]);
                maps_[k] = nullptr;
                cf_map_free(nullptr);
                break;
            }
            case 25: {  // cf_process_pool_new with arguments it must refuse (no process is ever started)
                cf_process_pool_options o;
                cf_process_pool_options_init(&o);
                o.max_workers = 1;
                switch (p_.ConsumeIntegralInRange<int>(0, 4)) {
                    case 0: o.struct_size = p_.ConsumeIntegralInRange<std::size_t>(0, 16); break;
                    case 1: {
                        static const int bad[] = {4, 5, -1, 0x7FFFFFFF, INT32_MIN, 1 << 20};
                        fuzz_shim_set_start_method(&o, bad[p_.ConsumeIntegralInRange<std::size_t>(0, 5)]);
                        break;
                    }
                    case 2: o.initarg = nullptr; o.initarg_len = p_.ConsumeIntegralInRange<std::size_t>(1, kHuge); break;
                    case 3: o.max_workers = 4097 + p_.ConsumeIntegralInRange<std::size_t>(0, 1u << 20); break;
                    default:
                        // (fork with max_tasks_per_child was refused here until fork pools got a server of their own)
                        if (p_.ConsumeBool())
                            o.on_worker_death = static_cast<cf_worker_death>(p_.ConsumeIntegralInRange<int>(2, 1 << 20));
                        else
                            o.restart_period = std::nan("");
                        break;
                }
                cf_executor *ex = nullptr;
                int rc = cf_process_pool_new(&o, p_.ConsumeIntegralInRange<int>(0, 7) == 0 ? nullptr : &ex);
                if (rc == CF_OK) {
                    std::fprintf(stderr, "cf_process_pool_new accepted invalid options\n");
                    cf_executor_free(ex);
                    std::abort();
                }
                FUZZ_CHECK(ex == nullptr);
                break;
            }
            case 26: {  // status names and texts for any int
                int s = p_.ConsumeIntegral<int>();
                FUZZ_CHECK(cf_status_name(s) && cf_strerror(s) && cf_last_error());
                (void)std::strlen(cf_status_name(s));
                (void)std::strlen(cf_strerror(s));
                FUZZ_CHECK(cf_version() == CF_VERSION_NUMBER);
                cf_thread_pool_options_init(nullptr);
                cf_process_pool_options_init(nullptr);
                cf_map_options_init(nullptr);
                break;
            }
            case 27: {  // the task API outside any task
                FUZZ_CHECK(cf_task_return(nullptr, nullptr, kHuge) == CF_E_INVALID_ARGUMENT);
                FUZZ_CHECK(cf_task_return_buffer(nullptr, kHuge) == nullptr);
                FUZZ_CHECK(cf_task_raise(nullptr, "T", "m") == CF_E_INVALID_ARGUMENT);
                FUZZ_CHECK(cf_task_cancel_requested(nullptr) == 0);
                // A handle of another type passed as a task context.
                void *other = any_other_handle(-1);
                if (other) {
                    auto *ctx = reinterpret_cast<cf_task_ctx *>(other);
                    FUZZ_CHECK(cf_task_return(ctx, "x", 1) == CF_E_INVALID_ARGUMENT);
                    FUZZ_CHECK(cf_task_cancel_requested(ctx) == 0);
                }
                break;
            }
            case 28: {  // registry: a small fixed set of names, so the registry does not grow without bound
                static const char *const names[] = {"fz.echo", "fz.raise", "fz.code", nullptr, ""};
                const char *name = names[p_.ConsumeIntegralInRange<std::size_t>(0, 4)];
                bool null_fn = p_.ConsumeIntegralInRange<int>(0, 5) == 0;
                cf_task_fn fn = kTasks[p_.ConsumeIntegralInRange<std::size_t>(0, 2)];
                int rc = cf_task_register(name, null_fn ? nullptr : fn, nullptr);
                if (!name || null_fn) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                break;
            }
            case 29: {  // statistics, with any struct_size
                cf_executor *ex = executor_arg();
                cf_executor_stats s{};
                s.struct_size = p_.ConsumeBool() ? sizeof s : p_.ConsumeIntegralInRange<std::size_t>(0, 2 * sizeof s);
                bool null_out = p_.ConsumeIntegralInRange<int>(0, 7) == 0;
                int rc = cf_executor_stats_get(ex, null_out ? nullptr : &s);
                FUZZ_CHECK(rc == CF_OK || rc == CF_E_INVALID_ARGUMENT);
                if (null_out || !ex) FUZZ_CHECK(rc == CF_E_INVALID_ARGUMENT);
                break;
            }
            default: {  // a few steps of waiting on a pool: let tasks run, then look at the table
                usleep(static_cast<useconds_t>(p_.ConsumeIntegralInRange<int>(0, 200)));
                for (std::size_t i = 0; i < kFutures; ++i)
                    if (futures_[i]) (void)cf_future_get_state(futures_[i]);
                break;
            }
        }
    }

    FuzzedDataProvider &p_;
    cf_future *futures_[kFutures] = {};
    bool pooled_[kFutures] = {};
    bool future_breaks_[kFutures] = {};
    bool executor_breaks_[kExecutors] = {};
    cf_as_completed_iter *iters_[kIters] = {};
    cf_executor *executors_[kExecutors] = {};
    cf_map_iter *maps_[kMaps] = {};
    std::unique_ptr<MapArgs> map_args_[kMaps];
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    cf_task_register("fz.echo", task_echo, nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    FuzzedDataProvider p(data, size);
    {
        Program program(p);
        program.run();
    }
    return 0;
}
