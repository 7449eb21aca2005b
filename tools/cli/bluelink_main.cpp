// bluelink: the administrator's command line. Thin: every command calls the same libraries the
// gateway uses.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>
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

// ---- CAD link keys (docs/protocols/cad-link.md section 1, docs/operations.md "CAD link keys") --

/// Exit code of a request that was refused (bad key, unknown agency, ...): nothing was written.
constexpr int exit_refused = 1;

/// A CURVE key pair as libzmq writes and reads it: two 40-character Z85 strings.
struct curve_key_pair {
  std::string public_key;
  std::string secret_key;
};

// A regex would need every metacharacter of the Z85 alphabet escaped; and libzmq's decoder also
// refuses 40 characters of the alphabet whose 5-character groups overflow 32 bits.
bool is_z85_key(const std::string& s) {
  constexpr std::string_view alphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (s.size() != 40) return false;
  for (char c : s)
    if (alphabet.find(c) == std::string_view::npos) return false;
  std::uint8_t raw[32];
  return zmq_z85_decode(raw, s.c_str()) != nullptr;
}

curve_key_pair generate_key_pair() {
  char public_key[41];
  char secret_key[41];
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw std::runtime_error(std::string("cannot generate a CURVE key pair (is libzmq built with "
                                         "CURVE support?): ") +
                             zmq_strerror(zmq_errno()));
  return {public_key, secret_key};
}

std::string key_file_text(const curve_key_pair& keys) {
  nlohmann::ordered_json doc = {{"public", keys.public_key}, {"secret", keys.secret_key}};
  return doc.dump(2) + '\n';
}

/// Replaces `file` with `content` so that a reader sees the old file or the new one, never half.
/// The temporary file is created 0600 by mkstemp (a secret is never readable by others, even for
/// a moment) and then given `mode` and, if `owner` is set, that file's owner (a config rewritten
/// by root stays readable by the gateway's user). `check`, if set, is run on the temporary file
/// before the rename; if it throws, the temporary file is removed and `file` is left as it was.
void write_atomically(const fs::path& file, const std::string& content, mode_t mode,
                      const std::function<void(const fs::path&)>& check = {},
                      const struct stat* owner = nullptr) {
  std::string name = file.string() + ".tmp-XXXXXX";
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    throw std::runtime_error("cannot create a file beside " + file.string() + ": " +
                             std::strerror(errno));
  const fs::path tmp = name;
  bool renamed = false;
  struct cleanup {
    const fs::path& tmp;
    const bool& renamed;
    ~cleanup() {
      std::error_code ec;
      if (!renamed) fs::remove(tmp, ec);
    }
  } guard{tmp, renamed};
  auto fail = [&](const char* what) {
    std::string reason = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error(std::string("cannot ") + what + " " + tmp.string() + ": " + reason);
  };
  for (std::size_t done = 0; done < content.size();) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write");
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) fail("set the mode of");
  // EPERM: not root and not the owner's user; the file is then ours, as any edit would leave it.
  if (owner && ::fchown(fd, owner->st_uid, owner->st_gid) != 0 && errno != EPERM)
    fail("set the owner of");
  // On disk before the rename, so that a crash cannot leave an empty key or config file.
  if (::fsync(fd) != 0) fail("flush");
  if (::close(fd) != 0)
    throw std::runtime_error("cannot close " + tmp.string() + ": " + std::strerror(errno));
  if (check) check(tmp);
  if (::rename(tmp.c_str(), file.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp.string() + " to " + file.string() + ": " +
                             std::strerror(errno));
  renamed = true;
}

/// Reads a key file written by `bluelink keys generate`; throws naming the file and the problem.
curve_key_pair read_key_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read key file " + file.string());
  auto doc = json::parse(in, nullptr, false);
  if (!doc.is_object() || !doc.contains("public") || !doc.contains("secret") ||
      !doc["public"].is_string() || !doc["secret"].is_string())
    throw std::runtime_error(
        "key file " + file.string() +
        " is not a key pair: expected JSON {\"public\": Z85, \"secret\": Z85}");
  curve_key_pair keys{doc["public"].get<std::string>(), doc["secret"].get<std::string>()};
  if (!is_z85_key(keys.public_key) || !is_z85_key(keys.secret_key))
    throw std::runtime_error("key file " + file.string() +
                             ": the keys are not 40-character Z85 strings");
  // A public key pasted from another pair would lock the CAD out at the handshake.
  char derived[41];
  if (zmq_curve_public(derived, keys.secret_key.c_str()) != 0 || keys.public_key != derived)
    throw std::runtime_error("key file " + file.string() +
                             ": the public key does not belong to the secret key");
  return keys;
}

