#include "gateway/service/outage_monitor.hpp"

#include "gateway/service/link_registry.hpp"

namespace bl {

outage_monitor::outage_monitor(const gateway_config& cfg, time_point started) : cfg_(cfg) {
  for (const auto& a : cfg_.agencies) last_seen_[a.id] = started;
}

std::vector<outage_monitor::change> outage_monitor::observe(
    time_point now, const std::set<std::string>& connected) {
  std::vector<change> changes;
  std::lock_guard lock(mu_);
  for (const auto& a : cfg_.agencies) {
    auto& seen = last_seen_[a.id];
    const bool was_out = out_.count(a.id) > 0;
    if (connected.count(a.id)) {
      seen = now;
      if (was_out) {
        changes.push_back({a.id, false, out_[a.id]});
        out_.erase(a.id);
      }
      continue;
    }
    if (!was_out && now - seen >= std::chrono::seconds(a.outage_after_s)) {
      out_[a.id] = seen;
      changes.push_back({a.id, true, seen});
    }
  }
  return changes;
}

std::optional<time_point> outage_monitor::out_since(const std::string& agency) const {
  std::lock_guard lock(mu_);
  auto it = out_.find(agency);
  if (it == out_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, time_point> outage_monitor::current() const {
  std::lock_guard lock(mu_);
  return out_;
}

std::set<std::string> connected_agencies(const link_registry& links,
                                         const std::map<std::string, int>& local, time_point now,
                                         std::chrono::seconds grace) {
  std::set<std::string> out;
  for (const auto& s : links.snapshot()) {
    if (!s.up) continue;
    // The CAD link is up while its session lives; a polled edge for `grace` after it was heard.
    if (s.kind == "cad" || (s.last_heard && now - *s.last_heard <= grace)) out.insert(s.agency);
  }
  for (const auto& [agency, n] : local)
    if (n > 0) out.insert(agency);
  for (const auto& [agency, n] : links.peer_consoles())
    if (n > 0) out.insert(agency);
  return out;
}

}  // namespace bl

namespace bl {

std::chrono::seconds polled_edge_grace(const gateway_config& cfg) {
  return std::chrono::seconds(cfg.max_wait_s + 30);
}

}  // namespace bl
