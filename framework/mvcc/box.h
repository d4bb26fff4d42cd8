// Box<T>: a heap-held T with value semantics (deep copy), so request and response structs can
// nest themselves (a Txn inside a Txn's ops) and still copy and compare like plain values.
#ifndef KEEL_MVCC_BOX_H_
#define KEEL_MVCC_BOX_H_

#include <memory>
#include <utility>

namespace keel::mvcc {

template <typename T>
class Box {
 public:
  Box() : p_(std::make_unique<T>()) {}
  Box(T value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit by design
  Box(const Box& other) : p_(std::make_unique<T>(*other.p_)) {}
  Box(Box&& other) noexcept : p_(std::move(other.p_)) {}
  Box& operator=(const Box& other) {
    if (this != &other) p_ = std::make_unique<T>(*other.p_);
    return *this;
  }
  Box& operator=(Box&& other) noexcept {
    p_ = std::move(other.p_);
    return *this;
  }
  ~Box() = default;

  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }
  friend bool operator==(const Box& a, const Box& b) { return *a.p_ == *b.p_; }

 private:
  std::unique_ptr<T> p_;  // never null except after a move
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_BOX_H_
