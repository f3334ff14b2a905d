// SPDX-License-Identifier: MIT
#include "process_pool/argument_store.hpp"

#include <algorithm>

namespace cf::core {

thread_local const ArgumentStore *ArgumentStore::looking_in_ = nullptr;

ArgumentStore::ArgumentStore(Segment &seg) : seg_(seg), stripe_cap_(seg.arena_capacity() / 4 / kStripes) {}

std::size_t ArgumentStore::class_of(std::size_t len) noexcept {
    std::size_t units = (len ? len + Arena::kAlign - 1 : Arena::kAlign) / Arena::kAlign;
    return units <= kClasses ? units - 1 : kClasses;
}

ArgumentStore::Stripe &ArgumentStore::my_stripe() noexcept {
    // Threads are dealt to the stripes in turn as they first come, so that a few busy threads rarely share one.
    static std::atomic<std::size_t> next{0};
    thread_local std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripes_[mine];
}

void *ArgumentStore::take_from_arena(std::size_t len) {
    {
        std::lock_guard<std::mutex> lock(arena_mu_);
        if (void *p = seg_.arena_allocate(len)) return p;
    }
    // The room may be sitting in the stripes' caches.
    flush_stripes();
    std::lock_guard<std::mutex> lock(arena_mu_);
    return seg_.arena_allocate(len);
}

void *ArgumentStore::allocate(std::size_t len) {
    std::size_t cls = class_of(len);
    if (cls == kClasses) return take_from_arena(len);
    Stripe &s = my_stripe();
    {
        std::lock_guard<SpinLock> lock(s.mu);
        if (!s.free[cls].empty()) {
            void *p = s.free[cls].back();
            s.free[cls].pop_back();
            s.bytes -= (cls + 1) * Arena::kAlign;
            return p;
        }
    }
    // A batch from the arena: one for this request, the rest cached for the next ones (as many as the stripe's
    // share of the arena allows).
    std::size_t size = (cls + 1) * Arena::kAlign;
    std::size_t want = std::max<std::size_t>(1, std::min(kBatch, stripe_cap_ / size));
    void *batch[kBatch];
    std::size_t n = 0;
    {
        std::lock_guard<std::mutex> lock(arena_mu_);
        while (n < want && (batch[n] = seg_.arena_allocate(size))) ++n;
    }
    if (n == 0) return take_from_arena(size);
    if (n > 1) {
        {
            std::lock_guard<SpinLock> lock(s.mu);
            s.free[cls].insert(s.free[cls].end(), batch + 1, batch + n);
            s.bytes += (n - 1) * size;
        }
        // A thread that looked for room while these were between the arena and the stripe looks again.
        notify_freed();
    }
    return batch[0];
}

void ArgumentStore::free(void *p, std::size_t len) {
    if (!p) return;
    std::size_t cls = class_of(len);
    void *surplus[kBatch];
    std::size_t n = 0;
    if (cls < kClasses) {
        std::size_t size = (cls + 1) * Arena::kAlign;
        Stripe &s = my_stripe();
        std::lock_guard<SpinLock> lock(s.mu);
        std::vector<void *> &cache = s.free[cls];
        cache.push_back(p);
        s.bytes += size;
        // Past its count or its share of the arena, the class gives a batch back.
        if (cache.size() > kMaxCached || s.bytes > stripe_cap_) {
            n = std::min(kBatch, cache.size());
            std::copy(cache.end() - static_cast<std::ptrdiff_t>(n), cache.end(), surplus);
            cache.resize(cache.size() - n);
            s.bytes -= n * size;
        }
    } else {
        surplus[n++] = p;
    }
    if (n) {
        std::lock_guard<std::mutex> lock(arena_mu_);
        for (std::size_t i = 0; i < n; ++i) seg_.arena_free(surplus[i]);
    }
    notify_freed();
}

void ArgumentStore::flush_stripes() {
    std::vector<void *> back;
    for (Stripe &s : stripes_) {
        std::lock_guard<SpinLock> lock(s.mu);
        for (std::vector<void *> &cache : s.free) {
            back.insert(back.end(), cache.begin(), cache.end());
            cache.clear();
        }
        s.bytes = 0;
    }
    if (back.empty()) return;
    {
        std::lock_guard<std::mutex> lock(arena_mu_);
        for (void *p : back) seg_.arena_free(p);
    }
    // A thread that found no room while these were on their way back looks again.
    notify_freed();
}

void ArgumentStore::notify_freed() {
    // The other half of allocate_waiting's count-then-look. A look that finds no room has taken every stripe's
    // lock and the arena's after counting itself; the caller released one of those locks after putting blocks
    // where a look finds them, before this read. So either that look found them, or this read sees the count.
    if (room_waiters_.load(std::memory_order_relaxed) == 0) return;
    if (looking_in_ == this) {
        room_cv_.notify_all();  // this thread is a waiter looking for room: it holds room_mu_ already
        return;
    }
    wake_waiters();
}

void ArgumentStore::wake_waiters() {
    std::lock_guard<std::mutex> lock(room_mu_);
    room_cv_.notify_all();
}

}  // namespace cf::core
