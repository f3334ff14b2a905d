/* SPDX-License-Identifier: MIT */
/* The MPI executor (libcfutures_mpi) end to end, in one of its two modes:
 *   mpiexec -n N test_mpi_pool world        rank 0 tests, ranks 1..N-1 serve
 *   mpiexec -n N test_mpi_pool world unfreed  the same, the pool left for the exit handler to shut down
 *   mpiexec -n N test_mpi_pool world broken   with CFUTURES_MPI_FAULT_AT_SEND=3: an MPI error breaks the pool
 *   mpiexec -n 1 test_mpi_pool spawn K      K workers started with MPI_Comm_spawn (this program again)
 *   mpiexec -n 1 test_mpi_pool spawn K program   the same, named as worker_program (a registry of its own)
 * What it checks: results, a task that raises (its text and where it ran), unknown names, map in order with
 * several chunk sizes and its failure, wait and as_completed, a large argument beside small ones, arguments and
 * results around the sizes that are announced before they are sent, cancelling a
 * queued task, statistics, and last shutdown with cancel_futures. Queued tasks wait behind "gate" tasks that hold
 * every worker until a file exists, so that what is queued is known without timing. */
#define _POSIX_C_SOURCE 200809L
#include <cfutures/mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../c/check.h"
#include "../c/named_task_checks.h"

#define LONG_WAIT NAMED_LONG_WAIT

/* ---- tasks, registered in every rank (the same program) */

static int square(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    uint64_t n = 0;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "square wants 8 bytes");
    memcpy(&n, arg, sizeof n);
    n *= n;
    return cf_task_return(ctx, &n, sizeof n);
}
CF_TASK("mpi.square", square);

static int divide_by_zero(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_raise(ctx, "ZeroDivisionError", "integer division or modulo by zero");
}
CF_TASK("mpi.divide_by_zero", divide_by_zero);

/* The length of its argument, as 8 bytes. */
static int length(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)user_data;
    uint64_t n = len;
    return cf_task_return(ctx, &n, sizeof n);
}
CF_TASK("mpi.length", length);

/* Its argument, unchanged. */
static int echo(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    return cf_task_return(ctx, arg, len);
}
CF_TASK("mpi.echo", echo);

/* Waits until the file named by its argument exists (at most LONG_WAIT seconds). */
static int gate(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    char path[256];
    if (len == 0 || len >= sizeof path) return cf_task_raise(ctx, "ValueError", "gate wants a path");
    memcpy(path, arg, len);
    path[len] = '\0';
    struct timespec pause = {0, 1000000};
    for (long i = 0; i < (long)(LONG_WAIT * 1000); ++i) {
        if (access(path, F_OK) == 0) return CF_OK;
        nanosleep(&pause, NULL);
    }
    return cf_task_raise(ctx, "TimeoutError", "the gate never opened");
}
CF_TASK("mpi.gate", gate);

static cf_executor *ex;
static size_t workers;
static int own_program; /* spawn mode with worker_program set */
static char gate_path[128];
static int gate_count;

/* A new gate file name; the gate opens when open_gate() creates it. */
static void new_gate(void) { snprintf(gate_path, sizeof gate_path, "/tmp/cf_mpi_gate_%ld_%d", (long)getpid(), ++gate_count); }
static void open_gate(void) {
    FILE *f = fopen(gate_path, "w");
    if (CHECK(f != NULL)) fclose(f);
}

/* Until f has left the queue (sent to a worker: running), at most LONG_WAIT seconds. */
static int wait_running(cf_future *f) {
    struct timespec pause = {0, 1000000};
    for (long i = 0; i < (long)(LONG_WAIT * 1000) && cf_future_get_state(f) == CF_PENDING; ++i) nanosleep(&pause, NULL);
    return cf_future_get_state(f);
}

/* Holds every worker's two slots with gate tasks, so that what is submitted next stays queued on rank 0. */
static void hold_workers(cf_future **gates) {
    new_gate();
    for (size_t i = 0; i < 2 * workers; ++i)
        CHECK_INT(cf_submit_named(ex, "mpi.gate", gate_path, strlen(gate_path), &gates[i]), CF_OK);
    for (size_t i = 0; i < 2 * workers; ++i) CHECK_INT(wait_running(gates[i]), CF_RUNNING);
}
static void release_workers(cf_future **gates) {
    open_gate();
    cf_slice r;
    for (size_t i = 0; i < 2 * workers; ++i) {
        CHECK_INT(cf_future_result(gates[i], LONG_WAIT, &r), CF_OK);
        cf_future_release(gates[i]);
    }
    unlink(gate_path);
}

