#include "adapters/eido/eido_conveyance.hpp"

#include <optional>
#include <string_view>
#include <utility>

namespace bl::adapters::conveyance {

using nlohmann::json;

namespace {

// The members are checked by hand, so that each failure names its JSON pointer.
std::optional<error> need_string(const json& obj, const std::string& base, const char* key,
                                 std::string& out, bool required = true) {
  auto it = obj.find(key);
  const std::string ptr = base + "/" + key;
  if (it == obj.end()) {
    if (!required) return std::nullopt;
    return make_error(errc::eido_bad_message, std::string("'") + key + "' is required", ptr);
  }
  if (!it->is_string() || it->get<std::string>().empty() || it->get<std::string>().size() > max_id)
    return make_error(errc::eido_bad_message,
                      std::string("'") + key + "' must be a string of 1 to " +
                          std::to_string(max_id) + " characters, not " + it->dump(),
                      ptr);
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<error> optional_seconds(const json& obj, const std::string& base, const char* key,
                                      std::optional<std::int64_t>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
    return make_error(errc::eido_bad_message,
                      std::string("'") + key +
                          "' must be a whole number of seconds, 0 or more, not " + it->dump(),
                      base + "/" + key);
  out = it->get<std::int64_t>();
  return std::nullopt;
}

error bad_incident_id(const std::string& id, const std::string& pointer) {
  return make_error(
      errc::eido_bad_message,
      "incidentId must be a Bluelink transfer id such as T-20261121-000123, not \"" + id + "\"",
      pointer);
}

std::variant<frame, frame_error> read_subscribe(const json& m) {
  const std::string base = "/subscribe", reply = "subscribeResponse";
  subscribe s;
  json corr = json::object();
  auto fail = [&](error e) { return frame_error{reply, corr, std::move(e)}; };
  if (auto e = need_string(m, base, "requestId", s.request_id)) return fail(*e);
  corr["requestId"] = s.request_id;
  if (auto e = need_string(m, base, "requestType", s.request_type, false)) return fail(*e);
  if (!s.request_type.empty() && s.request_type != "eido")
    return fail(make_error(
        errc::eido_bad_message,
        "requestType '" + s.request_type + "' is not served here; only \"eido\" subscriptions are",
        base + "/requestType"));
  if (auto e = optional_seconds(m, base, "expires", s.expires)) return fail(*e);
  if (auto e = optional_seconds(m, base, "minRate", s.min_rate)) return fail(*e);
  if (auto e = need_string(m, base, "subscriptionId", s.subscription_id, false)) return fail(*e);
  if (!s.subscription_id.empty()) return s;  // a renewal needs nothing more
  if (auto e = need_string(m, base, "requestSubType", s.sub_type)) return fail(*e);
  if (s.sub_type != "new" && s.sub_type != "single")
    return fail(
        make_error(errc::eido_bad_message,
                   "requestSubType must be \"new\" or \"single\", not \"" + s.sub_type + "\"",
                   base + "/requestSubType"));
  if (s.sub_type == "single") {
    if (auto e = need_string(m, base, "incidentId", s.incident_id)) return fail(*e);
    if (!is_transfer_id(s.incident_id))
      return fail(bad_incident_id(s.incident_id, base + "/incidentId"));
  }
  return s;
}

std::variant<frame, frame_error> read_unsubscribe(const json& m) {
  const std::string base = "/unsubscribe";
  unsubscribe u;
  json corr = json::object();
  if (auto e = need_string(m, base, "requestId", u.request_id))
    return frame_error{"unsubscribeResponse", corr, *e};
  corr["requestId"] = u.request_id;
  if (auto e = need_string(m, base, "subscriptionId", u.subscription_id))
    return frame_error{"unsubscribeResponse", corr, *e};
  return u;
}

std::variant<frame, frame_error> read_event_response(const json& m) {
  const std::string base = "/eventResponse";
  event_response r;
  json corr = json::object();
  if (auto e = need_string(m, base, "transactionId", r.transaction_id))
    return frame_error{"errorResponse", corr, *e};
  corr["transactionId"] = r.transaction_id;
  if (auto it = m.find("statusCode"); it != m.end()) {
    if (!it->is_number_integer())
      return frame_error{"errorResponse", corr,
                         make_error(errc::eido_bad_message,
                                    "statusCode must be an integer such as 200, not " + it->dump(),
                                    base + "/statusCode")};
    r.status_code = it->get<std::int64_t>();
  }
  return r;
}

// ---- the bytes of a member within a frame already parsed (so well formed) ------------------

constexpr std::size_t npos = std::string_view::npos;

std::size_t skip_ws(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

std::size_t skip_string(std::string_view t, std::size_t i) {  // t[i] is the opening quote
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\')
      ++i;
    else if (t[i] == '"')
      return i + 1;
  }
  return npos;
}

std::size_t skip_value(std::string_view t, std::size_t i) {
  if (i >= t.size()) return npos;
  if (t[i] == '"') return skip_string(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        i = skip_string(t, i);
        if (i == npos) return npos;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) return i + 1;
      ++i;
    }
    return npos;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\t' &&
         t[i] != '\n' && t[i] != '\r')
    ++i;
  return i;
}

bool key_is(std::string_view raw, std::string_view key) {
  if (raw.find('\\') == npos) return raw == key;
  try {  // an escaped key ("\u0065ido") means what it decodes to
    return json::parse("\"" + std::string(raw) + "\"").get<std::string>() == key;
  } catch (const json::exception&) {
    return false;
  }
}

// The text of member `key` of the object starting at t[at] ('{'); the last one when a key is
// repeated, as the parser keeps the last.
std::optional<std::string_view> member_text(std::string_view t, std::size_t at,
                                            std::string_view key) {
  if (at >= t.size() || t[at] != '{') return std::nullopt;
  std::optional<std::string_view> found;
  std::size_t i = skip_ws(t, at + 1);
  while (i < t.size() && t[i] == '"') {
    const std::size_t ke = skip_string(t, i);
    if (ke == npos) return std::nullopt;
    const std::string_view raw = t.substr(i + 1, ke - i - 2);
    i = skip_ws(t, ke);
    if (i >= t.size() || t[i] != ':') return std::nullopt;
    i = skip_ws(t, i + 1);
    const std::size_t ve = skip_value(t, i);
    if (ve == npos) return std::nullopt;
    if (key_is(raw, key)) found = t.substr(i, ve - i);
    i = skip_ws(t, ve);
    if (i < t.size() && t[i] == ',') i = skip_ws(t, i + 1);
  }
  return found;
}

// The bytes of /<kind>/eido in the frame.
std::optional<std::string_view> eido_bytes(std::string_view frame, const std::string& kind) {
  std::size_t start = 0;
  if (frame.substr(0, 3) == "\xEF\xBB\xBF") start = 3;  // a byte order mark the parser skips
  auto outer = member_text(frame, skip_ws(frame, start), kind);
  if (!outer) return std::nullopt;
  const std::size_t at = static_cast<std::size_t>(outer->data() - frame.data());
  return member_text(frame, at, "eido");
}

std::variant<frame, frame_error> read_request(const std::string& kind, const json& m,
                                              std::string_view text) {
  const std::string base = "/" + kind;
  const std::string reply = kind + "Response";
  request r;
  r.kind = kind;
  json corr = json::object();
  auto fail = [&](error e) { return frame_error{reply, corr, std::move(e)}; };
  if (auto e = need_string(m, base, "requestId", r.request_id)) return fail(*e);
  corr["requestId"] = r.request_id;
  if (kind == "cancelRequest" && !m.contains("eido")) {
    // The transfer to withdraw, by its Bluelink transfer id, and why.
    r.by_incident = true;
    if (auto e = need_string(m, base, "incidentId", r.incident_id)) return fail(*e);
    if (!is_transfer_id(r.incident_id))
      return fail(bad_incident_id(r.incident_id, base + "/incidentId"));
    auto it = m.find("reason");
    if (it == m.end() || !it->is_string() || it->get<std::string>().empty())
      return fail(make_error(errc::eido_bad_message,
                             "'reason' is required: a non-empty string saying why the request is "
                             "withdrawn",
                             base + "/reason"));
    r.reason = it->get<std::string>();
    return r;
  }
  auto e = m.find("eido");
  if (e == m.end() || !e->is_object())
    return fail(make_error(errc::eido_bad_message,
                           "'eido' is required: the EIDO JSON object of the request",
                           base + "/eido"));
  r.eido = *e;
  if (auto raw = eido_bytes(text, kind))
    r.eido_text = std::string(*raw);
  else
    r.eido_text = r.eido.dump();  // cannot happen for a frame the parser read; never empty
  if (auto to = m.find("to"); to != m.end()) {
    if (!to->is_array() || to->empty())
      return fail(make_error(errc::eido_bad_message, "'to' must be a non-empty array of agency ids",
                             base + "/to"));
    for (std::size_t i = 0; i < to->size(); ++i) {
      if (!(*to)[i].is_string())
        return fail(make_error(errc::eido_bad_message, "an agency id is a string",
                               base + "/to/" + std::to_string(i)));
      r.to.push_back((*to)[i].get<std::string>());
    }
  }
  return r;
}

}  // namespace

