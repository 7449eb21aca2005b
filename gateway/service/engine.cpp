#include "gateway/service/engine.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <future>
#include <map>

#include <spdlog/spdlog.h>

#include "gateway/core/failpoint.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;

struct engine::job {
  enum class kind {
    submit,
    ack,
    shown,
    sweep,
    note,
    call,
    claim,
    redirect,
    access,
    task
  } what = kind::submit;
  message msg;
  submit_callback on_submit;
  std::string agency;
  std::int64_t upto = 0;
  std::int64_t after = 0;  // shown: the position already reported shown
  ack_callback on_ack;
  std::function<void()> on_sweep;
  std::string action;  // note
  json detail;         // note
  std::variant<receipt_result, error> submit_out{error{}};
  std::variant<ack_result, error> ack_out{error{}};
  call_record call;
  call_callback on_call;
  std::variant<std::int64_t, error> call_out{error{}};
  phone_claim claim;
  claim_callback on_claim;
  std::variant<claim_result, error> claim_out{error{}};
  redirect_request redirect;
  redirect_callback on_redirect;
  std::variant<redirect_result, error> redirect_out{error{}};
  std::vector<store::access_entry> access;
  access_callback on_access;
  std::variant<std::int64_t, error> access_out{error{}};
  task_fn task;
  task_callback on_task;
  std::optional<error> task_out;

  /// Every caller of the job is answered with `e` (the batch or the job failed).
  void fail(const error& e) {
    submit_out = e;
    ack_out = e;
    call_out = e;
    claim_out = e;
    redirect_out = e;
    access_out = e;
    task_out = e;
  }
};

/// A batch whose transaction has ended: what it still owes its callers and readers.
struct engine::committed_batch {
  std::deque<job> jobs;
  std::set<std::string> touched;  // agencies with new deliveries (empty if it failed)
  bool committed = false;
  bool tell_listener = false;
  std::map<std::string, std::int64_t> seqs;  // each touched agency's last sequence number
  std::int64_t event_id = 0;                 // the last timeline event id after it
  store::sync_handle wal;                    // what the syncer makes durable (SQLite: the WAL)
};

/// What one group commit has done so far, for logging and waking readers afterwards.
struct engine::batch_state {
  time_point now;
  std::set<std::string> touched;  // agencies with new deliveries
  std::size_t messages = 0;
  bool timeline_changed = false;  // a timer sweep wrote events
};

engine::engine(const gateway_config& cfg, const store::store_options& store_opts, metrics& m,
               inbox_notifier& notifier, const clock_source& clock,
               std::shared_ptr<spdlog::logger> log, engine_options opts)
    : cfg_(cfg),
      metrics_(m),
      notifier_(notifier),
      clock_(clock),
      log_(std::move(log)),
      opts_(opts),
      writer_(store::open_writer([&] {
        auto o = store_opts;
        o.sync_by_caller = o.synchronous_full;
        return o;
      }())),
      limiter_(cfg.edge.agency_submissions_per_second, cfg.edge.agency_submission_burst),
      pipelined_(writer_->commits_need_sync()) {}

engine::~engine() {
  stop();
}

void engine::start() {
  if (pipelined_) {
    // Whatever is in the store now (a WAL recovered after a crash included) is made durable
    // before any of it is read onwards, and the marks start there.
    writer_->sync(writer_->sync_point());
    marks_->set(writer_->last_seqs(), writer_->last_event_id());
    syncer_ = std::thread([this] {
      try {
        run_syncer();
      } catch (const std::exception& e) {
        // run_syncer answers every batch whatever fails; a thread that ends must still say so.
        // Nothing is acknowledged without it, so the engine counts as stopped: /healthz turns
        // 503 naming it, and the failure policy's watchdog drains and exits the process.
        log_->critical("event=syncer_thread_failed error={}", log_quote(e.what()));
        std::lock_guard lock(mu_);
        thread_error_ = std::string("the store's sync thread ended: ") + e.what();
        degraded_ = thread_error_;
        running_ = false;
      }
    });
  }
  {
    std::lock_guard lock(mu_);
    running_ = true;
    last_commit_ = std::chrono::steady_clock::now();
  }
  thread_ = std::thread([this] {
    try {
      run();
    } catch (const std::exception& e) {
      // Not reached by anything process() does (it answers every job, whatever fails), but a
      // thread that ends must say so: /healthz turns 503 and names it.
      log_->critical("event=engine_thread_failed error={}", log_quote(e.what()));
      std::lock_guard lock(mu_);
      thread_error_ = std::string("the engine thread ended: ") + e.what();
    }
    std::lock_guard lock(mu_);
    running_ = false;
  });
}

void engine::record_sweep(const std::optional<std::string>& failure) {
  std::lock_guard lock(mu_);
  if (!failure) {
    if (!sweep_error_.empty()) log_->warn("event=timer_sweep_resumed");
    sweep_error_.clear();
    return;
  }
  if (sweep_error_.empty()) log_->error("event=timer_sweep_failed error={}", log_quote(*failure));
  sweep_error_ = *failure;
}

engine_health engine::health() const {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  engine_health h;
  h.running = running_;
  h.timers_error = sweep_error_;
  h.commits_failing = failing_;
  h.error = !thread_error_.empty() ? thread_error_ : failing_ ? failing_error_ : std::string();
  if (failing_) h.failing_for_s = std::chrono::duration<double>(now - failing_since_).count();
  h.since_last_commit_s = std::chrono::duration<double>(now - last_commit_).count();
  {
    // A sync that hangs (a disk that stopped answering) holds every receipt: as loud as a
    // commit that fails, once it has taken longer than any healthy disk would.
    std::lock_guard sl(sync_mu_);
    double waiting = syncing_ ? std::chrono::duration<double>(now - sync_started_).count() : 0;
    if (waiting > 5.0 && !h.commits_failing) {
      h.commits_failing = true;
      h.failing_for_s = waiting;
      if (h.error.empty())
        h.error = "the disk has not confirmed a write for " + std::to_string(int(waiting)) + " s";
    }
  }
  return h;
}

bool engine::enqueue(job j) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < opts_.max_queue) {
      queue_.push_back(std::move(j));
      cv_.notify_one();
      return true;
    }
  }
  return false;
}

