// SPDX-License-Identifier: MIT
#include "common/memory_limit.hpp"

#include <unistd.h>

#include <cstdint>

namespace cf::core {
namespace {

std::size_t measure() noexcept {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return static_cast<std::size_t>(PTRDIFF_MAX);
    return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page);
}

// Measured while the library loads: no lazy static whose first use could race with a fork().
const std::size_t physical_bytes = measure();

}  // namespace

std::size_t physical_memory_bytes() noexcept { return physical_bytes; }

}  // namespace cf::core
