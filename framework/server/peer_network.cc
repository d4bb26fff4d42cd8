#include "server/peer_network.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "failpoint/failpoint.h"
#include "raft/codec.h"
#include "server/member_id.h"

namespace keel::server {
namespace {

// A peer's id as etcd's metrics label it.
std::string label(uint64_t id) { return id_to_go_hex(id); }

}  // namespace

PeerNetwork::PeerNetwork(PeerNetworkOptions options) : options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    metrics::Registry& r = *options_.metrics;
    sent_bytes_ = &r.counter_family("etcd_network_peer_sent_bytes_total",
                                    "The total number of bytes sent to peers.", {"To"});
    received_bytes_ = &r.counter_family("etcd_network_peer_received_bytes_total",
                                        "The total number of bytes received from peers.", {"From"});
    sent_failures_ = &r.counter_family("etcd_network_peer_sent_failures_total",
                                       "The total number of send failures from peers.", {"To"});
    round_trip_ = &r.histogram_family("etcd_network_peer_round_trip_time_seconds",
                                      "Round-Trip-Time histogram between peers.", {"To"},
                                      metrics::exponential_buckets(0.0001, 2, 14));
    // etcd's buckets for snapshots: 100 ms to about 51 s, doubling.
    const std::vector<double> snapshot_buckets = metrics::exponential_buckets(0.1, 2, 10);
    snapshots_sent_ = &r.counter_family("etcd_network_snapshot_send_success",
                                        "Total number of successful snapshot sends", {"To"});
    snapshot_send_failures_ = &r.counter_family("etcd_network_snapshot_send_failures",
                                                "Total number of snapshot send failures", {"To"});
    snapshot_send_seconds_ = &r.histogram_family("etcd_network_snapshot_send_total_duration_seconds",
                                                 "Total latency distributions of v3 snapshot sends", {"To"},
                                                 snapshot_buckets);
    snapshots_received_ = &r.counter_family("etcd_network_snapshot_receive_success",
                                            "Total number of successful snapshot receives", {"From"});
    snapshot_receive_failures_ = &r.counter_family("etcd_network_snapshot_receive_failures",
                                                   "Total number of snapshot receive failures", {"From"});
    snapshot_receive_seconds_ = &r.histogram_family("etcd_network_snapshot_receive_total_duration_seconds",
                                                    "Total latency distributions of v3 snapshot receives",
                                                    {"From"}, snapshot_buckets);
  }
}

Result<std::unique_ptr<PeerNetwork>> PeerNetwork::start(TransportPlugin& plugin, PeerNetworkOptions options) {
  std::unique_ptr<PeerNetwork> network(new PeerNetwork(std::move(options)));
  TransportOptions t;
  t.local_id = network->options_.member_id;
  t.cluster_id = network->options_.cluster_id;
  t.listen_urls = network->options_.listen_urls;
  t.max_frame_bytes = network->options_.max_frame_bytes;
  t.handler = network.get();
  Result<std::unique_ptr<Transport>> transport = plugin.start(t);
  if (!transport.ok()) return transport.status().with_context("starting the peer transport");
  network->transport_ = std::move(transport).value();
  network->sending_.store(network->transport_.get(), std::memory_order_release);
  return network;
}

PeerNetwork::~PeerNetwork() { stop(Status::Cancelled("the peer network stopped")); }

void PeerNetwork::stop(const Status& s) {
  late_frames_.stop();  // first: a late frame goes out through the transport, or into the member
  if (transport_) transport_->stop();
  std::map<uint64_t, PendingCall> calls;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    stopped_ = true;
    calls.swap(calls_);
  }
  for (auto& [id, c] : calls) c.done(s);
}

Status PeerNetwork::add_peer(uint64_t peer, const std::vector<std::string>& urls) {
  KEEL_RETURN_IF_ERROR(transport_->add_peer(peer, urls));
  std::lock_guard<std::mutex> lock(calls_mu_);
  peers_[peer] = urls;
  return Status::OK();
}

Status PeerNetwork::set_peers(const std::map<uint64_t, std::vector<std::string>>& peers,
                              std::chrono::steady_clock::time_point now) {
  std::map<uint64_t, std::vector<std::string>> known;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    for (const auto& [peer, urls] : peers_) {
      if (peers.count(peer) == 0) {
        departing_.try_emplace(peer, now + kDepartureLinger);
      } else {
        departing_.erase(peer);
      }
    }
    known = peers_;
  }
  for (const auto& [peer, urls] : peers) {
    auto it = known.find(peer);
    if (it != known.end() && it->second == urls) continue;
    KEEL_RETURN_IF_ERROR(add_peer(peer, urls));
  }
  return Status::OK();
}

