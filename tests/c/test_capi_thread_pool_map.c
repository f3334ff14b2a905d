/* SPDX-License-Identifier: MIT */
/*
 * cf_map and cf_map_source against a thread pool, from plain C99: their options, order and chunks, how far a
 * source is read ahead (buffersize), failures of a task or of the source, and what is cancelled once a map ends
 * early.
 *
 * No framework: CHECK counts and reports, main prints "N passed, M failed" and fails if M > 0; each test function
 * is a ctest case of its own (check.h).
 * Tasks that must stay running are held on pthread gates (thread_pool_checks.h); no check depends on how long
 * something takes.
 */
#define _GNU_SOURCE

#include <cfutures/cfutures.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "thread_pool_checks.h"

/* ------------------------------------------------------------------------------------------------------------ */
/* Options                                                                                                        */

/* What a caller built against a newer header would pass: the options followed by fields this library lacks. */
typedef struct newer_map_options {
    cf_map_options known;
    double unknown[5];
} newer_map_options;

static void test_map_options(void) {
    cf_executor *ex = new_pool(2);
    cf_map_options o;
    cf_map_iter *it = NULL;
    uint32_t vals[10];
    cf_slice args[10];
    cf_slice r;
    size_t i;
    int in_order = 1;
    for (i = 0; i < 10; ++i) {
        vals[i] = (uint32_t)i;
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    cf_map_options_init(&o);
    o.struct_size = 4;
    CHECK_FAILS(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_E_INVALID_ARGUMENT, NULL);
    cf_map_options_init(&o);
    o.chunksize = 0;
    CHECK_FAILS(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_E_INVALID_ARGUMENT, NULL);
    cf_map_options_init(&o);
    o.timeout = NAN;
    CHECK_FAILS(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_E_INVALID_ARGUMENT, NULL);

    /* A newer caller's bigger struct. */
    {
        newer_map_options big;
        memset(&big, 0xFF, sizeof big);
        cf_map_options_init(&big.known);
        big.known.struct_size = sizeof big;
        big.known.chunksize = 3;
        it = NULL;
        CHECK_INT(cf_map(ex, task_square, NULL, args, 10, &big.known, &it), CF_OK);
        CHECK(it != NULL);
        if (it) {
            for (i = 0; i < 10; ++i)
                if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) in_order = 0;
            CHECK(in_order);
            CHECK_INT(cf_map_next(it, &r), CF_DONE);
            cf_map_free(it);
        }
    }

    /* NULL options: defaults. */
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, 10, NULL, &it), CF_OK);
    CHECK(it != NULL);
    if (it) {
        in_order = 1;
        for (i = 0; i < 10; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) in_order = 0;
        CHECK(in_order);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    cf_executor_free(ex);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* map                                                                                                            */

static void test_map_ordered_and_chunked(cf_executor *ex) {
    enum { N = 30 };
    uint32_t vals[N];
    cf_slice args[N];
    cf_map_options o;
    cf_map_iter *it = NULL;
    cf_slice r;
    size_t i;
    int ok;

    for (i = 0; i < N; ++i) {
        vals[i] = (uint32_t)i;
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    /* In input order. */
    CHECK_INT(cf_map(ex, task_square, NULL, args, N, NULL, &it), CF_OK);
    CHECK(it != NULL);
    if (it) {
        ok = 1;
        for (i = 0; i < N; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* chunksize 3 over 10 items: the last chunk is short. */
    cf_map_options_init(&o);
    o.chunksize = 3;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_OK);
    if (it) {
        ok = 1;
        for (i = 0; i < 10; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* unordered: every result exactly once. */
    cf_map_options_init(&o);
    o.unordered = 1;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, N, &o, &it), CF_OK);
    if (it) {
        int times[N];
        int got = 0, strange = 0, twice = 0, rc;
        memset(times, 0, sizeof times);
        while ((rc = cf_map_next(it, &r)) == CF_OK) {
            uint64_t v = slice_u64(r);
            size_t root = 0;
            while (root < N && (uint64_t)root * root != v) ++root;
            if (root == N) {
                ++strange;
                continue;
            }
            if (times[root]++) ++twice;
            ++got;
            if (got > N) break;
        }
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(got, N);
        CHECK_INT(strange, 0);
        CHECK_INT(twice, 0);
        cf_map_free(it);
    }

    /* unordered with chunks. */
    cf_map_options_init(&o);
    o.unordered = 1;
    o.chunksize = 4;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, N, &o, &it), CF_OK);
    if (it) {
        uint64_t sum = 0, want = 0;
        int got = 0, rc;
        while ((rc = cf_map_next(it, &r)) == CF_OK && got <= N) {
            sum += slice_u64(r);
            ++got;
        }
        for (i = 0; i < N; ++i) want += i * i;
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(got, N);
        CHECK(sum == want);
        cf_map_free(it);
    }

    /* n_args 0 with NULL args: an empty map. */
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, NULL, 0, NULL, &it), CF_OK);
    CHECK(it != NULL);
    if (it) {
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* An empty source. */
    {
        number_source s;
        number_source_init(&s, 0);
        s.fail_at = 0;
        s.fail_status = CF_DONE;
        it = NULL;
        CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, NULL, &it), CF_OK);
        if (it) {
            CHECK_INT(cf_map_next(it, &r), CF_DONE);
            cf_map_free(it);
        }
    }

    /* chunksize 0 through cf_map_source too. */
    {
        number_source s;
        number_source_init(&s, 5);
        cf_map_options_init(&o);
        o.chunksize = 0;
        it = NULL;
        CHECK_FAILS(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_E_INVALID_ARGUMENT,
                    NULL);
    }
}

