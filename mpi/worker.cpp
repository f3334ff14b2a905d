// SPDX-License-Identifier: MIT
// A worker rank: receives tasks from rank 0, runs them by name (cf_task_run_named) and sends back what they
// returned or raised, until told to stop.
#include <cfutures/sys.h>

#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "mpi_support.hpp"
#include "wire.hpp"

namespace cf::mpi {
namespace {

// A finished future's outcome as a result message: the bytes, or the failure with where it happened.
std::string reply_of(std::uint64_t id, cf_future *done, const std::string &where) {
    cf_error e;
    cf_future_exception(done, 0, &e);
    std::string reply;
    put_header(reply, ResultHeader{id, e.status, 0});
    if (e.status == CF_OK) {
        cf_slice r{nullptr, 0};
        cf_future_result(done, 0, &r);
        reply.append(static_cast<const char *>(r.data), r.len);
        return reply;
    }
    std::string detail = e.detail && *e.detail ? std::string(e.detail) + " (" + where + ")" : where;
    reply += failure_payload(e.type, e.message, detail.c_str());
    return reply;
}

// Runs one task into a new future; the caller releases it.
cf_future *run_one(const std::string &name, std::string_view arg) {
    cf_future *f = nullptr;
    if (cf_future_new(&f) != CF_OK) return nullptr;
    cf_task_run_named(name.c_str(), arg.data(), arg.size(), f);
    return f;
}

// A chunk's arguments, unpacked from the layout cf_chunk_results_pack writes.
bool unpack(std::string_view packed, std::vector<std::string_view> &items) {
    while (!packed.empty()) {
        if (packed.size() < 8) return false;
        std::uint64_t n = 0;
        for (int i = 0; i < 8; ++i) n |= std::uint64_t(static_cast<unsigned char>(packed[i])) << (8 * i);
        packed.remove_prefix(8);
        if (n > packed.size()) return false;
        items.push_back(packed.substr(0, n));
        packed.remove_prefix(n);
    }
    return true;
}

std::string failed(std::uint64_t id, int status, const char *type, const std::string &message,
                   const std::string &where) {
    std::string reply;
    put_header(reply, ResultHeader{id, status, 0});
    reply += failure_payload(type, message.c_str(), where.c_str());
    return reply;
}

// Runs each item in turn; the first failure is the chunk's, else the results packed.
std::string run_chunk(std::uint64_t id, const std::string &name, std::string_view packed, const std::string &where) {
    std::vector<std::string_view> args;
    if (!unpack(packed, args)) return failed(id, CF_E_INVALID_ARGUMENT, "ValueError", "malformed chunk", where);
    std::vector<cf_future *> done;
    std::vector<cf_slice> results;
    std::string reply;
    for (std::string_view a : args) {
        cf_future *f = run_one(name, a);
        if (!f) {
            reply = failed(id, CF_E_NO_MEMORY, "MemoryError", "out of memory", where);
            break;
        }
        done.push_back(f);
        cf_slice r{nullptr, 0};
        if (cf_future_result(f, 0, &r) != CF_OK) {
            reply = reply_of(id, f, where);
            break;
        }
        results.push_back(r);
    }
    if (reply.empty()) {
        std::size_t len = 0;
        cf_chunk_results_pack(results.data(), results.size(), nullptr, 0, &len);
        put_header(reply, ResultHeader{id, 0, 0});
        std::size_t at = reply.size();
        reply.resize(at + len);
        cf_chunk_results_pack(results.data(), results.size(), &reply[at], len, &len);
    }
    for (cf_future *f : done) cf_future_release(f);
    return reply;
}

std::string run_task(std::string_view message, const std::string &where) {
    TaskHeader h;
    std::string_view rest;
    if (!take_header(message, h, rest) || h.name_len > rest.size())
        return failed(0, CF_E_INVALID_ARGUMENT, "ValueError", "malformed task message", where);
    std::string name(rest.substr(0, h.name_len));
    std::string_view arg = rest.substr(h.name_len);
    if (h.kind == kChunk) return run_chunk(h.id, name, arg, where);
    cf_future *f = run_one(name, arg);
    if (!f) return failed(h.id, CF_E_NO_MEMORY, "MemoryError", "out of memory", where);
    std::string reply = reply_of(h.id, f, where + ", task '" + name + "'");
    cf_future_release(f);
    return reply;
}

bool report(const char *call, int rc) {
    if (rc == MPI_SUCCESS) return true;
    std::fprintf(stderr, "cfutures-mpi worker: %s\n", mpi_error_text(call, rc).c_str());
    return false;
}

}  // namespace

bool serve(MPI_Comm comm) {
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    const std::string where = where_am_i();
    Backoff backoff;
    std::string buffer;
    for (;;) {
        int flag = 0;
        MPI_Message msg;
        MPI_Status st;
        if (!report("MPI_Improbe", MPI_Improbe(0, MPI_ANY_TAG, comm, &flag, &msg, &st))) return false;
        if (!flag) {
            backoff.pause();
            continue;
        }
        backoff.reset();
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        buffer.resize(static_cast<std::size_t>(n));
        if (!report("MPI_Mrecv", MPI_Mrecv(&buffer[0], n, MPI_BYTE, &msg, MPI_STATUS_IGNORE))) return false;
        if (st.MPI_TAG == kTagStop) return true;
        if (st.MPI_TAG != kTagTask) continue;
        std::string reply = run_task(buffer, where);
        ResultHeader h;
        std::string_view rest;
        if (reply.size() > INT_MAX && take_header(std::string_view(reply), h, rest))
            reply = failed(h.id, CF_E_TOO_LARGE, "TooLargeError", "a result larger than an MPI message (2 GiB)", where);
        if (!report("MPI_Send", MPI_Send(reply.data(), static_cast<int>(reply.size()), MPI_BYTE, 0, kTagResult, comm)))
            return false;
    }
}

}  // namespace cf::mpi
