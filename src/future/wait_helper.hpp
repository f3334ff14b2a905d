// WaitHelper: lets a thread do useful work instead of blocking while it waits for a future. A pool's worker
// thread installs its pool here, so that a task waiting on a task of the same pool runs queued tasks meanwhile
// and a full pool cannot deadlock on itself. Internal: no API.
#pragma once

#include "deadline.hpp"
#include "waiter.hpp"

namespace cf::detail {

class FutureState;

class WaitHelper {
public:
    // Like w.sleep_until(deadline), but runs queued work meanwhile; returns whether w's condition holds. target:
    // the one future waited for, when there is one. Throws DeadlockError when the wait can never end.
    virtual bool help_sleep(Waiter &w, const Deadline &deadline, const FutureState *target) = 0;

protected:
    ~WaitHelper() = default;
};

// The helper of the calling thread (nullptr outside pool workers). Thread-local, set by the worker itself.
WaitHelper *&current_wait_helper() noexcept;

// How every wait of the library sleeps: on a pool's worker thread it helps the pool, elsewhere it sleeps.
inline bool sleep_or_help(Waiter &w, const Deadline &deadline, const FutureState *target = nullptr) {
    if (WaitHelper *helper = current_wait_helper()) return helper->help_sleep(w, deadline, target);
    return w.sleep_until(deadline);
}

}  // namespace cf::detail
