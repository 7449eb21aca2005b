#pragma once
// The store's write side, whatever the engine under it: an interface with one implementation per
// engine (gateway/store/sqlite: the embedded default; gateway/store/postgres: several gateway
// nodes on one PostgreSQL), opened with open_writer() (gateway/store/open_store.hpp). Owned and
// used by exactly one thread (the engine's), which groups many messages into one transaction so
// that they share one commit. All SQL lives in gateway/store; every failure is a store_error of
// a kind (gateway/store/store_error.hpp).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gateway/core/lifecycle.hpp"
#include "gateway/core/original.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/access_log.hpp"
#include "gateway/store/retention.hpp"

namespace bl::store {

/// Which engine holds the store.
enum class engine_kind { sqlite, postgres };

struct store_options {
  store_options() = default;
  /// An SQLite file (the embedded default).
  store_options(std::string path_, bool synchronous_full_ = true, int busy_timeout_ms_ = 5000,
                std::string vfs_ = {})
      : path(std::move(path_)),
        synchronous_full(synchronous_full_),
        busy_timeout_ms(busy_timeout_ms_),
        vfs(std::move(vfs_)) {}

  engine_kind engine = engine_kind::sqlite;
  std::string path;      // SQLite: the database file
  std::string conninfo;  // PostgreSQL: libpq connection string, without the password
  std::string password;  // PostgreSQL: from a file or the environment; never logged or shown
  bool synchronous_full = true;
  int busy_timeout_ms = 5000;
  std::string vfs;  // SQLite; empty: the default VFS (tests pass a fault-injecting one)
  // With synchronous_full: the caller makes each commit durable itself, with sync_point() and
  // sync(), on a thread of its own (the engine's pipelined group commit); an SQLite connection
  // then runs synchronous=NORMAL so that COMMIT does not wait for the disk.
  bool sync_by_caller = false;
};

/// What writer::sync() needs to make a commit durable from another thread (SQLite: the
/// connection's write-ahead log). Opaque: no engine type leaves gateway/store.
struct sync_handle {
  void* file = nullptr;
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

/// What a batch's jobs will ask the store before they write: the ids of the messages submitted
/// (find_receipt) and their senders (pending_from). An engine where every read is a round trip
/// to a server fetches all of it with BEGIN, in one; an embedded one has no use for it.
struct batch_hint {
  std::vector<std::string> message_ids;
  std::vector<std::string> senders;
  /// The batch's time, when its new transfers will be numbered for its UTC day
  /// (next_transfer_id(now)).
  std::optional<time_point> now;
};

class writer {
 public:
  writer() = default;
  virtual ~writer() = default;
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  virtual void begin() = 0;
  /// begin() for a batch whose reads are known in advance (see batch_hint). What the hint does
  /// not cover is read as usual; the answers are the same either way.
  virtual void begin_batch(const batch_hint& hint) {
    (void)hint;
    begin();
  }
  virtual void commit() = 0;
  /// Savepoints isolate one message inside a group commit: a message that fails half-way is
  /// undone without losing the rest of the batch.
  virtual void savepoint() = 0;
  virtual void release_savepoint() = 0;
  virtual void rollback_to_savepoint() = 0;
  /// Rolls back and forgets every cached counter, which may describe rows that no longer exist.
  virtual void rollback() noexcept = 0;

  /// Statements the writer found still holding a read open between transactions, and reset. Each
  /// is a bug (a statement read and not reset): the engine logs it as an error.
  virtual std::uint64_t open_reads_ended() const { return 0; }

