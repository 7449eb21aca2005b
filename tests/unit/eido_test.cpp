// NENA EIDO 1.0 (NENA-STA-021.1a) export and import, checked against NENA's own schema
// (schemas/eido/nena_eido_1_0.schema.json, transcribed from NENA911/EIDO-JSON at 7aa4ff0c):
// every EIDO Bluelink writes validates against it and its references resolve; every canonical
// example survives bluelink -> EIDO -> bluelink; an EIDO built like NENA's own call-transfer
// sample becomes a transfer.request that carries the caller and callback number to the
// operator, names what it does not carry and keeps its sender as the partners configuration
// maps it; an EIDO of NENA's required members only imports; invalid EIDOs get errors naming the
// field. Also replays the EIDO fuzzer's kept inputs (tests/fuzz/{corpus,regressions}/).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
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
  return eido["incidentComponent"];
}

// NENA's schema says nothing of references resolving; NENA's text does ("the $id of another
// data component in the same EIDO"). Every {"$ref"} in `doc` names an $id in it.
void check_references(const json& doc) {
  std::set<std::string> ids;
  std::vector<std::string> refs;
  std::function<void(const json&)> walk = [&](const json& j) {
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (k == "bluelinkCanonical") continue;
        if (k == "$id" && v.is_string()) ids.insert(v.get<std::string>());
        if (k == "$ref" && v.is_string()) refs.push_back(v.get<std::string>());
        walk(v);
      }
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(doc);
  for (const auto& r : refs) {
    INFO("$ref " << r);
    CHECK(ids.count(r) == 1);
  }
}

void check_nena_valid(const json& eido) {
  auto e = bl::test::repo_schemas().validate("eido/nena_eido_1_0", eido);
  if (e) FAIL("not valid against NENA's EIDO 1.0 schema: " << e->message << " at " << e->pointer);
  check_references(eido);
}

// The partners configuration of the tests: the Harlow PSAP's EIDO identities are herts-psap's,
// the ambulance service's agency $id is eeast-ambulance's.
bl::adapters::partner_context partners() {
  bl::adapters::partner_context p;
  p.eido_ids = {{"psap.harlow.example.uk", "herts-psap"},
                {"cad.psap.harlow.example.uk", "herts-psap"},
                {"ambulance.eoe.example.uk", "eeast-ambulance"}};
  return p;
}

std::string line_with(const json& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.get<std::string>().find(part) != std::string::npos) return l.get<std::string>();
  return {};
}

}  // namespace

TEST_CASE("every EIDO Bluelink sends validates against NENA's schema and comes back exactly",
          "[unit][eido]") {
  // The EIDO conveyance streams every delivery, so every type an inbox can hold must export:
  // requests, updates and notifications, the replies (received, accept, decline, defer), cancel,
  // close, the gateway's alerts and receipts. Only error replies (22, 23) are not deliveries.
  const std::set<std::string> nena_top = {"$id",
                                          "lastUpdateTimeStamp",
                                          "updatedByAgencyReference",
                                          "eidoVersion",
                                          "issuingElementIdentification",
                                          "incidentComponent",
                                          "agencyComponent",
                                          "locationComponent",
                                          "notesComponent",
                                          "personComponent"};
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
    check_nena_valid(eido);
    // NENA's members only, and Bluelink's one extension member.
    for (const auto& [k, v] : eido.items())
      if (k != "bluelinkCanonical") CHECK(nena_top.count(k) == 1);
    CHECK(eido["eidoVersion"] == "1.0");
    CHECK(eido["issuingElementIdentification"] == "bluelink");
    CHECK(eido["updatedByAgencyReference"]["$ref"] == msg["from"]);
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
  CHECK(incident(eido)["incidentStatusCommonRegistryText"] == json::array({"Active"}));
  // A reply does not repeat the incident type NENA requires.
  CHECK(incident(eido)["incidentTypeCommonRegistryText"] == "Unknown");
  bool reason_in_notes = false;
  for (const auto& n : eido["notesComponent"])
    if (n["notesActionComments"] == decline["body"]["text"]) reason_in_notes = true;
  CHECK(reason_in_notes);
}