void PeerNetwork::retire_departed(std::chrono::steady_clock::time_point now) {
  std::vector<uint64_t> retired;
  std::vector<CallDone> stranded;  // calls a retired peer will never answer
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    for (auto it = departing_.begin(); it != departing_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      retired.push_back(it->first);
      peers_.erase(it->first);
      it = departing_.erase(it);
    }
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (std::find(retired.begin(), retired.end(), it->second.peer) == retired.end()) {
        ++it;
        continue;
      }
      stranded.push_back(std::move(it->second.done));
      it = calls_.erase(it);
    }
  }
  for (uint64_t peer : retired) {
    transport_->remove_peer(peer);
    std::lock_guard<std::mutex> lock(activity_mu_);
    activity_.erase(peer);
  }
  for (CallDone& done : stranded) done(Status::Unavailable("the peer left the cluster"));
}

void PeerNetwork::heard_from(uint64_t peer) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(activity_mu_);
  auto [it, added] = activity_.try_emplace(peer, Activity{now, now});
  if (!added && now - it->second.last_heard > kActiveWindow) it->second.since = now;
  it->second.last_heard = now;
}

std::optional<std::chrono::steady_clock::time_point> PeerNetwork::active_since(
    uint64_t peer, std::chrono::steady_clock::time_point now) const {
  std::lock_guard<std::mutex> lock(activity_mu_);
  auto it = activity_.find(peer);
  if (it == activity_.end() || now - it->second.last_heard > kActiveWindow) return std::nullopt;
  return it->second.since;
}

void PeerNetwork::probe(std::chrono::steady_clock::time_point now) {
  if (round_trip_ == nullptr || now - last_probe_ < kProbeInterval) return;
  last_probe_ = now;
  std::vector<uint64_t> peers;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    for (const auto& [peer, urls] : peers_) {
      if (departing_.count(peer) == 0) peers.push_back(peer);
    }
  }
  for (uint64_t peer : peers) {
    // An unanswered probe expires with the other calls; only answers are measured.
    call(peer, PeerMethod::kProbe, std::string(), now + kProbeInterval,
         [this, peer, sent = std::chrono::steady_clock::now()](Result<std::string> answer) {
           if (!answer.ok()) return;
           round_trip_->with({label(peer)})
               .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
         });
  }
}

void PeerNetwork::send_frame(uint64_t to, std::string frame, Lane lane) {
  const failpoint::Hit fault = failpoint::evaluate_link(failpoint::kPeerSend, to);
  if (fault.action == failpoint::Action::kDrop) return;
  if (fault.action == failpoint::Action::kSleep) {
    return late_frames_.after(fault.sleep, [this, to, frame = std::move(frame), lane]() mutable {
      transmit(to, std::move(frame), lane);
    });
  }
  transmit(to, std::move(frame), lane);
}

void PeerNetwork::transmit(uint64_t to, std::string frame, Lane lane) {
  if (sent_bytes_ != nullptr) sent_bytes_->with({label(to)}).inc(static_cast<double>(frame.size()));
  // A transport may hand over a peer's call before start() returned it (a reply then has no way
  // out yet): the frame is dropped, and the asker's deadline answers it.
  Transport* transport = sending_.load(std::memory_order_acquire);
  if (transport == nullptr) return;
  transport->send(to, std::move(frame), lane);
}

void PeerNetwork::send(const std::vector<raft::Message>& messages) {
  for (const raft::Message& m : messages) send_frame(m.to, encode_raft_frame(m), lane_of(m));
}

void PeerNetwork::call(uint64_t peer, PeerMethod method, std::string body,
                       std::chrono::steady_clock::time_point deadline, CallDone done,
                       IfUnreachable if_unreachable) {
  PeerCall c{0, method, std::move(body)};
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    known = peers_.count(peer) != 0;
    if (!stopped_ && known) {
      c.call_id = ++next_call_id_;
      calls_[c.call_id] = PendingCall{std::move(done), deadline, peer, if_unreachable};
    }
  }
  if (c.call_id == 0 && !known) return done(Status::Unavailable("member " + id_to_hex(peer) + " is not a peer"));
  if (c.call_id == 0) return done(Status::Cancelled("the peer network stopped"));
  send_frame(peer, encode_call_frame(c), Lane::kControl);
}

void PeerNetwork::expire_calls(std::chrono::steady_clock::time_point now, const Status& s) {
  std::vector<CallDone> expired;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.done));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : expired) done(s);
}

void PeerNetwork::on_call_frame(uint64_t from, std::string_view frame) {
  Result<PeerCall> c = decode_call_frame(frame);
  if (!c.ok()) {
    log(options_.logger, LogLevel::kWarn, "dropped a call from peer " + id_to_hex(from) + ": " + c.status().to_string());
    return;
  }
  const uint64_t call_id = c->call_id;
  if (c->method == PeerMethod::kProbe) {
    return send_frame(from, encode_reply_frame(PeerReply{call_id, Status::OK(), std::string()}), Lane::kControl);
  }
  options_.on_call(from, c->method, std::move(c->body), [this, from, call_id](Result<std::string> answer) {
    PeerReply reply{call_id, answer.status(), answer.ok() ? std::move(answer).value() : std::string()};
    send_frame(from, encode_reply_frame(reply), Lane::kControl);
  });
}

