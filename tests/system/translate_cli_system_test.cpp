// System test of `bluelink translate`: the real CLI binary takes the A12 request through CAP and
// EDXL-DE and back unchanged, and refuses a hostile XML document with its specific error.

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

  auto usage = translate(dir, {"--from", "eido", "--to", "cap", "xxe.xml"});
  CHECK(usage.exit_code == 2);
}
