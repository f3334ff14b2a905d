/* SPDX-License-Identifier: MIT */
/*
 * Faults that once hung the library, lost or swapped results, or crashed the program (issue 10): a spawned
 * program that never reaches its worker entry, a forked application, tasks that close descriptors, stop
 * themselves, ignore SIGTERM or exit, impossible sizes, results that do not fit shared memory, full arenas,
 * resource limits, an ignored SIGCHLD, a timer signal, deep and timed waits inside tasks.
 *
 * Each case runs in a child process of its own under a watchdog, so that a hang is a failure with the case's
 * name, not a stalled suite; each is a ctest case of its own, too (`test_capi_faults CASE` runs one alone).
 * A spawned worker re-executes this program: main() first handles the two ways a worker can go wrong on purpose
 * (CFTEST_WORKER_FAULT), then calls cf_process_worker_entry().
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "process_checks.h"

/* Under ThreadSanitizer: a forked child of this threaded test starts threads (new pools), which TSan allows
 * only when told to; the program's own TSAN_OPTIONS still apply on top. Unused in other builds. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "die_after_fork=0"; }

/* ---- tasks */

static int echo(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    return cf_task_return(ctx, arg, len);
}
CF_TASK("echo", echo);

/* arg: uint32 size, uint8 byte: returns size bytes of that byte. */
static int fill(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint32_t n;
    unsigned char byte, *out;
    (void)user_data;
    if (len != 5) return cf_task_raise(ctx, "ValueError", "fill wants 5 bytes");
    memcpy(&n, arg, 4);
    byte = ((const unsigned char *)arg)[4];
    out = cf_task_return_buffer(ctx, n);
    if (!out) return CF_E_TOO_LARGE;
    memset(out, byte, n);
    return CF_OK;
}
CF_TASK("fill", fill);

/* arg: a size_t: asks for a buffer of that size and returns what it got: "NULL <status>" or "BUFFER". */
static int ask_buffer(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    size_t n;
    char text[64];
    (void)user_data;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "ask_buffer wants a size_t");
    memcpy(&n, arg, sizeof n);
    if (cf_task_return_buffer(ctx, n) != NULL) return cf_task_return(ctx, "BUFFER", 6);
    snprintf(text, sizeof text, "NULL %d", cf_last_error() && strstr(cf_last_error(), "does not fit") ? CF_E_TOO_LARGE : 0);
    return cf_task_return(ctx, text, strlen(text));
}
CF_TASK("ask_buffer", ask_buffer);

static int close_everything(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    syscall(SYS_close_range, 3u, ~0u, 0u);
    return cf_task_return(ctx, "closed", 6);
}
CF_TASK("close_everything", close_everything);

static int exit_with(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int code = len ? ((const unsigned char *)arg)[0] : 0;
    (void)ctx, (void)user_data;
    if (len > 1) exit(code); /* through exit(): handlers run */
    _exit(code);
}
CF_TASK("exit_with", exit_with);

/* The write end of a pipe that tasks of forked workers report on (inherited). */
static int ready_pipe[2] = {-1, -1};

static void say_ready(void) {
    ssize_t n = write(ready_pipe[1], "r", 1);
    (void)n;
}

static int stop_self(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    say_ready();
    raise(SIGSTOP);
    for (;;) pause();
    return CF_OK;
}
CF_TASK("stop_self", stop_self);

static int ignore_term(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    signal(SIGTERM, SIG_IGN);
    say_ready();
    for (;;) pause();
    return CF_OK;
}
CF_TASK("ignore_term", ignore_term);

/* ---- running a case in a child under a watchdog */

