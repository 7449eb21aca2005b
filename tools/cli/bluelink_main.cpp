// bluelink: the administrator's command line. Thin: every command calls the same libraries the
// gateway uses.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"
#include "gateway/schema/config_loader.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/token_auth.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/sqlite.hpp"
#include "tools/samples/sample_requests.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int audit_verify(const std::string& db) {
  if (!fs::exists(db)) {
    std::fprintf(stderr, "bluelink: no database at %s\n", db.c_str());
    return 2;
  }
  bl::store::reader r(db);
  auto rep = r.verify_audit();
  if (!rep.ok) {
    std::printf("audit chain BROKEN after %lld rows: %s\n", static_cast<long long>(rep.rows),
                rep.problem.c_str());
    return 1;
  }
  std::printf("audit chain verified: %lld rows, every hash matches\n",
              static_cast<long long>(rep.rows));
  return 0;
}

// The demo: three Essex control rooms with one API token each. Tokens are written to
// credentials.json for the operator; the config holds only their SHA-256 digests.
int demo_init(const fs::path& dir, int port, bool force) {
  fs::create_directories(dir);
  auto config_path = dir / "config.json";
  auto creds_path = dir / "credentials.json";
  if (fs::exists(config_path) && fs::exists(creds_path) && !force) {
    std::printf("demo config already present in %s (use --force to regenerate)\n",
                dir.string().c_str());
    return 0;
  }
  struct agency {
    const char* id;
    const char* name;
    const char* kind;
    const char* phone;
  };
  const agency agencies[] = {
      {"essex-fire", "Essex County Fire and Rescue", "fire", "01632 960001"},
      {"essex-police", "Essex Police", "police", "01632 960002"},
      {"eeast-ambulance", "East of England Ambulance", "ambulance", "01632 960003"}};
  json cfg = {
      {"listen", {{"address", "127.0.0.1"}, {"port", port}}},
      {"database", {{"path", (dir / "bluelink.db").string()}, {"synchronous", "full"}}},
      {"agencies", json::array()},
      {"tokens", json::array()},
      {"priorities",
       {{"emergency",
         {{"time_to_delivery_s", 60}, {"time_to_decision_s", 180}, {"default_expiry_s", 900}}},
        {"urgent",
         {{"time_to_delivery_s", 300}, {"time_to_decision_s", 900}, {"default_expiry_s", 3600}}},
        {"routine",
         {{"time_to_delivery_s", 3600},
          {"time_to_decision_s", 14400},
          {"default_expiry_s", 86400}}}}}};
  json creds = {{"gateway", "http://127.0.0.1:" + std::to_string(port)},
                {"agencies", json::array()}};
  for (const auto& a : agencies) {
    auto token = bl::token_auth::generate();
    cfg["agencies"].push_back({{"id", a.id},
                               {"name", a.name},
                               {"kind", a.kind},
                               {"phone", a.phone},
                               {"cost_per_call_pence", 400}});
    cfg["tokens"].push_back(
        {{"agency", a.id}, {"sha256", bl::token_auth::digest(token)}, {"label", "demo"}});
    creds["agencies"].push_back({{"agency", a.id}, {"name", a.name}, {"api_token", token}});
  }
  std::ofstream(config_path) << cfg.dump(2) << '\n';
  std::ofstream(creds_path) << creds.dump(2) << '\n';
  fs::permissions(creds_path, fs::perms::owner_read | fs::perms::owner_write);
  std::printf("wrote %s and %s\n", config_path.string().c_str(), creds_path.string().c_str());
  return 0;
}

// A fresh, schema-valid request (now-stamped, unique id) for trying the API by hand.
json demo_request(const std::string& from, const std::string& to) {
  return bl::samples::a12_rtc_request(from + ":demo-" + bl::token_auth::generate().substr(4, 16),
                                      from, to);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bluelink: administer a Bluelink gateway"};
  app.require_subcommand(1);

  auto* token = app.add_subcommand("token", "API tokens for agencies")->require_subcommand(1);
  std::string agency, label = "issued";
  auto* token_new =
      token->add_subcommand("new", "generate a token; prints it and its config entry");
  token_new->add_option("--agency", agency, "agency id the token belongs to")->required();
  token_new->add_option("--label", label, "label stored beside the digest");
  std::string raw;
  auto* token_hash = token->add_subcommand("hash", "print the SHA-256 digest of a token");
  token_hash->add_option("token", raw)->required();

  auto* audit = app.add_subcommand("audit", "the hash-chained audit log")->require_subcommand(1);
  std::string db;
  auto* verify = audit->add_subcommand("verify", "recompute the hash chain from the first row");
  verify->add_option("--database", db, "database file")->required();

  auto* config = app.add_subcommand("config", "configuration files")->require_subcommand(1);
  std::string config_file, schemas_dir;
  auto* check = config->add_subcommand("check", "validate a config file against its schema");
  check->add_option("--config", config_file)->required();
  check->add_option("--schemas", schemas_dir);

  auto* demo = app.add_subcommand("demo", "the local demo")->require_subcommand(1);
  std::string demo_dir = "var/demo";
  int port = 8080;
  bool force = false;
  auto* init = demo->add_subcommand("init", "write a demo config and credentials");
  init->add_option("--dir", demo_dir);
  init->add_option("--port", port);
  init->add_flag("--force", force);

  std::string req_from = "essex-fire", req_to = "essex-police";
  auto* request = demo->add_subcommand("request", "print a fresh example transfer.request");
  request->add_option("--from", req_from);
  request->add_option("--to", req_to);

  CLI11_PARSE(app, argc, argv);

  try {
    if (*token_new) {
      auto t = bl::token_auth::generate();
      std::printf("token (give this to %s; it is not stored anywhere):\n  %s\n", agency.c_str(),
                  t.c_str());
      std::printf("config entry for \"tokens\":\n  %s\n",
                  json{{"agency", agency}, {"sha256", bl::token_auth::digest(t)}, {"label", label}}
                      .dump()
                      .c_str());
      return 0;
    }
    if (*token_hash) {
      std::printf("%s\n", bl::token_auth::digest(raw).c_str());
      return 0;
    }
    if (*verify) return audit_verify(db);
    if (*check) {
      bl::schema_set schemas(schemas_dir.empty() ? bl::schema_set::locate(argv[0])
                                                 : fs::path(schemas_dir));
      auto cfg = bl::load_config(config_file, schemas);
      std::printf("config ok: %zu agencies, %zu tokens, listening on %s:%u\n", cfg.agencies.size(),
                  cfg.tokens.size(), cfg.listen_address.c_str(), cfg.listen_port);
      return 0;
    }
    if (*init) return demo_init(demo_dir, port, force);
    if (*request) {
      std::printf("%s\n", demo_request(req_from, req_to).dump(2).c_str());
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink: %s\n", e.what());
    return 2;
  }
  return 0;
}
