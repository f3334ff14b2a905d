// SPDX-License-Identifier: MIT
#include "common/system.hpp"
#include "process_pool/segment.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/offset_ptr.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "common/error.hpp"
#include "common/cross_process_sync.hpp"
#include "process_pool/futex.hpp"

namespace cf::core {
namespace {

namespace bip = boost::interprocess;
// The one party that allocates from a region serialises itself, so the allocator needs no lock: a worker that
// dies mid-allocation leaves no lock held for anyone else.
using Allocator = bip::rbtree_best_fit<bip::null_mutex_family, bip::offset_ptr<void>>;

constexpr std::size_t kPage = 4096;
std::size_t round_up(std::size_t n) { return (n + kPage - 1) / kPage * kPage; }

Allocator *allocator_at(char *region) { return std::launder(reinterpret_cast<Allocator *>(region)); }

}  // namespace

Segment::Segment(int fd, char *base, std::size_t size, std::uint32_t n_slots)
    : fd_(fd), base_(base), size_(size), n_slots_(n_slots), held_(new std::atomic<std::uint64_t>[n_slots]()) {}

Segment::~Segment() {
    munmap(base_, size_);
    close(fd_);
}

std::shared_ptr<Segment> Segment::create(std::uint32_t n_slots, std::size_t arena_bytes, std::size_t heap_bytes) {
    if (arena_bytes < kPage || heap_bytes < Allocator::get_min_size(0) + kPage)
        throw InvalidArgument("shared_memory_bytes is too small");
    std::size_t control_offset = round_up(sizeof(shm::Header));
    std::size_t arena_offset = round_up(control_offset + n_slots * sizeof(shm::WorkerControl));
    std::size_t heaps_offset = arena_offset + round_up(arena_bytes);
    std::size_t total = heaps_offset + n_slots * round_up(heap_bytes);

    int fd = memfd_create("cfutures-pool", MFD_CLOEXEC);
    if (fd < 0) throw_errno("memfd_create");
    // memfd_create makes the file mode 0777. Nothing else can reach it (it has no name, and another user cannot
    // open /proc/<pid>/fd/N of ours), but make the mode say so too: owner only.
    if (fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        throw_errno("fchmod");
    }
    if (ftruncate(fd, static_cast<off_t>(total)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        throw_errno("ftruncate of the pool's shared memory (" + std::to_string(total) + " bytes)");
    }
    void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        errno = e;
        throw_errno("mmap of the pool's shared memory");
    }
    std::shared_ptr<Segment> seg(new Segment(fd, static_cast<char *>(p), total, n_slots));
    seg->control_offset_ = control_offset;
    seg->arena_offset_ = arena_offset;
    seg->arena_size_ = round_up(arena_bytes);
    seg->heaps_offset_ = heaps_offset;
    seg->heap_size_ = round_up(heap_bytes);
    shm::Header &h = seg->header();
    new (&h) shm::Header{};
    h.magic = shm::kMagic;
    h.version = shm::kLayoutVersion;
    h.n_slots = n_slots;
    h.total_size = total;
    h.control_offset = control_offset;
    h.arena_offset = arena_offset;
    h.arena_size = round_up(arena_bytes);
    for (std::uint32_t i = 0; i < n_slots; ++i) {
        shm::WorkerControl &c = seg->slot(i);
        new (&c) shm::WorkerControl{};
        c.heap_offset = seg->heap_offset(i);
        c.heap_size = seg->heap_size_;
    }
    seg->arena_ = std::make_unique<Arena>(seg->arena_size_);
    return seg;
}

std::shared_ptr<Segment> Segment::attach(int fd) {
    struct stat_size {
        static std::size_t of(int fd) {
            off_t end = lseek(fd, 0, SEEK_END);
            return end < 0 ? 0 : static_cast<std::size_t>(end);
        }
    };
    std::size_t size = stat_size::of(fd);
    if (size < sizeof(shm::Header)) throw InvalidArgument("not a cfutures pool segment");
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) throw_errno("mmap of the pool's shared memory");
    auto *h = static_cast<shm::Header *>(p);
    if (h->magic != shm::kMagic || h->version != shm::kLayoutVersion || h->total_size != size) {
        munmap(p, size);
        throw InvalidArgument("not a cfutures pool segment of this version");
    }
    // A worker takes the layout from the header its parent wrote; it checks only that the layout fits.
    std::shared_ptr<Segment> seg(new Segment(fd, static_cast<char *>(p), size, h->n_slots));
    seg->control_offset_ = h->control_offset;
    seg->arena_offset_ = h->arena_offset;
    seg->arena_size_ = h->arena_size;
    seg->heaps_offset_ = h->arena_offset + h->arena_size;
    bool fits = h->n_slots > 0 && h->n_slots <= size / sizeof(shm::WorkerControl) &&
                shm::within(h->control_offset, h->n_slots * sizeof(shm::WorkerControl), 0, size);
    if (fits) {
        seg->heap_size_ = seg->slot(0).heap_size;
        fits = seg->heap_size_ <= size / h->n_slots && shm::within(seg->heaps_offset_, h->n_slots * seg->heap_size_, 0, size);
    }
    if (!fits) {
        seg->fd_ = -1;  // the caller still owns the descriptor
        throw InvalidArgument("the pool segment's layout does not fit its size");
    }
    return seg;
}

