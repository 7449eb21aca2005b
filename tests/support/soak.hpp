#pragma once
// The mixed-load soak (issue 13): the real gateway binary with both simulated CADs on the CAD
// link, HTTP submissions, three console WebSockets, sign-ins and account changes through the API
// and the `bluelink` CLI, savings reports over ten years, call imports and phone-fallback timers,
// all at once for a given time; meanwhile /healthz and /metrics are read every second. Then it
// proves that nothing receipted was lost or left undelivered, and that a store that stays
// unwritable turns /healthz to 503.
//
// Used by tests/system/soak_system_test.cpp (the short form, in ./tools/test) and by tools/soak
// (the long run). Loopback only. run_soak() starts the gateway from the calling thread (the child
// dies with that thread), runs its load threads, and returns when all of them have ended.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace bl::test {

struct soak_options {
  std::chrono::seconds duration{45};
  std::chrono::seconds progress_every{10};
  double cad_requests_per_s = 1.0;                // transfer requests each simulated CAD originates
  double http_requests_per_s = 1.0;               // requests the Ambulance Service sends over HTTP
  std::chrono::milliseconds account_every{3000};  // API and CLI account changes, sign-ins
  std::chrono::milliseconds report_every{5000};   // savings reports over 120 months
  std::chrono::seconds import_every{60};          // call imports after the first (at 10 %)
  int import_rows = 12000;                        // more than the largest import batch
  int busy_timeout_ms = 5000;        // the store's; also the longest a commit may keep failing
  std::ostream* progress = nullptr;  // one line every progress_every; null: quiet
};

/// What the soak measured. `failures` is empty when every check held.
struct soak_result {
  double seconds = 0;                    // the mixed-load phase
  std::uint64_t http_receipted = 0;      // Ambulance requests and accepts over HTTP
  std::uint64_t http_refused = 0;        // answered with an error (5xx are sent again, 409 not)
  std::uint64_t http_duplicates = 0;     // requests sent again with the same id: first receipt
  std::uint64_t cad_receipted = 0;       // both simulated CADs, every message kind
  std::uint64_t cad_requests = 0;        // transfer requests the CADs originated
  std::uint64_t delivered = 0;           // deliveries the CADs and the HTTP inbox processed
  std::uint64_t alerts = 0;              // transfer.alert (phone fallback) that reached a room
  std::uint64_t phone_fallbacks = 0;     // phone_fallback timeline events in the store
  std::uint64_t console_events = 0;      // events pushed to the three consoles
  std::uint64_t console_reconnects = 0;  // console sockets opened again after a drop
  std::uint64_t sign_ins = 0;
  std::uint64_t api_account_changes = 0;  // POST and PATCH /api/v1/users
  std::uint64_t cli_account_changes = 0;  // bluelink user add|passwd|disable|enable
  std::uint64_t reports = 0;
  std::uint64_t imports = 0;
  std::uint64_t imported_rows = 0;
  std::uint64_t health_samples = 0;
  std::uint64_t health_not_ok = 0;           // /healthz samples that were not 200
  double worst_failing_streak_s = 0;         // longest run of failing commits (or /healthz not ok)
  double max_last_commit_age_s = 0;          // bluelink_store_last_commit_age_seconds, highest seen
  std::uint64_t commit_failures_logged = 0;  // event=commit_failed lines before the lock phase
  std::uint64_t reads_left_open_logged = 0;  // event=store_read_left_open lines
  double unwritable_to_503_s = -1;           // lock taken -> /healthz 503
  double recovered_to_200_s = -1;            // lock released -> /healthz 200
  std::vector<std::string> console_drops;    // why console sockets were opened again (not failures)
  std::vector<std::string> failures;

  bool passed() const { return failures.empty(); }
  /// Several lines: the figures and the verdict, with every failure.
  std::string summary() const;
};

/// Runs the soak; every failed check is in the result (nothing here throws for a failed check).
/// Throws std::runtime_error when the gateway cannot be started at all.
soak_result run_soak(const soak_options& opts);

}  // namespace bl::test
