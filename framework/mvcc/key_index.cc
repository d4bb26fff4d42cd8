#include "mvcc/key_index.h"

#include <algorithm>
#include <mutex>

namespace keel::mvcc {

template <typename F>
void KeyIndex::for_each_in(const KeyRange& range, F&& f) const {
  if (range.single) {
    auto it = keys_.find(range.begin);
    if (it != keys_.end()) f(it->first, it->second);
    return;
  }
  for (auto it = keys_.lower_bound(range.begin); it != keys_.end() && range.before_end(it->first);
       ++it) {
    f(it->first, it->second);
  }
}

std::optional<KeyState> KeyIndex::state_at(const KeyHistory& h, int64_t at_rev) {
  const size_t last = h.generations.size() - 1;
  for (size_t cg = h.generations.size(); cg-- > 0;) {
    const Generation& g = h.generations[cg];
    if (g.revs.empty()) continue;
    // A finished generation whose tombstone is at or before at_rev: the key was deleted then.
    if (cg != last && g.revs.back().main <= at_rev) return std::nullopt;
    if (g.revs.front().main <= at_rev) {
      size_t n = g.revs.size();
      while (g.revs[n - 1].main > at_rev) --n;
      const size_t i = n - 1;
      return KeyState{g.revs[i], g.created,
                      g.version - static_cast<int64_t>(g.revs.size() - i - 1)};
    }
  }
  return std::nullopt;
}

void KeyIndex::put(std::string_view key, Revision rev, int64_t lease) {
  std::unique_lock lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    KeyHistory h;
    h.generations.push_back(Generation{1, rev.main, {rev}});
    h.lease = lease;
    keys_.emplace(std::string(key), std::move(h));
    return;
  }
  Generation& g = it->second.generations.back();
  if (g.revs.empty()) g.created = rev.main;
  g.revs.push_back(rev);
  ++g.version;
  it->second.lease = lease;
}

Status KeyIndex::tombstone(std::string_view key, Revision rev) {
  std::unique_lock lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.generations.back().revs.empty()) {
    return Status::FailedPrecondition("mvcc: tombstone of a key that is not live");
  }
  Generation& g = it->second.generations.back();
  g.revs.push_back(rev);
  ++g.version;
  it->second.generations.emplace_back();
  it->second.lease = 0;
  return Status::OK();
}

void KeyIndex::restore(const KeyValue& kv, Revision rev, bool tombstone) {
  std::unique_lock lock(mu_);
  auto it = keys_.find(kv.key);
  const bool live = it != keys_.end() && !it->second.generations.back().revs.empty();
  if (tombstone) {
    // A tombstone whose generation was compacted away entirely ends nothing.
    if (!live) return;
    Generation& g = it->second.generations.back();
    g.revs.push_back(rev);
    ++g.version;
    it->second.generations.emplace_back();
    it->second.lease = 0;
    return;
  }
  if (it == keys_.end()) it = keys_.emplace(kv.key, KeyHistory{{Generation{}}, 0}).first;
  Generation& g = it->second.generations.back();
  if (g.revs.empty()) {
    g.created = kv.create_revision;
    g.version = kv.version;
  } else {
    ++g.version;
  }
  g.revs.push_back(rev);
  it->second.lease = kv.lease;
}

void KeyIndex::compact_point(const KeyHistory& h, int64_t at_rev, size_t* gen, int64_t* rev_index) {
  size_t g = 0;
  // Skip the generations that ended (tombstone) at or before at_rev: nothing of them is visible.
  while (g + 1 < h.generations.size() && h.generations[g].revs.back().main <= at_rev) ++g;
  const auto& revs = h.generations[g].revs;
  int64_t i = static_cast<int64_t>(revs.size()) - 1;
  while (i >= 0 && revs[static_cast<size_t>(i)].main > at_rev) --i;
  *gen = g;
  *rev_index = i;
}

