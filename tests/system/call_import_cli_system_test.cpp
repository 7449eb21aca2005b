// System test of `bluelink calls import` and `bluelink calls imports`: the real CLI binary run
// the way an administrator runs it, against the database of a real gateway that is running.

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
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

namespace fs = std::filesystem;
using bl::test::cli_result;
using bl::test::run_cli;
using nlohmann::json;
const auto& slurp = bl::test::read_text;

/// The telephony lines of the three test control rooms, and the export's column names.
json import_patch() {
  return {{"call_import",
           {{"columns",
             {{"caller", "Calling Number"},
              {"called", "Dialled Number"},
              {"start", "Start Time"},
              {"duration", "Duration"},
              {"id", "Call ID"}}},
            {"numbers",
             {{{"number", "01632 960100"}, {"agency", "essex-fire"}},
              {{"number", "01632 960199"}, {"agency", "essex-fire"}, {"emergency", true}},
              {{"number", "01632 960200"}, {"agency", "essex-police"}},
              {{"number", "01632 960299"}, {"agency", "essex-police"}, {"emergency", true}},
              {{"number", "01632 960300"}, {"agency", "eeast-ambulance"}}}}}}};
}

const char* export_csv =
    "\xEF\xBB\xBF"
    "Call ID,Calling Number,Dialled Number,Start Time,Duration\r\n"
    "T-1,01632 960100,01632 960200,01/07/2026 10:00,0:02:00\r\n"
    "T-2,+44 1632 960200,01632 960199,01/07/2026 10:05,45\r\n"
    "\r\n"
    "T-3,01632 960300,01632 960200,31/06/2026 10:00,30\r\n"
    "T-4,07700 900000,01632 960200,01/07/2026 11:00,30\r\n"
    "T-5,01632 960300,01632 960100,2026-07-02T08:00:00Z,12:00\r\n";

}  // namespace

TEST_CASE("bluelink calls import loads a telephony export beside a running gateway",
          "[system][import]") {
  bl::test::gateway_process gw(import_patch());
  const fs::path csv = gw.dir() / "export.csv";
  std::ofstream(csv, std::ios::binary) << export_csv;
  const std::string config = gw.config_path().string();

  auto first = run_cli(gw.dir(), {"calls", "import", csv.string(), "--config", config});
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("5 rows read"));
  CHECK_THAT(first.out, Catch::Contains("imported          3"));
  CHECK_THAT(first.out, Catch::Contains("already imported  0"));
  CHECK_THAT(first.out, Catch::Contains("skipped           2"));
  CHECK_THAT(first.out, Catch::Contains("bad_start            1"));
  CHECK_THAT(first.out, Catch::Contains("unknown_caller       1"));
  CHECK_THAT(first.out, Catch::Contains("line 5") && Catch::Contains("'31/06/2026 10:00'"));
  CHECK_THAT(first.out, Catch::Contains("line 6") && Catch::Contains("'07700 900000'"));
  // Not a terminal: progress comes as lines, ending at 100%.
  CHECK_THAT(first.err, Catch::Contains("import 100%"));

  SECTION("the running gateway serves the imported calls") {
    bl::test::http_client police(gw.port());
    auto listed = police.request("GET", "/api/v1/calls?limit=10", {},
                                 bl::test::gateway_process::token(bl::test::essex_police));
    REQUIRE(listed.status == 200);
    CHECK(listed.json["calls"].size() == 2);  // T-1 (from Fire) and T-2 (to Fire's 999 line)
    bool emergency_seen = false;
    for (const auto& c : listed.json["calls"])
      if (c["other_agency"] == "essex-fire" && c["direction"] == "outgoing")
        emergency_seen = c["emergency"] == true;
    CHECK(emergency_seen);
  }

  SECTION("importing again counts nothing twice, and the ledger lists both imports") {
    auto again = run_cli(gw.dir(), {"calls", "import", csv.string(), "--config", config, "--json"});
    INFO(again.out << again.err);
    REQUIRE(again.exit_code == 0);
    auto j = json::parse(again.out);
    CHECK(j["rows"] == 5);
    CHECK(j["imported"] == 0);
    CHECK(j["already_imported"] == 3);
    CHECK(j["skipped_by_kind"] == json{{"bad_start", 1}, {"unknown_caller", 1}});
    CHECK(j["problems"][0]["line"] == 5);

    auto ledger = run_cli(gw.dir(), {"calls", "imports", "--config", config});
    INFO(ledger.err);
    REQUIRE(ledger.exit_code == 0);
    CHECK_THAT(ledger.out, Catch::Contains("IMPORTED AT"));
    auto listed = run_cli(gw.dir(), {"calls", "imports", "--config", config, "--json"});
    auto rows = json::parse(listed.out);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]["imported"] == 3);
    CHECK(rows[1]["already_imported"] == 3);
    CHECK(rows[0]["file_sha256"] == rows[1]["file_sha256"]);
  }

  SECTION("a dry run writes nothing") {
    auto dry =
        run_cli(gw.dir(), {"calls", "import", csv.string(), "--config", config, "--dry-run"});
    REQUIRE(dry.exit_code == 0);
    CHECK_THAT(dry.out, Catch::Contains("dry run: nothing was written"));
    CHECK_THAT(dry.out, Catch::Contains("already imported  3"));
    auto listed = run_cli(gw.dir(), {"calls", "imports", "--config", config, "--json"});
    CHECK(json::parse(listed.out).size() == 1);
  }

  SECTION("a file without the configured columns is refused with exit code 1") {
    const fs::path wrong = gw.dir() / "wrong.csv";
    std::ofstream(wrong) << "From,To,When,Length\n01632 960100,01632 960200,x,1\n";
    auto r = run_cli(gw.dir(), {"calls", "import", wrong.string(), "--config", config});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("'Calling Number' (call_import.columns.caller)") &&
                          Catch::Contains("'From', 'To', 'When', 'Length'"));
    auto missing = run_cli(gw.dir(), {"calls", "import", "nope.csv", "--config", config});
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.err, Catch::Contains("no file at nope.csv"));
  }

  SECTION("usage and config errors exit with 2") {
    CHECK(run_cli(gw.dir(), {"calls", "import", "--config", config}).exit_code == 2);
    auto bad = run_cli(gw.dir(), {"calls", "import", csv.string(), "--config", "absent.json"});
    CHECK(bad.exit_code == 2);
  }
}
