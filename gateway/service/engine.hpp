#pragma once
// The engine: the one thread that applies the core's rules and writes the store. Edges hand it
// typed messages; it groups whatever is queued into one transaction (group commit), so a receipt
// is only ever sent for a message that is on disk, and many messages share one fsync.
//
// With synchronous=full the group commit is pipelined: the engine thread commits a batch with
// synchronous=NORMAL and goes straight on to the next one, while a second thread (the syncer)
// syncs the write-ahead log and only then releases the batch: receipts, reader wake-ups and the
// commit listener, and the durable marks that bound what readers hand onwards
// (store/durable_marks.hpp). Nothing leaves the gateway before it is on disk, and the disk's
// latency no longer stops the engine. A sync that fails is final (after a failed fsync the
// kernel may have dropped the pages): the batches it covered are answered bl.store.unavailable
// and the engine refuses new work as degraded, for the failure policy to restart the process.
//
// Ownership: owns the store writer and its two threads. Thread-safety: submit()/ack() may be
// called from any thread; callbacks run on the engine thread or the syncer after the commit is
// durable (or has failed) and must only post work elsewhere. Lifetime: stop() drains everything
// already queued, syncs it, answers it, then joins.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/lifecycle.hpp"
#include "gateway/core/liveness.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/rate_limiter.hpp"
#include "gateway/store/durable_marks.hpp"
#include "gateway/store/writer.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class inbox_notifier;

struct receipt_result {
  nlohmann::json receipt;
  bool duplicate = false;
  /// For a repeat: the edge's answer to the first submission (original_document::answer).
  std::string first_answer;
};

struct ack_result {
  std::int64_t acked = 0;  // deliveries newly acknowledged by this call
  std::int64_t upto = 0;
};

using submit_callback = std::function<void(std::variant<receipt_result, error>)>;
using ack_callback = std::function<void(std::variant<ack_result, error>)>;
using call_record = store::call_record;
/// The stored call's id, or why it was not stored.
using call_callback = std::function<void(std::variant<std::int64_t, error>)>;

/// Access-log entries (store/access_log.hpp): the seq of the last one written, or why none was.
using access_callback = std::function<void(std::variant<std::int64_t, error>)>;

/// A piece of store work run in the engine's transaction (a retention purge's batch, a legal
/// hold): it gets the writer and the batch's time, and throws to fail (a store_error fails the
/// whole batch, anything else only this job, undone to its savepoint).
using task_fn = std::function<void(store::writer&, time_point now)>;
/// Answered once the task's transaction is durable: nullopt, or why it failed.
using task_callback = std::function<void(std::optional<error>)>;

using phone_claim = store::phone_claim;
/// A claim on a phone prompt: the one that stands (this caller's, or an earlier one), and whether
/// it was already there.
struct claim_result {
  phone_claim claim;
  bool already = false;
};
using claim_callback = std::function<void(std::variant<claim_result, error>)>;

/// A sender's "send it to their buddy room instead" (issue 16): the pending transfer is withdrawn
/// from its recipient and a copy of its request goes to the recipient's configured fallback.
struct redirect_request {
  std::string transfer_id;
  std::string agency;  // the caller's agency: must be the transfer's sender
  std::string user;    // the console user's name, or the agency for an integration's token
  std::string via;     // "console" or "api", for the timeline
  std::string reason;  // optional, free text
};
/// The redirect that stands: the original transfer, the new one and its recipient, and whether
/// it had already been done (a retry of the same redirect changes nothing).
struct redirect_result {
  std::string transfer_id;
  std::string new_transfer_id;
  std::string to;
  bool already = false;
};
using redirect_callback = std::function<void(std::variant<redirect_result, error>)>;

struct engine_options {
  std::size_t max_queue = 20000;  // beyond this, submissions are refused with bl.store.busy
  std::size_t max_batch = 1000;   // messages per group commit
  std::chrono::milliseconds timer_interval{250};
};

/// What /healthz and /metrics say of the engine and its store.
struct engine_health {
  bool running = false;  // the engine thread is alive (false before start and after a crash)
  bool commits_failing = false;    // the last transaction (a batch or the idle timer sweep) failed
  std::string error;               // why, while failing; or why the thread ended
  double failing_for_s = 0;        // since the first failure of the current run of failures
  double since_last_commit_s = 0;  // since the last transaction that committed
  std::string timers_error;        // why the last timer sweep failed; empty while it works
};

