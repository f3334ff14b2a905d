// SPDX-License-Identifier: MIT
// Writes the seed corpus: real encodings made by the library's own encoders, so that the fuzzers start from
// inputs that get past the first checks. Usage: gen_corpus <corpus-dir> (writes <dir>/<target>/seed-*).
// The committed corpus in tests/fuzz/corpus was made with it (and grown by fuzzing); rerun it after a format
// change.
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cfutures/serialization.hpp"
#include "process_pool/shm_layout.hpp"
#include "process_pool/wire.hpp"

using namespace cf::core;

namespace {

std::string g_root;
int g_count = 0;

void write_seed(const std::string &target, const std::string &name, const std::string &bytes) {
    std::string dir = g_root + "/" + target;
    mkdir(g_root.c_str(), 0755);
    mkdir(dir.c_str(), 0755);
    std::string path = dir + "/seed-" + name;
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) { std::perror(path.c_str()); std::exit(1); }
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    ++g_count;
}

std::string with_selector(std::uint8_t selector, const std::string &payload) {
    return std::string(1, static_cast<char>(selector)) + payload;
}

template <class T>
void le(std::string &out, T v) { out.append(reinterpret_cast<const char *>(&v), sizeof v); }

struct Record {
    std::string name;
    std::vector<int> xs;
    double weight = 0;
    template <class Archive>
    void serialize(Archive &ar, unsigned) { ar &name &xs &weight; }
};

template <class... A>
std::string args_archive(const A &...a) {
    return cf::detail::serial::write_archive([&](cf::detail::serial::oarchive &oa) { (cf::detail::serial::write_value(oa, a), ...); });
}

void wire_seeds() {
    Failure f1 = make_failure(cf::core::Status::TaskFailed, "ValueError", "bad value", "task 'x' in worker 42");
    Failure f2 = make_failure(cf::core::Status::TooLarge, "TooLargeError", "", "");
    write_seed("fuzz_wire", "failure", with_selector(0, wire::encode_failure(f1)));
    write_seed("fuzz_wire", "failure-empty", with_selector(0, wire::encode_failure(f2)));
    std::vector<std::string_view> args{"alpha", "", "gamma"};
    write_seed("fuzz_wire", "chunk-args", with_selector(1, wire::encode_chunk_args(args)));
    write_seed("fuzz_wire", "chunk-args-empty", with_selector(1, wire::encode_chunk_args({})));
    ChunkResults r;
    r.results = {"ONE", "TWO"};
    write_seed("fuzz_wire", "chunk-results", with_selector(2, wire::encode_chunk_results(r)));
    r.failure = f1;
    write_seed("fuzz_wire", "chunk-results-failure", with_selector(2, wire::encode_chunk_results(r)));
    write_seed("fuzz_wire", "encoders", with_selector(3, std::string("\x03" "abc" "\x05" "hello" "\x02" "xy", 13)));
}

void typed_seeds() {
    const char *t = "fuzz_typed_payload";
    // Selectors as in fuzz_typed_payload.cpp: 0 twice(int), 1 shout(string), 2 reversed(vector<double>),
    // 3 combine(int, string, vector<double>), 4 grow(Record), 5..11 results, 12 is_odd(uint64), 13 failure.
    write_seed(t, "arg-int", with_selector(0, args_archive(21)));
    write_seed(t, "arg-string", with_selector(1, args_archive(std::string("hello"))));
    write_seed(t, "arg-vector", with_selector(2, args_archive(std::vector<double>{1.5, -2, 1e300})));
    write_seed(t, "arg-tuple", with_selector(3, args_archive(7, std::string("b"), std::vector<double>{0.5})));
    write_seed(t, "arg-record", with_selector(4, args_archive(Record{"rec", {1, 2, 3}, 0.25})));
    write_seed(t, "arg-uint64", with_selector(12, args_archive(std::uint64_t(112272535095293ull))));
    write_seed(t, "res-int", with_selector(5, cf::Codec<int>::encode(42)));
    write_seed(t, "res-bool", with_selector(6, cf::Codec<bool>::encode(true)));
    write_seed(t, "res-string", with_selector(7, cf::Codec<std::string>::encode("result")));
    write_seed(t, "res-vector", with_selector(8, cf::Codec<std::vector<double>>::encode({3, 2, 1})));
    write_seed(t, "res-pair", with_selector(9, cf::Codec<std::pair<std::string, int>>::encode({"b/1", 14})));
    write_seed(t, "res-map", with_selector(10, cf::Codec<std::map<std::string, int>>::encode({{"a", 1}, {"b", 2}})));
    write_seed(t, "res-record", with_selector(11, cf::Codec<Record>::encode(Record{"r", {4}, -1})));
    write_seed(t, "remote-error", with_selector(13, wire::encode_failure(
        make_failure(cf::core::Status::TaskFailed, "std::out_of_range", "no such page", "task 'cf.typed:x' in worker 7"))));
    write_seed(t, "remote-broken", with_selector(13, wire::encode_failure(
        make_failure(cf::core::Status::BrokenProcessPool, "BrokenProcessPool", "gone", ""))));
}

// fuzz_shm_records and fuzz_capi_sequence read their input through FuzzedDataProvider: integers are taken from
// the END of the input, byte strings from the front. Seeds there are simply varied byte patterns: the first
// runs grow the corpus quickly (the committed corpus holds what they found).
void program_seeds() {
    for (int k = 0; k < 8; ++k) {
        std::string s;
        for (int i = 0; i < 96; ++i) s.push_back(static_cast<char>((i * (k + 3) * 37 + k) & 0xff));
        write_seed("fuzz_shm_records", "pattern-" + std::to_string(k), s);
        write_seed("fuzz_capi_sequence", "pattern-" + std::to_string(k), s);
    }
    // A failure record and chunk results in the payload area of an untrusted completion.
    write_seed("fuzz_shm_records", "failure-payload",
               wire::encode_failure(make_failure(cf::core::Status::TaskFailed, "E", "m", "d")) + std::string(64, '\1'));
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    g_root = argv[1];
    wire_seeds();
    typed_seeds();
    program_seeds();
    std::printf("wrote %d seeds under %s\n", g_count, g_root.c_str());
    return 0;
}
