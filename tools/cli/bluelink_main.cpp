// bluelink: the administrator's command line. Thin: every command calls the same libraries the
// gateway uses.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <zmq.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/edxl_envelope.hpp"
#include "adapters/cap/edxl_xml.hpp"
#include "adapters/eido/eido.hpp"
#include "adapters/text/methane_text.hpp"
#include "adapters/ucri2/ucri2_message.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/schema/config_loader.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/access_view.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/call_import.hpp"
#include "gateway/service/retention.hpp"
#include "gateway/service/savings.hpp"
#include "gateway/service/subject_access.hpp"
#include "gateway/service/token_auth.hpp"
#include "gateway/store/file_modes.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_copy.hpp"
#include "gateway/store/store_error.hpp"
#include "gateway/store/writer.hpp"
#include "tools/cli/demo_history.hpp"
#include "tools/samples/sample_requests.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// Runs `fn` in one transaction of `w`: committed when it returns, rolled back when it throws.
template <class F>
auto in_transaction(bl::store::writer& w, F&& fn) -> decltype(fn()) {
  w.begin();
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      w.commit();
    } else {
      auto r = fn();
      w.commit();
      return r;
    }
  } catch (...) {
    w.rollback();
    throw;
  }
}

/// The SQLite store at `path` with the gateway's busy timeout and synchronous level.
bl::store::store_options store_at(const bl::gateway_config& cfg, const std::string& path) {
  return bl::store::store_options{path, cfg.synchronous_full, cfg.busy_timeout_ms, {}};
}

/// The store a command works on: the SQLite file given with --database, or else the config's
/// "database" on either engine (PostgreSQL with the password from its file or environment).
/// Throws std::runtime_error naming the password file or variable when it cannot be read.
bl::store::store_options store_for(const bl::gateway_config& cfg, const std::string& database) {
  if (!database.empty()) return store_at(cfg, database);
  return bl::store::options_for(cfg);
}

/// Whether the store is an SQLite file that does not exist (PostgreSQL databases are made by
/// their administrator, never by a command).
bool missing_file(const bl::store::store_options& opts) {
  return opts.engine == bl::store::engine_kind::sqlite && !fs::exists(opts.path);
}

/// --password-file / --password-env of a command that opens a PostgreSQL store: where its
/// password is (docs/operations.md), never on the command line.
struct password_cli {
  std::string file, env;
  bool given() const { return !file.empty() || !env.empty(); }
};

/// Adds --password-file and --password-env (one or the other) to `cmd`; `what` names the
/// password in their help ("the owner's password").
void add_password_options(CLI::App* cmd, password_cli& pw, const std::string& what) {
  auto* file = cmd->add_option("--password-file", pw.file, "file whose first line is " + what);
  cmd->add_option("--password-env", pw.env, "environment variable that holds " + what)
      ->excludes(file);
}

struct audit_verify_cli {
  std::string database, store, config_file;
  password_cli password;
};

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
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json doc;
  if (auto e = bl::parse_json_bounded(text, doc, bl::json_limits{64 * 1024, 8}, "the key file"))
    throw std::runtime_error("key file " + file.string() + ": " + e->message);
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
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Bounded before the (order-keeping) parse, like every config read.
  if (text.size() > (std::size_t{16} << 20) || bl::json_nesting_depth(text, 32) > 32)
    return refuse("config file is larger than 16 MiB or nests deeper than 32");
  auto doc = nlohmann::ordered_json::parse(text, nullptr, false);
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

// ---- console accounts (docs/operations.md "Console accounts") ---------------------------------

/// Exit code of a command given bad input (an unknown role, a short password, ...).
constexpr int exit_bad_input = 2;

/// A password to read aloud or type: 20 characters without look-alikes (0/O, 1/l/I), ~113 bits.
std::string generate_password() {
  constexpr std::string_view alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  while (out.size() < 20) {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("no randomness available");
    // Rejection sampling: only bytes below a multiple of the alphabet size, so no bias.
    const unsigned limit = 256 - 256 % alphabet.size();
    for (unsigned char c : raw)
      if (c < limit && out.size() < 20) out += alphabet[c % alphabet.size()];
  }
  return out;
}

