// SPDX-License-Identifier: MIT
// Fork awareness. A program may fork while the library is in use: the child must find every global lock of the
// library free (pthread_atfork handlers hold them across fork()), and an object made by the parent (a pool, a
// result in shared memory) must know it is now in another process, where it is inert. Internal: no API.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace cf::core {

// A number that changes in every child of fork() (the library counts forks in an atfork child handler).
std::uint64_t fork_generation() noexcept;

// Registers handlers run around every fork() of this process: prepare takes a lock, parent and child release
// it (child may also reset state that belongs to the parent). Prepare handlers run in the reverse order of
// registration, the others in order.
void at_fork(void (*prepare)(), void (*parent)(), void (*child)());

// Which process made an object: cheap to ask on every call (no system call).
class ProcessOwner {
public:
    ProcessOwner() noexcept;
    // True in the process that made it, false in a forked child (and its children).
    bool is_current() const noexcept { return generation_ == fork_generation(); }
    pid_t pid() const noexcept { return pid_; }

private:
    std::uint64_t generation_;
    pid_t pid_;
};

}  // namespace cf::core
