#include "kv_load.h"

#include <grpcpp/alarm.h>

#include <cstring>

namespace keel::bench {

uint64_t value_timestamp(const std::string& value) {
  uint64_t ns = 0;
  if (value.size() >= sizeof ns) std::memcpy(&ns, value.data(), sizeof ns);
  return ns;
}

std::string status_text(const grpc::Status& s) {
  const int code = static_cast<int>(s.error_code());
  const char* name = code >= 0 && code <= 16 ? Status::code_name(static_cast<Status::Code>(code)) : "Unknown";
  return std::string(name) + ": " + s.error_message();
}

// One client: one request in flight, the next sent from the completion callback.
class KvLoad::Client {
 public:
  Client(KvLoad& load, int number, etcdserverpb::KV::Stub& stub, grpc::CompletionQueue* cq, Stats& stats)
      : load_(load), stub_(stub), cq_(cq), stats_(stats), rng_(load.o_.seed * 1000003 + static_cast<uint64_t>(number)) {
    done_tag_.done = [this](bool) { on_reply(); };
    alarm_tag_.done = [this](bool) { send(); };
    put_.set_value(load.value_);
    range_.set_serializable(load.o_.serializable);
    for (int j = 0; j < load.o_.txn_ops; ++j) {
      txn_.add_success()->mutable_request_put()->set_value(load.value_);
    }
  }

  // Claims the next operation and sends it now or when the rate allows; retires when none is left.
  void next() {
    auto claim = load_.source_.next();
    if (!claim) {
      load_.retire();
      return;
    }
    op_ = claim->index;
    if (claim->not_before > Clock::now()) {
      alarm_.Set(cq_, to_deadline(claim->not_before), &alarm_tag_);
    } else {
      send();
    }
  }

 private:
  enum class Kind { kPut, kRange, kTxn };

  void send() {
    const Options& o = load_.o_;
    switch (load_.plan_.workload) {
      case Workload::kRange: kind_ = Kind::kRange; break;
      case Workload::kTxnPut: kind_ = Kind::kTxn; break;
      case Workload::kMixed:
        kind_ = std::uniform_real_distribution<double>(0, 1)(rng_) < o.read_ratio ? Kind::kRange : Kind::kPut;
        break;
      default: kind_ = Kind::kPut; break;
    }
    const uint64_t index = load_.keys_.pick(op_, rng_);
    ctx_ = std::make_unique<grpc::ClientContext>();
    load_.conns_.prepare(*ctx_);
    sent_ = Clock::now();
    ctx_->set_deadline(to_deadline(sent_ + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(o.request_timeout_s))));
    switch (kind_) {
      case Kind::kPut: {
        put_.set_key(load_.plan_.only_key ? *load_.plan_.only_key : load_.keys_.key(index));
        if (load_.plan_.timestamp_values) {
          const uint64_t ns = static_cast<uint64_t>(sent_.time_since_epoch().count());
          std::memcpy(put_.mutable_value()->data(), &ns, sizeof ns);
        }
        put_rpc_ = stub_.PrepareAsyncPut(ctx_.get(), put_, cq_);
        put_rpc_->StartCall();
        put_rpc_->Finish(&put_reply_, &status_, &done_tag_);
        break;
      }
      case Kind::kRange:
        range_.set_key(load_.plan_.only_key ? *load_.plan_.only_key : load_.keys_.key(index));
        range_rpc_ = stub_.PrepareAsyncRange(ctx_.get(), range_, cq_);
        range_rpc_->StartCall();
        range_rpc_->Finish(&range_reply_, &status_, &done_tag_);
        break;
      case Kind::kTxn:
        // Consecutive keys: one txn may not put a key twice (etcd: duplicate key given in txn).
        for (int j = 0; j < txn_.success_size(); ++j) {
          txn_.mutable_success(j)->mutable_request_put()->set_key(
              load_.keys_.key((index + static_cast<uint64_t>(j)) % load_.keys_.size()));
        }
        txn_rpc_ = stub_.PrepareAsyncTxn(ctx_.get(), txn_, cq_);
        txn_rpc_->StartCall();
        txn_rpc_->Finish(&txn_reply_, &status_, &done_tag_);
        break;
    }
  }

  void on_reply() {
    if (status_.ok()) {
      const uint64_t ns = static_cast<uint64_t>((Clock::now() - sent_).count());
      ++stats_.ok;
      stats_.latency.record(ns);
      if (load_.plan_.workload == Workload::kMixed) (kind_ == Kind::kRange ? stats_.reads : stats_.writes).record(ns);
    } else {
      stats_.error(status_text(status_));
    }
    load_.stats_.completed.fetch_add(1, std::memory_order_relaxed);
    next();
  }

  KvLoad& load_;
  etcdserverpb::KV::Stub& stub_;
  grpc::CompletionQueue* cq_;
  Stats& stats_;
  std::mt19937_64 rng_;
  Tag done_tag_, alarm_tag_;
  grpc::Alarm alarm_;
  uint64_t op_ = 0;
  Kind kind_ = Kind::kPut;
  Clock::time_point sent_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  grpc::Status status_;
  etcdserverpb::PutRequest put_;
  etcdserverpb::PutResponse put_reply_;
  etcdserverpb::RangeRequest range_;
  etcdserverpb::RangeResponse range_reply_;
  etcdserverpb::TxnRequest txn_;
  etcdserverpb::TxnResponse txn_reply_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::PutResponse>> put_rpc_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::RangeResponse>> range_rpc_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::TxnResponse>> txn_rpc_;
};

KvLoad::KvLoad(const Options& o, KvPlan plan, Connections& conns, Pollers& pollers, OpSource& source,
               RunStats& stats)
    : o_(o),
      conns_(conns),
      plan_(std::move(plan)),
      keys_(o),
      value_(make_value(plan_.timestamp_values ? std::max(o.val_size, 8) : o.val_size, o.seed)),
      source_(source),
      stats_(stats) {
  for (int i = 0; i < o.clients; ++i) {
    const int q = pollers.index(i);
    clients_.push_back(std::make_unique<Client>(*this, i, conns.kv(i), pollers.queue(q),
                                                stats.per_queue[static_cast<size_t>(q)]));
  }
}

KvLoad::~KvLoad() = default;

void KvLoad::start() {
  finished_.store(false, std::memory_order_relaxed);
  active_.store(static_cast<int>(clients_.size()), std::memory_order_release);
  for (auto& c : clients_) c->next();
}

void KvLoad::retire() {
  const auto now = Clock::now();
  // The last client out records the end, then says so; finished() reads in the other order.
  if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    end_ = now;
    finished_.store(true, std::memory_order_release);
  }
}

}  // namespace keel::bench
