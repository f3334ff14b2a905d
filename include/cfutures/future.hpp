// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: futures, promises, wait and as_completed; header-only, over the C ABI's cf_future.
#ifndef CFUTURES_FUTURE_HPP
#define CFUTURES_FUTURE_HPP

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cfutures.h"
#include "errors.hpp"

namespace cf {

/// The state of a future (the C ABI's cf_future_state).
enum class State : int {
    Pending = 0,    ///< not started yet: cancel() cancels it
    Running = 1,    ///< its task is running
    Cancelled = 2,  ///< cancelled before it finished (done)
    Finished = 3    ///< finished with a result or a failure (done)
};
/// When cf::wait returns, as the return_when of concurrent.futures.wait (the C ABI's cf_return_when).
enum class ReturnWhen : int {
    AllCompleted = 0,    ///< when every future is done
    FirstCompleted = 1,  ///< when any future is done (at once for none)
    FirstException = 2   ///< when any future finishes with a failure, or else when every one is done
};

/// Wait without limit.
inline constexpr double forever = -1.0;

/// Seconds as a double, the unit of every timeout below the typed API (negative or +Inf: no limit).
template <class Rep, class Period>
double to_seconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration<double>(d).count();
}

/// What FutureBase::error() reports: status Ok when the task succeeded (the C ABI's cf_error).
struct ErrorInfo {
    Status status = Status::Ok;  ///< Ok: no failure; else TaskFailed, BrokenProcessPool, TimeLimit, ...
    std::string type,            ///< "ZeroDivisionError", "std::out_of_range", "SIGSEGV"; empty with Ok
        message,                 ///< what the failure says (may be empty)
        detail;                  ///< where it happened: task name, worker pid, exit code, ... (may be empty)
};

namespace detail {
/// @cond
// A C++ value held by a future for its C++ readers (cf_object_type): the type's mangled name identifies it, and C
// readers see the bytes its Codec would make of it (trivially copyable types and std::string), else none.
template <class T>
struct Held {
    static void destroy(void *object) { delete static_cast<T *>(object); }
    static cf_slice bytes(const void *object) {
        const T &v = *static_cast<const T *>(object);
        if constexpr (std::is_same_v<T, std::string>) {
            return cf_slice{v.data(), v.size()};
        } else if constexpr (std::is_trivially_copyable_v<T>) {
            return cf_slice{&v, sizeof(T)};
        } else {
            (void)v;
            return cf_slice{nullptr, 0};
        }
    }
    static const cf_object_type &type() {
        static const cf_object_type t{sizeof(cf_object_type), typeid(T).name(), &destroy, &bytes};
        return t;
    }
};

// The exception a C++ task threw, kept with its future's failure so that result() rethrows that very exception.
inline const char *exception_type_name() { return "cf::detail::Held<std::exception_ptr>"; }
inline const cf_object_type &exception_type() {
    static const cf_object_type t{sizeof(cf_object_type), exception_type_name(), &Held<std::exception_ptr>::destroy,
                                  nullptr};
    return t;
}

// How an exception describes itself to C readers: its type's name and what().
inline void describe(const std::exception_ptr &e, std::string &type, std::string &message, std::string &where) {
    try {
        std::rethrow_exception(e);
    } catch (const TaskError &err) {
        type = err.type();
        message = err.message();
        where = err.detail();
    } catch (const std::exception &err) {
        type = demangle(typeid(err).name());
        message = err.what();
    } catch (...) {
#if defined(__GNUC__) || defined(__clang__)
        const std::type_info *t = abi::__cxa_current_exception_type();
        type = t ? demangle(t->name()) : "unknown exception";
#else
        type = "unknown exception";
#endif
        message = "a non-std exception was thrown";
    }
}
/// @endcond
}  // namespace detail

/// How a typed future turns the bytes of a result into a T when it does not hold a T object (a result set through
/// the C ABI, or sent back by another process). Specialise it for your own types, or include
/// <cfutures/serialization.hpp> for everything Boost.Serialization can read.
///
/// A specialisation has `available` true, `static T decode(std::string_view bytes)` (which throws
/// InvalidStateError for bytes that are no T) and `static std::string encode(const T &value)`. This primary
/// template stands for a type no codec can decode.
template <class T, class Enable = void>
struct Codec {
    /// False: no codec for T; Future<T>::result() then throws InvalidStateError for a result that holds no T.
    static constexpr bool available = false;
};

