// SPDX-License-Identifier: MIT
// The messages between an MPI pool's rank 0 and its workers. Every message is bytes (MPI_BYTE) with a tag:
//   task    rank 0 -> worker: TaskHeader, the task's name, then the argument (a chunk's arguments packed as
//           cf_chunk_results_pack packs results)
//   result  worker -> rank 0: ResultHeader, then the result bytes (a chunk's packed), or for a failure its type,
//           message and detail, each ended by a NUL
//   stop    rank 0 -> worker: no bytes; the worker leaves its loop
// The headers are native-endian: the ranks of one pool run the same kind of machine. Internal to libcfutures_mpi.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cf::mpi {

enum Tag : int { kTagTask = 0x4346, kTagResult = 0x4347, kTagStop = 0x4348 };
enum TaskKind : std::uint32_t { kSingle = 0, kChunk = 1 };

struct TaskHeader {
    std::uint64_t id;
    std::uint32_t kind;
    std::uint32_t name_len;
};

struct ResultHeader {
    std::uint64_t id;
    std::int32_t status;  // 0: the payload is the result; negative: a failure's strings
    std::uint32_t reserved;
};

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