/// The first line of standard input, without its line ending (`echo pw | bluelink user add ...`).
std::string read_password_stdin() {
  std::string line;
  if (!std::getline(std::cin, line))
    throw std::invalid_argument("--password-stdin: no password on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

/// Opens the console accounts of the gateway configured in `config_file`. A database that does
/// not exist yet is created and migrated by the store's writer, exactly as the gateway would.
struct account_store {
  bl::gateway_config cfg;
  std::unique_ptr<bl::accounts> accts;
};

account_store open_accounts(const std::string& config_file, const std::string& database,
                            const char* argv0) {
  bl::schema_set schemas(bl::schema_set::locate(argv0));
  account_store s;
  s.cfg = bl::load_config(config_file, schemas);
  const auto opts = store_for(s.cfg, database);
  if (missing_file(opts)) {
    // Created private, exactly as the gateway would (0600, or 0640 to the configured group).
    bl::store::protect_file(opts.path, s.cfg.file_group, true);
    auto create = bl::store::open_writer(opts);
  } else if (opts.engine == bl::store::engine_kind::postgres) {
    // Checked to be a Bluelink store and brought up to date, exactly as the gateway would.
    auto create = bl::store::open_writer(opts);
  }
  s.accts = std::make_unique<bl::accounts>(s.cfg, bl::store::open_account_store(opts));
  return s;
}

struct user_options {
  std::string config_file, database, username, name, role_text, agency;
  bool password_stdin = false;
  bool generate = false;
};

/// The password the options ask for; a generated one is printed once, here, and nowhere else.
std::string chosen_password(const user_options& o) {
  if (o.password_stdin == o.generate)
    throw std::invalid_argument("give exactly one of --password-stdin and --generate");
  if (o.password_stdin) return read_password_stdin();
  return generate_password();
}

int user_add(const user_options& o, const char* argv0) {
  auto r = bl::role_from(o.role_text);
  if (!r)
    throw std::invalid_argument(
        "--role must be operator, supervisor, manager, admin or dpo, not '" + o.role_text + "'");
  const auto password = chosen_password(o);
  auto s = open_accounts(o.config_file, o.database, argv0);
  s.accts->add_user(o.username, o.name, *r, o.agency, password);
  const std::string for_agency = o.agency.empty() ? std::string() : " for " + o.agency;
  std::printf("added %s user %s%s\n", std::string(bl::to_string(*r)).c_str(), o.username.c_str(),
              for_agency.c_str());
  if (o.generate) std::printf("password (shown once, not stored anywhere): %s\n", password.c_str());
  return 0;
}

int user_passwd(const user_options& o, const char* argv0) {
  const auto password = chosen_password(o);
  auto s = open_accounts(o.config_file, o.database, argv0);
  s.accts->set_password(o.username, password);
  std::printf("changed the password of %s and ended its sessions\n", o.username.c_str());
  if (o.generate) std::printf("password (shown once, not stored anywhere): %s\n", password.c_str());
  return 0;
}

int user_set_disabled(const user_options& o, bool disabled, const char* argv0) {
  auto s = open_accounts(o.config_file, o.database, argv0);
  s.accts->set_disabled(o.username, disabled);
  std::printf(disabled ? "disabled %s and ended its sessions\n" : "enabled %s\n",
              o.username.c_str());
  return 0;
}

int user_list(const user_options& o, const char* argv0) {
  auto s = open_accounts(o.config_file, o.database, argv0);
  auto users = s.accts->list_users();
  std::printf("%-24s %-28s %-10s %-18s %s\n", "USERNAME", "NAME", "ROLE", "AGENCY", "DISABLED");
  for (const auto& u : users)
    std::printf("%-24s %-28s %-10s %-18s %s\n", u.username.c_str(), u.display_name.c_str(),
                std::string(bl::to_string(u.who)).c_str(),
                u.agency.empty() ? "-" : u.agency.c_str(), u.disabled ? "yes" : "no");
  return 0;
}

// ---- telephony call records (docs/operations.md "Importing telephony call records") ----------

struct calls_options {
  std::string config_file, database, csv;
  bool dry_run = false;
  bool json_out = false;
  std::size_t show = 20;
};

/// Exit code of an import whose file could not be read at all (or whose database failed).
constexpr int exit_not_read = 1;

/// Progress on stderr: a redrawn bar on a terminal, otherwise a line at every 10%.
class import_progress_display {
 public:
  import_progress_display() : tty_(::isatty(STDERR_FILENO) == 1) {}

  void update(std::uint64_t done, std::uint64_t total, std::uint64_t rows) {
    const auto now = std::chrono::steady_clock::now();
    const int pct = total ? static_cast<int>(done * 100 / total) : 100;
    const double secs = std::chrono::duration<double>(now - started_).count();
    const double rate = secs > 0 ? static_cast<double>(rows) / secs : 0;
    if (tty_) {
      if (pct < 100 && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      const int width = 30, filled = pct * width / 100;
      const bool mb = total >= 1000000;
      const double unit = mb ? 1e6 : 1e3;
      std::fprintf(stderr, "\r[%s%s] %3d%%  %.1f of %.1f %s  %llu rows  %.0f rows/s ",
                   std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - filled), '.').c_str(), pct,
                   static_cast<double>(done) / unit, static_cast<double>(total) / unit,
                   mb ? "MB" : "kB", static_cast<unsigned long long>(rows), rate);
      drawn_ = true;
    } else {
      while (pct >= next_decile_ && next_decile_ <= 100) {
        std::fprintf(stderr, "bluelink: import %3d%%: %llu rows read, %.0f rows/s\n", next_decile_,
                     static_cast<unsigned long long>(rows), rate);
        next_decile_ += 10;
      }
    }
  }
  void finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool tty_;
  bool drawn_ = false;
  int next_decile_ = 10;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

void print_import_summary(const bl::import_summary& s, std::size_t show) {
  std::printf("%s: %zu rows read%s\n", s.file_name.c_str(), s.rows,
              s.dry_run ? " (dry run: nothing was written)" : "");
  std::printf("  imported          %zu\n", s.imported);
  std::printf("  already imported  %zu\n", s.already_imported);
  std::printf("  skipped           %zu\n", s.skipped);
  for (const auto& [kind, n] : s.skipped_by_kind) std::printf("    %-20s %zu\n", kind.c_str(), n);
  if (!s.problems.empty() && show > 0) {
    const std::size_t shown = std::min(show, s.problems.size());
    std::printf("skipped rows (%s%zu of %zu):\n", shown < s.problems.size() ? "first " : "", shown,
                s.problems.size());
    for (std::size_t i = 0; i < shown; ++i)
      std::printf("  line %-6zu %-16s %s\n", s.problems[i].line, s.problems[i].kind.c_str(),
                  s.problems[i].detail.c_str());
  }
  std::printf("file sha256 %s%s\n", s.file_sha256.c_str(),
              s.ledger_id ? (", import #" + std::to_string(s.ledger_id)).c_str() : "");
}

int calls_import(const calls_options& o, const char* argv0) {
  bl::schema_set schemas(bl::schema_set::locate(argv0));
  const auto cfg = bl::load_config(o.config_file, schemas);
  const auto store = store_for(cfg, o.database);
  import_progress_display display;
  bl::import_options opts;
  opts.dry_run = o.dry_run;
  opts.on_progress = [&](std::uint64_t done, std::uint64_t total, std::uint64_t rows) {
    display.update(done, total, rows);
  };
  bl::import_summary s;
  try {
    auto calls = bl::store::open_call_store(store);
    s = bl::import_calls_csv(cfg, *calls, o.csv, opts);
  } catch (const bl::import_file_error& e) {
    display.finish();
    std::fprintf(stderr, "bluelink: %s; nothing imported\n", e.what());
    return exit_not_read;
  } catch (const bl::store::store_error& e) {
    display.finish();
    std::fprintf(stderr,
                 "bluelink: the import stopped: %s\n(batches already committed stay; running the "
                 "same import again adds only what is missing)\n",
                 e.what());
    return exit_not_read;
  }
  display.finish();
  if (o.json_out)
    std::printf("%s\n", bl::to_json(s, o.show).dump(2).c_str());
  else
    print_import_summary(s, o.show);
  return 0;
}

int calls_imports(const calls_options& o, const char* argv0) {
  bl::schema_set schemas(bl::schema_set::locate(argv0));
  const auto cfg = bl::load_config(o.config_file, schemas);
  const auto opts = store_for(cfg, o.database);
  const auto list = bl::list_call_imports(*bl::store::open_call_store(opts));
  if (o.json_out) {
    json out = json::array();
    for (const auto& r : list)
      out.push_back({{"id", r.id},
                     {"file", r.file_name},
                     {"file_sha256", r.file_sha256},
                     {"imported_at", bl::format_rfc3339(r.imported_at)},
                     {"rows", r.rows},
                     {"imported", r.imported},
                     {"already_imported", r.already_imported},
                     {"skipped", r.skipped},
                     {"skipped_by_kind", json::parse(r.summary, nullptr, false)}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (list.empty()) {
    std::printf("no call records have been imported into %s\n", bl::store::describe(opts).c_str());
    return 0;
  }
  std::printf("%-5s %-24s %9s %9s %9s %9s  %s\n", "ID", "IMPORTED AT (UTC)", "ROWS", "IMPORTED",
              "ALREADY", "SKIPPED", "FILE");
  for (const auto& r : list)
    std::printf("%-5lld %-24s %9lld %9lld %9lld %9lld  %s\n", static_cast<long long>(r.id),
                bl::format_rfc3339(r.imported_at).c_str(), static_cast<long long>(r.rows),
                static_cast<long long>(r.imported), static_cast<long long>(r.already_imported),
                static_cast<long long>(r.skipped), r.file_name.c_str());
  return 0;
}

// The demo: three Essex control rooms with one API token and one CAD link key pair each. Tokens
// and key file names are written to credentials.json for the operator; the config holds only the
// tokens' SHA-256 digests and the CADs' public keys.
int demo_init(const fs::path& dir, int port, int cad_port, bool force, const char* argv0) {
  fs::create_directories(dir);
  auto config_path = dir / "config.json";
  auto creds_path = dir / "credentials.json";
  if (fs::exists(config_path) && fs::exists(creds_path) && !force) {
    std::printf("demo config already present in %s (use --force to regenerate)\n",
                dir.string().c_str());
    return 0;
  }
  // The go-live date stays what an earlier demo set: its call history is already imported,
  // and a history around a different date imported on top of it would count twice.
  const auto now = bl::now_ms();
  std::string go_live = bl::demo::default_go_live(now);
  if (fs::exists(config_path)) {
    auto old = json::parse(std::ifstream(config_path), nullptr, false);
    if (!old.is_discarded() && old.is_object() && old.contains("savings") &&
        old["savings"].is_object() && old["savings"].value("go_live", json()).is_string())
      go_live = old["savings"]["go_live"].get<std::string>();
  }
  const auto go_live_month = bl::year_month::parse(std::string_view(go_live).substr(0, 7));
  if (!go_live_month) {
    std::fprintf(stderr, "bluelink: the demo's savings.go_live '%s' is not a date YYYY-MM-DD\n",
                 go_live.c_str());
    return exit_bad_input;
  }
  struct agency {
    const char* id;
    const char* name;
    const char* kind;
    const char* phone;
    const char* emergency_line;  // made up, like the phones: Ofcom's drama range 01632 960xxx
    double lat, lon, radius_km;  // the area served (locations far outside it are questioned)
  };
  // Essex from Chelmsford; the ambulance service's six counties from near Bury St Edmunds.
  const agency agencies[] = {{"essex-fire", "Essex County Fire and Rescue", "fire", "01632 960001",
                              "01632 960901", 51.7356, 0.4685, 50},
                             {"essex-police", "Essex Police", "police", "01632 960002",
                              "01632 960902", 51.7356, 0.4685, 50},
                             {"eeast-ambulance", "East of England Ambulance", "ambulance",
                              "01632 960003", "01632 960903", 52.25, 0.7, 130}};
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
          {"default_expiry_s", 86400}}}}},
      // The console's files sit beside schemas/ in the source tree (and in an installed share/).
      {"console",
       {{"dir", fs::absolute(bl::schema_set::locate(argv0).parent_path() / "console").string()}}}};
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
  // For `bluelink calls import tools/samples/telephony-sample.csv`: the sample's column names and
  // each room's two lines.
  cfg["call_import"] = {{"columns",
                         {{"caller", "Calling Number"},
                          {"called", "Dialled Number"},
                          {"start", "Start Time"},
                          {"duration", "Duration"},
                          {"id", "Call ID"}}},
                        {"date_order", "dmy"},
                        {"time_zone", "Europe/London"},
                        {"numbers", json::array()}};
  // A year of calls before go-live and the months since (imported below), so that the
  // manager's first report has a baseline and a before/after comparison.
  cfg["savings"] = {{"go_live", go_live}};
  // Retention periods of the kind a DPIA would set (docs/data-protection.md): a year of transfer
  // content, two years of call notes (the calls themselves stay for the report), 90 days of
  // sign-in records.
  cfg["retention"] = {{"transfers_days", 365}, {"calls_days", 730}, {"logs_days", 90}};
  creds["cad_link"] = {{"endpoint", endpoint},
                       {"server_public_key", gateway_key.public_key},
                       {"keys", json::object()}};
  // The UCRI2 Client API (docs/protocols/ucri2.md): every room has an address (OID; 2.25 is the
  // UUID-based arc, so these stand for no real organisation) and may connect a UCRI2 client
  // with its OID as client id and its API token as secret.
  const std::string ucri2_oid = "2.25.329800735698586629295641978511506172918";
  cfg["ucri2"] = {{"oid", ucri2_oid}, {"participants", json::array()}};
  creds["ucri2"] = {{"base_url", "http://127.0.0.1:" + std::to_string(port) + "/ucri2"},
                    {"client_ids", json::object()}};
  for (std::size_t i = 0; i < std::size(agencies); ++i) {
    const std::string oid = ucri2_oid + "." + std::to_string(i + 1);
    cfg["ucri2"]["participants"].push_back(
        {{"agency", agencies[i].id}, {"oid", oid}, {"client", true}});
    creds["ucri2"]["client_ids"][agencies[i].id] = oid;
  }
  for (const auto& a : agencies) {
    auto cad_key = generate_key_pair();
    auto cad_key_file = dir / ("cad-" + std::string(a.id) + ".key");
    write_atomically(cad_key_file, key_file_text(cad_key), owner_only);
    cfg["cad_link"]["clients"].push_back(
        {{"agency", a.id}, {"public_key", cad_key.public_key}, {"label", "demo CAD"}});
    creds["cad_link"]["keys"][a.id] = cad_key_file.string();

    auto token = bl::token_auth::generate();
    cfg["agencies"].push_back(
        {{"id", a.id},
         {"name", a.name},
         {"kind", a.kind},
         {"phone", a.phone},
         {"cost_per_call_pence", 400},
         {"area", {{"centre", {{"lat", a.lat}, {"lon", a.lon}}}, {"radius_km", a.radius_km}}}});
    cfg["call_import"]["numbers"].push_back(
        {{"number", a.phone}, {"agency", a.id}, {"label", "control room"}});
    cfg["call_import"]["numbers"].push_back({{"number", a.emergency_line},
                                             {"agency", a.id},
                                             {"emergency", true},
                                             {"label", "emergency line"}});
    cfg["tokens"].push_back(
        {{"agency", a.id}, {"sha256", bl::token_auth::digest(token)}, {"label", "demo"}});
    creds["agencies"].push_back({{"agency", a.id}, {"name", a.name}, {"api_token", token}});
  }
  std::ofstream(config_path) << cfg.dump(2) << '\n';

  // Console users: an operator per control room, a Fire supervisor, Police's data-protection
  // officer, a manager and an admin.
  // Regenerating (--force) gives existing demo users new passwords and enables them again.
  struct demo_user {
    const char* username;
    const char* name;
    bl::role who;
    const char* agency;
  };
  const demo_user users[] = {
      {"fire.operator", "Fire Operator", bl::role::operator_role, "essex-fire"},
      {"fire.supervisor", "Fire Supervisor", bl::role::supervisor, "essex-fire"},
      {"police.operator", "Police Operator", bl::role::operator_role, "essex-police"},
      {"ambulance.operator", "Ambulance Operator", bl::role::operator_role, "eeast-ambulance"},
      {"police.dpo", "Police Data Protection Officer", bl::role::dpo, "essex-police"},
      {"manager", "Service Manager", bl::role::manager, ""},
      {"admin", "Gateway Admin", bl::role::admin, ""}};
  const auto gateway_cfg = bl::config_from_json(cfg);
  const std::string db_path = (dir / "bluelink.db").string();
  {
    // Creates and migrates the database (or brings an older demo's up to date), then closes.
    bl::store::protect_file(db_path, gateway_cfg.file_group, true);
    auto create = bl::store::open_writer(
        bl::store::store_options{db_path, true, gateway_cfg.busy_timeout_ms, {}});
  }
  bl::accounts accts(gateway_cfg, bl::store::open_account_store(store_at(gateway_cfg, db_path)));
  std::set<std::string> existing;
  for (const auto& u : accts.list_users()) existing.insert(u.username);
  creds["console"] = "http://127.0.0.1:" + std::to_string(port) + "/";
  creds["users"] = json::array();
  for (const auto& u : users) {
    auto password = generate_password();
    if (existing.count(u.username)) {
      accts.set_password(u.username, password);
      accts.set_disabled(u.username, false);
    } else {
      accts.add_user(u.username, u.name, u.who, u.agency, password);
    }
    creds["users"].push_back({{"username", u.username},
                              {"name", u.name},
                              {"role", bl::to_string(u.who)},
                              {"agency", *u.agency ? json(u.agency) : json()},
                              {"password", password}});
  }

  // The telephony history, through the same import as a site's own export.
  const auto history_path = dir / "telephony-history.csv";
  std::ofstream(history_path, std::ios::binary)
      << bl::demo::history_csv(bl::demo::essex_directions(), *go_live_month, now);
  const auto history =
      bl::import_calls_csv(gateway_cfg, *bl::store::open_call_store(store_at(gateway_cfg, db_path)),
                           history_path.string());
  if (history.skipped != 0) {
    std::fprintf(stderr, "bluelink: %zu of the demo's %zu history calls were not imported\n",
                 history.skipped, history.rows);
    return exit_bad_input;
  }

  std::ofstream(creds_path) << creds.dump(2) << '\n';
  fs::permissions(creds_path, fs::perms::owner_read | fs::perms::owner_write);
  std::printf("wrote %s and %s\n", config_path.string().c_str(), creds_path.string().c_str());
  std::printf("console users (passwords also in %s):\n", creds_path.string().c_str());
  for (const auto& u : creds["users"])
    std::printf("  %-20s %-11s %s\n", u["username"].get<std::string>().c_str(),
                u["role"].get<std::string>().c_str(), u["password"].get<std::string>().c_str());
  std::printf("CAD link on %s: gateway key %s, one CAD key per agency beside it\n",
              endpoint.c_str(), gateway_key_file.string().c_str());
  std::printf("call history: %zu calls imported from %s (%zu already there); go-live %s\n",
              history.imported, history_path.string().c_str(), history.already_imported,
              go_live.c_str());
  return 0;
}

