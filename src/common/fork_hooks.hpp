// SPDX-License-Identifier: MIT
// The functions a language runtime asks to have called around the library's own forks (cf_set_fork_hooks): an
// interpreter takes its lock before the fork and repairs its state in the child. Internal: no API.
#pragma once

#include <sys/types.h>

#include <vector>

namespace cf::core {

struct ForkHook {
    void (*fn)(void *);
    void *data;
};

struct ForkHooks {
    std::vector<ForkHook> before, in_parent, in_child;
};

// Replaces the hooks (a copy is taken at each fork, so a change never races with one).
void set_fork_hooks(ForkHooks hooks);

// fork() with the hooks run around it: before, then in_parent in the parent or in_child in the child. Returns
// what fork() returns (errno set on failure, after the in_parent hooks ran).
pid_t fork_with_hooks();

}  // namespace cf::core
