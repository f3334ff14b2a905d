// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: futures, promises, wait and as_completed.
#ifndef CFUTURES_FUTURE_HPP
#define CFUTURES_FUTURE_HPP

#include <chrono>
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

#include "cf_export.h"
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
class FutureState;
class AsCompletedIterator;

// The value a finished future holds: its bytes (what the C ABI sees) and, for values set from C++, the typed
// object itself. The library owns one per finished future.
class CF_API ValueHolder {
public:
    virtual ~ValueHolder();
    virtual std::string_view bytes() const noexcept = 0;
    // The held object if it is of type t, else nullptr.
    virtual const void *object(const std::type_info &t) const noexcept { (void)t; return nullptr; }
};

template <class T>
class TypedValue final : public ValueHolder {
public:
    explicit TypedValue(T v) : value_(std::move(v)) {}
    std::string_view bytes() const noexcept override {
        if constexpr (std::is_same_v<T, std::string>) {
            return value_;
        } else if constexpr (std::is_trivially_copyable_v<T>) {
            return {reinterpret_cast<const char *>(&value_), sizeof(T)};
        } else {
            return {};
        }
    }
    const void *object(const std::type_info &t) const noexcept override {
        return t == typeid(T) ? &value_ : nullptr;
    }

private:
    T value_;
};
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
class CF_API FutureBase {
public:
    FutureBase() noexcept = default;  ///< an empty handle: valid() is false; reading or waiting throws
    /// Another handle on the same future (one more reference).
    FutureBase(const FutureBase &other) noexcept;
    /// Takes over other's reference; other becomes empty.
    FutureBase(FutureBase &&other) noexcept;
    /// Shares other's future, giving up the one held before.
    FutureBase &operator=(const FutureBase &other) noexcept;
    /// Takes over other's reference, giving up the one held before; other becomes empty.
    FutureBase &operator=(FutureBase &&other) noexcept;
    ~FutureBase();

    /// False for an empty handle (default-constructed or moved from).
    bool valid() const noexcept { return state_ != nullptr; }
    /// The future's state now (it does not wait).
    State state() const;
    /// True when the future is finished or cancelled.
    bool done() const;
    /// True while its task is running.
    bool running() const;
    /// True when the future was cancelled.
    bool cancelled() const;
    /// True when cancelled (now or before); false when running or finished. A running task is asked to stop
    /// (and cancelled, when its pool has cancel_running).
    bool cancel();

    /// Waits until done; false when the timeout (seconds; negative waits forever) ran out first.
    bool wait(double timeout = forever) const;
    /// wait() with a std::chrono duration.
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) const { return wait(to_seconds(timeout)); }

    /// The result's bytes; throws the failure, CancelledError or TimeoutError. Valid while the future lives.
    std::string_view bytes(double timeout = forever) const;
    /// The failure as the C ABI reports it (status Ok on success); throws CancelledError or TimeoutError.
    ErrorInfo error(double timeout = forever) const;
    /// The exception result() would throw, or nullptr on success; throws CancelledError or TimeoutError.
    std::exception_ptr exception(double timeout = forever) const;

    /// Runs fn once the future is done, on the completing thread, or at once when it is done already.
    /// Callbacks run in the order added; one that throws does not stop the others.
    void add_done_callback(std::function<void(const FutureBase &)> fn);

    /// For the library and bindings: adopts one reference to a state (the C ABI's cf_future is one).
    explicit FutureBase(detail::FutureState *adopted) noexcept : state_(adopted) {}
    /// For the library and bindings: the state, without changing its reference count.
    detail::FutureState *native_handle() const noexcept { return state_; }
    /// Gives up this handle's reference to the caller (the handle becomes empty).
    detail::FutureState *release_handle() noexcept {
        detail::FutureState *s = state_;
        state_ = nullptr;
        return s;
    }

    /// True when both handles refer to the same future (or both are empty).
    friend bool operator==(const FutureBase &a, const FutureBase &b) noexcept { return a.state_ == b.state_; }
    /// True when the handles refer to different futures.
    friend bool operator!=(const FutureBase &a, const FutureBase &b) noexcept { return a.state_ != b.state_; }

