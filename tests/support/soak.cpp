#include "tests/support/soak.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "gateway/service/accounts.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/cli_process.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/console_ws.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"
#include "tools/cad_sim/scenario.hpp"
#include "tools/cad_sim/simulator.hpp"

namespace bl::test {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string password = "soak password 2026";
const std::string cad_agencies[] = {essex_fire, essex_police};
const std::string all_agencies[] = {essex_fire, essex_police, eeast_ambulance};
const std::string console_users[] = {"fire.console", "police.console", "ambulance.console"};

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

/// The value of an unlabelled metric in a Prometheus text page; -1 when it is not there.
double metric_value(const std::string& page, const std::string& name) {
  auto at = page.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + name.size() + 2));
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string describe(const std::optional<http_response>& r, const http_client& c) {
  if (!r) return "no answer (" + c.last_error() + ")";
  return std::to_string(r->status) + " " + r->body.substr(0, 300);
}

/// "YYYY-MM" of the UTC month `back` months before this one.
std::string month_before(int back) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  int index = (tm.tm_year + 1900) * 12 + tm.tm_mon - back;
  std::ostringstream o;
  o << index / 12 << '-' << std::setw(2) << std::setfill('0') << index % 12 + 1;
  return o.str();
}

/// A telephony export of `n` calls between the three control rooms' configured numbers, with
/// call ids from `first` (so each file imports in full).
std::string call_export(int first, int n) {
  static const char* numbers[] = {"01632 960100", "01632 960200", "01632 960300"};
  std::ostringstream o;
  o << "Call ID,Calling Number,Dialled Number,Start Time,Duration\r\n";
  for (int i = 0; i < n; ++i) {
    const int k = first + i;
    const int from = k % 3, to = (k + 1 + k / 3 % 2) % 3;
    o << "SOAK-" << k << ',' << numbers[from] << ',' << numbers[to] << ",2026-" << std::setw(2)
      << std::setfill('0') << 1 + k % 11 << '-' << std::setw(2) << 1 + k % 28 << 'T' << std::setw(2)
      << k % 24 << ':' << std::setw(2) << k % 60 << ":00Z," << 30 + k % 600 << "\r\n";
  }
  return o.str();
}

/// A receipted HTTP submission: where it went.
struct http_sent {
  std::string id;
  std::string to;
};

/// One soak: the gateway, its load threads and what they counted. Built and run by run_soak()
/// on one thread; the load threads share only atomics and mutex-guarded members.
class soak_run {
 public:
  explicit soak_run(const soak_options& o) : opts_(o), gw_(json::object(), false) {}
  soak_result run();

 private:
  void configure();
  void add_users();
  void start_cads();
  void progress_line();
  void wait_settled();
  void check_nothing_lost();
  void check_unwritable_store();
  void read_logs();

  // The load, one thread each.
  void http_sender();
  void inbox_reader();
  void console_reader(int which);
  void api_accounts();
  void cli_accounts();
  void reporter();
  void monitor();

  void fail(const std::string& what);
  /// Sleeps `d` in small steps; false as soon as `stop` is set.
  static bool pause(const std::atomic<bool>& stop, std::chrono::milliseconds d);
  /// POSTs `m` with the Ambulance Service's token, sending it again after a 5xx; the last answer.
  std::optional<http_response> submit_as_ambulance(http_client& c, const json& m,
                                                   const std::string& to);
  std::optional<console_session> sign_in_as(http_client& c, const std::string& user,
                                            const std::string& pw, std::string& why);
  std::int64_t count(store::db& d, const std::string& sql, const std::string& arg = {});
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

  soak_options opts_;
  gateway_process gw_;
  unsigned short port_ = 0;
  cad::key_pair server_keys_;
  std::map<std::string, cad::key_pair> cad_keys_;
  std::string cad_endpoint_;
  std::vector<std::unique_ptr<sim::simulator>> sims_;
  steady::time_point started_;

  std::atomic<bool> load_stop_{false};   // submissions, accounts, reports, imports
  std::atomic<bool> watch_stop_{false};  // consoles, the HTTP inbox, the monitor

  std::atomic<std::uint64_t> http_receipted_{0}, http_refused_{0}, http_duplicates_{0};
  std::atomic<std::uint64_t> inbox_alerts_{0};
  std::atomic<std::uint64_t> console_events_{0}, console_reconnects_{0}, sign_ins_{0};
  std::atomic<std::uint64_t> api_changes_{0}, cli_changes_{0}, reports_{0}, imports_{0};
  std::atomic<std::uint64_t> imported_rows_{0}, health_samples_{0}, health_not_ok_{0};
  std::atomic<std::uint64_t> console_events_by_[3] = {{0}, {0}, {0}};

  soak_result result_;  // filled in by the thread that runs the soak, after the load threads end

