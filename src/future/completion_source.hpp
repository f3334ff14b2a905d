// CompletionSource: an executor whose futures a waiting thread can complete itself. A process pool's results
// arrive in shared memory; a thread that waits on one of its futures collects them (and hands out waiting work)
// instead of sleeping until a supervisor thread has done it, which saves a thread hop per result. Internal:
// no API.
#pragma once

#include "deadline.hpp"
#include "waiter.hpp"

namespace cf::detail {

class CompletionSource {
public:
    // Like w.sleep_until(deadline), but collects the executor's completions meanwhile; returns whether w's
    // condition holds.
    virtual bool collect_while_waiting(Waiter &w, const Deadline &deadline) = 0;

protected:
    ~CompletionSource() = default;
};

}  // namespace cf::detail
