// framework/config: how a member is configured. etcd 3.4's server flags with etcd's names,
// meanings and defaults (each also read from its ETCD_* environment variable), keel's own flags,
// and the --config file of plugin choices and plugin settings.
//
// Precedence, lowest first: built-in defaults, the config file's [member] and [plugins] sections,
// the environment, the command line. Everything is checked before anything touches the data dir.
#ifndef KEEL_CONFIG_CONFIG_H_
#define KEEL_CONFIG_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "config/config_file.h"
#include "config/duration.h"
#include "config/member_config.h"
#include "config/url.h"
#include "keel/status.h"

namespace keel::config {

// kCheck: check flags, config and plugins, print the member, exit (keeld --check).
enum class Action { kRun, kHelp, kVersion, kListPlugins, kCheck };

struct Invocation {
  Action action = Action::kRun;
  std::string help;  // for kHelp: the text to print
  MemberConfig config;
};

// Environment variables by name; only ETCD_* and KEEL_* are looked at.
using Environment = std::map<std::string, std::string>;
Environment process_environment();

// Parses keeld's arguments (without argv[0]). InvalidArgument naming the flag, variable or file
// for an unknown flag, a bad value, a bad URL (or an https one to listen on), an inconsistent
// --initial-cluster, an unreadable config file, or a flag keel does not serve given other than
// at its default.
Result<Invocation> parse_invocation(const std::vector<std::string>& args, const Environment& env);

// One flag of keeld's table. A flag keel does not serve yet is refused unless it is given at its
// default, which is what keel does; the tests walk this list so a flag added later is covered.
struct FlagInfo {
  std::string name;
  std::string default_value;
  bool is_bool = false;
  bool served = true;
};
std::vector<FlagInfo> known_flags();

// The environment variable etcd reads for a flag: "listen-client-urls" -> ETCD_LISTEN_CLIENT_URLS.
std::string env_name_for_flag(const std::string& flag);

}  // namespace keel::config

#endif  // KEEL_CONFIG_CONFIG_H_
