// SPDX-License-Identifier: MIT
// A worker rank: receives tasks from rank 0, runs them by name (cf_task_run_named) and sends back what they
// returned or raised, until told to stop.
#include <cfutures/sys.h>

#include <sched.h>

#include <chrono>
#include <memory>
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "mpi_support.hpp"
#include "wire.hpp"

namespace cf::mpi {
namespace {

// A finished future's outcome as a result message: the bytes, or the failure with where it happened (and the
// task's name, when given: written only for a failure).
std::string reply_of(std::uint64_t id, cf_future *done, const std::string &where, const std::string *task = nullptr) {
    std::string reply;
    cf_slice r{nullptr, 0};
    if (cf_future_result(done, 0, &r) == CF_OK) {
        reply.reserve(sizeof(ResultHeader) + r.len);
        put_header(reply, ResultHeader{id, CF_OK, 0});
        reply.append(static_cast<const char *>(r.data), r.len);
        return reply;
    }
    cf_error e;
    cf_future_exception(done, 0, &e);
    put_header(reply, ResultHeader{id, e.status, 0});
    std::string place = task ? where + ", task '" + *task + "'" : where;
    std::string detail = e.detail && *e.detail ? std::string(e.detail) + " (" + place + ")" : place;
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
    if (!take_frames(packed, args)) return failed(id, CF_E_INVALID_ARGUMENT, "ValueError", "malformed chunk", where);
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
    std::string reply = reply_of(h.id, f, where, &name);
    cf_future_release(f);
    return reply;
}

bool report(const char *call, int rc) {
    if (rc == MPI_SUCCESS) return true;
    std::fprintf(stderr, "cfutures-mpi worker: %s\n", mpi_error_text(call, rc).c_str());
    return false;
}

// Results on their way home. Those of the short tasks of one task message wait here until its last task is done
// and go back together, in messages small enough for MPI to deliver at once (eagerly, without rank 0's help); a
// result that took a while to make, or a large one, goes at once. (Looking for more input first would cost a
// poll that, finding nothing, gives the CPU away on an oversubscribed node before the results leave.)
class Replies {
public:
    Replies(MPI_Comm comm, const std::string &where) : comm_(comm), where_(where) {}

    bool add(std::string reply, bool took_long) {
        ResultHeader h;
        std::string_view rest;
        if (reply.size() > INT_MAX && take_header(std::string_view(reply), h, rest))
            reply = failed(h.id, CF_E_TOO_LARGE, "TooLargeError", "a result larger than an MPI message (2 GiB)",
                           where_);
        if (reply.size() + 8 > kBatch) return flush() && send(reply, kTagResult);
        std::size_t packed = held_ == 1 ? 8 + first_.size() : batch_.size();
        if (held_ && packed + 8 + reply.size() > kBatch && !flush()) return false;
        if (held_ == 0) {
            first_ = std::move(reply);
        } else {
            if (held_ == 1) put_frame(batch_, first_);
            put_frame(batch_, reply);
        }
        ++held_;
        return took_long ? flush() : true;
    }

    bool flush() {
        if (held_ == 0) return true;
        bool ok = held_ == 1 ? send(first_, kTagResult) : send(batch_, kTagResults);
        held_ = 0;
        batch_.clear();
        return ok;
    }

private:
    // Below Open MPI's eager limit over shared memory (4 KiB with the headers).
    static constexpr std::size_t kBatch = 3800;

    bool send(const std::string &bytes, int tag) {
        if (bytes.size() > kResultPosted) {
            std::string a = announce_of(bytes.size(), tag);
            if (!report("MPI_Send", MPI_Send(a.data(), static_cast<int>(a.size()), MPI_BYTE, 0, kTagResultAnnounce,
                                             comm_)))
                return false;
            tag = kTagResultBody;
        }
        return report("MPI_Send", MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, tag, comm_));
    }

