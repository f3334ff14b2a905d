// SPDX-License-Identifier: MIT
// Small facts about the system and the one way the library reports a failed system call.
#ifndef CFUTURES_SRC_COMMON_SYSTEM_HPP
#define CFUTURES_SRC_COMMON_SYSTEM_HPP

#include <cstddef>
#include <string>

namespace cf::core {

// Throws cf::SystemError "<what>: <strerror(errno)>".
[[noreturn]] void throw_errno(const std::string &what);

// The CPUs this process may run on (its affinity mask; hardware_concurrency where that is unknown; at least 1).
std::size_t usable_cpus() noexcept;

// The readable name of a type ("std::out_of_range" for typeid(std::out_of_range).name()).
std::string demangle(const char *mangled);

}  // namespace cf::core

#endif  // CFUTURES_SRC_COMMON_SYSTEM_HPP
