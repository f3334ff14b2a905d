// SPDX-License-Identifier: MIT
// The names and descriptions of the status codes, from the one list (cf_status_map.h).
#include "common/types.hpp"

#include <new>

namespace cf::core {
namespace {

struct StatusText {
    Status status;
    const char *name;
    const char *description;
};

constexpr StatusText kStatusTexts[] = {
#define CF_STATUS_TEXT(c_name, value, cxx_name, cxx_exception, python_exception, description) \
    {Status::cxx_name, #c_name, description},
    CF_STATUS_MAP(CF_STATUS_TEXT)
#undef CF_STATUS_TEXT
};

const StatusText *find(int status) {
    for (const auto &t : kStatusTexts)
        if (static_cast<int>(t.status) == status) return &t;
    return nullptr;
}

}  // namespace

const char *status_name(int status) noexcept {
    const StatusText *t = find(status);
    return t ? t->name : "CF_UNKNOWN_STATUS";
}

const char *status_description(int status) noexcept {
    const StatusText *t = find(status);
    return t ? t->description : "unknown status code";
}

}  // namespace cf::core
