// EIDO conveyance over WebSocket (NENA-STA-024 style, docs/protocols/eido.md) against the real
// gateway binary, with the test's own client (tests/support/eido_client): subscriptions stream
// deliveries as EIDO events, eventResponse acknowledges them, requests become transfers exactly
// once, and every bad input gets the spec's status code with a specific Bluelink code.

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/eido_client.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;
using namespace std::chrono_literals;

std::string token_of(const std::string& agency) {
  return gateway_process::token(agency);
}

// The state of a transfer as `agency` sees it, once it is `want` or after 10 s of polling.
std::string wait_state(http_client& http, const std::string& agency, const std::string& transfer,
                       const std::string& want) {
  std::string state;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    auto r = http.get("/api/v1/transfers/" + transfer, token_of(agency));
    REQUIRE(r.status == 200);
    state = r.json["transfer"]["state"].get<std::string>();
    if (state == want) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return state;
}

// A CAD's own EIDO for a request to another agency, as a partner system would build it: NENA's
// EIDO 1.0 (the prologue on every component, the incident as the document's $id, a PIDF-LO
// location by value; no Bluelink extension). `from_id` and `to_id` are the agencies' EIDO
// identities: Bluelink agency ids, or a partner's own (partners[].eido_ids).
json cad_eido(const std::string& eido_id, const std::string& from_id, const std::string& to_id,
              const std::string& incident_number) {
  const std::string pidf =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><presence "
      "xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" "
      "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
      "xmlns:gml=\"http://www.opengis.net/gml\" "
      "xmlns:gs=\"http://www.opengis.net/pidflo/1.0\" entity=\"pres:cad@" +
      from_id +
      "\"><dm:device id=\"cad\"><gp:geopriv><gp:location-info><gs:Circle "
      "srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>51.5512 0.7101</gml:pos><gs:radius "
      "uom=\"urn:ogc:def:uom:EPSG::9001\">25</gs:radius></gs:Circle></gp:location-info>"
      "<gp:usage-rules/><gp:method>Manual</gp:method></gp:geopriv></dm:device></presence>";
  const std::string at = utc_now();  // one state of the incident: the same EIDO sent again
  const json by = {{"$ref", from_id}};
  auto prologue = [&](const std::string& id) {
    return json{{"$id", id}, {"lastUpdateTimeStamp", at}, {"updatedByAgencyReference", by}};
  };
  json doc = prologue("urn:emergency:uid:incidentid:" + eido_id + ":cad." + from_id);
  doc["eidoVersion"] = "1.0";
  doc["issuingElementIdentification"] = "cad." + from_id;
  json inc = prologue("urn:uuid:" + eido_id);
  inc["internalIncidentId"] = incident_number;
  inc["incidentTypeCommonRegistryText"] = "Fire";
  inc["incidentTypeInternalText"] = "Car alight on the seafront, spreading to a beach hut";
  inc["incidentCommonPriorityNumber"] = 1;
  inc["locationReference"] = {{{"$ref", "urn:uuid:loc-" + eido_id}}};
  doc["incidentComponent"] = inc;
  json sender = prologue(from_id);
  sender["agencyRoleDescriptionRegistryText"] = {"CallReceiving"};
  sender["agencyType"] = {"law"};
  json receiver = prologue(to_id);
  receiver["agencyRoleDescriptionRegistryText"] = {"Dispatch"};
  receiver["agencyType"] = {"fire"};
  doc["agencyComponent"] = {sender, receiver};
  json loc = prologue("urn:uuid:loc-" + eido_id);
  loc["locationTypeDescriptionRegistryText"] = "Incident";
  loc["locationByValue"] = pidf;
  loc["locationDescriptionText"] = "Western Esplanade by the pier, Southend-on-Sea";
  doc["locationComponent"] = {loc};
  return doc;
}

// Every EIDO the gateway sends validates against NENA's EIDO 1.0 schema.
void check_nena(const json& eido) {
  auto e = repo_schemas().validate("eido/nena_eido_1_0", eido);
  INFO(eido.dump());
  if (e) FAIL("not NENA EIDO 1.0: " << e->message << " at " << e->pointer);
}

