// SPDX-License-Identifier: MIT
// Executors through the C ABI: options, cf_thread_pool_new, cf_submit*, shutdown and free.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "executor/executor_core.hpp"
#include "executor/task_context.hpp"
#include "process_pool/process_pool.hpp"
#include "process_pool/worker.hpp"
#include "common/fork_hooks.hpp"
#include "common/log.hpp"
#include "thread_pool/thread_pool.hpp"
#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "capi/options.hpp"

using namespace cf::capi;

namespace {

// The size of cf_thread_pool_options as first published (0.1.0): every field up to initializer_data.
constexpr std::size_t kThreadPoolOptionsV1 = CF_THREAD_POOL_OPTIONS_V1_SIZE;
constexpr std::size_t kProcessPoolOptionsV1 = CF_PROCESS_POOL_OPTIONS_V1_SIZE;
constexpr std::size_t kMaxWorkerArgs = 4096;
constexpr std::size_t kMaxForkHooks = 16;

constexpr std::size_t kSubmitOptionsV1 = CF_SUBMIT_OPTIONS_V1_SIZE;
constexpr std::size_t kExecutorStatsV1 = CF_EXECUTOR_STATS_V1_SIZE;



// A C initializer as the C++ pool wants it: a function that throws when the initializer fails.
std::function<void()> c_initializer(const cf_thread_pool_options &o) {
    if (!o.initializer) return {};
    cf::core::TaskCall call = c_task_call(o.initializer, o.initializer_data);
    std::string arg(static_cast<const char *>(o.initarg), o.initarg ? o.initarg_len : 0);
    return [call, arg] {
        cf::core::TaskOutcome out = cf::core::run_task_call(call, nullptr, arg);
        if (out.failure) {
            const cf::core::Failure &f = *out.failure;
            throw cf::core::Error(cf::core::Status::TaskFailed,
                                    f.message.empty() ? f.type : f.type + ": " + f.message);
        }
    };
}


}  // namespace

