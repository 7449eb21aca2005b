// The UCRI2 mapping (adapters/ucri2, docs/protocols/ucri2.md): UCRI2 app messages to canonical
// Bluelink messages and back, and the spec's error codes for bad requests.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/ucri2/ucri2_message.hpp"
#include "gateway/schema/schema_set.hpp"

using namespace bl;
using namespace bl::adapters::ucri2;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path root = BL_SOURCE_DIR;

const schema_set& schemas() {
  static schema_set s(root / "schemas");
  return s;
}

const directory& dir() {
  static directory d{"1.2.276.0.99",
                     {{"1.2.276.0.99.1", "essex-fire", "Essex Fire", "fire", true, {}},
                      {"1.2.276.0.99.2", "essex-police", "Essex Police", "police", false, {}}}};
  return d;
}

const char* shared_id = "550e8400-e29b-41d4-a716-446655440000";

json incident_data() {
  return {{"sharedIncidentId", shared_id},
          {"internalId", "f123456"},
          {"classifications", {"RTC", "P2"}},
          {"issue", "Verkehrsunfall, zwei PKW, eine Person eingeklemmt"},
          {"flashingLights", true},
          {"additionalInformation", "Zusatzinformationen"},
          {"sentByDispatcherAt", "2026-11-21T10:05:08Z"},
          {"startTimestamp", "2026-11-21T09:55:15Z"},
          {"missionLocation",
           {{"coordinate", {{"lat", 51.7356}, {"lon", 0.4685}}},
            {"address",
             {{"street", "Musterstraße"},
              {"houseNumber", "15b"},
              {"postalCode", "12345"},
              {"city", "Musterhausen"},
              {"country", "DE"}}},
            {"floor", "3. OG"}}},
          {"informers", {{{"name", "Musterfrau"}, {"surname", "Heike"}, {"phone", "+49 30 1"}}}}};
}

json send_body(const std::string& app, const std::string& schema, const json& data,
               const std::string& ack = "NONE") {
  return {{"messageId", "f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454"},
          {"timeout", 300},
          {"ack", ack},
          {"source", "1.2.276.0.99.1"},
          {"destinations", {"1.2.276.0.99.2"}},
          {"payload",
           {{"appId", app},
            {"appVersion", "1.0"},
            {"schemaId", schema},
            {"contentType", "application/json"},
            {"data", data.dump()}}}};
}

send_request parse_ok(const json& body) {
  auto r = parse_send_request(body.dump(), schemas());
  if (auto* e = std::get_if<ucri2_error>(&r)) FAIL(e->bl_code << " " << e->message);
  return std::get<send_request>(r);
}

ucri2_error parse_err(const std::string& body) {
  auto r = parse_send_request(body, schemas());
  REQUIRE(std::holds_alternative<ucri2_error>(r));
  return std::get<ucri2_error>(r);
}

inbound_context ctx_from_fire(std::optional<transfer_facts> known = std::nullopt) {
  inbound_context c;
  c.from = dir().by_agency("essex-fire");
  c.to = dir().by_agency("essex-police");
  c.now = *parse_rfc3339("2026-11-21T10:05:10Z");
  c.find = [known](const std::string& s) -> std::optional<transfer_facts> {
    if (known && (s == known->requester_number || transfer_id_from_shared(s))) return known;
    return std::nullopt;
  };
  return c;
}

json canonical(const send_request& r, const inbound_context& c) {
  auto m = to_canonical(r, c);
  if (auto* e = std::get_if<ucri2_error>(&m)) FAIL(e->bl_code << " " << e->message);
  json doc = std::get<json>(m);
  auto problem = adapters::check_message(doc, schemas());
  if (problem) FAIL(problem->code << " " << problem->message);
  return doc;
}

outbound_context out_ctx(std::optional<transfer_facts> t = std::nullopt) {
  outbound_context c;
  c.dir = &dir();
  c.recipient = "essex-fire";
  c.transfer = [t](const std::string&) { return t; };
  return c;
}

json data_of(const json& item) {
  return json::parse(item.at("payload").at("data").get<std::string>());
}

}  // namespace

