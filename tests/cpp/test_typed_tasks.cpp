// SPDX-License-Identifier: MIT
// Typed C++ tasks on process pools (<cfutures/serialization.hpp>): ProcessPoolExecutor::submit<&fn>(args...) for
// the fork and spawn start methods, the Boost codec, and results that cannot be decoded.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cfutures/cfutures.hpp>
#include <cfutures/serialization.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace typed_tests {

// ---- the functions the workers run

bool is_prime(std::uint64_t n) {
    if (n < 2) return false;
    for (std::uint64_t d = 2; d * d <= n; ++d)
        if (n % d == 0) return false;
    return true;
}

std::string shout(const std::string &s) {
    std::string out = s;
    for (char &c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out + "!";
}

std::size_t count_bytes(std::string_view s, const char *needle) {
    std::size_t n = 0;
    for (char c : s) n += c == needle[0];
    return n;
}

std::vector<double> running_sum(std::vector<double> xs) {
    std::partial_sum(xs.begin(), xs.end(), xs.begin());
    return xs;
}

double norm(const std::vector<double> &xs) {
    double s = 0;
    for (double x : xs) s += x * x;
    return std::sqrt(s);
}

// A user type with a public serialize().
struct Order {
    std::string customer;
    std::vector<int> items;
    double discount = 0;

    template <class Archive>
    void serialize(Archive &ar, unsigned /*version*/) {
        ar &customer &items &discount;
    }
    friend bool operator==(const Order &a, const Order &b) {
        return a.customer == b.customer && a.items == b.items && a.discount == b.discount;
    }
};

// A user type whose serialize() is private, reached through boost::serialization::access.
class Invoice {
public:
    Invoice() = default;
    Invoice(std::string to, double total, std::map<std::string, int> lines)
        : to_(std::move(to)), total_(total), lines_(std::move(lines)) {}
    const std::string &to() const { return to_; }
    double total() const { return total_; }
    const std::map<std::string, int> &lines() const { return lines_; }

private:
    friend class boost::serialization::access;
    template <class Archive>
    void serialize(Archive &ar, unsigned /*version*/) {
        ar &to_ &total_ &lines_;
    }
    std::string to_;
    double total_ = 0;
    std::map<std::string, int> lines_;
};

Invoice bill(const Order &order, double unit_price) {
    std::map<std::string, int> lines;
    for (int item : order.items) lines["item-" + std::to_string(item)] += 1;
    double total = static_cast<double>(order.items.size()) * unit_price * (1.0 - order.discount);
    return Invoice("invoice for " + order.customer, total, std::move(lines));
}

// A trivially copyable struct without serialize(): it travels as its bytes, both as argument and as result.
struct Point {
    std::int32_t x, y;
    double weight;
};

Point scale(Point p, int factor) { return Point{p.x * factor, p.y * factor, p.weight * factor}; }

// Several arguments of several kinds.
std::string describe(int n, double x, const std::string &label, std::vector<double> &&values, Point p, bool flag,
                     char c) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: n=%d x=%.2f values=%zu sum=%.1f p=(%d,%d,%.1f) flag=%d c=%c", label.c_str(),
                  n, x, values.size(), std::accumulate(values.begin(), values.end(), 0.0), p.x, p.y, p.weight,
                  flag ? 1 : 0, c);
    return buf;
}

// No result: writes a file the test reads afterwards (a worker's memory is not ours).
void write_file(const std::string &path, std::vector<std::string> lines) {
    std::ofstream out(path);
    for (const auto &l : lines) out << l << "\n";
    if (!out) throw std::runtime_error("cannot write " + path);
}

int no_arguments() { return 42; }
int only_named_in_dead_code() { return 43; }

std::string lookup(const std::vector<std::string> &pages, std::size_t i) {
    return pages.at(i);  // throws std::out_of_range
}

struct CustomFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void fail_custom(int code) { throw CustomFailure("custom failure " + std::to_string(code)); }

