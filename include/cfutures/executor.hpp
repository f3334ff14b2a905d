// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: executors (the interface both pools share) and the thread pool.
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

/// What a byte-string task sees while it runs (the C ABI's cf_task_ctx): where it puts its result or failure.
/// The library makes it for each run; it is valid only during the task's call.
class CF_API TaskContext {
public:
    /// Copies bytes out as the result (replacing an earlier one); false when the pool has no room for it (the
    /// task then fails with TooLargeError unless it sets a result that fits or raises).
    bool return_bytes(std::string_view bytes);
    /// A buffer of len bytes that becomes the result; valid until the task returns or sets another result.
    /// nullptr when the pool has no room (the task then fails with TooLargeError).
    void *return_buffer(std::size_t len);
    /// Fails the task with a described error (the C ABI's cf_task_raise); a failure raised outweighs a result.
    void raise(std::string type, std::string message);
    /// True once cancellation of this running task was asked for (cancel(), or shutdown with cancel_futures).
    bool cancel_requested() const noexcept;

    class Impl;
    /// For the library: a context over its implementation.
    explicit TaskContext(Impl &impl) noexcept : impl_(&impl) {}
    /// For the library: the implementation (the C ABI's cf_task_ctx points to it).
    Impl &impl() const noexcept { return *impl_; }

private:
    Impl *impl_;
};

/// A byte-string task as the C ABI knows it, made callable without the C header: `invoke` (supplied by the
/// caller's layer) calls `fn` with the context, the argument and `user_data`, and returns the task's status.
struct TaskCall {
    /// The caller's layer's trampoline: calls call.fn (cast back to its real type) and returns its status.
    using Invoker = int (*)(const TaskCall &call, TaskContext &ctx, const void *arg, std::size_t len);
    Invoker invoke = nullptr;   ///< the trampoline; required
    void (*fn)() = nullptr;     ///< the task function, cast to a generic function pointer; required
    void *user_data = nullptr;  ///< passed on to fn; it also tells registrations of one fn apart
};

/// The library's log (the C ABI's cf_set_log_handler): levels as Python's logging numbers them.
enum class LogLevel : int {
    Debug = 10,    ///< detail for debugging
    Info = 20,     ///< events worth knowing (a worker killed at a task's time limit)
    Warning = 30,  ///< something unexpected that the library works around
    Error = 40     ///< a failure the library cannot report through a return value or an exception
};
/// A log handler: receives each message (level, one line without its newline, the user_data given with it).
using LogHandler = void (*)(int level, const char *message, void *user_data);
/// Every message the library would write to stderr goes to fn instead, on whatever thread (or forked worker)
/// writes it; fn must not call back into executors. nullptr restores stderr (which shows warnings and errors
/// only). Process-wide.
CF_API void set_log_handler(LogHandler fn, void *user_data = nullptr);

/// Inside a C++ task that a thread pool runs (submit, submit_with): whether cancellation of it was asked for
/// (cancel(), shutdown with cancel_futures, its time limit). False outside any task.
CF_API bool this_task_cancel_requested() noexcept;

/// Per-task options (the C ABI's cf_submit_options).
struct SubmitOptions {
    /// Seconds the task may run, from when it starts; negative or infinite: no limit; NaN is invalid. Past it the
    /// future fails with TimeLimitError: a process pool kills the worker (and starts another), a thread pool
    /// raises the task's cancel flag and discards its late result.
    double time_limit = forever;
};

/// A snapshot of an executor's counters (the C ABI's cf_executor_stats). Each is read on its own, so a snapshot
/// taken under load may be off by the tasks that moved meanwhile.
struct ExecutorStats {
    std::uint64_t workers = 0,       ///< threads or worker processes alive
        idle_workers = 0,            ///< of those, waiting for work
        queued = 0,                  ///< submitted, not running yet
        running = 0;                 ///< running now
    std::uint64_t completed = 0,     ///< finished with a result
        failed = 0,                  ///< finished with an exception (a task's, a time limit, a dead worker, ...)
        cancelled = 0;               ///< cancelled
    std::uint64_t worker_deaths = 0,  ///< workers that died unasked (crash, exit, a signal from outside)
        workers_replaced = 0;         ///< new workers started in place of dead, killed or retired ones
    std::uint64_t max_workers = 0;   ///< the most workers the executor runs at once
    std::uint64_t workers_started = 0;  ///< workers started since the executor was made
};

