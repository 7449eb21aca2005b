// The UCRI2 project's own reference test client, standalone suite
// (PMeV-EFUL/ucri2 reference-implementations/ucrm-test-client/tests/standalone-tests.js),
// reproduced step by step against the real gateway binary from the suite's published steps: the
// same order, the same requests (generators/bodyGenerators.js), the same expected HTTP statuses
// and UCRI2 codes (responseCheckers.js, shared-js/ucrmErrorCodes.js). Nothing of the suite's
// code is used; what differs from it, and why, is said where it does. Then what issue 17 adds to
// it: a reused messageId, an identical repeat, and a message relayed from one UCRI2 client to
// another as it was sent.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

// A namespace of its own: the unity build may put this file with ucri2_system_test.cpp, whose
// helpers have the same names.
namespace ucri2_suite {

using namespace std::chrono_literals;
using bl::test::gateway_process;
using bl::test::http_client;
using bl::test::http_response;
using nlohmann::json;

// The suite's participants: userA1 sends, userA2 receives; unknownOID is no one.
const std::string ucrm_oid = "1.2.3.4.5";
const std::string sender_oid = "1.2.3.4.5.6";    // essex-fire, a UCRI2 client
const std::string receiver_oid = "1.2.3.4.5.8";  // eeast-ambulance, a UCRI2 client
const std::string unknown_oid = "1.2.3.4.5.1";

json suite_config() {
  return {{"ucri2",
           {{"oid", ucrm_oid},
            {"support_email", "support@example.org"},
            {"participants",
             {{{"agency", "essex-fire"}, {"oid", sender_oid}, {"client", true}},
              {{"agency", "eeast-ambulance"}, {"oid", receiver_oid}, {"client", true}}}}}}};
}

http_response authorize(http_client& c, const std::string& user, const std::string& password) {
  return c.request_with("GET", "/ucri2/token", {},
                        {{"Authorization", bl::test::basic_authorization(user, password)}});
}

// The suite's incident (bodyGenerators.js genBodySendRequest), every field as it has it, except
// that its 0.1-era "additionalInfo" is 1.0's "additionalInformation" (the suite's data is then
// exactly the published incident_transfer 1.0 schema's own example).
const std::string suite_data =
    R"({"sharedIncidentId":"550e8400-e29b-41d4-a716-446655440000","internalId":"f123456",)"
    R"("classifications":["A1","F2"],"issue":"Notfall","flashingLights":true,)"
    R"("additionalInformation":"Zusatzinformationen","sentByDispatcherAt":"2024-01-01T10:05:08Z",)"
    R"("startTimestamp":"2024-01-01T09:55:15Z","missionLocation":{"coordinate":{"lat":65.453323,)"
    R"("lon":14.542343},"address":{"street":"Musterstrasse","houseNumber":"15b",)"
    R"("postalCode":"12345","city":"Musterhausen","cityDistrict":"Musterberg",)"
    R"("state":"Brandenburg","country":"DE"},"object":{"name":"Abteilung IV, Haus 3",)"
    R"("additionalInformation":"Campus West"},"superiorObject":{"name":"Krankenhaus Musterstift",)"
    R"("additionalInformation":"Weitere Informationen"},"floor":"3. OG","room":"412",)"
    R"("additionalInformation":"Weitere Informationen"},"informers":[{"name":"Musterfrau",)"
    R"("surname":"Heike","phone":"+49 30 234567","email":"heike.musterfrau@example.com"}]})";

// genBodySendRequest(source, destination) with the suite's overrides merged into the payload.
// appVersion: the suite's revision sends "0.1", the draft of incident_transfer that the published
// 1.0 superseded; Bluelink carries 1.0 (0.1 is answered 466 below, as a version no destination
// here supports).
json send_body(const std::string& source, const std::string& destination,
               const json& payload_override = json::object()) {
  json body = {{"description", "Einsatzübergabe am 13.11.2023 um 20:20"},
               {"timeout", 20},
               {"ack", "ALL"},
               {"source", source},
               {"destinations", {destination}},
               {"payload",
                {{"appId", "incident_transfer"},
                 {"appVersion", "1.0"},
                 {"schemaId", "incident"},
                 {"contentType", "application/json"},
                 {"data", suite_data}}}};
  body["payload"].update(payload_override);
  return body;
}

// genBodyReceiveRequest. maxDelay: the suite sends none and its reference UCRM answers an empty
// queue at once; Bluelink long-polls up to 30 s by default, so the empty steps ask for 1 s.
json receive_body(const std::string& destination, int max_messages = 5, int max_delay = -1) {
  json b = {{"destinations", {destination}}, {"maxMessages", max_messages}};
  if (max_delay >= 0) b["maxDelay"] = max_delay;
  return b;
}

json commit_body(const std::string& destination, std::int64_t seq) {
  return {{"destination", destination}, {"sequenceId", seq}};
}

// createErrorResponseChecker: an integer code, a string reason, the expected code.
void expect_error(const http_response& r, int http, int code) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == http);
  REQUIRE(r.json.is_object());
  CHECK(r.json.at("code").is_number_integer());
  CHECK(r.json.at("reason").is_string());
  CHECK(r.json.at("code") == code);
}