// The deliveries of `agency`'s inbox whose message id is `id`.
json deliveries_of(http_client& http, const std::string& agency, const std::string& id) {
  auto r = http.get("/api/v1/inbox?after=0&limit=100", token_of(agency));
  REQUIRE(r.status == 200);
  json out = json::array();
  for (const auto& d : r.json["deliveries"])
    if (d["message"]["id"] == id) out.push_back(d);
  return out;
}

}  // namespace

TEST_CASE(
    "a subscribed CAD gets each delivery as an EIDO event and its eventResponse marks the "
    "transfer delivered",
    "[system][eido]") {
  gateway_process gw;
  eido_client ambulance(gw.port(), token_of(eeast_ambulance));
  CHECK(ambulance.selected_subprotocol() == "emergency-ent1.0");
  json sr = ambulance.subscribe_new("sub-1", 300)["subscribeResponse"];
  REQUIRE(sr["statusCode"] == 200);
  CHECK(sr["statusText"] == "OK");
  CHECK(sr["requestId"] == "sub-1");
  CHECK(sr["expires"] == 300);
  const std::string sid = sr["subscriptionId"].get<std::string>();
  CHECK_FALSE(sid.empty());

  http_client http(gw.port());
  json request = casualty_care_request(new_message_id(essex_fire, "harlow"));
  auto sent = http.post("/api/v1/messages", request, token_of(essex_fire));
  REQUIRE(sent.status == 202);
  const std::string transfer = sent.json["receipt"]["transfer_id"].get<std::string>();

  json ev = ambulance.next_of("event")["event"];
  CHECK(ev["subscriptionId"] == sid);
  REQUIRE(ev["notification"].size() == 1);
  check_nena(ev["notification"][0]);
  const std::string eido = ev["notification"][0].dump();
  // The sender's incident number, the transfer and the location travel in the EIDO.
  CHECK(eido.find("F-2611-004498") != std::string::npos);
  CHECK(eido.find(transfer) != std::string::npos);
  CHECK(eido.find("51.7625") != std::string::npos);
  CHECK(eido.find("0.105") != std::string::npos);
  CHECK(eido.find("17 Tilegate Road, Harlow") != std::string::npos);

  CHECK(wait_state(http, essex_fire, transfer, "delivered") == "submitted");
  ambulance.event_response(ev["transactionId"].get<std::string>());
  CHECK(wait_state(http, essex_fire, transfer, "delivered") == "delivered");
}

TEST_CASE("an event left unanswered comes again when the CAD reconnects, and not once answered",
          "[system][eido]") {
  gateway_process gw;
  http_client http(gw.port());
  json request = a12_rtc_request(new_message_id(essex_fire, "a12"));
  auto sent = http.post("/api/v1/messages", request, token_of(essex_fire));
  REQUIRE(sent.status == 202);
  const std::string transfer = sent.json["receipt"]["transfer_id"].get<std::string>();
  const std::string number = request["body"]["sender_incident"]["number"].get<std::string>();

  std::string first_eido;
  {
    eido_client police(gw.port(), token_of(essex_police));
    REQUIRE(police.subscribe_new("s1", 300)["subscribeResponse"]["statusCode"] == 200);
    json ev = police.next_of("event")["event"];
    first_eido = ev["notification"][0].dump();
    CHECK(first_eido.find(number) != std::string::npos);
    // The CAD goes away without an eventResponse.
  }
  CHECK(wait_state(http, essex_fire, transfer, "delivered") == "submitted");

  eido_client police(gw.port(), token_of(essex_police));
  REQUIRE(police.subscribe_new("s2", 300)["subscribeResponse"]["statusCode"] == 200);
  json again = police.next_of("event")["event"];
  REQUIRE(again["notification"].size() == 1);
  CHECK(again["notification"][0] == json::parse(first_eido));
  police.event_response(again["transactionId"].get<std::string>());
  CHECK(wait_state(http, essex_fire, transfer, "delivered") == "delivered");

  eido_client later(gw.port(), token_of(essex_police));
  REQUIRE(later.subscribe_new("s3", 300)["subscribeResponse"]["statusCode"] == 200);
  CHECK(later.nothing_of("event", 1500ms));
}

