// SPDX-License-Identifier: MIT
// Process pools side by side: libcfutures (through its C ABI, tasks registered with CF_TASK) and CPython's
// ProcessPoolExecutor with the fork context (bench/peers/cpython_process_pool.py), on the same workloads in one
// run. Both use the fork start method and the same number of workers unless a workload says otherwise.
//   a. N empty tasks: submit all, then wait for all (µs per task)
//   b. single round trips: submit, then result() (median and p99 µs)
//   c. map over small items with chunksize 256 (µs per item)
//   d. one large bytes argument echoed back (MB/s: payload bytes / round-trip time)
//   e. pool start + one task + shutdown, fork, forkserver and spawn (median ms; both libraries keep their fork
//      server for the program's life, so only the first forkserver pool pays for starting it)
//   f. 1,000 CPU-bound tasks of about 1 ms on the pool against the same tasks run one after another in the
//      calling process (speed-up); each library against its own sequential run, since a 1 ms task in C and a
//      1 ms task in pure Python are each calibrated in their own language
//   g. the six primes of the Python docs' ProcessPoolExecutor example, sequentially and on the pool (speed-up,
//      again against the library's own sequential run: C's trial division is not CPython's)
// Usage: process_pool_bench [workers] [tasks] [round_trips] [map_items]
#include <cfutures/cfutures.h>

#include <sys/resource.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <atomic>
#include <vector>

#include "bench_util.hpp"
#include "process_bench_util.hpp"

namespace {

using namespace pbench;

// The Python docs' is_prime, trial division by every odd number up to the square root.
bool is_prime(std::uint64_t n) {
    if (n < 2) return false;
    if (n == 2) return true;
    if (n % 2 == 0) return false;
    auto root = static_cast<std::uint64_t>(std::floor(std::sqrt(static_cast<double>(n))));
    for (std::uint64_t i = 3; i <= root; i += 2)
        if (n % i == 0) return false;
    return true;
}

int is_prime_task(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    unsigned char verdict = is_prime(read_u64(arg, len)) ? 1 : 0;
    return cf_task_return(ctx, &verdict, 1);
}

}  // namespace

CF_TASK("bench.is_prime", is_prime_task);

