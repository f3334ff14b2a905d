/* SPDX-License-Identifier: MIT */
/* Checks shared by the tests of executors that run registered tasks by name (a provider's, the MPI pool): an
 * 8-byte result, the statistics, wait and as_completed over finished work, and a map of 8-byte numbers. */
#ifndef CFUTURES_TESTS_NAMED_TASK_CHECKS_H
#define CFUTURES_TESTS_NAMED_TASK_CHECKS_H

#include <stdint.h>
#include <string.h>

#include "check.h"

#define NAMED_LONG_WAIT 30.0

/* The future's result as a number of 8 bytes (0 after a failed check). */
CHECK_MAYBE_UNUSED static uint64_t check_u64_of(cf_future *f) {
    cf_slice r;
    uint64_t n = 0;
    if (CHECK_INT(cf_future_result(f, NAMED_LONG_WAIT, &r), CF_OK) && CHECK_INT(r.len, sizeof n))
        memcpy(&n, r.data, sizeof n);
    return n;
}

CHECK_MAYBE_UNUSED static cf_executor_stats check_stats_of(cf_executor *ex) {
    cf_executor_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    CHECK_INT(cf_executor_stats_get(ex, &s), CF_OK);
    return s;
}

/* cf_wait for all of fs, then cf_as_completed yields each once. */
CHECK_MAYBE_UNUSED static void check_wait_and_as_completed(cf_future **fs, size_t n) {
    size_t n_done = 0;
    CHECK_INT(cf_wait(fs, n, NAMED_LONG_WAIT, CF_ALL_COMPLETED, NULL, &n_done), CF_OK);
    CHECK_INT(n_done, n);
    cf_as_completed_iter *it = NULL;
    CHECK_INT(cf_as_completed(fs, n, NAMED_LONG_WAIT, &it), CF_OK);
    cf_future *f = NULL;
    size_t seen = 0;
    while (cf_as_completed_next(it, &f) == CF_OK) ++seen;
    CHECK_INT(seen, n);
    cf_as_completed_free(it);
}

/* A map of task over the numbers 0..n-1 (8 bytes each; item `bad`, if < n, only 3 bytes long) into *it. The
 * arrays hold the arguments until cf_map_free. */
CHECK_MAYBE_UNUSED static int check_start_map(cf_executor *ex, const char *task, size_t n, size_t bad,
                                              size_t chunksize, uint64_t *values, cf_slice *args, cf_map_iter **it) {
    for (size_t i = 0; i < n; ++i) {
        values[i] = (uint64_t)i;
        args[i].data = &values[i];
        args[i].len = i == bad ? 3 : sizeof values[i];
    }
    cf_map_options o;
    cf_map_options_init(&o);
    o.chunksize = chunksize;
    return CHECK_INT(cf_map_named(ex, task, args, n, &o, it), CF_OK);
}

/* cf_map_named of task over the numbers 0..n-1 (n <= 256) gives want[i] for each, in order, then CF_DONE. */
CHECK_MAYBE_UNUSED static void check_map_u64(cf_executor *ex, const char *task, size_t n, size_t chunksize,
                                             const uint64_t *want) {
    uint64_t values[256];
    cf_slice args[256], r;
    cf_map_iter *it = NULL;
    if (!CHECK(n <= 256) || !check_start_map(ex, task, n, n, chunksize, values, args, &it)) return;
    for (size_t i = 0; i < n; ++i) {
        uint64_t got = 0;
        if (CHECK_INT(cf_map_next(it, &r), CF_OK) && CHECK_INT(r.len, sizeof got)) memcpy(&got, r.data, sizeof got);
        CHECK_INT(got, want[i]);
    }
    CHECK_INT(cf_map_next(it, &r), CF_DONE);
    cf_map_free(it);
}

/* As check_map_u64 with item `bad` 3 bytes long (the task raises "ValueError" for it): the map gives `items`
 * results, then the failure, raised remotely. */
CHECK_MAYBE_UNUSED static void check_map_failure(cf_executor *ex, const char *task, size_t n, size_t bad,
                                                 size_t chunksize, size_t items) {
    uint64_t values[256];
    cf_slice args[256], r;
    cf_map_iter *it = NULL;
    if (!CHECK(n <= 256 && bad < n) || !check_start_map(ex, task, n, bad, chunksize, values, args, &it)) return;
    int rc;
    size_t got = 0;
    while ((rc = cf_map_next(it, &r)) == CF_OK) ++got;
    CHECK_INT(rc, CF_E_TASK_FAILED);
    CHECK_INT(got, items);
    cf_error e;
    CHECK_INT(cf_map_error(it, &e), CF_OK);
    CHECK_STR(e.type, "ValueError");
    CHECK_INT(cf_map_failed_remotely(it), 1);
    cf_map_free(it);
}

/* f failed in its task with this type and message (CF_E_TASK_FAILED, raised remotely); *e describes it. */
CHECK_MAYBE_UNUSED static void check_remote_failure(cf_future *f, const char *type, const char *message, cf_error *e) {
    cf_slice r;
    CHECK_INT(cf_future_result(f, NAMED_LONG_WAIT, &r), CF_E_TASK_FAILED);
    CHECK_INT(cf_future_exception(f, NAMED_LONG_WAIT, e), CF_OK);
    CHECK_INT(e->status, CF_E_TASK_FAILED);
    CHECK_STR(e->type, type);
    CHECK_STR(e->message, message);
    CHECK_INT(cf_future_failed_remotely(f), 1);
}

#endif /* CFUTURES_TESTS_NAMED_TASK_CHECKS_H */
