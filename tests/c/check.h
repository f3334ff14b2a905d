/* SPDX-License-Identifier: MIT */
/* A tiny checker for the plain-C tests: CHECK counts and reports, check_summary() prints "N passed, M failed"
 * and gives the exit status, check_run_tests() runs a program's table of test functions (all, or those named on
 * the command line, each a ctest case of its own). The checks are safe to use from several threads. */
#ifndef CFUTURES_TESTS_CHECK_H
#define CFUTURES_TESTS_CHECK_H

#include <cfutures/cfutures.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define CHECK_MAYBE_UNUSED __attribute__((unused))
#else
#define CHECK_MAYBE_UNUSED
#endif

static pthread_mutex_t check_mu = PTHREAD_MUTEX_INITIALIZER;
static int check_passed, check_failed;

CHECK_MAYBE_UNUSED static int check_tally(int ok, const char *file, int line, const char *what) {
    pthread_mutex_lock(&check_mu);
    if (ok) {
        ++check_passed;
    } else {
        ++check_failed;
        fprintf(stderr, "%s:%d: CHECK failed: %s (cf_last_error: \"%s\")\n", file, line, what, cf_last_error());
    }
    pthread_mutex_unlock(&check_mu);
    return ok;
}

CHECK_MAYBE_UNUSED static int check_int(long long got, long long want, const char *file, int line, const char *expr) {
    if (got != want) fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", file, line, expr, got, want);
    return check_tally(got == want, file, line, expr);
}

CHECK_MAYBE_UNUSED static int check_str(const char *got, const char *want, const char *file, int line, const char *expr) {
    int ok = got != NULL && want != NULL && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", file, line, expr, got ? got : "(NULL)",
                want ? want : "(NULL)");
    return check_tally(ok, file, line, expr);
}

CHECK_MAYBE_UNUSED static int check_contains(const char *text, const char *part, const char *file, int line, const char *expr) {
    int ok = text && part && strstr(text, part) != NULL;
    if (!ok) fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", file, line, text ? text : "(NULL)", part);
    return check_tally(ok, file, line, expr);
}

#define CHECK(expr) check_tally((expr) ? 1 : 0, __FILE__, __LINE__, #expr)
#define CHECK_INT(got, want) check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got " == " #want)
/* Two C strings that must be equal (NULL never is). */
#define CHECK_STR(got, want) check_str((got), (want), __FILE__, __LINE__, #got " == " #want)
#define CHECK_CONTAINS(text, part) check_contains((text), (part), __FILE__, __LINE__, #text " contains " #part)

/* A thread pool of max_workers threads (0: the default), checked to have been made. */
CHECK_MAYBE_UNUSED static cf_executor *check_new_thread_pool(size_t max_workers) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_thread_pool_options_init(&o);
    o.max_workers = max_workers;
    check_int(cf_thread_pool_new(&o, &ex), CF_OK, __FILE__, __LINE__, "cf_thread_pool_new(&o, &ex) == CF_OK");
    check_tally(ex != NULL, __FILE__, __LINE__, "ex != NULL");
    return ex;
}

/* Memory that is no handle (all zeros, aligned like any object), for priming cf_last_error. */
static union { long long integer; void *pointer; long double wide; int ints[64]; } check_not_a_handle;

/* Puts a known text into this thread's cf_last_error (a failure no test provokes in exactly this way) and copies
 * it, so that a later check can tell that the call under test wrote its own text. */
CHECK_MAYBE_UNUSED static void check_prime_error(char *copy, size_t size) {
    cf_future *bad = (cf_future *)&check_not_a_handle;
    const char *text;
    check_int(cf_wait(&bad, 1, 0.0, CF_ALL_COMPLETED, NULL, NULL), CF_E_INVALID_ARGUMENT, __FILE__, __LINE__,
              "priming cf_last_error");
    text = cf_last_error();
    snprintf(copy, size, "%s", text ? text : "");
}

