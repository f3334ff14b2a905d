// SPDX-License-Identifier: MIT
// Doorbell: the sleep/wake handshake on a futex word in shared memory, used by parent and workers alike. A
// sleeper announces itself, looks once more for what it waits for, then sleeps on the word; whoever publishes
// something afterwards rings, and pays for a wake-up only when someone has announced. Announcing and publishing
// are sequentially consistent (a Dekker pair: at least one side sees the other), so a wake-up is never lost.
//
// CpuBudget: how many of a pool's parties are on a CPU (workers running or spinning, parent threads spinning),
// so that a party spins only where a CPU is free: on 2 cores as on 16, never more spinners than CPUs.
//
// Both live in shared memory that a worker may scribble on: a corrupted count costs a spurious wake-up or a
// spin that is skipped, never a lost record (every sleeper also wakes on its own timeout or heartbeat where the
// far end is untrusted). Internal: no API.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "process_pool/futex.hpp"

namespace cf::core::shm {

struct Doorbell {
    std::atomic<std::uint32_t> seq;       // the futex word: bumped at every ring that finds a sleeper
    std::atomic<std::uint32_t> sleepers;  // announced sleepers

    // Sleeps until rung (or timeout_ns passes, if not negative), unless ready() holds once announced.
    template <class Ready>
    void sleep_unless(Ready ready, long long timeout_ns) {
        std::uint32_t s = seq.load(std::memory_order_acquire);
        sleepers.fetch_add(1, std::memory_order_seq_cst);
        if (!ready()) futex_wait(seq, s, timeout_ns);
        sleepers.fetch_sub(1, std::memory_order_seq_cst);
    }

    // After publishing (a sequentially consistent store): wakes up to n sleepers. Returns whether any was
    // announced.
    bool ring(int n = 1) {
        if (sleepers.load(std::memory_order_seq_cst) == 0) return false;
        seq.fetch_add(1, std::memory_order_seq_cst);
        futex_wake(seq, n);
        return true;
    }
    bool ring_all() { return ring(INT_MAX); }
};
static_assert(std::is_standard_layout_v<Doorbell>, "a doorbell is shared between processes");

struct CpuBudget {
    std::atomic<std::uint32_t> on_cpu;  // parties counted on a CPU now
    std::uint32_t cpus;                 // written by the parent before any worker starts

    // A party not counted yet asks to spin: true (and counted) when a CPU is free.
    bool try_enter() noexcept {
        if (on_cpu.fetch_add(1, std::memory_order_relaxed) < cpus) return true;
        on_cpu.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    void enter() noexcept { on_cpu.fetch_add(1, std::memory_order_relaxed); }
    void leave() noexcept { on_cpu.fetch_sub(1, std::memory_order_relaxed); }
    // A party already counted: whether the count leaves it a CPU of its own.
    bool fits() const noexcept { return on_cpu.load(std::memory_order_relaxed) <= cpus; }
};
static_assert(std::is_standard_layout_v<CpuBudget>, "a CPU budget is shared between processes");

}  // namespace cf::core::shm