TEST_CASE(
    "requestForService becomes one transfer in the other agency's inbox however often it "
    "is sent",
    "[system][eido]") {
  gateway_process gw;
  http_client http(gw.port());
  eido_client police(gw.port(), token_of(essex_police));
  json eido =
      cad_eido("6f1c2d3e-0000-4000-8000-00000000a001", essex_police, essex_fire, "SEP-2611-0777");
  police.send(json{{"requestForService", {{"requestId", "rfs-1"}, {"eido", eido}}}});
  json first = police.next_of("requestForServiceResponse")["requestForServiceResponse"];
  REQUIRE(first["statusCode"] == 200);
  CHECK(first["requestId"] == "rfs-1");
  const std::string message_id = first["messageId"].get<std::string>();
  const std::string transfer = first["transferId"].get<std::string>();
  CHECK(message_id.rfind(essex_police + ":", 0) == 0);
  CHECK_FALSE(transfer.empty());

  json in_fire = deliveries_of(http, essex_fire, message_id);
  REQUIRE(in_fire.size() == 1);
  const json& m = in_fire[0]["message"];
  CHECK(m["type"] == "transfer.request");
  CHECK(m["from"] == essex_police);
  CHECK(m["transfer_id"] == transfer);
  CHECK(m["body"]["sender_incident"]["number"] == "SEP-2611-0777");
  CHECK(m["body"]["methane"]["exact_location"]["wgs84"]["lat"].get<double>() == Approx(51.5512));
  CHECK(m["body"]["methane"]["exact_location"]["wgs84"]["lon"].get<double>() == Approx(0.7101));

  SECTION("the same request again gets the same answer") {
    police.send(json{{"requestForService", {{"requestId", "rfs-1"}, {"eido", eido}}}});
    CHECK(police.next_of("requestForServiceResponse")["requestForServiceResponse"] == first);
  }
  SECTION("the same EIDO under a new requestId is still the same transfer") {
    police.send(json{{"requestForService", {{"requestId", "rfs-2"}, {"eido", eido}}}});
    json second = police.next_of("requestForServiceResponse")["requestForServiceResponse"];
    CHECK(second["statusCode"] == 200);
    CHECK(second["messageId"] == message_id);
    CHECK(second["transferId"] == transfer);
  }
  CHECK(deliveries_of(http, essex_fire, message_id).size() == 1);
}

TEST_CASE(
    "requestAwareness arrives as a notification for information and cancelRequest "
    "withdraws a transfer",
    "[system][eido]") {
  gateway_process gw;
  http_client http(gw.port());
  eido_client police(gw.port(), token_of(essex_police));

  police.send(json{{"requestAwareness",
                    {{"requestId", "aw-1"},
                     {"eido", cad_eido("6f1c2d3e-0000-4000-8000-00000000b001", essex_police,
                                       essex_fire, "SEP-2611-0801")}}}});
  json aw = police.next_of("requestAwarenessResponse")["requestAwarenessResponse"];
  REQUIRE(aw["statusCode"] == 200);
  json notes = deliveries_of(http, essex_fire, aw["messageId"].get<std::string>());
  REQUIRE(notes.size() == 1);
  CHECK(notes[0]["message"]["body"]["category"] == "notification");
  CHECK(notes[0]["message"]["body"]["ask"] == "for_information");

  police.send(json{{"requestForService",
                    {{"requestId", "rfs-9"},
                     {"eido", cad_eido("6f1c2d3e-0000-4000-8000-00000000b002", essex_police,
                                       essex_fire, "SEP-2611-0802")}}}});
  json rfs = police.next_of("requestForServiceResponse")["requestForServiceResponse"];
  REQUIRE(rfs["statusCode"] == 200);
  const std::string transfer = rfs["transferId"].get<std::string>();

  police.send(json{{"cancelRequest",
                    {{"requestId", "cx-1"},
                     {"incidentId", transfer},
                     {"reason", "Fire out on arrival of the first officer; not required"}}}});
  json cx = police.next_of("cancelRequestResponse")["cancelRequestResponse"];
  REQUIRE(cx["statusCode"] == 200);
  CHECK(cx["transferId"] == transfer);
  CHECK(wait_state(http, essex_police, transfer, "cancelled") == "cancelled");

  // The same cancelRequest again is the same message: same answer, nothing new happens.
  police.send(json{{"cancelRequest",
                    {{"requestId", "cx-1"},
                     {"incidentId", transfer},
                     {"reason", "Fire out on arrival of the first officer; not required"}}}});
  CHECK(police.next_of("cancelRequestResponse")["cancelRequestResponse"] == cx);
}

