// SPDX-License-Identifier: MIT
// fuzz_wire: the decoders of the byte formats a worker writes into shared memory (src/process_pool/wire.cpp):
// a failure record, a map chunk's arguments and a chunk's results.
//
// Input: one selector byte, then the bytes handed to the decoder.
//   selector % 4 == 0: decode_failure          1: decode_chunk_args          2: decode_chunk_results
//   selector % 4 == 3: the encoders: a structure built from the bytes is encoded, decoded, compared.
// Properties: a decoder never reads outside its input (ASan: the input is an exact-size heap copy), never
// allocates more than its input can describe, and a successful decode re-encodes to exactly the input (the
// formats have one encoding per value, and the decoders refuse trailing bytes).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "process_pool/wire.hpp"

using namespace cf::core;

#include "fuzz_check.hpp"

namespace {

bool same_failure(const Failure &a, const Failure &b) {
    return a.status == b.status && a.type == b.type && a.message == b.message && a.detail == b.detail;
}

void check_failure(std::string_view in) {
    auto f = wire::decode_failure(in);
    if (!f) return;
    FUZZ_CHECK(static_cast<int>(f->status) <= -1 && static_cast<int>(f->status) >= -13);
    FUZZ_CHECK(wire::encode_failure(*f) == in);
}

void check_chunk_args(std::string_view in) {
    auto args = wire::decode_chunk_args(in);
    if (!args) return;
    for (std::string_view a : *args) {
        // Every view lies inside the input.
        FUZZ_CHECK(a.empty() || (a.data() >= in.data() && a.data() + a.size() <= in.data() + in.size()));
    }
    FUZZ_CHECK(wire::encode_chunk_args(*args) == in);
}

void check_chunk_results(std::string_view in) {
    auto r = wire::decode_chunk_results(in);
    if (!r) return;
    if (r->failure) FUZZ_CHECK(static_cast<int>(r->failure->status) <= -1 && static_cast<int>(r->failure->status) >= -13);
    FUZZ_CHECK(wire::encode_chunk_results(*r) == in);
}

// Encoders: any structure round-trips.
void check_encoders(FuzzedDataProvider &p) {
    std::vector<std::string> owned;
    std::size_t n = p.ConsumeIntegralInRange<std::size_t>(0, 16);
    for (std::size_t i = 0; i < n && p.remaining_bytes(); ++i) owned.push_back(p.ConsumeRandomLengthString(64));
    std::vector<std::string_view> views(owned.begin(), owned.end());

    std::string args = wire::encode_chunk_args(views);
    auto args_back = wire::decode_chunk_args(args);
    FUZZ_CHECK(args_back && *args_back == views);

    Failure f;
    f.status = static_cast<cf::core::Status>(p.ConsumeIntegralInRange<int>(-13, -1));
    f.type = p.ConsumeRandomLengthString(32);
    f.message = p.ConsumeRandomLengthString(64);
    f.detail = p.ConsumeRandomLengthString(32);
    auto f_back = wire::decode_failure(wire::encode_failure(f));
    FUZZ_CHECK(f_back && same_failure(*f_back, f));

    ChunkResults c;
    c.results = owned;
    if (p.ConsumeBool()) c.failure = f;
    std::string enc = wire::encode_chunk_results(c);
    auto c_back = wire::decode_chunk_results(enc);
    FUZZ_CHECK(c_back && c_back->results == c.results && c_back->failure.has_value() == c.failure.has_value());
    if (c.failure) FUZZ_CHECK(same_failure(*c_back->failure, *c.failure));
    // Any proper prefix of a valid encoding is refused (the formats are self-delimiting and checked to the end).
    if (!enc.empty()) {
        std::size_t cut = p.ConsumeIntegralInRange<std::size_t>(0, enc.size() - 1);
        FUZZ_CHECK(!wire::decode_chunk_results(std::string_view(enc).substr(0, cut)));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size == 0) return 0;
    std::uint8_t selector = data[0];
    // An exact-size copy, so that reading one byte too far is a heap-buffer-overflow.
    std::vector<char> copy(data + 1, data + size);
    std::string_view in(copy.data(), copy.size());
    switch (selector % 4) {
        case 0: check_failure(in); break;
        case 1: check_chunk_args(in); break;
        case 2: check_chunk_results(in); break;
        default: {
            FuzzedDataProvider p(data + 1, size - 1);
            check_encoders(p);
        }
    }
    return 0;
}
