#pragma once
// The store's write side on PostgreSQL: the public methods of bl::store::writer (the SQLite
// engine's), with the same semantics, for several gateway processes writing one database.
//
// Ownership, threading, lifetime: one pg_writer owns one connection and is used by one thread.
// Any number of pg_writers, in any number of processes, may share one database: nothing is
// cached across transactions. Every counter (an agency's delivery sequence, the day's
// transfer ids, the timeline's event ids, the audit chain's tail) is a row read and advanced
// inside the committing transaction, so numbers are gap-free and in commit order.
//
// Writers take turns: begin() opens the transaction and locks the audit chain's tail row in one
// round trip, like the SQLite engine's BEGIN IMMEDIATE, so a second writer's begin() waits until
// the first commits or rolls back. That keeps the engine's read-then-write steps (load_transfer,
// then save_transfer) free of lost updates under READ COMMITTED, gives writers one lock order (no
// deadlocks between them), and costs little: every transaction appends to the one audit chain,
// which serialises them from that point anyway. The counter rows still carry the numbers, so
// nothing depends on the lock for gap-free numbering.
//
// Durability: COMMIT returns once the server has flushed the commit (synchronous_commit=on), so
// there is no wal()/sync() as in the SQLite engine.
//
// Round trips: inside a transaction the writes whose result nobody reads (messages, transfers,
// incident numbers, timeline events, audit rows, enqueue_later, savepoints) are queued in libpq's
// pipeline mode and travel with the next statement that waits for an answer (the next job's
// dedupe lookup, or COMMIT). A failure among them is raised by that later call and fails the
// transaction as it would have: nothing is acknowledged before COMMIT returns. The reads a
// batch's new messages need (dedupe, the inbox quota's counts) come with BEGIN in one round
// trip (begin_batch), and the day's transfer-id counter is read once per transaction and then
// advanced by queued writes: a batch of new requests costs two round trips, BEGIN and COMMIT.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/core/lifecycle.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store::postgres {

class connection;
class result;

class pg_writer final : public store::writer {
 public:
  /// Connects, checks that the database is a Bluelink store (or empty) and migrates. Throws
  /// store_error with an operator-readable message that never includes the password.
  explicit pg_writer(const std::string& conninfo);
  ~pg_writer() override;
  pg_writer(const pg_writer&) = delete;
  pg_writer& operator=(const pg_writer&) = delete;

  /// Waits for any other writer's transaction to end (see above). Connects again first if the
  /// server went away since the last transaction.
  void begin() override;
  /// begin(), with the batch's receipts and inbox counts fetched in the same round trip, after
  /// the chain's lock (so that no other writer can change them before COMMIT).
  void begin_batch(const batch_hint& hint) override;
  void commit() override;
  /// NOTIFY on the channel cluster_wake_channel, queued with the transaction's other writes:
  /// PostgreSQL delivers it to every listening node when, and only if, the transaction commits.
  void announce(const std::string& node, const std::set<std::string>& agencies,
                bool timeline) override;
  /// Savepoints isolate one message inside a group commit.
  void savepoint() override;
  void release_savepoint() override;
  void rollback_to_savepoint() override;
  void rollback() noexcept override;
  /// No statement can hold a read open between transactions on PostgreSQL: always 0.
  std::uint64_t open_reads_ended() const override { return 0; }

  std::optional<std::string> find_receipt(const std::string& message_id) override;
  std::optional<transfer> load_transfer(const std::string& id) override;
  std::optional<std::string> message_doc(const std::string& message_id) override;
  /// One round trip for all of them; load_transfer() then answers from what it read, until
  /// this transaction saves the transfer or records one of its incident numbers.
  void prefetch_transfers(const std::vector<std::string>& ids) override;
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
  /// enqueue() without waiting for the sequence number: queued with the statements that follow
  /// (pipeline mode), so it costs no round trip of its own.
  void enqueue_later(const std::string& agency, const std::string& message_id,
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

 private:
  std::unique_ptr<connection> c_;
  // The audit chain's tail as read under its row lock in the open transaction (so no other
  // writer can move it): per transaction only, forgotten at commit and rollback; a savepoint
  // rollback puts back what it was when the job's savepoint was taken.
  std::optional<std::pair<std::int64_t, std::string>> tail_;
  bool in_transaction_ = false;  // begin() .. commit()/rollback(): writes may be queued
  // What this transaction knows without asking, valid only while it holds the chain's lock
  // (every writer's transaction takes it first, so nothing else changes these rows meanwhile),
  // and forgotten with tail_ (a savepoint rollback may undo what they describe):
  // - receipts_: a message id -> its stored receipt, or nullopt when it is not stored (ids the
  //   batch hint named, and messages this transaction stored);
  // - pending_: the inbox counts of every recipient from each sender in pending_senders_ (a
  //   pair absent from pending_ is 0), kept as enqueue() and ack() change them;
  // - day_no_: the transfer-id counter of one UTC day, as this transaction last moved it.
  std::unordered_map<std::string, std::optional<std::string>> receipts_;
  std::set<std::string> pending_senders_;
  std::map<std::pair<std::string, std::string>, std::int64_t> pending_;  // (recipient, sender)
  std::unordered_map<std::string, std::string> sender_of_;  // messages stored in this transaction
  std::optional<std::pair<std::string, std::int64_t>> day_no_;
  std::unordered_map<std::string, transfer> transfers_;  // prefetch_transfers(), not yet changed
  void lock_chain();
  void write(const char* sql, const std::vector<std::optional<std::string>>& ps);
  void take_tail(const result& r);
  void session_setup();
  void counted_enqueue(const std::string& agency, const std::string& message_id);
  // Whether this transaction appended to the chain: the tail row is then behind tail_ until
  // commit() moves it. job_tail_: tail_ and tail_dirty_ at the job's savepoint.
  bool tail_dirty_ = false;
  std::pair<std::optional<std::pair<std::int64_t, std::string>>, bool> job_tail_;
  // The job between savepoint() and its release or rollback: job_open_ while one runs in a
  // transaction; job_on_server_ once its SAVEPOINT was sent (at its first read); until then its
  // writes wait in job_writes_.
  bool job_open_ = false;
  bool job_on_server_ = false;
  std::vector<std::pair<const char*, std::vector<std::optional<std::string>>>> job_writes_;
  void job_to_server();
  /// A statement whose answer is needed now (a prepared statement): the job's SAVEPOINT and
  /// writes go first.
  result read(const char* sql, const std::vector<std::optional<std::string>>& ps = {});
  void forget() noexcept {
    job_open_ = false;
    job_on_server_ = false;
    job_writes_.clear();
    tail_.reset();
    tail_dirty_ = false;
    receipts_.clear();
    pending_senders_.clear();
    pending_.clear();
    sender_of_.clear();
    day_no_.reset();
    transfers_.clear();
  }
};

}  // namespace bl::store::postgres
