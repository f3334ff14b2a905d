/* A tiny checker for the plain-C tests: CHECK counts and reports, check_summary() prints "N passed, M failed"
 * and gives the exit status. Safe to use from several threads. */
#ifndef CFUTURES_TESTS_CHECK_H
#define CFUTURES_TESTS_CHECK_H

#include <cfutures/cfutures.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t check_mu = PTHREAD_MUTEX_INITIALIZER;
static int check_passed, check_failed;

static int check_tally(int ok, const char *file, int line, const char *what) {
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

static int check_int(long long got, long long want, const char *file, int line, const char *expr) {
    if (got != want) fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", file, line, expr, got, want);
    return check_tally(got == want, file, line, expr);
}

static int check_contains(const char *text, const char *part, const char *file, int line, const char *expr) {
    int ok = text && part && strstr(text, part) != NULL;
    if (!ok) fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", file, line, text ? text : "(NULL)", part);
    return check_tally(ok, file, line, expr);
}

#define CHECK(expr) check_tally((expr) ? 1 : 0, __FILE__, __LINE__, #expr)
#define CHECK_INT(got, want) check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got " == " #want)
#define CHECK_CONTAINS(text, part) check_contains((text), (part), __FILE__, __LINE__, #text " contains " #part)

static int check_summary(void) {
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif /* CFUTURES_TESTS_CHECK_H */
