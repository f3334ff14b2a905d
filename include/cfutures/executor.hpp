// SPDX-License-Identifier: MIT
// libcfutures C++ API: executors (the interface both pools share) and the thread pool.
#ifndef CFUTURES_EXECUTOR_HPP
#define CFUTURES_EXECUTOR_HPP

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cf_export.h"
#include "errors.hpp"
#include "future.hpp"

namespace cf {

// What a byte-string task sees while it runs (the C ABI's cf_task_ctx): where it puts its result or failure.
class CF_API TaskContext {
public:
    // Copies bytes out as the result (replacing an earlier one); false when the pool has no room for it.
    bool return_bytes(std::string_view bytes);
    // A buffer of len bytes that becomes the result; valid until the task returns or sets another result.
    // nullptr when the pool has no room (the task then fails with TooLargeError).
    void *return_buffer(std::size_t len);
    // Fails the task with a described error (the C ABI's cf_task_raise).
    void raise(std::string type, std::string message);
    // True once cancellation of this running task was asked for (cancel(), or shutdown with cancel_futures).
    bool cancel_requested() const noexcept;

    class Impl;
    explicit TaskContext(Impl &impl) noexcept : impl_(&impl) {}
    Impl &impl() const noexcept { return *impl_; }

private:
    Impl *impl_;
};

// A byte-string task as the C ABI knows it, made callable without the C header: `invoke` (supplied by the
// caller's layer) calls `fn` with the context, the argument and `user_data`, and returns the task's status.
struct TaskCall {
    using Invoker = int (*)(const TaskCall &call, TaskContext &ctx, const void *arg, std::size_t len);
    Invoker invoke = nullptr;
    void (*fn)() = nullptr;
    void *user_data = nullptr;
};

// The library's log (the C ABI's cf_set_log_handler): levels as Python's logging numbers them.
enum class LogLevel : int { Debug = 10, Info = 20, Warning = 30, Error = 40 };
using LogHandler = void (*)(int level, const char *message, void *user_data);
// Every message the library would write to stderr goes to fn instead, on whatever thread (or forked worker)
// writes it; fn must not call back into executors. nullptr restores stderr (which shows warnings and errors
// only). Process-wide.
CF_API void set_log_handler(LogHandler fn, void *user_data = nullptr);

// Inside a C++ task that a thread pool runs (submit, submit_with): whether cancellation of it was asked for
// (cancel(), shutdown with cancel_futures, its time limit). False outside any task.
CF_API bool this_task_cancel_requested() noexcept;

// Per-task options (the C ABI's cf_submit_options).
struct SubmitOptions {
    // Seconds the task may run, from when it starts; negative or infinite: no limit. Past it the future fails
    // with TimeLimitError: a process pool kills the worker (and starts another), a thread pool raises the task's
    // cancel flag and discards its late result.
    double time_limit = forever;
};

// A snapshot of an executor's counters (the C ABI's cf_executor_stats).
struct ExecutorStats {
    std::uint64_t workers = 0, idle_workers = 0, queued = 0, running = 0;
    std::uint64_t completed = 0, failed = 0, cancelled = 0;
    std::uint64_t worker_deaths = 0, workers_replaced = 0;
    std::uint64_t max_workers = 0;  // the most workers the executor runs at once
};

struct MapOptions {
    double timeout = forever;       // measured from the map call
    std::size_t chunksize = 1;      // items per task; 0 is invalid
    std::size_t buffersize = 0;     // 0: submit everything at once; else at most this many chunks in flight
    bool unordered = false;         // true: results in completion order
};

namespace detail {
class ExecutorCore;
class MapIterator;

// A unit of work handed to an executor: run() completes the promise (value or exception).
class CF_API Job {
public:
    virtual ~Job();
    virtual void run(PromiseBase &promise) = 0;
};

// Supplies map arguments one at a time; false at the end. The view must stay valid until the next call.
using ArgSource = std::function<bool(std::string_view &next)>;
}  // namespace detail

// The lazy result sequence of Executor::map_bytes: next() gives each result in turn.
class CF_API MapResults {
public:
    explicit MapResults(std::unique_ptr<detail::MapIterator> impl);
    MapResults(MapResults &&) noexcept;
    MapResults &operator=(MapResults &&) noexcept;
    ~MapResults();  // cancels the tasks not started
    // The next result (valid until the next call), or nullopt at the end; throws the first failure once.
    std::optional<std::string_view> next();
    detail::MapIterator &impl() noexcept { return *impl_; }

private:
    std::unique_ptr<detail::MapIterator> impl_;
};

// What ThreadPoolExecutor and ProcessPoolExecutor share. Destroying an executor shuts it down and waits,
// like leaving Python's `with` block.
class CF_API Executor {
public:
    Executor(const Executor &) = delete;
    Executor &operator=(const Executor &) = delete;
    virtual ~Executor();

