// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: executors (the interface both pools share) and the thread pool. Header-only, over the C
/// ABI: a C++ callable reaches a pool as a C task whose user data is the callable, and its result or exception
/// comes back as an object the future holds (cf_object_type), so that result() returns that very value and
/// rethrows that very exception.
#ifndef CFUTURES_EXECUTOR_HPP
#define CFUTURES_EXECUTOR_HPP

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <new>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cfutures.h"
#include "errors.hpp"
#include "future.hpp"

namespace cf {

/// What a byte-string task sees while it runs (the C ABI's cf_task_ctx): where it puts its result or failure.
/// The library makes it for each run; it is valid only during the task's call.
class TaskContext {
public:
    /// A context over the C one.
    explicit TaskContext(cf_task_ctx *ctx) noexcept : ctx_(ctx) {}
    /// Copies bytes out as the result (replacing an earlier one); false when the pool has no room for it (the
    /// task then fails with TooLargeError unless it sets a result that fits or raises).
    bool return_bytes(std::string_view bytes) { return cf_task_return(ctx_, bytes.data(), bytes.size()) == CF_OK; }
    /// A buffer of len bytes that becomes the result; valid until the task returns or sets another result.
    /// nullptr when the pool has no room (the task then fails with TooLargeError).
    void *return_buffer(std::size_t len) { return cf_task_return_buffer(ctx_, len); }
    /// Fails the task with a described error (the C ABI's cf_task_raise); a failure raised outweighs a result.
    void raise(std::string type, std::string message) { cf_task_raise(ctx_, type.c_str(), message.c_str()); }
    /// True once cancellation of this running task was asked for (cancel(), or shutdown with cancel_futures).
    bool cancel_requested() const noexcept { return cf_task_cancel_requested(ctx_) != 0; }
    /// The C context.
    cf_task_ctx *native_handle() const noexcept { return ctx_; }

private:
    cf_task_ctx *ctx_;
};

/// A byte-string task made callable without the C header: `invoke` (supplied by the caller's layer) calls `fn`
/// with the context, the argument and `user_data`, and returns the task's status. A process pool runs registered
/// C functions only: there `fn` must be a cf_task_fn registered with cf_task_register / CF_TASK (and is called as
/// one in the worker).
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
inline void set_log_handler(LogHandler fn, void *user_data = nullptr) { cf_set_log_handler(fn, user_data); }

/// Inside a C++ task that a thread pool runs (submit, submit_with): whether cancellation of it was asked for
/// (cancel(), shutdown with cancel_futures, its time limit). False outside any task.
inline bool this_task_cancel_requested() noexcept {
    cf_task_ctx *ctx = cf_task_current();
    return ctx && cf_task_cancel_requested(ctx) != 0;
}

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
/// @cond
// Supplies map arguments one at a time; false at the end. The view must stay valid until the next call.
using ArgSource = std::function<bool(std::string_view &next)>;

// A C++ task handed to a thread pool: the C task's user data, deleted once it has run or never will.
class Job {
public:
    virtual ~Job() = default;
    // Runs the callable; its value or exception becomes the task's outcome through ctx.
    virtual int run(cf_task_ctx *ctx) = 0;