namespace {

struct Figures {
    double throughput_us = NAN, rt_median_us = NAN, rt_p99_us = NAN, map256_us = NAN, echo_mb_s = NAN;
    double start_fork_ms = NAN, start_forkserver_ms = NAN, start_spawn_ms = NAN;
    double cpu_seq_ms = NAN, cpu_pool_ms = NAN, cpu_caller_ms = NAN, primes_seq_ms = NAN, primes_pool_ms = NAN;
    double primes_threads_ms = NAN;
};

struct Sizes {
    std::size_t workers, tasks, round_trips, map_items, payload, starts, cpu_tasks;
};

// (a), (b), (c) on one pool with default shared memory.
void small_tasks(const Sizes &n, Figures &out) {
    cf_executor *ex = new_pool(n.workers, CF_START_FORK);
    {
        cf_future *f = submit(ex, empty_task, nullptr, 0);  // the first task starts the workers; not timed
        result_of(f, "warm-up task");
        cf_future_release(f);
    }
    std::vector<cf_future *> fs;
    fs.reserve(n.tasks);
    out.throughput_us = best_of(3, [&] {
        double t0 = bench::now_us();
        for (std::size_t i = 0; i < n.tasks; ++i) fs.push_back(submit(ex, empty_task, nullptr, 0));
        wait_all(fs, "(a) wait for the empty tasks");
        double t = (bench::now_us() - t0) / static_cast<double>(n.tasks);
        check_and_release_all(fs, "(a) an empty task");
        return t;
    });

    std::vector<double> samples;
    samples.reserve(n.round_trips);
    for (std::size_t i = 0; i < n.round_trips; ++i) {
        double t0 = bench::now_us();
        cf_future *f = submit(ex, empty_task, nullptr, 0);
        result_of(f, "(b) round trip");
        cf_future_release(f);
        samples.push_back(bench::now_us() - t0);
    }
    out.rt_median_us = bench::percentile(samples, 0.5);
    out.rt_p99_us = bench::percentile(samples, 0.99);

    std::vector<std::string> payloads(n.map_items);
    std::vector<cf_slice> items(n.map_items);
    for (std::size_t i = 0; i < n.map_items; ++i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08zu", i % 100000000);
        payloads[i] = buf;
        items[i] = cf_slice{payloads[i].data(), payloads[i].size()};
    }
    out.map256_us = best_of(3, [&] {
        cf_map_options mo;
        cf_map_options_init(&mo);
        mo.chunksize = 256;
        mo.timeout = kPatience;
        double t0 = bench::now_us();
        cf_map_iter *it = nullptr;
        check(cf_map(ex, echo_task, nullptr, items.data(), items.size(), &mo, &it), "(c) cf_map");
        cf_slice r;
        std::size_t k = 0;
        int rc;
        while ((rc = cf_map_next(it, &r)) == CF_OK) {
            if (k >= items.size() || r.len != items[k].len || std::memcmp(r.data, items[k].data, r.len) != 0) {
                std::fprintf(stderr, "process_pool_bench: (c) map result %zu is wrong\n", k);
                std::exit(1);
            }
            ++k;
        }
        if (rc != CF_DONE) die("(c) cf_map_next", rc);
        if (k != items.size()) {
            std::fprintf(stderr, "process_pool_bench: (c) map gave %zu results for %zu items\n", k, items.size());
            std::exit(1);
        }
        double t = (bench::now_us() - t0) / static_cast<double>(n.map_items);
        cf_map_free(it);
        return t;
    });
    cf_executor_free(ex);
}

// (d): a large argument there and back, on a pool with room for it.
void large_payload(const Sizes &n, Figures &out) {
    out.echo_mb_s = static_cast<double>(n.payload) / 1e6 / echo_seconds(n.workers, n.payload, 5, "(d) echo");
}

// (e): what a short-lived pool costs, whole.

// (f): CPU-bound tasks of about 1 ms: sequentially here, then on the pool (started before the clock runs).
void cpu_bound(const Sizes &n, Figures &out) {
    // Calibrate the number of steps that take 1 ms on this machine.
    volatile std::uint64_t sink = 0;
    double per_step_us = 0;
    const std::uint64_t steps = calibrate_churn_steps(1000.0, &per_step_us);
    const std::uint64_t expected = churn(steps);

    out.cpu_seq_ms = best_of(3, [&] {
        double t0 = bench::now_us();
        for (std::size_t i = 0; i < n.cpu_tasks; ++i) sink = sink + churn(steps);
        return (bench::now_us() - t0) / 1e3;
    });

    cf_executor *ex = new_pool(n.workers, CF_START_FORK);
    {
        cf_future *f = submit(ex, empty_task, nullptr, 0);
        result_of(f, "(f) warm-up task");
        cf_future_release(f);
    }
    std::vector<cf_future *> fs;
    fs.reserve(n.cpu_tasks);
    double caller_cpu = 0;
    out.cpu_pool_ms = best_of(3, [&] {
        double cpu0 = own_cpu_ms();
        double t0 = bench::now_us();
        for (std::size_t i = 0; i < n.cpu_tasks; ++i) fs.push_back(submit(ex, churn_task, &steps, sizeof steps));
        wait_all(fs, "(f) wait for the CPU-bound tasks");
        double t = (bench::now_us() - t0) / 1e3;
        caller_cpu += own_cpu_ms() - cpu0;
        for (cf_future *f : fs) {
            cf_slice r = result_of(f, "(f) result");
            if (r.len != sizeof expected || read_u64(r.data, r.len) != expected) {
                std::fprintf(stderr, "process_pool_bench: (f) a CPU-bound task returned a wrong result\n");
                std::exit(1);
            }
        }
        check_and_release_all(fs, "(f) a CPU-bound task");
        return t;
    });
    out.cpu_caller_ms = caller_cpu / 3;
    cf_executor_free(ex);
    std::printf("(f) one task = %llu xorshift steps (%.3f ms calibrated)\n", static_cast<unsigned long long>(steps),
                static_cast<double>(steps) * per_step_us / 1e3);
}

// (g): the Python docs' example, sequentially and with map on a pool made and shut down inside the clock, as
// the docs' `with ProcessPoolExecutor() as executor:` block does.
void primes(const Sizes &n, Figures &out) {
    static const std::uint64_t kPrimes[] = {112272535095293ull, 112582705942171ull, 112272535095293ull,
                                            115280095190773ull, 115797848077099ull, 1099726899285419ull};
    static const bool kExpected[] = {true, true, true, true, true, false};
    constexpr std::size_t kCount = sizeof kPrimes / sizeof kPrimes[0];
    out.primes_seq_ms = best_of(3, [&] {
        double t0 = bench::now_us();
        for (std::size_t i = 0; i < kCount; ++i)
            if (is_prime(kPrimes[i]) != kExpected[i]) {
                std::fprintf(stderr, "process_pool_bench: (g) is_prime is wrong\n");
                std::exit(1);
            }
        return (bench::now_us() - t0) / 1e3;
    });
    // The machine's own ceiling for this split: the same tasks on as many plain threads in this process, each
    // taking the next task in order (the pool's dispatch order), with no pool, no processes and no start-up.
    out.primes_threads_ms = best_of(3, [&] {
        std::atomic<std::size_t> next{0};
        std::atomic<bool> wrong{false};
        double t0 = bench::now_us();
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < n.workers; ++t)
            threads.emplace_back([&] {
                for (std::size_t i; (i = next.fetch_add(1)) < kCount;)
                    if (is_prime(kPrimes[i]) != kExpected[i]) wrong = true;
            });
        for (auto &t : threads) t.join();
        if (wrong) {
            std::fprintf(stderr, "process_pool_bench: (g) is_prime on a thread is wrong\n");
            std::exit(1);
        }
        return (bench::now_us() - t0) / 1e3;
    });
    cf_slice args[kCount];
    for (std::size_t i = 0; i < kCount; ++i) args[i] = cf_slice{&kPrimes[i], sizeof kPrimes[i]};
    out.primes_pool_ms = best_of(3, [&] {
        double t0 = bench::now_us();
        cf_executor *ex = new_pool(n.workers, CF_START_FORK);
        cf_map_options mo;
        cf_map_options_init(&mo);
        mo.timeout = kPatience;
        cf_map_iter *it = nullptr;
        check(cf_map(ex, is_prime_task, nullptr, args, kCount, &mo, &it), "(g) cf_map");
        cf_slice r;
        std::size_t k = 0;
        int rc;
        while ((rc = cf_map_next(it, &r)) == CF_OK) {
            if (k >= kCount || r.len != 1 || (static_cast<const unsigned char *>(r.data)[0] != 0) != kExpected[k]) {
                std::fprintf(stderr, "process_pool_bench: (g) the pool's verdict on %zu is wrong\n", k);
                std::exit(1);
            }
            ++k;
        }
        if (rc != CF_DONE) die("(g) cf_map_next", rc);
        cf_map_free(it);
        cf_executor_free(ex);
        return (bench::now_us() - t0) / 1e3;
    });
}


}  // namespace