TEST_CASE(
    "a partner CAD's NENA EIDO under its own identities reaches the other agency with the "
    "caller, the callback number and what it did not carry",
    "[system][eido][partners]") {
  // The Harlow PSAP's CAD sends over Essex Police's link (a test's stand-in for a partner): its
  // EIDOs name its own agency $id and issuing element, which the partners configuration maps.
  const json partners = {
      {"partners",
       {{{"agency", essex_police},
         {"eido_ids", {"psap.harlow.example.uk", "cad.psap.harlow.example.uk"}}},
        {{"agency", eeast_ambulance}, {"eido_ids", {"ambulance.eoe.example.uk"}}}}}};
  gateway_process gw(partners);
  http_client http(gw.port());
  std::ifstream in(std::string(BL_SOURCE_DIR) + "/tests/data/eido/partner-call-transfer.json");
  std::stringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str());

  // The EIDO goes in the frame as the file has it, whitespace and member order included.
  eido_client psap(gw.port(), token_of(essex_police));
  psap.send_text(R"({"requestForService": {"requestId": "rfs-psap-1", "eido": )" + text.str() +
                 "}}");
  json answer = psap.next_of("requestForServiceResponse")["requestForServiceResponse"];
  INFO(answer.dump());
  REQUIRE(answer["statusCode"] == 200);
  const std::string message_id = answer["messageId"].get<std::string>();
  json in_amb = deliveries_of(http, eeast_ambulance, message_id);
  REQUIRE(in_amb.size() == 1);
  const json& m = in_amb[0]["message"];
  CHECK(m["from"] == essex_police);
  CHECK(m["body"]["category"] == "ambulance.casualty_care");
  CHECK(m["body"]["sender_incident"]["number"] == "HP-2611-0193");
  CHECK(m["body"]["notes"].get<std::string>().rfind(
            "Caller: Priya Shah; call back on sip:+447700900123@", 0) == 0);
  CHECK(m["source"]["standard"] == "NENA EIDO 1.0");
  CHECK(m["source"]["not_carried"].size() == 5);

  const std::string transfer = answer["transferId"].get<std::string>();

  // Kept as received, byte for byte, for both parties to read.
  auto kept = http.get("/api/v1/originals/" + message_id, token_of(eeast_ambulance));
  REQUIRE(kept.status == 200);
  // (The file's last newline is whitespace of the frame after the EIDO, not part of it.)
  const std::string sent = text.str().substr(0, text.str().find_last_not_of('\n') + 1);
  CHECK(kept.body == sent);
  CHECK(kept.header("Content-Type").rfind("application/emergency.eido+json", 0) == 0);
  CHECK(kept.header("Bluelink-Standard") == "NENA EIDO 1.0");

  // Sent again (a retry after a lost answer): the same message. The same state of the incident
  // with other content: refused as a reused id, and the first stands.
  psap.send(json{{"requestForService", {{"requestId", "rfs-psap-2"}, {"eido", doc}}}});
  json again = psap.next_of("requestForServiceResponse")["requestForServiceResponse"];
  CHECK(again["statusCode"] == 200);
  CHECK(again["messageId"] == message_id);
  CHECK(again["transferId"] == transfer);
  json changed = doc;
  changed["notesComponent"][0]["notesActionComments"] = "Patient now conscious.";
  psap.send(json{{"requestForService", {{"requestId", "rfs-psap-3"}, {"eido", changed}}}});
  json reused = psap.next_of("requestForServiceResponse")["requestForServiceResponse"];
  CHECK(reused["statusCode"] == 409);
  CHECK(reused["code"] == "bl.message.id_reused");

  // The ambulance CAD speaks EIDO too: it gets the PSAP's EIDO as sent, with Bluelink's transfer
  // where NENA has a place for another incident's identifier (a RELATED link).
  eido_client amb(gw.port(), token_of(eeast_ambulance));
  REQUIRE(amb.subscribe_new("s-amb", 300)["subscribeResponse"]["statusCode"] == 200);
  json ev = amb.next_of("event")["event"];
  REQUIRE(ev["notification"].size() == 1);
  json relayed = ev["notification"][0];
  check_nena(relayed);
  REQUIRE(relayed["linkComponent"].size() == 1);
  const json link = relayed["linkComponent"][0];
  CHECK(link["incidentTrackingIdentifier"] ==
        "urn:emergency:uid:incidentid:" + transfer + ":bluelink");
  CHECK(link["linkDirectionCode"] == "RELATED");
  CHECK(link["updatedByAgencyReference"] == doc["updatedByAgencyReference"]);
  relayed.erase("linkComponent");
  CHECK(relayed == doc);
  amb.event_response(ev["transactionId"].get<std::string>());

  // A later state of the same incident updates the transfer the first made, and reaches the
  // ambulance CAD as sent too.
  json later = doc;
  later["lastUpdateTimeStamp"] = "2026-11-21T21:19:45Z";
  later["notesComponent"][0]["notesActionComments"] = "Patient now breathing normally.";
  psap.send(json{{"requestForService", {{"requestId", "rfs-psap-4"}, {"eido", later}}}});
  json update = psap.next_of("requestForServiceResponse")["requestForServiceResponse"];
  INFO(update.dump());
  REQUIRE(update["statusCode"] == 200);
  CHECK(update["transferId"] == transfer);
  CHECK(update["messageId"] ==
        "essex-police:urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk:"
        "2026-11-21T21:19:45Z");
  json updated = deliveries_of(http, eeast_ambulance, update["messageId"].get<std::string>());
  REQUIRE(updated.size() == 1);
  CHECK(updated[0]["message"]["type"] == "transfer.update");
  CHECK(updated[0]["message"]["body"]["text"].get<std::string>().find(
            "Patient now breathing normally.") != std::string::npos);
  json ev2 = amb.next_of("event")["event"];
  REQUIRE(ev2["notification"].size() == 1);
  json relayed2 = ev2["notification"][0];
  check_nena(relayed2);
  relayed2.erase("linkComponent");
  CHECK(relayed2 == later);

  // The same document over another agency's link is refused: its identities are Essex
  // Police's.
  eido_client fire(gw.port(), token_of(essex_fire));
  fire.send(json{{"requestForService", {{"requestId", "rfs-fire-1"}, {"eido", doc}}}});
  json refused = fire.next_of("requestForServiceResponse")["requestForServiceResponse"];
  CHECK(refused["statusCode"] == 403);
  CHECK(refused["code"] == "bl.partner.sender_mismatch");
  CHECK(refused["pointer"] == "/requestForService/eido");
  CHECK(refused["message"].get<std::string>().find("are essex-police's") != std::string::npos);

  // Over HTTP, as any partner system may post it: the same document is the same message.
  auto posted =
      http.request("POST", "/api/v1/documents?standard=eido", text.str(), token_of(essex_police));
  INFO(posted.body);
  CHECK(posted.status == 200);
  CHECK(posted.json["receipt"]["message_id"] == message_id);
  // From another agency's token, refused as over the conveyance.
  auto forbidden =
      http.request("POST", "/api/v1/documents?standard=eido", text.str(), token_of(essex_fire));
  CHECK(forbidden.status == 403);
  CHECK(forbidden.json["error"]["code"] == "bl.partner.sender_mismatch");
}