  virtual std::optional<std::string> find_receipt(const std::string& message_id) = 0;
  virtual std::optional<transfer> load_transfer(const std::string& id) = 0;
  /// The stored document of message `message_id` (as delivered), or nullopt when there is none.
  virtual std::optional<std::string> message_doc(const std::string& message_id) = 0;
  /// The transfers a job is about to load_transfer() one by one (the requests an
  /// acknowledgement delivered): an engine where each read is a round trip fetches them in one.
  /// load_transfer() answers the same either way.
  virtual void prefetch_transfers(const std::vector<std::string>& ids) { (void)ids; }
  virtual void save_transfer(const transfer& t, bool insert) = 0;
  virtual void insert_message(const std::string& id, const std::string& type,
                              const std::string& from, const std::string& to,
                              const std::string& transfer_id, std::optional<std::int64_t> version,
                              const std::string& mode, std::optional<time_point> sent_at,
                              time_point stored_at, const std::string& doc,
                              const std::string& receipt) = 0;
  /// Keeps the document message `message_id` was made from, as received (original.hpp).
  virtual void insert_original(const std::string& message_id, const original_document& doc,
                               time_point received_at) = 0;
  /// The digest and answer kept with message `message_id`'s original, or nullopt when it has
  /// none. Read only for a repeated id, so an engine may make it a round trip of its own.
  virtual std::optional<original_document> find_original(const std::string& message_id) = 0;
  virtual void record_incident(const std::string& transfer_id, const std::string& agency,
                               const std::string& number, time_point at) = 0;
  virtual void add_event(const timeline_event& e) = 0;
  /// Appends to `agency`'s delivery queue and returns its sequence number: gap-free and in commit
  /// order per agency. `from` is the message's sender (for pending_from()).
  virtual std::int64_t enqueue(const std::string& agency, const std::string& message_id,
                               const std::string& transfer_id, const std::string& type,
                               time_point at, const std::string& from = {}) = 0;
  /// enqueue() for a caller that does not need the sequence number: an engine may send it with
  /// the statements that follow instead of waiting for it (PostgreSQL's pipeline). A failure is
  /// then raised by a later call of the same transaction, at the latest by commit().
  virtual void enqueue_later(const std::string& agency, const std::string& message_id,
                             const std::string& transfer_id, const std::string& type, time_point at,
                             const std::string& from = {}) {
    enqueue(agency, message_id, transfer_id, type, at, from);
  }
  /// Deliveries to `recipient` that `sender` sent and `recipient` has not acknowledged yet
  /// (the inbox quota).
  virtual std::int64_t pending_from(const std::string& recipient, const std::string& sender) = 0;
  /// Last sequence number issued to `agency` (0 if none).
  virtual std::int64_t last_seq(const std::string& agency) = 0;
  virtual std::int64_t acked_upto(const std::string& agency) = 0;
  /// Acknowledges every delivery to `agency` up to and including `upto` not acknowledged yet.
  virtual std::vector<acked_delivery> ack(const std::string& agency, std::int64_t upto,
                                          time_point at) = 0;
  /// Requests delivered to `agency` after `after` up to `upto` that its receiving system has not
  /// acknowledged yet (at most `limit`, oldest first). Reads only: the acknowledged position is
  /// not moved (a console showing a request is not the CAD link's acknowledgement).
  virtual std::vector<acked_delivery> unacked_requests(const std::string& agency,
                                                       std::int64_t after, std::int64_t upto,
                                                       int limit) = 0;
  /// Appends a hash-chained audit row (appends are serialised: one chain for the whole store).
  virtual void audit(time_point at, const std::string& actor, const std::string& action,
                     const std::string& message_id, const std::string& transfer_id,
                     const std::string& detail_json) = 0;
  /// Appends an access-log entry (access_log.hpp): its audit row, chained like every other, and
  /// its access_log row with the same seq. The entry's `at` is its time; its seq is set.
  virtual void access(access_entry& e) = 0;
  /// Transfers whose next timer is due at or before `now`.
  virtual std::vector<std::string> due_transfers(time_point now, int limit) = 0;
  /// Next free transfer id for the UTC day of `now`: T-YYYYMMDD-NNNNNN.
  virtual std::string next_transfer_id(time_point now) = 0;
  /// Stores a phone call and returns its id.
  virtual std::int64_t insert_call(const call_record& c) = 0;
  /// The standing claim on one prompt of `agency`'s, if any.
  virtual std::optional<phone_claim> find_phone_claim(const std::string& transfer_id,
                                                      const std::string& agency,
                                                      const std::string& prompt) = 0;
  /// Stores a claim; the caller has checked that none stands (find_phone_claim()).
  virtual void insert_phone_claim(const phone_claim& c) = 0;

