// SPDX-License-Identifier: MIT
// ProvidedExecutor: an executor whose tasks are moved and run by code outside the core (the provider tier,
// cfutures/sys.h; the MPI executor is its first user). The core keeps what every executor shares (futures and
// their counters, map chunks, the checks of a submit); the provider only starts tasks by name and completes the
// futures it is handed. Internal: no API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "executor/executor_core.hpp"
#include "future/completion_source.hpp"

namespace cf::core {

// What a provider does, as the core calls it. The C ABI layer implements it over cf_executor_provider; each
// function throws Error with the provider's status and text when the provider fails. The destructor lets go of
// the provider's state.
class ExecutorProvider {
public:
    virtual ~ExecutorProvider();
    virtual const std::string &name() const noexcept = 0;
    // Starts the task; f is borrowed (the provider retains it to keep it).
    virtual void submit(const std::string &task, std::string_view arg, FutureState &f) = 0;
    // Whether submit_chunk exists; without it, map submits the items of a chunk one by one.
    virtual bool runs_chunks() const noexcept = 0;
    // Runs the task over args as one unit; f ends with the packed results (see unpack_chunk) or the failure.
    virtual void submit_chunk(const std::string &task, const std::vector<std::string_view> &args, FutureState &f) = 0;
    virtual void shutdown(bool wait, bool cancel_futures) = 0;
    // False when the provider has no terminate.
    virtual bool terminate(bool kill) = 0;
    // Fills what the provider knows (left alone without its stats).
    virtual void stats(ExecutorStats &out) = 0;
    // Whether the provider lets a waiting thread drive it (progress exists).
    virtual bool drives_progress() const noexcept = 0;
    // One turn of a waiting thread's work for the provider (round counts the turns of this wait from 0): true to
    // be called again, false to let the thread sleep until its wait ends.
    virtual bool progress(std::uint64_t round) = 0;
};

// With a provider that takes a waiting thread's help (progress), each of its futures names the executor as its
// completion source: a thread that waits on one calls progress between checks of its wait instead of sleeping.
class ProvidedExecutor final : public ExecutorCore,
                               public CompletionSource,
                               public std::enable_shared_from_this<ProvidedExecutor> {
public:
    explicit ProvidedExecutor(std::unique_ptr<ExecutorProvider> provider);
    ~ProvidedExecutor() override;

    FutureBase submit_job(std::unique_ptr<Job> job, const SubmitOptions &options) override;
    FutureBase submit_call(const TaskCall &call, std::string_view arg, const SubmitOptions &options) override;
    FutureBase submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options) override;
    FutureBase submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) override;
    void shutdown(bool wait, bool cancel_futures) override;
    void terminate_workers() override;
    void kill_workers() override;
    ExecutorStats stats() const override;

    bool collect_while_waiting(Waiter &w, const Deadline &deadline) override;
    bool stop_running(std::uint32_t lane, std::uint64_t id) override;

private:
    std::string name_of(const TaskCall &call) const;
    FutureBase new_future();
    // A future for the provider, which a waiting thread may drive (see collect_while_waiting).
    FutureBase provider_future();
    FutureBase chunk_by_items(const std::string &task, const std::vector<std::string_view> &args);

    std::unique_ptr<ExecutorProvider> provider_;
};

// The results packed as cf_chunk_results_pack writes them: each item's length (8 bytes, little-endian), then its
// bytes. unpack_chunk gives false for bytes that are not such a packing.
std::string pack_chunk(const std::vector<std::string_view> &items);
bool unpack_chunk(std::string_view packed, std::vector<std::string> &items);

}  // namespace cf::core