TEST_CASE("a CAD on the conveyance sees the other agency's decline of its request as an event",
          "[system][eido]") {
  // Replies travel to the requester as EIDO updates whose incidentStatusInternalText is the
  // Bluelink type, with the reason in the notes: a decline must never be skipped silently.
  gateway_process gw;
  http_client http(gw.port());
  eido_client police(gw.port(), token_of(essex_police));
  REQUIRE(police.subscribe_new("s-dec", 300)["subscribeResponse"]["statusCode"] == 200);
  json eido =
      cad_eido("6f1c2d3e-0000-4000-8000-00000000d001", essex_police, essex_fire, "SEP-2611-0901");
  police.send(json{{"requestForService", {{"requestId", "rfs-dec"}, {"eido", eido}}}});
  json answer = police.next_of("requestForServiceResponse")["requestForServiceResponse"];
  REQUIRE(answer["statusCode"] == 200);
  const std::string transfer = answer["transferId"].get<std::string>();

  json decline = bl::test::follow_up(
      new_message_id(essex_fire, "dec"), "transfer.decline", essex_fire, transfer,
      {{"reason", "no_resources"}, {"text", "All appliances committed to the Basildon fire"}});
  auto sent = http.post("/api/v1/messages", decline, token_of(essex_fire));
  REQUIRE(sent.status == 202);

  // The first event the police CAD sees for this transfer may be the delivered receipt of its
  // own request; read on until the decline arrives.
  json seen;
  for (int i = 0; i < 5 && seen.is_null(); ++i) {
    json ev = police.next_of("event")["event"];
    for (const auto& n : ev["notification"])
      if (n["incidentComponent"]["incidentStatusInternalText"][0] == "transfer.decline") seen = n;
    police.event_response(ev["transactionId"].get<std::string>());
  }
  REQUIRE_FALSE(seen.is_null());
  check_nena(seen);
  CHECK(seen["incidentComponent"]["incidentStatusCommonRegistryText"] == json::array({"Active"}));
  CHECK(seen["updatedByAgencyReference"]["$ref"] == essex_fire);
  CHECK(seen.dump().find("All appliances committed to the Basildon fire") != std::string::npos);
  CHECK(seen.dump().find(transfer) != std::string::npos);
  CHECK(wait_state(http, essex_police, transfer, "declined") == "declined");
}

