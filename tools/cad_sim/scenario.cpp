#include "tools/cad_sim/scenario.hpp"

#include <ctime>
#include <fstream>
#include <iterator>

#include "gateway/core/json_bounded.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl::sim {

using nlohmann::json;

namespace {

// The longest incident number an incident_ref holds (common.schema.json).
constexpr std::size_t max_incident_chars = 40;

std::string zero_pad(std::int64_t v, std::size_t width) {
  std::string digits = std::to_string(v);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

// "n" -> 0, "n:06" -> 6, "n:012" -> 12 (widths 1..99); anything else is not the number.
std::optional<std::size_t> number_width(std::string_view token) {
  if (token == "n") return 0;
  if (token.size() < 4 || token.size() > 5 || token.substr(0, 3) != "n:0") return std::nullopt;
  std::size_t width = 0;
  for (char d : token.substr(3)) {
    if (d < '0' || d > '9') return std::nullopt;
    width = width * 10 + static_cast<std::size_t>(d - '0');
  }
  if (width == 0) return std::nullopt;
  return width;
}

[[noreturn]] void fail(const std::string& origin, const std::string& pointer,
                       const std::string& what) {
  throw scenario_error(origin + ": '" + pointer + "': " + what);
}

delay_range read_delay(const json& j, const std::string& origin, const std::string& pointer) {
  delay_range d{j.at("min_s").get<double>(), j.at("max_s").get<double>()};
  if (d.min_s > d.max_s) fail(origin, pointer, "min_s is greater than max_s");
  return d;
}

std::vector<close_outcome> read_outcomes(const json& j) {
  std::vector<close_outcome> out;
  for (const auto& o : j)
    out.push_back({o.at("outcome").get<std::string>(), o.value("text", std::string()),
                   o.at("weight").get<double>()});
  return out;
}

// Placeholders are checked against the real message schemas, so that a template that the
// gateway would refuse stops the simulator at start rather than counting as a run-time error.
void check_message(const schema_set& schemas, const json& msg, const std::string& origin,
                   const std::string& pointer) {
  if (auto e = schemas.validate_message(msg))
    fail(origin, pointer,
         "does not make a valid " + msg.value("type", std::string("message")) + ": '" + e->pointer +
             "': " + e->message);
}

request_template read_template(const json& j, const scenario& sc, const std::string& origin,
                               const std::string& pointer) {
  request_template t;
  t.name = j.at("name").get<std::string>();
  t.weight = j.at("weight").get<double>();
  t.to = j.at("to").get<std::string>();
  t.category = j.at("category").get<std::string>();
  if (t.to == sc.agency) fail(origin, pointer + "/to", "a CAD cannot send a request to itself");
  t.body = json::object();
  for (const char* key : {"category", "priority", "ask", "summary", "methane", "contact", "notes"})
    if (j.contains(key)) t.body[key] = j.at(key);
  if (j.contains("expires_in_s")) t.expires_in_s = j.at("expires_in_s").get<std::int64_t>();
  if (j.contains("updates"))
    for (const auto& u : j.at("updates")) t.updates.push_back(u);
  return t;
}

}  // namespace

std::string format_incident_number(std::string_view format, std::int64_t n, time_point at) {
  if (n < 0) throw std::invalid_argument("incident numbers are not negative");
  std::time_t secs = sys_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  const std::int64_t year = utc.tm_year + 1900, month = utc.tm_mon + 1, day = utc.tm_mday;

  std::string out;
  bool saw_n = false;
  for (std::size_t i = 0; i < format.size();) {
    char c = format[i];
    if (c == '}') throw std::invalid_argument("unmatched '}' in incident format");
    if (c != '{') {
      out += c;
      ++i;
      continue;
    }
    auto close = format.find('}', i);
    if (close == std::string_view::npos)
      throw std::invalid_argument("unterminated '{' in incident format");
    std::string_view token = format.substr(i + 1, close - i - 1);
    if (token == "yyyy") {
      out += zero_pad(year, 4);
    } else if (token == "yy") {
      out += zero_pad(year % 100, 2);
    } else if (token == "mm") {
      out += zero_pad(month, 2);
    } else if (token == "dd") {
      out += zero_pad(day, 2);
    } else if (token == "yymm") {
      out += zero_pad(year % 100, 2) + zero_pad(month, 2);
    } else if (token == "yyyymmdd") {
      out += zero_pad(year, 4) + zero_pad(month, 2) + zero_pad(day, 2);
    } else if (auto width = number_width(token)) {
      if (saw_n) throw std::invalid_argument("incident format has more than one {n}");
      saw_n = true;
      out += zero_pad(n, *width);
    } else {
      throw std::invalid_argument("unknown placeholder {" + std::string(token) +
                                  "} in incident format");
    }
    i = close + 1;
  }
  if (!saw_n) throw std::invalid_argument("incident format has no {n}");
  if (out.size() > max_incident_chars)
    throw std::invalid_argument("incident number '" + out + "' is longer than " +
                                std::to_string(max_incident_chars) + " characters");
  return out;
}

json make_request(const scenario& sc, const request_template& t, const std::string& message_id,
                  const std::string& incident_number, const std::string& mode, time_point now) {
  json body = t.body;
  body["sender_incident"] = {{"number", incident_number}, {"system", sc.cad_system}};
  json m = {{"id", message_id},          {"type", "transfer.request"},     {"from", sc.agency},
            {"to", json::array({t.to})}, {"sent_at", format_rfc3339(now)}, {"mode", mode},
            {"body", std::move(body)}};
  if (t.expires_in_s) m["expires_at"] = format_rfc3339(now + std::chrono::seconds(*t.expires_in_s));
  return m;
}

scenario parse_scenario(const json& doc, const schema_set& schemas, const std::string& origin) {
  if (auto e = schemas.validate("sim/scenario", doc)) fail(origin, e->pointer, e->message);

  scenario sc;
  sc.agency = doc.at("agency").get<std::string>();
  sc.description = doc.value("description", std::string());
  sc.mode = doc.value("mode", std::string("exercise"));
  const json& cad = doc.at("cad");
  sc.cad_system = cad.at("system").get<std::string>();
  sc.incident_format = cad.at("incident_format").get<std::string>();
  sc.first_incident = cad.value("first_incident", std::int64_t{1});
  sc.operator_name = cad.value("operator", std::string());
  try {
    format_incident_number(sc.incident_format, sc.first_incident, now_ms());
  } catch (const std::invalid_argument& e) {
    fail(origin, "/cad/incident_format", e.what());
  }

  const json& reqs = doc.at("requests");
  for (std::size_t i = 0; i < reqs.size(); ++i)
    sc.requests.push_back(read_template(reqs[i], sc, origin, "/requests/" + std::to_string(i)));

  const json& rq = doc.at("requester");
  sc.requester.update_probability = rq.at("update").at("probability").get<double>();
  sc.requester.update_after =
      read_delay(rq.at("update").at("after"), origin, "/requester/update/after");
  sc.requester.update_text =
      rq.at("update").value("text", std::string("No change: crews still committed at the scene"));
  sc.requester.close_probability = rq.at("close").at("probability").get<double>();
  sc.requester.close_after =
      read_delay(rq.at("close").at("after"), origin, "/requester/close/after");
  sc.requester.close_outcomes = read_outcomes(rq.at("close").at("outcomes"));

  const json& rc = doc.at("receiver");
  auto& r = sc.receiver;
  r.received_probability = rc.at("received").at("probability").get<double>();
  r.received_after = read_delay(rc.at("received").at("after"), origin, "/receiver/received/after");
  r.received_note = rc.at("received").value("note", std::string());
  const json& decision = rc.at("decision");
  r.decision_after = read_delay(decision.at("after"), origin, "/receiver/decision/after");
  r.accept_weight = decision.at("accept").get<double>();
  r.decline_weight = decision.at("decline").get<double>();
  r.defer_weight = decision.at("defer").get<double>();
  // A deferred request is decided again between accept and decline only.
  if (r.accept_weight + r.decline_weight <= 0)
    fail(origin, "/receiver/decision", "accept and decline cannot both have weight 0");
  const json& accept = rc.at("accept");
  r.eta_min = accept.at("eta_minutes").at("min").get<int>();
  r.eta_max = accept.at("eta_minutes").at("max").get<int>();
  if (r.eta_min > r.eta_max)
    fail(origin, "/receiver/accept/eta_minutes", "min is greater than max");
  r.resources = accept.at("resources");
  r.accept_notes = accept.value("notes", json::object());
  for (const auto& d : rc.at("decline"))
    r.decline_reasons.push_back({d.at("reason").get<std::string>(), d.at("text").get<std::string>(),
                                 d.at("weight").get<double>()});
  r.defer_for = read_delay(rc.at("defer").at("for"), origin, "/receiver/defer/for");
  if (r.defer_for.min_s < 1)
    fail(origin, "/receiver/defer/for/min_s", "a deferral must last at least 1 s");
  r.defer_reasons = rc.at("defer").at("reasons").get<std::vector<std::string>>();
  r.close_probability = rc.at("close").at("probability").get<double>();
  r.close_after = read_delay(rc.at("close").at("after"), origin, "/receiver/close/after");
  r.close_outcomes = read_outcomes(rc.at("close").at("outcomes"));
  r.notification_close_after = read_delay(rc.at("notification").at("close_after"), origin,
                                          "/receiver/notification/close_after");
  r.notification_close_text = rc.at("notification").at("text").get<std::string>();

  if (doc.contains("faults")) {
    sc.faults.disconnects_per_minute = doc.at("faults").value("disconnects_per_minute", 0.0);
    sc.faults.duplicate_probability = doc.at("faults").value("duplicate_probability", 0.0);
  }

  // Every template, and every update it may send, must make a message the gateway accepts.
  const time_point now = now_ms();
  const std::string number = format_incident_number(sc.incident_format, sc.first_incident, now);
  for (std::size_t i = 0; i < sc.requests.size(); ++i) {
    const auto& t = sc.requests[i];
    const std::string pointer = "/requests/" + std::to_string(i);
    check_message(schemas, make_request(sc, t, sc.agency + ":check", number, sc.mode, now), origin,
                  pointer);
    for (std::size_t u = 0; u < t.updates.size(); ++u) {
      json update = {{"id", sc.agency + ":check"},
                     {"type", "transfer.update"},
                     {"from", sc.agency},
                     {"sent_at", format_rfc3339(now)},
                     {"transfer_id", "T-20260101-000001"},
                     {"version", 2},
                     {"body", t.updates[u]}};
      check_message(schemas, update, origin, pointer + "/updates/" + std::to_string(u));
    }
  }
  return sc;
}

scenario load_scenario(const std::filesystem::path& file, const schema_set& schemas) {
  std::ifstream in(file);
  if (!in) throw scenario_error("cannot read scenario file " + file.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json doc;
  if (auto e = parse_json_bounded(text, doc, {}, "the scenario file"))
    throw scenario_error("scenario file " + file.string() + ": " + e->message);
  return parse_scenario(doc, schemas, file.string());
}

}  // namespace bl::sim