int main(int argc, char **argv) {
    // In a worker started with the spawn method this serves tasks and never returns.
    cf_process_worker_entry();

    Sizes n{};
    n.workers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2;
    n.tasks = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20000;
    n.round_trips = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2000;
    n.map_items = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 100000;
    n.payload = std::size_t(64) << 20;
    n.starts = 10;
    n.cpu_tasks = 1000;
    std::printf("process pools (fork unless stated), %zu workers each: %zu empty tasks, %zu round trips, map over "
                "%zu items, a %zu MiB echo, %zu pool starts per start method, %zu CPU-bound tasks of ~1 ms, the six "
                "primes\n",
                n.workers, n.tasks, n.round_trips, n.map_items, n.payload >> 20, n.starts, n.cpu_tasks);
    std::fflush(stdout);

    Figures ours;
    small_tasks(n, ours);
    large_payload(n, ours);
    ours.start_fork_ms = start_to_shutdown_ms(n.workers, CF_START_FORK, n.starts, "(e)");
    ours.start_forkserver_ms = start_to_shutdown_ms(n.workers, CF_START_FORKSERVER, n.starts, "(e)");
    ours.start_spawn_ms = start_to_shutdown_ms(n.workers, CF_START_SPAWN, n.starts, "(e)");
    cpu_bound(n, ours);
    primes(n, ours);
    std::fflush(stdout);

    auto py = bench::run_peer("python3 " + bench::peer_script(argv[0], "cpython_process_pool.py") + " " +
                              std::to_string(n.workers) + " " + std::to_string(n.tasks) + " " +
                              std::to_string(n.round_trips) + " " + std::to_string(n.map_items) + " " +
                              std::to_string(n.payload) + " " + std::to_string(n.starts) + " " +
                              std::to_string(n.cpu_tasks));
    auto get = [&py](const char *k) { return py.count(k) ? py[k] : NAN; };
    if (py.empty()) std::fprintf(stderr, "process_pool_bench: the CPython peer printed nothing\n");
    else std::printf("(f) CPython's task = %.0f steps of the same xorshift chain in pure Python (~1 ms)\n",
                     get("cpu_steps"));

    const double ours_cpu_speedup = ours.cpu_seq_ms / ours.cpu_pool_ms;
    const double ours_primes_speedup = ours.primes_seq_ms / ours.primes_pool_ms;
    const std::string w = std::to_string(n.workers);
    const std::string mib = std::to_string(n.payload >> 20);
    bench::print_table(
        {"CPython ProcessPoolExecutor (fork context)"},
        {
            {"(a) empty task, submit all then wait (µs/task)", ours.throughput_us, {get("throughput_us")}},
            {"(b) round trip submit+result, median (µs)", ours.rt_median_us, {get("rt_median_us")}},
            {"(b) round trip submit+result, p99 (µs)", ours.rt_p99_us, {get("rt_p99_us")}},
            {"(c) map, chunksize 256 (µs/item)", ours.map256_us, {get("map256_us")}},
            {"(d) " + mib + " MiB argument echoed back (MB/s, payload / round trip)", ours.echo_mb_s,
             {get("echo_mb_s")}, true},
            {"(e) start + one task + shutdown, fork (ms, median)", ours.start_fork_ms, {get("start_fork_ms")}},
            {"(e) start + one task + shutdown, forkserver (ms, median)", ours.start_forkserver_ms,
             {get("start_forkserver_ms")}},
            {"(e) start + one task + shutdown, spawn (ms, median)", ours.start_spawn_ms, {get("start_spawn_ms")}},
            {"(f) ~1 ms tasks, sequential in the caller (ms; C loop vs Python loop)", ours.cpu_seq_ms,
             {get("cpu_seq_ms")}, false, false},
            {"(f) ~1 ms tasks, on the " + w + "-worker pool (ms; C loop vs Python loop)", ours.cpu_pool_ms,
             {get("cpu_pool_ms")}, false, false},
            {"(f) CPU time of the calling process during the pool run (ms)", ours.cpu_caller_ms,
             {get("cpu_caller_ms")}},
            {"(f) speed-up, pool vs own sequential run (x)", ours_cpu_speedup,
             {get("cpu_seq_ms") / get("cpu_pool_ms")}, true},
            {"(g) six primes, sequential (ms; C vs Python is_prime)", ours.primes_seq_ms, {get("primes_seq_ms")},
             false, false},
            {"(g) six primes, " + w + "-worker pool incl. start+shutdown (ms; C vs Python is_prime)",
             ours.primes_pool_ms, {get("primes_pool_ms")}, false, false},
            {"(g) speed-up, pool vs own sequential run (x; the best split over 2 workers gives 1.78x)",
             ours_primes_speedup, {get("primes_seq_ms") / get("primes_pool_ms")}, true},
            {"(g) the same split on " + w + " plain threads, no pool: the machine's ceiling (x; no peer)",
             ours.primes_seq_ms / ours.primes_threads_ms, {NAN}, true},
        });
    return 0;
}
