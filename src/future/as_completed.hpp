// SPDX-License-Identifier: MIT
// AsCompletedIterator: yields futures as they complete (cf::as_completed, cf_as_completed). Internal: no API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "common/handle_storage.hpp"
#include "future/deadline.hpp"
#include "future/waiter.hpp"

namespace cf::core {

class FutureState;

class AsCompletedIterator : public TaggedHandle<0x43464143> {  // "CFAC"
public:

    // Holds a reference to each distinct future until destroyed. Null entries are skipped.
    AsCompletedIterator(FutureState *const *fs, std::size_t n, const Deadline &deadline);
    ~AsCompletedIterator();
    AsCompletedIterator(const AsCompletedIterator &) = delete;
    AsCompletedIterator &operator=(const AsCompletedIterator &) = delete;

    // The next future (borrowed), or nullptr at the end; throws TimeoutError once the deadline has passed
    // with futures unfinished.
    FutureState *next();

private:
    // Sleeps until a future arrives (and returns it) or the deadline passes (nullptr).
    FutureState *sleep_for_next();

    std::vector<FutureState *> futures_;     // distinct, in input order; one reference each
    std::vector<FutureState *> registered_;  // those our waiter is registered on
    std::deque<FutureState *> ready_;        // done before we started, in input order
    std::size_t yielded_ = 0;
    bool timed_out_ = false;
    Deadline deadline_;
    Waiter waiter_;
};

}  // namespace cf::core
