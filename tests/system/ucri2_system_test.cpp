// Conformance of the gateway's UCRI2 Client API (PMeV-EFUL/ucri2: staging/spec/client_api.md,
// api/crm/2.0.0/ucrm-client-bundled.json, ucriErrorCodes.json) against the real binary. The
// requests are built here from the spec (paths, field names, status codes, error codes), with
// plain HTTP; nothing of the server's code is used.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"

namespace {

using namespace std::chrono_literals;
using bl::test::gateway_process;
using bl::test::http_client;
using bl::test::http_response;
using nlohmann::json;

const std::string ucrm_oid = "1.2.276.0.99";
const std::string fire_oid = "1.2.276.0.99.1";       // a UCRI2 client
const std::string police_oid = "1.2.276.0.99.2";     // a Bluelink agency (HTTP API)
const std::string ambulance_oid = "1.2.276.0.99.3";  // a UCRI2 client

json ucri2_config() {
  return {{"ucri2",
           {{"oid", ucrm_oid},
            {"support_email", "support@example.org"},
            {"participants",
             {{{"agency", "essex-fire"}, {"oid", fire_oid}, {"client", true}},
              {{"agency", "essex-police"}, {"oid", police_oid}},
              {{"agency", "eeast-ambulance"}, {"oid", ambulance_oid}, {"client", true}}}}}}};
}

// GET /token with HTTP Basic: the client id is the participant's OID, the secret its agency's
// Bluelink bearer token.
http_response fetch_token(http_client& c, const std::string& oid, const std::string& secret) {
  return c.request_with("GET", "/ucri2/token", {},
                        {{"Authorization", bl::test::basic_authorization(oid, secret)}});
}

std::string token_for(http_client& c, const std::string& oid, const std::string& agency) {
  auto r = fetch_token(c, oid, gateway_process::token(agency));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json.at("token").get<std::string>();
}

// The spec's error object: {code, reason[, message]} with the HTTP status it belongs to.
void require_error(const http_response& r, int http_status, int code) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == http_status);
  REQUIRE(r.json.is_object());
  CHECK(r.json.at("code") == code);
  CHECK(r.json.at("reason").is_string());
}

json incident(const std::string& shared, const std::string& internal) {
  return {
      {"sharedIncidentId", shared},
      {"internalId", internal},
      {"classifications", {"TH", "VU"}},
      {"issue", "Verkehrsunfall mit eingeklemmter Person"},
      {"flashingLights", true},
      {"sentByDispatcherAt", "2026-11-21T10:05:08Z"},
      {"missionLocation",
       {{"coordinate", {{"lat", 51.7356}, {"lon", 0.4685}}},
        {"address", {{"street", "Hauptstraße"}, {"houseNumber", "1"}, {"city", "Chelmsford"}}}}}};
}

// A senderRequest (envelope + destinations) carrying `data` as the payload's JSON string.
json envelope(const std::string& message_id, const std::string& source, const std::string& dest,
              const std::string& app, const std::string& schema, const json& data,
              const std::string& ack = "NONE", int timeout = 3600) {
  return {{"messageId", message_id},
          {"timeout", timeout},
          {"ack", ack},
          {"source", source},
          {"destinations", {dest}},
          {"payload",
           {{"appId", app},
            {"appVersion", "1.0"},
            {"schemaId", schema},
            {"contentType", "application/json"},
            {"data", data.dump()}}}};
}

http_response receive(http_client& c, const std::string& token, const std::string& oid,
                      int max_delay) {
  return c.post("/ucri2/messaging/receive",
                json{{"destinations", {oid}}, {"maxMessages", 10}, {"maxDelay", max_delay}}, token);
}

void commit(http_client& c, const std::string& token, const std::string& oid, std::int64_t seq) {
  auto r =
      c.post("/ucri2/messaging/commit", json{{"destination", oid}, {"sequenceId", seq}}, token);
  INFO(r.body);
  REQUIRE(r.status == 204);
}

json payload_data(const json& item) {
  return json::parse(item.at("payload").at("data").get<std::string>());
}

