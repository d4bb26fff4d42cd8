// Member and cluster ids computed as etcd computes them, so a keel member started with etcd's
// flags gets the id etcd would give it: a member's id is the first 8 bytes (big-endian) of the
// SHA-1 of its sorted peer URLs joined, followed by the cluster token; the cluster's id is the
// same of its sorted member ids, each 8 bytes big-endian.
#ifndef KEEL_SERVER_MEMBER_ID_H_
#define KEEL_SERVER_MEMBER_ID_H_

#include <cstdint>
#include <string>
#include <vector>

namespace keel::server {

uint64_t compute_member_id(std::vector<std::string> peer_urls, const std::string& cluster_token);
uint64_t compute_cluster_id(std::vector<uint64_t> member_ids);
// 16 lower-case hex digits, as etcd prints ids.
std::string id_to_hex(uint64_t id);
// Lower-case hex without leading zeros: Go's types.ID, as etcd's metric labels and error texts
// print ids.
std::string id_to_go_hex(uint64_t id);

}  // namespace keel::server

#endif  // KEEL_SERVER_MEMBER_ID_H_
