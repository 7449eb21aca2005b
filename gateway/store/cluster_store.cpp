#include "gateway/store/cluster_store.hpp"

namespace bl::store {

std::string encode_wake(const wake& w) {
  std::string out = w.node;
  out += '\t';
  out += w.lease_taken ? 'L' : w.timeline ? '1' : '0';
  out += '\t';
  std::string names;
  for (const auto& a : w.agencies) {
    if (!names.empty()) names += ',';
    names += a;
  }
  if (w.all || out.size() + names.size() > max_wake_bytes) names = "*";
  return out + names;
}

std::optional<wake> decode_wake(std::string_view payload) {
  auto t1 = payload.find('\t');
  if (t1 == std::string_view::npos || t1 == 0) return std::nullopt;
  auto t2 = payload.find('\t', t1 + 1);
  if (t2 != t1 + 2) return std::nullopt;
  char flag = payload[t1 + 1];
  if (flag != '0' && flag != '1' && flag != 'L') return std::nullopt;
  wake w;
  w.node = std::string(payload.substr(0, t1));
  w.timeline = flag == '1';
  w.lease_taken = flag == 'L';
  auto rest = payload.substr(t2 + 1);
  if (rest == "*") {
    w.all = true;
    return w;
  }
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto name = rest.substr(0, comma);
    if (!name.empty()) w.agencies.emplace(name);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return w;
}

}  // namespace bl::store