// Receives (committing whatever else arrives) until a message of `app`/`schema` comes.
json receive_until(http_client& c, const std::string& token, const std::string& oid,
                   const std::string& schema) {
  for (int round = 0; round < 10; ++round) {
    auto r = receive(c, token, oid, 30);
    INFO(r.body);
    REQUIRE((r.status == 200 || r.status == 204));
    if (r.status == 204) continue;
    for (const auto& m : r.json.at("messages")) {
      commit(c, token, oid, m.at("sequenceId").get<std::int64_t>());
      if (m.at("payload").at("schemaId") == schema) return m;
    }
  }
  FAIL("no " << schema << " arrived");
  return {};
}

json police_inbox(http_client& c) {
  auto r = c.get("/api/v1/inbox", gateway_process::token("essex-police"));
  REQUIRE(r.status == 200);
  return r.json.at("deliveries");
}

}  // namespace

TEST_CASE(
    "a UCRI2 client gets a token, reads info and registry, and its incident reaches a "
    "Bluelink agency as a transfer request",
    "[system][ucri2]") {
  gateway_process gw(ucri2_config());
  http_client c(gw.port());

  auto bad = fetch_token(c, fire_oid, "not-the-secret");
  require_error(bad, 401, 475);
  require_error(fetch_token(c, police_oid, gateway_process::token("essex-police")), 401, 475);
  std::string tok = token_for(c, fire_oid, "essex-fire");
  CHECK(std::count(tok.begin(), tok.end(), '.') == 2);  // a JWT: header.claims.signature

  require_error(c.get("/ucri2/info", ""), 401, 475);
  require_error(c.get("/ucri2/info", tok + "x"), 401, 475);
  auto info = c.get("/ucri2/info", tok);
  REQUIRE(info.status == 200);
  for (const char* key : {"apiVersion", "ucrmProvider", "ucrmProductName", "ucrmVersion"})
    CHECK(info.json.at(key).is_string());
  CHECK(info.json.at("status") == 0);

  auto reg = c.get("/ucri2/registry", tok);
  REQUIRE(reg.status == 200);
  bool police_listed = false;
  for (const auto& p : reg.json.at("commParticipants")) {
    for (const char* key : {"id", "systemName", "operatorName", "operatorShortName"})
      CHECK(p.at(key).is_string());
    CHECK(p.at("techSupport").contains("e-mail"));
    if (p.at("id") == police_oid) {
      police_listed = true;
      const json& apps = p.at("supportedApps");
      CHECK(std::find(apps.begin(), apps.end(),
                      json{{"appId", "incident_transfer"}, {"appVersion", "1.0"}}) != apps.end());
    }
  }
  CHECK(police_listed);
  auto one = c.get("/ucri2/registry/" + ambulance_oid, tok);
  REQUIRE(one.status == 200);
  CHECK(one.json.at("id") == ambulance_oid);
  require_error(c.get("/ucri2/registry/9.9.9", tok), 404, 470);
  // Outside the API: HTTP's own 404 and 405, with no UCRI2 code (the spec gives its codes to
  // 400, 401 and 500 only).
  for (const auto& [method, path, status] :
       {std::tuple<std::string, std::string, int>{"GET", "/ucri2/no-such-endpoint", 404},
        {"POST", "/ucri2/messaging/nothing", 404},
        {"GET", "/ucri2/messaging/send", 405},
        {"POST", "/ucri2/registry", 405}}) {
    auto r = c.request(method, path, "", tok);
    INFO(method << " " << path << ": " << r.status << " " << r.body);
    CHECK(r.status == status);
    REQUIRE(r.json.is_object());
    CHECK(!r.json.contains("code"));
    CHECK(r.json.at("reason").is_string());
    CHECK(r.json.at("message").get<std::string>().find(path) != std::string::npos);
    if (status == 405) CHECK(!r.header("Allow").empty());
  }

  const std::string shared = "550e8400-e29b-41d4-a716-446655440000";
  json send = envelope("0b6f8e2c-3b1a-4c61-9a43-7d1c2f5e9a10", fire_oid, police_oid,
                       "incident_transfer", "incident", incident(shared, "F-4711"));
  auto sent = c.post("/ucri2/messaging/send", send, tok);
  INFO(sent.body);
  REQUIRE(sent.status == 200);
  CHECK(sent.json.at("messageId") == "0b6f8e2c-3b1a-4c61-9a43-7d1c2f5e9a10");
  CHECK(sent.json.at("destinations") == json::array({police_oid}));
  for (const char* key : {"sentDate", "timeout", "ack"}) CHECK(sent.json.contains(key));

  auto deliveries = police_inbox(c);
  REQUIRE(deliveries.size() == 1);
  const json& msg = deliveries[0].at("message");
  CHECK(msg.at("type") == "transfer.request");
  CHECK(msg.at("from") == "essex-fire");
  CHECK(msg.at("body").at("sender_incident").at("number") == shared);
  CHECK(msg.at("body").at("sender_incident").at("system") == "UCRI2 F-4711");
  CHECK(msg.at("body").at("methane").at("exact_location").at("wgs84").at("lat") == 51.7356);
  CHECK(msg.at("body").at("priority") == "emergency");

  // The same messageId again: the same answer, and still one transfer.
  auto again = c.post("/ucri2/messaging/send", send, tok);
  CHECK(again.status == 200);
  CHECK(police_inbox(c).size() == 1);

  SECTION("bad requests get the spec's error codes") {
    json d = incident(shared, "F-4712");
    d["missionLocation"]["coordinate"]["lat"] = 123;
    auto r = c.post("/ucri2/messaging/send",
                    envelope("2e0d3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b", fire_oid, police_oid,
                             "incident_transfer", "incident", d),
                    tok);
    require_error(r, 400, 464);
    CHECK(r.json.at("pointer") == "/payload/data/missionLocation/coordinate/lat");
    require_error(c.post("/ucri2/messaging/send",
                         envelope("2e0d3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5c", fire_oid, "7.7.7",
                                  "incident_transfer", "incident", incident(shared, "F")),
                         tok),
                  400, 470);
    require_error(c.post("/ucri2/messaging/send",
                         envelope("2e0d3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5d", ambulance_oid, police_oid,
                                  "incident_transfer", "incident", incident(shared, "F")),
                         tok),
                  400, 478);
    // client_api.md's order: the source, then the destination, before anything of the payload.
    // A caller that may not send as the source is told only that, whatever its payload holds.
    require_error(c.post("/ucri2/messaging/send",
                         envelope("2e0d3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a60", ambulance_oid, "7.7.7",
                                  "unknown_app", "incident", d),
                         tok),
                  400, 478);
    require_error(c.post("/ucri2/messaging/send",
                         envelope("2e0d3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a61", fire_oid, "7.7.7",
                                  "incident_transfer", "incident", d),
                         tok),
                  400, 470);
    require_error(
        c.post("/ucri2/messaging/send",
               envelope("2e0d3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5e", fire_oid, police_oid,
                        "transport_layer_messages", "message_delivery_status", json::object()),
               tok),
        400, 467);
    require_error(c.post("/ucri2/messaging/send",
                         envelope("2e0d3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5f", fire_oid, police_oid,
                                  "unknown_app", "incident", json::object()),
                         tok),
                  400, 461);
    require_error(c.request("POST", "/ucri2/messaging/send", "{not json", tok), 400, 460);
    json no_dest = send;
    no_dest.erase("destinations");
    require_error(c.post("/ucri2/messaging/send", no_dest, tok), 400, 460);
    require_error(c.post("/ucri2/messaging/send", send, "forged.token.value"), 401, 475);
    CHECK(police_inbox(c).size() == 1);  // none of them was stored
  }
}