static void test_map_buffersize(cf_executor *ex) {
    cf_map_options o;
    cf_map_iter *it = NULL;
    cf_slice r;
    number_source s;
    int ok, rc;
    uint64_t i;

    /* buffersize 2 over 200 items: the source never runs far ahead of the consumer. */
    number_source_init(&s, 200);
    cf_map_options_init(&o);
    o.buffersize = 2;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    CHECK(s.handed <= 3); /* not drained by cf_map_source */
    if (it) {
        ok = 1;
        for (i = 0; i < 200; ++i) {
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
            ++s.consumed;
        }
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    CHECK_INT(s.handed, 200);
    CHECK(s.most_ahead >= 1);
    CHECK(s.most_ahead <= 3); /* buffersize, plus at most the one being submitted as one is handed back */
    CHECK_INT(s.foreign_calls, 0);

    /* buffersize 2 with chunks of 5: at most about (buffersize + 1) chunks ahead. */
    number_source_init(&s, 100);
    cf_map_options_init(&o);
    o.buffersize = 2;
    o.chunksize = 5;
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    if (it) {
        ok = 1;
        for (i = 0; i < 100; ++i) {
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
            ++s.consumed;
        }
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    CHECK(s.most_ahead <= 3 * 5);
    CHECK_INT(s.foreign_calls, 0);

    /* unordered with buffersize: every item once, still bounded. */
    number_source_init(&s, 60);
    cf_map_options_init(&o);
    o.buffersize = 3;
    o.unordered = 1;
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    if (it) {
        unsigned char seen[60];
        int got = 0, dup = 0, strange = 0;
        memset(seen, 0, sizeof seen);
        while ((rc = cf_map_next(it, &r)) == CF_OK && got <= 60) {
            uint64_t v = slice_u64(r);
            size_t root = 0;
            while (root < 60 && (uint64_t)root * root != v) ++root;
            if (root == 60) ++strange;
            else if (seen[root]++) ++dup;
            ++got;
            ++s.consumed;
        }
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(got, 60);
        CHECK_INT(dup, 0);
        CHECK_INT(strange, 0);
        cf_map_free(it);
    }
    CHECK(s.most_ahead <= 4);

    /* buffersize 0 drains the source in cf_map_source. */
    number_source_init(&s, 50);
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, NULL, &it), CF_OK);
    CHECK_INT(s.handed, 50);
    if (it) {
        ok = 1;
        for (i = 0; i < 50; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* An endless source (as far as the map can tell: it would only end after 100000 items, a guard that keeps a
     * library ignoring buffersize from running out of memory instead of failing the check): take 1000 results,
     * then stop. */
    number_source_init(&s, 100000);
    cf_map_options_init(&o);
    o.buffersize = 4;
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    if (it) {
        ok = 1;
        for (i = 0; i < 1000; ++i) {
            rc = cf_map_next(it, &r);
            if (rc != CF_OK || slice_u64(r) != i * i) {
                ok = 0;
                break;
            }
            ++s.consumed;
        }
        CHECK(ok);
        cf_map_free(it);
    }
    CHECK(s.handed >= 1000);
    CHECK(s.handed <= 1000 + 5);
    CHECK_INT(s.foreign_calls, 0);
}

static void test_map_failures(cf_executor *ex) {
    uint32_t vals[4] = {0, 1, 2, 3};
    cf_slice args[4];
    cf_map_options o;
    cf_map_iter *it = NULL;
    cf_slice r;
    cf_error e;
    size_t i;
    int rc;

    for (i = 0; i < 4; ++i) {
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    /* The third of four fails: two results, the failure once, then the end. */
    CHECK_INT(cf_map(ex, task_square_but_2, NULL, args, 4, NULL, &it), CF_OK);
    if (it) {
        char before[512];
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(slice_u64(r), 0);
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(slice_u64(r), 1);
        check_prime_error(before, sizeof before);
        CHECK_INT(cf_map_next(it, &r), CF_E_TASK_FAILED);
        check_fresh_error(before, NULL, __FILE__, __LINE__, "cf_map_next on the failing item");
        memset(&e, 0, sizeof e);
        CHECK_INT(cf_map_error(it, &e), CF_OK);
        CHECK_INT(e.status, CF_E_TASK_FAILED);
        CHECK_STR(e.type, "ValueError");
        CHECK_STR(e.message, "item 2 is bad");
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* The same with chunks of 3: item 2 is the last of the first chunk. */
    cf_map_options_init(&o);
    o.chunksize = 3;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square_but_2, NULL, args, 4, &o, &it), CF_OK);
    if (it) {
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(slice_u64(r), 1);
        CHECK_INT(cf_map_next(it, &r), CF_E_TASK_FAILED);
        memset(&e, 0, sizeof e);
        CHECK_INT(cf_map_error(it, &e), CF_OK);
        CHECK_INT(e.status, CF_E_TASK_FAILED);
        CHECK_STR(e.message, "item 2 is bad");
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* A timeout, measured from cf_map: the task is held on a gate. The gate is static: once released, the task
     * may still be on its way out of it when this test moves on (the pool's shutdown waits for it). */
    {
        static gated g;
        cf_slice one;
        gated_init(&g);
        one.data = "held";
        one.len = 4;
        cf_map_options_init(&o);
        o.timeout = 0.05;
        it = NULL;
        CHECK_INT(cf_map(ex, task_gated_echo, &g, &one, 1, &o, &it), CF_OK);
        if (it) {
            char before[512];
            check_prime_error(before, sizeof before);
            CHECK_INT(cf_map_next(it, &r), CF_E_TIMEOUT);
            check_fresh_error(before, NULL, __FILE__, __LINE__, "cf_map_next after its timeout");
            memset(&e, 0, sizeof e);
            CHECK_INT(cf_map_error(it, &e), CF_OK);
            CHECK_INT(e.status, CF_E_TIMEOUT);
            CHECK_INT(cf_map_next(it, &r), CF_DONE);
        }
        counter_add(&g.release, 1);
        cf_map_free(it);
    }

    /* A source that returns an error status ends the map with an error, after (at most) the items before it. */
    {
        size_t buffersizes[3] = {0, 1, 3};
        size_t b;
        for (b = 0; b < 3; ++b) {
            number_source s;
            char before[512];
            int results = 0, right = 1;
            number_source_init(&s, 10);
            s.fail_at = 3;
            s.fail_status = CF_E_SYSTEM;
            cf_map_options_init(&o);
            o.buffersize = buffersizes[b];
            it = NULL;
            check_prime_error(before, sizeof before);
            rc = cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it);
            if (rc == CF_OK && it != NULL) {
                while ((rc = cf_map_next(it, &r)) == CF_OK && results <= 3) {
                    if (slice_u64(r) != (uint64_t)results * results) right = 0;
                    ++results;
                    ++s.consumed;
                }
                CHECK(rc < 0);
                check_fresh_error(before, NULL, __FILE__, __LINE__, "a map whose source failed");
                CHECK(results <= 3);
                CHECK(right);
                memset(&e, 0, sizeof e);
                CHECK_INT(cf_map_error(it, &e), CF_OK);
                CHECK(e.status < 0);
                CHECK_INT(cf_map_next(it, &r), CF_DONE);
                cf_map_free(it);
            } else {
                /* Or cf_map_source itself reports it (it drains the source when buffersize is 0). */
                CHECK(rc < 0);
                check_fresh_error(before, NULL, __FILE__, __LINE__, "cf_map_source with a failing source");
            }
        }
    }
}

/* arg 0 fails, arg 1 waits on the gate in user_data, every other arg counts itself in the gate's `started`. */
typedef struct map_stop {
    gated gate;
    counter others;
} map_stop;

static int task_fail_hold_count(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    map_stop *m = (map_stop *)user_data;
    uint32_t x = 0;
    if (len == sizeof x) memcpy(&x, arg, sizeof x);
    if (x == 0) return cf_task_raise(ctx, "ValueError", "first item fails");
    if (x == 1) return task_gated_echo(ctx, arg, len, &m->gate);
    counter_add(&m->others, 1);
    return cf_task_return(ctx, arg, len);
}

/* What has not started is cancelled: after a failure, and by cf_map_free. One worker keeps it deterministic. */
static void test_map_cancels_the_rest(void) {
    enum { N = 6 };
    uint32_t vals[N];
    cf_slice args[N];
    cf_executor *ex = new_pool(1);
    cf_map_iter *it = NULL;
    cf_slice r;
    map_stop m;
    size_t i;

    for (i = 0; i < N; ++i) {
        vals[i] = (uint32_t)i;
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    /* Item 0 fails while item 1 is held (or not yet started): items 2.. never run. */
    gated_init(&m.gate);
    counter_init(&m.others);
    CHECK_INT(cf_map(ex, task_fail_hold_count, &m, args, N, NULL, &it), CF_OK);
    if (it) {
        CHECK_INT(cf_map_next(it, &r), CF_E_TASK_FAILED);
        counter_add(&m.gate.release, 1);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    counter_add(&m.gate.release, 1);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK); /* every task that was going to run has run */
    CHECK_INT(counter_get(&m.others), 0);
    cf_executor_free(ex);
    counter_destroy(&m.others);
    gated_destroy(&m.gate);

    /* cf_map_free while the one worker is held: the queued items never run. */
    ex = new_pool(1);
    gated_init(&m.gate);
    counter_init(&m.others);
    {
        cf_future *hold = submit(ex, task_gated_echo, &m.gate, "H", 1);
        CHECK(counter_wait(&m.gate.started, 1));
        it = NULL;
        CHECK_INT(cf_map(ex, task_fail_hold_count, &m, args + 2, N - 2, NULL, &it), CF_OK);
        cf_map_free(it);
        counter_add(&m.gate.release, 1);
        CHECK_INT(cf_future_result(hold, CF_FOREVER, &r), CF_OK);
        CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
        CHECK_INT(counter_get(&m.others), 0);
        cf_future_release(hold);
    }
    cf_executor_free(ex);
    counter_destroy(&m.others);
    gated_destroy(&m.gate);

    /* An argument slice with NULL data and a length is refused. */
    ex = new_pool(1);
    {
        cf_slice bad[2];
        bad[0] = args[0];
        bad[1].data = NULL;
        bad[1].len = 4;
        it = NULL;
        CHECK_FAILS(cf_map(ex, task_square, NULL, bad, 2, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
    }
    cf_executor_free(ex);
}


/* ------------------------------------------------------------------------------------------------------------ */

/* Table entries for the tests above that take a pool: each runs on a new pool of four workers. */
#define ON_A_NEW_POOL(test)                    \
    static void test##_on_a_new_pool(void) {   \
        cf_executor *ex = new_pool(4);         \
        test(ex);                              \
        cf_executor_free(ex);                  \
    }
ON_A_NEW_POOL(test_map_ordered_and_chunked)
ON_A_NEW_POOL(test_map_buffersize)
ON_A_NEW_POOL(test_map_failures)

static const check_test tests[] = {
    CHECK_TEST(test_map_options),
    {"test_map_ordered_and_chunked", test_map_ordered_and_chunked_on_a_new_pool},
    {"test_map_buffersize", test_map_buffersize_on_a_new_pool},
    {"test_map_failures", test_map_failures_on_a_new_pool},
    CHECK_TEST(test_map_cancels_the_rest),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