void *Segment::arena_allocate(std::size_t len) {
    if (!arena_) return nullptr;
    std::uint64_t offset = arena_->allocate(len);
    return offset == Arena::kNone ? nullptr : at(arena_offset_ + offset);
}

void Segment::arena_free(void *p) {
    if (p && arena_) arena_->free(offset_of(p) - arena_offset_);
}

void *Segment::heap_allocate(std::uint32_t s, std::size_t len) {
    shm::WorkerControl &c = slot(s);
    if (!c.heap_ready.load(std::memory_order_acquire)) {
        new (at(heap_offset(s))) Allocator(heap_size_, 0);
        c.heap_ready.store(1, std::memory_order_release);
    }
    heap_collect(s);
    // A size the heap could never hold is refused before the allocator's own arithmetic (which wraps) sees it.
    if (len > heap_size_) return nullptr;
    // Every block can carry the free-list link once the parent hands it back.
    return allocator_at(at(heap_offset(s)))->allocate(len < 8 ? 8 : len);
}

void Segment::heap_free(std::uint32_t s, void *p) {
    if (p) allocator_at(at(heap_offset(s)))->deallocate(p);
}

bool Segment::in_heap(std::uint32_t s, std::uint64_t offset, std::uint64_t len) const noexcept {
    return s < n_slots_ && shm::within(offset, len, heap_offset(s), heap_size_);
}

void Segment::heap_collect(std::uint32_t s) {
    shm::WorkerControl &c = slot(s);
    std::uint64_t next = c.free_list.exchange(0, std::memory_order_acquire);
    // The list runs through blocks of this heap; the bound keeps a corrupted list from looping forever.
    for (std::uint64_t steps = 0; next != 0 && steps < heap_size_ / 8; ++steps) {
        if (!in_heap(s, next, 8)) return;
        std::uint64_t after;
        std::memcpy(&after, at(next), sizeof after);
        heap_free(s, at(next));
        next = after;
    }
}

void Segment::release_result(std::uint32_t s, std::uint64_t offset) {
    shm::WorkerControl &c = slot(s);
    std::uint64_t head = c.free_list.load(std::memory_order_relaxed);
    do {
        std::memcpy(at(offset), &head, sizeof head);
    } while (!c.free_list.compare_exchange_weak(head, offset, std::memory_order_seq_cst, std::memory_order_relaxed));
    cross_process_release(&c.free_list);
    // A worker waiting for room in its heap (a result larger than what is free) looks again.
    c.room_bell.ring(1);
}

void Segment::results_taken(std::uint32_t s) const noexcept {
    cross_process_acquire(&slot(s).free_list);
}

}  // namespace cf::core
