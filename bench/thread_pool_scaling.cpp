// SPDX-License-Identifier: MIT
// Thread-pool scaling: libcfutures (through its C ABI) against boost::asio::thread_pool + std::packaged_task,
// oneTBB task_group (bare, and with std::packaged_task) and CPython's ThreadPoolExecutor
// (bench/peers/cpython_thread_scaling.py), over W workers in {1, 2, 4, 8, 16} (capped at the CPUs present), all
// in one run. Workloads:
//   empty/S    N empty tasks submitted from S threads at once (S = 1, 4, 16), each thread then waiting for its
//              futures in order: tasks per second
//   cpu20      N tasks of ~20 µs of CPU submitted one by one from one thread: speed-up over the library's own
//              W=1 and over running them inline
//   rtt        one task in flight: submit then wait, median µs
//   map64      map over N small items with chunksize 64: items per second (libcfutures, CPython)
// Prints a table per workload and one JSON line per figure (to the file given by --json, else stdout).
// Usage: thread_pool_scaling [--max-workers W] [--tasks N] [--cpu-tasks N] [--json FILE] [--no-python]
#include <cfutures/cfutures.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#ifdef CF_BENCH_HAVE_TBB
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>
#endif

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace {

// ---- the work

std::size_t g_spin_iters = 1000;  // calibrated so that burn() takes ~20 µs

__attribute__((noinline)) void burn(std::size_t iters) {
    volatile std::uint64_t x = 1;
    for (std::size_t i = 0; i < iters; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
}

void calibrate(double target_us) {
    std::size_t iters = 1000;
    for (;;) {
        double t0 = bench::now_us();
        burn(iters);
        double t = bench::now_us() - t0;
        if (t > 2000) {
            g_spin_iters = static_cast<std::size_t>(static_cast<double>(iters) * target_us / t);
            return;
        }
        iters *= 2;
    }
}

int cf_empty(cf_task_ctx *, const void *, size_t, void *) { return CF_OK; }
int cf_burn(cf_task_ctx *, const void *, size_t, void *) {
    burn(g_spin_iters);
    return CF_OK;
}
int cf_echo(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }

// Runs body(s) on S threads at once and returns the seconds from the common start to the last finish.
double on_threads(std::size_t S, const std::function<void(std::size_t)> &body) {
    if (S == 1) {
        double t0 = bench::now_us();
        body(0);
        return (bench::now_us() - t0) / 1e6;
    }
    std::atomic<std::size_t> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (std::size_t s = 0; s < S; ++s)
        ts.emplace_back([&, s] {
            ready.fetch_add(1);
            while (!go.load()) std::this_thread::yield();
            body(s);
        });
    while (ready.load() < S) std::this_thread::yield();
    double t0 = bench::now_us();
    go.store(true);
    for (auto &t : ts) t.join();
    return (bench::now_us() - t0) / 1e6;
}

template <class F>
double best_of(int runs, F f) {
    double best = 1e300;
    for (int i = 0; i < runs; ++i) best = std::min(best, f());
    return best;
}

// ---- one library: each workload returns NAN where the library has no such thing

struct Library {
    std::string name;
    // seconds to run n tasks (empty, or burning ~20 µs each when cpu) submitted from S threads, on W workers
    std::function<double(std::size_t W, std::size_t S, std::size_t n, bool cpu)> batch;
    std::function<double(std::size_t W, std::size_t n)> round_trip_us;          // median
    std::function<double(std::size_t W, std::size_t n, std::size_t chunk)> map;  // seconds
};

// libcfutures through its C ABI.
struct Cf {
    cf_executor *ex = nullptr;
    explicit Cf(std::size_t W) {
        cf_thread_pool_options o;
        cf_thread_pool_options_init(&o);
        o.max_workers = W;
        if (cf_thread_pool_new(&o, &ex) != CF_OK) std::abort();
    }
    ~Cf() { cf_executor_free(ex); }
    double batch(std::size_t S, std::size_t n, bool cpu) {
        return on_threads(S, [&](std::size_t) {
            std::vector<cf_future *> fs(n / S);
            for (auto &f : fs)
                if (cf_submit(ex, cpu ? cf_burn : cf_empty, nullptr, nullptr, 0, &f) != CF_OK) std::abort();
            for (auto f : fs) {
                cf_wait(&f, 1, CF_FOREVER, CF_ALL_COMPLETED, nullptr, nullptr);
                cf_future_release(f);
            }
        });
    }
};

Library libcfutures() {
    Library l{"libcfutures", {}, {}, {}};
    l.batch = [](std::size_t W, std::size_t S, std::size_t n, bool cpu) {
        Cf pool(W);
        pool.batch(S, std::max<std::size_t>(S, n / 10), cpu);  // starts the threads
        return best_of(2, [&] { return pool.batch(S, n, cpu); });
    };
    l.round_trip_us = [](std::size_t W, std::size_t n) {
        Cf pool(W);
        return bench::percentile(bench::time_each(n, [&] {
                                     cf_future *f;
                                     cf_slice r;
                                     cf_submit(pool.ex, cf_empty, nullptr, nullptr, 0, &f);
                                     cf_future_result(f, CF_FOREVER, &r);
                                     cf_future_release(f);
                                 }),
                                 0.5);
    };
    l.map = [](std::size_t W, std::size_t n, std::size_t chunk) {
        Cf pool(W);
        std::vector<cf_slice> items(n, cf_slice{"xxxxxxxx", 8});
        return best_of(2, [&] {
            cf_map_options mo;
            cf_map_options_init(&mo);
            mo.chunksize = chunk;
            double t0 = bench::now_us();
            cf_map_iter *it;
            cf_map(pool.ex, cf_echo, nullptr, items.data(), items.size(), &mo, &it);
            cf_slice r;
            while (cf_map_next(it, &r) == CF_OK) {
            }
            cf_map_free(it);
            return (bench::now_us() - t0) / 1e6;
        });
    };
    return l;
}

Library asio() {
    Library l{"asio thread_pool + packaged_task", {}, {}, {}};
    l.batch = [](std::size_t W, std::size_t S, std::size_t n, bool cpu) {
        boost::asio::thread_pool pool(W);
        auto run = [&](std::size_t count) {
            return on_threads(S, [&](std::size_t) {
                std::vector<std::future<void>> fs;
                fs.reserve(count / S);
                for (std::size_t i = 0; i < count / S; ++i) {
                    std::packaged_task<void()> task([cpu] {
                        if (cpu) burn(g_spin_iters);
                    });
                    fs.push_back(task.get_future());
                    boost::asio::post(pool, std::move(task));
                }
                for (auto &f : fs) f.wait();
            });
        };
        run(std::max<std::size_t>(S, n / 10));
        double t = best_of(2, [&] { return run(n); });
        pool.join();
        return t;
    };
    l.round_trip_us = [](std::size_t W, std::size_t n) {
        boost::asio::thread_pool pool(W);
        auto samples = bench::time_each(n, [&] {
            std::packaged_task<void()> task([] {});
            auto f = task.get_future();
            boost::asio::post(pool, std::move(task));
            f.get();
        });
        pool.join();
        return bench::percentile(samples, 0.5);
    };
    l.map = [](std::size_t, std::size_t, std::size_t) { return NAN; };
    return l;
}

#ifdef CF_BENCH_HAVE_TBB
// oneTBB: W threads run tasks. Bare task_group: the submitting thread joins in its wait(), so W-1 workers and
// the submitter; with packaged_task the submitter only waits on its futures, so W workers.
Library tbb_group(bool futures) {
    Library l{futures ? "oneTBB task_group + packaged_task" : "oneTBB task_group (no futures)", {}, {}, {}};
    l.batch = [futures](std::size_t W, std::size_t S, std::size_t n, bool cpu) {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, futures ? W + 1 : W);
        auto run = [&](std::size_t count) {
            return on_threads(S, [&](std::size_t) {
                tbb::task_group tg;
                if (futures) {
                    std::vector<std::future<void>> fs;
                    fs.reserve(count / S);
                    for (std::size_t i = 0; i < count / S; ++i) {
                        auto task = std::make_shared<std::packaged_task<void()>>([cpu] {
                            if (cpu) burn(g_spin_iters);
                        });
                        fs.push_back(task->get_future());
                        tg.run([task] { (*task)(); });
                    }
                    for (auto &f : fs) f.wait();
                } else {
                    for (std::size_t i = 0; i < count / S; ++i)
                        tg.run([cpu] {
                            if (cpu) burn(g_spin_iters);
                        });
                }
                tg.wait();
            });
        };
        run(std::max<std::size_t>(S, n / 10));
        return best_of(2, [&] { return run(n); });
    };
    l.round_trip_us = [futures](std::size_t W, std::size_t n) {
        if (!futures) return double(NAN);
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, W + 1);
        tbb::task_group tg;
        auto samples = bench::time_each(n, [&] {
            auto task = std::make_shared<std::packaged_task<void()>>([] {});
            auto f = task->get_future();
            tg.run([task] { (*task)(); });
            f.get();
        });
        tg.wait();
        return bench::percentile(samples, 0.5);
    };
    l.map = [](std::size_t, std::size_t, std::size_t) { return NAN; };
    return l;
}
#endif

