// SPDX-License-Identifier: MIT
// ShmRing: the single-producer single-consumer ring that carries fixed-size records between a pool's parent and
// one worker, in shared memory. Parent and worker both use this type, one at each end; neither writes the
// indices by hand. The far end may be buggy or hostile: the consumer refuses a ring that claims to hold more
// than it can, and copies a record out before looking at it. Internal: no API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace cf::core::shm {

template <class T, std::size_t N>
struct ShmRing {
    // Indices only grow; a record lives at index % N. A power of two keeps that mapping continuous across the
    // 64-bit counter's wrap (which no real pool reaches, but a hostile index may start near it).
    static_assert(N > 0 && (N & (N - 1)) == 0, "a ring's size must be a power of two");
    static_assert(std::is_trivially_copyable_v<T>, "records cross processes byte for byte");
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");

    alignas(64) std::atomic<std::uint64_t> head;  // next to consume (written by the consumer)
    alignas(64) std::atomic<std::uint64_t> tail;  // next to produce (written by the producer)
    alignas(64) T slots[N];

    static constexpr std::size_t capacity() noexcept { return N; }

    // Producer: false when the ring is full (or its consumer has written an index that makes it look so). The
    // new tail is published sequentially consistent: with Doorbell::ring's load that follows, it makes the
    // Dekker pair that keeps a sleeping consumer from missing the record.
    bool try_push(const T &item) noexcept {
        std::uint64_t t = tail.load(std::memory_order_relaxed);
        if (t - head.load(std::memory_order_acquire) >= N) return false;
        slots[t % N] = item;
        tail.store(t + 1, std::memory_order_seq_cst);
        return true;
    }

    enum class Pop { Empty, Taken, Corrupt };

    // Consumer: copies up to max records into out; *n says how many. Corrupt when the indices claim more than N
    // records (then nothing is taken).
    Pop pop_batch(T *out, std::size_t max, std::size_t *n) noexcept {
        *n = 0;
        std::uint64_t h = head.load(std::memory_order_relaxed);
        std::uint64_t t = tail.load(std::memory_order_acquire);
        if (h == t) return Pop::Empty;
        if (t - h > N) return Pop::Corrupt;
        std::size_t count = static_cast<std::size_t>(t - h) < max ? static_cast<std::size_t>(t - h) : max;
        for (std::size_t i = 0; i < count; ++i) out[i] = slots[(h + i) % N];
        head.store(h + count, std::memory_order_release);
        *n = count;
        return Pop::Taken;
    }

    Pop try_pop(T &out) noexcept {
        std::size_t n;
        return pop_batch(&out, 1, &n);
    }

    // Drops whatever the ring holds. Only while no process is at the far end (a slot between two workers: what
    // the dead one left unread went back to the parent's queue).
    void discard() noexcept { head.store(tail.load(std::memory_order_relaxed), std::memory_order_release); }

    // Either end: whether a record waits. Sequentially consistent, for the consumer's half of the Dekker pair
    // (announce as a sleeper, then look).
    bool has_records() const noexcept {
        return tail.load(std::memory_order_seq_cst) != head.load(std::memory_order_relaxed);
    }
};

}  // namespace cf::core::shm
