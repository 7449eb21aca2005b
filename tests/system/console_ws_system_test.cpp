// The console WebSocket (docs/protocols/websocket.md) against the real gateway: live push to both
// parties, catch-up after a dropped connection with nothing missed and nothing twice, the Origin
// and session checks on the upgrade, and that an agency never sees another agency's transfers.

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/console_ws.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;
namespace beast = boost::beast;

const std::string password = "correct horse battery";

// Creates the console users in the gateway's (not yet started) database.
void add_users(const gateway_process& gw) {
  auto create = bl::store::open_writer(gw.store_options());  // creates and migrates the store
  const bl::gateway_config cfg = bl::test::agencies_config();
  bl::accounts accts(cfg, bl::store::open_account_store(gw.store_options()));
  accts.add_user("fire.op", "Fire Operator", bl::role::operator_role, essex_fire, password);
  accts.add_user("police.op", "Police Operator", bl::role::operator_role, essex_police, password);
}

std::string origin(const gateway_process& gw) {
  return "http://127.0.0.1:" + std::to_string(gw.port());
}

// Signs in and returns the Cookie header value.
std::string sign_in(const gateway_process& gw, const std::string& user) {
  http_client c(gw.port());
  auto s = bl::test::sign_in(c, user, password, 200, {{"Origin", origin(gw)}});
  REQUIRE(s.reply.header("Set-Cookie").find("HttpOnly") != std::string::npos);
  return s.cookie;
}

// The upgrade's HTTP status when it is refused.
int refused_status(const gateway_process& gw, const std::string& cookie, const std::string& o) {
  try {
    console_ws ws(gw.port(), cookie, o);
  } catch (const beast::system_error&) {
    // Beast does not expose the response on failure; ask again over plain HTTP to read it.
    http_client c(gw.port());
    bl::test::header_list h = {{"Connection", "Upgrade"},
                               {"Upgrade", "websocket"},
                               {"Sec-WebSocket-Version", "13"},
                               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
    if (!cookie.empty()) h.emplace_back("Cookie", cookie);
    if (!o.empty()) h.emplace_back("Origin", o);
    return c.request_with("GET", "/api/v1/ws", {}, h).status;
  }
  return 101;
}

}  // namespace

