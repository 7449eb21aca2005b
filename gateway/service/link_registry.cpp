#include "gateway/service/link_registry.hpp"

namespace bl {

namespace {

// Which of two states of one agency's link the cluster shows: up beats down; of two up, the
// newer session; of two down, the one that went down last.
bool better(const link_state& a, const link_state& b) {
  if (a.up != b.up) return a.up;
  if (a.up && a.kind != "cad")  // heard on a polled edge: the node that heard it last
    return a.last_heard.value_or(time_point{}) > b.last_heard.value_or(time_point{});
  if (a.up)
    return a.connected_since.value_or(time_point{}) > b.connected_since.value_or(time_point{});
  return a.last_down.value_or(time_point{}) > b.last_down.value_or(time_point{});
}

}  // namespace

void link_registry::set_node(std::string node) {
  std::lock_guard lock(mu_);
  node_ = std::move(node);
}

void link_registry::update(const link_state& s) {
  std::lock_guard lock(mu_);
  auto& stored = links_[{s.agency, s.kind}] = s;
  if (stored.node.empty()) stored.node = node_;
}

void link_registry::heard(const std::string& agency, const std::string& kind, time_point at) {
  std::lock_guard lock(mu_);
  auto& s = links_[{agency, kind}];
  if (s.agency.empty()) {
    s.agency = agency;
    s.kind = kind;
    s.connected_since = at;
  }
  s.up = true;
  s.node = node_;
  if (!s.last_heard || *s.last_heard < at) s.last_heard = at;
}

std::vector<link_state> link_registry::snapshot() const {
  std::lock_guard lock(mu_);
  auto merged = links_;
  for (const auto& p : peers_)
    for (const auto& s : p.links) {
      auto [it, fresh] = merged.try_emplace({s.agency, s.kind}, s);
      if (!fresh && better(s, it->second)) it->second = s;
    }
  std::vector<link_state> out;
  out.reserve(merged.size());
  for (auto& [key, s] : merged) out.push_back(std::move(s));
  return out;
}

std::optional<link_state> link_registry::find(const std::string& agency,
                                              const std::string& kind) const {
  for (auto& s : snapshot())
    if (s.agency == agency && s.kind == kind) return s;
  return std::nullopt;
}

std::vector<link_state> link_registry::local() const {
  std::lock_guard lock(mu_);
  std::vector<link_state> out;
  for (const auto& [key, s] : links_) out.push_back(s);
  return out;
}

void link_registry::set_peers(std::vector<peer_links> peers) {
  std::lock_guard lock(mu_);
  peers_ = std::move(peers);
}

std::map<std::string, int> link_registry::peer_consoles() const {
  std::lock_guard lock(mu_);
  std::map<std::string, int> out;
  for (const auto& p : peers_)
    for (const auto& [agency, n] : p.consoles) out[agency] += n;
  return out;
}

}  // namespace bl