TEST_CASE(
    "a UCRI2 incident becomes a transfer request that keeps both incident numbers and the "
    "location",
    "[unit][ucri2]") {
  auto req = parse_ok(send_body("incident_transfer", "incident", incident_data(), "ALL"));
  json doc = canonical(req, ctx_from_fire());
  CHECK(doc["type"] == "transfer.request");
  CHECK(doc["id"] == "essex-fire:f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454~ALL");
  CHECK(doc["to"] == json::array({"essex-police"}));
  CHECK(doc["expires_at"] == "2026-11-21T10:10:10.000Z");  // received + timeout 300 s
  const json& b = doc["body"];
  CHECK(b["sender_incident"]["number"] == shared_id);
  CHECK(b["sender_incident"]["system"] == "UCRI2 f123456");
  CHECK(b["priority"] == "emergency");
  CHECK(b["ask"] == "take_over");
  CHECK(b["category"] == "police.scene_security");
  CHECK(b["summary"] == "Verkehrsunfall, zwei PKW, eine Person eingeklemmt");
  const json& loc = b["methane"]["exact_location"];
  CHECK(loc["wgs84"]["lat"] == 51.7356);
  CHECK(loc["wgs84"]["lon"] == 0.4685);
  CHECK(loc["address"] == "Musterstraße 15b, 12345 Musterhausen, DE");
  CHECK(loc["directions"] == "Floor: 3. OG");
  CHECK(b["methane"]["type_of_incident"]["code"] == "RTC");
  CHECK(b["methane"]["type_of_incident"]["agency_code"] == "RTC P2");
  CHECK(b["notes"].get<std::string>().find("Heike Musterfrau") != std::string::npos);
  // Where it came from, and nothing left out of an incident this size.
  CHECK(doc["source"] == json{{"standard", "UCRI2 incident_transfer 1.0"},
                              {"sender", "1.2.276.0.99.1"},
                              {"identifier", "f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454"}});
}

TEST_CASE("what a UCRI2 send holds that the transfer cannot is listed as not carried",
          "[unit][ucri2]") {
  json body = send_body("incident_transfer", "incident", incident_data());
  body["signature"] = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln";
  body["tags"] = {"exercise", "Übung"};
  json d = incident_data();
  d["additionalInformation"] = std::string(2100, 'x');
  body["payload"]["data"] = d.dump();
  json doc = canonical(parse_ok(body), ctx_from_fire());
  const json& nc = doc["source"]["not_carried"];
  REQUIRE(nc.size() == 3);
  CHECK(nc[0].get<std::string>().rfind("additionalInformation, informers and protocolRemarks "
                                       "beyond its first 1988 of ",
                                       0) == 0);
  CHECK(nc[1].get<std::string>().find("signature (JWS)") != std::string::npos);
  CHECK(nc[2] == "tags: exercise, Übung");
  CHECK(doc["body"]["notes"].get<std::string>().find("[truncated]") != std::string::npos);
}

TEST_CASE("an incident survives UCRI2 -> Bluelink -> UCRI2 with its numbers and location",
          "[unit][ucri2]") {
  auto req = parse_ok(send_body("incident_transfer", "incident", incident_data()));
  json doc = canonical(req, ctx_from_fire());
  doc["transfer_id"] = "T-20261121-000007";  // as the engine stores it
  auto item = from_canonical(doc, out_ctx());
  REQUIRE(item);
  CHECK((*item)["payload"]["appId"] == "incident_transfer");
  CHECK((*item)["payload"]["schemaId"] == "incident");
  CHECK((*item)["messageId"] == "f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454");
  CHECK((*item)["source"] == "1.2.276.0.99.1");
  CHECK((*item)["timeout"] == 300);
  json d = data_of(*item);
  CHECK(d["sharedIncidentId"] == shared_id);
  CHECK(d["internalId"] == "f123456");
  CHECK(d["flashingLights"] == true);
  CHECK(d["issue"] == "Verkehrsunfall, zwei PKW, eine Person eingeklemmt");
  CHECK(d["missionLocation"]["coordinate"] == json({{"lat", 51.7356}, {"lon", 0.4685}}));
  CHECK(d["classifications"] == json({"RTC", "RTC P2"}));
  // What comes out is itself a valid UCRI2 incident.
  CHECK_FALSE(schemas().validate("ucri2/incident_transfer/1.0/incident", d));
}

