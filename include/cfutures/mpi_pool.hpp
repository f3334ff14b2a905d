// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: the MPI executor (libcfutures_mpi; link cfutures::mpi or pkg-config cfutures-mpi).
/// Header-only over the C ABI of <cfutures/mpi.h>; it includes no MPI header.
#ifndef CFUTURES_MPI_POOL_HPP
#define CFUTURES_MPI_POOL_HPP

#include <string>

#include "executor.hpp"
#include "mpi.h"

namespace cf {

namespace detail::serial {
/// @cond
// Typed tasks of any executor whose tasks run in other processes: defined in <cfutures/serialization.hpp>.
template <auto Fn, class... Args>
auto submit_typed(Executor &ex, Args &&...args);
/// @endcond
}  // namespace detail::serial

/// How an MPI pool gets its workers (the C ABI's cf_mpi_mode).
enum class MpiMode : int {
    World = 0,  ///< the ranks of `mpiexec -n N`: rank 0 submits, the others serve (and end with the pool)
    Spawn = 1   ///< max_workers new processes started with MPI_Comm_spawn (see mpi_worker_entry())
};

/// Runs registered byte-string tasks (cf_task_register / CF_TASK) on MPI ranks, as mpi4py.futures'
/// MPIPoolExecutor does for Python. Moving a program from a ProcessPoolExecutor to MPI changes only the executor's
/// construction: submit_named, map_bytes, typed submit<&fn>, futures, wait and as_completed stay as they are.
///
/// In World mode the constructor does not return on ranks other than 0: they serve tasks and end the process
/// when rank 0's pool shuts down. A failure in a task comes back as RemoteError; an MPI error breaks the pool
/// (BrokenProcessPool).
class MpiPoolExecutor : public Executor {
public:
    /// How the pool is made (the C ABI's cf_mpi_pool_options).
    struct Options {
        MpiMode mode = MpiMode::World;  ///< World: `mpiexec -n N prog`; Spawn: MPI_Comm_spawn
        int max_workers = 0;            ///< Spawn: how many workers (0: 1); World: 0..N-1 (every rank but 0 serves)
        std::string worker_program;     ///< Spawn: the program to start; empty: this program
    };

    /// A world pool (the program runs under mpiexec -n N, N >= 2).
    MpiPoolExecutor() : MpiPoolExecutor(Options{}) {}
    /// A pool with these options. Throws InvalidArgument for invalid options, InvalidStateError when MPI lacks
    /// MPI_THREAD_SERIALIZED, SystemError when spawning fails.
    explicit MpiPoolExecutor(const Options &options) : Executor(make(options), true) {}
    ~MpiPoolExecutor() override { close(); }

    /// The number of worker ranks.
    std::size_t max_workers() const { return static_cast<std::size_t>(stats().max_workers); }

    /// Typed tasks: runs fn(args...) on a worker rank, as ProcessPoolExecutor::submit<&fn> does (arguments and
    /// result through Boost.Serialization). Include <cfutures/serialization.hpp> where it is called.
    template <auto Fn, class... Args>
    auto submit(Args &&...args) {
        return detail::serial::submit_typed<Fn>(*this, std::forward<Args>(args)...);
    }

private:
    static cf_executor *make(const Options &options) {
        cf_mpi_pool_options o;
        cf_mpi_pool_options_init(&o);
        o.mode = static_cast<int>(options.mode);
        o.max_workers = options.max_workers;
        o.worker_program = options.worker_program.empty() ? nullptr : options.worker_program.c_str();
        cf_executor *ex = nullptr;
        detail::check(cf_mpi_pool_new(&o, &ex));
        return ex;
    }
};

/// MPI started with MPI_THREAD_SERIALIZED, unless it is already (the C ABI's cf_mpi_init).
inline void mpi_init(int *argc, char ***argv) { detail::check(cf_mpi_init(argc, argv)); }

/// At the top of main() in programs whose MPI pools spawn workers: in a spawned worker it serves tasks and ends
/// the process; anywhere else it returns at once (the C ABI's cf_mpi_worker_entry).
inline void mpi_worker_entry() { cf_mpi_worker_entry(); }

}  // namespace cf

#endif  // CFUTURES_MPI_POOL_HPP
