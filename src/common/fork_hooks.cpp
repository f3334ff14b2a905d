// SPDX-License-Identifier: MIT
#include "common/fork_hooks.hpp"
#include "common/fork_guard.hpp"

#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>

namespace cf::core {
namespace {

// The current hooks, shared with forks under way: a fork keeps the copy it started with even if the hooks are
// replaced meanwhile. Never destroyed: a fork may happen while the program exits. Its lock is held across every
// fork() of the program (a forkserver forks again, and must not inherit it locked).
struct HookStore {
    std::mutex mu;
    std::shared_ptr<const ForkHooks> hooks;
};

HookStore &store() {
    static HookStore *s = [] {
        auto *made = new HookStore;
        at_fork([] { store().mu.lock(); }, [] { store().mu.unlock(); }, [] { store().mu.unlock(); });
        return made;
    }();
    return *s;
}

// Made while the library loads, not on a first use racing with a fork (see fork_guard.hpp).
[[maybe_unused]] const HookStore &store_at_load = store();

void run(const std::vector<ForkHook> &hooks) {
    for (const ForkHook &h : hooks) h.fn(h.data);
}

}  // namespace

void set_fork_hooks(ForkHooks hooks) {
    auto shared = hooks.before.empty() && hooks.in_parent.empty() && hooks.in_child.empty()
                      ? nullptr
                      : std::make_shared<const ForkHooks>(std::move(hooks));
    std::lock_guard<std::mutex> lock(store().mu);
    store().hooks = std::move(shared);
}

pid_t fork_with_hooks() {
    std::shared_ptr<const ForkHooks> hooks;
    {
        std::lock_guard<std::mutex> lock(store().mu);
        hooks = store().hooks;
    }
    if (!hooks) return fork();
    // No lock of the library is held while the hooks run: a hook may wait (for an interpreter's lock) on a
    // thread that is itself calling into the library.
    run(hooks->before);
    pid_t pid = fork();
    int error = errno;
    if (pid == 0) {
        run(hooks->in_child);
        return 0;
    }
    run(hooks->in_parent);
    errno = error;
    return pid;
}

}  // namespace cf::core