extern "C" {

CF_API void cf_thread_pool_options_init(cf_thread_pool_options *o) {
    if (!o) return;
    std::memset(static_cast<void *>(o), 0, sizeof *o);
    o->struct_size = sizeof *o;
}

CF_API int cf_thread_pool_new(const cf_thread_pool_options *o, cf_executor **out) {
    if (!out) return null_argument("cf_thread_pool_new", "out");
    *out = nullptr;
    cf_thread_pool_options opts;
    cf_thread_pool_options_init(&opts);
    int rc = read_options(o, kThreadPoolOptionsV1, opts, "cf_thread_pool_new");
    if (rc != CF_OK) return rc;
    if (opts.initarg_len && !opts.initarg) return null_argument("cf_thread_pool_new", "initarg (with a length)");
    return guarded([&]() -> int {
        cf::core::ThreadPool::Config config;
        config.max_workers = opts.max_workers;
        if (opts.thread_name_prefix) config.thread_name_prefix = opts.thread_name_prefix;
        config.initializer = c_initializer(opts);
        config.cancel_running = opts.cancel_running != 0;
        *out = new cf_executor(cf::core::ThreadPool::create(std::move(config)));
        return CF_OK;
    });
}

CF_API void cf_process_pool_options_init(cf_process_pool_options *o) {
    if (!o) return;
    std::memset(static_cast<void *>(o), 0, sizeof *o);
    o->struct_size = sizeof *o;
}

CF_API int cf_process_pool_new(const cf_process_pool_options *o, cf_executor **out) {
    if (!out) return null_argument("cf_process_pool_new", "out");
    *out = nullptr;
    cf_process_pool_options opts;
    cf_process_pool_options_init(&opts);
    int rc = read_options(o, kProcessPoolOptionsV1, opts, "cf_process_pool_new");
    if (rc != CF_OK) return rc;
    int method = raw_enum(opts.start_method);
    if (method < CF_START_DEFAULT || method > CF_START_SPAWN)
        return fail(CF_E_INVALID_ARGUMENT, "cf_process_pool_new: unknown start method " + std::to_string(method) +
                                               " (start_method is one of CF_START_DEFAULT, _FORK, _FORKSERVER, _SPAWN)");
    if (opts.initarg_len && !opts.initarg) return null_argument("cf_process_pool_new", "initarg (with a length)");
    std::size_t n_args = 0;
    if (opts.worker_args) {
        while (opts.worker_args[n_args]) {
            if (++n_args > kMaxWorkerArgs)
                return fail(CF_E_INVALID_ARGUMENT, "cf_process_pool_new: worker_args has no NULL among its first " +
                                                       std::to_string(kMaxWorkerArgs) + " entries");
        }
    }
    int death = raw_enum(opts.on_worker_death);
    if (death != CF_WORKER_DEATH_BREAK && death != CF_WORKER_DEATH_REPLACE)
        return fail(CF_E_INVALID_ARGUMENT, "cf_process_pool_new: on_worker_death " + std::to_string(death) +
                                               " is not CF_WORKER_DEATH_BREAK or CF_WORKER_DEATH_REPLACE");
    return guarded([&]() -> int {
        using cf::core::ProcessPool;
        ProcessPool::Config config;
        config.max_workers = opts.max_workers;
        config.start_method = method == CF_START_FORKSERVER ? ProcessPool::StartMethod::Forkserver
                              : method == CF_START_SPAWN    ? ProcessPool::StartMethod::Spawn
                                                            : ProcessPool::StartMethod::Fork;
        config.max_tasks_per_child = opts.max_tasks_per_child;
        if (opts.initializer) config.initializer = opts.initializer;
        if (opts.initarg) config.initarg.assign(static_cast<const char *>(opts.initarg), opts.initarg_len);
        config.shared_memory_bytes = opts.shared_memory_bytes;
        if (opts.worker_program) config.worker_program = opts.worker_program;
        config.worker_args.assign(opts.worker_args, opts.worker_args + n_args);
        config.worker_start_timeout = opts.worker_start_timeout;
        config.cancel_running = opts.cancel_running != 0;
        config.replace_dead = death == CF_WORKER_DEATH_REPLACE;
        config.max_restarts = opts.max_restarts;
        config.restart_period = opts.restart_period;
        *out = new cf_executor(ProcessPool::create(std::move(config)));
        return CF_OK;
    });
}

CF_API int cf_set_fork_hooks(const cf_fork_hook *before, size_t n_before, const cf_fork_hook *in_parent,
                             size_t n_in_parent, const cf_fork_hook *in_child, size_t n_in_child) {
    cf::core::ForkHooks hooks;
    struct List {
        const cf_fork_hook *hooks;
        std::size_t n;
        const char *name;
        std::vector<cf::core::ForkHook> &out;
    };
    List lists[] = {{before, n_before, "before", hooks.before},
                    {in_parent, n_in_parent, "in_parent", hooks.in_parent},
                    {in_child, n_in_child, "in_child", hooks.in_child}};
    for (const List &l : lists) {
        if (l.n > kMaxForkHooks)
            return fail(CF_E_INVALID_ARGUMENT, std::string("cf_set_fork_hooks: more than ") +
                                                   std::to_string(kMaxForkHooks) + " hooks in " + l.name);
        if (l.n && !l.hooks) return null_argument("cf_set_fork_hooks", l.name);
        for (std::size_t i = 0; i < l.n; ++i)
            if (!l.hooks[i].fn)
                return fail(CF_E_INVALID_ARGUMENT, std::string("cf_set_fork_hooks: ") + l.name + "[" +
                                                       std::to_string(i) + "] has no fn");
    }
    return guarded([&]() -> int {
        for (List &l : lists)
            for (std::size_t i = 0; i < l.n; ++i) l.out.push_back({l.hooks[i].fn, l.hooks[i].data});
        cf::core::set_fork_hooks(std::move(hooks));
        return CF_OK;
    });
}

CF_API int cf_process_worker_entry(void) {
    cf::core::enter_worker_if_spawned();
    return CF_OK;
}

CF_API void cf_submit_options_init(cf_submit_options *o) {
    if (!o) return;
    std::memset(static_cast<void *>(o), 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->time_limit = CF_FOREVER;
}

namespace {
// What cf_submit_ex and cf_submit_named_ex check alike (what they run is checked by each): the handle, the
// out-pointer, the argument, the options. CF_OK with *e and the options read.
// With release (cf_submit_ex): the options' release_user_data is taken into it first, so that a failed check
// releases user_data too. cf_submit_named_ex has no user_data: there release_user_data is refused.
int check_submit(const char *name, cf_executor *ex, const void *arg, size_t arg_len, const cf_submit_options *o,
                 cf_future **out, cf_executor *&e, cf::core::SubmitOptions &options, cf::core::UserDataRelease *release,
                 void *user_data) {
    cf_submit_options opts;
    cf_submit_options_init(&opts);
    if (int rc = read_options(o, kSubmitOptionsV1, opts, name); rc != CF_OK) return rc;
    if (release) *release = cf::core::UserDataRelease(opts.release_user_data, user_data);
    else if (opts.release_user_data)
        return fail(CF_E_INVALID_ARGUMENT, std::string(name) + ": release_user_data is for cf_submit_ex (a task "
                                                               "submitted by name has no user_data)");
    e = executor_of(ex);
    if (!e) return bad_handle(name, "executor", ex);
    if (!out) return null_argument(name, "out");
    if (!arg && arg_len) return null_argument(name, "arg (with a non-zero length)");
    *out = nullptr;
    options = submit_options(opts);
    return CF_OK;
}
}  // namespace

CF_API int cf_submit_ex(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t arg_len,
                        const cf_submit_options *o, cf_future **out) {
    const char *name = o ? "cf_submit_ex" : "cf_submit";
    cf_executor *e = nullptr;
    cf::core::SubmitOptions options;
    cf::core::UserDataRelease release;  // released on every path once the options are read
    if (int rc = check_submit(name, ex, arg, arg_len, o, out, e, options, &release, user_data); rc != CF_OK)
        return rc;
    if (!fn) return null_argument(name, "fn");
    return guarded([&]() -> int {
        std::string_view a(static_cast<const char *>(arg), arg ? arg_len : 0);
        return hand_out(out, e->core->submit_call_releasing(c_task_call(fn, user_data), a, options,
                                                                       std::move(release)));
    });
}

CF_API int cf_submit(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t arg_len,
                     cf_future **out) {
    return cf_submit_ex(ex, fn, user_data, arg, arg_len, nullptr, out);
}

CF_API int cf_submit_named_ex(cf_executor *ex, const char *task, const void *arg, size_t arg_len,
                              const cf_submit_options *o, cf_future **out) {
    const char *name = o ? "cf_submit_named_ex" : "cf_submit_named";
    if (!task) return executor_of(ex) ? null_argument(name, "task") : bad_handle(name, "executor", ex);
    cf_executor *e = nullptr;
    cf::core::SubmitOptions options;
    if (int rc = check_submit(name, ex, arg, arg_len, o, out, e, options, nullptr, nullptr); rc != CF_OK) return rc;
    return guarded([&]() -> int {
        std::string_view a(static_cast<const char *>(arg), arg ? arg_len : 0);
        return hand_out(out, e->core->submit_named(task, a, options));
    });
}

CF_API int cf_submit_named(cf_executor *ex, const char *task, const void *arg, size_t arg_len, cf_future **out) {
    return cf_submit_named_ex(ex, task, arg, arg_len, nullptr, out);
}

CF_API int cf_submit_named_parts(cf_executor *ex, const char *task, const cf_slice *parts, size_t n_parts,
                                 const cf_submit_options *o, cf_future **out) {
    const char *name = "cf_submit_named_parts";
    if (!task) return executor_of(ex) ? null_argument(name, "task") : bad_handle(name, "executor", ex);
    if (!parts && n_parts) return executor_of(ex) ? null_argument(name, "parts (with a non-zero count)")
                                                  : bad_handle(name, "executor", ex);
    cf_executor *e = nullptr;
    cf::core::SubmitOptions options;
    if (int rc = check_submit(name, ex, nullptr, 0, o, out, e, options, nullptr, nullptr); rc != CF_OK) return rc;
    std::size_t total = 0;
    for (size_t i = 0; i < n_parts; ++i) {
        if (!parts[i].data && parts[i].len)
            return fail(CF_E_INVALID_ARGUMENT, std::string(name) + ": part " + std::to_string(i) +
                                                   " has no data but a length of " + std::to_string(parts[i].len));
        if (parts[i].len > SIZE_MAX - total)
            return fail(CF_E_TOO_LARGE, std::string(name) + ": the parts together are longer than SIZE_MAX");
        total += parts[i].len;
    }
    return guarded([&]() -> int {
        std::vector<std::string_view> views;
        views.reserve(n_parts);
        for (size_t i = 0; i < n_parts; ++i)
            views.emplace_back(static_cast<const char *>(parts[i].data), parts[i].data ? parts[i].len : 0);
        cf::core::ArgParts arg{views.data(), views.size(), total};
        return hand_out(out, e->core->submit_named_parts(task, arg, options));
    });
}

CF_API int cf_executor_stats_get(cf_executor *ex, cf_executor_stats *out) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_executor_stats_get", "executor", ex);
    if (!out) return null_argument("cf_executor_stats_get", "out");
    if (out->struct_size < kExecutorStatsV1)
        return fail(CF_E_INVALID_ARGUMENT, "cf_executor_stats_get: out->struct_size " +
                                               std::to_string(out->struct_size) + " is smaller than " +
                                               std::to_string(kExecutorStatsV1) + " (set it to sizeof(cf_executor_stats))");
    return guarded([&]() -> int {
        cf::core::ExecutorStats s = e->core->stats();
        cf_executor_stats c;
        c.struct_size = out->struct_size;
        c.workers = s.workers;
        c.idle_workers = s.idle_workers;
        c.queued = s.queued;
        c.running = s.running;
        c.completed = s.completed;
        c.failed = s.failed;
        c.cancelled = s.cancelled;
        c.worker_deaths = s.worker_deaths;
        c.workers_replaced = s.workers_replaced;
        c.max_workers = s.max_workers;
        c.workers_started = s.workers_started;
        std::memcpy(static_cast<void *>(out), &c, std::min(out->struct_size, sizeof c));
        return CF_OK;
    });
}

CF_API int cf_executor_shutdown(cf_executor *ex, int wait, int cancel_futures) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_executor_shutdown", "executor", ex);
    return guarded([&]() -> int {
        e->core->shutdown_as_asked(wait != 0, cancel_futures != 0);
        return CF_OK;
    });
}

