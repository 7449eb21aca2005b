// NENA EIDO (NENA-STA-021) export and import: every canonical example EIDO can carry survives
// bluelink -> EIDO -> bluelink with each agency's incident number and the location in EIDO's own
// members; the replies EIDO cannot carry are refused by type; a partner's call-transfer EIDO
// becomes a sensible transfer.request; invalid EIDOs get errors naming the field. Also replays
// the EIDO fuzzer's kept inputs (tests/fuzz/{corpus,regressions}/fuzz_eido_import/).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "adapters/eido/eido.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
using bl::adapters::eido_import_context;
using bl::adapters::translate_error;
using nlohmann::json;

const fs::path root = BL_SOURCE_DIR;

json example(const std::string& prefix) {
  for (const auto& f : bl::test::example_files(root / "schemas/examples/valid/message"))
    if (f.filename().string().rfind(prefix, 0) == 0) return bl::test::read_json(f);
  FAIL("no example " << prefix);
  return {};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json export_ok(const json& msg) {
  auto r = bl::adapters::eido_export(msg);
  if (auto* e = std::get_if<translate_error>(&r)) FAIL(e->code << ": " << e->message);
  return std::get<json>(r);
}

json import_ok(const std::string& text, const eido_import_context& ctx = {}) {
  auto r = bl::adapters::eido_import(text, bl::test::repo_schemas(), ctx);
  if (auto* e = std::get_if<translate_error>(&r)) FAIL(e->code << ": " << e->message);
  return std::get<json>(r);
}

translate_error import_error(const std::string& text, const eido_import_context& ctx = {}) {
  auto r = bl::adapters::eido_import(text, bl::test::repo_schemas(), ctx);
  if (auto* m = std::get_if<json>(&r)) FAIL("imported: " << m->dump());
  return std::get<translate_error>(r);
}

const json& incident(const json& eido) {
  return eido["incidentComponent"][0];
}

}  // namespace

TEST_CASE("every canonical transfer message and receipt survives a round trip", "[unit][eido]") {
  // The EIDO conveyance streams every delivery, so every type an inbox can hold must export:
  // requests, updates and notifications, the replies (received, accept, decline, defer), cancel,
  // close, the gateway's alerts and receipts. Only error replies (22, 23) are not deliveries.
  int carried = 0;
  for (const auto& f : bl::test::example_files(root / "schemas/examples/valid/message")) {
    const std::string name = f.filename().string();
    INFO(name);
    json msg = bl::test::read_json(f);
    const std::string type = msg["type"];
    auto r = bl::adapters::eido_export(msg);
    if (type == "error") {
      REQUIRE(std::holds_alternative<translate_error>(r));
      CHECK(std::get<translate_error>(r).code == "bl.eido.unsupported_type");
      CHECK(std::get<translate_error>(r).message.find("'" + type + "'") != std::string::npos);
      continue;
    }
    REQUIRE(std::holds_alternative<json>(r));
    const json eido = std::get<json>(r);
    CHECK(incident(eido)["incidentStatusInternalText"][0] == type);
    CHECK(import_ok(eido.dump()) == msg);
    // The same through the text a peer would receive, pretty-printed.
    CHECK(import_ok(eido.dump(2)) == msg);
    ++carried;
  }
  CHECK(carried == 23);  // 01-21, 24 and 25: everything but the two error replies
}

TEST_CASE("a decline keeps its reason where a CAD operator reads it", "[unit][eido]") {
  json decline = example("17-");
  json eido = export_ok(decline);
  CHECK(eido["messageKind"] == "Update");
  bool reason_in_notes = false;
  for (const auto& n : eido["notesComponent"])
    if (n["notesActionComments"] == decline["body"]["text"]) reason_in_notes = true;
  CHECK(reason_in_notes);
}

