// System tests: the real bluelink-gateway binary, driven over HTTP the way a CAD integration or
// the console drives it. Each test starts its own gateway on a fresh database.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <csignal>

#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

using namespace std::chrono_literals;
using bl::test::eeast_ambulance;
using bl::test::essex_fire;
using bl::test::essex_police;
using bl::test::gateway_process;
using bl::test::http_client;
using bl::test::http_response;
using bl::test::new_message_id;
using bl::test::party_message;
using nlohmann::json;

std::string token_of(const std::string& agency) {
  return gateway_process::token(agency);
}

/// Posts a message as `agency` and requires `expected_status`; returns the whole response body.
json submit(http_client& c, const json& msg, const std::string& agency, int expected_status = 202) {
  auto r = c.post("/api/v1/messages", msg, token_of(agency));
  INFO("POST " << msg.value("type", "?") << " as " << agency << " -> " << r.status << " "
               << r.body);
  REQUIRE(r.status == expected_status);
  REQUIRE_FALSE(r.json.is_discarded());
  return r.json;
}

/// Posts a message that the gateway must reject; returns the "error" object.
json rejected(http_client& c, const json& msg, const std::string& agency, int expected_status,
              const std::string& expected_code) {
  auto r = c.post("/api/v1/messages", msg, token_of(agency));
  INFO("POST " << msg.value("type", "?") << " as " << agency << " -> " << r.status << " "
               << r.body);
  REQUIRE(r.status == expected_status);
  REQUIRE(r.json.contains("error"));
  CHECK(r.json["error"]["code"] == expected_code);
  return r.json["error"];
}

