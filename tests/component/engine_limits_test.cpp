// The per-agency submission rate and inbox quota (issue 12): a partner that floods another
// agency's inbox is refused with 429 codes, nothing of the refused messages is stored, the flood
// is audited once rather than per message, and every other agency carries on.

#include <catch2/catch.hpp>

#include "tests/support/engine_rig.hpp"

using namespace bl;
using nlohmann::json;

namespace {
using rig = test::engine_rig;

std::string code_of(const std::variant<receipt_result, error>& r) {
  if (auto* e = std::get_if<error>(&r)) return std::string(e->id());
  return "ok";
}
}  // namespace

TEST_CASE("an agency past its submission rate is refused and the flood is audited once",
          "[component][engine][rate]") {
  rig r;
  r.cfg.edge.agency_submissions_per_second = 1;
  r.cfg.edge.agency_submission_burst = 3;
  r.restart();
  for (int i = 0; i < 3; ++i) r.request("essex-fire:burst-" + std::to_string(i));
  for (int i = 0; i < 20; ++i) {
    auto refused = r.submit(test::rtc_request("essex-fire:flood-" + std::to_string(i)));
    REQUIRE(code_of(refused) == "bl.rate.submissions");
    CHECK_THAT(std::get<error>(refused).message, Catch::Contains("with the same message id"));
  }
  // Police is not held up by Fire's flood.
  r.receipt(
      test::rtc_request("essex-police:own", "essex-police", "essex-fire", "fire.forced_entry"));
  CHECK(r.count("SELECT count(*) FROM messages WHERE id LIKE 'essex-fire:flood-%'") == 0);
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'rate.limited'") == 1);
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'rate.limited' AND detail LIKE"
                " '%\"first_message_id\":\"essex-fire:flood-0\"%'") == 1);
  CHECK(r.stats.render({}).find("bl.rate.submissions") != std::string::npos);
}

TEST_CASE(
    "a sender past its quota of undelivered messages in one inbox is refused until they "
    "are acknowledged",
    "[component][engine][rate]") {
  rig r;
  r.cfg.edge.inbox_quota = 3;
  r.restart();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(r.request("essex-fire:q-" + std::to_string(i)));
  auto full = r.submit(test::rtc_request("essex-fire:q-3"));
  REQUIRE(code_of(full) == "bl.rate.inbox_full");
  CHECK_THAT(std::get<error>(full).message, Catch::Contains("phone them"));
  CHECK(code_of(r.submit(test::rtc_request("essex-fire:q-4"))) == "bl.rate.inbox_full");
  CHECK(r.count("SELECT count(*) FROM messages WHERE id IN ('essex-fire:q-3','essex-fire:q-4')") ==
        0);
  // Refused twice, audited once.
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'rate.inbox_full'") == 1);

  SECTION("other senders to the same inbox, and the same sender elsewhere, carry on") {
    r.receipt(test::rtc_request("eeast-ambulance:q", "eeast-ambulance", "essex-police"));
    r.receipt(test::rtc_request("essex-fire:amb", "essex-fire", "eeast-ambulance",
                                "ambulance.casualty_care"));
  }
  SECTION("the receiver's answers are never held back by the quota") {
    r.receipt(test::follow_up("essex-police:recv", "transfer.received", "essex-police", ids[0],
                              json::object()));
  }
  SECTION("an acknowledgement makes room again, and the end of the episode is audited") {
    REQUIRE(std::holds_alternative<ack_result>(r.ack("essex-police", 3)));
    r.receipt(test::rtc_request("essex-fire:q-3"));
    CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'rate.inbox_below_quota'") == 1);
  }
  SECTION("a repeat of a message stored before the quota was reached still gets its receipt") {
    auto again = r.submit(test::rtc_request("essex-fire:q-0"));
    REQUIRE(std::holds_alternative<receipt_result>(again));
    CHECK(std::get<receipt_result>(again).duplicate);
  }
  SECTION("the count survives a restart") {
    r.restart();
    CHECK(code_of(r.submit(test::rtc_request("essex-fire:q-5"))) == "bl.rate.inbox_full");
  }
}
