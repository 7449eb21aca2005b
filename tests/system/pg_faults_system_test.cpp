// The real gateway on a real PostgreSQL server that fails under it (issue 15): the server killed
// while submissions stream in, the gateway's connections dropped, the server's disk full and a
// serialization failure (both raised by the server itself, from a trigger, with their SQLSTATEs).
// Each gives the waiting callers 503 with a bl.store.* code, receipts nothing that was not
// committed, turns /healthz to 503 while it lasts, and the gateway carries on by itself once the
// server is back: every receipted message is in the database exactly once and the audit chain
// verifies. A CAD that says hello meanwhile is refused with bl.store.unavailable, and the CAD link
// goes on.

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/reader.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"
#include "tools/pg_server/pg_server.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;
using namespace std::chrono_literals;
namespace pg = bl::store::postgres;

/// A gateway whose store is database `bluelink` on `server` (its own, so that the test may kill
/// it), instead of the SQLite file or the shared server of BLUELINK_TEST_ENGINE=postgres.
json on_server(pg_server& server) {
  server.create_database("bluelink");
  return json{{"database",
               {{"path", nullptr},
                {"synchronous", nullptr},
                {"engine", "postgres"},
                {"conninfo", server.conninfo("bluelink")},
                {"busy_timeout_ms", 2000}}},
              {"log", {{"level", "warn"}}}};
}

