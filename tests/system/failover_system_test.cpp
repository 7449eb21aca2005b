// The failover drill (issue 16; tests/support/failover_drill.hpp) as a system test: a PostgreSQL
// primary and its synchronous standby, two real gateway nodes, Fire, Police and Ambulance CADs
// that know both nodes and a Police console, carrying 10,000 transfers with their full traffic
// while a node is SIGKILLed and restarted, the standby's WAL receiver stalls, a node dies between
// commit and receipt, the primary is SIGKILLed and the standby promoted, and the old primary is
// restarted as it was. Afterwards every check of the drill must hold. The measured windows and
// the throughput of two nodes against one are tools/bench/failover's (docs/benchmarks.md).

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/failover_drill.hpp"
#include "tests/support/gateway_process.hpp"
#include "tools/bench/bench_doc.hpp"

namespace {

/// 10,000 transfers as the issue asks; BL_FAILOVER_TRANSFERS sets another number. The ASan preset
/// runs 1,000 (there the drill found a use after free in the CAD link: a session ended by its own
/// goodbye when its agency moved to another node). The TSan preset sets 0 and the drill is skipped:
/// TSan slows each gateway about fifteen times, and its CADs, which hear no heartbeat within 0.9 s,
/// move between the nodes without end. The cluster's races are covered under TSan by
/// pg_cluster_test, pg_failover_test and two_nodes_system_test.
int drill_transfers() {
  if (const char* n = std::getenv("BL_FAILOVER_TRANSFERS"); n && *n) return std::stoi(n);
  return 10000;
}

}  // namespace

TEST_CASE(
    "failover drill: two nodes on a primary and a synchronous standby lose nothing receipted "
    "through node, database and stale-primary faults",
    "[system][postgres][failover]") {
  bl::test::failover_drill_options o;
  o.transfers = drill_transfers();
  if (o.transfers == 0) {
    SUCCEED("skipped: BL_FAILOVER_TRANSFERS=0");
    return;
  }
  o.progress = &std::cout;
  auto r = bl::test::run_failover_drill(o);
  std::cout << r.summary();
  INFO(r.summary());
  CHECK(r.passed());
  CHECK(r.transfers == o.transfers);
  CHECK(r.windows.size() == 4);
  CHECK(r.cad_failovers >= 2);
  CHECK(r.console_reconnects >= 1);
  CHECK(r.timers_fired > 0);
}

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoi(v) : fallback;
}

std::string fixed(double v, int places = 2) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(places) << v;
  return o.str();
}

}  // namespace