TEST_CASE(
    "a Bluelink request reaches a UCRI2 client as an incident with a shared id derived from "
    "the transfer",
    "[unit][ucri2]") {
  std::ifstream in(
      root / "schemas/examples/valid/message/01-request-police-traffic-management-a12-rtc.json");
  json doc = json::parse(in);
  doc["transfer_id"] = "T-20261121-000123";
  auto item = from_canonical(doc, out_ctx());
  REQUIRE(item);
  json d = data_of(*item);
  CHECK_FALSE(schemas().validate("ucri2/incident_transfer/1.0/incident", d));
  CHECK(d["sharedIncidentId"] == "20261121-b1e1-4000-8000-b1e100000123");
  CHECK(transfer_id_from_shared(d["sharedIncidentId"].get<std::string>()) == "T-20261121-000123");
  CHECK(d["internalId"] == doc["body"]["sender_incident"]["number"]);
  CHECK(d["missionLocation"]["coordinate"]["lat"] ==
        doc["body"]["methane"]["exact_location"]["wgs84"]["lat"]);
  CHECK(d["issue"] == doc["body"]["summary"]);
  CHECK(transfer_id_from_shared(shared_id) == std::nullopt);
}

TEST_CASE("acknowledgement and completion map to accept, decline and close of the known transfer",
          "[unit][ucri2]") {
  transfer_facts t{"T-20261121-000123", "essex-police", "essex-fire", "P-2611-0042"};
  auto c = ctx_from_fire(t);
  std::string derived = shared_incident_id(t);
  json ack = {{"sharedIncidentId", derived},
              {"acknowledgedByDispatcherAt", "2026-11-21T10:06:09Z"},
              {"status", "accepted"},
              {"cause", "Wir übernehmen"}};
  json doc = canonical(parse_ok(send_body("incident_transfer", "acknowledgement", ack)), c);
  CHECK(doc["type"] == "transfer.accept");
  CHECK(doc["transfer_id"] == "T-20261121-000123");
  CHECK(doc["body"]["receiver_incident"]["number"] == derived);
  CHECK(doc["body"]["note"] == "Wir übernehmen");

  ack["status"] = "rejected";
  doc = canonical(parse_ok(send_body("incident_transfer", "acknowledgement", ack)), c);
  CHECK(doc["type"] == "transfer.decline");
  CHECK(doc["body"]["reason"] == "other");

  json done = {{"sharedIncidentId", derived},
               {"completedAt", "2026-11-21T11:00:00Z"},
               {"status", "completed_sucessfully"}};
  doc = canonical(parse_ok(send_body("incident_transfer", "completion", done)), c);
  CHECK(doc["type"] == "transfer.close");
  CHECK(doc["body"]["outcome"] == "resolved");

  SECTION("an unknown sharedIncidentId is refused naming the field") {
    ack["sharedIncidentId"] = "00000000-0000-4000-8000-000000000000";
    auto r = to_canonical(parse_ok(send_body("incident_transfer", "acknowledgement", ack)),
                          ctx_from_fire());
    REQUIRE(std::holds_alternative<ucri2_error>(r));
    auto e = std::get<ucri2_error>(r);
    CHECK(static_cast<int>(e.code) == 464);
    CHECK(e.bl_code == "bl.ucri2.not_mappable");
    CHECK(e.pointer == "/payload/data/sharedIncidentId");
  }
}

TEST_CASE("notification_text becomes a notification request and comes back as notification_text",
          "[unit][ucri2]") {
  json n = {{"sharedIncidentId", shared_id},
            {"notifications",
             {{{"timestamp", "2026-11-21T10:06:09Z"},
               {"message", "NEF wurde nachalarmiert"},
               {"category", "information"}}}}};
  json doc =
      canonical(parse_ok(send_body("notification_text", "notification", n)), ctx_from_fire());
  CHECK(doc["body"]["category"] == "notification");
  CHECK(doc["body"]["ask"] == "for_information");
  CHECK(doc["body"]["summary"] == "NEF wurde nachalarmiert");
  doc["transfer_id"] = "T-20261121-000009";
  auto item = from_canonical(doc, out_ctx());
  REQUIRE(item);
  CHECK((*item)["payload"]["appId"] == "notification_text");
  json d = data_of(*item);
  CHECK(d["sharedIncidentId"] == shared_id);
  CHECK_FALSE(schemas().validate("ucri2/notification_text/1.0/notification", d));
}

