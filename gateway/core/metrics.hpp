#pragma once
// Counters and histograms for /metrics, rendered in Prometheus text format. Thread-safe: edges
// and the engine record from their own threads; a scrape renders a consistent-enough snapshot.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bl {

class metrics {
 public:
  void message_in(std::string_view type) { bump(in_, type); }
  void message_out(std::string_view type) { bump(out_, type); }
  void error(std::string_view code) { bump(errors_, code); }
  /// One group commit: how long it took and how many messages shared it.
  void commit(double seconds, std::size_t batch);

  struct gauge_row {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    double value;
  };
  /// Renders everything recorded plus gauges computed by the caller at scrape time.
  std::string render(const std::vector<gauge_row>& gauges) const;

  static constexpr std::array<double, 12> buckets{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                  0.05,   0.1,   0.2,   0.5,   1.0,  2.5};

 private:
  void bump(std::map<std::string, std::uint64_t, std::less<>>& m, std::string_view key);

  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t, std::less<>> in_, out_, errors_;
  std::array<std::uint64_t, buckets.size()> commit_buckets_{};
  std::uint64_t commit_count_ = 0;
  double commit_sum_ = 0;
  std::uint64_t committed_messages_ = 0;
};

}  // namespace bl