TEST_CASE("a Bluelink request reaches a UCRI2 client by long-poll, and only a commit removes it",
          "[system][ucri2]") {
  gateway_process gw(ucri2_config());
  http_client c(gw.port());
  std::string amb = token_for(c, ambulance_oid, "eeast-ambulance");

  // Nothing yet: an immediate answer with 204 when maxDelay is 0.
  CHECK(receive(c, amb, ambulance_oid, 0).status == 204);
  require_error(receive(c, amb, fire_oid, 0), 400, 478);
  // Nothing to commit: 471 REQUEST_NO_MESSAGES_TO_COMMIT, as the UCRI2 project's reference test
  // client expects of a commit beyond the last message.
  require_error(c.post("/ucri2/messaging/commit",
                       json{{"destination", ambulance_oid}, {"sequenceId", 1234}}, amb),
                400, 471);

  // A long-poll waiting when the request is sent wakes with it.
  auto waiting = std::async(std::launch::async, [&gw, amb] {
    http_client poller(gw.port());
    poller.set_timeout(40s);
    return receive(poller, amb, ambulance_oid, 30);
  });
  std::this_thread::sleep_for(300ms);
  json req = bl::test::rtc_request(bl::test::new_message_id("essex-fire"), "essex-fire",
                                   "eeast-ambulance", "ambulance.casualty_care", "emergency");
  auto posted = c.post("/api/v1/messages", req, gateway_process::token("essex-fire"));
  REQUIRE(posted.status == 202);
  std::string transfer_id = posted.json.at("receipt").at("transfer_id");
  auto woke = waiting.get();
  INFO(woke.body);
  REQUIRE(woke.status == 200);
  REQUIRE(woke.json.at("messages").size() == 1);
  json item = woke.json.at("messages")[0];
  CHECK(item.at("destination") == ambulance_oid);
  CHECK(item.at("source") == fire_oid);
  CHECK(item.at("payload").at("appId") == "incident_transfer");
  CHECK(item.at("payload").at("schemaId") == "incident");
  json data = payload_data(item);
  CHECK(data.at("internalId") == req.at("body").at("sender_incident").at("number"));
  CHECK(data.at("missionLocation").at("coordinate").at("lat") ==
        req.at("body").at("methane").at("exact_location").at("wgs84").at("lat"));
  CHECK(data.at("flashingLights") == true);
  std::int64_t seq = item.at("sequenceId").get<std::int64_t>();

  // Without a commit the same message comes again, with the same sequenceId.
  auto again = receive(c, amb, ambulance_oid, 0);
  REQUIRE(again.status == 200);
  CHECK(again.json.at("messages")[0].at("sequenceId") == seq);
  CHECK(again.json.at("messages")[0].at("messageId") == item.at("messageId"));

  commit(c, amb, ambulance_oid, seq);
  commit(c, amb, ambulance_oid, seq);  // idempotent
  CHECK(receive(c, amb, ambulance_oid, 0).status == 204);
  require_error(
      c.post("/ucri2/messaging/commit", json{{"destination", fire_oid}, {"sequenceId", seq}}, amb),
      400, 478);

  // The commit is Bluelink's delivery: the requester is told the transfer was delivered.
  auto fire_inbox = c.get("/api/v1/inbox", gateway_process::token("essex-fire"));
  bool delivered = false;
  for (const auto& d : fire_inbox.json.at("deliveries"))
    if (d.at("type") == "receipt" && d.at("message").at("body").at("status") == "delivered")
      delivered = true;
  CHECK(delivered);

  // The UCRI2 client accepts by the sharedIncidentId it was given.
  json ack = {{"sharedIncidentId", data.at("sharedIncidentId")},
              {"acknowledgedByDispatcherAt", "2026-11-21T10:06:09Z"},
              {"status", "accepted"},
              {"cause", "Wir übernehmen"}};
  auto acked = c.post("/ucri2/messaging/send",
                      envelope("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", ambulance_oid, fire_oid,
                               "incident_transfer", "acknowledgement", ack),
                      amb);
  INFO(acked.body);
  REQUIRE(acked.status == 200);
  auto t = c.get("/api/v1/transfers/" + transfer_id, gateway_process::token("essex-fire"));
  REQUIRE(t.status == 200);
  CHECK(t.json.at("transfer").at("state") == "accepted");

  ack["sharedIncidentId"] = "12345678-1234-4234-8234-123456789012";
  auto unknown = c.post("/ucri2/messaging/send",
                        envelope("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f1", ambulance_oid, fire_oid,
                                 "incident_transfer", "acknowledgement", ack),
                        amb);
  require_error(unknown, 400, 464);
  CHECK(unknown.json.at("pointer") == "/payload/data/sharedIncidentId");
}