/// How Executor::map_bytes and ThreadPoolExecutor::map run (the C ABI's cf_map_options).
struct MapOptions {
    double timeout = forever;       ///< measured from the map call
    std::size_t chunksize = 1;      ///< items per task; 0 is invalid
    std::size_t buffersize = 0;     ///< 0: submit everything at once; else at most this many chunks in flight
    bool unordered = false;         ///< true: results in completion order
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

/// The lazy result sequence of Executor::map_bytes: next() gives each result in turn. One thread at a time may
/// use it.
class CF_API MapResults {
public:
    /// For the library: results over its map iterator.
    explicit MapResults(std::unique_ptr<detail::MapIterator> impl);
    /// Takes over the other's map.
    MapResults(MapResults &&) noexcept;
    /// Takes over the other's map, ending (and cancelling the rest of) this one's.
    MapResults &operator=(MapResults &&) noexcept;
    ~MapResults();  ///< cancels the tasks not started
    /// The next result (valid until the next call), or nullopt at the end; throws the first failure once (then
    /// the tasks not started are cancelled and the sequence ends): the task's exception, TimeoutError when the
    /// map's timeout ran out, CancelledError, or what a later submit threw.
    std::optional<std::string_view> next();
    /// For the library: the map iterator.
    detail::MapIterator &impl() noexcept { return *impl_; }

private:
    std::unique_ptr<detail::MapIterator> impl_;
};

/// What ThreadPoolExecutor and ProcessPoolExecutor share. Destroying an executor shuts it down and waits,
/// like leaving Python's `with` block.
///
/// Every submit throws ShutdownError after shutdown(), BrokenThreadPool or BrokenProcessPool once the pool is
/// broken, TooLargeError for an argument that can never fit, and InvalidStateError in a forked child of the
/// process that made the pool. The members may be called from any thread.
class CF_API Executor {
public:
    Executor(const Executor &) = delete;             ///< not copyable
    Executor &operator=(const Executor &) = delete;  ///< not copyable
    virtual ~Executor();

    /// Runs a byte-string task: the argument is copied before submit returns. A process pool runs registered
    /// functions only (UnknownTaskError otherwise); InvalidArgument for a call without invoke or fn, or a NaN
    /// time limit.
    FutureBase submit_bytes(const TaskCall &call, std::string_view arg, const SubmitOptions &options = {});
    /// Runs the task registered under name (cf_task_register / CF_TASK); UnknownTaskError when nothing is (a
    /// process pool with a worker_program lets its worker report that on the future instead).
    FutureBase submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options = {});
    /// Runs a byte-string task over every argument, as concurrent.futures' map does. source gives the arguments;
    /// throws InvalidArgument for chunksize 0 or a NaN timeout, and what submitting the first chunks throws.
    MapResults map_bytes(const TaskCall &call, detail::ArgSource source, const MapOptions &options = {});

    /// Idempotent. wait: until every task has finished; cancel_futures: cancel those not started.
    void shutdown(bool wait = true, bool cancel_futures = false);

    /// Workers, queue and task counters now.
    ExecutorStats stats() const;

    /// For the library and bindings: the implementation.
    detail::ExecutorCore &core() const noexcept { return *core_; }
    /// For the library and bindings: the implementation, shared.
    std::shared_ptr<detail::ExecutorCore> shared_core() const noexcept { return core_; }

protected:
    /// For the pools: an executor over its implementation.
    explicit Executor(std::shared_ptr<detail::ExecutorCore> core);
    /// For the pools: runs a C++ job (thread pools only; a process pool throws InvalidArgument).
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

/// Runs tasks on a pool of threads, as Python's ThreadPoolExecutor: C++ callables (submit, map) and byte-string
/// tasks (submit_bytes, submit_named, map_bytes). Threads start as tasks arrive, while no idle one is left.
class CF_API ThreadPoolExecutor : public Executor {
public:
    /// How the pool is made (the C ABI's cf_thread_pool_options).
    struct Options {
        std::size_t max_workers = 0;          ///< 0: min(32, usable CPUs + 4); more than 65536 is invalid
        std::string thread_name_prefix;       ///< empty: "cf" and a pool number; thread i is named prefix_i (15 bytes)
        std::function<void()> initializer;    ///< run once in each new worker; if it throws, the pool is broken
        /// true: cancel() on a running task cancels its future at once and raises the task's cancel flag (the
        /// thread runs on; its late result is discarded); shutdown with cancel_futures cancels running tasks too.
        bool cancel_running = false;
    };

    /// A pool with the default options.
    ThreadPoolExecutor();
    /// A pool with these options; throws InvalidArgument for max_workers above 65536.
    explicit ThreadPoolExecutor(Options options);
    ~ThreadPoolExecutor() override;

    /// Runs f(args...) on a worker; the future holds its result or its exception. f and the arguments are
    /// decay-copied (or moved) into the task.
    template <class F, class... Args>
    auto submit(F &&f, Args &&...args) -> Future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
        return submit_with(SubmitOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
    }

    /// submit with per-task options: past options.time_limit the future fails with TimeLimitError and the task's
    /// cancel flag is raised (read it with cf::this_task_cancel_requested()); its late result is discarded.
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

    /// Applies f to every item, chunksize items per task; the results in input order (as Python's list(map())).
    /// Every chunk is submitted at once (buffersize and unordered do not apply). Throws the first failure, or
    /// TimeoutError when options.timeout runs out, after cancelling the chunks not started; InvalidArgument for
    /// chunksize 0.
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

    /// Threads started so far (threads start lazily, only when no idle one exists).
    std::size_t thread_count() const;
    /// The most threads the pool starts (Options::max_workers, or its default).
    std::size_t max_workers() const;
};

}  // namespace cf

#endif  // CFUTURES_EXECUTOR_HPP
