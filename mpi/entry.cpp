// SPDX-License-Identifier: MIT
// The C entry points of libcfutures_mpi: starting MPI, making a pool in either mode, and a spawned worker's
// entry.
#include <cfutures/mpi.h>
#include <cfutures/sys.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "mpi_support.hpp"
#include "pool.hpp"

using namespace cf::mpi;

namespace {

constexpr std::size_t kOptionsV1 = CF_MPI_POOL_OPTIONS_V1_SIZE;

// Whether this library started MPI (then it finalises it at exit), and whether a world pool was made (its
// workers end with its shutdown, so there is no second one).
bool g_started_mpi = false;
bool g_world_used = false;

void finalize_at_exit() {
    MpiPool::shutdown_all();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

// Called with mpi_lock() held.
int init_locked(int *argc, char ***argv) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized) return cf_provider_error(CF_E_SYSTEM, "cf_mpi_init: MPI was finalized already");
    if (initialized) return CF_OK;
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return cf_provider_error(CF_E_SYSTEM, mpi_error_text("MPI_Init_thread", rc).c_str());
    g_started_mpi = true;
    std::atexit(finalize_at_exit);
    return CF_OK;
}

bool started_as_worker() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t at = 0;
    while (at < all.size()) {
        std::size_t end = all.find('\0', at);
        if (end == std::string::npos) end = all.size();
        if (all.compare(at, end - at, kWorkerMarker) == 0) return true;
        at = end + 1;
    }
    return false;
}

std::string this_program() {
    std::vector<char> path(4096);
    ssize_t n = readlink("/proc/self/exe", path.data(), path.size() - 1);
    return n > 0 ? std::string(path.data(), static_cast<std::size_t>(n)) : std::string();
}

int fail(int status, const std::string &text) { return cf_provider_error(status, ("cf_mpi_pool_new: " + text).c_str()); }

int hand_out(MpiPool *pool, cf_executor **out) {
    return cf_executor_new_provided(&MpiPool::provider(), pool, out);  // destroys the pool when it fails
}

// World mode, with mpi_lock() held: rank 0 gets the pool; every other rank serves, then ends the process.
int world_pool(const cf_mpi_pool_options &o, cf_executor **out, std::unique_lock<std::mutex> &lock) {
    if (g_world_used) return fail(CF_E_INVALID_STATE, "a world pool was made before (its workers are gone)");
    MPI_Comm comm;
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    if (rc != MPI_SUCCESS) return fail(CF_E_SYSTEM, mpi_error_text("MPI_Comm_dup", rc));
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    int rank = 0, size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (size < 2 || o.max_workers < 0 || o.max_workers > size - 1) {
        MPI_Comm_free(&comm);
        return fail(CF_E_INVALID_ARGUMENT, "a world pool needs mpiexec -n N with N >= 2 and max_workers from 0 to "
                                           "N - 1 (N is " + std::to_string(size) + ", max_workers " +
                                           std::to_string(o.max_workers) + ")");
    }
    g_world_used = true;
    if (rank != 0) {
        lock.unlock();
        bool ok = serve(comm);
        if (ok) MPI_Comm_free(&comm);
        if (g_started_mpi || ok) finalize_at_exit();
        std::exit(ok ? 0 : 1);
    }
    std::vector<int> workers;
    for (int r = 1; r < size; ++r) workers.push_back(r);
    return hand_out(new MpiPool(comm, std::move(workers), false, true), out);
}

int spawn_pool(const cf_mpi_pool_options &o, cf_executor **out) {
    if (o.max_workers < 0) return fail(CF_E_INVALID_ARGUMENT, "max_workers is negative");
    int n = o.max_workers ? o.max_workers : 1;
    std::string program = o.worker_program ? o.worker_program : this_program();
    if (program.empty()) return fail(CF_E_SYSTEM, "cannot read /proc/self/exe (set worker_program)");
    char marker[64];
    std::snprintf(marker, sizeof marker, "%s", kWorkerMarker);
    char *argv[] = {marker, nullptr};
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    MPI_Comm inter;
    std::vector<int> errors(static_cast<std::size_t>(n), MPI_SUCCESS);
    int rc = MPI_Comm_spawn(program.c_str(), argv, n, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter, errors.data());
    if (rc != MPI_SUCCESS) return fail(CF_E_SYSTEM, mpi_error_text("MPI_Comm_spawn", rc) + " (" + program + ")");
    MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN);
    std::vector<int> workers;
    for (int r = 0; r < n; ++r) workers.push_back(r);
    return hand_out(new MpiPool(inter, std::move(workers), true, o.worker_program == nullptr), out);
}

}  // namespace

extern "C" {

CF_API int cf_mpi_init(int *argc, char ***argv) {
    std::lock_guard<std::mutex> lock(mpi_lock());
    return init_locked(argc, argv);
}

CF_API void cf_mpi_pool_options_init(cf_mpi_pool_options *o) {
    if (!o) return;
    std::memset(static_cast<void *>(o), 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->mode = CF_MPI_WORLD;
}

CF_API int cf_mpi_pool_new(const cf_mpi_pool_options *o, cf_executor **out) {
    if (!out) return cf_provider_error(CF_E_INVALID_ARGUMENT, "cf_mpi_pool_new: out is NULL");
    *out = nullptr;
    cf_mpi_pool_options opts;
    cf_mpi_pool_options_init(&opts);
    if (o) {
        if (o->struct_size < kOptionsV1) return fail(CF_E_INVALID_ARGUMENT, "options struct_size is too small "
                                                                            "(call cf_mpi_pool_options_init first)");
        std::memcpy(static_cast<void *>(&opts), o, std::min(o->struct_size, sizeof opts));
    }
    if (opts.mode != CF_MPI_WORLD && opts.mode != CF_MPI_SPAWN)
        return fail(CF_E_INVALID_ARGUMENT, "unknown mode " + std::to_string(opts.mode) +
                                               " (CF_MPI_WORLD or CF_MPI_SPAWN)");
    std::unique_lock<std::mutex> lock(mpi_lock());
    if (int rc = init_locked(nullptr, nullptr); rc != CF_OK) return rc;
    int level = 0;
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_SERIALIZED)
        return fail(CF_E_INVALID_STATE, "MPI gives less than MPI_THREAD_SERIALIZED (initialise it with "
                                        "cf_mpi_init, or MPI_Init_thread asking for it)");
    return opts.mode == CF_MPI_WORLD ? world_pool(opts, out, lock) : spawn_pool(opts, out);
}

CF_API int cf_mpi_worker_entry(void) {
    if (!started_as_worker()) return CF_OK;
    MPI_Comm parent = MPI_COMM_NULL;
    {
        std::lock_guard<std::mutex> lock(mpi_lock());
        if (init_locked(nullptr, nullptr) != CF_OK) std::exit(1);
        MPI_Comm_get_parent(&parent);
    }
    if (parent == MPI_COMM_NULL) return CF_OK;
    bool ok = serve(parent);
    if (ok) MPI_Comm_disconnect(&parent);
    finalize_at_exit();
    std::exit(ok ? 0 : 1);
}

}  // extern "C"
