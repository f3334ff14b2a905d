// SPDX-License-Identifier: MIT
// Launcher: how a process pool's workers come to be (its start method) and how the pool learns how each one
// ended. Three kinds, one interface:
//   fork        the worker is a fork of the program, which runs the worker loop at once;
//   spawn       a fork that executes the program (or worker_program) again, which enters the worker loop in
//               cf_process_worker_entry();
//   forkserver  a small single-threaded server forks the worker (see forkserver.hpp).
// Fork and spawn workers are the program's own children, except where the program ignores SIGCHLD: then the
// system discards how they ended, so they are started through a reaper of the pool's own instead.
// Every call comes from the pool's supervisor thread (a worker's parent-death signal is tied to the thread
// that forked it, and that thread lives as long as the pool). Internal: no API.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cf::core {

class Segment;

class Launcher {
public:
    // The wait status of a worker whose status the system discarded.
    static constexpr int kStatusUnknown = -1;

    virtual ~Launcher() = default;
    // Starts a worker serving the given slot; returns its pid. Throws SystemError.
    virtual pid_t start_worker(std::uint32_t slot) = 0;
    // Waits until the worker has ended; returns its wait status, or kStatusUnknown.
    virtual int wait_status(pid_t pid) = 0;
    // The pool's first workers are started (fork: all of them, with the pool); called once, on the supervisor
    // thread while the pool's creator still waits. A fork launcher forks the server for later starts here.
    virtual void first_workers_started() = 0;
    // Whether that worker, if it ends at once, may be reaped before the pool can open a pidfd for it (a server's
    // child is reaped by the server).
    virtual bool reaped_elsewhere(pid_t pid) const noexcept = 0;
};

// event_fd: the descriptor workers write to wake the supervisor. The segment must outlive the launcher.
std::unique_ptr<Launcher> make_fork_launcher(Segment &seg, int event_fd);
// program: what to execute (empty: this program, from /proc/self/exe). Throws SystemError.
std::unique_ptr<Launcher> make_spawn_launcher(Segment &seg, int event_fd, std::string program,
                                              std::vector<std::string> args);
// Starts the program's fork server if it is not running yet and hands it the pool. Throws SystemError.
std::unique_ptr<Launcher> make_forkserver_launcher(Segment &seg, int event_fd);

}  // namespace cf::core