/// Trivially copyable types: a result is the object representation, sizeof(T) bytes.
template <class T>
struct Codec<T, std::enable_if_t<std::is_trivially_copyable_v<T>>> {
    /// True: this codec applies.
    static constexpr bool available = true;
    /// Copies the bytes into a T; throws InvalidStateError unless there are exactly sizeof(T) of them.
    static T decode(std::string_view b) {
        if (b.size() != sizeof(T)) throw InvalidStateError("result has " + std::to_string(b.size()) +
                                                           " bytes, expected " + std::to_string(sizeof(T)));
        T v;
        std::memcpy(static_cast<void *>(&v), b.data(), sizeof(T));
        return v;
    }
    /// The object representation of v, sizeof(T) bytes.
    static std::string encode(const T &v) { return std::string(reinterpret_cast<const char *>(&v), sizeof(T)); }
};

/// bool: one byte, 0 or 1, as above; any other byte is refused (reading it as a bool would be undefined).
template <>
struct Codec<bool> {
    /// True: this codec applies.
    static constexpr bool available = true;
    /// The bool in one byte; throws InvalidStateError for any other length or a byte other than 0 and 1.
    static bool decode(std::string_view b) {
        if (b.size() != 1) throw InvalidStateError("result has " + std::to_string(b.size()) + " bytes, expected 1");
        unsigned char byte = static_cast<unsigned char>(b[0]);
        if (byte > 1) throw InvalidStateError("result byte " + std::to_string(byte) + " is no bool (0 or 1)");
        return byte == 1;
    }
    /// One byte: 1 for true, 0 for false.
    static std::string encode(bool v) { return std::string(1, v ? '\1' : '\0'); }
};

/// std::string: a result is the string's bytes.
template <>
struct Codec<std::string> {
    /// True: this codec applies.
    static constexpr bool available = true;
    /// The bytes as a string.
    static std::string decode(std::string_view b) { return std::string(b); }
    /// The string's bytes.
    static std::string encode(const std::string &v) { return v; }
};

/// An untyped handle on a future's shared state; copies share it (reference counted). Future<T> adds the type.
///
/// On an empty handle, the members that read or wait for the future throw InvalidStateError. A timeout is in
/// seconds: negative or +Inf waits without limit, 0 does not wait, NaN throws InvalidArgument. A wait without
/// limit inside a thread-pool task that could never end throws DeadlockError.
class FutureBase {
public:
    FutureBase() noexcept = default;  ///< an empty handle: valid() is false; reading or waiting throws
    /// Another handle on the same future (one more reference).
    FutureBase(const FutureBase &other) noexcept : f_(other.f_) { cf_future_retain(f_); }
    /// Takes over other's reference; other becomes empty.
    FutureBase(FutureBase &&other) noexcept : f_(other.f_) { other.f_ = nullptr; }
    /// Shares other's future, giving up the one held before.
    FutureBase &operator=(const FutureBase &other) noexcept {
        cf_future_retain(other.f_);
        cf_future_release(f_);
        f_ = other.f_;
        return *this;
    }
    /// Takes over other's reference, giving up the one held before; other becomes empty.
    FutureBase &operator=(FutureBase &&other) noexcept {
        if (this != &other) {
            cf_future_release(f_);
            f_ = other.f_;
            other.f_ = nullptr;
        }
        return *this;
    }
    ~FutureBase() { cf_future_release(f_); }

    /// False for an empty handle (default-constructed or moved from).
    bool valid() const noexcept { return f_ != nullptr; }
    /// The future's state now (it does not wait).
    State state() const { return static_cast<State>(cf_future_get_state(checked())); }
    /// True when the future is finished or cancelled.
    bool done() const { return cf_future_done(checked()) != 0; }
    /// True while its task is running.
    bool running() const { return state() == State::Running; }
    /// True when the future was cancelled.
    bool cancelled() const { return state() == State::Cancelled; }
    /// True when cancelled (now or before); false when running or finished. A running task is asked to stop
    /// (and cancelled, when its pool has cancel_running).
    bool cancel() { return detail::check(cf_future_cancel(checked())) == 1; }

