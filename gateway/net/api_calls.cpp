// Phone calls between control rooms, OS grid conversion and dry-run message validation.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"
#include "gateway/core/location_check.hpp"
#include "gateway/core/location_text.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/query.hpp"
#include "gateway/net/reader_json.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/geo.hpp"
#include "gateway/service/purge_scheduler.hpp"
#include "gateway/service/retention.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/store/access_log.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;

namespace {

// How far back an operator or integration may log a call (older ones are imported).
constexpr int max_call_age_days = 31;

// A decimal query parameter; nullopt with `err` set when it is missing or not a finite number.
std::optional<double> number_param(const std::map<std::string, std::string>& q,
                                   const std::string& key, std::optional<error>& err) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) {
    err = make_error(errc::bad_request, "query parameter '" + key + "' is required", key);
    return std::nullopt;
  }
  // strtod accepts leading spaces, hex and "inf"; only plain decimals are meant here.
  const std::string& v = it->second;
  bool plain = v.find_first_not_of("0123456789+-.eE") == std::string::npos;
  char* end = nullptr;
  double d = plain ? std::strtod(v.c_str(), &end) : 0;
  if (!plain || end != v.c_str() + v.size() || !std::isfinite(d)) {
    err =
        make_error(errc::bad_request,
                   "query parameter '" + key + "' must be a decimal number, not '" + v + "'", key);
    return std::nullopt;
  }
  return d;
}

json point_json(const geo_point& p) {
  // Metres are enough for a grid position; 6 decimal places of a degree are about 0.1 m.
  auto round_to = [](double v, double scale) { return std::round(v * scale) / scale; };
  return {{"lat", round_to(p.lat, 1e6)},
          {"lon", round_to(p.lon, 1e6)},
          {"easting", round_to(p.easting, 1)},
          {"northing", round_to(p.northing, 1)},
          {"grid_ref", p.grid_ref}};
}

// The call as GET /api/v1/calls lists it, seen from the agency that logged it.
json call_json(const call_record& c) {
  bool outgoing = c.from_agency == c.agency;
  auto opt = [](const std::string& v) { return v.empty() ? json() : json(v); };
  return {{"id", c.id},
          {"direction", outgoing ? "outgoing" : "incoming"},
          {"other_agency", outgoing ? c.to_agency : c.from_agency},
          {"from_agency", c.from_agency},
          {"to_agency", c.to_agency},
          {"started_at", format_rfc3339(c.started_at)},
          {"duration_s", c.duration_s ? json(*c.duration_s) : json()},
          {"emergency", c.emergency},
          {"reason", c.reason},
          {"transfer_id", opt(c.transfer_id)},
          {"logged_by", c.logged_by},
          {"exercise", c.exercise},
          {"note", opt(c.note)},
          {"source", c.source}};
}

json claim_json(const phone_claim& c) {
  return {{"transfer_id", c.transfer_id},
          {"agency", c.agency},
          {"prompt", c.prompt},
          {"by", c.username},
          {"by_name", c.display_name},
          {"calling", c.counterpart},
          {"claimed_at", format_rfc3339(c.claimed_at)}};
}

}  // namespace