/* ---- tests */

static void results(void) {
    cf_future *fs[16];
    for (uint64_t i = 0; i < 16; ++i) CHECK_INT(cf_submit_named(ex, "mpi.square", &i, sizeof i, &fs[i]), CF_OK);
    for (uint64_t i = 0; i < 16; ++i) {
        CHECK_INT(check_u64_of(fs[i]), i * i);
        cf_future_release(fs[i]);
    }
    cf_future *f = NULL;
    uint64_t seven = 7;
    CHECK_INT(cf_submit(ex, square, NULL, &seven, sizeof seven, &f), CF_OK);
    CHECK_INT(check_u64_of(f), 49);
    cf_future_release(f);
}

static void a_task_that_raises(void) {
    cf_future *f = NULL;
    CHECK_INT(cf_submit_named(ex, "mpi.divide_by_zero", NULL, 0, &f), CF_OK);
    cf_error e;
    check_remote_failure(f, "ZeroDivisionError", "integer division or modulo by zero", &e);
    CHECK_CONTAINS(e.detail, "MPI rank");
    CHECK_CONTAINS(e.detail, "mpi.divide_by_zero");
    cf_future_release(f);
    cf_future *none = NULL;
    if (!own_program) {
        CHECK_FAILS(cf_submit_named(ex, "mpi.no_such_task", NULL, 0, &none), CF_E_UNKNOWN_TASK, "mpi.no_such_task");
        CHECK(none == NULL);
        return;
    }
    /* A worker_program has a registry of its own: the worker reports the unknown name on the future. */
    CHECK_INT(cf_submit_named(ex, "mpi.no_such_task", NULL, 0, &none), CF_OK);
    CHECK_INT(cf_future_exception(none, LONG_WAIT, &e), CF_OK);
    CHECK_INT(e.status, CF_E_UNKNOWN_TASK);
    CHECK_CONTAINS(e.message, "mpi.no_such_task");
    cf_future_release(none);
}

static void map_in_order(void) {
    uint64_t want[50];
    for (uint64_t i = 0; i < 50; ++i) want[i] = i * i;
    size_t sizes[] = {1, 4, 7, 100};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) check_map_u64(ex, "mpi.square", 50, sizes[k], want);
    /* Item 10's argument is too short: the chunk of items 8..11 fails as a whole, as in CPython. */
    check_map_failure(ex, "mpi.square", 50, 10, 4, 8);
}

static void wait_and_as_completed(void) {
    enum { N = 12 };
    cf_future *fs[N];
    for (uint64_t i = 0; i < N; ++i) CHECK_INT(cf_submit_named(ex, "mpi.square", &i, sizeof i, &fs[i]), CF_OK);
    check_wait_and_as_completed(fs, N);
    for (int i = 0; i < N; ++i) cf_future_release(fs[i]);
}

/* A large argument (64 MiB) on its way does not hold up small tasks: they all finish, with the right answers. */
static void large_beside_small(void) {
    size_t big_len = (size_t)64 << 20;
    char *big = (char *)calloc(big_len, 1);
    cf_future *large = NULL, *small[8];
    CHECK_INT(cf_submit_named(ex, "mpi.length", big, big_len, &large), CF_OK);
    free(big); /* copied at submit */
    for (uint64_t i = 0; i < 8; ++i) CHECK_INT(cf_submit_named(ex, "mpi.square", &i, sizeof i, &small[i]), CF_OK);
    for (uint64_t i = 0; i < 8; ++i) {
        CHECK_INT(check_u64_of(small[i]), i * i);
        cf_future_release(small[i]);
    }
    CHECK_INT(check_u64_of(large), big_len);
    cf_future_release(large);
}

/* Arguments and results on either side of the sizes that travel straight into a receive the far end keeps posted
 * (64 KiB of task message, 16 KiB of result message: past them a message is announced and sent on its own), all
 * in flight at once beside small tasks: each comes back whole, byte for byte. */
