// SPDX-License-Identifier: MIT
// Thread pools side by side: libcfutures (through its C ABI), boost::asio::thread_pool with std::packaged_task,
// and CPython's ThreadPoolExecutor (bench/peers/cpython_thread_pool.py), on the same workloads in one run:
//   1. N empty tasks: submit all, then wait for all (µs per task)
//   2. single round trips: submit, then result() (median and p99 µs)
//   3. map over small items with chunksize 1 and 256 (µs per item)
// Usage: thread_pool_bench [workers] [tasks] [round_trips] [map_items]
#include <cfutures/cfutures.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cmath>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace {

int empty_task(cf_task_ctx *, const void *, size_t, void *) { return CF_OK; }
int echo_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }

struct Figures {
    double throughput_us, rt_median_us, rt_p99_us, map1_us, map256_us;
};

template <class F>
double best_of(int runs, F f) {
    double best = 1e300;
    for (int i = 0; i < runs; ++i) best = std::min(best, f());
    return best;
}

Figures run_cfutures(std::size_t workers, std::size_t n_tasks, std::size_t n_rt, std::size_t n_map) {
    Figures out{};
    cf_thread_pool_options o;
    cf_thread_pool_options_init(&o);
    o.max_workers = workers;
    cf_executor *ex;
    if (cf_thread_pool_new(&o, &ex) != CF_OK) std::abort();
    std::vector<cf_future *> fs(n_tasks);
    out.throughput_us = best_of(3, [&] {
        double t0 = bench::now_us();
        for (auto &f : fs) cf_submit(ex, empty_task, nullptr, nullptr, 0, &f);
        cf_wait(fs.data(), fs.size(), CF_FOREVER, CF_ALL_COMPLETED, nullptr, nullptr);
        double t = (bench::now_us() - t0) / static_cast<double>(n_tasks);
        for (auto f : fs) cf_future_release(f);
        return t;
    });
    auto samples = bench::time_each(n_rt, [&] {
        cf_future *f;
        cf_slice r;
        cf_submit(ex, empty_task, nullptr, nullptr, 0, &f);
        cf_future_result(f, CF_FOREVER, &r);
        cf_future_release(f);
    });
    out.rt_median_us = bench::percentile(samples, 0.5);
    out.rt_p99_us = bench::percentile(samples, 0.99);
    std::vector<cf_slice> items(n_map, cf_slice{"xxxxxxxx", 8});
    for (std::size_t chunk : {std::size_t(1), std::size_t(256)}) {
        double per_item = best_of(3, [&] {
            cf_map_options mo;
            cf_map_options_init(&mo);
            mo.chunksize = chunk;
            double t0 = bench::now_us();
            cf_map_iter *it;
            cf_map(ex, echo_task, nullptr, items.data(), items.size(), &mo, &it);
            cf_slice r;
            while (cf_map_next(it, &r) == CF_OK) {
            }
            cf_map_free(it);
            return (bench::now_us() - t0) / static_cast<double>(n_map);
        });
        (chunk == 1 ? out.map1_us : out.map256_us) = per_item;
    }
    cf_executor_free(ex);
    return out;
}

Figures run_asio(std::size_t workers, std::size_t n_tasks, std::size_t n_rt) {
    Figures out{};
    out.map1_us = out.map256_us = NAN;  // asio has no map
    boost::asio::thread_pool pool(workers);
    out.throughput_us = best_of(3, [&] {
        std::vector<std::future<void>> fs;
        fs.reserve(n_tasks);
        double t0 = bench::now_us();
        for (std::size_t i = 0; i < n_tasks; ++i) {
            std::packaged_task<void()> task([] {});
            fs.push_back(task.get_future());
            boost::asio::post(pool, std::move(task));
        }
        for (auto &f : fs) f.wait();
        return (bench::now_us() - t0) / static_cast<double>(n_tasks);
    });
    auto samples = bench::time_each(n_rt, [&] {
        std::packaged_task<void()> task([] {});
        auto f = task.get_future();
        boost::asio::post(pool, std::move(task));
        f.get();
    });
    out.rt_median_us = bench::percentile(samples, 0.5);
    out.rt_p99_us = bench::percentile(samples, 0.99);
    pool.join();
    return out;
}


}  // namespace

int main(int argc, char **argv) {
    std::size_t workers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : std::thread::hardware_concurrency();
    std::size_t n_tasks = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000;
    std::size_t n_rt = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2000;
    std::size_t n_map = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 100000;
    std::printf("thread pools, %zu workers each: %zu empty tasks, %zu round trips, map over %zu items\n", workers,
                n_tasks, n_rt, n_map);

    Figures ours = run_cfutures(workers, n_tasks, n_rt, n_map);
    Figures asio = run_asio(workers, n_tasks, n_rt);
    auto py = bench::run_peer("python3 " + bench::peer_script(argv[0], "cpython_thread_pool.py") + " " +
                              std::to_string(workers) + " " + std::to_string(n_tasks) + " " + std::to_string(n_rt) +
                              " " + std::to_string(n_map));
    auto get = [&py](const char *k) { return py.count(k) ? py[k] : NAN; };

    bench::print_table({"boost::asio + packaged_task", "CPython ThreadPoolExecutor"},
                       {
                           {"empty task, submit all then wait (µs/task)", ours.throughput_us,
                            {asio.throughput_us, get("throughput_us")}},
                           {"round trip submit+result, median (µs)", ours.rt_median_us,
                            {asio.rt_median_us, get("rt_median_us")}},
                           {"round trip submit+result, p99 (µs)", ours.rt_p99_us, {asio.rt_p99_us, get("rt_p99_us")}},
                           {"map chunksize 1 (µs/item)", ours.map1_us, {asio.map1_us, get("map1_us")}},
                           {"map chunksize 256 (µs/item)", ours.map256_us, {asio.map256_us, get("map256_us")}},
                       });
    return 0;
}
