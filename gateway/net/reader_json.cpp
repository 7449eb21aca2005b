#include "gateway/net/reader_json.hpp"

#include <optional>

#include "gateway/core/time_util.hpp"

namespace bl {

using nlohmann::json;

namespace {
json opt(const std::optional<std::string>& v) {
  return v ? json(*v) : json();
}
std::string time_text(time_point t) {
  return format_rfc3339(t);
}
// What the two kinds of timeline entry share: the detail's timeline and the console's events.
json event_json(const store::event_row& e) {
  return {{"at", time_text(e.at)},
          {"kind", e.kind},
          {"actor", e.actor},
          {"message_id", opt(e.message_id)},
          {"from_state", opt(e.from_state)},
          {"to_state", opt(e.to_state)},
          {"version", e.version},
          {"detail", stored_json(e.detail)}};
}
// What the list row and the detail share: the transfer's own columns. (Objects keep their keys
// sorted, so the fields each adds land where they did.)
json transfer_fields_json(const store::transfer_fields& t) {
  return {{"transfer_id", t.id},
          {"state", t.state},
          {"version", t.version},
          {"category", t.category},
          {"priority", t.priority},
          {"mode", t.mode},
          {"from", t.requester},
          {"to", t.responder},
          {"created_at", time_text(t.created_at)},
          {"updated_at", time_text(t.updated_at)},
          {"expires_at", time_text(t.expires_at)},
          {"delivery_due", time_text(t.delivery_due)},
          {"decision_due", time_text(t.decision_due)}};
}
}  // namespace

json stored_json(const std::string& text) {
  if (text.empty()) return json();
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(text) : j;
}

json transfer_row_json(const store::transfer_row& t) {
  // Keyed by agency; a transfer whose requester is also its responder has one key, the
  // requester's number (the two columns then hold the same number).
  json numbers = json::object();
  numbers.emplace(t.requester, opt(t.requester_number));
  numbers.emplace(t.responder, opt(t.responder_number));
  json row = transfer_fields_json(t);
  row["phone_fallback"] = t.delivery_alerted || t.decision_alerted;
  row["incident_numbers"] = std::move(numbers);
  row["summary"] = opt(t.summary);
  return row;
}

json transfer_row_json(const store::transfer_row& t, const std::string& agency) {
  json row = transfer_row_json(t);
  row["direction"] = t.requester == agency ? "outgoing" : "incoming";
  return row;
}

json transfer_list_json(const std::vector<store::transfer_row>& rows, const std::string& agency) {
  json out = json::array();
  for (const auto& t : rows) out.push_back(transfer_row_json(t, agency));
  return out;
}

json transfer_detail_json(const store::transfer_record& t) {
  json numbers = json::object();
  for (const auto& n : t.incident_numbers)
    numbers[n.agency] = {{"number", n.number}, {"recorded_at", time_text(n.recorded_at)}};
  json timeline = json::array();
  for (const auto& e : t.timeline) timeline.push_back(event_json(e));
  json messages = json::array();
  for (const auto& m : t.messages) messages.push_back(stored_json(m));
  json audit = json::array();
  for (const auto& a : t.audit)
    audit.push_back({{"seq", a.seq},
                     {"at", time_text(a.at)},
                     {"actor", a.actor},
                     {"action", a.action},
                     {"message_id", opt(a.message_id)},
                     {"detail", stored_json(a.detail)},
                     {"hash", a.hash}});
  json detail = transfer_fields_json(t);
  detail["request_message_id"] = t.request_message_id;
  detail["delivery_alerted"] = t.delivery_alerted;
  detail["decision_alerted"] = t.decision_alerted;
  detail["incident_numbers"] = std::move(numbers);
  detail["timeline"] = std::move(timeline);
  detail["messages"] = std::move(messages);
  detail["audit"] = std::move(audit);
  // The partner documents kept as received: what they are, not their content (GET
  // /api/v1/originals/{message_id} serves that).
  json originals = json::array();
  for (const auto& o : t.originals)
    originals.push_back({{"message_id", o.message_id},
                         {"standard", o.standard},
                         {"media_type", o.media_type},
                         {"bytes", o.bytes},
                         {"received_at", time_text(o.received_at)}});
  detail["originals"] = std::move(originals);
  return detail;
}

json console_event_json(const store::event_row& e) {
  json j = event_json(e);
  j["id"] = e.id;
  j["transfer_id"] = e.transfer_id;
  return j;
}

json call_list_json(const std::vector<store::call_row>& rows, const std::string& agency) {
  json out = json::array();
  for (const auto& c : rows) {
    bool outgoing = c.from_agency == agency;
    out.push_back({{"id", c.id},
                   {"direction", outgoing ? "outgoing" : "incoming"},
                   {"other_agency", outgoing ? c.to_agency : c.from_agency},
                   {"from_agency", c.from_agency},
                   {"to_agency", c.to_agency},
                   {"started_at", time_text(c.started_at)},
                   {"duration_s", c.duration_s ? json(*c.duration_s) : json()},
                   {"emergency", c.emergency},
                   {"reason", opt(c.reason)},
                   {"transfer_id", opt(c.transfer_id)},
                   {"logged_by", opt(c.logged_by)},
                   {"exercise", c.exercise},
                   {"note", opt(c.note)},
                   {"source", c.source},
                   {"created_at", time_text(c.created_at)}});
  }
  return out;
}

}  // namespace bl