int fail_non_std() { throw 17; }

void void_that_throws() { throw std::invalid_argument("nothing to do"); }

std::uint64_t echo_u64(std::uint64_t v) noexcept { return v; }

// A C task that returns its argument: results of any shape, for the decoding tests.
int echo_bytes(cf_task_ctx *ctx, const void *arg, size_t len, void *) { return cf_task_return(ctx, arg, len); }
CF_TASK("typed_tests.echo_bytes", echo_bytes);

// ---- helpers

const char *method_name(cf::StartMethod m) { return m == cf::StartMethod::Spawn ? "spawn" : "fork"; }

class TypedTaskTest : public ::testing::TestWithParam<cf::StartMethod> {
protected:
    // A pool whose workers have all started. With fork, the pool forks them from its supervisor thread when the
    // first task arrives; a child that inherits an allocator lock this thread held at that instant deadlocks on
    // its first allocation. glibc's malloc takes its locks across fork, but GCC 12's ASan allocator does not, so
    // this thread sleeps (allocating nothing) while the workers are forked, before the test allocates freely.
    cf::ProcessPoolExecutor &pool() {
        cf::ProcessPoolExecutor::Options o;
        o.max_workers = 2;
        o.start_method = GetParam();
        pool_ = std::make_unique<cf::ProcessPoolExecutor>(o);
        cf::Future<int> first = pool_->submit<&warm_up>();
        if (GetParam() == cf::StartMethod::Fork) {
            for (int i = 0; i < 100; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                if (pool_->worker_pids().size() == o.max_workers) break;
            }
        }
        EXPECT_EQ(first.result(60.0), 1);
        return *pool_;
    }

private:
    static int warm_up() { return 1; }
    std::unique_ptr<cf::ProcessPoolExecutor> pool_;
};

constexpr double kWait = 60.0;  // seconds; a spawned worker under a sanitizer starts slowly

// ---- the tests

TEST_P(TypedTaskTest, IsPrimeUint64ToBool) {
    cf::ProcessPoolExecutor &procs = pool();
    const std::vector<std::uint64_t> numbers = {112272535095293ull, 112582705942171ull, 112272535095291ull,
                                                115280095190773ull, 115797848077099ull, 1099726899285419ull,
                                                0, 1, 2, 97, 100};
    std::vector<cf::Future<bool>> fs;
    for (std::uint64_t n : numbers) fs.push_back(procs.submit<&is_prime>(n));
    for (std::size_t i = 0; i < numbers.size(); ++i)
        EXPECT_EQ(fs[i].result(kWait), is_prime(numbers[i])) << numbers[i];
    // Arguments convert to the parameter type as in a call; the function name decays like &is_prime.
    EXPECT_TRUE(procs.submit<is_prime>(97).result(kWait));
    EXPECT_EQ(procs.submit<&echo_u64>(7u).result(kWait), 7u);  // a noexcept function
}

TEST_P(TypedTaskTest, StringArgumentsAndResults) {
    cf::ProcessPoolExecutor &procs = pool();
    cf::Future<std::string> a = procs.submit<&shout>(std::string("hello"));
    cf::Future<std::string> b = procs.submit<&shout>("from a literal");
    std::string big(1 << 20, 'x');
    big[12345] = '\0';  // NUL bytes survive
    cf::Future<std::string> c = procs.submit<&shout>(big);
    cf::Future<std::string> empty = procs.submit<&shout>(std::string());
    EXPECT_EQ(a.result(kWait), "HELLO!");
    EXPECT_EQ(b.result(kWait), "FROM A LITERAL!");
    std::string expected = big;
    for (char &ch : expected) if (ch == 'x') ch = 'X';
    EXPECT_EQ(c.result(kWait), expected + "!");
    EXPECT_EQ(empty.result(kWait), "!");
    // std::string_view and const char * parameters see a string that lives for the call.
    std::string text = "a banana and an apple";
    EXPECT_EQ(procs.submit<&count_bytes>(std::string_view(text), "a").result(kWait), 7u);
    EXPECT_EQ(procs.submit<&count_bytes>(text, "n").result(kWait), 4u);
    EXPECT_THROW(procs.submit<&count_bytes>(text, static_cast<const char *>(nullptr)), cf::InvalidArgument);
}

