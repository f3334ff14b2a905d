// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: typed tasks for process pools, over Boost.Serialization (header only; link
/// the serialization component: CMake `find_package(cfutures COMPONENTS serialization)` and target
/// cfutures::serialization, or `pkg-config --cflags --libs cfutures-serialization`; both bring Boost.Serialization).
///
/// @code
///     bool is_prime(std::uint64_t n);
///     cf::ProcessPoolExecutor procs;
///     cf::Future<bool> f = procs.submit<&is_prime>(112272535095293ull);
/// @endcode
///
/// What this header adds:
///  - ProcessPoolExecutor::submit<&fn>(args...): the arguments, converted to fn's parameter types, travel in one
///    boost::archive::binary_oarchive; a worker rebuilds them, calls fn and sends its result back; the future's
///    Codec<R> turns the result bytes into an R again. An exception fn throws comes back as cf::RemoteError with
///    the exception's demangled type name ("std::out_of_range") and what().
///  - cf::Codec<T> for every T that Boost.Serialization can read and that is neither trivially copyable nor
///    std::string (see "How values travel" below).
///  - cf::TypedTask<&fn>: the byte-string task behind submit<&fn>, registered in every process that contains
///    submit<&fn> while the program loads, under TypedTask<&fn>::name().
///  - ProcessPoolExecutor::then<&fn>(source), also written source.then<&fn>(pool): fn(source's value) in a worker
///    once source (a Future<T> of any executor, or of a Promise) succeeds; see "How a continuation's value
///    travels" below.
///
/// How values travel (one rule, the same in both processes and for arguments and results):
///  - a trivially copyable type travels as its object representation (sizeof(T) bytes), even when it also has a
///    serialize() member; so a trivially copyable struct must hold no pointers (nor references to memory);
///  - bool is one byte, 0 or 1 (anything else is an error when the result is read);
///  - std::string travels as its bytes when it is a result, as a Boost string inside the argument archive;
///  - every other type goes through a Boost binary archive (its serialize() member or free function, and Boost's
///    own rules for what it contains);
///  - a result type with its own cf::Codec specialisation uses that (decode and encode both).
///
/// Results use Codec<R>::encode in the worker and Codec<R>::decode in the caller, so the two ends agree.
///
/// How a continuation's value travels (then<&fn>): a short step runs where the source completes
/// (cf_future_then_inline: no thread waits, none is taken) and makes fn's argument archive out of the source's
/// value, exactly as submit<&fn>(value) would; cf_future_then_named then hands it to a worker through shared
/// memory. The step reads the value as the source holds it: a C++ object (a thread pool's value, a Promise's) is
/// serialized there; bytes (a process pool's result, a Promise's trivially copyable value) are decoded by
/// Codec<T> and written into the archive. One case needs no work at all: a Boost-archived T (Codec<T> is the
/// Boost codec) held as bytes, going to a parameter of that very type, is already the argument archive, byte for
/// byte (one archive holding the value), so the source's result bytes are lent as they are. A trivially copyable
/// T or a std::string differs (raw bytes as a result; inside an archive as an argument), and costs the step a
/// copy of the value. A step that fails (bytes that are no T) fails the continuation with that exception.
///
/// Parameters: by value, by const reference or by rvalue reference. std::string_view and const char* parameters
/// receive a view of a std::string that lives for the call. Other pointers and non-const lvalue references are
/// refused at compile time: the worker's memory is not the caller's. Results: no pointers, no std::string_view.
///
/// Types Boost can read that this header does not recognise on its own (a free serialize() declared in namespace
/// boost::serialization, a split free save/load): specialise cf::is_boost_serializable<T> as std::true_type.
///
/// Naming: fn's task is named "cf.typed:" + typeid(std::integral_constant<decltype(&fn), &fn>).name(), a
/// mangled name that is the same in the parent and in a spawned worker (the same program). Two functions with
/// internal linkage and the same name in different translation units share a mangled name: the second one to
/// register (in static-initialisation order, which a re-executed program repeats) gets "#2" appended, and so on.
/// A worker program other than the caller's (Options::worker_program) must contain the same functions, register
/// them in the same order (TypedTask<&fn>::name() does), and be built with the same Boost.
///
/// Boost archives are checked for this program's archive header, for their end, and for bytes left over; their
/// contents are not otherwise validated, so do not decode bytes from an untrusted source.
#ifndef CFUTURES_SERIALIZATION_HPP
#define CFUTURES_SERIALIZATION_HPP