TEST_CASE("bad send requests get the spec's error code and a pointer to the field",
          "[unit][ucri2]") {
  auto code = [](const ucri2_error& e) { return static_cast<int>(e.code); };
  SECTION("not JSON") {
    auto e = parse_err("{nope");
    CHECK(code(e) == 460);
    CHECK(e.http_status() == 400);
    CHECK(e.bl_code == "bl.ucri2.malformed_json");
  }
  SECTION("no destinations") {
    json b = send_body("incident_transfer", "incident", incident_data());
    b.erase("destinations");
    auto e = parse_err(b.dump());
    CHECK(code(e) == 460);
    CHECK(e.bl_code == "bl.ucri2.invalid_request");
  }
  SECTION("an ack mode the spec does not have") {
    auto e = parse_err(send_body("incident_transfer", "incident", incident_data(), "SOME").dump());
    CHECK(code(e) == 460);
    CHECK(e.pointer == "/ack");
  }
  SECTION("unknown app, version and schema") {
    CHECK(code(parse_err(send_body("unknownApp", "incident", incident_data()).dump())) == 461);
    json b = send_body("incident_transfer", "incident", incident_data());
    b["payload"]["appVersion"] = "999.999";
    CHECK(code(parse_err(b.dump())) == 462);
    CHECK(code(parse_err(send_body("incident_transfer", "transfer", incident_data()).dump())) ==
          463);
  }
  SECTION("a published app or version no destination here supports is 466, not unknown") {
    auto e = parse_err(send_body("patient_transport", "incident", incident_data()).dump());
    CHECK(code(e) == 466);
    CHECK(e.bl_code == "bl.ucri2.unsupported_app");
    CHECK(e.pointer == "/payload/appId");
    json b = send_body("incident_transfer", "incident", incident_data());
    b["payload"]["appVersion"] = "0.1";
    e = parse_err(b.dump());
    CHECK(code(e) == 466);
    CHECK(e.pointer == "/payload/appVersion");
  }
  SECTION("a client may not send transport layer messages") {
    auto e = parse_err(
        send_body("transport_layer_messages", "message_delivery_status", json::object()).dump());
    CHECK(code(e) == 467);
  }
  SECTION("data that is not JSON") {
    json b = send_body("incident_transfer", "incident", incident_data());
    b["payload"]["data"] = "{\"sharedIncidentId\":";
    auto e = parse_err(b.dump());
    CHECK(code(e) == 465);
    CHECK(e.pointer == "/payload/data");
  }
  SECTION("data that breaks the app schema names the field") {
    json d = incident_data();
    d["missionLocation"]["coordinate"]["lat"] = 91;
    auto e = parse_err(send_body("incident_transfer", "incident", d).dump());
    CHECK(code(e) == 464);
    CHECK(e.bl_code == "bl.ucri2.invalid_payload");
    CHECK(e.pointer == "/payload/data/missionLocation/coordinate/lat");
    d = incident_data();
    d["missionLocation"].erase("coordinate");
    d["missionLocation"].erase("address");
    CHECK(parse_err(send_body("incident_transfer", "incident", d).dump())
              .pointer.rfind("/payload/data/missionLocation", 0) == 0);
  }
  SECTION("an impossible date") {
    json d = incident_data();
    d["sentByDispatcherAt"] = "2026-02-30T10:00:00Z";
    auto e = parse_err(send_body("incident_transfer", "incident", d).dump());
    CHECK(code(e) == 464);
    CHECK(e.pointer == "/payload/data/sentByDispatcherAt");
  }
  SECTION("an encrypted payload") {
    json b = send_body("incident_transfer", "incident", incident_data());
    b["payload"]["contentType"] = "application/jose";
    auto e = parse_err(b.dump());
    CHECK(e.bl_code == "bl.ucri2.encrypted_payload");
    CHECK(e.pointer == "/payload/contentType");
  }
  SECTION("an internalId too long to keep") {
    json d = incident_data();
    d["internalId"] = std::string(60, 'x');
    auto r = to_canonical(parse_ok(send_body("incident_transfer", "incident", d)), ctx_from_fire());
    REQUIRE(std::holds_alternative<ucri2_error>(r));
    CHECK(std::get<ucri2_error>(r).pointer == "/payload/data/internalId");
  }
}

