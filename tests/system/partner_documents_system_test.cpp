// A partner's own documents sent to the real gateway over its agency's link (issue 17):
// POST /api/v1/documents with the agency's token. Real producers' CAP alerts and EDXL-DE
// envelopes are read in place from ../shared/samples (never copied); their 2012 dates are moved
// to today, as a partner sending them now would have them. Each becomes a message to the
// configured recipient with the document kept byte for byte; the partner's Update follows its
// Alert onto the same transfer; another agency's identity, or a document that is not one, is
// refused by name.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"

namespace partner_documents {

using bl::test::gateway_process;
using bl::test::http_client;
using bl::test::http_response;
using nlohmann::json;

std::string sample(const std::string& dir, const std::string& name) {
  return bl::test::shared_sample(dir, name);
}

// The sample's own dates (`day` and the day after it) moved to today and tomorrow.
std::string dated_today(std::string text, const std::string& day = "2012-05-02",
                        const std::string& next_day = "2012-05-03") {
  const std::string now = bl::format_rfc3339(bl::now_ms());
  const std::string today = now.substr(0, 10);
  const std::string tomorrow =
      bl::format_rfc3339(bl::now_ms() + std::chrono::hours(24)).substr(0, 10);
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{next_day, tomorrow}, {day, today}})
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + 1))
      text.replace(at, from.size(), to);
  return text;
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Environment Canada and the NSW Rural Fire Service send over Essex Police's link (a test's
// stand-in for a partner agency); their alerts go to Essex Fire.
json partner_config() {
  return {{"partners",
           {{{"agency", "essex-police"},
             {"cap_senders", {"cap@ec.gc.ca", "webmaster@rfs.nsw.gov.au"}},
             {"edxl_senders", {"webmaster@rfs.nsw.gov.au"}},
             {"default_to", "essex-fire"}}}}};
}

http_response post_document(http_client& c, const std::string& standard, const std::string& body,
                            const std::string& agency) {
  return c.request("POST", "/api/v1/documents?standard=" + standard, body,
                   gateway_process::token(agency));
}

json transfer(http_client& c, const std::string& id, const std::string& agency) {
  auto r = c.get("/api/v1/transfers/" + id, gateway_process::token(agency));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json.at("transfer");
}