// A fresh, schema-valid request (now-stamped, unique id) for trying the API by hand.
json demo_request(const std::string& from, const std::string& to) {
  return bl::samples::a12_rtc_request(from + ":demo-" + bl::token_auth::generate().substr(4, 16),
                                      from, to);
}

// `bluelink translate`: bluelink | cap | edxl-de | eido | ucri2 in, bluelink | cap | edxl-de |
// eido | ucri2 | methane-text out, always through the canonical message. Exit 0, 1 for an invalid
// document (the specific error on stderr), 2 for usage. UCRI2 names participants by OID, so it
// needs --config for the gateway's ucri2 directory.
struct translate_options {
  std::string from, to, file = "-", schemas, config_file, as_agency, for_agency;
};

// The partner side of a translation: --as is the agency the document is from, as a link's token
// would say; --config maps the partner's own identities (partners[]) and gives its default
// recipient; --for overrides the recipient.
std::variant<bl::adapters::partner_context, std::string> partner_context_for(
    const translate_options& o, const bl::gateway_config* cfg) {
  bl::adapters::partner_context ctx;
  ctx.as_agency = o.as_agency;
  if (cfg) {
    if (!o.as_agency.empty() && !cfg->find_agency(o.as_agency))
      return "--as " + o.as_agency + " is not an agency in " + o.config_file;
    if (!o.for_agency.empty() && !cfg->find_agency(o.for_agency))
      return "--for " + o.for_agency + " is not an agency in " + o.config_file;
    ctx = bl::adapters::partner_context_of(*cfg, o.as_agency);
  }
  ctx.default_to = o.for_agency;
  return ctx;
}

// Whether a JSON document is the flat EDXL-DE 2.0 envelope of the French health hub (read with
// the same bounds as any envelope; anything unreadable goes to edxl_unwrap for its error).
bool hub_envelope(const std::string& input) {
  json doc;
  return !bl::adapters::read_envelope_json(input, doc) && bl::adapters::is_hub_envelope(doc);
}