protected:
    /// Waits, throws the failure, and returns what the finished future holds.
    const detail::ValueHolder &value(double timeout) const;

private:
    detail::FutureState &checked() const;
    detail::FutureState *state_ = nullptr;
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
        const detail::ValueHolder &held = value(timeout);
        if constexpr (std::is_void_v<T>) {
            (void)held;
        } else {
            if (const void *obj = held.object(typeid(T))) return *static_cast<const T *>(obj);
            if constexpr (Codec<T>::available) {
                return Codec<T>::decode(held.bytes());
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
};

/// The producer's side of a future, for executors, tests and anything that completes futures itself.
///
/// Copies share the future. Completing it wakes its waiters and runs its callbacks on the calling thread. Each
/// member throws InvalidStateError on a promise that was moved from.
class CF_API PromiseBase {
public:
    PromiseBase();  ///< a new pending future
    /// Another promise of the same future.
    PromiseBase(const PromiseBase &) noexcept;
    /// Takes over the other's future; the other is left moved from.
    PromiseBase(PromiseBase &&) noexcept;
    /// Refers to the other's future from now on.
    PromiseBase &operator=(const PromiseBase &) noexcept;
    /// Takes over the other's future; the other is left moved from.
    PromiseBase &operator=(PromiseBase &&) noexcept;
    ~PromiseBase();

    /// True: now running; false: it was cancelled. Throws InvalidStateError when running or done already.
    bool set_running_or_notify_cancel();
    /// Finishes the future with these bytes as its result (copied). Each set_* throws InvalidStateError when the
    /// future is done or cancelled already (the first value stays).
    void set_bytes(std::string_view bytes);
    /// Stores the exception; Future::result() rethrows it, the C ABI reports its type name and what(). Throws
    /// InvalidArgument for a null e.
    void set_exception(std::exception_ptr e);
    /// A failure by description, as the C ABI's cf_future_set_exception (status TaskFailed) or a broken pool.
    /// Throws InvalidArgument for status Ok or Done.
    void set_failure(Status status, std::string type, std::string message, std::string detail = {});
    /// The future this promise completes.
    const FutureBase &future_base() const noexcept { return future_; }
    /// Stores a held value (see detail::TypedValue); the other setters end here.
    void set_value(std::unique_ptr<detail::ValueHolder> value);

private:
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
    void set_result(T value) { set_value(std::make_unique<detail::TypedValue<T>>(std::move(value))); }
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
// The engine behind cf::wait and cf_wait: flags (n entries, or nullptr) mark done positions, n_done counts distinct
// done futures; returns whether the condition holds. Empty handles are skipped.
CF_API bool wait_for(const FutureBase *const *fs, std::size_t n, double timeout, ReturnWhen when,
                     unsigned char *flags, std::size_t *n_done);
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

/// The untyped engine of as_completed (and of cf_as_completed).
class CF_API AsCompletedBase {
public:
    /// Starts iterating over the n futures fs points to (empty handles and null pointers are skipped; each
    /// distinct future counts once); the timeout, in seconds, counts from here. Holds a reference to each.
    AsCompletedBase(const FutureBase *const *fs, std::size_t n, double timeout);
    /// Takes over the other's iteration.
    AsCompletedBase(AsCompletedBase &&) noexcept;
    /// Takes over the other's iteration, ending this one's.
    AsCompletedBase &operator=(AsCompletedBase &&) noexcept;
    ~AsCompletedBase();
    /// The next future to complete; false at the end; throws TimeoutError("N (of M) futures unfinished").
    bool next(FutureBase &out);

private:
    std::unique_ptr<detail::AsCompletedIterator> impl_;
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
