/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libcfutures_mpi: an executor whose workers are MPI ranks, running the same registered tasks (CF_TASK,
 * cf_task_register) as a process pool. Link with libcfutures_mpi (pkg-config cfutures-mpi, or
 * find_package(cfutures COMPONENTS mpi) and cfutures::mpi); the core library never links MPI.
 *
 * What it gives is an ordinary cf_executor: cf_submit_named, cf_map_named (with chunksize), cf_future_*, cf_wait,
 * cf_as_completed and cf_executor_shutdown work as on a process pool. Arguments and results travel as bytes in
 * MPI messages; one thread at a time makes the pool's MPI calls (a thread waiting on one of its futures, else the
 * pool's own), so MPI_THREAD_SERIALIZED is enough.
 *
 * Two modes, as mpi4py.futures:
 *  - CF_MPI_WORLD: the program is started with `mpiexec -n N prog`. On rank 0 cf_mpi_pool_new gives the executor
 *    (N - 1 workers); on every other rank it serves tasks, and when rank 0's pool shuts down it finalizes MPI
 *    and ends the process (exit status 0) without returning.
 *  - CF_MPI_SPAWN: cf_mpi_pool_new starts max_workers new processes of worker_program with MPI_Comm_spawn. The
 *    worker program calls cf_mpi_worker_entry() at the top of main, which serves tasks in a spawned worker and
 *    returns at once anywhere else.
 *
 * What MPI cannot survive: with most MPI libraries (Open MPI and MPICH without fault tolerance), a rank that dies
 * makes mpiexec end the whole job, rank 0 included, before the pool can report anything. An MPI call that fails
 * with an error (the pool sets MPI_ERRORS_RETURN on its communicators) breaks the pool instead: every pending
 * future fails with CF_E_BROKEN_PROCESS_POOL and the MPI error's text, later submits fail alike.
 */
#ifndef CFUTURES_MPI_H
#define CFUTURES_MPI_H

#include "cfutures.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How an MPI pool gets its workers. */
typedef enum cf_mpi_mode {
    CF_MPI_WORLD = 0, /**< the ranks of MPI_COMM_WORLD: rank 0 submits, ranks 1..N-1 serve */
    CF_MPI_SPAWN = 1, /**< max_workers processes started with MPI_Comm_spawn */
    CF_MPI_MODE_MAX_ENUM = 0x7FFFFFFF
} cf_mpi_mode;

/** How an MPI pool is made: set with cf_mpi_pool_options_init, then change fields. */
typedef struct cf_mpi_pool_options {
    size_t struct_size;         /**< sizeof(cf_mpi_pool_options), set by cf_mpi_pool_options_init */
    int mode;                   /**< a cf_mpi_mode; CF_MPI_WORLD by default */
    int max_workers;            /**< CF_MPI_SPAWN: how many workers (0: 1); CF_MPI_WORLD: checked to be 0..N-1,
                                     every rank but 0 serves */
    const char *worker_program; /**< CF_MPI_SPAWN: the program to start; NULL: this program (/proc/self/exe) */
} cf_mpi_pool_options;

/** The size of cf_mpi_pool_options as first published: the smallest struct_size accepted. */
#define CF_MPI_POOL_OPTIONS_V1_SIZE (offsetof(cf_mpi_pool_options, worker_program) + sizeof(const char *))

/**
 * Initialises MPI (MPI_Init_thread asking for MPI_THREAD_SERIALIZED) unless it is initialised already; then MPI
 * is finalised when the program exits. cf_mpi_pool_new calls it when the program did not.
 *
 * @param argc The address of main's argc, or NULL.
 * @param argv The address of main's argv, or NULL.
 * @return CF_OK; CF_E_SYSTEM when MPI fails to start, or was finalised already.
 */
CF_API int cf_mpi_init(int *argc, char ***argv);

/** Sets the defaults: mode CF_MPI_WORLD, max_workers 0, worker_program NULL. NULL does nothing. */
CF_API void cf_mpi_pool_options_init(cf_mpi_pool_options *o);

/**
 * Makes an MPI pool. In CF_MPI_WORLD mode, on a rank other than 0, it serves tasks and does not return.
 *
 * @param o The options; NULL means the defaults.
 * @param out Receives the executor (freed with cf_executor_free, which shuts down and waits).
 * @return CF_OK; CF_E_INVALID_ARGUMENT for invalid options (an unknown mode, a world of one rank,
 *         max_workers out of range); CF_E_INVALID_STATE when MPI gives less than MPI_THREAD_SERIALIZED, or a
 *         world pool was made before (its workers are gone); CF_E_SYSTEM when spawning fails (MPI's text).
 */
CF_API int cf_mpi_pool_new(const cf_mpi_pool_options *o, cf_executor **out);

/**
 * Call first thing in main (after explicit cf_task_register calls) in a program that is a CF_MPI_SPAWN pool's
 * worker program. In a process started by such a pool it initialises MPI, serves tasks until the pool shuts
 * down, finalises MPI and ends the process; anywhere else it returns CF_OK at once without touching MPI.
 *
 * @return CF_OK (when it returns).
 */
CF_API int cf_mpi_worker_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* CFUTURES_MPI_H */
