#pragma once
// The store's read side on PostgreSQL: every query of bl::store::reader with exactly the SQLite
// reader's results (rows, order, every field), for the HTTP API, the console hub, the delivery
// stream, /metrics and `bluelink audit verify`.
//
// Ownership, threading, lifetime: one pg_reader is shared by every thread of the gateway; every
// member may be called from any thread at once. It owns a small pool of libpq connections, made
// on first use (opening a reader connects to nothing) and never more than `pool_size` at once; a
// caller that finds them all busy waits for one up to `pool_wait` and then gets
// store_error(busy). A connection that the server dropped (restart, failover, a terminated
// backend) is closed and the query runs once more on a new one, so that the reader recovers by
// itself when the server is back; while it cannot be reached every query throws
// store_error(unavailable) naming the server (never its password).
//
// Durability: a COMMIT with synchronous_commit=on is durable when it returns, but the reader
// honours durable_marks exactly as the SQLite reader does (bound_by), so that the engine above
// treats both engines alike.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/store/reader.hpp"

namespace bl::store::postgres {

class connection;

struct pg_reader_config {
  std::string conninfo;  // libpq connection string, password included (never shown)
  std::size_t pool_size = 8;
  std::chrono::milliseconds pool_wait{10'000};
  // Bounds on one statement, so that no read holds a connection for ever (57014: busy) and none
  // queues behind a lock for long (55P03: busy).
  std::chrono::milliseconds statement_timeout{30'000};
  std::chrono::milliseconds lock_timeout{5'000};
};

class pg_reader final : public store::reader {
 public:
  explicit pg_reader(pg_reader_config cfg);
  ~pg_reader() override;
  pg_reader(const pg_reader&) = delete;
  pg_reader& operator=(const pg_reader&) = delete;

  std::vector<transfer_row> list_transfers(const std::string& agency,
                                           const transfer_filter& f) override;
  std::optional<std::pair<std::string, std::int64_t>> transfer_of_message(
      const std::string& message_id, const std::string& agency) override;
  std::optional<stored_original> original(const std::string& message_id, const std::string& agency,
                                          bool& is_party) override;
  std::optional<transfer_record> transfer_detail(const std::string& id, const std::string& agency,
                                                 bool& is_party) override;
  std::vector<inbox_item> inbox(const std::string& agency, std::int64_t after, int limit) override;
  std::vector<console_event> events_after(std::int64_t after, int limit,
                                          const std::string& agency = {},
                                          std::int64_t upto = 0) override;
  std::int64_t last_event_id() override;
  std::int64_t acked_upto(const std::string& agency) override;
  std::int64_t last_seq(const std::string& agency) override;
  std::vector<std::pair<std::string, std::int64_t>> queue_depths() override;
  std::vector<std::pair<std::string, std::int64_t>> transfer_states() override;
  /// Recomputes the hash chain from the first row in one snapshot, a page at a time; also checks
  /// that the chain ends where the writers recorded its last row (audit_tail), so that rows
  /// removed from the end are found too.
  audit_report verify_audit() override;
  std::vector<access_entry> access_log(const access_filter& f) override;
  void bound_by(std::shared_ptr<const durable_marks> marks) override;
  bool ping() override;
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

  /// Connections open now (idle and in use), for tests and metrics.
  std::size_t open_connections() const;

 private:
  /// Runs `f` on a pooled connection; once more on a new connection when the pooled one turns
  /// out to have been dropped by the server.
  void with_connection(const std::function<void(connection&)>& f);
  /// Runs `f` in one read-only REPEATABLE READ transaction (one snapshot for several queries).
  void in_snapshot(const std::function<void(connection&)>& f);
  /// verify_audit()'s second part, once the chain holds: access_log against the audit rows.
  static void check_access_log(connection& c, audit_report& rep);
  std::unique_ptr<connection> acquire(bool& fresh);
  void release(std::unique_ptr<connection> c);
  void discard();
  std::unique_ptr<connection> connect();

  std::int64_t seq_bound(const std::string& agency) const;
  std::int64_t event_bound() const;

  pg_reader_config cfg_;
  std::shared_ptr<const durable_marks> marks_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t open_ = 0;  // idle_ plus those lent out
};

}  // namespace bl::store::postgres
