// SPDX-License-Identifier: MIT
#include "common/handle_storage.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#include "common/fork_guard.hpp"
#include "common/spin.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define CF_HANDLE_STORAGE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CF_HANDLE_STORAGE_ASAN 1
#endif
#endif
#ifdef CF_HANDLE_STORAGE_ASAN
#include <sanitizer/asan_interface.h>
#define CF_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define CF_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define CF_POISON(p, n) ((void)(p), (void)(n))
#define CF_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace cf::core::handle_storage {
namespace {

// The header (the free-list link while released) keeps the object 16-byte aligned, as malloc would.
struct alignas(16) Header {
    Header *next_free;
};
static_assert(sizeof(Header) == 16, "the header keeps objects 16-byte aligned");

constexpr std::size_t kGranule = 64;  // size classes: multiples of 64 bytes, up to kClasses * 64
constexpr std::size_t kClasses = 64;

struct FreeLists {
    SpinMutex mu;
    std::array<Header *, kClasses> head{};
};

// Never destroyed: handles may be released during exit. Its lock is held across every fork() of the program.
FreeLists &free_lists() {
    static FreeLists *lists = [] {
        auto *made = new FreeLists;
        at_fork([] { free_lists().mu.lock(); }, [] { free_lists().mu.unlock(); }, [] { free_lists().mu.unlock(); });
        return made;
    }();
    return *lists;
}

// Made while the library loads: a first use racing with a fork() on another thread would leave the child with a
// half-made static (its guard taken for ever).
const bool free_lists_made = (free_lists(), true);

std::size_t size_class(std::size_t object_size) { return (sizeof(Header) + object_size - 1) / kGranule; }

Header *header_of(const void *object) {
    return reinterpret_cast<Header *>(const_cast<char *>(static_cast<const char *>(object)) - sizeof(Header));
}

void put_shared_locked(FreeLists &lists, std::size_t cls, Header *h) noexcept {
    h->next_free = lists.head[cls];
    lists.head[cls] = h;
}

Header *take_shared(std::size_t cls) {
    FreeLists &lists = free_lists();
    std::lock_guard<SpinMutex> lock(lists.mu);
    Header *h = lists.head[cls];
    if (h) lists.head[cls] = h->next_free;
    return h;
}

// Each thread keeps released blocks of its own, up to kCacheMax per class, and moves them to and from the shared
// lists kBatch at a time: a thread that makes and drops futures at a high rate touches the shared lock once per
// kBatch of them. A thread's cache goes back to the shared lists when the thread ends.
constexpr std::uint32_t kBatch = 32;
constexpr std::uint32_t kCacheMax = 512;

struct ThreadCache {
    std::array<Header *, kClasses> head{};
    std::array<std::uint32_t, kClasses> count{};

    Header *pop(std::size_t cls) noexcept {
        Header *h = head[cls];
        if (h) {
            head[cls] = h->next_free;
            --count[cls];
        }
        return h;
    }
    void push(std::size_t cls, Header *h) noexcept {
        h->next_free = head[cls];
        head[cls] = h;
        ++count[cls];
    }
    void refill(std::size_t cls) {
        FreeLists &lists = free_lists();
        std::lock_guard<SpinMutex> lock(lists.mu);
        for (std::uint32_t i = 0; i < kBatch && lists.head[cls]; ++i) {
            Header *h = lists.head[cls];
            lists.head[cls] = h->next_free;
            push(cls, h);
        }
    }
    void give_back(std::size_t cls, std::uint32_t n) noexcept {
        FreeLists &lists = free_lists();
        std::lock_guard<SpinMutex> lock(lists.mu);
        for (std::uint32_t i = 0; i < n && head[cls]; ++i) put_shared_locked(lists, cls, pop(cls));
    }
    ~ThreadCache();
};

// Set once the thread's cache is gone (handles released later in the thread's exit use the shared lists).
// Trivially destructible, so it stays readable until the thread ends.
thread_local bool t_cache_gone = false;

ThreadCache::~ThreadCache() {
    for (std::size_t cls = 0; cls < kClasses; ++cls) give_back(cls, count[cls]);
    t_cache_gone = true;
}

ThreadCache *thread_cache() noexcept {
    if (t_cache_gone) return nullptr;
    static thread_local ThreadCache cache;
    return &cache;
}

}  // namespace

// The first bytes of a released object stay readable: the handle's tag is there.
constexpr std::size_t kReadableAfterRelease = 16;

void *allocate(std::size_t size) {
    std::size_t cls = size_class(size);
    if (cls >= kClasses) throw std::bad_alloc();  // no handle type is that large
    std::size_t block_size = (cls + 1) * kGranule;
    Header *h = nullptr;
    if (ThreadCache *cache = thread_cache()) {
        if (!cache->head[cls]) cache->refill(cls);
        h = cache->pop(cls);
    } else {
        h = take_shared(cls);
    }
    if (h) {
        CF_UNPOISON(h + 1, block_size - sizeof(Header));
    } else {
        void *raw = std::aligned_alloc(alignof(Header), block_size);
        if (!raw) throw std::bad_alloc();
        h = static_cast<Header *>(raw);
    }
    h->next_free = nullptr;
    return h + 1;
}

void release(void *object, std::size_t size) noexcept {
    if (!object) return;
    std::size_t cls = size_class(size);
    Header *h = header_of(object);
    CF_POISON(static_cast<char *>(object) + kReadableAfterRelease,
              (cls + 1) * kGranule - sizeof(Header) - kReadableAfterRelease);
    if (ThreadCache *cache = thread_cache()) {
        cache->push(cls, h);
        if (cache->count[cls] > kCacheMax) cache->give_back(cls, kCacheMax / 2);
        return;
    }
    FreeLists &lists = free_lists();
    std::lock_guard<SpinMutex> lock(lists.mu);
    put_shared_locked(lists, cls, h);
}

}  // namespace cf::core::handle_storage
