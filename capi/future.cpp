// SPDX-License-Identifier: MIT
// The cf_future_* entry points: handle checks and status codes over core::FutureState.
#include <cfutures/sys.h>

#include <cstring>
#include <string>

#include "future/future_state.hpp"
#include "capi/capi_support.hpp"
#include "capi/objects.hpp"

using cf::core::FutureState;
using namespace cf::capi;

namespace {

FutureState *future_of(const cf_future *f) {
    return handle_cast<FutureState>(const_cast<cf_future *>(f));
}
cf_future *handle_of(FutureState *f) { return reinterpret_cast<cf_future *>(f); }

int invalid_state(const char *what) { return fail(CF_E_INVALID_STATE, what); }

std::string failure_text(const cf::core::Failure &f) {
    std::string text = f.message.empty() ? f.type : f.type + ": " + f.message;
    return f.detail.empty() ? text : text + " (" + f.detail + ")";
}

// Waits for f within timeout; CF_OK once it is finished, else CF_E_TIMEOUT or CF_E_CANCELLED.
int await_finished(FutureState &f, double timeout) {
    if (!f.wait_until(cf::core::Deadline::after(timeout)))
        return fail(CF_E_TIMEOUT, "future not done within the timeout");
    if (f.state() == cf::core::State::Cancelled) return fail(CF_E_CANCELLED, "the future was cancelled");
    return CF_OK;
}

using cf::core::ForeignObject;

// cf_future_set_failure and cf_future_set_remote_failure (remote: raised in another process).
int set_failure_as(const char *function, cf_future *f, int status, const char *type, const char *message,
                   const char *detail, bool remote) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle(function, "future", f);
    if (!type) return null_argument(function, "type");
    if (status >= 0 || std::strcmp(cf_status_name(status), "CF_UNKNOWN_STATUS") == 0)
        return fail(CF_E_INVALID_ARGUMENT, std::string(function) + ": " + std::to_string(status) +
                                               " is no failing status (a negative CF_E_* code)");
    return guarded([&]() -> int {
        cf::core::Failure failure = cf::core::make_failure(static_cast<cf::core::Status>(status), type,
                                                           message ? message : "", detail ? detail : "");
        failure.remote = remote;
        if (!s->set_failure(std::move(failure)))
            return invalid_state((std::string(function) + ": the future is already done or cancelled").c_str());
        return CF_OK;
    });
}


}  // namespace

extern "C" {

CF_API int cf_future_new(cf_future **out) {
    if (!out) return null_argument("cf_future_new", "out");
    return guarded([&]() -> int {
        *out = handle_of(FutureState::create());
        return CF_OK;
    });
}

CF_API void cf_future_retain(cf_future *f) {
    if (FutureState *s = future_of(f)) s->retain();
}

CF_API void cf_future_release(cf_future *f) {
    if (FutureState *s = future_of(f)) s->release();
}

CF_API cf_future_state cf_future_get_state(const cf_future *f) {
    FutureState *s = future_of(f);
    return s ? static_cast<cf_future_state>(s->state()) : CF_FUTURE_INVALID;
}

CF_API int cf_future_done(const cf_future *f) {
    FutureState *s = future_of(f);
    return s && s->done();
}

CF_API int cf_future_running(const cf_future *f) { return cf_future_get_state(f) == CF_RUNNING; }
CF_API int cf_future_cancelled(const cf_future *f) { return cf_future_get_state(f) == CF_CANCELLED; }

CF_API int cf_future_cancel(cf_future *f) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_cancel", "future", f);
    return guarded([&]() -> int { return s->cancel() ? 1 : 0; });
}

CF_API int cf_future_result(cf_future *f, double timeout, cf_slice *out) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_result", "future", f);
    if (!out) return null_argument("cf_future_result", "out");
    if (!timeout_ok(timeout)) return fail(CF_E_INVALID_ARGUMENT, "cf_future_result: timeout is NaN");
    return guarded([&]() -> int {
        int rc = await_finished(*s, timeout);
        if (rc != CF_OK) return rc;
        if (const cf::core::Failure *failure = s->failure())
            return fail(static_cast<int>(failure->status), failure_text(*failure));
        std::string_view bytes = s->value() ? s->value()->bytes() : std::string_view();
        out->data = bytes.data();
        out->len = bytes.size();
        return CF_OK;
    });
}

CF_API int cf_future_exception(cf_future *f, double timeout, cf_error *out) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_exception", "future", f);
    if (!out) return null_argument("cf_future_exception", "out");
    if (!timeout_ok(timeout)) return fail(CF_E_INVALID_ARGUMENT, "cf_future_exception: timeout is NaN");
    return guarded([&]() -> int {
        int rc = await_finished(*s, timeout);
        if (rc != CF_OK) return rc;
        *out = cf_error{CF_OK, nullptr, nullptr, nullptr};
        if (const cf::core::Failure *failure = s->failure())
            *out = cf_error{static_cast<int>(failure->status), failure->type.c_str(), failure->message.c_str(),
                            failure->detail.c_str()};
        return CF_OK;
    });
}

CF_API int cf_future_add_done_callback(cf_future *f, cf_done_fn fn, void *user_data) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_add_done_callback", "future", f);
    if (!fn) return null_argument("cf_future_add_done_callback", "fn");
    return guarded([&]() -> int {
        s->add_done_callback([fn, user_data](FutureState &done) { fn(handle_of(&done), user_data); });
        return CF_OK;
    });
}

