#include "mvcc/validate.h"

#include <set>
#include <string>
#include <vector>

#include "mvcc/errors.h"

namespace keel::mvcc {
namespace {

// The deletes of a branch as intervals; to_end marks "every key >= begin".
struct Interval {
  std::string begin, end;
  bool single = false, to_end = false;
  bool contains(const std::string& k) const {
    if (single) return k == begin;
    return k >= begin && (to_end || k < end);
  }
};

struct Writes {
  std::set<std::string> puts;
  std::vector<Interval> dels;
  bool deleted(const std::string& k) const {
    for (const auto& d : dels) {
      if (d.contains(k)) return true;
    }
    return false;
  }
};

// etcd's checkIntervals: a put may not meet another put or a delete of the same branch level or
// of nested txns; puts in the then and else branches of one nested txn may repeat each other.
Status check_intervals(const std::vector<RequestOp>& ops, Writes* out) {
  for (const auto& op : ops) {
    if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
      Interval iv;
      iv.begin = d->key;
      if (d->range_end.empty()) {
        iv.single = true;
      } else if (d->range_end == std::string(1, '\0')) {
        iv.to_end = true;
      } else {
        iv.end = d->range_end;
      }
      out->dels.push_back(std::move(iv));
    }
  }
  for (const auto& op : ops) {
    const auto* t = std::get_if<Box<TxnRequest>>(&op.request);
    if (t == nullptr) continue;
    Writes then_w, else_w;
    KEEL_RETURN_IF_ERROR(check_intervals((*t)->success, &then_w));
    KEEL_RETURN_IF_ERROR(check_intervals((*t)->failure, &else_w));
    for (const auto& k : then_w.puts) {
      if (out->puts.count(k) || out->deleted(k)) return ErrDuplicateKey();
      out->puts.insert(k);
    }
    for (const auto& k : else_w.puts) {
      if (out->puts.count(k) && !then_w.puts.count(k)) return ErrDuplicateKey();
      if (out->deleted(k)) return ErrDuplicateKey();
      out->puts.insert(k);
    }
    for (auto& d : then_w.dels) out->dels.push_back(std::move(d));
    for (auto& d : else_w.dels) out->dels.push_back(std::move(d));
  }
  for (const auto& op : ops) {
    const auto* p = std::get_if<PutRequest>(&op.request);
    if (p == nullptr) continue;
    if (out->puts.count(p->key) || out->deleted(p->key)) return ErrDuplicateKey();
    out->puts.insert(p->key);
  }
  return Status::OK();
}

Status validate_op(const RequestOp& op, size_t max_txn_ops) {
  return std::visit(
      [&](const auto& r) -> Status {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return ErrKeyNotFound();  // etcd: an empty RequestOp
        } else if constexpr (std::is_same_v<T, Box<TxnRequest>>) {
          return validate(*r, max_txn_ops);
        } else {
          return validate(r);
        }
      },
      op.request);
}

}  // namespace

Status validate(const RangeRequest& r) {
  if (r.key.empty()) return ErrEmptyKey();
  return Status::OK();
}

Status validate(const PutRequest& r) {
  if (r.key.empty()) return ErrEmptyKey();
  if (r.ignore_value && !r.value.empty()) return ErrValueProvided();
  if (r.ignore_lease && r.lease != 0) return ErrLeaseProvided();
  return Status::OK();
}

Status validate(const DeleteRangeRequest& r) {
  if (r.key.empty()) return ErrEmptyKey();
  return Status::OK();
}

Status validate(const TxnRequest& r, size_t max_txn_ops) {
  if (r.compare.size() > max_txn_ops || r.success.size() > max_txn_ops ||
      r.failure.size() > max_txn_ops) {
    return ErrTooManyOps();
  }
  for (const auto& c : r.compare) {
    if (c.key.empty()) return ErrEmptyKey();
  }
  for (const auto& op : r.success) KEEL_RETURN_IF_ERROR(validate_op(op, max_txn_ops));
  for (const auto& op : r.failure) KEEL_RETURN_IF_ERROR(validate_op(op, max_txn_ops));
  Writes success_writes, failure_writes;
  KEEL_RETURN_IF_ERROR(check_intervals(r.success, &success_writes));
  KEEL_RETURN_IF_ERROR(check_intervals(r.failure, &failure_writes));
  return Status::OK();
}

namespace {

// Whether `pred` holds for every op of both branches, nested txns searched with the same test.
template <typename Pred>
bool every_op(const TxnRequest& r, const Pred& pred) {
  for (const auto* branch : {&r.success, &r.failure}) {
    for (const RequestOp& op : *branch) {
      if (const auto* nested = std::get_if<Box<TxnRequest>>(&op.request)) {
        if (!every_op(**nested, pred)) return false;
      } else if (!pred(op)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

bool txn_writes(const TxnRequest& r) {
  return !every_op(r, [](const RequestOp& op) {
    return !std::holds_alternative<PutRequest>(op.request) && !std::holds_alternative<DeleteRangeRequest>(op.request);
  });
}

bool txn_serializable(const TxnRequest& r) {
  return every_op(r, [](const RequestOp& op) {
    const auto* range = std::get_if<RangeRequest>(&op.request);
    return range != nullptr && range->serializable;
  });
}

}  // namespace keel::mvcc
