/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libcfutures: the export macro shared by the C and C++ headers.
 */
#ifndef CFUTURES_CF_EXPORT_H
#define CFUTURES_CF_EXPORT_H

/**
 * @def CF_API
 * Marks a function or class that the library exports.
 *
 * The library is built with -fvisibility=hidden; CF_API gives what it exports default visibility (GCC and
 * Clang), or dllexport / dllimport on Windows. CFUTURES_BUILDING is defined only while the library itself is
 * compiled.
 */
#if defined(_WIN32)
#  if defined(CFUTURES_BUILDING)
#    define CF_API __declspec(dllexport)
#  else
#    define CF_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define CF_API __attribute__((visibility("default")))
#else
#  define CF_API
#endif

#endif /* CFUTURES_CF_EXPORT_H */