TEST_CASE("console WebSocket pushes transfers live and catches up after a drop",
          "[system][console][ws]") {
  gateway_process gw(json::object(), false);
  add_users(gw);
  gw.start();
  http_client api(gw.port());
  auto fire_cookie = sign_in(gw, "fire.op");
  auto police_cookie = sign_in(gw, "police.op");

  console_ws police(gw.port(), police_cookie, origin(gw));
  police.send({{"op", "hello"}, {"after", 0}});
  auto welcome = police.until("welcome");
  CHECK(welcome.at("user").at("agency") == essex_police);
  police.until("caught_up");

  // Fire sends a request over the API: Police's console sees it arrive.
  auto req = a12_rtc_request(new_message_id(essex_fire, "ws"));
  auto r = api.post("/api/v1/messages", req, gateway_process::token(essex_fire));
  REQUIRE(r.status == 202);
  std::string tid = r.json.at("receipt").at("transfer_id");
  auto ev = police.until("event");
  CHECK(ev.at("transfer_id") == tid);
  CHECK(ev.at("kind") == "transfer.request");
  CHECK(ev.at("transfer").at("direction") == "incoming");
  CHECK(ev.at("transfer").at("state") == "submitted");
  std::int64_t last = ev.at("id");

  // Police's network drops. Meanwhile Police's CAD acknowledges and accepts, and Fire updates.
  police.close();
  auto send = [&](const std::string& type, const std::string& from, json body, std::int64_t v) {
    auto m = party_message(new_message_id(from, "ws"), type, from, tid, std::move(body), v);
    auto rr = api.post("/api/v1/messages", m, gateway_process::token(from));
    INFO(rr.body);
    REQUIRE(rr.status == 202);
  };
  send("transfer.received", essex_police, json::object(), 2);
  send("transfer.accept", essex_police,
       {{"receiver_incident", {{"number", "EP-20261121-0042"}, {"system", "STORM"}}}}, 3);
  send("transfer.update", essex_fire, {{"text", "Second casualty found"}}, 4);

  // The reconnecting console says where it stopped and gets exactly what it missed, in order.
  console_ws again(gw.port(), police_cookie, origin(gw));
  again.send({{"op", "hello"}, {"after", last}});
  again.until("welcome");
  std::vector<std::string> kinds;
  std::set<std::int64_t> ids;
  for (;;) {
    auto f = again.next();
    if (f.at("op") == "links") continue;
    if (f.at("op") == "caught_up") {
      CHECK(f.at("replayed") == static_cast<std::int64_t>(ids.size()));
      break;
    }
    REQUIRE(f.at("op") == "event");
    CHECK(f.at("id").get<std::int64_t>() > last);
    CHECK(ids.insert(f.at("id").get<std::int64_t>()).second);  // nothing twice
    // Police has no CAD here, so the gateway acknowledges the request once this console was
    // shown it: "delivered" lands among these unless "received" got there first.
    if (f.at("kind") != "delivered") kinds.push_back(f.at("kind"));
  }
  CHECK(ids.size() - kinds.size() <= 1);
  CHECK(kinds ==
        std::vector<std::string>{"transfer.received", "transfer.accept", "transfer.update"});

  // Live again: Fire closes the transfer and Police sees it at once.
  send("transfer.close", essex_fire, {{"outcome", "resolved"}, {"text", "Scene cleared"}}, 5);
  auto closed = again.until("event");
  CHECK(closed.at("kind") == "transfer.close");
  INFO(closed.dump());
  CHECK(closed.at("transfer").at("state") == "closed");

  // Fire's console, meanwhile, sees the same transfer as outgoing.
  console_ws fire(gw.port(), fire_cookie, origin(gw));
  fire.send({{"op", "hello"}, {"after", last}});
  fire.until("welcome");
  auto fev = fire.until("event");
  CHECK(fev.at("transfer").at("direction") == "outgoing");
}

TEST_CASE("console WebSocket refuses foreign origins, missing sessions and bad frames",
          "[system][console][ws]") {
  gateway_process gw(json::object(), false);
  add_users(gw);
  gw.start();
  auto cookie = sign_in(gw, "police.op");
  CHECK(refused_status(gw, cookie, "https://evil.example") == 403);
  CHECK(refused_status(gw, cookie, "") == 403);
  CHECK(refused_status(gw, "", origin(gw)) == 401);
  CHECK(refused_status(gw, "bl_session=forged", origin(gw)) == 401);

  console_ws ws(gw.port(), cookie, origin(gw));
  ws.send({{"op", "subscribe"}});
  auto err = ws.until("error");
  CHECK(err.at("code") == "bl.schema.invalid");
  CHECK(err.at("pointer") == "/op");
  ws.send({{"op", "hello"}});
  ws.until("welcome");
  ws.send({{"op", "ping"}});
  ws.until("pong");
}

TEST_CASE("an agency's console never receives another agency's transfers",
          "[system][console][ws]") {
  gateway_process gw(json::object(), false);
  add_users(gw);
  gw.start();
  http_client api(gw.port());
  console_ws police(gw.port(), sign_in(gw, "police.op"), origin(gw));
  police.send({{"op", "hello"}});
  police.until("welcome");
  police.until("caught_up");
  // Fire -> Ambulance: none of Police's business. Then Fire -> Police, which Police must see
  // next, proving the first was skipped rather than late.
  auto other = casualty_care_request(new_message_id(essex_fire, "amb"));
  REQUIRE(api.post("/api/v1/messages", other, gateway_process::token(essex_fire)).status == 202);
  auto mine = a12_rtc_request(new_message_id(essex_fire, "pol"));
  auto r = api.post("/api/v1/messages", mine, gateway_process::token(essex_fire));
  REQUIRE(r.status == 202);
  auto ev = police.until("event");
  CHECK(ev.at("transfer_id") == r.json.at("receipt").at("transfer_id"));
}