TEST_CASE("each agency's incident number travels as the incident tracking identifier",
          "[unit][eido]") {
  json request = example("01-");
  json eido = export_ok(request);
  CHECK(incident(eido)["incidentTrackingIdentifier"] == "F-2611-004512");
  CHECK(eido["sendingSystemIdentifier"] == "essex-fire");
  CHECK(eido["eidoMessageIdentifier"] == "urn:uuid:82392683-c6d4-5177-951f-29a2f0d62ccc");
  CHECK(eido["$id"] == eido["eidoMessageIdentifier"]);
  CHECK(eido["lastUpdateTimeStamp"] == "2026-11-21T14:02:11Z");
  CHECK(eido["messageKind"] == "New");
  CHECK(incident(eido)["incidentTypeCommonRegistryText"] == "RTC");
  CHECK(incident(eido)["incidentTypeInternalCode"] == "RTC-PERSONS-TRAPPED");
  CHECK(incident(eido)["incidentCommonPriorityNumber"] == 1);
  CHECK(eido["agencyComponent"][1]["$id"] == "essex-police");
  CHECK(eido["agencyComponent"][1]["agencyType"] == json::array({"police"}));
  // The CAD system that issued the number has no EIDO member: it rides in the extension.
  CHECK(eido["bluelinkCanonical"]["/body/sender_incident/system"] == "ECFRS Vision");
  CHECK(eido["bluelinkCanonical"].count("/body/sender_incident/number") == 0);

  json accept = example("15-");
  json a = export_ok(accept);
  CHECK(incident(a)["incidentTrackingIdentifier"] == "ESX-20261121-0461");
  CHECK(incident(a)["$id"] == "urn:emergency:uid:incidentid:T-20261121-000123:bluelink");
  CHECK(a["sendingSystemIdentifier"] == "essex-police");
  json back = import_ok(a.dump());
  CHECK(back["body"]["receiver_incident"] == accept["body"]["receiver_incident"]);
  CHECK(back["transfer_id"] == "T-20261121-000123");
}

TEST_CASE("the location is carried as PIDF-LO and description text and comes back exactly",
          "[unit][eido]") {
  json msg = example("01-");
  json eido = export_ok(msg);
  const json& loc = eido["locationComponent"][0];
  CHECK(loc["locationTypeDescriptionRegistryText"] == "CurrentIncident");
  CHECK(loc["locationDescriptionText"] ==
        "A12 London-bound carriageway between J19 (Boreham) and J18 (Sandon), Chelmsford");
  const std::string pidf = loc["locationByValue"];
  CHECK(pidf.find("<gml:pos>51.7229 0.5253</gml:pos>") != std::string::npos);
  CHECK(pidf.find(">25</gs:radius>") != std::string::npos);
  CHECK(incident(eido)["locationReference"][0]["$ref"] == loc["$id"]);
  // The point and address are EIDO's own; the OS grid reference rides in the extension.
  const json& ext = eido["bluelinkCanonical"];
  CHECK(ext.count("/body/methane/exact_location/wgs84/lat") == 0);
  CHECK(ext.count("/body/methane/exact_location/address") == 0);
  CHECK(ext["/body/methane/exact_location/osgr/easting"] == 574520);
  json back = import_ok(eido.dump());
  CHECK(back["body"]["methane"]["exact_location"] == msg["body"]["methane"]["exact_location"]);

  SECTION("a point without accuracy is a gml:Point") {
    msg["body"]["methane"]["exact_location"]["wgs84"] = {{"lat", -33.868820}, {"lon", 151.2093}};
    json e = export_ok(msg);
    const std::string p = e["locationComponent"][0]["locationByValue"];
    CHECK(p.find("<gml:Point") != std::string::npos);
    CHECK(import_ok(e.dump()) == msg);
  }
}

TEST_CASE("a message id that is not a UUID gets a derived EIDO identifier and comes back",
          "[unit][eido]") {
  json msg = example("19-");
  msg["id"] = "essex-police:cad-77812";
  json eido = export_ok(msg);
  const std::string mid = eido["eidoMessageIdentifier"];
  CHECK(mid.rfind("urn:uuid:", 0) == 0);
  CHECK(mid.size() == 45);
  CHECK(mid[23] == '8');                                  // RFC 9562 version 8: derived, not random
  CHECK(export_ok(msg)["eidoMessageIdentifier"] == mid);  // stable
  CHECK(import_ok(eido.dump()) == msg);
}

TEST_CASE("types EIDO cannot express are refused by name", "[unit][eido]") {
  for (const char* prefix : {"22-", "23-"}) {
    json msg = example(prefix);
    auto r = bl::adapters::eido_export(msg);
    REQUIRE(std::holds_alternative<translate_error>(r));
    CHECK(std::get<translate_error>(r).code == "bl.eido.unsupported_type");
  }
}