  mutable std::mutex mu_;  // guards everything below
  std::vector<std::string> failures_;
  std::vector<http_sent> http_sent_;
  std::set<std::string> inbox_ids_;
  std::vector<std::string> console_drops_;
  double worst_streak_s_ = 0;
  double max_commit_age_s_ = 0;
  std::string health_state_ = "-";
};

void soak_run::fail(const std::string& what) {
  std::lock_guard lock(mu_);
  if (failures_.size() < 40)
    failures_.push_back(what);
  else if (failures_.size() == 40)
    failures_.push_back("... and more");
}

bool soak_run::pause(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  const auto until = steady::now() + d;
  while (steady::now() < until) {
    if (stop) return false;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        50ms, std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()) + 1ms));
  }
  return !stop;
}

std::optional<console_session> soak_run::sign_in_as(http_client& c, const std::string& user,
                                                    const std::string& pw, std::string& why) {
  try {
    auto r =
        c.request_with("POST", "/api/v1/session", json{{"username", user}, {"password", pw}}.dump(),
                       {{"Origin", origin()}});
    if (r.status != 200) {
      why = "sign-in as " + user + ": " + std::to_string(r.status) + " " + r.body;
      return std::nullopt;
    }
    ++sign_ins_;
    auto set_cookie = r.header("Set-Cookie");
    return console_session{set_cookie.substr(0, set_cookie.find(';')), r.json.at("csrf_token"), r};
  } catch (const std::exception& e) {
    why = "sign-in as " + user + ": " + e.what();
    return std::nullopt;
  }
}

std::int64_t soak_run::count(store::db& d, const std::string& sql, const std::string& arg) {
  store::stmt s(d, sql);
  if (!arg.empty()) s.bind(1, arg);
  return s.step() ? s.int64(0) : 0;
}

// ---- set-up ----------------------------------------------------------------------------------

void soak_run::configure() {
  json timers = {{"time_to_delivery_s", 2}, {"time_to_decision_s", 4}, {"default_expiry_s", 900}};
  json patch = {{"log", {{"level", "warn"}}},
                {"database", {{"busy_timeout_ms", opts_.busy_timeout_ms}}},
                // Short deadlines, so that stalled transfers fall back to the phone every few
                // seconds: the simulated CADs decide after 2.5 to 7 s, and nobody decides what
                // reaches the Ambulance Service's inbox.
                {"priorities", {{"emergency", timers}, {"urgent", timers}, {"routine", timers}}},
                // Sign-ins every few seconds from one address are not an attack here.
                {"console", {{"login_attempts_per_minute", 1000}}},
                {"call_import",
                 {{"columns",
                   {{"caller", "Calling Number"},
                    {"called", "Dialled Number"},
                    {"start", "Start Time"},
                    {"duration", "Duration"},
                    {"id", "Call ID"}}},
                  {"numbers",
                   {{{"number", "01632 960100"}, {"agency", essex_fire}},
                    {{"number", "01632 960200"}, {"agency", essex_police}},
                    {{"number", "01632 960300"}, {"agency", eeast_ambulance}}}}}}};
  gw_.config().merge_patch(patch);

  // The CAD link on a fixed port with CURVE keys for Fire and Police (as the CAD system test).
  cad_endpoint_ = "tcp://127.0.0.1:" + std::to_string(fixed_test_port());
  server_keys_ = new_curve_keys();
  std::ofstream(gw_.dir() / "gateway.key")
      << json{{"public", server_keys_.public_key}, {"secret", server_keys_.secret_key}}.dump();
  json clients = json::array();
  for (const auto& a : cad_agencies) {
    cad_keys_[a] = new_curve_keys();
    clients.push_back({{"agency", a}, {"public_key", cad_keys_[a].public_key}});
  }
  gw_.config()["cad_link"] = {{"listen", cad_endpoint_},
                              {"server_key_file", (gw_.dir() / "gateway.key").string()},
                              {"heartbeat_ms", 1000},
                              {"clients", clients}};
}

void soak_run::add_users() {
  {
    auto create = store::open_writer(store::store_options{gw_.db_path().string(), false, 5000, {}});
  }
  accounts accts(agencies_config(), store::open_sqlite_account_store(store::store_options{
                                        gw_.db_path().string(), true, 5000, {}}));
  accts.add_user("soak.admin", "Soak Admin", role::admin, "", password);
  accts.add_user("soak.manager", "Soak Manager", role::manager, "", password);
  for (int i = 0; i < 3; ++i)
    accts.add_user(console_users[i], "Soak console " + all_agencies[i], role::operator_role,
                   all_agencies[i], password);
}

