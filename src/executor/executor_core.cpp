// SPDX-License-Identifier: MIT
#include "executor/executor_core.hpp"

#include <cstring>
#include <limits>

#include "common/memory_limit.hpp"
#include "registry/registry.hpp"

namespace cf::core {

ExecutorCore::~ExecutorCore() = default;

bool ExecutorCore::submit_call_into(const FutureBase &, const TaskCall &, std::string_view, const SubmitOptions &,
                                    UserDataRelease &) {
    return false;
}

FutureBase ExecutorCore::submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options) {
    check_argument_size(arg);
    std::optional<RegisteredTask> task = find_task(name);
    if (!task) throw UnknownTaskError("no task is registered as '" + std::string(name) + "'");
    return submit_call(task->call, arg, options);
}

FutureBase ExecutorCore::submit_named_parts(std::string_view name, const ArgParts &arg,
                                            const SubmitOptions &options) {
    check_argument_size(arg.total);
    return submit_named(name, arg.joined(), options);
}

std::string ArgParts::joined() const {
    std::string s(total, '\0');
    copy_to(s.data());
    return s;
}

void ArgParts::copy_to(char *dst) const noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        if (parts[i].empty()) continue;
        std::memcpy(dst, parts[i].data(), parts[i].size());
        dst += parts[i].size();
    }
}

FutureBase ExecutorCore::submit_call_releasing(const TaskCall &call, std::string_view arg,
                                               const SubmitOptions &options, UserDataRelease release) {
    check_argument_size(arg);
    FutureBase future = submit_call(call, arg, options);
    if (release) {
        auto held = std::make_shared<UserDataRelease>(std::move(release));
        future.native_handle()->add_done_callback([held](FutureState &) { held->reset(); });
    }
    return future;
}

void ExecutorCore::shutdown_as_asked(bool wait, bool cancel_futures) {
    if (!in_creator_process()) return;
    shutdown(wait, cancel_futures);
}

void ExecutorCore::retire(const std::shared_ptr<ExecutorCore> &core) noexcept {
    if (!core) return;
    if (!core->in_creator_process()) {
        // Kept reachable, so that leak checkers do not report the pools a forked child inherited.
        static auto *inherited = new std::vector<std::shared_ptr<ExecutorCore>>();
        try {
            inherited->push_back(core);
        } catch (...) {
            // Out of memory: leaking a reference is the safe choice (the pool's destructor must not run here).
            new (std::nothrow) std::shared_ptr<ExecutorCore>(core);
        }
        return;
    }
    try {
        core->shutdown(true, false);
    } catch (...) {
        // Shutdown only fails when the system refuses to join a thread: nothing to do about it while freeing.
    }
}

void ExecutorCore::check_argument_size(std::size_t len) {
    if (larger_than_memory(len))
        throw TooLargeError("an argument of " + std::to_string(len) + " bytes is larger than this machine's " +
                            "memory (" + std::to_string(physical_memory_bytes()) + " bytes)");
}

void ExecutorCore::read_counters(ExecutorStats &out) const noexcept {
    out.completed = counters_.sum(TaskCounters::Completed);
    out.failed = counters_.sum(TaskCounters::Failed);
    out.cancelled = counters_.sum(TaskCounters::Cancelled);
}

double ExecutorCore::checked_time_limit(const SubmitOptions &options) {
    double t = options.time_limit;
    if (t != t) throw InvalidArgument("time_limit is NaN (use a negative value or infinity for no limit)");
    return t < 0 ? std::numeric_limits<double>::infinity() : t;
}

void ExecutorCore::check_creator_process(const char *what) const {
    if (in_creator_process()) return;
    throw InvalidStateError(std::string(what) + ": this pool was created by process " + std::to_string(owner_.pid()) +
                            "; a forked child cannot use it (its workers belong to the parent): create a new pool "
                            "in the child");
}

void ExecutorCore::terminate_workers() {
    throw InvalidArgument("terminate_workers applies to process pools only");
}

void ExecutorCore::kill_workers() { throw InvalidArgument("kill_workers applies to process pools only"); }


}  // namespace cf::core
