// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: Python's concurrent.futures for C++. Includes the whole C++ API: errors.hpp, future.hpp,
/// executor.hpp and process_pool.hpp (typed process tasks need serialization.hpp as well).
///
/// Every class holds one pointer to its implementation inside libcfutures.so, so the library can change without
/// breaking programs built against it. Errors are exceptions named as in Python (cfutures/errors.hpp).
#ifndef CFUTURES_CFUTURES_HPP
#define CFUTURES_CFUTURES_HPP

#include "errors.hpp"
#include "future.hpp"
#include "executor.hpp"
#include "process_pool.hpp"

#endif  // CFUTURES_CFUTURES_HPP