    /// Waits until done; false when the timeout (seconds; negative waits forever) ran out first.
    bool wait(double timeout = forever) const {
        cf_future *one = checked();
        int rc = cf_wait(&one, 1, timeout, CF_ALL_COMPLETED, nullptr, nullptr);
        if (rc == CF_E_TIMEOUT) return false;
        detail::check(rc);
        return true;
    }
    /// wait() with a std::chrono duration.
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) const { return wait(to_seconds(timeout)); }

    /// The result's bytes; throws the failure, CancelledError or TimeoutError. Valid while the future lives.
    std::string_view bytes(double timeout = forever) const {
        cf_slice s{nullptr, 0};
        int rc = cf_future_result(checked(), timeout, &s);
        if (rc != CF_OK) throw_failure(rc);
        return std::string_view(static_cast<const char *>(s.data), s.data ? s.len : 0);
    }
    /// The failure as the C ABI reports it (status Ok on success); throws CancelledError or TimeoutError.
    ErrorInfo error(double timeout = forever) const {
        cf_error e{};
        detail::check(cf_future_exception(checked(), timeout, &e));
        ErrorInfo info;
        info.status = static_cast<Status>(e.status);
        if (e.status != CF_OK) {
            info.type = e.type ? e.type : "";
            info.message = e.message ? e.message : "";
            info.detail = e.detail ? e.detail : "";
        }
        return info;
    }
    /// The exception result() would throw, or nullptr on success; throws CancelledError or TimeoutError.
    std::exception_ptr exception(double timeout = forever) const {
        if (error(timeout).status == Status::Ok) return nullptr;
        try {
            throw_failure(CF_E_TASK_FAILED);
        } catch (...) {
            return std::current_exception();
        }
    }

    /// Runs fn once the future is done, on the completing thread, or at once when it is done already.
    /// Callbacks run in the order added; one that throws does not stop the others.
    void add_done_callback(std::function<void(const FutureBase &)> fn) {
        cf_future *f = checked();
        auto *box = new std::function<void(const FutureBase &)>(std::move(fn));
        // From here the library owns the box: it deletes it after the callback, or now if the call fails.
        detail::check(cf_future_add_done_callback_ex(f, &run_callback, box, &delete_callback));
    }

    /// For bindings: adopts one reference to a C future (cf_future).
    explicit FutureBase(cf_future *adopted) noexcept : f_(adopted) {}
    /// The C future, without changing its reference count.
    cf_future *native_handle() const noexcept { return f_; }
    /// Gives up this handle's reference to the caller (the handle becomes empty).
    cf_future *release_handle() noexcept {
        cf_future *f = f_;
        f_ = nullptr;
        return f;
    }

    /// True when both handles refer to the same future (or both are empty).
    friend bool operator==(const FutureBase &a, const FutureBase &b) noexcept { return a.f_ == b.f_; }
    /// True when the handles refer to different futures.
    friend bool operator!=(const FutureBase &a, const FutureBase &b) noexcept { return a.f_ != b.f_; }

protected:
    /// The C future; throws InvalidStateError for an empty handle.
    cf_future *checked() const {
        if (!f_) throw InvalidStateError("empty future handle");
        return f_;
    }
    /// Throws what a result read that returned rc (not CF_OK) stands for: TimeoutError, CancelledError, or the
    /// future's failure (the task's own exception when it came from C++, RemoteError from another process,
    /// TaskError for a described one, the status's class otherwise).
    [[noreturn]] void throw_failure(int rc) const {
        if (rc == CF_E_TIMEOUT || rc == CF_E_CANCELLED || rc == CF_E_INVALID_ARGUMENT || rc == CF_E_DEADLOCK ||
            cf_future_get_state(f_) != CF_FINISHED)
            detail::throw_last_error(rc);
        void *object = nullptr;
        if (cf_future_exception_object(f_, 0.0, detail::exception_type_name(), &object) == CF_OK && object)
            std::rethrow_exception(*static_cast<const std::exception_ptr *>(object));
        cf_error e{};
        detail::check(cf_future_exception(f_, 0.0, &e));
        std::string type = e.type ? e.type : "", message = e.message ? e.message : "", where = e.detail ? e.detail : "";
        if (e.status == CF_E_TASK_FAILED) {
            if (cf_future_failed_remotely(f_)) throw RemoteError(type, message, where);
            throw TaskError(type, message, where);
        }
        throw_status(static_cast<Status>(e.status), message);
    }

