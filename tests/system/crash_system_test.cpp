// Crash test: the real gateway is SIGKILLed at random moments while clients keep submitting.
// Whatever got a receipt must be on disk exactly once, delivered exactly once, and audited.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "tests/support/cli_process.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

using namespace std::chrono_literals;
using bl::test::gateway_process;
using bl::test::http_client;
using nlohmann::json;

/// What one client thread saw.
struct client_log {
  std::vector<std::string> receipted;  // ids that got a 202 or 200 receipt
  std::vector<std::string> problems;   // answers that no retry can fix
  int retries = 0;                     // attempts repeated with the same id
  int duplicates = 0;                  // receipts that came back as 200 (stored before a crash)
};

/// Submits a stream of requests with fresh ids; every failed attempt is retried with the SAME id,
/// as a CAD link must, until the gateway answers or `give_up` passes.
void submit_stream(int n, const gateway_process& gw, const std::atomic<bool>& stop,
                   std::chrono::steady_clock::time_point give_up, client_log& log) {
  const std::string from = n % 2 ? bl::test::essex_fire : bl::test::eeast_ambulance;
  const std::string token = gateway_process::token(from);
  http_client c(gw.port());
  c.set_timeout(5s);
  for (int i = 0; !stop; ++i) {
    const std::string id = from + ":crash-" + std::to_string(n) + "-" + std::to_string(i);
    const std::string doc = bl::test::request_between(id, from, bl::test::essex_police).dump();
    for (;;) {
      c.set_port(gw.current_port());  // a restarted gateway listens on a new port
      auto r = c.try_request("POST", "/api/v1/messages", doc, token);
      if (r && (r->status == 202 || r->status == 200)) {
        log.receipted.push_back(id);
        if (r->status == 200) ++log.duplicates;
        break;
      }
      if (r && r->status != 503) {
        log.problems.push_back(id + ": " + std::to_string(r->status) + " " + r->body);
        break;
      }
      if (std::chrono::steady_clock::now() > give_up) {
        log.problems.push_back(id + ": no receipt before the test's deadline");
        return;
      }
      ++log.retries;
      std::this_thread::sleep_for(10ms);
    }
  }
}

/// Runs `sql` on the gateway's store and returns each row's first two columns.
std::map<std::string, std::int64_t> counts_by_key(const gateway_process& gw, const std::string& sql,
                                                  const std::vector<std::string>& args = {}) {
  std::map<std::string, std::int64_t> out;
  for (const auto& row : gw.query_rows(sql, args)) out[row.at(0)] = std::stoll(row.at(1));
  return out;
}

}  // namespace

TEST_CASE("receipted messages survive repeated SIGKILLs exactly once", "[system][crash]") {
  const auto started = std::chrono::steady_clock::now();
  const auto give_up = started + 90s;  // keeps the whole test well under two minutes
  gateway_process gw(json{{"log", {{"level", "warn"}}}});

  std::atomic<bool> stop{false};
  std::vector<client_log> logs(4);
  std::vector<std::thread> clients;
  for (int n = 0; n < 4; ++n)
    clients.emplace_back(submit_stream, n, std::cref(gw), std::cref(stop), give_up,
                         std::ref(logs[n]));

  std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> delay_ms(200, 800);
  for (int kill = 0; kill < 5; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    gw.kill(SIGKILL);
    REQUIRE(gw.wait_exit() == 128 + SIGKILL);
    gw.start();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
  stop = true;
  for (auto& t : clients) t.join();

  // One more crash with nothing in flight, then a clean start on the same database.
  gw.restart();

  std::vector<std::string> receipted;
  std::vector<std::string> problems;
  int retries = 0, duplicates = 0;
  for (const auto& l : logs) {
    receipted.insert(receipted.end(), l.receipted.begin(), l.receipted.end());
    problems.insert(problems.end(), l.problems.begin(), l.problems.end());
    retries += l.retries;
    duplicates += l.duplicates;
  }
  INFO(receipted.size() << " receipted, " << retries << " retries, " << duplicates
                        << " receipts for messages stored before a crash");
  for (const auto& p : problems) UNSCOPED_INFO(p);
  REQUIRE(problems.empty());
  REQUIRE(receipted.size() >= 100);
  CHECK(retries > 0);  // the kills really did land while clients were submitting

  // The database itself: each receipted request stored, turned into a transfer, queued for Police
  // and audited exactly once; nothing anywhere is duplicated.
  {
    auto stored = counts_by_key(gw, "SELECT id, count(*) FROM messages GROUP BY id");
    auto transfers = counts_by_key(
        gw, "SELECT request_message_id, count(*) FROM transfers GROUP BY request_message_id");
    auto deliveries = counts_by_key(
        gw, "SELECT message_id, count(*) FROM deliveries WHERE agency = $1 GROUP BY message_id",
        {bl::test::essex_police});
    auto audited = counts_by_key(gw,
                                 "SELECT message_id, count(*) FROM audit WHERE action ="
                                 " 'message.accepted' GROUP BY message_id");
    std::size_t bad = 0;
    for (const auto& id : receipted) {
      if (stored[id] != 1 || transfers[id] != 1 || deliveries[id] != 1 || audited[id] != 1) {
        if (++bad <= 5)
          UNSCOPED_INFO(id << ": stored " << stored[id] << ", transfers " << transfers[id]
                           << ", deliveries " << deliveries[id] << ", audited " << audited[id]);
      }
    }
    CHECK(bad == 0);
    CHECK(gw.query_int("SELECT count(*) FROM (SELECT message_id FROM deliveries GROUP BY"
                       " message_id HAVING count(*) > 1) AS repeated") == 0);
    CHECK(gw.query_int("SELECT count(*) FROM transfers") ==
          gw.query_int("SELECT count(*) FROM messages WHERE type = 'transfer.request'"));
    // Police's delivery sequence has no gaps.
    CHECK(gw.query_int("SELECT count(*) FROM deliveries WHERE agency = 'essex-police'") ==
          gw.query_int("SELECT COALESCE(max(seq), 0) FROM deliveries WHERE agency ="
                       " 'essex-police'"));
  }

  // What Police's CAD sees: paging through its inbox delivers every receipted request once, in
  // sequence.
  http_client police(gw.port());
  std::set<std::string> delivered;
  std::int64_t after = 0;
  std::size_t repeats = 0;
  for (;;) {
    auto page = police.get("/api/v1/inbox?after=" + std::to_string(after) + "&limit=100",
                           gateway_process::token(bl::test::essex_police));
    REQUIRE(page.status == 200);
    const json& items = page.json.at("deliveries");
    if (items.empty()) break;
    for (const auto& d : items) {
      REQUIRE(d.at("seq").get<std::int64_t>() == after + 1);
      after = d.at("seq");
      if (!delivered.insert(d.at("message").at("id").get<std::string>()).second) ++repeats;
    }
  }
  CHECK(repeats == 0);
  std::size_t undelivered = 0;
  for (const auto& id : receipted) undelivered += delivered.count(id) == 0;
  CHECK(undelivered == 0);

  auto report = bl::store::open_reader(gw.store_options())->verify_audit();
  INFO(report.problem);
  CHECK(report.ok);
  CHECK(report.rows >= static_cast<std::int64_t>(receipted.size()));
  // The operator's check, on whichever engine the gateway's config names.
  auto cli =
      bl::test::run_cli(gw.dir(), {"audit", "verify", "--config", gw.config_path().string()});
  INFO("bluelink audit verify:\n" << cli.out << cli.err);
  CHECK(cli.exit_code == 0);
  CHECK(cli.out.find("audit chain verified") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 100s);
}
