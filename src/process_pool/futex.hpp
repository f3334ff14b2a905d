// SPDX-License-Identifier: MIT
// Futex wait and wake on a word in shared memory (the process-shared form: no FUTEX_PRIVATE_FLAG).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace cf::core {

// Sleeps while *word == expected (or until timeout_ns, if not negative, or a signal).
inline void futex_wait(std::atomic<std::uint32_t> &word, std::uint32_t expected, long long timeout_ns = -1) {
    struct timespec ts {
        static_cast<time_t>(timeout_ns / 1000000000), static_cast<long>(timeout_ns % 1000000000)
    };
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word), FUTEX_WAIT, expected,
            timeout_ns < 0 ? nullptr : &ts, nullptr, 0);
}

inline void futex_wake(std::atomic<std::uint32_t> &word, int n) {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word), FUTEX_WAKE, n, nullptr, nullptr, 0);
}

}  // namespace cf::core
