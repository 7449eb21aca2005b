// bluelink-cad-sim: a simulated Fire, Police or Ambulance CAD on the Bluelink CAD link. Thin:
// reads the command line, the scenario and the keys, then runs bl::sim::simulator, printing a
// progress line every few seconds and a summary at the end. Exit code 0 when every submit was
// answered as expected, 1 otherwise, 2 for unusable arguments or files.

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_link_server.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/schema/schema_set.hpp"
#include "tools/cad_sim/scenario.hpp"
#include "tools/cad_sim/simulator.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct cli_args {
  std::string agency;
  std::string endpoint;
  std::string server_key;
  std::string credentials;
  std::string key_file;
  std::string scenario;
  std::string state_file;
  std::string schemas;
  std::string mode;
  std::string log_level = "warn";
  std::uint64_t seed = 0;
  std::uint64_t count = 0;
  double rate = 1.0;
  double duration_s = 0;
  double drain_timeout_s = 30;
  double progress_s = 5;
  double disconnects_per_minute = -1;  // < 0: the scenario's
  double duplicate_probability = -1;   // < 0: the scenario's
};

/// The link settings written by `bluelink demo init` (credentials.json "cad_link").
struct link_credentials {
  std::string endpoint;
  std::string server_public_key;
  std::string key_file;
};

// A key path in credentials.json is tried as written, then relative to the credentials file.
std::string resolve_key_path(const std::string& path, const fs::path& creds_dir) {
  fs::path p(path);
  if (p.is_absolute() || fs::exists(p)) return p.string();
  if (fs::exists(creds_dir / p)) return (creds_dir / p).string();
  if (fs::exists(creds_dir / p.filename())) return (creds_dir / p.filename()).string();
  return p.string();
}

link_credentials read_credentials(const std::string& file, const std::string& agency) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read credentials file " + file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json doc;
  if (auto e = bl::parse_json_bounded(text, doc, bl::json_limits{}, "the credentials file"))
    throw std::runtime_error("credentials file " + file + ": " + e->message);
  if (!doc.is_object())
    throw std::runtime_error("credentials file " + file + " is not a JSON object");
  if (!doc.contains("cad_link") || !doc["cad_link"].is_object())
    throw std::runtime_error("credentials file " + file +
                             " has no \"cad_link\" section (run `bluelink demo init --force`)");
  const json& link = doc["cad_link"];
  link_credentials out;
  out.endpoint = link.value("endpoint", std::string());
  out.server_public_key = link.value("server_public_key", std::string());
  if (link.contains("keys") && link["keys"].is_object() && link["keys"].contains(agency))
    out.key_file =
        resolve_key_path(link["keys"][agency].get<std::string>(), fs::absolute(file).parent_path());
  return out;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  auto log = std::make_shared<spdlog::logger>("cad-sim",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  log->set_level(spdlog::level::from_str(level));
  log->flush_on(spdlog::level::warn);
  return log;
}

std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