private:
    static void run_callback(cf_future *f, void *user_data) {
        cf_future_retain(f);
        FutureBase borrowed(f);
        try {
            (*static_cast<std::function<void(const FutureBase &)> *>(user_data))(borrowed);
        } catch (...) {
            // One callback that throws does not stop the others (as in concurrent.futures, which logs it).
        }
    }
    static void delete_callback(void *user_data) { delete static_cast<std::function<void(const FutureBase &)> *>(user_data); }

    cf_future *f_ = nullptr;
};

/// A future whose result is a T (void: no value).
template <class T>
class Future : public FutureBase {
public:
    Future() noexcept = default;  ///< an empty handle: valid() is false
    /// Views an untyped future as one holding T (checked when the result is read).
    explicit Future(FutureBase base) noexcept : FutureBase(std::move(base)) {}

    /// Waits for the result and returns it: the T object the future holds, or else its bytes decoded by
    /// Codec<T> (InvalidStateError when they cannot be). Throws the failure (the exception the task threw,
    /// TaskError, BrokenProcessPool, ...), CancelledError or TimeoutError.
    T result(double timeout = forever) const {
        if constexpr (std::is_void_v<T>) {
            cf_slice s{nullptr, 0};
            int rc = cf_future_result(checked(), timeout, &s);
            if (rc != CF_OK) throw_failure(rc);
        } else if constexpr (std::is_trivially_copyable_v<T>) {
            // Such a value travels as its bytes (what Held<T> shows C readers too): read them directly.
            cf_slice s{nullptr, 0};
            int rc = cf_future_result(checked(), timeout, &s);
            if (rc != CF_OK) throw_failure(rc);
            return Codec<T>::decode(std::string_view(static_cast<const char *>(s.data), s.data ? s.len : 0));
        } else {
            void *object = nullptr;
            int rc = cf_future_result_object(checked(), timeout, typeid(T).name(), &object);
            if (rc != CF_OK) throw_failure(rc);
            if (object) return *static_cast<const T *>(object);
            cf_slice s{nullptr, 0};
            detail::check(cf_future_result(checked(), 0.0, &s));
            std::string_view held(static_cast<const char *>(s.data), s.data ? s.len : 0);
            if constexpr (Codec<T>::available) {
                return Codec<T>::decode(held);
            } else {
                throw InvalidStateError(std::string("the result holds no ") + typeid(T).name() +
                                        " and no Codec can decode it");
            }
        }
    }
    /// result() with a std::chrono duration.
    template <class Rep, class Period>
    T result(std::chrono::duration<Rep, Period> timeout) const { return result(to_seconds(timeout)); }

    /// FutureBase::add_done_callback with the typed future: fn is called as fn(Future<T>).
    template <class F>
    void add_done_callback(F fn) {
        FutureBase::add_done_callback(
            [fn = std::move(fn)](const FutureBase &b) mutable { fn(Future<T>(b)); });
    }

    /// A continuation: once this future succeeds, f(its result) (f() for a Future<void>) runs on executor; the
    /// returned future holds what f returns or throws. A failure or cancellation of this future passes on without
    /// running f, and cancelling the continuation before f runs cancels it. No thread waits meanwhile.
    /// (executor.then(*this, f): see ThreadPoolExecutor::then.)
    template <class Executor, class F>
    auto then(Executor &executor, F &&f) const {
        return executor.then(*this, std::forward<F>(f));
    }
    /// A typed continuation in a process pool's worker: executor.then<Fn>(*this) (see ProcessPoolExecutor::then,
    /// which needs <cfutures/serialization.hpp>).
    template <auto Fn, class Executor>
    auto then(Executor &executor) const {
        return executor.template then<Fn>(*this);
    }
};

namespace detail {
/// @cond
// What a continuation's function returns, given the value it continues (none for void).
template <class T, class F>
struct ThenResult {
    using type = std::invoke_result_t<F, T>;
};
template <class F>
struct ThenResult<void, F> {
    using type = std::invoke_result_t<F>;
};
template <class T, class F>
using then_result_t = typename ThenResult<T, F>::type;

inline cf_future *checked_handle(const FutureBase &f) {
    if (!f.valid()) throw InvalidStateError("empty future handle");
    return f.native_handle();
}
/// @endcond
}  // namespace detail

