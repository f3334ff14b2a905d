// SPDX-License-Identifier: MIT
// Taking a caller's object (cf_object_type) into the library's keeping, for the *_object entry points.
#pragma once

#include <memory>
#include <new>
#include <string>

#include <cfutures/cfutures.h>
#include "capi/capi_support.hpp"
#include "future/foreign_object.hpp"

namespace cf::capi {

// The holder of a caller's object, or, having destroyed the object (the library owns what it is handed), the
// status that says why there is none. A NULL type leaves the object with the caller.
inline int adopt_object(const char *function, void *object, const cf_object_type *type,
                        std::unique_ptr<cf::core::ForeignObject> &out) noexcept {
    if (!type) return null_argument(function, "the object's type");
    if (type->struct_size < sizeof(cf_object_type) || !type->name) {
        cf::core::discard_object(object, type);
        return fail(CF_E_INVALID_ARGUMENT, std::string(function) +
                                               ": the object's type needs struct_size = sizeof(cf_object_type) and a name");
    }
    out.reset(new (std::nothrow) cf::core::ForeignObject(object, type));
    if (!out) {
        cf::core::discard_object(object, type);
        return fail(CF_E_NO_MEMORY, std::string(function) + ": out of memory");
    }
    return CF_OK;
}

}  // namespace cf::capi
