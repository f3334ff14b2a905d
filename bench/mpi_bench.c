/* SPDX-License-Identifier: MIT */
/* The MPI executor against the physical limit, in one run (world mode):
 *     mpiexec -n N ./mpi_bench [empty_tasks] [round_trips] [cpu_tasks_per_worker]
 * First raw MPI ping-pong between rank 0 and rank 1 (MPI_Send / MPI_Recv of 8 bytes): the floor of a round trip.
 * Then, through libcfutures_mpi: empty tasks (submitted all at once, per task), one task at a time (the round
 * trip of submit + result), and 1 ms CPU tasks (elapsed against the ideal: tasks x 1 ms / workers).
 * Prints "name value unit" lines that scripts/bench_mpi.sh puts beside mpi4py.futures. */
#define _POSIX_C_SOURCE 200809L
#include <cfutures/mpi.h>
#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int empty(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return CF_OK;
}
CF_TASK("bench.empty", empty);

/* Keeps the CPU busy for 1 ms. */
static int spin_1ms(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    double end = now() + 1e-3;
    volatile uint64_t x = 0;
    while (now() < end) ++x;
    return CF_OK;
}
CF_TASK("bench.spin_1ms", spin_1ms);

/* Times of single round trips, in seconds: their mean, median and 99th percentile. */
struct timings {
    double mean, median, p99;
};

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts times[0..n) (n > 0) and sums them up. */
static struct timings summarise(double *times, int n) {
    struct timings t = {0, 0, 0};
    for (int i = 0; i < n; ++i) t.mean += times[i];
    t.mean /= n;
    qsort(times, (size_t)n, sizeof *times, by_value);
    t.median = times[n / 2];
    t.p99 = times[(n * 99) / 100];
    return t;
}

/* Rank 0 and rank 1 bounce 8 bytes; the others wait at the barrier, asleep between looks, so that they take no
 * core from the two (with more ranks than cores, a rank spinning in MPI_Barrier would). Times per round trip, as
 * rank 0 sees them. */
static struct timings ping_pong(int rank, int rounds) {
    uint64_t word = 0;
    double *times = (double *)calloc((size_t)rounds, sizeof *times);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < rounds && rank < 2; ++i) {
        if (rank == 0) {
            double t0 = now();
            MPI_Send(&word, sizeof word, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
            MPI_Recv(&word, sizeof word, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            times[i] = now() - t0;
        } else {
            MPI_Recv(&word, sizeof word, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(&word, sizeof word, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
        }
    }
    struct timings per = summarise(times, rounds);
    free(times);
    MPI_Request done_req;
    MPI_Ibarrier(MPI_COMM_WORLD, &done_req);
    struct timespec pause = {0, 100000};
    for (int done = 0; !done;) {
        MPI_Test(&done_req, &done, MPI_STATUS_IGNORE);
        if (!done && rank >= 2) nanosleep(&pause, NULL);
    }
    return per;
}

/* n tasks submitted at once, then waited for: seconds for all. */
static double burst(cf_executor *ex, const char *task, int n) {
    cf_future **fs = (cf_future **)calloc((size_t)n, sizeof *fs);
    double t0 = now();
    for (int i = 0; i < n; ++i)
        if (cf_submit_named(ex, task, NULL, 0, &fs[i]) != CF_OK) {
            fprintf(stderr, "submit: %s\n", cf_last_error());
            exit(1);
        }
    cf_slice r;
    for (int i = 0; i < n; ++i) cf_future_result(fs[i], -1, &r);
    double elapsed = now() - t0;
    for (int i = 0; i < n; ++i) cf_future_release(fs[i]);
    free(fs);
    return elapsed;
}

static struct timings round_trip(cf_executor *ex, int rounds) {
    double *times = (double *)calloc((size_t)rounds, sizeof *times);
    for (int i = 0; i < rounds; ++i) {
        cf_future *f = NULL;
        cf_slice r;
        double t0 = now();
        cf_submit_named(ex, "bench.empty", NULL, 0, &f);
        cf_future_result(f, -1, &r);
        times[i] = now() - t0;
        cf_future_release(f);
    }
    struct timings per = summarise(times, rounds);
    free(times);
    return per;
}

int main(int argc, char **argv) {
    cf_mpi_init(&argc, &argv);
    int n_empty = argc > 1 ? atoi(argv[1]) : 20000;
    int n_round = argc > 2 ? atoi(argv[2]) : 2000;
    int per_worker = argc > 3 ? atoi(argv[3]) : 200;
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    struct timings pp = ping_pong(rank, n_round);
    cf_executor *ex = NULL;
    if (cf_mpi_pool_new(NULL, &ex) != CF_OK) { /* ranks 1..N-1 serve inside */
        fprintf(stderr, "cf_mpi_pool_new: %s\n", cf_last_error());
        return 1;
    }
    int workers = size - 1;
    burst(ex, "bench.empty", 1000); /* warm-up */
    double per_empty = burst(ex, "bench.empty", n_empty) / n_empty;
    struct timings rt = round_trip(ex, n_round);
    int n_cpu = per_worker * workers;
    double cpu = burst(ex, "bench.spin_1ms", n_cpu);
    double ideal = n_cpu * 1e-3 / workers;
    printf("ranks %d\n", size);
    printf("workers %d\n", workers);
    printf("mpi_ping_pong_us %.2f\n", pp.mean * 1e6);
    printf("mpi_ping_pong_median_us %.2f\n", pp.median * 1e6);
    printf("mpi_ping_pong_p99_us %.2f\n", pp.p99 * 1e6);
    printf("empty_task_us %.2f\n", per_empty * 1e6);
    printf("round_trip_us %.2f\n", rt.mean * 1e6);
    printf("round_trip_median_us %.2f\n", rt.median * 1e6);
    printf("round_trip_p99_us %.2f\n", rt.p99 * 1e6);
    printf("cpu_1ms_tasks %d\n", n_cpu);
    printf("cpu_1ms_elapsed_s %.4f\n", cpu);
    printf("cpu_1ms_efficiency %.3f\n", ideal / cpu);
    cf_executor_free(ex);
    return 0;
}
