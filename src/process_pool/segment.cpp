#include "segment.hpp"

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

#include "cfutures/errors.hpp"

namespace cf::detail {
namespace {

namespace bip = boost::interprocess;
// The one party that allocates from a region serialises itself, so the allocator needs no lock: a worker that
// dies mid-allocation leaves no lock held for anyone else.
using Allocator = bip::rbtree_best_fit<bip::null_mutex_family, bip::offset_ptr<void>>;

constexpr std::size_t kPage = 4096;
std::size_t round_up(std::size_t n) { return (n + kPage - 1) / kPage * kPage; }

[[noreturn]] void throw_errno(const std::string &what) {
    throw SystemError(what + ": " + std::strerror(errno));
}

Allocator *allocator_at(char *region) { return std::launder(reinterpret_cast<Allocator *>(region)); }

}  // namespace

Segment::Segment(int fd, char *base, std::size_t size, std::uint32_t n_slots)
    : fd_(fd), base_(base), size_(size), n_slots_(n_slots) {}

Segment::~Segment() {
    munmap(base_, size_);
    close(fd_);
}

std::shared_ptr<Segment> Segment::create(std::uint32_t n_slots, std::size_t arena_bytes, std::size_t heap_bytes) {
    if (arena_bytes < Allocator::get_min_size(0) + kPage || heap_bytes < Allocator::get_min_size(0) + kPage)
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
        c.heap_offset = heaps_offset + i * round_up(heap_bytes);
        c.heap_size = round_up(heap_bytes);
    }
    Allocator *arena = new (seg->at(arena_offset)) Allocator(h.arena_size, 0);
    seg->arena_capacity_ = arena->get_free_memory() - 64;  // what one block can take, less its header
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
    return std::shared_ptr<Segment>(new Segment(fd, static_cast<char *>(p), size, h->n_slots));
}

shm::WorkerControl &Segment::slot(std::uint32_t i) const noexcept {
    return reinterpret_cast<shm::WorkerControl *>(base_ + header().control_offset)[i];
}

void *Segment::arena_allocate(std::size_t len) {
    return allocator_at(at(header().arena_offset))->allocate(len ? len : 1);
}

void Segment::arena_free(void *p) {
    if (p) allocator_at(at(header().arena_offset))->deallocate(p);
}

void *Segment::heap_allocate(std::uint32_t s, std::size_t len) {
    shm::WorkerControl &c = slot(s);
    if (!c.heap_ready.load(std::memory_order_acquire)) {
        new (at(c.heap_offset)) Allocator(c.heap_size, 0);
        c.heap_ready.store(1, std::memory_order_release);
    }
    heap_collect(s);
    // Every block can carry the free-list link once the parent hands it back.
    return allocator_at(at(c.heap_offset))->allocate(len < 8 ? 8 : len);
}

void Segment::heap_free(std::uint32_t s, void *p) {
    if (p) allocator_at(at(slot(s).heap_offset))->deallocate(p);
}

void Segment::heap_collect(std::uint32_t s) {
    shm::WorkerControl &c = slot(s);
    std::uint64_t next = c.free_list.exchange(0, std::memory_order_acquire);
    // The list runs through blocks of this heap; the bound keeps a corrupted list from looping forever.
    for (std::uint64_t steps = 0; next != 0 && steps < c.heap_size / 8; ++steps) {
        if (!shm::within(next, 8, c.heap_offset, c.heap_size)) return;
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
    } while (!c.free_list.compare_exchange_weak(head, offset, std::memory_order_release, std::memory_order_relaxed));
}

}  // namespace cf::detail
