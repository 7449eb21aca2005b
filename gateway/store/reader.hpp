#pragma once
// The store's read side, whatever the engine under it: queries for the HTTP API, metrics and
// audit verification, opened with open_reader() (gateway/store/open_store.hpp). Thread-safe:
// every member may be called from any thread at once (each engine keeps a small pool of
// connections, so that reads run beside the writer without blocking it).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"

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

/// One timeline event with the current state of its transfer, for the console's live push.
struct console_event {
  std::int64_t id = 0;  // transfer_events.id: one sequence for the whole gateway
  std::string requester;
  std::string responder;
  nlohmann::json event;     // at, transfer_id, kind, actor, message_id, states, version, detail
  nlohmann::json transfer;  // the transfer's list row (as list_transfers, without "direction")
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

  /// Transfers involving `agency`, newest first.
  virtual nlohmann::json list_transfers(const std::string& agency, const transfer_filter& f) = 0;
  /// One transfer with its incident numbers, timeline, messages and audit rows; nullopt if it
  /// does not exist. `is_party` is set to whether `agency` is a party to it.
  virtual std::optional<nlohmann::json> transfer_detail(const std::string& id,
                                                        const std::string& agency,
                                                        bool& is_party) = 0;
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
  /// Recomputes the audit hash chain from the first row.
  virtual audit_report verify_audit() = 0;
  /// From now on, deliveries and timeline events are read only as far as `marks` say the store
  /// is durable (inbox, events_after, last_event_id, last_seq): what is read there leaves the
  /// gateway. Set once, before the reader is shared between threads.
  virtual void bound_by(std::shared_ptr<const durable_marks> marks) = 0;
  /// A cheap query proving the database answers.
  virtual bool ping() = 0;
  /// Phone calls to or from `agency`, newest first (by when they started); `since` keeps calls
  /// started at or after it.
  virtual nlohmann::json list_calls(const std::string& agency, std::optional<time_point> since,
                                    int limit) = 0;
};

}  // namespace bl::store