TEST_CASE("the incident is the transfer, each agency's own number its internal incident id",
          "[unit][eido]") {
  json request = example("01-");
  json eido = export_ok(request);
  // Before the gateway numbers the transfer, the sender's own incident URN.
  CHECK(eido["$id"] ==
        "urn:emergency:uid:incidentid:82392683-c6d4-5177-951f-29a2f0d62ccc:essex-fire");
  CHECK(incident(eido)["internalIncidentId"] == "F-2611-004512");
  CHECK(eido["lastUpdateTimeStamp"] == "2026-11-21T14:02:11Z");
  CHECK(incident(eido)["incidentTypeCommonRegistryText"] == "RTC");
  CHECK(incident(eido)["incidentTypeInternalCode"] == "RTC-PERSONS-TRAPPED");
  CHECK(incident(eido)["incidentCommonPriorityNumber"] == 1);
  CHECK(incident(eido)["incidentStatusCommonRegistryText"] == json::array({"Pending"}));
  CHECK(eido["agencyComponent"][0]["$id"] == "essex-fire");
  CHECK(eido["agencyComponent"][0]["incidentOwningAgencyIndicator"] == true);
  CHECK(eido["agencyComponent"][1]["$id"] == "essex-police");
  CHECK(eido["agencyComponent"][1]["agencyType"] == json::array({"police"}));
  // Every component says who updated it last, as NENA's prologue requires.
  for (const auto& a : eido["agencyComponent"]) {
    CHECK(a["updatedByAgencyReference"]["$ref"] == "essex-fire");
    CHECK(a["lastUpdateTimeStamp"] == "2026-11-21T14:02:11Z");
  }
  // The message id and the CAD system that issued the number have no EIDO member: they ride
  // in the extension.
  CHECK(eido["bluelinkCanonical"]["/id"] == request["id"]);
  CHECK(eido["bluelinkCanonical"]["/body/sender_incident/system"] == "ECFRS Vision");
  CHECK(eido["bluelinkCanonical"].count("/body/sender_incident/number") == 0);

  json accept = example("15-");
  json a = export_ok(accept);
  CHECK(a["$id"] == "urn:emergency:uid:incidentid:T-20261121-000123:bluelink");
  CHECK(incident(a)["internalIncidentId"] == "ESX-20261121-0461");
  CHECK(a["updatedByAgencyReference"]["$ref"] == "essex-police");
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

TEST_CASE("component ids are stable and derived when the message id is not a UUID",
          "[unit][eido]") {
  json msg = example("19-");
  msg["id"] = "essex-police:cad-77812";
  json eido = export_ok(msg);
  const std::string iid = incident(eido)["$id"];
  CHECK(iid.rfind("urn:uuid:", 0) == 0);
  CHECK(iid.size() == 45);
  CHECK(iid[23] == '8');                          // RFC 9562 version 8: derived
  CHECK(incident(export_ok(msg))["$id"] == iid);  // stable
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

TEST_CASE("an EIDO built like NENA's call-transfer sample becomes a transfer.request",
          "[unit][eido]") {
  const std::string text = slurp(root / "tests/data/eido/partner-call-transfer.json");
  const json doc = json::parse(text);
  check_nena_valid(doc);  // the test document itself is NENA's EIDO 1.0
  const auto p = partners();
  eido_import_context ctx;
  ctx.partner = &p;
  json msg = import_ok(text, ctx);
  // The first state of the incident: the request is the incident.
  CHECK(msg["id"] == "herts-psap:urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk");
  CHECK(msg["type"] == "transfer.request");
  CHECK(msg["from"] == "herts-psap");  // the agency $id, mapped by partners[].eido_ids
  CHECK(msg["to"] == json::array({"eeast-ambulance"}));
  CHECK(msg["sent_at"] == "2026-11-21T21:14:07.250+00:00");
  const json& b = msg["body"];
  CHECK(b["category"] == "ambulance.casualty_care");
  CHECK(b["ask"] == "attend");
  CHECK(b["priority"] == "emergency");  // an emergency call
  CHECK(b["sender_incident"] ==
        json({{"number", "HP-2611-0193"}, {"system", "EIDO cad.psap.harlow.example.uk"}}));
  const json& loc = b["methane"]["exact_location"];
  CHECK(loc["wgs84"] == json({{"lat", 51.7686}, {"lon", 0.0957}, {"accuracy_m", 40}}));
  CHECK(loc["address"] == "12 Broad Walk, Harlow, Essex, CM20 1HT, GB");
  CHECK(b["methane"]["type_of_incident"]["code"] == "Medical");
  CHECK(b["methane"]["type_of_incident"]["agency_code"] == "MED-COLLAPSE");
  // The caller and the number to call back on reach the operator, first in the notes; the
  // note's HTML is read as text.
  const std::string notes = b["notes"];
  CHECK(notes.rfind("Caller: Priya Shah; call back on "
                    "sip:+447700900123@ims.mnc010.mcc234.3gppnetwork.org;user=phone, "
                    "tel:+447700900123\n",
                    0) == 0);
  CHECK(notes.find("grey coat.\nDefibrillator in the shopping centre office.") !=
        std::string::npos);
  CHECK(notes.find('<') == std::string::npos);
  CHECK(b["summary"].get<std::string>().find("(EIDO from cad.psap.harlow.example.uk)") !=
        std::string::npos);
  // Where it came from and what it does not carry.
  const json& src = msg["source"];
  CHECK(src["standard"] == "NENA EIDO 1.0");
  CHECK(src["sender"] == "cad.psap.harlow.example.uk");
  CHECK(src["identifier"] ==
        "urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk at "
        "2026-11-21T21:14:07.250+00:00");
  const json& nc = src["not_carried"];
  CHECK(line_with(nc, "location 2 of 2 (Caller)") ==
        "location 2 of 2 (Caller): by reference at https://lis.example.uk/loc?ref=0c5d7e21 (not "
        "fetched)");
  CHECK(line_with(nc, "person 2 of 2") == "person 2 of 2 (Patient)");
  CHECK(line_with(nc, "call urn:emergency:uid:callid:91ad0c33e2") ==
        "call urn:emergency:uid:callid:91ad0c33e2:psap.harlow.example.uk (emergency, incoming, "
        "started 2026-11-21T21:11:02.000+00:00, callAnswered)");
  CHECK(line_with(nc, "agent ") ==
        "agent jbloggs@psap.harlow.example.uk (Call Taking), position 5");
  CHECK(line_with(nc, "additional data") ==
        "additional data 1 of 1 (EmergencyCallData.ProviderInfo): by value (335 bytes)");
  CHECK(line_with(nc, "location 1") == "");  // the one carried
  CHECK(line_with(nc, "person 1") == "");    // the caller, carried in the notes
  CHECK(nc.size() == 5);

  SECTION("a later state of the incident updates the transfer its first state made") {
    json later = doc;
    later["lastUpdateTimeStamp"] = "2026-11-21T21:16:30Z";
    // Offline (no store to look in) it is the same request again, which the gateway would
    // refuse as a reused id.
    CHECK(import_ok(later.dump(), ctx)["id"] == msg["id"]);

    eido_import_context c = ctx;
    std::vector<std::string> asked;
    c.transfer_of = [&](const std::string& incident) {
      asked.push_back(incident);
      return std::optional<bl::adapters::eido_earlier_state>(
          {"T-20261121-000777", 3, "2026-11-21T21:14:07.250+00:00"});
    };
    // The same state as the first: the request again (a retry gets the first receipt).
    CHECK(import_ok(text, c)["type"] == "transfer.request");
    CHECK(asked.back() == "urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk");
    json u = import_ok(later.dump(), c);
    CHECK(u["type"] == "transfer.update");
    CHECK(u["id"] ==
          "herts-psap:urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk:"
          "2026-11-21T21:16:30Z");
    CHECK(u["transfer_id"] == "T-20261121-000777");
    CHECK(u["version"] == 3);
    CHECK(u.count("to") == 0);
    const std::string what = u["body"]["text"];
    CHECK(what.rfind("The incident as cad.psap.harlow.example.uk sees it at 2026-11-21T21:16:30Z:\n"
                     "Caller: Priya Shah; call back on ",
                     0) == 0);
    CHECK(u["body"]["methane"] == msg["body"]["methane"]);
    CHECK(u["body"]["priority"] == "emergency");
    CHECK(u["source"]["identifier"] ==
          "urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk at "
          "2026-11-21T21:16:30Z");
  }
  SECTION("the edge's lookup: the request's transfer and the state its kept EIDO had") {
    std::string looked_up;
    auto found = bl::adapters::eido_earlier_state_of(
        "herts-psap", "urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk",
        [&](const std::string& id) {
          looked_up = id;
          return std::optional<std::pair<std::string, std::int64_t>>({"T-20261121-000777", 4});
        },
        [&](const std::string&) { return std::optional<std::string>(text); });
    REQUIRE(found);
    CHECK(looked_up == msg["id"]);
    CHECK(found->transfer_id == "T-20261121-000777");
    CHECK(found->next_version == 5);
    CHECK(found->first_state == "2026-11-21T21:14:07.250+00:00");
    auto none = bl::adapters::eido_earlier_state_of(
        "herts-psap", "urn:x",
        [](const std::string&) { return std::optional<std::pair<std::string, std::int64_t>>(); },
        [](const std::string&) { return std::optional<std::string>(); });
    CHECK_FALSE(none);
  }
  SECTION("an updated callback number comes first") {
    json d = doc;
    d["callbackComponent"][0]["updatedCbn"] = {
        {"$id", "urn:uuid:6f1d0e2c-9b3a-4c57-8e46-0a2b7d9c1f38"},
        {"lastUpdateTimeStamp", "2026-11-21T21:12:00Z"},
        {"updatedByAgencyReference", {{"$ref", "psap.harlow.example.uk"}}},
        {"updatedCbnIdentifierUri", "tel:+441279555018"}};
    const std::string n = import_ok(d.dump(), ctx)["body"]["notes"];
    CHECK(n.rfind("Caller: Priya Shah; call back on tel:+441279555018, sip:", 0) == 0);
  }
  SECTION("a caller without a name, reached through the call's callback") {
    json d = doc;
    d["personComponent"][0].erase("ncPersonComponent");
    d["personComponent"][0].erase("callBackReference");
    const std::string n = import_ok(d.dump(), ctx)["body"]["notes"];
    CHECK(n.rfind("Caller: name not given; call back on sip:", 0) == 0);
  }
  SECTION("the link's sender and recipient override the document") {
    eido_import_context c = ctx;
    c.from = "herts-psap";
    c.to = {"essex-police"};
    json m = import_ok(text, c);
    CHECK(m["from"] == "herts-psap");
    CHECK(m["to"] == json::array({"essex-police"}));
    CHECK(m["body"]["category"] == "police.scene_security");
  }
  SECTION("the partner's default recipient when the link names none") {
    auto q = partners();
    q.default_to_of["herts-psap"] = "herts-fire";
    eido_import_context c;
    c.partner = &q;
    CHECK(import_ok(text, c)["to"] == json::array({"herts-fire"}));
  }
  SECTION("an awareness EIDO becomes a notification for information") {
    eido_import_context c = ctx;
    c.type = "transfer.alert";
    json m = import_ok(text, c);
    CHECK(m["body"]["category"] == "notification");
    CHECK(m["body"]["ask"] == "for_information");
  }
  SECTION("the common priority number gives the priority") {
    json d = doc;
    d["incidentComponent"]["incidentCommonPriorityNumber"] = 2;
    CHECK(import_ok(d.dump(), ctx)["body"]["priority"] == "urgent");
    d["incidentComponent"]["incidentCommonPriorityNumber"] = 18446744073709551615u;
    CHECK(import_ok(d.dump(), ctx)["body"]["priority"] == "routine");
    d["incidentComponent"]["incidentCommonPriorityNumber"] = 1.5;
    auto e = import_error(d.dump(), ctx);
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("'/incidentComponent/incidentCommonPriorityNumber'") != std::string::npos);
  }
  SECTION("a call without an incident component is still a transfer") {
    json d = doc;
    d.erase("incidentComponent");
    json m = import_ok(d.dump(), ctx);
    CHECK(m["body"]["methane"]["type_of_incident"]["code"] == "CALL-emergency");
    CHECK(m["body"]["sender_incident"]["number"] == "7f3c21ab904");  // from the document $id
  }
}

TEST_CASE("an EIDO of NENA's required members only imports", "[unit][eido]") {
  // NENA requires the prologue, eidoVersion, issuingElementIdentification and the agencies;
  // nothing else. Such an EIDO says nothing of the incident or where it is: the transfer says so.
  const json minimal = json::parse(R"({
    "$id": "urn:emergency:uid:incidentid:a56e556d871:psap.harlow.example.uk",
    "lastUpdateTimeStamp": "2026-12-07T09:15:00-00:00",
    "updatedByAgencyReference": {"$ref": "psap.harlow.example.uk"},
    "eidoVersion": "1.0",
    "issuingElementIdentification": "cad.psap.harlow.example.uk",
    "agencyComponent": [
      {"$id": "psap.harlow.example.uk", "lastUpdateTimeStamp": "2026-12-07T09:15:00-00:00",
       "updatedByAgencyReference": {"$ref": "psap.harlow.example.uk"},
       "agencyRoleDescriptionRegistryText": ["CallReceiving"], "agencyType": ["psap"]},
      {"$id": "ambulance.eoe.example.uk", "lastUpdateTimeStamp": "2026-12-07T09:15:00-00:00",
       "updatedByAgencyReference": {"$ref": "psap.harlow.example.uk"},
       "agencyRoleDescriptionRegistryText": ["Dispatch"], "agencyType": ["ems"]}]})");
  check_nena_valid(minimal);
  const auto p = partners();
  eido_import_context ctx;
  ctx.partner = &p;
  json m = import_ok(minimal.dump(), ctx);
  CHECK(m["from"] == "herts-psap");
  CHECK(m["to"] == json::array({"eeast-ambulance"}));
  CHECK(m["body"]["sender_incident"]["number"] == "a56e556d871");
  CHECK(m["body"]["methane"]["type_of_incident"] ==
        json({{"code", "UNKNOWN"}, {"text", "Incident type not given in the EIDO"}}));
  CHECK(m["body"]["methane"]["exact_location"] == json({{"address", "Not given in the EIDO"}}));
  CHECK(m["body"]["priority"] == "routine");
  CHECK(m["source"]["not_carried"] == json::array());

  SECTION("a location only by reference is named, not fetched") {
    json d = minimal;
    d["locationComponent"] =
        json::array({{{"$id", "urn:uuid:1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7a8b"},
                      {"lastUpdateTimeStamp", "2026-12-07T09:15:00Z"},
                      {"updatedByAgencyReference", {{"$ref", "psap.harlow.example.uk"}}},
                      {"locationTypeDescriptionRegistryText", "Caller"},
                      {"locationByReferenceUrl", "https://lis.example.uk/loc?ref=77"}}});
    CHECK(import_ok(d.dump(), ctx)["body"]["methane"]["exact_location"]["address"] ==
          "Not given in the EIDO; by reference at https://lis.example.uk/loc?ref=77 (not "
          "fetched)");
  }
}