/// Submitters that keep sending requests from Fire to Police and remember what was receipted,
/// and every refusal's status and code.
class submitters {
 public:
  explicit submitters(const gateway_process& gw, int threads = 2) {
    for (int n = 0; n < threads; ++n) threads_.emplace_back([this, &gw, n] { run(gw, n); });
  }
  ~submitters() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  std::size_t receipted() {
    std::lock_guard<std::mutex> lock(mu_);
    return receipted_.size();
  }
  std::vector<std::string> receipted_ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return {receipted_.begin(), receipted_.end()};
  }
  std::map<std::string, int> refusals() {
    std::lock_guard<std::mutex> lock(mu_);
    return refusals_;
  }
  /// Anything but a receipt or a coded 503 (a 500, a malformed answer, a receipt that differs).
  std::vector<std::string> problems() {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }

 private:
  void run(const gateway_process& gw, int n) {
    http_client c(gw.port());
    int i = 0;
    while (!stop_) {
      // Each message is sent until it is receipted (at least once, then deduplicated), as a
      // CAD would.
      const std::string id =
          new_message_id(essex_fire, "pg" + std::to_string(n) + "-" + std::to_string(i++));
      const json doc = request_between(id, essex_fire, essex_police);
      while (!stop_) {
        auto r = c.post("/api/v1/messages", doc, gateway_process::token(essex_fire));
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (r.status == 202 || r.status == 200) {
            receipted_.insert(id);
            break;
          }
          if (r.status == 503 && r.json.is_object() && r.json.contains("error")) {
            ++refusals_[r.json["error"].value("code", "")];
          } else if (r.status != 0) {  // 0: the connection broke; send again
            problems_.push_back(id + ": HTTP " + std::to_string(r.status) + " " + r.body);
            return;
          }
        }
        std::this_thread::sleep_for(20ms);
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::set<std::string> receipted_;
  std::map<std::string, int> refusals_;
  std::vector<std::string> problems_;
};

std::int64_t count_of(pg_server& server, const std::string& sql, const std::string& arg) {
  pg::connection c(server.conninfo("bluelink"));
  auto r = c.query(sql, {arg});
  return r.int64(0, 0);
}

/// Every receipted message stored once, queued for Police once, and the audit chain intact.
void check_nothing_receipted_lost(pg_server& server, const std::vector<std::string>& receipted) {
  std::size_t bad = 0;
  for (const auto& id : receipted) {
    auto stored = count_of(server, "SELECT count(*) FROM messages WHERE id = $1", id);
    auto queued = count_of(server, "SELECT count(*) FROM deliveries WHERE message_id = $1", id);
    if ((stored != 1 || queued != 1) && ++bad <= 5)
      UNSCOPED_INFO(id << ": stored " << stored << ", queued " << queued);
  }
  CHECK(bad == 0);
  bl::store::store_options opts("");
  opts.engine = bl::store::engine_kind::postgres;
  opts.conninfo = server.conninfo("bluelink");
  auto report = bl::store::open_reader(opts)->verify_audit();
  INFO(report.problem);
  CHECK(report.ok);
  CHECK(report.rows >= static_cast<std::int64_t>(receipted.size()));
}

/// Whether every refusal the submitters got was a store fault (nothing else may show).
bool only_store_codes(const std::map<std::string, int>& refusals) {
  for (const auto& [code, n] : refusals) {
    UNSCOPED_INFO(code << ": " << n);
    if (code.rfind("bl.store.", 0) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE(
    "PostgreSQL killed under a stream of submissions: 503 bl.store.unavailable meanwhile, the "
    "gateway carries on by itself when it is back, nothing receipted is lost",
    "[system][postgres][store]") {
  pg_server server;
  gateway_process gw(on_server(server));
  http_client monitor(gw.port());
  submitters load(gw);
  REQUIRE(eventually([&] { return load.receipted() >= 30; }, 20s, 20ms));

  server.kill();  // the database machine loses power: mid-batch, whatever was in flight
  REQUIRE(eventually([&] { return monitor.get("/healthz", "").status == 503; }, 10s, 50ms));
  // The reader's ping names the server it cannot reach (never its password).
  auto health = monitor.get("/healthz", "");
  CHECK(health.json["status"] == "unavailable");
  CHECK(health.json["store"].get<std::string>().find("cannot be reached") != std::string::npos);
  REQUIRE(eventually([&] { return load.refusals()["bl.store.unavailable"] > 0; }, 10s, 50ms));
  const auto receipted_while_down = load.receipted();
  std::this_thread::sleep_for(500ms);
  CHECK(load.receipted() == receipted_while_down);  // nothing receipted without a server

  server.start();
  REQUIRE(eventually([&] { return monitor.get("/healthz", "").status == 200; }, 20s, 100ms));
  REQUIRE(eventually([&] { return load.receipted() >= receipted_while_down + 30; }, 20s, 20ms));
  load.stop();
  for (const auto& p : load.problems()) UNSCOPED_INFO(p);
  CHECK(load.problems().empty());
  CHECK(only_store_codes(load.refusals()));
  CHECK(gw.stderr_text().find("event=commit_failed") != std::string::npos);
  CHECK(gw.stderr_text().find("event=commits_resumed") != std::string::npos);
  check_nothing_receipted_lost(server, load.receipted_ids());
  CHECK(gw.running());
}

TEST_CASE(
    "the gateway's PostgreSQL connections dropped by the server: it connects again by itself "
    "and nothing receipted is lost",
    "[system][postgres][store]") {
  pg_server server;
  gateway_process gw(on_server(server));
  submitters load(gw);
  REQUIRE(eventually([&] { return load.receipted() >= 30; }, 20s, 20ms));
  // What a failover proxy, an idle-session killer or an operator's pg_terminate_backend does.
  for (int round = 0; round < 3; ++round) {
    server.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'bluelink' AND "
        "pid <> pg_backend_pid()");
    const auto before = load.receipted();
    REQUIRE(eventually([&] { return load.receipted() >= before + 20; }, 20s, 20ms));
  }
  load.stop();
  for (const auto& p : load.problems()) UNSCOPED_INFO(p);
  CHECK(load.problems().empty());
  CHECK(only_store_codes(load.refusals()));
  check_nothing_receipted_lost(server, load.receipted_ids());
}

TEST_CASE(
    "the server's disk full, and a serialization failure, give 503 with their bl.store code and "
    "pass by themselves",
    "[system][postgres][store]") {
  pg_server server;
  gateway_process gw(on_server(server));
  http_client monitor(gw.port());
  http_client fire(gw.port());
  REQUIRE(fire.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire)),
                    gateway_process::token(essex_fire))
              .status == 202);

  // The server raises the fault itself, with the SQLSTATE it uses for the real thing: 53100
  // (disk_full) when it cannot extend a file, 40001 (serialization_failure).
  auto inject = [&](const std::string& sqlstate) {
    server.psql(
        "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'injected fault' USING ERRCODE = '" +
            sqlstate +
            "'; END $$;"
            " CREATE TRIGGER injected_fault BEFORE INSERT ON messages FOR EACH ROW EXECUTE "
            "FUNCTION injected_fault();",
        "bluelink");
  };
  auto clear = [&] {
    server.psql("DROP TRIGGER injected_fault ON messages; DROP FUNCTION injected_fault();",
                "bluelink");
  };
  const std::pair<const char*, const char*> faults[] = {{"53100", "bl.store.disk_full"},
                                                        {"40001", "bl.store.conflict"}};
  std::vector<std::string> receipted;
  for (const auto& [sqlstate, code] : faults) {
    INFO("SQLSTATE " << sqlstate);
    inject(sqlstate);
    const std::string refused_id = new_message_id(essex_fire, "refused");
    auto refused = fire.post("/api/v1/messages", a12_rtc_request(refused_id),
                             gateway_process::token(essex_fire));
    CHECK(refused.status == 503);
    CHECK(refused.json["error"]["code"] == code);
    CHECK(count_of(server, "SELECT count(*) FROM messages WHERE id = $1", refused_id) == 0);
    // Logged with its code (the timer sweep's next commit, which inserts no message, succeeds
    // within 250 ms, so /healthz and the failing gauge may already be back to normal).
    CHECK(eventually([&] {
      return gw.stderr_text().find(std::string("event=commit_failed code=") + code) !=
             std::string::npos;
    }));

    clear();
    // The same message again, as its sender would: now stored, once.
    auto accepted = fire.post("/api/v1/messages", a12_rtc_request(refused_id),
                              gateway_process::token(essex_fire));
    CHECK(accepted.status == 202);
    receipted.push_back(refused_id);
    CHECK(eventually([&] { return monitor.get("/healthz", "").status == 200; }));
  }
  check_nothing_receipted_lost(server, receipted);
}

