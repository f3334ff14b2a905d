// Executors through the C ABI: options, cf_thread_pool_new, cf_submit*, shutdown and free.
#include <cstddef>
#include <string>

#include "../src/executor/executor_core.hpp"
#include "../src/executor/task_context.hpp"
#include "capi_support.hpp"
#include "cfutures/process_pool.hpp"
#include "handles.hpp"
#include "options.hpp"

using namespace cf::capi;

namespace {

// The size of cf_thread_pool_options as first published (0.1.0): every field up to initializer_data.
constexpr std::size_t kThreadPoolOptionsV1 = offsetof(cf_thread_pool_options, initializer_data) + sizeof(void *);
constexpr std::size_t kProcessPoolOptionsV1 = offsetof(cf_process_pool_options, worker_program) + sizeof(char *);

cf_executor *executor_of(cf_executor *ex) { return handle_cast<cf_executor>(ex); }

// A C initializer as the C++ pool wants it: a function that throws when the initializer fails.
std::function<void()> c_initializer(const cf_thread_pool_options &o) {
    if (!o.initializer) return {};
    cf::TaskCall call = c_task_call(o.initializer, o.initializer_data);
    std::string arg(static_cast<const char *>(o.initarg), o.initarg ? o.initarg_len : 0);
    return [call, arg] {
        cf::detail::TaskOutcome out = cf::detail::run_task_call(call, nullptr, arg);
        if (out.failure) throw cf::TaskError(out.failure->type, out.failure->message, out.failure->detail);
    };
}

int hand_out(cf_future **out, cf::FutureBase future) {
    // The C handle takes over the FutureBase's reference (no count traffic on a line a worker may be using).
    *out = reinterpret_cast<cf_future *>(future.release_handle());
    return CF_OK;
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
        cf::ThreadPoolExecutor::Options options;
        options.max_workers = opts.max_workers;
        if (opts.thread_name_prefix) options.thread_name_prefix = opts.thread_name_prefix;
        options.initializer = c_initializer(opts);
        auto handle = std::make_unique<cf_executor>();
        handle->executor = std::make_unique<cf::ThreadPoolExecutor>(std::move(options));
        *out = handle.release();
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
        return fail(CF_E_INVALID_ARGUMENT, "cf_process_pool_new: start_method " + std::to_string(method) +
                                               " is not one of CF_START_DEFAULT, _FORK, _FORKSERVER, _SPAWN");
    if (opts.initarg_len && !opts.initarg) return null_argument("cf_process_pool_new", "initarg (with a length)");
    return guarded([&]() -> int {
        cf::ProcessPoolExecutor::Options options;
        options.max_workers = opts.max_workers;
        options.start_method = static_cast<cf::StartMethod>(method);
        options.max_tasks_per_child = opts.max_tasks_per_child;
        if (opts.initializer) options.initializer = opts.initializer;
        if (opts.initarg) options.initarg.assign(static_cast<const char *>(opts.initarg), opts.initarg_len);
        options.shared_memory_bytes = opts.shared_memory_bytes;
        if (opts.worker_program) options.worker_program = opts.worker_program;
        options.worker_start_timeout = opts.worker_start_timeout;
        auto handle = std::make_unique<cf_executor>();
        handle->executor = std::make_unique<cf::ProcessPoolExecutor>(std::move(options));
        *out = handle.release();
        return CF_OK;
    });
}

CF_API int cf_process_worker_entry(void) {
    cf::process_worker_entry();
    return CF_OK;
}

CF_API int cf_submit(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t arg_len,
                     cf_future **out) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_submit", "executor", ex);
    if (!fn) return null_argument("cf_submit", "fn");
    if (!out) return null_argument("cf_submit", "out");
    if (!arg && arg_len) return null_argument("cf_submit", "arg (with a non-zero length)");
    *out = nullptr;
    return guarded([&]() -> int {
        std::string_view a(static_cast<const char *>(arg), arg ? arg_len : 0);
        return hand_out(out, e->executor->submit_bytes(c_task_call(fn, user_data), a));
    });
}

CF_API int cf_submit_named(cf_executor *ex, const char *task, const void *arg, size_t arg_len, cf_future **out) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_submit_named", "executor", ex);
    if (!task) return null_argument("cf_submit_named", "task");
    if (!out) return null_argument("cf_submit_named", "out");
    if (!arg && arg_len) return null_argument("cf_submit_named", "arg (with a non-zero length)");
    *out = nullptr;
    return guarded([&]() -> int {
        std::string_view a(static_cast<const char *>(arg), arg ? arg_len : 0);
        return hand_out(out, e->executor->submit_named(task, a));
    });
}

CF_API int cf_executor_shutdown(cf_executor *ex, int wait, int cancel_futures) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_executor_shutdown", "executor", ex);
    return guarded([&]() -> int {
        e->executor->shutdown(wait != 0, cancel_futures != 0);
        return CF_OK;
    });
}

CF_API int cf_executor_terminate_workers(cf_executor *ex) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_executor_terminate_workers", "executor", ex);
    return guarded([&]() -> int {
        e->executor->core().terminate_workers();
        return CF_OK;
    });
}

CF_API int cf_executor_kill_workers(cf_executor *ex) {
    cf_executor *e = executor_of(ex);
    if (!e) return bad_handle("cf_executor_kill_workers", "executor", ex);
    return guarded([&]() -> int {
        e->executor->core().kill_workers();
        return CF_OK;
    });
}

CF_API void cf_executor_free(cf_executor *ex) { delete executor_of(ex); }

}  // extern "C"
