// The failure policy against the real gateway binary: when the CAD link thread fails (a ZeroMQ
// error injected through the cad_link.zmq_error failpoint), the failure is loud everywhere and
// nothing is lost: /healthz turns 503 naming the link, new submissions are refused with
// bl.gateway.degraded, the failure is audited, the process drains and exits with code 5, and
// after a restart the CADs resume with every delivery arriving exactly once.

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "tests/support/cad_link_rig.hpp"
#include "tests/support/failpoint_file.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;
using namespace bl;
using namespace bl::test;
using namespace std::chrono_literals;

std::int64_t count(gateway_process& gw, const std::string& sql) {
  return gw.query_int(sql);  // the gateway's store, on either engine
}

// Every named component's liveness beat is fresh on /metrics.
void check_beats_fresh(http_client& monitor, std::initializer_list<const char*> components) {
  auto metrics = monitor.get("/metrics", "").body;
  for (const char* c : components) {
    INFO(c);
    std::string key =
        std::string("bluelink_thread_last_beat_age_seconds{component=\"") + c + "\"} ";
    auto at = metrics.find(key);
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(metrics.substr(at + key.size())) < 2);
  }
}

}  // namespace

TEST_CASE(
    "a CAD link that fails is loud, takes nothing it cannot deliver, drains and exits 5; "
    "after a restart the CADs resume with nothing lost",
    "[system][failure][cadlink]") {
  gateway_process gw(json::object(), false);
  failpoint_file failpoints(gw.dir() / "failpoints");
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(fixed_test_port());
  auto server = new_curve_keys();
  std::ofstream(gw.dir() / "gateway.key")
      << json{{"public", server.public_key}, {"secret", server.secret_key}}.dump();
  std::map<std::string, cad::key_pair> keys;
  json clients = json::array();
  for (const char* a : {"essex-fire", "essex-police"}) {
    keys[a] = new_curve_keys();
    clients.push_back({{"agency", a}, {"public_key", keys[a].public_key}});
  }
  gw.config()["cad_link"] = {{"listen", endpoint},
                             {"server_key_file", (gw.dir() / "gateway.key").string()},
                             {"heartbeat_ms", 500},
                             {"clients", clients}};
  gw.start();

  auto options = [&](const std::string& agency) {
    cad::client_options o;
    o.endpoint = endpoint;
    o.server_public_key = server.public_key;
    o.client_keys = keys.at(agency);
    o.agency = agency;
    o.state_file = (gw.dir() / (agency + ".state")).string();
    o.submit_timeout = 1500ms;
    o.backoff_initial = 50ms;
    o.backoff_max = 300ms;
    return o;
  };
  auto got = std::make_shared<inbox>();
  cad::cad_client police(options("essex-police"), [got](auto& d) { (*got)(d); });
  cad::cad_client fire(options("essex-fire"), [](const cad::delivery&) {});
  police.start();
  fire.start();
  REQUIRE(eventually([&] { return fire.connected() && police.connected(); }, 10s));
  for (int i = 0; i < 20; ++i)
    REQUIRE(std::holds_alternative<json>(
        fire.submit(a12_rtc_request(new_message_id(essex_fire, "before"))).get()));
  REQUIRE(eventually([&] { return got->size() == 20; }, 10s));

  // The link fails.
  http_client monitor(gw.port());
  http_client fire_http(gw.port());
  failpoints.arm("cad_link.zmq_error");
  const http_response health = wait_degraded(monitor, "CAD link failure");
  CHECK(health.json["status"] == "degraded");
  CHECK(health.json["failed"] == "cad_link");
  CHECK_THAT(health.json["error"].get<std::string>(), Catch::Contains("cad_link.zmq_error"));
  // Nothing is accepted that could not be delivered, by any edge.
  // (Fire asks the ambulance service over HTTP: a recipient without a CAD link.)
  auto refused = fire_http.post("/api/v1/messages",
                                casualty_care_request(new_message_id(essex_fire, "during")),
                                gateway_process::token(essex_fire));
  CHECK(refused.status == 503);
  CHECK(refused.json["error"]["code"] == "bl.gateway.degraded");

  // It drains and exits with 5, for its supervisor to restart it.
  CHECK(gw.wait_exit(20s) == 5);
  auto err = gw.stderr_text();
  CHECK_THAT(err, Catch::Contains("event=link_thread_failed edge=cad"));
  CHECK_THAT(err, Catch::Contains("event=component_failed component=cad_link"));
  CHECK_THAT(err, Catch::Contains("event=stopped exit_code=5"));
  CHECK(count(gw, "SELECT count(*) FROM audit WHERE action = 'link.failed'") == 1);
  CHECK(count(gw, "SELECT count(*) FROM messages WHERE id LIKE 'essex-fire:during%'") == 0);

  // The supervisor restarts it: the CADs reconnect by themselves and carry on.
  failpoints.disarm();
  gw.start();
  for (int i = 0; i < 10; ++i)
    REQUIRE(std::holds_alternative<json>(
        fire.submit(a12_rtc_request(new_message_id(essex_fire, "after"))).get()));
  REQUIRE(eventually([&] { return got->size() == 30; }, 20s));
  std::this_thread::sleep_for(300ms);
  const auto ids = got->ids();
  const auto seqs = got->seqs();
  CHECK(ids.size() == 30);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 30);
  for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == std::int64_t(i + 1));
  police.stop();
  fire.stop();
}