int translate(const translate_options& o, const char* argv0) {
  std::string input;
  if (o.file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    input = ss.str();
  } else {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "bluelink: cannot read %s\n", o.file.c_str());
      return exit_bad_input;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    input = ss.str();
  }
  bl::schema_set schemas(o.schemas.empty() ? bl::schema_set::locate(argv0) : fs::path(o.schemas));
  auto invalid = [](const bl::adapters::translate_error& e) {
    std::fprintf(stderr, "bluelink: invalid document: %s: %s\n", e.code.c_str(), e.message.c_str());
    return 1;
  };
  const bool ucri2 = o.from == "ucri2" || o.to == "ucri2";
  if (ucri2 && o.config_file.empty()) {
    std::fprintf(stderr,
                 "bluelink: translating UCRI2 needs --config gateway.json: UCRI2 names "
                 "participants by OID, and the config's ucri2 section says which agency each is\n");
    return 2;
  }
  bl::gateway_config cfg;
  bl::adapters::ucri2::directory dir;
  if (!o.config_file.empty()) cfg = bl::load_config(o.config_file, schemas);
  if (ucri2) {
    if (!cfg.ucri2.enabled) {
      std::fprintf(stderr, "bluelink: %s has no ucri2 section, so it names no UCRI2 participants\n",
                   o.config_file.c_str());
      return 2;
    }
    dir = bl::adapters::ucri2::make_directory(cfg);
  }
  auto invalid_ucri2 = [](const bl::adapters::ucri2::ucri2_error& e) {
    std::fprintf(stderr, "bluelink: invalid document: %s (UCRI2 %d): %s%s%s\n", e.bl_code.c_str(),
                 static_cast<int>(e.code), e.message.c_str(), e.pointer.empty() ? "" : " at ",
                 e.pointer.c_str());
    return 1;
  };
  // Who a partner's document is from and where it goes (--as, --for, the config's partners).
  auto pc = partner_context_for(o, o.config_file.empty() ? nullptr : &cfg);
  if (auto* e = std::get_if<std::string>(&pc)) {
    std::fprintf(stderr, "bluelink: %s\n", e->c_str());
    return 2;
  }
  const auto& partner = std::get<bl::adapters::partner_context>(pc);
  json msg;
  std::string cap_xml;  // the CAP document as given, kept when it is wrapped again
  if (o.from == "ucri2") {
    // A UCRI2 send request (the body of POST /ucri2/messaging/send).
    auto r = bl::adapters::ucri2::parse_send_request(input, schemas);
    if (auto* e = std::get_if<bl::adapters::ucri2::ucri2_error>(&r)) return invalid_ucri2(*e);
    auto req = std::get<bl::adapters::ucri2::send_request>(std::move(r));
    // Offline there is no gateway to number the message: a stable id from the document itself.
    if (req.message_id.empty()) {
      std::string h = bl::sha256_hex(input);
      req.message_id = h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-8" +
                       h.substr(17, 3) + "-" + h.substr(20, 12);
    }
    bl::adapters::ucri2::inbound_context ctx;
    ctx.from = dir.by_oid(req.source);
    ctx.to = dir.by_oid(req.destination);
    ctx.now = req.sent_date.value_or(bl::now_ms());
    if (!ctx.from || !ctx.to)
      return invalid(
          {"bl.ucri2.unknown_destination", "'" + (ctx.from ? req.destination : req.source) +
                                               "' is not a UCRI2 participant in " + o.config_file});
    auto m = bl::adapters::ucri2::to_canonical(req, ctx);
    if (auto* e = std::get_if<bl::adapters::ucri2::ucri2_error>(&m)) return invalid_ucri2(*e);
    msg = std::get<json>(std::move(m));
    if (auto e = bl::adapters::check_message(msg, schemas)) return invalid(*e);
  } else if (o.from == "bluelink") {
    if (input.size() > bl::adapters::edxl_max_bytes)
      return invalid({"bl.request.too_large", "document is larger than 1 MiB"});
    bl::json_limits limits;
    limits.max_bytes = bl::adapters::edxl_max_bytes;
    if (auto e = bl::parse_json_bounded(input, msg, limits, "the document"))
      return invalid({std::string(e->id()), e->code == bl::errc::malformed_json
                                                ? std::string("not well-formed JSON")
                                                : e->message});
    if (auto e = bl::adapters::check_message(msg, schemas)) return invalid(*e);
  } else if (o.from == "cap") {
    auto r = bl::adapters::cap_import(input, schemas, partner);

    if (auto* e = std::get_if<bl::adapters::translate_error>(&r)) return invalid(*e);
    msg = std::get<json>(r);
    cap_xml = input;
  } else if (o.from == "eido") {
    // --as is the authenticated sender (its identities checked against the config's
    // partners[].eido_ids); --for, or the partner's default_to, the recipient.
    bl::adapters::eido_import_context ctx;
    ctx.from = partner.as_agency;
    ctx.partner = &partner;
    auto r = bl::adapters::eido_import(input, schemas, ctx);
    if (auto* e = std::get_if<bl::adapters::translate_error>(&r)) return invalid(*e);
    msg = std::get<json>(r);
  } else if (bl::adapters::looks_like_xml(input) || hub_envelope(input)) {
    // EDXL-DE 1.0 XML, or 2.0 JSON as the French health hub sends it: every content object by
    // its position, carried or refused.
    bl::adapters::xml_limits limits;
    limits.max_bytes = bl::adapters::edxl_max_bytes;
    auto r = bl::adapters::looks_like_xml(input)
                 ? bl::adapters::edxl10_unwrap(input, schemas, partner, limits)
                 : bl::adapters::hub_unwrap(input, schemas, partner);
    if (auto* e = std::get_if<bl::adapters::translate_error>(&r)) return invalid(*e);
    const auto& dist = std::get<bl::adapters::edxl_distribution>(r);
    std::vector<json> carried;
    for (const auto& item : dist.items) {
      if (const auto* e = std::get_if<bl::adapters::translate_error>(&item.result))
        std::fprintf(stderr, "bluelink: refused: %s: %s\n", e->code.c_str(), e->message.c_str());
      else
        carried.push_back(std::get<json>(item.result));
    }
    const int status = carried.size() == dist.items.size() ? 0 : 1;
    if (carried.size() != 1 || status != 0) {
      // Several messages (or some refused): the canonical messages as one JSON array, or their
      // M/ETHANE texts one after another; other formats take one message at a time.
      if (o.to == "bluelink") {
        std::printf("%s\n", json(carried).dump(2).c_str());
      } else if (o.to == "methane-text") {
        for (std::size_t i = 0; i < carried.size(); ++i)
          std::printf("%s%s", i ? "\n========================================\n\n" : "",
                      bl::adapters::methane_text(carried[i]).c_str());
      } else {
        std::fprintf(stderr,
                     "bluelink: the envelope holds %zu content objects (%zu carried); translate "
                     "it --to bluelink or --to methane-text\n",
                     dist.items.size(), carried.size());
        return 2;
      }
      std::fprintf(stderr, "bluelink: %zu of %zu content objects carried\n", carried.size(),
                   dist.items.size());
      return status;
    }
    msg = carried.front();
  } else {
    auto r = bl::adapters::edxl_unwrap(input, schemas);
    if (auto* e = std::get_if<bl::adapters::translate_error>(&r)) return invalid(*e);
    msg = std::get<bl::adapters::edxl_content>(r).message;
    cap_xml = std::get<bl::adapters::edxl_content>(r).cap_xml;
  }
  if (o.to == "bluelink") {
    std::printf("%s\n", msg.dump(2).c_str());
  } else if (o.to == "cap") {
    auto r = bl::adapters::cap_export(msg);
    if (auto* e = std::get_if<bl::adapters::translate_error>(&r)) return invalid(*e);
    std::fputs(std::get<std::string>(r).c_str(), stdout);
  } else if (o.to == "edxl-de") {
    auto env =
        cap_xml.empty() ? bl::adapters::edxl_wrap(msg) : bl::adapters::edxl_wrap_cap(cap_xml, msg);
    std::printf("%s\n", env.dump(2).c_str());
  } else if (o.to == "ucri2") {
    // What the first recipient's UCRI2 client would receive (a receiverResponseItem).
    bl::adapters::ucri2::outbound_context ctx;
    ctx.dir = &dir;
    ctx.recipient = msg.contains("to") && msg["to"].is_array() && !msg["to"].empty()
                        ? msg["to"][0].get<std::string>()
                        : std::string();
    const auto* p = dir.by_agency(ctx.recipient);
    if (!p)
      return invalid({"bl.ucri2.unknown_destination",
                      "'" + ctx.recipient + "' has no UCRI2 OID in " + o.config_file});
    // Offline there is no transfer yet: the message id stands in for the transfer id the
    // gateway would assign, so the derived sharedIncidentId is stable and this message's own.
    json stored = msg;
    if (!stored.contains("transfer_id")) stored["transfer_id"] = msg.value("id", std::string());
    auto item = bl::adapters::ucri2::from_canonical(stored, ctx);
    if (!item)
      return invalid({"bl.ucri2.not_conveyed", "a " + msg.value("type", std::string()) +
                                                   " is not conveyed to a UCRI2 client"});
    (*item)["destination"] = p->oid;
    std::printf("%s\n", item->dump(2).c_str());
  } else if (o.to == "eido") {
    auto r = bl::adapters::eido_export(msg);
    if (auto* e = std::get_if<bl::adapters::translate_error>(&r)) return invalid(*e);
    std::printf("%s\n", std::get<json>(r).dump(2).c_str());
  } else {
    std::fputs(bl::adapters::methane_text(msg).c_str(), stdout);
  }
  return 0;
}

// ---- the savings report (docs/operations.md "Savings report") --------------------------------

struct report_options {
  std::string config_file, database, from, to, format = "html", out;
};

int savings_report_cmd(const report_options& o, const char* argv0) {
  auto month = [](const std::string& opt, const std::string& v) {
    auto m = bl::year_month::parse(v);
    if (!m)
      throw std::invalid_argument(opt + " must be a month written YYYY-MM, such as 2026-04, not '" +
                                  v + "'");
    return *m;
  };
  bl::year_month current = bl::uk_month_of(bl::now_ms());
  bl::year_month to = o.to.empty() ? current : month("--to", o.to);
  bl::year_month from = o.from.empty() ? to.plus(-11) : month("--from", o.from);
  if (to < from) throw std::invalid_argument("--from " + from.str() + " is after --to " + to.str());
  bl::schema_set schemas(bl::schema_set::locate(argv0));
  auto cfg = bl::load_config(o.config_file, schemas);
  const auto opts = store_for(cfg, o.database);
  if (missing_file(opts)) {
    std::fprintf(stderr, "bluelink: no database at %s\n", opts.path.c_str());
    return 2;
  }
  auto r = bl::compute_savings(cfg, *bl::store::open_report_store(opts), from, to);
  std::string text = o.format == "json"  ? bl::to_json(r).dump(2) + "\n"
                     : o.format == "csv" ? bl::to_csv(r)
                                         : bl::to_html(r);
  if (o.out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + o.out);
  std::fprintf(stderr, "wrote the savings report for %s to %s to %s\n", from.str().c_str(),
               to.str().c_str(), o.out.c_str());
  return 0;
}

// ---- bluelink store copy (docs/operations.md "Moving up from SQLite to PostgreSQL") ----------

struct store_copy_cli {
  std::string from, to;
  password_cli password;
};

/// Exit codes of `bluelink store copy`: 0 done, 2 usage or config, 3 store (unreachable,
/// foreign, in use, not empty, failed on the way: nothing committed), 4 verification failed.
constexpr int exit_store_error = 3;
constexpr int exit_not_verified = 4;

