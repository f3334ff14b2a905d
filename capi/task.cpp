// SPDX-License-Identifier: MIT
// The cf_task_* entry points (what a running task calls) and the registry's C face.
#include "executor/task_context.hpp"
#include "registry/registry.hpp"
#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "capi/objects.hpp"

using cf::core::TaskContext;
using namespace cf::capi;


namespace {
TaskContext *context_of(const cf_task_ctx *ctx) {
    return handle_cast<TaskContext>(const_cast<cf_task_ctx *>(ctx));
}
}  // namespace

extern "C" {

CF_API int cf_task_return(cf_task_ctx *ctx, const void *data, size_t len) {
    TaskContext *c = context_of(ctx);
    if (!c) return bad_handle("cf_task_return", "ctx", ctx);
    if (!data && len) return null_argument("cf_task_return", "data (with a non-zero length)");
    return guarded([&]() -> int {
        if (!c->return_bytes(std::string_view(static_cast<const char *>(data), data ? len : 0)))
            return fail(CF_E_TOO_LARGE, "cf_task_return: " + c->allocation_error());
        return CF_OK;
    });
}

CF_API void *cf_task_return_buffer(cf_task_ctx *ctx, size_t len) {
    TaskContext *c = context_of(ctx);
    if (!c) {
        bad_handle("cf_task_return_buffer", "ctx", ctx);
        return nullptr;
    }
    void *buffer = nullptr;
    guarded([&]() -> int {
        buffer = c->return_buffer(len);
        if (!buffer) return fail(CF_E_TOO_LARGE, "cf_task_return_buffer: " + c->allocation_error());
        return CF_OK;
    });
    return buffer;
}

CF_API int cf_task_raise(cf_task_ctx *ctx, const char *type, const char *message) {
    TaskContext *c = context_of(ctx);
    if (!c) return bad_handle("cf_task_raise", "ctx", ctx);
    int rc = guarded([&]() -> int {
        c->raise(type ? type : "cf_task_error", message ? message : "");
        return CF_OK;
    });
    if (rc != CF_OK) return rc;
    return fail(CF_E_TASK_FAILED, std::string(type ? type : "cf_task_error") + (message ? std::string(": ") + message : ""));
}

CF_API int cf_task_raise_detail(cf_task_ctx *ctx, const char *type, const char *message, const char *detail) {
    TaskContext *c = context_of(ctx);
    if (!c) return bad_handle("cf_task_raise_detail", "ctx", ctx);
    const char *name = type ? type : "cf_task_error";
    int rc = guarded([&]() -> int {
        c->raise(name, message ? message : "", detail ? detail : "");
        return CF_OK;
    });
    if (rc != CF_OK) return rc;
    return fail(CF_E_TASK_FAILED, std::string(name) + (message ? std::string(": ") + message : ""));
}

CF_API int cf_task_cancel_requested(const cf_task_ctx *ctx) {
    TaskContext *c = context_of(ctx);
    return c && c->cancel_requested();
}

CF_API int cf_task_register(const char *name, cf_task_fn fn, void *user_data) {
    if (!name) return null_argument("cf_task_register", "name");
    if (!fn) return null_argument("cf_task_register", "fn");
    return guarded([&]() -> int {
        cf::core::register_task(name, c_task_call(fn, user_data));
        return CF_OK;
    });
}

CF_API void cf_task_register_at_load(const char *name, cf_task_fn fn) {
    if (cf_task_register(name, fn, nullptr) != CF_OK)
        guarded([&]() -> int {
            cf::core::record_load_time_conflict(std::string("CF_TASK(") + (name ? name : "NULL") +
                                                  "): " + cf_last_error());
            return CF_OK;
        });
}

CF_API int cf_task_return_object(cf_task_ctx *ctx, void *object, const cf_object_type *type) {
    std::unique_ptr<cf::core::ForeignObject> held;  // destroys the object on every failure below
    if (int rc = adopt_object("cf_task_return_object", object, type, held); rc != CF_OK) return rc;
    TaskContext *c = context_of(ctx);
    if (!c) return bad_handle("cf_task_return_object", "ctx", ctx);
    if (!c->return_object(std::move(held)))
        return fail(CF_E_INVALID_STATE, "cf_task_return_object: a process pool's task runs in another process, "
                                        "whose objects cannot come back; return bytes (cf_task_return)");
    return CF_OK;
}

CF_API int cf_task_raise_object(cf_task_ctx *ctx, void *object, const cf_object_type *obj_type, const char *type,
                                const char *message, const char *detail) {
    std::unique_ptr<cf::core::ForeignObject> held;
    if (int rc = adopt_object("cf_task_raise_object", object, obj_type, held); rc != CF_OK) return rc;
    TaskContext *c = context_of(ctx);
    if (!c) return bad_handle("cf_task_raise_object", "ctx", ctx);
    const char *name = type ? type : "cf_task_error";
    int rc = guarded([&]() -> int {
        if (!c->raise_object(std::move(held), name, message ? message : "", detail ? detail : ""))
            return fail(CF_E_INVALID_STATE, "cf_task_raise_object: a process pool's task runs in another process, "
                                            "whose objects cannot come back; use cf_task_raise");
        return CF_OK;
    });
    if (rc != CF_OK) return rc;
    return fail(CF_E_TASK_FAILED, std::string(name) + (message ? std::string(": ") + message : ""));
}

CF_API cf_task_ctx *cf_task_current(void) { return reinterpret_cast<cf_task_ctx *>(cf::core::current_task()); }

}  // extern "C"