TEST_CASE("a single subscription streams one transfer only and leaves the others unacknowledged",
          "[system][eido]") {
  gateway_process gw;
  http_client http(gw.port());
  json a = a12_rtc_request(new_message_id(essex_fire, "a"));
  json b = request_between(new_message_id(essex_fire, "b"), essex_fire, essex_police);
  auto ra = http.post("/api/v1/messages", a, token_of(essex_fire));
  auto rb = http.post("/api/v1/messages", b, token_of(essex_fire));
  REQUIRE(ra.status == 202);
  REQUIRE(rb.status == 202);
  const std::string ta = ra.json["receipt"]["transfer_id"].get<std::string>();
  const std::string tb = rb.json["receipt"]["transfer_id"].get<std::string>();

  eido_client police(gw.port(), token_of(essex_police));
  json sr = police.subscribe_single("one", tb, 300)["subscribeResponse"];
  REQUIRE(sr["statusCode"] == 200);
  json ev = police.next_of("event")["event"];
  REQUIRE(ev["notification"].size() == 1);
  check_nena(ev["notification"][0]);
  const std::string eido = ev["notification"][0].dump();
  CHECK(eido.find(tb) != std::string::npos);
  CHECK(eido.find(ta) == std::string::npos);
  police.event_response(ev["transactionId"].get<std::string>());
  CHECK(police.nothing_of("event", 1500ms));
  // Acknowledging a one-incident view does not mark the agency's other deliveries delivered.
  CHECK(wait_state(http, essex_fire, ta, "delivered") == "submitted");
}

