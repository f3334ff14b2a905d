// Storage for the objects that the C ABI hands out as handles (futures, executors, iterators).
//
// Each object sits in a block behind a small header that holds the handle's type tag. Blocks are never given
// back to the system allocator; a released block keeps its memory, with the tag cleared, until another handle of
// the same size class reuses it. So a handle passed after its release (its memory not yet reused) still reads a
// tag, a cleared one, and the call fails with CF_E_INVALID_ARGUMENT instead of reading freed memory. Under
// AddressSanitizer the object part of a released block is poisoned, so the library's own use-after-free bugs are
// still caught; only the header stays readable.
//
// A class opts in by deriving from TaggedHandle<Tag>, which supplies operator new/delete and tag_ok().
// Internal: no API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cf::detail {

namespace handle_storage {

// Returns memory for an object of `size` bytes whose header carries `tag`; throws std::bad_alloc.
void *allocate(std::size_t size, std::uint32_t tag);
// Clears the tag and keeps the block for reuse.
void release(void *object, std::size_t size) noexcept;
// The tag in the header of a block that allocate() returned (a cleared tag once released).
std::uint32_t tag_of(const void *object) noexcept;

}  // namespace handle_storage

template <std::uint32_t Tag>
class TaggedHandle {
public:
    static constexpr std::uint32_t kTag = Tag;
    bool tag_ok() const noexcept { return handle_storage::tag_of(this) == Tag; }

    static void *operator new(std::size_t size) { return handle_storage::allocate(size, Tag); }
    static void operator delete(void *object, std::size_t size) noexcept { handle_storage::release(object, size); }

protected:
    TaggedHandle() = default;
    ~TaggedHandle() = default;
};

}  // namespace cf::detail
