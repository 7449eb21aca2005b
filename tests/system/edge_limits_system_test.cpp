// The HTTP edge under connection pressure, against the real gateway binary: thousands of slow
// clients each sending half a request header, one address opening too many connections,
// WebSockets held open, and a gateway run out of file descriptors. The gateway must keep
// answering its monitor, refuse what is beyond its limits with a clear 503, cut slow clients off
// after the header timeout, stay off the CPU while accept() fails, and recover by itself.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/eido_client.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;
using namespace std::chrono_literals;

// What a slow client sends: the request line and part of the header, never the blank line.
constexpr std::string_view half_header =
    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\nAccept: ";

std::string healthz_request() {
  return "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

// Opens `n` connections from `sources` (each used for `per_source` connections in turn) and sends
// half a header on each.
std::vector<raw_connection> open_slow_clients(unsigned short port, std::size_t n,
                                              const std::vector<std::string>& sources,
                                              std::size_t per_source) {
  std::vector<raw_connection> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.emplace_back(port, sources.at(i / per_source));
    REQUIRE(out.back().send(half_header));
  }
  return out;
}

// "127.0.0.<first>", "127.0.0.<first+1>", ... (all of 127/8 is loopback on Linux).
std::vector<std::string> loopback_sources(int first, int count) {
  std::vector<std::string> s;
  for (int i = 0; i < count; ++i)
    s.push_back("127.0." + std::to_string((first + i) / 250) + "." +
                std::to_string(1 + (first + i) % 250));
  return s;
}

// A 503 refusal read off a fresh connection: the documented error and Connection: close.
void require_refusal(raw_connection& c, const std::string& limit_key) {
  REQUIRE(c.send(healthz_request()));
  auto r = c.read_response(true, 10s);
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->header("Connection") == "close");
  CHECK(r->header("Content-Type") == "application/json");
  auto body = json::parse(r->body, nullptr, false);
  REQUIRE(!body.is_discarded());
  CHECK(body["error"]["code"] == "bl.request.too_many_connections");
  CHECK(body["error"]["message"].get<std::string>().find(limit_key) != std::string::npos);
  CHECK(c.closed_within(10s));
}