/// The PostgreSQL database of a `postgres:CONNINFO` argument, with the password from
/// --password-file or --password-env. Returns 0, or exit_bad_input after saying why on stderr.
int postgres_target(const std::string& option, const std::string& spec, const password_cli& pw,
                    bl::store::store_options& out) {
  if (spec.rfind("postgres:", 0) != 0 || spec.size() == 9) {
    std::fprintf(stderr,
                 "bluelink: %s takes postgres:CONNINFO (e.g. postgres:host=db1 dbname=bluelink "
                 "user=bluelink)\n",
                 option.c_str());
    return exit_bad_input;
  }
  out = bl::store::store_options{};
  out.engine = bl::store::engine_kind::postgres;
  out.path.clear();
  out.conninfo = spec.substr(9);
  // On the command line a password would be in every process listing and shell history.
  if (bl::conninfo_has_password(out.conninfo)) {
    std::fprintf(stderr,
                 "bluelink: the conninfo holds a password; give it with --password-file or "
                 "--password-env instead\n");
    return exit_bad_input;
  }
  try {
    out.password = bl::store::read_database_password(pw.file, pw.env);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "bluelink: %s\n", e.what());
    return exit_bad_input;
  }
  return 0;
}

int store_copy(const store_copy_cli& o) {
  if (o.from.rfind("sqlite:", 0) != 0 || o.from.size() == 7) {
    std::fprintf(stderr, "bluelink: --from takes sqlite:FILE (the stopped gateway's database)\n");
    return exit_bad_input;
  }
  bl::store::store_options target;
  if (int rc = postgres_target("--to", o.to, o.password, target)) return rc;

  bl::store::copy_options co;
  co.sqlite_path = o.from.substr(7);
  co.pg_conninfo = bl::store::postgres_connection_string(target);
  std::fprintf(stderr, "copying sqlite:%s to %s\n", co.sqlite_path.c_str(),
               bl::store::describe(target).c_str());
  // A line per table when it is done, and one every two seconds in between: lines rather than a
  // bar, so that a log of the run (or a pipe) shows the same as a terminal.
  auto last_line = std::chrono::steady_clock::now();
  co.progress = [&](const bl::store::copy_progress& p) {
    auto now = std::chrono::steady_clock::now();
    if (!p.finished && now - last_line < std::chrono::seconds(2)) return;
    last_line = now;
    double rate = p.seconds > 0 ? static_cast<double>(p.done) / p.seconds : 0;
    std::fprintf(stderr, "  %-22s %10lld / %-10lld rows %5.1f s %9.0f rows/s%s\n", p.table.c_str(),
                 static_cast<long long>(p.done), static_cast<long long>(p.total), p.seconds, rate,
                 p.finished ? "  done" : "");
  };
  try {
    auto sum = bl::store::copy_sqlite_to_postgres(co);
    std::printf("store copy done: %lld rows in %zu tables in %.1f s (%.0f rows/s)\n",
                static_cast<long long>(sum.rows), sum.tables.size(), sum.seconds,
                sum.seconds > 0 ? static_cast<double>(sum.rows) / sum.seconds : 0.0);
    std::printf("source: SQLite schema version %d; target: PostgreSQL schema version %d\n",
                sum.source_schema, sum.target_schema);
    for (const auto& t : sum.tables)
      std::printf("  %-18s %10lld rows  (source %lld, target %lld)\n", t.table.c_str(),
                  static_cast<long long>(t.target_rows), static_cast<long long>(t.source_rows),
                  static_cast<long long>(t.target_rows));
    std::printf(
        "verified: row counts equal in every table; audit chain verified on the target "
        "(%lld rows, last hash %s)\n",
        static_cast<long long>(sum.audit_rows), sum.audit_tail_hash.c_str());
    for (const auto& n : sum.notes) std::printf("note: %s\n", n.c_str());
    return 0;
  } catch (const bl::store::copy_verification_failed& e) {
    std::fprintf(stderr,
                 "bluelink: store copy NOT verified: %s; nothing was committed, the target is "
                 "still empty\n",
                 e.what());
    return exit_not_verified;
  } catch (const bl::store::store_error& e) {
    std::fprintf(stderr, "bluelink: store copy failed (%s): %s\n",
                 std::string(bl::store::fault_name(e.kind())).c_str(), e.what());
    return exit_store_error;
  }
}

struct store_migrate_cli {
  std::string store, grant;
  password_cli password;
};

/// `bluelink store migrate`: the owner role brings a PostgreSQL store's schema to this binary's
/// version and, with --grant, gives the gateway's role its row rights. Exit codes: 0 done, 2
/// usage, 3 the store (unreachable, foreign, newer, no such role).
int store_migrate(const store_migrate_cli& o) {
  bl::store::store_options target;
  if (int rc = postgres_target("--store", o.store, o.password, target)) return rc;
  try {
    auto sum = bl::store::migrate_postgres(target, o.grant);
    if (sum.from_version == sum.to_version)
      std::printf("schema already at version %d (%s)\n", sum.to_version,
                  bl::store::describe(target).c_str());
    else
      std::printf("schema migrated from version %d to %d (%s)\n", sum.from_version, sum.to_version,
                  bl::store::describe(target).c_str());
    if (!o.grant.empty()) {
      std::printf("role %s now has the gateway's rights and no more:\n", o.grant.c_str());
      for (const auto& g : sum.grants) std::printf("  %s\n", g.c_str());
    }
    return 0;
  } catch (const bl::store::store_error& e) {
    std::fprintf(stderr, "bluelink: %s: %s\n", bl::store::describe(target).c_str(), e.what());
    return exit_store_error;
  }
}

/// The store named by --database, --store or --config (exactly one), for `what` ("audit
/// verify"); 0, or the exit code after saying what is wrong.
int store_of(const audit_verify_cli& o, const char* argv0, const char* what,
             bl::store::store_options& opts) {
  const int given = !o.database.empty() + !o.store.empty() + !o.config_file.empty();
  if (given != 1) {
    std::fprintf(stderr,
                 "bluelink: %s needs exactly one of --database FILE, --store "
                 "sqlite:FILE|postgres:CONNINFO or --config gateway.json\n",
                 what);
    return exit_bad_input;
  }
  if (o.password.given() && o.store.rfind("postgres:", 0) != 0) {
    std::fprintf(stderr,
                 "bluelink: --password-file and --password-env go with --store "
                 "postgres:CONNINFO (with --config the config names the password)\n");
    return exit_bad_input;
  }
  if (!o.database.empty()) {
    opts = bl::store::store_options{o.database, true, 5000, {}};
  } else if (o.store.rfind("sqlite:", 0) == 0 && o.store.size() > 7) {
    opts = bl::store::store_options{o.store.substr(7), true, 5000, {}};
  } else if (!o.store.empty()) {
    if (o.store.rfind("postgres:", 0) != 0) {
      std::fprintf(stderr, "bluelink: --store takes sqlite:FILE or postgres:CONNINFO\n");
      return exit_bad_input;
    }
    if (int rc = postgres_target("--store", o.store, o.password, opts)) return rc;
  } else {
    bl::schema_set schemas(bl::schema_set::locate(argv0));
    opts = bl::store::options_for(bl::load_config(o.config_file, schemas));
  }
  if (missing_file(opts)) {
    std::fprintf(stderr, "bluelink: no database at %s\n", opts.path.c_str());
    return exit_bad_input;
  }
  return 0;
}

/// `bluelink audit verify`: recomputes the audit hash chain, and the access log
/// against it, of the store named by --database
/// (an SQLite file), --store (sqlite:FILE or postgres:CONNINFO) or --config (the gateway's own
/// store, on either engine). Exit codes: 0 verified, 1 the chain is broken, 2 usage or no such
/// database, 3 the store could not be opened or read.
int audit_verify(const audit_verify_cli& o, const char* argv0) {
  bl::store::store_options opts;
  if (int rc = store_of(o, argv0, "audit verify", opts)) return rc;
  bl::store::audit_report rep;
  try {
    rep = bl::store::open_reader(opts)->verify_audit();
  } catch (const bl::store::store_error& e) {
    std::fprintf(stderr, "bluelink: %s: %s\n", bl::store::describe(opts).c_str(), e.what());
    return exit_store_error;
  }
  if (!rep.ok) {
    std::printf("audit chain BROKEN after %lld rows: %s\n", static_cast<long long>(rep.rows),
                rep.problem.c_str());
    return 1;
  }
  std::printf(
      "audit chain verified: %lld rows, every hash matches, the access log matches its rows "
      "(%s)\n",
      static_cast<long long>(rep.rows), bl::store::describe(opts).c_str());
  return 0;
}

struct purge_cli {
  std::string config_file;
  bool dry_run = false;
  std::string as_of;
  int batch = 0;
};

struct hold_cli {
  std::string config_file;
  std::string transfer;
  std::string reason;
};

struct subject_cli {
  std::string config_file;
  std::string agency;
  std::string reference;
  std::vector<std::string> terms;  // kind=value
  std::string since, until;
};

struct access_query_cli {
  audit_verify_cli store;
  std::string agency, transfer, user, operation, since, until, format = "csv";
  std::int64_t before = 0;
  int limit = 500;
};

