// SPDX-License-Identifier: MIT
// libcfutures C++ API: futures, promises, wait and as_completed.
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

enum class State : int { Pending = 0, Running = 1, Cancelled = 2, Finished = 3 };
enum class ReturnWhen : int { AllCompleted = 0, FirstCompleted = 1, FirstException = 2 };

// Wait without limit.
inline constexpr double forever = -1.0;

// Seconds as a double, the unit of every timeout below the typed API (negative or +Inf: no limit).
template <class Rep, class Period>
double to_seconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration<double>(d).count();
}

// What exception() reports: status Ok when the task succeeded.
struct ErrorInfo {
    Status status = Status::Ok;
    std::string type, message, detail;
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

// How a typed future turns the bytes of a result into a T when it does not hold a T object (a result set through
// the C ABI, or sent back by another process). Specialise it for your own types, or include
// <cfutures/serialization.hpp> for everything Boost.Serialization can read.
template <class T, class Enable = void>
struct Codec {
    static constexpr bool available = false;
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_trivially_copyable_v<T>>> {
    static constexpr bool available = true;
    static T decode(std::string_view b) {
        if (b.size() != sizeof(T)) throw InvalidStateError("result has " + std::to_string(b.size()) +
                                                           " bytes, expected " + std::to_string(sizeof(T)));
        T v;
        std::memcpy(static_cast<void *>(&v), b.data(), sizeof(T));
        return v;
    }
    static std::string encode(const T &v) { return std::string(reinterpret_cast<const char *>(&v), sizeof(T)); }
};

// bool: one byte, 0 or 1, as above; any other byte is refused (reading it as a bool would be undefined).
template <>
struct Codec<bool> {
    static constexpr bool available = true;
    static bool decode(std::string_view b) {
        if (b.size() != 1) throw InvalidStateError("result has " + std::to_string(b.size()) + " bytes, expected 1");
        unsigned char byte = static_cast<unsigned char>(b[0]);
        if (byte > 1) throw InvalidStateError("result byte " + std::to_string(byte) + " is no bool (0 or 1)");
        return byte == 1;
    }
    static std::string encode(bool v) { return std::string(1, v ? '\1' : '\0'); }
};

template <>
struct Codec<std::string> {
    static constexpr bool available = true;
    static std::string decode(std::string_view b) { return std::string(b); }
    static std::string encode(const std::string &v) { return v; }
};

// An untyped handle on a future's shared state; copies share it (reference counted). Future<T> adds the type.
class CF_API FutureBase {
public:
    FutureBase() noexcept = default;  // an empty handle: valid() is false, every other call throws
    FutureBase(const FutureBase &other) noexcept;
    FutureBase(FutureBase &&other) noexcept;
    FutureBase &operator=(const FutureBase &other) noexcept;
    FutureBase &operator=(FutureBase &&other) noexcept;
    ~FutureBase();

    bool valid() const noexcept { return state_ != nullptr; }
    State state() const;
    bool done() const;
    bool running() const;
    bool cancelled() const;
    // True when cancelled (now or before); false when running or finished. A running task is asked to stop.
    bool cancel();

    // Waits until done; false when the timeout (seconds; negative waits forever) ran out first.
    bool wait(double timeout = forever) const;
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) const { return wait(to_seconds(timeout)); }

    // The result's bytes; throws the failure, CancelledError or TimeoutError. Valid while the future lives.
    std::string_view bytes(double timeout = forever) const;
    // The failure as the C ABI reports it (status Ok on success); throws CancelledError or TimeoutError.
    ErrorInfo error(double timeout = forever) const;
    // The exception result() would throw, or nullptr on success; throws CancelledError or TimeoutError.
    std::exception_ptr exception(double timeout = forever) const;

    // Runs fn once the future is done, on the completing thread, or at once when it is done already.
    // Callbacks run in the order added; one that throws does not stop the others.
    void add_done_callback(std::function<void(const FutureBase &)> fn);

    // For the library and bindings: adopts one reference to a state / exposes it without changing the count.
    explicit FutureBase(detail::FutureState *adopted) noexcept : state_(adopted) {}
    detail::FutureState *native_handle() const noexcept { return state_; }
    // Gives up this handle's reference to the caller (the handle becomes empty).
    detail::FutureState *release_handle() noexcept {
        detail::FutureState *s = state_;
        state_ = nullptr;
        return s;
    }

    friend bool operator==(const FutureBase &a, const FutureBase &b) noexcept { return a.state_ == b.state_; }
    friend bool operator!=(const FutureBase &a, const FutureBase &b) noexcept { return a.state_ != b.state_; }

protected:
    // Waits, throws the failure, and returns what the finished future holds.
    const detail::ValueHolder &value(double timeout) const;

private:
    detail::FutureState &checked() const;
    detail::FutureState *state_ = nullptr;
};

// A future whose result is a T (void: no value).
template <class T>
class Future : public FutureBase {
public:
    Future() noexcept = default;
    // Views an untyped future as one holding T (checked when the result is read).
    explicit Future(FutureBase base) noexcept : FutureBase(std::move(base)) {}

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
    template <class Rep, class Period>
    T result(std::chrono::duration<Rep, Period> timeout) const { return result(to_seconds(timeout)); }

