// SPDX-License-Identifier: MIT
// Process-pool scaling: libcfutures (through its C ABI) against CPython's ProcessPoolExecutor and loky (vendored
// by joblib), over W workers in {1, 2, 4, 8, 16} (capped at the CPUs present), all in one run
// (bench/peers/python_process_scaling.py runs the peers for each W). Workloads:
//   empty     N empty tasks, submitted all at once, then waited for: tasks per second
//   rtt       one task in flight: submit then wait, median and p99 µs
//   cpu1ms    tasks of ~1 ms of CPU, submitted all at once: speed-up over running them one after another in
//             the calling process (each library against its own language: C's task against a C loop, Python's
//             against a Python loop)
//   start     pool start + one task + shutdown, per start method (median ms)
//   echo      a 64 MiB argument echoed back, at the largest W (MB/s of payload per round trip)
// Prints a table per workload and one JSON line per figure (to the file given by --json, else stdout).
// Usage: process_pool_scaling [--max-workers W] [--tasks N] [--cpu-tasks N] [--json FILE] [--no-python]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "process_bench_util.hpp"

namespace {

using namespace pbench;

struct Sizes {
    std::size_t tasks = 200000, round_trips = 2000, cpu_tasks = 2000, starts = 5;
    std::size_t payload = std::size_t(64) << 20;
};

using bench::Figure;

const char *const kOurs = "libcfutures";
const char *const kCPython = "CPython ProcessPoolExecutor";
const char *const kLoky = "loky";

cf_executor *warm_pool(std::size_t W, std::size_t shm_bytes = 0) {
    cf_executor *ex = new_pool(W, CF_START_FORK, shm_bytes);
    cf_future *f = submit(ex, empty_task, nullptr, 0);  // the workers are up before the clock runs
    result_of(f, "warm-up task");
    cf_future_release(f);
    return ex;
}

double empty_tasks_per_s(std::size_t W, std::size_t n) {
    cf_executor *ex = warm_pool(W);
    std::vector<cf_future *> fs;
    fs.reserve(n);
    double s = best_of(3, [&] {
        double t0 = bench::now_us();
        for (std::size_t i = 0; i < n; ++i) fs.push_back(submit(ex, empty_task, nullptr, 0));
        wait_all(fs, "empty tasks");
        double t = (bench::now_us() - t0) / 1e6;
        check_and_release_all(fs, "an empty task");
        return t;
    });
    cf_executor_free(ex);
    return static_cast<double>(n) / s;
}

std::vector<double> round_trips_us(std::size_t W, std::size_t n) {
    cf_executor *ex = warm_pool(W);
    auto samples = bench::time_each(n, [&] {
        cf_future *f = submit(ex, empty_task, nullptr, 0);
        result_of(f, "round trip");
        cf_future_release(f);
    });
    cf_executor_free(ex);
    return samples;
}

double cpu_tasks_s(std::size_t W, std::size_t n, std::uint64_t steps) {
    cf_executor *ex = warm_pool(W);
    const std::uint64_t expected = churn(steps);
    std::vector<cf_future *> fs;
    fs.reserve(n);
    double t0 = bench::now_us();
    for (std::size_t i = 0; i < n; ++i) fs.push_back(submit(ex, churn_task, &steps, sizeof steps));
    wait_all(fs, "CPU-bound tasks");
    double s = (bench::now_us() - t0) / 1e6;
    for (cf_future *f : fs) {
        cf_slice r = result_of(f, "a CPU-bound task");
        if (r.len != sizeof expected || read_u64(r.data, r.len) != expected) die("a CPU-bound task's result", CF_OK);
    }
    check_and_release_all(fs, "a CPU-bound task");
    cf_executor_free(ex);
    return s;
}


std::string python_command() {
    const char *p = std::getenv("CF_BENCH_PYTHON");
    return p && *p ? p : "python3";
}

// The peers for one W; CPython gets fewer tasks where it is some hundred times slower per task.
std::map<std::string, double> run_python(const std::string &script, std::size_t W, const Sizes &n, bool payload,
                                         bool sequential) {
    return bench::run_peer(python_command() + " " + script + " " + std::to_string(W) + " " +
                           std::to_string(std::max<std::size_t>(n.tasks / 50, 1000)) + " " +
                           std::to_string(std::max<std::size_t>(n.round_trips / 4, 100)) + " " +
                           std::to_string(n.cpu_tasks) + " " + std::to_string(n.starts) + " " +
                           std::to_string(payload ? n.payload : 0) + " " + (sequential ? "1" : "0"));
}

void print_by_width(const std::vector<Figure> &figs, const std::vector<std::size_t> &widths,
                    const std::string &workload, const char *title) {
    std::printf("\n%s\n\n| library |", title);
    for (std::size_t w : widths) std::printf(" W=%zu |", w);
    std::printf("\n|---|");
    for (std::size_t i = 0; i < widths.size(); ++i) std::printf("---|");
    std::printf("\n");
    for (const char *lib : {kOurs, kCPython, kLoky}) {
        std::printf("| %s |", lib);
        for (std::size_t w : widths) {
            double v = NAN;
            for (const Figure &f : figs)
                if (f.workload == workload && f.library == lib && f.workers == w) v = f.value;
            if (v != v) std::printf(" n/a |");
            else std::printf(v >= 1000 ? " %.0f |" : " %.3g |", v);
        }
        std::printf("\n");
    }
}

}  // namespace