TEST_CASE("with minRate, deliveries arriving within the interval go out together in one event",
          "[system][eido]") {
  gateway_process gw;
  http_client http(gw.port());
  eido_client police(gw.port(), token_of(essex_police));
  json sr = police.subscribe_new("rated", 300, 3)["subscribeResponse"];
  REQUIRE(sr["statusCode"] == 200);
  CHECK(sr["minRate"] == 3);

  REQUIRE(http.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "m1")),
                    token_of(essex_fire))
              .status == 202);
  json first = police.next_of("event")["event"];
  CHECK(first["notification"].size() == 1);
  // Two more straight after the first event: both wait for the interval and share one event.
  for (const char* hint : {"m2", "m3"})
    REQUIRE(http.post("/api/v1/messages",
                      request_between(new_message_id(essex_fire, hint), essex_fire, essex_police),
                      token_of(essex_fire))
                .status == 202);
  json second = police.next_of("event", 15s)["event"];
  CHECK(second["notification"].size() == 2);
  police.event_response(second["transactionId"].get<std::string>());
  police.event_response(first["transactionId"].get<std::string>());
  // Answered out of order: the cumulative acknowledgement still covers all three.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::int64_t acked = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    acked =
        http.get("/api/v1/inbox", token_of(essex_police)).json["acked_upto"].get<std::int64_t>();
    if (acked >= 3) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(acked >= 3);
}

TEST_CASE("a subscription ends at its expiry unless renewed", "[system][eido]") {
  gateway_process gw;
  http_client http(gw.port());
  eido_client police(gw.port(), token_of(essex_police));
  json sr = police.subscribe_new("short", 2)["subscribeResponse"];
  REQUIRE(sr["statusCode"] == 200);
  CHECK(sr["expires"] == 2);
  const std::string sid = sr["subscriptionId"].get<std::string>();

  json renewed = police.renew("renew", sid, 3)["subscribeResponse"];
  CHECK(renewed["statusCode"] == 200);
  CHECK(renewed["subscriptionId"] == sid);
  CHECK(renewed["expires"] == 3);

  json t = police.next_of("terminate", 15s)["terminate"];
  CHECK(t["subscriptionId"] == sid);
  police.send(json{{"terminateResponse",
                    {{"requestId", t["requestId"]},
                     {"subscriptionId", sid},
                     {"statusCode", 200},
                     {"statusText", "OK"}}}});

  // Ended: new deliveries are not streamed, and the old id can no longer be renewed.
  REQUIRE(http.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "x")),
                    token_of(essex_fire))
              .status == 202);
  CHECK(police.nothing_of("event", 1500ms));
  json late = police.renew("late", sid, 60)["subscribeResponse"];
  CHECK(late["statusCode"] == 404);
  CHECK(late["code"] == "bl.eido.unknown_subscription");
  CHECK(late["pointer"] == "/subscribe/subscriptionId");
}

TEST_CASE(
    "bad conveyance messages get the spec's status code and a specific code naming the "
    "field",
    "[system][eido]") {
  gateway_process gw;
  eido_client police(gw.port(), token_of(essex_police));
  auto answer = [&](const std::string& text, const std::string& type) {
    police.send_text(text);
    return police.next_of(type)[type];
  };

  json r = answer("{not json", "errorResponse");
  CHECK(r["statusCode"] == 400);
  CHECK(r["code"] == "bl.request.malformed_json");

  r = answer(R"({"frobnicate":{}})", "errorResponse");
  CHECK(r["statusCode"] == 400);
  CHECK(r["code"] == "bl.eido.unknown_message");
  CHECK(r["pointer"] == "/frobnicate");

  r = answer(R"({"subscribe":{}})", "subscribeResponse");
  CHECK(r["statusCode"] == 400);
  CHECK(r["code"] == "bl.eido.bad_message");
  CHECK(r["pointer"] == "/subscribe/requestId");

  r = answer(R"({"subscribe":{"requestId":"x","requestSubType":"everything"}})",
             "subscribeResponse");
  CHECK(r["requestId"] == "x");
  CHECK(r["pointer"] == "/subscribe/requestSubType");
  CHECK(r["message"].get<std::string>().find("everything") != std::string::npos);

  r = answer(R"({"subscribe":{"requestId":"x","requestSubType":"new","expires":"soon"}})",
             "subscribeResponse");
  CHECK(r["pointer"] == "/subscribe/expires");

  r = answer(R"({"eventResponse":{"transactionId":"nope","statusCode":200}})", "errorResponse");
  CHECK(r["statusCode"] == 404);
  CHECK(r["code"] == "bl.eido.unknown_transaction");
  CHECK(r["transactionId"] == "nope");

  r = answer(R"({"requestForService":{"requestId":"r1"}})", "requestForServiceResponse");
  CHECK(r["statusCode"] == 400);
  CHECK(r["pointer"] == "/requestForService/eido");

  r = answer(R"({"requestForService":{"requestId":"r2","eido":{"eidoVersion":"1.0"}}})",
             "requestForServiceResponse");
  CHECK(r["statusCode"] == 400);
  CHECK(r["code"].get<std::string>().rfind("bl.eido.", 0) == 0);
  CHECK_FALSE(r["message"].get<std::string>().empty());

  r = answer(R"({"cancelRequest":{"requestId":"c1","incidentId":"12","reason":"x"}})",
             "cancelRequestResponse");
  CHECK(r["pointer"] == "/cancelRequest/incidentId");

  r = answer(
      R"({"cancelRequest":{"requestId":"c2","incidentId":"T-20991231-999999","reason":"x"}})",
      "cancelRequestResponse");
  CHECK(r["statusCode"] == 404);
  CHECK(r["code"] == "bl.transfer.not_found");

  // The connection is still usable after all of that.
  CHECK(police.subscribe_new("ok", 60)["subscribeResponse"]["statusCode"] == 200);
}

