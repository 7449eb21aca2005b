// System tests of `bluelink keys` and the CAD link part of `bluelink demo init`: the real CLI
// binary, run the way an administrator runs it, in a temporary directory of its own.

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
using bl::test::cli_result;
using nlohmann::json;
const auto& read_file = bl::test::read_text;

json read_json(const fs::path& p) {
  return json::parse(read_file(p));
}

void write_json(const fs::path& p, const json& doc) {
  std::ofstream(p) << doc.dump(2) << '\n';
}

/// Runs the bluelink CLI with `args` in `dir` (schemas from the source tree) and waits for it.
cli_result run_cli(const bl::test::temp_dir& dir, const std::vector<std::string>& args) {
  return bl::test::run_cli(dir.path(), args);
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

/// Generates a key pair into `name` and returns its public key.
std::string generate(const bl::test::temp_dir& dir, const std::string& name) {
  auto r = run_cli(dir, {"keys", "generate", "--out", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return trimmed(r.out);
}

bool owner_only(const fs::path& p) {
  auto perms = fs::status(p).permissions();
  return (perms & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write);
}

/// Two Essex agencies and a CAD link with no client yet, as an administrator would start.
json essex_config(const bl::test::temp_dir& dir) {
  json timers = {
      {"time_to_delivery_s", 60}, {"time_to_decision_s", 180}, {"default_expiry_s", 900}};
  return {{"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
          {"database", {{"path", dir.file("bluelink.db")}}},
          {"agencies",
           {{{"id", "essex-fire"},
             {"name", "Essex County Fire and Rescue Service"},
             {"kind", "fire"},
             {"phone", "01632 960100"}},
            {{"id", "essex-police"},
             {"name", "Essex Police"},
             {"kind", "police"},
             {"phone", "01632 960200"}}}},
          {"priorities", {{"emergency", timers}, {"urgent", timers}, {"routine", timers}}},
          {"cad_link",
           {{"listen", "tcp://127.0.0.1:5560"}, {"server_key_file", dir.file("gateway.key")}}}};
}

}  // namespace

TEST_CASE("keys generate writes an owner-only key pair and keys show prints its public key",
          "[system][keys]") {
  bl::test::temp_dir dir;
  auto r = run_cli(dir, {"keys", "generate", "--out", "cad.key"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto public_key = trimmed(r.out);
  CHECK(public_key.size() == 40);
  CHECK(owner_only(dir.path() / "cad.key"));
  auto file = read_json(dir.path() / "cad.key");
  CHECK(file.at("public") == public_key);
  CHECK(file.at("secret").get<std::string>().size() == 40);
  CHECK(file.at("secret") != public_key);

  auto shown = run_cli(dir, {"keys", "show", "--key-file", "cad.key"});
  CHECK(shown.exit_code == 0);
  CHECK(trimmed(shown.out) == public_key);

  SECTION("an existing key file is not overwritten without --force") {
    auto again = run_cli(dir, {"keys", "generate", "--out", "cad.key"});
    CHECK(again.exit_code != 0);
    CHECK_THAT(again.err, Catch::Contains("--force"));
    CHECK(read_json(dir.path() / "cad.key") == file);

    auto forced = run_cli(dir, {"keys", "generate", "--out", "cad.key", "--force"});
    CHECK(forced.exit_code == 0);
    CHECK(trimmed(forced.out) != public_key);
    CHECK(read_json(dir.path() / "cad.key").at("public") == trimmed(forced.out));
    CHECK(owner_only(dir.path() / "cad.key"));
  }
  SECTION("a key file whose public key is not the secret's is refused") {
    auto other = read_json(dir.path() / "cad.key");
    other["public"] = generate(dir, "other.key");
    write_json(dir.path() / "mixed.key", other);
    auto mixed = run_cli(dir, {"keys", "show", "--key-file", "mixed.key"});
    CHECK(mixed.exit_code != 0);
    CHECK_THAT(mixed.err, Catch::Contains("does not belong to the secret key"));
  }
}

TEST_CASE("keys register adds a CAD key to the config and refuses a key that would be ambiguous",
          "[system][keys]") {
  bl::test::temp_dir dir;
  auto config = dir.path() / "gateway.json";
  write_json(config, essex_config(dir));
  auto fire_key = generate(dir, "cad-essex-fire.key");

  auto r = run_cli(dir, {"keys", "register", "--config", "gateway.json", "--agency", "essex-fire",
                         "--public-key", fire_key, "--label", "FireCAD primary"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto clients = read_json(config).at("cad_link").at("clients");
  REQUIRE(clients.size() == 1);
  CHECK(clients[0] ==
        json{{"agency", "essex-fire"}, {"public_key", fire_key}, {"label", "FireCAD primary"}});

  auto check = run_cli(dir, {"config", "check", "--config", "gateway.json"});
  INFO(check.err);
  CHECK(check.exit_code == 0);
  CHECK_THAT(check.out, Catch::Contains("1 registered CAD key"));

  const auto registered = read_file(config);
  SECTION("the same key again is refused and the config is left as it was") {
    auto again = run_cli(dir, {"keys", "register", "--config", "gateway.json", "--agency",
                               "essex-fire", "--public-key", fire_key});
    CHECK(again.exit_code != 0);
    CHECK_THAT(again.err, Catch::Contains("already registered for agency 'essex-fire'"));
    CHECK(read_file(config) == registered);
  }
  SECTION("the same key for another agency is refused: a key speaks for one agency") {
    auto other = run_cli(dir, {"keys", "register", "--config", "gateway.json", "--agency",
                               "essex-police", "--public-key", fire_key});
    CHECK(other.exit_code != 0);
    CHECK_THAT(other.err, Catch::Contains("already registered for agency 'essex-fire'"));
    CHECK(read_file(config) == registered);
  }
  SECTION("a key for an agency that is not configured is refused") {
    auto kent = run_cli(dir, {"keys", "register", "--config", "gateway.json", "--agency",
                              "kent-fire", "--public-key", generate(dir, "kent.key")});
    CHECK(kent.exit_code != 0);
    CHECK_THAT(kent.err, Catch::Contains("agency 'kent-fire' is not configured"));
    CHECK(read_file(config) == registered);
  }
  SECTION("something that is not a Z85 public key is refused") {
    auto bad = run_cli(dir, {"keys", "register", "--config", "gateway.json", "--agency",
                             "essex-police", "--public-key", fire_key.substr(0, 39)});
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.err, Catch::Contains("not a CURVE public key"));
    CHECK(read_file(config) == registered);
  }
  SECTION("a second CAD for another agency is added beside the first") {
    auto police_key = generate(dir, "cad-essex-police.key");
    auto police = run_cli(dir, {"keys", "register", "--config", "gateway.json", "--agency",
                                "essex-police", "--public-key", police_key});
    INFO(police.err);
    CHECK(police.exit_code == 0);
    auto both = read_json(config).at("cad_link").at("clients");
    REQUIRE(both.size() == 2);
    CHECK(both[1] == json{{"agency", "essex-police"}, {"public_key", police_key}});
    CHECK(run_cli(dir, {"config", "check", "--config", "gateway.json"}).exit_code == 0);
  }
}

TEST_CASE("keys register refuses a config without a cad_link section and says to add one",
          "[system][keys]") {
  bl::test::temp_dir dir;
  auto doc = essex_config(dir);
  doc.erase("cad_link");
  write_json(dir.path() / "gateway.json", doc);
  const auto before = read_file(dir.path() / "gateway.json");
  auto r = run_cli(dir, {"keys", "register", "--config", "gateway.json", "--agency", "essex-fire",
                         "--public-key", generate(dir, "cad.key")});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("no \"cad_link\" section"));
  CHECK(read_file(dir.path() / "gateway.json") == before);
}

TEST_CASE("demo init gives the gateway and every demo agency a CAD link key pair",
          "[system][keys]") {
  bl::test::temp_dir dir;
  auto r = run_cli(dir, {"demo", "init", "--dir", "demo", "--cad-port", "5571"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto check = run_cli(dir, {"config", "check", "--config", "demo/config.json"});
  INFO(check.err);
  CHECK(check.exit_code == 0);

  auto link = read_json(dir.path() / "demo/config.json").at("cad_link");
  auto creds = read_json(dir.path() / "demo/credentials.json").at("cad_link");
  CHECK(link.at("listen") == "tcp://127.0.0.1:5571");
  CHECK(creds.at("endpoint") == "tcp://127.0.0.1:5571");
  auto server_key_file = dir.path() / link.at("server_key_file").get<std::string>();
  CHECK(owner_only(server_key_file));
  CHECK(read_json(server_key_file).at("public") == creds.at("server_public_key"));

  const auto& clients = link.at("clients");
  REQUIRE(clients.size() == 3);
  for (const auto& c : clients) {
    auto agency = c.at("agency").get<std::string>();
    INFO(agency);
    REQUIRE(creds.at("keys").contains(agency));
    auto key_file = dir.path() / creds.at("keys").at(agency).get<std::string>();
    CHECK(key_file.filename() == "cad-" + agency + ".key");
    CHECK(owner_only(key_file));
    CHECK(read_json(key_file).at("public") == c.at("public_key"));
    auto shown = run_cli(dir, {"keys", "show", "--key-file", key_file.string()});
    CHECK(trimmed(shown.out) == c.at("public_key").get<std::string>());
  }
}
