// keel::KeyValue and keel::Event: etcd's data model as plain values, shared by the kernel's MVCC
// store and the WatchHub plugins (the same fields as etcd's mvccpb.KeyValue and mvccpb.Event).
#ifndef KEEL_KV_H_
#define KEEL_KV_H_

#include <cstdint>
#include <optional>
#include <string>

namespace keel {

struct KeyValue {
  std::string key;
  int64_t create_revision = 0;  // revision of the put that created this generation of the key
  int64_t mod_revision = 0;     // revision of the last change
  int64_t version = 0;          // changes since creation; 0 after a delete
  std::string value;
  int64_t lease = 0;            // 0: no lease
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct Event {
  enum class Type : uint8_t { kPut = 0, kDelete = 1 };
  Type type = Type::kPut;
  KeyValue kv;                      // for a delete: key, mod_revision (the delete's revision)
  std::optional<KeyValue> prev_kv;  // the key before this event, when the watcher asked for it
  friend bool operator==(const Event&, const Event&) = default;
};

// The revision of a change: `main` rises by one per write transaction, `sub` numbers the changes
// inside it.
struct Revision {
  int64_t main = 0;
  int64_t sub = 0;
  friend auto operator<=>(const Revision&, const Revision&) = default;
};

}  // namespace keel

#endif  // KEEL_KV_H_
