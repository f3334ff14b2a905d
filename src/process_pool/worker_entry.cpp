// SPDX-License-Identifier: MIT
// cf_process_worker_entry's engine: a program started as a spawned worker finds the pool's segment and its
// slot in its environment, serves tasks and ends there.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <string>

#include "common/log.hpp"
#include "process_pool/segment.hpp"
#include "process_pool/worker.hpp"

namespace cf::core {

// Returns false when this process is no spawned worker; otherwise never returns.
bool enter_worker_if_spawned() {
    const char *spec = std::getenv("CFUTURES_WORKER");
    if (!spec) return false;
    int fd = -1, event_fd = -1;
    unsigned slot = 0;
    long parent = 0;
    if (std::sscanf(spec, "%d,%u,%ld,%d", &fd, &slot, &parent, &event_fd) != 4) {
        log_message(LogLevel::Error, std::string("malformed CFUTURES_WORKER=") + spec);
        _exit(2);
    }
    unsetenv("CFUTURES_WORKER");  // the task's own children are no workers
    try {
        std::shared_ptr<Segment> seg = Segment::attach(fd);
        if (slot >= seg->n_slots()) _exit(2);
        WorkerConfig config{slot, static_cast<pid_t>(parent), event_fd};
        run_worker(*seg, config);
    } catch (const std::exception &e) {
        log_message(LogLevel::Error, std::string("worker cannot start: ") + e.what());
    }
    _exit(2);
}

}  // namespace cf::core