TEST_CASE("delivery receipts and expiries become message_delivery_status only when asked for",
          "[unit][ucri2]") {
  transfer_facts t{"T-20261121-000123", "essex-fire", "essex-police", shared_id};
  json receipt = {{"id", "bluelink:delivered:essex-police:4"},
                  {"type", "receipt"},
                  {"from", "bluelink"},
                  {"to", {"essex-fire"}},
                  {"sent_at", "2026-11-21T10:05:12Z"},
                  {"transfer_id", t.transfer_id},
                  {"body",
                   {{"message_id", "essex-fire:f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454~ALL"},
                    {"status", "delivered"},
                    {"delivered_to", "essex-police"}}}};
  auto item = from_canonical(receipt, out_ctx(t));
  REQUIRE(item);
  CHECK((*item)["source"] == "1.2.276.0.99");
  json d = data_of(*item);
  CHECK(d == json({{"refMessageId", "f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454"},
                   {"destination", "1.2.276.0.99.2"},
                   {"statusCode", 200}}));

  receipt["body"]["message_id"] = "essex-fire:f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454~NACK";
  CHECK_FALSE(from_canonical(receipt, out_ctx(t)));
  receipt["body"]["message_id"] = "essex-fire:f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454";
  CHECK_FALSE(from_canonical(receipt, out_ctx(t)));

  json expired = {{"id", "bluelink:expired:T-20261121-000123"},
                  {"type", "error"},
                  {"from", "bluelink"},
                  {"sent_at", "2026-11-21T11:05:12Z"},
                  {"transfer_id", t.transfer_id},
                  {"body",
                   {{"code", "bl.transfer.expired"},
                    {"message", "not delivered"},
                    {"message_id", "essex-fire:f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454~NACK"}}}};
  item = from_canonical(expired, out_ctx(t));
  REQUIRE(item);
  d = data_of(*item);
  CHECK(d["statusCode"] == 504);
  CHECK(d["destination"] == "1.2.276.0.99.2");
  expired["body"]["message_id"] = "essex-fire:f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454";
  CHECK_FALSE(from_canonical(expired, out_ctx(t)));
}

TEST_CASE("tokens are signed, expire and cannot be altered", "[unit][ucri2]") {
  std::string key = "0123456789abcdef0123456789abcdef";
  std::string tok = make_jwt(key, {{"sub", "1.2.3"}, {"exp", 2000}});
  auto c = check_jwt(key, tok, 1000);
  REQUIRE(c);
  CHECK((*c)["sub"] == "1.2.3");
  CHECK_FALSE(check_jwt(key, tok, 2000));
  CHECK_FALSE(check_jwt("another key, same length, 32 b!", tok, 1000));
  std::string tampered = tok;
  tampered[tampered.find('.') + 2] ^= 1;
  CHECK_FALSE(check_jwt(key, tampered, 1000));
  auto creds = basic_credentials("Basic MS4yLjM6c2VjcmV0OndpdGg6Y29sb25z");
  REQUIRE(creds);
  CHECK(creds->first == "1.2.3");
  CHECK(creds->second == "secret:with:colons");
  CHECK_FALSE(basic_credentials("Bearer abc"));
}