void soak_run::start_cads() {
  std::mt19937_64 seeds{std::random_device{}()};
  for (const auto& a : cad_agencies) {
    auto sc = sim::load_scenario(
        fs::path(BL_SOURCE_DIR) / "tools/cad_sim/scenarios" / (a + ".json"), repo_schemas());
    sim::sim_config cfg;
    cfg.rate_per_s = opts_.cad_requests_per_s;
    cfg.drain_timeout = 60s;
    cfg.seed = seeds();
    cad::client_options link;
    link.endpoint = cad_endpoint_;
    link.server_public_key = server_keys_.public_key;
    link.client_keys = cad_keys_.at(a);
    link.agency = a;
    link.state_file = (gw_.dir() / (a + ".state")).string();
    sims_.push_back(std::make_unique<sim::simulator>(std::move(sc), cfg, link));
  }
  for (auto& s : sims_) s->start();
  if (!eventually(
          [&] {
            return std::all_of(sims_.begin(), sims_.end(),
                               [](const auto& s) { return s->counters().link_up; });
          },
          20s, 50ms))
    fail("the simulated CADs did not connect within 20 s");
}

// ---- the load ----------------------------------------------------------------------------------

std::optional<http_response> soak_run::submit_as_ambulance(http_client& c, const json& m,
                                                           const std::string& to) {
  const std::string id = m.at("id");
  const auto body = m.dump();
  for (int attempt = 1;; ++attempt) {
    auto r =
        c.try_request("POST", "/api/v1/messages", body, gateway_process::token(eeast_ambulance));
    if (r && r->status == 202) {
      ++http_receipted_;
      std::lock_guard lock(mu_);
      http_sent_.push_back({id, to});
      return r;
    }
    ++http_refused_;
    // The other side acted first (a decision on a transfer the requester has just cancelled).
    if (r && r->status == 409) return r;
    // A 5xx stored nothing: the same id again, as a client must. Anything else is a bug here.
    if ((r && r->status < 500) || attempt == 20) {
      fail("HTTP submission " + id + " refused: " + describe(r, c));
      return r;
    }
    std::this_thread::sleep_for(500ms);
  }
}

void soak_run::http_sender() {
  http_client c(port_);
  http_client console(port_);
  const auto interval =
      std::chrono::milliseconds(static_cast<int>(1000 / std::max(0.01, opts_.http_requests_per_s)));
  const auto token = gateway_process::token(eeast_ambulance);
  for (int n = 0; pause(load_stop_, interval); ++n) {
    const std::string& to = n % 2 ? essex_fire : essex_police;
    const auto m =
        request_between(new_message_id(eeast_ambulance, "soak"), eeast_ambulance, to,
                        to == essex_fire ? "fire.forced_entry" : "police.scene_security");
    // Every fifth request is sent again, as a client that lost the answer would, and at once an
    // Ambulance console signs out (a quick commit on the accounts connection). That pair once
    // wedged the store: the repeat's receipt lookup held a read open on the writer's connection
    // past COMMIT, and after another connection's commit every BEGIN IMMEDIATE failed.
    const bool repeat = n % 5 == 0;
    std::optional<console_session> session;
    std::string why;
    if (repeat && !(session = sign_in_as(console, console_users[2], password, why))) fail(why);
    auto first = submit_as_ambulance(c, m, to);
    if (!repeat || !first || first->status != 202) continue;
    auto again = c.try_request("POST", "/api/v1/messages", m.dump(), token);
    if (session) try {
        auto out = console.request_with(
            "DELETE", "/api/v1/session", {},
            {{"Cookie", session->cookie}, {"X-CSRF-Token", session->csrf}, {"Origin", origin()}});
        if (out.status != 204)
          fail("Ambulance console sign-out: " + std::to_string(out.status) + " " + out.body);
      } catch (const std::exception& e) {
        fail(std::string("Ambulance console sign-out: ") + e.what());
      }
    if (again && again->status / 100 == 2) ++http_duplicates_;
    if (!again || again->status != 200 ||
        again->json.value("receipt", json()) != first->json.value("receipt", json()))
      fail("the repeat of " + m.at("id").get<std::string>() + " got " + describe(again, c) +
           " instead of 200 with the first receipt " + first->body);
  }
}