api_response api::get_geo(const std::string& query) const {
  if (!s_.geo_convert)
    return error_response(make_error(
        errc::internal,
        "coordinate conversion is not available: PROJ could not be set up when the gateway "
        "started (see its log)"));
  auto q = parse_query(query);
  // The agencies a request would run between, for the plausibility verdict (optional).
  std::vector<const agency_config*> parties;
  for (const char* key : {"from", "to"}) {
    auto it = q.find(key);
    if (it == q.end()) continue;
    const auto* a = s_.cfg.find_agency(it->second);
    if (!a)
      return error_response(make_error(errc::bad_request,
                                       std::string("query parameter '") + key +
                                           "' names no agency of this gateway: '" +
                                           it->second.substr(0, 64) + "'",
                                       key));
    parties.push_back(a);
  }
  // Every answer says whether the point is plausible for a request between them: in Great
  // Britain and, when the agencies have areas, within one of them (gateway/core/location_check).
  auto judged = [&](json out) {
    auto v = check_location(out.at("lat").get<double>(), out.at("lon").get<double>(), parties);
    out["plausible"] = v.plausible;
    if (!v.plausible) out["reason"] = v.reason;
    return json_response(200, out);
  };
  bool wgs84 = q.count("lat") || q.count("lon");
  bool osgb = q.count("easting") || q.count("northing");
  bool text = q.count("q") > 0;
  if (int(wgs84) + int(osgb) + int(text) != 1)
    return error_response(make_error(
        errc::bad_request,
        std::string(wgs84 || osgb || text ? "give only one of" : "give one of") +
            ": q (a location as typed: TL 740 035, 574000 203500, 51.70 0.55, 51 42.5 N 0 33 E), "
            "lat and lon, or easting and northing",
        text ? "q" : "lat"));
  std::optional<error> err;
  std::variant<geo_point, error> r;
  if (text) {
    // A location as an operator types it (gateway/core/location_text.hpp), then converted.
    auto typed = parse_location_text(q["q"], "q");
    if (auto* e = std::get_if<error>(&typed)) return error_response(*e);
    const auto& t = std::get<typed_location>(typed);
    r = t.kind == typed_location::form::wgs84 ? s_.geo_convert->from_wgs84(t.lat, t.lon)
                                              : s_.geo_convert->from_osgb(t.easting, t.northing);
    if (auto* e = std::get_if<error>(&r)) {
      e->pointer = "q";
      return error_response(*e);
    }
    auto out = point_json(std::get<geo_point>(r));
    out["input"] = {{"form", to_string(t.kind)}};
    if (t.kind == typed_location::form::grid_ref) out["input"]["precision_m"] = t.precision_m;
    return judged(std::move(out));
  }
  if (wgs84) {
    auto lat = number_param(q, "lat", err);
    if (!lat) return error_response(*err);
    auto lon = number_param(q, "lon", err);
    if (!lon) return error_response(*err);
    r = s_.geo_convert->from_wgs84(*lat, *lon);
  } else {
    auto e = number_param(q, "easting", err);
    if (!e) return error_response(*err);
    auto n = number_param(q, "northing", err);
    if (!n) return error_response(*err);
    r = s_.geo_convert->from_osgb(*e, *n);
  }
  if (auto* e = std::get_if<error>(&r)) return error_response(*e);
  return judged(point_json(std::get<geo_point>(r)));
}

api_response api::validate_message(const principal& who, const std::string& body) const {
  // The same checks as post_message(), in the same order, but every schema violation is
  // reported, so that the console can show each one beside its field. Nothing is stored.
  auto invalid = [](const std::vector<error>& errors) {
    auto r = error_response(errors.front());
    json out = json::parse(r.body);
    json list = json::array();
    for (const auto& e : errors) {
      json item = {
          {"pointer", e.pointer},
          {"message", e.message.empty() ? std::string(info(e.code).operator_text) : e.message}};
      if (e.code != errc::schema_invalid) item["code"] = e.id();
      list.push_back(std::move(item));
    }
    out["valid"] = false;
    out["errors"] = std::move(list);
    r.body = out.dump();
    return r;
  };
  // The same steps as a submission (submit_pipeline), reporting every violation.
  auto errors = s_.pipeline.check_all(body, submitter_of(who));
  if (!errors.empty()) return invalid(errors);
  return json_response(200, json{{"valid", true}});
}

