// CAP 1.2 export and import: every request, update and cancel example survives
// bluelink -> CAP -> bluelink; hostile XML is refused by the hardened reader with its own error;
// invalid CAP and partner alerts get errors naming the element and the bad value.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/xml_reader.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
using bl::adapters::translate_error;
using nlohmann::json;

const fs::path root = BL_SOURCE_DIR;

std::vector<fs::path> transfer_examples() {
  std::vector<fs::path> out;
  for (const auto& f : bl::test::example_files(root / "schemas/examples/valid/message")) {
    auto type = bl::test::read_json(f).value("type", "");
    if (type == "transfer.request" || type == "transfer.update" || type == "transfer.cancel")
      out.push_back(f);
  }
  return out;
}

std::string export_ok(const json& msg) {
  auto r = bl::adapters::cap_export(msg);
  if (auto* e = std::get_if<translate_error>(&r)) FAIL(e->code << ": " << e->message);
  return std::get<std::string>(r);
}

translate_error import_error(const std::string& xml) {
  auto r = bl::adapters::cap_import(xml, bl::test::repo_schemas());
  if (std::holds_alternative<json>(r)) FAIL("expected an error, got " << std::get<json>(r).dump());
  return std::get<translate_error>(r);
}

json import_ok(const std::string& xml) {
  auto r = bl::adapters::cap_import(xml, bl::test::repo_schemas());
  if (auto* e = std::get_if<translate_error>(&r)) FAIL(e->code << ": " << e->message);
  return std::get<json>(r);
}

// A minimal partner alert: CAP elements only, no Bluelink parameters.
std::string partner_alert(const std::string& header_extra = "", const std::string& info_extra = "",
                          const std::string& status = "Actual",
                          const std::string& sent = "2026-11-21T14:02:11+00:00") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>EA-FLOOD-2026-0042</identifier>
  <sender>essex-resilience</sender>
  <sent>)" +
         sent + R"(</sent>
  <status>)" +
         status + R"(</status>
  <msgType>Alert</msgType>
  <scope>Restricted</scope>
  <restriction>Responders only</restriction>
  <addresses>essex-fire</addresses>)" +
         header_extra + R"(
  <info>
    <category>Rescue</category>
    <event>Flooding, people stranded in vehicles</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Flash flooding on the A130 at Rettendon, vehicles stranded</headline>
    <description>Three cars stranded in flood water under the A130 bridge.</description>
    <area>
      <areaDesc>A130 underpass, Rettendon Turnpike</areaDesc>
      <circle>51.6274,0.5689 0.2</circle>
    </area>)" +
         info_extra + R"(
  </info>
</alert>)";
}

}  // namespace

TEST_CASE("every request, update and cancel example survives bluelink -> CAP -> bluelink",
          "[unit][cap]") {
  auto files = transfer_examples();
  REQUIRE(files.size() >= 14);
  for (const auto& f : files) {
    INFO(f.filename().string());
    auto original = bl::test::read_json(f);
    auto xml = export_ok(original);
    auto back = import_ok(xml);
    CHECK(back == original);
  }
}