// The Ambulance Service's system over HTTP: reads its inbox, acknowledges what it read, and
// accepts every request at once (so that the requesting CADs can settle at the end).
void soak_run::inbox_reader() {
  http_client c(port_);
  c.set_timeout(20s);
  const auto token = gateway_process::token(eeast_ambulance);
  int accepted = 0;
  while (!watch_stop_) {
    auto r = c.try_request("GET", "/api/v1/inbox?wait=1", {}, token);
    if (!r || r->status != 200) {
      fail("Ambulance inbox read: " + describe(r, c));
      pause(watch_stop_, 500ms);
      continue;
    }
    std::int64_t last = -1;
    std::vector<json> requests;
    for (const auto& d : r->json.at("deliveries")) {
      last = d.at("seq").get<std::int64_t>();
      const auto& m = d.at("message");
      std::lock_guard lock(mu_);
      if (!inbox_ids_.insert(m.at("id").get<std::string>()).second) continue;
      if (m.at("type") == "transfer.alert") ++inbox_alerts_;
      if (m.at("type") == "transfer.request") requests.push_back(m);
    }
    if (last < 0) continue;
    auto a = c.try_request("POST", "/api/v1/inbox/ack", json{{"upto", last}}.dump(), token);
    if (!a || a->status / 100 != 2) fail("Ambulance inbox ack: " + describe(a, c));
    for (const auto& m : requests) {
      const std::string tid = m.at("transfer_id");
      submit_as_ambulance(
          c,
          party_message(new_message_id(eeast_ambulance, "accept"), "transfer.accept",
                        eeast_ambulance, tid,
                        {{"receiver_incident", {{"number", "EA-" + std::to_string(++accepted)}}}},
                        m.at("version").get<std::int64_t>() + 1),
          m.at("from"));
    }
  }
}

void soak_run::console_reader(int which) {
  http_client c(port_);
  std::optional<console_session> s;
  std::int64_t last = 0;
  bool first = true;
  while (!watch_stop_) {
    std::string why;
    try {
      if (!s) s = sign_in_as(c, console_users[which], password, why);
      if (!s) throw std::runtime_error(why);
      console_ws ws(port_, s->cookie, origin());
      ws.send({{"op", "hello"}, {"after", last}});
      if (!first) ++console_reconnects_;
      first = false;
      // A ping every 2 s keeps a frame coming, so a console that hears nothing for 10 s is one
      // the gateway has starved.
      auto pinged = steady::now();
      while (!watch_stop_) {
        if (seconds_since(pinged) >= 2) {
          ws.send({{"op", "ping"}});
          pinged = steady::now();
        }
        auto f = ws.next(10s);
        const std::string op = f.value("op", "");
        if (op == "event") {
          const auto id = f.at("id").get<std::int64_t>();
          if (id <= last)
            fail(console_users[which] + " got event " + std::to_string(id) + " after " +
                 std::to_string(last));
          last = id;
          ++console_events_;
          ++console_events_by_[which];
        } else if (op == "resync") {
          last = f.at("last_event").get<std::int64_t>();
        } else if (op == "error") {
          throw std::runtime_error("error frame " + f.dump());
        }
      }
    } catch (const std::exception& e) {
      if (watch_stop_) break;
      std::lock_guard lock(mu_);
      console_drops_.push_back(console_users[which] + ": " + e.what());
    }
    pause(watch_stop_, 500ms);
  }
}

void soak_run::api_accounts() {
  http_client c(port_);
  int n = 0;
  std::vector<std::string> added;
  while (pause(load_stop_, opts_.account_every)) {
    ++n;
    std::string why;
    auto admin = sign_in_as(c, "soak.admin", password, why);
    if (!admin) {
      fail(why);
      continue;
    }
    try {
      const header_list h = {
          {"Cookie", admin->cookie}, {"X-CSRF-Token", admin->csrf}, {"Origin", origin()}};
      const std::string name = "api.user." + std::to_string(n);
      auto made = c.request_with("POST", "/api/v1/users",
                                 json{{"username", name},
                                      {"display_name", "Soak API user " + std::to_string(n)},
                                      {"role", "operator"},
                                      {"agency", all_agencies[n % 3]},
                                      {"password", password}}
                                     .dump(),
                                 h);
      if (made.status == 201) {
        ++api_changes_;
        added.push_back(name);
        // The new account's first sign-in, then it signs out again.
        if (auto u = sign_in_as(c, name, password, why)) {
          auto out = c.request_with(
              "DELETE", "/api/v1/session", {},
              {{"Cookie", u->cookie}, {"X-CSRF-Token", u->csrf}, {"Origin", origin()}});
          if (out.status != 204) fail("sign-out of " + name + ": " + std::to_string(out.status));
        } else {
          fail(why);
        }
      } else {
        fail("POST /api/v1/users " + name + ": " + std::to_string(made.status) + " " + made.body);
      }
      // The account added before this one is disabled, enabled again or given a new password.
      if (added.size() >= 2) {
        const auto& target = added[added.size() - 2];
        const json change = n % 3 == 0   ? json{{"disabled", true}}
                            : n % 3 == 1 ? json{{"disabled", false}}
                                         : json{{"new_password", true}};
        auto r = c.request_with("PATCH", "/api/v1/users/" + target, change.dump(), h);
        if (r.status == 200)
          ++api_changes_;
        else
          fail("PATCH /api/v1/users/" + target + ": " + std::to_string(r.status) + " " + r.body);
      }
      auto out = c.request_with("DELETE", "/api/v1/session", {}, h);
      if (out.status != 204) fail("admin sign-out: " + std::to_string(out.status) + " " + out.body);
    } catch (const std::exception& e) {
      fail(std::string("account changes over the API: ") + e.what());
    }
  }
}

