// SPDX-License-Identifier: MIT
// TaskCounters: how the futures of one executor ended, for cf_executor_stats. Every future the executor hands
// out counts itself here once, as it becomes done (FutureState::notify_locked): finished with a value, failed,
// or cancelled. (Nothing counts submits: the statistics do not report them, and the submit path stays free of
// the work.)
//
// Striped: each thread counts on a line of its own (stripes are handed to threads in turn), so that submitters
// and completing threads on many CPUs never share a line per task; a snapshot sums the stripes. The counters
// live in their executor, and futures point at them: an executor completes (or cancels) every future it handed
// out before it is destroyed (its threads or supervisor hold it until then). Internal: no API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cf::core {

class TaskCounters {
public:
    enum Kind : std::size_t { Completed = 0, Failed = 1, Cancelled = 2 };

    void bump(Kind k) noexcept { stripes_[my_stripe()].n[k].fetch_add(1, std::memory_order_relaxed); }
    // Takes back a bump whose state change did not happen after all.
    void unbump(Kind k) noexcept { stripes_[my_stripe()].n[k].fetch_sub(1, std::memory_order_relaxed); }
    std::uint64_t sum(Kind k) const noexcept {
        std::uint64_t total = 0;
        for (const Stripe &s : stripes_) total += s.n[k].load(std::memory_order_relaxed);
        return total;
    }

private:
    static constexpr std::size_t kStripes = 16;
    struct alignas(64) Stripe {
        std::atomic<std::uint64_t> n[3] = {};
    };
    static std::size_t my_stripe() noexcept {
        // Constant-initialised, so that reading it costs no thread-local wrapper call; assigned on first use.
        static thread_local std::size_t mine = kStripes;
        static std::atomic<std::size_t> next{0};
        if (mine == kStripes) mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
        return mine;
    }
    Stripe stripes_[kStripes];
};

}  // namespace cf::core
