// Two gateway nodes on one PostgreSQL database (issue 16), as real processes: Fire submits over
// HTTP to either node, Police's CAD knows both nodes' CAD link endpoints. Deliveries committed by
// one node reach the CAD on the other; the link status is the same on both; when the CAD's node
// is SIGKILLed the CAD moves to the other node, which takes the agency's CAD lease and goes on
// delivering from where the CAD left off. Every receipted request reaches Police exactly once
// (after the client's dedupe), in sequence, and the audit chain verifies.

#include <chrono>
#include <csignal>
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
#include "gateway/store/reader.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"
#include "tools/pg_server/pg_server.hpp"

namespace {

using nlohmann::json;
using namespace bl;
using namespace bl::test;
using namespace std::chrono_literals;

/// The two nodes' shared setup: one database, one CAD link key pair, the same CAD clients.
struct cluster_setup {
  cluster_setup() {
    server.create_database("bluelink");
    gateway_key = new_curve_keys();
    police_key = new_curve_keys();
  }
  /// A node: its own directory, HTTP port and CAD endpoint, the shared database and keys.
  std::unique_ptr<gateway_process> node(const std::string& id, const std::string& cad_endpoint) {
    auto gw = std::make_unique<gateway_process>(json{{"database",
                                                      {{"path", nullptr},
                                                       {"synchronous", nullptr},
                                                       {"engine", "postgres"},
                                                       {"conninfo", server.conninfo("bluelink")},
                                                       {"busy_timeout_ms", 2000}}},
                                                     {"cluster",
                                                      {{"node_id", id},
                                                       {"heartbeat_ms", 200},
                                                       {"lease_ttl_ms", 1000},
                                                       {"node_ttl_ms", 1000}}},
                                                     {"log", {{"level", "info"}}}},
                                                false);
    std::ofstream(gw->dir() / "gateway.key")
        << json{{"public", gateway_key.public_key}, {"secret", gateway_key.secret_key}}.dump();
    gw->config()["cad_link"] = {
        {"listen", cad_endpoint},
        {"server_key_file", (gw->dir() / "gateway.key").string()},
        {"heartbeat_ms", 300},
        {"clients",
         json::array({{{"agency", essex_police}, {"public_key", police_key.public_key}}})}};
    gw->start();
    return gw;
  }
  pg_server server;
  cad::key_pair gateway_key, police_key;
};

/// Police's CAD: records every delivery it processed, in order.
struct police_cad {
  police_cad(cluster_setup& s, std::vector<std::string> endpoints) {
    cad::client_options o;
    o.endpoints = std::move(endpoints);
    o.server_public_key = s.gateway_key.public_key;
    o.client_keys = s.police_key;
    o.agency = essex_police;
    o.backoff_initial = 50ms;
    o.backoff_max = 500ms;
    o.hello_timeout = 1000ms;
    client = std::make_unique<cad::cad_client>(o, [this](const cad::delivery& d) {
      std::lock_guard lock(mu);
      seqs.push_back(d.seq);
      ids.push_back(d.message.value("id", std::string()));
      if (!first_after_failover && failing_over)
        first_after_failover = std::chrono::steady_clock::now();
    });
    client->start();
  }
  std::size_t requests_received(const std::set<std::string>& wanted) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& id : ids) n += wanted.count(id);
    return n;
  }
  std::mutex mu;
  std::vector<std::int64_t> seqs;
  std::vector<std::string> ids;
  bool failing_over = false;
  std::optional<std::chrono::steady_clock::time_point> first_after_failover;
  std::unique_ptr<cad::cad_client> client;
};

/// Sends `n` requests from Fire to Police over HTTP to `gw`, each until receipted.
void send_requests(const gateway_process& gw, int n, const std::string& hint,
                   std::set<std::string>& receipted) {
  http_client c(gw.port());
  for (int i = 0; i < n; ++i) {
    auto id = new_message_id(essex_fire, hint + std::to_string(i));
    auto doc = request_between(id, essex_fire, essex_police);
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto r = c.post("/api/v1/messages", doc, gateway_process::token(essex_fire));
      if (r.status == 202 || r.status == 200) {
        receipted.insert(id);
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
  }
}

/// Whether a node's /api/v1/links shows Police's CAD link up on `node`.
bool shows_police_cad_on(http_client& c, const std::string& node) {
  auto r = c.get("/api/v1/links", gateway_process::token(essex_fire));
  if (r.status != 200) return false;
  for (const auto& l : r.json["links"])
    if (l["agency"] == essex_police && l["cad"].is_object() && l["cad"]["up"] == true &&
        l["cad"]["node"] == node)
      return true;
  return false;
}

}  // namespace