void soak_run::cli_accounts() {
  const fs::path dir = gw_.dir() / "cli";
  fs::create_directories(dir);
  const std::string config = gw_.config_path().string();
  auto next_import = started_ + opts_.duration / 10;
  auto run = [&](const std::vector<std::string>& args) {
    auto r = run_cli(dir, args);
    std::string line = "bluelink";
    for (const auto& a : args) line += " " + a;
    if (r.exit_code != 0)
      fail(line + " exited " + std::to_string(r.exit_code) + ": " + r.err.substr(0, 300));
    return r;
  };
  for (int n = 0; pause(load_stop_, opts_.account_every + 500ms); ++n) {
    if (steady::now() >= next_import) {
      next_import += opts_.import_every;
      const auto k = static_cast<int>(imports_.load());
      const fs::path csv = dir / ("calls-" + std::to_string(k) + ".csv");
      std::ofstream(csv, std::ios::binary) << call_export(k * opts_.import_rows, opts_.import_rows);
      auto r = run({"calls", "import", csv.string(), "--config", config, "--json"});
      if (r.exit_code == 0) {
        const auto imported = json::parse(r.out).at("imported").get<std::uint64_t>();
        if (imported != static_cast<std::uint64_t>(opts_.import_rows))
          fail("call import " + csv.string() + " imported " + std::to_string(imported) + " of " +
               std::to_string(opts_.import_rows) + " rows: " + r.out.substr(0, 300));
        ++imports_;
        imported_rows_ += imported;
      }
    }
    // Each CLI account is added, given a new password, disabled and enabled again, in turn.
    const std::string name = "cli.user." + std::to_string(n / 4);
    std::vector<std::string> args;
    switch (n % 4) {
      case 0:
        args = {"user",       "add",      "--config", config,
                "--username", name,       "--name",   "Soak CLI user",
                "--role",     "operator", "--agency", all_agencies[n / 4 % 3],
                "--generate"};
        break;
      case 1:
        args = {"user", "passwd", "--config", config, "--username", name, "--generate"};
        break;
      case 2:
        args = {"user", "disable", "--config", config, "--username", name};
        break;
      default:
        args = {"user", "enable", "--config", config, "--username", name};
        break;
    }
    if (run(args).exit_code == 0) ++cli_changes_;
  }
}

void soak_run::reporter() {
  http_client c(port_);
  c.set_timeout(60s);
  // The longest range the API takes: 120 months up to this one.
  const std::string range = "from=" + month_before(119) + "&to=" + month_before(0);
  std::optional<console_session> manager;
  for (int n = 0; pause(load_stop_, opts_.report_every); ++n) {
    std::string why;
    if (!manager) manager = sign_in_as(c, "soak.manager", password, why);
    if (!manager) {
      fail(why);
      continue;
    }
    const std::string target =
        "/api/v1/reports/savings?" + range + (n % 3 == 2 ? "&format=csv" : "");
    try {
      auto r = c.request_with("GET", target, {}, {{"Cookie", manager->cookie}});
      if (r.status == 200)
        ++reports_;
      else
        fail("GET " + target + ": " + std::to_string(r.status) + " " + r.body.substr(0, 300));
    } catch (const std::exception& e) {
      fail("GET " + target + ": " + e.what());
    }
  }
}

void soak_run::monitor() {
  http_client c(port_);
  c.set_timeout(10s);
  std::optional<steady::time_point> bad_since;
  bool told = false;
  const double limit_s = opts_.busy_timeout_ms / 1000.0;
  while (!watch_stop_) {
    const auto t0 = steady::now();
    auto h = c.try_request("GET", "/healthz");
    auto m = c.try_request("GET", "/metrics");
    ++health_samples_;
    const bool health_ok = h && h->status == 200;
    if (!health_ok) ++health_not_ok_;
    const double failing =
        m && m->status == 200 ? metric_value(m->body, "bluelink_store_commits_failing") : -1;
    const double age = m && m->status == 200
                           ? metric_value(m->body, "bluelink_store_last_commit_age_seconds")
                           : -1;
    const double engine_up =
        m && m->status == 200 ? metric_value(m->body, "bluelink_engine_up") : -1;
    if (engine_up == 0) fail("bluelink_engine_up was 0");
    const bool bad = !health_ok || failing != 0;
    double streak = 0;
    if (bad) {
      if (!bad_since) bad_since = t0;
      streak = std::chrono::duration<double>(t0 - *bad_since).count();
      if (streak > limit_s && !told) {
        fail("commits kept failing (or /healthz was not ok) for more than " +
             std::to_string(limit_s) + " s: /healthz " + describe(h, c) +
             ", bluelink_store_commits_failing " + std::to_string(failing));
        told = true;
      }
    } else if (bad_since) {
      streak = std::chrono::duration<double>(t0 - *bad_since).count();
      bad_since.reset();
      told = false;
    }
    {
      std::lock_guard lock(mu_);
      worst_streak_s_ = std::max(worst_streak_s_, streak);
      max_commit_age_s_ = std::max(max_commit_age_s_, age);
      health_state_ = health_ok ? "ok" : (h ? std::to_string(h->status) : "no answer");
      if (failing > 0) health_state_ += " (commits failing)";
    }
    std::this_thread::sleep_until(t0 + 1s);
  }
}