TEST_CASE(
    "an exception in an HTTP handler is a 500 with a code and a log line, never a dead "
    "process",
    "[system][failure][http]") {
  gateway_process gw(json::object(), false);
  failpoint_file failpoints(gw.dir() / "failpoints");
  gw.start();
  http_client fire(gw.port());
  failpoints.arm("http.handler_exception");
  auto r = fire.get("/api/v1/transfers", gateway_process::token(essex_fire));
  CHECK(r.status == 500);
  CHECK(r.json["error"]["code"] == "bl.gateway.internal");
  auto p = fire.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire)),
                     gateway_process::token(essex_fire));
  CHECK(p.status == 500);
  CHECK(p.json["error"]["code"] == "bl.gateway.internal");
  failpoints.disarm();
  // The same connection, the same process: still serving.
  CHECK(fire.get("/healthz", "").status == 200);
  CHECK(fire.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire)),
                  gateway_process::token(essex_fire))
            .status == 202);
  CHECK(gw.running());
  CHECK_THAT(gw.stderr_text(),
             Catch::Contains("event=request_failed method=\"GET\" path=\"/api/v1/transfers\""));
}

TEST_CASE(
    "a CAD link thread that stops making progress is a failure too: /healthz names it, "
    "then the gateway drains and exits 5",
    "[system][failure][cadlink][stall]") {
  gateway_process gw(json{{"limits", {{"thread_stall_s", 2}}}}, false);
  failpoint_file failpoints(gw.dir() / "failpoints");
  auto server = new_curve_keys();
  std::ofstream(gw.dir() / "gateway.key")
      << json{{"public", server.public_key}, {"secret", server.secret_key}}.dump();
  gw.config()["cad_link"] = {
      {"listen", "tcp://127.0.0.1:*"},
      {"server_key_file", (gw.dir() / "gateway.key").string()},
      {"clients",
       json::array({{{"agency", "essex-fire"}, {"public_key", new_curve_keys().public_key}}})}};
  gw.start();
  http_client monitor(gw.port());
  check_beats_fresh(monitor, {"engine", "console_hub", "cad_link", "io", "workers"});

  failpoints.arm("cad_link.stall");
  const http_response health = wait_degraded(monitor, "CAD link stall");
  CHECK(health.json["status"] == "degraded");
  CHECK(health.json["failed"] == "cad_link");
  CHECK_THAT(health.json["error"].get<std::string>(), Catch::Contains("no progress for"));
  failpoints.disarm();  // the stalled thread can now let the drain finish
  CHECK(gw.wait_exit(40s) == 5);
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=component_failed component=cad_link"));
}