TEST_CASE(
    "delivery status follows the ack mode: ALL reports the commit, NACK the timeout, NONE "
    "nothing",
    "[system][ucri2]") {
  gateway_process gw(ucri2_config());
  http_client c(gw.port());
  std::string fire = token_for(c, fire_oid, "essex-fire");
  std::string amb = token_for(c, ambulance_oid, "eeast-ambulance");

  // ALL: the receiver's commit comes back as message_delivery_status 200.
  const std::string all_id = "a1a1a1a1-0000-4000-8000-000000000001";
  REQUIRE(c.post("/ucri2/messaging/send",
                 envelope(all_id, fire_oid, ambulance_oid, "incident_transfer", "incident",
                          incident("11111111-2222-4333-8444-555555555555", "F-1"), "ALL"),
                 fire)
              .status == 200);
  auto got = receive(c, amb, ambulance_oid, 5);
  REQUIRE(got.status == 200);
  commit(c, amb, ambulance_oid, got.json.at("messages")[0].at("sequenceId"));
  json status = receive_until(c, fire, fire_oid, "message_delivery_status");
  CHECK(status.at("source") == ucrm_oid);
  CHECK(status.at("payload").at("appId") == "transport_layer_messages");
  json sd = payload_data(status);
  CHECK(sd.at("refMessageId") == all_id);
  CHECK(sd.at("destination") == ambulance_oid);
  CHECK(sd.at("statusCode") == 200);

  // NONE: the receiver commits and the sender hears nothing.
  REQUIRE(c.post("/ucri2/messaging/send",
                 envelope("a1a1a1a1-0000-4000-8000-000000000002", fire_oid, ambulance_oid,
                          "incident_transfer", "incident",
                          incident("11111111-2222-4333-8444-555555555556", "F-2"), "NONE"),
                 fire)
              .status == 200);
  got = receive(c, amb, ambulance_oid, 5);
  REQUIRE(got.status == 200);
  commit(c, amb, ambulance_oid, got.json.at("messages")[0].at("sequenceId"));
  CHECK(receive(c, fire, fire_oid, 1).status == 204);

  // NACK with the shortest timeout: nobody commits, so the sender gets 504.
  const std::string nack_id = "a1a1a1a1-0000-4000-8000-000000000003";
  REQUIRE(c.post("/ucri2/messaging/send",
                 envelope(nack_id, fire_oid, police_oid, "incident_transfer", "incident",
                          incident("11111111-2222-4333-8444-555555555557", "F-3"), "NACK", 10),
                 fire)
              .status == 200);
  status = receive_until(c, fire, fire_oid, "message_delivery_status");
  sd = payload_data(status);
  CHECK(sd.at("refMessageId") == nack_id);
  CHECK(sd.at("destination") == police_oid);
  CHECK(sd.at("statusCode") == 504);
}

