#include "tests/support/gateway_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "gateway/core/digest.hpp"
#include "gateway/core/time_util.hpp"
#include "tools/samples/sample_requests.hpp"

extern char** environ;

namespace bl::test {

std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "BLUELINK_SCHEMAS=", 17) != 0) env.emplace_back(*e);
  env.push_back(std::string("BLUELINK_SCHEMAS=") + BL_SOURCE_DIR + "/schemas");
  return env;
}

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json default_config(const fs::path& db) {
  json agencies = json::array();
  json tokens = json::array();
  const std::pair<const char*, const char*> kinds[] = {
      {"essex-fire", "fire"}, {"essex-police", "police"}, {"eeast-ambulance", "ambulance"}};
  const char* names[] = {"Essex County Fire and Rescue Service", "Essex Police",
                         "East of England Ambulance Service"};
  const char* phones[] = {"01632 960100", "01632 960200", "01632 960300"};
  for (int i = 0; i < 3; ++i) {
    agencies.push_back({{"id", kinds[i].first},
                        {"name", names[i]},
                        {"kind", kinds[i].second},
                        {"phone", phones[i]}});
    tokens.push_back({{"agency", kinds[i].first},
                      {"sha256", bl::sha256_hex(gateway_process::token(kinds[i].first))},
                      {"label", std::string("system test token for ") + kinds[i].first}});
  }
  return {
      {"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
      {"database", {{"path", db.string()}, {"synchronous", "full"}}},
      {"agencies", agencies},
      {"tokens", tokens},
      {"priorities",
       {{"emergency",
         {{"time_to_delivery_s", 60}, {"time_to_decision_s", 180}, {"default_expiry_s", 900}}},
        {"urgent",
         {{"time_to_delivery_s", 300}, {"time_to_decision_s", 900}, {"default_expiry_s", 3600}}},
        {"routine",
         {{"time_to_delivery_s", 1800},
          {"time_to_decision_s", 14400},
          {"default_expiry_s", 86400}}}}},
      // Load and crash tests measure other things than the per-agency limits, which have a
      // test of their own with low values (rate_limit_system_test).
      {"limits",
       {{"agency_submissions_per_second", 1000000},
        {"agency_submission_burst", 1000000},
        {"inbox_quota", 10000000}}},
      {"log", {{"level", "info"}}}};
}

fs::path make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "bluelink-system.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  return tmpl;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

gateway_process::gateway_process(const json& config_patch, bool start_now)
    : dir_(make_temp_dir()), config_(default_config(db_path())) {
  try {
    store_ = std::make_unique<test_store>(db_path().string());
  } catch (...) {
    clean_up();
    throw;
  }
  if (store_->postgres())
    config_["database"] = {{"engine", "postgres"}, {"conninfo", store_->options().conninfo}};
  config_.merge_patch(config_patch);
  if (!start_now) return;
  try {
    start();
  } catch (...) {
    // The destructor will not run for an object that was never constructed.
    clean_up();
    throw;
  }
}

gateway_process::~gateway_process() {
  clean_up();
}

void gateway_process::clean_up() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (!std::getenv("BL_KEEP_TEST_DIRS")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  store_.reset();  // drops its PostgreSQL database, if it has one
}

std::string gateway_process::token(const std::string& agency) {
  return "bl-test-token-for-" + agency;
}

fs::path gateway_process::stderr_path() const {
  return dir_ / ("gateway-" + std::to_string(runs_) + ".stderr");
}

std::string gateway_process::stderr_text() const {
  return read_file(stderr_path());
}

void gateway_process::write_config() const {
  std::ofstream out(config_path());
  out << config_.dump(2) << '\n';
  if (!out) throw std::runtime_error("cannot write " + config_path().string());
}

void gateway_process::launch() {
  if (running()) throw std::logic_error("the gateway is already running");
  write_config();
  std::error_code ec;
  fs::remove(ready_path(), ec);
  ++runs_;

  // Everything the child needs is prepared before fork(): between fork and exec only
  // async-signal-safe calls are allowed, and the test may have other threads running.
  const std::string bin = BL_GATEWAY_BIN;
  if (!fs::exists(bin))
    throw std::runtime_error("the gateway binary " + bin +
                             " does not exist; build bluelink-gateway");
  std::vector<std::string> args = {bin, "--config", config_path().string(), "--ready-file",
                                   ready_path().string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = child_environment();
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string err_file = stderr_path().string();
  const std::string out_file = (dir_ / "gateway.stdout").string();
  const std::string work_dir = dir_.string();
  const pid_t parent = getpid();
  const unsigned long open_files_limit = open_files_limit_;

  pid_t pid = fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    // Die with the test: a failed or interrupted test run must not leave gateways behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &dfl, nullptr);
    sigaction(SIGINT, &dfl, nullptr);
    int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err < 0 || out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
      _exit(126);
    // The test's own sockets must not leak into the gateway.
    close_range(3, ~0U, 0);
    if (open_files_limit) {
      rlimit rl{};
      rl.rlim_cur = rl.rlim_max = open_files_limit;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
    }
    if (chdir(work_dir.c_str()) != 0) _exit(126);
    execve(bin.c_str(), argv.data(), envp.data());
    // Only async-signal-safe calls here: format errno by hand.
    char msg[] = "system test: execve of the gateway binary failed, errno 000\n";
    int e = errno;
    for (int i = 0; i < 3; ++i, e /= 10) msg[sizeof msg - 3 - i] = static_cast<char>('0' + e % 10);
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
  }
  pid_ = pid;
}

void gateway_process::start(std::chrono::milliseconds timeout) {
  launch();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // The gateway renames a finished file into place, so a file that exists is complete.
    if (fs::exists(ready_path())) {
      json ready = json::parse(read_file(ready_path()), nullptr, false);
      if (!ready.is_discarded() && ready.contains("port")) {
        port_ = ready.at("port").get<unsigned short>();
        return;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("bluelink-gateway exited with code " +
                               std::to_string(decode_status(status)) +
                               " before it was ready; its stderr:\n" + stderr_text());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(SIGKILL);
      wait_exit();
      throw std::runtime_error("bluelink-gateway did not write its ready file within " +
                               std::to_string(timeout.count()) + " ms; its stderr:\n" +
                               stderr_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int gateway_process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("no gateway is running");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return decode_status(status);
    }
    if (r < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("bluelink-gateway (pid " + std::to_string(pid_) +
                               ") did not exit within " + std::to_string(timeout.count()) +
                               " ms; its stderr:\n" + stderr_text());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::optional<int> gateway_process::exited() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return std::nullopt;
  pid_ = -1;
  return decode_status(status);
}

void gateway_process::kill(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void gateway_process::restart() {
  if (running()) {
    kill(SIGKILL);
    wait_exit();
  }
  start();
}

std::string utc_now() {
  return format_rfc3339(now_ms());
}

std::string new_message_id(const std::string& agency, const std::string& hint) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
  return agency + ":" + hint + "-" + hex;
}

json a12_rtc_request(const std::string& id) {
  return samples::a12_rtc_request(id);
}

json forced_entry_request(const std::string& id) {
  json m = json::parse(R"json({
    "type": "transfer.request",
    "from": "essex-police",
    "to": ["essex-fire"],
    "body": {
      "category": "fire.forced_entry",
      "priority": "emergency",
      "ask": "attend",
      "summary": "Concern for welfare, Butt Road Colchester: elderly male heard calling, officers cannot gain entry",
      "sender_incident": {"number": "ESX-20261121-0388", "system": "STORM"},
      "methane": {
        "major_incident": "not_declared",
        "exact_location": {
          "address": "Flat 3, 27 Butt Road, Colchester",
          "postcode": "CO3 3BZ",
          "uprn": "10004951234",
          "directions": "Communal door at the side of the building; flat 3 is on the first floor"
        },
        "type_of_incident": {
          "code": "CBCD",
          "text": "Male in his 80s heard calling for help inside a first-floor flat, door locked"
        },
        "hazards": [{"hazard": "Oxygen concentrator in use at the address", "status": "suspected"}],
        "casualties": {"urgent": 1},
        "emergency_services": {
          "present": ["Police: 2 officers on scene"],
          "required": ["Fire: forced entry to flat 3"]
        }
      },
      "contact": {"name": "PS 2210 Dan Moore", "role": "Force Incident Manager", "phone": "01632 960201"}
    }
  })json");
  m["id"] = id;
  m["sent_at"] = utc_now();
  return m;
}

json casualty_care_request(const std::string& id) {
  json m = json::parse(R"json({
    "type": "transfer.request",
    "from": "essex-fire",
    "to": ["eeast-ambulance"],
    "body": {
      "category": "ambulance.casualty_care",
      "priority": "emergency",
      "ask": "attend",
      "summary": "House fire Harlow, two occupants rescued by crews, one unconscious with smoke inhalation",
      "sender_incident": {"number": "F-2611-004498", "system": "ECFRS Vision"},
      "methane": {
        "major_incident": "not_declared",
        "exact_location": {
          "wgs84": {"lat": 51.7625, "lon": 0.105, "accuracy_m": 10},
          "address": "17 Tilegate Road, Harlow",
          "postcode": "CM18 6LW"
        },
        "type_of_incident": {"code": "FIRE", "text": "Kitchen fire in a two-storey house, two persons rescued"},
        "hazards": [{"hazard": "Smoke", "status": "present"}],
        "casualties": {"immediate": 1, "minor": 1},
        "emergency_services": {"present": ["Fire: 3 pumps (Harlow, Epping)"],
                               "required": ["Ambulance: 2 ambulances"]}
      }
    }
  })json");
  m["id"] = id;
  m["sent_at"] = utc_now();
  return m;
}

json request_between(const std::string& id, const std::string& from, const std::string& to,
                     const std::string& category) {
  json m = a12_rtc_request(id);
  m["from"] = from;
  m["to"] = json::array({to});
  m["body"]["category"] = category;
  // An incident number is at most 40 characters.
  m["body"]["sender_incident"] = {{"number", ("INC-" + id.substr(id.find(':') + 1)).substr(0, 40)}};
  m["body"].erase("contact");
  return m;
}

json party_message(const std::string& id, const std::string& type, const std::string& from,
                   const std::string& transfer_id, json body, std::optional<std::int64_t> version) {
  json m = {{"id", id},
            {"type", type},
            {"from", from},
            {"sent_at", utc_now()},
            {"transfer_id", transfer_id},
            {"body", std::move(body)}};
  if (version) m["version"] = *version;
  return m;
}

}  // namespace bl::test