TEST_CASE("invalid EIDOs are refused with the field that is wrong", "[unit][eido]") {
  const json good = export_ok(example("01-"));
  const json partner = json::parse(slurp(root / "tests/data/eido/partner-call-transfer.json"));
  const auto p = partners();
  eido_import_context ctx;
  ctx.partner = &p;

  SECTION("not JSON") {
    auto e = import_error("{\"eidoVersion\": ");
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
  SECTION("a timestamp without a zone") {
    json d = good;
    d["lastUpdateTimeStamp"] = "2026-11-21T14:02:11";
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("'/lastUpdateTimeStamp'") != std::string::npos);
  }
  SECTION("a member NENA requires is missing") {
    for (const char* k : {"$id", "issuingElementIdentification", "updatedByAgencyReference",
                          "eidoVersion", "agencyComponent"}) {
      INFO(k);
      json d = partner;
      d.erase(k);
      auto e = import_error(d.dump(), ctx);
      CHECK(e.code == "bl.eido.invalid");
      CHECK(e.message.find("NENA's EIDO 1.0 schema") != std::string::npos);
    }
    json d = partner;
    d["agencyComponent"][1].erase("updatedByAgencyReference");
    auto e = import_error(d.dump(), ctx);
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("/agencyComponent/1") != std::string::npos);
  }
  SECTION("the draft's members instead of NENA 1.0's") {
    // incidentComponent as a list, as the 0.0.3 draft and some third-party tools write it.
    json d = partner;
    d["incidentComponent"] = json::array({d["incidentComponent"]});
    auto e = import_error(d.dump(), ctx);
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("'/incidentComponent'") != std::string::npos);
  }
  SECTION("an incident number of the wrong type") {
    json d = good;
    d["incidentComponent"]["internalIncidentId"] = 12;
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.invalid");
    CHECK(e.message.find("/incidentComponent/internalIncidentId") != std::string::npos);
  }
  SECTION("a PIDF-LO position out of range") {
    json d = partner;
    std::string pidf = d["locationComponent"][0]["locationByValue"];
    pidf.replace(pidf.find("51.7686 0.0957"), 14, "151.7686 0.0957");
    d["locationComponent"][0]["locationByValue"] = pidf;
    auto e = import_error(d.dump(), ctx);
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("/locationComponent/0/locationByValue") == 0);
    CHECK(e.message.find("151.7686") != std::string::npos);
  }
  SECTION("a PIDF-LO document with a DTD") {
    json d = partner;
    d["locationComponent"][0]["locationByValue"] =
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"e\">]><presence/>";
    auto e = import_error(d.dump(), ctx);
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("bl.xml.dtd_refused") != std::string::npos);
  }
  SECTION("the updating agency is not among the agencies") {
    json d = partner;
    d["updatedByAgencyReference"]["$ref"] = "psap.elsewhere.example.uk";
    auto e = import_error(d.dump(), ctx);
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("/updatedByAgencyReference/$ref 'psap.elsewhere.example.uk'") == 0);
  }
  SECTION("a partner EIDO whose identities map to no agency") {
    auto e = import_error(partner.dump());  // no partners configuration
    CHECK(e.code == "bl.eido.not_derivable");
    CHECK(e.message.find("/updatedByAgencyReference/$ref 'psap.harlow.example.uk'") !=
          std::string::npos);
    CHECK(e.message.find("partners[].eido_ids") != std::string::npos);
  }
  SECTION("on a link, an identity the partner has not declared") {
    eido_import_context c;
    c.from = "essex-police";
    auto e = import_error(partner.dump(), c);
    CHECK(e.code == "bl.partner.unknown_sender");
    CHECK(e.message.find("are not identities of essex-police") != std::string::npos);
  }
  SECTION("on a link, another agency's identity") {
    eido_import_context c = ctx;
    c.from = "essex-police";
    auto e = import_error(partner.dump(), c);
    CHECK(e.code == "bl.partner.sender_mismatch");
    CHECK(e.message.find("are herts-psap's, but the document came from essex-police") !=
          std::string::npos);
  }
  SECTION("a partner EIDO naming two receiving agencies") {
    json d = partner;
    json extra = d["agencyComponent"][1];
    extra["$id"] = "essex-police";
    d["agencyComponent"].push_back(extra);
    auto e = import_error(d.dump(), ctx);
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
  SECTION("an extension without the message id") {
    json d = good;
    d["bluelinkCanonical"].erase("/id");
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.eido.missing_field");
    CHECK(e.message.find("/bluelinkCanonical/~1id") == 0);
  }
  SECTION("an extension value the message schema refuses") {
    json d = good;
    d["bluelinkCanonical"]["/body/category"] = "fire.dragons";
    auto e = import_error(d.dump());
    CHECK(e.code == "bl.schema.invalid");
    CHECK(e.message.find("/body/category") != std::string::npos);
  }
  SECTION("a Bluelink EIDO from another agency than the authenticated one") {
    eido_import_context c;
    c.from = "essex-police";
    auto e = import_error(good.dump(), c);
    CHECK(e.code == "bl.eido.bad_value");
    CHECK(e.message.find("/updatedByAgencyReference/$ref 'essex-fire'") == 0);
  }
}

TEST_CASE("the EIDO fuzzer's kept inputs are read without crashing", "[unit][eido]") {
  bl::test::for_each_fuzz_input(
      "fuzz_eido_import", [&](const std::filesystem::path&, const std::string& input) {
        auto r = bl::adapters::eido_import(input, bl::test::repo_schemas());
        if (auto* e = std::get_if<translate_error>(&r)) CHECK_FALSE(e->message.empty());
      });
}
