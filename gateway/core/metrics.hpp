#pragma once
// Counters and histograms for /metrics, rendered in the Prometheus text exposition format 0.0.4:
// one HELP and one TYPE line per family, the samples of a family together, label values escaped.
// Thread-safe: edges and the engine record from their own threads; a scrape renders a
// consistent-enough snapshot.

#include <array>
#include <atomic>
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
  /// A report (the savings report) that could not be made, by its error code
  /// (bl.store.unavailable, bl.store.busy, ...): the reply alone is seen only by its requester.
  void report_failure(std::string_view code) { bump(report_failures_, code); }
  /// One group commit: how long it took and how many messages shared it.
  void commit(double seconds, std::size_t batch);

  // The HTTP/WebSocket edge (gateway/net/listener, http_session).
  /// A connection refused beyond a limit; `reason` is "total" or "per_address".
  void connection_refused(std::string_view reason) { bump(refused_, reason); }
  /// accept() failed (EMFILE, ENFILE, ...); the listener backs off.
  void accept_error() { accept_errors_.fetch_add(1, std::memory_order_relaxed); }
  /// A client sent part of a request header and then ran out of time.
  void header_timeout() { header_timeouts_.fetch_add(1, std::memory_order_relaxed); }
  /// Connections the listener holds open now (HTTP and the WebSockets upgraded from them).
  void open_connections(std::size_t n) { open_connections_.store(n, std::memory_order_relaxed); }
  /// A WebSocket connection of `edge` ("console", "eido") ended on an error that is not a normal
  /// end (gateway/net/ws_connection); `op` is what failed ("accept", "read", "write", "close").
  void ws_error(std::string_view edge, std::string_view op);

  /// One sample of a gauge family computed by the caller at scrape time.
  struct sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
  };
  /// A gauge family: rendered with its HELP and TYPE once, then every sample (possibly none).
  /// `type` "counter" for a total the caller keeps itself (read at scrape time).
  struct gauge_family {
    std::string name;
    std::string help;
    std::vector<sample> samples;
    std::string type = "gauge";
  };
  /// Renders everything recorded plus the gauges computed by the caller at scrape time.
  std::string render(const std::vector<gauge_family>& gauges) const;

  /// A label value escaped for the text format: backslash, double quote and line feed.
  static std::string escape_label_value(std::string_view v);

  static constexpr std::array<double, 12> buckets{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                  0.05,   0.1,   0.2,   0.5,   1.0,  2.5};

 private:
  void bump(std::map<std::string, std::uint64_t, std::less<>>& m, std::string_view key);

  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t, std::less<>> in_, out_, errors_, refused_, report_failures_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> ws_errors_;
  std::array<std::uint64_t, buckets.size()> commit_buckets_{};
  std::uint64_t commit_count_ = 0;
  double commit_sum_ = 0;
  std::uint64_t committed_messages_ = 0;
  std::atomic<std::uint64_t> accept_errors_{0};
  std::atomic<std::uint64_t> header_timeouts_{0};
  std::atomic<std::size_t> open_connections_{0};
};

}  // namespace bl