// Runs until the simulator settles; the first SIGINT/SIGTERM starts the drain, the second stops
// at once. Signals are blocked in every thread and taken here with sigtimedwait.
void run_until_done(bl::sim::simulator& sim, const sigset_t& signals, double progress_s) {
  using steady = std::chrono::steady_clock;
  auto next_report = steady::now() + seconds(progress_s);
  int received = 0;
  while (!sim.wait_done(std::chrono::milliseconds(0))) {
    timespec slice{0, 200 * 1000 * 1000};
    if (sigtimedwait(&signals, nullptr, &slice) > 0) {
      if (++received == 1) {
        std::printf("%s: finishing: no new requests, waiting for answers (again to stop now)\n",
                    sim.agency().c_str());
        std::fflush(stdout);
        sim.finish();
      } else {
        return;
      }
    }
    if (steady::now() >= next_report) {
      std::printf("%s\n", bl::sim::format_progress(sim.agency(), sim.counters()).c_str());
      std::fflush(stdout);
      next_report += seconds(progress_s);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bluelink-cad-sim: a simulated Fire, Police or Ambulance CAD on the CAD link"};
  cli_args a;
  app.add_option("--agency", a.agency, "agency this CAD is (default: the scenario's)");
  app.add_option("--endpoint", a.endpoint,
                 "gateway CAD link endpoint, or several gateway nodes' separated by commas, tried "
                 "in turn (default: credentials, else tcp://127.0.0.1:5560)");
  app.add_option("--server-key", a.server_key, "the gateway's CURVE public key (Z85)");
  app.add_option("--credentials", a.credentials,
                 "credentials.json with a cad_link section (endpoint, server key, key files)");
  app.add_option("--key-file", a.key_file, "this CAD's key pair {\"public\",\"secret\"}");
  app.add_option("--scenario", a.scenario,
                 "scenario file (default: tools/cad_sim/scenarios/<agency>.json)");
  app.add_option("--state-file", a.state_file,
                 "remembers the last delivery processed and the next incident number");
  app.add_option("--seed", a.seed, "random seed (default: random)");
  app.add_option("--count", a.count, "stop after sending this many requests");
  app.add_option("--rate", a.rate, "requests per second (0: only answer)")
      ->check(CLI::Range(0.0, 10000.0));
  app.add_option("--duration", a.duration_s, "stop sending after this many seconds")
      ->check(CLI::PositiveNumber);
  app.add_option("--drain-timeout", a.drain_timeout_s,
                 "after the last request, wait at most this many seconds for answers")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--progress", a.progress_s, "seconds between progress lines")
      ->check(CLI::PositiveNumber);
  app.add_option("--mode", a.mode, "traffic mode of requests (default: the scenario's)")
      ->check(CLI::IsMember({"live", "exercise", "test"}));
  app.add_option("--disconnects-per-minute", a.disconnects_per_minute,
                 "fault: mean rate of dropped connections (default: the scenario's)")
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--duplicate-probability", a.duplicate_probability,
                 "fault: chance of submitting a message twice (default: the scenario's)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--schemas", a.schemas, "schemas directory (default: found automatically)");
  app.add_option("--log-level", a.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  CLI11_PARSE(app, argc, argv);

  // Blocked before any thread exists (ZeroMQ's included), so every thread inherits the mask and
  // only run_until_done takes the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<bl::sim::simulator> sim;
  try {
    fs::path schemas_dir =
        a.schemas.empty() ? bl::schema_set::locate(argv[0]) : fs::path(a.schemas);
    bl::schema_set schemas(schemas_dir);
    if (a.scenario.empty()) {
      if (a.agency.empty()) throw std::runtime_error("give --scenario or --agency");
      a.scenario =
          (schemas_dir.parent_path() / "tools/cad_sim/scenarios" / (a.agency + ".json")).string();
    }
    auto sc = bl::sim::load_scenario(a.scenario, schemas);
    if (!a.agency.empty() && a.agency != sc.agency)
      throw std::runtime_error("scenario " + a.scenario + " is for " + sc.agency + ", not " +
                               a.agency);

    if (a.disconnects_per_minute >= 0) sc.faults.disconnects_per_minute = a.disconnects_per_minute;
    if (a.duplicate_probability >= 0) sc.faults.duplicate_probability = a.duplicate_probability;

    link_credentials creds;
    if (!a.credentials.empty()) creds = read_credentials(a.credentials, sc.agency);
    bl::cad::client_options link;
    link.endpoint = !a.endpoint.empty()       ? a.endpoint
                    : !creds.endpoint.empty() ? creds.endpoint
                                              : link.endpoint;
    // Several gateway nodes: "tcp://a:5560,tcp://b:5560".
    for (std::size_t start = 0; link.endpoint.find(',') != std::string::npos;) {
      auto comma = link.endpoint.find(',', start);
      link.endpoints.push_back(link.endpoint.substr(start, comma - start));
      if (comma == std::string::npos) {
        link.endpoint = link.endpoints.front();
        break;
      }
      start = comma + 1;
    }
    link.server_public_key = !a.server_key.empty() ? a.server_key : creds.server_public_key;
    if (link.server_public_key.empty())
      throw std::runtime_error("the gateway's public key is needed: --server-key or --credentials");
    std::string key_file = !a.key_file.empty() ? a.key_file : creds.key_file;
    if (key_file.empty())
      throw std::runtime_error(
          "this CAD's key file is needed: --key-file, or --credentials "
          "listing a key for " +
          sc.agency);
    link.client_keys = bl::cad::load_key_file(key_file);
    link.agency = sc.agency;
    link.client_name = "bluelink-cad-sim/1 (" + sc.cad_system + ")";
    link.state_file = a.state_file;

    bl::sim::sim_config cfg;
    cfg.rate_per_s = a.rate;
    if (a.count > 0) cfg.count = a.count;
    if (a.duration_s > 0) cfg.duration = seconds(a.duration_s);
    cfg.drain_timeout = seconds(a.drain_timeout_s);
    cfg.seed = a.seed != 0 ? a.seed : std::random_device{}();
    cfg.mode = a.mode;
    if (!a.state_file.empty()) cfg.incident_state_file = a.state_file + ".incidents";

    std::printf("bluelink-cad-sim %s (%s): %zu request templates, %.3g requests/s, %s, seed %llu\n",
                sc.agency.c_str(), sc.cad_system.c_str(), sc.requests.size(), cfg.rate_per_s,
                a.endpoint.empty() ? link.endpoint.c_str() : a.endpoint.c_str(),
                static_cast<unsigned long long>(cfg.seed));
    std::fflush(stdout);
    sim = std::make_unique<bl::sim::simulator>(std::move(sc), cfg, std::move(link),
                                               make_logger(a.log_level));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-cad-sim: %s\n", e.what());
    return 2;
  }

  sim->start();
  run_until_done(*sim, signals, a.progress_s);
  sim->stop();
  auto counters = sim->counters();
  std::printf("%s\n", bl::sim::format_summary(sim->agency(), counters, sim->problems()).c_str());
  return bl::sim::passed(counters) ? 0 : 1;
}
