// System test of `bluelink translate`: the real CLI binary takes the A12 request through CAP and
// EDXL-DE and back unchanged, and through NENA EIDO, and refuses a hostile XML document and an
// invalid EIDO with their specific errors.

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/cli_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
const auto& slurp = bl::test::read_text;

/// Runs `bluelink translate ...` in `dir` and waits for it.
bl::test::cli_result translate(const bl::test::temp_dir& dir,
                               const std::vector<std::string>& args) {
  std::vector<std::string> all = {"translate"};
  all.insert(all.end(), args.begin(), args.end());
  return bl::test::run_cli(dir.path(), all);
}

}  // namespace

TEST_CASE("bluelink translate takes a request through CAP and EDXL-DE and back unchanged",
          "[system][cap]") {
  bl::test::temp_dir dir;
  const std::string example = std::string(BL_SOURCE_DIR) +
                              "/schemas/examples/valid/message/"
                              "01-request-police-traffic-management-a12-rtc.json";
  auto cap = translate(dir, {"--from", "bluelink", "--to", "cap", example});
  REQUIRE(cap.exit_code == 0);
  CHECK(cap.out.find("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">") !=
        std::string::npos);
  std::ofstream(dir.file("a12.xml")) << cap.out;

  auto edxl = translate(dir, {"--from", "cap", "--to", "edxl-de", "a12.xml"});
  REQUIRE(edxl.exit_code == 0);
  std::ofstream(dir.file("a12.edxl.json")) << edxl.out;

  auto back = translate(dir, {"--from", "edxl-de", "--to", "bluelink", "a12.edxl.json"});
  REQUIRE(back.exit_code == 0);
  CHECK(json::parse(back.out) == json::parse(slurp(example)));

  auto text = translate(dir, {"--from", "edxl-de", "--to", "methane-text", "a12.edxl.json"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("M  Major incident:        Not declared\n") != std::string::npos);
}

TEST_CASE("bluelink translate refuses an external entity with exit 1 and the reason",
          "[system][cap]") {
  bl::test::temp_dir dir;
  std::ofstream(dir.file("xxe.xml"))
      << "<?xml version=\"1.0\"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
         "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&xxe;</identifier>"
         "</alert>\n";
  auto r = translate(dir, {"--from", "cap", "--to", "bluelink", "xxe.xml"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("bl.xml.dtd_refused: DTDs are not accepted") != std::string::npos);
  CHECK(r.err.find("root:") == std::string::npos);

  auto usage = translate(dir, {"--from", "pdf", "--to", "cap", "xxe.xml"});
  CHECK(usage.exit_code == 2);
}

TEST_CASE("bluelink translate takes a request through NENA EIDO and back unchanged",
          "[system][eido]") {
  bl::test::temp_dir dir;
  const std::string example = std::string(BL_SOURCE_DIR) +
                              "/schemas/examples/valid/message/"
                              "01-request-police-traffic-management-a12-rtc.json";
  auto eido = translate(dir, {"--from", "bluelink", "--to", "eido", example});
  REQUIRE(eido.exit_code == 0);
  const json doc = json::parse(eido.out);
  CHECK(doc["incidentComponent"]["internalIncidentId"] == "F-2611-004512");
  CHECK(doc["eidoVersion"] == "1.0");
  CHECK_FALSE(bl::test::repo_schemas().validate("eido/nena_eido_1_0", doc).has_value());
  std::ofstream(dir.file("a12.eido.json")) << eido.out;

  auto back = translate(dir, {"--from", "eido", "--to", "bluelink", "a12.eido.json"});
  REQUIRE(back.exit_code == 0);
  CHECK(json::parse(back.out) == json::parse(slurp(example)));

  // A decline is an incident update in EIDO (the requester's CAD must see it)...
  const std::string decline_file = std::string(BL_SOURCE_DIR) +
                                   "/schemas/examples/valid/message/"
                                   "17-decline-m11-hgv-not-our-remit.json";
  auto decline = translate(dir, {"--from", "bluelink", "--to", "eido", decline_file});
  REQUIRE(decline.exit_code == 0);
  CHECK(json::parse(decline.out)["incidentComponent"]["incidentStatusInternalText"][0] ==
        "transfer.decline");
  std::ofstream(dir.file("decline.eido.json")) << decline.out;
  auto decline_back = translate(dir, {"--from", "eido", "--to", "bluelink", "decline.eido.json"});
  REQUIRE(decline_back.exit_code == 0);
  CHECK(json::parse(decline_back.out) == json::parse(slurp(decline_file)));
  // ...but an error reply is not a message about an incident.
  auto err = translate(dir, {"--from", "bluelink", "--to", "eido",
                             std::string(BL_SOURCE_DIR) + "/schemas/examples/valid/message/"
                                                          "22-error-stale-version.json"});
  CHECK(err.exit_code == 1);
  CHECK(err.err.find("bl.eido.unsupported_type") != std::string::npos);
}

TEST_CASE("bluelink translate refuses an invalid EIDO with exit 1 and the field",
          "[system][eido]") {
  bl::test::temp_dir dir;
  std::ofstream(dir.file("bad.eido.json"))
      << R"({"$id": "urn:emergency:uid:incidentid:7f3c21ab904:psap.harlow.example.uk",)"
         R"( "lastUpdateTimeStamp": "2026-11-21T21:14:07Z",)"
         R"( "updatedByAgencyReference": {"$ref": "psap.harlow.example.uk"},)"
         R"( "eidoVersion": "1.0", "agencyComponent": []})";
  auto r = translate(dir, {"--from", "eido", "--to", "bluelink", "bad.eido.json"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("bluelink: invalid document: bl.eido.invalid: ") == 0);
  CHECK(r.err.find("issuingElementIdentification") != std::string::npos);
}

TEST_CASE("bluelink translate reads a partner's NENA EIDO with the configured partners",
          "[system][eido]") {
  bl::test::temp_dir dir;
  json cfg = json::parse(
      slurp(std::string(BL_SOURCE_DIR) + "/schemas/examples/valid/config/full-essex.json"));
  cfg["partners"] = {{{"agency", "essex-police"},
                      {"eido_ids", {"psap.harlow.example.uk", "cad.psap.harlow.example.uk"}},
                      {"default_to", "essex-fire"}}};
  std::ofstream(dir.file("gateway.json")) << cfg.dump(2);
  const std::string call =
      std::string(BL_SOURCE_DIR) + "/tests/data/eido/partner-call-transfer.json";

  // Without the partners, the PSAP's agency $id is no agency: the error says what to give.
  auto bare = translate(dir, {"--from", "eido", "--to", "bluelink", call});
  CHECK(bare.exit_code == 1);
  CHECK(bare.err.find("bl.eido.not_derivable") != std::string::npos);
  CHECK(bare.err.find("partners[].eido_ids") != std::string::npos);

  auto in = translate(dir, {"--from", "eido", "--to", "bluelink", "--config", "gateway.json",
                            "--as", "essex-police", call});
  INFO(in.err);
  REQUIRE(in.exit_code == 0);
  json msg = json::parse(in.out);
  CHECK(msg.at("from") == "essex-police");
  CHECK(msg.at("to") == json::array({"essex-fire"}));  // the partner's default recipient
  CHECK(msg.at("/source/standard"_json_pointer) == "NENA EIDO 1.0");
  CHECK(msg.at("/body/notes"_json_pointer).get<std::string>().rfind("Caller: Priya Shah", 0) == 0);

  auto mismatch = translate(dir, {"--from", "eido", "--to", "bluelink", "--config", "gateway.json",
                                  "--as", "essex-fire", call});
  CHECK(mismatch.exit_code == 1);
  CHECK(mismatch.err.find("bl.partner.sender_mismatch") != std::string::npos);

  // The M/ETHANE text a receiving operator would print starts its notes with the caller.
  auto text = translate(dir, {"--from", "eido", "--to", "methane-text", "--config", "gateway.json",
                              "--as", "essex-police", call});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("Notes:                    Caller: Priya Shah; call back on") !=
        std::string::npos);
  CHECK(text.out.find("Not carried:") != std::string::npos);
}

TEST_CASE("bluelink translate takes a UCRI2 incident to a transfer.request and back, by OID",
          "[system][ucri2]") {
  bl::test::temp_dir dir;
  json cfg = json::parse(
      slurp(std::string(BL_SOURCE_DIR) + "/schemas/examples/valid/config/full-essex.json"));
  cfg["ucri2"] = {{"oid", "1.2.276.0.99"},
                  {"participants",
                   {{{"agency", "essex-fire"}, {"oid", "1.2.276.0.99.1"}, {"client", true}},
                    {{"agency", "essex-police"}, {"oid", "1.2.276.0.99.2"}}}}};
  std::ofstream(dir.file("gateway.json")) << cfg.dump(2);
  json incident = {
      {"sharedIncidentId", "550e8400-e29b-41d4-a716-446655440000"},
      {"internalId", "F-2611-0042"},
      {"classifications", {"TH"}},
      {"issue", "RTC, one person trapped"},
      {"flashingLights", true},
      {"sentByDispatcherAt", "2026-11-21T10:05:08Z"},
      {"missionLocation",
       {{"coordinate", {{"lat", 51.7356}, {"lon", 0.4685}}},
        {"address", {{"street", "High Street"}, {"houseNumber", "1"}, {"city", "Chelmsford"}}}}}};
  json send = {{"messageId", "0b6f8e2c-3b1a-4c61-9a43-7d1c2f5e9a10"},
               {"timeout", 3600},
               {"ack", "NONE"},
               {"source", "1.2.276.0.99.1"},
               {"destinations", {"1.2.276.0.99.2"}},
               {"payload",
                {{"appId", "incident_transfer"},
                 {"appVersion", "1.0"},
                 {"schemaId", "incident"},
                 {"contentType", "application/json"},
                 {"data", incident.dump()}}}};
  std::ofstream(dir.file("send.json")) << send.dump(2);

  // UCRI2 names participants by OID: without the config's directory there is nothing to map.
  auto no_config = translate(dir, {"--from", "ucri2", "--to", "bluelink", "send.json"});
  CHECK(no_config.exit_code == 2);
  CHECK(no_config.err.find("--config") != std::string::npos);

  auto in = translate(
      dir, {"--from", "ucri2", "--to", "bluelink", "--config", "gateway.json", "send.json"});
  INFO(in.err);
  REQUIRE(in.exit_code == 0);
  json msg = json::parse(in.out);
  CHECK(msg.at("type") == "transfer.request");
  CHECK(msg.at("from") == "essex-fire");
  CHECK(msg.at("to") == json::array({"essex-police"}));
  CHECK(msg.at("/body/sender_incident/number"_json_pointer) ==
        "550e8400-e29b-41d4-a716-446655440000");
  CHECK(msg.at("/body/methane/exact_location/wgs84/lat"_json_pointer) == 51.7356);
  std::ofstream(dir.file("msg.json")) << in.out;

  auto out = translate(
      dir, {"--from", "bluelink", "--to", "ucri2", "--config", "gateway.json", "msg.json"});
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  json item = json::parse(out.out);
  CHECK(item.at("destination") == "1.2.276.0.99.2");
  CHECK(item.at("source") == "1.2.276.0.99.1");
  json data = json::parse(item.at("/payload/data"_json_pointer).get<std::string>());
  CHECK(data.at("sharedIncidentId") == "550e8400-e29b-41d4-a716-446655440000");
  CHECK(data.at("internalId") == "F-2611-0042");
  CHECK(data.at("/missionLocation/coordinate/lon"_json_pointer) == 0.4685);

  // A payload the incident_transfer app does not allow: refused with the UCRI2 code and pointer.
  incident.erase("missionLocation");
  send["payload"]["data"] = incident.dump();
  std::ofstream(dir.file("bad.json")) << send.dump(2);
  auto bad = translate(
      dir, {"--from", "ucri2", "--to", "bluelink", "--config", "gateway.json", "bad.json"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("(UCRI2 464)") != std::string::npos);
  CHECK(bad.err.find("missionLocation") != std::string::npos);
}

TEST_CASE("bluelink translate reads a partner's public CAP alert with the configured partners",
          "[system][cap]") {
  bl::test::temp_dir dir;
  json cfg = json::parse(
      slurp(std::string(BL_SOURCE_DIR) + "/schemas/examples/valid/config/full-essex.json"));
  cfg["agencies"].push_back({{"id", "ec-weather"},
                             {"name", "Environment Canada (weather alerts)"},
                             {"kind", "other"},
                             {"phone", "01632 960999"}});
  cfg["partners"] = {{{"agency", "ec-weather"},
                      {"cap_senders", {"cap@ec.gc.ca", "cap-pac@ec.gc.ca"}},
                      {"default_to", "essex-fire"}}};
  std::ofstream(dir.file("gateway.json")) << cfg.dump(2);
  const std::string canada =
      std::string(BL_SOURCE_DIR) + "/../shared/samples/cap/google-cap-library__canada.cap";

  // Without the partners, the e-mail address is no agency: the error says what to give.
  auto bare = translate(dir, {"--from", "cap", "--to", "bluelink", canada});
  CHECK(bare.exit_code == 1);
  CHECK(bare.err.find("bl.cap.not_derivable") != std::string::npos);
  CHECK(bare.err.find("--config") != std::string::npos);

  auto in = translate(dir, {"--from", "cap", "--to", "bluelink", "--config", "gateway.json", "--as",
                            "ec-weather", canada});
  INFO(in.err);
  REQUIRE(in.exit_code == 0);
  json msg = json::parse(in.out);
  CHECK(msg.at("from") == "ec-weather");
  CHECK(msg.at("to") == json::array({"essex-fire"}));
  CHECK(msg.at("/body/methane/exact_location/areas"_json_pointer).size() == 2);
  CHECK(msg.at("/source/sender"_json_pointer) == "cap@ec.gc.ca");

  auto other = translate(dir, {"--from", "cap", "--to", "bluelink", "--config", "gateway.json",
                               "--as", "ec-weather", "--for", "essex-police", canada});
  REQUIRE(other.exit_code == 0);
  CHECK(json::parse(other.out).at("to") == json::array({"essex-police"}));

  // The link says Essex Police; the document says Environment Canada: refused.
  auto mismatch = translate(dir, {"--from", "cap", "--to", "bluelink", "--config", "gateway.json",
                                  "--as", "essex-police", canada});
  CHECK(mismatch.exit_code == 1);
  CHECK(mismatch.err.find("bl.partner.sender_mismatch") != std::string::npos);

  auto unknown = translate(dir, {"--from", "cap", "--to", "bluelink", "--config", "gateway.json",
                                 "--for", "nowhere", canada});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("--for nowhere is not an agency in gateway.json") != std::string::npos);

  // And the M/ETHANE text a receiving operator would print lists every area as written.
  auto text =
      translate(dir, {"--from", "cap", "--to", "methane-text", "--config", "gateway.json", canada});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("Area 1: Windsor - Leamington - Essex County") != std::string::npos);
}
