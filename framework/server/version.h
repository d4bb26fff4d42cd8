// The etcd version a keel member reports — in Maintenance.Status, /version and the
// etcd_server_version metric — which is the etcd API it speaks: etcd's clients gate features on
// it, so every place that reports it reads it from here.
#ifndef KEEL_SERVER_VERSION_H_
#define KEEL_SERVER_VERSION_H_

namespace keel::server {

inline constexpr char kEtcdServerVersion[] = "3.4.0";
inline constexpr char kEtcdClusterVersion[] = "3.4.0";

}  // namespace keel::server

#endif  // KEEL_SERVER_VERSION_H_
