/* SPDX-License-Identifier: MIT */
/* The physical limit of a task's round trip over MPI: rank 0 sends a small message (the size of a task
 * descriptor) to rank 1, which sends it back, with plain MPI_Send / MPI_Recv. Prints `key value` lines.
 * Usage: mpiexec -n 2 mpi_pingpong [round_trips] [bytes] */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    int bytes = argc > 2 ? atoi(argv[2]) : 32;
    if (size < 2 || n < 1 || bytes < 1) {
        if (rank == 0) fprintf(stderr, "mpi_pingpong: needs 2 ranks or more, round_trips >= 1, bytes >= 1\n");
        MPI_Finalize();
        return 2;
    }
    char *buf = calloc((size_t)bytes, 1);
    double *samples = calloc((size_t)n, sizeof *samples);
    const int warmup = n / 10 + 10;
    for (int i = -warmup; i < n; ++i) {
        if (rank == 0) {
            double t0 = MPI_Wtime();
            MPI_Send(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (i >= 0) samples[i] = (MPI_Wtime() - t0) * 1e6;
        } else if (rank == 1) {
            MPI_Recv(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        }
    }
    if (rank == 0) {
        qsort(samples, (size_t)n, sizeof *samples, by_value);
        printf("pingpong_median_us %.3f\n", samples[n / 2]);
        printf("pingpong_p99_us %.3f\n", samples[(size_t)((double)n * 0.99)]);
    }
    free(samples);
    free(buf);
    MPI_Finalize();
    return 0;
}