/// A future done when every one of fs is: it succeeds when all succeeded, and otherwise throws the first
/// failure (or CancelledError) it saw. The inputs keep their own results; it cancels none of them.
template <class... T>
Future<void> when_all(const Future<T> &...fs) {
    cf_future *handles[] = {detail::checked_handle(fs)..., nullptr};
    cf_future *out = nullptr;
    detail::check(cf_when_all(handles, sizeof...(fs), &out));
    return Future<void>(FutureBase(out));
}
/// when_all over a vector of futures.
template <class T>
Future<void> when_all(const std::vector<Future<T>> &fs) {
    std::vector<cf_future *> handles;
    for (const auto &f : fs) handles.push_back(detail::checked_handle(f));
    cf_future *out = nullptr;
    detail::check(cf_when_all(handles.data(), handles.size(), &out));
    return Future<void>(FutureBase(out));
}
/// A future done when the first of fs is: its result is that future's position (those done already count
/// first, in order). InvalidArgument for no futures.
template <class T>
Future<std::uint64_t> when_any(const std::vector<Future<T>> &fs) {
    std::vector<cf_future *> handles;
    for (const auto &f : fs) handles.push_back(detail::checked_handle(f));
    cf_future *out = nullptr;
    detail::check(cf_when_any(handles.data(), handles.size(), &out));
    return Future<std::uint64_t>(FutureBase(out));
}
/// when_any over futures of any types.
template <class... T>
Future<std::uint64_t> when_any(const Future<T> &...fs) {
    cf_future *handles[] = {detail::checked_handle(fs)..., nullptr};
    cf_future *out = nullptr;
    detail::check(cf_when_any(handles, sizeof...(fs), &out));
    return Future<std::uint64_t>(FutureBase(out));
}

/// The producer's side of a future, for executors, tests and anything that completes futures itself.
///
/// Copies share the future. Completing it wakes its waiters and runs its callbacks on the calling thread. Each
/// member throws InvalidStateError on a promise that was moved from.
class PromiseBase {
public:
    /// A new pending future.
    PromiseBase() : future_(new_future()) {}

    /// True: now running; false: it was cancelled. Throws InvalidStateError when running or done already.
    bool set_running_or_notify_cancel() { return detail::check(cf_future_set_running_or_notify_cancel(checked())) == 1; }
    /// Finishes the future with these bytes as its result (copied). Each set_* throws InvalidStateError when the
    /// future is done or cancelled already (the first value stays).
    void set_bytes(std::string_view bytes) {
        detail::check(cf_future_set_result(checked(), bytes.data(), bytes.size()));
    }
    /// Stores the exception; Future::result() rethrows it, the C ABI reports its type name and what(). Throws
    /// InvalidArgument for a null e.
    void set_exception(std::exception_ptr e) {
        if (!e) throw InvalidArgument("set_exception needs an exception");
        std::string type, message, where;
        detail::describe(e, type, message, where);
        cf_future *f = checked();
        detail::check(cf_future_set_exception_object(f, new std::exception_ptr(std::move(e)), &detail::exception_type(),
                                                     type.c_str(), message.c_str(), where.c_str()));
    }
    /// A failure by description, as the C ABI's cf_future_set_exception (status TaskFailed) or a broken pool.
    /// Throws InvalidArgument for status Ok or Done.
    void set_failure(Status status, std::string type, std::string message, std::string detail = {}) {
        if (status == Status::Ok || status == Status::Done) throw InvalidArgument("a failure needs a failing status");
        detail::check(cf_future_set_failure(checked(), static_cast<int>(status), type.c_str(), message.c_str(),
                                            detail.c_str()));
    }
    /// The future this promise completes.
    const FutureBase &future_base() const noexcept { return future_; }

protected:
    /// Finishes the future with a C++ object as its result (the C ABI's cf_future_set_result_object).
    template <class T>
    void set_object(T value) {
        cf_future *f = checked();
        detail::check(cf_future_set_result_object(f, new T(std::move(value)), &detail::Held<T>::type()));
    }

private:
    static FutureBase new_future() {
        cf_future *f = nullptr;
        detail::check(cf_future_new(&f));
        return FutureBase(f);
    }
    cf_future *checked() const {
        if (!future_.valid()) throw InvalidStateError("promise was moved from");
        return future_.native_handle();
    }
    FutureBase future_;
};

