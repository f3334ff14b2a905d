// SPDX-License-Identifier: MIT
// The largest payload the library will try to allocate: the machine's physical memory. A size past it (a
// wrapped length, SIZE_MAX) is refused as too large before any allocator sees it. Internal: no API.
#pragma once

#include <cstddef>

namespace cf::core {

std::size_t physical_memory_bytes() noexcept;

inline bool larger_than_memory(std::size_t len) noexcept { return len > physical_memory_bytes(); }

}  // namespace cf::core
