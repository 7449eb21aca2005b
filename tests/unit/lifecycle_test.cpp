#include <catch2/catch.hpp>

#include "gateway/core/lifecycle.hpp"
#include "tests/support/sample_messages.hpp"

using namespace bl;
using nlohmann::json;

namespace {
message parse(json doc) {
  auto r = parse_message(std::move(doc));
  REQUIRE(std::holds_alternative<message>(r));
  return std::get<message>(r);
}

const time_point t0 = *parse_rfc3339("2026-11-21T14:02:12Z");

struct fixture {
  gateway_config cfg = test::essex_config();
  transfer requested() {
    auto r = apply_message(std::nullopt, parse(test::rtc_request("essex-fire:r1")), cfg, t0,
                           "T-20261121-000001");
    REQUIRE(std::holds_alternative<outcome>(r));
    return std::get<outcome>(r).after;
  }
  std::variant<outcome, error> send(const transfer& t, const std::string& type,
                                    const std::string& from, json body,
                                    std::optional<std::int64_t> version = std::nullopt,
                                    time_point at = t0 + std::chrono::seconds(30)) {
    auto doc =
        test::follow_up(from + ":m" + std::to_string(++n), type, from, t.id, std::move(body));
    if (version) doc["version"] = *version;
    return apply_message(t, parse(doc), cfg, at, "");
  }
  transfer ok(std::variant<outcome, error> r) {
    if (auto* e = std::get_if<error>(&r)) FAIL("rejected: " << e->id() << " " << e->message);
    return std::get<outcome>(r).after;
  }
  errc code(const std::variant<outcome, error>& r) {
    REQUIRE(std::holds_alternative<error>(r));
    return std::get<error>(r).code;
  }
  int n = 0;
};

const json accept_body = {{"receiver_incident", {{"number", "ESX-20261121-0457"}}}};
const json decline_body = {{"reason", "not_our_remit"}, {"text", "Fire to lead; no crime"}};
}  // namespace

TEST_CASE("a request creates a submitted transfer at version 1 routed to its recipient",
          "[unit][lifecycle]") {
  fixture f;
  auto t = f.requested();
  CHECK(t.state == transfer_state::submitted);
  CHECK(t.version == 1);
  CHECK(t.requester == "essex-fire");
  CHECK(t.responder == "essex-police");
  CHECK(t.requester_incident == "F-2611-004512");
  CHECK(t.delivery_due == t0 + std::chrono::seconds(60));
  CHECK(t.decision_due == t0 + std::chrono::seconds(180));
  CHECK(t.expires_at == t0 + std::chrono::seconds(900));
}

TEST_CASE("a transfer walks submitted, delivered, received, accepted, updated and closed",
          "[unit][lifecycle]") {
  fixture f;
  auto t = f.requested();
  REQUIRE(mark_delivered(t, t0));
  CHECK(t.state == transfer_state::delivered);
  CHECK_FALSE(mark_delivered(t, t0));
  t = f.ok(f.send(t, "transfer.received", "essex-police", json::object()));
  CHECK(t.state == transfer_state::received);
  t = f.ok(f.send(t, "transfer.accept", "essex-police", accept_body, 3));
  CHECK(t.state == transfer_state::accepted);
  CHECK(t.responder_incident == "ESX-20261121-0457");
  t = f.ok(f.send(t, "transfer.update", "essex-fire", {{"text", "Fuel leak contained"}}, 4));
  CHECK(t.state == transfer_state::accepted);
  CHECK(t.version == 4);
  t = f.ok(f.send(t, "transfer.close", "essex-police", {{"outcome", "resolved"}}));
  CHECK(t.state == transfer_state::closed);
  CHECK(t.version == 5);
  CHECK(is_terminal(t.state));
}

TEST_CASE("the routing goes to the other party", "[unit][lifecycle][routing]") {
  fixture f;
  auto t = f.requested();
  auto r = f.send(t, "transfer.accept", "essex-police", accept_body);
  REQUIRE(std::holds_alternative<outcome>(r));
  CHECK(std::get<outcome>(r).recipient == "essex-fire");
  auto u = f.send(t, "transfer.update", "essex-fire", {{"text", "More detail"}}, 2);
  REQUIRE(std::holds_alternative<outcome>(u));
  CHECK(std::get<outcome>(u).recipient == "essex-police");
}

TEST_CASE("the receiving agency may post an update, which goes to the requester",
          "[unit][lifecycle][routing]") {
  fixture f;
  auto t = f.requested();
  t = f.ok(f.send(t, "transfer.accept", "essex-police", accept_body, 2));
  auto u = f.send(t, "transfer.update", "essex-police", {{"text", "Road now closed at J17"}}, 3);
  REQUIRE(std::holds_alternative<outcome>(u));
  CHECK(std::get<outcome>(u).recipient == "essex-fire");
  CHECK(std::get<outcome>(u).after.state == transfer_state::accepted);
  CHECK(std::get<outcome>(u).after.version == 3);
}

