// SPDX-License-Identifier: MIT
#include "process_pool/arena.hpp"

#include <iterator>

namespace cf::core {

namespace {
std::uint64_t round_up(std::uint64_t len) { return (len + Arena::kAlign - 1) / Arena::kAlign * Arena::kAlign; }
}  // namespace

Arena::Arena(std::uint64_t size) : size_(size / kAlign * kAlign) {
    if (size_ > 0) give_range(0, size_);
}

std::uint64_t Arena::allocate(std::uint64_t len) {
    if (len > size_) return kNone;
    std::uint64_t size = round_up(len ? len : 1);
    std::size_t cls = size / kAlign - 1;
    std::uint64_t offset = kNone;
    if (cls < kSmallClasses && !small_[cls].empty()) {
        offset = small_[cls].back();
        small_[cls].pop_back();
    } else {
        offset = take_range(size);
        if (offset == kNone) {
            flush_small();
            offset = take_range(size);
            if (offset == kNone) return kNone;
        }
    }
    used_.emplace(offset, size);
    in_use_ += size;
    return offset;
}

void Arena::free(std::uint64_t offset) {
    auto it = used_.find(offset);
    if (it == used_.end()) return;
    std::uint64_t size = it->second;
    used_.erase(it);
    in_use_ -= size;
    std::size_t cls = size / kAlign - 1;
    if (cls < kSmallClasses) {
        small_[cls].push_back(offset);
    } else {
        give_range(offset, size);
    }
}

std::uint64_t Arena::take_range(std::uint64_t size) {
    auto best = free_by_size_.lower_bound({size, 0});
    if (best == free_by_size_.end()) return kNone;
    auto [range_size, offset] = *best;
    free_by_size_.erase(best);
    free_by_offset_.erase(offset);
    if (range_size > size) {
        free_by_offset_.emplace(offset + size, range_size - size);
        free_by_size_.emplace(range_size - size, offset + size);
    }
    return offset;
}

void Arena::give_range(std::uint64_t offset, std::uint64_t size) {
    auto next = free_by_offset_.lower_bound(offset);
    if (next != free_by_offset_.end() && offset + size == next->first) {  // merge with the range after
        size += next->second;
        free_by_size_.erase({next->second, next->first});
        next = free_by_offset_.erase(next);
    }
    if (next != free_by_offset_.begin()) {  // merge with the range before
        auto prev = std::prev(next);
        if (prev->first + prev->second == offset) {
            offset = prev->first;
            size += prev->second;
            free_by_size_.erase({prev->second, prev->first});
            free_by_offset_.erase(prev);
        }
    }
    free_by_offset_.emplace(offset, size);
    free_by_size_.emplace(size, offset);
}

void Arena::flush_small() {
    for (std::size_t cls = 0; cls < kSmallClasses; ++cls) {
        for (std::uint64_t offset : small_[cls]) give_range(offset, (cls + 1) * kAlign);
        small_[cls].clear();
    }
}

}  // namespace cf::core