static void sizes_around_the_posted_receives(void) {
    static const size_t sizes[] = {0, 1, 16 * 1024 - 40, 16 * 1024 - 16, 16 * 1024, 16 * 1024 + 1, 40000,
                                   64 * 1024 - 64, 64 * 1024 - 24, 64 * 1024, 64 * 1024 + 1, 300000, (size_t)4 << 20};
    enum { N = sizeof sizes / sizeof sizes[0] };
    cf_future *echoed[N], *small[N];
    char *bytes[N];
    for (size_t i = 0; i < N; ++i) {
        bytes[i] = (char *)malloc(sizes[i] + 1);
        for (size_t k = 0; k < sizes[i]; ++k) bytes[i][k] = (char)(k * 131 + i);
        CHECK_INT(cf_submit_named(ex, "mpi.echo", bytes[i], sizes[i], &echoed[i]), CF_OK);
        uint64_t n = i;
        CHECK_INT(cf_submit_named(ex, "mpi.square", &n, sizeof n, &small[i]), CF_OK);
    }
    for (size_t i = 0; i < N; ++i) {
        cf_slice r = {NULL, 0};
        CHECK_INT(cf_future_result(echoed[i], LONG_WAIT, &r), CF_OK);
        if (CHECK(r.len == sizes[i])) CHECK(sizes[i] == 0 || memcmp(r.data, bytes[i], sizes[i]) == 0);
        CHECK_INT(check_u64_of(small[i]), (uint64_t)(i * i));
        cf_future_release(echoed[i]);
        cf_future_release(small[i]);
        free(bytes[i]);
    }
}

static void cancel_a_queued_task(void) {
    cf_future *gates[64];
    hold_workers(gates);
    uint64_t three = 3;
    cf_future *queued = NULL, *kept = NULL;
    CHECK_INT(cf_submit_named(ex, "mpi.square", &three, sizeof three, &queued), CF_OK);
    CHECK_INT(cf_submit_named(ex, "mpi.square", &three, sizeof three, &kept), CF_OK);
    CHECK_INT(cf_future_cancel(queued), 1);
    CHECK_INT(cf_future_cancelled(queued), 1);
    CHECK_INT(check_stats_of(ex).workers, workers);
    release_workers(gates);
    CHECK_INT(check_u64_of(kept), 9);
    cf_slice r;
    CHECK_INT(cf_future_result(queued, 0, &r), CF_E_CANCELLED);
    cf_future_release(queued);
    cf_future_release(kept);
}

/* Last: shutdown(wait=0, cancel_futures=1) cancels what is queued; the running gates finish; later submits fail. */
static void shutdown_cancels_queued(void) {
    cf_future *gates[64], *queued[5];
    hold_workers(gates);
    uint64_t two = 2;
    for (int i = 0; i < 5; ++i) CHECK_INT(cf_submit_named(ex, "mpi.square", &two, sizeof two, &queued[i]), CF_OK);
    CHECK_INT(cf_executor_shutdown(ex, 0, 1), CF_OK);
    for (int i = 0; i < 5; ++i) CHECK_INT(cf_future_cancelled(queued[i]), 1);
    cf_future *late = NULL;
    CHECK_FAILS(cf_submit_named(ex, "mpi.square", &two, sizeof two, &late), CF_E_SHUTDOWN, "shutdown");
    release_workers(gates);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    cf_executor_stats s = check_stats_of(ex);
    CHECK_INT(s.cancelled >= 5, 1);
    CHECK_INT(s.running, 0);
    for (int i = 0; i < 5; ++i) cf_future_release(queued[i]);
}

/* Run with CFUTURES_MPI_FAULT_AT_SEND=3: the third task's send fails as an MPI error would, which breaks the pool.
 * Its future and the queued ones fail with CF_E_BROKEN_PROCESS_POOL and MPI's text; later submits fail alike;
 * the workers are told to stop, so that the job ends. */
