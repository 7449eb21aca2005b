#include "gateway/core/metrics.hpp"

#include <sstream>

namespace bl {

void metrics::bump(std::map<std::string, std::uint64_t, std::less<>>& m, std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::string(key), 0).first;
  ++it->second;
}

void metrics::commit(double seconds, std::size_t batch) {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < buckets.size(); ++i)
    if (seconds <= buckets[i]) ++commit_buckets_[i];
  ++commit_count_;
  commit_sum_ += seconds;
  committed_messages_ += batch;
}

std::string metrics::render(const std::vector<gauge_row>& gauges) const {
  std::ostringstream o;
  std::lock_guard lock(mu_);
  auto family = [&](const char* name, const char* help, const char* label,
                    const std::map<std::string, std::uint64_t, std::less<>>& m) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n";
    for (auto& [k, v] : m) o << name << '{' << label << "=\"" << k << "\"} " << v << '\n';
  };
  family("bluelink_messages_in_total", "Messages accepted from agencies, by type.", "type", in_);
  family("bluelink_messages_out_total", "Messages delivered to agencies, by type.", "type", out_);
  family("bluelink_errors_total", "Rejections sent back, by error code.", "code", errors_);
  o << "# HELP bluelink_commit_seconds Store group-commit latency.\n"
    << "# TYPE bluelink_commit_seconds histogram\n";
  for (std::size_t i = 0; i < buckets.size(); ++i)
    o << "bluelink_commit_seconds_bucket{le=\"" << buckets[i] << "\"} " << commit_buckets_[i]
      << '\n';
  o << "bluelink_commit_seconds_bucket{le=\"+Inf\"} " << commit_count_ << '\n'
    << "bluelink_commit_seconds_sum " << commit_sum_ << '\n'
    << "bluelink_commit_seconds_count " << commit_count_ << '\n';
  o << "# HELP bluelink_committed_messages_total Messages made durable by group commits.\n"
    << "# TYPE bluelink_committed_messages_total counter\n"
    << "bluelink_committed_messages_total " << committed_messages_ << '\n';
  std::string last;
  for (auto& g : gauges) {
    if (g.name != last) {
      o << "# TYPE " << g.name << " gauge\n";
      last = g.name;
    }
    o << g.name;
    if (!g.labels.empty()) {
      o << '{';
      for (std::size_t i = 0; i < g.labels.size(); ++i)
        o << (i ? "," : "") << g.labels[i].first << "=\"" << g.labels[i].second << '"';
      o << '}';
    }
    // Whole numbers print exactly (the default stream format would round 1234567 to 1.23457e+06).
    if (g.value == static_cast<double>(static_cast<long long>(g.value)))
      o << ' ' << static_cast<long long>(g.value) << '\n';
    else
      o << ' ' << g.value << '\n';
  }
  return o.str();
}

}  // namespace bl
