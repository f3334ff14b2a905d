// SPDX-License-Identifier: MIT
// The pipeline of pipeline.c through the C++ API: pages "downloaded" on a thread pool (a sleep), parsed on a process
// pool (the primes below a bound each page names: CPU-bound, a plain C++ function run as a typed continuation,
// its argument and result through shared memory), stored on a thread pool; each page a chain of continuations,
// cf::when_all over them. Printed: the time against the stages run one after another on one thread.
#include <cfutures/cfutures.hpp>
#include <cfutures/serialization.hpp>  // typed process tasks: cpu.then<&parse>(page)

#include <chrono>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr int kPages = 12;
constexpr auto kDownload = std::chrono::milliseconds(40);

std::uint64_t bound_of(int page) { return 150000 + 10000 * static_cast<std::uint64_t>(page); }

std::uint64_t count_primes(std::uint64_t bound) {
    std::uint64_t count = 0;
    for (std::uint64_t n = 2; n < bound; ++n) {
        bool prime = true;
        for (std::uint64_t d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
        count += prime;
    }
    return count;
}

// The parsing stage, run in a worker process: naming it in then<&parse> registers it while the program loads, so
// that every worker (forked or spawned) finds it.
std::uint64_t parse(std::uint64_t bound) { return count_primes(bound); }

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main() {
    cf::process_worker_entry();
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t sequential = 0;
    for (int i = 0; i < kPages; ++i) {
        std::this_thread::sleep_for(kDownload);
        sequential += count_primes(bound_of(i));
    }
    double one_after_another = seconds_since(t0);

    auto t1 = std::chrono::steady_clock::now();
    std::mutex mu;
    std::uint64_t total = 0;
    {
        cf::ThreadPoolExecutor io({/*max_workers=*/kPages});
        cf::ProcessPoolExecutor cpu(cf::ProcessPoolExecutor::Options{});  // a worker per CPU
        std::vector<cf::Future<void>> stored;
        for (int i = 0; i < kPages; ++i) {
            cf::Future<std::uint64_t> page = io.submit([i] {
                std::this_thread::sleep_for(kDownload);
                return bound_of(i);
            });
            cf::Future<std::uint64_t> parsed = cpu.then<&parse>(page);
            stored.push_back(parsed.then(io, [&](std::uint64_t primes) {
                std::lock_guard<std::mutex> lock(mu);
                total += primes;
            }));
        }
        cf::when_all(stored).result();  // throws the first stage that failed
    }
    double piped = seconds_since(t1);
    if (total != sequential) {
        std::cerr << "pipeline: " << total << " primes, want " << sequential << "\n";
        return 1;
    }
    std::cout << kPages << " pages, " << total << " primes: stages one after another " << one_after_another
              << " s, pipeline " << piped << " s (" << one_after_another / piped << "x)\n";
    return 0;
}
