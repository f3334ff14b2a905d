// SPDX-License-Identifier: MIT
#include "common/log.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

namespace cf::core {
namespace {

struct Handler {
    cf_log_fn fn;
    void *user_data;
};

// A handler once published is never freed: a thread may still be calling it while another sets the next one,
// and a forked worker may hold the pointer. Every record stays in `published` (never destroyed, so that a thread
// logging while the program exits finds it still there); programs set a handler a few times at most.
std::atomic<const Handler *> current{nullptr};
std::mutex published_mu;
auto *const published = new std::vector<std::unique_ptr<Handler>>();

}  // namespace

void set_log_handler(cf_log_fn fn, void *user_data) {
    if (!fn) {
        current.store(nullptr, std::memory_order_release);
        return;
    }
    std::lock_guard<std::mutex> lock(published_mu);
    published->push_back(std::make_unique<Handler>(Handler{fn, user_data}));
    current.store(published->back().get(), std::memory_order_release);
}

void log_message(LogLevel level, const std::string &message) {
    if (const Handler *h = current.load(std::memory_order_acquire)) {
        h->fn(static_cast<int>(level), message.c_str(), h->user_data);
        return;
    }
    // Without a handler, as Python's logging does by default: warnings and errors only.
    if (level >= LogLevel::Warning) std::fprintf(stderr, "cfutures: %s\n", message.c_str());
}

}  // namespace cf::core