    static int trampoline(cf_task_ctx *ctx, const void *, std::size_t, void *job) {
        return static_cast<Job *>(job)->run(ctx);
    }
    static void release(void *job) { delete static_cast<Job *>(job); }
};

// Raises the exception being handled as the task's failure, keeping the exception itself for result().
inline int raise_current(cf_task_ctx *ctx) {
    std::exception_ptr e = std::current_exception();
    std::string type, message, where;
    describe(e, type, message, where);
    return cf_task_raise_object(ctx, new std::exception_ptr(std::move(e)), &exception_type(), type.c_str(),
                                message.c_str(), where.c_str());
}

// Calls a C++ callable as a task: its value becomes the result (a trivially copyable one as its bytes, kept
// inside the future; any other as an object the future gives back as is), its exception the failure. A future
// completed from outside meanwhile (its time limit, a cancel of the running task) keeps that outcome: the late
// value or exception is discarded.
template <class R, class Callable>
int run_callable(cf_task_ctx *ctx, Callable &callable) {
    try {
        if constexpr (std::is_void_v<R>) {
            callable();
            return CF_OK;
        } else if constexpr (std::is_trivially_copyable_v<R>) {
            R value = callable();
            return cf_task_return(ctx, &value, sizeof value);
        } else {
            return cf_task_return_object(ctx, new R(callable()), &Held<R>::type());
        }
    } catch (...) {
        return raise_current(ctx);
    }
}

// A callable held on the heap until it has run (or never will).
template <class R, class Callable>
class CallableJob final : public Job {
public:
    explicit CallableJob(Callable c) : callable_(std::move(c)) {}
    int run(cf_task_ctx *ctx) override { return run_callable<R>(ctx, callable_); }

private:
    Callable callable_;
};

// A small trivially copyable callable travels as the task's argument bytes, which the pool keeps with the task
// (inside the queue entry when short): no allocation of its own, nothing to release.
inline constexpr std::size_t kInlineCallableBytes = 64;
template <class R, class Callable>
int run_inline_callable(cf_task_ctx *ctx, const void *arg, std::size_t len, void *) {
    alignas(Callable) unsigned char storage[sizeof(Callable)];
    if (len != sizeof(Callable)) return cf_task_raise(ctx, "cf::InvalidArgument", "callable bytes of the wrong size");
    std::memcpy(storage, arg, sizeof(Callable));
    return run_callable<R>(ctx, *std::launder(reinterpret_cast<Callable *>(storage)));
}

// A TaskCall as a C task: the call travels as user data, a copy of its own for each submit (released with the
// task). A map's tasks may still run after its results are gone, so a map's call is kept for the program's life
// instead, once per distinct call (as a registered task is).
inline void release_task_call(void *call) { delete static_cast<TaskCall *>(call); }
inline int run_task_call(cf_task_ctx *ctx, const void *arg, std::size_t len, void *user_data) {
    const TaskCall &call = *static_cast<const TaskCall *>(user_data);
    TaskContext context(ctx);
    try {
        return call.invoke(call, context, arg, len);
    } catch (...) {
        return raise_current(ctx);
    }
}
inline const TaskCall *interned(const TaskCall &call) {
    using Key = std::tuple<TaskCall::Invoker, void (*)(), void *>;
    static std::mutex mu;
    static auto *calls = new std::map<Key, std::unique_ptr<TaskCall>>();
    std::lock_guard<std::mutex> lock(mu);
    auto &slot = (*calls)[Key{call.invoke, call.fn, call.user_data}];
    if (!slot) slot = std::make_unique<TaskCall>(call);
    return slot.get();
}

// The argument source of a map, seen from C: the caller's std::function, and an exception it threw, kept to be
// rethrown in C++ (a C callback must not let it through). Owned by the map's MapResults.
struct MapSource {
    ArgSource pull;
    std::exception_ptr error;

    static int c_pull(void *state, cf_slice *next) {
        auto *s = static_cast<MapSource *>(state);
        try {
            std::string_view v;
            if (!s->pull(v)) return CF_DONE;
            *next = cf_slice{v.data(), v.size()};
            return CF_OK;
        } catch (...) {
            s->error = std::current_exception();
            return CF_E_INVALID_ARGUMENT;
        }
    }
};

// The C options of SubmitOptions.
inline cf_submit_options c_submit_options(const SubmitOptions &o) {
    cf_submit_options c;
    cf_submit_options_init(&c);
    c.time_limit = o.time_limit;
    return c;
}
/// @endcond
}  // namespace detail

