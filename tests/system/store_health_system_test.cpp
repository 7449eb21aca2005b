// A store that stops taking writes must never look healthy: the real gateway binary with another
// connection holding the database's write lock (as a stuck CLI command or a wedged connection
// would). /healthz turns 503 and names the store within seconds, submissions get a coded 503 and
// nothing half-stored, /metrics says so, and everything recovers by itself when the lock goes.

#include <sqlite3.h>

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;
using namespace std::chrono_literals;

/// Another connection on the gateway's database that holds its write lock until released.
class write_lock_holder {
 public:
  explicit write_lock_holder(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
    REQUIRE(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  void release() {
    if (!db_) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  ~write_lock_holder() { release(); }

 private:
  sqlite3* db_ = nullptr;
};

double metric_value(const std::string& body, const std::string& name) {
  auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE(
    "a store that stops taking writes turns /healthz to 503 within seconds, refuses "
    "submissions with a code, and recovers by itself",
    "[system][health][store]") {
  // A 1 s busy timeout: each transaction waits that long for the lock before it fails.
  gateway_process gw(json{{"database", {{"busy_timeout_ms", 1000}}}});
  http_client monitor(gw.port());
  http_client fire(gw.port());
  REQUIRE(monitor.get("/healthz", "").status == 200);
  REQUIRE(fire.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire)),
                    gateway_process::token(essex_fire))
              .status == 202);

  write_lock_holder lock(gw.db_path().string());
  const auto locked_at = std::chrono::steady_clock::now();
  http_response health;
  REQUIRE(eventually(
      [&] {
        health = monitor.get("/healthz", "");
        return health.status == 503;
      },
      5s, 50ms));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - locked_at).count();
  WARN("/healthz turned 503 " << took << " s after the write lock was taken");
  CHECK(health.json["status"] == "unavailable");
  CHECK(health.json["store"] == "failing");
  CHECK(health.json["store_error"].get<std::string>().find("locked") != std::string::npos);

  // A submission meanwhile is refused with a code that says nothing was stored.
  auto refused = fire.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire)),
                           gateway_process::token(essex_fire));
  CHECK(refused.status == 503);
  CHECK(refused.json["error"]["code"] == "bl.store.busy");
  auto metrics = monitor.get("/metrics", "");
  CHECK(metric_value(metrics.body, "bluelink_store_commits_failing") == 1);
  CHECK(metric_value(metrics.body, "bluelink_engine_up") == 1);
  CHECK(gw.stderr_text().find("event=commit_failed") != std::string::npos);

  // The lock goes: commits resume, /healthz is ok again, and submissions are stored.
  lock.release();
  REQUIRE(eventually([&] { return monitor.get("/healthz", "").status == 200; }, 10s, 50ms));
  CHECK(fire.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire)),
                  gateway_process::token(essex_fire))
            .status == 202);
  CHECK(metric_value(monitor.get("/metrics", "").body, "bluelink_store_commits_failing") == 0);
  CHECK(gw.stderr_text().find("event=commits_resumed") != std::string::npos);
}
