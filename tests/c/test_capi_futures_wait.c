/* SPDX-License-Identifier: MIT */
/*
 * cf_wait and cf_as_completed from plain C99: over futures already done, pending, failed and cancelled, with and
 * without timeouts, and woken by other threads.
 *
 * No framework: CHECK counts and reports, main prints "N passed, M failed" and fails if M > 0; each test function
 * is a ctest case of its own (check.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <cfutures/cfutures.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "future_checks.h"

/* ------------------------------------------------------------------------------------------------------------ */
/* cf_wait                                                                                                        */

static void fill(unsigned char *flags, size_t n) { memset(flags, 0xAA, n); }

static void test_wait(void) {
    cf_future *ok = finished_future("ok");
    cf_future *bad = failed_future("ValueError", "no");
    cf_future *gone = cancelled_future();
    cf_future *p1 = new_future();
    cf_future *p2 = new_future();
    unsigned char flags[8];
    size_t n_done;

    /* n = 0 with fs NULL. */
    n_done = 99;
    CHECK_INT(cf_wait(NULL, 0, 0.0, CF_ALL_COMPLETED, NULL, &n_done), CF_OK);
    CHECK_INT(n_done, 0);
    CHECK_INT(cf_wait(NULL, 0, CF_FOREVER, CF_FIRST_COMPLETED, NULL, NULL), CF_OK);
    CHECK_INT(cf_wait(NULL, 0, CF_FOREVER, CF_FIRST_EXCEPTION, NULL, NULL), CF_OK);

    /* ALL_COMPLETED over done futures (a cancelled one is done), duplicates flagged alike and counted once. */
    {
        cf_future *fs[5];
        fs[0] = ok; fs[1] = gone; fs[2] = ok; fs[3] = bad; fs[4] = gone;
        fill(flags, 5);
        n_done = 99;
        CHECK_INT(cf_wait(fs, 5, CF_FOREVER, CF_ALL_COMPLETED, flags, &n_done), CF_OK);
        CHECK(flags[0] == 1 && flags[1] == 1 && flags[2] == 1 && flags[3] == 1 && flags[4] == 1);
        CHECK_INT(n_done, 3);
        CHECK_INT(cf_wait(fs, 5, -7.0, CF_ALL_COMPLETED, NULL, NULL), CF_OK);
        CHECK_INT(cf_wait(fs, 5, INFINITY, CF_ALL_COMPLETED, NULL, NULL), CF_OK);
        CHECK_INT(cf_wait(fs, 5, 0.0, CF_FIRST_EXCEPTION, NULL, NULL), CF_OK);
    }

    /* ALL_COMPLETED with pending ones: timeout, flags filled, the text counts distinct futures. */
    {
        cf_future *fs[5];
        fs[0] = p1; fs[1] = ok; fs[2] = p1; fs[3] = p2; fs[4] = ok;
        fill(flags, 5);
        n_done = 99;
        CHECK_FAILS(cf_wait(fs, 5, 0.0, CF_ALL_COMPLETED, flags, &n_done), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "2 (of 3) futures unfinished");
        CHECK(flags[0] == 0 && flags[1] == 1 && flags[2] == 0 && flags[3] == 0 && flags[4] == 1);
        CHECK_INT(n_done, 1);
        /* A short real timeout behaves alike. */
        fill(flags, 5);
        CHECK_FAILS(cf_wait(fs, 5, 0.01, CF_ALL_COMPLETED, flags, &n_done), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "2 (of 3) futures unfinished");
        CHECK(flags[0] == 0 && flags[1] == 1 && flags[2] == 0 && flags[3] == 0 && flags[4] == 1);

        /* FIRST_COMPLETED holds with ok done. */
        fill(flags, 5);
        n_done = 99;
        CHECK_INT(cf_wait(fs, 5, 0.0, CF_FIRST_COMPLETED, flags, &n_done), CF_OK);
        CHECK(flags[0] == 0 && flags[1] == 1 && flags[2] == 0 && flags[3] == 0 && flags[4] == 1);
        CHECK_INT(n_done, 1);

        /* FIRST_EXCEPTION: no failure and not all done. */
        fill(flags, 5);
        n_done = 99;
        CHECK_FAILS(cf_wait(fs, 5, 0.0, CF_FIRST_EXCEPTION, flags, &n_done), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "2 (of 3) futures unfinished");
        CHECK(flags[0] == 0 && flags[1] == 1 && flags[2] == 0 && flags[3] == 0 && flags[4] == 1);
        CHECK_INT(n_done, 1);
    }

    /* FIRST_COMPLETED with nothing done: timeout. */
    {
        cf_future *fs[3];
        fs[0] = p1; fs[1] = p2; fs[2] = p2;
        fill(flags, 3);
        n_done = 99;
        CHECK_FAILS(cf_wait(fs, 3, 0.0, CF_FIRST_COMPLETED, flags, &n_done), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "2 (of 2) futures unfinished");
        CHECK(flags[0] == 0 && flags[1] == 0 && flags[2] == 0);
        CHECK_INT(n_done, 0);
    }

    /* FIRST_EXCEPTION: a cancelled future is no failure; a failed one is. */
    {
        cf_future *fs[3];
        fs[0] = gone; fs[1] = p1; fs[2] = gone;
        fill(flags, 3);
        n_done = 99;
        CHECK_FAILS(cf_wait(fs, 3, 0.0, CF_FIRST_EXCEPTION, flags, &n_done), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "1 (of 2) futures unfinished");
        CHECK(flags[0] == 1 && flags[1] == 0 && flags[2] == 1);
        CHECK_INT(n_done, 1);

        fs[2] = bad;
        fill(flags, 3);
        n_done = 99;
        CHECK_INT(cf_wait(fs, 3, 0.0, CF_FIRST_EXCEPTION, flags, &n_done), CF_OK);
        CHECK(flags[0] == 1 && flags[1] == 0 && flags[2] == 1);
        CHECK_INT(n_done, 2);
    }

    /* Completed by other threads while cf_wait sleeps without limit. */
    {
        cf_future *q1 = new_future();
        cf_future *q2 = new_future();
        cf_future *fs[3];
        actor a, b;
        fs[0] = q1; fs[1] = q2; fs[2] = q1;

        CHECK(actor_start(&a, q2, ACT_SET_RESULT, "q2"));
        fill(flags, 3);
        n_done = 99;
        CHECK_INT(cf_wait(fs, 3, CF_FOREVER, CF_FIRST_COMPLETED, flags, &n_done), CF_OK);
        CHECK(flags[0] == 0 && flags[1] == 1 && flags[2] == 0); /* q1 is completed by nobody yet */
        CHECK_INT(n_done, 1);
        actor_join(&a);

        CHECK(actor_start(&b, q1, ACT_SET_RESULT, "q1"));
        fill(flags, 3);
        n_done = 99;
        CHECK_INT(cf_wait(fs, 3, INFINITY, CF_ALL_COMPLETED, flags, &n_done), CF_OK);
        CHECK(flags[0] == 1 && flags[1] == 1 && flags[2] == 1);
        CHECK_INT(n_done, 2);
        actor_join(&b);
        cf_future_release(q1);
        cf_future_release(q2);
    }
    {
        cf_future *q1 = new_future();
        cf_future *q2 = new_future();
        cf_future *fs[2];
        actor a;
        fs[0] = q1; fs[1] = q2;
        CHECK(actor_start(&a, q2, ACT_SET_EXCEPTION, "TypeError"));
        fill(flags, 2);
        n_done = 99;
        CHECK_INT(cf_wait(fs, 2, -1e9, CF_FIRST_EXCEPTION, flags, &n_done), CF_OK);
        CHECK(flags[0] == 0 && flags[1] == 1);
        CHECK_INT(n_done, 1);
        actor_join(&a);

        CHECK(actor_start(&a, q1, ACT_CANCEL, NULL));
        CHECK_INT(cf_wait(fs, 2, CF_FOREVER, CF_ALL_COMPLETED, NULL, NULL), CF_OK);
        actor_join(&a);
        CHECK_INT(cf_future_cancelled(q1), 1);
        cf_future_release(q1);
        cf_future_release(q2);
    }

    cf_future_release(ok);
    cf_future_release(bad);
    cf_future_release(gone);
    cf_future_release(p1);
    cf_future_release(p2);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* cf_as_completed                                                                                                */

static void test_as_completed(void) {
    cf_as_completed_iter *it = NULL;
    cf_future *got = NULL;

    /* Empty. */
    CHECK_INT(cf_as_completed(NULL, 0, 0.0, &it), CF_OK);
    CHECK(it != NULL);
    CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
    CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
    cf_as_completed_free(it);

    /* All done already: input order, each distinct future once, then CF_DONE. */
    {
        cf_future *a = finished_future("a");
        cf_future *b = cancelled_future();
        cf_future *c = failed_future("E", "c");
        cf_future *fs[5];
        fs[0] = b; fs[1] = a; fs[2] = b; fs[3] = c; fs[4] = a;
        it = NULL;
        CHECK_INT(cf_as_completed(fs, 5, CF_FOREVER, &it), CF_OK);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == b);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == a);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == c);
        CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
        CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
        cf_as_completed_free(it);
        cf_future_release(a);
        cf_future_release(b);
        cf_future_release(c);
    }

    /* Two finished, two pending, timeout 0: the finished ones, then CF_E_TIMEOUT on every call. */
    {
        cf_future *p1 = new_future();
        cf_future *d1 = finished_future("d1");
        cf_future *p2 = new_future();
        cf_future *d2 = failed_future("E", "d2");
        cf_future *fs[6];
        fs[0] = p1; fs[1] = d1; fs[2] = p2; fs[3] = d1; fs[4] = d2; fs[5] = p1;
        it = NULL;
        CHECK_INT(cf_as_completed(fs, 6, 0.0, &it), CF_OK);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == d1);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == d2);
        CHECK_FAILS(cf_as_completed_next(it, &got), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "2 (of 4) futures unfinished");
        CHECK_FAILS(cf_as_completed_next(it, &got), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "2 (of 4) futures unfinished");
        /* The time has run out: finishing them now changes nothing. */
        CHECK_INT(cf_future_set_result(p1, "late", 4), CF_OK);
        CHECK_INT(cf_future_cancel(p2), 1);
        CHECK_FAILS(cf_as_completed_next(it, &got), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "2 (of 4) futures unfinished");
        cf_as_completed_free(it);
        cf_future_release(p1);
        cf_future_release(d1);
        cf_future_release(p2);
        cf_future_release(d2);
    }

    /* Pending ones come in completion order, each once, the pointer as passed in. */
    {
        cf_future *p1 = new_future();
        cf_future *p2 = new_future();
        cf_future *p3 = new_future();
        cf_future *fs[4];
        fs[0] = p1; fs[1] = p2; fs[2] = p3; fs[3] = p2;
        it = NULL;
        CHECK_INT(cf_as_completed(fs, 4, CF_FOREVER, &it), CF_OK);
        CHECK_INT(cf_future_set_result(p3, "3", 1), CF_OK);
        CHECK_INT(cf_future_cancel(p1), 1);
        CHECK_INT(cf_future_set_exception(p2, "E", "2"), CF_OK);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == p3);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == p1);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == p2);
        CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
        cf_as_completed_free(it);
        cf_future_release(p1);
        cf_future_release(p2);
        cf_future_release(p3);
    }

    /* One finished first, then one finished by another thread while next sleeps (+Inf: no limit). */
    {
        cf_future *done = finished_future("first");
        cf_future *later = new_future();
        cf_future *fs[2];
        actor a;
        fs[0] = later; fs[1] = done;
        it = NULL;
        CHECK_INT(cf_as_completed(fs, 2, INFINITY, &it), CF_OK);
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == done);
        CHECK(actor_start(&a, later, ACT_SET_RESULT, "second"));
        got = NULL;
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == later);
        CHECK(got != NULL && result_is(got, "second"));
        CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
        actor_join(&a);
        cf_as_completed_free(it);
        cf_future_release(done);
        cf_future_release(later);
    }

    /* A negative timeout waits without limit too; the iterator keeps its futures alive after our release. */
    {
        cf_future *f = new_future();
        cf_future *fs[1];
        actor a;
        fs[0] = f;
        it = NULL;
        CHECK_INT(cf_as_completed(fs, 1, -0.25, &it), CF_OK);
        CHECK(actor_start(&a, f, ACT_SET_RESULT, "alive"));
        actor_join(&a);
        cf_future_release(f); /* the iterator's reference remains */
        got = NULL;
        CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
        CHECK(got == f);
        CHECK_INT(cf_future_get_state(got), CF_FINISHED);
        CHECK(result_is(got, "alive"));
        CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
        cf_as_completed_free(it); /* frees f */
    }

    /* A real (short) timeout with nothing ever finishing. */
    {
        cf_future *p = new_future();
        it = NULL;
        CHECK_INT(cf_as_completed(&p, 1, 0.01, &it), CF_OK);
        CHECK_FAILS(cf_as_completed_next(it, &got), CF_E_TIMEOUT, NULL);
        CHECK_STR(cf_last_error(), "1 (of 1) futures unfinished");
        cf_as_completed_free(it);
        cf_future_release(p);
    }
}

/* ------------------------------------------------------------------------------------------------------------ */

static const check_test tests[] = {
    CHECK_TEST(test_wait),
    CHECK_TEST(test_as_completed),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