#include <cxxabi.h>

#include <array>
#include <bitset>
#include <complex>
#include <cstddef>
#include <cstdlib>
#include <deque>
#include <exception>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <valarray>
#include <vector>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/basic_archive.hpp>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/array.hpp>
#include <boost/serialization/bitset.hpp>
#include <boost/serialization/complex.hpp>
#include <boost/serialization/deque.hpp>
#include <boost/serialization/forward_list.hpp>
#include <boost/serialization/list.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/set.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/unordered_set.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/valarray.hpp>
#include <boost/serialization/vector.hpp>

#include "cfutures.h"
#include "errors.hpp"
#include "future.hpp"
#include "process_pool.hpp"

namespace cf {

/// Whether Boost.Serialization can read and write a T: a std::bool_constant. Detected: arithmetic and enum types,
/// std::string and std::wstring, the standard containers whose Boost headers this file includes (of such
/// elements), classes with a member named serialize (public or private; BOOST_SERIALIZATION_SPLIT_MEMBER defines
/// one), and classes with a serialize(Archive &, T &, unsigned) that argument-dependent lookup finds. Specialise
/// it (as std::true_type) for anything else.
template <class T, class Enable = void>
struct is_boost_serializable;

namespace detail::serial {

using iarchive = boost::archive::binary_iarchive;
using oarchive = boost::archive::binary_oarchive;
// Binary archives need no locale facet; the header stays (it is how foreign bytes are told apart).
inline constexpr unsigned archive_flags = boost::archive::no_codecvt;

template <class T>
std::string type_name() {
    return demangle(typeid(T).name());
}

// ---- detection

// A class names a member `serialize` (of any access) when naming it through a class that also inherits a public
// `serialize` is ambiguous. Access is checked after lookup, so a private serialize() befriending
// boost::serialization::access counts.
struct serialize_name_probe {
    int serialize;
};
template <class T>
struct serialize_name_derived : T, serialize_name_probe {};
template <class T, class = void>
struct serialize_name_ambiguous : std::true_type {};
template <class T>
struct serialize_name_ambiguous<T, std::void_t<decltype(&serialize_name_derived<T>::serialize)>> : std::false_type {};

template <class T, class = void>
struct public_serialize_member : std::false_type {};
template <class T>
struct public_serialize_member<
    T, std::void_t<decltype(std::declval<T &>().serialize(std::declval<iarchive &>(), 0u))>> : std::true_type {};

template <class T>
constexpr bool has_serialize_member() {
    if constexpr (!std::is_class_v<T>) {
        return false;
    } else if constexpr (std::is_final_v<T>) {
        return public_serialize_member<T>::value;  // a final class cannot be derived from: public members only
    } else {
        return serialize_name_ambiguous<T>::value;
    }
}

namespace adl {
// Hides every outer `serialize` from ordinary lookup, so that only argument-dependent lookup can find one.
void serialize();
template <class T, class = void>
struct has_free_serialize : std::false_type {};
template <class T>
struct has_free_serialize<
    T, std::void_t<decltype(serialize(std::declval<iarchive &>(), std::declval<T &>(), 0u))>> : std::true_type {};
}  // namespace adl

template <class... T>
struct all_serializable : std::conjunction<is_boost_serializable<T>...> {};

template <class T>
struct std_type_serializable : std::false_type {};
template <class C, class Tr, class A>
struct std_type_serializable<std::basic_string<C, Tr, A>>
    : std::bool_constant<std::is_same_v<std::basic_string<C, Tr, A>, std::string> ||
                         std::is_same_v<std::basic_string<C, Tr, A>, std::wstring>> {};
template <class T, class A>
struct std_type_serializable<std::vector<T, A>> : all_serializable<T> {};
template <class T, class A>
struct std_type_serializable<std::list<T, A>> : all_serializable<T> {};
template <class T, class A>
struct std_type_serializable<std::deque<T, A>> : all_serializable<T> {};
template <class T, class A>
struct std_type_serializable<std::forward_list<T, A>> : all_serializable<T> {};
template <class T, class C, class A>
struct std_type_serializable<std::set<T, C, A>> : all_serializable<T> {};
template <class T, class C, class A>
struct std_type_serializable<std::multiset<T, C, A>> : all_serializable<T> {};
template <class K, class V, class C, class A>
struct std_type_serializable<std::map<K, V, C, A>> : all_serializable<K, V> {};
template <class K, class V, class C, class A>
struct std_type_serializable<std::multimap<K, V, C, A>> : all_serializable<K, V> {};
template <class T, class H, class E, class A>
struct std_type_serializable<std::unordered_set<T, H, E, A>> : all_serializable<T> {};
template <class T, class H, class E, class A>
struct std_type_serializable<std::unordered_multiset<T, H, E, A>> : all_serializable<T> {};
template <class K, class V, class H, class E, class A>
struct std_type_serializable<std::unordered_map<K, V, H, E, A>> : all_serializable<K, V> {};
template <class K, class V, class H, class E, class A>
struct std_type_serializable<std::unordered_multimap<K, V, H, E, A>> : all_serializable<K, V> {};
template <class A, class B>
struct std_type_serializable<std::pair<A, B>> : all_serializable<std::remove_const_t<A>, B> {};
template <class T, std::size_t N>
struct std_type_serializable<std::array<T, N>> : all_serializable<T> {};
template <class T>
struct std_type_serializable<std::valarray<T>> : all_serializable<T> {};
template <class T>
struct std_type_serializable<std::complex<T>> : std::is_floating_point<T> {};
template <std::size_t N>
struct std_type_serializable<std::bitset<N>> : std::true_type {};

template <class T>
constexpr bool detected_serializable() {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
        return true;
    } else if constexpr (std_type_serializable<T>::value) {
        return true;
    } else if constexpr (has_serialize_member<T>()) {
        return true;
    } else {
        return adl::has_free_serialize<T>::value;
    }
}

}  // namespace detail::serial

