// services/grpc: etcd's v3 gRPC services as thin adapters onto framework/server's Node, on
// gRPC's callback API (no thread per call or per stream: handlers return at once and the call is
// finished from the thread that completes it).
//
//   KvService           KV: Range (serializable, or linearizable through Node::read_barrier),
//                       Put, DeleteRange, Txn, Compact (replicated through Node::propose), as
//                       raw calls (raw_call.h)
//   MaintenanceService  Status, Hash, HashKV, Defragment, Alarm, MoveLeader, Snapshot (stream)
//   ClusterService      MemberList, MemberAdd, MemberRemove, MemberUpdate, MemberPromote
//                       (Node::change_members)
//   UnknownMethodService grpc-go's answers to calls of methods nobody serves
//                       (unknown_method_service.h)
//   ClientServer        the gRPC server with these and grpc.health.v1, fed the client URLs'
//                       HTTP/2 connections by services/http's listener (adopt), and measured
//                       by a metrics interceptor (metrics_interceptor.h)
//
// Every error is etcd's code and text (convert.h). Response headers carry the cluster id, member
// id, revision and Raft term as etcd's do.
#ifndef KEEL_SERVICES_GRPC_SERVICES_H_
#define KEEL_SERVICES_GRPC_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "grpc/metrics_interceptor.h"
#include "grpc/unknown_method_service.h"
#include "metrics/metrics.h"
#include "server/node.h"

namespace keel::grpcsvc {

// Sets the member's part of a response header; the revision is left as the caller set it.
void fill_header(const server::HeaderInfo& info, etcdserverpb::ResponseHeader* header);
// The Cluster service's header, as etcd's clusterServer fills it: ids and term, no revision.
void fill_cluster_header(const server::HeaderInfo& info, etcdserverpb::ResponseHeader* header);

// KV's methods take and give serialized messages (raw_call.h says why).
using KvRawService = etcdserverpb::KV::WithRawCallbackMethod_Range<
    etcdserverpb::KV::WithRawCallbackMethod_Put<etcdserverpb::KV::WithRawCallbackMethod_DeleteRange<
        etcdserverpb::KV::WithRawCallbackMethod_Txn<
            etcdserverpb::KV::WithRawCallbackMethod_Compact<etcdserverpb::KV::Service>>>>>;

class KvService final : public KvRawService {
 public:
  explicit KvService(server::Node& node) : node_(node) {}
  // Counts the calls in `metrics` from now on; before the server starts.
  void measure(GrpcMetrics& metrics);

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request, grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Compact(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;

 private:
  server::Node& node_;
  // Each method's counters (metrics_interceptor.h); null while not measured.
  const GrpcMetrics::Method* range_ = nullptr;
  const GrpcMetrics::Method* put_ = nullptr;
  const GrpcMetrics::Method* delete_range_ = nullptr;
  const GrpcMetrics::Method* txn_ = nullptr;
  const GrpcMetrics::Method* compact_ = nullptr;
};

class MaintenanceService final : public etcdserverpb::Maintenance::CallbackService {
 public:
  explicit MaintenanceService(server::Node& node) : node_(node) {}

  grpc::ServerUnaryReactor* Alarm(grpc::CallbackServerContext* context,
                                  const etcdserverpb::AlarmRequest* request,
                                  etcdserverpb::AlarmResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const etcdserverpb::StatusRequest* request,
                                   etcdserverpb::StatusResponse* response) override;
  grpc::ServerUnaryReactor* Defragment(grpc::CallbackServerContext* context,
                                       const etcdserverpb::DefragmentRequest* request,
                                       etcdserverpb::DefragmentResponse* response) override;
  grpc::ServerUnaryReactor* HashKV(grpc::CallbackServerContext* context,
                                   const etcdserverpb::HashKVRequest* request,
                                   etcdserverpb::HashKVResponse* response) override;
  grpc::ServerUnaryReactor* Hash(grpc::CallbackServerContext* context, const etcdserverpb::HashRequest* request,
                                 etcdserverpb::HashResponse* response) override;
  grpc::ServerUnaryReactor* MoveLeader(grpc::CallbackServerContext* context,
                                       const etcdserverpb::MoveLeaderRequest* request,
                                       etcdserverpb::MoveLeaderResponse* response) override;
  // Streams the Backend's copy of itself, a chunk per message, at the client's pace.
  grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* Snapshot(
      grpc::CallbackServerContext* context, const etcdserverpb::SnapshotRequest* request) override;

 private:
  server::Node& node_;
};

class ClusterService final : public etcdserverpb::Cluster::CallbackService {
 public:
  explicit ClusterService(server::Node& node) : node_(node) {}

