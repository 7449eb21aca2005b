#include "gateway/service/link_registry.hpp"

namespace bl {

void link_registry::update(const link_state& s) {
  std::lock_guard lock(mu_);
  links_[{s.agency, s.kind}] = s;
}

std::vector<link_state> link_registry::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<link_state> out;
  for (const auto& [key, s] : links_) out.push_back(s);
  return out;
}

std::optional<link_state> link_registry::find(const std::string& agency,
                                              const std::string& kind) const {
  std::lock_guard lock(mu_);
  auto it = links_.find({agency, kind});
  if (it == links_.end()) return std::nullopt;
  return it->second;
}

}  // namespace bl