TEST_CASE(
    "the I/O threads and the worker pool report their liveness: one that stops making progress "
    "is named by /healthz, then the gateway drains and exits 5",
    "[system][failure][stall]") {
  const char* component = GENERATE("workers", "io");
  INFO(component);
  gateway_process gw(json{{"limits", {{"thread_stall_s", 2}}}}, false);
  failpoint_file failpoints(gw.dir() / "failpoints");
  gw.start();
  http_client monitor(gw.port());
  check_beats_fresh(monitor, {"io", "workers"});

  std::optional<raw_connection> sign_in, second_sign_in;
  if (std::string(component) == "workers") {
    failpoints.arm("workers.stall");
    // Sign-ins go to the worker pool, where they now stick: one on each of its two workers (one
    // stuck job alone is a long report, not a stall: the other worker still makes progress).
    const std::string body = R"({"username":"nobody","password":"not-a-password"})";
    auto post_sign_in = [&](std::optional<raw_connection>& c) {
      c.emplace(gw.port());
      REQUIRE(
          c->send("POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body));
    };
    post_sign_in(sign_in);
    std::this_thread::sleep_for(3500ms);  // beyond thread_stall_s and a watchdog pass
    auto still = monitor.try_request("GET", "/healthz");
    REQUIRE(still);
    CHECK(still->status == 200);  // one long job is not a stalled pool
    post_sign_in(second_sign_in);
  } else {
    failpoints.arm("io.stall");
  }
  const http_response health = wait_degraded(monitor, std::string(component) + " stall");
  CHECK(health.json["status"] == "degraded");
  CHECK(health.json["failed"] == component);
  CHECK_THAT(health.json["error"].get<std::string>(), Catch::Contains("no progress for"));
  failpoints.disarm();
  CHECK(gw.wait_exit(40s) == 5);
  CHECK_THAT(gw.stderr_text(),
             Catch::Contains(std::string("event=component_failed component=") + component));
}

TEST_CASE("a CAD link port already in use stops the start-up cleanly with exit code 4",
          "[system][failure][cadlink][startup]") {
  // Something else holds the port.
  const auto port = fixed_test_port();
  zmq::context_t ctx;
  zmq::socket_t squatter(ctx, zmq::socket_type::rep);
  squatter.set(zmq::sockopt::linger, 0);
  squatter.bind("tcp://127.0.0.1:" + std::to_string(port));

  gateway_process gw(json::object(), false);
  auto server = new_curve_keys();
  std::ofstream(gw.dir() / "gateway.key")
      << json{{"public", server.public_key}, {"secret", server.secret_key}}.dump();
  gw.config()["cad_link"] = {
      {"listen", "tcp://127.0.0.1:" + std::to_string(port)},
      {"server_key_file", (gw.dir() / "gateway.key").string()},
      {"clients",
       json::array({{{"agency", "essex-fire"}, {"public_key", new_curve_keys().public_key}}})}};
  // The threads already started (engine, console hub) are stopped before anything they use is
  // destroyed: an orderly exit 4, not an abort (ASan and TSan runs check that too).
  for (int run = 0; run < 3; ++run) {
    gw.launch();
    CHECK(gw.wait_exit(20s) == 4);
    CHECK_THAT(gw.stderr_text(), Catch::Contains("cannot bind the CAD link at tcp://127.0.0.1:" +
                                                 std::to_string(port)));
  }
}

TEST_CASE(
    "an exception half-way through one message rolls back that message alone; one in the timer "
    "sweep loses no message and is loud until it stops",
    "[system][failure][engine]") {
  gateway_process gw(json::object(), false);
  failpoint_file failpoints(gw.dir() / "failpoints");
  gw.start();
  http_client monitor(gw.port());

  // Forty messages from four connections at once, so that they share group commits; every tenth
  // throws after its message and transfer rows are written.
  failpoints.arm("engine.message_exception");
  std::mutex mu;
  std::vector<std::string> stored, thrown;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&] {
      http_client c(gw.port());
      for (int i = 0; i < 10; ++i) {
        bool boom = i == 5;
        auto id = new_message_id(essex_fire, boom ? "failpoint-throw" : "ok");
        auto r =
            c.post("/api/v1/messages", a12_rtc_request(id), gateway_process::token(essex_fire));
        std::lock_guard lock(mu);
        if (boom) {
          CHECK(r.status == 500);
          CHECK(r.json["error"]["code"] == "bl.gateway.internal");
          thrown.push_back(id);
        } else {
          CHECK(r.status == 202);
          stored.push_back(id);
        }
      }
    });
  for (auto& s : senders) s.join();
  failpoints.disarm();
  REQUIRE(thrown.size() == 4);
  // Exactly the others are stored, each with its transfer and delivery; nothing of the four.
  CHECK(count(gw, "SELECT COUNT(*) FROM messages") == 36);
  CHECK(count(gw, "SELECT COUNT(*) FROM transfers") == 36);
  CHECK(count(gw, "SELECT COUNT(*) FROM deliveries WHERE agency = 'essex-police'") == 36);
  CHECK(count(gw, "SELECT COUNT(*) FROM messages WHERE id LIKE '%failpoint-throw%'") == 0);
  CHECK(monitor.get("/healthz", "").status == 200);
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=internal_error msg_id="));
  // Sent again, one of them is new (nothing of it was kept) and is stored.
  auto again = monitor.post("/api/v1/messages", a12_rtc_request(thrown[0]),
                            gateway_process::token(essex_fire));
  CHECK(again.status == 202);

  // The timer sweep fails: every message is still stored, and /healthz says that phone prompts
  // are not being raised until it works again.
  failpoints.arm("engine.sweep_exception");
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return monitor.get("/healthz", "").status == 503; }, 5s, 50ms));
  WARN("/healthz turned 503 "
       << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
       << " s after the sweep began to fail");
  auto h = monitor.get("/healthz", "");
  CHECK(h.json["timers"] == "failing");
  CHECK_THAT(h.json["timers_error"].get<std::string>(), Catch::Contains("engine.sweep_exception"));
  CHECK_THAT(monitor.get("/metrics", "").body, Catch::Contains("bluelink_timers_failing 1"));
  auto during = monitor.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire)),
                             gateway_process::token(essex_fire));
  CHECK(during.status == 202);
  CHECK(count(gw, "SELECT COUNT(*) FROM messages") == 38);
  failpoints.disarm();
  CHECK(eventually([&] { return monitor.get("/healthz", "").status == 200; }, 5s, 50ms));
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=timer_sweep_failed"));
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=timer_sweep_resumed"));
  CHECK(gw.running());
}
