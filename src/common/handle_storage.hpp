// SPDX-License-Identifier: MIT
// Storage for the objects that the C ABI hands out as handles (futures, executors, iterators).
//
// Each such object starts with its type tag (TaggedHandle, its first base). Blocks are never given back to the
// system allocator: a released block keeps its memory, with the tag cleared, until another handle of the same
// size class reuses it. So a handle passed after its release (its memory not yet reused) still reads a tag, a
// cleared one, and the call fails with CF_E_INVALID_ARGUMENT instead of reading freed memory. Under
// AddressSanitizer the rest of a released object is poisoned, so the library's own use-after-free bugs are still
// caught; only its first 16 bytes, where the tag is, stay readable.
//
// A class opts in by deriving from TaggedHandle<Tag> first, which supplies operator new/delete and tag_ok().
// Internal: no API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cf::core {

namespace handle_storage {

// Returns memory for an object of `size` bytes; throws std::bad_alloc.
void *allocate(std::size_t size);
// Keeps the block for reuse by the same size class.
void release(void *object, std::size_t size) noexcept;

}  // namespace handle_storage

template <std::uint32_t Tag>
class TaggedHandle {
public:
    static constexpr std::uint32_t kTag = Tag;
    bool tag_ok() const noexcept { return handle_tag_ == Tag; }

    static void *operator new(std::size_t size) { return handle_storage::allocate(size); }
    static void operator delete(void *object, std::size_t size) noexcept { handle_storage::release(object, size); }

protected:
    TaggedHandle() noexcept = default;
    TaggedHandle(const TaggedHandle &) noexcept {}
    TaggedHandle &operator=(const TaggedHandle &) noexcept { return *this; }
    ~TaggedHandle() { handle_tag_ = 0; }

private:
    // volatile: the clearing store must happen although the object's lifetime ends right after it.
    volatile std::uint32_t handle_tag_ = Tag;
};

}  // namespace cf::core
