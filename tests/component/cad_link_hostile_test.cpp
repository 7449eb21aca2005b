// The CAD link against hostile or broken peers, over real loopback sockets with real CURVE keys:
// frames nested deep enough to overflow a recursive parser, multipart messages, routing ids a
// client chose to land on another CAD's session, frames under another agency's key, and floods
// of unknown keys. Each case once crashed, hung or fooled the link (security review, issue 12).

#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include <zmq.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "tests/support/cad_link_rig.hpp"
#include "tests/support/sample_messages.hpp"

using namespace bl;
using nlohmann::json;
using namespace std::chrono_literals;
using test::link_rig;
using test::raw_cad;

namespace {
json fresh_request(const std::string& id, const std::string& from = "essex-fire",
                   const std::string& to = "essex-police") {
  auto m = test::rtc_request(id, from, to);
  m["sent_at"] = format_rfc3339(now_ms());
  return m;
}

json submit_frame(const json& message) {
  return json{{"v", 1}, {"op", "submit"}, {"message", message}};
}

bool any_delivery(const std::vector<json>& frames) {
  for (auto& f : frames)
    if (f["op"] == "deliver") return true;
  return false;
}

std::string codes(const std::vector<json>& frames) {
  std::string out;
  for (auto& f : frames) out += f.dump() + "\n";
  return out;
}
}  // namespace

TEST_CASE(
    "libzmq gives a DEALER without a routing id 5 bytes starting with 0, and lets a client "
    "choose any id",
    "[component][cadlink][hostile]") {
  // The link's routing-id rule rests on this libzmq behaviour (4.3.4): if it ever changes, this
  // test says so before CADs are refused.
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  auto endpoint = router.get(zmq::sockopt::last_endpoint);
  auto id_seen = [&](std::optional<std::string> chosen) {
    zmq::socket_t d(ctx, zmq::socket_type::dealer);
    d.set(zmq::sockopt::linger, 0);
    if (chosen) d.set(zmq::sockopt::routing_id, *chosen);
    d.connect(endpoint);
    d.send(zmq::str_buffer("x"), zmq::send_flags::none);
    zmq::message_t id, payload;
    REQUIRE(router.recv(id));
    REQUIRE(router.recv(payload));
    return id.to_string();
  };
  for (int i = 0; i < 3; ++i) {
    auto id = id_seen(std::nullopt);
    CHECK(id.size() == 5);
    CHECK(id[0] == '\0');
  }
  CHECK(id_seen(std::string("essex-fire-cad")) == "essex-fire-cad");
  // libzmq accepts a chosen id that looks generated: the 5-byte rule alone cannot catch it, which
  // is why a session also remembers its connection (see the tests below).
  CHECK(id_seen(std::string("\0BLFI", 5)) == std::string("\0BLFI", 5));
}