TEST_P(TypedTaskTest, VectorOfDoubleArgumentsAndResults) {
    cf::ProcessPoolExecutor &procs = pool();
    std::vector<double> xs = {1.5, 2.5, -1.0, 1e300, -1e300};
    cf::Future<std::vector<double>> sums = procs.submit<&running_sum>(xs);
    EXPECT_EQ(sums.result(kWait), running_sum(xs));
    EXPECT_EQ(procs.submit<&running_sum>(std::vector<double>()).result(kWait), std::vector<double>());
    std::vector<double> many(100000);
    std::iota(many.begin(), many.end(), 0.0);
    EXPECT_EQ(procs.submit<&running_sum>(many).result(kWait), running_sum(many));
    EXPECT_DOUBLE_EQ(procs.submit<&norm>(std::vector<double>{3, 4}).result(kWait), 5.0);
}

TEST_P(TypedTaskTest, UserTypesWithSerialize) {
    cf::ProcessPoolExecutor &procs = pool();
    Order order{"ada", {3, 1, 3, 7}, 0.25};
    cf::Future<Invoice> f = procs.submit<&bill>(order, 10.0);
    Invoice inv = f.result(kWait);
    EXPECT_EQ(inv.to(), "invoice for ada");
    EXPECT_DOUBLE_EQ(inv.total(), 30.0);
    std::map<std::string, int> lines = {{"item-1", 1}, {"item-3", 2}, {"item-7", 1}};
    EXPECT_EQ(inv.lines(), lines);
    // Reading the result twice decodes it twice, the same way.
    EXPECT_EQ(f.result(kWait).lines(), lines);
}

TEST_P(TypedTaskTest, TriviallyCopyableStructTravelsAsItsBytes) {
    cf::ProcessPoolExecutor &procs = pool();
    cf::Future<Point> f = procs.submit<&scale>(Point{1, -2, 0.5}, 3);
    Point p = f.result(kWait);
    EXPECT_EQ(p.x, 3);
    EXPECT_EQ(p.y, -6);
    EXPECT_DOUBLE_EQ(p.weight, 1.5);
    EXPECT_EQ(f.bytes(kWait).size(), sizeof(Point));  // raw bytes, the same rule as cf::Codec in future.hpp
}

TEST_P(TypedTaskTest, SeveralArguments) {
    cf::ProcessPoolExecutor &procs = pool();
    cf::Future<std::string> f =
        procs.submit<&describe>(7, 2.5f, "label", std::vector<double>{1, 2, 3.5}, Point{4, 5, 6.0}, true, 'z');
    EXPECT_EQ(f.result(kWait), "label: n=7 x=2.50 values=3 sum=6.5 p=(4,5,6.0) flag=1 c=z");
    EXPECT_EQ(procs.submit<&no_arguments>().result(kWait), 42);
}

TEST_P(TypedTaskTest, VoidFunction) {
    cf::ProcessPoolExecutor &procs = pool();
    char path[] = "/tmp/cf_typed_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    cf::Future<void> f = procs.submit<&write_file>(std::string(path), std::vector<std::string>{"one", "two"});
    f.result(kWait);
    EXPECT_TRUE(f.bytes(kWait).empty());
    std::ifstream in(path);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "one\ntwo\n");
    std::remove(path);

    cf::Future<void> bad = procs.submit<&void_that_throws>();
    try {
        bad.result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "std::invalid_argument");
        EXPECT_EQ(e.message(), "nothing to do");
    }
}

