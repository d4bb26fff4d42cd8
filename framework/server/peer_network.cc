#include "server/peer_network.h"

#include <utility>

#include "raft/codec.h"
#include "server/member_id.h"

namespace keel::server {
namespace {

void log(Logger* logger, LogLevel level, const std::string& message) {
  if (logger != nullptr) logger->log(level, message);
}

}  // namespace

std::string encode_raft_frame(const raft::Message& m) {
  std::string frame(1, static_cast<char>(PeerFrameKind::kRaftMessage));
  frame += raft::EncodeMessage(m);
  return frame;
}

Result<raft::Message> decode_raft_frame(std::string_view frame) {
  if (frame.empty() || static_cast<uint8_t>(frame[0]) != static_cast<uint8_t>(PeerFrameKind::kRaftMessage)) {
    return Status::Corruption("peer frame: unknown kind");
  }
  return raft::DecodeMessage(frame.substr(1));
}

Lane lane_of(const raft::Message& m) {
  return m.type == raft::MessageType::kApp && !m.entries.empty() ? Lane::kBulk : Lane::kControl;
}

PeerNetwork::PeerNetwork(PeerNetworkOptions options) : options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    metrics::Registry& r = *options_.metrics;
    sent_bytes_ = &r.counter_family("etcd_network_peer_sent_bytes_total",
                                    "The total number of bytes sent to peers.", {"To"});
    received_bytes_ = &r.counter_family("etcd_network_peer_received_bytes_total",
                                        "The total number of bytes received from peers.", {"From"});
    sent_failures_ = &r.counter_family("etcd_network_peer_sent_failures_total",
                                       "The total number of send failures from peers.", {"To"});
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
  return network;
}

PeerNetwork::~PeerNetwork() { stop(); }

void PeerNetwork::stop() {
  if (transport_) transport_->stop();
}

Status PeerNetwork::add_peer(uint64_t peer, const std::vector<std::string>& urls) {
  return transport_->add_peer(peer, urls);
}

void PeerNetwork::send(const std::vector<raft::Message>& messages) {
  for (const raft::Message& m : messages) {
    std::string frame = encode_raft_frame(m);
    if (sent_bytes_ != nullptr) sent_bytes_->with({id_to_hex(m.to)}).inc(static_cast<double>(frame.size()));
    transport_->send(m.to, std::move(frame), lane_of(m));
  }
}

void PeerNetwork::on_message(MemberId from, std::string frame) {
  if (received_bytes_ != nullptr) received_bytes_->with({id_to_hex(from)}).inc(static_cast<double>(frame.size()));
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
  if (sent_failures_ != nullptr) sent_failures_->with({id_to_hex(peer)}).inc();
  options_.on_unreachable(peer);
}

Status PeerNetwork::on_snapshot(MemberId from, std::string_view, ByteSource&) {
  log(options_.logger, LogLevel::kWarn,
      "refused a snapshot from peer " + id_to_hex(from) + ": catching up by snapshot is not built yet");
  return Status::NotSupported("this member cannot receive snapshots yet");
}

}  // namespace keel::server