static int wait_child(pid_t pid, int seconds) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
    struct pollfd p;
    p.fd = pidfd, p.events = POLLIN, p.revents = 0;
    if (pidfd < 0 || poll(&p, 1, seconds * 1000) <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        if (pidfd >= 0) close(pidfd);
        return -1;
    }
    close(pidfd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

/* Runs body in a child process; it passes when the child's checks all pass and it ends in time. */
static void run_case(const char *name, void (*body)(void), int seconds) {
    pid_t pid;
    int status;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        check_passed = check_failed = 0;
        body();
        fflush(NULL);
        _exit(check_failed ? 1 : 0);
    }
    status = wait_child(pid, seconds);
    if (status == -1) fprintf(stderr, "case %s: still running after %d s (a hang)\n", name, seconds);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "case %s: failed (wait status %d)\n", name, status);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static cf_executor *process_pool(cf_start_method method, size_t workers, size_t shm) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_process_pool_options_init(&o);
    o.start_method = method;
    o.max_workers = workers;
    o.shared_memory_bytes = shm;
    if (cf_process_pool_new(&o, &ex) != CF_OK) fprintf(stderr, "cf_process_pool_new: %s\n", cf_last_error());
    return ex;
}

static cf_executor *thread_pool(size_t workers) { return check_new_thread_pool(workers); }

/* Submits name(arg) and waits; returns the status and copies the message of a failure into why. */
static int run_named(cf_executor *ex, const char *name, const void *arg, size_t len, char *why, size_t why_len) {
    cf_future *f = NULL;
    cf_slice s;
    int rc = cf_submit_named(ex, name, arg, len, &f);
    if (rc == CF_OK) rc = cf_future_result(f, 30.0, &s);
    if (why) snprintf(why, why_len, "%s", rc == CF_OK ? "" : cf_last_error());
    cf_future_release(f);
    return rc;
}

static const char *method_name(cf_start_method m) {
    return m == CF_START_FORK ? "fork" : m == CF_START_FORKSERVER ? "forkserver" : "spawn";
}

/* No child of this process is left, alive or unreaped. */
static int no_children(void) {
    int status;
    return waitpid(-1, &status, WNOHANG | __WALL) < 0 && errno == ECHILD;
}

/* ---- 1. a spawned program that does not call cf_process_worker_entry() */

