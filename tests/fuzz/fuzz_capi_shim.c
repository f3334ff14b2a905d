/* SPDX-License-Identifier: MIT */
/* C shims for fuzz_capi_sequence: a C caller may put any int into an enum parameter or field. In C that is
 * ordinary; in C++ (the harness) loading such a value as the enum type would be the harness's own undefined
 * behaviour, so the values are passed through here as int. */
#include "cfutures/cfutures.h"

int fuzz_shim_wait(cf_future *const *fs, size_t n, double timeout, int when, unsigned char *done, size_t *n_done) {
    return cf_wait(fs, n, timeout, (cf_return_when)when, done, n_done);
}

void fuzz_shim_set_start_method(cf_process_pool_options *o, int method) { o->start_method = (cf_start_method)method; }