TEST_CASE("a submit nested 300,000 deep is refused as too deep and the link stays up",
          "[component][cadlink][hostile]") {
  link_rig rig;
  raw_cad fire(rig, rig.keys["essex-fire"]);
  auto welcome = fire.hello("essex-fire");
  REQUIRE(welcome);
  REQUIRE((*welcome)["op"] == "welcome");

  constexpr int depth = 300000;
  std::string deep = R"({"v":1,"op":"submit","message":{"id":"essex-fire:deep","body":)" +
                     std::string(depth, '[') + std::string(depth, ']') + "}}";
  fire.send(deep);
  auto refused = fire.next_not_heartbeat();
  REQUIRE(refused);
  CHECK((*refused)["op"] == "error");
  CHECK((*refused)["code"] == "bl.request.too_deep");

  // The same session still takes a normal submission.
  fire.send(submit_frame(fresh_request("essex-fire:after-deep")));
  auto receipt = fire.next_not_heartbeat();
  REQUIRE(receipt);
  CHECK((*receipt)["op"] == "receipt");
  CHECK((*receipt)["message_id"] == "essex-fire:after-deep");
  CHECK(rig.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:after-deep'") == 1);
}

TEST_CASE("a two-part message is refused as a bad frame while another agency's CAD keeps working",
          "[component][cadlink][hostile]") {
  link_rig rig;
  raw_cad police(rig, rig.keys["essex-police"]);
  auto welcome = police.hello("essex-police");
  REQUIRE(welcome);
  REQUIRE((*welcome)["op"] == "welcome");

  police.send_parts({R"({"v":1,"op":"heartbeat"})", "a second part"});
  auto refused = police.next_not_heartbeat();
  REQUIRE(refused);
  CHECK((*refused)["code"] == "bl.link.bad_frame");
  CHECK_THAT((*refused)["message"].get<std::string>(), Catch::Contains("had 2"));
  CHECK_THAT(rig.log_sink->text(),
             Catch::Contains("reason=multipart agency=\"essex-police\" parts=2"));

  // Fire's CAD is served at once, and Police's own session carries on.
  cad::cad_client fire(rig.options("essex-fire"), [](const cad::delivery&) {});
  fire.start();
  REQUIRE(test::eventually([&] { return fire.connected(); }));
  auto r = fire.submit(fresh_request("essex-fire:after-multipart"));
  REQUIRE(r.wait_for(5s) == std::future_status::ready);
  REQUIRE(std::holds_alternative<json>(r.get()));
  auto delivered = police.next_not_heartbeat();
  REQUIRE(delivered);
  CHECK((*delivered)["op"] == "deliver");
  CHECK((*delivered)["message"]["id"] == "essex-fire:after-multipart");
}

TEST_CASE("a CAD that chooses its own routing id is refused and audited; normal CADs still work",
          "[component][cadlink][hostile]") {
  link_rig rig;
  raw_cad fixed(rig, rig.keys["essex-fire"], std::string("essex-fire-cad"));
  auto refused = fixed.hello("essex-fire");
  REQUIRE(refused);
  CHECK((*refused)["op"] == "error");
  CHECK((*refused)["code"] == "bl.link.routing_id");
  CHECK_FALSE(rig.links.find("essex-fire", "cad")->up);
  REQUIRE(test::eventually([&] {
    return rig.count(
               "SELECT count(*) FROM audit WHERE action = 'link.routing_id_refused' AND "
               "detail LIKE '%essex-fire%'") == 1;
  }));
  CHECK_THAT(rig.log_sink->text(), Catch::Contains("reason=routing_id agency=\"essex-fire\""));

  // Refused every time, audited once a minute.
  for (int i = 0; i < 5; ++i) {
    auto again = fixed.hello("essex-fire");
    REQUIRE(again);
    CHECK((*again)["code"] == "bl.link.routing_id");
  }
  CHECK(rig.count("SELECT count(*) FROM audit WHERE action = 'link.routing_id_refused'") == 1);
  CHECK(rig.errors_counted("bl.link.routing_id") == 6);

  cad::cad_client fire(rig.options("essex-fire"), [](const cad::delivery&) {});
  fire.start();
  REQUIRE(test::eventually([&] { return fire.connected(); }));
  CHECK(std::holds_alternative<json>(fire.submit(fresh_request("essex-fire:normal")).get()));
}

TEST_CASE("Police's key on Fire's fixed routing id gets neither Fire's deliveries nor Fire's name",
          "[component][cadlink][hostile]") {
  link_rig rig;
  const std::string fire_id = "essex-fire-cad";
  // Fire's CAD is configured with a fixed routing id: it gets no session at all.
  auto fire_fixed = std::make_unique<raw_cad>(rig, rig.keys["essex-fire"], fire_id);
  auto refused = fire_fixed->hello("essex-fire");
  REQUIRE(refused);
  CHECK((*refused)["code"] == "bl.link.routing_id");

  // Police's CAD puts a request in Fire's queue.
  cad::cad_client police(rig.options("essex-police"), [](const cad::delivery&) {});
  police.start();
  REQUIRE(test::eventually([&] { return police.connected(); }));
  REQUIRE(std::holds_alternative<json>(
      police.submit(fresh_request("essex-police:for-fire", "essex-police", "essex-fire")).get()));

  const json spoof = submit_frame(fresh_request("essex-fire:spoofed-by-police"));
  SECTION("while Fire's connection holds the id") {
    raw_cad impostor(rig, rig.keys["essex-police"], fire_id);
    impostor.send(json{{"v", 1}, {"op", "hello"}, {"agency", "essex-fire"}, {"resume_from", 0}});
    impostor.send(spoof);
    auto seen = impostor.drain(1500ms);
    INFO(codes(seen));
    CHECK_FALSE(any_delivery(seen));
    for (auto& f : seen) CHECK(f["op"] == "error");
    CHECK_FALSE(any_delivery(fire_fixed->drain(200ms)));
  }
  SECTION("after Fire's connection has gone") {
    fire_fixed.reset();
    std::this_thread::sleep_for(300ms);
    raw_cad impostor(rig, rig.keys["essex-police"], fire_id);
    auto hello = impostor.hello("essex-fire");
    REQUIRE(hello);
    CHECK((*hello)["code"] == "bl.link.routing_id");
    impostor.send(spoof);
    auto seen = impostor.drain(1500ms);
    INFO(codes(seen));
    REQUIRE_FALSE(seen.empty());
    CHECK(seen.front()["code"] == "bl.link.routing_id");
    CHECK_FALSE(any_delivery(seen));
    REQUIRE(test::eventually([&] {
      return rig.count(
                 "SELECT count(*) FROM audit WHERE action = 'link.routing_id_refused' AND "
                 "detail LIKE '%essex-police%'") == 1;
    }));
  }
  CHECK(rig.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:spoofed-by-police'") == 0);
  // Fire's real CAD, connecting as it should, receives what was queued for it.
  auto got = std::make_shared<test::inbox>();
  cad::cad_client fire(rig.options("essex-fire"), [got](auto& d) { (*got)(d); });
  fire.start();
  REQUIRE(test::eventually([&] { return got->size() == 1; }));
  CHECK(got->ids()[0] == "essex-police:for-fire");
}

TEST_CASE("a frame under another agency's key on a session's routing id ends the session",
          "[component][cadlink][hostile]") {
  // Heartbeats 10 s apart: nothing is sent to the departed CAD's routing id while the impostor
  // arrives, so its frame meets the session rather than a send failure.
  link_rig rig(10000);
  // An id that looks generated (5 bytes, first 0) passes the routing-id rule: only the checks
  // on every frame stand between it and the session.
  const std::string lookalike("\0BLFI", 5);
  auto fire = std::make_unique<raw_cad>(rig, rig.keys["essex-fire"], lookalike);
  auto welcome = fire->hello("essex-fire");
  REQUIRE(welcome);
  REQUIRE((*welcome)["op"] == "welcome");
  REQUIRE(rig.links.find("essex-fire", "cad")->up);
  fire.reset();
  std::this_thread::sleep_for(400ms);  // the ROUTER forgets the departed connection's pipe

  SECTION("Police's key") {
    raw_cad impostor(rig, rig.keys["essex-police"], lookalike);
    impostor.send(submit_frame(fresh_request("essex-fire:spoofed-by-police")));
    auto refused = impostor.next_not_heartbeat();
    REQUIRE(refused);
    CHECK((*refused)["code"] == "bl.link.agency_mismatch");
    CHECK(rig.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:spoofed-by-police'") ==
          0);
    auto link = rig.links.find("essex-fire", "cad");
    CHECK_FALSE(link->up);
    CHECK_THAT(link->down_reason, Catch::Contains("another agency"));
    REQUIRE(test::eventually([&] {
      return rig.count(
                 "SELECT count(*) FROM audit WHERE action = 'link.agency_mismatch' AND "
                 "detail LIKE '%\"key_agency\":\"essex-police\"%'") == 1;
    }));
    CHECK_THAT(rig.log_sink->text(), Catch::Contains("key_agency=\"essex-police\""));

    // What is queued for Fire from now on never reaches Police's connection.
    cad::cad_client police(rig.options("essex-police"), [](const cad::delivery&) {});
    police.start();
    REQUIRE(test::eventually([&] { return police.connected(); }));
    REQUIRE(std::holds_alternative<json>(
        police.submit(fresh_request("essex-police:for-fire", "essex-police", "essex-fire")).get()));
    auto seen = impostor.drain(1000ms);
    INFO(codes(seen));
    CHECK_FALSE(any_delivery(seen));
  }
  SECTION("Fire's own key on another connection") {
    raw_cad second(rig, rig.keys["essex-fire"], lookalike);
    second.send(json{{"v", 1}, {"op", "ack"}, {"upto", 0}});
    auto refused = second.next_not_heartbeat();
    REQUIRE(refused);
    CHECK((*refused)["code"] == "bl.link.routing_id");
    CHECK_FALSE(rig.links.find("essex-fire", "cad")->up);
    REQUIRE(test::eventually([&] {
      return rig.count("SELECT count(*) FROM audit WHERE action = 'link.routing_id_refused'") == 1;
    }));
  }
}

TEST_CASE("hundreds of unknown CURVE keys leave a bounded audit trail but every refusal is counted",
          "[component][cadlink][hostile]") {
  link_rig rig;
  constexpr int keys = 300;
  // In batches, so that the test holds a modest number of sockets at a time.
  for (int batch = 0; batch < keys / 50; ++batch) {
    zmq::context_t ctx;
    std::vector<zmq::socket_t> socks;
    auto before = rig.errors_counted("bl.auth.invalid_token");
    for (int i = 0; i < 50; ++i) {
      auto k = test::new_curve_keys();
      auto& s = socks.emplace_back(ctx, zmq::socket_type::dealer);
      s.set(zmq::sockopt::linger, 0);
      s.set(zmq::sockopt::curve_serverkey, rig.server_keys.public_key);
      s.set(zmq::sockopt::curve_publickey, k.public_key);
      s.set(zmq::sockopt::curve_secretkey, k.secret_key);
      s.connect(rig.server->endpoint());
    }
    REQUIRE(test::eventually(
        [&] { return rig.errors_counted("bl.auth.invalid_token") >= before + 50; }, 10000ms));
  }
  auto refused = rig.errors_counted("bl.auth.invalid_token");
  CHECK(refused >= static_cast<std::uint64_t>(keys));
  // Let the engine commit whatever audit rows were queued, then count them.
  std::this_thread::sleep_for(300ms);
  auto rows = rig.count("SELECT count(*) FROM audit WHERE action = 'link.refused'");
  CHECK(rows >= 1);
  CHECK(rows <= 20);
  CHECK(rig.count("SELECT count(*) FROM messages") == 0);

  // Registered CADs are unaffected.
  cad::cad_client fire(rig.options("essex-fire"), [](const cad::delivery&) {});
  fire.start();
  REQUIRE(test::eventually([&] { return fire.connected(); }));
}
