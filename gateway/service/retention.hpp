#pragma once
// Retention (issue 18, docs/data-protection.md): which transfers and calls are past their period,
// what a purge keeps of them (a tombstone), and a purge pass that walks them a page at a time.
//
// Periods are per agency (gateway_config::retention_of): a transfer is kept for the longer of its
// two agencies' transfer periods from its last activity, a call for the longer of its two
// agencies' call periods from when it started; an agency without a period keeps its data until
// one is set, and so keeps every transfer and call it is party to. A legal hold stops a
// transfer's purge until it is lifted.
//
// The purge itself (purge_transfers, purge_calls) runs inside the caller's transaction: the
// engine's (the gateway's own schedule, one small batch a job so live traffic waits for at most
// one batch), or the CLI's (`bluelink purge`). It re-reads each transfer in that transaction, so
// one that became active, held or purged since it was listed is left alone. It writes one audit
// row of action retention.purged (which the erased audit details name) and, for each transfer or
// call purged, an erasure in the access log for each party agency (DPA 2018 s.62(1)(f)).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/retention.hpp"

namespace bl {

namespace store {
class writer;
class reader;
class account_store;
}  // namespace store

/// When a transfer last active at `updated_at` between two agencies may be purged: nullopt while
/// either keeps transfers without a period.
std::optional<time_point> transfer_purge_due(const gateway_config& cfg,
                                             const std::string& requester,
                                             const std::string& responder, time_point updated_at);
/// The same for a call.
std::optional<time_point> call_purge_due(const gateway_config& cfg, const std::string& from,
                                         const std::string& to, time_point started_at);

/// What a purge keeps of a stored message document: the envelope (ids, type, agencies, times,
/// version, mode) and, in the body, the category, priority and each agency's incident number;
/// marked purged with its time. Everything else (M/ETHANE, text, locations, people, notes) goes.
std::string tombstone_document(const std::string& doc, time_point purged_at);
/// What a purge keeps of a timeline event's detail: states, categories, priorities, incident
/// numbers, times, the call's direction and id; no text, notes, reasons or names.
std::string scrubbed_event_detail(const std::string& detail);

/// Who runs a purge, as the audit and access log name them.
struct purge_actor {
  std::string actor = "bluelink";
  std::string actor_kind = "gateway";
  std::string channel = "gateway";
};

struct purge_batch_result {
  std::vector<std::string> transfers;  // purged
  std::vector<std::int64_t> calls;     // purged
  int held = 0;                        // left alone: under a legal hold
  int skipped = 0;  // left alone: active again, already purged, gone, or no longer due
};

/// Purges each transfer of `ids` still due at `now` and not held, in `w`'s open transaction.
purge_batch_result purge_transfers(store::writer& w, const gateway_config& cfg,
                                   const std::vector<std::string>& ids, time_point now,
                                   const purge_actor& who);
/// Purges each call of `calls` (still due at `now`), in `w`'s open transaction.
purge_batch_result purge_calls(store::writer& w, const gateway_config& cfg,
                               const std::vector<store::call_candidate>& calls, time_point now,
                               const purge_actor& who);

/// Placing or lifting a legal hold: on `transfer_id`, by `by` of `agency` (a party to the
/// transfer; empty for an administrator or the CLI, who may hold any transfer), with a reason.
struct hold_change {
  std::string transfer_id;
  std::string agency;
  std::string by;
  std::string reason;
};

/// In `w`'s open transaction: stores the hold, an audit row (hold.placed) and a timeline event
/// (legal_hold) both parties see. Refused: bl.transfer.not_found (no such transfer, or not a
/// party), bl.hold.exists (one stands: the error names it), bl.hold.purged (already purged).
std::variant<store::legal_hold, error> place_legal_hold(store::writer& w, const hold_change& c,
                                                        time_point now);
/// The same for lifting the standing hold (hold.lifted, legal_hold_lifted); bl.hold.not_found
/// when none stands.
std::variant<store::legal_hold, error> lift_legal_hold(store::writer& w, const hold_change& c,
                                                       time_point now);

/// Deletes the console sessions (sign-in records: who, when, from which address) that ended
/// longer ago than their user's agency's logs_days (the defaults' for users of no agency);
/// returns how many.
std::int64_t purge_console_sessions(const gateway_config& cfg, store::account_store& accounts,
                                    time_point now);

/// A pass over everything past its period.
struct purge_pass_report {
  std::int64_t transfers_due = 0;  // past their period when seen
  std::int64_t transfers_purged = 0;
  std::int64_t transfers_held = 0;
  std::int64_t calls_due = 0;
  std::int64_t calls_purged = 0;
  std::int64_t sessions_purged = 0;  // set by the caller (purge_console_sessions)
  std::int64_t batches = 0;
  double longest_batch_ms = 0;  // the longest a batch took to apply (what live traffic waited)
  std::map<std::string, std::int64_t> transfers_by_agency;  // due, per party agency
  bool stopped = false;                                     // `stop` was set before the end
  std::string oldest_due;  // the oldest last activity of a transfer due (RFC 3339), or ""
};

struct purge_pass_options {
  int batch = 100;
  bool dry_run = false;  // count only: nothing is written
  /// Applies one batch (in a transaction of its own); unset in a dry run.
  std::function<purge_batch_result(const std::vector<std::string>&)> apply_transfers;
  std::function<purge_batch_result(const std::vector<store::call_candidate>&)> apply_calls;
  /// Called after each batch (and each page in a dry run) with the report so far.
  std::function<void(const purge_pass_report&)> progress;
  const std::atomic<bool>* stop = nullptr;
};

/// Walks the transfers and calls past their period as of `now`, oldest first, a page at a time.
purge_pass_report run_purge_pass(const gateway_config& cfg, store::reader& r, time_point now,
                                 const purge_pass_options& o);

}  // namespace bl