/// A promise of a T: the producer's side of a Future<T>.
template <class T>
class Promise : public PromiseBase {
public:
    /// The future this promise completes (another handle on it at each call).
    Future<T> get_future() const { return Future<T>(future_base()); }
    /// Stores the value as a T (an argument of another type is converted first). Throws InvalidStateError when
    /// the future is done or cancelled already.
    void set_result(T value) {
        if constexpr (std::is_trivially_copyable_v<T>) {
            set_bytes(std::string_view(reinterpret_cast<const char *>(&value), sizeof value));
        } else {
            set_object<T>(std::move(value));
        }
    }
};

/// A promise of no value: the producer's side of a Future<void>.
template <>
class Promise<void> : public PromiseBase {
public:
    /// The future this promise completes (another handle on it at each call).
    Future<void> get_future() const { return Future<void>(future_base()); }
    /// Finishes the future (with an empty result). Throws InvalidStateError when it is done or cancelled already.
    void set_result() { set_bytes({}); }
};

// ---------------------------------------------------------------------------------------------------------------
// wait and as_completed

namespace detail {
/// @cond
// The futures of fs that are not empty, as C handles, and where each stands in fs.
inline void live_handles(const FutureBase *const *fs, std::size_t n, std::vector<cf_future *> &live,
                         std::vector<std::size_t> *where) {
    for (std::size_t i = 0; i < n; ++i)
        if (fs[i] && fs[i]->valid()) {
            live.push_back(fs[i]->native_handle());
            if (where) where->push_back(i);
        }
}

// The engine behind cf::wait (cf_wait): flags (n entries, or nullptr) mark done positions, n_done counts distinct
// done futures; returns whether the condition holds. Empty handles are skipped.
inline bool wait_for(const FutureBase *const *fs, std::size_t n, double timeout, ReturnWhen when,
                     unsigned char *flags, std::size_t *n_done) {
    std::vector<cf_future *> live;
    std::vector<std::size_t> where;
    live_handles(fs, n, live, &where);
    std::vector<unsigned char> done(live.size());
    int rc = cf_wait(live.data(), live.size(), timeout, static_cast<cf_return_when>(when), done.data(), n_done);
    if (rc != CF_OK && rc != CF_E_TIMEOUT) throw_last_error(rc);
    if (flags) {
        std::fill(flags, flags + n, static_cast<unsigned char>(0));
        for (std::size_t k = 0; k < live.size(); ++k) flags[where[k]] = done[k];
    }
    return rc == CF_OK;
}
/// @endcond
}  // namespace detail

/// What cf::wait returns: the futures that are done and those that are not, as Python's DoneAndNotDoneFutures.
template <class T>
struct DoneAndNotDone {
    std::vector<Future<T>> done;      ///< the futures that are done (finished or cancelled), in input order
    std::vector<Future<T>> not_done;  ///< the others, in input order
};

/// Waits as concurrent.futures.wait does; returns the two sets (without duplicates, in input order). It does not
/// throw on timeout: the futures not done then are in not_done. Empty handles are not waited for (one lands in
/// not_done).
template <class T>
DoneAndNotDone<T> wait(const std::vector<Future<T>> &fs, double timeout = forever,
                       ReturnWhen when = ReturnWhen::AllCompleted) {
    std::vector<const FutureBase *> ptrs;
    ptrs.reserve(fs.size());
    for (const auto &f : fs) ptrs.push_back(&f);
    std::vector<unsigned char> flags(fs.size());
    detail::wait_for(ptrs.data(), ptrs.size(), timeout, when, flags.data(), nullptr);
    DoneAndNotDone<T> out;
    std::unordered_set<const void *> seen;
    for (std::size_t i = 0; i < fs.size(); ++i) {
        if (seen.insert(fs[i].native_handle()).second) (flags[i] ? out.done : out.not_done).push_back(fs[i]);
    }
    return out;
}
/// cf::wait with a std::chrono duration.
template <class T, class Rep, class Period>
DoneAndNotDone<T> wait(const std::vector<Future<T>> &fs, std::chrono::duration<Rep, Period> timeout,
                       ReturnWhen when = ReturnWhen::AllCompleted) {
    return wait(fs, to_seconds(timeout), when);
}

