// SPDX-License-Identifier: MIT
// Segment: one process pool's shared memory, an anonymous memfd mapped in the parent and inherited (fork) or
// passed by descriptor (spawn) to the workers. Nothing is ever named in /dev/shm, so nothing can outlive the
// processes that map it. Also the allocators for it.
//
// The layout (where the worker controls, the arena and the heaps lie) is kept in this object, in private memory:
// the parent never takes an offset or a size from the shared header, which a worker could overwrite. The arena's
// bookkeeping is private too (Arena). Only a worker's own result heap keeps its allocator inside shared memory,
// and the parent never uses that allocator. Internal: no API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "process_pool/shm_layout.hpp"

#include "process_pool/arena.hpp"

namespace cf::core {

class Segment {
public:
    // Creates and lays out a segment for n_slots workers, arena_bytes of arguments and heap_bytes of results per
    // worker. Throws SystemError / InvalidArgument.
    static std::shared_ptr<Segment> create(std::uint32_t n_slots, std::size_t arena_bytes, std::size_t heap_bytes);
    // Maps an existing segment from a descriptor (a spawned worker). Throws on a malformed header.
    static std::shared_ptr<Segment> attach(int fd);
    ~Segment();
    Segment(const Segment &) = delete;
    Segment &operator=(const Segment &) = delete;

    int fd() const noexcept { return fd_; }
    char *base() const noexcept { return base_; }
    std::size_t size() const noexcept { return size_; }
    shm::Header &header() const noexcept { return *reinterpret_cast<shm::Header *>(base_); }
    std::uint32_t n_slots() const noexcept { return n_slots_; }
    shm::WorkerControl &slot(std::uint32_t i) const noexcept {
        return reinterpret_cast<shm::WorkerControl *>(base_ + control_offset_)[i];
    }

    char *at(std::uint64_t offset) const noexcept { return base_ + offset; }
    std::uint64_t offset_of(const void *p) const noexcept {
        return static_cast<std::uint64_t>(static_cast<const char *>(p) - base_);
    }

    // The argument arena (parent only; the caller serialises). nullptr when there is no room now.
    void *arena_allocate(std::size_t len);
    void arena_free(void *p);
    // The largest block the arena could ever hold.
    std::size_t arena_capacity() const noexcept { return arena_size_; }

    // A worker's result heap (that worker only). Builds it on first use of the slot.
    void *heap_allocate(std::uint32_t slot, std::size_t len);
    void heap_free(std::uint32_t slot, void *p);
    // Frees what the parent has handed back through the slot's free list.
    void heap_collect(std::uint32_t slot);
    // Parent: hands a result block back to its worker (lock-free; safe whatever the worker does).
    void release_result(std::uint32_t slot, std::uint64_t offset);
    // Parent, after taking completions from a worker: orders every earlier release_result of that slot, by any
    // thread, before the reads of the results (the worker reused those blocks in between, out of sight of
    // ThreadSanitizer; elsewhere this costs nothing).
    void results_taken(std::uint32_t slot) const noexcept;
    // True when [offset, offset + len) lies inside that worker's result heap.
    bool in_heap(std::uint32_t slot, std::uint64_t offset, std::uint64_t len) const noexcept;
    std::size_t heap_size() const noexcept { return heap_size_; }
    // Parent: the bytes of results the caller holds in place in a worker's heap (private bookkeeping).
    void hold(std::uint32_t slot, std::uint64_t len) noexcept { held_[slot].fetch_add(len, std::memory_order_relaxed); }
    void unhold(std::uint32_t slot, std::uint64_t len) noexcept { held_[slot].fetch_sub(len, std::memory_order_relaxed); }
    std::uint64_t held(std::uint32_t slot) const noexcept { return held_[slot].load(std::memory_order_relaxed); }

private:
    Segment(int fd, char *base, std::size_t size, std::uint32_t n_slots);
    std::uint64_t heap_offset(std::uint32_t slot) const noexcept { return heaps_offset_ + slot * heap_size_; }

    int fd_;
    char *base_;
    std::size_t size_;
    std::uint32_t n_slots_;
    std::size_t control_offset_ = 0;
    std::size_t arena_offset_ = 0;
    std::size_t arena_size_ = 0;
    std::size_t heaps_offset_ = 0;
    std::size_t heap_size_ = 0;
    std::unique_ptr<Arena> arena_;  // the parent's; a worker has none
    std::unique_ptr<std::atomic<std::uint64_t>[]> held_;  // per slot, see hold()
};

}  // namespace cf::core
