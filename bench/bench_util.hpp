// Small helpers shared by the benchmark programs: clocks, percentiles, the peer runner and the table.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
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

}  // namespace bench