int main(int argc, char **argv) {
    // In a worker started with the spawn method this serves tasks and never returns.
    cf_process_worker_entry();

    bench::SweepArgs args;
    if (!bench::parse_sweep_args(argc, argv, args)) return 2;
    Sizes n;
    if (args.tasks) n.tasks = args.tasks;
    if (args.cpu_tasks) n.cpu_tasks = args.cpu_tasks;
    const std::string &json_path = args.json_path;
    const bool python = args.python;
    const std::string script = bench::peer_script(argv[0], "python_process_scaling.py");
    const std::size_t cpus = bench::usable_cpus();
    const std::vector<std::size_t> widths = bench::sweep_widths(args.max_workers);
    double per_step_us = 0;
    const std::uint64_t steps = calibrate_churn_steps(1000.0, &per_step_us);
    std::printf("process-pool scaling on %zu CPUs: W in {", cpus);
    for (std::size_t w : widths) std::printf(" %zu", w);
    std::printf(" }, %zu empty tasks, %zu round trips, %zu CPU tasks of ~1 ms (%llu steps), %zu starts per "
                "method, a %zu MiB echo at W=%zu\n",
                n.tasks, n.round_trips, n.cpu_tasks, static_cast<unsigned long long>(steps), n.starts,
                n.payload >> 20, widths.back());
    std::fflush(stdout);

    double seq_s = 0;
    {
        volatile std::uint64_t sink = 0;
        double t0 = bench::now_us();
        for (std::size_t i = 0; i < n.cpu_tasks; ++i) sink = sink + churn(steps);
        seq_s = (bench::now_us() - t0) / 1e6;
    }
    double py_seq_s = NAN;
    std::vector<Figure> figs;
    // Start-up first, while this process is small: a fork copies its page tables, which the later workloads
    // grow (the futures of 200,000 tasks), so measured later it would depend on the order of the workloads.
    for (std::size_t W : widths) {
        figs.push_back({"start_fork", kOurs, "ms", W, start_to_shutdown_ms(W, CF_START_FORK, n.starts, "start")});
        figs.push_back({"start_forkserver", kOurs, "ms", W, start_to_shutdown_ms(W, CF_START_FORKSERVER, n.starts, "start")});
        figs.push_back({"start_spawn", kOurs, "ms", W, start_to_shutdown_ms(W, CF_START_SPAWN, n.starts, "start")});
    }
    for (std::size_t W : widths) {
        figs.push_back({"empty", kOurs, "tasks/s", W, empty_tasks_per_s(W, n.tasks)});
        auto rt = round_trips_us(W, n.round_trips);
        figs.push_back({"rtt_median", kOurs, "us", W, bench::percentile(rt, 0.5)});
        figs.push_back({"rtt_p99", kOurs, "us", W, bench::percentile(rt, 0.99)});
        figs.push_back({"cpu1ms_speedup", kOurs, "x", W, seq_s / cpu_tasks_s(W, n.cpu_tasks, steps)});
        bool last = W == widths.back();
        if (last) figs.push_back({"echo64", kOurs, "MB/s", W, static_cast<double>(n.payload) / 1e6 / echo_seconds(W, n.payload, 3, "echo")});
        if (python) {
            auto py = run_python(script, W, n, last, W == widths.front());
            auto get = [&py](const std::string &k) { return py.count(k) ? py[k] : NAN; };
            if (W == widths.front()) py_seq_s = get("cpu_seq_s");
            for (auto [prefix, lib] : {std::pair{"cpython_", kCPython}, std::pair{"loky_", kLoky}}) {
                std::string p = prefix;
                figs.push_back({"empty", lib, "tasks/s", W, get(p + "empty_tps")});
                figs.push_back({"rtt_median", lib, "us", W, get(p + "rtt_median_us")});
                figs.push_back({"rtt_p99", lib, "us", W, get(p + "rtt_p99_us")});
                figs.push_back({"cpu1ms_speedup", lib, "x", W, py_seq_s / get(p + "cpu_pool_s")});
                if (last) figs.push_back({"echo64", lib, "MB/s", W, get(p + "echo_mb_s")});
            }
            for (const char *m : {"fork", "forkserver", "spawn"})
                figs.push_back({std::string("start_") + m, kCPython, "ms", W, get(std::string("cpython_start_") + m + "_ms")});
            figs.push_back({"start_fork", kLoky, "ms", W, NAN});
            figs.push_back({"start_spawn", kLoky, "ms", W, get("loky_start_loky_ms")});  // loky's own method
        }
        std::fprintf(stderr, "W=%zu done\n", W);
    }

    print_by_width(figs, widths, "empty", "empty tasks, submit all then wait (tasks/s)");
    print_by_width(figs, widths, "rtt_median", "round trip, one task in flight (median µs)");
    print_by_width(figs, widths, "rtt_p99", "round trip, one task in flight (p99 µs)");
    print_by_width(figs, widths, "cpu1ms_speedup",
                   "~1 ms CPU tasks: speed-up over the same tasks run one after another in the caller (x)");
    print_by_width(figs, widths, "start_fork", "start + one task + shutdown, fork (median ms)");
    print_by_width(figs, widths, "start_forkserver", "start + one task + shutdown, forkserver (median ms)");
    print_by_width(figs, widths, "start_spawn",
                   "start + one task + shutdown, spawn (median ms; loky: its own spawn-like method)");
    print_by_width(figs, widths, "echo64", "64 MiB argument echoed back (MB/s)");

    return bench::write_json_lines(json_path, "process_pool_scaling", cpus, figs) ? 0 : 1;
}
