// SPDX-License-Identifier: MIT
// The C++ API's own costs on a thread pool (cf::ThreadPoolExecutor, typed futures), beside the C ABI underneath
// it and boost::asio with std::packaged_task, in one run:
//   1. N empty callables returning an int: submit all, then result() of each (µs per task)
//   2. single round trips: submit a callable, then result() (median and p99 µs)
//   3. the same two through the C ABI (cf_submit, cf_future_result) with an empty C task
// The C++ API is header-only over the C ABI: rows 1-2 against 3 are what the C++ layer costs.
// Usage: cpp_api_bench [workers] [tasks] [round_trips]
#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace {

int empty_task(cf_task_ctx *, const void *, size_t, void *) { return CF_OK; }

// The least of `runs` measurements: the one least disturbed by the rest of the machine.
template <class F>
double best_of(int runs, F f) {
    double best = f();
    for (int i = 1; i < runs; ++i) best = std::min(best, f());
    return best;
}

struct Row {
    double per_task_us, rt_median_us, rt_p99_us;
};

template <class SubmitAll, class RoundTrip>
Row measure(std::size_t tasks, std::size_t round_trips, SubmitAll submit_all, RoundTrip round_trip) {
    Row r{};
    r.per_task_us = best_of(5, [&] {
        double t0 = bench::now_us();
        submit_all(tasks);
        return (bench::now_us() - t0) / static_cast<double>(tasks);
    });
    std::vector<double> samples;
    for (std::size_t i = 0; i < round_trips; ++i) {
        double t0 = bench::now_us();
        round_trip();
        samples.push_back(bench::now_us() - t0);
    }
    r.rt_median_us = bench::percentile(samples, 0.5);
    r.rt_p99_us = bench::percentile(samples, 0.99);
    return r;
}

}  // namespace

int main(int argc, char **argv) {
    std::size_t workers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : std::thread::hardware_concurrency();
    std::size_t tasks = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000;
    std::size_t round_trips = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 5000;

    cf::ThreadPoolExecutor::Options o;
    o.max_workers = workers;
    cf::ThreadPoolExecutor pool(o);
    Row cpp = measure(
        tasks, round_trips,
        [&](std::size_t n) {
            std::vector<cf::Future<int>> fs;
            fs.reserve(n);
            for (std::size_t i = 0; i < n; ++i) fs.push_back(pool.submit([] { return 1; }));
            long sum = 0;
            for (auto &f : fs) sum += f.result();
            if (sum != static_cast<long>(n)) std::abort();
        },
        [&] {
            if (pool.submit([] { return 7; }).result() != 7) std::abort();
        });

    cf_thread_pool_options co;
    cf_thread_pool_options_init(&co);
    co.max_workers = workers;
    cf_executor *ex = nullptr;
    if (cf_thread_pool_new(&co, &ex) != CF_OK) std::abort();
    Row c = measure(
        tasks, round_trips,
        [&](std::size_t n) {
            std::vector<cf_future *> fs(n);
            for (auto &f : fs)
                if (cf_submit(ex, empty_task, nullptr, nullptr, 0, &f) != CF_OK) std::abort();
            for (auto *f : fs) {
                cf_slice s;
                if (cf_future_result(f, CF_FOREVER, &s) != CF_OK) std::abort();
                cf_future_release(f);
            }
        },
        [&] {
            cf_future *f = nullptr;
            cf_slice s;
            if (cf_submit(ex, empty_task, nullptr, nullptr, 0, &f) != CF_OK) std::abort();
            if (cf_future_result(f, CF_FOREVER, &s) != CF_OK) std::abort();
            cf_future_release(f);
        });
    cf_executor_free(ex);

    boost::asio::thread_pool asio(workers);
    Row a = measure(
        tasks, round_trips,
        [&](std::size_t n) {
            std::vector<std::future<int>> fs;
            fs.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                std::packaged_task<int()> t([] { return 1; });
                fs.push_back(t.get_future());
                boost::asio::post(asio, std::move(t));
            }
            long sum = 0;
            for (auto &f : fs) sum += f.get();
            if (sum != static_cast<long>(n)) std::abort();
        },
        [&] {
            std::packaged_task<int()> t([] { return 7; });
            auto f = t.get_future();
            boost::asio::post(asio, std::move(t));
            if (f.get() != 7) std::abort();
        });
    asio.join();

    std::printf("C++ API on a %zu-thread pool: %zu tasks, %zu round trips\n\n", workers, tasks, round_trips);
    std::printf("| | cf::ThreadPoolExecutor (C++) | C ABI (cf_submit) | boost::asio + packaged_task |\n");
    std::printf("|---|---|---|---|\n");
    std::printf("| empty task, submit all then result() (µs/task) | %.3f | %.3f | %.3f |\n", cpp.per_task_us,
                c.per_task_us, a.per_task_us);
    std::printf("| round trip submit + result(), median (µs) | %.2f | %.2f | %.2f |\n", cpp.rt_median_us,
                c.rt_median_us, a.rt_median_us);
    std::printf("| round trip, p99 (µs) | %.2f | %.2f | %.2f |\n", cpp.rt_p99_us, c.rt_p99_us, a.rt_p99_us);
    return 0;
}
