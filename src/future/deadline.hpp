// SPDX-License-Identifier: MIT
// A point in time that a wait may not pass; the unit every wait in the core works with.
#pragma once

#include <chrono>
#include <cmath>

namespace cf::core {

class Deadline {
public:
    using Clock = std::chrono::steady_clock;

    // From a timeout in seconds as the APIs take it: negative or +Inf waits forever, 0 means now.
    // NaN must be rejected by the caller (it is CF_E_INVALID_ARGUMENT at the C ABI).
    static Deadline after(double seconds) {
        if (!(seconds >= 0.0) || std::isinf(seconds)) return Deadline();
        // Beyond a century is forever, and it keeps the conversion below clear of overflow.
        if (seconds > 3.0e9) return Deadline();
        return Deadline(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(seconds)));
    }
    static Deadline never() { return Deadline(); }

    bool infinite() const { return infinite_; }
    bool passed() const { return !infinite_ && Clock::now() >= at_; }
    Clock::time_point at() const { return at_; }

private:
    Deadline() = default;
    explicit Deadline(Clock::time_point at) : infinite_(false), at_(at) {}
    bool infinite_ = true;
    Clock::time_point at_{};
};

}  // namespace cf::core
