// SPDX-License-Identifier: MIT
#include "common/system.hpp"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <cfutures/errors.hpp>

namespace cf::detail {

void throw_errno(const std::string &what) { throw SystemError(what + ": " + std::strerror(errno)); }

std::size_t usable_cpus() noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(CPU_COUNT(&set));
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

}  // namespace cf::detail