/// The lazy result sequence of Executor::map_bytes: next() gives each result in turn. One thread at a time may
/// use it.
class MapResults {
public:
    /// Results over a C map iterator, and the argument source it pulls from (kept alive with it).
    MapResults(cf_map_iter *it, std::unique_ptr<detail::MapSource> source) noexcept
        : it_(it), source_(std::move(source)) {}
    /// Takes over the other's map.
    MapResults(MapResults &&other) noexcept : it_(other.it_), source_(std::move(other.source_)) { other.it_ = nullptr; }
    /// Takes over the other's map, ending (and cancelling the rest of) this one's.
    MapResults &operator=(MapResults &&other) noexcept {
        if (this != &other) {
            cf_map_free(it_);
            it_ = other.it_;
            other.it_ = nullptr;
            source_ = std::move(other.source_);
        }
        return *this;
    }
    ~MapResults() { cf_map_free(it_); }  ///< cancels the tasks not started
    /// The next result (valid until the next call), or nullopt at the end; throws the first failure once (then
    /// the tasks not started are cancelled and the sequence ends): the task's exception, TimeoutError when the
    /// map's timeout ran out, CancelledError, or what a later submit threw.
    std::optional<std::string_view> next() {
        if (!it_) return std::nullopt;
        cf_slice s{nullptr, 0};
        int rc = cf_map_next(it_, &s);
        if (rc == CF_DONE) return std::nullopt;
        if (rc == CF_OK) return std::string_view(static_cast<const char *>(s.data), s.data ? s.len : 0);
        std::string text = cf_last_error();
        if (source_ && source_->error) std::rethrow_exception(std::exchange(source_->error, nullptr));
        void *object = nullptr;
        if (cf_map_error_object(it_, detail::exception_type_name(), &object) == CF_OK && object)
            std::rethrow_exception(*static_cast<const std::exception_ptr *>(object));
        cf_error e{};
        if (cf_map_error(it_, &e) == CF_OK && e.status == CF_E_TASK_FAILED) {
            std::string type = e.type ? e.type : "", message = e.message ? e.message : "";
            std::string where = e.detail ? e.detail : "";
            if (cf_map_failed_remotely(it_)) throw RemoteError(type, message, where);
            throw TaskError(type, message, where);
        }
        throw_status(static_cast<Status>(rc), text);
    }

private:
    cf_map_iter *it_;
    std::unique_ptr<detail::MapSource> source_;
};

/// What ThreadPoolExecutor and ProcessPoolExecutor share. Destroying an executor shuts it down and waits,
/// like leaving Python's `with` block.
///
/// Every submit throws ShutdownError after shutdown(), BrokenThreadPool or BrokenProcessPool once the pool is
/// broken, TooLargeError for an argument that can never fit, and InvalidStateError in a forked child of the
/// process that made the pool. The members may be called from any thread.
class Executor {
public:
    Executor(const Executor &) = delete;             ///< not copyable
    Executor &operator=(const Executor &) = delete;  ///< not copyable
    virtual ~Executor() { cf_executor_free(ex_); }