    // Runs a byte-string task: the argument is copied before submit returns.
    FutureBase submit_bytes(const TaskCall &call, std::string_view arg, const SubmitOptions &options = {});
    // Runs the task registered under name (cf_task_register / CF_TASK).
    FutureBase submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options = {});
    // Runs a byte-string task over every argument, as concurrent.futures' map does.
    MapResults map_bytes(const TaskCall &call, detail::ArgSource source, const MapOptions &options = {});

    // Idempotent. wait: until every task has finished; cancel_futures: cancel those not started.
    void shutdown(bool wait = true, bool cancel_futures = false);

    // Workers, queue and task counters now.
    ExecutorStats stats() const;

    detail::ExecutorCore &core() const noexcept { return *core_; }
    std::shared_ptr<detail::ExecutorCore> shared_core() const noexcept { return core_; }

protected:
    explicit Executor(std::shared_ptr<detail::ExecutorCore> core);
    FutureBase submit_job(std::unique_ptr<detail::Job> job, const SubmitOptions &options = {});

private:
    std::shared_ptr<detail::ExecutorCore> core_;
};

namespace detail {
// Runs a C++ callable with bound arguments and completes the promise with its value or exception. A future
// completed from outside meanwhile (its time limit, a cancel of the running task) keeps that outcome: the late
// value or exception is discarded.
template <class R, class Callable>
class CallableJob final : public Job {
public:
    explicit CallableJob(Callable c) : callable_(std::move(c)) {}
    void run(PromiseBase &promise) override {
        std::unique_ptr<ValueHolder> value;
        std::exception_ptr failure;
        try {
            if constexpr (!std::is_void_v<R>) value = std::make_unique<TypedValue<R>>(callable_());
            else callable_();
        } catch (...) {
            failure = std::current_exception();
        }
        try {
            if (failure) promise.set_exception(failure);
            else if (value) promise.set_value(std::move(value));
            else promise.set_bytes({});
        } catch (const InvalidStateError &) {
            // Done already: the outcome set from outside stands.
        }
    }

private:
    Callable callable_;
};
}  // namespace detail

class CF_API ThreadPoolExecutor : public Executor {
public:
    struct Options {
        std::size_t max_workers = 0;          // 0: min(32, usable CPUs + 4); more than 65536 is invalid
        std::string thread_name_prefix;       // empty: "cf<k>"; threads are named <prefix>_<i> (15 bytes kept)
        std::function<void()> initializer;    // run once in each new worker; if it throws, the pool is broken
        // true: cancel() on a running task cancels its future at once and raises the task's cancel flag (the
        // thread runs on; its late result is discarded); shutdown with cancel_futures cancels running tasks too.
        bool cancel_running = false;
    };

    ThreadPoolExecutor();
    explicit ThreadPoolExecutor(Options options);
    ~ThreadPoolExecutor() override;

    // Runs f(args...) on a worker; the future holds its result or its exception.
    template <class F, class... Args>
    auto submit(F &&f, Args &&...args) -> Future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
        return submit_with(SubmitOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
    }

    // submit with per-task options: past options.time_limit the future fails with TimeLimitError and the task's
    // cancel flag is raised (read it with cf::this_task_cancel_requested()); its late result is discarded.
    template <class F, class... Args>
    auto submit_with(const SubmitOptions &options, F &&f, Args &&...args)
        -> Future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
        using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
        auto bound = [fn = std::forward<F>(f), tup = std::make_tuple(std::forward<Args>(args)...)]() mutable -> R {
            return std::apply(fn, std::move(tup));
        };
        return Future<R>(
            submit_job(std::make_unique<detail::CallableJob<R, decltype(bound)>>(std::move(bound)), options));
    }

    // Applies f to every item, chunksize items per task; the results in input order (as Python's list(map())).
    template <class F, class Range>
    auto map(F f, const Range &items, const MapOptions &options = {})
        -> std::vector<std::invoke_result_t<F, const typename Range::value_type &>> {
        using Item = typename Range::value_type;
        using R = std::invoke_result_t<F, const Item &>;
        if (options.chunksize == 0) throw InvalidArgument("chunksize must be at least 1");
        std::vector<Future<std::vector<R>>> chunks;
        std::vector<Item> chunk;
        auto flush = [&] {
            chunks.push_back(submit([f](const std::vector<Item> &in) {
                std::vector<R> out;
                out.reserve(in.size());
                for (const Item &x : in) out.push_back(f(x));
                return out;
            }, std::move(chunk)));
            chunk = {};
        };
        for (const Item &x : items) {
            chunk.push_back(x);
            if (chunk.size() == options.chunksize) flush();
        }
        if (!chunk.empty()) flush();
        std::vector<R> results;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.timeout);
        try {
            for (auto &c : chunks) {
                double left = options.timeout < 0 ? forever
                    : std::max(0.0, std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count());
                for (auto &r : c.result(left)) results.push_back(std::move(r));
            }
        } catch (...) {
            for (auto &c : chunks) c.cancel();  // as Python's map does when its caller stops early
            throw;
        }
        return results;
    }

    // Threads started so far (threads start lazily, only when no idle one exists).
    std::size_t thread_count() const;
    std::size_t max_workers() const;
};

}  // namespace cf

#endif  // CFUTURES_EXECUTOR_HPP
