// SPDX-License-Identifier: MIT
// What the process-pool benchmarks share: their tasks (registered with CF_TASK, so that every start method's
// workers find them), the C ABI calls they make, each checked (a failure ends the benchmark with the library's
// error), and the timing helpers. Include it in one file per program.
#pragma once

#include <cfutures/cfutures.h>

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.hpp"

namespace pbench {

// ---- the tasks, registered by name so that worker processes find them

inline int empty_task(cf_task_ctx *, const void *, size_t, void *) { return CF_OK; }

inline int echo_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }

inline std::uint64_t read_u64(const void *p, std::size_t len) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, len < sizeof v ? len : sizeof v);
    return v;
}

// A dependent chain of xorshift steps: no closed form, no vectorisation, about as many cycles each time.
inline std::uint64_t churn(std::uint64_t steps) {
    std::uint64_t x = 88172645463325252ull;
    for (std::uint64_t i = 0; i < steps; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

inline int churn_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::uint64_t x = churn(read_u64(arg, len));
    return cf_task_return(ctx, &x, sizeof x);
}

}  // namespace pbench

CF_TASK("bench.empty", pbench::empty_task);
CF_TASK("bench.echo", pbench::echo_task);
CF_TASK("bench.churn", pbench::churn_task);

namespace pbench {

constexpr double kPatience = 600.0;  // seconds: a wait longer than this is reported as a hang

[[noreturn]] inline void die(const char *where, int rc) {
    std::fprintf(stderr, "bench: %s failed: %s (%s)\n", where, cf_status_name(rc), cf_last_error());
    std::exit(1);
}

inline void check(int rc, const char *where) {
    if (rc != CF_OK) die(where, rc);
}

inline cf_executor *new_pool(std::size_t workers, cf_start_method method, std::size_t shm_bytes = 0) {
    cf_process_pool_options o;
    cf_process_pool_options_init(&o);
    o.max_workers = workers;
    o.start_method = method;
    o.shared_memory_bytes = shm_bytes;
    cf_executor *ex = nullptr;
    check(cf_process_pool_new(&o, &ex), "cf_process_pool_new");
    return ex;
}

inline cf_future *submit(cf_executor *ex, cf_task_fn fn, const void *arg, std::size_t len) {
    cf_future *f = nullptr;
    check(cf_submit(ex, fn, nullptr, arg, len, &f), "cf_submit");
    return f;
}

inline cf_slice result_of(cf_future *f, const char *where) {
    cf_slice r{};
    int rc = cf_future_result(f, kPatience, &r);
    if (rc != CF_OK) die(where, rc);
    return r;
}

inline void wait_all(std::vector<cf_future *> &fs, const char *where) {
    check(cf_wait(fs.data(), fs.size(), kPatience, CF_ALL_COMPLETED, nullptr, nullptr), where);
}

// After the clock has stopped: every future must have succeeded; then they are released.
inline void check_and_release_all(std::vector<cf_future *> &fs, const char *where) {
    for (cf_future *f : fs) {
        cf_slice r;
        int rc = cf_future_result(f, 0, &r);
        if (rc != CF_OK) die(where, rc);
        cf_future_release(f);
    }
    fs.clear();
}

template <class F>
inline double best_of(int runs, F f) {
    double best = 1e300;
    for (int i = 0; i < runs; ++i) best = std::min(best, f());
    return best;
}

inline double median(std::vector<double> v) { return bench::percentile(std::move(v), 0.5); }

// CPU time (user + system) this process has used so far, all its threads but none of its children (ms).
inline double own_cpu_ms() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto ms = [](const timeval &t) {
        return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
    };
    return ms(u.ru_utime) + ms(u.ru_stime);
}

// What a short-lived pool costs, whole: start, one empty task, shutdown (median of `starts`, ms). `where`
// prefixes the error messages.
inline double start_to_shutdown_ms(std::size_t workers, cf_start_method method, std::size_t starts,
                                   const char *where) {
    std::string what = std::string(where) + " the new pool's task";
    std::vector<double> ms;
    for (std::size_t i = 0; i < starts; ++i) {
        double t0 = bench::now_us();
        cf_executor *ex = new_pool(workers, method);
        cf_future *f = submit(ex, empty_task, nullptr, 0);
        result_of(f, what.c_str());
        cf_future_release(f);
        check(cf_executor_shutdown(ex, 1, 0), "cf_executor_shutdown");
        cf_executor_free(ex);
        ms.push_back((bench::now_us() - t0) / 1e3);
    }
    return median(ms);
}

// A payload of n bytes echoed back by a pool of `workers` with room for it: the median seconds of `runs` round
// trips after one warm-up (which faults the shared pages in). The echo must come back unchanged.
inline double echo_seconds(std::size_t workers, std::size_t n, int runs, const char *where) {
    cf_executor *ex = new_pool(workers, CF_START_FORK, std::size_t(512) << 20);
    std::vector<unsigned char> payload(n);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<unsigned char>(i * 131 + (i >> 12));
    std::vector<double> seconds;
    for (int run = 0; run <= runs; ++run) {
        double t0 = bench::now_us();
        cf_future *f = submit(ex, echo_task, payload.data(), payload.size());
        cf_slice r = result_of(f, where);
        double t = (bench::now_us() - t0) / 1e6;
        if (r.len != payload.size() || std::memcmp(r.data, payload.data(), r.len) != 0) {
            std::fprintf(stderr, "bench: %s: the echoed payload differs from the argument\n", where);
            std::exit(1);
        }
        cf_future_release(f);
        if (run > 0) seconds.push_back(t);
    }
    cf_executor_free(ex);
    return median(seconds);
}

// The number of xorshift steps that take about target_us here (best of five probes).
inline std::uint64_t calibrate_churn_steps(double target_us, double *per_step_us = nullptr) {
    volatile std::uint64_t sink = 0;
    double per_step = best_of(5, [&] {
        const std::uint64_t probe = 1u << 20;
        double t0 = bench::now_us();
        sink = sink + churn(probe);
        return (bench::now_us() - t0) / static_cast<double>(probe);
    });
    if (per_step_us) *per_step_us = per_step;
    return static_cast<std::uint64_t>(target_us / per_step);
}

}  // namespace pbench
