// SPDX-License-Identifier: MIT
// Reading a caller's options struct by its struct_size: older callers get defaults for the fields they do not
// know, newer callers' extra fields are ignored.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "capi/capi_support.hpp"

namespace cf::capi {

// out holds the defaults on entry. Returns CF_OK, or CF_E_INVALID_ARGUMENT when struct_size is below the size
// of the struct's first published version.
template <class Options>
int read_options(const Options *in, std::size_t first_published_size, Options &out, const char *function) {
    if (!in) return CF_OK;
    if (in->struct_size < first_published_size)
        return fail(CF_E_INVALID_ARGUMENT, std::string(function) + ": options struct_size " +
                                               std::to_string(in->struct_size) + " is smaller than " +
                                               std::to_string(first_published_size) +
                                               " (call the *_options_init function first)");
    std::memcpy(static_cast<void *>(&out), in, std::min(in->struct_size, sizeof(Options)));
    out.struct_size = sizeof(Options);
    return CF_OK;
}

}  // namespace cf::capi
