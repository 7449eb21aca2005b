// Retention (issue 18, docs/data-protection.md) through the engine into a real store (SQLite, and
// PostgreSQL as component:retention_test@postgres): a purge removes the personal content of what
// is past its period and leaves tombstones, every savings-report figure stays the same, the audit
// chain still verifies, a legal hold keeps a transfer until it is lifted, and the purge and the
// hold are logged.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gateway/service/engine.hpp"
#include "gateway/service/purge_scheduler.hpp"
#include "gateway/service/retention.hpp"
#include "gateway/service/savings.hpp"
#include "gateway/store/report_store.hpp"
#include "tests/support/engine_rig.hpp"

using namespace bl;
using nlohmann::json;

namespace retention_test {

/// The Essex rig keeping transfers and calls for 30 days (Fire) and 60 days (Police).
struct retention_rig : test::engine_rig {
  retention_rig() {
    cfg.retention.defaults.transfers_days = 30;
    cfg.retention.defaults.calls_days = 30;
    for (auto& a : cfg.agencies)
      if (a.id == "essex-police") a.retention.transfers_days = 60;
    cfg.savings.go_live = "2026-10-01";
    restart();
  }
  /// A request carrying a caller's name, number and address (personal data).
  std::string personal_request(const std::string& id) {
    auto doc = test::rtc_request(id);
    doc["body"]["summary"] = "Caller Jane Doe on 07700 900123 reports RTC, driver trapped";
    return receipt(doc)["transfer_id"].get<std::string>();
  }
  std::optional<error> task(task_fn fn) {
    std::promise<std::optional<error>> p;
    eng->run_task(std::move(fn), [&](std::optional<error> e) { p.set_value(std::move(e)); });
    return p.get_future().get();
  }
  std::variant<store::legal_hold, error> hold(const std::string& transfer, bool place,
                                              const std::string& agency = "essex-police") {
    std::variant<store::legal_hold, error> out = error{};
    auto failed = task([&](store::writer& w, time_point now) {
      hold_change c{transfer, agency, "police.sup", place ? "Coroner's inquest 2026/114" : "Done"};
      out = place ? place_legal_hold(w, c, now) : lift_legal_hold(w, c, now);
    });
    REQUIRE_FALSE(failed);
    return out;
  }
  purge_pass_report purge() {
    purge_scheduler p(
        cfg, *eng, *rd, clock,
        std::make_shared<spdlog::logger>("purge", std::make_shared<spdlog::sinks::null_sink_mt>()));
    return p.run_once();
  }
  std::string savings() {
    auto reports = store::open_report_store(options());
    auto j = to_json(compute_savings(cfg, *reports, *year_month::parse("2026-09"),
                                     *year_month::parse("2027-03")));
    j.erase("generated_at");  // when it was computed: every figure else must match
    return j.dump();
  }
  std::vector<std::string> texts(const std::string& sql, const std::string& arg) {
    std::vector<std::string> out;
    for (const auto& row : store.query_rows(sql, {arg})) out.push_back(row.empty() ? "" : row[0]);
    return out;
  }
};

bool mentions(const std::vector<std::string>& texts, const std::string& needle) {
  for (const auto& t : texts)
    if (t.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace retention_test

TEST_CASE(
    "a purge removes personal content past its period, keeps tombstones and every report figure, "
    "and the audit chain still verifies",
    "[component][retention]") {
  using namespace retention_test;
  retention_rig r;
  // Fire asks the ambulance service (30 days each), and Police (60 days for Police).
  auto to_amb = r.receipt([] {
                   auto d = test::rtc_request("essex-fire:ret-1", "essex-fire", "eeast-ambulance");
                   d["body"]["summary"] =
                       "Caller Jane Doe on 07700 900123 reports RTC, driver trapped";
                   return d;
                 }())["transfer_id"]
                    .get<std::string>();
  auto to_police = r.personal_request("essex-fire:ret-2");
  auto held = r.receipt([] {
                 auto d = test::rtc_request("essex-fire:ret-3", "essex-fire", "eeast-ambulance");
                 d["body"]["summary"] = "Caller John Roe, 1 High Street, Chelmsford";
                 return d;
               }())["transfer_id"]
                  .get<std::string>();
  // A decline with free text, a phone claim with names, a call with a note about the transfer,
  // and a rejected message whose reason is filed under it.
  r.receipt(test::follow_up("eeast-ambulance:ret-1d", "transfer.decline", "eeast-ambulance", to_amb,
                            {{"reason", "no_resources"}, {"text", "Crews committed; ask Jane"}}));
  // The other two answered too: a pending transfer would expire when the clock moves on, which
  // is activity (its last activity would move to then, and its period with it).
  r.receipt(test::follow_up("essex-police:ret-2d", "transfer.decline", "essex-police", to_police,
                            {{"reason", "other"}, {"text", "Not ours"}}));
  r.receipt(test::follow_up("eeast-ambulance:ret-3d", "transfer.decline", "eeast-ambulance", held,
                            {{"reason", "other"}, {"text", "Not ours"}}));
  phone_claim claim{to_amb, "essex-fire", "decision_overdue", "fire.kim", "Kim Hall", "", {}};
  REQUIRE(std::holds_alternative<claim_result>(r.claim(claim)));
  call_record call;
  call.source = "console";
  call.agency = "essex-fire";
  call.from_agency = "essex-fire";
  call.to_agency = "eeast-ambulance";
  call.started_at = r.clock.now();
  call.reason = "rtc";
  call.transfer_id = to_amb;
  call.logged_by = "fire.kim";
  call.note = "Spoke to Jane Doe's sister";
  const auto call_id = r.logged(call);
  auto late =
      r.submit(test::follow_up("eeast-ambulance:ret-1x", "transfer.accept", "eeast-ambulance",
                               to_amb, {{"receiver_incident", {{"number", "A-1"}}}}));
  REQUIRE(std::holds_alternative<error>(late));

  const auto transfers_before = r.count("SELECT count(*) FROM transfers");
  const auto messages_before = r.count("SELECT count(*) FROM messages");
  const auto events_before = r.count("SELECT count(*) FROM transfer_events");

  // Nothing is due yet.
  auto first = r.purge();
  CHECK(first.transfers_due == 0);
  CHECK(first.calls_due == 0);

  // A legal hold on the third, by Police? Not a party: refused as no such transfer.
  auto not_party = r.hold(held, true, "essex-police");
  REQUIRE(std::holds_alternative<error>(not_party));
  CHECK(std::get<error>(not_party).code == errc::transfer_not_found);
  auto placed = r.hold(held, true, "essex-fire");
  REQUIRE(std::holds_alternative<store::legal_hold>(placed));
  auto twice = r.hold(held, true, "essex-fire");
  REQUIRE(std::holds_alternative<error>(twice));
  CHECK(std::get<error>(twice).code == errc::hold_exists);

  // 31 days on: past Fire's and the ambulance service's 30, not Police's 60.
  r.advance(std::chrono::hours(24 * 31));
  auto fresh = r.personal_request("essex-fire:ret-4");
  const std::string before = r.savings();
  auto pass = r.purge();
  CHECK(pass.transfers_due == 2);  // to_amb, held (to_police waits for Police's 60 days)
  CHECK(pass.transfers_held == 1);
  CHECK(pass.transfers_purged == 1);
  CHECK(pass.calls_due == 1);
  CHECK(pass.calls_purged == 1);

  auto purged_at = [&](const std::string& id) {
    return r.count("SELECT count(*) FROM transfers WHERE id = $1 AND purged_at IS NOT NULL", {id});
  };
  CHECK(purged_at(to_amb) == 1);
  CHECK(purged_at(held) == 0);
  CHECK(purged_at(to_police) == 0);
  CHECK(purged_at(fresh) == 0);

  // The tombstone: every row stays; the content does not.
  CHECK(r.count("SELECT count(*) FROM transfers") == transfers_before + 1);
  CHECK(r.count("SELECT count(*) FROM messages") == messages_before + 1);
  CHECK(r.count("SELECT count(*) FROM transfer_events") >= events_before + 1);
  auto docs = r.texts("SELECT doc FROM messages WHERE transfer_id = $1", to_amb);
  REQUIRE(docs.size() == 2);
  for (const char* gone : {"Jane", "07700", "CM2 5PF", "trapped", "Crews committed", "A12"}) {
    INFO(gone);
    CHECK_FALSE(mentions(docs, gone));
  }
  auto request_doc =
      json::parse(docs[0].find("transfer.request") != std::string::npos ? docs[0] : docs[1]);
  CHECK(request_doc["body"]["category"] == "police.traffic_management");
  CHECK(request_doc["body"]["priority"] == "emergency");
  CHECK(request_doc["body"]["sender_incident"]["number"] == "F-2611-004512");
  CHECK(request_doc.contains("purged_at"));
  auto events =
      r.texts("SELECT COALESCE(detail, '') FROM transfer_events WHERE transfer_id = $1", to_amb);
  for (const char* gone : {"Jane", "Crews committed", "Kim Hall", "fire.kim"}) {
    INFO(gone);
    CHECK_FALSE(mentions(events, gone));
  }
  CHECK(r.texts("SELECT display_name FROM phone_claims WHERE transfer_id = $1", to_amb) ==
        std::vector<std::string>{""});
  CHECK(r.texts("SELECT COALESCE(note, '') || COALESCE(logged_by, '') FROM calls WHERE id = $1",
                std::to_string(call_id)) == std::vector<std::string>{""});
  // The held and the unexpired keep everything.
  CHECK(mentions(r.texts("SELECT doc FROM messages WHERE transfer_id = $1", held), "John Roe"));
  CHECK(mentions(r.texts("SELECT doc FROM messages WHERE transfer_id = $1", to_police), "Jane"));

  // The audit chain: the details that could name people are erased, naming the purge's row.
  CHECK(r.count("SELECT count(*) FROM audit WHERE transfer_id = $1 AND action = 'phone.claimed'"
                " AND detail = '' AND erased_by IS NOT NULL",
                {to_amb}) == 1);
  CHECK(r.count("SELECT count(*) FROM audit WHERE transfer_id = $1 AND action = 'message.rejected'"
                " AND detail = ''",
                {to_amb}) == 1);
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'retention.purged'") == 2);
  auto verified = r.rd->verify_audit();
  INFO(verified.problem);
  CHECK(verified.ok);
  // Each erasure is in the access log, for each party agency.
  store::access_filter f;
  f.operation = "erase";
  auto erasures = r.rd->access_log(f);
  std::set<std::string> erased_for;
  for (const auto& e : erasures)
    if (e.transfer_id == to_amb) erased_for.insert(e.agency);
  CHECK(erased_for == std::set<std::string>{"essex-fire", "eeast-ambulance"});

  // Every savings-report figure is the same.
  CHECK(r.savings() == before);

  // Again: nothing more (the hold still stands).
  auto again = r.purge();
  CHECK(again.transfers_purged == 0);
  CHECK(again.transfers_held == 1);
  CHECK(purged_at(held) == 0);

  // The hold lifted (logged on the timeline), the next pass takes it; 30 more days take Police's.
  REQUIRE(std::holds_alternative<store::legal_hold>(r.hold(held, false, "essex-fire")));
  auto lifted = r.hold(held, false, "essex-fire");
  REQUIRE(std::holds_alternative<error>(lifted));
  CHECK(std::get<error>(lifted).code == errc::hold_not_found);
  CHECK(r.count("SELECT count(*) FROM transfer_events WHERE transfer_id = $1 AND kind IN"
                " ('legal_hold', 'legal_hold_lifted')",
                {held}) == 2);
  CHECK(r.count("SELECT count(*) FROM audit WHERE transfer_id = $1 AND action IN"
                " ('hold.placed', 'hold.lifted')",
                {held}) == 2);
  CHECK(r.purge().transfers_purged == 1);
  CHECK(purged_at(held) == 1);
  // A hold on what is already purged is refused: there is nothing left to hold.
  auto too_late = r.hold(held, true, "essex-fire");
  REQUIRE(std::holds_alternative<error>(too_late));
  CHECK(std::get<error>(too_late).code == errc::hold_purged);
  CHECK(r.count("SELECT count(*) FROM legal_holds WHERE transfer_id = $1 AND lifted_at IS NULL",
                {held}) == 0);
  r.advance(std::chrono::hours(24 * 30));
  CHECK(r.purge().transfers_purged == 1);  // to_police (Police's 60 days); fresh waits for its own
  CHECK(purged_at(to_police) == 1);
  CHECK(purged_at(fresh) == 0);
  CHECK(r.savings() == before);
  auto finally = r.rd->verify_audit();
  INFO(finally.problem);
  CHECK(finally.ok);

  // A purged transfer's detail says so, and the erased audit details show as null.
  auto detail = r.detail(to_amb);
  for (const auto& a : detail["audit"])
    if (a["action"] == "phone.claimed") CHECK(a["detail"].is_null());
}

TEST_CASE("the audit chain refuses any change but a purge's erasure, and verify finds one faked",
          "[component][retention]") {
  using namespace retention_test;
  retention_rig r;
  auto t = r.personal_request("essex-fire:ret-t");
  const auto seq = r.count("SELECT max(seq) FROM audit WHERE transfer_id = $1", {t});
  // Changing a row's detail other than by emptying it, or emptying it without naming a later row.
  const std::string n = std::to_string(seq);
  CHECK_THROWS(r.store.exec("UPDATE audit SET detail = '{}' WHERE seq = " + n));
  CHECK_THROWS(
      r.store.exec("UPDATE audit SET detail = '', erased_by = " + n + " WHERE seq = " + n));
  CHECK_THROWS(r.store.exec("UPDATE audit SET actor = 'x' WHERE seq = " + n));
  CHECK_THROWS(r.store.exec("DELETE FROM audit WHERE seq = " + n));
  // An erasure the trigger lets through, naming a later row that is not a purge: verify says so.
  r.receipt(test::follow_up("essex-police:ret-t2", "transfer.decline", "essex-police", t,
                            {{"reason", "other"}, {"text", "Not ours"}}));
  const auto later = r.count("SELECT max(seq) FROM audit");
  r.store.exec("UPDATE audit SET detail = '', erased_by = " + std::to_string(later) +
               " WHERE seq = " + n);
  auto rep = r.rd->verify_audit();
  CHECK_FALSE(rep.ok);
  CHECK(rep.first_bad_seq == seq);
  CHECK_THAT(rep.problem, Catch::Contains("erased without a purge"));
}