void api::post_call(const principal& who, const std::string& body, done_fn done) {
  auto reject = [&](const error& e) {
    s_.log->info("event=call_rejected agency={} code={} pointer={} reason={}", who.agency, e.id(),
                 log_quote(log_pointer(e.pointer)), log_quote(log_reason(e.message)));
    done(error_response(e));
  };
  if (auto e = s_.pipeline.refusal()) return reject(*e);
  json doc;
  if (auto e = read_body(body, "api/call", doc)) return reject(*e);

  std::string other = doc.at("other_agency").get<std::string>();
  if (other == who.agency)
    return reject(make_error(errc::self_addressed,
                             "'" + other + "' is your own agency; log calls with another one",
                             "/other_agency"));
  if (!s_.cfg.find_agency(other))
    return reject(make_error(errc::unknown_agency,
                             "no agency '" + other + "' is configured on this gateway",
                             "/other_agency"));

  call_record c;
  c.source = who.via_session ? "console" : "api";
  c.agency = who.agency;
  bool outgoing = doc.at("direction").get<std::string>() == "outgoing";
  c.from_agency = outgoing ? who.agency : other;
  c.to_agency = outgoing ? other : who.agency;
  c.started_at = now_ms();
  if (auto it = doc.find("started_at"); it != doc.end()) {
    // The schema's pattern admits impossible dates such as 2026-02-30.
    auto t = parse_rfc3339(it->get<std::string>());
    if (!t)
      return reject(make_error(errc::schema_invalid,
                               "'" + it->get<std::string>() + "' is not a real date and time",
                               "/started_at"));
    // A little clock difference between the caller and the gateway is tolerated.
    if (*t > c.started_at + std::chrono::minutes(5))
      return reject(make_error(errc::schema_invalid,
                               "a call cannot start in the future (" + it->get<std::string>() +
                                   " is after " + format_rfc3339(c.started_at) + ")",
                               "/started_at"));
    // Nor long ago: a call logged against a date far back would move figures in reports that
    // other agencies and managers have already read. Older calls come in by `calls import`.
    if (*t < c.started_at - std::chrono::hours(24 * max_call_age_days))
      return reject(make_error(errc::schema_invalid,
                               "a call logged here must have started within the last " +
                                   std::to_string(max_call_age_days) + " days (" +
                                   it->get<std::string>() +
                                   " is earlier); import older calls "
                                   "with `bluelink calls import`",
                               "/started_at"));
    c.started_at = *t;
  }
  if (auto it = doc.find("duration_s"); it != doc.end()) c.duration_s = it->get<std::int64_t>();
  c.emergency = doc.at("emergency").get<bool>();
  c.reason = doc.at("reason").get<std::string>();
  c.transfer_id = doc.value("transfer_id", std::string());
  c.logged_by = who.username.empty() ? who.agency : who.username;
  c.exercise = doc.value("exercise", false);
  c.note = doc.value("note", std::string());

  auto stored = std::make_shared<call_record>(c);
  // The callback runs on the engine thread; it holds the logger itself rather than `this`.
  auto on_done = [log = s_.log, stored,
                  done = std::move(done)](std::variant<std::int64_t, error> r) {
    if (auto* e = std::get_if<error>(&r)) {
      log->info("event=call_rejected agency={} code={} pointer={} reason={}", stored->agency,
                e->id(), log_quote(log_pointer(e->pointer)), log_quote(log_reason(e->message)));
      return done(error_response(*e));
    }
    stored->id = std::get<std::int64_t>(r);
    done(json_response(201, json{{"call", call_json(*stored)}}));
  };
  s_.eng.log_call(std::move(c), std::move(on_done));
}

void api::get_calls(const principal& who, const std::string& query, done_fn done) {
  auto q = parse_query(query);
  std::optional<time_point> since;
  if (q.count("since") && !q["since"].empty()) {
    since = parse_rfc3339(q["since"]);
    if (!since)
      return done(error_response(make_error(
          errc::bad_request, "'since' must be an RFC 3339 date-time such as 2026-11-21T14:00:00Z",
          "since")));
  }
  std::int64_t limit = 100;
  if (auto it = q.find("limit"); it != q.end() && !it->second.empty()) {
    auto r = std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
    if (r.ec != std::errc() || r.ptr != it->second.data() + it->second.size() || limit < 1 ||
        limit > 1000)
      return done(error_response(
          make_error(errc::bad_request,
                     "query parameter 'limit' must be a whole number from 1 to 1000", "limit")));
  }
  try {
    auto calls = s_.reader.list_calls(who.agency, since, static_cast<int>(limit));
    // Each call listed is consulted (its note and the transfer it was about are shown).
    std::vector<store::access_entry> seen;
    seen.reserve(calls.size());
    for (const auto& c : calls) {
      auto e = access_by(who, store::access_op::consult, "call_list");
      e.ref = std::to_string(c.id);
      e.transfer_id = c.transfer_id.value_or("");
      e.justification = "a call of the agency's";
      seen.push_back(std::move(e));
    }
    answer_logged(std::move(seen),
                  json_response(200, json{{"agency", who.agency},
                                          {"calls", call_list_json(calls, who.agency)}}),
                  std::move(done));
  } catch (const store::store_error& e) {
    done(error_response(make_error(errc::store_unavailable, e.what())));
  }
}