    template <class F>
    void add_done_callback(F fn) {
        FutureBase::add_done_callback(
            [fn = std::move(fn)](const FutureBase &b) mutable { fn(Future<T>(b)); });
    }
};

// The producer's side of a future, for executors, tests and anything that completes futures itself.
class CF_API PromiseBase {
public:
    PromiseBase();  // a new pending future
    PromiseBase(const PromiseBase &) noexcept;
    PromiseBase(PromiseBase &&) noexcept;
    PromiseBase &operator=(const PromiseBase &) noexcept;
    PromiseBase &operator=(PromiseBase &&) noexcept;
    ~PromiseBase();

    // True: now running; false: it was cancelled. Throws InvalidStateError when running or done already.
    bool set_running_or_notify_cancel();
    // Each set_* throws InvalidStateError when the future is done or cancelled already (the first value stays).
    void set_bytes(std::string_view bytes);
    // Stores the exception; Future::result() rethrows it, the C ABI reports its type name and what().
    void set_exception(std::exception_ptr e);
    // A failure by description, as the C ABI's cf_future_set_exception (status TaskFailed) or a broken pool.
    void set_failure(Status status, std::string type, std::string message, std::string detail = {});
    const FutureBase &future_base() const noexcept { return future_; }
    // Stores a held value (see detail::TypedValue); the other setters end here.
    void set_value(std::unique_ptr<detail::ValueHolder> value);

private:
    FutureBase future_;
};

template <class T>
class Promise : public PromiseBase {
public:
    Future<T> get_future() const { return Future<T>(future_base()); }
    // Stores the value as a T (an argument of another type is converted first).
    void set_result(T value) { set_value(std::make_unique<detail::TypedValue<T>>(std::move(value))); }
};

template <>
class Promise<void> : public PromiseBase {
public:
    Future<void> get_future() const { return Future<void>(future_base()); }
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

template <class T>
struct DoneAndNotDone {
    std::vector<Future<T>> done;
    std::vector<Future<T>> not_done;
};

// Waits as concurrent.futures.wait does; returns the two sets (without duplicates, in input order).
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
template <class T, class Rep, class Period>
DoneAndNotDone<T> wait(const std::vector<Future<T>> &fs, std::chrono::duration<Rep, Period> timeout,
                       ReturnWhen when = ReturnWhen::AllCompleted) {
    return wait(fs, to_seconds(timeout), when);
}

// The untyped engine of as_completed (and of cf_as_completed).
class CF_API AsCompletedBase {
public:
    AsCompletedBase(const FutureBase *const *fs, std::size_t n, double timeout);
    AsCompletedBase(AsCompletedBase &&) noexcept;
    AsCompletedBase &operator=(AsCompletedBase &&) noexcept;
    ~AsCompletedBase();
    // The next future to complete; false at the end; throws TimeoutError("N (of M) futures unfinished").
    bool next(FutureBase &out);

private:
    std::unique_ptr<detail::AsCompletedIterator> impl_;
};

// A range over the futures as they complete: those already done first (input order), then in completion order,
// each distinct future once. Iterating past the timeout throws TimeoutError.
template <class T>
class AsCompleted {
public:
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Future<T>;
        using difference_type = std::ptrdiff_t;
        using pointer = const Future<T> *;
        using reference = const Future<T> &;

        iterator() = default;
        explicit iterator(AsCompletedBase *src) : src_(src) { advance(); }
        reference operator*() const { return current_; }
        pointer operator->() const { return &current_; }
        iterator &operator++() { advance(); return *this; }
        friend bool operator==(const iterator &a, const iterator &b) { return a.src_ == b.src_; }
        friend bool operator!=(const iterator &a, const iterator &b) { return a.src_ != b.src_; }

    private:
        void advance() {
            FutureBase next;
            if (src_->next(next)) current_ = Future<T>(std::move(next)); else src_ = nullptr;
        }
        AsCompletedBase *src_ = nullptr;
        Future<T> current_;
    };

    AsCompleted(const std::vector<Future<T>> &fs, double timeout) : base_(pointers(fs).data(), fs.size(), timeout) {}
    iterator begin() { return iterator(&base_); }
    iterator end() { return iterator(); }

private:
    static std::vector<const FutureBase *> pointers(const std::vector<Future<T>> &fs) {
        std::vector<const FutureBase *> p;
        for (const auto &f : fs) p.push_back(&f);
        return p;
    }
    AsCompletedBase base_;
};

template <class T>
AsCompleted<T> as_completed(const std::vector<Future<T>> &fs, double timeout = forever) {
    return AsCompleted<T>(fs, timeout);
}
template <class T, class Rep, class Period>
AsCompleted<T> as_completed(const std::vector<Future<T>> &fs, std::chrono::duration<Rep, Period> timeout) {
    return AsCompleted<T>(fs, to_seconds(timeout));
}

}  // namespace cf

#endif  // CFUTURES_FUTURE_HPP