// checkReceiveResponse(n): a messages array of length n.
json expect_messages(const http_response& r, std::size_t n) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json.at("messages").is_array());
  REQUIRE(r.json.at("messages").size() == n);
  return r.json.at("messages");
}

TEST_CASE("the UCRI2 reference client's standalone suite passes step by step",
          "[system][ucri2][conformance]") {
  gateway_process gw(suite_config());
  http_client c(gw.port());
  const std::string a1_password = gateway_process::token("essex-fire");
  const std::string a2_password = gateway_process::token("eeast-ambulance");

  // authorize: wrong password, unknown user, then both users.
  CHECK(authorize(c, sender_oid, "wrongPassword").status == 401);
  CHECK(authorize(c, "unknownUser", "test").status == 401);
  auto a1 = authorize(c, sender_oid, a1_password);
  REQUIRE(a1.status == 200);
  auto a2 = authorize(c, receiver_oid, a2_password);
  REQUIRE(a2.status == 200);
  const std::string sender = a1.json.at("token").get<std::string>();
  const std::string receiver = a2.json.at("token").get<std::string>();

  // get info (checkInfoResponse: apiVersion a string, status an integer; the suite's revisions
  // name the provider crmProvider or ucrmProvider, the spec's bundle ucrmProvider).
  auto info = c.get("/ucri2/info", sender);
  REQUIRE(info.status == 200);
  CHECK(info.json.at("apiVersion").is_string());
  CHECK(info.json.at("ucrmProvider").is_string());
  CHECK(info.json.at("status").is_number_integer());

  // get registry entries (should be 3): the UCRM and the two clients.
  auto reg = c.get("/ucri2/registry", sender);
  REQUIRE(reg.status == 200);
  CHECK(reg.json.at("commParticipants").size() == 3);
  CHECK(c.get("/ucri2/registry/" + receiver_oid, sender).status == 200);

  // receive: empty, unknown OID, someone else's OID.
  CHECK(c.post("/ucri2/messaging/receive", receive_body(sender_oid, 5, 1), sender).status == 204);
  expect_error(c.post("/ucri2/messaging/receive", receive_body("1.666"), sender), 400, 470);
  expect_error(c.post("/ucri2/messaging/receive", receive_body(receiver_oid), sender), 400, 478);

  // commit with nothing to commit.
  expect_error(c.post("/ucri2/messaging/commit", commit_body(sender_oid, 1234), sender), 400, 471);

  // send: each refusal in the suite's order.
  const auto send = [&](const json& body) { return c.post("/ucri2/messaging/send", body, sender); };
  expect_error(send(send_body(receiver_oid, receiver_oid)), 400, 478);
  expect_error(send(send_body(sender_oid, unknown_oid)), 400, 470);
  expect_error(send(send_body(sender_oid, receiver_oid, {{"appId", "unknownApp"}})), 400, 461);
  expect_error(send(send_body(sender_oid, receiver_oid, {{"appVersion", "999.999"}})), 400, 462);
  expect_error(send(send_body(sender_oid, receiver_oid, {{"schemaId", "unknownMessage"}})), 400,
               463);
  expect_error(send(send_body(sender_oid, receiver_oid, {{"appId", "patient_transport"}})), 400,
               466);
  expect_error(send(send_body(sender_oid, receiver_oid, {{"appVersion", "0.1"}})), 400, 466);
  expect_error(send(send_body(sender_oid, receiver_oid, {{"data", "some invalid data"}})), 400,
               465);
  expect_error(
      send(send_body(sender_oid, receiver_oid, {{"data", json{{"invalidData", true}}.dump()}})),
      400, 464);

  // A working round: two messages, received, re-received, committed one at a time.
  auto first = send(send_body(sender_oid, receiver_oid));
  INFO(first.body);
  REQUIRE(first.status == 200);
  std::this_thread::sleep_for(500ms);
  expect_messages(c.post("/ucri2/messaging/receive", receive_body(receiver_oid), receiver), 1);
  REQUIRE(send(send_body(sender_oid, receiver_oid)).status == 200);
  std::this_thread::sleep_for(500ms);
  auto both =
      expect_messages(c.post("/ucri2/messaging/receive", receive_body(receiver_oid), receiver), 2);
  // Same standard in and out: each arrives with the payload exactly as the sender sent it.
  for (const auto& m : both) {
    CHECK(m.at("payload").at("data") == suite_data);
    CHECK(m.at("source") == sender_oid);
    CHECK(m.at("destination") == receiver_oid);
    CHECK(m.at("description") == "Einsatzübergabe am 13.11.2023 um 20:20");
  }
  CHECK(both[0].at("sequenceId") == 1);
  CHECK(both[1].at("sequenceId") == 2);
  expect_messages(c.post("/ucri2/messaging/receive", receive_body(receiver_oid, 1), receiver), 1);
  CHECK(c.post("/ucri2/messaging/commit", commit_body(receiver_oid, 1), receiver).status == 204);
  auto second =
      expect_messages(c.post("/ucri2/messaging/receive", receive_body(receiver_oid), receiver), 1);
  CHECK(second[0].at("sequenceId") == 2);
  CHECK(c.post("/ucri2/messaging/commit", commit_body(receiver_oid, 2), receiver).status == 204);
  CHECK(c.post("/ucri2/messaging/receive", receive_body(receiver_oid, 5, 1), receiver).status ==
        204);

  // get individual registry entry (unknown): HTTP 404 with 470.
  expect_error(c.get("/ucri2/registry/" + unknown_oid, sender), 404, 470);
}

