// GET /metrics against the real gateway binary with two CADs on the link: the exposition must be
// valid Prometheus text format (checked by promtool when installed, and always by the strict
// checks below: one HELP and TYPE per family, a family's samples together, counters named
// _total), and with metrics.token_sha256 configured only that bearer token may read it.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "gateway/core/digest.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;
using namespace bl;
using namespace bl::test;
using namespace std::chrono_literals;

// The family a sample belongs to: a histogram's _bucket, _sum and _count are its own.
std::string family_of(const std::string& sample, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
      auto base = sample.substr(0, sample.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return sample;
}

// Strict checks of the text exposition format 0.0.4; returns the problems found.
std::vector<std::string> exposition_problems(const std::string& text) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex sample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?|[-+]Inf|NaN))re");
  std::vector<std::string> problems;
  std::map<std::string, std::string> types;
  std::set<std::string> helped, finished;
  std::string current;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, help)) {
      if (!helped.insert(m[1]).second) problems.push_back("second HELP for " + m[1].str());
    } else if (std::regex_match(line, m, type)) {
      if (types.count(m[1])) problems.push_back("second TYPE for " + m[1].str());
      types[m[1]] = m[2];
      if (!current.empty()) finished.insert(current);
      current = m[1];
      if (m[2] == "counter" && current.size() > 6 &&
          current.compare(current.size() - 6, 6, "_total") != 0)
        problems.push_back("counter not named _total: " + current);
    } else if (std::regex_match(line, m, sample)) {
      auto family = family_of(m[1], types);
      if (!types.count(family)) problems.push_back("sample without TYPE: " + line);
      if (family != current || finished.count(family))
        problems.push_back("sample away from its family: " + line);
    } else {
      problems.push_back("not a valid line: " + line);
    }
  }
  for (auto& [name, t] : types)
    if (!helped.count(name)) problems.push_back("no HELP for " + name);
  return problems;
}

// promtool's verdict, or nullopt when promtool is not installed.
std::optional<std::pair<int, std::string>> promtool_check(const std::filesystem::path& dir,
                                                          const std::string& text) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return std::nullopt;
  auto in = dir / "metrics.txt";
  auto out = dir / "promtool.out";
  std::ofstream(in) << text;
  int rc = std::system(
      ("promtool check metrics < '" + in.string() + "' > '" + out.string() + "' 2>&1").c_str());
  std::ifstream o(out);
  std::stringstream ss;
  ss << o.rdbuf();
  return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ss.str());
}

}  // namespace

TEST_CASE("metrics with two agencies' CADs on the link are valid Prometheus text",
          "[system][metrics][cadlink]") {
  gateway_process gw(json{{"log", {{"level", "warn"}}}}, false);
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(fixed_test_port());
  auto server = new_curve_keys();
  std::ofstream(gw.dir() / "gateway.key")
      << json{{"public", server.public_key}, {"secret", server.secret_key}}.dump();
  std::map<std::string, cad::key_pair> keys;
  json clients = json::array();
  for (const auto& a : {essex_fire, essex_police}) {
    keys[a] = new_curve_keys();
    clients.push_back({{"agency", a}, {"public_key", keys[a].public_key}});
  }
  gw.config()["cad_link"] = {{"listen", endpoint},
                             {"server_key_file", (gw.dir() / "gateway.key").string()},
                             {"heartbeat_ms", 1000},
                             {"clients", clients}};
  gw.start();

  std::vector<std::unique_ptr<cad::cad_client>> cads;
  for (const auto& a : {essex_fire, essex_police}) {
    cad::client_options o;
    o.endpoint = endpoint;
    o.server_public_key = server.public_key;
    o.client_keys = keys.at(a);
    o.agency = a;
    o.state_file = (gw.dir() / (a + ".state")).string();
    cads.push_back(std::make_unique<cad::cad_client>(o, [](const cad::delivery&) {}));
    cads.back()->start();
  }
  REQUIRE(eventually([&] { return cads[0]->connected() && cads[1]->connected(); }, 10s));

  // Some traffic, and an error, so that the counters have samples.
  http_client c(gw.port());
  const auto amb = gateway_process::token(eeast_ambulance);
  auto sent =
      c.post("/api/v1/messages",
             request_between(new_message_id(eeast_ambulance), eeast_ambulance, essex_fire), amb);
  REQUIRE(sent.status == 202);
  REQUIRE(c.get("/api/v1/transfers", "not-a-token").status == 401);

  std::string text;
  REQUIRE(eventually(
      [&] {
        text = c.get("/metrics", "").body;
        return text.find("bluelink_cad_link_up{agency=\"essex-police\"} 1") != std::string::npos &&
               text.find("bluelink_cad_link_up{agency=\"essex-fire\"} 1") != std::string::npos;
      },
      10s, 100ms));
  INFO(text);
  CHECK(exposition_problems(text).empty());
  for (const auto& p : exposition_problems(text)) WARN(p);
  CHECK(text.find("# TYPE bluelink_cad_link_up gauge") ==
        text.rfind("# TYPE bluelink_cad_link_up"));

  auto verdict = promtool_check(gw.dir(), text);
  if (!verdict) {
    WARN("promtool is not installed (Debian package prometheus): only the built-in checks ran");
  } else {
    INFO("promtool check metrics: " << verdict->second);
    CHECK(verdict->first == 0);
  }
  for (auto& cad : cads) cad->stop();
}

TEST_CASE("with a metrics token configured, GET /metrics needs exactly that bearer token",
          "[system][metrics][auth]") {
  const std::string token = "bl-metrics-scraper-3f9a1c";
  gateway_process gw(json{{"metrics", {{"token_sha256", sha256_hex(token)}}}});
  http_client c(gw.port());

  auto none = c.get("/metrics", "");
  CHECK(none.status == 401);
  CHECK(none.json["error"]["code"] == "bl.auth.missing_token");

  auto wrong = c.get("/metrics", token + "x");
  CHECK(wrong.status == 401);
  CHECK(wrong.json["error"]["code"] == "bl.auth.invalid_token");

  // An agency's token is not the metrics token.
  auto agency = c.get("/metrics", gateway_process::token(essex_fire));
  CHECK(agency.status == 401);
  CHECK(agency.json["error"]["code"] == "bl.auth.invalid_token");

  auto ok = c.get("/metrics", token);
  CHECK(ok.status == 200);
  CHECK(ok.body.find("# TYPE bluelink_messages_in_total counter") != std::string::npos);

  // /healthz stays open for load balancers.
  CHECK(c.get("/healthz", "").status == 200);
}
