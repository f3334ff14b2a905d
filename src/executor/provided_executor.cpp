// SPDX-License-Identifier: MIT
#include "executor/provided_executor.hpp"

#include <atomic>
#include <cmath>
#include <cstdint>

#include "registry/registry.hpp"

namespace cf::core {
namespace {

constexpr std::size_t kLengthBytes = 8;

void put_length(std::string &out, std::uint64_t n) {
    for (std::size_t i = 0; i < kLengthBytes; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

std::uint64_t get_length(const char *p) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < kLengthBytes; ++i) n |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    return n;
}

// A map chunk made of the provider's futures (one packed future, or one per item): the chunk's own future ends
// when they all have. Cancelling the chunk cancels them; a part cancelled by the provider cancels the chunk.
struct ChunkParts {
    FutureBase chunk;
    std::vector<FutureBase> parts;
    std::atomic<std::size_t> left{0};
    bool packed = false;
    std::string executor;

    void finish() {
        FutureState &c = *chunk.native_handle();
        ChunkResults results;
        for (const FutureBase &p : parts) {
            FutureState &s = *p.native_handle();
            if (s.state() == State::Cancelled) {
                c.cancel();
                return;
            }
            if (const Failure *f = s.failure()) {
                results.failure = *f;
                break;
            }
            if (!packed) {
                results.results.emplace_back(s.value()->bytes());
            } else if (!unpack_chunk(s.value()->bytes(), results.results)) {
                c.set_failure(make_failure(Status::BrokenProcessPool, "BrokenExecutor",
                                           "the " + executor + " executor sent chunk results that are no packing"));
                return;
            }
        }
        c.set_value(std::make_unique<TypedValue<ChunkResults>>(std::move(results)));
    }

    // Ties the parts to the chunk once every part is submitted.
    static void link(const std::shared_ptr<ChunkParts> &self) {
        self->left.store(self->parts.size(), std::memory_order_relaxed);
        self->chunk.native_handle()->add_done_callback([self](FutureState &c) {
            if (c.state() != State::Cancelled) return;
            for (FutureBase &p : self->parts) p.cancel();
        });
        for (FutureBase &p : self->parts)
            p.native_handle()->add_done_callback([self](FutureState &) {
                if (self->left.fetch_sub(1, std::memory_order_acq_rel) == 1) self->finish();
            });
    }
};

}  // namespace

ExecutorProvider::~ExecutorProvider() = default;

std::string pack_chunk(const std::vector<std::string_view> &items) {
    std::size_t total = 0;
    for (std::string_view s : items) total += kLengthBytes + s.size();
    std::string out;
    out.reserve(total);
    for (std::string_view s : items) {
        put_length(out, s.size());
        out.append(s);
    }
    return out;
}

bool unpack_chunk(std::string_view packed, std::vector<std::string> &items) {
    while (!packed.empty()) {
        if (packed.size() < kLengthBytes) return false;
        std::uint64_t n = get_length(packed.data());
        packed.remove_prefix(kLengthBytes);
        if (n > packed.size()) return false;
        items.emplace_back(packed.substr(0, n));
        packed.remove_prefix(n);
    }
    return true;
}

ProvidedExecutor::ProvidedExecutor(std::unique_ptr<ExecutorProvider> provider) : provider_(std::move(provider)) {}

ProvidedExecutor::~ProvidedExecutor() = default;

FutureBase ProvidedExecutor::submit_job(std::unique_ptr<Job>, const SubmitOptions &) {
    throw InvalidArgument("the " + provider_->name() + " executor runs registered tasks only (cf_task_register / "
                                                       "CF_TASK)");
}

std::string ProvidedExecutor::name_of(const TaskCall &call) const {
    auto task = find_task(call);
    if (!task)
        throw UnknownTaskError("the function is not registered (cf_task_register / CF_TASK), so the " +
                               provider_->name() + " executor's workers cannot find it");
    return task->name;
}

FutureBase ProvidedExecutor::provider_future() {
    FutureBase f(FutureState::create());
    if (provider_->drives_progress()) f.native_handle()->set_remote(nullptr, 0, shared_from_this());
    return f;
}

FutureBase ProvidedExecutor::new_future() {
    check_creator_process("submit");
    FutureBase f = provider_future();
    count_outcome_of(*f.native_handle());
    return f;
}

FutureBase ProvidedExecutor::submit_call(const TaskCall &call, std::string_view arg, const SubmitOptions &options) {
    return submit_named(name_of(call), arg, options);
}

FutureBase ProvidedExecutor::submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options) {
    check_argument_size(arg);
    if (std::isfinite(checked_time_limit(options)))
        throw InvalidArgument("the " + provider_->name() + " executor has no time limits for tasks");
    FutureBase f = new_future();
    provider_->submit(std::string(name), arg, *f.native_handle());
    return f;
}

FutureBase ProvidedExecutor::chunk_by_items(const std::string &task, const std::vector<std::string_view> &args) {
    auto chunk = std::make_shared<ChunkParts>();
    chunk->chunk = new_future();
    chunk->executor = provider_->name();
    try {
        for (std::string_view a : args) {
            FutureBase part = provider_future();
            provider_->submit(task, a, *part.native_handle());
            chunk->parts.push_back(std::move(part));
        }
    } catch (...) {
        for (FutureBase &p : chunk->parts) p.cancel();
        throw;
    }
    ChunkParts::link(chunk);
    return chunk->chunk;
}

FutureBase ProvidedExecutor::submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) {
    std::string task = name_of(call);
    for (std::string_view a : args) check_argument_size(a);
    if (!provider_->runs_chunks()) return chunk_by_items(task, args);
    auto chunk = std::make_shared<ChunkParts>();
    chunk->chunk = new_future();
    chunk->packed = true;
    chunk->executor = provider_->name();
    FutureBase packed = provider_future();
    provider_->submit_chunk(task, args, *packed.native_handle());
    chunk->parts.push_back(std::move(packed));
    ChunkParts::link(chunk);
    return chunk->chunk;
}

bool ProvidedExecutor::collect_while_waiting(Waiter &w, const Deadline &deadline) {
    for (std::uint64_t round = 0;; ++round) {
        if (w.ready_now()) return true;
        if (deadline.passed()) return false;
        if (!provider_->progress(round)) return w.sleep_until(deadline);
    }
}

bool ProvidedExecutor::stop_running(std::uint32_t, std::uint64_t) { return false; }  // no cancel_running here

void ProvidedExecutor::shutdown(bool wait, bool cancel_futures) { provider_->shutdown(wait, cancel_futures); }

void ProvidedExecutor::terminate_workers() {
    if (!provider_->terminate(false)) ExecutorCore::terminate_workers();
}

void ProvidedExecutor::kill_workers() {
    if (!provider_->terminate(true)) ExecutorCore::kill_workers();
}

ExecutorStats ProvidedExecutor::stats() const {
    ExecutorStats s;
    provider_->stats(s);
    read_counters(s);
    return s;
}

}  // namespace cf::core