TEST_CASE(
    "a UCRI2 messageId is one message: an identical repeat gets the first answer, other content "
    "under it is refused, and the send is kept byte for byte",
    "[system][ucri2][conformance]") {
  gateway_process gw(suite_config());
  http_client c(gw.port());
  const std::string sender =
      authorize(c, sender_oid, gateway_process::token("essex-fire")).json.at("token");
  const std::string receiver =
      authorize(c, receiver_oid, gateway_process::token("eeast-ambulance")).json.at("token");

  // No sentDate: the gateway settles it, and a repeat must still be answered with the first one.
  json body = send_body(sender_oid, receiver_oid);
  body["messageId"] = "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e";
  body["signature"] = "eyJhbGciOiJSUzI1NiJ9.cGF5bG9hZA.c2lnbmF0dXJl";
  body["tags"] = {"Übung"};
  // Sent as these bytes (spacing and key order of the client's own), to show they are kept.
  json rest = body;
  rest.erase("messageId");
  const std::string raw =
      "{ \"messageId\": \"6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e\",\n  " + rest.dump().substr(1);
  auto first = c.request("POST", "/ucri2/messaging/send", raw, sender);
  INFO(first.body);
  REQUIRE(first.status == 200);
  std::this_thread::sleep_for(1100ms);  // a later send would get a later sentDate
  auto again = c.request("POST", "/ucri2/messaging/send", raw, sender);
  REQUIRE(again.status == 200);
  CHECK(again.json == first.json);
  CHECK(again.body == first.body);

  // The same id with another payload: refused, naming the id; the first stands.
  json changed = body;
  json changed_data = json::parse(suite_data);
  changed_data["issue"] = "Brand";
  changed["payload"]["data"] = changed_data.dump();
  auto reused = c.post("/ucri2/messaging/send", changed, sender);
  expect_error(reused, 400, 460);
  CHECK(reused.json.at("blCode") == "bl.message.id_reused");
  CHECK(reused.json.at("pointer") == "/messageId");
  // Another description, timeout or ack is not other content: the first answer again.
  json redescribed = body;
  redescribed["description"] = "noch einmal";
  auto same = c.post("/ucri2/messaging/send", redescribed, sender);
  REQUIRE(same.status == 200);
  CHECK(same.json == first.json);

  // The receiver gets one message, as sent: data, signature, tags and description untouched.
  auto got = expect_messages(
      c.post("/ucri2/messaging/receive", receive_body(receiver_oid, 5, 5), receiver), 1);
  const json& m = got[0];
  CHECK(m.at("messageId") == "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e");
  CHECK(m.at("payload").at("data") == suite_data);
  CHECK(json::parse(m.at("payload").at("data").get<std::string>()).at("classifications") ==
        json::array({"A1", "F2"}));
  CHECK(m.at("signature") == body.at("signature"));
  CHECK(m.at("tags") == body.at("tags"));
  CHECK(m.at("sentDate") == first.json.at("sentDate"));
  CHECK(m.at("ack") == "ALL");
  CHECK(m.at("timeout") == 20);

  // The send is kept byte for byte with the transfer it made, for its parties only.
  const std::string fire_api = gateway_process::token("essex-fire");
  auto list = c.get("/api/v1/transfers", fire_api);
  REQUIRE(list.status == 200);
  REQUIRE(list.json.at("transfers").size() == 1);
  const std::string transfer_id = list.json.at("transfers")[0].at("transfer_id");
  auto detail = c.get("/api/v1/transfers/" + transfer_id, fire_api);
  REQUIRE(detail.status == 200);
  const json& originals = detail.json.at("transfer").at("originals");
  REQUIRE(originals.size() == 1);
  CHECK(originals[0].at("standard") == "UCRI2 incident_transfer 1.0 incident");
  CHECK(originals[0].at("media_type") == "application/json");
  CHECK(originals[0].at("bytes") == raw.size());
  const std::string message_id = originals[0].at("message_id");
  auto original = c.get("/api/v1/originals/" + message_id, fire_api);
  REQUIRE(original.status == 200);
  CHECK(original.body == raw);
  CHECK(original.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(original.header("Bluelink-Standard") == "UCRI2 incident_transfer 1.0 incident");
  CHECK(original.header("Content-Security-Policy").find("sandbox") != std::string::npos);
  CHECK(
      c.get("/api/v1/originals/" + message_id, gateway_process::token("eeast-ambulance")).status ==
      200);
  // Not a party: the same answer as for a message that does not exist.
  auto outsider = c.get("/api/v1/originals/" + message_id, gateway_process::token("essex-police"));
  CHECK(outsider.status == 404);
  CHECK(outsider.json.at("error").at("code") == "bl.request.not_found");
  CHECK(c.get("/api/v1/originals/essex-fire:no-such", fire_api).status == 404);
}

}  // namespace ucri2_suite
