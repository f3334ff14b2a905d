// SPDX-License-Identifier: MIT
// cf_future_then, cf_future_then_named, cf_future_then_inline, cf_when_all, cf_when_any: handle checks over
// core::then / then_inline / when_*.
#include <memory>
#include <string>
#include <vector>

#include "executor/continuation.hpp"
#include "future/compose.hpp"
#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "capi/options.hpp"

using cf::core::FutureBase;
using cf::core::FutureState;
using namespace cf::capi;

namespace {

FutureState *future_of(cf_future *f) { return handle_cast<FutureState>(f); }

// Checks what every continuation needs: a future and out.
int check_source(const char *function, cf_future *f, cf_future **out, FutureState *&source) {
    if (!out) return null_argument(function, "out");
    *out = nullptr;
    source = future_of(f);
    if (!source) return bad_handle(function, "future", f);
    return CF_OK;
}

// check_source, and an executor to run the step on.
int check_then(const char *function, cf_future *f, cf_executor *ex, cf_future **out, FutureState *&source,
               cf_executor *&e) {
    if (int rc = check_source(function, f, out, source); rc != CF_OK) return rc;
    e = executor_of(ex);
    if (!e) return bad_handle(function, "executor", ex);
    return CF_OK;
}

// The futures of a join, checked.
int inputs_of(const char *function, cf_future *const *fs, size_t n, cf_future **out,
              std::vector<FutureState *> &inputs) {
    if (!out) return null_argument(function, "out");
    *out = nullptr;
    if (n && !fs) return null_argument(function, "fs (with n > 0)");
    inputs.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        FutureState *s = future_of(fs[i]);
        if (!s) return bad_handle(function, ("fs[" + std::to_string(i) + "]").c_str(), fs[i]);
        inputs.push_back(s);
    }
    return CF_OK;
}

}  // namespace

extern "C" {

CF_API int cf_future_then_ex(cf_future *f, cf_executor *ex, cf_task_fn fn, void *user_data,
                              const cf_submit_options *o, cf_future **out) {
    const char *name = o ? "cf_future_then_ex" : "cf_future_then";
    cf_submit_options opts;
    cf_submit_options_init(&opts);
    if (int rc = read_options(o, CF_SUBMIT_OPTIONS_V1_SIZE, opts, name); rc != CF_OK) return rc;
    // Released once on every path from here: by the step once it has run, or when it never will.
    cf::core::UserDataRelease release(opts.release_user_data, user_data);
    FutureState *source = nullptr;
    cf_executor *e = nullptr;
    if (int rc = check_then(name, f, ex, out, source, e); rc != CF_OK) return rc;
    if (!fn) return null_argument(name, "fn");
    return guarded([&]() -> int {
        return hand_out(out, cf::core::then_call(*source, e->core, c_task_call(fn, user_data), submit_options(opts),
                                                 std::move(release)));
    });
}

CF_API int cf_future_then(cf_future *f, cf_executor *ex, cf_task_fn fn, void *user_data, cf_future **out) {
    return cf_future_then_ex(f, ex, fn, user_data, nullptr, out);
}

CF_API int cf_future_then_named(cf_future *f, cf_executor *ex, const char *task, cf_future **out) {
    FutureState *source = nullptr;
    cf_executor *e = nullptr;
    if (int rc = check_then("cf_future_then_named", f, ex, out, source, e); rc != CF_OK) return rc;
    if (!task) return null_argument("cf_future_then_named", "task");
    return guarded([&]() -> int {
        return hand_out(out, cf::core::then_named(*source, e->core, task));
    });
}

CF_API int cf_future_then_inline(cf_future *f, cf_task_fn fn, void *user_data, void (*release)(void *),
                                  cf_future **out) {
    // Released once on every path from here: after the step has run, or when it never will.
    cf::core::UserDataRelease held(release, user_data);
    FutureState *source = nullptr;
    if (int rc = check_source("cf_future_then_inline", f, out, source); rc != CF_OK) return rc;
    if (!fn) return null_argument("cf_future_then_inline", "fn");
    return guarded([&]() -> int {
        return hand_out(out, cf::core::then_inline_call(*source, c_task_call(fn, user_data), std::move(held)));
    });
}

CF_API int cf_when_all(cf_future *const *fs, size_t n, cf_future **out) {
    std::vector<FutureState *> inputs;
    if (int rc = inputs_of("cf_when_all", fs, n, out, inputs); rc != CF_OK) return rc;
    return guarded([&]() -> int { return hand_out(out, cf::core::when_all(inputs)); });
}

CF_API int cf_when_any(cf_future *const *fs, size_t n, cf_future **out) {
    std::vector<FutureState *> inputs;
    if (int rc = inputs_of("cf_when_any", fs, n, out, inputs); rc != CF_OK) return rc;
    if (n == 0) return fail(CF_E_INVALID_ARGUMENT, "cf_when_any: no futures (n is 0): nothing could ever be first");
    return guarded([&]() -> int { return hand_out(out, cf::core::when_any(inputs)); });
}

}  // extern "C"