TEST_CASE("UCRI2 numeric fields out of range get 400 with code 460 instead of wrapping",
          "[system][ucri2][security]") {
  // maxMessages 4294967295 once wrapped to -1, "no limit": one reply of 12.6 MB.
  gateway_process gw(ucri2_config());
  http_client c(gw.port());
  std::string tok = token_for(c, fire_oid, "essex-fire");
  for (const json& bad : {json(std::uint64_t{4294967295}), json(0), json(1001), json(2.5)}) {
    INFO(bad.dump());
    auto r = c.post("/ucri2/messaging/receive",
                    json{{"destinations", {fire_oid}}, {"maxMessages", bad}, {"maxDelay", 0}}, tok);
    require_error(r, 400, 460);
  }
  require_error(
      c.post("/ucri2/messaging/receive",
             json{{"destinations", {fire_oid}}, {"maxDelay", std::uint64_t{4294967296}}}, tok),
      400, 460);
  require_error(
      c.post("/ucri2/messaging/commit",
             json{{"destination", fire_oid}, {"sequenceId", std::uint64_t{18446744073709551615u}}},
             tok),
      400, 460);
  auto timeout = envelope("0b6f8a52-3d1e-4c2a-9f57-8e2d41c7a9b4", fire_oid, police_oid,
                          "incident_transfer", "incident", incident("x", "y"));
  timeout["timeout"] = std::uint64_t{4294967306};
  require_error(c.post("/ucri2/messaging/send", timeout, tok), 400, 460);
  // In range still works: an empty queue answers 204 at once with maxDelay 0.
  auto ok = c.post("/ucri2/messaging/receive",
                   json{{"destinations", {fire_oid}}, {"maxMessages", 1000}, {"maxDelay", 0}}, tok);
  CHECK(ok.status == 204);
}