std::optional<error> engine::queue_or_refuse(job j) {
  bool shutting;
  {
    std::lock_guard lock(mu_);
    shutting = stopping_;
  }
  if (enqueue(std::move(j))) return std::nullopt;
  return shutting ? make_error(errc::shutting_down, "the gateway is shutting down")
                  : make_error(errc::store_busy, "the gateway's write queue is full");
}

template <class Callback>
void engine::queue_or_answer(job j, Callback job::*on, Callback cb) {
  j.*on = cb;  // the job moves into the queue; a refusal is answered here
  if (auto refused = queue_or_refuse(std::move(j))) cb(*refused);
}

void engine::set_degraded(std::string why) {
  std::lock_guard lock(mu_);
  degraded_ = std::move(why);
}

void engine::submit(message m, submit_callback cb) {
  {
    std::unique_lock lock(mu_);
    if (!degraded_.empty()) {
      auto why = degraded_;
      lock.unlock();
      metrics_.error(info(errc::degraded).id);
      return cb(make_error(errc::degraded, "the gateway is restarting after a failure (" + why +
                                               "); nothing was accepted"));
    }
  }
  // The per-agency rate, before the message costs a queue slot or any of the engine's time.
  if (m.from != gateway_sender) {
    auto d = limiter_.take(m.from);
    const auto& e = cfg_.edge;
    if (d.episode_ended) {
      log_->warn("event=rate_limit_ended agency={} refused={}", m.from, d.refused_in_episode);
      note(m.from, "rate.limit_ended", {{"refused", d.refused_in_episode}});
    }
    if (!d.allowed) {
      metrics_.error(info(errc::rate_submissions).id);
      if (d.episode_started) {
        // Audited once when the flood starts and once when it ends, never per message.
        log_->warn("event=rate_limited agency={} per_second={} burst={} via={}", m.from,
                   e.agency_submissions_per_second, e.agency_submission_burst,
                   m.via.empty() ? "api" : m.via);
        note(m.from, "rate.limited",
             {{"per_second", e.agency_submissions_per_second},
              {"burst", e.agency_submission_burst},
              {"first_message_id", m.id},
              {"via", m.via.empty() ? "api" : m.via}});
      }
      return cb(make_error(
          errc::rate_submissions,
          "agency '" + m.from + "' has sent more than " +
              std::to_string(e.agency_submissions_per_second) + " messages a second (burst " +
              std::to_string(e.agency_submission_burst) + "); retry in " +
              std::to_string(d.retry_after.count()) + " ms with the same message id"));
    }
  }
  job j;
  j.what = job::kind::submit;
  j.msg = std::move(m);
  queue_or_answer(std::move(j), &job::on_submit, std::move(cb));
}

void engine::ack(std::string agency, std::int64_t upto, ack_callback cb) {
  job j;
  j.what = job::kind::ack;
  j.agency = std::move(agency);
  j.upto = upto;
  queue_or_answer(std::move(j), &job::on_ack, std::move(cb));
}

void engine::shown(std::string agency, std::int64_t after, std::int64_t upto, ack_callback cb) {
  job j;
  j.what = job::kind::shown;
  j.agency = std::move(agency);
  j.after = after;
  j.upto = upto;
  queue_or_answer(std::move(j), &job::on_ack, std::move(cb));
}

void engine::note(std::string actor, std::string action, json detail) {
  job j;
  j.what = job::kind::note;
  j.agency = std::move(actor);
  j.action = std::move(action);
  j.detail = std::move(detail);
  enqueue(std::move(j));
}

void engine::log_call(call_record c, call_callback cb) {
  job j;
  j.what = job::kind::call;
  j.call = std::move(c);
  queue_or_answer(std::move(j), &job::on_call, std::move(cb));
}

void engine::log_access(std::vector<store::access_entry> entries, access_callback cb) {
  job j;
  j.what = job::kind::access;
  j.access = std::move(entries);
  queue_or_answer(std::move(j), &job::on_access, std::move(cb));
}

void engine::run_task(task_fn fn, task_callback cb) {
  job j;
  j.what = job::kind::task;
  j.task = std::move(fn);
  queue_or_answer(std::move(j), &job::on_task, std::move(cb));
}

void engine::claim_phone(phone_claim c, claim_callback cb) {
  job j;
  j.what = job::kind::claim;
  j.claim = std::move(c);
  queue_or_answer(std::move(j), &job::on_claim, std::move(cb));
}

void engine::redirect(redirect_request r, redirect_callback cb) {
  job j;
  j.what = job::kind::redirect;
  j.redirect = std::move(r);
  queue_or_answer(std::move(j), &job::on_redirect, std::move(cb));
}

void engine::run_timers_now() {
  std::promise<void> done;
  job j;
  j.what = job::kind::sweep;
  j.on_sweep = [&] { done.set_value(); };
  if (enqueue(std::move(j))) done.get_future().wait();
}

std::size_t engine::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void engine::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(sync_mu_);
    sync_stopping_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
}

void engine::run() {
  auto next_sweep = std::chrono::steady_clock::now();
  for (;;) {
    if (beat_) (*beat_)();
    std::deque<job> jobs;
    bool sweep = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_sweep, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) break;
      // Everything queued now shares one transaction and one fsync: this is the group commit.
      // Access-log entries count one each (a console's list read logs up to 1,000), so that a
      // storm of reads cannot make one transaction long enough to hold up receipts.
      std::size_t weight = 0;
      while (!queue_.empty() && jobs.size() < opts_.max_batch && weight < store::max_access_batch) {
        const auto& next = queue_.front();
        weight += next.what == job::kind::access ? next.access.size()
                  : next.what == job::kind::task ? 1000
                                                 : 1;
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& j : jobs)
      if (j.what == job::kind::sweep) sweep = true;
    if (std::chrono::steady_clock::now() >= next_sweep) {
      sweep = true;
      next_sweep = std::chrono::steady_clock::now() + opts_.timer_interval;
    }
    if (jobs.empty() && !sweep) continue;
    process(jobs, sweep);
  }
  log_->info("event=engine_stopped");
}

