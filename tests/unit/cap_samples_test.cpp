// Real partners' CAP alerts (../shared/samples/cap, read there, never copied): each is imported as
// its README says a gateway should, and what a receiving operator would see is checked: the
// sender's agency, every area with its coordinates, priority, category, times, the text as
// written, and the list of what the message does not carry.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/edxl_xml.hpp"
#include "adapters/text/methane_text.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using bl::adapters::partner_context;
using bl::adapters::translate_error;
using nlohmann::json;

std::string sample(const std::string& name, const std::string& dir = "cap") {
  return bl::test::shared_sample(dir, name);
}

// The partners a gateway would configure for these producers: each is an agency of kind
// "other" whose alerts go to a fire control room.
partner_context partners() {
  partner_context p;
  p.senders = {{"webmaster@rfs.nsw.gov.au", "nsw-rfs"},
               {"cap@ec.gc.ca", "ec-weather"},
               {"cap-pac@ec.gc.ca", "ec-weather"},
               {"http://earthquake.usgs.gov/research/monitoring/anss/neic/", "usgs-neic"},
               {"http://newwcatwc.arh.noaa.gov/tsuPortal/", "ntwc"}};
  p.edxl_senders = {{"webmaster@rfs.nsw.gov.au", "nsw-rfs"},
                    {"fr.health.samuA", "samu-a"},
                    {"fr.health.samuB", "samu-b"}};
  p.default_to_of = {{"nsw-rfs", "essex-fire"},
                     {"ec-weather", "essex-fire"},
                     {"usgs-neic", "essex-fire"},
                     {"ntwc", "essex-fire"}};
  return p;
}

json accepted(const std::string& name, const partner_context& p = partners()) {
  auto r = bl::adapters::cap_import(sample(name), bl::test::repo_schemas(), p);
  if (auto* e = std::get_if<translate_error>(&r))
    FAIL(name << ": " << e->code << ": " << e->message);
  return std::get<json>(r);
}

translate_error refused(const std::string& name, const partner_context& p = partners()) {
  auto r = bl::adapters::cap_import(sample(name), bl::test::repo_schemas(), p);
  if (auto* m = std::get_if<json>(&r)) FAIL(name << " was accepted: " << m->dump());
  return std::get<translate_error>(r);
}