TEST_P(TypedTaskTest, ExceptionBecomesRemoteError) {
    cf::ProcessPoolExecutor &procs = pool();
    cf::Future<std::string> f = procs.submit<&lookup>(std::vector<std::string>{"a", "b"}, 5);
    try {
        f.result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "std::out_of_range");
        std::string expected;
        try {
            std::vector<std::string>{"a", "b"}.at(5);
        } catch (const std::out_of_range &local) {
            expected = local.what();
        }
        EXPECT_EQ(e.message(), expected);
        EXPECT_EQ(e.status(), cf::Status::TaskFailed);
        EXPECT_NE(e.detail().find(cf::TypedTask<&lookup>::name()), std::string::npos) << e.detail();
    }
    cf::ErrorInfo info = f.error(kWait);
    EXPECT_EQ(info.status, cf::Status::TaskFailed);
    EXPECT_EQ(info.type, "std::out_of_range");

    // A user exception keeps its (namespaced) type name; a non-std exception is described by its type.
    try {
        procs.submit<&fail_custom>(3).result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "typed_tests::CustomFailure");
        EXPECT_EQ(e.message(), "custom failure 3");
    }
    try {
        procs.submit<&fail_non_std>().result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "int");
    }
    // The pool is fine afterwards.
    EXPECT_EQ(procs.submit<&lookup>(std::vector<std::string>{"a", "b"}, 1).result(kWait), "b");
}

TEST_P(TypedTaskTest, ManyTasksAsCompleted) {
    cf::ProcessPoolExecutor &procs = pool();
    std::vector<cf::Future<std::vector<double>>> fs;
    for (int i = 0; i < 200; ++i) fs.push_back(procs.submit<&running_sum>(std::vector<double>(i % 17, 1.0 * i)));
    std::size_t n = 0;
    for (const auto &f : cf::as_completed(fs, kWait)) {
        std::vector<double> r = f.result();
        if (!r.empty()) {
            EXPECT_DOUBLE_EQ(r.back(), r.front() * static_cast<double>(r.size()));
        }
        ++n;
    }
    EXPECT_EQ(n, fs.size());
}