int keys_generate(const fs::path& out, bool force) {
  if (fs::exists(out) && !force) {
    std::fprintf(stderr,
                 "bluelink: %s already exists and may be a key in use; nothing written (use "
                 "--force to replace it)\n",
                 out.string().c_str());
    return exit_refused;
  }
  auto keys = generate_key_pair();
  write_atomically(out, key_file_text(keys), S_IRUSR | S_IWUSR);
  std::fprintf(stderr, "bluelink: wrote a CURVE key pair to %s (mode 0600: keep it secret)\n",
               out.string().c_str());
  std::printf("%s\n", keys.public_key.c_str());
  return 0;
}

int keys_show(const fs::path& file) {
  auto keys = read_key_file(file);
  auto perms = fs::status(file).permissions();
  if ((perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none)
    std::fprintf(stderr,
                 "bluelink: warning: %s holds a secret key but others may read it; run: chmod 600 "
                 "%s\n",
                 file.string().c_str(), file.string().c_str());
  std::printf("%s\n", keys.public_key.c_str());
  return 0;
}

/// Adds a CAD's public key to cad_link.clients of a config file, after checking that the result
/// is a config the gateway would start with. Keeps the order of the operator's keys.
int keys_register(const fs::path& config_file, const std::string& agency,
                  const std::string& public_key, const std::string& label,
                  const fs::path& schemas_dir) {
  auto refuse = [&](const std::string& why) {
    std::fprintf(stderr, "bluelink: %s; %s not changed\n", why.c_str(),
                 config_file.string().c_str());
    return exit_refused;
  };
  if (!is_z85_key(public_key))
    return refuse("'" + public_key +
                  "' is not a CURVE public key: expected 40 characters of Z85, as printed by "
                  "`bluelink keys generate` or `bluelink keys show`");
  std::ifstream in(config_file);
  if (!in) return refuse("cannot read config file " + config_file.string());
  auto doc = nlohmann::ordered_json::parse(in, nullptr, false);
  if (!doc.is_object()) return refuse("config file is not a JSON object");
  if (!doc.contains("cad_link"))
    return refuse(
        "the config has no \"cad_link\" section, so the gateway serves no CAD link. Add one "
        "first, for example\n  \"cad_link\": {\"listen\": \"tcp://127.0.0.1:5560\", "
        "\"server_key_file\": \"/etc/bluelink/gateway.key\"}\n(see docs/operations.md, \"CAD "
        "link keys\"), then register the key again");
  auto& link = doc["cad_link"];
  if (!link.is_object()) return refuse("\"cad_link\" is not an object");

  std::string configured;
  bool known = false;
  if (doc.contains("agencies") && doc["agencies"].is_array())
    for (const auto& a : doc["agencies"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_string()) continue;
      auto id = a["id"].get<std::string>();
      known = known || id == agency;
      configured += (configured.empty() ? "" : ", ") + id;
    }
  if (!known)
    return refuse("agency '" + agency + "' is not configured (agencies: " +
                  (configured.empty() ? std::string("none") : configured) + ")");

  if (!link.contains("clients")) link["clients"] = nlohmann::ordered_json::array();
  auto& clients = link["clients"];
  if (!clients.is_array()) return refuse("\"cad_link.clients\" is not an array");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto& c = clients[i];
    if (c.is_object() && c.value("public_key", std::string()) == public_key)
      // One key, one agency: the key is what binds a connection to the agency it speaks for.
      return refuse("this key is already registered for agency '" +
                    c.value("agency", std::string("?")) + "' (cad_link/clients/" +
                    std::to_string(i) + ")");
  }
  nlohmann::ordered_json entry = {{"agency", agency}, {"public_key", public_key}};
  if (!label.empty()) entry["label"] = label;
  clients.push_back(entry);

  // The checks the gateway makes at start: the schema, then the rules a schema cannot express.
  bl::schema_set schemas(schemas_dir);
  auto plain = json::parse(doc.dump());
  if (auto e = schemas.validate("config/config", plain))
    return refuse("the config would not be valid with this key: " +
                  (e->pointer.empty() ? std::string("(root)") : e->pointer) + ": " + e->message);
  try {
    bl::config_from_json(plain);
  } catch (const std::invalid_argument& e) {
    return refuse(std::string("the config would not be valid with this key: ") + e.what());
  }
  // Through a symlink to the real file, so that a linked config stays linked.
  const auto target = fs::canonical(config_file);
  struct stat before {};
  if (::stat(target.c_str(), &before) != 0)
    throw std::runtime_error("cannot stat " + target.string() + ": " + std::strerror(errno));
  write_atomically(
      target, doc.dump(2) + '\n', before.st_mode & 07777,
      [&](const fs::path& written) { bl::load_config(written, schemas); }, &before);
  std::size_t for_agency = 0;
  for (const auto& c : clients)
    if (c.value("agency", std::string()) == agency) ++for_agency;
  std::printf(
      "registered the CAD key %s for %s in %s (%zu key%s for this agency); restart the gateway "
      "to apply\n",
      public_key.c_str(), agency.c_str(), config_file.string().c_str(), for_agency,
      for_agency == 1 ? "" : "s");
  return 0;
}