// ---- reporting and checks ------------------------------------------------------------------

void soak_run::progress_line() {
  if (!opts_.progress) return;
  std::uint64_t cad_receipted = 0, delivered = 0, alerts = 0;
  for (const auto& s : sims_) {
    auto n = s->counters();
    cad_receipted += n.receipted;
    delivered += n.deliveries;
    alerts += n.alerts;
  }
  std::lock_guard lock(mu_);
  delivered += inbox_ids_.size();
  alerts += inbox_alerts_;
  *opts_.progress << "soak " << std::fixed << std::setprecision(0) << seconds_since(started_)
                  << " s | receipted http " << http_receipted_ << " cad " << cad_receipted
                  << " | delivered " << delivered << " | phone alerts " << alerts
                  << " | console events " << console_events_ << " | sign-ins " << sign_ins_
                  << " | account changes api " << api_changes_ << " cli " << cli_changes_
                  << " | reports " << reports_ << " | imports " << imports_ << " | healthz "
                  << health_state_ << " | worst failing streak " << std::setprecision(1)
                  << worst_streak_s_ << " s" << std::endl;
}

void soak_run::wait_settled() {
  for (auto& s : sims_)
    if (!s->wait_done(90s)) fail(s->agency() + ": the simulated CAD did not settle within 90 s");
  // Everything addressed to anyone has been delivered and acknowledged, and stays so for 2 s
  // (the last phone-fallback timers fire up to 4 s after the last submission).
  store::db d(gw_.db_path().string(), false, true);
  d.exec("PRAGMA busy_timeout = 5000");
  std::int64_t last_total = -1;
  int quiet = 0;
  const bool settled = eventually(
      [&] {
        const auto open = count(d,
                                "SELECT count(*) FROM deliveries d LEFT JOIN endpoints e"
                                " ON e.agency = d.agency WHERE d.seq > coalesce(e.acked_upto, 0)");
        const auto total = count(d, "SELECT count(*) FROM deliveries");
        quiet = open == 0 && total == last_total ? quiet + 1 : 0;
        last_total = total;
        return quiet >= 4;
      },
      60s, 500ms);
  if (!settled) fail("deliveries were still unacknowledged 60 s after the load ended");
}

