#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

TEST(Smoke, PromiseResult) {
    cf::Promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(f.done());
    p.set_result(42);
    EXPECT_EQ(f.result(), 42);
}