/// The name of whoever runs the CLI, for the access log ("cli:<name>").
std::string cli_actor() {
  if (const char* u = std::getenv("SUDO_USER"); u && *u) return std::string("cli:") + u;
  if (const char* u = std::getenv("USER"); u && *u) return std::string("cli:") + u;
  return "cli:uid-" + std::to_string(::getuid());
}

/// `bluelink access-log query`: the personal-data access log (DPA 2018 s.62) of the store named
/// as for audit verify, filtered as GET /api/v1/access-log filters it, newest first, as CSV or
/// JSON lines on stdout. The query is itself logged (actor cli:<user>) before anything is
/// printed. Exit codes: 0 printed, 2 a bad option, 3 the store could not be read or written.
int access_log_query(const access_query_cli& o, const char* argv0) {
  bl::store::store_options opts;
  if (int rc = store_of(o.store, argv0, "access-log query", opts)) return rc;
  std::map<std::string, std::string> q;
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) q[k] = v;
  };
  put("transfer", o.transfer);
  put("user", o.user);
  put("operation", o.operation);
  put("since", o.since);
  put("until", o.until);
  if (o.before > 0) q["before"] = std::to_string(o.before);
  q["limit"] = std::to_string(o.limit);
  auto parsed = bl::access_filter_from(q);
  if (auto* e = std::get_if<bl::error>(&parsed)) {
    std::fprintf(stderr, "bluelink: --%s: %s\n", e->pointer.c_str(), e->message.c_str());
    return exit_bad_input;
  }
  if (o.format != "csv" && o.format != "json") {
    std::fprintf(stderr, "bluelink: --format must be csv or json\n");
    return exit_bad_input;
  }
  auto f = std::get<bl::store::access_filter>(parsed);
  if (!o.agency.empty()) {
    const bool id_like =
        o.agency.size() <= 63 && std::all_of(o.agency.begin(), o.agency.end(), [](unsigned char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
    if (!id_like) {
      std::fprintf(stderr, "bluelink: --agency must be an agency id (a-z, 0-9 and -)\n");
      return exit_bad_input;
    }
    f.agency = o.agency;
  }
  std::vector<bl::store::access_entry> entries;
  try {
    auto writer = bl::store::open_writer(opts);
    entries = bl::store::open_reader(opts)->access_log(f);
    bl::store::access_entry self;
    self.at = bl::now_ms();
    self.operation = "consult";
    self.agency = o.agency;
    self.actor = cli_actor();
    self.actor_kind = "cli";
    self.channel = "cli";
    self.object = "access_log";
    self.ref = bl::access_query_ref(f, o.format == "csv");
    self.justification = "access-log query (self-monitoring, DPA 2018 s.62(4))";
    in_transaction(*writer, [&] { writer->access(self); });
  } catch (const bl::store::store_error& e) {
    std::fprintf(stderr, "bluelink: %s: %s\n", bl::store::describe(opts).c_str(), e.what());
    return exit_store_error;
  }
  if (o.format == "csv") {
    std::fputs(bl::access_csv(entries).c_str(), stdout);
  } else {
    for (const auto& e : entries) std::printf("%s\n", bl::access_entry_json(e).dump().c_str());
  }
  std::string more = entries.size() == static_cast<std::size_t>(o.limit)
                         ? " (the limit: ask for the next page with --before " +
                               std::to_string(entries.back().seq) + ")"
                         : std::string();
  std::fprintf(stderr, "bluelink: %zu access-log entries%s\n", entries.size(), more.c_str());
  return 0;
}

/// The gateway's config and store for a retention command: 0, or the exit code after saying why.
int retention_target(const std::string& config_file, const char* argv0, const char* what,
                     bl::gateway_config& cfg, bl::store::store_options& opts) {
  if (config_file.empty()) {
    std::fprintf(stderr, "bluelink: %s needs --config gateway.json (its store and periods)\n",
                 what);
    return exit_bad_input;
  }
  bl::schema_set schemas(bl::schema_set::locate(argv0));
  cfg = bl::load_config(config_file, schemas);
  opts = bl::store::options_for(cfg);
  if (missing_file(opts)) {
    std::fprintf(stderr, "bluelink: no database at %s\n", opts.path.c_str());
    return exit_bad_input;
  }
  return 0;
}

/// `bluelink purge`: removes the personal content past its retention period (the gateway's own
/// schedule does the same), a batch a transaction, printing progress; with --dry-run, only says
/// what would go (as of --as-of, for planning). Exit codes: 0 done, 2 a bad option, 3 the store
/// failed (what was purged before stays purged: each batch is a transaction).
/// `bluelink subject search`: what one agency holds about one person, as the console's Subject
/// access search finds it (docs/data-protection.md), as JSON on stdout; progress on stderr. The
/// search and each transfer and call found are logged (actor cli:<user>) before anything is
/// printed. Exit codes: 0 printed, 2 a bad option, 3 the store could not be read or written.
int subject_search_command(const subject_cli& o, const char* argv0) {
  bl::gateway_config cfg;
  bl::store::store_options opts;
  if (int rc = retention_target(o.config_file, argv0, "subject search", cfg, opts)) return rc;
  if (o.reference.size() < 3 || o.reference.size() > 100) {
    std::fprintf(stderr, "bluelink: --reference (the request's, 3 to 100 characters) is needed\n");
    return exit_bad_input;
  }
  nlohmann::json body = {{"agency", o.agency}, {"terms", nlohmann::json::array()}};
  for (const auto& t : o.terms) {
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      std::fprintf(
          stderr, "bluelink: --term is kind=value (name, phone, date_of_birth or text), not '%s'\n",
          t.c_str());
      return exit_bad_input;
    }
    body["terms"].push_back({{"kind", t.substr(0, eq)}, {"value", t.substr(eq + 1)}});
  }
  if (!o.since.empty()) body["since"] = o.since;
  if (!o.until.empty()) body["until"] = o.until;
  if (body["terms"].empty()) {
    std::fprintf(stderr, "bluelink: give at least one --term kind=value\n");
    return exit_bad_input;
  }
  auto parsed = bl::subject_query_from(body, "", cfg, bl::now_ms());
  if (auto* e = std::get_if<bl::error>(&parsed)) {
    std::fprintf(stderr, "bluelink: %s\n", e->message.c_str());
    return exit_bad_input;
  }
  const auto q = std::get<bl::subject_query>(std::move(parsed));
  bl::subject_result found;
  try {
    auto last = std::chrono::steady_clock::now();
    found =
        bl::search_subject(*bl::store::open_reader(opts), q, [&](const bl::subject_progress& p) {
          auto t = std::chrono::steady_clock::now();
          if (t - last < std::chrono::seconds(2)) return;
          last = t;
          std::fprintf(
              stderr,
              "bluelink: subject search: %lld transfers and %lld calls read, %lld and %lld "
              "found\n",
              static_cast<long long>(p.transfers_read), static_cast<long long>(p.calls_read),
              static_cast<long long>(p.transfers_found), static_cast<long long>(p.calls_found));
        });
    // Logged before anything is printed, as the gateway logs a console's search.
    const std::string why = "subject access request " + o.reference;
    auto entry = [&](const char* object) {
      bl::store::access_entry e;
      e.at = bl::now_ms();
      e.operation = "consult";
      e.agency = q.agency;
      e.actor = cli_actor();
      e.actor_kind = "cli";
      e.channel = "cli";
      e.object = object;
      e.justification = why;
      return e;
    };
    std::vector<bl::store::access_entry> entries{entry("subject_search")};
    entries.back().ref = std::to_string(found.transfers.size()) + " transfers, " +
                         std::to_string(found.calls.size()) + " calls found";
    for (const auto& f : found.transfers) {
      entries.push_back(entry("transfer"));
      entries.back().transfer_id = f.transfer.id;
    }
    for (const auto& f : found.calls) {
      entries.push_back(entry("call"));
      entries.back().ref = std::to_string(f.call.id);
      entries.back().transfer_id = f.call.transfer_id.value_or("");
    }
    auto writer = bl::store::open_writer(opts);
    in_transaction(*writer, [&] {
      for (auto& e : entries) writer->access(e);
    });
  } catch (const bl::store::store_error& e) {
    std::fprintf(stderr, "bluelink: %s: %s\n", bl::store::describe(opts).c_str(), e.what());
    return exit_store_error;
  }
  auto out = bl::subject_result_json(found, q);
  out["reference"] = o.reference;
  std::printf("%s\n", out.dump(2).c_str());
  std::fprintf(stderr,
               "bluelink: subject search: %lld transfers and %lld calls read; %zu transfers and "
               "%zu calls mention the person%s\n",
               static_cast<long long>(found.read.transfers_read),
               static_cast<long long>(found.read.calls_read), found.transfers.size(),
               found.calls.size(), found.truncated ? " (stopped at 500: narrow the search)" : "");
  return 0;
}

