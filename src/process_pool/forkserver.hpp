// SPDX-License-Identifier: MIT
// The forkserver start method: a small single-threaded process, forked from the program when the first
// forkserver pool starts, forks the workers on request. Workers then never inherit the program's other threads
// or their locks, and starting one costs a fork of a small process. The server lives until the program ends
// (it watches a pipe whose far end only the program holds) and takes its workers with it.
//
// The server is process-wide state, like the registry: created once, on first use, and never torn down while
// the program runs. Internal: no API.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace cf::core {

class Segment;

// One pool's connection to the server.
class ForkServerClient {
public:
    // Starts the server if needed and hands it the pool's segment and eventfd. Throws SystemError.
    static std::unique_ptr<ForkServerClient> connect(const Segment &seg, int event_fd);
    // A server of one pool's own, forked from the calling thread now: it starts each worker with launch (which
    // forks, as the fork and spawn methods do) and reports how each ended. A program that ignores SIGCHLD has
    // the system discard its children's exit statuses; this server's children are its own, and it keeps the
    // default disposition. The server ends when the returned client is destroyed. Throws SystemError.
    static std::unique_ptr<ForkServerClient> start_private(std::function<pid_t(std::uint32_t)> launch);
    ~ForkServerClient();
    ForkServerClient(const ForkServerClient &) = delete;
    ForkServerClient &operator=(const ForkServerClient &) = delete;

    // Asks for a worker in the given slot; returns its pid. Throws SystemError.
    pid_t start_worker(std::uint32_t slot);
    // Waits until the server reports how the worker ended; returns its wait status.
    int wait_status(pid_t pid);

private:
    explicit ForkServerClient(int conn, pid_t private_server = -1) : conn_(conn), private_server_(private_server) {}
    struct Message {
        std::int32_t kind;  // kStarted or kEnded
        std::int32_t pid;
        std::int32_t value;  // kStarted: 0 or an errno; kEnded: the wait status
    };
    Message receive();

    int conn_;
    pid_t private_server_;  // a private server is this process's child: reaped when the client goes
    std::map<pid_t, int> ended_;  // statuses that arrived while waiting for something else
};

}  // namespace cf::core
