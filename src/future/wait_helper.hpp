// SPDX-License-Identifier: MIT
// WaitHelper: lets a thread do useful work instead of blocking while it waits for a future. A pool's worker
// thread installs its pool here, so that a task waiting on a task of the same pool runs queued tasks meanwhile
// and a full pool cannot deadlock on itself. Internal: no API.
#pragma once

#include <cstddef>

#include "future/deadline.hpp"
#include "future/waiter.hpp"

namespace cf::core {

class FutureState;

// The futures a wait is waiting for (none known: n == 0).
struct WaitTargets {
    FutureState *const *items = nullptr;
    std::size_t n = 0;
    bool contains(const FutureState *f) const noexcept {
        for (std::size_t i = 0; i < n; ++i)
            if (items[i] == f) return true;
        return false;
    }
};

class WaitHelper {
public:
    // Like w.sleep_until(deadline), but runs queued work meanwhile; returns whether w's condition holds. Throws
    // DeadlockError when the wait can never end.
    virtual bool help_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets) = 0;

protected:
    ~WaitHelper() = default;
};

// The helper of the calling thread (nullptr outside pool workers). Thread-local, set by the worker itself.
WaitHelper *&current_wait_helper() noexcept;

// How every wait of the library sleeps: on a pool's worker thread it helps the pool; waiting on a future of an
// executor that lets waiters collect its completions (a process pool), it collects them; elsewhere it sleeps.
bool sleep_or_help(Waiter &w, const Deadline &deadline, WaitTargets targets = {});

}  // namespace cf::core
