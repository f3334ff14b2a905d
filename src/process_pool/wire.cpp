// SPDX-License-Identifier: MIT
#include "process_pool/wire.hpp"

#include <cstring>

namespace cf::core::wire {
namespace {

// Little helpers over a byte string: fixed-width integers in the machine's order (both ends are this machine).
template <class Int>
void put(std::string &out, Int v) {
    out.append(reinterpret_cast<const char *>(&v), sizeof v);
}
void put_bytes(std::string &out, std::string_view b) {
    put<std::uint64_t>(out, b.size());
    out.append(b.data(), b.size());
}

class Reader {
public:
    explicit Reader(std::string_view b) : rest_(b) {}
    template <class Int>
    bool get(Int &v) {
        if (rest_.size() < sizeof v) return false;
        std::memcpy(&v, rest_.data(), sizeof v);
        rest_.remove_prefix(sizeof v);
        return true;
    }
    bool get_bytes(std::string_view &b) {
        std::uint64_t len;
        if (!get(len) || len > rest_.size()) return false;
        b = rest_.substr(0, static_cast<std::size_t>(len));
        rest_.remove_prefix(static_cast<std::size_t>(len));
        return true;
    }
    bool at_end() const { return rest_.empty(); }

private:
    std::string_view rest_;
};

bool known_failure_status(std::int32_t s) { return s <= -1 && s >= -13; }

void put_failure(std::string &out, const Failure &f) {
    put<std::int32_t>(out, static_cast<std::int32_t>(f.status));
    put_bytes(out, f.type);
    put_bytes(out, f.message);
    put_bytes(out, f.detail);
}

bool get_failure(Reader &r, Failure &f) {
    std::int32_t status;
    std::string_view type, message, detail;
    if (!r.get(status) || !known_failure_status(status)) return false;
    if (!r.get_bytes(type) || !r.get_bytes(message) || !r.get_bytes(detail)) return false;
    f.status = static_cast<Status>(status);
    f.type = std::string(type);
    f.message = std::string(message);
    f.detail = std::string(detail);
    return true;
}

}  // namespace

std::string encode_failure(const Failure &f) {
    std::string out;
    put_failure(out, f);
    return out;
}

std::optional<Failure> decode_failure(std::string_view bytes) {
    Reader r(bytes);
    Failure f;
    if (!get_failure(r, f) || !r.at_end()) return std::nullopt;
    return f;
}

std::string encode_chunk_args(const std::vector<std::string_view> &args) {
    std::string out;
    put<std::uint64_t>(out, args.size());
    for (std::string_view a : args) put_bytes(out, a);
    return out;
}

std::optional<std::vector<std::string_view>> decode_chunk_args(std::string_view bytes) {
    Reader r(bytes);
    std::uint64_t n;
    // Each argument takes at least its 8-byte length, which bounds n before anything is reserved.
    if (!r.get(n) || n > bytes.size() / 8) return std::nullopt;
    std::vector<std::string_view> args(static_cast<std::size_t>(n));
    for (auto &a : args)
        if (!r.get_bytes(a)) return std::nullopt;
    if (!r.at_end()) return std::nullopt;
    return args;
}

std::string encode_chunk_results(const ChunkResults &c) {
    std::string out;
    put<std::uint64_t>(out, c.results.size());
    for (const std::string &s : c.results) put_bytes(out, s);
    put<std::uint8_t>(out, c.failure ? 1 : 0);
    if (c.failure) put_failure(out, *c.failure);
    return out;
}

std::optional<ChunkResults> decode_chunk_results(std::string_view bytes) {
    Reader r(bytes);
    std::uint64_t n;
    if (!r.get(n) || n > bytes.size() / 8) return std::nullopt;
    ChunkResults c;
    c.results.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string_view s;
        if (!r.get_bytes(s)) return std::nullopt;
        c.results.emplace_back(s);
    }
    std::uint8_t has_failure;
    if (!r.get(has_failure) || has_failure > 1) return std::nullopt;
    if (has_failure) {
        Failure f;
        if (!get_failure(r, f)) return std::nullopt;
        c.failure = std::move(f);
    }
    if (!r.at_end()) return std::nullopt;
    return c;
}

}  // namespace cf::core::wire