TEST_CASE("an EIDO upgrade without the subprotocol or a valid agency token is refused",
          "[system][eido]") {
  gateway_process gw;
  auto no_sub = eido_client::try_upgrade(gw.port(), token_of(essex_police), "");
  REQUIRE(no_sub);
  CHECK(no_sub->status == 426);
  CHECK(no_sub->body["error"]["code"] == "bl.eido.subprotocol");

  auto wrong_sub = eido_client::try_upgrade(gw.port(), token_of(essex_police), "chat, superchat");
  REQUIRE(wrong_sub);
  CHECK(wrong_sub->status == 426);

  auto no_token = eido_client::try_upgrade(gw.port(), "", "emergency-ent1.0");
  REQUIRE(no_token);
  CHECK(no_token->status == 401);
  CHECK(no_token->body["error"]["code"] == "bl.auth.missing_token");

  auto bad_token = eido_client::try_upgrade(gw.port(), "not-a-real-token", "emergency-ent1.0");
  REQUIRE(bad_token);
  CHECK(bad_token->status == 401);
  CHECK(bad_token->body["error"]["code"] == "bl.auth.invalid_token");

  auto foreign = eido_client::try_upgrade(gw.port(), token_of(essex_police), "emergency-ent1.0",
                                          "https://evil.example");
  REQUIRE(foreign);
  CHECK(foreign->status == 403);
  CHECK(foreign->body["error"]["code"] == "bl.auth.bad_origin");

  CHECK_FALSE(
      eido_client::try_upgrade(gw.port(), token_of(essex_police), "chat, emergency-ent1.0"));
}

TEST_CASE(
    "a requestForService nesting 100,000 arrays is refused with a clear error and the gateway "
    "stays up",
    "[system][eido][security]") {
  // Copying and dumping the carried EIDO once recursed per level until the stack overflowed.
  gateway_process gw;
  eido_client police(gw.port(), token_of(essex_police));
  police.send_text(R"({"requestForService":{"requestId":"deep-1","eido":)" +
                   std::string(100000, '[') + std::string(100000, ']') + "}}");
  json err = police.next_of("errorResponse")["errorResponse"];
  INFO(err.dump());
  CHECK(err["statusCode"] == 400);
  CHECK(err["code"] == "bl.request.too_deep");
  CHECK(err["message"].get<std::string>().find("32 deep") != std::string::npos);

  // The same connection still works, and so does the gateway.
  json sr = police.subscribe_new("sub-after-deep", 300)["subscribeResponse"];
  CHECK(sr["statusCode"] == 200);
  http_client http(gw.port());
  CHECK(http.get("/healthz", "").status == 200);
}
