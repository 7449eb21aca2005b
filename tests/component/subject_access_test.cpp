// Subject access (issue 18, docs/data-protection.md) through the engine into a real store (SQLite,
// and PostgreSQL as component:subject_access_test@postgres): a search for one person finds the
// transfers and calls of the officer's agency that mention them, wherever in a message, its
// timeline or a call's note, and nothing of another agency's or outside the period.

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/service/subject_access.hpp"
#include "tests/support/engine_rig.hpp"

using namespace bl;
using nlohmann::json;

namespace subject_access_test {

subject_term term_of(const char* kind, const char* value) {
  auto t = parse_subject_term(kind, value, "/terms/0");
  REQUIRE(std::holds_alternative<subject_term>(t));
  return std::get<subject_term>(t);
}

std::set<std::string> ids_of(const subject_result& r) {
  std::set<std::string> out;
  for (const auto& f : r.transfers) out.insert(f.transfer.id);
  return out;
}

}  // namespace subject_access_test

TEST_CASE("a subject search finds the agency's transfers and calls that mention the person",
          "[component][subject]") {
  using namespace subject_access_test;
  test::engine_rig r;
  auto send = [&](const std::string& id, const std::string& from, const std::string& to,
                  const std::string& summary) {
    auto d = test::rtc_request(id, from, to);
    d["body"]["summary"] = summary;
    return r.receipt(d)["transfer_id"].get<std::string>();
  };
  // Police is a party to the first three; the fourth is Fire's and the ambulance service's.
  auto named = send("essex-fire:s-1", "essex-fire", "essex-police",
                    "Caller Jane Doe reports RTC, driver trapped");
  auto by_phone = send("essex-fire:s-2", "essex-fire", "essex-police",
                       "Witness on +44 (0)7700-900123 saw the car leave");
  auto other = send("essex-fire:s-3", "essex-fire", "essex-police", "Caller John Roe, 1 High St");
  auto not_ours =
      send("essex-fire:s-4", "essex-fire", "eeast-ambulance", "Casualty DOE, Jane, conscious");
  // Police's answer names her in its free text: found through the timeline's message.
  r.receipt(test::follow_up("essex-police:s-3d", "transfer.decline", "essex-police", other,
                            {{"reason", "other"}, {"text", "Jane Doe already known to us"}}));
  call_record call;
  call.source = "console";
  call.agency = "essex-police";
  call.from_agency = "essex-police";
  call.to_agency = "essex-fire";
  call.started_at = r.clock.now();
  call.reason = "rtc";
  call.logged_by = "police.kim";
  call.note = "Fire asked whether jane doe was the driver";
  const auto call_id = r.logged(call);

  subject_query q;
  q.agency = "essex-police";
  q.terms = {term_of("name", "Jane Doe"), term_of("phone", "07700 900123")};
  q.until = r.clock.now() + std::chrono::seconds(1);
  q.since = q.until - std::chrono::hours(24);
  std::vector<subject_progress> progress;
  auto res = search_subject(*r.rd, q, [&](const subject_progress& p) { progress.push_back(p); });
  CHECK(ids_of(res) == std::set<std::string>{named, by_phone, other});
  CHECK(ids_of(res).count(not_ours) == 0);
  CHECK(res.read.transfers_read == 3);
  CHECK_FALSE(res.truncated);
  CHECK_FALSE(progress.empty());
  for (const auto& f : res.transfers) {
    REQUIRE_FALSE(f.places.empty());
    if (f.transfer.id == by_phone) {
      CHECK(f.places[0].hit.kind == subject_term_kind::phone);
      CHECK(f.places[0].hit.pointer == "/body/summary");
      CHECK(f.places[0].source.rfind("message essex-fire:s-2", 0) == 0);
    }
    if (f.transfer.id == other)
      CHECK(f.places[0].source.rfind("message essex-police:s-3d", 0) == 0);
  }
  REQUIRE(res.calls.size() == 1);
  CHECK(res.calls[0].call.id == call_id);
  CHECK(res.calls[0].places[0].source == "note");

  // Fire's search finds what Fire is a party to, the ambulance transfer included.
  q.agency = "essex-fire";
  CHECK(ids_of(search_subject(*r.rd, q)) ==
        std::set<std::string>{named, by_phone, other, not_ours});
  // Outside the period: nothing.
  q.until = q.since;
  q.since = q.until - std::chrono::hours(24);
  auto before = search_subject(*r.rd, q);
  CHECK(before.transfers.empty());
  CHECK(before.calls.empty());

  // A page at a time: more transfers than a page, all walked.
  q.since = r.clock.now() - std::chrono::hours(1);
  q.until = r.clock.now() + std::chrono::seconds(1);
  for (int i = 0; i < subject_page + 5; ++i)
    send("essex-fire:bulk-" + std::to_string(i), "essex-fire", "eeast-ambulance",
         i == subject_page + 2 ? "Jane Doe again" : "Nobody named");
  q.agency = "eeast-ambulance";
  auto paged = search_subject(*r.rd, q);
  CHECK(paged.read.transfers_read == subject_page + 5 + 1);
  CHECK(paged.transfers.size() == 2);  // not_ours and the one bulk transfer naming her
}

TEST_CASE("a subject query takes the officer's own agency and a bounded period",
          "[component][subject]") {
  gateway_config cfg = test::essex_config();
  const time_point now = *parse_rfc3339("2026-12-07T12:00:00Z");
  auto terms = json::array({{{"kind", "name"}, {"value", "Jane Doe"}}});
  auto ok = subject_query_from({{"terms", terms}}, "essex-police", cfg, now);
  REQUIRE(std::holds_alternative<subject_query>(ok));
  const auto& q = std::get<subject_query>(ok);
  CHECK(q.agency == "essex-police");
  CHECK(q.until == now);
  CHECK(q.until - q.since == std::chrono::hours(24 * 366));
  auto code = [&](const json& body, const std::string& own) {
    auto r = subject_query_from(body, own, cfg, now);
    auto* e = std::get_if<error>(&r);
    return e ? std::string(e->id()) + " " + e->pointer : std::string("ok");
  };
  CHECK(code({{"terms", terms}, {"agency", "essex-fire"}}, "essex-police") ==
        "bl.auth.forbidden_role /agency");
  CHECK(code({{"terms", terms}}, "") == "bl.request.bad_parameter /agency");
  CHECK(code({{"terms", terms}, {"agency", "kent-fire"}}, "") ==
        "bl.request.bad_parameter /agency");
  CHECK(code({{"terms", terms}, {"agency", "essex-fire"}}, "") == "ok");
  CHECK(code({{"terms", json::array({{{"kind", "phone"}, {"value", "12"}}})}}, "essex-police") ==
        "bl.request.bad_parameter /terms/0");
  CHECK(code({{"terms", terms}, {"since", "2015-01-01T00:00:00Z"}}, "essex-police") ==
        "bl.request.bad_parameter /since");
  CHECK(code({{"terms", terms}, {"since", "2026-12-08T00:00:00Z"}}, "essex-police") ==
        "bl.request.bad_parameter /since");
  CHECK(code({{"terms", terms}, {"until", "yesterday"}}, "essex-police") ==
        "bl.request.bad_parameter /until");
}