int purge_command(const purge_cli& o, const char* argv0) {
  bl::gateway_config cfg;
  bl::store::store_options opts;
  if (int rc = retention_target(o.config_file, argv0, "purge", cfg, opts)) return rc;
  bl::time_point now = bl::now_ms();
  if (!o.as_of.empty()) {
    auto t = bl::parse_rfc3339(o.as_of);
    if (!t) {
      std::fprintf(stderr, "bluelink: --as-of must be an RFC 3339 time (2027-01-31T00:00:00Z)\n");
      return exit_bad_input;
    }
    if (!o.dry_run) {
      std::fprintf(stderr,
                   "bluelink: --as-of goes with --dry-run: a purge removes only what is past its "
                   "period now\n");
      return exit_bad_input;
    }
    now = *t;
  }
  if (o.batch < 0 || o.batch > 1000) {
    std::fprintf(stderr, "bluelink: --batch must be 1 to 1000\n");
    return exit_bad_input;
  }
  bl::purge_pass_options po;
  po.batch = o.batch > 0 ? o.batch : cfg.retention.batch;
  po.dry_run = o.dry_run;
  bl::purge_actor who{cli_actor(), "cli", "cli"};
  std::unique_ptr<bl::store::writer> w;
  po.apply_transfers = [&](const std::vector<std::string>& ids) {
    return in_transaction(*w, [&] { return bl::purge_transfers(*w, cfg, ids, bl::now_ms(), who); });
  };
  po.apply_calls = [&](const std::vector<bl::store::call_candidate>& calls) {
    return in_transaction(*w, [&] { return bl::purge_calls(*w, cfg, calls, bl::now_ms(), who); });
  };
  auto last = std::chrono::steady_clock::now();
  po.progress = [&](const bl::purge_pass_report& r) {
    auto t = std::chrono::steady_clock::now();
    if (t - last < std::chrono::seconds(2)) return;
    last = t;
    std::fprintf(stderr,
                 "bluelink: purge: %lld transfers past their period so far (%lld %s), %lld calls\n",
                 static_cast<long long>(r.transfers_due),
                 static_cast<long long>(o.dry_run ? r.transfers_held : r.transfers_purged),
                 o.dry_run ? "held" : "purged", static_cast<long long>(r.calls_due));
  };
  bl::purge_pass_report rep;
  try {
    auto reader = bl::store::open_reader(opts);
    if (!o.dry_run) w = bl::store::open_writer(opts);
    rep = bl::run_purge_pass(cfg, *reader, now, po);
    if (!o.dry_run)
      rep.sessions_purged =
          bl::purge_console_sessions(cfg, *bl::store::open_account_store(opts), now);
  } catch (const bl::store::store_error& e) {
    std::fprintf(stderr, "bluelink: %s: %s\n", bl::store::describe(opts).c_str(), e.what());
    return exit_store_error;
  }
  const std::string as_of = bl::format_rfc3339(now);
  if (o.dry_run) {
    std::printf(
        "dry run as of %s: %lld transfers past their period (%lld under a legal hold, "
        "so kept), %lld calls past their period; nothing was changed\n",
        as_of.c_str(), static_cast<long long>(rep.transfers_due),
        static_cast<long long>(rep.transfers_held), static_cast<long long>(rep.calls_due));
  } else {
    std::printf(
        "purged as of %s: %lld transfers (%lld kept under a legal hold), %lld calls, %lld "
        "console sessions, in %lld transactions (the longest %.1f ms)\n",
        as_of.c_str(), static_cast<long long>(rep.transfers_purged),
        static_cast<long long>(rep.transfers_held), static_cast<long long>(rep.calls_purged),
        static_cast<long long>(rep.sessions_purged), static_cast<long long>(rep.batches),
        rep.longest_batch_ms);
  }
  for (const auto& [agency, n] : rep.transfers_by_agency)
    std::printf("  %s: party to %lld of them\n", agency.c_str(), static_cast<long long>(n));
  if (!rep.oldest_due.empty())
    std::printf("  the oldest was last active at %s\n", rep.oldest_due.c_str());
  for (const auto& a : cfg.agencies) {
    auto r = cfg.retention_of(a.id);
    if (!r.transfers_days || !r.calls_days)
      std::printf("  %s has no %s period: what it is party to is kept until one is set\n",
                  a.id.c_str(),
                  !r.transfers_days && !r.calls_days ? "transfer or call"
                  : !r.transfers_days                ? "transfer"
                                                     : "call");
  }
  return 0;
}

