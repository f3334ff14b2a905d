#include "log.hpp"

#include <atomic>
#include <cstdio>

namespace cf {
namespace {

struct Handler {
    LogHandler fn;
    void *user_data;
};

// A handler once published is never freed: a thread may still be calling it while another sets the next one,
// and a forked worker may hold the pointer. Programs set a handler a few times at most.
std::atomic<const Handler *> current{nullptr};

}  // namespace

void set_log_handler(LogHandler fn, void *user_data) {
    current.store(fn ? new Handler{fn, user_data} : nullptr, std::memory_order_release);
}

namespace detail {

void log_message(LogLevel level, const std::string &message) {
    if (const Handler *h = current.load(std::memory_order_acquire)) {
        h->fn(static_cast<int>(level), message.c_str(), h->user_data);
        return;
    }
    // Without a handler, as Python's logging does by default: warnings and errors only.
    if (level >= LogLevel::Warning) std::fprintf(stderr, "cfutures: %s\n", message.c_str());
}

}  // namespace detail
}  // namespace cf
