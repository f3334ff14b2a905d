#include "executor_core.hpp"

#include "registry/registry.hpp"

namespace cf::detail {

ExecutorCore::~ExecutorCore() = default;

FutureBase ExecutorCore::submit_named(std::string_view name, std::string_view arg) {
    std::optional<RegisteredTask> task = find_task(name);
    if (!task) throw UnknownTaskError("no task is registered as '" + std::string(name) + "'");
    return submit_call(task->call, arg);
}

void ExecutorCore::terminate_workers() {
    throw InvalidArgument("terminate_workers applies to process pools only");
}

void ExecutorCore::kill_workers() { throw InvalidArgument("kill_workers applies to process pools only"); }

Job::~Job() = default;

}  // namespace cf::detail
