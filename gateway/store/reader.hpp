#pragma once
// The store's read side: queries for the HTTP API, metrics and audit verification. Thread-safe:
// each call borrows a read-only connection from a small pool (WAL lets readers run beside the
// writer without blocking it).

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

class db;
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
  reader(std::string path, std::string vfs = {});
  ~reader();

  /// Transfers involving `agency`, newest first.
  nlohmann::json list_transfers(const std::string& agency, const transfer_filter& f);
  /// One transfer with its incident numbers, timeline, messages and audit rows; nullopt if it
  /// does not exist. `is_party` is set to whether `agency` is a party to it.
  std::optional<nlohmann::json> transfer_detail(const std::string& id, const std::string& agency,
                                                bool& is_party);
  std::vector<inbox_item> inbox(const std::string& agency, std::int64_t after, int limit);
  /// Timeline events after `after`, oldest first; when `agency` is not empty only those of
  /// transfers it is a party to, and none after `upto` (0: no upper bound).
  std::vector<console_event> events_after(std::int64_t after, int limit,
                                          const std::string& agency = {}, std::int64_t upto = 0);
  /// The newest timeline event id (0 when none).
  std::int64_t last_event_id();
  std::int64_t acked_upto(const std::string& agency);
  /// The last sequence number queued for `agency` (0 when none).
  std::int64_t last_seq(const std::string& agency);
  /// Unacknowledged deliveries per agency (queue depth).
  std::vector<std::pair<std::string, std::int64_t>> queue_depths();
  /// Transfers per state.
  std::vector<std::pair<std::string, std::int64_t>> transfer_states();
  /// Recomputes the audit hash chain from the first row.
  audit_report verify_audit();
  /// From now on, deliveries and timeline events are read only as far as `marks` say the store
  /// is durable (inbox, events_after, last_event_id, last_seq): what is read there leaves the
  /// gateway. Set once, before the reader is shared between threads.
  void bound_by(std::shared_ptr<const durable_marks> marks);
  /// A cheap query proving the database answers.
  bool ping();
  /// Phone calls to or from `agency`, newest first (by when they started); `since` keeps calls
  /// started at or after it.
  nlohmann::json list_calls(const std::string& agency, std::optional<time_point> since, int limit);

 private:
  class lease;
  std::unique_ptr<db> acquire();
  void release(std::unique_ptr<db> d);

  std::int64_t seq_bound(const std::string& agency) const;
  std::int64_t event_bound() const;

  std::string path_;
  std::string vfs_;
  std::shared_ptr<const durable_marks> marks_;
  std::mutex mu_;
  std::vector<std::unique_ptr<db>> pool_;
};

}  // namespace bl::store
