// One credential, one agency: the same API token hash, CAD link CURVE key or UCRI2 OID given to two
// agencies is refused when the config is read (at start and by `bluelink config check`), naming
// both entries, instead of being accepted and answering one agency 401 with only a log line.

#include <catch2/catch.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;
using nlohmann::json;

namespace {
json essex() {
  return test::read_json(std::filesystem::path(BL_SOURCE_DIR) /
                         "schemas/examples/valid/config/full-essex.json");
}

std::string refusal(const json& doc) {
  return test::config_refusal(doc);
}

const char* key_a = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const char* key_b = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
}  // namespace

TEST_CASE("a config that gives two agencies one credential is refused naming both",
          "[unit][config]") {
  SECTION("an API token hash") {
    auto doc = essex();
    REQUIRE_NOTHROW(config_from_json(doc));
    doc["tokens"][1]["sha256"] = doc["tokens"][0]["sha256"];
    auto why = refusal(doc);
    CHECK_THAT(why, Catch::StartsWith("/tokens/1/sha256: the same token hash as /tokens/0"));
    CHECK_THAT(why, Catch::Contains("agency 'essex-fire'"));
    CHECK_THAT(why, Catch::Contains("agency 'essex-police'"));
  }
  SECTION("a CAD link key") {
    auto doc = essex();
    doc["cad_link"] = {{"listen", "tcp://127.0.0.1:5560"},
                       {"server_key_file", "/etc/bluelink/gateway.key"},
                       {"clients",
                        {{{"agency", "essex-fire"}, {"public_key", key_a}},
                         {{"agency", "essex-police"}, {"public_key", key_b}}}}};
    REQUIRE_NOTHROW(config_from_json(doc));
    doc["cad_link"]["clients"][1]["public_key"] = key_a;
    auto why = refusal(doc);
    CHECK_THAT(why, Catch::StartsWith("/cad_link/clients/1/public_key: the same key as "
                                      "/cad_link/clients/0 (agency 'essex-fire')"));
  }
  SECTION("a UCRI2 OID") {
    auto doc = essex();
    doc["ucri2"] = {{"oid", "1.2.276.0.99.0"},
                    {"participants",
                     {{{"agency", "essex-fire"}, {"oid", "1.2.276.0.99.1"}},
                      {{"agency", "essex-police"}, {"oid", "1.2.276.0.99.2"}}}}};
    REQUIRE_NOTHROW(config_from_json(doc));
    doc["ucri2"]["participants"][1]["oid"] = "1.2.276.0.99.1";
    auto why = refusal(doc);
    CHECK_THAT(why, Catch::StartsWith("/ucri2/participants/1/oid: '1.2.276.0.99.1' is already "
                                      "agency 'essex-fire'"));
    CHECK_THAT(why, Catch::Contains("agency 'essex-police' needs an OID of its own"));
    doc["ucri2"]["participants"][1]["oid"] = "1.2.276.0.99.0";
    CHECK_THAT(refusal(doc), Catch::Contains("is already the gateway's own (/ucri2/oid)"));
  }
}

TEST_CASE("a partner's identities each map to one configured agency", "[unit][config]") {
  auto doc = essex();
  doc["agencies"].push_back({{"id", "ec-weather"},
                             {"name", "Environment Canada"},
                             {"kind", "other"},
                             {"phone", "01632 960999"}});
  doc["partners"] = {{{"agency", "ec-weather"},
                      {"cap_senders", {"cap@ec.gc.ca", "cap-pac@ec.gc.ca"}},
                      {"default_to", "essex-fire"}}};
  auto cfg = config_from_json(doc);
  REQUIRE(cfg.partners.size() == 1);
  CHECK(cfg.find_partner("ec-weather")->cap_senders.size() == 2);
  CHECK(cfg.find_partner("ec-weather")->default_to == "essex-fire");
  CHECK(cfg.find_partner("essex-fire") == nullptr);

  SECTION("an identity given to two agencies") {
    doc["partners"].push_back({{"agency", "essex-police"}, {"cap_senders", {"cap@ec.gc.ca"}}});
    CHECK(refusal(doc) ==
          "/partners/1/cap_senders/0: 'cap@ec.gc.ca' is already an identity of "
          "agency 'ec-weather'");
  }
  SECTION("a partner that is not an agency") {
    doc["partners"][0]["agency"] = "met-office";
    CHECK_THAT(refusal(doc), Catch::StartsWith("/partners/0/agency: unknown agency 'met-office'"));
  }
  SECTION("a default recipient that is not an agency, or the partner itself") {
    doc["partners"][0]["default_to"] = "nowhere";
    CHECK(refusal(doc) == "/partners/0/default_to: unknown agency 'nowhere'");
    doc["partners"][0]["default_to"] = "ec-weather";
    CHECK_THAT(refusal(doc), Catch::StartsWith("/partners/0/default_to: 'ec-weather' cannot"));
  }
  SECTION("two entries for one agency") {
    doc["partners"].push_back({{"agency", "ec-weather"}});
    CHECK_THAT(refusal(doc), Catch::StartsWith("/partners/1/agency: 'ec-weather' already has"));
  }
}