  /// The seq of the audit row this writer appended last (0 before any).
  virtual std::int64_t last_audit_seq() = 0;

  /// Retention (retention.hpp). What a purge of transfer `id` reads first; nullopt when there is
  /// no such transfer. Its row is locked for the transaction (PostgreSQL: FOR UPDATE), so that a
  /// purge and a hold on another node are one after the other. Without `with_content`, only the
  /// transfer's parties and whether it is purged or held (what placing a hold checks).
  virtual std::optional<purge_subject> purge_read(const std::string& id, bool with_content) = 0;
  /// Writes a transfer's purge: its messages' tombstone documents and timeline details, its
  /// originals deleted, its phone claims' names emptied, its erasable audit details emptied
  /// (erased_by), and purged_at set.
  virtual void purge_write(const purge_rewrite& w) = 0;
  /// Empties the note and who logged it of each call in `ids` not purged yet, and sets its
  /// purged_at; returns the calls it purged.
  virtual std::vector<call_candidate> purge_calls(const std::vector<std::int64_t>& ids,
                                                  time_point at) = 0;
  /// The hold standing on transfer `id`, if any.
  virtual std::optional<legal_hold> current_hold(const std::string& id) = 0;
  /// Stores a hold (the caller has checked that none stands) and returns its id.
  virtual std::int64_t place_hold(const legal_hold& h) = 0;
  /// Lifts hold `id`.
  virtual void lift_hold(std::int64_t id, const std::string& by, time_point at,
                         const std::string& reason) = 0;

  /// The newest timeline event id (0 when none).
  virtual std::int64_t last_event_id() = 0;
  /// The last sequence number of every agency that has deliveries.
  virtual std::map<std::string, std::int64_t> last_seqs() = 0;

  /// Several gateway nodes on one store: when this transaction commits, tells every node that
  /// `node` committed deliveries for `agencies` and, when `timeline`, timeline events, so that
  /// each node wakes the readers waiting on it (gateway/service/cluster.hpp). Called just before
  /// commit(); the announcement goes with the commit or not at all. Nothing on an engine that
  /// has no other nodes (SQLite).
  virtual void announce(const std::string& node, const std::set<std::string>& agencies,
                        bool timeline) {
    (void)node;
    (void)agencies;
    (void)timeline;
  }

  /// Whether commit() returns before the transaction is durable, so that the caller must make
  /// it durable with sync() (SQLite with sync_by_caller: the engine's pipelined group commit).
  /// False when COMMIT itself is durable (PostgreSQL with synchronous_commit=on).
  virtual bool commits_need_sync() const { return false; }
  /// What sync() needs for everything committed so far (valid while the writer lives).
  virtual sync_handle sync_point() { return {}; }
  /// Makes everything committed up to `h` durable. Safe to call from any thread while the writer
  /// goes on writing. Throws store_error when it fails.
  virtual void sync(sync_handle h) const { (void)h; }
};

/// SHA-256 of an audit row's fields chained to the previous row's hash (hex).
std::string audit_hash(const std::string& prev_hash, std::int64_t seq, std::int64_t at,
                       const std::string& actor, const std::string& action,
                       const std::string& message_id, const std::string& transfer_id,
                       const std::string& detail);
/// The same for a row whose detail is erasable (every row since retention, issue 18): the chain
/// takes the detail's SHA-256 (`detail_sha256`, hex), so that the detail itself can be emptied.
std::string audit_hash_erasable(const std::string& prev_hash, std::int64_t seq, std::int64_t at,
                                const std::string& actor, const std::string& action,
                                const std::string& message_id, const std::string& transfer_id,
                                const std::string& detail_sha256);
/// The hash that precedes the first audit row.
inline const std::string genesis_hash(64, '0');

}  // namespace bl::store