TEST_CASE("illegal transitions are rejected with specific codes", "[unit][lifecycle]") {
  fixture f;
  auto t = f.requested();
  SECTION("closing before acceptance") {
    CHECK(f.code(f.send(t, "transfer.close", "essex-fire", {{"outcome", "resolved"}})) ==
          errc::illegal_transition);
  }
  SECTION("the requester cannot accept its own request") {
    CHECK(f.code(f.send(t, "transfer.accept", "essex-fire", accept_body)) ==
          errc::illegal_transition);
  }
  SECTION("the receiver cannot cancel") {
    CHECK(f.code(f.send(t, "transfer.cancel", "essex-police", {{"reason", "x"}})) ==
          errc::illegal_transition);
  }
  SECTION("nothing follows a decline") {
    t = f.ok(f.send(t, "transfer.decline", "essex-police", decline_body));
    CHECK(t.state == transfer_state::declined);
    CHECK(f.code(f.send(t, "transfer.accept", "essex-police", accept_body)) ==
          errc::illegal_transition);
    CHECK(f.code(f.send(t, "transfer.update", "essex-fire", {{"text", "x"}}, 3)) ==
          errc::illegal_transition);
  }
  SECTION("a third agency is told only that there is no such transfer") {
    CHECK(f.code(f.send(t, "transfer.received", "eeast-ambulance", json::object())) ==
          errc::transfer_not_found);
  }
  SECTION("a transfer that does not exist") {
    auto doc = test::follow_up("essex-police:x", "transfer.received", "essex-police",
                               "T-20261121-000999", json::object());
    auto r = apply_message(std::nullopt, parse(doc), f.cfg, t0, "");
    CHECK(f.code(r) == errc::transfer_not_found);
  }
}

TEST_CASE("stale versions are rejected and the expected version is named", "[unit][lifecycle]") {
  fixture f;
  auto t = f.requested();
  t = f.ok(f.send(t, "transfer.update", "essex-fire", {{"text", "first"}}, 2));
  auto r = f.send(t, "transfer.update", "essex-police", {{"text", "raced"}}, 2);
  REQUIRE(f.code(r) == errc::stale_version);
  CHECK(std::get<error>(r).message.find("must carry version 3") != std::string::npos);
  CHECK(std::get<error>(r).pointer == "/version");
}

TEST_CASE("requests to unknown or own agencies are refused", "[unit][lifecycle][routing]") {
  fixture f;
  auto unknown = apply_message(
      std::nullopt, parse(test::rtc_request("essex-fire:u", "essex-fire", "kent-police")), f.cfg,
      t0, "T-20261121-000002");
  CHECK(f.code(unknown) == errc::unknown_agency);
  CHECK(std::get<error>(unknown).pointer == "/to/0");
  auto self = apply_message(std::nullopt,
                            parse(test::rtc_request("essex-fire:s", "essex-fire", "essex-fire")),
                            f.cfg, t0, "T-20261121-000003");
  CHECK(f.code(self) == errc::self_addressed);
  auto receipt = test::follow_up(
      "essex-fire:rc", "receipt", "essex-fire", "T-20261121-000001",
      {{"message_id", "essex-fire:r1"}, {"status", "stored"}, {"at", "2026-11-21T14:02:11Z"}});
  CHECK(f.code(apply_message(std::nullopt, parse(receipt), f.cfg, t0, "")) ==
        errc::not_submittable);
}

TEST_CASE("a message id must start with its sender", "[unit][message]") {
  auto r = parse_message(test::rtc_request("essex-police:abc"));
  REQUIRE(std::holds_alternative<error>(r));
  CHECK(std::get<error>(r).code == errc::bad_message_id);
}

TEST_CASE("an undelivered transfer expires and then refuses decisions",
          "[unit][lifecycle][timers]") {
  fixture f;
  auto t = f.requested();
  auto late = t0 + std::chrono::seconds(901);
  CHECK(f.code(f.send(t, "transfer.accept", "essex-police", accept_body, std::nullopt, late)) ==
        errc::expired);
  auto due = due_timers(t, late);
  REQUIRE(due == std::vector<timer_kind>{timer_kind::expire});
  apply_timer(t, timer_kind::expire, late);
  CHECK(t.state == transfer_state::expired);
  CHECK_FALSE(t.next_due().has_value());
  CHECK(f.code(f.send(t, "transfer.accept", "essex-police", accept_body, std::nullopt, late)) ==
        errc::expired);
}

TEST_CASE("per-priority timers raise phone fallbacks once each", "[unit][lifecycle][timers]") {
  fixture f;
  auto t = f.requested();
  CHECK(due_timers(t, t0 + std::chrono::seconds(59)).empty());
  CHECK(*t.next_due() == t0 + std::chrono::seconds(60));
  auto due = due_timers(t, t0 + std::chrono::seconds(61));
  REQUIRE(due == std::vector<timer_kind>{timer_kind::delivery_overdue});
  apply_timer(t, due[0], t0 + std::chrono::seconds(61));
  CHECK(due_timers(t, t0 + std::chrono::seconds(62)).empty());
  REQUIRE(mark_delivered(t, t0 + std::chrono::seconds(70)));
  due = due_timers(t, t0 + std::chrono::seconds(181));
  REQUIRE(due == std::vector<timer_kind>{timer_kind::decision_overdue});
  apply_timer(t, due[0], t0 + std::chrono::seconds(181));
  CHECK_FALSE(t.next_due().has_value());
  SECTION("a deferral sets a new decision deadline") {
    t = f.ok(f.send(t, "transfer.defer", "essex-police",
                    {{"until", "2026-11-21T15:00:00Z"}, {"reason", "Awaiting unit"}}, std::nullopt,
                    t0 + std::chrono::seconds(200)));
    CHECK(t.state == transfer_state::deferred);
    CHECK(*t.next_due() == *parse_rfc3339("2026-11-21T15:00:00Z"));
  }
}

TEST_CASE("a notification can be closed without a decision", "[unit][lifecycle]") {
  fixture f;
  auto r = apply_message(std::nullopt,
                         parse(test::rtc_request("essex-fire:n", "essex-fire", "essex-police",
                                                 "notification", "routine")),
                         f.cfg, t0, "T-20261121-000004");
  auto t = std::get<outcome>(r).after;
  t = f.ok(f.send(t, "transfer.close", "essex-fire", {{"outcome", "no_longer_required"}}));
  CHECK(t.state == transfer_state::closed);
}