CF_API int cf_executor_terminate_workers(cf_executor *ex) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_executor_terminate_workers", "executor", ex);
    return guarded([&]() -> int {
        e->core->terminate_workers();
        return CF_OK;
    });
}

CF_API int cf_executor_kill_workers(cf_executor *ex) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_executor_kill_workers", "executor", ex);
    return guarded([&]() -> int {
        e->core->kill_workers();
        return CF_OK;
    });
}

CF_API int cf_process_pool_worker_pids(cf_executor *ex, int *pids, size_t capacity, size_t *n) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_process_pool_worker_pids", "executor", ex);
    if (!n) return null_argument("cf_process_pool_worker_pids", "n");
    if (!pids && capacity) return null_argument("cf_process_pool_worker_pids", "pids (with a non-zero capacity)");
    auto *pool = dynamic_cast<cf::core::ProcessPool *>(e->core.get());
    if (!pool) return fail(CF_E_INVALID_ARGUMENT, "cf_process_pool_worker_pids: the executor is no process pool");
    return guarded([&]() -> int {
        std::vector<pid_t> live = pool->worker_pids();
        for (std::size_t i = 0; i < live.size() && i < capacity; ++i) pids[i] = static_cast<int>(live[i]);
        *n = live.size();
        return CF_OK;
    });
}

CF_API void cf_executor_free(cf_executor *ex) { delete executor_of(ex); }

CF_API void cf_set_log_handler(cf_log_fn fn, void *user_data) { cf::core::set_log_handler(fn, user_data); }

}  // extern "C"
