// The largest payload the library will try to allocate: the machine's physical memory. A size past it (a
// wrapped length, SIZE_MAX) is refused as too large before any allocator sees it. Internal: no API.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace cf::detail {

inline std::size_t physical_memory_bytes() noexcept {
    static const std::size_t bytes = [] {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        if (pages <= 0 || page <= 0) return static_cast<std::size_t>(PTRDIFF_MAX);
        return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page);
    }();
    return bytes;
}

inline bool larger_than_memory(std::size_t len) noexcept { return len > physical_memory_bytes(); }

}  // namespace cf::detail