void api::post_phone_claim(const principal& who, const std::string& body, done_fn done) {
  auto reject = [&](const error& e) {
    s_.log->info("event=phone_claim_rejected agency={} code={} pointer={} reason={}", who.agency,
                 e.id(), log_quote(log_pointer(e.pointer)), log_quote(log_reason(e.message)));
    done(error_response(e));
  };
  if (auto e = s_.pipeline.refusal()) return reject(*e);
  json doc;
  if (auto e = read_body(body, "api/phone_claim", doc)) return reject(*e);

  // The claim is always the caller's own agency's: the body cannot name another.
  phone_claim c;
  c.transfer_id = doc.at("transfer_id").get<std::string>();
  c.agency = who.agency;
  c.prompt = doc.at("prompt").get<std::string>();
  c.username = who.username.empty() ? who.agency : who.username;
  c.display_name = who.display_name.empty() ? c.username : who.display_name;

  // The callback runs on the engine thread; it holds the logger itself rather than `this`.
  auto on_done = [log = s_.log, agency = who.agency,
                  done = std::move(done)](std::variant<claim_result, error> r) {
    if (auto* e = std::get_if<error>(&r)) {
      log->info("event=phone_claim_rejected agency={} code={} pointer={} reason={}", agency,
                e->id(), log_quote(log_pointer(e->pointer)), log_quote(log_reason(e->message)));
      return done(error_response(*e));
    }
    const auto& got = std::get<claim_result>(r);
    // 201 for a new claim; 200 with the standing one (perhaps a colleague's) for a repeat.
    done(json_response(got.already ? 200 : 201,
                       json{{"claim", claim_json(got.claim)}, {"already_claimed", got.already}}));
  };
  s_.eng.claim_phone(std::move(c), std::move(on_done));
}

void api::post_redirect(const principal& who, const std::string& body, done_fn done) {
  auto reject = [log = s_.log, agency = who.agency, done](const error& e) {
    log->info("event=redirect_rejected agency={} code={} pointer={} reason={}", agency, e.id(),
              log_quote(log_pointer(e.pointer)), log_quote(log_reason(e.message)));
    done(error_response(e));
  };
  // A redirect sends a new request: refused whenever a submission would be.
  if (auto e = s_.pipeline.refusal()) return reject(*e);
  json doc;
  if (auto e = read_body(body, "api/redirect", doc)) return reject(*e);

  redirect_request r;
  r.transfer_id = doc.at("transfer_id").get<std::string>();
  r.agency = who.agency;  // always the caller's own agency: the body cannot name another
  r.user = who.username.empty() ? who.agency : who.username;
  r.via = who.via_session ? "console" : "api";
  r.reason = doc.value("reason", std::string());
  // The callback runs on the engine thread; it holds what it needs itself rather than `this`.
  s_.eng.redirect(std::move(r), [reject, done](std::variant<redirect_result, error> out) {
    if (auto* e = std::get_if<error>(&out)) return reject(*e);
    const auto& got = std::get<redirect_result>(out);
    // 201 for a new redirect; 200 with the one that stands for a repeat.
    done(json_response(got.already ? 200 : 201, json{{"transfer_id", got.transfer_id},
                                                     {"new_transfer_id", got.new_transfer_id},
                                                     {"to", got.to},
                                                     {"already_redirected", got.already}}));
  });
}