TEST_CASE("a console frame nesting too deep is answered with an error, and the session goes on",
          "[system][console][ws][security]") {
  gateway_process gw(json::object(), false);
  add_users(gw);
  gw.start();
  auto cookie = sign_in(gw, "police.op");
  console_ws ws(gw.port(), cookie, origin(gw));
  // 20,000 levels fit in the 64 KiB frame limit; the configured max_json_depth is 32.
  ws.send_text(R"({"op":"hello","after":)" + std::string(20000, '[') + std::string(20000, ']') +
               "}");
  auto err = ws.until("error");
  CHECK(err.at("code") == "bl.request.too_deep");
  ws.send({{"op", "ping"}});
  ws.until("pong");
  http_client c(gw.port());
  CHECK(c.get("/healthz", "").status == 200);
}

// A console signing in reads its list over REST, then subscribes. An event committed between the
// two was missed when "after": 0 meant "from now on"; the list's last_event closes the gap, even
// on a gateway that had no events at all when the list was read.
TEST_CASE(
    "a console that subscribes from its list's last_event misses nothing committed in "
    "between",
    "[system][console][ws]") {
  gateway_process gw(json::object(), false);
  add_users(gw);
  gw.start();
  http_client api(gw.port());
  auto police_cookie = sign_in(gw, "police.op");

  auto list = api.get("/api/v1/transfers", gateway_process::token(essex_police));
  REQUIRE(list.status == 200);
  const std::int64_t cursor = list.json.at("last_event");
  CHECK(cursor == 0);  // nothing has happened yet
  CHECK(list.json.at("transfers").empty());

  // Fire's request is committed after the list was read and before the console subscribes.
  auto r = api.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "race")),
                    gateway_process::token(essex_fire));
  REQUIRE(r.status == 202);
  std::string tid = r.json.at("receipt").at("transfer_id");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the hub has moved past it

  console_ws police(gw.port(), police_cookie, origin(gw));
  police.send({{"op", "hello"}, {"after", cursor}});
  CHECK(police.until("welcome").at("after") == cursor);
  auto ev = police.until("event");
  CHECK(ev.at("transfer_id") == tid);
  CHECK(ev.at("kind") == "transfer.request");
  CHECK(police.until("caught_up").at("replayed") == 1);

  // A list read now carries a cursor at or past that event.
  auto again = api.get("/api/v1/transfers", gateway_process::token(essex_police));
  CHECK(again.json.at("last_event").get<std::int64_t>() >= ev.at("id").get<std::int64_t>());

  // Without "after", a console takes events from now on only.
  console_ws fresh(gw.port(), police_cookie, origin(gw));
  fresh.send({{"op", "hello"}});
  CHECK(fresh.until("welcome").at("after").is_null());
  CHECK(fresh.until("caught_up").at("replayed") == 0);
}

TEST_CASE(
    "for an agency whose consoles are its receiving system, the gateway acknowledges a "
    "delivery once it is shown on one of them",
    "[system][console][ws][ack]") {
  gateway_process gw(json::object(), false);
  // Police has no CAD link and no API token here: its consoles are its receiving system.
  json tokens = json::array();
  for (const auto& t : gw.config()["tokens"])
    if (t["agency"] != essex_police) tokens.push_back(t);
  gw.config()["tokens"] = tokens;
  add_users(gw);
  gw.start();
  http_client api(gw.port());
  auto acked_upto = [&](const std::string& agency) {
    return gw.query_int("SELECT COALESCE(MAX(acked_upto), 0) FROM endpoints WHERE agency = $1",
                        {agency});
  };
  auto state_of = [&](const std::string& tid) {
    auto r = api.get("/api/v1/transfers/" + tid, gateway_process::token(essex_fire));
    REQUIRE(r.status == 200);
    return r.json.at("transfer").at("state").get<std::string>();
  };
  auto send_request = [&] {
    auto r = api.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "ack")),
                      gateway_process::token(essex_fire));
    REQUIRE(r.status == 202);
    return r.json.at("receipt").at("transfer_id").get<std::string>();
  };

  // No Police console is signed in: nothing has been shown, so nothing is acknowledged.
  auto first = send_request();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(acked_upto(essex_police) == 0);
  CHECK(state_of(first) == "submitted");

  // A Police console signs in and is shown the request: the gateway acknowledges it, and Fire
  // sees "delivered". The browser code acknowledges nothing itself.
  http_client police_http(gw.port());
  auto session =
      bl::test::sign_in(police_http, "police.op", password, 200, {{"Origin", origin(gw)}});
  CHECK(session.reply.json.at("acknowledges_deliveries") == true);
  console_ws police(gw.port(), session.cookie, origin(gw));
  police.send({{"op", "hello"}, {"after", 0}});
  while (police.next().at("op") != "caught_up") {
  }
  CHECK(bl::test::eventually([&] { return acked_upto(essex_police) == 1; }));
  CHECK(bl::test::eventually([&] { return state_of(first) == "delivered"; }));

  // Live: the next one is acknowledged as soon as the console has been sent it.
  auto second = send_request();
  police.until("event");
  CHECK(bl::test::eventually([&] { return acked_upto(essex_police) == 2; }));
  CHECK(bl::test::eventually([&] { return state_of(second) == "delivered"; }));
  // Fire's own deliveries (none yet: Police has answered nothing) stay as they are.
  CHECK(acked_upto(essex_fire) == 0);
}

