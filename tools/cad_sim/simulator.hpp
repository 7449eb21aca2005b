#pragma once
// The simulated CAD behind bluelink-cad-sim: originates requests from its scenario at a steady
// rate, answers the requests delivered to it by the scenario's receiver policy, follows each
// transfer's version from receipts and deliveries, injects link faults, and counts everything.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/zmq_cad/cad_client.hpp"
#include "tools/cad_sim/scenario.hpp"

namespace spdlog {
class logger;
}

namespace bl::sim {

struct sim_config {
  double rate_per_s = 1.0;                            // requests originated per second; 0: none
  std::optional<std::uint64_t> count;                 // stop originating after this many
  std::optional<std::chrono::milliseconds> duration;  // stop originating after this long
  std::chrono::milliseconds drain_timeout{30000};     // then wait at most this long to settle
  std::uint64_t seed = 1;  // one random stream; what it decides also depends on event order
  std::string mode;        // traffic mode of requests; empty: the scenario's
  std::string incident_state_file;  // remembers the next incident number; empty: memory only
  std::chrono::milliseconds poll_interval{5};  // how often outstanding submits are looked at
};

/// Everything the simulator counted. "in" is this CAD as receiver, "out" as requester.
struct sim_counters {
  std::uint64_t sent = 0;                  // messages submitted (each message id counted once)
  std::uint64_t duplicate_sends = 0;       // the same message submitted a second time (fault)
  std::uint64_t duplicates_confirmed = 0;  // ... whose receipt equalled the first one
  std::uint64_t receipted = 0;             // submits answered with a receipt
  std::uint64_t conflicts = 0;   // refusals the policy expects: the other side acted first
  std::uint64_t errors = 0;      // refusals and inconsistencies nobody expects
  std::uint64_t unanswered = 0;  // submits still without an answer when the simulator stopped

  std::uint64_t requests_sent = 0;       // out
  std::uint64_t requests_delivered = 0;  // out: delivered receipts
  std::uint64_t received_in = 0;         // out: transfer.received from the receiver
  std::uint64_t accepted = 0;            // out
  std::uint64_t declined = 0;            // out
  std::uint64_t deferred = 0;            // out
  std::uint64_t updates_sent = 0;        // out
  std::uint64_t alerts = 0;              // out: transfer.alert (phone them)

  std::uint64_t requests_in = 0;    // in
  std::uint64_t received_sent = 0;  // in
  std::uint64_t accepts_sent = 0;   // in
  std::uint64_t declines_sent = 0;  // in
  std::uint64_t defers_sent = 0;    // in
  std::uint64_t updates_in = 0;     // in
  std::uint64_t cancels_in = 0;     // in

  std::uint64_t closes_sent = 0;  // either side
  std::uint64_t closes_in = 0;    // either side
  std::uint64_t skipped = 0;      // planned steps dropped because the transfer had moved on

  std::uint64_t deliveries = 0;          // link: messages handed over by the client
  std::uint64_t duplicates_dropped = 0;  // link: re-sent deliveries the client filtered
  std::uint64_t reconnects = 0;          // link: sessions after the first
  std::uint64_t disconnects_injected = 0;
  std::uint64_t unmatched = 0;       // deliveries about transfers this run never saw (earlier runs)
  std::uint64_t open_transfers = 0;  // transfers not in a final state at the end
  bool link_up = false;              // a session with the gateway is open right now
};

/// True when every submit was answered and nothing unexpected happened.
bool passed(const sim_counters& c);
/// One line for the periodic progress report.
std::string format_progress(const std::string& agency, const sim_counters& c);
/// The final report, several lines, ending with the verdict.
std::string format_summary(const std::string& agency, const sim_counters& c,
                           const std::vector<std::string>& problems);

/// One simulated CAD. Owns its cad_client and one worker thread; every piece of simulation
/// state (transfers, timers, outstanding submits, the random generator) belongs to the worker,
/// and the client's delivery callback only queues deliveries for it. The public methods may be
/// called from any thread. Lifetime: start() ... finish() ... wait_done() ... stop(); the
/// destructor stops.
class simulator {
 public:
  simulator(scenario sc, sim_config cfg, cad::client_options link,
            std::shared_ptr<spdlog::logger> log = nullptr);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  /// Starts the client (which connects in the background) and the worker.
  void start();
  /// Stops originating requests; the simulator keeps answering and finishing its own steps
  /// until it has settled or the drain timeout has passed. Also happens by itself once `count`
  /// requests were sent or `duration` has passed.
  void finish();
  /// Waits until the simulator has settled after finish(); true if it has.
  bool wait_done(std::chrono::milliseconds timeout);
  /// Stops the worker and the client at once. Submits still outstanding count as unanswered.
  void stop();

  sim_counters counters() const;
  /// The unexpected errors seen, each described for an operator (at most the first 20).
  std::vector<std::string> problems() const;
  const std::string& agency() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bl::sim