/* After a failing call: the text is there, not empty, new (not the primed one) and mentions needle (if any). */
CHECK_MAYBE_UNUSED static void check_fresh_error(const char *primed, const char *needle, const char *file, int line,
                                                 const char *expr) {
    const char *text = cf_last_error();
    char what[512];
    snprintf(what, sizeof what, "cf_last_error() after %s is set%s%s (it is \"%s\")", expr,
             needle ? " and mentions " : "", needle ? needle : "", text ? text : "(NULL)");
    check_tally(text != NULL && text[0] != '\0' && strcmp(text, primed) != 0 && (!needle || strstr(text, needle)),
                file, line, what);
}

/* `call` must return `status` and leave a new error text that mentions `needle` (NULL: any text). */
#define CHECK_FAILS(call, status, needle)                                \
    do {                                                                 \
        char primed_[512];                                               \
        int rc_;                                                         \
        check_prime_error(primed_, sizeof primed_);                      \
        rc_ = (call);                                                    \
        check_int(rc_, (status), __FILE__, __LINE__, #call);             \
        check_fresh_error(primed_, (needle), __FILE__, __LINE__, #call); \
    } while (0)

CHECK_MAYBE_UNUSED static int check_summary(void) {
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* ---- Table-driven main: each test function of a program is a ctest case of its own (c.<program>.<name>) */

/* One test of a program: the name it is run and listed by, and the function. */
typedef struct check_test {
    const char *name;
    void (*fn)(void);
} check_test;

/* A table entry named after its function: static const check_test tests[] = {CHECK_TEST(test_wait), ...}; */
#define CHECK_TEST(fn) {#fn, fn}
#define CHECK_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* The exit status of a test that was skipped (ctest: SKIP_RETURN_CODE), and why, when check_skip() said so. */
#define CHECK_SKIPPED 77
static const char *check_skip_reason;

/* Marks the running test as skipped (it returns at once after calling this): a program run for that test alone
 * exits with CHECK_SKIPPED unless a check failed. */
CHECK_MAYBE_UNUSED static void check_skip(const char *why) {
    check_skip_reason = why;
    fprintf(stderr, "skipped: %s\n", why);
}

/* The test of that name in the table, or NULL. */
CHECK_MAYBE_UNUSED static const check_test *check_find_test(const check_test *tests, size_t n, const char *name) {
    size_t i;
    for (i = 0; i < n; ++i)
        if (strcmp(tests[i].name, name) == 0) return &tests[i];
    return NULL;
}

/* The program's main after its own start (cf_process_worker_entry() and the like), given its table of tests.
 *   (no argument)  runs every test in table order, as one program always did;
 *   --list         prints the tests' names, one a line, and runs nothing (tests/CMakeLists.txt reads this);
 *   NAME...        runs the tests named, in the order given.
 * setup (NULL: none) runs once before the first test, never for --list. Prints "N passed, M failed" and returns
 * the exit status: 1 if a check failed, CHECK_SKIPPED if the one test named skipped itself, 2 for a name that is
 * no test, else 0. */
CHECK_MAYBE_UNUSED static int check_run_tests(int argc, char **argv, const check_test *tests, size_t n,
                                              void (*setup)(void)) {
    size_t i;
    int a;
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (i = 0; i < n; ++i) printf("%s\n", tests[i].name);
        return 0;
    }
    for (a = 1; a < argc; ++a)
        if (!check_find_test(tests, n, argv[a])) {
            fprintf(stderr, "%s: no test named \"%s\" (--list names them)\n", argv[0], argv[a]);
            return 2;
        }
    if (setup) setup();
    if (argc < 2)
        for (i = 0; i < n; ++i) tests[i].fn();
    else
        for (a = 1; a < argc; ++a) check_find_test(tests, n, argv[a])->fn();
    if (check_summary() != 0) return 1;
    return argc == 2 && check_skip_reason ? CHECK_SKIPPED : 0;
}

#endif /* CFUTURES_TESTS_CHECK_H */