TEST_CASE(
    "for an agency with a receiving system of its own, a request shown on its console is "
    "delivered, and that system still receives and acknowledges it",
    "[system][console][ws][ack]") {
  // Police keeps its API token: an integration of its own reads and acknowledges its deliveries
  // (the same holds for a CAD on the CAD link; the demo registers one for every agency).
  gateway_process gw(json::object(), false);
  add_users(gw);
  gw.start();
  http_client api(gw.port());
  auto acked_upto = [&](const std::string& agency) {
    return gw.query_int("SELECT COALESCE(MAX(acked_upto), 0) FROM endpoints WHERE agency = $1",
                        {agency});
  };
  auto state_of = [&](const std::string& tid) {
    auto r = api.get("/api/v1/transfers/" + tid, gateway_process::token(essex_fire));
    REQUIRE(r.status == 200);
    return r.json.at("transfer").at("state").get<std::string>();
  };
  auto receipts_to_fire = [&] {
    auto r = api.get("/api/v1/inbox?after=0", gateway_process::token(essex_fire));
    REQUIRE(r.status == 200);
    int n = 0;
    for (const auto& d : r.json.at("deliveries"))
      if (d.at("message").at("type") == "receipt") ++n;
    return n;
  };

  http_client police_http(gw.port());
  auto session =
      bl::test::sign_in(police_http, "police.op", password, 200, {{"Origin", origin(gw)}});
  CHECK(session.reply.json.at("acknowledges_deliveries") == false);
  console_ws police(gw.port(), session.cookie, origin(gw));
  police.send({{"op", "hello"}});
  police.until("caught_up");

  auto r = api.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "shown")),
                    gateway_process::token(essex_fire));
  REQUIRE(r.status == 202);
  auto tid = r.json.at("receipt").at("transfer_id").get<std::string>();
  police.until("event");
  // Delivered to Police because its console shows it...
  CHECK(bl::test::eventually([&] { return state_of(tid) == "delivered"; }));
  // The receipt reaches Fire's inbox once its commit is durable (the WAL sync that follows the
  // commit), which can be a moment after the transfer's state reads "delivered".
  CHECK(bl::test::eventually([&] { return receipts_to_fire() == 1; }));
  // ...but Police's own system has not acknowledged it, and still gets it when it reads on.
  CHECK(acked_upto(essex_police) == 0);
  auto inbox = api.get("/api/v1/inbox", gateway_process::token(essex_police));
  REQUIRE(inbox.status == 200);
  REQUIRE(inbox.json.at("deliveries").size() == 1);
  CHECK(inbox.json.at("deliveries")[0].at("message").at("transfer_id") == tid);
  auto ack = api.post("/api/v1/inbox/ack", json{{"upto", 1}}, gateway_process::token(essex_police));
  CHECK(ack.status == 200);
  CHECK(acked_upto(essex_police) == 1);
  // One "delivered" receipt for the sender, however many ways it was delivered.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(receipts_to_fire() == 1);
  CHECK(state_of(tid) == "delivered");
}
