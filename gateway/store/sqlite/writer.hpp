#pragma once
// The SQLite engine's writer: one connection in WAL mode. With sync_by_caller the connection
// commits with synchronous=NORMAL and the engine syncs the WAL itself on a thread of its own
// (commits_need_sync(), sync_point(), sync()), so that the next batch is written meanwhile. It
// caches counters (per-agency sequence, transfer ids, the audit tail, pending counts) because it
// is the only writer of its file; rollback() forgets them.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/store/writer.hpp"

namespace bl::store {
class db;
}

namespace bl::store::sqlite {

class writer final : public store::writer {
 public:
  /// Opens or creates the database, checks it is a readable Bluelink store, sets WAL and the
  /// synchronous level, and migrates. Throws store_error with an operator-readable message.
  explicit writer(const store_options& opts);
  ~writer() override;

  void begin() override;
  void commit() override;
  void savepoint() override;
  void release_savepoint() override;
  void rollback_to_savepoint() override;
  void rollback() noexcept override;
  std::uint64_t open_reads_ended() const override { return open_reads_ended_; }

  std::optional<std::string> find_receipt(const std::string& message_id) override;
  std::optional<transfer> load_transfer(const std::string& id) override;
  std::optional<std::string> message_doc(const std::string& message_id) override;
  void save_transfer(const transfer& t, bool insert) override;
  void insert_message(const std::string& id, const std::string& type, const std::string& from,
                      const std::string& to, const std::string& transfer_id,
                      std::optional<std::int64_t> version, const std::string& mode,
                      std::optional<time_point> sent_at, time_point stored_at,
                      const std::string& doc, const std::string& receipt) override;
  void insert_original(const std::string& message_id, const original_document& doc,
                       time_point received_at) override;
  std::optional<original_document> find_original(const std::string& message_id) override;
  void record_incident(const std::string& transfer_id, const std::string& agency,
                       const std::string& number, time_point at) override;
  void add_event(const timeline_event& e) override;
  std::int64_t enqueue(const std::string& agency, const std::string& message_id,
                       const std::string& transfer_id, const std::string& type, time_point at,
                       const std::string& from = {}) override;
  std::int64_t pending_from(const std::string& recipient, const std::string& sender) override;
  std::int64_t last_seq(const std::string& agency) override;
  std::int64_t acked_upto(const std::string& agency) override;
  std::vector<acked_delivery> ack(const std::string& agency, std::int64_t upto,
                                  time_point at) override;
  std::vector<acked_delivery> unacked_requests(const std::string& agency, std::int64_t after,
                                               std::int64_t upto, int limit) override;
  void access(access_entry& e) override;
  void audit(time_point at, const std::string& actor, const std::string& action,
             const std::string& message_id, const std::string& transfer_id,
             const std::string& detail_json) override;
  std::vector<std::string> due_transfers(time_point now, int limit) override;
  std::string next_transfer_id(time_point now) override;
  std::int64_t insert_call(const call_record& c) override;
  std::optional<phone_claim> find_phone_claim(const std::string& transfer_id,
                                              const std::string& agency,
                                              const std::string& prompt) override;
  void insert_phone_claim(const phone_claim& c) override;
  std::int64_t last_audit_seq() override;
  std::optional<purge_subject> purge_read(const std::string& id, bool with_content) override;
  void purge_write(const purge_rewrite& w) override;
  std::vector<call_candidate> purge_calls(const std::vector<std::int64_t>& ids,
                                          time_point at) override;
  std::optional<legal_hold> current_hold(const std::string& id) override;
  std::int64_t place_hold(const legal_hold& h) override;
  void lift_hold(std::int64_t id, const std::string& by, time_point at,
                 const std::string& reason) override;
  std::int64_t last_event_id() override;
  std::map<std::string, std::int64_t> last_seqs() override;

  bool commits_need_sync() const override { return sync_by_caller_; }
  /// The connection's WAL file.
  sync_handle sync_point() override;
  /// Syncs the WAL (through the VFS's xSync, so that a fault-injecting VFS sees it).
  void sync(sync_handle h) const override;

 private:
  struct statements;
  std::unique_ptr<db> db_;
  std::unique_ptr<statements> st_;
  // Caches of values that would otherwise need a query per message; dropped on rollback.
  std::map<std::string, std::int64_t> last_seq_;
  std::map<std::pair<std::string, std::string>, std::int64_t> pending_;  // (recipient, sender)
  std::optional<std::pair<std::int64_t, std::string>> audit_tail_;       // seq, hash
  std::string id_day_;
  std::int64_t id_counter_ = 0;
  std::optional<std::int64_t> last_event_id_;
  std::uint64_t open_reads_ended_ = 0;
  void end_open_reads() noexcept;
  bool sync_by_caller_ = false;
};

}  // namespace bl::store::sqlite
