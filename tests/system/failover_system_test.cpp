// The failover drill (issue 16; tests/support/failover_drill.hpp) as a system test: a PostgreSQL
// primary and its synchronous standby, two real gateway nodes, Fire, Police and Ambulance CADs
// that know both nodes and a Police console, carrying 10,000 transfers with their full traffic
// while a node is SIGKILLed and restarted, the standby's WAL receiver stalls, a node dies between
// commit and receipt, the primary is SIGKILLed and the standby promoted, and the old primary is
// restarted as it was. Afterwards every check of the drill must hold. The measured windows and
// the throughput of two nodes against one are tools/bench/failover's (docs/benchmarks.md).

#include <iostream>

#include <catch2/catch.hpp>

#include "tests/support/failover_drill.hpp"

namespace {

/// 10,000 transfers as the issue asks; the sanitizer builds run the same drill with fewer
/// (every fault and every check, at a tenth of the traffic: they run many times slower).
int drill_transfers() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 1000;
#else
  return 10000;
#endif
}

}  // namespace

TEST_CASE(
    "failover drill: two nodes on a primary and a synchronous standby lose nothing receipted "
    "through node, database and stale-primary faults",
    "[system][postgres][failover]") {
  bl::test::failover_drill_options o;
  o.transfers = drill_transfers();
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