template <class T, class Enable>
struct is_boost_serializable : std::bool_constant<detail::serial::detected_serializable<T>()> {};

namespace detail::serial {

// The types whose Codec is a Boost binary archive: the ones the raw-bytes and std::string codecs leave out.
// (std::conjunction stops at the first false one: the detection only runs for the types that get that far.)
template <class T>
inline constexpr bool uses_boost_codec =
    std::conjunction_v<std::is_object<T>, std::negation<std::is_const<T>>, std::negation<std::is_volatile<T>>,
                       std::negation<std::is_array<T>>, std::negation<std::is_pointer<T>>,
                       std::negation<std::is_trivially_copyable<T>>, std::negation<std::is_same<T, std::string>>,
                       std::is_default_constructible<T>, is_boost_serializable<T>>;

// ---- archives over strings

// Appends everything written to a std::string.
class append_buf final : public std::streambuf {
public:
    explicit append_buf(std::string &out) : out_(out) {}

protected:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof())) out_.push_back(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char *s, std::streamsize n) override {
        out_.append(s, static_cast<std::size_t>(n));
        return n;
    }

private:
    std::string &out_;
};

// Reads a byte range in place; reading past its end gives short reads (Boost then throws input_stream_error).
class view_buf final : public std::streambuf {
public:
    explicit view_buf(std::string_view bytes) {
        char *begin = const_cast<char *>(bytes.data());  // the get area is only read
        setg(begin, begin, begin + bytes.size());
    }
    std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

// What a binary_oarchive with archive_flags writes before any value: the signature, Boost's archive version and
// the sizes of the basic types. Checked before Boost reads anything, so that foreign bytes never reach Boost's
// loaders (which would take the first 8 bytes as a string length and try to allocate that much).
inline const std::string &archive_header() {
    static const std::string header = [] {
        std::string h;
        append_buf buf(h);
        { oarchive empty(buf, archive_flags); }
        return h;
    }();
    return header;
}

template <class Write>
std::string write_archive(Write &&write) {
    std::string out;
    append_buf buf(out);
    {
        oarchive oa(buf, archive_flags);
        write(oa);
    }
    return out;
}

// Reads one archive that must fill `bytes` exactly; throws std::runtime_error (or what Boost throws) otherwise.
template <class Read>
void read_archive(std::string_view bytes, Read &&read) {
    const std::string &header = archive_header();
    if (bytes.size() < header.size() || bytes.compare(0, header.size(), header) != 0)
        throw std::runtime_error(std::to_string(bytes.size()) +
                                 " bytes that do not start with the header of a Boost binary archive of this program");
    view_buf buf(bytes);
    {
        iarchive ia(buf, archive_flags);
        read(ia);
    }
    if (buf.remaining() != 0)
        throw std::runtime_error(std::to_string(buf.remaining()) + " bytes left over after the value");
}

}  // namespace detail::serial

