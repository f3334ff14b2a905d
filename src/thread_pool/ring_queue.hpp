// SPDX-License-Identifier: MIT
// RingQueue: a FIFO of movable values in one growable circular buffer. Pushing and popping allocate nothing once
// the buffer has grown to the queue's working size (std::deque allocates a block every few elements). Not
// thread-safe: a thread pool guards each of its queues with a lock. Internal: no API.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace cf::core {

template <class T>
class RingQueue {
public:
    RingQueue() = default;
    RingQueue(const RingQueue &) = delete;
    RingQueue &operator=(const RingQueue &) = delete;
    ~RingQueue() { clear(); }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    void push_back(T &&value) {
        if (size_ == capacity_) grow();
        new (slot(size_)) T(std::move(value));
        ++size_;
    }

    // Moves the oldest value into out; false when empty.
    bool pop_front(std::optional<T> &out) {
        if (size_ == 0) return false;
        T *front = slot(0);
        out.emplace(std::move(*front));
        front->~T();
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
        return true;
    }

    // Moves out the oldest value for which pred holds, closing the gap behind it; false when none does.
    template <class Pred>
    bool take_first(Pred pred, std::optional<T> &out) {
        for (std::size_t i = 0; i < size_; ++i) {
            if (!pred(*slot(i))) continue;
            out.emplace(std::move(*slot(i)));
            for (std::size_t j = i; j + 1 < size_; ++j) *slot(j) = std::move(*slot(j + 1));
            slot(size_ - 1)->~T();
            --size_;
            return true;
        }
        return false;
    }

    template <class Fn>
    void for_each(Fn fn) const {
        for (std::size_t i = 0; i < size_; ++i) fn(*slot(i));
    }

    // Moves every value, oldest first, to the back of out.
    template <class Container>
    void drain_into(Container &out) {
        std::optional<T> v;
        while (pop_front(v)) out.push_back(std::move(*v));
    }

    void clear() noexcept {
        for (std::size_t i = 0; i < size_; ++i) slot(i)->~T();
        size_ = 0;
        head_ = 0;
    }

private:
    T *slot(std::size_t i) const noexcept {
        return std::launder(reinterpret_cast<T *>(storage_.get()) + ((head_ + i) & (capacity_ - 1)));
    }

    void grow() {
        std::size_t capacity = capacity_ ? capacity_ * 2 : 16;
        std::unique_ptr<Storage[]> storage(new Storage[capacity]);
        T *to = reinterpret_cast<T *>(storage.get());
        for (std::size_t i = 0; i < size_; ++i) {
            new (to + i) T(std::move(*slot(i)));
            slot(i)->~T();
        }
        storage_ = std::move(storage);
        capacity_ = capacity;
        head_ = 0;
    }

    struct alignas(T) Storage {
        unsigned char bytes[sizeof(T)];
    };
    std::unique_ptr<Storage[]> storage_;
    std::size_t capacity_ = 0;  // a power of two
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace cf::core
