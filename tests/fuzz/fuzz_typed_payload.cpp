// SPDX-License-Identifier: MIT
// fuzz_typed_payload: the typed C++ API's decoding of what crosses the process boundary
// (include/cfutures/serialization.hpp, include/cfutures/future.hpp, src/future/failure.cpp):
//   - argument archives, as a worker decodes them: TypedTask<&fn>::invoke run through run_task_call, for
//     functions taking int, std::string, std::vector<double>, several parameters (a std::tuple of them) and a
//     class with a serialize() member;
//   - result bytes, as the caller's Future<R>::result() decodes them: Codec<R>::decode for int, bool,
//     std::string, std::vector<double>, std::pair<std::string, int>, std::map<std::string, int> and that class;
//   - remote error records: wire::decode_failure, stored as the parent stores it, then read back through
//     Future<T>::result() (RemoteError or the status's exception) and cf_future_exception.
//
// Input: one selector byte, then the payload. Properties: no memory error or undefined behaviour; a decoder
// either succeeds or throws what it promises (cf::InvalidStateError for results, a cf::InvalidArgument failure
// of type "cf::InvalidArgument" for arguments); a successful decode re-encodes to exactly the input; a decoded
// task argument gives the result that calling fn directly gives.
//
// Allocation cap: Boost's loaders take a length from the archive and allocate that much before reading (see
// serialization.hpp: "their contents are not otherwise validated"). This file replaces operator new so that a
// single allocation over kAllocCap throws std::bad_alloc (as a real allocator would for an absurd size), which the
// decoders turn into their ordinary failure; without it every archive with a large length is an out-of-memory
// report. tests/fuzz/README.md lists this as a finding.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "capi/handles.hpp"
#include "cfutures/serialization.hpp"
#include "executor/task_context.hpp"
#include "future/future_state.hpp"
#include "process_pool/wire.hpp"

#include "fuzz_check.hpp"

// ---- the allocation cap (see the top of the file)

namespace {
constexpr std::size_t kAllocCap = std::size_t(128) << 20;
// FUZZ_NO_ALLOC_CAP=1 turns the cap off (to see the finding: crashes/typed-huge-length).
bool cap_on() {
    static const bool on = !std::getenv("FUZZ_NO_ALLOC_CAP");
    return on;
}
void *capped_alloc(std::size_t n) {
    if (n > kAllocCap && cap_on()) throw std::bad_alloc();
    void *p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    return p;
}
void *capped_aligned_alloc(std::size_t n, std::align_val_t a) {
    if (n > kAllocCap && cap_on()) throw std::bad_alloc();
    std::size_t al = static_cast<std::size_t>(a);
    void *p = std::aligned_alloc(al, (n + al - 1) / al * al);
    if (!p) throw std::bad_alloc();
    return p;
}
}  // namespace

