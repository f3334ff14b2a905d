// SPDX-License-Identifier: MIT
// Arena: the parent's allocator for the argument region of a pool's shared memory. Its bookkeeping lives in the
// parent's private memory, never in the region it manages, so a worker that writes over the shared region
// (a stray pointer, a hostile task) can garble arguments but cannot mislead the parent's allocator.
//
// Blocks are multiples of 16 bytes at offsets from the region's start. Small blocks are recycled through one
// stack per size class; the rest come from best-fit free ranges that merge with their neighbours when freed.
// Not thread-safe: the pool calls it under its lock. Internal: no API.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cf::core {

class Arena {
public:
    static constexpr std::uint64_t kNone = ~std::uint64_t{0};
    static constexpr std::uint64_t kAlign = 16;

    explicit Arena(std::uint64_t size);

    // The offset of a block of at least len bytes (len 0 counts as 1), or kNone when there is no room now.
    std::uint64_t allocate(std::uint64_t len);
    // Returns a block; an offset allocate() did not give (or gave and was freed) is ignored.
    void free(std::uint64_t offset);

    std::uint64_t size() const noexcept { return size_; }
    std::uint64_t bytes_in_use() const noexcept { return in_use_; }

private:
    static constexpr std::size_t kSmallClasses = 64;  // blocks up to 64 * 16 = 1 KiB are recycled by size

    std::uint64_t take_range(std::uint64_t size);
    void give_range(std::uint64_t offset, std::uint64_t size);
    void flush_small();  // gives every cached small block back to the ranges

    std::uint64_t size_;
    std::uint64_t in_use_ = 0;
    std::map<std::uint64_t, std::uint64_t> free_by_offset_;           // offset -> size
    std::set<std::pair<std::uint64_t, std::uint64_t>> free_by_size_;  // (size, offset)
    std::array<std::vector<std::uint64_t>, kSmallClasses> small_;     // freed small blocks, by size class
    std::unordered_map<std::uint64_t, std::uint64_t> used_;            // offset -> size of live blocks
};

}  // namespace cf::core