    /// Runs a byte-string task: the argument is copied before submit returns. A process pool runs registered
    /// functions only (UnknownTaskError otherwise); InvalidArgument for a call without invoke or fn, or a NaN
    /// time limit.
    FutureBase submit_bytes(const TaskCall &call, std::string_view arg, const SubmitOptions &options = {}) {
        if (!call.invoke || !call.fn) throw InvalidArgument("task function is null");
        cf_submit_options o = detail::c_submit_options(options);
        cf_future *f = nullptr;
        if (remote_) {
            detail::check(cf_submit_ex(ex_, reinterpret_cast<cf_task_fn>(call.fn), call.user_data, arg.data(),
                                       arg.size(), &o, &f));
        } else {
            o.release_user_data = &detail::release_task_call;
            // From here the library owns the copy: it releases it once the task ran or never will.
            detail::check(cf_submit_ex(ex_, &detail::run_task_call, new TaskCall(call), arg.data(), arg.size(), &o, &f));
        }
        return FutureBase(f);
    }
    /// Runs the task registered under name (cf_task_register / CF_TASK); UnknownTaskError when nothing is (a
    /// process pool with a worker_program lets its worker report that on the future instead).
    FutureBase submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options = {}) {
        cf_submit_options o = detail::c_submit_options(options);
        cf_future *f = nullptr;
        detail::check(cf_submit_named_ex(ex_, std::string(name).c_str(), arg.data(), arg.size(), &o, &f));
        return FutureBase(f);
    }
    /// Runs a byte-string task over every argument, as concurrent.futures' map does. source gives the arguments;
    /// throws InvalidArgument for chunksize 0 or a NaN timeout, and what submitting the first chunks throws.
    MapResults map_bytes(const TaskCall &call, detail::ArgSource source, const MapOptions &options = {}) {
        if (!call.invoke || !call.fn) throw InvalidArgument("task function is null");
        cf_map_options o;
        cf_map_options_init(&o);
        o.timeout = options.timeout;
        o.chunksize = options.chunksize;
        o.buffersize = options.buffersize;
        o.unordered = options.unordered ? 1 : 0;
        auto held = std::make_unique<detail::MapSource>();
        held->pull = std::move(source);
        cf_map_iter *it = nullptr;
        cf_task_fn fn = remote_ ? reinterpret_cast<cf_task_fn>(call.fn) : &detail::run_task_call;
        void *user_data = remote_ ? call.user_data : const_cast<TaskCall *>(detail::interned(call));
        int rc = cf_map_source(ex_, fn, user_data, &detail::MapSource::c_pull, held.get(), &o, &it);
        if (held->error) std::rethrow_exception(held->error);
        detail::check(rc);
        return MapResults(it, std::move(held));
    }

    /// Idempotent. wait: until every task has finished; cancel_futures: cancel those not started.
    void shutdown(bool wait = true, bool cancel_futures = false) {
        detail::check(cf_executor_shutdown(ex_, wait ? 1 : 0, cancel_futures ? 1 : 0));
    }

    /// Workers, queue and task counters now.
    ExecutorStats stats() const {
        cf_executor_stats c{};
        c.struct_size = sizeof c;
        detail::check(cf_executor_stats_get(ex_, &c));
        ExecutorStats s;
        s.workers = c.workers;
        s.idle_workers = c.idle_workers;
        s.queued = c.queued;
        s.running = c.running;
        s.completed = c.completed;
        s.failed = c.failed;
        s.cancelled = c.cancelled;
        s.worker_deaths = c.worker_deaths;
        s.workers_replaced = c.workers_replaced;
        s.max_workers = c.max_workers;
        s.workers_started = c.workers_started;
        return s;
    }

    /// The C executor (for bindings and C code beside C++).
    cf_executor *native_handle() const noexcept { return ex_; }

protected:
    /// For the pools: an executor over a C executor it owns; remote: its tasks run in other processes.
    Executor(cf_executor *ex, bool remote) noexcept : ex_(ex), remote_(remote) {}
    /// For the pools: shuts down, waits and frees the C executor now (a derived class's destructor calls it
    /// before its own members, which running tasks may use, go).
    void close() noexcept {
        cf_executor_free(ex_);
        ex_ = nullptr;
    }
    /// For the pools: runs a C++ job (thread pools only; a process pool refuses it).
    FutureBase submit_job(std::unique_ptr<detail::Job> job, const SubmitOptions &options = {}) {
        cf_submit_options o = detail::c_submit_options(options);
        o.release_user_data = &detail::Job::release;
        cf_future *f = nullptr;
        // From here the library owns the job: it deletes it once the job ran or never will (also on failure).
        detail::check(cf_submit_ex(ex_, &detail::Job::trampoline, job.release(), nullptr, 0, &o, &f));
        return FutureBase(f);
    }

private:
    cf_executor *ex_;
    bool remote_;
};

namespace detail {
/// @cond
// A thread pool's initializer, held in a base made before the pool (and gone after it).
struct InitializerHolder {
    std::unique_ptr<std::function<void()>> initializer;
};
/// @endcond
}  // namespace detail