TEST_CASE(
    "a participant that does not support an app or a message is listed so and refuses it "
    "with 466 and 468",
    "[system][ucri2]") {
  json cfg = ucri2_config();
  // The ambulance service's UCRI2 system takes incidents but sends its own completions, and
  // has no text notifications.
  cfg["ucri2"]["participants"][2]["supported_apps"] = {{{"app_id", "incident_transfer"},
                                                        {"app_version", "1.0"},
                                                        {"unsupported_messages", {"completion"}}}};
  gateway_process gw(cfg);
  http_client c(gw.port());
  std::string fire = token_for(c, fire_oid, "essex-fire");

  auto amb = c.get("/ucri2/registry/" + ambulance_oid, fire);
  REQUIRE(amb.status == 200);
  CHECK(amb.json.at("supportedApps") == json::parse(R"([
      {"appId": "incident_transfer", "appVersion": "1.0", "unsupportedMessages": ["completion"]},
      {"appId": "transport_layer_messages", "appVersion": "1.0"}])"));
  // Everyone else supports every app Bluelink translates, and says nothing is unsupported.
  auto police = c.get("/ucri2/registry/" + police_oid, fire);
  for (const auto& a : police.json.at("supportedApps"))
    CHECK_FALSE(a.contains("unsupportedMessages"));

  auto text = c.post("/ucri2/messaging/send",
                     envelope("b2b2b2b2-0000-4000-8000-000000000001", fire_oid, ambulance_oid,
                              "notification_text", "notification",
                              {{"sharedIncidentId", "11111111-2222-4333-8444-555555555558"},
                               {"notifications",
                                {{{"timestamp", "2026-11-21T10:06:00Z"},
                                  {"message", "Hydrant out of service, Duke Street"}}}}}),
                     fire);
  require_error(text, 400, 466);
  CHECK(text.json.at("reason") == "REQUEST_PAYLOAD_UNSUPPORTED_APPID_OR_APPVERSION");
  CHECK(text.json.at("message").get<std::string>().find("it supports incident_transfer 1.0") !=
        std::string::npos);

  auto done = c.post("/ucri2/messaging/send",
                     envelope("b2b2b2b2-0000-4000-8000-000000000002", fire_oid, ambulance_oid,
                              "incident_transfer", "completion",
                              {{"sharedIncidentId", "11111111-2222-4333-8444-555555555558"},
                               {"completedAt", "2026-11-21T11:00:00Z"},
                               {"status", "completed_sucessfully"}}),
                     fire);
  require_error(done, 400, 468);
  CHECK(done.json.at("reason") == "REQUEST_PAYLOAD_UNSUPPORTED_MESSAGE");

  // What it does support still goes through.
  auto ok = c.post(
      "/ucri2/messaging/send",
      envelope("b2b2b2b2-0000-4000-8000-000000000003", fire_oid, ambulance_oid, "incident_transfer",
               "incident", incident("11111111-2222-4333-8444-555555555559", "F-9")),
      fire);
  INFO(ok.body);
  CHECK(ok.status == 200);
}
