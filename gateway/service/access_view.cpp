#include "gateway/service/access_view.hpp"

#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>

namespace bl {

namespace {

constexpr std::size_t max_value = 128;

std::optional<error> text_param(const std::map<std::string, std::string>& q, const char* key,
                                std::string& out) {
  auto it = q.find(key);
  if (it == q.end()) return std::nullopt;
  const std::string& v = it->second;
  if (v.size() > max_value)
    return make_error(errc::bad_request,
                      std::string("query parameter '") + key + "' is longer than " +
                          std::to_string(max_value) + " characters",
                      key);
  // Every id and name the log holds is printable ASCII (usernames, agency and transfer ids,
  // message ids): anything else matches nothing, and is refused rather than logged as the query.
  for (unsigned char c : v)
    if (c < 0x20 || c >= 0x7f)
      return make_error(errc::bad_request,
                        std::string("query parameter '") + key +
                            "' must be printable ASCII (a user name, an agency or a transfer id)",
                        key);
  out = v;
  return std::nullopt;
}

std::optional<error> int_param(const std::map<std::string, std::string>& q, const char* key,
                               std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  const std::string& v = it->second;
  std::int64_t n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < lo || n > hi)
    return make_error(errc::bad_request,
                      std::string("query parameter '") + key + "' must be a whole number from " +
                          std::to_string(lo) + " to " + std::to_string(hi),
                      key);
  out = n;
  return std::nullopt;
}

std::optional<error> time_param(const std::map<std::string, std::string>& q, const char* key,
                                std::optional<time_point>& out) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  if (it->second.size() > 40 || !(out = parse_rfc3339(it->second)))
    return make_error(
        errc::bad_request,
        std::string("'") + key + "' must be an RFC 3339 date-time such as 2026-11-21T14:00:00Z",
        key);
  return std::nullopt;
}

std::string cell(const std::string& v) {
  std::string s = v;
  if (!s.empty() &&
      (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
    s.insert(s.begin(), '\'');
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::variant<store::access_filter, error> access_filter_from(
    const std::map<std::string, std::string>& q) {
  store::access_filter f;
  if (auto e = text_param(q, "transfer", f.transfer_id)) return *e;
  if (auto e = text_param(q, "user", f.actor)) return *e;
  if (auto e = text_param(q, "operation", f.operation)) return *e;
  if (!f.operation.empty() && !store::known_access_operation(f.operation))
    return make_error(errc::bad_request,
                      "query parameter 'operation' must be collect, alter, consult, disclose, "
                      "combine or erase",
                      "operation");
  if (auto e = time_param(q, "since", f.since)) return *e;
  if (auto e = time_param(q, "until", f.until)) return *e;
  if (f.since && f.until && *f.until <= *f.since)
    return make_error(errc::bad_request, "'until' must be after 'since'", "until");
  if (auto e = int_param(q, "before", 1, std::numeric_limits<std::int64_t>::max(), f.before_seq))
    return *e;
  std::int64_t limit = 500;
  if (auto e = int_param(q, "limit", 1, access_query_max, limit)) return *e;
  f.limit = static_cast<int>(limit);
  return f;
}

std::string access_query_ref(const store::access_filter& f, bool csv) {
  std::string out;
  auto put = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  };
  put("transfer", f.transfer_id);
  put("user", f.actor);
  put("operation", f.operation);
  if (f.agency) put("agency", *f.agency);
  if (f.since) put("since", format_rfc3339(*f.since));
  if (f.until) put("until", format_rfc3339(*f.until));
  if (f.before_seq > 0) put("before", std::to_string(f.before_seq));
  if (f.limit != 500) put("limit", std::to_string(f.limit));
  if (csv) put("format", "csv");
  return out;
}

nlohmann::json access_entry_json(const store::access_entry& e) {
  auto opt = [](const std::string& v) { return v.empty() ? nlohmann::json() : nlohmann::json(v); };
  return {{"seq", e.seq},
          {"at", format_rfc3339(e.at)},
          {"operation", e.operation},
          {"agency", opt(e.agency)},
          {"actor", e.actor},
          {"actor_kind", e.actor_kind},
          {"channel", e.channel},
          {"object", e.object},
          {"transfer_id", opt(e.transfer_id)},
          {"ref", opt(e.ref)},
          {"recipients", opt(e.recipients)},
          {"justification", opt(e.justification)}};
}

std::string access_csv(const std::vector<store::access_entry>& entries) {
  std::string out =
      "seq,at,operation,agency,actor,actor_kind,channel,object,transfer_id,ref,recipients,"
      "justification\r\n";
  for (const auto& e : entries) {
    out += std::to_string(e.seq);
    const std::string at = format_rfc3339(e.at);
    for (const std::string* v :
         {&at, &e.operation, &e.agency, &e.actor, &e.actor_kind, &e.channel, &e.object,
          &e.transfer_id, &e.ref, &e.recipients, &e.justification}) {
      out += ',';
      out += cell(*v);
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace bl
