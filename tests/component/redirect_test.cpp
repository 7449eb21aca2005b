// Redirecting a pending transfer to the recipient's fallback (buddy) room, through the engine into
// a real store (SQLite, and PostgreSQL as component:redirect_test@postgres): both halves in one
// transaction, linked both ways, audited, idempotent, and refused with specific codes.

#include <catch2/catch.hpp>

#include <future>

#include "gateway/service/engine.hpp"
#include "gateway/store/reader.hpp"
#include "tests/support/engine_rig.hpp"

using namespace bl;
using nlohmann::json;

namespace {

/// The Essex rig with Kent Police as Essex Police's buddy room.
struct buddy_rig : test::engine_rig {
  buddy_rig() {
    agency_config kent;
    kent.id = "kent-police";
    kent.name = "Kent Police";
    kent.kind = agency_kind::police;
    kent.phone = "01632 960004";
    cfg.agencies.push_back(kent);
    for (auto& a : cfg.agencies)
      if (a.id == "essex-police") {
        a.fallback_agency = "kent-police";
        a.fallback_note = "Kent takes Essex's calls while Essex control is evacuated";
      }
    restart();  // the engine reads the config it was started with
  }
  std::variant<redirect_result, error> redirect(const std::string& transfer_id,
                                                const std::string& agency = "essex-fire",
                                                const std::string& reason = "") {
    std::promise<std::variant<redirect_result, error>> p;
    eng->redirect({transfer_id, agency, "fire.kim", "console", reason},
                  [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  redirect_result redirected(const std::string& transfer_id, const std::string& reason = "") {
    auto r = redirect(transfer_id, "essex-fire", reason);
    if (auto* e = std::get_if<error>(&r)) FAIL("refused: " << e->id() << " " << e->message);
    return std::get<redirect_result>(r);
  }
  std::vector<std::int64_t> counts() {
    return {count("SELECT count(*) FROM messages"), count("SELECT count(*) FROM transfers"),
            count("SELECT count(*) FROM deliveries"), count("SELECT count(*) FROM transfer_events"),
            count("SELECT count(*) FROM audit")};
  }
};

json find_event(const json& detail, const std::string& kind) {
  for (const auto& e : detail["timeline"])
    if (e["kind"] == kind) return e;
  return nullptr;
}

std::string refusal(const std::variant<redirect_result, error>& r) {
  if (auto* e = std::get_if<error>(&r)) return std::string(e->id());
  return "accepted";
}

}  // namespace

TEST_CASE(
    "a redirected transfer is withdrawn from its recipient and sent to the buddy room, linked "
    "both ways and audited",
    "[component][redirect]") {
  buddy_rig r;
  auto tid = r.request("essex-fire:rd-1");
  auto got = r.redirected(tid, "Essex Police control evacuated");
  CHECK(got.transfer_id == tid);
  CHECK(got.to == "kent-police");
  CHECK_FALSE(got.already);
  REQUIRE(got.new_transfer_id != tid);

  auto old_detail = r.detail(tid);
  CHECK(old_detail["state"] == "redirected");
  auto withdrawn = find_event(old_detail, "transfer.cancel");
  REQUIRE(withdrawn.is_object());
  CHECK(withdrawn["to_state"] == "redirected");
  CHECK(withdrawn["detail"]["redirected_to"]["transfer_id"] == got.new_transfer_id);
  CHECK(withdrawn["detail"]["redirected_to"]["agency"] == "kent-police");
  CHECK(withdrawn["detail"]["redirect_reason"] == "Essex Police control evacuated");
  CHECK(withdrawn["detail"]["user"] == "fire.kim");

  auto new_detail = r.detail(got.new_transfer_id);
  CHECK(new_detail["state"] == "submitted");
  CHECK(new_detail["to"] == "kent-police");
  CHECK(new_detail["from"] == "essex-fire");
  CHECK(new_detail["category"] == old_detail["category"]);
  auto sent = find_event(new_detail, "transfer.request");
  REQUIRE(sent.is_object());
  CHECK(sent["detail"]["redirected_from"]["transfer_id"] == tid);
  CHECK(sent["detail"]["redirected_from"]["agency"] == "essex-police");

  // The old recipient, if it comes back, finds the request followed by its withdrawal saying
  // where it went; the buddy gets the same request as a transfer of its own.
  auto police = r.rd->inbox("essex-police", 0, 10);
  REQUIRE(police.size() == 2);
  auto cancel = json::parse(police[1].doc);
  CHECK(cancel["type"] == "transfer.cancel");
  CHECK(cancel["from"] == "essex-fire");
  CHECK(cancel["transfer_id"] == tid);
  CHECK(cancel["body"]["reason"].get<std::string>().find("Redirected to Kent Police (" +
                                                         got.new_transfer_id + ")") == 0);
  auto kent = r.rd->inbox("kent-police", 0, 10);
  REQUIRE(kent.size() == 1);
  auto copy = json::parse(kent[0].doc);
  auto original = json::parse(police[0].doc);
  CHECK(copy["type"] == "transfer.request");
  CHECK(copy["transfer_id"] == got.new_transfer_id);
  CHECK(copy["to"] == json::array({"kent-police"}));
  CHECK(copy["body"] == original["body"]);

  auto audited = [&](const json& detail, const std::string& action) {
    for (const auto& a : detail["audit"])
      if (a["action"] == action) return a;
    return json();
  };
  auto row = audited(old_detail, "transfer.redirected");
  REQUIRE(row.is_object());
  CHECK(row["actor"] == "essex-fire");
  CHECK(row["detail"]["by"] == "fire.kim");
  CHECK(row["detail"]["reason"] == "Essex Police control evacuated");
  CHECK(row["detail"]["new_transfer_id"] == got.new_transfer_id);
  CHECK(audited(new_detail, "transfer.redirected_from").is_object());

  SECTION("the old recipient can no longer act on it") {
    auto late =
        r.submit(test::follow_up("essex-police:late-accept", "transfer.accept", "essex-police", tid,
                                 {{"receiver_incident", {{"number", "EP-1"}}}}));
    REQUIRE(std::holds_alternative<error>(late));
    CHECK(std::get<error>(late).id() == "bl.transfer.illegal_transition");
  }
}

TEST_CASE("the same redirect twice makes one new transfer and stores nothing more",
          "[component][redirect][dedupe]") {
  buddy_rig r;
  auto tid = r.request("essex-fire:rd-2");
  auto first = r.redirected(tid);
  auto before = r.counts();
  auto again = r.redirected(tid);
  CHECK(again.already);
  CHECK(again.new_transfer_id == first.new_transfer_id);
  CHECK(again.to == "kent-police");
  CHECK(r.counts() == before);
  SECTION("and after a restart too") {
    r.restart();
    CHECK(r.redirected(tid).new_transfer_id == first.new_transfer_id);
    CHECK(r.counts() == before);
  }
}

TEST_CASE("two redirects of one transfer queued together make one new transfer",
          "[component][redirect][dedupe]") {
  buddy_rig r;
  auto tid = r.request("essex-fire:rd-3");
  std::promise<std::variant<redirect_result, error>> a, b;
  r.eng->redirect({tid, "essex-fire", "fire.kim", "console", ""},
                  [&](auto x) { a.set_value(std::move(x)); });
  r.eng->redirect({tid, "essex-fire", "fire.sam", "api", ""},
                  [&](auto x) { b.set_value(std::move(x)); });
  auto ra = a.get_future().get();
  auto rb = b.get_future().get();
  REQUIRE(std::holds_alternative<redirect_result>(ra));
  REQUIRE(std::holds_alternative<redirect_result>(rb));
  CHECK(std::get<redirect_result>(ra).new_transfer_id ==
        std::get<redirect_result>(rb).new_transfer_id);
  CHECK(std::get<redirect_result>(ra).already != std::get<redirect_result>(rb).already);
  CHECK(r.count("SELECT count(*) FROM transfers WHERE responder = 'kent-police'") == 1);
}

TEST_CASE("a redirect is refused with a specific code and changes nothing",
          "[component][redirect][refusals]") {
  buddy_rig r;
  auto tid = r.request("essex-fire:rd-4");
  auto before = r.counts();
  SECTION("an unknown transfer") {
    CHECK(refusal(r.redirect("T-20261121-999999")) == "bl.transfer.not_found");
  }
  SECTION("a transfer between two other agencies looks the same as none") {
    CHECK(refusal(r.redirect(tid, "eeast-ambulance")) == "bl.transfer.not_found");
  }
  SECTION("by the recipient, who is not its sender") {
    CHECK(refusal(r.redirect(tid, "essex-police")) == "bl.transfer.not_sender");
  }
  SECTION("once the recipient has accepted it") {
    r.receipt(test::follow_up("essex-police:acc-4", "transfer.accept", "essex-police", tid,
                              {{"receiver_incident", {{"number", "EP-4"}}}}));
    before = r.counts();
    CHECK(refusal(r.redirect(tid)) == "bl.transfer.not_pending");
  }
  SECTION("once the sender has cancelled it") {
    r.receipt(test::follow_up("essex-fire:can-4", "transfer.cancel", "essex-fire", tid,
                              {{"reason", "Casualty located"}}));
    before = r.counts();
    CHECK(refusal(r.redirect(tid)) == "bl.transfer.not_pending");
  }
  SECTION("to a recipient with no fallback room") {
    auto amb = r.receipt(test::rtc_request("essex-fire:rd-amb", "essex-fire", "eeast-ambulance",
                                           "ambulance.casualty_care"))["transfer_id"]
                   .get<std::string>();
    before = r.counts();
    CHECK(refusal(r.redirect(amb)) == "bl.transfer.no_fallback");
  }
  CHECK(r.counts() == before);
  CHECK(r.detail(tid)["state"] != "redirected");
}