void api::change_hold(const principal& who, const std::string& transfer_id, const std::string& body,
                      bool place, done_fn done) {
  const char* verb = place ? "hold" : "hold_lift";
  auto reject = [log = s_.log, agency = who.agency, verb, done](const error& e) {
    log->info("event={}_rejected agency={} code={} pointer={} reason={}", verb, log_quote(agency),
              e.id(), log_quote(log_pointer(e.pointer)), log_quote(log_reason(e.message)));
    done(error_response(e));
  };
  if (who.who != role::supervisor && who.who != role::dpo && who.who != role::admin)
    return reject(make_error(
        errc::forbidden_role,
        "legal holds are placed and lifted by supervisors and data-protection officers (on their "
        "agency's transfers) and administrators; a " +
            std::string(to_string(who.who)) + " cannot"));
  json doc;
  if (auto e = read_body(body, place ? "api/legal_hold" : "api/legal_hold_lift", doc))
    return reject(*e);
  hold_change c;
  c.transfer_id = place ? doc.at("transfer_id").get<std::string>() : transfer_id;
  c.agency = who.agency;  // a supervisor or officer: a party's only; an admin (no agency): any
  c.by = who.username;
  c.reason = doc.at("reason").get<std::string>();
  auto out = std::make_shared<std::variant<store::legal_hold, error>>(error{});
  s_.eng.run_task(
      [c, place, out](store::writer& w, time_point now) {
        *out = place ? place_legal_hold(w, c, now) : lift_legal_hold(w, c, now);
      },
      [log = s_.log, reject, done, out, place, c](std::optional<error> failed) {
        if (failed) return reject(*failed);
        if (auto* e = std::get_if<error>(out.get())) return reject(*e);
        const auto& h = std::get<store::legal_hold>(*out);
        log->info("event={} transfer_id={} hold_id={} agency={} by={}",
                  place ? "hold_placed" : "hold_lifted", h.transfer_id, h.id, log_quote(c.agency),
                  log_quote(c.by));
        json j = {{"id", h.id},
                  {"transfer_id", h.transfer_id},
                  {"agency", h.agency.empty() ? json() : json(h.agency)},
                  {"placed_by", h.placed_by},
                  {"placed_at", format_rfc3339(h.placed_at)},
                  {"reason", h.reason},
                  {"lifted_by", h.lifted_at ? json(h.lifted_by) : json()},
                  {"lifted_at", h.lifted_at ? json(format_rfc3339(*h.lifted_at)) : json()},
                  {"lift_reason", h.lifted_at ? json(h.lift_reason) : json()}};
        done(json_response(place ? 201 : 200, json{{"hold", std::move(j)}}));
      });
}

api_response api::get_retention() {
  // The periods each agency's data is kept for (docs/data-protection.md): every signed-in user
  // may see them (they are the deployment's policy, not personal data).
  auto days = [](const std::optional<int>& d) { return d ? json(*d) : json(); };
  json agencies = json::array();
  for (const auto& a : s_.cfg.agencies) {
    auto r = s_.cfg.retention_of(a.id);
    agencies.push_back({{"agency", a.id},
                        {"name", a.name},
                        {"transfers_days", days(r.transfers_days)},
                        {"calls_days", days(r.calls_days)},
                        {"logs_days", days(r.logs_days)}});
  }
  json body = {{"agencies", std::move(agencies)},
               {"purge_every_s", s_.cfg.retention.purge_every_s},
               {"rule",
                "A transfer is kept for the longer of its two agencies' transfer periods from its "
                "last activity, a call for the longer of its two agencies' call periods from when "
                "it started; without a period, data is kept until one is set. A legal hold stops "
                "a transfer's purge until it is lifted."}};
  if (s_.purger) {
    auto p = s_.purger->state();
    body["last_purge"] = {
        {"at", p.last_pass_at_ms ? json(format_rfc3339(from_ms(p.last_pass_at_ms))) : json()},
        {"transfers_purged_since_start", p.transfers_purged},
        {"calls_purged_since_start", p.calls_purged},
        {"error", p.last_error.empty() ? json() : json(p.last_error)}};
  }
  return json_response(200, body);
}

}  // namespace bl