TEST_CASE("a CAP export uses CAP's own elements for what CAP can say", "[unit][cap]") {
  auto msg = bl::test::read_json(root /
                                 "schemas/examples/valid/message/"
                                 "01-request-police-traffic-management-a12-rtc.json");
  auto xml = export_ok(msg);
  auto parsed = bl::adapters::read_xml(xml);
  REQUIRE(std::holds_alternative<bl::adapters::xml_element>(parsed));
  const auto& alert = std::get<bl::adapters::xml_element>(parsed);
  const std::string ns(bl::adapters::cap_namespace);
  CHECK(alert.ns == ns);
  CHECK(alert.first(ns, "identifier")->text == "essex-fire:82392683-c6d4-5177-951f-29a2f0d62ccc");
  CHECK(alert.first(ns, "sender")->text == "essex-fire");
  CHECK(alert.first(ns, "sent")->text == "2026-11-21T14:02:11-00:00");
  CHECK(alert.first(ns, "status")->text == "Actual");
  CHECK(alert.first(ns, "msgType")->text == "Alert");
  CHECK(alert.first(ns, "scope")->text == "Restricted");
  CHECK(alert.first(ns, "addresses")->text == "essex-police");
  const auto* info = alert.first(ns, "info");
  REQUIRE(info);
  CHECK(info->first(ns, "category")->text == "Security");
  CHECK(info->first(ns, "urgency")->text == "Immediate");
  CHECK(info->first(ns, "severity")->text == "Severe");
  CHECK(info->first(ns, "headline")->text == msg["body"]["summary"]);
  CHECK(info->first(ns, "instruction")->text.rfind("Attend", 0) == 0);
  CHECK(info->first(ns, "description")->text.find("M  Major incident:") != std::string::npos);
  const auto* area = info->first(ns, "area");
  REQUIRE(area);
  CHECK(area->first(ns, "areaDesc")->text == msg["body"]["methane"]["exact_location"]["address"]);
  CHECK(area->first(ns, "circle")->text == "51.7229,0.5253 0.025");
  bool has_hazard = false;
  for (const auto* p : info->all(ns, "parameter"))
    if (p->first(ns, "valueName")->text == "bluelink:/body/methane/hazards/1/status")
      has_hazard = p->first(ns, "value")->text == "suspected";
  CHECK(has_hazard);
}

TEST_CASE("an exercise, an update and a cancel map to CAP status and msgType", "[unit][cap]") {
  const fs::path dir = root / "schemas/examples/valid/message";
  auto ex =
      export_ok(bl::test::read_json(dir / "12-request-exercise-major-incident-wickford.json"));
  CHECK(ex.find("<status>Exercise</status>") != std::string::npos);
  auto up = export_ok(bl::test::read_json(dir / "13-update-a12-rtc-fuel-leak.json"));
  CHECK(up.find("<msgType>Update</msgType>") != std::string::npos);
  CHECK(up.find("<references>bluelink,T-20261121-000123,2026-11-21T00:00:00-00:00</references>") !=
        std::string::npos);
  CHECK(up.find("<note>Fuel leak from vehicle 2 confirmed") != std::string::npos);
  auto cancel = export_ok(bl::test::read_json(dir / "19-cancel-hanningfield-misper-found.json"));
  CHECK(cancel.find("<msgType>Cancel</msgType>") != std::string::npos);
  CHECK(cancel.find("<note>Missing person located safe and well at a friend&apos;s address") !=
        std::string::npos);
}

TEST_CASE("text that needs escaping and exact times survive the round trip", "[unit][cap]") {
  auto msg = bl::test::read_json(root /
                                 "schemas/examples/valid/message/"
                                 "01-request-police-traffic-management-a12-rtc.json");
  msg["body"]["summary"] =
      "Fire & smoke <A12> \"J19\" 'lane 1' ]]> \xC2\xA3"
      "4";
  msg["body"]["notes"] = "line one\r\nline two\ttabbed";
  msg["sent_at"] = "2026-11-21T14:02:11.184Z";
  msg["expires_at"] = "2026-11-21T15:17:11+01:00";
  msg["body"]["methane"]["exact_location"]["wgs84"]["accuracy_m"] = 0.3;
  msg["body"]["methane"]["hazards"] = json::array();
  msg.erase("mode");
  auto xml = export_ok(msg);
  CHECK(xml.find("Fire &amp; smoke &lt;A12&gt;") != std::string::npos);
  CHECK(import_ok(xml) == msg);
}

