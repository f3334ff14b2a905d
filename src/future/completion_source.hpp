// SPDX-License-Identifier: MIT
// CompletionSource: an executor whose futures a waiting thread can complete itself. A process pool's results
// arrive in shared memory; a thread that waits on one of its futures collects them (and hands out waiting work)
// instead of sleeping until a supervisor thread has done it, which saves a thread hop per result. Internal:
// no API.
#pragma once

#include <cstdint>

#include "future/deadline.hpp"
#include "future/waiter.hpp"

namespace cf::core {

class CompletionSource {
public:
    // Like w.sleep_until(deadline), but collects the executor's completions meanwhile; returns whether w's
    // condition holds.
    virtual bool collect_while_waiting(Waiter &w, const Deadline &deadline) = 0;
    // Stops the task with this id on that lane from running any further (cancel_running): true when it was
    // running and is being stopped, or had not started and never will; false when it finished already.
    virtual bool stop_running(std::uint32_t lane, std::uint64_t id) = 0;

protected:
    ~CompletionSource() = default;
};

}  // namespace cf::core
