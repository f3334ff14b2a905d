// SPDX-License-Identifier: MIT
// Hostile worker: a task that writes over its pool's shared memory (the header, the worker controls with their
// rings of descriptors and completions, the argument arena) may break its pool, but the parent must not crash,
// must not read out of bounds (this program also runs under ASan), and every future must end with its result or
// a clear error. A worker confused into a hang cannot be told from a long task, so where futures have not ended
// after a while the program does what a user would: kill_workers(), after which every future must end.
//
//   hostile_worker [--rounds N]   (N rounds of each way of scribbling, each with its own random seed)
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

namespace {

enum Scribble : std::uint32_t {
    kHeaderNoise,     // random bytes over the first 4 KiB: the header and the first worker controls
    kControlNoise,    // random bytes at random places in the first 64 KiB: ring indices, descriptors, completions
    kRingIndices,     // every 8-byte word of the first 64 KiB set to a huge or random value
    kEverywhere,      // random bytes at random places anywhere in the segment (arena and heaps included)
    kFillOnes,        // the first 1 MiB set to 0xff
    kFillZeros,       // the first 1 MiB set to 0
    kScribbleKinds
};
const char *const kScribbleNames[] = {"header noise", "control noise", "ring indices", "everywhere", "0xff fill",
                                      "zero fill"};

// Where this process maps its pool's segment, from /proc/self/maps.
bool find_segment(char *&base, std::size_t &size) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find("memfd:cfutures-pool") == std::string::npos) continue;
        unsigned long start = 0, end = 0;
        if (std::sscanf(line.c_str(), "%lx-%lx", &start, &end) != 2) continue;
        base = reinterpret_cast<char *>(start);
        size = end - start;
        return true;
    }
    return false;
}

int scribble(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    std::uint32_t spec[2];
    if (len != sizeof spec) return cf_task_raise(ctx, "ValueError", "scribble wants a seed and a kind");
    std::memcpy(spec, arg, sizeof spec);
    char *base = nullptr;
    std::size_t size = 0;
    if (!find_segment(base, size)) return cf_task_raise(ctx, "LookupError", "no pool segment mapped here");
    std::mt19937_64 rng(spec[0]);
    auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    std::size_t control = std::min<std::size_t>(size, 64 << 10), first_mib = std::min<std::size_t>(size, 1 << 20);
    switch (spec[1]) {
        case kHeaderNoise:
            for (std::size_t i = 0; i < std::min<std::size_t>(size, 4096); ++i)
                if (rng() % 4 == 0) base[i] = static_cast<char>(rng());
            break;
        case kControlNoise:
            for (int i = 0; i < 2000; ++i) base[below(control)] = static_cast<char>(rng());
            break;
        case kRingIndices:
            for (std::size_t off = 0; off + 8 <= control; off += 8) {
                std::uint64_t v = rng() % 2 ? ~std::uint64_t{0} - rng() % 100 : rng();
                std::memcpy(base + off, &v, 8);
            }
            break;
        case kEverywhere:
            for (int i = 0; i < 20000; ++i) base[below(size)] = static_cast<char>(rng());
            break;
        case kFillOnes: std::memset(base, 0xff, first_mib); break;
        case kFillZeros: std::memset(base, 0, first_mib); break;
        default: return cf_task_raise(ctx, "ValueError", "unknown kind");
    }
    return cf_task_return(ctx, "scribbled", 9);
}
CF_TASK("hostile.scribble", scribble);

int echo(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }
CF_TASK("hostile.echo", echo);

struct Tally {
    std::map<std::string, int> outcomes;  // "ok", or the status name of the failure
    std::map<std::string, std::string> example;  // a message for each status name
    int unended_before_kill = 0, unended = 0, unclear = 0;
};

void settle(std::vector<cf::FutureBase> &futures, cf::ProcessPoolExecutor &pool, Tally &t) {
    bool killed = false;
    for (cf::FutureBase &f : futures) {
        if (!f.wait(killed ? 10.0 : 5.0)) {
            ++t.unended_before_kill;
            if (!killed) {
                pool.kill_workers();
                killed = true;
            }
            if (!f.wait(10.0)) {
                ++t.unended;
                continue;
            }
        }
        cf::ErrorInfo e = f.cancelled() ? cf::ErrorInfo{cf::Status::Cancelled, "CancelledError", "cancelled", ""}
                                        : f.error(0);
        if (e.status == cf::Status::Ok) {
            t.outcomes["ok"]++;
        } else {
            std::string name = cf_status_name(static_cast<int>(e.status));
            t.outcomes[name]++;
            if (!t.example.count(name)) t.example[name] = e.message;
            if (e.message.empty()) ++t.unclear;
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    cf::process_worker_entry();
    int rounds = argc == 3 && std::string(argv[1]) == "--rounds" ? std::atoi(argv[2]) : 4;
    Tally total;
    int refused = 0;
    for (std::uint32_t kind = 0; kind < kScribbleKinds; ++kind) {
        Tally t;
        for (int round = 0; round < rounds; ++round) {
            cf::ProcessPoolExecutor::Options o;
            o.max_workers = 2;
            o.start_method = cf::StartMethod::Fork;
            o.shared_memory_bytes = 4 << 20;
            cf::ProcessPoolExecutor pool(o);
            std::vector<cf::FutureBase> futures;
            auto submit = [&](const char *task, std::string_view arg) {
                try {
                    futures.push_back(pool.submit_named(task, arg));
                } catch (const cf::Error &e) {  // a broken pool refuses new work: that is a clear error too
                    ++refused;
                    if (std::strlen(e.what()) == 0) ++t.unclear;
                }
            };
            for (int i = 0; i < 20; ++i) submit("hostile.echo", "before " + std::to_string(i));
            std::uint32_t spec[2] = {static_cast<std::uint32_t>(1000 * kind + round + 1), kind};
            submit("hostile.scribble", std::string_view(reinterpret_cast<const char *>(spec), sizeof spec));
            for (int i = 0; i < 50; ++i) submit("hostile.echo", std::string(static_cast<std::size_t>(i) * 40, 'x'));
            settle(futures, pool, t);
            futures.clear();
            for (int i = 0; i < 10; ++i) submit("hostile.echo", "after " + std::to_string(i));
            settle(futures, pool, t);
            pool.kill_workers();  // a confused worker may not hear the shutdown request
        }
        std::printf("%-14s:", kScribbleNames[kind]);
        for (auto &[what, n] : t.outcomes) std::printf(" %s %d,", what.c_str(), n);
        std::printf(" needed kill_workers %d, never ended %d, errors without a message %d\n",
                    t.unended_before_kill, t.unended, t.unclear);
        for (auto &[what, message] : t.example) std::printf("    e.g. %s: %s\n", what.c_str(), message.c_str());
        for (auto &[what, n] : t.outcomes) total.outcomes[what] += n;
        total.unended += t.unended;
        total.unclear += t.unclear;
        total.unended_before_kill += t.unended_before_kill;
    }
    std::printf("in all: %d rounds of %d kinds; submits refused by a broken pool: %d; never ended: %d; errors "
                "without a message: %d\n",
                rounds, static_cast<int>(kScribbleKinds), refused, total.unended, total.unclear);
    bool ok = total.unended == 0 && total.unclear == 0;
    std::printf("%s\n", ok ? "PASS: the parent survived every scribble and every future ended" : "FAIL");
    return ok ? 0 : 1;
}