void engine::process(std::deque<job>& jobs, bool sweep) {
  batch_state b{clock_.now(), {}, 0};
  auto started = std::chrono::steady_clock::now();
  bool committed = false;
  try {
    store::batch_hint hint;
    hint.now = b.now;
    for (const auto& j : jobs) {
      if (j.what != job::kind::submit) continue;
      hint.message_ids.push_back(j.msg.id);
      if (std::find(hint.senders.begin(), hint.senders.end(), j.msg.from) == hint.senders.end())
        hint.senders.push_back(j.msg.from);
    }
    writer_->begin_batch(hint);
    for (auto& j : jobs) {
      if (j.what == job::kind::sweep) continue;
      if (j.what == job::kind::note) {
        writer_->audit(b.now, j.agency, j.action, {}, {}, j.detail.dump());
        continue;
      }
      writer_->savepoint();
      try {
        if (j.what == job::kind::submit)
          do_submit(j, b);
        else if (j.what == job::kind::call)
          do_call(j, b);
        else if (j.what == job::kind::claim)
          do_claim(j, b);
        else if (j.what == job::kind::redirect)
          do_redirect(j, b);
        else if (j.what == job::kind::access)
          do_access(j, b);
        else if (j.what == job::kind::task)
          do_task(j, b);
        else if (j.what == job::kind::shown)
          do_shown(j, b);
        else
          do_ack(j, b);
        writer_->release_savepoint();
      } catch (const store::store_error&) {
        throw;  // the whole batch fails: nothing in it was made durable
      } catch (const std::exception& e) {
        writer_->rollback_to_savepoint();
        auto err = make_error(errc::internal, e.what());
        log_->error("event=internal_error msg_id={} error={}", log_quote(j.msg.id),
                    log_quote(e.what()));
        j.fail(err);
      }
    }
    if (sweep) {
      // The timer sweep has its own savepoint: a fault in it (anything but the store failing)
      // loses none of the batch's messages. It is loud instead: logged, and /healthz turns 503
      // (timers: failing) because phone prompts and expiries are not being raised meanwhile.
      writer_->savepoint();
      try {
        if (failpoint("engine.sweep_exception"))
          throw std::runtime_error("injected fault (failpoint engine.sweep_exception)");
        do_timers(b);
        writer_->release_savepoint();
        record_sweep(std::nullopt);
      } catch (const store::store_error&) {
        throw;
      } catch (const std::exception& e) {
        writer_->rollback_to_savepoint();
        b.timeline_changed = false;
        record_sweep(std::string(e.what()));
      }
    }
    // A store that refuses every commit (locked by another process, say): bl.store.busy to all.
    if (failpoint("engine.commit_busy"))
      throw store::store_error(store::fault::busy, "injected fault (failpoint engine.commit_busy)");
    // Several nodes on one store: the others wake their own waiting readers when, and only if,
    // this commits (gateway/service/cluster.hpp). Nothing on SQLite.
    writer_->announce(cfg_.cluster.node_id, b.touched, !jobs.empty() || b.timeline_changed);
    writer_->commit();
    committed = true;
    // Dies as a machine would between the commit and the receipts (the failover test).
    if (!jobs.empty() && failpoint("engine.crash_after_commit")) {
      log_->critical("event=failpoint_crash failpoint=engine.crash_after_commit jobs={}",
                     jobs.size());
      log_->flush();
      std::raise(SIGKILL);
    }
    if (auto n = writer_->open_reads_ended(); n != open_reads_logged_) {
      // A statement was left holding a read: harmless now that it is reset, but a bug to fix.
      log_->error("event=store_read_left_open count={}", n - open_reads_logged_);
      open_reads_logged_ = n;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!jobs.empty())
      metrics_.commit(secs, b.messages);  // idle timer sweeps are not commits of work
    record_commit(std::nullopt);
  } catch (const std::exception& e) {
    // A store error fails the batch, and so does anything else thrown outside one message's
    // savepoint (the timer sweep, the commit itself): nothing in the batch was made durable,
    // every caller is told so, and the engine goes on with the next batch.
    writer_->rollback();
    over_quota_.clear();  // the audit rows that said so were rolled back too
    auto* se = dynamic_cast<const store::store_error*>(&e);
    auto err = se ? store::to_error(*se)
                  : make_error(errc::internal, std::string("the batch failed: ") + e.what());
    log_->error("event=commit_failed code={} jobs={} sweep={} error={}", err.id(), jobs.size(),
                sweep, log_quote(e.what()));
    for (auto& j : jobs) j.fail(err);
    b.touched.clear();
    b.timeline_changed = false;
    record_commit(err.message);
  }
  committed_batch c;
  c.jobs = std::move(jobs);
  c.committed = committed;
  c.tell_listener = committed && (!c.jobs.empty() || b.timeline_changed);
  c.touched = std::move(b.touched);
  if (!pipelined_ || !committed) {
    // Nothing to wait for: a failed batch kept nothing, and without the pipeline (synchronous
    // set to normal) COMMIT itself is as durable as configured.
    if (pipelined_) {
      // In order behind the batches still waiting for their sync, so that no caller hears of
      // a later batch before an earlier one.
      std::lock_guard lock(sync_mu_);
      if (!unsynced_.empty()) {
        unsynced_.push_back(std::move(c));
        sync_cv_.notify_one();
        return;
      }
    }
    release(c);
    return;
  }
  try {
    for (const auto& a : c.touched) c.seqs[a] = writer_->last_seq(a);
    c.event_id = writer_->last_event_id();
    c.wal = writer_->sync_point();
  } catch (const std::exception& e) {
    // Reading cached counters and a file pointer: not expected to fail, but if it does the
    // batch is still answered, by the syncer, as not durable.
    log_->error("event=sync_prepare_failed error={}", log_quote(e.what()));
    c.wal = {};
  }
  // When nothing else is waiting to be written, the engine syncs this batch itself: a sync on
  // another thread only pays when the next batch can be written meanwhile, and writing into the
  // WAL while it is being synced makes the writes wait for the disk (measured: p99 at a steady
  // 1,000/s rose from 5 ms to 30-50 ms in some runs when every sync went to the syncer).
  bool sync_here;
  {
    std::lock_guard lock(mu_);
    sync_here = queue_.empty();
  }
  {
    std::lock_guard lock(sync_mu_);
    if (sync_here && unsynced_.empty() && !syncing_) {
      syncing_ = true;
      sync_started_ = std::chrono::steady_clock::now();
    } else {
      sync_here = false;
      unsynced_.push_back(std::move(c));
    }
  }
  if (!sync_here) {
    sync_cv_.notify_one();
    return;
  }
  std::deque<committed_batch> one;
  one.push_back(std::move(c));
  sync_and_release(one);
}

