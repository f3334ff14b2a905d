// SPDX-License-Identifier: MIT
// wait(): sleep until a set of futures meets a concurrent.futures.wait condition. Internal: no API.
#pragma once

#include <cstddef>

#include "common/types.hpp"
#include "future/deadline.hpp"

namespace cf::core {

class FutureState;

struct WaitOutcome {
    bool holds;              // the condition was met (else the deadline passed first)
    std::size_t n_done;      // distinct futures done
    std::size_t n_distinct;  // distinct futures given
};

// flags (n entries, or nullptr) mark each done position. Null entries are skipped. The counts are exact when
// want_counts is set or the condition does not hold; otherwise they may be left 0 (sorting out duplicates
// costs more than the wait itself on large sets).
WaitOutcome wait_states(FutureState *const *fs, std::size_t n, const Deadline &deadline, ReturnWhen when,
                        unsigned char *flags, bool want_counts);

// "2 (of 4) futures unfinished": the text of every timeout over a set of futures.
std::string unfinished_message(std::size_t unfinished, std::size_t total);

}  // namespace cf::core