/// Everything Boost.Serialization can read that is neither trivially copyable (raw bytes, future.hpp) nor
/// std::string (its bytes): one Boost binary archive holding the value. T must be default-constructible.
template <class T>
struct Codec<T, std::enable_if_t<detail::serial::uses_boost_codec<T>>> {
    /// True: this codec applies.
    static constexpr bool available = true;
    /// True: the bytes are one Boost binary archive holding the value, which is also how a typed task of one
    /// parameter of type T receives its argument (then<&fn> passes such a result on as it is).
    static constexpr bool boost_archive = true;
    /// Reads the value from one Boost binary archive of this program that fills the bytes exactly; throws
    /// InvalidStateError for anything else.
    static T decode(std::string_view bytes) {
        T value;
        try {
            detail::serial::read_archive(bytes, [&](detail::serial::iarchive &ia) { ia >> value; });
        } catch (const std::exception &e) {
            throw InvalidStateError("the result cannot be decoded as " + detail::serial::type_name<T>() + ": " +
                                    e.what());
        }
        return value;
    }
    /// One Boost binary archive holding the value.
    static std::string encode(const T &value) {
        return detail::serial::write_archive([&](detail::serial::oarchive &oa) { oa << value; });
    }
};

namespace detail::serial {

// ---- arguments

// What a parameter of type P travels as: its decayed type, except that views travel as the string they view.
template <class D>
struct wire_of {
    using type = D;
};
template <>
struct wire_of<std::string_view> {
    using type = std::string;
};
template <>
struct wire_of<const char *> {
    using type = std::string;
};
template <class P>
using wire_t = typename wire_of<std::decay_t<P>>::type;

template <class P>
constexpr bool parameter_ok() {
    using W = wire_t<P>;
    return !(std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>) &&
           !std::is_pointer_v<W> && !std::is_member_pointer_v<W> && std::is_default_constructible_v<W>;
}

// One value inside the argument archive, by the rule at the top of this file.
template <class W>
void write_value(oarchive &oa, const W &v) {
    if constexpr (std::is_trivially_copyable_v<W>) {
        oa.save_binary(&v, sizeof(W));
    } else if constexpr (is_boost_serializable<W>::value || !Codec<W>::available) {
        oa << v;  // a type this header does not recognise: Boost decides (and fails to compile if it cannot)
    } else {
        const std::string bytes = Codec<W>::encode(v);
        oa << bytes;
    }
}

template <class W>
void read_value(iarchive &ia, W &v) {
    if constexpr (std::is_trivially_copyable_v<W>) {
        ia.load_binary(&v, sizeof(W));
    } else if constexpr (is_boost_serializable<W>::value || !Codec<W>::available) {
        ia >> v;
    } else {
        std::string bytes;
        ia >> bytes;
        v = Codec<W>::decode(bytes);
    }
}

// Converts an argument as a call to fn would (to the decayed parameter type), then writes it.
template <class P, class A>
void write_argument(oarchive &oa, A &&a) {
    using D = std::decay_t<P>;
    using W = wire_t<P>;
    static_assert(std::is_convertible_v<A &&, D>, "submit<&fn>: an argument does not convert to fn's parameter type");
    if constexpr (std::is_same_v<std::decay_t<A>, W>) {
        write_value<W>(oa, a);
    } else if constexpr (std::is_same_v<D, W>) {
        const W converted = std::forward<A>(a);
        write_value<W>(oa, converted);
    } else {
        const D view = std::forward<A>(a);
        if constexpr (std::is_pointer_v<D>) {
            if (!view) throw InvalidArgument("submit<&fn>: a null const char * argument");
        }
        write_value<W>(oa, W(view));
    }
}

// Hands a rebuilt argument to fn as parameter type P: moved for by-value and rvalue-reference parameters.
template <class P, class W>
decltype(auto) pass_argument(W &w) {
    using D = std::decay_t<P>;
    if constexpr (std::is_same_v<D, W>) {
        return static_cast<P &&>(w);
    } else if constexpr (std::is_same_v<D, const char *>) {
        return w.c_str();
    } else {
        return D(w);
    }
}

// ---- the function's shape

template <class F>
struct function_traits {
    static_assert(sizeof(F) == 0, "submit<Fn>: Fn must be a pointer to a non-variadic function, e.g. &is_prime");
};
template <class R, class... P>
struct function_traits<R (*)(P...)> {
    using result = R;
    using value = std::decay_t<R>;  // what the future holds (void stays void)
    using arguments = std::tuple<wire_t<P>...>;
    static constexpr std::size_t arity = sizeof...(P);
    static constexpr bool parameters_ok = (parameter_ok<P>() && ...);

