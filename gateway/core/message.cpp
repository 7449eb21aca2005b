#include "gateway/core/message.hpp"

#include <array>

namespace bl {

namespace {
constexpr std::array<std::pair<msg_type, std::string_view>, 11> type_names{{
    {msg_type::request, "transfer.request"},
    {msg_type::update, "transfer.update"},
    {msg_type::received, "transfer.received"},
    {msg_type::accept, "transfer.accept"},
    {msg_type::decline, "transfer.decline"},
    {msg_type::defer, "transfer.defer"},
    {msg_type::cancel, "transfer.cancel"},
    {msg_type::close, "transfer.close"},
    {msg_type::receipt, "receipt"},
    {msg_type::error, "error"},
    {msg_type::alert, "transfer.alert"},
}};
}  // namespace

std::string_view to_string(msg_type t) {
  for (auto& [k, v] : type_names)
    if (k == t) return v;
  return "unknown";
}

std::optional<msg_type> msg_type_from(std::string_view s) {
  for (auto& [k, v] : type_names)
    if (v == s) return k;
  return std::nullopt;
}

std::string_view to_string(traffic_mode m) {
  switch (m) {
    case traffic_mode::live:
      return "live";
    case traffic_mode::exercise:
      return "exercise";
    case traffic_mode::test:
      return "test";
  }
  return "live";
}

bool gateway_only(msg_type t) {
  return t == msg_type::receipt || t == msg_type::error || t == msg_type::alert;
}

std::variant<message, error> parse_message(nlohmann::json doc) {
  message m;
  try {
    m.id = doc.at("id").get<std::string>();
    auto type = msg_type_from(doc.at("type").get<std::string>());
    if (!type) return make_error(errc::schema_invalid, "unknown message type", "/type");
    m.type = *type;
    m.from = doc.at("from").get<std::string>();
    if (m.id.size() <= m.from.size() || m.id.compare(0, m.from.size(), m.from) != 0 ||
        m.id[m.from.size()] != ':')
      return make_error(errc::bad_message_id,
                        "message id '" + m.id + "' must start with '" + m.from + ":'", "/id");
    if (doc.contains("to")) m.to = doc.at("to").get<std::vector<std::string>>();
    auto sent = parse_rfc3339(doc.at("sent_at").get<std::string>());
    if (!sent)
      return make_error(errc::schema_invalid, "sent_at is not a valid date-time", "/sent_at");
    m.sent_at = *sent;
    if (doc.contains("expires_at")) {
      auto exp = parse_rfc3339(doc.at("expires_at").get<std::string>());
      if (!exp)
        return make_error(errc::schema_invalid, "expires_at is not a valid date-time",
                          "/expires_at");
      m.expires_at = *exp;
    }
    auto mode = doc.value("mode", std::string("live"));
    m.mode = mode == "exercise" ? traffic_mode::exercise
             : mode == "test"   ? traffic_mode::test
                                : traffic_mode::live;
    m.transfer_id = doc.value("transfer_id", std::string());
    if (doc.contains("version")) m.version = doc.at("version").get<std::int64_t>();

    const auto& body = doc.at("body");
    if (m.type == msg_type::request) {
      m.category = body.at("category").get<std::string>();
      m.prio = priority_from(body.at("priority").get<std::string>());
      m.incident_number = body.at("sender_incident").at("number").get<std::string>();
    } else if (m.type == msg_type::update && body.contains("priority")) {
      m.prio = priority_from(body.at("priority").get<std::string>());
    } else if (m.type == msg_type::accept) {
      m.incident_number = body.at("receiver_incident").at("number").get<std::string>();
    } else if (m.type == msg_type::defer) {
      auto until = parse_rfc3339(body.at("until").get<std::string>());
      if (!until)
        return make_error(errc::schema_invalid, "until is not a valid date-time", "/body/until");
      m.defer_until = until;
    }
  } catch (const nlohmann::json::exception& e) {
    // Only reachable if the edge skipped schema validation: report it as a schema violation.
    return make_error(errc::schema_invalid, std::string("message shape: ") + e.what());
  }
  m.doc = std::move(doc);
  return m;
}

void prepare_for_store(message& m) {
  if (m.prepared) return;
  // The timeline detail: what an operator reads in the transfer's history.
  const auto& body = m.doc.at("body");
  nlohmann::json d = nlohmann::json::object();
  for (const char* key : {"reason", "text", "outcome", "until", "note", "summary", "eta_minutes"})
    if (body.contains(key)) d[key] = body.at(key);
  if (m.type == msg_type::accept) d["receiver_incident"] = body.at("receiver_incident");
  if (m.type == msg_type::request) {
    d["category"] = m.category;
    d["priority"] = body.at("priority");
    d["sender_incident"] = body.at("sender_incident");
  }
  if (!m.via.empty()) d["via"] = m.via;
  if (!m.user.empty()) d["user"] = m.user;
  m.timeline_detail = d.dump();
  // The fields the engine settles are left out here and spliced in by stored_copy().
  m.doc.erase("transfer_id");
  m.doc.erase("version");
  if (m.type == msg_type::request) m.doc.erase("expires_at");
  m.doc_rest = m.doc.dump();
  m.doc = nlohmann::json();  // freed here, on the edge's thread
  m.prepared = true;
}

std::string stored_copy(const message& m, const std::string& transfer_id, std::int64_t version,
                        const std::string& request_expires_at) {
  // doc_rest is a serialised object: "{}" or "{...}". The settled fields go first; JSON objects
  // are unordered, and every reader of the stored copy parses it.
  std::string out;
  out.reserve(m.doc_rest.size() + transfer_id.size() + request_expires_at.size() + 64);
  out += '{';
  if (!request_expires_at.empty())
    out.append("\"expires_at\":").append(nlohmann::json(request_expires_at).dump()).append(",");
  out.append("\"transfer_id\":").append(nlohmann::json(transfer_id).dump());
  out.append(",\"version\":").append(std::to_string(version));
  if (m.doc_rest.size() > 2) {
    out += ',';
    out.append(m.doc_rest, 1, std::string::npos);
  } else {
    out += '}';
  }
  return out;
}

}  // namespace bl
