// SPDX-License-Identifier: MIT
// The test binary's main: a process-pool worker spawned by a test (start method spawn) re-executes this very
// program, so cf::process_worker_entry() must come before anything else.
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

int main(int argc, char **argv) {
    cf::process_worker_entry();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
