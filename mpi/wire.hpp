// SPDX-License-Identifier: MIT
// The messages between an MPI pool's rank 0 and its workers. Every message is bytes (MPI_BYTE) with a tag:
//   task    rank 0 -> worker: TaskHeader, the task's name, then the argument (a chunk's arguments packed as
//           cf_chunk_results_pack packs results)
//   result  worker -> rank 0: ResultHeader, then the result bytes (a chunk's packed), or for a failure its type,
//           message and detail, each ended by a NUL
//   tasks   rank 0 -> worker: several small task messages in one, as frames (below), run in order
//   results worker -> rank 0: several result messages in one, as frames
//   stop    rank 0 -> worker: no bytes; the worker leaves its loop
//   task announce, result announce: a message too large for the receive the far end keeps posted (kTaskPosted,
//           kResultPosted) follows with the body tag of its direction: its length (8 bytes) and the tag it would
//           have had (4 bytes)
// Each end keeps a receive posted for the other's next message (any tag): a message that finds its receive
// waiting is delivered straight into it, without a look through MPI's queue of unexpected messages, which costs
// more than the transfer of a small message. A body is received by a receive posted for its tag alone, before
// the end posts its next receive for any tag, so that the two never match each other's message.
// A frame is its length as 8 bytes little-endian, then its bytes: the layout of cf_chunk_results_pack, so that a
// chunk's packed arguments are read the same way.
// The headers are native-endian: the ranks of one pool run the same kind of machine. Internal to libcfutures_mpi.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cf::mpi {

enum Tag : int {
    kTagTask = 0x4346,
    kTagResult = 0x4347,
    kTagStop = 0x4348,
    kTagTasks = 0x4349,
    kTagResults = 0x434a,
    kTagTaskAnnounce = 0x434b,
    kTagTaskBody = 0x434c,
    kTagResultAnnounce = 0x434d,
    kTagResultBody = 0x434e,
};

// The largest message sent as it is, into the receive posted for it: tasks (rank 0 sends batches of up to this
// size) and results (a worker's batches are smaller still).
inline constexpr std::size_t kTaskPosted = 64 * 1024;
inline constexpr std::size_t kResultPosted = 16 * 1024;

struct Announce {
    std::uint64_t length;  // of the body that follows
    std::int32_t tag;      // what the body would have been sent as
    std::uint32_t unused;
};
enum TaskKind : std::uint32_t { kSingle = 0, kChunk = 1 };

struct TaskHeader {
    std::uint64_t id;
    std::uint32_t kind;
    std::uint32_t name_len;
};

struct ResultHeader {
    std::uint64_t id;
    std::int32_t status;  // 0: the payload is the result; negative: a failure's strings
    std::uint32_t micros;  // how long the task ran on its worker, in microseconds (saturated)
};

// Writes the task's running time into a result message's header.
inline void set_micros(std::string &result, std::uint64_t micros) {
    std::uint32_t m = micros > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(micros);
    if (result.size() >= sizeof(ResultHeader)) std::memcpy(&result[offsetof(ResultHeader, micros)], &m, sizeof m);
}

template <class Header>
void put_header(std::string &out, const Header &h) {
    out.append(reinterpret_cast<const char *>(&h), sizeof h);
}

// The header at the front of bytes, and what follows it; false when bytes are too short.
template <class Header>
bool take_header(std::string_view bytes, Header &h, std::string_view &rest) {
    if (bytes.size() < sizeof h) return false;
    std::memcpy(&h, bytes.data(), sizeof h);
    rest = bytes.substr(sizeof h);
    return true;
}

// The announce of a body of length bytes that would have been sent with tag.
inline std::string announce_of(std::size_t length, int tag) {
    std::string out;
    put_header(out, Announce{length, tag, 0});
    return out;
}

// An announce read back; false when it is malformed or speaks of more than one MPI message carries (INT_MAX).
inline bool take_announce(std::string_view message, Announce &a) {
    std::string_view rest;
    return take_header(message, a, rest) && a.length <= INT_MAX;
}

inline void put_frame(std::string &out, std::string_view frame) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((std::uint64_t(frame.size()) >> (8 * i)) & 0xff));
    out.append(frame);
}

// The frames of packed bytes, in order; false when the bytes are not such a packing.
inline bool take_frames(std::string_view packed, std::vector<std::string_view> &frames) {
    while (!packed.empty()) {
        if (packed.size() < 8) return false;
        std::uint64_t n = 0;
        for (int i = 0; i < 8; ++i) n |= std::uint64_t(static_cast<unsigned char>(packed[i])) << (8 * i);
        packed.remove_prefix(8);
        if (n > packed.size()) return false;
        frames.push_back(packed.substr(0, n));
        packed.remove_prefix(n);
    }
    return true;
}

// A failure's three strings, as a result's payload.
inline std::string failure_payload(const char *type, const char *message, const char *detail) {
    std::string out;
    for (const char *s : {type, message, detail}) {
        out.append(s ? s : "");
        out.push_back('\0');
    }
    return out;
}

// The next NUL-ended string of a failure's payload (all that is left when there is no NUL).
inline std::string take_string(std::string_view &rest) {
    std::size_t end = rest.find('\0');
    std::string s(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    return s;
}

}  // namespace cf::mpi
