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

// One row: our figure, each peer's, and the ratio peer/ours (for costs: above 1 means we are faster).
struct Row {
    std::string what;
    double ours;
    std::vector<double> peers;  // NaN where a peer has no such workload
};

inline void print_table(const std::vector<std::string> &peer_names, const std::vector<Row> &rows) {
    std::printf("\n| workload (lower is better) | libcfutures |");
    for (const auto &n : peer_names) std::printf(" %s | ratio |", n.c_str());
    std::printf("\n|---|---|");
    for (std::size_t i = 0; i < peer_names.size(); ++i) std::printf("---|---|");
    std::printf("\n");
    for (const Row &r : rows) {
        std::printf("| %s | %.3f |", r.what.c_str(), r.ours);
        for (double p : r.peers) {
            if (p != p) std::printf(" n/a | |");
            else std::printf(" %.3f | %.1fx |", p, p / r.ours);
        }
        std::printf("\n");
    }
    std::printf("\nratio = peer's cost / libcfutures' cost: above 1 means libcfutures is faster.\n");
}

}  // namespace bench
