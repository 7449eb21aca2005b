#include "gateway/service/subject_access.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

namespace bl {

using nlohmann::json;

namespace {

constexpr std::int64_t day_ms = 86'400'000;

/// Adds to `places` where `doc` (stored JSON text) mentions the person, up to the cap.
void match_into(const std::string& doc, const std::string& source,
                const std::vector<subject_term>& terms, std::vector<subject_place>& places) {
  if (places.size() >= subject_max_matches) return;
  auto j = json::parse(doc, nullptr, false);
  if (j.is_discarded()) return;
  for (auto& h : subject_hits(j, terms, subject_max_matches - places.size()))
    places.push_back({source, std::move(h)});
}

}  // namespace

subject_result search_subject(store::reader& r, const subject_query& q,
                              const std::function<void(const subject_progress&)>& progress,
                              const std::atomic<bool>* stop) {
  subject_result res;
  auto stopped = [&] { return stop && stop->load(); };
  auto full = [&] {
    return static_cast<int>(res.transfers.size() + res.calls.size()) >= subject_max_found;
  };

  std::pair<time_point, std::string> before{q.until, ""};
  while (!res.truncated) {
    if (stopped()) {
      res.stopped = true;
      return res;
    }
    auto page = r.subject_transfers(q.agency, q.since, before, subject_page);
    if (page.empty()) break;
    const std::pair<time_point, std::string> next{page.back().updated_at, page.back().id};
    for (auto& t : page) {
      ++res.read.transfers_read;
      std::vector<subject_place> places;
      for (const auto& [id, doc] : t.messages) match_into(doc, "message " + id, q.terms, places);
      for (const auto& [id, detail] : t.events)
        match_into(detail, "timeline " + std::to_string(id), q.terms, places);
      if (places.empty()) continue;
      t.messages.clear();
      t.events.clear();
      res.transfers.push_back({std::move(t), std::move(places)});
      ++res.read.transfers_found;
      if (full()) {
        res.truncated = true;
        break;
      }
    }
    if (progress) progress(res.read);
    if (static_cast<int>(page.size()) < subject_page) break;
    before = next;
  }

  std::pair<time_point, std::int64_t> call_before{q.until,
                                                  std::numeric_limits<std::int64_t>::max()};
  while (!res.truncated) {
    if (stopped()) {
      res.stopped = true;
      return res;
    }
    auto page = r.subject_calls(q.agency, q.since, call_before, subject_page);
    if (page.empty()) break;
    const std::pair<time_point, std::int64_t> next{page.back().started_at, page.back().id};
    for (auto& c : page) {
      ++res.read.calls_read;
      if (!c.note || c.note->empty()) continue;
      std::vector<subject_place> places;
      for (auto& h : subject_hits(json{{"note", *c.note}}, q.terms))
        places.push_back({"note", std::move(h)});
      if (places.empty()) continue;
      res.calls.push_back({std::move(c), std::move(places)});
      ++res.read.calls_found;
      if (full()) {
        res.truncated = true;
        break;
      }
    }
    if (progress) progress(res.read);
    if (static_cast<int>(page.size()) < subject_page) break;
    call_before = next;
  }
  return res;
}

json subject_places_json(const std::vector<subject_place>& places) {
  json out = json::array();
  for (const auto& p : places)
    out.push_back({{"source", p.source},
                   {"pointer", p.hit.pointer},
                   {"kind", to_string(p.hit.kind)},
                   {"excerpt", p.hit.excerpt}});
  return out;
}

json subject_result_json(const subject_result& res, const subject_query& q) {
  json terms = json::array();
  for (const auto& t : q.terms) terms.push_back({{"kind", to_string(t.kind)}, {"value", t.value}});
  json transfers = json::array();
  for (const auto& f : res.transfers) {
    const auto& t = f.transfer;
    transfers.push_back({{"transfer_id", t.id},
                         {"requester", t.requester},
                         {"responder", t.responder},
                         {"category", t.category},
                         {"state", t.state},
                         {"created_at", format_rfc3339(t.created_at)},
                         {"updated_at", format_rfc3339(t.updated_at)},
                         {"purged", t.purged},
                         {"places", subject_places_json(f.places)}});
  }
  json calls = json::array();
  for (const auto& f : res.calls) {
    const auto& c = f.call;
    calls.push_back({{"call_id", c.id},
                     {"from_agency", c.from_agency},
                     {"to_agency", c.to_agency},
                     {"started_at", format_rfc3339(c.started_at)},
                     {"transfer_id", c.transfer_id ? json(*c.transfer_id) : json()},
                     {"places", subject_places_json(f.places)}});
  }
  return {{"agency", q.agency},
          {"since", format_rfc3339(q.since)},
          {"until", format_rfc3339(q.until)},
          {"terms", std::move(terms)},
          {"transfers", std::move(transfers)},
          {"calls", std::move(calls)},
          {"read", {{"transfers", res.read.transfers_read}, {"calls", res.read.calls_read}}},
          {"truncated", res.truncated}};
}

std::variant<subject_query, error> subject_query_from(const json& body,
                                                      const std::string& own_agency,
                                                      const gateway_config& cfg, time_point now) {
  subject_query q;
  const std::string asked = body.value("agency", std::string());
  if (!own_agency.empty()) {
    if (!asked.empty() && asked != own_agency)
      return make_error(errc::forbidden_role,
                        "an officer searches their own agency's data ('" + own_agency + "') only",
                        "/agency");
    q.agency = own_agency;
  } else {
    if (asked.empty())
      return make_error(errc::bad_request, "name the agency whose data to search", "/agency");
    if (!cfg.find_agency(asked))
      return make_error(errc::bad_request, "unknown agency '" + asked + "'", "/agency");
    q.agency = asked;
  }
  const auto& terms = body.at("terms");
  if (terms.empty() || terms.size() > subject_max_terms)
    return make_error(errc::bad_request,
                      "give 1 to " + std::to_string(subject_max_terms) + " search terms", "/terms");
  for (std::size_t i = 0; i < terms.size(); ++i) {
    auto t =
        parse_subject_term(terms[i].at("kind").get<std::string>(),
                           terms[i].at("value").get<std::string>(), "/terms/" + std::to_string(i));
    if (auto* e = std::get_if<error>(&t)) return *e;
    q.terms.push_back(std::get<subject_term>(std::move(t)));
  }
  auto when = [&](const char* key, time_point fallback) -> std::variant<time_point, error> {
    if (!body.contains(key)) return fallback;
    auto t = parse_rfc3339(body.at(key).get<std::string>());
    if (!t)
      return make_error(errc::bad_request, std::string(key) + " must be an RFC 3339 time",
                        std::string("/") + key);
    return *t;
  };
  auto until = when("until", now);
  if (auto* e = std::get_if<error>(&until)) return *e;
  q.until = std::min(std::get<time_point>(until), now);
  auto since = when("since", q.until - std::chrono::milliseconds(366 * day_ms));
  if (auto* e = std::get_if<error>(&since)) return *e;
  q.since = std::get<time_point>(since);
  if (q.since >= q.until)
    return make_error(errc::bad_request, "since must be before until", "/since");
  if (q.until - q.since > std::chrono::milliseconds(subject_max_period_days * day_ms))
    return make_error(errc::bad_request,
                      "one search walks at most " + std::to_string(subject_max_period_days) +
                          " days; search the years one by one",
                      "/since");
  return q;
}

}  // namespace bl