json get_transfer(http_client& c, const std::string& id, const std::string& agency) {
  auto r = c.get("/api/v1/transfers/" + id, token_of(agency));
  INFO("GET transfer " << id << " as " << agency << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return r.json.at("transfer");
}

json get_inbox(http_client& c, const std::string& agency, const std::string& query = {}) {
  auto r = c.get("/api/v1/inbox" + (query.empty() ? std::string() : "?" + query), token_of(agency));
  INFO("GET inbox of " << agency << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return r.json;
}

void ack(http_client& c, const std::string& agency, std::int64_t upto) {
  auto r = c.post("/api/v1/inbox/ack", json{{"upto", upto}}, token_of(agency));
  INFO("ack " << agency << " upto " << upto << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json["upto"] == upto);
}

std::vector<std::string> delivery_types(const json& inbox) {
  std::vector<std::string> out;
  for (const auto& d : inbox.at("deliveries")) out.push_back(d.at("type").get<std::string>());
  return out;
}

/// The audit rows of a transfer for one message and action.
std::size_t audit_rows(const json& transfer, const std::string& message_id,
                       const std::string& action) {
  std::size_t n = 0;
  for (const auto& a : transfer.at("audit"))
    if (a.at("message_id") == message_id && a.at("action") == action) ++n;
  return n;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "a fire request for traffic management at an RTC is delivered, received, accepted, updated "
    "and closed",
    "[system][lifecycle]") {
  gateway_process gw;
  http_client fire(gw.port());
  http_client police(gw.port());

  // Police's CAD link is already long-polling its inbox when Fire sends the request.
  auto poll = std::async(std::launch::async, [port = gw.port()] {
    http_client c(port);
    auto started = std::chrono::steady_clock::now();
    auto r = c.get("/api/v1/inbox?wait=20", token_of(essex_police));
    return std::make_pair(r, std::chrono::steady_clock::now() - started);
  });

  const std::string request_id = new_message_id(essex_fire, "a12-rtc");
  json receipt = submit(fire, bl::test::a12_rtc_request(request_id), essex_fire).at("receipt");
  CHECK(receipt["message_id"] == request_id);
  CHECK(receipt["status"] == "stored");
  CHECK(receipt["transfer_version"] == 1);
  CHECK(receipt["state"] == "submitted");
  const std::string tid = receipt.at("transfer_id");
  CHECK(std::regex_match(tid, std::regex("T-[0-9]{8}-[0-9]{6}")));

  auto [polled, waited] = poll.get();
  INFO("police long poll: " << polled.body);
  REQUIRE(polled.status == 200);
  CHECK(waited < 10s);  // it woke for the new delivery instead of running out its 20 s wait
  REQUIRE(polled.json["deliveries"].size() == 1);
  const json delivery = polled.json["deliveries"][0];
  CHECK(delivery["type"] == "transfer.request");
  CHECK(delivery["message"]["id"] == request_id);
  CHECK(delivery["message"]["transfer_id"] == tid);
  CHECK(delivery["message"]["version"] == 1);
  CHECK(delivery["message"]["body"]["methane"]["type_of_incident"]["code"] == "RTC");
  const std::int64_t request_seq = delivery.at("seq");

  // Police's acknowledgement is what moves the transfer to delivered and tells Fire.
  ack(police, essex_police, request_seq);
  CHECK(get_transfer(fire, tid, essex_fire)["state"] == "delivered");
  json fire_inbox = get_inbox(fire, essex_fire, "wait=5");
  REQUIRE(delivery_types(fire_inbox) == std::vector<std::string>{"receipt"});
  const json delivered = fire_inbox["deliveries"][0]["message"];
  CHECK(delivered["from"] == "bluelink");
  CHECK(delivered["body"]["status"] == "delivered");
  CHECK(delivered["body"]["message_id"] == request_id);
  CHECK(delivered["body"]["delivered_to"] == essex_police);
  ack(fire, essex_fire, fire_inbox["deliveries"][0]["seq"]);

  const std::string received_id = new_message_id(essex_police, "received");
  receipt = submit(police,
                   party_message(received_id, "transfer.received", essex_police, tid,
                                 {{"operator", "PC 4471 Jo Hughes"},
                                  {"note", "Received, tasking roads policing"}}),
                   essex_police)
                .at("receipt");
  CHECK(receipt["state"] == "received");
  CHECK(receipt["transfer_version"] == 2);

  const std::string accept_id = new_message_id(essex_police, "accept");
  receipt =
      submit(police,
             party_message(
                 accept_id, "transfer.accept", essex_police, tid,
                 {{"receiver_incident", {{"number", "ESX-20261121-0457"}, {"system", "STORM"}}},
                  {"eta_minutes", 12},
                  {"resources", "2 x roads policing units from Boreham"}},
                 3),
             essex_police)
          .at("receipt");
  CHECK(receipt["state"] == "accepted");
  CHECK(receipt["transfer_version"] == 3);

  const std::string update_id = new_message_id(essex_fire, "update");
  receipt = submit(fire,
                   party_message(update_id, "transfer.update", essex_fire, tid,
                                 {{"text",
                                   "Fuel leak from vehicle 2 confirmed; extrication now expected "
                                   "to take 60 minutes, closure needed until at least 15:30"},
                                  {"priority", "emergency"}},
                                 4),
                   essex_fire)
                .at("receipt");
  CHECK(receipt["state"] == "accepted");
  CHECK(receipt["transfer_version"] == 4);

  const std::string close_id = new_message_id(essex_fire, "close");
  receipt = submit(fire,
                   party_message(close_id, "transfer.close", essex_fire, tid,
                                 {{"outcome", "resolved"},
                                  {"text",
                                   "Carriageway cleared and handed back to National "
                                   "Highways at 16:38"}}),
                   essex_fire)
                .at("receipt");
  CHECK(receipt["state"] == "closed");
  CHECK(receipt["transfer_version"] == 5);

  // Each side's inbox carries the other side's messages, in order.
  CHECK(delivery_types(get_inbox(police, essex_police)) ==
        std::vector<std::string>{"transfer.update", "transfer.close"});
  CHECK(delivery_types(get_inbox(fire, essex_fire)) ==
        std::vector<std::string>{"transfer.received", "transfer.accept"});

  const json t = get_transfer(police, tid, essex_police);
  CHECK(t["state"] == "closed");
  CHECK(t["version"] == 5);
  CHECK(t["incident_numbers"]["essex-fire"]["number"] == "F-2611-004512");
  CHECK(t["incident_numbers"]["essex-police"]["number"] == "ESX-20261121-0457");

  using step = std::tuple<std::string, std::string, json, std::string, json>;
  std::vector<step> timeline;
  for (const auto& e : t.at("timeline"))
    timeline.emplace_back(e["kind"], e["actor"], e["from_state"], e["to_state"], e["message_id"]);
  const std::vector<step> expected = {
      {"transfer.request", essex_fire, nullptr, "submitted", request_id},
      {"delivered", essex_police, "submitted", "delivered", request_id},
      {"transfer.received", essex_police, "delivered", "received", received_id},
      {"transfer.accept", essex_police, "received", "accepted", accept_id},
      {"transfer.update", essex_fire, "accepted", "accepted", update_id},
      {"transfer.close", essex_fire, "accepted", "closed", close_id},
  };
  CHECK(timeline == expected);
  REQUIRE(t["timeline"].size() == expected.size());
  CHECK(t["timeline"][3]["detail"]["receiver_incident"]["number"] == "ESX-20261121-0457");
  CHECK(t["timeline"][5]["detail"]["outcome"] == "resolved");

  std::set<std::string> stored;
  for (const auto& m : t.at("messages")) stored.insert(m.at("id").get<std::string>());
  for (const auto& id : {request_id, received_id, accept_id, update_id, close_id}) {
    INFO("message " << id);
    CHECK(stored.count(id) == 1);
    CHECK(audit_rows(t, id, "message.accepted") == 1);
  }
  CHECK(audit_rows(t, request_id, "message.delivered") == 1);
  CHECK(audit_rows(t, request_id, "transfer.delivered") == 1);
  std::int64_t last_seq = 0;
  for (const auto& a : t.at("audit")) {
    CHECK(a.at("seq").get<std::int64_t>() > last_seq);
    last_seq = a.at("seq");
  }
  auto report = bl::store::open_reader(gw.store_options())->verify_audit();
  INFO(report.problem);
  CHECK(report.ok);
}

TEST_CASE("a police forced-entry request declined with a reason is visible in timeline and audit",
          "[system][lifecycle]") {
  gateway_process gw;
  http_client police(gw.port());
  http_client fire(gw.port());

  const std::string request_id = new_message_id(essex_police, "forced-entry");
  const std::string tid = submit(police, bl::test::forced_entry_request(request_id),
                                 essex_police)["receipt"]["transfer_id"];
  json inbox = get_inbox(fire, essex_fire);
  REQUIRE(delivery_types(inbox) == std::vector<std::string>{"transfer.request"});
  ack(fire, essex_fire, inbox["deliveries"][0]["seq"]);

  const std::string why =
      "All Colchester appliances are committed to a fire at Hythe Quay; nearest pump 35 minutes "
      "away. Ambulance HART may be able to assist.";
  const std::string decline_id = new_message_id(essex_fire, "decline");
  json receipt = submit(fire,
                        party_message(decline_id, "transfer.decline", essex_fire, tid,
                                      {{"reason", "no_resources"}, {"text", why}}),
                        essex_fire)["receipt"];
  CHECK(receipt["state"] == "declined");
  CHECK(receipt["transfer_version"] == 2);

  // Police's CAD gets the decline with its reason, so the operator can phone elsewhere.
  json police_inbox = get_inbox(police, essex_police);
  json decline_delivery;
  for (const auto& d : police_inbox["deliveries"])
    if (d["type"] == "transfer.decline") decline_delivery = d["message"];
  REQUIRE(decline_delivery.is_object());
  CHECK(decline_delivery["body"]["reason"] == "no_resources");
  CHECK(decline_delivery["body"]["text"] == why);

  // A declined transfer is finished: a late accept is refused, and the refusal is audited too.
  const std::string late_id = new_message_id(essex_fire, "late-accept");
  rejected(fire,
           party_message(late_id, "transfer.accept", essex_fire, tid,
                         {{"receiver_incident", {{"number", "F-2611-004530"}}}}),
           essex_fire, 409, "bl.transfer.illegal_transition");

  const json t = get_transfer(police, tid, essex_police);
  CHECK(t["state"] == "declined");
  CHECK(t["version"] == 2);
  const json& last = t["timeline"].back();
  CHECK(last["kind"] == "transfer.decline");
  CHECK(last["actor"] == essex_fire);
  CHECK(last["from_state"] == "delivered");
  CHECK(last["to_state"] == "declined");
  CHECK(last["message_id"] == decline_id);
  CHECK(last["detail"]["reason"] == "no_resources");
  CHECK(last["detail"]["text"] == why);

  REQUIRE(audit_rows(t, decline_id, "message.accepted") == 1);
  for (const auto& a : t["audit"]) {
    if (a["message_id"] == decline_id) {
      CHECK(a["actor"] == essex_fire);
      CHECK(a["detail"]["type"] == "transfer.decline");
      CHECK(a["detail"]["to_state"] == "declined");
    }
    if (a["message_id"] == late_id) {
      CHECK(a["action"] == "message.rejected");
      CHECK(a["detail"]["code"] == "bl.transfer.illegal_transition");
    }
  }
  CHECK(audit_rows(t, late_id, "message.rejected") == 1);
}

TEST_CASE("a duplicate submission returns the same receipt with 200 and creates nothing new",
          "[system][idempotency]") {
  gateway_process gw;
  http_client fire(gw.port());
  http_client police(gw.port());

  const std::string id = new_message_id(essex_fire, "a12-rtc");
  json first = bl::test::a12_rtc_request(id);
  const json receipt = submit(fire, first, essex_fire, 202);
  CHECK(submit(fire, first, essex_fire, 200) == receipt);

  // The id is the idempotency key: a retry that differs (a CAD re-rendering the summary) still
  // gets the first receipt and does not overwrite what was stored.
  json retry = first;
  retry["body"]["summary"] = "RTC A12 J19-J18 (resent)";
  CHECK(submit(fire, retry, essex_fire, 200) == receipt);

  auto list = fire.get("/api/v1/transfers", token_of(essex_fire));
  REQUIRE(list.status == 200);
  CHECK(list.json["transfers"].size() == 1);
  const std::string tid = receipt["receipt"]["transfer_id"];
  json inbox = get_inbox(police, essex_police);
  CHECK(delivery_types(inbox) == std::vector<std::string>{"transfer.request"});
  json t = get_transfer(fire, tid, essex_fire);
  REQUIRE(t["messages"].size() == 1);
  CHECK(t["messages"][0]["body"]["summary"] == first["body"]["summary"]);

  // The same holds for a party's follow-up: the second accept changes no version.
  json accept =
      party_message(new_message_id(essex_police, "accept"), "transfer.accept", essex_police, tid,
                    {{"receiver_incident", {{"number", "ESX-20261121-0457"}}}});
  const json accepted = submit(police, accept, essex_police, 202);
  CHECK(submit(police, accept, essex_police, 200) == accepted);
  t = get_transfer(fire, tid, essex_fire);
  CHECK(t["version"] == 2);
  CHECK(t["timeline"].size() == 2);
  CHECK(audit_rows(t, accept["id"], "message.accepted") == 1);
  CHECK(delivery_types(get_inbox(fire, essex_fire)) == std::vector<std::string>{"transfer.accept"});
}

TEST_CASE("the gateway refuses bad submissions with the documented status, code and pointer",
          "[system][errors]") {
  gateway_process gw;
  http_client fire(gw.port());
  http_client police(gw.port());
  const std::string tid = submit(fire, bl::test::a12_rtc_request(new_message_id(essex_fire)),
                                 essex_fire)["receipt"]["transfer_id"];

  SECTION("fire cannot send as police") {
    json e = rejected(fire, bl::test::forced_entry_request(new_message_id(essex_police)),
                      essex_fire, 403, "bl.auth.sender_mismatch");
    CHECK(e["pointer"] == "/from");
    auto list = police.get("/api/v1/transfers", token_of(essex_police));
    CHECK(list.json["transfers"].size() == 1);  // only Fire's own request
  }
  SECTION("a missing or unknown token is refused with 401") {
    std::string body = bl::test::a12_rtc_request(new_message_id(essex_fire)).dump();
    auto r = fire.request("POST", "/api/v1/messages", body);
    CHECK(r.status == 401);
    CHECK(r.json["error"]["code"] == "bl.auth.missing_token");
    r = fire.request("POST", "/api/v1/messages", body, "not-a-token");
    CHECK(r.status == 401);
    CHECK(r.json["error"]["code"] == "bl.auth.invalid_token");
  }
  SECTION("malformed JSON is refused with 400") {
    auto r = fire.request("POST", "/api/v1/messages",
                          R"({"id": "essex-fire:x1", "type": "transfer.request", )",
                          token_of(essex_fire));
    CHECK(r.status == 400);
    CHECK(r.json["error"]["code"] == "bl.request.malformed_json");
  }
  SECTION("a schema violation is refused with 422 and the pointer to the bad value") {
    json m = bl::test::a12_rtc_request(new_message_id(essex_fire));
    m["body"]["priority"] = "high";
    CHECK(rejected(fire, m, essex_fire, 422, "bl.schema.invalid")["pointer"] == "/body/priority");
    m = bl::test::a12_rtc_request(new_message_id(essex_fire));
    m["body"]["methane"]["hazards"][1]["status"] = "confirmed";
    CHECK(rejected(fire, m, essex_fire, 422, "bl.schema.invalid")["pointer"] ==
          "/body/methane/hazards/1/status");
  }
  SECTION("an oversized body is refused with 413 and the gateway carries on") {
    json m = bl::test::a12_rtc_request(new_message_id(essex_fire));
    m["body"]["notes"] = std::string(100 * 1024, 'x');  // over the default 64 KiB limit
    auto r = fire.post("/api/v1/messages", m, token_of(essex_fire));
    INFO(r.body);
    CHECK(r.status == 413);
    CHECK(r.json["error"]["code"] == "bl.request.too_large");
    CHECK(fire.get("/healthz", {}).status == 200);
  }
  SECTION("a stale version is refused with 409 and changes nothing") {
    json e = rejected(police,
                      party_message(new_message_id(essex_police), "transfer.accept", essex_police,
                                    tid, {{"receiver_incident", {{"number", "ESX-1"}}}}, 7),
                      essex_police, 409, "bl.transfer.stale_version");
    CHECK(e["pointer"] == "/version");
    CHECK(contains(e["message"], "version 2"));
    json t = get_transfer(police, tid, essex_police);
    CHECK(t["state"] == "submitted");
    CHECK(t["version"] == 1);
  }
  SECTION("an illegal transition is refused with 409") {
    rejected(fire,
             party_message(new_message_id(essex_fire), "transfer.close", essex_fire, tid,
                           {{"outcome", "resolved"}}),
             essex_fire, 409, "bl.transfer.illegal_transition");
    // Only the receiving agency may accept.
    rejected(fire,
             party_message(new_message_id(essex_fire), "transfer.accept", essex_fire, tid,
                           {{"receiver_incident", {{"number", "F-1"}}}}),
             essex_fire, 409, "bl.transfer.illegal_transition");
  }
  SECTION("an unknown transfer is 404") {
    auto r = police.get("/api/v1/transfers/T-20991231-999999", token_of(essex_police));
    CHECK(r.status == 404);
    CHECK(r.json["error"]["code"] == "bl.transfer.not_found");
    json e = rejected(police,
                      party_message(new_message_id(essex_police), "transfer.received", essex_police,
                                    "T-20991231-999999", json::object()),
                      essex_police, 404, "bl.transfer.not_found");
    CHECK(e["pointer"] == "/transfer_id");
  }
  SECTION("police cannot read or act on a fire to ambulance transfer") {
    const std::string other =
        submit(fire, bl::test::casualty_care_request(new_message_id(essex_fire)),
               essex_fire)["receipt"]["transfer_id"];
    // Exactly the answers for a transfer that does not exist, so that the sequential ids
    // cannot be probed to learn what other agencies are doing.
    auto r = police.get("/api/v1/transfers/" + other, token_of(essex_police));
    CHECK(r.status == 404);
    CHECK(r.json["error"]["code"] == "bl.transfer.not_found");
    CHECK(r.json["error"]["message"] == "no transfer '" + other + "'");
    json e = rejected(police,
                      party_message(new_message_id(essex_police), "transfer.accept", essex_police,
                                    other, {{"receiver_incident", {{"number", "ESX-2"}}}}),
                      essex_police, 404, "bl.transfer.not_found");
    CHECK(e["message"] == "no transfer '" + other + "'");
    CHECK(e["pointer"] == "/transfer_id");
    http_client ambulance(gw.port());
    CHECK(ambulance.get("/api/v1/transfers/" + other, token_of(eeast_ambulance)).status == 200);
  }
}

TEST_CASE("SIGTERM while submissions are in flight exits 0 and keeps every receipted message",
          "[system][shutdown]") {
  gateway_process gw;
  std::atomic<int> receipted_total{0};
  std::mutex mu;
  std::vector<std::string> receipted;
  std::vector<std::string> unexpected;

  auto client = [&](int n) {
    const std::string from = n % 2 ? essex_fire : eeast_ambulance;
    http_client c(gw.port());
    c.set_timeout(10s);
    for (;;) {
      const std::string id = new_message_id(from, "drain-" + std::to_string(n));
      auto r =
          c.try_request("POST", "/api/v1/messages",
                        bl::test::request_between(id, from, essex_police).dump(), token_of(from));
      if (!r) return;  // the gateway has gone
      std::lock_guard lock(mu);
      if (r->status == 202) {
        receipted.push_back(id);
        ++receipted_total;
      } else if (!(r->status == 503 && r->json["error"]["code"] == "bl.gateway.shutting_down")) {
        unexpected.push_back(std::to_string(r->status) + " " + r->body);
      }
    }
  };
  std::vector<std::thread> clients;
  for (int n = 0; n < 4; ++n) clients.emplace_back(client, n);

  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (receipted_total < 100 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  gw.kill(SIGTERM);
  const int code = gw.wait_exit(30s);
  for (auto& t : clients) t.join();

  INFO("gateway stderr:\n" << gw.stderr_text());
  CHECK(code == 0);
  CHECK(unexpected.empty());
  REQUIRE(receipted.size() >= 100);
  CHECK(contains(gw.stderr_text(), "event=draining"));
  CHECK(contains(gw.stderr_text(), "event=stopped"));

  std::size_t missing = 0;
  for (const auto& id : receipted) {
    if (gw.query_int("SELECT count(*) FROM messages WHERE id = $1", {id}) != 1 ||
        gw.query_int("SELECT count(*) FROM deliveries WHERE message_id = $1", {id}) != 1)
      ++missing;
  }
  CHECK(missing == 0);
  auto report = bl::store::open_reader(gw.store_options())->verify_audit();
  INFO(report.problem);
  CHECK(report.ok);
}

TEST_CASE("a corrupt database file makes the gateway exit with code 3 and say why",
          "[system][startup][sqlite]") {
  gateway_process gw;
  http_client fire(gw.port());
  submit(fire, bl::test::a12_rtc_request(new_message_id(essex_fire)), essex_fire);
  gw.kill(SIGTERM);
  REQUIRE(gw.wait_exit() == 0);

  // Whatever damaged the file (a bad restore, a disk fault), the gateway must not adopt it.
  {
    std::ofstream out(gw.db_path(), std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 512; ++i) out << "this is not an SQLite database, it is garbage #" << i;
  }
  std::filesystem::remove(gw.db_path().string() + "-wal");
  std::filesystem::remove(gw.db_path().string() + "-shm");
  gw.launch();
  const int code = gw.wait_exit();
  const std::string err = gw.stderr_text();
  INFO("stderr:\n" << err);
  CHECK(code == 3);
  CHECK(contains(err, "cannot start"));
  CHECK(contains(err, gw.db_path().string()));
  CHECK(contains(err, "unusable"));
}

TEST_CASE("a bad config makes the gateway exit with code 2 and name the JSON pointer",
          "[system][startup][sqlite]") {
  SECTION("a value the schema forbids") {
    gateway_process gw(json{{"database", {{"synchronous", "off"}}}}, false);
    gw.launch();
    const int code = gw.wait_exit();
    INFO("stderr:\n" << gw.stderr_text());
    CHECK(code == 2);
    CHECK(contains(gw.stderr_text(), "/database/synchronous"));
  }
  SECTION("a misspelt key") {
    gateway_process gw(json{{"listen", {{"adress", "127.0.0.1"}}}}, false);
    gw.launch();
    const int code = gw.wait_exit();
    INFO("stderr:\n" << gw.stderr_text());
    CHECK(code == 2);
    CHECK(contains(gw.stderr_text(), "/listen"));
  }
}