/// Runs tasks on a pool of threads, as Python's ThreadPoolExecutor: C++ callables (submit, map) and byte-string
/// tasks (submit_bytes, submit_named, map_bytes). Threads start as tasks arrive, while no idle one is left.
class ThreadPoolExecutor : private detail::InitializerHolder, public Executor {
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
    ThreadPoolExecutor() : ThreadPoolExecutor(Options{}) {}
    /// A pool with these options; throws InvalidArgument for max_workers above 65536.
    explicit ThreadPoolExecutor(Options options) : ThreadPoolExecutor(std::move(options), 0) {}
    ~ThreadPoolExecutor() override { close(); }

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
        using Bound = decltype(bound);
        if constexpr (std::is_trivially_copyable_v<Bound> && sizeof(Bound) <= detail::kInlineCallableBytes) {
            cf_submit_options o = detail::c_submit_options(options);
            cf_future *future = nullptr;
            detail::check(cf_submit_ex(native_handle(), &detail::run_inline_callable<R, Bound>, nullptr, &bound,
                                       sizeof bound, &o, &future));
            return Future<R>(FutureBase(future));
        } else {
            return Future<R>(submit_job(std::make_unique<detail::CallableJob<R, Bound>>(std::move(bound)), options));
        }
    }

    /// A continuation on this pool: once source succeeds, f(its result) runs here (f() for a Future<void>), and
    /// the returned future holds what f returns or throws. A failure or cancellation of source passes on without
    /// running f; cancelling the continuation before f runs cancels it. No thread waits meanwhile, and a chain of
    /// any length costs one task per step. source may come from any executor (a process pool's included).
    template <class T, class F>
    auto then(const Future<T> &source, F &&f) -> Future<detail::then_result_t<T, std::decay_t<F>>> {
        using Fn = std::decay_t<F>;
        using R = detail::then_result_t<T, Fn>;
        // The step reads the source's typed value (done by then: no wait) rather than the bytes the library
        // passes it, so that any T continues, objects included.
        auto step = [src = source, fn = Fn(std::forward<F>(f))]() mutable -> R {
            if constexpr (std::is_void_v<T>) {
                src.result();
                return fn();
            } else {
                return fn(src.result());
            }
        };
        auto job = std::make_unique<detail::CallableJob<R, decltype(step)>>(std::move(step));
        cf_submit_options o;
        cf_submit_options_init(&o);
        o.release_user_data = &detail::Job::release;
        cf_future *out = nullptr;
        // From here the library owns the job: it deletes it once the step ran or never will (also on failure).
        detail::check(cf_future_then_ex(detail::checked_handle(source), native_handle(), &detail::Job::trampoline,
                                        job.release(), &o, &out));
        return Future<R>(FutureBase(out));
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
    std::size_t thread_count() const { return static_cast<std::size_t>(stats().workers_started); }
    /// The most threads the pool starts (Options::max_workers, or its default).
    std::size_t max_workers() const { return static_cast<std::size_t>(stats().max_workers); }

private:
    ThreadPoolExecutor(Options options, int) : InitializerHolder{}, Executor(make(options, initializer), false) {}

    // The C pool for these options; the initializer, if any, moves into held (which outlives the pool).
    static cf_executor *make(Options &options, std::unique_ptr<std::function<void()>> &held) {
        cf_thread_pool_options o;
        cf_thread_pool_options_init(&o);
        o.max_workers = options.max_workers;
        o.thread_name_prefix = options.thread_name_prefix.empty() ? nullptr : options.thread_name_prefix.c_str();
        o.cancel_running = options.cancel_running ? 1 : 0;
        if (options.initializer) {
            held = std::make_unique<std::function<void()>>(std::move(options.initializer));
            o.initializer = &run_initializer;
            o.initializer_data = held.get();
        }
        cf_executor *ex = nullptr;
        detail::check(cf_thread_pool_new(&o, &ex));
        return ex;
    }
    static int run_initializer(cf_task_ctx *ctx, const void *, std::size_t, void *fn) {
        try {
            (*static_cast<std::function<void()> *>(fn))();
            return CF_OK;
        } catch (...) {
            std::string type, message, where;
            detail::describe(std::current_exception(), type, message, where);
            return cf_task_raise(ctx, type.c_str(), message.c_str());
        }
    }
};

}  // namespace cf

#endif  // CFUTURES_EXECUTOR_HPP
