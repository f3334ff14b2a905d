// TaskCounters: how the futures of one executor ended, for cf_executor_stats. Every future the executor hands
// out counts itself here once, as it becomes done (FutureState::notify_locked): finished with a value, failed,
// or cancelled; submitted counts at submit. Shared by the executor and its futures (a future may outlive its
// executor). Internal: no API.
#pragma once

#include <atomic>
#include <cstdint>

namespace cf::detail {

struct TaskCounters {
    // Each on its own line: submitters and completing threads touch different ones.
    alignas(64) std::atomic<std::uint64_t> submitted{0};
    alignas(64) std::atomic<std::uint64_t> completed{0};
    alignas(64) std::atomic<std::uint64_t> failed{0};
    alignas(64) std::atomic<std::uint64_t> cancelled{0};

    static void bump(std::atomic<std::uint64_t> &c) noexcept { c.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace cf::detail
