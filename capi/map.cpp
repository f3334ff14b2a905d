// SPDX-License-Identifier: MIT
// cf_map, cf_map_source and their iterator over the core's MapIterator.
#include <cstddef>
#include <cstring>

#include "executor/map_iterator.hpp"
#include "registry/registry.hpp"
#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "capi/options.hpp"

using cf::core::MapIterator;
using namespace cf::capi;

namespace {

constexpr std::size_t kMapOptionsV1 = CF_MAP_OPTIONS_V1_SIZE;

cf::core::MapOptions map_options(const cf_map_options &o) {
    cf::core::MapOptions m;
    m.timeout = o.timeout;
    m.chunksize = o.chunksize;
    m.buffersize = o.buffersize;
    m.unordered = o.unordered != 0;
    return m;
}

int start_map(const char *function, cf_executor *ex, const cf::core::TaskCall &call, const cf_map_options *o,
              cf_map_iter **out, cf::core::ArgSource source) {
    cf_executor *e = handle_cast<cf_executor>(ex);
    if (!e) return bad_handle(function, "executor", ex);
    cf_map_options opts;
    cf_map_options_init(&opts);
    int rc = read_options(o, kMapOptionsV1, opts, function);
    if (rc != CF_OK) return rc;
    if (opts.chunksize == 0) return fail(CF_E_INVALID_ARGUMENT, std::string(function) + ": chunksize must be at least 1");
    if (!timeout_ok(opts.timeout)) return fail(CF_E_INVALID_ARGUMENT, std::string(function) + ": timeout is NaN");
    return guarded([&]() -> int {
        e->core->check_creator_process("map");
        auto it = std::make_unique<MapIterator>(e->core, call, std::move(source), map_options(opts));
        *out = reinterpret_cast<cf_map_iter *>(it.release());
        return CF_OK;
    });
}

// The task to map: a function, or a registered name (looked up now, as cf_submit_named would on a thread pool).
int task_of(const char *function, cf_task_fn fn, void *user_data, cf::core::TaskCall &call) {
    if (!fn) return null_argument(function, "fn");
    call = c_task_call(fn, user_data);
    return CF_OK;
}
int task_named(const char *function, const char *task, cf::core::TaskCall &call) {
    if (!task) return null_argument(function, "task");
    auto registered = cf::core::find_task(std::string_view(task));
    if (!registered)
        return fail(CF_E_UNKNOWN_TASK, std::string(function) + ": no task is registered as '" + task + "'");
    call = registered->call;
    return CF_OK;
}

// The argument sources: an array of slices, or a caller's cf_arg_source. Check what can be checked up front.
int array_source(const char *function, const cf_slice *args, size_t n_args, cf::core::ArgSource &out) {
    if (n_args && !args) return null_argument(function, "args (with n_args > 0)");
    for (size_t i = 0; i < n_args; ++i)
        if (!args[i].data && args[i].len)
            return fail(CF_E_INVALID_ARGUMENT,
                        std::string(function) + ": args[" + std::to_string(i) + "] has NULL data and a length");
    size_t next = 0;
    out = [args, n_args, next](std::string_view &arg) mutable {
        if (next == n_args) return false;
        const cf_slice &s = args[next++];
        arg = std::string_view(static_cast<const char *>(s.data), s.data ? s.len : 0);
        return true;
    };
    return CF_OK;
}
int caller_source(const char *function, cf_arg_source source, void *state, cf::core::ArgSource &out) {
    if (!source) return null_argument(function, "source");
    out = [function, source, state](std::string_view &arg) {
        cf_slice s{nullptr, 0};
        int rc = source(state, &s);
        if (rc == CF_DONE) return false;
        if (rc != CF_OK)
            throw cf::core::InvalidArgument(std::string(function) + ": the argument source returned " + std::to_string(rc) +
                                      " (" + cf_status_name(rc) + ")");
        if (!s.data && s.len)
            throw cf::core::InvalidArgument(std::string(function) + ": the source gave NULL data with a length");
        arg = std::string_view(static_cast<const char *>(s.data), s.data ? s.len : 0);
        return true;
    };
    return CF_OK;
}

// What every cf_map* entry point does: check out, then resolve the task, build the argument source and start.
template <class ResolveTask, class BuildSource>
int map_entry(const char *function, cf_executor *ex, const cf_map_options *o, cf_map_iter **out,
              ResolveTask resolve_task, BuildSource build_source) {
    if (!out) return null_argument(function, "out");
    *out = nullptr;
    cf::core::TaskCall call;
    cf::core::ArgSource source;
    int rc = resolve_task(call);
    if (rc == CF_OK) rc = build_source(source);
    return rc == CF_OK ? start_map(function, ex, call, o, out, std::move(source)) : rc;
}

MapIterator *iterator_of(const cf_map_iter *it) { return handle_cast<MapIterator>(const_cast<cf_map_iter *>(it)); }

}  // namespace