// CPython's ThreadPoolExecutor: its script prints `key value` lines for one W.
std::string g_python_script;
std::map<std::string, double> run_python(std::size_t W, std::size_t n, std::size_t n_cpu, std::size_t n_rt,
                                         std::size_t n_map) {
    return bench::run_peer("python3 " + g_python_script + " " + std::to_string(W) + " " + std::to_string(n) + " " +
                           std::to_string(n_cpu) + " " + std::to_string(n_rt) + " " + std::to_string(n_map));
}

// ---- output

using bench::Figure;

}  // namespace

int main(int argc, char **argv) {
    bench::SweepArgs args;
    args.tasks = 200000;
    args.cpu_tasks = 20000;
    if (!bench::parse_sweep_args(argc, argv, args)) return 2;
    const std::size_t n = args.tasks, n_cpu = args.cpu_tasks, n_rt = 2000, n_map = 200000;
    const std::string &json_path = args.json_path;
    const bool python = args.python;
    g_python_script = bench::peer_script(argv[0], "cpython_thread_scaling.py");
    std::size_t cpus = bench::usable_cpus();
    std::vector<std::size_t> widths = bench::sweep_widths(args.max_workers);
    calibrate(20.0);
    std::printf("thread-pool scaling on %zu CPUs: W in {", cpus);
    for (std::size_t w : widths) std::printf(" %zu", w);
    std::printf(" }, %zu empty tasks, %zu CPU tasks of ~20 us, %zu round trips, map over %zu items\n", n, n_cpu,
                n_rt, n_map);

    std::vector<Library> libs{libcfutures(), asio()};
#ifdef CF_BENCH_HAVE_TBB
    libs.push_back(tbb_group(true));
    libs.push_back(tbb_group(false));
#endif
    std::vector<Figure> figs;
    const std::vector<std::size_t> submitters{1, 4, 16};
    double inline_s = on_threads(1, [&](std::size_t) {
        for (std::size_t i = 0; i < n_cpu; ++i) burn(g_spin_iters);
    });
    for (std::size_t W : widths) {
        for (Library &l : libs) {
            for (std::size_t S : submitters)
                figs.push_back({"empty/" + std::to_string(S), l.name, "tasks/s", W, n / l.batch(W, S, n, false)});
            figs.push_back({"cpu20", l.name, "s", W, l.batch(W, 1, n_cpu, true)});
            figs.push_back({"rtt", l.name, "us", W, l.round_trip_us(W, n_rt)});
            figs.push_back({"map64", l.name, "items/s", W, n_map / l.map(W, n_map, 64)});
        }
        if (python) {
            // CPython is some 50 times slower per task: it gets a tenth of the tasks.
            auto py = run_python(W, n / 10, n_cpu / 10, n_rt, n_map / 10);
            auto get = [&py](const std::string &k) { return py.count(k) ? py[k] : NAN; };
            for (std::size_t S : submitters)
                figs.push_back({"empty/" + std::to_string(S), "CPython ThreadPoolExecutor", "tasks/s", W,
                                get("empty_" + std::to_string(S))});
            figs.push_back({"cpu20", "CPython ThreadPoolExecutor", "s", W, get("cpu20_s") * 10});
            figs.push_back({"rtt", "CPython ThreadPoolExecutor", "us", W, get("rtt_us")});
            figs.push_back({"map64", "CPython ThreadPoolExecutor", "items/s", W, get("map64")});
        }
        std::fprintf(stderr, "W=%zu done\n", W);
    }

    // Tables: one row per library, one column per W.
    std::vector<std::string> names;
    for (const Figure &f : figs)
        if (std::find(names.begin(), names.end(), f.library) == names.end()) names.push_back(f.library);
    auto value = [&](const std::string &wl, const std::string &lib, std::size_t W) {
        for (const Figure &f : figs)
            if (f.workload == wl && f.library == lib && f.workers == W) return f.value;
        return double(NAN);
    };
    auto table = [&](const std::string &title, const std::string &wl, const std::function<double(double, std::size_t,
                                                                                          const std::string &)> &show) {
        std::printf("\n%s\n\n| library |", title.c_str());
        for (std::size_t W : widths) std::printf(" W=%zu |", W);
        std::printf("\n|---|");
        for (std::size_t i = 0; i < widths.size(); ++i) std::printf("---|");
        std::printf("\n");
        for (const std::string &lib : names) {
            std::printf("| %s |", lib.c_str());
            for (std::size_t W : widths) {
                double v = show(value(wl, lib, W), W, lib);
                if (v != v) std::printf(" n/a |"); else std::printf(" %.3g |", v);
            }
            std::printf("\n");
        }
    };
    auto same = [](double v, std::size_t, const std::string &) { return v; };
    auto millions = [](double v, std::size_t, const std::string &) { return v / 1e6; };
    for (std::size_t S : submitters)
        table("empty tasks from " + std::to_string(S) + " submitting thread(s), millions of tasks/s",
              "empty/" + std::to_string(S), millions);
    table("~20 us CPU tasks submitted one by one: speed-up over the same library at W=1", "cpu20",
          [&](double v, std::size_t, const std::string &lib) { return value("cpu20", lib, 1) / v; });
    table("~20 us CPU tasks: speed-up over running them inline on one thread", "cpu20",
          [&](double v, std::size_t, const std::string &lib) {
              // CPython's inline figure is its own: the GIL lets no pool beat it.
              return lib == "CPython ThreadPoolExecutor" ? double(NAN) : inline_s / v;
          });
    table("round trip, one task in flight: median us", "rtt", same);
    table("map, chunksize 64: millions of items/s", "map64", millions);
    // Ratios against the peers, per W, for empty tasks from one submitter.
    std::printf("\nempty tasks, one submitter: libcfutures / peer (above 1: libcfutures faster)\n\n| peer |");
    for (std::size_t W : widths) std::printf(" W=%zu |", W);
    std::printf("\n|---|");
    for (std::size_t i = 0; i < widths.size(); ++i) std::printf("---|");
    std::printf("\n");
    for (const std::string &lib : names) {
        if (lib == "libcfutures") continue;
        std::printf("| %s |", lib.c_str());
        for (std::size_t W : widths) std::printf(" %.2fx |", value("empty/1", "libcfutures", W) / value("empty/1", lib, W));
        std::printf("\n");
    }

    return bench::write_json_lines(json_path, "thread_pool_scaling", cpus, figs) ? 0 : 1;
}