void engine::release(committed_batch& c) {
  // Waiting readers first: when a caller has its receipt, the wake for what it stored has already
  // been given, so a wait it registers next is only woken by later commits.
  if (!c.touched.empty()) notifier_.notify(c.touched);
  for (auto& j : c.jobs) {
    // An edge's callback that throws must not end the engine thread, nor keep the other callers
    // of this batch from their answers.
    try {
      switch (j.what) {
        case job::kind::submit:
          j.on_submit(std::move(j.submit_out));
          break;
        case job::kind::ack:
        case job::kind::shown:
          j.on_ack(std::move(j.ack_out));
          break;
        case job::kind::sweep:
          j.on_sweep();
          break;
        case job::kind::note:
          break;
        case job::kind::call:
          j.on_call(std::move(j.call_out));
          break;
        case job::kind::claim:
          j.on_claim(std::move(j.claim_out));
          break;
        case job::kind::redirect:
          j.on_redirect(std::move(j.redirect_out));
          break;
        case job::kind::access:
          j.on_access(std::move(j.access_out));
          break;
        case job::kind::task:
          j.on_task(std::move(j.task_out));
          break;
      }
    } catch (const std::exception& e) {
      log_->error("event=callback_failed msg_id={} error={}", log_quote(j.msg.id),
                  log_quote(e.what()));
    }
  }
  if (commit_listener_ && c.tell_listener) commit_listener_();
}

void engine::run_syncer() {
  for (;;) {
    std::deque<committed_batch> batches;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return sync_stopping_ || !unsynced_.empty(); });
      if (unsynced_.empty()) return;  // stopping, and everything has been released
      // One sync covers every batch committed so far: take them all.
      batches.swap(unsynced_);
      syncing_ = true;
      sync_started_ = std::chrono::steady_clock::now();
    }
    sync_and_release(batches);
  }
}