/// The untyped engine of as_completed (the C ABI's cf_as_completed).
class AsCompletedBase {
public:
    /// Starts iterating over the n futures fs points to (empty handles and null pointers are skipped; each
    /// distinct future counts once); the timeout, in seconds, counts from here. Holds a reference to each.
    AsCompletedBase(const FutureBase *const *fs, std::size_t n, double timeout) {
        std::vector<cf_future *> live;
        detail::live_handles(fs, n, live, nullptr);
        detail::check(cf_as_completed(live.data(), live.size(), timeout, &it_));
    }
    /// Takes over the other's iteration.
    AsCompletedBase(AsCompletedBase &&other) noexcept : it_(other.it_) { other.it_ = nullptr; }
    /// Takes over the other's iteration, ending this one's.
    AsCompletedBase &operator=(AsCompletedBase &&other) noexcept {
        if (this != &other) {
            cf_as_completed_free(it_);
            it_ = other.it_;
            other.it_ = nullptr;
        }
        return *this;
    }
    ~AsCompletedBase() { cf_as_completed_free(it_); }
    /// The next future to complete; false at the end; throws TimeoutError("N (of M) futures unfinished").
    bool next(FutureBase &out) {
        if (!it_) return false;
        cf_future *f = nullptr;
        int rc = cf_as_completed_next(it_, &f);
        if (rc == CF_DONE) return false;
        detail::check(rc);
        cf_future_retain(f);  // the iterator lends it; the handle keeps a reference of its own
        out = FutureBase(f);
        return true;
    }

private:
    cf_as_completed_iter *it_ = nullptr;
};

/// A range over the futures as they complete: those already done first (input order), then in completion order,
/// each distinct future once. Iterating past the timeout throws TimeoutError. It is iterated once.
template <class T>
class AsCompleted {
public:
    /// An input iterator over the futures as they complete; advancing it waits for the next one.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;  ///< an input iterator: one pass
        using value_type = Future<T>;                       ///< what it yields
        using difference_type = std::ptrdiff_t;             ///< as the standard requires
        using pointer = const Future<T> *;                  ///< what operator->() returns
        using reference = const Future<T> &;                ///< what operator*() returns

        iterator() = default;  ///< the end iterator
        /// An iterator at the first future of src (waiting for it); the end iterator when there is none.
        explicit iterator(AsCompletedBase *src) : src_(src) { advance(); }
        /// The current future.
        reference operator*() const { return current_; }
        /// The current future.
        pointer operator->() const { return &current_; }
        /// Moves to the next future to complete, waiting for it; throws TimeoutError past the timeout.
        iterator &operator++() { advance(); return *this; }
        /// True when both are the end, or both iterate over the same range.
        friend bool operator==(const iterator &a, const iterator &b) { return a.src_ == b.src_; }
        /// The negation of operator==.
        friend bool operator!=(const iterator &a, const iterator &b) { return a.src_ != b.src_; }

    private:
        void advance() {
            FutureBase next;
            if (src_->next(next)) current_ = Future<T>(std::move(next)); else src_ = nullptr;
        }
        AsCompletedBase *src_ = nullptr;
        Future<T> current_;
    };

    /// Iterates over fs; the timeout (seconds; negative: no limit) counts from here.
    AsCompleted(const std::vector<Future<T>> &fs, double timeout) : base_(pointers(fs).data(), fs.size(), timeout) {}
    /// An iterator at the first future to complete (waiting for it). Call it once.
    iterator begin() { return iterator(&base_); }
    /// The end iterator.
    iterator end() { return iterator(); }

private:
    static std::vector<const FutureBase *> pointers(const std::vector<Future<T>> &fs) {
        std::vector<const FutureBase *> p;
        for (const auto &f : fs) p.push_back(&f);
        return p;
    }
    AsCompletedBase base_;
};

/// Iterates over futures as they complete, as concurrent.futures.as_completed does:
/// `for (const cf::Future<int> &f : cf::as_completed(fs)) ...`. The timeout (seconds) counts from this call.
template <class T>
AsCompleted<T> as_completed(const std::vector<Future<T>> &fs, double timeout = forever) {
    return AsCompleted<T>(fs, timeout);
}
/// as_completed with a std::chrono duration.
template <class T, class Rep, class Period>
AsCompleted<T> as_completed(const std::vector<Future<T>> &fs, std::chrono::duration<Rep, Period> timeout) {
    return AsCompleted<T>(fs, to_seconds(timeout));
}

}  // namespace cf

#endif  // CFUTURES_FUTURE_HPP