static void spawned_worker_without_entry(void) {
    cf_executor *ex;
    char why[1024];
    setenv("CFTEST_WORKER_FAULT", "create-pool", 1);
    ex = process_pool(CF_START_SPAWN, 2, (size_t)8 << 20);
    CHECK(ex != NULL);
    /* The worker's main tries to create a pool, is refused, and exits with 7 when refused the right way. */
    CHECK_INT(run_named(ex, "echo", "x", 1, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
    CHECK_CONTAINS(why, "exited with code 7");
    CHECK_CONTAINS(why, "cf_process_worker_entry()");
    cf_executor_free(ex);
    CHECK(no_children());
}

static void spawned_worker_that_never_starts(void) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    char why[1024];
    long pid = 0;
    const char *at;
    setenv("CFTEST_WORKER_FAULT", "hang", 1);
    cf_process_pool_options_init(&o);
    o.start_method = CF_START_SPAWN;
    o.max_workers = 2;
    o.worker_start_timeout = 0.5;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(run_named(ex, "echo", "x", 1, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
    CHECK_CONTAINS(why, "did not start within 0.5 s");
    CHECK_CONTAINS(why, "cf_process_worker_entry()");
    at = strstr(why, "worker ");
    if (at) pid = strtol(at + 7, NULL, 10);
    CHECK(pid > 0);
    cf_executor_free(ex);
    CHECK(pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH);
    CHECK(no_children());
}

/* ---- 2. a forked application */

static cf_executor *inherited_process_pool, *inherited_thread_pool;

static void child_of_application(void) {
    cf_future *f = NULL;
    cf_executor *fresh;
    char why[512];
    /* The inherited pools are refused with a clear error... */
    CHECK_INT(cf_submit_named(inherited_process_pool, "echo", "child", 5, &f), CF_E_INVALID_STATE);
    CHECK_CONTAINS(cf_last_error(), "forked child");
    CHECK(f == NULL);
    CHECK_INT(cf_submit_named(inherited_thread_pool, "echo", "child", 5, &f), CF_E_INVALID_STATE);
    CHECK_INT(cf_executor_kill_workers(inherited_process_pool), CF_E_INVALID_STATE);
    /* ...shutting them down returns at once, and freeing them only lets go of memory. */
    CHECK_INT(cf_executor_shutdown(inherited_process_pool, 1, 1), CF_OK);
    cf_executor_free(inherited_process_pool);
    cf_executor_free(inherited_thread_pool);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    /* ThreadSanitizer cannot start threads in the child of a threaded fork ("dup thread with used id"), and
     * GCC 12's AddressSanitizer allocator does not hold its locks across fork(): the parent's supervisor may be
     * collecting (allocating) at that instant, and then this child's worker blocks in malloc for good (seen once
     * in 12 runs of the flake hunt, as in fork_while_busy below). The dev build runs this part. */
    (void)fresh, (void)why;
#else
    /* New pools work in the child. */
    fresh = process_pool(CF_START_FORK, 1, (size_t)8 << 20);
    CHECK_INT(run_named(fresh, "echo", "new", 3, why, sizeof why), CF_OK);
    cf_executor_free(fresh);
    fresh = process_pool(CF_START_FORKSERVER, 1, (size_t)8 << 20);
    CHECK_INT(run_named(fresh, "echo", "new", 3, why, sizeof why), CF_OK);
    cf_executor_free(fresh);
    fresh = thread_pool(2);
    CHECK_INT(run_named(fresh, "echo", "new", 3, why, sizeof why), CF_OK);
    cf_executor_free(fresh);
#endif
}

static void forked_application(void) {
    cf_future *held[64];
    int i, j, status;
    pid_t pid;
    inherited_process_pool = process_pool(CF_START_FORK, 2, (size_t)8 << 20);
    inherited_thread_pool = thread_pool(2);
    /* Futures in flight while the child runs. */
    for (i = 0; i < 64; ++i) {
        uint64_t v = (uint64_t)i * 7919u;
        CHECK_INT(cf_submit_named(inherited_process_pool, "echo", &v, sizeof v, &held[i]), CF_OK);
    }
    for (j = 0; j < 4; ++j) {
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            check_failed = 0;  /* this child's own checks only, not an earlier child's failure seen by the parent */
            child_of_application();
            _exit(check_failed ? 1 : 0);
        }
        status = wait_child(pid, 30);
        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* The parent's futures hold their own tasks' results. */
    for (i = 0; i < 64; ++i) {
        cf_slice s;
        uint64_t v = 0, want = (uint64_t)i * 7919u;
        CHECK_INT(cf_future_result(held[i], 30.0, &s), CF_OK);
        if (s.len == sizeof v) memcpy(&v, s.data, sizeof v);
        CHECK_INT(v, want);
        cf_future_release(held[i]);
    }
    cf_executor_free(inherited_process_pool);
    cf_executor_free(inherited_thread_pool);
}

/* The library is busy on other threads when the program forks: the child must still be able to use it. */
static int busy_stop; /* __atomic builtins: C99 has no <stdatomic.h> */

static void *keep_library_busy(void *arg) {
    char name[32];
    int k = 0;
    (void)arg;
    while (!__atomic_load_n(&busy_stop, __ATOMIC_RELAXED)) {
        cf_executor *ex = thread_pool(2);
        cf_future *f = NULL;
        cf_slice s;
        if (cf_submit_named(ex, "echo", "b", 1, &f) == CF_OK) cf_future_result(f, 30.0, &s);
        cf_future_release(f);
        cf_executor_free(ex);
        snprintf(name, sizeof name, "busy_%d", k++ % 64);
        cf_task_register(name, echo, NULL);
    }
    return NULL;
}

static void fork_while_busy(void) {
    pthread_t threads[2];
    int i, hung = 0, failed = 0;
    int children = getenv("CFTEST_SANITIZED") ? 30 : 100;
    __atomic_store_n(&busy_stop, 0, __ATOMIC_RELAXED);
    for (i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, keep_library_busy, NULL);
    for (i = 0; i < children; ++i) {
        int status;
        pid_t pid;
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            char why[256];
            cf_executor *ex = thread_pool(1);
            int ok = run_named(ex, "echo", "c", 1, why, sizeof why) == CF_OK;
            cf_executor_free(ex);
            ex = process_pool(CF_START_FORK, 1, (size_t)4 << 20);
            ok = ok && ex && run_named(ex, "echo", "c", 1, why, sizeof why) == CF_OK;
            cf_executor_free(ex);
            _exit(ok ? 0 : 1);
        }
        status = wait_child(pid, 30);
        hung += status == -1;
        failed += status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    __atomic_store_n(&busy_stop, 1, __ATOMIC_RELAXED);
    for (i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
    if (hung || failed) fprintf(stderr, "fork_while_busy: %d of %d children hung, %d failed\n", hung, children, failed);
    CHECK_INT(hung, 0);
    CHECK_INT(failed, 0);
}

/* ---- 2. sizes that cannot be, results that do not fit now */

static void impossible_sizes(void) {
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 15, (size_t)1 << 63, SIZE_MAX / 2 + 2};
    cf_executor *ex = process_pool(CF_START_FORK, 1, (size_t)8 << 20);
    cf_executor *threads = thread_pool(1);
    cf_future *held[8];
    cf_future *f = NULL;
    char why[256];
    size_t i;
    int k;
    /* Results delivered (and held) before the bad calls. */
    for (k = 0; k < 8; ++k) {
        unsigned char arg[5];
        uint32_t n = 100000;
        memcpy(arg, &n, 4);
        arg[4] = (unsigned char)('a' + k);
        CHECK_INT(cf_submit_named(ex, "fill", arg, 5, &held[k]), CF_OK);
        CHECK_INT(cf_future_result(held[k], 30.0, &(cf_slice){0}), CF_OK);
    }
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        cf_executor *pools[2];
        int p;
        pools[0] = ex, pools[1] = threads;
        for (p = 0; p < 2; ++p) {
            cf_slice s;
            CHECK_INT(cf_submit_named(pools[p], "ask_buffer", &sizes[i], sizeof sizes[i], &f), CF_OK);
            CHECK_INT(cf_future_result(f, 30.0, &s), CF_OK);
            CHECK(s.len == 8 && memcmp(s.data, "NULL -13", 8) == 0);
            cf_future_release(f);
        }
    }
    /* Nothing delivered changed. */
    for (k = 0; k < 8; ++k) {
        cf_slice s;
        size_t j, wrong = 0;
        CHECK_INT(cf_future_result(held[k], 30.0, &s), CF_OK);
        CHECK_INT(s.len, 100000);
        for (j = 0; j < s.len; ++j) wrong += ((const unsigned char *)s.data)[j] != (unsigned char)('a' + k);
        CHECK_INT(wrong, 0);
        cf_future_release(held[k]);
    }
    /* An argument length that cannot be is refused as too large, with a readable text. */
    CHECK_INT(cf_submit(threads, echo, NULL, why, SIZE_MAX, &f), CF_E_TOO_LARGE);
    CHECK_CONTAINS(cf_last_error(), "bytes is larger than this machine's memory");
    CHECK_INT(cf_submit_named(ex, "echo", why, SIZE_MAX, &f), CF_E_TOO_LARGE);
    cf_executor_free(ex);
    cf_executor_free(threads);
}

/* 100 results of 1 MiB each, all held, through a worker heap of 8 MiB; and one larger than the heap. */
static void results_larger_than_shared_memory(void) {
    enum { kTasks = 100, kSize = 1 << 20 };
    cf_executor *ex = process_pool(CF_START_FORK, 1, (size_t)8 << 20);
    cf_future *held[kTasks];
    int k, wrong_tasks = 0;
    unsigned char arg[5];
    uint32_t n = kSize;
    memcpy(arg, &n, 4);
    for (k = 0; k < kTasks; ++k) {
        arg[4] = (unsigned char)k;
        CHECK_INT(cf_submit_named(ex, "fill", arg, 5, &held[k]), CF_OK);
    }
    for (k = 0; k < kTasks; ++k) {
        cf_slice s;
        size_t j, wrong = 0;
        if (cf_future_result(held[k], 60.0, &s) != CF_OK) {
            fprintf(stderr, "task %d: %s\n", k, cf_last_error());
            ++wrong_tasks;
            continue;
        }
        for (j = 0; j < s.len; ++j) wrong += ((const unsigned char *)s.data)[j] != (unsigned char)k;
        wrong_tasks += wrong != 0 || s.len != kSize;
    }
    CHECK_INT(wrong_tasks, 0);
    /* Everything still held is still right after more work went through. */
    n = 20u << 20; /* more than the whole heap */
    memcpy(arg, &n, 4);
    arg[4] = 0xab;
    {
        cf_future *big = NULL;
        cf_slice s;
        size_t j, wrong = 0;
        CHECK_INT(cf_submit_named(ex, "fill", arg, 5, &big), CF_OK);
        CHECK_INT(cf_future_result(big, 60.0, &s), CF_OK);
        CHECK_INT(s.len, 20u << 20);
        for (j = 0; j < s.len; ++j) wrong += ((const unsigned char *)s.data)[j] != 0xab;
        CHECK_INT(wrong, 0);
        cf_future_release(big);
    }
    for (k = 0; k < kTasks; ++k) {
        cf_slice s;
        CHECK_INT(cf_future_result(held[k], 1.0, &s), CF_OK);
        CHECK(s.len == kSize && ((const unsigned char *)s.data)[kSize - 1] == (unsigned char)k);
        cf_future_release(held[k]);
    }
    cf_executor_free(ex);
}

/* New task names without end: each task carries its name, so the arena never fills with names. */
static void many_task_names(void) {
    enum { kNames = 3000 };
    cf_executor *ex;
    char name[128];
    int k, failed = 0;
    for (k = 0; k < kNames; ++k) {
        snprintf(name, sizeof name, "a_task_with_a_rather_long_name_to_fill_the_arena_faster_%06d", k);
        CHECK_INT(cf_task_register(name, echo, NULL), CF_OK);
    }
    ex = process_pool(CF_START_FORK, 1, (size_t)64 << 10);
    if (!ex) ex = process_pool(CF_START_FORK, 1, (size_t)1 << 20);
    for (k = 0; k < kNames; ++k) {
        char why[256];
        snprintf(name, sizeof name, "a_task_with_a_rather_long_name_to_fill_the_arena_faster_%06d", k);
        failed += run_named(ex, name, "n", 1, why, sizeof why) != CF_OK;
    }
    CHECK_INT(failed, 0);
    cf_executor_free(ex);
}

/* ---- 3. hangs */

static void terminate_unanswering_workers(void) {
    cf_executor *ex;
    cf_future *a = NULL, *b = NULL;
    char byte;
    int got = 0;
    CHECK_INT(pipe(ready_pipe), 0);
    ex = process_pool(CF_START_FORK, 2, (size_t)8 << 20);
    CHECK_INT(cf_submit_named(ex, "stop_self", NULL, 0, &a), CF_OK);
    CHECK_INT(cf_submit_named(ex, "ignore_term", NULL, 0, &b), CF_OK);
    while (got < 2 && read(ready_pipe[0], &byte, 1) == 1) ++got;
    CHECK_INT(got, 2);
    CHECK_INT(cf_executor_terminate_workers(ex), CF_OK);
    CHECK_INT(cf_future_result(a, 30.0, &(cf_slice){0}), CF_E_BROKEN_PROCESS_POOL);
    CHECK_INT(cf_future_result(b, 30.0, &(cf_slice){0}), CF_E_BROKEN_PROCESS_POOL);
    cf_future_release(a);
    cf_future_release(b);
    cf_executor_free(ex); /* the watchdog catches a free that waits for ever */
    CHECK(no_children());
}

static void task_closes_descriptors(void) {
    cf_start_method methods[3] = {CF_START_FORK, CF_START_FORKSERVER, CF_START_SPAWN};
    int m;
    for (m = 0; m < 3; ++m) {
        cf_executor *ex = process_pool(methods[m], 1, (size_t)8 << 20);
        char why[512];
        int k, failed = 0;
        CHECK_INT(run_named(ex, "close_everything", NULL, 0, why, sizeof why), CF_OK);
        for (k = 0; k < 20; ++k) failed += run_named(ex, "echo", "after", 5, why, sizeof why) != CF_OK;
        if (failed) fprintf(stderr, "%s: %d tasks failed after the descriptors were closed: %s\n", method_name(methods[m]), failed, why);
        CHECK_INT(failed, 0);
        cf_executor_free(ex);
    }
}

static void pool_creation_out_of_descriptors(void) {
    struct rlimit lim;
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    int fd = dup(0), rc;
    /* Room for the pool's memfd and eventfd, its server's socket and two workers' pidfds, not for eight. (Two
     * pidfds, so that two descriptors are free again when the error is raised: a sanitizer checking it needs a
     * pipe.) */
    close(fd);
    lim.rlim_cur = lim.rlim_max = (rlim_t)fd + 5;
    CHECK_INT(setrlimit(RLIMIT_NOFILE, &lim), 0);
    cf_process_pool_options_init(&o);
    o.start_method = CF_START_FORK;
    o.max_workers = 8;
    o.shared_memory_bytes = (size_t)4 << 20;
    rc = cf_process_pool_new(&o, &ex);
    CHECK_INT(rc, CF_E_SYSTEM);
    CHECK_CONTAINS(cf_last_error(), "Too many open files");
    CHECK(ex == NULL);
    CHECK(no_children());
}

static void ignored_sigchld(void) {
    cf_start_method methods[3] = {CF_START_FORK, CF_START_FORKSERVER, CF_START_SPAWN};
    cf_executor *late;
    char why[512], code = 3;
    int m;
    /* A spawn pool made before the program ignores SIGCHLD: its workers are the program's own children, so their
     * statuses are discarded, and it says so. (A fork pool's workers are children of the pool's own server.) */
    late = process_pool(CF_START_SPAWN, 1, (size_t)8 << 20);
    signal(SIGCHLD, SIG_IGN);
    CHECK_INT(run_named(late, "exit_with", &code, 1, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
    CHECK(strstr(why, "exited with code 0") == NULL && strstr(why, "exit status the system discarded"));
    cf_executor_free(late);
    /* Pools made while it does: their workers are children of a reaper (or of the forkserver), which knows. */
    for (m = 0; m < 3; ++m) {
        cf_executor *ex = process_pool(methods[m], 1, (size_t)8 << 20);
        CHECK_INT(run_named(ex, "exit_with", &code, 1, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
        CHECK_CONTAINS(why, "exited with code 3");
        CHECK_INT(run_named(ex, "echo", "x", 1, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
        cf_executor_free(ex);
        ex = process_pool(methods[m], 2, (size_t)8 << 20);
        CHECK_INT(run_named(ex, "echo", "ok", 2, why, sizeof why), CF_OK);
        cf_executor_free(ex);
    }
    CHECK_INT(zombie_children(), 0);
}

/* ---- 4. crashes and wrong timing */

struct recursion {
    cf_executor *pool;
    int depth;
};

static int recurse(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    struct recursion *r = user_data;
    int depth, rc, next;
    cf_future *f = NULL;
    cf_slice s;
    (void)len;
    memcpy(&depth, arg, sizeof depth);
    if (depth >= r->depth) return cf_task_return(ctx, "bottom", 6);
    next = depth + 1;
    rc = cf_submit(r->pool, recurse, r, &next, sizeof next, &f);
    if (rc == CF_OK) rc = cf_future_result(f, -1, &s);
    if (rc == CF_OK) rc = cf_task_return(ctx, s.data, s.len);
    else if (rc == CF_E_DEADLOCK) rc = cf_task_raise(ctx, "DeadlockError", cf_last_error());
    else rc = cf_task_raise(ctx, "InnerError", cf_last_error());
    cf_future_release(f);
    return rc;
}

static void deep_waits(void) {
    struct recursion r;
    cf_future *f = NULL;
    cf_slice s;
    int zero = 0;
    size_t workers[2] = {1, 4};
    int w;
    for (w = 0; w < 2; ++w) {
        r.pool = thread_pool(workers[w]);
        /* Shallow enough to help all the way down. */
        r.depth = 40;
        CHECK_INT(cf_submit(r.pool, recurse, &r, &zero, sizeof zero, &f), CF_OK);
        CHECK_INT(cf_future_result(f, 60.0, &s), CF_OK);
        cf_future_release(f);
        /* 10,000 deep: no stack overflow; on one worker the innermost wait can never end, and says so. */
        r.depth = 10000;
        CHECK_INT(cf_submit(r.pool, recurse, &r, &zero, sizeof zero, &f), CF_OK);
        if (workers[w] == 1) {
            CHECK_INT(cf_future_result(f, 60.0, &s), CF_E_TASK_FAILED);
            CHECK_CONTAINS(cf_last_error(), "DeadlockError");
        } else {
            int rc = cf_future_result(f, 60.0, &s);
            CHECK(rc == CF_OK || (rc == CF_E_TASK_FAILED && strstr(cf_last_error(), "DeadlockError")));
        }
        cf_future_release(f);
        cf_executor_free(r.pool);
    }
}

/* A task that blocks until the test releases it (a pipe), and a task that waits 0.2 s on a task queued behind it. */
static int gate[2] = {-1, -1};

static int blocked(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char byte;
    (void)arg, (void)len, (void)user_data;
    while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    return cf_task_return(ctx, "released", 8);
}

static int timed_waiter(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    cf_executor *pool = user_data;
    cf_future *first = NULL, *second = NULL;
    cf_slice s;
    int rc;
    char text[32];
    (void)arg, (void)len;
    cf_submit(pool, blocked, NULL, NULL, 0, &first);
    cf_submit(pool, echo, NULL, "second", 6, &second);
    /* A timed wait may run `second` (what it waits for) but never `blocked`, queued before it, which ends only
     * when the test releases it, after this wait has returned. */
    rc = cf_future_result(second, 0.2, &s);
    snprintf(text, sizeof text, "%d", rc);
    cf_future_release(first);
    cf_future_release(second);
    return cf_task_return(ctx, text, strlen(text));
}

static void timed_wait_inside_task(void) {
    cf_executor *pool = thread_pool(1);
    cf_future *f = NULL;
    cf_slice s;
    char want[16];
    CHECK_INT(pipe(gate), 0);
    CHECK_INT(cf_submit(pool, timed_waiter, pool, NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 30.0, &s), CF_OK);
    snprintf(want, sizeof want, "%d", CF_OK);
    CHECK(s.len == strlen(want) && memcmp(s.data, want, s.len) == 0);
    CHECK_INT(write(gate[1], "g", 1), 1);
    cf_future_release(f);
    cf_executor_free(pool);
}

static int ticks;
static void on_tick(int sig) {
    (void)sig;
    __atomic_fetch_add(&ticks, 1, __ATOMIC_RELAXED);
}

static void timer_signal(void) {
    struct sigaction sa;
    struct itimerval every_ms;
    int round, wrong = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick; /* no SA_RESTART: system calls see EINTR */
    sigaction(SIGALRM, &sa, NULL);
    memset(&every_ms, 0, sizeof every_ms);
    every_ms.it_interval.tv_usec = every_ms.it_value.tv_usec = 1000;
    setitimer(ITIMER_REAL, &every_ms, NULL);
    for (round = 0; round < 20; ++round) {
        cf_executor *ex = process_pool(round % 2 ? CF_START_FORKSERVER : CF_START_FORK, 2, (size_t)4 << 20);
        char why[512], code = 3;
        int k;
        for (k = 0; k < 50; ++k) wrong += run_named(ex, "echo", "t", 1, why, sizeof why) != CF_OK;
        CHECK_INT(run_named(ex, "exit_with", &code, 1, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
        if (!strstr(why, "exited with code 3")) ++wrong, fprintf(stderr, "round %d: %s\n", round, why);
        cf_executor_free(ex);
    }
    memset(&every_ms, 0, sizeof every_ms);
    setitimer(ITIMER_REAL, &every_ms, NULL);
    CHECK_INT(wrong, 0);
    CHECK(__atomic_load_n(&ticks, __ATOMIC_RELAXED) > 0);
    CHECK_INT(zombie_children(), 0); /* every worker was reaped */
}

static void task_calls_exit(void) {
    cf_start_method methods[3] = {CF_START_FORK, CF_START_FORKSERVER, CF_START_SPAWN};
    int m;
    for (m = 0; m < 3; ++m) {
        cf_executor *ex = process_pool(methods[m], 1, (size_t)8 << 20);
        char why[512], code[2] = {0, 1}; /* two bytes: through exit(), handlers and all */
        CHECK_INT(run_named(ex, "exit_with", code, 2, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
        CHECK_CONTAINS(why, "exited with code 0");
        cf_executor_free(ex);
        ex = process_pool(methods[m], 1, (size_t)8 << 20);
        code[0] = 5;
        CHECK_INT(run_named(ex, "exit_with", code, 2, why, sizeof why), CF_E_BROKEN_PROCESS_POOL);
        CHECK_CONTAINS(why, "exited with code 5");
        cf_executor_free(ex);
    }
}

/* ---- the table: each case in a child of its own, under a watchdog of that many seconds */

#define CASE(body, seconds) \
    static void body##_case(void) { run_case(#body, body, seconds); }
CASE(spawned_worker_without_entry, 60)
CASE(spawned_worker_that_never_starts, 60)
CASE(forked_application, 90)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* GCC 12's AddressSanitizer allocator keeps its own locks, not held across fork(): a child of a parent that
 * allocates on other threads can block inside ASan's malloc before it reaches the library (seen: 1 child in
 * 100); ThreadSanitizer cannot start threads in such a child at all. The dev build runs this case. */
static void fork_while_busy_case(void) {
    (void)fork_while_busy;
    check_skip("fork_while_busy: not run under a sanitizer (neither supports a threaded fork's child)");
}
#else
CASE(fork_while_busy, 240)
#endif
CASE(impossible_sizes, 60)
CASE(results_larger_than_shared_memory, 120)
CASE(many_task_names, 120)
CASE(terminate_unanswering_workers, 60)
CASE(task_closes_descriptors, 60)
CASE(pool_creation_out_of_descriptors, 60)
CASE(ignored_sigchld, 60)
CASE(deep_waits, 120)
CASE(timed_wait_inside_task, 60)
CASE(timer_signal, 180)
CASE(task_calls_exit, 60)

static const check_test tests[] = {
    {"spawned_worker_without_entry", spawned_worker_without_entry_case},
    {"spawned_worker_that_never_starts", spawned_worker_that_never_starts_case},
    {"forked_application", forked_application_case},
    {"fork_while_busy", fork_while_busy_case},
    {"impossible_sizes", impossible_sizes_case},
    {"results_larger_than_shared_memory", results_larger_than_shared_memory_case},
    {"many_task_names", many_task_names_case},
    {"terminate_unanswering_workers", terminate_unanswering_workers_case},
    {"task_closes_descriptors", task_closes_descriptors_case},
    {"pool_creation_out_of_descriptors", pool_creation_out_of_descriptors_case},
    {"ignored_sigchld", ignored_sigchld_case},
    {"deep_waits", deep_waits_case},
    {"timed_wait_inside_task", timed_wait_inside_task_case},
    {"timer_signal", timer_signal_case},
    {"task_calls_exit", task_calls_exit_case},
};

int main(int argc, char **argv) {
    const char *fault = getenv("CFUTURES_WORKER") ? getenv("CFTEST_WORKER_FAULT") : NULL;
    if (fault && strcmp(fault, "create-pool") == 0) {
        /* A would-be worker that runs main instead: creating a pool must fail, naming the missing call. */
        cf_executor *ex = NULL;
        int rc = cf_process_pool_new(NULL, &ex);
        if (rc == CF_OK) _exit(9);
        _exit(rc == CF_E_INVALID_STATE && strstr(cf_last_error(), "cf_process_worker_entry()") ? 7 : 8);
    }
    if (fault && strcmp(fault, "hang") == 0)
        for (;;) pause();
    CHECK_INT(cf_process_worker_entry(), CF_OK);
    return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL);
}