void engine::sync_and_release(std::deque<committed_batch>& batches) {
  std::optional<std::string> failure;
  const committed_batch* last = nullptr;
  for (const auto& c : batches)
    if (c.committed) last = &c;
  if (last) {
    try {
      if (!last->wal.file) throw std::runtime_error("the write-ahead log was not open");
      if (failpoint("engine.sync_error"))
        throw std::runtime_error("injected fault (failpoint engine.sync_error)");
      writer_->sync(last->wal);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (!failure) {
    std::map<std::string, std::int64_t> seqs;
    std::int64_t event_id = 0;
    for (const auto& c : batches) {
      for (const auto& [a, seq] : c.seqs) seqs[a] = std::max(seqs[a], seq);
      event_id = std::max(event_id, c.event_id);
    }
    if (last) marks_->advance(seqs, event_id);
  } else {
    // After a failed fsync the kernel may have dropped the dirty pages, and SQLite has already
    // shown the rows to its own connections: nothing in these batches can be called stored.
    // The marks stay where they were, so readers never hand these rows onwards; the engine
    // refuses new work, and the failure policy drains and restarts the process.
    auto err = make_error(errc::store_unavailable,
                          "the store could not confirm the write to disk: " + *failure);
    log_->critical("event=sync_failed batches={} error={}", batches.size(), log_quote(*failure));
    for (auto& c : batches) {
      if (!c.committed) continue;
      for (auto& j : c.jobs) j.fail(err);
      c.touched.clear();
      c.tell_listener = false;
    }
    record_commit(err.message);
    set_degraded("store: " + err.message);
  }
  {
    std::lock_guard lock(sync_mu_);
    syncing_ = false;
  }
  for (auto& c : batches) release(c);
}

void engine::record_commit(const std::optional<std::string>& failure) {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (!failure) {
    if (failing_)
      log_->warn("event=commits_resumed failed_for_s={:.1f}",
                 std::chrono::duration<double>(now - failing_since_).count());
    failing_ = false;
    failing_error_.clear();
    last_commit_ = now;
    return;
  }
  if (!failing_) failing_since_ = now;
  failing_ = true;
  failing_error_ = *failure;
}

void engine::deliver(batch_state& b, const std::string& agency, const std::string& message_id,
                     const std::string& transfer_id, const std::string& type,
                     const std::string& from) {
  // The sequence number is not needed here (the batch reads each touched agency's last one
  // after COMMIT), so the store may send this with what follows instead of waiting for it.
  writer_->enqueue_later(agency, message_id, transfer_id, type, b.now, from);
  b.touched.insert(agency);
}

void engine::do_submit(job& j, batch_state& b) {
  j.submit_out = apply_and_store(j.msg, b);
}

std::variant<receipt_result, error> engine::apply_and_store(
    message& msg, batch_state& b, std::optional<transfer_state> end_state) {
  const message& m = msg;
  // Dedupe first: a repeat gets the first receipt and changes nothing. Where the edge can tell
  // (the original's digest), the same id reused for other content is refused: the first stands.
  if (auto receipt = writer_->find_receipt(m.id)) {
    std::optional<original_document> first;
    if (m.original && !m.original->digest.empty()) first = writer_->find_original(m.id);
    if (first && !first->digest.empty() && first->digest != m.original->digest) {
      metrics_.error(info(errc::message_id_reused).id);
      log_->warn("event=id_reused msg_id={} from={} standard={}", m.id, m.from,
                 log_quote(m.original->standard));
      writer_->audit(b.now, m.from, "message.rejected", m.id, std::string(),
                     json{{"type", to_string(m.type)},
                          {"code", info(errc::message_id_reused).id},
                          {"reason", "message id reused with other content"}}
                         .dump());
      return make_error(errc::message_id_reused,
                        "message id '" + m.id +
                            "' was already used for other content; the first message stands. "
                            "Send new content under a new id",
                        "/id");
    }
    log_->info("event=duplicate msg_id={}", m.id);
    return receipt_result{json::parse(*receipt), true, first ? first->answer : std::string()};
  }
  std::optional<transfer> current;
  if (m.type != msg_type::request && !m.transfer_id.empty())
    current = writer_->load_transfer(m.transfer_id);

  auto decided = apply_message(current, m, cfg_, b.now, "");
  if (auto* err = std::get_if<error>(&decided)) {
    // Rejections are audited too: the log shows every message that reached the core. One from
    // an outsider is not filed under the transfer, so its parties do not see it in their view.
    bool outsider = err->code == errc::not_a_party || err->code == errc::transfer_not_found;
    writer_->audit(b.now, m.from, "message.rejected", m.id,
                   outsider ? std::string() : m.transfer_id,
                   json{{"type", to_string(m.type)},
                        {"transfer_id", m.transfer_id},
                        {"code", err->id()},
                        {"reason", err->message}}
                       .dump());
    log_->info("event=rejected msg_id={} transfer_id={} type={} code={} reason={}", m.id,
               log_quote(m.transfer_id), to_string(m.type), err->id(),
               log_quote(log_reason(err->message)));
    return *err;
  }
  auto& out = std::get<outcome>(decided);
  if (auto refused = check_quota(m, out.recipient, b)) return *refused;
  if (end_state) out.after.state = *end_state;
  // Numbered only once accepted, so rejected requests leave no gaps in the day's numbering.
  if (out.created) out.after.id = writer_->next_transfer_id(b.now);
  const transfer& t = out.after;

  // The stored (and delivered) copy names the transfer and version the gateway settled on: they
  // are spliced into the text the edge's thread already serialised.
  prepare_for_store(msg);  // done by the pipeline; here only for a caller that did not
  std::string stored =
      stored_copy(m, t.id, t.version,
                  m.type == msg_type::request ? format_rfc3339(t.expires_at) : std::string());
  json receipt = {{"message_id", m.id},
                  {"status", "stored"},
                  {"at", format_rfc3339(b.now)},
                  {"transfer_id", t.id},
                  {"transfer_version", t.version},
                  {"state", to_string(t.state)}};
  std::string type(to_string(m.type));
  writer_->insert_message(m.id, type, m.from, out.recipient, t.id, t.version,
                          std::string(to_string(m.mode)), m.sent_at, b.now, stored, receipt.dump());
  writer_->save_transfer(t, out.created);
  if (m.original) writer_->insert_original(m.id, *m.original, b.now);
  // Half-way through a message's rows: what a bug here must not leave behind.
  if (m.id.find("failpoint-throw") != std::string::npos && failpoint("engine.message_exception"))
    throw std::runtime_error("injected fault (failpoint engine.message_exception) in " + m.id);
  if (m.type == msg_type::request)
    writer_->record_incident(t.id, m.from, m.incident_number, b.now);
  else if (m.type == msg_type::accept)
    writer_->record_incident(t.id, m.from, m.incident_number, b.now);
  writer_->add_event({t.id, b.now, type, m.from, m.id,
                      out.created ? std::string() : std::string(to_string(out.before)),
                      std::string(to_string(t.state)), t.version, m.timeline_detail});
  deliver(b, out.recipient, m.id, t.id, type, m.from);
  log_message_access(m, t.id, out.recipient, b);
  writer_->audit(b.now, m.from, "message.accepted", m.id, t.id,
                 json{{"type", type},
                      {"to", out.recipient},
                      {"from_state", out.created ? json() : json(to_string(out.before))},
                      {"to_state", to_string(t.state)},
                      {"version", t.version}}
                     .dump());
  metrics_.message_in(type);
  ++b.messages;
  log_->info("event=stored msg_id={} transfer_id={} type={} from={} to={} state={} version={}",
             m.id, t.id, type, m.from, out.recipient, to_string(t.state), t.version);
  return receipt_result{std::move(receipt), false, {}};
}

std::optional<error> engine::check_quota(const message& m, const std::string& recipient,
                                         batch_state& b) {
  // Requests and updates add work to the other room's inbox; answers (received, accept,
  // decline, defer, cancel, close) are bounded by what the other room sent, and must never be
  // held back by a quota the other side filled.
  if (m.type != msg_type::request && m.type != msg_type::update) return std::nullopt;
  const std::int64_t quota = cfg_.edge.inbox_quota;
  const std::int64_t pending = writer_->pending_from(recipient, m.from);
  auto key = std::make_pair(recipient, m.from);
  if (pending < quota) {
    if (over_quota_.erase(key)) {
      log_->warn("event=inbox_quota_cleared from={} to={} pending={} quota={}", m.from, recipient,
                 pending, quota);
      writer_->audit(b.now, m.from, "rate.inbox_below_quota", m.id, {},
                     json{{"to", recipient}, {"pending", pending}, {"quota", quota}}.dump());
    }
    return std::nullopt;
  }
  metrics_.error(info(errc::rate_inbox_full).id);
  if (over_quota_.insert(key).second) {
    log_->warn("event=inbox_quota_reached from={} to={} pending={} quota={}", m.from, recipient,
               pending, quota);
    writer_->audit(b.now, m.from, "rate.inbox_full", m.id, {},
                   json{{"to", recipient}, {"pending", pending}, {"quota", quota}}.dump());
  }
  return make_error(errc::rate_inbox_full,
                    "'" + recipient + "' already has " + std::to_string(pending) +
                        " undelivered messages from '" + m.from + "' (the quota is " +
                        std::to_string(quota) + "); nothing was stored: phone them");
}

std::string engine::store_gateway_message(batch_state& b, const std::string& id,
                                          const std::string& type, const std::string& to,
                                          const transfer& t, json body) {
  json doc = {{"id", id},
              {"type", type},
              {"from", std::string(gateway_sender)},
              {"to", json::array({to})},
              {"sent_at", format_rfc3339(b.now)},
              {"mode", to_string(t.mode)},
              {"transfer_id", t.id},
              {"body", std::move(body)}};
  writer_->insert_message(id, type, std::string(gateway_sender), to, t.id, std::nullopt,
                          std::string(to_string(t.mode)), b.now, b.now, doc.dump(), {});
  deliver(b, to, id, t.id, type, std::string(gateway_sender));
  return id;
}

void engine::do_ack(job& j, batch_state& b) {
  std::int64_t last = writer_->last_seq(j.agency);
  if (j.upto > last) {
    j.ack_out = make_error(errc::bad_request,
                           "cannot acknowledge up to " + std::to_string(j.upto) +
                               ": the last delivery to " + j.agency + " is " + std::to_string(last),
                           "/upto");
    return;
  }
  auto acked = writer_->ack(j.agency, j.upto, b.now);
  prefetch_requests(acked);
  for (const auto& d : acked) {
    metrics_.message_out(d.type);
    writer_->audit(b.now, j.agency, "message.delivered", d.message_id, d.transfer_id,
                   json{{"type", d.type}, {"seq", d.seq}}.dump());
    if (d.type == "transfer.request") request_delivered(b, j.agency, d, "receiving_system");
  }
  j.ack_out = ack_result{static_cast<std::int64_t>(acked.size()),
                         std::max(j.upto, writer_->acked_upto(j.agency))};
}

void engine::do_shown(job& j, batch_state& b) {
  if (j.upto > writer_->last_seq(j.agency)) {
    j.ack_out = make_error(errc::bad_request, "cannot mark shown up to " + std::to_string(j.upto) +
                                                  ": no such delivery to " + j.agency);
    return;
  }
  // Only requests matter here (answers and updates have no delivery timer), and the inbox
  // quota bounds how many can be waiting; the limit is a guard, not a page size.
  std::int64_t marked = 0;
  const auto shown = writer_->unacked_requests(j.agency, j.after, j.upto, 10000);
  prefetch_requests(shown);
  for (const auto& d : shown)
    if (request_delivered(b, j.agency, d, "console")) ++marked;
  // The receiving system's own position is untouched: its CAD still gets every delivery.
  j.ack_out = ack_result{marked, j.upto};
}

void engine::prefetch_requests(const std::vector<store::acked_delivery>& ds) {
  std::vector<std::string> ids;
  for (const auto& d : ds)
    if (d.type == "transfer.request" && !d.transfer_id.empty()) ids.push_back(d.transfer_id);
  if (!ids.empty()) writer_->prefetch_transfers(ids);
}

bool engine::request_delivered(batch_state& b, const std::string& agency,
                               const store::acked_delivery& d, const char* via) {
  auto t = writer_->load_transfer(d.transfer_id);
  if (!t || !mark_delivered(*t, b.now)) return false;
  writer_->save_transfer(*t, false);
  writer_->add_event({t->id, b.now, "delivered", agency, d.message_id, "submitted", "delivered",
                      t->version, json{{"seq", d.seq}, {"via", via}}.dump()});
  writer_->audit(b.now, agency, "transfer.delivered", d.message_id, t->id,
                 json{{"from_state", "submitted"}, {"to_state", "delivered"}, {"via", via}}.dump());
  // The second acknowledgement the sender gets: its request is in front of the receiver.
  // Named by the receiver's delivery sequence: unique, short, and stable across re-sends; the
  // transfer leaves "submitted" here, so however it was delivered the sender gets one receipt.
  store_gateway_message(b, "bluelink:delivered:" + agency + ":" + std::to_string(d.seq), "receipt",
                        t->requester, *t,
                        {{"message_id", d.message_id},
                         {"status", "delivered"},
                         {"at", format_rfc3339(b.now)},
                         {"transfer_id", t->id},
                         {"transfer_version", t->version},
                         {"state", "delivered"},
                         {"delivered_to", agency}});
  log_->info("event=delivered msg_id={} transfer_id={} to={} via={}", d.message_id, t->id, agency,
             via);
  return true;
}

void engine::do_call(job& j, batch_state& b) {
  call_record& c = j.call;
  c.created_at = b.now;
  // Checked here rather than at the edge: the transfer could change between a read and the write.
  std::optional<transfer> t;
  if (!c.transfer_id.empty()) {
    t = writer_->load_transfer(c.transfer_id);
    if (!t) {
      j.call_out = make_error(errc::transfer_not_found, "no transfer '" + c.transfer_id + "'",
                              "/transfer_id");
      return;
    }
    if (t->counterpart(c.agency).empty()) {
      // The same answer as for no transfer at all: ids must not be probeable.
      j.call_out = make_error(errc::transfer_not_found, "no transfer '" + c.transfer_id + "'",
                              "/transfer_id");
      return;
    }
  }
  c.id = writer_->insert_call(c);
  std::string direction = c.from_agency == c.agency ? "outgoing" : "incoming";
  json detail = {{"call_id", c.id},   {"direction", direction},   {"from", c.from_agency},
                 {"to", c.to_agency}, {"emergency", c.emergency}, {"reason", c.reason},
                 {"by", c.logged_by}, {"source", c.source}};
  if (t) {
    json event = {{"direction", direction}, {"emergency", c.emergency},
                  {"reason", c.reason},     {"note", c.note.empty() ? json() : json(c.note)},
                  {"by", c.logged_by},      {"call_id", c.id}};
    // A call changes nothing about the transfer: the event records its state as it stands.
    std::string state(to_string(t->state));
    writer_->add_event(
        {t->id, b.now, "phone_call", c.agency, {}, state, state, t->version, event.dump()});
  }
  writer_->audit(b.now, c.agency, "call.logged", {}, c.transfer_id, detail.dump());
  // The call's record is collected; one about a transfer is joined to the transfer's record (its
  // timeline), which s.62 calls combination.
  store::access_entry a;
  a.at = b.now;
  a.operation = t ? store::access_op::combine : store::access_op::collect;
  a.agency = c.agency;
  a.actor = c.logged_by.empty() ? c.agency : c.logged_by;
  a.actor_kind = c.source == "console" ? "user" : "integration";
  a.channel = c.source;
  a.object = "call";
  a.transfer_id = c.transfer_id;
  a.ref = std::to_string(c.id);
  a.justification =
      t ? "a phone call about the transfer, logged by a party" : "a phone call logged";
  writer_->access(a);
  log_->info("event=call_logged call_id={} from={} to={} transfer_id={} by={}", c.id, c.from_agency,
             c.to_agency, c.transfer_id, log_quote(c.logged_by));
  j.call_out = c.id;
}

void engine::do_access(job& j, batch_state& b) {
  std::int64_t last = 0;
  for (auto& e : j.access) {
    if (e.at == time_point{}) e.at = b.now;  // the access queue times each read itself
    writer_->access(e);
    last = e.seq;
  }
  j.access_out = last;
}

void engine::do_task(job& j, batch_state& b) {
  j.task(*writer_, b.now);
  j.task_out.reset();
}

void engine::log_message_access(const message& m, const std::string& transfer_id,
                                const std::string& recipient, batch_state& b) {
  store::access_entry a;
  a.at = b.now;
  a.operation = m.type == msg_type::update ? store::access_op::alter : store::access_op::collect;
  a.agency = m.from;
  // A console user, a UCRI2 client ("ucri2:<oid>"), or the agency's integration itself.
  a.actor = m.user.empty() ? m.from : m.user;
  a.actor_kind = m.via == "console" && !m.user.empty() ? "user" : "integration";
  a.channel = m.via.empty() ? "api" : m.via;
  a.object = "message";
  a.transfer_id = transfer_id;
  a.ref = m.id;
  a.justification = std::string("sent by a party: ") + std::string(to_string(m.type));
  writer_->access(a);
  a.operation = store::access_op::disclose;
  a.recipients = recipient;
  a.justification = "delivered to the other party of the transfer";
  writer_->access(a);
}

void engine::do_claim(job& j, batch_state& b) {
  phone_claim& c = j.claim;
  // Checked here rather than at the edge: the first of two claims racing in one batch stands.
  auto t = writer_->load_transfer(c.transfer_id);
  if (!t || t->counterpart(c.agency).empty()) {
    // The same answer as for no transfer at all: ids must not be probeable.
    j.claim_out =
        make_error(errc::transfer_not_found, "no transfer '" + c.transfer_id + "'", "/transfer_id");
    return;
  }
  if (auto standing = writer_->find_phone_claim(c.transfer_id, c.agency, c.prompt)) {
    j.claim_out = claim_result{std::move(*standing), true};
    return;
  }
  c.counterpart = t->counterpart(c.agency);
  c.claimed_at = b.now;
  writer_->insert_phone_claim(c);
  const auto* other = cfg_.find_agency(c.counterpart);
  std::string name = other ? other->name : c.counterpart;
  json detail = {{"prompt", c.prompt},
                 {"by", c.username},
                 {"user", c.display_name},
                 {"calling", c.counterpart},
                 {"text", c.display_name + " is phoning " + name +
                              (other && !other->phone.empty() ? " on " + other->phone : "")}};
  // A claim changes nothing about the transfer: the event records its state as it stands.
  std::string state(to_string(t->state));
  writer_->add_event(
      {t->id, b.now, "phone_claim", c.agency, {}, state, state, t->version, detail.dump()});
  writer_->audit(b.now, c.agency, "phone.claimed", {}, t->id, detail.dump());
  log_->info("event=phone_claimed transfer_id={} agency={} prompt={} by={}", t->id, c.agency,
             c.prompt, log_quote(c.username));
  j.claim_out = claim_result{c, false};
}

void engine::do_redirect(job& j, batch_state& b) {
  const redirect_request& r = j.redirect;
  // Checked here rather than at the edge: an answer from the recipient may be in this batch.
  auto t = writer_->load_transfer(r.transfer_id);
  if (!t || t->counterpart(r.agency).empty()) {
    // The same answer as for no transfer at all: ids must not be probeable.
    j.redirect_out =
        make_error(errc::transfer_not_found, "no transfer '" + r.transfer_id + "'", "/transfer_id");
    return;
  }
  if (r.agency != t->requester) {
    j.redirect_out = make_error(errc::not_sender, "transfer " + t->id + " was sent by '" +
                                                      t->requester + "'; only it may redirect it");
    return;
  }
  // The new request's id is fixed by the original's: a retry finds it stored and is answered
  // with the redirect that stands, whatever the transfer's state has become since.
  const std::string new_msg_id = t->requester + ":redirect:" + t->id;
  if (auto receipt = writer_->find_receipt(new_msg_id)) {
    redirect_result done{
        t->id, json::parse(*receipt).value("transfer_id", std::string()), {}, true};
    if (auto n = writer_->load_transfer(done.new_transfer_id)) done.to = n->responder;
    j.redirect_out = std::move(done);
    return;
  }
  using S = transfer_state;
  const bool pending = t->state == S::submitted || t->state == S::delivered ||
                       t->state == S::received || t->state == S::deferred;
  const bool lapsed = t->state == S::submitted && b.now >= t->expires_at;
  if (!pending || lapsed) {
    j.redirect_out = make_error(
        errc::not_pending, "transfer " + t->id + " is " +
                               std::string(lapsed ? "expired" : to_string(t->state)) +
                               "; only a transfer still waiting for an answer can be redirected");
    return;
  }
  const auto* old_room = cfg_.find_agency(t->responder);
  const auto* buddy = old_room && !old_room->fallback_agency.empty()
                          ? cfg_.find_agency(old_room->fallback_agency)
                          : nullptr;
  if (!buddy) {
    j.redirect_out =
        make_error(errc::no_fallback, "'" + t->responder +
                                          "' has no fallback control room in the config; phone " +
                                          (old_room ? old_room->phone : t->responder));
    return;
  }
  auto original = writer_->message_doc(t->request_message_id);
  if (!original)
    throw std::runtime_error("the request " + t->request_message_id + " of " + t->id +
                             " is not in the store");
  const std::string user = r.user.empty() ? r.agency : r.user;
  // The two messages are the sender's own, as if it had cancelled and sent again: every
  // receiving system (CAD link, EIDO, UCRI2, console) already knows what to do with each.
  json req = json::parse(*original);
  req["id"] = new_msg_id;
  req["to"] = json::array({buddy->id});
  req["sent_at"] = format_rfc3339(b.now);
  req.erase("transfer_id");
  req.erase("version");
  req.erase("expires_at");  // the buddy gets the priority's full time, from now
  auto parsed = parse_message(std::move(req));
  if (auto* e = std::get_if<error>(&parsed)) {
    j.redirect_out = *e;
    return;
  }
  message nm = std::move(std::get<message>(parsed));
  nm.via = r.via;
  nm.user = user;
  prepare_for_store(nm);
  {
    json d = json::parse(nm.timeline_detail);
    d["redirected_from"] = {
        {"transfer_id", t->id}, {"agency", t->responder}, {"name", old_room->name}};
    if (!r.reason.empty()) d["redirect_reason"] = r.reason;
    nm.timeline_detail = d.dump();
  }
  auto stored = apply_and_store(nm, b);
  if (auto* e = std::get_if<error>(&stored)) {
    j.redirect_out = *e;  // nothing else was written (an inbox quota, say)
    return;
  }
  const std::string new_id =
      std::get<receipt_result>(stored).receipt.value("transfer_id", std::string());

  std::string text = "Redirected to " + buddy->name + " (" + new_id + ")";
  if (!r.reason.empty()) text += ": " + r.reason;
  if (text.size() > 500) text.resize(500);
  json cancel = {{"id", t->requester + ":redirected:" + t->id},
                 {"type", "transfer.cancel"},
                 {"from", t->requester},
                 {"to", json::array({t->responder})},
                 {"sent_at", format_rfc3339(b.now)},
                 {"mode", to_string(t->mode)},
                 {"transfer_id", t->id},
                 {"version", t->version + 1},
                 {"body", {{"reason", text}}}};
  auto cparsed = parse_message(std::move(cancel));
  if (auto* e = std::get_if<error>(&cparsed))
    throw std::runtime_error("the redirect's cancel is not valid: " + e->message);
  message cm = std::move(std::get<message>(cparsed));
  cm.via = r.via;
  cm.user = user;
  prepare_for_store(cm);
  {
    json d = json::parse(cm.timeline_detail);
    d["redirected_to"] = {{"transfer_id", new_id}, {"agency", buddy->id}, {"name", buddy->name}};
    if (!r.reason.empty()) d["redirect_reason"] = r.reason;
    cm.timeline_detail = d.dump();
  }
  // Both halves or neither: a refusal here undoes the new request too (the job's savepoint).
  auto withdrawn = apply_and_store(cm, b, transfer_state::redirected);
  if (auto* e = std::get_if<error>(&withdrawn))
    throw std::runtime_error("the redirect's cancel was refused: " + e->message);
  json detail = {{"by", user},
                 {"via", r.via},
                 {"reason", r.reason},
                 {"from_agency", t->responder},
                 {"to_agency", buddy->id},
                 {"transfer_id", t->id},
                 {"new_transfer_id", new_id}};
  writer_->audit(b.now, t->requester, "transfer.redirected", cm.id, t->id, detail.dump());
  writer_->audit(b.now, t->requester, "transfer.redirected_from", new_msg_id, new_id,
                 detail.dump());
  log_->info("event=transfer_redirected transfer_id={} new_transfer_id={} from={} to={} by={}",
             t->id, new_id, t->responder, buddy->id, log_quote(user));
  j.redirect_out = redirect_result{t->id, new_id, buddy->id, false};
}

void engine::do_timers(batch_state& b) {
  for (const auto& id : writer_->due_transfers(b.now, 500)) {
    auto t = writer_->load_transfer(id);
    if (!t) continue;
    b.timeline_changed = true;
    for (auto k : due_timers(*t, b.now)) {
      auto before = t->state;
      apply_timer(*t, k, b.now);
      const auto* other = cfg_.find_agency(t->responder);
      std::string phone = other ? other->phone : std::string();
      std::string name = other ? other->name : t->responder;
      std::string kind(to_string(k));
      if (k == timer_kind::expire) {
        std::string text = "Transfer " + t->id + " was not delivered to " + name +
                           " before it expired; phone them on " + phone;
        writer_->add_event({t->id,
                            b.now,
                            "expired",
                            std::string(gateway_sender),
                            {},
                            std::string(to_string(before)),
                            "expired",
                            t->version,
                            json{{"phone", phone}, {"text", text}}.dump()});
        writer_->audit(b.now, std::string(gateway_sender), "transfer.expired",
                       t->request_message_id, t->id,
                       json{{"from_state", to_string(before)}, {"to_state", "expired"}}.dump());
        store_gateway_message(b, "bluelink:expired:" + t->id, "error", t->requester, *t,
                              {{"code", info(errc::expired).id},
                               {"message", text},
                               {"message_id", t->request_message_id},
                               {"transfer_id", t->id}});
        log_->warn("event=expired transfer_id={} to={}", t->id, t->responder);
      } else {
        auto due = k == timer_kind::delivery_overdue ? t->delivery_due : t->decision_due;
        std::string text = (k == timer_kind::delivery_overdue ? "Not yet delivered to "
                                                              : "No decision yet from ") +
                           name + "; fall back to the phone: " + phone;
        writer_->add_event({t->id,
                            b.now,
                            "phone_fallback",
                            std::string(gateway_sender),
                            {},
                            std::string(to_string(before)),
                            std::string(to_string(t->state)),
                            t->version,
                            json{{"alert", kind}, {"phone", phone}, {"text", text}}.dump()});
        writer_->audit(b.now, std::string(gateway_sender), "transfer.phone_fallback", {}, t->id,
                       json{{"alert", kind}, {"due_at", format_rfc3339(due)}}.dump());
        json body = {{"alert", kind},
                     {"counterpart", t->responder},
                     {"due_at", format_rfc3339(due)},
                     {"text", text}};
        if (!phone.empty()) body["phone"] = phone;
        store_gateway_message(b,
                              "bluelink:" + kind + ":" + t->id + ":" + std::to_string(to_ms(due)),
                              "transfer.alert", t->requester, *t, std::move(body));
        log_->warn("event=phone_fallback transfer_id={} alert={}", t->id, kind);
      }
    }
    writer_->save_transfer(*t, false);
  }
}

}  // namespace bl