static void an_mpi_error_breaks_the_pool(void) {
    uint64_t two = 2;
    for (int i = 0; i < 2; ++i) {
        cf_future *ok = NULL;
        CHECK_INT(cf_submit_named(ex, "mpi.square", &two, sizeof two, &ok), CF_OK);
        CHECK_INT(check_u64_of(ok), 4);
        cf_future_release(ok);
    }
    cf_future *broken = NULL;
    CHECK_INT(cf_submit_named(ex, "mpi.square", &two, sizeof two, &broken), CF_OK);
    cf_error e;
    CHECK_INT(cf_future_exception(broken, LONG_WAIT, &e), CF_OK);
    CHECK_INT(e.status, CF_E_BROKEN_PROCESS_POOL);
    CHECK_STR(e.type, "BrokenExecutor");
    CHECK_CONTAINS(e.message, "MPI_Isend");
    cf_future_release(broken);
    cf_future *late = NULL;
    CHECK_FAILS(cf_submit_named(ex, "mpi.square", &two, sizeof two, &late), CF_E_BROKEN_PROCESS_POOL, "MPI_Isend");
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
}

static void bad_options(void) {
    cf_mpi_pool_options o;
    cf_executor *none = NULL;
    CHECK_INT(cf_mpi_pool_new(NULL, NULL), CF_E_INVALID_ARGUMENT);
    cf_mpi_pool_options_init(&o);
    o.mode = 7;
    CHECK_FAILS(cf_mpi_pool_new(&o, &none), CF_E_INVALID_ARGUMENT, "unknown mode 7");
    cf_mpi_pool_options_init(&o);
    o.struct_size = CF_MPI_POOL_OPTIONS_V1_SIZE - 1;
    CHECK_FAILS(cf_mpi_pool_new(&o, &none), CF_E_INVALID_ARGUMENT, "struct_size");
    cf_mpi_pool_options_init(&o);
    o.mode = CF_MPI_SPAWN;
    o.max_workers = -1;
    CHECK_FAILS(cf_mpi_pool_new(&o, &none), CF_E_INVALID_ARGUMENT, "max_workers");
    CHECK(none == NULL);
    cf_mpi_pool_options_init(NULL); /* harmless */
}

int main(int argc, char **argv) {
    cf_mpi_worker_entry(); /* a spawned worker serves here and never returns */
    if (cf_mpi_init(&argc, &argv) != CF_OK) {
        fprintf(stderr, "cf_mpi_init: %s\n", cf_last_error());
        return 1;
    }
    bad_options(); /* every rank: the checks come before any collective call */
    cf_mpi_pool_options o;
    cf_mpi_pool_options_init(&o);
    if (argc > 1 && strcmp(argv[1], "spawn") == 0) {
        o.mode = CF_MPI_SPAWN;
        o.max_workers = argc > 2 ? atoi(argv[2]) : 2;
        own_program = argc > 3 && strcmp(argv[3], "program") == 0;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (own_program && CHECK(n > 0)) {
        self[n] = '\0';
        o.worker_program = self;
    }
    if (cf_mpi_pool_new(&o, &ex) != CF_OK) { /* in world mode, ranks 1..N-1 never return from it */
        fprintf(stderr, "cf_mpi_pool_new: %s\n", cf_last_error());
        return 1;
    }
    workers = (size_t)check_stats_of(ex).max_workers;
    printf("%s mode, %zu workers\n", o.mode == CF_MPI_SPAWN ? "spawn" : "world", workers);
    if (argc > 2 && strcmp(argv[2], "broken") == 0) {
        an_mpi_error_breaks_the_pool();
        cf_executor_free(ex);
        return check_summary();
    }
    results();
    a_task_that_raises();
    map_in_order();
    wait_and_as_completed();
    large_beside_small();
    sizes_around_the_posted_receives();
    cancel_a_queued_task();
    if (argc > 2 && strcmp(argv[2], "unfreed") == 0) {
        /* The pool is left to the exit handler, with tasks in flight: it shuts the pool down (the workers end)
         * before MPI is finalised, or the job would hang or abort. */
        uint64_t three = 3;
        cf_future *f[4];
        for (int i = 0; i < 4; ++i) cf_submit_named(ex, "mpi.square", &three, sizeof three, &f[i]);
        return check_summary();
    }
    shutdown_cancels_queued();
    cf_executor_free(ex);
    return check_summary();
}