TEST_CASE(
    "a partner's CAP alert sent over its agency's link becomes a notification with the document "
    "kept as sent, and its Update follows it onto the same transfer",
    "[system][partners][samples]") {
  gateway_process gw(partner_config());
  http_client c(gw.port());

  // Environment Canada's Update, made into the Alert it follows (the sample's second reference):
  // what the partner sent first.
  const std::string update = dated_today(sample("cap", "google-cap-library__canada.cap"));
  std::string alert = replace_once(update, "<msgType>Update</msgType>", "<msgType>Alert</msgType>");
  alert = replace_once(alert, "2.49.0.1.124.6bddbc91.2012", "2.49.0.1.124.60f31a3a.2012");
  alert = alert.erase(alert.find("<references>"),
                      alert.find("</references>") + 13 - alert.find("<references>"));

  auto first = post_document(c, "cap", alert, "essex-police");
  INFO(first.body);
  REQUIRE(first.status == 202);
  const std::string id = first.json.at("receipt").at("transfer_id");
  CHECK(first.json.at("message_id") == "essex-police:2.49.0.1.124.60f31a3a.2012");

  // Essex Fire, the configured recipient, has it as a notification, for information.
  json t = transfer(c, id, "essex-fire");
  CHECK(t.at("from") == "essex-police");
  CHECK(t.at("to") == "essex-fire");
  CHECK(t.at("category") == "notification");
  const json& msg = t.at("messages")[0];
  CHECK(msg.at("source").at("standard") == "CAP 1.2");
  CHECK(msg.at("source").at("sender") == "cap@ec.gc.ca");
  REQUIRE(t.at("originals").size() == 1);
  CHECK(t.at("originals")[0].at("standard") == "CAP 1.2");
  CHECK(t.at("originals")[0].at("media_type") == "application/cap+xml");
  auto kept = c.get("/api/v1/originals/essex-police:2.49.0.1.124.60f31a3a.2012",
                    gateway_process::token("essex-fire"));
  REQUIRE(kept.status == 200);
  CHECK(kept.body == alert);
  CHECK(kept.header("Bluelink-Standard") == "CAP 1.2");

  // The same alert again: the first receipt, nothing new. The same identifier with other
  // content: refused, the first stands.
  auto again = post_document(c, "cap", alert, "essex-police");
  CHECK(again.status == 200);
  CHECK(again.json.at("receipt").at("transfer_id") == id);
  auto reused = post_document(c, "cap",
                              replace_once(alert, "<headline>severe thunderstorm watch</headline>",
                                           "<headline>tornado warning</headline>"),
                              "essex-police");
  CHECK(reused.status == 409);
  CHECK(reused.json.at("error").at("code") == "bl.message.id_reused");

  // The partner's Update names the Alert in <references>: it updates that transfer.
  auto up = post_document(c, "cap", update, "essex-police");
  INFO(up.body);
  REQUIRE(up.status == 202);
  CHECK(up.json.at("receipt").at("transfer_id") == id);
  t = transfer(c, id, "essex-fire");
  CHECK(t.at("version") == 2);
  CHECK(t.at("messages").back().at("type") == "transfer.update");
  CHECK(t.at("originals").size() == 2);

  // Another agency's link cannot send as Environment Canada; a document that is not CAP, or no
  // standard named, is refused by name; a document nobody may read is not served.
  auto mismatch = post_document(c, "cap", alert, "eeast-ambulance");
  CHECK(mismatch.status == 403);
  CHECK(mismatch.json.at("error").at("code") == "bl.partner.sender_mismatch");
  auto xee = post_document(c, "cap", sample("cap", "google-cap-library__xee.cap"), "essex-police");
  CHECK(xee.status == 422);
  CHECK(xee.json.at("error").at("code").get<std::string>().rfind("bl.xml.", 0) == 0);
  auto unnamed =
      c.request("POST", "/api/v1/documents", alert, gateway_process::token("essex-police"));
  CHECK(unnamed.status == 400);
  CHECK(unnamed.json.at("error").at("pointer") == "standard");
  CHECK(c.get("/api/v1/originals/essex-police:2.49.0.1.124.60f31a3a.2012",
              gateway_process::token("eeast-ambulance"))
            .status == 404);
}

TEST_CASE(
    "an EDXL-DE 1.0 envelope sent over a partner's link: each content object carried or refused "
    "by its position, the envelope kept with each message",
    "[system][partners][samples]") {
  gateway_process gw(partner_config());
  http_client c(gw.port());
  const std::string envelope =
      dated_today(sample("edxl-de", "google-cap-library__bushfire_invalid.edxlde.xml"),
                  "2011-10-17", "2011-10-18");
  auto r = post_document(c, "edxl-de", envelope, "essex-police");
  INFO(r.body);
  // Two of its seven objects are not valid CAP: the envelope is answered 422, naming each.
  REQUIRE(r.status == 422);
  CHECK(r.json.at("carried") == 5);
  CHECK(r.json.at("refused") == 2);
  const json& items = r.json.at("items");
  REQUIRE(items.size() == 7);
  for (const auto& item : items) {
    INFO(item.dump());
    const int position = item.at("position");
    if (position == 2 || position == 3) {
      CHECK(item.contains("error"));
    } else {
      REQUIRE(item.contains("receipt"));
      json t = transfer(c, item.at("receipt").at("transfer_id"), "essex-fire");
      REQUIRE(t.at("originals").size() == 1);
      CHECK(t.at("originals")[0].at("standard") == "EDXL-DE 1.0");
    }
  }
}

}  // namespace partner_documents