// The demo: three Essex control rooms with one API token and one CAD link key pair each. Tokens
// and key file names are written to credentials.json for the operator; the config holds only the
// tokens' SHA-256 digests and the CADs' public keys.
int demo_init(const fs::path& dir, int port, int cad_port, bool force) {
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
  const auto owner_only = static_cast<mode_t>(S_IRUSR | S_IWUSR);
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(cad_port);
  auto gateway_key = generate_key_pair();
  auto gateway_key_file = dir / "gateway.key";
  write_atomically(gateway_key_file, key_file_text(gateway_key), owner_only);
  cfg["cad_link"] = {{"listen", endpoint},
                     {"server_key_file", gateway_key_file.string()},
                     {"clients", json::array()}};
  creds["cad_link"] = {{"endpoint", endpoint},
                       {"server_public_key", gateway_key.public_key},
                       {"keys", json::object()}};
  for (const auto& a : agencies) {
    auto cad_key = generate_key_pair();
    auto cad_key_file = dir / ("cad-" + std::string(a.id) + ".key");
    write_atomically(cad_key_file, key_file_text(cad_key), owner_only);
    cfg["cad_link"]["clients"].push_back(
        {{"agency", a.id}, {"public_key", cad_key.public_key}, {"label", "demo CAD"}});
    creds["cad_link"]["keys"][a.id] = cad_key_file.string();

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
  std::printf("CAD link on %s: gateway key %s, one CAD key per agency beside it\n",
              endpoint.c_str(), gateway_key_file.string().c_str());
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

  auto* keys =
      app.add_subcommand("keys", "CURVE keys of the ZeroMQ CAD link")->require_subcommand(1);
  std::string key_out;
  bool key_force = false;
  auto* keys_gen =
      keys->add_subcommand("generate", "write a new key pair (mode 0600) and print its public key");
  keys_gen->add_option("--out", key_out, "key file to write")->required();
  keys_gen->add_flag("--force", key_force, "replace an existing key file");
  std::string key_file;
  auto* keys_show_cmd = keys->add_subcommand("show", "print the public key of a key file");
  keys_show_cmd->add_option("--key-file", key_file, "key file written by keys generate")
      ->required();
  std::string reg_config, reg_agency, reg_key, reg_label, reg_schemas;
  auto* keys_reg = keys->add_subcommand(
      "register", "allow a CAD's public key to connect as an agency (edits cad_link.clients)");
  keys_reg->add_option("--config", reg_config, "gateway config file")->required();
  keys_reg->add_option("--agency", reg_agency, "the agency the CAD speaks for")->required();
  keys_reg->add_option("--public-key", reg_key, "the CAD's public key (40 characters of Z85)")
      ->required();
  keys_reg->add_option("--label", reg_label, "what the key is for, e.g. \"FireCAD primary\"");
  keys_reg->add_option("--schemas", reg_schemas, "schemas directory");

  auto* demo = app.add_subcommand("demo", "the local demo")->require_subcommand(1);
  std::string demo_dir = "var/demo";
  int port = 8080;
  int cad_port = 5560;
  bool force = false;
  auto* init = demo->add_subcommand("init", "write a demo config, credentials and CAD link keys");
  init->add_option("--dir", demo_dir);
  init->add_option("--port", port);
  init->add_option("--cad-port", cad_port, "TCP port of the ZeroMQ CAD link")
      ->check(CLI::Range(1, 65535));
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
      if (cfg.cad_link.enabled)
        std::printf("CAD link on %s: %zu registered CAD keys\n", cfg.cad_link.listen.c_str(),
                    cfg.cad_link.clients.size());
      return 0;
    }
    if (*keys_gen) return keys_generate(key_out, key_force);
    if (*keys_show_cmd) return keys_show(key_file);
    if (*keys_reg)
      return keys_register(
          reg_config, reg_agency, reg_key, reg_label,
          reg_schemas.empty() ? bl::schema_set::locate(argv[0]) : fs::path(reg_schemas));
    if (*init) return demo_init(demo_dir, port, cad_port, force);
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
