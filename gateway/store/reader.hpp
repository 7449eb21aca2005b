#pragma once
// The store's read side, whatever the engine under it: queries for the HTTP API, metrics and
// audit verification, opened with open_reader() (gateway/store/open_store.hpp). It returns typed
// rows; the API shapes its own JSON from them (gateway/net/reader_json). Thread-safe:
// every member may be called from any thread at once (each engine keeps a small pool of
// connections, so that reads run beside the writer without blocking it).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/core/original.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/access_log.hpp"
#include "gateway/store/retention.hpp"

namespace bl::store {

class durable_marks;

struct transfer_filter {
  std::string state;
  std::string category;
  std::optional<time_point> since;
  int limit = 200;
};

struct inbox_item {
  std::int64_t seq;
  std::string doc;  // the stored message JSON, exactly as it will be delivered
  std::string type;
};

/// The columns every view of a transfer shares (table `transfers`).
struct transfer_fields {
  std::string id;
  std::string state;
  std::int64_t version = 0;
  std::string category;
  std::string priority;
  std::string mode;
  std::string requester;
  std::string responder;
  time_point created_at{};
  time_point updated_at{};
  time_point expires_at{};
  time_point delivery_due{};
  time_point decision_due{};
  bool delivery_alerted = false;
  bool decision_alerted = false;
};

/// A transfer as its lists show it: the transfer list, the console's live events, UCRI2 lookups.
struct transfer_row : transfer_fields {
  std::optional<std::string> requester_number;  // each party's incident number, once recorded
  std::optional<std::string> responder_number;
  /// body.summary of the request as stored (a value other than a string as its JSON text, a
  /// string only up to a NUL in it); nullopt when the request has none.
  std::optional<std::string> summary;
};

/// One party's incident number for a transfer (table `incident_numbers`).
struct incident_number {
  std::string agency;
  std::string number;
  time_point recorded_at{};
};

/// One entry of a transfer's timeline (table `transfer_events`).
struct event_row {
  std::int64_t id = 0;  // transfer_events.id: one sequence for the whole gateway
  std::string transfer_id;
  time_point at{};
  std::string kind;
  std::string actor;
  std::optional<std::string> message_id;
  std::optional<std::string> from_state;
  std::optional<std::string> to_state;
  std::int64_t version = 0;
  std::string detail;  // JSON text as stored; empty when none
};

/// One audit row about a transfer (table `audit`).
struct audit_row {
  std::int64_t seq = 0;
  time_point at{};
  std::string actor;
  std::string action;
  std::optional<std::string> message_id;
  std::string detail;  // JSON text as stored
  std::string hash;
};

/// One transfer with everything recorded about it, for its detail view.
/// What the transfer detail says of a kept original (original.hpp); the body is read on its own.
struct original_meta {
  std::string message_id;
  std::string standard;
  std::string media_type;
  std::int64_t bytes = 0;
  time_point received_at{};
};

struct transfer_record : transfer_fields {
  std::string request_message_id;
  std::vector<incident_number> incident_numbers;
  std::vector<event_row> timeline;       // oldest first
  std::vector<std::string> messages;     // the stored message documents (JSON text), as stored
  std::vector<audit_row> audit;          // by seq
  std::vector<original_meta> originals;  // the partner documents its messages came from
  std::optional<time_point> purged_at;   // set once retention purged its content (a tombstone)
  std::vector<legal_hold> holds;         // legal holds placed on it, oldest first
};

/// One timeline event with the current state of its transfer, for the console's live push.
struct console_event {
  event_row event;
  transfer_row transfer;
};

/// One logged phone call (table `calls`), for the call list.
struct call_row {
  std::int64_t id = 0;
  std::string source;  // "console", "api" or "import"
  std::string from_agency;
  std::string to_agency;
  time_point started_at{};
  std::optional<std::int64_t> duration_s;
  bool emergency = false;
  std::optional<std::string> reason;
  std::optional<std::string> transfer_id;
  std::optional<std::string> logged_by;
  bool exercise = false;
  std::optional<std::string> note;
  time_point created_at{};
};

/// Subject access (issue 18): one of an agency's transfers as a search for a person reads it:
/// its parties and state, and everything of it that may name someone.
struct subject_transfer {
  std::string id;
  std::string requester;
  std::string responder;
  std::string category;
  std::string state;
  time_point created_at{};
  time_point updated_at{};
  bool purged = false;
  std::vector<std::pair<std::string, std::string>> messages;  // id, stored document (JSON)
  std::vector<std::pair<std::int64_t, std::string>> events;   // timeline events' details (JSON)
};

struct audit_report {
  bool ok = true;
  std::int64_t rows = 0;
  std::int64_t first_bad_seq = 0;
  std::string problem;
};

class reader {
 public:
  reader() = default;
  virtual ~reader() = default;
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  /// Transfers involving `agency`, newest first (updated_at, then id, descending).
  virtual std::vector<transfer_row> list_transfers(const std::string& agency,
                                                   const transfer_filter& f) = 0;
  /// One transfer with its incident numbers, timeline, messages and audit rows; nullopt if it
  /// does not exist. `is_party` is set to whether `agency` is a party to it; when it is not,
  /// the record is empty (nothing of the transfer is read).
  virtual std::optional<transfer_record> transfer_detail(const std::string& id,
                                                         const std::string& agency,
                                                         bool& is_party) = 0;
  /// The document message `message_id` was made from, as received; nullopt when there is none.
  /// `is_party` is set to whether `agency` is a party to the message's transfer; when it is not,
  /// the body is not read.
  virtual std::optional<stored_original> original(const std::string& message_id,
                                                  const std::string& agency, bool& is_party) = 0;
  /// The transfer that message `message_id`, sent by `agency`, belongs to, with the transfer's
  /// current version; nullopt when `agency` sent no such message. How a partner's Update or
  /// Cancel finds the transfer its first document created.
  virtual std::optional<std::pair<std::string, std::int64_t>> transfer_of_message(
      const std::string& message_id, const std::string& agency) = 0;
  virtual std::vector<inbox_item> inbox(const std::string& agency, std::int64_t after,
                                        int limit) = 0;
  /// Timeline events after `after`, oldest first; when `agency` is not empty only those of
  /// transfers it is a party to, and none after `upto` (0: no upper bound).
  virtual std::vector<console_event> events_after(std::int64_t after, int limit,
                                                  const std::string& agency = {},
                                                  std::int64_t upto = 0) = 0;
  /// The newest timeline event id (0 when none).
  virtual std::int64_t last_event_id() = 0;
  virtual std::int64_t acked_upto(const std::string& agency) = 0;
  /// The last sequence number queued for `agency` (0 when none).
  virtual std::int64_t last_seq(const std::string& agency) = 0;
  /// Unacknowledged deliveries per agency (queue depth).
  virtual std::vector<std::pair<std::string, std::int64_t>> queue_depths() = 0;
  /// Transfers per state.
  virtual std::vector<std::pair<std::string, std::int64_t>> transfer_states() = 0;
  /// Recomputes the audit hash chain from the first row, then checks the access log against it:
  /// every access_log row matches the audit row of its seq, and every audit row of action
  /// access.* has its access_log row.
  virtual audit_report verify_audit() = 0;
  /// Access-log entries that match `f`, newest first (access_log.hpp).
  virtual std::vector<access_entry> access_log(const access_filter& f) = 0;
  /// From now on, deliveries and timeline events are read only as far as `marks` say the store
  /// is durable (inbox, events_after, last_event_id, last_seq): what is read there leaves the
  /// gateway. Set once, before the reader is shared between threads.
  virtual void bound_by(std::shared_ptr<const durable_marks> marks) = 0;
  /// A cheap query proving the database answers.
  virtual bool ping() = 0;
  /// Retention: transfers not purged yet whose last activity is before `before`, oldest first
  /// (by updated_at, then id), after `after` (the last one of the page before).
  virtual std::vector<purge_candidate> purge_candidates(
      time_point before, const std::optional<std::pair<time_point, std::string>>& after,
      int limit) = 0;
  /// Calls not purged yet that started before `before`, oldest first, after `after`.
  virtual std::vector<call_candidate> call_purge_candidates(
      time_point before, const std::optional<std::pair<time_point, std::int64_t>>& after,
      int limit) = 0;
  /// Legal holds standing now (not lifted), oldest first.
  virtual std::vector<legal_hold> current_holds() = 0;
  /// Phone calls to or from `agency`, newest first (by when they started); `since` keeps calls
  /// started at or after it.
  virtual std::vector<call_row> list_calls(const std::string& agency,
                                           std::optional<time_point> since, int limit) = 0;
  /// Subject access: `agency`'s transfers last active in [since, before), newest first (by
  /// updated_at, then id), at most `limit`, each with its messages and timeline details. `before`
  /// is (until, "") for the first page and the last transfer of a page for the next; a page costs
  /// the page (the list's index ranges).
  virtual std::vector<subject_transfer> subject_transfers(
      const std::string& agency, time_point since, const std::pair<time_point, std::string>& before,
      int limit) = 0;
  /// The same for `agency`'s phone calls started in [since, before) (before: (until, max id) for
  /// the first page).
  virtual std::vector<call_row> subject_calls(const std::string& agency, time_point since,
                                              const std::pair<time_point, std::int64_t>& before,
                                              int limit) = 0;
};

}  // namespace bl::store