TEST_CASE("a partner's call-transfer EIDO becomes a transfer.request", "[unit][eido]") {
  const std::string text = slurp(root / "tests/data/eido/partner-call-transfer.json");
  json msg = import_ok(text);
  CHECK(msg["id"] == "herts-psap:3b8d9a52-6c41-4f0e-9d7a-2e5f80c1a9d4");
  CHECK(msg["type"] == "transfer.request");
  CHECK(msg["from"] == "herts-psap");
  CHECK(msg["to"] == json::array({"eeast-ambulance"}));
  CHECK(msg["sent_at"] == "2026-11-21T21:14:07.250+00:00");
  const json& b = msg["body"];
  CHECK(b["category"] == "ambulance.casualty_care");
  CHECK(b["ask"] == "attend");
  CHECK(b["priority"] == "emergency");  // an emergency call
  CHECK(b["sender_incident"] == json({{"number", "HP-2611-0193"}, {"system", "EIDO herts-psap"}}));
  const json& loc = b["methane"]["exact_location"];
  CHECK(loc["wgs84"] == json({{"lat", 51.7686}, {"lon", 0.0957}, {"accuracy_m", 40}}));
  CHECK(loc["address"] == "12 Broad Walk, Harlow, Essex, CM20 1HT, GB");
  CHECK(b["methane"]["type_of_incident"]["code"] == "Medical");
  CHECK(b["methane"]["type_of_incident"]["agency_code"] == "MED-COLLAPSE");
  CHECK(b["notes"].get<std::string>().find("Defibrillator") != std::string::npos);
  CHECK(b["summary"].get<std::string>().find("(EIDO from herts-psap)") != std::string::npos);

  SECTION("the conveyance's sender and recipient override the document") {
    eido_import_context ctx;
    ctx.from = "herts-fire";
    ctx.to = {"essex-police"};
    json m = import_ok(text, ctx);
    CHECK(m["from"] == "herts-fire");
    CHECK(m["id"] == "herts-fire:3b8d9a52-6c41-4f0e-9d7a-2e5f80c1a9d4");
    CHECK(m["to"] == json::array({"essex-police"}));
    CHECK(m["body"]["category"] == "police.scene_security");
  }
  SECTION("an awareness EIDO becomes a notification for information") {
    eido_import_context ctx;
    ctx.type = "transfer.alert";
    json m = import_ok(text, ctx);
    CHECK(m["body"]["category"] == "notification");
    CHECK(m["body"]["ask"] == "for_information");
  }
  SECTION("the common priority number gives the priority") {
    json doc = json::parse(text);
    doc["incidentComponent"][0]["incidentCommonPriorityNumber"] = 2;
    CHECK(import_ok(doc.dump())["body"]["priority"] == "urgent");
    doc["incidentComponent"][0]["incidentCommonPriorityNumber"] = 18446744073709551615u;
    CHECK(import_ok(doc.dump())["body"]["priority"] == "routine");
    doc["incidentComponent"][0]["incidentCommonPriorityNumber"] = 1.5;
    auto e = import_error(doc.dump());
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("'/incidentComponent/0/incidentCommonPriorityNumber'") !=
          std::string::npos);
  }
  SECTION("a call without an incident component is still a transfer") {
    json doc = json::parse(text);
    doc.erase("incidentComponent");
    json m = import_ok(doc.dump());
    CHECK(m["body"]["methane"]["type_of_incident"]["code"] == "CALL-emergency");
    CHECK(m["body"]["sender_incident"]["number"] == "7f3c21ab904");  // from the document $id
  }
  SECTION("without an incident number the incident URN gives it") {
    json doc = json::parse(text);
    doc["incidentComponent"][0].erase("incidentTrackingIdentifier");
    CHECK(import_ok(doc.dump())["body"]["sender_incident"]["number"] == "7f3c21ab904");
  }
}

