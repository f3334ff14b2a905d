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

struct Figure {
    std::string workload, library, unit;
    std::size_t workers;
    double value;
};

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

double start_to_shutdown_ms(std::size_t W, cf_start_method method, std::size_t starts) {
    std::vector<double> ms;
    for (std::size_t i = 0; i < starts; ++i) {
        double t0 = bench::now_us();
        cf_executor *ex = new_pool(W, method);
        cf_future *f = submit(ex, empty_task, nullptr, 0);
        result_of(f, "the new pool's task");
        cf_future_release(f);
        check(cf_executor_shutdown(ex, 1, 0), "cf_executor_shutdown");
        cf_executor_free(ex);
        ms.push_back((bench::now_us() - t0) / 1e3);
    }
    return median(ms);
}

double echo_mb_s(std::size_t W, std::size_t payload) {
    cf_executor *ex = warm_pool(W, std::size_t(512) << 20);
    std::vector<unsigned char> data(payload);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 131 + (i >> 12));
    std::vector<double> seconds;
    for (int run = 0; run < 4; ++run) {  // the first run is a warm-up (it faults the shared pages in)
        double t0 = bench::now_us();
        cf_future *f = submit(ex, echo_task, data.data(), data.size());
        cf_slice r = result_of(f, "echo");
        double t = (bench::now_us() - t0) / 1e6;
        if (r.len != data.size() || std::memcmp(r.data, data.data(), r.len) != 0) die("the echoed payload", CF_OK);
        cf_future_release(f);
        if (run > 0) seconds.push_back(t);
    }
    cf_executor_free(ex);
    return static_cast<double>(payload) / 1e6 / median(seconds);
}

std::size_t usable_cpus() {
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
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

    Sizes n;
    std::size_t max_w = 16;
    std::string json_path;
    bool python = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--max-workers") max_w = std::stoul(next());
        else if (a == "--tasks") n.tasks = std::stoul(next());
        else if (a == "--cpu-tasks") n.cpu_tasks = std::stoul(next());
        else if (a == "--json") json_path = next();
        else if (a == "--no-python") python = false;
        else {
            std::fprintf(stderr, "usage: %s [--max-workers W] [--tasks N] [--cpu-tasks N] [--json FILE] "
                                 "[--no-python]\n", argv[0]);
            return 2;
        }
    }
    std::string dir = argv[0];
    std::string script = dir.substr(0, dir.find_last_of('/') + 1) + "peers/python_process_scaling.py";
    std::size_t cpus = usable_cpus();
    std::vector<std::size_t> widths;
    for (std::size_t w : {1, 2, 4, 8, 16})
        if (w <= std::min(max_w, cpus)) widths.push_back(w);
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
    for (std::size_t W : widths) {
        figs.push_back({"empty", kOurs, "tasks/s", W, empty_tasks_per_s(W, n.tasks)});
        auto rt = round_trips_us(W, n.round_trips);
        figs.push_back({"rtt_median", kOurs, "us", W, bench::percentile(rt, 0.5)});
        figs.push_back({"rtt_p99", kOurs, "us", W, bench::percentile(rt, 0.99)});
        figs.push_back({"cpu1ms_speedup", kOurs, "x", W, seq_s / cpu_tasks_s(W, n.cpu_tasks, steps)});
        figs.push_back({"start_fork", kOurs, "ms", W, start_to_shutdown_ms(W, CF_START_FORK, n.starts)});
        figs.push_back({"start_forkserver", kOurs, "ms", W, start_to_shutdown_ms(W, CF_START_FORKSERVER, n.starts)});
        figs.push_back({"start_spawn", kOurs, "ms", W, start_to_shutdown_ms(W, CF_START_SPAWN, n.starts)});
        bool last = W == widths.back();
        if (last) figs.push_back({"echo64", kOurs, "MB/s", W, echo_mb_s(W, n.payload)});
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

    FILE *json = json_path.empty() ? stdout : std::fopen(json_path.c_str(), "a");
    if (!json) {
        std::perror(json_path.c_str());
        return 1;
    }
    if (json == stdout) std::printf("\n");
    for (const Figure &f : figs)
        if (f.value == f.value)
            std::fprintf(json,
                         "{\"bench\":\"process_pool_scaling\",\"cpus\":%zu,\"workload\":\"%s\",\"library\":\"%s\","
                         "\"workers\":%zu,\"unit\":\"%s\",\"value\":%.6g}\n",
                         cpus, f.workload.c_str(), f.library.c_str(), f.workers, f.unit.c_str(), f.value);
    if (json != stdout) std::fclose(json);
    return 0;
}