void *operator new(std::size_t n) { return capped_alloc(n); }
void *operator new[](std::size_t n) { return capped_alloc(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    try { return capped_alloc(n); } catch (...) { return nullptr; }
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
    try { return capped_alloc(n); } catch (...) { return nullptr; }
}
void *operator new(std::size_t n, std::align_val_t a) { return capped_aligned_alloc(n, a); }
void *operator new[](std::size_t n, std::align_val_t a) { return capped_aligned_alloc(n, a); }
void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept {
    try { return capped_aligned_alloc(n, a); } catch (...) { return nullptr; }
}
void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept {
    try { return capped_aligned_alloc(n, a); } catch (...) { return nullptr; }
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
void operator delete(void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { std::free(p); }

// ---- the typed functions

struct Record {
    std::string name;
    std::vector<int> xs;
    double weight = 0;
    template <class Archive>
    void serialize(Archive &ar, unsigned) {
        ar &name &xs &weight;
    }
};

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool same(const std::vector<double> &a, const std::vector<double> &b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same_bits(a[i], b[i])) return false;
    return true;
}
bool same(const Record &a, const Record &b) { return a.name == b.name && a.xs == b.xs && same_bits(a.weight, b.weight); }
template <class T>
bool same(const T &a, const T &b) { return a == b; }

template <class Tuple, std::size_t... I>
bool same_tuple(const Tuple &a, const Tuple &b, std::index_sequence<I...>) {
    return (same(std::get<I>(a), std::get<I>(b)) && ...);
}

int twice(int x) { return static_cast<int>(static_cast<unsigned>(x) * 2u); }
std::string shout(std::string s) {
    for (char &c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}
std::vector<double> reversed(const std::vector<double> &v) { return std::vector<double>(v.rbegin(), v.rend()); }
std::pair<std::string, int> combine(int a, const std::string &b, std::vector<double> c) {
    return {b + "/" + std::to_string(c.size()), twice(a)};
}
Record grow(Record r) {
    r.xs.push_back(static_cast<int>(r.name.size()));
    return r;
}
bool is_odd(std::uint64_t n) { return n & 1; }

// Runs TypedTask<Fn>::invoke on the bytes, as a worker does, and checks what it produced.
template <auto Fn>
void argument_archive(std::string_view bytes) {
    using Task = cf::TypedTask<Fn>;
    using traits = cf::detail::serial::function_traits<decltype(Fn)>;
    using R = typename Task::result_type;
    cf::core::TaskOutcome out = cf::core::run_task_call(cf::capi::c_task_call(&Task::invoke, nullptr), nullptr, bytes);
    typename traits::arguments args;
    bool decoded = true;
    try {
        traits::decode(bytes, args);
    } catch (const std::exception &) {
        decoded = false;
    }
    if (out.failure) {
        // The only failure: the arguments did not decode (or an allocation the cap refused, inside fn).
        FUZZ_CHECK(!decoded || out.failure->type == "std::bad_alloc");
        if (!decoded) FUZZ_CHECK(out.failure->type == "cf::InvalidArgument");
        return;
    }
    FUZZ_CHECK(decoded);
    // The arguments re-encode to an archive that decodes to the same arguments (not byte for byte: see
    // `canonical` below).
    std::string again = std::apply([](const auto &...a) { return traits::encode(a...); }, args);
    typename traits::arguments args2;
    traits::decode(again, args2);
    FUZZ_CHECK(same_tuple(args, args2, std::make_index_sequence<std::tuple_size_v<typename traits::arguments>>()));
    // The result is what fn gives, and decodes as the caller would.
    R expected = std::apply([](auto &...a) { return Fn(a...); }, args);
    R got = cf::Codec<R>::decode(out.result);
    FUZZ_CHECK(same(got, expected));
}

// Raw bytes (trivially copyable types, bool, std::string) have one encoding per value. A Boost archive does not:
// Boost skips some bytes it reads (parts of its class information), and a map may list keys in any order or
// twice; there only the value must round-trip.
template <class R>
constexpr bool canonical = !cf::detail::serial::uses_boost_codec<R>;

// Decodes result bytes as Future<R>::result() does; checks the round trip.
template <class R>
void result_bytes(std::string_view bytes) {
    R value;
    try {
        value = cf::Codec<R>::decode(bytes);
    } catch (const cf::InvalidStateError &) {
        return;  // the promised failure
    }
    if constexpr (canonical<R>) {
        FUZZ_CHECK(cf::Codec<R>::encode(value) == bytes);
    } else {
        FUZZ_CHECK(same(cf::Codec<R>::decode(cf::Codec<R>::encode(value)), value));
    }
    // The same through a future holding the bytes, as a process pool's result is held.
    cf::PromiseBase promise;
    promise.set_bytes(bytes);
    R via_future = cf::Future<R>(promise.future_base()).result(0);
    FUZZ_CHECK(same(via_future, value));
}

// A failure record as the parent reads it from a worker, then as the caller sees it.
void remote_error(std::string_view bytes) {
    auto failure = cf::core::wire::decode_failure(bytes);
    if (!failure) return;
    failure->remote = true;
    cf::core::Failure expected = *failure;
    cf::core::FutureState *state = cf::core::FutureState::create();
    FUZZ_CHECK(state->set_failure(std::move(*failure)));
    // The C handle is the state itself; the C++ future adopts that reference.
    cf::Future<int> future{cf::FutureBase(reinterpret_cast<cf_future *>(state))};
    try {
        (void)future.result(0);
        FUZZ_CHECK(false);
    } catch (const cf::RemoteError &e) {
        FUZZ_CHECK(expected.status == cf::core::Status::TaskFailed);
        // The C++ API reads the failure through the C ABI, whose strings end at their first NUL.
        auto c_view = [](const std::string &s) { return s.substr(0, s.find('\0')); };
        FUZZ_CHECK(e.type() == c_view(expected.type) && e.message() == c_view(expected.message) &&
                   e.detail() == c_view(expected.detail));
    } catch (const cf::Error &e) {
        FUZZ_CHECK(expected.status != cf::core::Status::TaskFailed);
        FUZZ_CHECK(static_cast<int>(e.status()) == static_cast<int>(expected.status));
    } catch (const std::bad_alloc &) {
        // C++ raises a remote MemoryError (CF_E_NO_MEMORY) as the standard library's own exception.
        FUZZ_CHECK(expected.status == cf::core::Status::NoMemory);
    }
    cf_error err;
    cf_future *handle = future.native_handle();
    FUZZ_CHECK(cf_future_exception(handle, 0, &err) == CF_OK);
    FUZZ_CHECK(err.status == static_cast<int>(expected.status));
    FUZZ_CHECK(err.type && err.message && err.detail);
    // The C strings are the record's strings, up to an embedded NUL.
    FUZZ_CHECK(std::string(err.type) == expected.type.substr(0, expected.type.find('\0')));
    FUZZ_CHECK(std::string(err.message) == expected.message.substr(0, expected.message.find('\0')));
    cf_slice out;
    int rc = cf_future_result(handle, 0, &out);
    FUZZ_CHECK(rc == static_cast<int>(expected.status));
    FUZZ_CHECK(cf_future_done(handle) == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size == 0) return 0;
    std::uint8_t selector = data[0];
    std::vector<char> copy(data + 1, data + size);  // exact size: one byte too far is a heap overflow
    std::string_view bytes(copy.data(), copy.size());
    switch (selector % 14) {
        case 0: argument_archive<&twice>(bytes); break;
        case 1: argument_archive<&shout>(bytes); break;
        case 2: argument_archive<&reversed>(bytes); break;
        case 3: argument_archive<&combine>(bytes); break;
        case 4: argument_archive<&grow>(bytes); break;
        case 5: result_bytes<int>(bytes); break;
        case 6: result_bytes<bool>(bytes); break;
        case 7: result_bytes<std::string>(bytes); break;
        case 8: result_bytes<std::vector<double>>(bytes); break;
        case 9: result_bytes<std::pair<std::string, int>>(bytes); break;
        case 10: result_bytes<std::map<std::string, int>>(bytes); break;
        case 11: result_bytes<Record>(bytes); break;
        case 12: argument_archive<&is_odd>(bytes); break;
        default: remote_error(bytes); break;
    }
    return 0;
}
