// SPDX-License-Identifier: MIT
// The byte formats that cross the process boundary inside blocks of shared memory: a failure's description, a
// map chunk's arguments and a chunk's results. Decoders take untrusted bytes: every length is checked, and
// malformed input is reported (nullopt), never read past. Internal: no API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "executor/executor_core.hpp"

namespace cf::core::wire {

// A failure: status, type, message, detail.
std::string encode_failure(const Failure &f);
std::optional<Failure> decode_failure(std::string_view bytes);

// A chunk's arguments, one after another, each with its length.
std::string encode_chunk_args(const std::vector<std::string_view> &args);
std::optional<std::vector<std::string_view>> decode_chunk_args(std::string_view bytes);

// A chunk's results: the items that succeeded, then the failure of the next one if any.
std::string encode_chunk_results(const ChunkResults &r);
std::optional<ChunkResults> decode_chunk_results(std::string_view bytes);

}  // namespace cf::core::wire