TEST_CASE("a location without an address keeps its other forms", "[unit][cap]") {
  auto msg = bl::test::read_json(root /
                                 "schemas/examples/valid/message/"
                                 "01-request-police-traffic-management-a12-rtc.json");
  auto& loc = msg["body"]["methane"]["exact_location"];
  loc.erase("address");
  loc.erase("wgs84");
  loc["postcode"] = "CM2 7PP";
  loc["uprn"] = "000100012345";
  loc["what3words"] = "///index.home.raft";
  auto xml = export_ok(msg);
  CHECK(xml.find("<areaDesc>OS grid E 574520 N 205704</areaDesc>") != std::string::npos);
  CHECK(import_ok(xml) == msg);
}

TEST_CASE("hostile XML is refused by the reader, each with its own error", "[unit][cap]") {
  SECTION("billion laughs") {
    std::string doc =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        "]>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&lol3;"
        "</identifier></alert>";
    auto e = import_error(doc);
    CHECK(e.code == "bl.xml.dtd_refused");
    CHECK(e.message.find("DTDs are not accepted") != std::string::npos);
    CHECK(e.message.find("2:1") != std::string::npos);
  }
  SECTION("an external entity naming /etc/passwd") {
    auto e = import_error(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&xxe;</identifier>"
        "</alert>");
    CHECK(e.code == "bl.xml.dtd_refused");
    CHECK(e.message.find("root:") == std::string::npos);
  }
  SECTION("a bare DOCTYPE") {
    auto e = import_error("<!DOCTYPE alert SYSTEM \"http://example.invalid/cap.dtd\"><alert/>");
    CHECK(e.code == "bl.xml.dtd_refused");
    CHECK(e.message == "DTDs are not accepted (DOCTYPE alert at 1:56)");
  }
  SECTION("40 levels of nesting") {
    std::string doc;
    for (int i = 0; i < 40; ++i) doc += "<a>";
    for (int i = 0; i < 40; ++i) doc += "</a>";
    auto e = import_error(doc);
    CHECK(e.code == "bl.xml.too_deep");
    CHECK(e.message == "element nesting deeper than 32 levels at 1:97");
  }
  SECTION("a 2 MiB document") {
    std::string doc = "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><note>" +
                      std::string(2 * 1024 * 1024, 'x') + "</note></alert>";
    auto e = import_error(doc);
    CHECK(e.code == "bl.xml.too_large");
    CHECK(e.message.find("the limit is 1048576") != std::string::npos);
  }
  SECTION("a text longer than the text limit") {
    std::string doc = "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><note>" +
                      std::string(70 * 1024, 'x') + "</note></alert>";
    auto e = import_error(doc);
    CHECK(e.code == "bl.xml.text_too_long");
    CHECK(e.message.find("<note> (started at 1:53)") != std::string::npos);
  }
  SECTION("malformed XML names line and column") {
    auto e = import_error(
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n"
        "  <identifier>x</sender>\n</alert>");
    CHECK(e.code == "bl.xml.malformed");
    CHECK(e.message == "malformed XML at 2:18: mismatched tag");
  }
  SECTION("an undeclared entity") {
    auto e = import_error("<alert><identifier>&xxe;</identifier></alert>");
    CHECK(e.code == "bl.xml.malformed");
    CHECK(e.message.find("undefined entity") != std::string::npos);
  }
}

