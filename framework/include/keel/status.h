// keel::Status and keel::Result<T>: the one error type of keel, across the plugin boundary and
// inside the kernel. No exception crosses the boundary; every fallible call returns one of these.
//
// A Status is a code from a small fixed set plus a message for people. The codes follow gRPC's,
// so the API edge maps a Status onto etcd's gRPC status and text once, in one place; a message
// that must reach an etcd client unchanged (e.g. "etcdserver: key not found") is carried as is.
//
// Header-only by design: a plugin includes keel's headers and links nothing of keel.
//
// Thread safety: a Status or Result is a value; distinct objects may be used from distinct threads.
#ifndef KEEL_STATUS_H_
#define KEEL_STATUS_H_

#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keel {

class Status {
 public:
  // The numbers are gRPC's status codes (and stable: they cross the plugin boundary).
  enum class Code : uint8_t {
    kOk = 0,
    kCancelled = 1,
    kUnknown = 2,
    kInvalidArgument = 3,
    kDeadlineExceeded = 4,
    kNotFound = 5,
    kAlreadyExists = 6,
    kPermissionDenied = 7,
    kResourceExhausted = 8,
    kFailedPrecondition = 9,
    kAborted = 10,
    kOutOfRange = 11,
    kNotSupported = 12,  // gRPC's UNIMPLEMENTED
    kInternal = 13,
    kUnavailable = 14,
    kCorruption = 15,  // gRPC's DATA_LOSS
    kUnauthenticated = 16,
    // keel's own: a storage call failed (write, fsync, rename, a full or read-only disk). The member
    // that gets one on its durable path stops; a failed fsync is never retried.
    kIOError = 64,
  };

  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status Unknown(std::string m) { return {Code::kUnknown, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status NotSupported(std::string m) { return {Code::kNotSupported, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  bool is_not_found() const { return code_ == Code::kNotFound; }
  bool is_invalid_argument() const { return code_ == Code::kInvalidArgument; }
  bool is_corruption() const { return code_ == Code::kCorruption; }
  bool is_io_error() const { return code_ == Code::kIOError; }
  bool is_not_supported() const { return code_ == Code::kNotSupported; }
  bool is_failed_precondition() const { return code_ == Code::kFailedPrecondition; }

  // "OK", or the code's name and the message: "NotFound: bucket \"meta\" does not exist".
  std::string to_string() const {
    if (ok()) return "OK";
    std::string s(code_name(code_));
    s += ": ";
    s += message_;
    return s;
  }

  // Returns a copy whose message is prefixed with `context` and ": " (the code is kept).
  Status with_context(std::string_view context) const {
    if (ok()) return *this;
    std::string m(context);
    m += ": ";
    m += message_;
    return Status(code_, std::move(m));
  }

  static const char* code_name(Code code) {
    switch (code) {
      case Code::kOk: return "OK";
      case Code::kCancelled: return "Cancelled";
      case Code::kUnknown: return "Unknown";
      case Code::kInvalidArgument: return "InvalidArgument";
      case Code::kDeadlineExceeded: return "DeadlineExceeded";
      case Code::kNotFound: return "NotFound";
      case Code::kAlreadyExists: return "AlreadyExists";
      case Code::kPermissionDenied: return "PermissionDenied";
      case Code::kResourceExhausted: return "ResourceExhausted";
      case Code::kFailedPrecondition: return "FailedPrecondition";
      case Code::kAborted: return "Aborted";
      case Code::kOutOfRange: return "OutOfRange";
      case Code::kNotSupported: return "NotSupported";
      case Code::kInternal: return "Internal";
      case Code::kUnavailable: return "Unavailable";
      case Code::kCorruption: return "Corruption";
      case Code::kUnauthenticated: return "Unauthenticated";
      case Code::kIOError: return "IOError";
    }
    return "Unknown";
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a T, or the Status saying why there is none.
// REQUIRES: a Result is built from an error Status only (an OK Status carries no value).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit, so `return value;` works
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result built from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  Status status_;
  std::optional<T> value_;
};

// Runs `f` (returning a Status or a Result) and turns an exception it lets out into a Status, so
// none crosses the plugin boundary: ResourceExhausted for bad_alloc, Internal otherwise, the
// message prefixed "<engine>: " and naming `what`.
template <typename F>
auto status_from_exceptions(const char* engine, const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(std::string(engine) + ": out of memory in " + what);
  } catch (const std::exception& e) {
    return Status::Internal(std::string(engine) + ": " + what + ": " + e.what());
  }
}

}  // namespace keel

// Returns from the calling function when `expr` (a Status) is not OK.
#define KEEL_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::keel::Status keel_status_ = (expr);          \
    if (!keel_status_.ok()) return keel_status_;   \
  } while (0)

#endif  // KEEL_STATUS_H_