TEST_CASE(
    "a CAD that says hello while PostgreSQL is down is told bl.store.unavailable, the CAD link "
    "goes on, and the CAD's session opens once the server is back",
    "[system][postgres][store]") {
  pg_server server;
  gateway_process gw(on_server(server), false);
  const auto gateway_key = new_curve_keys();
  const auto police_key = new_curve_keys();
  std::ofstream(gw.dir() / "gateway.key")
      << json{{"public", gateway_key.public_key}, {"secret", gateway_key.secret_key}}.dump();
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(fixed_test_port());
  gw.config()["cad_link"] = {
      {"listen", endpoint},
      {"server_key_file", (gw.dir() / "gateway.key").string()},
      {"heartbeat_ms", 300},
      {"clients",
       json::array({{{"agency", essex_police}, {"public_key", police_key.public_key}}})}};
  gw.start();

  // The database machine is lost (a failover not yet done); then the CAD connects.
  server.kill();
  bl::cad::client_options o;
  o.endpoint = endpoint;
  o.server_public_key = gateway_key.public_key;
  o.client_keys = police_key;
  o.agency = essex_police;
  o.hello_timeout = 500ms;
  o.backoff_initial = 50ms;
  o.backoff_max = 300ms;
  bl::cad::cad_client police(o, [](const bl::cad::delivery&) {});
  police.start();
  REQUIRE(eventually(
      [&] {
        return gw.stderr_text().find("event=cad_frame_store_unavailable") != std::string::npos;
      },
      10s, 50ms));
  std::this_thread::sleep_for(1s);  // several hellos refused
  CHECK_FALSE(police.connected());
  CHECK(gw.running());  // the link thread did not fail with the store: the gateway goes on

  server.start();
  REQUIRE(eventually([&] { return police.connected(); }, 20s, 50ms));
  police.stop();
  CHECK(gw.stderr_text().find("event=link_thread_failed") == std::string::npos);
}