void PeerNetwork::on_reply_frame(uint64_t from, std::string_view frame) {
  Result<PeerReply> r = decode_reply_frame(frame);
  if (!r.ok()) {
    log(options_.logger, LogLevel::kWarn, "dropped a reply from peer " + id_to_hex(from) + ": " + r.status().to_string());
    return;
  }
  CallDone done;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    auto it = calls_.find(r->call_id);
    if (it == calls_.end()) return;  // expired already
    done = std::move(it->second.done);
    calls_.erase(it);
  }
  if (r->status.ok()) {
    done(std::move(r->body));
  } else {
    done(r->status);
  }
}

void PeerNetwork::on_message(MemberId from, std::string frame) {
  const failpoint::Hit fault = failpoint::evaluate_link(failpoint::kPeerRecv, from);
  if (fault.action == failpoint::Action::kDrop) return;
  if (fault.action == failpoint::Action::kSleep) {
    return late_frames_.after(fault.sleep, [this, from, frame = std::move(frame)]() mutable {
      receive(from, std::move(frame));
    });
  }
  receive(from, std::move(frame));
}

void PeerNetwork::receive(uint64_t from, std::string frame) {
  if (received_bytes_ != nullptr) received_bytes_->with({label(from)}).inc(static_cast<double>(frame.size()));
  heard_from(from);
  Result<PeerFrameKind> kind = frame_kind(frame);
  if (kind.ok() && *kind == PeerFrameKind::kCall) return on_call_frame(from, frame);
  if (kind.ok() && *kind == PeerFrameKind::kReply) return on_reply_frame(from, frame);
  Result<raft::Message> m = decode_raft_frame(frame);
  if (!m.ok()) {
    log(options_.logger, LogLevel::kWarn,
        "dropped a frame from peer " + id_to_hex(from) + ": " + m.status().to_string());
    return;
  }
  if (m->from != from || m->to != options_.member_id) {
    log(options_.logger, LogLevel::kWarn,
        "dropped a Raft message from peer " + id_to_hex(from) + " that claims to be from " +
            id_to_hex(m->from) + " to " + id_to_hex(m->to));
    return;
  }
  options_.on_message(std::move(m).value());
}

void PeerNetwork::on_unreachable(MemberId peer) {
  if (sent_failures_ != nullptr) sent_failures_->with({label(peer)}).inc();
  std::vector<CallDone> failed;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.peer == peer && it->second.if_unreachable == IfUnreachable::kFail) {
        failed.push_back(std::move(it->second.done));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : failed) done(Status::Unavailable("peer " + id_to_hex(peer) + " is unreachable"));
  {
    std::lock_guard<std::mutex> lock(activity_mu_);
    activity_.erase(peer);
  }
  options_.on_unreachable(peer);
}

Result<std::string> PeerNetwork::on_introduction(std::string_view question) {
  if (!options_.on_introduction) return Status::NotSupported("this member answers no introductions");
  return options_.on_introduction(question);
}

Status PeerNetwork::on_snapshot(MemberId from, std::string_view metadata, ByteSource& data) {
  if (!options_.on_snapshot) return Status::FailedPrecondition("this member takes no snapshots");
  const failpoint::Hit fault = failpoint::evaluate_link(failpoint::kPeerRecv, from);
  if (fault.action == failpoint::Action::kDrop) return Status::Unavailable("the snapshot was lost (a failpoint)");
  if (fault.action == failpoint::Action::kSleep) std::this_thread::sleep_for(fault.sleep);
  const auto started = std::chrono::steady_clock::now();
  Status s = options_.on_snapshot(from, metadata, data);
  if (snapshots_received_ != nullptr) {
    const std::string from_label = label(from);
    if (s.ok()) {
      snapshots_received_->with({from_label}).inc();
      snapshot_receive_seconds_->with({from_label}).observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } else {
      snapshot_receive_failures_->with({from_label}).inc();
    }
  }
  return s;
}

void PeerNetwork::send_snapshot(uint64_t peer, std::string metadata, std::unique_ptr<ByteSource> data,
                                std::function<void(Status)> done) {
  // The caller is a snapshot's own sender thread: a delay may wait here.
  const failpoint::Hit fault = failpoint::evaluate_link(failpoint::kPeerSend, peer);
  if (fault.action == failpoint::Action::kDrop) return done(Status::Unavailable("the snapshot was lost (a failpoint)"));
  if (fault.action == failpoint::Action::kSleep) std::this_thread::sleep_for(fault.sleep);
  transport_->send_snapshot(
      peer, std::move(metadata), std::move(data),
      [this, peer, started = std::chrono::steady_clock::now(), done = std::move(done)](Status s) {
        if (snapshots_sent_ != nullptr) {
          const std::string to_label = label(peer);
          if (s.ok()) {
            snapshots_sent_->with({to_label}).inc();
            snapshot_send_seconds_->with({to_label}).observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          } else {
            snapshot_send_failures_->with({to_label}).inc();
          }
        }
        done(s);
      });
}

}  // namespace keel::server
