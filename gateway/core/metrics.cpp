#include "gateway/core/metrics.hpp"

#include <charconv>
#include <cmath>

namespace bl {

namespace {
// Whole numbers print exactly (1234567, not 1.23457e+06); others in the shortest form that reads
// back to the same double; the text format's own spellings for the special values.
void put_value(std::string& o, double v) {
  if (std::isnan(v)) {
    o += "NaN";
    return;
  }
  if (std::isinf(v)) {
    o += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  const double a = std::fabs(v);
  // Plain decimals in the usual range (le="0.0005", not le="5e-04"), exponents only beyond it.
  auto r = (v == std::trunc(v) && a < 1e15)
               ? std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v))
           : (a >= 1e-6 && a < 1e15)
               ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
               : std::to_chars(buf, buf + sizeof buf, v);
  o.append(buf, r.ptr);
}

// HELP text escapes backslash and line feed (the text format's rule for docstrings).
std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void put_header(std::string& o, std::string_view name, std::string_view help,
                std::string_view type) {
  o.append("# HELP ").append(name).append(" ").append(escape_help(help)).append("\n");
  o.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void put_sample(std::string& o, std::string_view name,
                const std::vector<std::pair<std::string, std::string>>& labels, double value) {
  o.append(name);
  if (!labels.empty()) {
    o += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i) o += ',';
      o.append(labels[i].first)
          .append("=\"")
          .append(metrics::escape_label_value(labels[i].second))
          .append("\"");
    }
    o += '}';
  }
  o += ' ';
  put_value(o, value);
  o += '\n';
}
}  // namespace

std::string metrics::escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

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

void metrics::ws_error(std::string_view edge, std::string_view op) {
  std::lock_guard lock(mu_);
  ++ws_errors_[{std::string(edge), std::string(op)}];
}

std::string metrics::render(const std::vector<gauge_family>& gauges) const {
  std::string o;
  o.reserve(4096);
  auto counter = [&](std::string_view name, std::string_view help, const std::string& label,
                     const std::map<std::string, std::uint64_t, std::less<>>& m) {
    put_header(o, name, help, "counter");
    for (auto& [k, v] : m) put_sample(o, name, {{label, k}}, static_cast<double>(v));
  };
  auto scalar = [&](std::string_view name, std::string_view help, std::string_view type, double v) {
    put_header(o, name, help, type);
    put_sample(o, name, {}, v);
  };
  {
    std::lock_guard lock(mu_);
    counter("bluelink_messages_in_total", "Messages accepted from agencies, by type.", "type", in_);
    counter("bluelink_messages_out_total", "Messages delivered to agencies, by type.", "type",
            out_);
    counter("bluelink_errors_total", "Rejections sent back, by error code.", "code", errors_);
    counter("bluelink_report_failures_total",
            "Savings reports that could not be made, by error code (bl.store.* when the store "
            "failed).",
            "code", report_failures_);
    put_header(o, "bluelink_commit_seconds", "Store group-commit latency.", "histogram");
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      std::string le;
      put_value(le, buckets[i]);
      put_sample(o, "bluelink_commit_seconds_bucket", {{"le", le}},
                 static_cast<double>(commit_buckets_[i]));
    }
    put_sample(o, "bluelink_commit_seconds_bucket", {{"le", "+Inf"}},
               static_cast<double>(commit_count_));
    put_sample(o, "bluelink_commit_seconds_sum", {}, commit_sum_);
    put_sample(o, "bluelink_commit_seconds_count", {}, static_cast<double>(commit_count_));
    scalar("bluelink_committed_messages_total", "Messages made durable by group commits.",
           "counter", static_cast<double>(committed_messages_));
    counter("bluelink_http_connections_refused_total",
            "HTTP connections refused with 503 beyond limits.max_connections (reason total) or "
            "limits.max_connections_per_address (reason per_address).",
            "reason", refused_);
    put_header(o, "bluelink_ws_errors_total",
               "WebSocket connections ended by an error other than a normal close, by edge "
               "(console, eido) and by what failed (accept, read, write, close).",
               "counter");
    for (auto& [k, v] : ws_errors_)
      put_sample(o, "bluelink_ws_errors_total", {{"edge", k.first}, {"op", k.second}},
                 static_cast<double>(v));
  }
  scalar("bluelink_http_connections", "HTTP and WebSocket connections held open now.", "gauge",
         static_cast<double>(open_connections_.load(std::memory_order_relaxed)));
  scalar("bluelink_http_accept_errors_total",
         "Failed accepts (such as EMFILE: out of file descriptors); the listener backs off.",
         "counter", static_cast<double>(accept_errors_.load(std::memory_order_relaxed)));
  scalar("bluelink_http_header_timeouts_total",
         "Connections closed with a request header begun but not finished within "
         "limits.header_timeout_ms (slow clients).",
         "counter", static_cast<double>(header_timeouts_.load(std::memory_order_relaxed)));
  for (const auto& f : gauges) {
    put_header(o, f.name, f.help, f.type);
    for (const auto& s : f.samples) put_sample(o, f.name, s.labels, s.value);
  }
  return o;
}

}  // namespace bl
