// keel::PluginConfig: a plugin's own subtree of the config file, as flat dotted keys.
//
// The config file's section for a plugin (INI `[backend.lmdb]`, or JSON {"backend":{"lmdb":{...}}})
// reaches the plugin's factory as this value type: nested keys are joined with '.', values are the
// text written in the file. The typed getters parse on demand and name the key in their errors, so
// a plugin refuses a bad value with a message the operator can act on.
//
// Thread safety: a value; const methods may be called from any thread.
#ifndef KEEL_PLUGIN_CONFIG_H_
#define KEEL_PLUGIN_CONFIG_H_

#include <charconv>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"

namespace keel {

class PluginConfig {
 public:
  PluginConfig() = default;
  // `section` names the subtree in messages, e.g. "backend.lmdb".
  explicit PluginConfig(std::string section, std::map<std::string, std::string> values = {})
      : section_(std::move(section)), values_(std::move(values)) {}

  const std::string& section() const { return section_; }
  const std::map<std::string, std::string>& values() const { return values_; }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  void set(const std::string& key, std::string value) { values_[key] = std::move(value); }

  Result<std::string> get_string(const std::string& key, std::string fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }

  // Accepts a plain decimal number, optionally with a binary size suffix (KiB, MiB, GiB, TiB,
  // or K, M, G, T meaning the same): "8GiB" is 8 * 2^30.
  Result<uint64_t> get_size(const std::string& key, uint64_t fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    std::string_view text = it->second;
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    std::string_view suffix(end, text.data() + text.size() - end);
    if (ec != std::errc() || end == text.data()) return bad(key, it->second, "a number");
    int shift = 0;
    if (suffix.empty()) shift = 0;
    else if (suffix == "K" || suffix == "KiB") shift = 10;
    else if (suffix == "M" || suffix == "MiB") shift = 20;
    else if (suffix == "G" || suffix == "GiB") shift = 30;
    else if (suffix == "T" || suffix == "TiB") shift = 40;
    else return bad(key, it->second, "a number with an optional KiB/MiB/GiB/TiB suffix");
    if (shift > 0 && n > (UINT64_MAX >> shift)) return bad(key, it->second, "a size below 2^64");
    return n << shift;
  }

  Result<bool> get_bool(const std::string& key, bool fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    const std::string& v = it->second;
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off") return false;
    return bad(key, v, "true or false");
  }

  // Returns the keys of this subtree that are not in `known`: a plugin refuses them, so a typo in
  // the config file is an error rather than a silently ignored setting.
  std::vector<std::string> unknown_keys(const std::vector<std::string>& known) const {
    std::vector<std::string> unknown;
    for (const auto& [key, value] : values_) {
      bool found = false;
      for (const auto& k : known) found = found || k == key;
      if (!found) unknown.push_back(key);
    }
    return unknown;
  }

  // InvalidArgument naming each unknown key and the known ones, or OK.
  Status check_known_keys(const std::vector<std::string>& known) const {
    std::vector<std::string> unknown = unknown_keys(known);
    if (unknown.empty()) return Status::OK();
    std::string m = "unknown setting";
    m += unknown.size() > 1 ? "s" : "";
    for (const auto& k : unknown) m += " " + section_ + "." + k;
    m += " (known:";
    for (const auto& k : known) m += " " + k;
    m += ")";
    return Status::InvalidArgument(m);
  }

 private:
  Status bad(const std::string& key, const std::string& value, const char* expected) const {
    return Status::InvalidArgument("bad value \"" + value + "\" for " + section_ + "." + key +
                                   ": expected " + expected);
  }

  std::string section_;
  std::map<std::string, std::string> values_;
};

}  // namespace keel

#endif  // KEEL_PLUGIN_CONFIG_H_