void soak_run::check_nothing_lost() {
  store::db d(gw_.db_path().string(), false, true);
  d.exec("PRAGMA busy_timeout = 5000");
  // Every receipted HTTP submission is stored and was delivered to its recipient's CAD.
  std::size_t missing = 0, undelivered = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : http_sent_) {
      store::stmt m(d, "SELECT count(*) FROM messages WHERE id = ?");
      m.bind(1, s.id);
      if (!m.step() || m.int64(0) != 1) {
        if (++missing <= 5) failures_.push_back("receipted " + s.id + " is not in the store");
        continue;
      }
      store::stmt q(d,
                    "SELECT count(*) FROM deliveries d JOIN endpoints e ON e.agency = d.agency"
                    " WHERE d.agency = ? AND d.message_id = ? AND d.seq <= e.acked_upto");
      q.bind(1, s.to).bind(2, s.id);
      if (!q.step() || q.int64(0) != 1)
        if (++undelivered <= 5)
          failures_.push_back("receipted " + s.id + " was not delivered to " + s.to);
    }
  }
  if (missing) fail(std::to_string(missing) + " receipted HTTP submissions are not in the store");
  if (undelivered) fail(std::to_string(undelivered) + " receipted HTTP submissions undelivered");

  // Each CAD: every submit answered and nothing unexpected; each message it had receipted is
  // stored once; and it processed exactly the deliveries the store holds for it, all acknowledged.
  // What it processed is read from its state file: the simulator stops counting once it has
  // settled, while its client still takes (and records) late deliveries such as alerts.
  for (const auto& s : sims_) {
    const auto n = s->counters();
    std::int64_t processed = -1;
    try {
      processed = read_json(gw_.dir() / (s->agency() + ".state")).at("processed_upto");
    } catch (const std::exception& e) {
      fail(s->agency() + ": no state file: " + e.what());
    }
    result_.cad_receipted += n.receipted;
    result_.cad_requests += n.requests_sent;
    result_.delivered += std::max<std::int64_t>(processed, 0);
    result_.alerts += n.alerts;
    if (!sim::passed(n)) {
      fail(s->agency() + ": " + std::to_string(n.errors) + " errors, " +
           std::to_string(n.unanswered) + " submits unanswered");
      for (const auto& p : s->problems()) fail(s->agency() + ": " + p);
    }
    const auto stored =
        count(d, "SELECT count(*) FROM messages WHERE from_agency = ?", s->agency());
    const auto receipted = static_cast<std::int64_t>(n.receipted - n.duplicates_confirmed);
    if (stored != receipted)
      fail(s->agency() + ": " + std::to_string(receipted) + " messages receipted, " +
           std::to_string(stored) + " in the store");
    const auto queued = count(d, "SELECT count(*) FROM deliveries WHERE agency = ?", s->agency());
    const auto acked = count(
        d, "SELECT coalesce(max(acked_upto), 0) FROM endpoints WHERE agency = ?", s->agency());
    if (queued != acked || processed != queued)
      fail(s->agency() + ": " + std::to_string(queued) + " deliveries in the store, " +
           std::to_string(acked) + " acknowledged, " + std::to_string(processed) +
           " processed by the CAD");
  }
  // The Ambulance Service read every delivery of its inbox.
  {
    const auto queued =
        count(d, "SELECT count(*) FROM deliveries WHERE agency = ?", eeast_ambulance);
    std::lock_guard lock(mu_);
    result_.delivered += inbox_ids_.size();
    result_.alerts += inbox_alerts_;
    if (static_cast<std::int64_t>(inbox_ids_.size()) != queued)
      failures_.push_back("Ambulance inbox: " + std::to_string(queued) + " deliveries stored, " +
                          std::to_string(inbox_ids_.size()) + " read");
  }
  result_.phone_fallbacks =
      count(d, "SELECT count(*) FROM transfer_events WHERE kind = 'phone_fallback'");

  // The load really was mixed: every kind of work happened.
  const std::pair<const char*, std::uint64_t> done[] = {
      {"HTTP submissions receipted", http_receipted_},
      {"repeated HTTP submissions", http_duplicates_},
      {"CAD transfer requests", result_.cad_requests},
      {"phone-fallback alerts", result_.alerts},
      {"console events", console_events_},
      {"sign-ins", sign_ins_},
      {"account changes over the API", api_changes_},
      {"account changes with the CLI", cli_changes_},
      {"savings reports", reports_},
      {"call imports", imports_}};
  for (const auto& [what, n] : done)
    if (n == 0) fail(std::string("no ") + what + " during the soak");
  for (int i = 0; i < 3; ++i)
    if (console_events_by_[i] == 0) fail(console_users[i] + " received no events");
}

void soak_run::read_logs() {
  const auto log = gw_.stderr_text();
  result_.commit_failures_logged = occurrences(log, "event=commit_failed");
  result_.reads_left_open_logged = occurrences(log, "event=store_read_left_open");
}

void soak_run::check_unwritable_store() {
  http_client c(port_);
  c.set_timeout(10s);
  // Another connection takes the write lock and keeps it: the store stays unwritable.
  store::db lock(gw_.db_path().string(), false, false);
  lock.exec("PRAGMA busy_timeout = 10000");
  lock.exec("BEGIN IMMEDIATE");
  const auto locked_at = steady::now();
  // Within 5 s, whatever the busy timeout: the idle timer sweep commits every 250 ms, so /healthz
  // says "not committing" after 4 s without a commit, before the busy timeout fails one.
  const auto limit = 5s;
  std::optional<http_response> h;
  const bool turned = eventually(
      [&] {
        h = c.try_request("GET", "/healthz");
        return h && h->status == 503;
      },
      limit, 50ms);
  if (turned) {
    result_.unwritable_to_503_s = seconds_since(locked_at);
    const auto store = h->json.value("store", "");
    if (store != "failing" && store != "not committing")
      fail("/healthz was 503 without \"store\":\"failing\" or \"not committing\": " + h->body);
  } else {
    fail("/healthz was still " + describe(h, c) + " " +
         std::to_string(std::chrono::duration<double>(limit).count()) +
         " s after the store became unwritable");
  }
  lock.exec("ROLLBACK");
  const auto released_at = steady::now();
  if (eventually(
          [&] {
            auto r = c.try_request("GET", "/healthz");
            return r && r->status == 200;
          },
          15s, 50ms))
    result_.recovered_to_200_s = seconds_since(released_at);
  else
    fail("/healthz did not return to 200 within 15 s of the store becoming writable again");
}