    template <class... A>
    static std::string encode(A &&...a) {
        return write_archive([&](oarchive &oa) { (write_argument<P>(oa, std::forward<A>(a)), ...); });
    }
    static void decode(std::string_view bytes, arguments &args) {
        read_archive(bytes, [&](iarchive &ia) { std::apply([&](auto &...w) { (read_value(ia, w), ...); }, args); });
    }
    template <auto Fn, std::size_t... I>
    static decltype(auto) call(arguments &args, std::index_sequence<I...>) {
        return Fn(pass_argument<P>(std::get<I>(args))...);
    }
};
template <class R, class... P>
struct function_traits<R (*)(P...) noexcept> : function_traits<R (*)(P...)> {};

// Registers fn under name, or under name#2, name#3, ... when another function holds the name already. Returns
// the name used; empty when none could be registered.
inline std::string register_under_free_name(const std::string &name, cf_task_fn fn) noexcept {
    try {
        for (int k = 1; k <= 64; ++k) {
            std::string candidate = k == 1 ? name : name + "#" + std::to_string(k);
            int rc = cf_task_register(candidate.c_str(), fn, nullptr);
            if (rc == CF_OK) return candidate;
            if (rc != CF_E_INVALID_ARGUMENT) break;  // not a name conflict: no other name will do better
        }
    } catch (...) {
        // out of memory while the program loads: report it at submit
    }
    return {};
}

}  // namespace detail::serial

/// The byte-string task behind ProcessPoolExecutor::submit<Fn>: it takes the argument archive, calls Fn and returns
/// Codec<R>::encode of the result. Registered while the program loads in every program that uses submit<Fn> or
/// name(), which is what lets a spawned worker (the same program, started again) find it.
template <auto Fn>
class TypedTask {
    using traits = detail::serial::function_traits<decltype(Fn)>;

public:
    /// What the future of submit<Fn> holds: Fn's result type, decayed (void stays void).
    using result_type = typename traits::value;

    /// The name Fn is registered under (registering it now if the program has not loaded that far yet). Throws
    /// UnknownTaskError when it could not be registered.
    static const std::string &name() {
        static_cast<void>(&at_load_);  // instantiates the registration that runs while the program loads
        const std::string &n = registered_name();
        if (n.empty()) throw UnknownTaskError("typed task " + description() + " could not be registered");
        return n;
    }