bool carries(const json& msg, const std::string& fragment) {
  for (const auto& n : msg["source"]["not_carried"])
    if (n.get<std::string>().find(fragment) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("the NSW Rural Fire Service bushfire alert (CAP-AU, cap: prefix) is accepted",
          "[unit][cap][samples]") {
  auto msg = accepted("google-cap-library__australia.cap");
  INFO(msg.dump(2));
  CHECK(msg["type"] == "transfer.request");
  CHECK(msg["from"] == "nsw-rfs");
  CHECK(msg["to"] == json::array({"essex-fire"}));
  CHECK(msg["sent_at"] == "2011-10-05T23:04:00+10:00");
  CHECK(msg["body"]["category"] == "notification");
  CHECK(msg["body"]["ask"] == "for_information");
  CHECK(msg["body"]["priority"] == "routine");  // Expected, Minor, Observed
  CHECK(msg["body"]["summary"] == "Yerong Creek Structure Fire");
  CHECK(msg["body"]["methane"]["type_of_incident"]["code"] == "FIRE");
  CHECK(msg["body"]["methane"]["type_of_incident"]["agency_code"] == "fire");
  CHECK(msg["body"]["contact"]["role"] == "NSW Rural Fire Service");
  // The description's <br /> markup became line breaks.
  const std::string notes = msg["body"]["notes"];
  CHECK(notes.find("ALERT LEVEL: Not Applicable\nLOCATION: 12 Cox Street, Yerong Creek\n") == 0);
  CHECK(notes.find("<br") == std::string::npos);
  CHECK(notes.find("The public is told: Evacuate") != std::string::npos);
  CHECK(notes.find("CAP categories: Fire, Met") != std::string::npos);
  CHECK(notes.find("Web: http://www.rfs.nsw.gov.au/dsp_content.cfm?cat_id=683") !=
        std::string::npos);
  // CAP-AU sends the same alert twice in English, once per geocode scheme: both areas are
  // carried, each with its 25 km circle as the area's extent and its own code.
  const auto& areas = msg["body"]["methane"]["exact_location"]["areas"];
  REQUIRE(areas.size() == 2);
  for (const auto& a : areas) {
    CHECK(a["description"] == "Yerong Creek Structure Fire");
    CHECK(a["circles"] ==
          json::parse(R"([{"lat": -35.3888, "lon": 147.0598, "radius_m": 25000}])"));
  }
  CHECK(areas[0]["geocodes"][0]["value"] == "AU-NSW");
  CHECK(areas[1]["geocodes"][0]["value"] == "2642");
  CHECK_FALSE(msg["body"]["methane"]["exact_location"].contains("wgs84"));
  CHECK(carries(msg, "<info> 2 of 2 (en-AU): its areas are carried with the first's"));
  CHECK(msg["source"]["standard"] == "CAP 1.2");
  CHECK(msg["source"]["sender"] == "webmaster@rfs.nsw.gov.au");
  CHECK(msg["source"]["identifier"] == "tag:www.rfs.nsw.gov.au2011-10-06:40184");
  CHECK(carries(msg, "<code> urn:oasis:names:tc:emergency:cap:1.2:profile:CAP-AU:1.0"));
  CHECK(carries(msg, "<parameter> FuelType = Forest"));
  CHECK(carries(msg, "<eventCode> non-standard secondary event code = structure_fire"));
  // The identifier has '/'-free but ':'-rich text an id may hold: kept under the agency.
  CHECK(msg["id"] == "nsw-rfs:tag:www.rfs.nsw.gov.au2011-10-06:40184");
}

TEST_CASE("Environment Canada's Update of an alert Bluelink does not hold is a new notification",
          "[unit][cap][samples]") {
  auto msg = accepted("google-cap-library__canada.cap");
  INFO(msg.dump(2));
  CHECK(msg["type"] == "transfer.request");
  CHECK(msg["from"] == "ec-weather");
  CHECK(msg["body"]["priority"] == "routine");  // Past
  CHECK(msg["body"]["summary"] == "Update: severe thunderstorm watch");
  CHECK(msg["body"]["methane"]["type_of_incident"]["code"] == "WEATHER");
  const std::string notes = msg["body"]["notes"];
  CHECK(notes.find("This CAP Update follows alert 2.49.0.1.124.60f31a3a.2012 from cap@ec.gc.ca "
                   "(sent 2012-05-02T21:55:21-00:00) and 1 earlier, which Bluelink does not "
                   "hold, so it is carried as a new notification.") == 0);
  CHECK(msg["source"]["references"].get<std::string>().find("2.49.0.1.124.a3f342a4.2012") ==
        0 + std::string("cap@ec.gc.ca,").size());
  // Every area, every polygon point as written.
  const auto& areas = msg["body"]["methane"]["exact_location"]["areas"];
  REQUIRE(areas.size() == 2);
  CHECK(areas[0]["description"] == "Windsor - Leamington - Essex County");
  CHECK(areas[1]["description"] == "Chatham-Kent - Rondeau Park");
  // The French <info> is another language's: listed, not merged.
  CHECK(carries(msg, "<info> 2 of 2 (fr-CA): event"));
  REQUIRE(areas[0]["polygons"].size() == 1);
  CHECK(areas[0]["polygons"][0].size() == 17);
  CHECK(areas[0]["polygons"][0][0] == json::array({42.3481, -82.9314}));
  CHECK(areas[0]["geocodes"][0] == json::parse(R"({"name": "layer:EC-MSC-SMC:1.0:CLC",
      "value": "041420"})"));
  CHECK(carries(msg, "<parameter> layer:EC-MSC-SMC:1.0:Alert_Type = watch"));

  SECTION("and an update of the transfer its first alert created, when Bluelink holds it") {
    auto p = partners();
    p.transfer_of = [](const std::string& sender,
                       const std::string& id) -> std::optional<bl::adapters::referenced_transfer> {
      if (sender == "cap@ec.gc.ca" && id == "2.49.0.1.124.a3f342a4.2012")
        return bl::adapters::referenced_transfer{"T-20120502-000007", 3};
      return std::nullopt;
    };
    auto up = accepted("google-cap-library__canada.cap", p);
    CHECK(up["type"] == "transfer.update");
    CHECK(up["transfer_id"] == "T-20120502-000007");
    CHECK(up["version"] == 3);
    CHECK(up["body"]["text"] == "Updated by cap@ec.gc.ca: severe thunderstorm watch");
    CHECK(up["body"]["methane"]["exact_location"]["areas"].size() == 2);
    CHECK_FALSE(up.contains("to"));
  }
}

TEST_CASE("a signed Canadian alert is accepted and says its signature is not carried",
          "[unit][cap][samples]") {
  auto msg = accepted("google-cap-library__canada_signed.cap");
  INFO(msg.dump(2));
  CHECK(msg["from"] == "ec-weather");
  CHECK(carries(msg, "an XML signature (<Signature>, XML-DSig)"));
  CHECK(msg["source"]["sender"] == "cap-pac@ec.gc.ca");
}

TEST_CASE("the tsunami warning Update and the CAP 1.1 earthquake are accepted",
          "[unit][cap][samples]") {
  auto tsunami = accepted("google-cap-library__wcatwc-warning.cap");
  INFO(tsunami.dump(2));
  CHECK(tsunami["from"] == "ntwc");
  CHECK(tsunami["body"]["methane"]["type_of_incident"]["code"] == "TSUNAMI");
  CHECK(tsunami["body"]["summary"].get<std::string>().find("Update: The tsunami Warning") == 0);

  auto quake = accepted("google-cap-library__earthquake.cap");
  INFO(quake.dump(2));
  CHECK(quake["source"]["standard"] == "CAP 1.1");
  CHECK(quake["body"]["methane"]["type_of_incident"]["code"] == "EARTHQUAKE");
  // A circle of radius 0 is a point: an area and a position, with no made-up accuracy.
  const auto& loc = quake["body"]["methane"]["exact_location"];
  CHECK(loc["wgs84"] == json::parse(R"({"lat": -16.053, "lon": -173.274})"));
  CHECK(loc["areas"][0]["circles"][0] ==
        json::parse(R"({"lat": -16.053, "lon": -173.274, "radius_m": 0})"));
}

TEST_CASE("broken and hostile CAP samples are refused naming the element", "[unit][cap][samples]") {
  auto empty_refs = refused("google-cap-library__canada_errors.cap");
  CHECK(empty_refs.code == "bl.cap.bad_value");
  CHECK(empty_refs.message.find("<references> ''") == 0);
  auto no_scope = refused("google-cap-library__invalid.cap");
  CHECK(no_scope.code == "bl.cap.missing_element");
  CHECK(no_scope.message.find("has no <scope>") != std::string::npos);
  auto xxe = refused("google-cap-library__xee.cap");
  CHECK(xxe.code == "bl.xml.dtd_refused");
}

TEST_CASE("the link's agency is authoritative and the document's sender must be one of its",
          "[unit][cap][samples]") {
  auto p = partners();
  p.as_agency = "ec-weather";
  auto msg = accepted("google-cap-library__canada.cap", p);
  CHECK(msg["from"] == "ec-weather");

  p.as_agency = "nsw-rfs";
  auto e = refused("google-cap-library__canada.cap", p);
  CHECK(e.code == "bl.partner.sender_mismatch");
  CHECK(e.message ==
        "<sender> 'cap@ec.gc.ca' at 4:3 is ec-weather's, but the document came from "
        "nsw-rfs");

  p.senders.clear();
  auto unknown = refused("google-cap-library__canada.cap", p);
  CHECK(unknown.code == "bl.partner.unknown_sender");

  // --for (or the link's target) decides the recipient over the partner's default.
  auto q = partners();
  q.default_to = "essex-police";
  CHECK(accepted("google-cap-library__australia.cap", q)["to"] == json::array({"essex-police"}));
}

TEST_CASE("what a receiving operator reads of a partner's alert is whole UTF-8 text",
          "[unit][cap][samples]") {
  auto text = bl::adapters::methane_text(accepted("google-cap-library__canada.cap"));
  INFO(text);
  CHECK(text.find("Area 1: Windsor - Leamington - Essex County") != std::string::npos);
  CHECK(text.find("Source document:          CAP 1.2 from cap@ec.gc.ca") != std::string::npos);
  CHECK(text.find("Not carried:") != std::string::npos);
}

TEST_CASE("an EDXL-DE 1.0 envelope of seven bushfire alerts gives one notification per alert",
          "[unit][edxl][samples]") {
  auto r = bl::adapters::edxl10_unwrap(
      sample("google-cap-library__bushfire_valid.edxlde.xml", "edxl-de"), bl::test::repo_schemas(),
      partners());
  REQUIRE(std::holds_alternative<bl::adapters::edxl_distribution>(r));
  const auto& d = std::get<bl::adapters::edxl_distribution>(r);
  CHECK(d.distribution_id == "RFSuniqueID12345");
  CHECK(d.sender_id == "webmaster@rfs.nsw.gov.au");
  REQUIRE(d.items.size() == 7);
  for (std::size_t i = 0; i < d.items.size(); ++i) {
    INFO("content " << i + 1);
    CHECK(d.items[i].position == i + 1);
    REQUIRE(std::holds_alternative<json>(d.items[i].result));
    const auto& m = std::get<json>(d.items[i].result);
    CHECK(m["from"] == "nsw-rfs");
    CHECK(m["to"] == json::array({"essex-fire"}));
    CHECK(m["body"]["category"] == "notification");
    CHECK_FALSE(m["body"]["methane"]["exact_location"]["areas"].empty());
    // The envelope's own fields are said once in each message.
    CHECK(
        m["source"]["not_carried"][0].get<std::string>().find(
            "the EDXL-DE 1.0 envelope 'RFSuniqueID12345' from webmaster@rfs.nsw.gov.au: content " +
            std::to_string(i + 1) + " of 7") == 0);
  }
  const auto& first = std::get<json>(d.items[0].result);
  CHECK(first["body"]["summary"] == "One Tree MVA (Unmapped Incident)");
  CHECK(first["source"]["not_carried"][0].get<std::string>().find(
            "confidentiality UNCLASSIFIED; target area subdivision AU-NSW") != std::string::npos);
}

TEST_CASE("an EDXL-DE 1.0 envelope with broken alerts refuses those by position and keeps the rest",
          "[unit][edxl][samples]") {
  auto r = bl::adapters::edxl10_unwrap(
      sample("google-cap-library__bushfire_invalid.edxlde.xml", "edxl-de"),
      bl::test::repo_schemas(), partners());
  REQUIRE(std::holds_alternative<bl::adapters::edxl_distribution>(r));
  const auto& d = std::get<bl::adapters::edxl_distribution>(r);
  REQUIRE(d.items.size() == 7);
  std::vector<std::size_t> refused_at;
  for (const auto& item : d.items)
    if (const auto* e = std::get_if<translate_error>(&item.result)) {
      refused_at.push_back(item.position);
      INFO(e->message);
      CHECK(e->message.find("<contentObject> " + std::to_string(item.position) + " of 7") == 0);
    }
  // The emptied alert (no identifier) and the one with urgency 'Foobar'.
  CHECK(refused_at == std::vector<std::size_t>{2, 3});
  const auto& e2 = std::get<translate_error>(d.items[1].result);
  CHECK(e2.code == "bl.cap.missing_element");
  CHECK(e2.message.find("has no <identifier>") != std::string::npos);
  CHECK(std::get<translate_error>(d.items[2].result).code == "bl.cap.bad_value");

  SECTION("an envelope whose senderID is another agency's is refused whole") {
    auto p = partners();
    p.as_agency = "ec-weather";
    auto wrong = bl::adapters::edxl10_unwrap(
        sample("google-cap-library__bushfire_valid.edxlde.xml", "edxl-de"),
        bl::test::repo_schemas(), p);
    REQUIRE(std::holds_alternative<translate_error>(wrong));
    CHECK(std::get<translate_error>(wrong).code == "bl.partner.sender_mismatch");
  }
}

TEST_CASE("the French health hub's EDXL-DE 2.0 JSON envelope is read and its content named",
          "[unit][edxl][samples]") {
  auto r = bl::adapters::hub_unwrap(sample("samu-hub-sante__valid__EDXL-DE.json", "edxl-de"),
                                    bl::test::repo_schemas(), partners());
  REQUIRE(std::holds_alternative<bl::adapters::edxl_distribution>(r));
  const auto& d = std::get<bl::adapters::edxl_distribution>(r);
  CHECK(d.distribution_id == "fr.health.samuA_2608323d-507d-4cbf-bf74-52007f8124ea");
  CHECK(d.sender_id == "fr.health.samuA");
  REQUIRE(d.items.size() == 2);
  // Hub Santé models Bluelink has no mapping for: each refused by position, by name.
  const auto& e1 = std::get<translate_error>(d.items[0].result);
  CHECK(e1.code == "bl.edxl.content");
  CHECK(e1.message.find("/content/0 (1 of 2) is a Hub Sant\xC3\xA9 'technicalNoreq' message") == 0);
  CHECK(std::get<translate_error>(d.items[1].result).message.find("'customContent'") !=
        std::string::npos);

  SECTION("a Bluelink message inside is carried") {
    auto doc = json::parse(sample("samu-hub-sante__valid__EDXL-DE.json", "edxl-de"));
    auto msg = bl::test::read_json(std::string(BL_SOURCE_DIR) +
                                   "/schemas/examples/valid/message/"
                                   "01-request-police-traffic-management-a12-rtc.json");
    msg["id"] = "samu-a:case-1";
    msg["from"] = "samu-a";
    msg["to"] = json::array({"samu-b"});
    doc["content"][1]["jsonContent"]["embeddedJsonContent"]["message"] = msg;
    auto r2 = bl::adapters::hub_unwrap(doc.dump(), bl::test::repo_schemas(), partners());
    const auto& d2 = std::get<bl::adapters::edxl_distribution>(r2);
    REQUIRE(std::holds_alternative<json>(d2.items[1].result));
    CHECK(std::get<json>(d2.items[1].result) == msg);
  }
}

TEST_CASE("the health hub's failing envelopes are refused naming what is wrong",
          "[unit][edxl][samples]") {
  auto missing = bl::adapters::hub_unwrap(
      sample("samu-hub-sante__failing__missing-EDXL-required-field.json", "edxl-de"),
      bl::test::repo_schemas(), partners());
  REQUIRE(std::holds_alternative<translate_error>(missing));
  CHECK(std::get<translate_error>(missing).code == "bl.edxl.invalid");
  CHECK(std::get<translate_error>(missing).message ==
        "the EDXL-DE envelope has no /distributionID and "
        "/descriptor/explicitAddress/explicitAddressValue");
  auto nowhere = bl::adapters::hub_unwrap(
      sample("samu-hub-sante__failing__inexistent-recipient-queue.json", "edxl-de"),
      bl::test::repo_schemas(), partners());
  REQUIRE(std::holds_alternative<translate_error>(nowhere));
  CHECK(std::get<translate_error>(nowhere).code == "bl.edxl.unknown_recipient");
  CHECK(std::get<translate_error>(nowhere).message.find("'fr.health.inexistent'") !=
        std::string::npos);
}
