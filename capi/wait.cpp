// SPDX-License-Identifier: MIT
// cf_wait and the cf_as_completed iterator over the core's wait engine.
#include "future/as_completed.hpp"
#include "future/future_state.hpp"
#include "future/wait.hpp"
#include "capi/capi_support.hpp"

using cf::core::AsCompletedIterator;
using cf::core::FutureState;
using namespace cf::capi;

namespace {

// Checks every handle of an input array; CF_OK or the failing status with a text naming the index.
int check_futures(const char *function, cf_future *const *fs, size_t n) {
    if (n && !fs) return null_argument(function, "fs (with n > 0)");
    for (size_t i = 0; i < n; ++i)
        if (!handle_cast<FutureState>(fs[i]))
            return fail(CF_E_INVALID_ARGUMENT, std::string(function) + ": fs[" + std::to_string(i) + "] " +
                                                   (fs[i] ? "is not a valid future" : "is NULL"));
    return CF_OK;
}

FutureState *const *states(cf_future *const *fs) { return reinterpret_cast<FutureState *const *>(fs); }

}  // namespace

extern "C" {

CF_API int cf_wait(cf_future *const *fs, size_t n, double timeout, cf_return_when when, unsigned char *done,
                   size_t *n_done) {
    int rc = check_futures("cf_wait", fs, n);
    if (rc != CF_OK) return rc;
    if (!timeout_ok(timeout)) return fail(CF_E_INVALID_ARGUMENT, "cf_wait: timeout is NaN");
    int how = raw_enum(when);
    if (how != CF_ALL_COMPLETED && how != CF_FIRST_COMPLETED && how != CF_FIRST_EXCEPTION)
        return fail(CF_E_INVALID_ARGUMENT, "cf_wait: return_when " + std::to_string(how) +
                                               " is not CF_ALL_COMPLETED, CF_FIRST_COMPLETED or CF_FIRST_EXCEPTION");
    return guarded([&]() -> int {
        auto outcome = cf::core::wait_states(states(fs), n, cf::core::Deadline::after(timeout),
                                               static_cast<cf::core::ReturnWhen>(how), done, n_done != nullptr);
        if (n_done) *n_done = outcome.n_done;
        if (outcome.holds) return CF_OK;
        return fail(CF_E_TIMEOUT, cf::core::unfinished_message(outcome.n_distinct - outcome.n_done,
                                                                 outcome.n_distinct));
    });
}

CF_API int cf_as_completed(cf_future *const *fs, size_t n, double timeout, cf_as_completed_iter **out) {
    if (!out) return null_argument("cf_as_completed", "out");
    int rc = check_futures("cf_as_completed", fs, n);
    if (rc != CF_OK) return rc;
    if (!timeout_ok(timeout)) return fail(CF_E_INVALID_ARGUMENT, "cf_as_completed: timeout is NaN");
    return guarded([&]() -> int {
        auto *it = new AsCompletedIterator(states(fs), n, cf::core::Deadline::after(timeout));
        *out = reinterpret_cast<cf_as_completed_iter *>(it);
        return CF_OK;
    });
}

CF_API int cf_as_completed_next(cf_as_completed_iter *it, cf_future **out) {
    auto *iter = handle_cast<AsCompletedIterator>(it);
    if (!iter) return bad_handle("cf_as_completed_next", "iterator", it);
    if (!out) return null_argument("cf_as_completed_next", "out");
    return guarded([&]() -> int {
        FutureState *f = iter->next();
        *out = reinterpret_cast<cf_future *>(f);
        return f ? CF_OK : CF_DONE;
    });
}

CF_API void cf_as_completed_free(cf_as_completed_iter *it) {
    delete handle_cast<AsCompletedIterator>(it);
}

}  // extern "C"
