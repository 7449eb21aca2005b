// Claims on phone prompts ("I'm calling them") through the engine into a real SQLite file:
// only a party may claim, the first claim on a prompt stands, and a new claim is in the
// transfer's timeline and the audit log.

#include <catch2/catch.hpp>

#include "gateway/service/engine.hpp"
#include "gateway/store/reader.hpp"
#include "tests/support/engine_rig.hpp"

using namespace bl;
using nlohmann::json;

namespace {
using rig = test::engine_rig;

phone_claim kim_claims(const std::string& transfer_id,
                       const std::string& prompt = "decision_overdue") {
  phone_claim c;
  c.transfer_id = transfer_id;
  c.agency = "essex-fire";
  c.prompt = prompt;
  c.username = "fire.kim";
  c.display_name = "Kim Hall";
  return c;
}

json events_of(const json& detail, const std::string& kind) {
  json out = json::array();
  for (const auto& e : detail["timeline"])
    if (e["kind"] == kind) out.push_back(e);
  return out;
}
}  // namespace

TEST_CASE("a claim on a phone prompt is stored, in the timeline for both parties and audited",
          "[component][claims]") {
  rig r;
  auto tid = r.request("essex-fire:claim-1");
  auto got = r.claim(kim_claims(tid));
  REQUIRE(std::holds_alternative<claim_result>(got));
  const auto& c = std::get<claim_result>(got);
  CHECK_FALSE(c.already);
  CHECK(c.claim.username == "fire.kim");
  CHECK(c.claim.counterpart == "essex-police");
  CHECK(c.claim.claimed_at == *parse_rfc3339("2026-11-21T14:02:12Z"));  // the engine's clock

  for (const char* agency : {"essex-fire", "essex-police"}) {
    auto claims = events_of(r.detail(tid, agency), "phone_claim");
    REQUIRE(claims.size() == 1);
    CHECK(claims[0]["actor"] == "essex-fire");
    CHECK(claims[0]["detail"]["prompt"] == "decision_overdue");
    CHECK(claims[0]["detail"]["by"] == "fire.kim");
    CHECK(claims[0]["detail"]["user"] == "Kim Hall");
    CHECK(claims[0]["detail"]["calling"] == "essex-police");
    CHECK(claims[0]["detail"]["text"].get<std::string>().rfind("Kim Hall is phoning ", 0) == 0);
  }
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'phone.claimed' AND actor = "
                "'essex-fire' AND transfer_id = '" +
                tid + "'") == 1);
  CHECK(r.detail(tid)["version"] == 1);  // a claim changes nothing about the transfer itself
  CHECK(r.rd->verify_audit().ok);

  SECTION("and is still there after a restart") {
    r.restart();
    auto again = r.claim(kim_claims(tid));
    REQUIRE(std::holds_alternative<claim_result>(again));
    CHECK(std::get<claim_result>(again).already);
  }
}

TEST_CASE("claiming a prompt twice answers with the first claim and records nothing more",
          "[component][claims]") {
  rig r;
  auto tid = r.request("essex-fire:claim-2");
  REQUIRE(std::holds_alternative<claim_result>(r.claim(kim_claims(tid))));
  r.clock.advance(std::chrono::seconds(30));

  SECTION("the same operator again") {
    auto again = r.claim(kim_claims(tid));
    REQUIRE(std::holds_alternative<claim_result>(again));
    CHECK(std::get<claim_result>(again).already);
    CHECK(std::get<claim_result>(again).claim.claimed_at == *parse_rfc3339("2026-11-21T14:02:12Z"));
  }
  SECTION("a colleague in the same room is told who is already calling") {
    auto sam = kim_claims(tid);
    sam.username = "fire.sam";
    sam.display_name = "Sam Lee";
    auto again = r.claim(sam);
    REQUIRE(std::holds_alternative<claim_result>(again));
    CHECK(std::get<claim_result>(again).already);
    CHECK(std::get<claim_result>(again).claim.username == "fire.kim");
    CHECK(std::get<claim_result>(again).claim.display_name == "Kim Hall");
  }
  CHECK(events_of(r.detail(tid), "phone_claim").size() == 1);
  CHECK(r.count("SELECT count(*) FROM phone_claims") == 1);
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'phone.claimed'") == 1);

  SECTION("a different prompt on the same transfer is a new claim") {
    auto expired = r.claim(kim_claims(tid, "expired"));
    REQUIRE(std::holds_alternative<claim_result>(expired));
    CHECK_FALSE(std::get<claim_result>(expired).already);
    CHECK(r.count("SELECT count(*) FROM phone_claims") == 2);
  }
}

TEST_CASE("only an agency party to the transfer may claim its prompt", "[component][claims]") {
  rig r;
  auto tid = r.request("essex-fire:claim-3");
  auto ambulance = kim_claims(tid);
  ambulance.agency = "eeast-ambulance";
  ambulance.username = "amb.op1";
  auto refused = r.claim(ambulance);
  REQUIRE(std::holds_alternative<error>(refused));
  // The same answer as for no transfer at all, so ids cannot be probed.
  CHECK(std::get<error>(refused).code == errc::transfer_not_found);
  CHECK(std::get<error>(refused).pointer == "/transfer_id");

  auto missing = r.claim(kim_claims("T-20261121-999999"));
  REQUIRE(std::holds_alternative<error>(missing));
  CHECK(std::get<error>(missing).code == errc::transfer_not_found);

  CHECK(r.count("SELECT count(*) FROM phone_claims") == 0);
  CHECK(events_of(r.detail(tid), "phone_claim").empty());
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'phone.claimed'") == 0);

  SECTION("the receiving agency may claim its own prompt about the same transfer") {
    auto police = kim_claims(tid);
    police.agency = "essex-police";
    police.username = "police.op1";
    auto ok = r.claim(police);
    REQUIRE(std::holds_alternative<claim_result>(ok));
    CHECK(std::get<claim_result>(ok).claim.counterpart == "essex-fire");
  }
}