    MPI_Comm comm_;
    const std::string &where_;
    std::string first_, batch_;
    std::size_t held_ = 0;
};

// The worker's side of the messages from rank 0: a receive posted for the next message, into a buffer of
// kTaskPosted bytes, once the last one is dealt with.
class Inbox {
public:
    explicit Inbox(MPI_Comm comm) : comm_(comm), buffer_(new char[kTaskPosted]) {}

    bool post() {
        return report("MPI_Irecv", MPI_Irecv(buffer_.get(), static_cast<int>(kTaskPosted), MPI_BYTE, 0,
                                             MPI_ANY_TAG, comm_, &request_));
    }

    // Looks once for the next message: true with arrived set when one came (its bytes valid until the next post);
    // false after an MPI error. The next receive is posted by post(), once this message is dealt
    // with: a reply to it leaves first.
    bool look(bool &arrived, std::string_view &message, int &tag) {
        MPI_Status st;
        int flag = 0;
        arrived = false;
        if (!report("MPI_Test", MPI_Test(&request_, &flag, &st))) return false;
        if (!flag) return true;
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        message = std::string_view(buffer_.get(), static_cast<std::size_t>(n));
        tag = st.MPI_TAG;
        if (tag == kTagTaskAnnounce && !receive_body(message, tag)) return false;
        arrived = true;
        return true;
    }

private:
    // The body an announce speaks of, received before the next receive for any tag is posted.
    bool receive_body(std::string_view &message, int &tag) {
        Announce a;
        if (!take_announce(message, a)) {
            std::fprintf(stderr, "cfutures-mpi worker: a malformed announce of a large task\n");
            return false;
        }
        body_.resize(a.length);
        if (!report("MPI_Recv", MPI_Recv(body_.data(), static_cast<int>(a.length), MPI_BYTE, 0, kTagTaskBody, comm_,
                                         MPI_STATUS_IGNORE)))
            return false;
        message = body_;
        tag = a.tag;
        return true;
    }

    MPI_Comm comm_;
    std::unique_ptr<char[]> buffer_;
    MPI_Request request_ = MPI_REQUEST_NULL;
    std::string body_;
};

}  // namespace

bool serve(MPI_Comm comm) {
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    const std::string where = where_am_i();
    Backoff backoff;
    Replies replies(comm, where);
    Inbox inbox(comm);
    std::vector<std::string_view> tasks;
    if (!inbox.post()) return false;
    for (;;) {
        bool arrived = false;
        std::string_view message;
        int tag = 0;
        if (!inbox.look(arrived, message, tag)) return false;
        if (!arrived) {
            backoff.pause();
            continue;
        }
        backoff.reset();
        if (tag == kTagStop) return replies.flush();
        tasks.clear();
        if (tag == kTagTask)
            tasks.emplace_back(message);
        else if (tag != kTagTasks || !take_frames(message, tasks))
            tasks.clear();
        bool took_long = false;
        for (std::string_view t : tasks) {
            auto started = std::chrono::steady_clock::now();
            std::string reply = run_task(t, where);
            auto took = std::chrono::steady_clock::now() - started;
            set_micros(reply, std::chrono::duration_cast<std::chrono::microseconds>(took).count());
            took_long = took_long || took > kShortTask;
            if (!replies.add(std::move(reply), took > kShortTask)) return false;
        }
        // The replies leave before the next receive is posted: on the way of a lone task's round trip, that costs
        // the time of a post; a message that arrives meanwhile waits among MPI's unexpected ones.
        if (!replies.flush() || !inbox.post()) return false;
        // After a long task, the CPU is offered to whoever waits for it: on a node with more ranks than cores,
        // rank 0, woken to send this worker its next tasks, may otherwise wait for the scheduler's next tick
        // while the workers keep every core busy. (Nobody waiting: the call returns at once.)
        if (took_long) sched_yield();
    }
}

}  // namespace cf::mpi