bool is_transfer_id(std::string_view s) {
  if (s.size() != 17 || s.compare(0, 2, "T-") != 0 || s[10] != '-') return false;
  for (std::size_t i = 2; i < s.size(); ++i)
    if (i != 10 && (s[i] < '0' || s[i] > '9')) return false;
  return true;
}

std::variant<frame, frame_error> parse_frame(std::string_view text, const json_limits& limits) {
  json f;
  if (auto e = parse_json_bounded(text, f, limits, "the frame"))
    return frame_error{"errorResponse", json::object(), std::move(*e)};
  if (!f.is_object() || f.size() != 1)
    return frame_error{
        "errorResponse", json::object(),
        make_error(errc::eido_bad_message,
                   "a conveyance message is a JSON object with exactly one member, named after "
                   "its type (e.g. {\"subscribe\":{...}})")};
  const std::string type = f.begin().key();
  const json& m = f.begin().value();
  if (!m.is_object())
    return frame_error{
        "errorResponse", json::object(),
        make_error(errc::eido_bad_message, "'" + type + "' must be a JSON object", "/" + type)};
  if (type == "subscribe") return read_subscribe(m);
  if (type == "unsubscribe") return read_unsubscribe(m);
  if (type == "eventResponse") return read_event_response(m);
  if (type == "requestForService" || type == "requestAwareness" || type == "cancelRequest")
    return read_request(type, m, text);
  if (type == "terminateResponse") return terminate_response{};
  return frame_error{"errorResponse", json::object(),
                     make_error(errc::eido_unknown_message,
                                "unknown message type '" + type +
                                    "'; expected subscribe, unsubscribe, eventResponse, "
                                    "terminateResponse, requestForService, requestAwareness or "
                                    "cancelRequest",
                                "/" + type)};
}

}  // namespace bl::adapters::conveyance