TEST_CASE(
    "two nodes on one database: deliveries cross nodes, links are shared, and the CAD "
    "moves to the other node when its node is killed",
    "[system][postgres]") {
  cluster_setup setup;
  const std::string cad_a = "tcp://127.0.0.1:" + std::to_string(fixed_test_port());
  const std::string cad_b = "tcp://127.0.0.1:" + std::to_string(fixed_test_port());
  auto a = setup.node("node-a", cad_a);
  auto b = setup.node("node-b", cad_b);

  police_cad police(setup, {cad_a, cad_b});
  REQUIRE(eventually([&] { return police.client->connected(); }, 10s, 20ms));
  CHECK(police.client->endpoint() == cad_a);

  // Fire submits to node B; Police's CAD is on node A: B's commits wake A's CAD session.
  std::set<std::string> receipted;
  send_requests(*b, 100, "cross-", receipted);
  REQUIRE(receipted.size() == 100);
  REQUIRE(eventually([&] { return police.requests_received(receipted) == 100; }, 20s, 20ms));

  // Both nodes show Police's CAD link up, on node A.
  for (auto* gw : {a.get(), b.get()}) {
    http_client c(gw->port());
    REQUIRE(eventually([&] { return shows_police_cad_on(c, "node-a"); }, 10s, 50ms));
    auto h = c.get("/healthz", "");
    CHECK(h.status == 200);
    CHECK(h.json["cluster"]["peers"] == 1);
    CHECK(h.json["cluster"]["listening"] == true);
  }

  // Node A dies. The CAD hears nothing for its liveness (3 heartbeats of 300 ms), moves to node
  // B, which takes Police's lease and delivers what follows the CAD's last processed sequence.
  {
    std::lock_guard lock(police.mu);
    police.failing_over = true;
  }
  a->kill(SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  CHECK(a->wait_exit() == 128 + SIGKILL);
  std::set<std::string> after;
  send_requests(*b, 50, "after-", after);
  REQUIRE(after.size() == 50);
  REQUIRE(eventually([&] { return police.requests_received(after) == 50; }, 30s, 20ms));
  CHECK(police.client->endpoint() == cad_b);
  CHECK(police.client->counters().failovers >= 1);
  {
    std::lock_guard lock(police.mu);
    REQUIRE(police.first_after_failover);
    auto window = std::chrono::duration<double>(*police.first_after_failover - killed).count();
    INFO("first delivery through node B " << window << " s after node A was killed");
    CHECK(window < 10);  // the aim (3 s) is measured in docs/benchmarks.md
  }

  // Node A comes back and rejoins: B's link is what both show now.
  a->start();
  http_client ca(a->port());
  REQUIRE(eventually([&] { return shows_police_cad_on(ca, "node-b"); }, 10s, 50ms));
  // More traffic through the restarted node A reaches the CAD on B.
  std::set<std::string> last;
  send_requests(*a, 50, "back-", last);
  REQUIRE(eventually([&] { return police.requests_received(last) == 50; }, 20s, 20ms));

  police.client->stop();
  // Every receipted request reached Police exactly once (the client dedupes by id), in
  // sequence, with no gap.
  std::lock_guard lock(police.mu);
  std::set<std::string> all = receipted;
  all.insert(after.begin(), after.end());
  all.insert(last.begin(), last.end());
  std::map<std::string, int> times;
  for (const auto& id : police.ids) ++times[id];
  for (const auto& id : all) CHECK(times[id] == 1);
  for (std::size_t i = 1; i < police.seqs.size(); ++i)
    CHECK(police.seqs[i] == police.seqs[i - 1] + 1);

  bl::store::store_options opts("");
  opts.engine = bl::store::engine_kind::postgres;
  opts.conninfo = setup.server.conninfo("bluelink");
  auto report = bl::store::open_reader(opts)->verify_audit();
  INFO(report.problem);
  CHECK(report.ok);
}
