// SPDX-License-Identifier: MIT
// ArgumentStore: the parent's thread-safe allocator for task arguments in a pool's shared arena.
//
// Every task takes a block here at submit and gives it back when its result is collected, on whatever threads
// submit and collect. So that those threads do not all meet on one lock, small blocks (up to 1 KiB, nearly every
// task's) are cached in stripes, one per group of threads, each under its own lock; a stripe takes blocks from the
// arena and gives them back in batches. Larger blocks come straight from the arena under its lock. The stripes
// together never cache more than a quarter of the arena, and a request the arena cannot meet first takes back
// what every stripe holds.
//
// A submitter that finds no room may wait for some: every free wakes the waiters. Internal: no API.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/spin.hpp"
#include "process_pool/segment.hpp"

namespace cf::core {

class ArgumentStore {
public:
    explicit ArgumentStore(Segment &seg);
    ArgumentStore(const ArgumentStore &) = delete;
    ArgumentStore &operator=(const ArgumentStore &) = delete;

    // A block of at least len bytes in the arena, or nullptr when there is no room now.
    void *allocate(std::size_t len);
    // Gives back a block allocate(len) returned (nullptr is ignored), and wakes the threads waiting for room.
    void free(void *p, std::size_t len);
    // Like allocate, but waits for room while give_up() is false; nullptr once it is true (checked after each
    // free and each wake_waiters).
    template <class GiveUp>
    void *allocate_waiting(std::size_t len, GiveUp give_up);
    // Makes the waiting threads look at give_up() again.
    void wake_waiters();

    std::size_t capacity() const noexcept { return seg_.arena_capacity(); }

private:
    static constexpr std::size_t kStripes = 16;
    static constexpr std::size_t kClasses = 64;      // 16-byte classes: blocks up to 1 KiB are cached
    static constexpr std::size_t kBatch = 32;        // blocks a stripe takes from the arena at a time
    static constexpr std::size_t kMaxCached = 2 * kBatch;  // per class; past it a batch goes back

    struct alignas(64) Stripe {
        SpinLock mu;
        std::array<std::vector<void *>, kClasses> free;  // cached blocks, by class
        std::size_t bytes = 0;                           // their total size
    };

    static std::size_t class_of(std::size_t len) noexcept;  // kClasses when not cached
    Stripe &my_stripe() noexcept;
    void *take_from_arena(std::size_t len);                 // nullptr when full (flushes the stripes first)
    void flush_stripes();                                   // every cached block back to the arena
    void notify_freed();
    // The store whose room_mu_ this thread holds while it looks for room (allocate_waiting); its own frees then
    // notify without taking the lock again.
    static thread_local const ArgumentStore *looking_in_;

    Segment &seg_;
    std::size_t stripe_cap_;  // bytes one stripe may cache
    std::mutex arena_mu_;  // guards seg_'s arena (allocate / free)
    std::array<Stripe, kStripes> stripes_;
    std::mutex room_mu_;
    std::condition_variable room_cv_;
    std::atomic<int> room_waiters_{0};
};

template <class GiveUp>
void *ArgumentStore::allocate_waiting(std::size_t len, GiveUp give_up) {
    if (void *p = allocate(len)) return p;
    std::unique_lock<std::mutex> lock(room_mu_);
    room_waiters_.fetch_add(1, std::memory_order_seq_cst);
    void *p = nullptr;
    // Counted before it looks again: a free after this look sees the count and wakes it (under room_mu_).
    looking_in_ = this;
    while (!give_up() && !(p = allocate(len))) {
        looking_in_ = nullptr;
        room_cv_.wait(lock);
        looking_in_ = this;
    }
    looking_in_ = nullptr;
    room_waiters_.fetch_sub(1, std::memory_order_relaxed);
    return p;
}

}  // namespace cf::core
