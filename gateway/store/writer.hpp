#pragma once
// The store's write side. Owned and used by exactly one thread (the engine's), which groups many
// messages into one transaction so that they share one fsync. All SQL lives in gateway/store.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/lifecycle.hpp"
#include "gateway/core/time_util.hpp"

namespace bl::store {

class db;
class stmt;

struct store_options {
  std::string path;
  bool synchronous_full = true;
  int busy_timeout_ms = 5000;
  std::string vfs;  // empty: SQLite's default VFS (tests pass a fault-injecting one)
  // With synchronous_full: the caller makes each commit durable itself, with wal_file() and
  // sync(), on a thread of its own (the engine's pipelined group commit), and the connection
  // runs synchronous=NORMAL so that COMMIT does not wait for the disk.
  bool sync_by_caller = false;
};

/// The write-ahead log of a writer's connection, to be synced from another thread. Opaque: no
/// SQLite type leaves gateway/store.
struct wal_file {
  void* file = nullptr;  // the connection's sqlite3_file for its WAL
};

struct timeline_event {
  std::string transfer_id;
  time_point at{};
  std::string kind;   // message type ("transfer.accept"), "delivered", "phone_fallback", "expired"
  std::string actor;  // agency id, or "bluelink" for the gateway
  std::string message_id;
  std::string from_state;
  std::string to_state;
  std::int64_t version = 0;
  std::string detail;  // JSON text
};

struct acked_delivery {
  std::int64_t seq;
  std::string message_id;
  std::string transfer_id;
  std::string type;
};

/// One phone call between two control rooms (table `calls`). The call always runs from
/// from_agency (who rang) to to_agency (who was rung).
struct call_record {
  std::int64_t id = 0;  // assigned when stored
  std::string source;   // "console" or "api"
  std::string agency;   // the agency that logged it: from_agency or to_agency
  std::string from_agency;
  std::string to_agency;
  time_point started_at{};
  std::optional<std::int64_t> duration_s;
  bool emergency = false;
  std::string reason;       // a transfer.request category, or "other"
  std::string transfer_id;  // empty: the call was about no transfer
  std::string logged_by;    // the console user, or the agency for an integration's token
  bool exercise = false;
  std::string note;
  time_point created_at{};
};

/// A console user's claim on a phone prompt: "I'm calling them" (table `phone_claims`). One per
/// (transfer, claiming agency, prompt): the first claim stands and later ones are answered with it.
struct phone_claim {
  std::string transfer_id;
  std::string agency;        // the claimant's agency (a party to the transfer)
  std::string prompt;        // what the prompt was about: delivery_overdue, decision_overdue, ...
  std::string username;      // the console user, or the agency for an integration's token
  std::string display_name;  // as the rest of the room sees it ("Kim Hall")
  std::string counterpart;   // the agency being phoned
  time_point claimed_at{};
};

class writer {
 public:
  /// Opens or creates the database, checks it is a readable Bluelink store, sets WAL and the
  /// synchronous level, and migrates. Throws store_error with an operator-readable message.
  explicit writer(const store_options& opts);
  ~writer();
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  void begin();
  void commit();
  /// Savepoints isolate one message inside a group commit: a message that fails half-way is
  /// undone without losing the rest of the batch.
  void savepoint();
  void release_savepoint();
  void rollback_to_savepoint();
  /// Rolls back and forgets every cached counter, which may describe rows that no longer exist.
  void rollback() noexcept;

  /// Statements the writer found still holding a read open between transactions, and reset. Each
  /// is a bug (a statement read and not reset): the engine logs it as an error.
  std::uint64_t open_reads_ended() const { return open_reads_ended_; }

  std::optional<std::string> find_receipt(const std::string& message_id);
  std::optional<transfer> load_transfer(const std::string& id);
  void save_transfer(const transfer& t, bool insert);
  void insert_message(const std::string& id, const std::string& type, const std::string& from,
                      const std::string& to, const std::string& transfer_id,
                      std::optional<std::int64_t> version, const std::string& mode,
                      std::optional<time_point> sent_at, time_point stored_at,
                      const std::string& doc, const std::string& receipt);
  void record_incident(const std::string& transfer_id, const std::string& agency,
                       const std::string& number, time_point at);
  void add_event(const timeline_event& e);
  /// Appends to `agency`'s delivery queue and returns its sequence number. `from` is the
  /// message's sender (keeps pending_from() current without a query).
  std::int64_t enqueue(const std::string& agency, const std::string& message_id,
                       const std::string& transfer_id, const std::string& type, time_point at,
                       const std::string& from = {});
  /// Deliveries to `recipient` that `sender` sent and `recipient` has not acknowledged yet
  /// (the inbox quota). Counted once per pair, then kept in step with enqueue() and ack().
  std::int64_t pending_from(const std::string& recipient, const std::string& sender);
  /// Last sequence number issued to `agency` (0 if none).
  std::int64_t last_seq(const std::string& agency);
  std::int64_t acked_upto(const std::string& agency);
  /// Acknowledges every delivery to `agency` up to and including `upto` not acknowledged yet.
  std::vector<acked_delivery> ack(const std::string& agency, std::int64_t upto, time_point at);
  /// Requests delivered to `agency` after `after` up to `upto` that its receiving system has not
  /// acknowledged yet (at most `limit`, oldest first). Reads only: the acknowledged position is
  /// not moved (a console showing a request is not the CAD link's acknowledgement).
  std::vector<acked_delivery> unacked_requests(const std::string& agency, std::int64_t after,
                                               std::int64_t upto, int limit);
  /// Appends a hash-chained audit row.
  void audit(time_point at, const std::string& actor, const std::string& action,
             const std::string& message_id, const std::string& transfer_id,
             const std::string& detail_json);
  /// Transfers whose next timer is due at or before `now`.
  std::vector<std::string> due_transfers(time_point now, int limit);
  /// Next free transfer id for the UTC day of `now`: T-YYYYMMDD-NNNNNN.
  std::string next_transfer_id(time_point now);
  /// Stores a phone call and returns its id.
  std::int64_t insert_call(const call_record& c);
  /// The standing claim on one prompt of `agency`'s, if any.
  std::optional<phone_claim> find_phone_claim(const std::string& transfer_id,
                                              const std::string& agency, const std::string& prompt);
  /// Stores a claim; the caller has checked that none stands (find_phone_claim()).
  void insert_phone_claim(const phone_claim& c);

  /// The newest timeline event id (0 when none).
  std::int64_t last_event_id();
  /// The last sequence number of every agency that has deliveries.
  std::map<std::string, std::int64_t> last_seqs();
  /// The connection's WAL file (valid while the writer lives and stays in WAL mode).
  wal_file wal();
  /// Makes everything written to `w` so far durable (fsync). Safe to call from any thread while
  /// the writer goes on writing. Throws store_error (SQLITE_IOERR_FSYNC, ...) when it fails.
  static void sync(wal_file w);

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
};

/// SHA-256 of an audit row's fields chained to the previous row's hash (hex).
std::string audit_hash(const std::string& prev_hash, std::int64_t seq, std::int64_t at,
                       const std::string& actor, const std::string& action,
                       const std::string& message_id, const std::string& transfer_id,
                       const std::string& detail);
/// The hash that precedes the first audit row.
inline const std::string genesis_hash(64, '0');

}  // namespace bl::store