// The failover benchmark (tools/bench/failover; hidden: ./tools/test does not run it): the drill
// with one node and with two, traffic only, for throughput; then the drill with every fault
// BL_FAILOVER_RUNS times, for each fault's unavailability window. With BL_FAILOVER_WRITE set, the
// results replace their section of that file (docs/benchmarks.md).
TEST_CASE("failover benchmark: unavailability windows and throughput of two nodes against one",
          "[.failover_bench]") {
  // A shard's file tag selects hidden cases too: only the tool, which sets BL_FAILOVER_RUNS,
  // runs the benchmark.
  if (std::getenv("BL_FAILOVER_RUNS") == nullptr) {
    SUCCEED("run by tools/bench/failover only");
    return;
  }
  const int transfers = env_int("BL_FAILOVER_TRANSFERS", 10000);
  const int runs = env_int("BL_FAILOVER_RUNS", 3);
  // How busy the machine was when the benchmark began (the windows are only worth comparing with
  // the aims on a quiet one): the 1, 5 and 15 minute load averages.
  std::string load;
  std::getline(std::ifstream("/proc/loadavg"), load);
  load = load.substr(0, load.find(' ', load.find(' ', load.find(' ') + 1) + 1));
  std::vector<bl::test::failover_drill_result> traffic, faults;
  for (int nodes : {1, 2}) {
    bl::test::failover_drill_options o;
    o.transfers = transfers;
    o.nodes = nodes;
    o.faults = false;
    o.progress = &std::cout;
    traffic.push_back(bl::test::run_failover_drill(o));
    std::cout << traffic.back().summary();
    CHECK(traffic.back().passed());
  }
  for (int i = 0; i < runs; ++i) {
    bl::test::failover_drill_options o;
    o.transfers = transfers;
    o.progress = &std::cout;
    faults.push_back(bl::test::run_failover_drill(o));
    std::cout << faults.back().summary();
    CHECK(faults.back().passed());
  }

  std::ostringstream md;
  md << "## Failover (issue 16): unavailability windows and two nodes against one\n\n"
     << "Measured " << bl::test::utc_now().substr(0, 10) << " with `./tools/bench/failover"
     << (runs != 3 ? " --runs " + std::to_string(runs) : std::string())
     << (transfers != 10000 ? " --transfers " + std::to_string(transfers) : std::string())
     << "` (dev build, RelWithDebInfo) on " << bl::bench::cpu_model() << ", "
     << std::thread::hardware_concurrency() << " cores, " << bl::bench::kernel()
     << ", load average " << load
     << " when it began. Everything on this one machine: a PostgreSQL primary and its synchronous "
        "standby "
        "(tests/support/failover_drill.hpp), the gateway nodes, the simulated Fire, Police and "
        "Ambulance CADs (each knowing every node's CAD link endpoint) and a Police console "
        "WebSocket. Each run carries "
     << transfers
     << " transfers with their full traffic (request, received, accept, update; one in forty "
        "left undecided so that its phone prompt fires), and checks afterwards that nothing "
        "receipted was lost or stored twice, delivered once per id, in sequence, with the audit "
        "chain intact.\n\n"
     << "### Throughput, traffic only\n\n"
     << "| Nodes | Transfers | Messages receipted | Seconds | Transfers/s | Messages/s | Checks "
        "|\n|---|---|---|---|---|---|---|\n";
  for (const auto& r : traffic)
    md << "| " << r.nodes << " | " << r.transfers << " | " << r.receipts << " | "
       << fixed(r.traffic_s, 1) << " | " << fixed(r.transfers_per_s, 1) << " | "
       << fixed(r.messages_per_s, 1) << " | " << (r.passed() ? "all held" : "FAILED") << " |\n";
  md << "\n### Unavailability windows (the fault to the first receipt of a message submitted "
        "after it, at every CAD the fault hit)\n\n| Fault |";
  for (int i = 0; i < runs; ++i) md << " Run " << i + 1 << " |";
  md << " Aim |\n|---|";
  for (int i = 0; i < runs; ++i) md << "---|";
  md << "---|\n";
  if (!faults.empty())
    for (std::size_t w = 0; w < faults[0].windows.size(); ++w) {
      md << "| " << faults[0].windows[w].fault << " |";
      for (const auto& r : faults)
        md << " " << (w < r.windows.size() ? fixed(r.windows[w].unavailable_s) + " s" : "-")
           << " |";
      md << " " << faults[0].windows[w].aim << " |\n";
    }
  md << "| Acknowledged messages lost |";
  for (const auto& r : faults) md << " " << (r.passed() ? "0" : "CHECK FAILED") << " |";
  md << " 0 |\n| Messages receipted, transfers/s over the whole run |";
  for (const auto& r : faults)
    md << " " << r.receipts << ", " << fixed(r.transfers_per_s, 1) << " |";
  md << " – |";
  md << "\n\nWhere the time went, at the CAD that waited longest (each from the fault; for a node, "
        "when its client gave the node up and moved, when the other node welcomed it; then its "
        "first receipt of anything, resends included, its first submission after the fault and "
        "that message's receipt):\n\n";
  for (std::size_t i = 0; i < faults.size(); ++i)
    for (const auto& w : faults[i].windows)
      md << "- Run " << i + 1 << ", " << w.fault << ": " << w.parts << "\n";
  md << "\n";
  std::cout << md.str();
  if (const char* path = std::getenv("BL_FAILOVER_WRITE"); path && *path)
    bl::bench::write_section(path, md.str(), "<!-- bluelink-bench-failover:begin -->",
                             "<!-- bluelink-bench-failover:end -->");
}
