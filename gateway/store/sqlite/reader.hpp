#pragma once
// The SQLite engine's reader: a small pool of read-only connections to the database file (WAL
// lets them read beside the writer without blocking it).

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/store/reader.hpp"

namespace bl::store {
class db;
}

namespace bl::store::sqlite {

class reader final : public store::reader {
 public:
  explicit reader(std::string path, std::string vfs = {});
  ~reader() override;

  /// Transfers involving `agency`, newest first.
  std::vector<transfer_row> list_transfers(const std::string& agency,
                                           const transfer_filter& f) override;
  /// One transfer with its incident numbers, timeline, messages and audit rows; nullopt if it
  /// does not exist. `is_party` is set to whether `agency` is a party to it.
  std::optional<std::pair<std::string, std::int64_t>> transfer_of_message(
      const std::string& message_id, const std::string& agency) override;
  std::optional<stored_original> original(const std::string& message_id, const std::string& agency,
                                          bool& is_party) override;
  std::optional<transfer_record> transfer_detail(const std::string& id, const std::string& agency,
                                                 bool& is_party) override;
  std::vector<inbox_item> inbox(const std::string& agency, std::int64_t after, int limit) override;
  /// Timeline events after `after`, oldest first; when `agency` is not empty only those of
  /// transfers it is a party to, and none after `upto` (0: no upper bound).
  std::vector<console_event> events_after(std::int64_t after, int limit,
                                          const std::string& agency = {},
                                          std::int64_t upto = 0) override;
  /// The newest timeline event id (0 when none).
  std::int64_t last_event_id() override;
  std::int64_t acked_upto(const std::string& agency) override;
  /// The last sequence number queued for `agency` (0 when none).
  std::int64_t last_seq(const std::string& agency) override;
  /// Unacknowledged deliveries per agency (queue depth).
  std::vector<std::pair<std::string, std::int64_t>> queue_depths() override;
  /// Transfers per state.
  std::vector<std::pair<std::string, std::int64_t>> transfer_states() override;
  /// Recomputes the audit hash chain from the first row, then checks the access log against it.
  audit_report verify_audit() override;
  std::vector<access_entry> access_log(const access_filter& f) override;
  /// From now on, deliveries and timeline events are read only as far as `marks` say the store
  /// is durable (inbox, events_after, last_event_id, last_seq): what is read there leaves the
  /// gateway. Set once, before the reader is shared between threads.
  void bound_by(std::shared_ptr<const durable_marks> marks) override;
  /// A cheap query proving the database answers.
  bool ping() override;
  /// Phone calls to or from `agency`, newest first (by when they started); `since` keeps calls
  /// started at or after it.
  std::vector<purge_candidate> purge_candidates(
      time_point before, const std::optional<std::pair<time_point, std::string>>& after,
      int limit) override;
  std::vector<call_candidate> call_purge_candidates(
      time_point before, const std::optional<std::pair<time_point, std::int64_t>>& after,
      int limit) override;
  std::vector<legal_hold> current_holds() override;
  std::vector<call_row> list_calls(const std::string& agency, std::optional<time_point> since,
                                   int limit) override;
  std::vector<subject_transfer> subject_transfers(const std::string& agency, time_point since,
                                                  const std::pair<time_point, std::string>& before,
                                                  int limit) override;
  std::vector<call_row> subject_calls(const std::string& agency, time_point since,
                                      const std::pair<time_point, std::int64_t>& before,
                                      int limit) override;

 private:
  class lease;
  std::unique_ptr<db> acquire();
  void release(std::unique_ptr<db> d);

  std::int64_t seq_bound(const std::string& agency) const;
  /// verify_audit()'s second part, once the chain holds: access_log against the audit rows.
  static void check_access_log(db& d, audit_report& r);
  std::int64_t event_bound() const;

  std::string path_;
  std::string vfs_;
  std::shared_ptr<const durable_marks> marks_;
  std::mutex mu_;
  std::vector<std::unique_ptr<db>> pool_;
};

}  // namespace bl::store::sqlite