soak_result soak_run::run() {
  configure();
  add_users();
  gw_.start();
  port_ = gw_.port();
  start_cads();
  started_ = steady::now();

  // Each load thread ends on its own stop flag; anything it throws is a failed check, not an
  // ended test process.
  auto guarded = [this](const char* name, std::function<void()> work) {
    return std::thread([this, name, work = std::move(work)] {
      try {
        work();
      } catch (const std::exception& e) {
        fail(std::string(name) + " ended early: " + e.what());
      }
    });
  };
  std::vector<std::thread> load, watch;
  watch.push_back(guarded("monitor", [this] { monitor(); }));
  watch.push_back(guarded("Ambulance inbox", [this] { inbox_reader(); }));
  for (int i = 0; i < 3; ++i) watch.push_back(guarded("console", [this, i] { console_reader(i); }));
  load.push_back(guarded("HTTP submissions", [this] { http_sender(); }));
  load.push_back(guarded("API accounts", [this] { api_accounts(); }));
  load.push_back(guarded("CLI accounts and imports", [this] { cli_accounts(); }));
  load.push_back(guarded("reports", [this] { reporter(); }));

  const auto end = started_ + opts_.duration;
  auto next_line = started_ + opts_.progress_every;
  while (steady::now() < end) {
    std::this_thread::sleep_until(std::min(end, next_line));
    if (steady::now() >= next_line) {
      progress_line();
      next_line += opts_.progress_every;
    }
  }
  result_.seconds = seconds_since(started_);
  load_stop_ = true;
  for (auto& t : load) t.join();
  for (auto& s : sims_) s->finish();
  wait_settled();
  watch_stop_ = true;
  for (auto& t : watch) t.join();
  for (auto& s : sims_) s->stop();
  progress_line();

  check_nothing_lost();
  read_logs();
  check_unwritable_store();

  std::lock_guard lock(mu_);
  result_.http_receipted = http_receipted_;
  result_.http_refused = http_refused_;
  result_.http_duplicates = http_duplicates_;
  result_.console_events = console_events_;
  result_.console_reconnects = console_reconnects_;
  result_.sign_ins = sign_ins_;
  result_.api_account_changes = api_changes_;
  result_.cli_account_changes = cli_changes_;
  result_.reports = reports_;
  result_.imports = imports_;
  result_.imported_rows = imported_rows_;
  result_.health_samples = health_samples_;
  result_.health_not_ok = health_not_ok_;
  result_.worst_failing_streak_s = worst_streak_s_;
  result_.max_last_commit_age_s = max_commit_age_s_;
  result_.failures = failures_;
  result_.console_drops = console_drops_;
  return result_;
}

}  // namespace

std::string soak_result::summary() const {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  o << "soak: " << seconds << " s of mixed load\n"
    << "  submissions:   " << http_receipted << " HTTP receipted (Ambulance requests and accepts; "
    << http_refused << " refused: 5xx sent again, 409 conflicts; " << http_duplicates
    << " repeats answered with the first receipt), " << cad_receipted << " CAD messages receipted ("
    << cad_requests << " transfer requests)\n"
    << "  delivered:     " << delivered << " deliveries processed, all acknowledged; " << alerts
    << " phone-fallback alerts, " << phone_fallbacks << " phone_fallback events\n"
    << "  consoles:      " << console_events << " events on 3 WebSockets, " << console_reconnects
    << " reconnects\n"
    << "  accounts:      " << sign_ins << " sign-ins, " << api_account_changes
    << " changes over the API, " << cli_account_changes << " with the CLI\n"
    << "  reports:       " << reports << " savings reports over 120 months\n"
    << "  imports:       " << imports << " call imports, " << imported_rows << " rows\n"
    << "  health:        " << health_samples << " samples, " << health_not_ok
    << " not 200; worst failing streak " << worst_failing_streak_s << " s; highest last-commit age "
    << max_last_commit_age_s << " s\n"
    << "  gateway log:   " << commit_failures_logged << " commit_failed, " << reads_left_open_logged
    << " store_read_left_open\n"
    << "  unwritable:    /healthz 503 after " << unwritable_to_503_s << " s; 200 again "
    << recovered_to_200_s << " s after the lock went\n";
  for (std::size_t i = 0; i < console_drops.size() && i < 5; ++i)
    o << "  console drop:  " << console_drops[i] << "\n";
  if (failures.empty()) {
    o << "PASSED\n";
  } else {
    o << "FAILED (" << failures.size() << ")\n";
    for (const auto& f : failures) o << "  - " << f << "\n";
  }
  return o.str();
}

soak_result run_soak(const soak_options& opts) {
  soak_run run(opts);
  return run.run();
}

}  // namespace bl::test