TEST_CASE("invalid CAP gets an error naming the element and the bad value", "[unit][cap]") {
  SECTION("missing identifier") {
    std::string doc = partner_alert();
    doc.erase(doc.find("  <identifier>"), doc.find("<sender>") - doc.find("  <identifier>"));
    auto e = import_error(doc);
    CHECK(e.code == "bl.cap.missing_element");
    CHECK(e.message == "CAP <alert> (at 2:1) has no <identifier>");
  }
  SECTION("bad status") {
    auto e = import_error(partner_alert("", "", "Live"));
    CHECK(e.code == "bl.cap.bad_value");
    CHECK(e.message ==
          "<status> 'Live' at 6:3 is not a CAP status (Actual, Exercise, System, Test or Draft)");
  }
  SECTION("a Draft has no Bluelink mode") {
    auto e = import_error(partner_alert("", "", "Draft"));
    CHECK(e.code == "bl.cap.bad_value");
    CHECK(e.message.find("'Draft'") != std::string::npos);
  }
  SECTION("bad sent date") {
    auto e = import_error(partner_alert("", "", "Actual", "2026-02-30T14:02:11+00:00"));
    CHECK(e.code == "bl.cap.bad_value");
    CHECK(e.message.find("<sent> '2026-02-30T14:02:11+00:00' at 5:3 is not a CAP date-time") == 0);
  }
  SECTION("a UTC 'Z' is not CAP") {
    auto e = import_error(partner_alert("", "", "Actual", "2026-11-21T14:02:11Z"));
    CHECK(e.code == "bl.cap.bad_value");
  }
  SECTION("another root element") {
    auto e = import_error("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:2.0\"/>");
    CHECK(e.code == "bl.cap.not_cap");
    CHECK(e.message.find("cap:2.0") != std::string::npos);
  }
  SECTION("CAP 1.0, which Bluelink does not read") {
    auto e = import_error("<alert xmlns=\"http://www.incident.com/cap/1.0\"/>");
    CHECK(e.code == "bl.cap.not_cap");
    CHECK(e.message.find("is CAP 1.0; Bluelink reads CAP 1.2 and 1.1") != std::string::npos);
  }
  SECTION("a bad circle") {
    std::string doc = partner_alert();
    doc.replace(doc.find("51.6274,0.5689 0.2"), 18, "95,0.5689 0.2");
    auto e = import_error(doc);
    CHECK(e.code == "bl.cap.bad_value");
    CHECK(e.message.find("<circle> '95,0.5689 0.2'") == 0);
  }
  SECTION("a Bluelink parameter that names no field") {
    auto e = import_error(partner_alert(
        "", "<parameter><valueName>bluelink:/id</valueName><value>x</value></parameter>"));
    CHECK(e.code == "bl.cap.bad_parameter");
    CHECK(e.message.find("'bluelink:/id'") != std::string::npos);
  }
  SECTION("a parameter that fails the message schema is reported with its pointer") {
    auto msg = bl::test::read_json(root /
                                   "schemas/examples/valid/message/"
                                   "01-request-police-traffic-management-a12-rtc.json");
    auto xml = export_ok(msg);
    auto at = xml.find("<value>police.traffic_management</value>");
    REQUIRE(at != std::string::npos);
    xml.replace(at, 39, "<value>police.parking</value>");
    auto e = import_error(xml);
    CHECK(e.code == "bl.schema.invalid");
    CHECK(e.message.find("'/body/category'") != std::string::npos);
  }
}