TEST_CASE("invalid EIDOs are refused with the field that is wrong", "[unit][eido]") {
  const json good = export_ok(example("01-"));
  const json partner = json::parse(slurp(root / "tests/data/eido/partner-call-transfer.json"));

  SECTION("not JSON") {
    auto e = import_error("{\"eidoMessageIdentifier\": ");
    CHECK(e.code == "bl.request.malformed_json");
  }
  SECTION("a number too large for a double") {
    auto e = import_error(R"({"lastUpdateTimeStamp": 6E66666})");
    CHECK(e.code == "bl.request.malformed_json");
    CHECK(e.message.find("number overflow") != std::string::npos);
  }
  SECTION("too deep") {
    auto e = import_error(std::string(100, '[') + std::string(100, ']'));
    CHECK(e.code == "bl.request.malformed_json");
    CHECK(e.message.find("deeper than 64") != std::string::npos);
  }
  SECTION("too large") {
    auto e = import_error(std::string(bl::adapters::eido_max_bytes + 1, ' '));
    CHECK(e.code == "bl.eido.too_large");
  }
  SECTION("not an object") {
    CHECK(import_error("[1]").code == "bl.eido.invalid");
  }
  SECTION("a bad timestamp") {
    json d = good;
    d["lastUpdateTimeStamp"] = "2026-11-21 14:02";
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("'/lastUpdateTimeStamp'") != std::string::npos);
  }
  SECTION("no identifier at all") {
    json d = partner;
    d.erase("$id");
    d.erase("eidoMessageIdentifier");
    CHECK(import_error(d.dump()).code == "bl.eido.invalid");
  }
  SECTION("an incident number of the wrong type") {
    json d = good;
    d["incidentComponent"][0]["incidentTrackingIdentifier"] = 12;
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("/incidentComponent/0/incidentTrackingIdentifier") != std::string::npos);
  }
  SECTION("a PIDF-LO position out of range") {
    json d = partner;
    std::string p = d["locationComponent"][0]["locationByValue"];
    p.replace(p.find("51.7686 0.0957"), 14, "151.7686 0.0957");
    d["locationComponent"][0]["locationByValue"] = p;
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("/locationComponent/0/locationByValue") == 0);
    CHECK(e.message.find("151.7686") != std::string::npos);
  }
  SECTION("a PIDF-LO document with a DTD") {
    json d = partner;
    d["locationComponent"][0]["locationByValue"] =
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"e\">]><presence/>";
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("bl.xml.dtd_refused") != std::string::npos);
  }
  SECTION("a partner EIDO without a location") {
    json d = partner;
    d.erase("locationComponent");
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.not_derivable");
    CHECK(e.message.find("/body/methane/exact_location") != std::string::npos);
  }
  SECTION("a partner EIDO whose sender is no Bluelink agency") {
    json d = partner;
    d["sendingSystemIdentifier"] = "urn:nena:agency:psap.harlow";
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.not_derivable");
    CHECK(e.message.find("/sendingSystemIdentifier 'urn:nena:agency:psap.harlow'") !=
          std::string::npos);
  }
  SECTION("a partner EIDO naming two receiving agencies") {
    json d = partner;
    d["agencyComponent"].push_back({{"$id", "essex-police"}});
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.not_derivable");
    CHECK(e.message.find("/to") != std::string::npos);
  }
  SECTION("an extension pointer that skips array items") {
    json d = good;
    d["bluelinkCanonical"]["/body/methane/hazards/7/hazard"] = "x";
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("/bluelinkCanonical/~1body~1methane~1hazards~17~1hazard") == 0);
  }
  SECTION("an extension value the message schema refuses") {
    json d = good;
    d["bluelinkCanonical"]["/body/category"] = "fire.dragons";
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.schema.invalid");
    CHECK(e.message.find("/body/category") != std::string::npos);
  }
  SECTION("a Bluelink EIDO from another agency than the authenticated one") {
    eido_import_context ctx;
    ctx.from = "essex-police";
    auto e = import_error(good.dump(), ctx);
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("/sendingSystemIdentifier 'essex-fire'") == 0);
  }
}

TEST_CASE("the EIDO fuzzer's kept inputs are read without crashing", "[unit][eido]") {
  bl::test::for_each_fuzz_input(
      "fuzz_eido_import", [&](const std::filesystem::path&, const std::string& input) {
        auto r = bl::adapters::eido_import(input, bl::test::repo_schemas());
        if (auto* e = std::get_if<translate_error>(&r)) CHECK_FALSE(e->message.empty());
      });
}
