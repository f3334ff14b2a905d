// SPDX-License-Identifier: MIT
#include "registry/registry.hpp"

#include "common/error.hpp"

#include <atomic>
#include <map>
#include <mutex>

#include "common/fork_guard.hpp"

namespace cf::core {
namespace {

struct Registry {
    std::mutex mu;
    std::map<std::string, TaskCall, std::less<>> by_name;
    // Bumped by every registration (there is no unregistering): a lookup remembered at one generation holds
    // until the next.
    std::atomic<std::uint64_t> generation{0};
    std::string conflict;
};

// Built on first use, never destroyed: registrations run from constructors of any loaded library, in any order,
// and tasks may still be looked up while other static objects are torn down.
// Its lock is held across every fork() of the program, so that a child never inherits it locked.
Registry &registry() {
    static Registry *r = [] {
        auto *made = new Registry();
        at_fork([] { registry().mu.lock(); }, [] { registry().mu.unlock(); }, [] { registry().mu.unlock(); });
        return made;
    }();
    return *r;
}

std::optional<RegisteredTask> scan_for_call(Registry &r, const TaskCall &call) {
    std::lock_guard<std::mutex> lock(r.mu);
    // The registration of this function with this user_data; failing that, the function's only registration.
    // One function registered under several names with different user_data is told apart by the user_data.
    std::optional<RegisteredTask> only;
    std::size_t same_fn = 0;
    for (const auto &[name, registered] : r.by_name) {
        if (registered.fn != call.fn) continue;
        if (registered.user_data == call.user_data) return RegisteredTask{name, registered};
        if (++same_fn == 1) only = RegisteredTask{name, registered};
    }
    return same_fn == 1 ? only : std::nullopt;
}

// Made while the library loads, not on a first use that could race with a fork() (see fork_guard.hpp).
const bool registry_made = (registry(), true);

}  // namespace

void register_task(std::string_view name, const TaskCall &call) {
    if (name.empty()) throw InvalidArgument("task name is empty");
    if (!call.fn) throw InvalidArgument("task function is NULL");
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.by_name.find(name);
    if (it == r.by_name.end()) {
        r.by_name.emplace(std::string(name), call);
        r.generation.fetch_add(1, std::memory_order_release);
        return;
    }
    if (it->second.fn == call.fn && it->second.user_data == call.user_data) return;
    throw InvalidArgument("task '" + std::string(name) + "' is already registered with another function");
}

std::optional<RegisteredTask> find_task(std::string_view name) {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.by_name.find(name);
    if (it == r.by_name.end()) return std::nullopt;
    return RegisteredTask{it->first, it->second};
}

std::optional<RegisteredTask> find_task(const TaskCall &call) {
    Registry &r = registry();
    // Every submit of a function looks it up: each thread remembers its last answer until the next registration.
    struct Remembered {
        TaskCall call{};
        std::uint64_t generation = ~std::uint64_t{0};
        std::optional<RegisteredTask> answer;
    };
    static thread_local Remembered last;
    std::uint64_t generation = r.generation.load(std::memory_order_acquire);
    if (last.generation == generation && last.call.fn == call.fn && last.call.user_data == call.user_data)
        return last.answer;
    last.call = call;
    last.generation = generation;
    last.answer = scan_for_call(r, call);
    return last.answer;
}


void record_load_time_conflict(std::string message) {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.conflict.empty()) r.conflict = std::move(message);
}

std::string load_time_conflict() {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return r.conflict;
}

}  // namespace cf::core
