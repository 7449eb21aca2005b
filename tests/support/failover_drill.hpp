#pragma once
// The failover drill (issue 16): a PostgreSQL primary and its synchronous standby started on
// loopback sockets, one or two real gateway nodes on them, simulated Fire, Police and Ambulance
// CADs that know every node's CAD link endpoint, and a Police console WebSocket that moves to the
// other node when its node goes. The CADs carry `transfers` transfers with their full traffic
// (request, received, accept, update; one in forty is left undecided so that its decision limit
// fires and the sender is told to phone) while the drill, with `faults`, in turn:
//   1. SIGKILLs gateway node A and restarts it;
//   2. stalls the standby's WAL receiver (SIGSTOP) for two seconds: nothing may be receipted then;
//   3. kills node B between a commit and its receipts (failpoint engine.crash_after_commit) and
//      restarts it;
//   4. SIGKILLs the primary and promotes the standby (as the failover manager would, at once);
//   5. restarts the old primary as it was, taking writes on its old timeline (an operator's
//      mistake), and watches that no node writes to it.
// Each fault's unavailability window (the fault to the first receipt of a message submitted after
// it, at the CADs it hit) is measured. Afterwards it checks that every receipted message is stored
// once and delivered once per id (after the client's dedupe) to its recipient, that each CAD's
// sequence is gap-free, that each transfer's messages arrived in version order, that no timer
// fired twice, that the audit chain verifies, that both nodes give the same savings totals and
// count every transfer, that the console saw every one of its agency's events, and that the stale
// primary was never written to.
//
// Used by tests/system/failover_system_test.cpp (in ./tools/test) and by tools/bench/failover
// (the measured windows and the throughput of two nodes against one, into docs/benchmarks.md).
// Loopback and Unix sockets only. Starts the gateways from the calling thread (they die with it).

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace bl::test {

struct failover_drill_options {
  int transfers = 10000;
  int nodes = 2;       // 1: one node (every endpoint list names it); faults need 2
  bool faults = true;  // false: traffic only, for throughput
  int in_flight = 48;  // requests each CAD keeps submitted and not yet receipted, at most
  std::ostream* progress = nullptr;  // a line every few seconds; null: quiet
};

struct fault_window {
  std::string fault;
  double unavailable_s = -1;  // the fault to the first new receipt at the CADs it hit
  // Where the time went at the CAD that took longest, each from the fault: when its client moved
  // to the other node and was welcomed there (node faults), its first receipt of anything, its
  // first submission after the fault and that message's receipt.
  std::string parts;
  std::string aim;  // issue 16's aim for this fault on the drill's machine, "–" when none
};

struct failover_drill_result {
  int nodes = 0;
  int transfers = 0;             // transfers whose request was receipted
  int completed = 0;             // transfers whose last message (update or phone prompt) arrived
  std::uint64_t receipts = 0;    // messages the CADs had receipted (first receipt each)
  std::uint64_t deliveries = 0;  // deliveries the CADs processed
  std::uint64_t duplicates_dropped = 0;  // re-sent deliveries the CAD clients filtered out
  std::uint64_t resent_submits = 0;
  std::uint64_t cad_failovers = 0;  // CAD clients' moves to another node
  std::uint64_t console_events = 0;
  std::uint64_t console_reconnects = 0;
  std::uint64_t timers_fired = 0;  // phone_fallback and expired events in the store
  double traffic_s = 0;            // the first request to the last transfer completed
  double transfers_per_s = 0;
  double messages_per_s = 0;
  std::vector<fault_window> windows;
  std::vector<std::string> failures;

  bool passed() const { return failures.empty(); }
  /// Several lines: the figures, each window, the verdict with every failure.
  std::string summary() const;
};

/// Runs the drill. Every failed check is in the result; throws std::runtime_error only when the
/// servers or gateways cannot be started at all.
failover_drill_result run_failover_drill(const failover_drill_options& opts);

}  // namespace bl::test