std::vector<Revision> KeyIndex::compact(int64_t at_rev) {
  std::vector<Revision> keep;
  std::unique_lock lock(mu_);
  for (auto it = keys_.begin(); it != keys_.end();) {
    KeyHistory& h = it->second;
    size_t gen;
    int64_t rev_index;
    compact_point(h, at_rev, &gen, &rev_index);
    Generation& g = h.generations[gen];
    if (rev_index >= 0) {
      keep.push_back(g.revs[static_cast<size_t>(rev_index)]);
      g.revs.erase(g.revs.begin(), g.revs.begin() + rev_index);
    }
    h.generations.erase(h.generations.begin(), h.generations.begin() + static_cast<ptrdiff_t>(gen));
    if (h.empty()) {
      it = keys_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(keep.begin(), keep.end());
  return keep;
}

std::vector<Revision> KeyIndex::keep(int64_t at_rev) const {
  std::vector<Revision> keep;
  std::shared_lock lock(mu_);
  for (const auto& [key, h] : keys_) {
    size_t gen;
    int64_t rev_index;
    compact_point(h, at_rev, &gen, &rev_index);
    if (rev_index >= 0) keep.push_back(h.generations[gen].revs[static_cast<size_t>(rev_index)]);
  }
  std::sort(keep.begin(), keep.end());
  return keep;
}

std::optional<KeyState> KeyIndex::get(std::string_view key, int64_t at_rev) const {
  std::shared_lock lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  return state_at(it->second, at_rev);
}

std::optional<IndexedKey> KeyIndex::get_latest(std::string_view key, int64_t at_rev) const {
  std::shared_lock lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  auto state = state_at(it->second, at_rev);
  if (!state) return std::nullopt;
  return IndexedKey{it->first, *state, it->second.lease};
}

std::vector<Revision> KeyIndex::revisions(const KeyRange& range, int64_t at_rev, size_t limit,
                                          int64_t* total) const {
  std::vector<Revision> revs;
  int64_t n = 0;
  std::shared_lock lock(mu_);
  for_each_in(range, [&](const std::string&, const KeyHistory& h) {
    auto state = state_at(h, at_rev);
    if (!state) return;
    ++n;
    if (limit == 0 || revs.size() < limit) revs.push_back(state->modified);
  });
  if (total != nullptr) *total = n;
  return revs;
}

int64_t KeyIndex::count(const KeyRange& range, int64_t at_rev) const {
  int64_t n = 0;
  std::shared_lock lock(mu_);
  for_each_in(range, [&](const std::string&, const KeyHistory& h) {
    if (state_at(h, at_rev)) ++n;
  });
  return n;
}

std::vector<IndexedKey> KeyIndex::keys(const KeyRange& range, int64_t at_rev) const {
  std::vector<IndexedKey> out;
  std::shared_lock lock(mu_);
  for_each_in(range, [&](const std::string& key, const KeyHistory& h) {
    if (auto state = state_at(h, at_rev)) out.push_back(IndexedKey{key, *state, h.lease});
  });
  return out;
}

size_t KeyIndex::size() const {
  std::shared_lock lock(mu_);
  return keys_.size();
}

Status KeyIndex::check() const {
  std::shared_lock lock(mu_);
  for (const auto& [key, h] : keys_) {
    auto bad = [&](const char* what) {
      return Status::Internal("mvcc: key index of \"" + key + "\": " + what);
    };
    if (h.generations.empty()) return bad("no generation");
    if (h.empty()) return bad("empty key kept");
    Revision prev{-1, -1};
    for (size_t i = 0; i < h.generations.size(); ++i) {
      const Generation& g = h.generations[i];
      if (g.revs.empty() && i + 1 != h.generations.size()) return bad("empty finished generation");
      if (static_cast<int64_t>(g.revs.size()) > g.version) return bad("version below revisions");
      for (const Revision& r : g.revs) {
        if (!(prev < r)) return bad("revisions do not rise");
        prev = r;
      }
    }
  }
  return Status::OK();
}

}  // namespace keel::mvcc