TEST_P(TypedTaskTest, UndecodableResultsAreClearErrors) {
    cf::ProcessPoolExecutor &procs = pool();
    auto echo = [&](std::string bytes) { return procs.submit_named("typed_tests.echo_bytes", bytes); };

    // Wrong sizes for the raw codecs.
    EXPECT_THROW(cf::Future<std::uint64_t>(echo("abc")).result(kWait), cf::InvalidStateError);
    EXPECT_THROW(cf::Future<Point>(echo(std::string(sizeof(Point) + 1, 'p'))).result(kWait), cf::InvalidStateError);
    EXPECT_THROW(cf::Future<bool>(echo("")).result(kWait), cf::InvalidStateError);
    // A byte that is no bool.
    try {
        cf::Future<bool>(echo("\x07")).result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::InvalidStateError &e) {
        EXPECT_NE(std::string(e.what()).find("no bool"), std::string::npos) << e.what();
    }

    // Garbage where a Boost archive should be: refused before Boost reads a length out of it.
    const std::string garbage = "garbage! garbage! garbage! garbage! garbage! garbage!";
    for (const std::string &bytes : {garbage, std::string(), std::string(3, '\xff'), std::string(64, '\0')}) {
        try {
            cf::Future<std::vector<double>>(echo(bytes)).result(kWait);
            ADD_FAILURE() << "no exception";
        } catch (const cf::InvalidStateError &e) {
            EXPECT_NE(std::string(e.what()).find("std::vector<double"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("header"), std::string::npos) << e.what();
        }
    }
    // A real archive cut short, and one with bytes left over.
    const std::string good = cf::Codec<Invoice>::encode(Invoice("x", 1.0, {{"a", 1}, {"b", 2}}));
    EXPECT_EQ(cf::Future<Invoice>(echo(good)).result(kWait).lines().size(), 2u);
    for (std::size_t cut : {good.size() - 1, good.size() - 9, good.size() / 2 + 3}) {
        EXPECT_THROW(cf::Future<Invoice>(echo(good.substr(0, cut))).result(kWait), cf::InvalidStateError) << cut;
    }
    try {
        cf::Future<Invoice>(echo(good + "tail")).result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::InvalidStateError &e) {
        EXPECT_NE(std::string(e.what()).find("4 bytes left over"), std::string::npos) << e.what();
    }
    // Garbage as the arguments of a typed task: the worker says so, and keeps serving.
    cf::Future<bool> g(procs.submit_named(cf::TypedTask<&is_prime>::name(), garbage));
    try {
        g.result(kWait);
        ADD_FAILURE() << "no exception";
    } catch (const cf::RemoteError &e) {
        EXPECT_EQ(e.type(), "cf::InvalidArgument");
        EXPECT_NE(e.message().find("cannot decode the arguments"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("is_prime"), std::string::npos) << e.message();
    }
    EXPECT_TRUE(procs.submit<&is_prime>(13).result(kWait));
}

INSTANTIATE_TEST_SUITE_P(StartMethods, TypedTaskTest, ::testing::Values(cf::StartMethod::Fork, cf::StartMethod::Spawn),
                         [](const ::testing::TestParamInfo<cf::StartMethod> &param) {
                             return std::string(method_name(param.param));
                         });

// ---- without a pool: names, codecs, detection

TEST(TypedTaskNames, DerivedFromTheMangledTypeOfTheFunctionPointer) {
    const std::string mangled = typeid(std::integral_constant<decltype(&is_prime), &is_prime>).name();
    EXPECT_EQ(cf::TypedTask<&is_prime>::base_name(), "cf.typed:" + mangled);
    EXPECT_EQ(cf::TypedTask<&is_prime>::name(), cf::TypedTask<&is_prime>::base_name());
    EXPECT_NE(cf::TypedTask<&is_prime>::name(), cf::TypedTask<&shout>::name());
    EXPECT_NE(cf::TypedTask<&is_prime>::description().find("is_prime"), std::string::npos);
}

TEST(TypedTaskNames, RegisteredWhileTheProgramLoads) {
    // Only mentioned inside a function that never runs: its registration ran before main() all the same.
    if (std::getenv("CF_TYPED_TESTS_NEVER_SET_THIS")) {
        cf::ProcessPoolExecutor procs;
        procs.submit<&only_named_in_dead_code>();
    }
    using traits = cf::detail::serial::function_traits<decltype(&only_named_in_dead_code)>;
    cf::ThreadPoolExecutor threads;
    cf::FutureBase f = threads.submit_named(cf::TypedTask<&only_named_in_dead_code>::base_name(), traits::encode());
    EXPECT_EQ(cf::Future<int>(f).result(kWait), 43);
}

int first_holder(cf_task_ctx *, const void *, size_t, void *) { return 0; }
int second_holder(cf_task_ctx *, const void *, size_t, void *) { return 0; }

TEST(TypedTaskNames, ATakenNameGetsANumber) {
    // What happens to two internal-linkage functions with one mangled name: the second one gets "#2".
    using cf::detail::serial::register_under_free_name;
    ASSERT_EQ(cf_task_register("typed_tests.collide", first_holder, nullptr), CF_OK);
    EXPECT_EQ(register_under_free_name("typed_tests.collide", second_holder), "typed_tests.collide#2");
    EXPECT_EQ(register_under_free_name("typed_tests.collide", second_holder), "typed_tests.collide#2");  // again
    EXPECT_EQ(register_under_free_name("typed_tests.collide", first_holder), "typed_tests.collide");
}

TEST(TypedTaskNames, OnAThreadPoolByName) {
    // The registered byte-string task is an ordinary one: a thread pool runs it too.
    cf::ThreadPoolExecutor threads;
    using traits = cf::detail::serial::function_traits<decltype(&bill)>;
    cf::Future<Invoice> f(threads.submit_named(cf::TypedTask<&bill>::name(), traits::encode(Order{"bo", {1}, 0}, 2.0)));
    EXPECT_DOUBLE_EQ(f.result(kWait).total(), 2.0);
}

TEST(TypedCodec, BoostRoundTrips) {
    std::vector<double> xs = {1, 2.5, -3};
    EXPECT_EQ(cf::Codec<std::vector<double>>::decode(cf::Codec<std::vector<double>>::encode(xs)), xs);
    Order o{"c", {1, 2}, 0.5};
    EXPECT_EQ(cf::Codec<Order>::decode(cf::Codec<Order>::encode(o)), o);
    std::map<std::string, std::vector<int>> m = {{"a", {1}}, {"b", {}}};
    using M = decltype(m);
    EXPECT_EQ(cf::Codec<M>::decode(cf::Codec<M>::encode(m)), m);
    std::pair<std::string, int> p{"p", 3};
    EXPECT_EQ(cf::Codec<decltype(p)>::decode(cf::Codec<decltype(p)>::encode(p)), p);
}

TEST(TypedCodec, ExistingCodecsUnchanged) {
    // Trivially copyable: raw bytes; std::string: its bytes; bool: one byte.
    EXPECT_EQ(cf::Codec<std::uint64_t>::encode(5).size(), 8u);
    EXPECT_EQ(cf::Codec<std::uint64_t>::decode(cf::Codec<std::uint64_t>::encode(5)), 5u);
    EXPECT_EQ(cf::Codec<std::string>::encode("abc"), "abc");
    EXPECT_EQ(cf::Codec<std::string>::decode("abc"), "abc");
    EXPECT_EQ(cf::Codec<bool>::encode(true), std::string(1, '\1'));
    EXPECT_TRUE(cf::Codec<bool>::decode(std::string(1, '\1')));
    EXPECT_FALSE(cf::Codec<bool>::decode(std::string(1, '\0')));
    EXPECT_THROW(cf::Codec<bool>::decode("\x02"), cf::InvalidStateError);
    cf::Promise<double> promise;
    double d = 2.5;
    promise.set_bytes(std::string_view(reinterpret_cast<const char *>(&d), sizeof d));
    EXPECT_EQ(promise.get_future().result(), 2.5);
}

struct NotSerializable {
    std::string s;
};
struct FreeSerialize {
    std::string s;
};
template <class Archive>
void serialize(Archive &ar, FreeSerialize &f, unsigned) {
    ar &f.s;
}
struct FinalPublic final {
    std::string s;
    template <class Archive>
    void serialize(Archive &ar, unsigned) {
        ar &s;
    }
};

TEST(TypedCodec, Detection) {
    static_assert(cf::is_boost_serializable<Order>::value);
    static_assert(cf::is_boost_serializable<Invoice>::value);  // private serialize()
    static_assert(cf::is_boost_serializable<FreeSerialize>::value);
    static_assert(cf::is_boost_serializable<FinalPublic>::value);
    static_assert(cf::is_boost_serializable<std::vector<Order>>::value);
    static_assert(cf::is_boost_serializable<std::map<std::string, std::vector<double>>>::value);
    static_assert(!cf::is_boost_serializable<NotSerializable>::value);
    static_assert(!cf::is_boost_serializable<std::vector<NotSerializable>>::value);
    static_assert(!cf::Codec<NotSerializable>::available);
    static_assert(cf::Codec<Invoice>::available);
    static_assert(cf::Codec<Point>::available);  // trivially copyable: the raw codec
    FreeSerialize f{"free"};
    EXPECT_EQ(cf::Codec<FreeSerialize>::decode(cf::Codec<FreeSerialize>::encode(f)).s, "free");
}

}  // namespace typed_tests