    /// "cf.typed:" and the mangled name of `std::integral_constant<decltype(Fn), Fn>`: the same in every run of
    /// one program. name() differs from it only by a "#k" suffix (see the top of this file).
    static std::string base_name() {
        return "cf.typed:" + std::string(typeid(std::integral_constant<decltype(Fn), Fn>).name());
    }

    /// For messages: `"std::integral_constant<bool (*)(unsigned long), &is_prime>"`.
    static std::string description() {
        return detail::serial::type_name<std::integral_constant<decltype(Fn), Fn>>();
    }

    /// The cf_task_fn: decodes the arguments (a failure raises cf::InvalidArgument), calls Fn and returns the
    /// encoded result; an exception Fn throws is raised with its demangled type name and what().
    static int invoke(cf_task_ctx *ctx, const void *arg, std::size_t len, void *) {
        typename traits::arguments args;
        try {
            traits::decode(std::string_view(static_cast<const char *>(arg), arg ? len : 0), args);
        } catch (const std::exception &e) {
            std::string message = "cannot decode the arguments of typed task " + description() + ": " + e.what();
            return cf_task_raise(ctx, "cf::InvalidArgument", message.c_str());
        }
        try {
            auto indices = std::make_index_sequence<traits::arity>();
            if constexpr (std::is_void_v<result_type>) {
                traits::template call<Fn>(args, indices);
                return CF_OK;
            } else {
                const std::string out = Codec<result_type>::encode(traits::template call<Fn>(args, indices));
                return cf_task_return(ctx, out.data(), out.size());
            }
        } catch (const TaskError &e) {  // a described failure (e.g. from a nested task) keeps its description
            return cf_task_raise(ctx, e.type().c_str(), e.message().c_str());
        } catch (const std::exception &e) {
            return cf_task_raise(ctx, detail::demangle(typeid(e).name()).c_str(), e.what());
        } catch (...) {
            const std::type_info *t = abi::__cxa_current_exception_type();
            std::string type = t ? detail::demangle(t->name()) : std::string("unknown exception");
            return cf_task_raise(ctx, type.c_str(), "a non-std exception was thrown");
        }
    }

private:
    static const std::string &registered_name() {
        static const std::string n = detail::serial::register_under_free_name(base_name(), &TypedTask::invoke);
        return n;
    }
    static const bool at_load_;
};

template <auto Fn>
const bool TypedTask<Fn>::at_load_ = !TypedTask<Fn>::registered_name().empty();

namespace detail::serial {

// What submit<&fn> and then<&fn> ask of fn, checked where it is named.
template <auto Fn>
constexpr void check_task() {
    using traits = function_traits<decltype(Fn)>;
    using R = typename traits::value;
    static_assert(traits::parameters_ok,
                  "submit<&fn>: fn's parameters must be values, const references or rvalue references to "
                  "default-constructible types; no pointers other than const char *, no non-const lvalue "
                  "references (the worker's memory is not the caller's)");
    if constexpr (!std::is_void_v<R>) {
        static_assert(!std::is_pointer_v<R> && !std::is_member_pointer_v<R> && !std::is_same_v<R, std::string_view>,
                      "submit<&fn>: fn must not return a pointer or a view into the worker's memory");
        static_assert(Codec<R>::available,
                      "submit<&fn>: no cf::Codec for fn's result type: make it trivially copyable, std::string, or "
                      "Boost-serializable (a serialize() member; or specialise cf::is_boost_serializable)");
    }
}

template <class C, class = void>
struct is_boost_archive_codec : std::false_type {};
template <class C>
struct is_boost_archive_codec<C, std::enable_if_t<C::boost_archive>> : std::true_type {};

// Whether the bytes of a result T (Codec<T>) are already the argument archive of fn: one parameter whose wire type
// is T, which Codec<T> and the argument archive both write as one Boost archive of the value.
template <class Traits, class T>
constexpr bool result_is_argument() {
    if constexpr (Traits::arity != 1) {
        return false;
    } else {
        using W = std::tuple_element_t<0, typename Traits::arguments>;
        return std::is_same_v<W, T> && !std::is_trivially_copyable_v<T> && is_boost_serializable<T>::value &&
               is_boost_archive_codec<Codec<T>>::value;
    }
}

// A future's result bytes lent as another future's result, without a copy: what then<&fn> hands the worker when
// the source's bytes already are fn's argument archive.
struct LentBytes {
    FutureBase owner;
    static void destroy(void *self) { delete static_cast<LentBytes *>(self); }
    static cf_slice bytes(const void *self) {
        cf_slice s{nullptr, 0};
        cf_future_result(static_cast<const LentBytes *>(self)->owner.native_handle(), 0.0, &s);
        return s;
    }
    static const cf_object_type &type() {
        static const cf_object_type t{sizeof(cf_object_type), "cf::detail::serial::LentBytes", &destroy, &bytes};
        return t;
    }
};

// The inline step of then<Fn> on a Future<T> (cf_future_then_inline): makes Fn's argument archive out of the
// source's value where the source completes. user_data is a Future<T> on the source.
template <auto Fn, class T>
struct ArgumentStep {
    using traits = function_traits<decltype(Fn)>;

