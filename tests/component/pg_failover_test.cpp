// A primary and its synchronous standby (issue 16), started by the test on Unix sockets: a node
// reaches the primary through a conninfo naming both servers, acknowledges nothing the standby
// does not have, moves to the standby once it is promoted, and never writes to the old primary
// when it is restarted as it was (fencing by timeline).

#include <chrono>
#include <csignal>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/metrics.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "tests/support/engine_rig.hpp"
#include "tests/support/sample_messages.hpp"
#include "tools/pg_server/pg_server.hpp"

using namespace std::chrono_literals;
using bl::store::postgres::connection;

namespace {

using outcome = std::variant<bl::receipt_result, bl::error>;

struct one_node {
  explicit one_node(const std::string& conninfo)
      : cfg(bl::test::essex_config()),
        eng(
            cfg,
            [&] {
              bl::store::store_options o;
              o.engine = bl::store::engine_kind::postgres;
              o.conninfo = conninfo;
              return o;
            }(),
            stats, notifier, clock,
            std::make_shared<spdlog::logger>("test",
                                             std::make_shared<spdlog::sinks::null_sink_mt>())) {
    eng.start();
  }
  ~one_node() { eng.stop(); }
  std::future<outcome> submit(const std::string& id) {
    auto parsed = bl::parse_message(bl::test::rtc_request("essex-fire:" + id));
    auto p = std::make_shared<std::promise<outcome>>();
    auto f = p->get_future();
    eng.submit(std::get<bl::message>(std::move(parsed)),
               [p](outcome r) { p->set_value(std::move(r)); });
    return f;
  }
  /// Submits `id` until it is receipted (the same id each time, as a CAD resends); every refusal
  /// on the way must be bl.store.unavailable. Returns how many were refused.
  int until_receipted(const std::string& id, std::chrono::seconds within = 60s) {
    int refused = 0;
    auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      auto r = submit(id).get();
      if (std::holds_alternative<bl::receipt_result>(r)) return refused;
      const auto& e = std::get<bl::error>(r);
      INFO(e.id() << ": " << e.message);
      CHECK(e.id() == "bl.store.unavailable");
      ++refused;
      std::this_thread::sleep_for(100ms);
    }
    FAIL("never receipted: " << id);
    return refused;
  }
  bl::gateway_config cfg;
  bl::metrics stats;
  bl::inbox_notifier notifier;
  bl::test::manual_clock clock;
  bl::engine eng;
};

std::string both(const bl::test::pg_server& a, const bl::test::pg_server& b) {
  return "host=" + a.dir().string() + "," + b.dir().string() + " port=" + std::to_string(a.port()) +
         "," + std::to_string(b.port()) + " dbname=bl user=bluelink connect_timeout=2";
}

std::int64_t messages_on(const bl::test::pg_server& s) {
  return std::stoll(s.psql("SELECT count(*) FROM messages", "bl"));
}

}  // namespace

TEST_CASE(
    "a synchronous standby has every receipted message; after promotion the node writes "
    "there and never to the old primary restarted as it was",
    "[postgres]") {
  bl::test::pg_server primary(false);  // a process kill loses no page the OS holds
  primary.create_database("bl");
  bl::test::pg_server standby(primary, "bluelink_standby");
  primary.require_sync_standby("bluelink_standby");
  const auto conninfo = both(primary, standby);

  auto node = std::make_unique<one_node>(conninfo);
  node->until_receipted("before-1");
  CHECK(primary.timeline() == 1);

  // Synchronous commit: a receipt is only sent once the standby has the commit. With the
  // standby's WAL receiver stalled, nothing is receipted...
  REQUIRE(standby.signal_wal_receiver(SIGSTOP));
  auto held = node->submit("stalled-1");
  CHECK(held.wait_for(1500ms) == std::future_status::timeout);
  // ...until it goes on.
  standby.signal_wal_receiver(SIGCONT);
  REQUIRE(held.wait_for(30s) == std::future_status::ready);
  CHECK(std::holds_alternative<bl::receipt_result>(held.get()));
  // Everything receipted is on the standby (replayed a moment after it was flushed there).
  for (int i = 0; i < 200 && messages_on(standby) < 2; ++i) std::this_thread::sleep_for(20ms);
  CHECK(messages_on(standby) == 2);

  // The primary's machine dies; the standby is promoted (here by the test; in production by
  // pg_auto_failover, or by an operator's word). The node refuses with bl.store.unavailable
  // meanwhile, and receipts again once it has found the new primary.
  primary.kill();
  auto killed = std::chrono::steady_clock::now();
  standby.promote();
  CHECK(standby.timeline() == 2);
  int refused = node->until_receipted("after-1");
  auto window = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  INFO("refused " << refused << " times; first receipt " << window << " s after the kill");
  CHECK(messages_on(standby) == 3);
  CHECK(bl::store::postgres::fence_timeline(conninfo) == 2);

  // An operator restarts the old primary as it was: it takes writes again, on timeline 1.
  primary.start();
  REQUIRE(primary.psql("SELECT pg_is_in_recovery()") == "f");
  auto before = messages_on(primary);
  // A new connection (a fresh node's, or one made again) chooses the newest timeline...
  auto choice = bl::store::postgres::probe_primary(conninfo);
  INFO(choice.summary);
  CHECK(choice.timeline == 2);
  CHECK(choice.host.find(standby.dir().string()) == 0);
  node->until_receipted("after-2");
  node.reset();
  node = std::make_unique<one_node>(conninfo);
  node->until_receipted("after-3");
  CHECK(messages_on(standby) == 5);

  // ...and with the new primary gone too, the old one is refused, not written to: this process
  // has seen timeline 2.
  standby.stop();
  auto r = node->submit("after-4").get();
  REQUIRE(std::holds_alternative<bl::error>(r));
  CHECK(std::get<bl::error>(r).id() == "bl.store.unavailable");
  try {
    connection c(conninfo);
    FAIL("connected to the old primary");
  } catch (const bl::store::store_error& e) {
    CHECK(std::string(e.what()).find("old primary") != std::string::npos);
  }
  node.reset();
  CHECK(messages_on(primary) == before);  // the stale primary was never written to
}

TEST_CASE(
    "a primary held read-only (as pg_auto_failover holds a standby it has just promoted) "
    "takes no writes: refused with bl.store.unavailable until it is released",
    "[postgres]") {
  bl::test::pg_server primary(false);
  primary.create_database("bl");
  bl::test::pg_server standby(primary, "bluelink_standby");
  const auto conninfo = both(primary, standby);
  one_node node(conninfo);
  node.until_receipted("rw-1");

  primary.psql("ALTER SYSTEM SET default_transaction_read_only = on");
  primary.psql("SELECT pg_reload_conf()");
  // The node's open connection fails its next write (SQLSTATE 25006) and chooses again; no
  // server takes writes now.
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    auto r = node.submit("ro-" + std::to_string(i)).get();
    if (auto* e = std::get_if<bl::error>(&r)) {
      CHECK(e->id() == "bl.store.unavailable");
      refused = true;
    }
    std::this_thread::sleep_for(20ms);
  }
  CHECK(refused);
  CHECK_THROWS_WITH(bl::store::postgres::probe_primary(conninfo),
                    Catch::Contains("no PostgreSQL server") && Catch::Contains("read-only"));

  primary.psql("ALTER SYSTEM RESET default_transaction_read_only");
  primary.psql("SELECT pg_reload_conf()");
  node.until_receipted("rw-2");
}
