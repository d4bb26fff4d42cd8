// /health as etcd 3.4's checkV3Health: alarms first (unless excluded), then a leader (unless
// serializable), then a one-key read of the store — linearizable through read_barrier unless
// ?serializable=true.
#include <set>

#include "http/routes.h"

namespace keel::http {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      static const char* kHex = "0123456789abcdef";
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// etcd's AlarmType names, as ?exclude= takes them.
const char* alarm_name(server::AlarmType alarm) {
  switch (alarm) {
    case server::AlarmType::kNone: return "NONE";
    case server::AlarmType::kNoSpace: return "NOSPACE";
    case server::AlarmType::kCorrupt: return "CORRUPT";
  }
  return "UNKNOWN";
}

std::string alarm_reason(server::AlarmType alarm) {
  switch (alarm) {
    case server::AlarmType::kNoSpace: return "ALARM NOSPACE";
    case server::AlarmType::kCorrupt: return "ALARM CORRUPT";
    default: return "ALARM UNKNOWN";
  }
}

}  // namespace

void Routes::health(const std::multimap<std::string, std::string>& query, std::function<void(Response)> done) {
  std::set<std::string> excluded;
  for (auto [it, end] = query.equal_range("exclude"); it != end; ++it) {
    if (!it->second.empty()) excluded.insert(it->second);
  }
  auto serializable_it = query.find("serializable");
  const bool serializable = serializable_it != query.end() && serializable_it->second == "true";

  // Answers and counts (etcd_server_health_success / _failures).
  auto answer = [this, done = std::move(done)](const std::string& reason) {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    if (reason.empty()) {
      health_success_.inc();
      r.body = "{\"health\":\"true\"}";
    } else {
      health_failures_.inc();
      // etcd answers through http.Error: 503, the JSON and a newline.
      r.status = 503;
      r.body = "{\"health\":\"false\",\"reason\":" + json_string(reason) + "}\n";
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    }
    done(std::move(r));
  };

  for (const server::AlarmMember& raised : node_.alarms(server::AlarmType::kNone)) {
    if (excluded.count(alarm_name(raised.alarm)) == 0) {
      answer(alarm_reason(raised.alarm));
      return;
    }
  }
  if (!serializable && !node_.has_leader()) {
    answer("RAFT NO LEADER");
    return;
  }
  // etcd reads one key, keys only: the store answers at all.
  auto read_store = [this]() -> std::string {
    mvcc::RangeRequest probe;
    probe.key = "health";
    probe.limit = 1;
    probe.keys_only = true;
    Result<mvcc::RangeResponse> r = node_.range(probe);
    return r.ok() ? std::string() : "RANGE ERROR:" + r.status().message();
  };
  if (serializable) {
    // On the member's pool: a read can wait behind a defragment, the I/O thread must not.
    node_.post([answer = std::move(answer), read_store]() mutable { answer(read_store()); });
    return;
  }
  node_.read_barrier([answer = std::move(answer), read_store](Status s) mutable {
    answer(s.ok() ? read_store() : "RANGE ERROR:" + s.message());
  });
}

}  // namespace keel::http
