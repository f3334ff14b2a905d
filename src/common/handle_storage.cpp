#include "handle_storage.hpp"

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>

#include "fork_guard.hpp"
#include "spin.hpp"

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

namespace cf::detail::handle_storage {
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

}  // namespace

// The first bytes of a released object stay readable: the handle's tag is there.
constexpr std::size_t kReadableAfterRelease = 16;

void *allocate(std::size_t size) {
    std::size_t cls = size_class(size);
    if (cls >= kClasses) throw std::bad_alloc();  // no handle type is that large
    std::size_t block_size = (cls + 1) * kGranule;
    Header *h = nullptr;
    {
        FreeLists &lists = free_lists();
        std::lock_guard<SpinMutex> lock(lists.mu);
        h = lists.head[cls];
        if (h) lists.head[cls] = h->next_free;
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
    FreeLists &lists = free_lists();
    std::lock_guard<SpinMutex> lock(lists.mu);
    h->next_free = lists.head[cls];
    lists.head[cls] = h;
}

}  // namespace cf::detail::handle_storage