CF_API int cf_future_set_running_or_notify_cancel(cf_future *f) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_set_running_or_notify_cancel", "future", f);
    return guarded([&]() -> int { return s->set_running_or_notify_cancel() ? 1 : 0; });
}

CF_API int cf_future_set_result(cf_future *f, const void *data, size_t len) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_set_result", "future", f);
    if (!data && len) return null_argument("cf_future_set_result", "data (with a non-zero length)");
    return guarded([&]() -> int {
        std::string bytes(static_cast<const char *>(data), data ? len : 0);
        if (!s->set_bytes(std::move(bytes)))
            return invalid_state("cf_future_set_result: the future is already done or cancelled");
        return CF_OK;
    });
}

CF_API int cf_future_set_exception(cf_future *f, const char *type, const char *message) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_set_exception", "future", f);
    if (!type) return null_argument("cf_future_set_exception", "type");
    return guarded([&]() -> int {
        cf::core::Failure failure;
        failure.type = type;
        failure.message = message ? message : "";
        if (!s->set_failure(std::move(failure)))
            return invalid_state("cf_future_set_exception: the future is already done or cancelled");
        return CF_OK;
    });
}

CF_API int cf_future_set_result_object(cf_future *f, void *object, const cf_object_type *type) {
    std::unique_ptr<ForeignObject> held;
    if (int rc = adopt_object("cf_future_set_result_object", object, type, held); rc != CF_OK) return rc;
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_set_result_object", "future", f);
    return guarded([&]() -> int {
        if (!s->set_value(std::move(held)))
            return invalid_state("cf_future_set_result_object: the future is already done or cancelled");
        return CF_OK;
    });
}

CF_API int cf_future_set_exception_object(cf_future *f, void *object, const cf_object_type *obj_type,
                                          const char *type, const char *message, const char *detail) {
    std::unique_ptr<ForeignObject> held;
    if (int rc = adopt_object("cf_future_set_exception_object", object, obj_type, held); rc != CF_OK) return rc;
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_set_exception_object", "future", f);
    if (!type) return null_argument("cf_future_set_exception_object", "type");
    return guarded([&]() -> int {
        cf::core::Failure failure;
        failure.type = type;
        failure.message = message ? message : "";
        failure.detail = detail ? detail : "";
        failure.object = std::move(held);
        if (!s->set_failure(std::move(failure)))
            return invalid_state("cf_future_set_exception_object: the future is already done or cancelled");
        return CF_OK;
    });
}

CF_API int cf_future_result_object(cf_future *f, double timeout, const char *type_name, void **out) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_result_object", "future", f);
    if (!type_name) return null_argument("cf_future_result_object", "type_name");
    if (!out) return null_argument("cf_future_result_object", "out");
    if (!timeout_ok(timeout)) return fail(CF_E_INVALID_ARGUMENT, "cf_future_result_object: timeout is NaN");
    *out = nullptr;
    return guarded([&]() -> int {
        int rc = await_finished(*s, timeout);
        if (rc != CF_OK) return rc;
        if (const cf::core::Failure *failure = s->failure())
            return fail(static_cast<int>(failure->status), failure_text(*failure));
        if (auto *held = dynamic_cast<const ForeignObject *>(s->value())) *out = held->object_named(type_name);
        return CF_OK;
    });
}

CF_API int cf_future_exception_object(cf_future *f, double timeout, const char *type_name, void **out) {
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_exception_object", "future", f);
    if (!type_name) return null_argument("cf_future_exception_object", "type_name");
    if (!out) return null_argument("cf_future_exception_object", "out");
    if (!timeout_ok(timeout)) return fail(CF_E_INVALID_ARGUMENT, "cf_future_exception_object: timeout is NaN");
    *out = nullptr;
    return guarded([&]() -> int {
        int rc = await_finished(*s, timeout);
        if (rc != CF_OK) return rc;
        const cf::core::Failure *failure = s->failure();
        if (failure && failure->object) *out = failure->object->object_named(type_name);
        return CF_OK;
    });
}

CF_API int cf_future_add_done_callback_ex(cf_future *f, cf_done_fn fn, void *user_data, void (*release)(void *)) {
    // Released on every path: after the callback ran, with the future if it never finishes, or now on failure.
    auto released = std::make_shared<cf::core::UserDataRelease>(release, user_data);
    FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_future_add_done_callback_ex", "future", f);
    if (!fn) return null_argument("cf_future_add_done_callback_ex", "fn");
    return guarded([&]() -> int {
        s->add_done_callback([fn, user_data, released](FutureState &done) {
            fn(handle_of(&done), user_data);
            released->reset();
        });
        return CF_OK;
    });
}

CF_API int cf_future_set_failure(cf_future *f, int status, const char *type, const char *message,
                                 const char *detail) {
    return set_failure_as("cf_future_set_failure", f, status, type, message, detail, false);
}

CF_API int cf_future_set_remote_failure(cf_future *f, int status, const char *type, const char *message,
                                        const char *detail) {
    return set_failure_as("cf_future_set_remote_failure", f, status, type, message, detail, true);
}

CF_API int cf_future_failed_remotely(const cf_future *f) {
    FutureState *s = future_of(f);
    const cf::core::Failure *failure = s && s->failed() ? s->failure() : nullptr;
    return failure && failure->remote;
}

}  // extern "C"