class engine {
 public:
  /// Opens the store (throws store::store_error if it is unusable) but starts no thread yet.
  engine(const gateway_config& cfg, const store::store_options& store_opts, metrics& m,
         inbox_notifier& notifier, const clock_source& clock, std::shared_ptr<spdlog::logger> log,
         engine_options opts = {});
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Called on the engine thread after every commit that changed something (the console hub
  /// uses it to push new timeline events). Set before start(); must only post work elsewhere.
  void set_commit_listener(std::function<void()> fn) { commit_listener_ = std::move(fn); }
  /// How far the store is durable; a reader bound by it (store::reader::bound_by) hands nothing
  /// onwards that a power cut could still take away.
  std::shared_ptr<const store::durable_marks> durable_marks() const { return marks_; }
  /// The engine thread beats this on every turn of its loop (at least every timer_interval).
  /// Set before start().
  void set_beat(liveness::beat* b) { beat_ = b; }

  void start();
  /// Queues a parsed message; `cb` gets the receipt once it is durable, or the rejection.
  void submit(message m, submit_callback cb);
  /// Queues a cumulative acknowledgement of `agency`'s deliveries up to `upto`.
  void ack(std::string agency, std::int64_t upto, ack_callback cb);
  /// Queues "shown on a signed-in console of `agency`" for its deliveries after `after` up to
  /// `upto`: each request among them still waiting is delivered to the agency (the delivery
  /// timer stops, the sender gets its "delivered" receipt). Unlike ack(), the agency's
  /// acknowledged position does not move: a CAD or integration of its own still receives and
  /// acknowledges every delivery. The result's `acked` counts the requests newly delivered.
  void shown(std::string agency, std::int64_t after, std::int64_t upto, ack_callback cb);
  /// Queues an audit row that belongs to no message (a refused connection, a link going down).
  /// Best effort: dropped if the queue is full or the gateway is stopping.
  void note(std::string actor, std::string action, nlohmann::json detail);
  /// Queues a phone call for the log. A call about a transfer is checked against it
  /// (bl.transfer.not_found, bl.auth.not_a_party for `c.agency`) and added to its timeline.
  void log_call(call_record c, call_callback cb);
  /// Queues a claim on a phone prompt ("I'm calling them"). Checked against the transfer
  /// (bl.transfer.not_found unless `c.agency` is a party); idempotent: the first claim on a prompt
  /// stands and later ones are answered with it. A new claim is added to the transfer's timeline
  /// (so every console of both parties sees it) and to the audit log.
  void claim_phone(phone_claim c, claim_callback cb);
  /// Queues a redirect of a pending transfer to its recipient's fallback room. In one
  /// transaction: the original moves to `redirected` (a transfer.cancel from the sender is
  /// delivered to the old recipient, saying where it went) and a new request with the original's
  /// content goes to the fallback; each names the other in its timeline, both are audited.
  /// Refusals: bl.transfer.not_found (not a party), not_sender, not_pending, no_fallback.
  /// Idempotent: once redirected, the same call is answered with the standing redirect.
  void redirect(redirect_request r, redirect_callback cb);
  /// Queues entries for the personal-data access log (DPA 2018 s.62: store/access_log.hpp), all
  /// in one transaction; an entry without a time is timed by its batch. `cb` is answered once
  /// they are durable (the access queue, service/access_queue.hpp, waits for it). Goes through
  /// while degraded (as acknowledgements do); refused with bl.store.busy when the queue is full.
  void log_access(std::vector<store::access_entry> entries, access_callback cb);
  /// Queues `fn` to run in the engine's next transaction; `cb` is answered once it is durable.
  /// Goes through while degraded (like log_access).
  void run_task(task_fn fn, task_callback cb);
  /// Runs the timers now (tests use it with a manual clock) and waits for the sweep to commit.
  void run_timers_now();
  /// From now on refuses new submissions and calls with bl.gateway.degraded (`why` says which
  /// part failed): nothing is accepted that the gateway could not deliver. Acknowledgements and
  /// audit notes still go through, and what is queued is still committed and answered.
  void set_degraded(std::string why);
  /// Stops taking work, finishes what is queued, and joins the thread.
  void stop();
  std::size_t queue_depth() const;
  /// The engine thread's liveness and whether its store is taking commits. The timer sweep
  /// commits every timer_interval even when idle, so a store that stops taking writes shows
  /// here within a fraction of a second (or after the busy timeout, when it is locked).
  engine_health health() const;

 private:
  struct job;
  struct batch_state;
  struct committed_batch;

  void run();
  void process(std::deque<job>& jobs, bool sweep);
  void do_submit(job& j, batch_state& b);
  void do_ack(job& j, batch_state& b);
  void do_shown(job& j, batch_state& b);
  void do_call(job& j, batch_state& b);
  void do_access(job& j, batch_state& b);
  void do_task(job& j, batch_state& b);
  /// Logs what the engine itself does with an accepted message: its collection (or alteration,
  /// for an update) and its disclosure to `recipient`.
  void log_message_access(const message& m, const std::string& transfer_id,
                          const std::string& recipient, batch_state& b);
  void do_claim(job& j, batch_state& b);
  void do_redirect(job& j, batch_state& b);
  /// The core's rules and the rows of one party's message (do_submit, and both halves of a
  /// redirect). `end_state`, when given, replaces the state the message leads to.
  std::variant<receipt_result, error> apply_and_store(
      message& m, batch_state& b, std::optional<transfer_state> end_state = std::nullopt);
  /// Lets the store fetch, in one go, the transfers of the requests among `ds` that
  /// request_delivered() is about to load one by one.
  void prefetch_requests(const std::vector<store::acked_delivery>& ds);
  /// The request delivery `d` reached `agency` (`via` its receiving system or a console): moves
  /// a submitted transfer to delivered with its event, audit row and receipt to the sender.
  bool request_delivered(batch_state& b, const std::string& agency, const store::acked_delivery& d,
                         const char* via);
  void do_timers(batch_state& b);
  void deliver(batch_state& b, const std::string& agency, const std::string& message_id,
               const std::string& transfer_id, const std::string& type, const std::string& from);
  /// The inbox quota: whether `m` may add to `recipient`'s undelivered messages from its
  /// sender; audits the start and end of a refusal episode once each.
  std::optional<error> check_quota(const message& m, const std::string& recipient, batch_state& b);
  std::string store_gateway_message(batch_state& b, const std::string& id, const std::string& type,
                                    const std::string& to, const transfer& t, nlohmann::json body);
  /// Answers a batch's callers and wakes its readers (after its sync, when pipelined).
  void release(committed_batch& c);
  /// The syncer thread: syncs the WAL for every committed batch, in order, then releases them.
  void run_syncer();
  /// One sync for `batches` (in commit order), then each is released, or answered as not stored
  /// if the sync failed. Called with syncing_ set, by the syncer or by an idle engine thread.
  void sync_and_release(std::deque<committed_batch>& batches);
  /// Records the outcome of a transaction for health(): nullopt when it committed.
  void record_commit(const std::optional<std::string>& failure);
  /// Records the outcome of a timer sweep (logged once per run of failures).
  void record_sweep(const std::optional<std::string>& failure);
  bool enqueue(job j);
  /// Queues a job with a caller waiting; when it cannot be, the error to answer the caller with.
  std::optional<error> queue_or_refuse(job j);
  /// Queues `j` with the caller's callback `cb` as its member `on`; when it cannot be queued, `cb`
  /// is answered with the refusal at once.
  template <class Callback>
  void queue_or_answer(job j, Callback job::*on, Callback cb);

  const gateway_config& cfg_;
  metrics& metrics_;
  inbox_notifier& notifier_;
  const clock_source& clock_;
  std::shared_ptr<spdlog::logger> log_;
  engine_options opts_;
  std::unique_ptr<store::writer> writer_;
  rate_limiter limiter_;  // per sending agency, over every edge (checked in submit())
  // (recipient, sender) pairs over their inbox quota: refusals are audited once per episode.
  // Engine thread only; cleared when a batch is rolled back with the audit rows it wrote.
  std::set<std::pair<std::string, std::string>> over_quota_;
  std::uint64_t open_reads_logged_ = 0;  // writer statements found holding a read, logged

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // health(): guarded by mu_.
  bool running_ = false;
  std::string degraded_;      // set_degraded(): why new submissions are refused
  std::string thread_error_;  // why the engine thread ended, if it did other than by stop()
  std::chrono::steady_clock::time_point last_commit_{}, failing_since_{};
  bool failing_ = false;
  std::string failing_error_;
  std::string sweep_error_;  // the timer sweep's last fault; empty while it works
  std::deque<job> queue_;
  bool stopping_ = false;
  bool sweep_requested_ = false;
  std::function<void()> commit_listener_;
  liveness::beat* beat_ = nullptr;
  std::thread thread_;

  // The pipelined group commit (synchronous=full): batches committed, waiting for their sync.
  bool pipelined_ = false;
  std::shared_ptr<store::durable_marks> marks_ = std::make_shared<store::durable_marks>();
  mutable std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<committed_batch> unsynced_;  // guarded by sync_mu_
  bool sync_stopping_ = false;            // guarded by sync_mu_
  bool syncing_ = false;                  // guarded by sync_mu_: a sync is in progress
  std::chrono::steady_clock::time_point sync_started_{};  // guarded by sync_mu_
  std::thread syncer_;
};

}  // namespace bl
