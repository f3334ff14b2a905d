// WaitHelper: lets a thread do useful work instead of blocking while it waits for a future. A pool's worker
// thread installs its pool here, so that a task waiting on a task of the same pool runs queued tasks meanwhile
// and a full pool cannot deadlock on itself. Internal: no API.
#pragma once

#include "deadline.hpp"

namespace cf::detail {

class FutureState;

class WaitHelper {
public:
    // Waits until f is done or the deadline passes, helping meanwhile; returns whether f is done.
    virtual bool help_wait(FutureState &f, const Deadline &deadline) = 0;

protected:
    ~WaitHelper() = default;
};

// The helper of the calling thread (nullptr outside pool workers). Thread-local, set by the worker itself.
WaitHelper *&current_wait_helper() noexcept;

}  // namespace cf::detail
