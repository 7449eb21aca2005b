#include "gateway/store/access_log.hpp"

#include <array>

#include <utility>

namespace bl::store {

bool known_access_operation(std::string_view op) {
  static constexpr std::array<std::string_view, 6> ops = {access_op::collect, access_op::alter,
                                                          access_op::consult, access_op::disclose,
                                                          access_op::combine, access_op::erase};
  for (auto o : ops)
    if (o == op) return true;
  return false;
}

std::string access_action(const access_entry& e) {
  return "access." + e.operation;
}

namespace {
// A JSON string: the same bytes nlohmann::json's dump() gives for valid UTF-8 (quotes,
// backslashes and control characters escaped, the rest as is). Written by hand because every
// message the engine stores logs two entries: no allocation but the output's.
void add_string(std::string& out, const std::string& v) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}
}  // namespace

std::string access_detail_json(const access_entry& e) {
  // Keys in one fixed order: the bytes depend on nothing else.
  const std::pair<const char*, const std::string*> fields[] = {
      {"operation", &e.operation},        {"agency", &e.agency},   {"actor", &e.actor},
      {"actor_kind", &e.actor_kind},      {"channel", &e.channel}, {"object", &e.object},
      {"transfer_id", &e.transfer_id},    {"ref", &e.ref},         {"recipients", &e.recipients},
      {"justification", &e.justification}};
  std::string out;
  out.reserve(192 + e.actor.size() + e.ref.size() + e.justification.size());
  out += '{';
  for (const auto& [key, value] : fields) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += key;
    out += "\":";
    add_string(out, *value);
  }
  out += '}';
  return out;
}

access_query access_query_of(const access_filter& f, bool dollar) {
  access_query q;
  std::string where;
  auto arg = [&](std::variant<std::string, std::int64_t> v) {
    q.args.push_back(std::move(v));
    return std::string(dollar ? "$" : "?") + std::to_string(q.args.size());
  };
  auto cond = [&](const std::string& c) { where += (where.empty() ? " WHERE " : " AND ") + c; };
  if (f.agency) cond("agency = " + arg(*f.agency));
  if (!f.actor.empty()) cond("actor = " + arg(f.actor));
  if (!f.transfer_id.empty()) cond("transfer_id = " + arg(f.transfer_id));
  if (!f.operation.empty()) cond("operation = " + arg(f.operation));
  if (f.since) cond("at >= " + arg(std::int64_t{to_ms(*f.since)}));
  if (f.until) cond("at < " + arg(std::int64_t{to_ms(*f.until)}));
  if (f.before_seq > 0) cond("seq < " + arg(f.before_seq));
  q.sql =
      "SELECT seq, at, operation, agency, actor, actor_kind, channel, object, transfer_id, ref,"
      " recipients, justification FROM access_log" +
      where + " ORDER BY seq DESC LIMIT " + arg(std::int64_t{f.limit});
  return q;
}

std::string access_verify_page_sql(bool dollar) {
  const std::string a = dollar ? "$1" : "?1";
  const std::string b = dollar ? "$2" : "?2";
  return "SELECT a.seq, a.at, a.action, a.detail, CASE WHEN l.seq IS NULL THEN 1 ELSE 0 END,"
         " COALESCE(l.at, 0), COALESCE(l.operation, ''), COALESCE(l.agency, ''),"
         " COALESCE(l.actor, ''), COALESCE(l.actor_kind, ''), COALESCE(l.channel, ''),"
         " COALESCE(l.object, ''), COALESCE(l.transfer_id, ''), COALESCE(l.ref, ''),"
         " COALESCE(l.recipients, ''), COALESCE(l.justification, '')"
         " FROM audit a LEFT JOIN access_log l ON l.seq = a.seq"
         " WHERE a.action LIKE 'access.%' AND a.seq > " +
         a + " ORDER BY a.seq LIMIT " + b;
}

std::optional<std::string> access_row_mismatch(const access_entry& row, std::int64_t audit_at_ms,
                                               const std::string& audit_action,
                                               const std::string& audit_detail) {
  const std::string n = std::to_string(row.seq);
  if (to_ms(row.at) != audit_at_ms)
    return "access-log row " + n + " does not have its audit row's time";
  if (audit_action != access_action(row) || audit_detail != access_detail_json(row))
    return "access-log row " + n + " was altered: it does not match its audit row";
  return std::nullopt;
}

}  // namespace bl::store
