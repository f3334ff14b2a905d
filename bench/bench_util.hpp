// SPDX-License-Identifier: MIT
// Small helpers shared by the benchmark programs: clocks, percentiles, the peer runner and the table.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace bench {

inline double now_us() {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Times each of n calls of one() in µs (round trips: one task in flight at a time).
template <class F>
std::vector<double> time_each(std::size_t n, F one) {
    std::vector<double> samples;
    samples.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        double t0 = now_us();
        one();
        samples.push_back(now_us() - t0);
    }
    return samples;
}

// Runs a command printing `key value` lines and returns them.
inline std::map<std::string, double> run_peer(const std::string &command) {
    std::map<std::string, double> out;
    FILE *p = popen(command.c_str(), "r");
    if (!p) return out;
    char key[128];
    double value;
    while (std::fscanf(p, "%127s %lf", key, &value) == 2) out[key] = value;
    pclose(p);
    return out;
}

// One row: our figure, each peer's, and how many times better ours is: peer/ours for costs (times), ours/peer
// for rates and speed-ups (higher_is_better). Either way a ratio above 1 means libcfutures does better.
struct Row {
    std::string what;
    double ours;
    std::vector<double> peers;  // NaN where a peer has no such workload
    bool higher_is_better = false;
    bool comparable = true;  // false: the figures differ in kind (C against Python code), so no ratio is printed
};

inline void print_table(const std::vector<std::string> &peer_names, const std::vector<Row> &rows) {
    std::printf("\n| workload | libcfutures |");
    for (const auto &n : peer_names) std::printf(" %s | ratio |", n.c_str());
    std::printf("\n|---|---|");
    for (std::size_t i = 0; i < peer_names.size(); ++i) std::printf("---|---|");
    std::printf("\n");
    for (const Row &r : rows) {
        std::printf("| %s | %.3f |", r.what.c_str(), r.ours);
        for (double p : r.peers) {
            if (p != p) std::printf(" n/a | |");
            else if (!r.comparable) std::printf(" %.3f | – |", p);
            else std::printf(" %.3f | %.2fx |", p, r.higher_is_better ? r.ours / p : p / r.ours);
        }
        std::printf("\n");
    }
    std::printf("\nratio: above 1 means libcfutures does better (peer/libcfutures for times, libcfutures/peer for "
                "rates and speed-ups).\n");
}

// The command line of the scaling sweeps: [--max-workers W] [--tasks N] [--cpu-tasks N] [--json FILE]
// [--no-python]. Fields keep their defaults where not given; false (after a usage line) on anything else.
struct SweepArgs {
    std::size_t max_workers = 16, tasks = 0, cpu_tasks = 0;
    std::string json_path;
    bool python = true;
};

inline bool parse_sweep_args(int argc, char **argv, SweepArgs &a) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string("0"); };
        if (arg == "--max-workers") a.max_workers = std::stoul(next());
        else if (arg == "--tasks") a.tasks = std::stoul(next());
        else if (arg == "--cpu-tasks") a.cpu_tasks = std::stoul(next());
        else if (arg == "--json") a.json_path = next();
        else if (arg == "--no-python") a.python = false;
        else {
            std::fprintf(stderr, "usage: %s [--max-workers W] [--tasks N] [--cpu-tasks N] [--json FILE] "
                                 "[--no-python]\n", argv[0]);
            return false;
        }
    }
    return true;
}

inline std::size_t usable_cpus() {
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

// The worker counts a sweep visits: 1, 2, 4, 8, 16, up to max_workers and the CPUs present.
inline std::vector<std::size_t> sweep_widths(std::size_t max_workers) {
    std::vector<std::size_t> widths;
    for (std::size_t w : {1, 2, 4, 8, 16})
        if (w <= std::min(max_workers, usable_cpus())) widths.push_back(w);
    return widths;
}

// One figure of a sweep: a workload, a library, a worker count.
struct Figure {
    std::string workload, library, unit;
    std::size_t workers;
    double value;  // NaN: not measured (a peer missing, or without such a workload)
};

// Appends one JSON line per measured figure to path (stdout when empty); false when path cannot be opened.
inline bool write_json_lines(const std::string &path, const char *bench_name, std::size_t cpus,
                             const std::vector<Figure> &figs) {
    FILE *json = path.empty() ? stdout : std::fopen(path.c_str(), "a");
    if (!json) {
        std::perror(path.c_str());
        return false;
    }
    if (json == stdout) std::printf("\n");
    for (const Figure &f : figs)
        if (f.value == f.value)
            std::fprintf(json,
                         "{\"bench\":\"%s\",\"cpus\":%zu,\"workload\":\"%s\",\"library\":\"%s\","
                         "\"workers\":%zu,\"unit\":\"%s\",\"value\":%.6g}\n",
                         bench_name, cpus, f.workload.c_str(), f.library.c_str(), f.workers, f.unit.c_str(), f.value);
    if (json != stdout) std::fclose(json);
    return true;
}

// A peer's script, in peers/ beside the program.
inline std::string peer_script(const char *argv0, const char *name) {
    std::string dir = argv0;
    return dir.substr(0, dir.find_last_of('/') + 1) + "peers/" + name;
}

}  // namespace bench
