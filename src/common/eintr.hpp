// SPDX-License-Identifier: MIT
// System calls that a signal handler may interrupt (EINTR) are retried: a program's timer signal must never
// look like an ended worker or a closed channel. Internal: no API.
#pragma once

#include <cerrno>

namespace cf::core {

// Calls call() until it returns anything but -1 with errno EINTR; returns what it returned last.
template <class Call>
auto retry_eintr(Call &&call) -> decltype(call()) {
    for (;;) {
        auto r = call();
        if (!(r == -1 && errno == EINTR)) return r;
    }
}

}  // namespace cf::core