extern "C" {

CF_API void cf_map_options_init(cf_map_options *o) {
    if (!o) return;
    std::memset(static_cast<void *>(o), 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->timeout = CF_FOREVER;
    o->chunksize = 1;
}

CF_API int cf_map(cf_executor *ex, cf_task_fn fn, void *user_data, const cf_slice *args, size_t n_args,
                  const cf_map_options *o, cf_map_iter **out) {
    const char *f = "cf_map";
    return map_entry(f, ex, o, out, [&](cf::core::TaskCall &call) { return task_of(f, fn, user_data, call); },
                     [&](cf::core::ArgSource &source) { return array_source(f, args, n_args, source); });
}

CF_API int cf_map_source(cf_executor *ex, cf_task_fn fn, void *user_data, cf_arg_source source, void *state,
                         const cf_map_options *o, cf_map_iter **out) {
    const char *f = "cf_map_source";
    return map_entry(f, ex, o, out, [&](cf::core::TaskCall &call) { return task_of(f, fn, user_data, call); },
                     [&](cf::core::ArgSource &pull) { return caller_source(f, source, state, pull); });
}

CF_API int cf_map_named(cf_executor *ex, const char *task, const cf_slice *args, size_t n_args,
                        const cf_map_options *o, cf_map_iter **out) {
    const char *f = "cf_map_named";
    return map_entry(f, ex, o, out, [&](cf::core::TaskCall &call) { return task_named(f, task, call); },
                     [&](cf::core::ArgSource &source) { return array_source(f, args, n_args, source); });
}

CF_API int cf_map_named_source(cf_executor *ex, const char *task, cf_arg_source source, void *state,
                               const cf_map_options *o, cf_map_iter **out) {
    const char *f = "cf_map_named_source";
    return map_entry(f, ex, o, out, [&](cf::core::TaskCall &call) { return task_named(f, task, call); },
                     [&](cf::core::ArgSource &pull) { return caller_source(f, source, state, pull); });
}

CF_API int cf_map_next(cf_map_iter *it, cf_slice *result) {
    MapIterator *m = iterator_of(it);
    if (!m) return bad_handle("cf_map_next", "iterator", it);
    if (!result) return null_argument("cf_map_next", "result");
    return guarded([&]() -> int {
        std::string_view out;
        switch (m->next(out)) {
            case MapIterator::Step::Item:
                *result = cf_slice{out.data(), out.size()};
                return CF_OK;
            case MapIterator::Step::End:
                return CF_DONE;
            case MapIterator::Step::Failed:
                break;
        }
        const cf::core::Failure &f = m->failure();
        return fail(static_cast<int>(f.status), f.message.empty() ? f.type : f.type + ": " + f.message);
    });
}

CF_API int cf_map_error(const cf_map_iter *it, cf_error *out) {
    MapIterator *m = iterator_of(it);
    if (!m) return bad_handle("cf_map_error", "iterator", it);
    if (!out) return null_argument("cf_map_error", "out");
    const cf::core::Failure &f = m->failure();
    if (f.type.empty()) {
        *out = cf_error{CF_OK, nullptr, nullptr, nullptr};
        return CF_OK;
    }
    *out = cf_error{static_cast<int>(f.status), f.type.c_str(), f.message.c_str(), f.detail.c_str()};
    return CF_OK;
}

CF_API int cf_map_error_object(const cf_map_iter *it, const char *type_name, void **out) {
    MapIterator *m = iterator_of(it);
    if (!m) return bad_handle("cf_map_error_object", "iterator", it);
    if (!type_name) return null_argument("cf_map_error_object", "type_name");
    if (!out) return null_argument("cf_map_error_object", "out");
    const cf::core::Failure &f = m->failure();
    *out = f.object ? f.object->object_named(type_name) : nullptr;
    return CF_OK;
}

CF_API int cf_map_failed_remotely(const cf_map_iter *it) {
    MapIterator *m = iterator_of(it);
    return m && !m->failure().type.empty() && m->failure().remote;
}

CF_API void cf_map_free(cf_map_iter *it) { delete iterator_of(it); }

}  // extern "C"