TEST_CASE("a partner's CAP alert without Bluelink parameters becomes a notification",
          "[unit][cap]") {
  auto msg = import_ok(partner_alert());
  CHECK(msg["id"] == "essex-resilience:EA-FLOOD-2026-0042");
  CHECK(msg["type"] == "transfer.request");
  CHECK(msg["to"] == json::array({"essex-fire"}));
  CHECK(msg["sent_at"] == "2026-11-21T14:02:11+00:00");
  // A CAP alert tells; it asks no control room for a service, so it is for information.
  CHECK(msg["body"]["category"] == "notification");
  CHECK(msg["body"]["ask"] == "for_information");
  CHECK(msg["body"]["priority"] == "emergency");  // Immediate, Severe, Observed
  CHECK(msg["body"]["summary"] == "Flash flooding on the A130 at Rettendon, vehicles stranded");
  CHECK(msg["body"]["sender_incident"]["number"] == "EA-FLOOD-2026-0042");
  const auto& loc = msg["body"]["methane"]["exact_location"];
  // The circle is the area the alert covers (200 m), not the accuracy of a point.
  CHECK(loc == json::parse(R"({"areas": [{"description": "A130 underpass, Rettendon Turnpike",
      "circles": [{"lat": 51.6274, "lon": 0.5689, "radius_m": 200}]}]})"));
  CHECK(msg["body"]["methane"]["type_of_incident"] ==
        json::parse(R"({"code": "FLOOD", "text": "Flooding, people stranded in vehicles"})"));
  CHECK(msg["body"]["notes"] ==
        "Three cars stranded in flood water under the A130 bridge.\n\nRestriction: Responders "
        "only");
  CHECK(msg["source"] == json::parse(R"({"standard": "CAP 1.2", "sender": "essex-resilience",
      "identifier": "EA-FLOOD-2026-0042", "not_carried": []})"));

  SECTION("without addresses or a configured recipient the receiver cannot be derived") {
    std::string doc = partner_alert();
    doc.erase(doc.find("  <addresses>"),
              doc.find("\n", doc.find("<addresses>")) - doc.find("  <addresses>") + 1);
    auto e = import_error(doc);
    CHECK(e.code == "bl.cap.not_derivable");
    CHECK(e.message.find("/to") != std::string::npos);
    CHECK(e.message.find("partners[].default_to") != std::string::npos);
  }
  SECTION("a sender that is neither an agency id nor a configured partner's") {
    std::string doc = partner_alert();
    doc.replace(doc.find("essex-resilience"), 16, "alerts@example.org");
    auto e = import_error(doc);
    CHECK(e.code == "bl.cap.not_derivable");
    CHECK(e.message.find("/from") != std::string::npos);
    CHECK(e.message.find("'alerts@example.org'") != std::string::npos);
  }
  SECTION("without an area the notification says so rather than inventing one") {
    std::string doc = partner_alert();
    auto from = doc.find("    <area>");
    doc.erase(from, doc.find("</area>") + 8 - from);
    auto m = import_ok(doc);
    CHECK(m["body"]["methane"]["exact_location"]["areas"] ==
          json::parse(R"([{"description": "The alert names no area"}])"));
  }
}

TEST_CASE("a message with areas and a source document survives bluelink -> CAP -> bluelink",
          "[unit][cap]") {
  auto msg = bl::test::read_json(root /
                                 "schemas/examples/valid/message/"
                                 "01-request-police-traffic-management-a12-rtc.json");
  msg["source"] = json::parse(R"({"standard": "CAP 1.2", "sender": "cap@ec.gc.ca",
      "identifier": "2.49.0.1.124.60f31a3a.2012",
      "references": "cap@ec.gc.ca,2.49.0.1.124.a3f342a4.2012,2012-05-02T21:45:05-00:00",
      "not_carried": ["<parameter> layer:EC-MSC-SMC:1.0:Alert_Type = watch"]})");
  msg["body"]["methane"]["exact_location"]["areas"] = json::parse(R"([
      {"description": "Windsor - Leamington - Essex County",
       "polygons": [[[42.3481, -82.9314], [42.3363, -82.6937], [41.7166, -82.4593],
                     [42.3481, -82.9314]]],
       "geocodes": [{"name": "profile:CAP-CP:Location:0.3", "value": "3537001"}]},
      {"description": "Lake St. Clair", "circles": [{"lat": 42.45, "lon": -82.7,
                                                      "radius_m": 25000}]},
      {"description": "Pelee Island", "circles": [{"lat": 41.77, "lon": -82.66, "radius_m": 0}]}])");
  auto xml = export_ok(msg);
  CHECK(xml.find("<areaDesc>Lake St. Clair</areaDesc>") != std::string::npos);
  CHECK(xml.find("<circle>42.45,-82.7 25</circle>") != std::string::npos);
  CHECK(xml.find("<polygon>42.3481,-82.9314 42.3363,-82.6937 41.7166,-82.4593 42.3481,-82.9314"
                 "</polygon>") != std::string::npos);
  CHECK(import_ok(xml) == msg);
}
