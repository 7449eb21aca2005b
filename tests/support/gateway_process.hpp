#pragma once
// Runs the real bluelink-gateway binary for system tests, in a temporary directory of its own with
// a config for three Essex agencies, and builds realistic messages to send to it.
//
// Ownership: a gateway_process owns its temporary directory and the child process; the destructor
// kills the child (SIGKILL) and removes the directory (set BL_KEEP_TEST_DIRS=1 to keep it).
// Threading: not thread-safe; start, kill and restart it from one thread. The child is started
// with PR_SET_PDEATHSIG, so it dies with the thread that started it: start it from the test's
// main thread. port() may be read from other threads through current_port().

#include <sys/types.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/store/writer.hpp"
#include "tests/support/test_store.hpp"

namespace bl::test {

/// The agencies configured in every test gateway.
inline const std::string essex_fire = "essex-fire";
inline const std::string essex_police = "essex-police";
inline const std::string eeast_ambulance = "eeast-ambulance";

/// The test process's environment for a child (gateway or CLI), with BLUELINK_SCHEMAS pointing at
/// the source tree's schemas/.
std::vector<std::string> child_environment();

class gateway_process {
 public:
  /// Prepares the directory and config; `config_patch` is an RFC 7396 merge patch applied to the
  /// default config (e.g. {"log":{"level":"warn"}}). Starts the gateway unless `start_now` is
  /// false.
  explicit gateway_process(const nlohmann::json& config_patch = nlohmann::json::object(),
                           bool start_now = true);
  ~gateway_process();
  gateway_process(const gateway_process&) = delete;
  gateway_process& operator=(const gateway_process&) = delete;

  /// The bearer token of a configured agency (its SHA-256 is in the config).
  static std::string token(const std::string& agency);

  /// Starts the binary and waits up to `timeout` for its ready file; throws std::runtime_error
  /// with the gateway's stderr if it exits or does not become ready in time.
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Starts the binary without waiting (for start-up failures the test expects).
  void launch();
  /// Waits for the child to exit; returns its exit code, or 128 + signal if a signal ended it.
  /// Throws std::runtime_error if it is still running after `timeout`.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Without waiting: the child's exit code (as wait_exit) if it has exited since it started,
  /// nullopt while it runs (or when none was started).
  std::optional<int> exited();
  /// Sends `sig` to the running child (no-op when none is running).
  void kill(int sig);
  /// SIGKILLs a running child, then starts again on the same database.
  void restart();
  bool running() const { return pid_ > 0; }
  /// The running child's process id (-1 when none runs), e.g. for /proc/<pid>/stat.
  pid_t pid() const { return pid_; }
  /// Starts later runs with RLIMIT_NOFILE (soft and hard) set to `n`; 0 leaves it inherited.
  void set_open_files_limit(unsigned long n) { open_files_limit_ = n; }

  unsigned short port() const { return port_.load(); }
  const std::atomic<unsigned short>& current_port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  /// The SQLite file (meaningful only when !on_postgres()).
  std::filesystem::path db_path() const { return dir_ / "bluelink.db"; }
  /// The store the gateway runs on: its SQLite file, or (BLUELINK_TEST_ENGINE=postgres) a
  /// database of its own on the test process's PostgreSQL server (tests/support/test_store.hpp).
  const test_store& store() const { return *store_; }
  /// Options that open the gateway's store, for a reader or writer in a test.
  bl::store::store_options store_options() const { return store_->options(); }
  std::int64_t query_int(const std::string& sql, const std::vector<std::string>& args = {}) const {
    return store_->query_int(sql, args);
  }
  std::vector<std::vector<std::string>> query_rows(
      const std::string& sql, const std::vector<std::string>& args = {}) const {
    return store_->query_rows(sql, args);
  }
  std::filesystem::path config_path() const { return dir_ / "gateway.json"; }
  /// Everything the current (or last) run wrote to stderr.
  std::string stderr_text() const;
  /// The config that is written before each start; tests may edit it before start()/restart().
  nlohmann::json& config() { return config_; }

 private:
  void write_config() const;
  /// Kills a running child and removes the directory (unless BL_KEEP_TEST_DIRS is set).
  void clean_up() noexcept;
  std::filesystem::path ready_path() const { return dir_ / "ready.json"; }
  std::filesystem::path stderr_path() const;

  std::filesystem::path dir_;
  std::unique_ptr<test_store> store_;
  nlohmann::json config_;
  pid_t pid_ = -1;
  int runs_ = 0;
  unsigned long open_files_limit_ = 0;
  std::atomic<unsigned short> port_{0};
};

/// The current UTC time as RFC 3339 with milliseconds, as the gateway writes it.
std::string utc_now();
/// A fresh message id for `agency`: "<agency>:<random hex>" plus `hint` for readable logs.
std::string new_message_id(const std::string& agency, const std::string& hint = "msg");

/// Essex Fire asks Essex Police for traffic management at a two-vehicle RTC on the A12 with a
/// driver trapped (emergency).
nlohmann::json a12_rtc_request(const std::string& id);
/// Essex Police asks Essex Fire to force entry to a flat in Colchester for a collapsed man.
nlohmann::json forced_entry_request(const std::string& id);
/// Essex Fire asks the ambulance service for casualty care at a house fire in Harlow.
nlohmann::json casualty_care_request(const std::string& id);
/// A request from `from` to `to` of `category` (the A12 RTC scene), for load and crash tests.
nlohmann::json request_between(const std::string& id, const std::string& from,
                               const std::string& to,
                               const std::string& category = "police.traffic_management");
/// A follow-up (received, accept, update, ...) on a transfer; `version` is left out when empty.
nlohmann::json party_message(const std::string& id, const std::string& type,
                             const std::string& from, const std::string& transfer_id,
                             nlohmann::json body, std::optional<std::int64_t> version = {});

}  // namespace bl::test