  grpc::ServerUnaryReactor* MemberList(grpc::CallbackServerContext* context,
                                       const etcdserverpb::MemberListRequest* request,
                                       etcdserverpb::MemberListResponse* response) override;
  grpc::ServerUnaryReactor* MemberAdd(grpc::CallbackServerContext* context,
                                      const etcdserverpb::MemberAddRequest* request,
                                      etcdserverpb::MemberAddResponse* response) override;
  grpc::ServerUnaryReactor* MemberRemove(grpc::CallbackServerContext* context,
                                         const etcdserverpb::MemberRemoveRequest* request,
                                         etcdserverpb::MemberRemoveResponse* response) override;
  grpc::ServerUnaryReactor* MemberUpdate(grpc::CallbackServerContext* context,
                                         const etcdserverpb::MemberUpdateRequest* request,
                                         etcdserverpb::MemberUpdateResponse* response) override;
  grpc::ServerUnaryReactor* MemberPromote(grpc::CallbackServerContext* context,
                                          const etcdserverpb::MemberPromoteRequest* request,
                                          etcdserverpb::MemberPromoteResponse* response) override;

 private:
  server::Node& node_;
};

// Watch: one WatchStream of the member's hub per gRPC stream; responses are written one at a
// time, and a sink that has one in flight refuses the next (the hub then catches the watcher up
// from history), so a slow client never makes the hub buffer without bound.
class WatchService final : public etcdserverpb::Watch::CallbackService {
 public:
  explicit WatchService(server::Node& node) : node_(node) {}

  grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* Watch(
      grpc::CallbackServerContext* context) override;

 private:
  server::Node& node_;
};

// Lease: Grant and Revoke replicated, KeepAlive (a stream) renewing on the leader, TimeToLive
// and Leases read locally.
class LeaseService final : public etcdserverpb::Lease::CallbackService {
 public:
  explicit LeaseService(server::Node& node) : node_(node) {}

  grpc::ServerUnaryReactor* LeaseGrant(grpc::CallbackServerContext* context,
                                       const etcdserverpb::LeaseGrantRequest* request,
                                       etcdserverpb::LeaseGrantResponse* response) override;
  grpc::ServerUnaryReactor* LeaseRevoke(grpc::CallbackServerContext* context,
                                        const etcdserverpb::LeaseRevokeRequest* request,
                                        etcdserverpb::LeaseRevokeResponse* response) override;
  grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>*
  LeaseKeepAlive(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* LeaseTimeToLive(grpc::CallbackServerContext* context,
                                            const etcdserverpb::LeaseTimeToLiveRequest* request,
                                            etcdserverpb::LeaseTimeToLiveResponse* response) override;
  grpc::ServerUnaryReactor* LeaseLeases(grpc::CallbackServerContext* context,
                                        const etcdserverpb::LeaseLeasesRequest* request,
                                        etcdserverpb::LeaseLeasesResponse* response) override;

 private:
  server::Node& node_;
};

// The server binds no port of its own: the client URLs are bound by services/http's listener,
// which hands each HTTP/2 connection to adopt() (etcd's cmux).
struct ClientServerOptions {
  // Where the gRPC request metrics go (grpc_server_*_total); null: not measured. Outlives the
  // server.
  metrics::Registry* registry = nullptr;
  uint64_t max_request_bytes = 1572864;
  uint32_t max_concurrent_streams = UINT32_MAX;
  int keepalive_min_time_ms = 5000;
  int keepalive_interval_ms = 2 * 3600 * 1000;
  int keepalive_timeout_ms = 20000;
};

// The gRPC server on the client URLs. Thread safety: start, set_serving and shutdown from one
// thread.
class ClientServer {
 public:
  // Starts serving the connections adopt() is given.
  static Result<std::unique_ptr<ClientServer>> start(server::Node& node,
                                                     const ClientServerOptions& options);
  ~ClientServer();
  // Serves an accepted connection whose client has sent HTTP/2's preface (nothing of it read
  // yet); takes the fd, which gRPC closes. Any thread; after shutdown() the fd is just closed.
  void adopt(int fd);
  // grpc.health.v1: SERVING while the member has a leader.
  void set_serving(bool serving);
  // Stops taking calls and cancels those under way. Idempotent.
  void shutdown();

 private:
  explicit ClientServer(server::Node& node);

  KvService kv_;
  WatchService watch_;
  LeaseService lease_;
  MaintenanceService maintenance_;
  ClusterService cluster_;
  UnknownMethodService unknown_;
  std::unique_ptr<GrpcMetrics> metrics_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex adopt_mu_;     // adopt() against shutdown()
  bool accepting_ = false;  // guarded by adopt_mu_: adopt() hands connections to server_
  bool serving_ = false;
};

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_SERVICES_H_