    static int run(cf_task_ctx *ctx, const void *, std::size_t, void *user_data) {
        const Future<T> &source = *static_cast<const Future<T> *>(user_data);
        try {
            if constexpr (std::is_void_v<T>) {
                return give(ctx, traits::encode());
            } else {
                void *object = nullptr;  // a thread pool's (or a Promise's) value, held as a C++ object
                detail::check(cf_future_result_object(source.native_handle(), 0.0, typeid(T).name(), &object));
                if (object) return give(ctx, traits::encode(*static_cast<const T *>(object)));
                if constexpr (result_is_argument<traits, T>()) {
                    return cf_task_return_object(ctx, new LentBytes{source}, &LentBytes::type());
                } else {
                    return give(ctx, traits::encode(source.result(0.0)));
                }
            }
        } catch (...) {  // bytes that are no T, a value Boost refuses: the continuation fails with it
            return detail::raise_current(ctx);
        }
    }
    static void release(void *user_data) { delete static_cast<Future<T> *>(user_data); }

private:
    static int give(cf_task_ctx *ctx, const std::string &bytes) {
        return cf_task_return(ctx, bytes.data(), bytes.size());
    }
};

/// @cond
// submit<&fn> of every executor whose tasks run in other processes (process pools, MPI pools).
template <auto Fn, class... Args>
auto submit_typed(Executor &ex, Args &&...args) {
    using traits = function_traits<decltype(Fn)>;
    static_assert(sizeof...(Args) == traits::arity,
                  "submit<&fn>(args...): give one argument per parameter of fn (default arguments do not apply)");
    check_task<Fn>();
    std::string bytes = traits::encode(std::forward<Args>(args)...);
    return Future<typename traits::value>(ex.submit_named(TypedTask<Fn>::name(), bytes));
}
/// @endcond
}  // namespace detail::serial

template <auto Fn, class... Args>
auto ProcessPoolExecutor::submit(Args &&...args) {
    return detail::serial::submit_typed<Fn>(*this, std::forward<Args>(args)...);
}

template <auto Fn, class T>
auto ProcessPoolExecutor::then(const Future<T> &source) {
    using traits = detail::serial::function_traits<decltype(Fn)>;
    using step = detail::serial::ArgumentStep<Fn, T>;
    if constexpr (std::is_void_v<T>) {
        static_assert(traits::arity == 0, "then<&fn>(Future<void>): fn must take no parameters");
    } else {
        static_assert(traits::arity == 1, "then<&fn>(Future<T>): fn must take one parameter, which a T converts to");
    }
    detail::serial::check_task<Fn>();
    const std::string &name = TypedTask<Fn>::name();
    cf_future *from = detail::checked_handle(source);
    cf_future *argument = nullptr;
    // From here the library owns the handle: it releases it once the step has run or never will.
    detail::check(cf_future_then_inline(from, &step::run, new Future<T>(source), &step::release, &argument));
    return then_named<typename traits::value>(FutureBase(argument), name);
}

}  // namespace cf

#endif  // CFUTURES_SERIALIZATION_HPP