/// `bluelink hold place|lift|list`: legal holds from the command line (an administrator's: any
/// transfer), logged as cli:<user>. Exit codes: 0 done, 1 refused (no such transfer, a hold
/// already stands, none stands), 2 a bad option, 3 the store failed.
int hold_command(const hold_cli& o, const char* argv0, const std::string& action) {
  bl::gateway_config cfg;
  bl::store::store_options opts;
  if (int rc = retention_target(o.config_file, argv0, "hold", cfg, opts)) return rc;
  try {
    if (action == "list") {
      auto holds = bl::store::open_reader(opts)->current_holds();
      for (const auto& h : holds)
        std::printf("%s\t%s\t%s\t%s\t%s\n", h.transfer_id.c_str(),
                    bl::format_rfc3339(h.placed_at).c_str(), h.placed_by.c_str(),
                    h.agency.empty() ? "-" : h.agency.c_str(), h.reason.c_str());
      std::fprintf(stderr, "bluelink: %zu legal holds stand\n", holds.size());
      return 0;
    }
    if (o.transfer.empty() || o.reason.size() < 3 || o.reason.size() > 300) {
      std::fprintf(stderr,
                   "bluelink: hold %s needs --transfer T-... and --reason (3 to 300 "
                   "characters)\n",
                   action.c_str());
      return exit_bad_input;
    }
    auto w = bl::store::open_writer(opts);
    bl::hold_change c{o.transfer, "", cli_actor(), o.reason};
    // A refused change wrote nothing (each is refused before its first write).
    auto out = in_transaction(*w, [&] {
      return action == "place" ? bl::place_legal_hold(*w, c, bl::now_ms())
                               : bl::lift_legal_hold(*w, c, bl::now_ms());
    });
    if (auto* e = std::get_if<bl::error>(&out)) {
      std::fprintf(stderr, "bluelink: %s: %s\n", std::string(e->id()).c_str(), e->message.c_str());
      return 1;
    }
    std::printf("legal hold %s on %s\n", action == "place" ? "placed" : "lifted",
                o.transfer.c_str());
    return 0;
  } catch (const bl::store::store_error& e) {
    std::fprintf(stderr, "bluelink: %s: %s\n", bl::store::describe(opts).c_str(), e.what());
    return exit_store_error;
  }
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
  audit_verify_cli avo;
  auto* verify = audit->add_subcommand(
      "verify", "recompute the hash chain from the first row (on either engine)");
  verify->add_option("--database", avo.database, "SQLite database file");
  verify->add_option("--store", avo.store, "sqlite:FILE or postgres:CONNINFO (no password in it)");
  verify->add_option("--config", avo.config_file, "gateway config file: its own store");
  add_password_options(verify, avo.password, "the PostgreSQL password");

  auto* access_cmd = app.add_subcommand("access-log", "the personal-data access log (DPA s.62)")
                         ->require_subcommand(1);
  access_query_cli aqo;
  auto* access_query_cmd = access_cmd->add_subcommand(
      "query", "entries newest first, as CSV (or JSON lines); the query itself is logged");
  access_query_cmd->add_option("--database", aqo.store.database, "SQLite database file");
  access_query_cmd->add_option("--store", aqo.store.store,
                               "sqlite:FILE or postgres:CONNINFO (no password in it)");
  access_query_cmd->add_option("--config", aqo.store.config_file, "gateway config file");
  add_password_options(access_query_cmd, aqo.store.password, "the PostgreSQL password");
  access_query_cmd->add_option("--agency", aqo.agency, "only this agency's entries");
  access_query_cmd->add_option("--transfer", aqo.transfer, "who read or sent this transfer");
  access_query_cmd->add_option("--user", aqo.user, "what this user (actor) did");
  access_query_cmd->add_option("--operation", aqo.operation,
                               "collect, alter, consult, disclose, combine or erase");
  access_query_cmd->add_option("--since", aqo.since, "RFC 3339: at or after");
  access_query_cmd->add_option("--until", aqo.until, "RFC 3339: before");
  access_query_cmd->add_option("--before", aqo.before, "entries older than this seq (next page)");
  access_query_cmd->add_option("--limit", aqo.limit, "at most this many (1 to 10000)");
  access_query_cmd->add_option("--format", aqo.format, "csv (default) or json");

  purge_cli pco;
  auto* purge_cmd = app.add_subcommand(
      "purge", "remove personal content past its retention period (tombstones stay)");
  purge_cmd->add_option("--config", pco.config_file, "gateway config file: its store and periods")
      ->required();
  purge_cmd->add_flag("--dry-run", pco.dry_run, "only say what would be purged");
  purge_cmd->add_option("--as-of", pco.as_of, "with --dry-run: as of this RFC 3339 time");
  purge_cmd->add_option("--batch", pco.batch, "transfers (or calls) a transaction (1 to 1000)");

  subject_cli subo;
  auto* subject_cmd = app.add_subcommand("subject", "subject access: what is held about one person")
                          ->require_subcommand(1);
  auto* subject_search = subject_cmd->add_subcommand(
      "search", "find an agency's transfers and calls that mention the person (JSON on stdout)");
  subject_search->add_option("--config", subo.config_file, "gateway config file: its store")
      ->required();
  subject_search->add_option("--agency", subo.agency, "whose transfers and calls")->required();
  subject_search->add_option("--reference", subo.reference, "the request's reference")->required();
  subject_search
      ->add_option("--term", subo.terms,
                   "kind=value: name=, phone=, date_of_birth= or text= (repeat, up to 10)")
      ->required();
  subject_search->add_option("--since", subo.since, "RFC 3339 (default: a year before --until)");
  subject_search->add_option("--until", subo.until, "RFC 3339 (default: now)");

  hold_cli hco;
  auto* hold_cmd = app.add_subcommand("hold", "legal holds: no purge touches a held transfer")
                       ->require_subcommand(1);
  auto* hold_place = hold_cmd->add_subcommand("place", "place a legal hold on a transfer");
  auto* hold_lift = hold_cmd->add_subcommand("lift", "lift a transfer's legal hold");
  auto* hold_list = hold_cmd->add_subcommand("list", "the holds that stand");
  for (auto* c : {hold_place, hold_lift, hold_list})
    c->add_option("--config", hco.config_file, "gateway config file: its store")->required();
  for (auto* c : {hold_place, hold_lift}) {
    c->add_option("--transfer", hco.transfer, "the transfer id (T-YYYYMMDD-NNNNNN)")->required();
    c->add_option("--reason", hco.reason, "why (kept with the hold)")->required();
  }

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

  auto* user = app.add_subcommand("user", "console accounts")->require_subcommand(1);
  user_options uo;
  auto common = [&](CLI::App* c) {
    c->add_option("--config", uo.config_file, "gateway config file")->required();
    c->add_option(
        "--database", uo.database,
        "an SQLite database file instead of the config's database (SQLite or PostgreSQL)");
  };
  auto passwords = [&](CLI::App* c) {
    auto* in = c->add_flag("--password-stdin", uo.password_stdin,
                           "read the password from the first line of standard input");
    auto* gen = c->add_flag("--generate", uo.generate, "generate a password and print it once");
    in->excludes(gen);
  };
  auto* user_add_cmd = user->add_subcommand("add", "add a console user");
  common(user_add_cmd);
  user_add_cmd->add_option("--username", uo.username, "3-64 of a-z 0-9 . _ -")->required();
  user_add_cmd->add_option("--name", uo.name, "display name, e.g. \"Sam Patel\"")->required();
  user_add_cmd
      ->add_option("--role", uo.role_text,
                   "operator, supervisor, manager, admin or dpo (an agency's "
                   "data-protection officer)")
      ->required();
  user_add_cmd->add_option("--agency", uo.agency,
                           "agency id (operators, supervisors and data-protection officers only)");
  passwords(user_add_cmd);
  auto* user_passwd_cmd =
      user->add_subcommand("passwd", "set a new password (ends the user's sessions)");
  common(user_passwd_cmd);
  user_passwd_cmd->add_option("--username", uo.username)->required();
  passwords(user_passwd_cmd);
  auto* user_disable_cmd =
      user->add_subcommand("disable", "stop a user signing in (ends the user's sessions)");
  common(user_disable_cmd);
  user_disable_cmd->add_option("--username", uo.username)->required();
  auto* user_enable_cmd = user->add_subcommand("enable", "let a disabled user sign in again");
  common(user_enable_cmd);
  user_enable_cmd->add_option("--username", uo.username)->required();
  auto* user_list_cmd = user->add_subcommand("list", "list the console users");
  common(user_list_cmd);

  auto* calls = app.add_subcommand("calls", "the phone-call log")->require_subcommand(1);
  calls_options co;
  auto* calls_import_cmd = calls->add_subcommand(
      "import", "import telephony call records from a CSV file (see docs/operations.md 14)");
  calls_import_cmd->add_option("file", co.csv, "CSV export of the telephony system")->required();
  calls_import_cmd->add_option("--config", co.config_file, "gateway config file")->required();
  calls_import_cmd->add_option(
      "--database", co.database,
      "an SQLite database file instead of the config's database (SQLite or PostgreSQL)");
  calls_import_cmd->add_flag("--dry-run", co.dry_run, "read and check the file, write nothing");
  calls_import_cmd->add_option("--show", co.show, "how many skipped rows to list (default 20)");
  calls_import_cmd->add_flag("--json", co.json_out, "print the summary as JSON");
  auto* calls_imports_cmd =
      calls->add_subcommand("imports", "list the imports made so far (the import ledger)");
  calls_imports_cmd->add_option("--config", co.config_file, "gateway config file")->required();
  calls_imports_cmd->add_option(
      "--database", co.database,
      "an SQLite database file instead of the config's database (SQLite or PostgreSQL)");
  calls_imports_cmd->add_flag("--json", co.json_out, "print the ledger as JSON");

  translate_options tro;
  auto* translate_cmd = app.add_subcommand(
      "translate",
      "translate a document between Bluelink, CAP 1.2, EDXL-DE 2.0, NENA EIDO, UCRI2 and M/ETHANE "
      "text");
  translate_cmd->add_option("--from", tro.from, "input format")
      ->required()
      ->check(CLI::IsMember({"bluelink", "cap", "edxl-de", "eido", "ucri2"}));
  translate_cmd->add_option("--to", tro.to, "output format")
      ->required()
      ->check(CLI::IsMember({"bluelink", "cap", "edxl-de", "eido", "ucri2", "methane-text"}));
  translate_cmd->add_option("FILE", tro.file, "input file, or - for standard input")->required();
  translate_cmd->add_option("--schemas", tro.schemas, "schemas directory");
  translate_cmd->add_option("--config", tro.config_file,
                            "gateway config: its partners (who a CAP sender is, where its alerts "
                            "go) and, for ucri2, its OID directory");
  translate_cmd->add_option("--as", tro.as_agency,
                            "the agency the document comes from, as its link's token would say; "
                            "the document's own sender must be one of its identities");
  translate_cmd->add_option("--for", tro.for_agency,
                            "the agency that receives it, when the document names none");

  report_options ro;
  auto* report_cmd = app.add_subcommand(
      "report", "the management savings report (calls avoided and pounds saved) per month");
  report_cmd->add_option("--config", ro.config_file, "gateway config file")->required();
  report_cmd->add_option(
      "--database", ro.database,
      "an SQLite database file instead of the config's database (SQLite or PostgreSQL)");
  report_cmd->add_option("--from", ro.from,
                         "first month, YYYY-MM (default: 11 months before --to)");
  report_cmd->add_option("--to", ro.to, "last month, YYYY-MM (default: this month)");
  report_cmd->add_option("--format", ro.format, "json, csv or html (default html)")
      ->check(CLI::IsMember({"json", "csv", "html"}));
  report_cmd->add_option("--out", ro.out, "file to write (default: standard output)");

  auto* store_cmd = app.add_subcommand("store", "the gateway's database")->require_subcommand(1);
  store_copy_cli sco;
  auto* store_copy_cmd = store_cmd->add_subcommand(
      "copy",
      "copy a stopped site's SQLite store into an empty PostgreSQL database, then verify it "
      "(docs/operations.md)");
  store_copy_cmd->add_option("--from", sco.from, "sqlite:FILE")->required();
  store_copy_cmd->add_option("--to", sco.to, "postgres:CONNINFO (no password in it)")->required();
  add_password_options(store_copy_cmd, sco.password, "the target's password");

  store_migrate_cli smo;
  auto* store_migrate_cmd = store_cmd->add_subcommand(
      "migrate",
      "as the database's owner: bring a PostgreSQL store's schema to this version and give the "
      "gateway's role its row rights (docs/operations.md)");
  store_migrate_cmd->add_option("--store", smo.store, "postgres:CONNINFO (no password in it)")
      ->required();
  store_migrate_cmd->add_option("--grant", smo.grant,
                                "the gateway's login role: row rights only, audit append-only");
  add_password_options(store_migrate_cmd, smo.password, "the owner's password");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; any other usage error is bad input (exit 2), like the others.
    return app.exit(e) == 0 ? 0 : exit_bad_input;
  }

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
    if (*verify) return audit_verify(avo, argv[0]);
    if (*access_query_cmd) return access_log_query(aqo, argv[0]);
    if (*purge_cmd) return purge_command(pco, argv[0]);
    if (*subject_search) return subject_search_command(subo, argv[0]);
    if (*hold_place) return hold_command(hco, argv[0], "place");
    if (*hold_lift) return hold_command(hco, argv[0], "lift");
    if (*hold_list) return hold_command(hco, argv[0], "list");
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
    if (*init) return demo_init(demo_dir, port, cad_port, force, argv[0]);
    if (*user_add_cmd) return user_add(uo, argv[0]);
    if (*user_passwd_cmd) return user_passwd(uo, argv[0]);
    if (*user_disable_cmd) return user_set_disabled(uo, true, argv[0]);
    if (*user_enable_cmd) return user_set_disabled(uo, false, argv[0]);
    if (*user_list_cmd) return user_list(uo, argv[0]);
    if (*calls_import_cmd) return calls_import(co, argv[0]);
    if (*calls_imports_cmd) return calls_imports(co, argv[0]);
    if (*translate_cmd) return translate(tro, argv[0]);
    if (*report_cmd) return savings_report_cmd(ro, argv[0]);
    if (*store_copy_cmd) return store_copy(sco);
    if (*store_migrate_cmd) return store_migrate(smo);
    if (*request) {
      std::printf("%s\n", demo_request(req_from, req_to).dump(2).c_str());
      return 0;
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "bluelink: %s\n", e.what());
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink: %s\n", e.what());
    return 2;
  }
  return 0;
}
