#include "failpoint/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace keel::failpoint {
namespace internal {
std::atomic<bool> any_on{false};
}  // namespace internal

namespace {

constexpr std::string_view kPlainNames[] = {
    kRaftBeforeSave,      kRaftAfterSave,      kRaftBeforeSaveSnap, kRaftAfterSaveSnap,
    kRaftBeforeApplySnap, kRaftAfterApplySnap, kBeforeCommit,       kAfterCommit,
};

struct Term {
  std::string text;       // as set, for list()
  double percent = 100;   // chance of acting each time the point is reached
  int64_t remaining = -1;  // acts left; -1: no limit
  Hit hit;
};

std::mutex mu;
std::map<std::string, Term, std::less<>>& terms() {
  static auto* t = new std::map<std::string, Term, std::less<>>();  // never destroyed: reached at exit too
  return *t;
}

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// A failpoint's name as kept: a known plain name, or a peer link with its id in kept form.
Result<std::string> canonical_name(std::string_view name) {
  for (std::string_view known : kPlainNames) {
    if (name == known) return std::string(name);
  }
  for (std::string_view direction : {kPeerSend, kPeerRecv}) {
    if (name.size() <= direction.size() + 1 || name.substr(0, direction.size()) != direction ||
        name[direction.size()] != '/') {
      continue;
    }
    std::string_view hex = name.substr(direction.size() + 1);
    uint64_t id = 0;
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), id, 16);
    if (ec != std::errc() || end != hex.data() + hex.size() || hex.size() > 16 || id == 0) {
      return Status::InvalidArgument("failpoint " + std::string(name) + ": the peer id is not a member id in hex");
    }
    return peer_link(direction, id);
  }
  return Status::InvalidArgument("no failpoint is named " + std::string(name));
}

Result<Term> parse_term(std::string_view name, std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("failpoint " + std::string(name) + "=" + std::string(text) + ": " + why);
  };
  Term t;
  t.text = std::string(text);
  std::string_view rest = text;
  if (size_t pct = rest.find('%'); pct != std::string_view::npos) {
    std::optional<double> p = number<double>(rest.substr(0, pct));
    if (!p || *p < 0 || *p > 100) return bad("the percentage must be a number from 0 to 100");
    t.percent = *p;
    rest.remove_prefix(pct + 1);
  }
  if (size_t star = rest.find('*'); star != std::string_view::npos) {
    std::optional<int64_t> n = number<int64_t>(rest.substr(0, star));
    if (!n || *n < 1) return bad("the count must be a whole number above 0");
    t.remaining = *n;
    rest.remove_prefix(star + 1);
  }
  if (rest == "panic") {
    t.hit.action = Action::kPanic;
  } else if (rest == "drop") {
    t.hit.action = Action::kDrop;
  } else if (rest.size() > 7 && rest.substr(0, 6) == "sleep(" && rest.back() == ')') {
    std::string_view arg = rest.substr(6, rest.size() - 7);
    if (arg.size() > 2 && arg.substr(arg.size() - 2) == "ms") arg.remove_suffix(2);
    std::optional<int64_t> ms = number<int64_t>(arg);
    if (!ms || *ms < 0 || *ms > 3'600'000) return bad("sleep takes milliseconds, from 0 to an hour");
    t.hit.action = Action::kSleep;
    t.hit.sleep = std::chrono::milliseconds(*ms);
  } else {
    return bad("the action must be panic, sleep(ms), drop or off");
  }
  return t;
}

// Parses one "name=term" item; an "off" term gives a Term with no action.
Result<std::pair<std::string, Term>> parse_item(std::string_view item) {
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos) {
    return Status::InvalidArgument("failpoint item \"" + std::string(item) + "\" is not name=term");
  }
  const std::string_view raw_name = trim(item.substr(0, eq));
  const std::string_view text = trim(item.substr(eq + 1));
  Result<std::string> name = canonical_name(raw_name);
  if (!name.ok()) return name.status();
  if (text == "off") return std::make_pair(std::move(name).value(), Term{});
  Result<Term> term = parse_term(raw_name, text);
  if (!term.ok()) return term.status();
  return std::make_pair(std::move(name).value(), std::move(term).value());
}

// REQUIRES: mu held.
void publish() { internal::any_on.store(!terms().empty(), std::memory_order_release); }

bool chance(double percent) {
  if (percent >= 100) return true;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 100)(rng) < percent;
}

}  // namespace

std::string peer_link(std::string_view direction, uint64_t peer) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(peer));
  return std::string(direction) + "/" + hex;
}

Status set(std::string_view name, std::string_view term) {
  Result<std::pair<std::string, Term>> item = parse_item(std::string(name) + "=" + std::string(term));
  if (!item.ok()) return item.status();
  std::lock_guard<std::mutex> lock(mu);
  if (item->second.hit.action == Action::kNone) {
    terms().erase(item->first);
  } else {
    terms()[item->first] = std::move(item->second);
  }
  publish();
  return Status::OK();
}

Status set_all(std::string_view spec) {
  std::map<std::string, Term, std::less<>> next;
  while (!spec.empty()) {
    const size_t end = spec.find_first_of(";\n");
    const std::string_view item = trim(spec.substr(0, end));
    spec = end == std::string_view::npos ? std::string_view() : spec.substr(end + 1);
    if (item.empty() || item.front() == '#') continue;
    Result<std::pair<std::string, Term>> parsed = parse_item(item);
    if (!parsed.ok()) return parsed.status();
    if (parsed->second.hit.action == Action::kNone) {
      next.erase(parsed->first);
    } else {
      next[parsed->first] = std::move(parsed->second);
    }
  }
  std::lock_guard<std::mutex> lock(mu);
  terms() = std::move(next);
  publish();
  return Status::OK();
}

std::vector<std::string> list() {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [name, term] : terms()) out.push_back(name + "=" + term.text);
  return out;
}

Hit internal::evaluate(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = terms().find(name);
  if (it == terms().end() || !chance(it->second.percent)) return Hit{};
  const Hit hit = it->second.hit;
  if (it->second.remaining > 0 && --it->second.remaining == 0) {
    terms().erase(it);
    publish();
  }
  return hit;
}

Hit evaluate_link(std::string_view direction, uint64_t peer) {
  if (!internal::any_on.load(std::memory_order_acquire)) return Hit{};
  const std::string name = peer_link(direction, peer);
  const Hit hit = internal::evaluate(name);
  if (hit.action == Action::kPanic) crash(name);
  return hit;
}

void reach(std::string_view name) {
  const Hit hit = evaluate(name);
  if (hit.action == Action::kPanic) crash(name);
  if (hit.action == Action::kSleep) std::this_thread::sleep_for(hit.sleep);
}

void crash(std::string_view name) {
  std::fprintf(stderr, "failpoint %.*s: panic (the member kills itself)\n", static_cast<int>(name.size()),
               name.data());
  std::fflush(stderr);
  ::kill(::getpid(), SIGKILL);
  std::_Exit(137);  // not reached: SIGKILL cannot be caught
}

}  // namespace keel::failpoint