TEST_CASE("the UCRI2 fuzzer's kept inputs are read without crashing", "[unit][ucri2]") {
  // Crashers found by tools/fuzz are kept under tests/fuzz/regressions/fuzz_ucri2_message/ and
  // replayed here; each must map or give a specific error.
  for (const char* tree : {"regressions", "corpus"}) {
    fs::path d = root / "tests/fuzz" / tree / "fuzz_ucri2_message";
    if (!fs::exists(d)) continue;
    for (const auto& f : fs::directory_iterator(d)) {
      INFO(f.path().string());
      std::ifstream in(f.path(), std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // The Authorization parsers the fuzzer also feeds.
      CHECK_NOTHROW(basic_credentials(data));
      CHECK_NOTHROW(check_jwt("fuzz-signing-key", data, 0));
      if (f.path().filename() == "authorization-basic.txt")
        CHECK(basic_credentials(data) ==
              std::make_pair(std::string("1.2.276.0.99.1"), std::string("secret")));
      auto r = parse_send_request(data, schemas());
      if (auto* e = std::get_if<ucri2_error>(&r)) {
        CHECK_FALSE(e->message.empty());
        json doc = json::parse(data, nullptr, false);
        if (doc.is_object() && !adapters::check_message(doc, schemas()))
          CHECK_NOTHROW(from_canonical(doc, out_ctx()));
        continue;
      }
      transfer_facts t{"T-20261121-000001", "essex-police", "essex-fire", "P-1"};
      auto m = to_canonical(std::get<send_request>(r), ctx_from_fire(t));
      if (auto* e = std::get_if<ucri2_error>(&m)) CHECK_FALSE(e->message.empty());
    }
  }
}

TEST_CASE("numeric fields of UCRI2 requests are range-checked, never wrapped", "[unit][ucri2]") {
  SECTION("integer_in takes integers within the range only") {
    CHECK(integer_in(json(5), 1, 10) == 5);
    CHECK(integer_in(json(std::uint64_t{4294967295}), 1, 1000) == std::nullopt);
    CHECK(integer_in(json(std::uint64_t{18446744073709551615u}), 0, 9007199254740991) ==
          std::nullopt);
    CHECK(integer_in(json(std::int64_t{-1}), 0, 10) == std::nullopt);
    CHECK(integer_in(json(2.0), 0, 10) == std::nullopt);
    CHECK(integer_in(json("3"), 0, 10) == std::nullopt);
    CHECK(integer_in(json(std::int64_t{9007199254740991}), 0, 9007199254740991) ==
          9007199254740991);
  }
  SECTION("a send timeout beyond the spec's range is a 460 at /timeout") {
    for (auto t : {json(std::uint64_t{4294967306}), json(std::int64_t{-1}), json(86401)}) {
      auto body = send_body("incident_transfer", "incident", incident_data());
      body["timeout"] = t;
      auto e = parse_err(body.dump());
      INFO(t.dump());
      CHECK(e.code == wire_code::invalid_request);
      CHECK(e.http_status() == 400);
      CHECK(e.pointer == "/timeout");
    }
  }
  SECTION("maxMessages and sequenceId have schema maxima") {
    CHECK(schemas().validate(
        "ucri2/client/receive_request",
        json{{"destinations", {"1.2.276.0.99.1"}}, {"maxMessages", std::uint64_t{4294967295}}}));
    CHECK_FALSE(
        schemas().validate("ucri2/client/receive_request",
                           json{{"destinations", {"1.2.276.0.99.1"}}, {"maxMessages", 1000}}));
    CHECK(schemas().validate("ucri2/client/commit_request",
                             json{{"destination", "1.2.276.0.99.1"},
                                  {"sequenceId", std::uint64_t{18446744073709551615u}}}));
  }
}

TEST_CASE("a UCRI2 body or payload nesting too deep is refused before it is walked",
          "[unit][ucri2]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  SECTION("the request body") {
    auto e = parse_err(deep);
    CHECK(e.code == wire_code::invalid_request);
    CHECK(e.bl_code == "bl.request.too_deep");
  }
  SECTION("the JSON inside payload.data") {
    auto body = send_body("incident_transfer", "incident", incident_data());
    body["payload"]["data"] = deep;
    auto e = parse_err(body.dump());
    CHECK(e.code == wire_code::payload_not_json);
    CHECK(e.bl_code == "bl.request.too_deep");
    CHECK(e.pointer == "/payload/data");
  }
  SECTION("not JSON at all keeps its own code") {
    CHECK(parse_err("{nope").bl_code == "bl.ucri2.malformed_json");
  }
}
