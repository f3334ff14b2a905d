// SPDX-License-Identifier: MIT
// The worker process's side of a process pool: take tasks from this worker's ring, run the registered
// function with its argument in place in shared memory, write the result into the worker's own heap and post
// a completion. Internal: no API.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "process_pool/segment.hpp"

namespace cf::core {

// What a worker needs besides the segment (whose header carries the pool-wide settings).
struct WorkerConfig {
    std::uint32_t slot = 0;
    pid_t parent = 0;
    int event_fd = -1;  // the parent's eventfd, written when the parent sleeps
};

// Runs the worker loop and ends the process (never returns).
[[noreturn]] void run_worker(Segment &seg, const WorkerConfig &config);
// In a program started as a spawned worker (CFUTURES_WORKER in its environment): serves tasks and never returns.
// Elsewhere returns false at once.
bool enter_worker_if_spawned();

}  // namespace cf::core