// The value of an unlabelled sample or of `name{labels}` in a /metrics body; -1 when absent.
double metric(const std::string& body, const std::string& sample) {
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  return -1;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// CPU time (user + system) the process has used, in clock ticks, from /proc/<pid>/stat.
long long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name may hold spaces; the fields after it are space-separated.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

std::size_t open_descriptors(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

// Raises this process's soft open-files limit to its hard one and returns it.
rlim_t raise_own_fd_limit() {
  rlimit rl{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  rl.rlim_cur = rl.rlim_max;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  return rl.rlim_cur;
}

}  // namespace

TEST_CASE(
    "thousands of half-sent headers neither silence /healthz for its monitor nor exhaust "
    "descriptors; beyond the limit comes a clear 503 and the gateway recovers",
    "[system][limits][slow]") {
  // As many slow clients as both processes' descriptor limits allow: this process holds one end
  // of each connection and the gateway (which inherits the same limit) the other.
  const rlim_t fds = raise_own_fd_limit();
  const std::size_t slow = std::min<std::size_t>(16000, static_cast<std::size_t>(fds) - 1500);
  REQUIRE(slow >= 2000);
  const std::size_t limit = slow + 1;  // the slow clients and the monitor
  gateway_process gw(json{{"limits",
                           {{"max_connections", limit},
                            {"max_connections_per_address", 256},
                            {"header_timeout_ms", 60000}}},
                          {"log", {{"level", "info"}}}});

  http_client monitor(gw.port());
  REQUIRE(monitor.get("/healthz", "").status == 200);

  // 250 per source address, below the per-address limit of 256.
  auto started = std::chrono::steady_clock::now();
  auto clients = open_slow_clients(gw.port(), slow, loopback_sources(10, 70), 250);
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN("held " << clients.size() << " slow connections (opened in " << took << " s)");

  // The monitor's connection was in before the flood: it is still served.
  auto health = monitor.get("/healthz", "");
  CHECK(health.status == 200);
  CHECK(health.json["status"] == "ok");

  // The next connection is over the total: a short, clear 503, then the gateway closes it.
  raw_connection extra(gw.port(), "127.0.0.5");
  require_refusal(extra, "limits.max_connections");

  auto m = monitor.get("/metrics", "");
  REQUIRE(m.status == 200);
  CHECK(metric(m.body, "bluelink_http_connections") == static_cast<double>(limit));
  CHECK(metric(m.body, "bluelink_http_connections_refused_total{reason=\"total\"}") >= 1);
  CHECK(gw.stderr_text().find("event=connections_refused reason=total remote=\"127.0.0.5\"") !=
        std::string::npos);

  // Once the slow clients go, anyone gets in again.
  clients.clear();
  CHECK(eventually(
      [&] {
        raw_connection c(gw.port(), "127.0.0.6");
        if (!c.send(healthz_request())) return false;
        auto r = c.read_response(true, 5s);
        return r && r->status == 200;
      },
      30s, 100ms));
}

TEST_CASE(
    "a client that does not finish its header in time is cut off, while long-polls and "
    "slow bodies complete",
    "[system][limits]") {
  gateway_process gw(json{{"limits", {{"header_timeout_ms", 1000}}}});
  const auto fire = gateway_process::token(essex_fire);
  // The long-poll is the ambulance service's, to which nothing in this test is sent.
  const auto ambulance = gateway_process::token(eeast_ambulance);
  const auto started = std::chrono::steady_clock::now();

  // 200 slow clients, and a kept-alive connection left idle after one request.
  auto slow = open_slow_clients(gw.port(), 200, {"127.0.0.2"}, 200);
  raw_connection idle(gw.port(), "127.0.0.4");
  REQUIRE(idle.send(healthz_request()));
  auto first = idle.read_response(true);
  REQUIRE(first);
  REQUIRE(first->status == 200);

  // A long-poll waits 3 s, well past the 1 s header timeout, and still gets its answer.
  std::pair<int, double> polled{0, 0};
  std::thread poller([&] {
    http_client c(gw.port());
    auto t0 = std::chrono::steady_clock::now();
    auto r = c.get("/api/v1/inbox?wait=3", ambulance);
    polled = {r.status,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
  });

  // A body that starts arriving after the header timeout (a slow link) is still read.
  raw_connection slow_body(gw.port(), "127.0.0.5");
  auto msg =
      request_between(new_message_id(essex_fire, "slow-body"), essex_fire, essex_police).dump();
  REQUIRE(
      slow_body.send("POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nAuthorization: Bearer " +
                     fire + "\r\nContent-Length: " + std::to_string(msg.size()) + "\r\n\r\n"));
  std::this_thread::sleep_for(1500ms);
  REQUIRE(slow_body.send(msg));
  auto stored = slow_body.read_response(true, 10s);
  REQUIRE(stored);
  CHECK(stored->status == 202);

  // A client trickling its header a byte every 100 ms is cut off too: the timeout bounds the
  // whole header, not the gaps between bytes.
  raw_connection trickler(gw.port(), "127.0.0.3");
  REQUIRE(trickler.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "));
  const auto trickle_start = std::chrono::steady_clock::now();
  bool trickler_cut = false;
  while (std::chrono::steady_clock::now() - trickle_start < 10s) {
    if (!trickler.send("a") || trickler.closed_within(100ms)) {
      trickler_cut = true;
      break;
    }
  }
  CHECK(trickler_cut);

  // Every slow client, and the idle connection, is closed well before the old 60 s read timeout.
  const auto deadline = started + 15s;
  std::size_t closed = 0;
  for (auto& c : slow) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (c.closed_within(std::max(left, 0ms))) ++closed;
  }
  CHECK(closed == slow.size());
  CHECK(idle.closed_within(5s));
  // The slow clients got no answer at all: they were closed, not served.
  for (auto& c : slow) CHECK(c.take_received().empty());

  poller.join();
  CHECK(polled.first == 200);
  CHECK(polled.second >= 2.5);

  http_client c(gw.port());
  auto m = c.get("/metrics", "");
  CHECK(metric(m.body, "bluelink_http_header_timeouts_total") >= 201);
}

TEST_CASE("one address is held to its own limit while other addresses still get in",
          "[system][limits]") {
  gateway_process gw(
      json{{"limits", {{"max_connections_per_address", 20}, {"header_timeout_ms", 60000}}}});
  auto held = open_slow_clients(gw.port(), 20, {"127.0.0.2"}, 20);

  raw_connection over(gw.port(), "127.0.0.2");
  require_refusal(over, "limits.max_connections_per_address");

  // Another address is not affected.
  raw_connection other(gw.port(), "127.0.0.3");
  REQUIRE(other.send(healthz_request()));
  auto ok = other.read_response(true);
  REQUIRE(ok);
  CHECK(ok->status == 200);

  // A burst of refusals is counted one by one but logged once, not once per connection.
  for (int i = 0; i < 40; ++i) {
    raw_connection c(gw.port(), "127.0.0.2");
    c.send(healthz_request());
    c.closed_within(5s);
  }
  http_client monitor(gw.port());
  auto m = monitor.get("/metrics", "");
  CHECK(metric(m.body, "bluelink_http_connections_refused_total{reason=\"per_address\"}") >= 41);
  auto log = gw.stderr_text();
  CHECK(count_of(log, "event=connections_refused") == 1);
  CHECK(log.find("event=connections_refused reason=per_address remote=\"127.0.0.2\"") !=
        std::string::npos);

  // When one of its connections closes, the address may connect again.
  held.pop_back();
  CHECK(eventually(
      [&] {
        raw_connection c(gw.port(), "127.0.0.2");
        if (!c.send(healthz_request())) return false;
        auto r = c.read_response(true, 5s);
        return r && r->status == 200;
      },
      10s, 50ms));
}

TEST_CASE("WebSockets upgraded from HTTP count against the connection limits until they close",
          "[system][limits][eido]") {
  gateway_process gw(json{{"limits", {{"max_connections_per_address", 3}}}});
  const auto fire = gateway_process::token(essex_fire);
  auto healthz_from_loopback = [&]() -> int {
    raw_connection c(gw.port(), "127.0.0.1");
    if (!c.send(healthz_request())) return 0;
    auto r = c.read_response(true, 5s);
    return r ? r->status : 0;
  };
  // Three EIDO conveyance sessions from 127.0.0.1 (the test's own client connects from there).
  std::vector<std::unique_ptr<eido_client>> cads;
  for (int i = 0; i < 3; ++i) cads.push_back(std::make_unique<eido_client>(gw.port(), fire));
  // They hold all three of the address's connections long after their upgrade.
  std::this_thread::sleep_for(200ms);
  CHECK(healthz_from_loopback() == 503);
  // One CAD goes away; its slot is given back.
  cads.pop_back();
  CHECK(eventually([&] { return healthz_from_loopback() == 200; }, 10s, 50ms));
}

TEST_CASE(
    "out of file descriptors, the acceptor backs off instead of spinning, keeps serving "
    "its connected clients, and recovers when descriptors free up",
    "[system][limits]") {
  // A gateway whose descriptor limit is far below its connection limit, so that accept() itself
  // fails with EMFILE.
  gateway_process gw(json{{"limits",
                           {{"max_connections", 5000},
                            {"max_connections_per_address", 5000},
                            {"header_timeout_ms", 120000}}}},
                     false);
  gw.set_open_files_limit(256);
  gw.start();
  CHECK(gw.stderr_text().find("event=open_files_limit_low") != std::string::npos);

  http_client monitor(gw.port());
  REQUIRE(monitor.get("/healthz", "").status == 200);
  const auto base = open_descriptors(gw.pid());

  // More connections than the gateway has descriptors left: the rest wait in the backlog.
  auto slow = open_slow_clients(gw.port(), 400, {"127.0.0.2"}, 400);
  REQUIRE(eventually(
      [&] { return gw.stderr_text().find("event=accept_paused") != std::string::npos; }, 10s));
  auto log = gw.stderr_text();
  CHECK(log.find("Too many open files") != std::string::npos);
  WARN("gateway descriptors: " << base << " before the flood, " << open_descriptors(gw.pid())
                               << " at EMFILE (limit 256)");

  // Not spinning: over two seconds of EMFILE the gateway uses a small fraction of one core.
  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  const auto cpu0 = cpu_ticks(gw.pid());
  std::this_thread::sleep_for(2s);
  const auto used = cpu_ticks(gw.pid()) - cpu0;
  WARN("CPU while accept() fails with EMFILE: " << used << " ticks in 2 s (" << ticks_per_s
                                                << " ticks = one core-second)");
  CHECK(used < ticks_per_s / 2);

  // A client connected before keeps being served.
  auto health = monitor.get("/healthz", "");
  CHECK(health.status == 200);

  // Descriptors free up: the gateway accepts again by itself.
  slow.clear();
  CHECK(eventually(
      [&] {
        raw_connection c(gw.port(), "127.0.0.3");
        if (!c.send(healthz_request())) return false;
        auto r = c.read_response(true, 5s);
        return r && r->status == 200;
      },
      20s, 100ms));
  log = gw.stderr_text();
  CHECK(log.find("event=accept_resumed") != std::string::npos);
  CHECK(count_of(log, "event=accept_paused") == 1);
  auto m = monitor.get("/metrics", "");
  CHECK(metric(m.body, "bluelink_http_accept_errors_total") >= 1);
}
