// SPDX-License-Identifier: MIT
// Telling ThreadSanitizer about orderings that pass through another process.
//
// A result block travels parent thread A (hands the block back) -> worker process (reuses it, posts a result) ->
// parent thread B (reads the result). Each hop is an atomic in shared memory, but the middle one happens in a
// process ThreadSanitizer cannot see, so it would report A's write and B's read as a race. The parent names the
// hand-off with these two calls; outside a ThreadSanitizer build they cost nothing.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define CF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CF_TSAN 1
#endif
#endif

#ifdef CF_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace cf::core {

// What this thread did so far happens before whatever a later cross_process_acquire(tag) is followed by.
inline void cross_process_release([[maybe_unused]] const void *tag) noexcept {
#ifdef CF_TSAN
    __tsan_release(const_cast<void *>(tag));
#endif
}

inline void cross_process_acquire([[maybe_unused]] const void *tag) noexcept {
#ifdef CF_TSAN
    __tsan_acquire(const_cast<void *>(tag));
#endif
}

}  // namespace cf::core
