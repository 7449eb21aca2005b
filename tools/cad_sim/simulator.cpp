#include "tools/cad_sim/simulator.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <sstream>
#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "gateway/core/json_bounded.hpp"

namespace bl::sim {

using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_problems = 20;

enum class side { requester, receiver };

/// One message this CAD plans to send on a transfer. `decide` picks accept, decline or defer by
/// the receiver's weights; `redecide` (after a deferral) picks accept or decline.
enum class step { received, decide, redecide, update, close, notification_close };

const char* to_string(step s) {
  switch (s) {
    case step::received:
      return "received";
    case step::decide:
      return "decide";
    case step::redecide:
      return "redecide";
    case step::update:
      return "update";
    case step::close:
      return "close";
    case step::notification_close:
      return "notification_close";
  }
  return "?";
}

// "refused" is local: the gateway never stored the request, so there is no transfer at all.
bool is_final(const std::string& state) {
  return state == "declined" || state == "cancelled" || state == "closed" || state == "expired" ||
         state == "redirected" || state == "refused";
}

bool awaiting_decision(const std::string& state) {
  return state == "submitted" || state == "delivered" || state == "received" || state == "deferred";
}

// The refusals a CAD must expect on a follow-up: both parties act on a transfer concurrently, so
// the other side may have moved it on (new version, closed, cancelled) or it expired first.
bool expected_refusal(errc code) {
  return code == errc::stale_version || code == errc::illegal_transition || code == errc::expired;
}

// The state a party's message leaves the transfer in ("" for no change).
std::string state_after(const std::string& type) {
  if (type == "transfer.request") return "submitted";
  if (type == "transfer.received") return "received";
  if (type == "transfer.accept") return "accepted";
  if (type == "transfer.decline") return "declined";
  if (type == "transfer.defer") return "deferred";
  if (type == "transfer.cancel") return "cancelled";
  if (type == "transfer.close") return "closed";
  return "";
}

/// One transfer this CAD is a party to, as far as it knows.
struct tracked {
  side role = side::requester;
  std::string transfer_id;  // empty until the receipt of our request names it
  std::string counterpart;
  std::string category;
  std::string mode;
  std::int64_t version = 0;
  std::string state = "submitted";
  const request_template* tmpl = nullptr;  // requester side: what we asked
  std::size_t updates_used = 0;
  double defer_for_s = 0;
  // One own message in flight per transfer, so that each carries the version after the last.
  bool busy = false;
  std::deque<step> waiting;
};

/// A submit whose answer has not been looked at yet.
struct outstanding {
  std::future<cad::submit_result> result;
  std::string message_id;
  std::string type;
  std::string key;     // the tracked transfer it belongs to
  bool copy = false;   // the fault-injected second submit of the same message
  json message;        // kept only when a copy will be sent
  json first_receipt;  // for a copy: the receipt it must equal
};

struct timer {
  steady::time_point due;
  std::uint64_t order;
  std::function<void()> fn;
  bool operator>(const timer& o) const { return due != o.due ? due > o.due : order > o.order; }
};

std::string random_run_id() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd();
  return out.str();
}

}  // namespace

bool passed(const sim_counters& c) {
  return c.errors == 0 && c.unanswered == 0;
}

std::string format_progress(const std::string& agency, const sim_counters& c) {
  std::ostringstream o;
  o << agency << ": sent " << c.sent << " (+" << c.duplicate_sends << " dup) receipted "
    << c.receipted << " | out: req " << c.requests_sent << " delivered " << c.requests_delivered
    << " accepted " << c.accepted << " declined " << c.declined << " deferred " << c.deferred
    << " | in: req " << c.requests_in << " accepted " << c.accepts_sent << " declined "
    << c.declines_sent << " deferred " << c.defers_sent << " | closes " << c.closes_sent << " sent "
    << c.closes_in << " in | conflicts " << c.conflicts << " errors " << c.errors << " | link "
    << (c.link_up ? "up" : "down") << " reconnects " << c.reconnects << " dup-dropped "
    << c.duplicates_dropped;
  return o.str();
}

std::string format_summary(const std::string& agency, const sim_counters& c,
                           const std::vector<std::string>& problems) {
  std::ostringstream o;
  o << "bluelink-cad-sim " << agency << " summary\n"
    << "  submits:    " << c.sent << " sent, " << c.receipted << " receipted, " << c.conflicts
    << " expected conflicts, " << c.errors << " unexpected errors, " << c.unanswered
    << " unanswered\n"
    << "  duplicates: " << c.duplicate_sends << " sent again, " << c.duplicates_confirmed
    << " got the first receipt back\n"
    << "  requester:  " << c.requests_sent << " requests, " << c.requests_delivered
    << " delivered, " << c.received_in << " received, " << c.accepted << " accepted, " << c.declined
    << " declined, " << c.deferred << " deferred, " << c.updates_sent << " updates sent, "
    << c.alerts << " alerts\n"
    << "  receiver:   " << c.requests_in << " requests, " << c.received_sent << " received, "
    << c.accepts_sent << " accepted, " << c.declines_sent << " declined, " << c.defers_sent
    << " deferred, " << c.updates_in << " updates in, " << c.cancels_in << " cancels in\n"
    << "  closes:     " << c.closes_sent << " sent, " << c.closes_in << " received; " << c.skipped
    << " planned steps skipped; " << c.open_transfers << " transfers still open\n"
    << "  link:       " << c.deliveries << " deliveries, " << c.duplicates_dropped
    << " duplicate deliveries dropped, " << c.reconnects << " reconnects ("
    << c.disconnects_injected << " injected), " << c.unmatched
    << " deliveries about unknown transfers\n";
  for (const auto& p : problems) o << "  problem:    " << p << '\n';
  if (passed(c))
    o << "result: OK, every submit was answered";
  else
    o << "result: FAILED (" << c.errors << " unexpected errors, " << c.unanswered
      << " submits unanswered)";
  return o.str();
}

struct simulator::impl {
  impl(scenario s, sim_config c, cad::client_options link, std::shared_ptr<spdlog::logger> l)
      : sc_(std::move(s)), cfg_(std::move(c)), log_(std::move(l)), rng_(cfg_.seed) {
    if (!log_)
      log_ = std::make_shared<spdlog::logger>("cad-sim",
                                              std::make_shared<spdlog::sinks::null_sink_mt>());
    mode_ = cfg_.mode.empty() ? sc_.mode : cfg_.mode;
    run_id_ = random_run_id();
    std::vector<double> weights;
    for (const auto& t : sc_.requests) weights.push_back(t.weight);
    pick_template_ = std::discrete_distribution<std::size_t>(weights.begin(), weights.end());
    next_incident_ = load_next_incident();
    link.agency = sc_.agency;
    client_ = std::make_unique<cad::cad_client>(
        std::move(link), [this](const cad::delivery& d) { on_delivery(d); }, log_);
  }

  // ---- fixed at construction ---------------------------------------------------------------

  const scenario sc_;
  const sim_config cfg_;
  std::shared_ptr<spdlog::logger> log_;
  std::string mode_;
  std::string run_id_;  // makes message ids unique across runs with the same seed

  // ---- shared with the client thread and the callers, under mu_ ----------------------------

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  std::deque<cad::delivery> inbox_;
  bool finish_requested_ = false;
  bool stop_requested_ = false;
  bool done_ = false;
  sim_counters published_;
  std::vector<std::string> published_problems_;

  // ---- owned by the worker thread ----------------------------------------------------------

  std::mt19937_64 rng_;
  std::discrete_distribution<std::size_t> pick_template_;
  sim_counters n_;
  std::vector<std::string> problems_;
  std::map<std::string, tracked> transfers_;         // by key: request id (ours), transfer id
  std::map<std::string, std::string> key_of_;        // transfer id -> key
  std::map<std::string, std::vector<json>> parked_;  // deliveries for transfers not yet known
  std::vector<outstanding> pending_;
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  std::uint64_t timer_order_ = 0;
  std::uint64_t steps_planned_ = 0;  // step timers that have not fired yet
  std::uint64_t id_seq_ = 0;
  std::int64_t next_incident_ = 1;
  bool draining_ = false;
  steady::time_point started_at_{};
  steady::time_point drain_deadline_{};

  // Declared last, so destroyed first: no thread outlives the state it uses. simulator::stop()
  // has joined both by then anyway.
  std::unique_ptr<cad::cad_client> client_;
  std::thread worker_;

  // ---- incident numbers --------------------------------------------------------------------

  std::int64_t load_next_incident() const {
    std::int64_t next = sc_.first_incident;
    if (cfg_.incident_state_file.empty()) return next;
    std::ifstream in(cfg_.incident_state_file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json doc;
    if (bl::parse_json_bounded(text, doc, bl::json_limits{64 * 1024, 8}, "the incident state"))
      return next;  // unreadable: start from the scenario's first number, as with no file
    if (doc.is_object() && doc.contains("next_incident") &&
        doc["next_incident"].is_number_integer())
      next = std::max(next, doc["next_incident"].get<std::int64_t>());
    return next;
  }

  std::string allocate_incident() {
    std::string number = format_incident_number(sc_.incident_format, next_incident_++, now_ms());
    if (!cfg_.incident_state_file.empty()) {
      // Written before the number is used, so that a restart never hands it out again.
      auto tmp = cfg_.incident_state_file + ".tmp";
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << json{{"agency", sc_.agency}, {"next_incident", next_incident_}}.dump() << '\n';
      }
      std::error_code ec;
      std::filesystem::rename(tmp, cfg_.incident_state_file, ec);
      if (ec)
        log_->warn("event=sim_state_write_failed file={} error=\"{}\"", cfg_.incident_state_file,
                   ec.message());
    }
    return number;
  }

  // ---- small helpers -----------------------------------------------------------------------

  std::string new_message_id() {
    return sc_.agency + ":sim-" + run_id_ + "-" + std::to_string(++id_seq_);
  }

  bool chance(double p) { return p > 0 && std::bernoulli_distribution(std::min(p, 1.0))(rng_); }

  std::chrono::milliseconds draw(const delay_range& d) {
    double s = d.max_s > d.min_s ? std::uniform_real_distribution<double>(d.min_s, d.max_s)(rng_)
                                 : d.min_s;
    return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
  }

  template <class T>
  const T& pick(const std::vector<T>& items) {
    std::vector<double> w;
    for (const auto& i : items) w.push_back(i.weight);
    return items[std::discrete_distribution<std::size_t>(w.begin(), w.end())(rng_)];
  }

  const std::string& pick_text(const std::vector<std::string>& items) {
    return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(rng_)];
  }

  void problem(std::string what) {
    ++n_.errors;
    log_->error("event=sim_problem agency={} {}", sc_.agency, what);
    if (problems_.size() < max_problems) problems_.push_back(std::move(what));
  }

  void schedule(std::chrono::milliseconds after, std::function<void()> fn) {
    timers_.push(timer{steady::now() + after, ++timer_order_, std::move(fn)});
  }

  void plan(const std::string& key, step s, std::chrono::milliseconds after) {
    ++steps_planned_;
    schedule(after, [this, key, s] {
      --steps_planned_;
      enqueue_step(key, s);
    });
  }

  tracked* find_by_transfer(const std::string& transfer_id) {
    auto k = key_of_.find(transfer_id);
    if (k == key_of_.end()) return nullptr;
    auto t = transfers_.find(k->second);
    return t == transfers_.end() ? nullptr : &t->second;
  }

  // A newer version wins; "delivered" is the gateway's own step and does not bump the version.
  static void observe(tracked& t, std::int64_t version, const std::string& state) {
    if (version > t.version) {
      t.version = version;
      if (!state.empty()) t.state = state;
    } else if (version == t.version && t.state == "submitted" && state == "delivered") {
      t.state = state;
    }
  }

  // ---- the worker ------------------------------------------------------------------------------

  void on_delivery(const cad::delivery& d) {
    // The client's thread: hand over and return at once so that acknowledgements keep flowing.
    // The simulator answers later by its delays anyway, so it does not persist before the ack.
    {
      std::lock_guard lock(mu_);
      inbox_.push_back(d);
    }
    wake_.notify_one();
  }

  void run() {
    started_at_ = steady::now();
    if (cfg_.rate_per_s > 0) schedule(std::chrono::milliseconds(0), [this] { originate(); });
    if (sc_.faults.disconnects_per_minute > 0) schedule_disconnect();
    for (;;) {
      std::deque<cad::delivery> batch;
      bool finish = false;
      {
        std::unique_lock lock(mu_);
        auto until = next_wake();
        wake_.wait_until(lock, until, [&] {
          return !inbox_.empty() || stop_requested_ || (finish_requested_ && !draining_);
        });
        if (stop_requested_) break;
        batch.swap(inbox_);
        finish = finish_requested_;
      }
      for (const auto& d : batch) handle_delivery(d.message);
      run_due_timers();
      poll_submits();
      if (!draining_ && (finish || origination_over())) begin_drain();
      bool settled = draining_ && (quiet() || steady::now() >= drain_deadline_);
      if (settled) {
        finish_run();
        publish();
        std::lock_guard lock(mu_);
        done_ = true;
        done_cv_.notify_all();
        break;
      }
      publish();
    }
  }

  steady::time_point next_wake() const {
    auto until = steady::now() + std::chrono::milliseconds(250);
    if (!pending_.empty()) until = std::min(until, steady::now() + cfg_.poll_interval);
    if (!timers_.empty()) until = std::min(until, timers_.top().due);
    return until;
  }

  void run_due_timers() {
    auto now = steady::now();
    while (!timers_.empty() && timers_.top().due <= now) {
      auto fn = timers_.top().fn;
      timers_.pop();
      fn();
    }
  }

  bool origination_over() const {
    if (cfg_.count && n_.requests_sent >= *cfg_.count) return true;
    if (cfg_.duration && steady::now() - started_at_ >= *cfg_.duration) return true;
    return false;
  }

  void begin_drain() {
    draining_ = true;
    drain_deadline_ = steady::now() + cfg_.drain_timeout;
    log_->info("event=sim_draining agency={} outstanding={} planned={}", sc_.agency,
               pending_.size(), steps_planned_);
  }

  // Settled: every submit answered, no own step still planned, and no request of ours still
  // waiting for the receiver's decision.
  bool quiet() const {
    if (!pending_.empty() || steps_planned_ > 0) return false;
    for (const auto& [key, t] : transfers_)
      if (t.role == side::requester && t.category != "notification" && awaiting_decision(t.state))
        return false;
    return true;
  }

  void finish_run() {
    n_.unanswered += pending_.size();
    for (const auto& p : pending_)
      if (problems_.size() < max_problems)
        problems_.push_back("no answer to " + p.type + " " + p.message_id);
    std::uint64_t open = 0;
    for (const auto& [key, t] : transfers_)
      if (!is_final(t.state)) ++open;
    n_.open_transfers = open;
    for (const auto& [tid, msgs] : parked_) n_.unmatched += msgs.size();
    log_->info("event=sim_done agency={} sent={} receipted={} errors={} unanswered={}", sc_.agency,
               n_.sent, n_.receipted, n_.errors, n_.unanswered);
  }

  void publish() {
    auto link = client_->counters();
    n_.deliveries = link.delivered;
    n_.duplicates_dropped = link.duplicates_dropped;
    n_.reconnects = link.connects > 0 ? link.connects - 1 : 0;
    n_.link_up = client_->connected();
    std::lock_guard lock(mu_);
    published_ = n_;
    published_problems_ = problems_;
  }

  // ---- faults ------------------------------------------------------------------------------

  void schedule_disconnect() {
    double mean_s = 60.0 / sc_.faults.disconnects_per_minute;
    auto after = std::chrono::milliseconds(static_cast<std::int64_t>(
        std::exponential_distribution<double>(1.0 / mean_s)(rng_) * 1000));
    schedule(after, [this] {
      // Faults stop with origination, so that the drain can settle.
      if (draining_) return;
      ++n_.disconnects_injected;
      log_->info("event=sim_drop_connection agency={}", sc_.agency);
      client_->drop_connection();
      schedule_disconnect();
    });
  }

  // ---- submitting --------------------------------------------------------------------------

  void submit(const std::string& key, json message) {
    outstanding o;
    o.message_id = message.at("id").get<std::string>();
    o.type = message.at("type").get<std::string>();
    o.key = key;
    if (chance(sc_.faults.duplicate_probability)) o.message = message;
    ++n_.sent;
    log_->debug("event=sim_submit agency={} msg_id={} type={}", sc_.agency, o.message_id, o.type);
    o.result = client_->submit(std::move(message));
    pending_.push_back(std::move(o));
  }

  void poll_submits() {
    // Answers are handled in the order they are found; receipts may arrive in any order anyway.
    std::vector<outstanding> ready;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->result.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        ready.push_back(std::move(*it));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& o : ready) on_answer(o, o.result.get());
  }

  void on_answer(outstanding& o, const cad::submit_result& r) {
    if (o.copy) return on_copy_answer(o, r);
    auto it = transfers_.find(o.key);
    tracked* t = it == transfers_.end() ? nullptr : &it->second;
    if (const auto* receipt = std::get_if<json>(&r)) {
      ++n_.receipted;
      if (t) on_receipt(o.key, *t, o, *receipt);
      if (!o.message.is_null()) {
        // The fault: the same message again, as a CAD that lost the receipt would send it.
        outstanding copy;
        copy.message_id = o.message_id;
        copy.type = o.type;
        copy.key = o.key;
        copy.copy = true;
        copy.first_receipt = *receipt;
        ++n_.duplicate_sends;
        copy.result = client_->submit(std::move(o.message));
        pending_.push_back(std::move(copy));
      }
    } else {
      const auto& e = std::get<error>(r);
      if (o.type != "transfer.request" && expected_refusal(e.code)) {
        ++n_.conflicts;
        log_->info("event=sim_conflict agency={} msg_id={} type={} code={} reason=\"{}\"",
                   sc_.agency, o.message_id, o.type, e.id(), e.message);
      } else {
        problem(o.type + " " + o.message_id + " refused: " + std::string(e.id()) + " " + e.message +
                (e.pointer.empty() ? "" : " at " + e.pointer));
        if (t && o.type == "transfer.request") t->state = "refused";
      }
    }
    if (t) {
      t->busy = false;
      run_waiting(o.key);
    }
  }

  void on_copy_answer(const outstanding& o, const cad::submit_result& r) {
    if (const auto* receipt = std::get_if<json>(&r)) {
      ++n_.receipted;
      if (*receipt == o.first_receipt)
        ++n_.duplicates_confirmed;
      else
        problem("the second submit of " + o.message_id + " got a different receipt: " +
                receipt->dump() + " instead of " + o.first_receipt.dump());
      return;
    }
    const auto& e = std::get<error>(r);
    problem("the second submit of " + o.message_id + " was refused: " + std::string(e.id()) + " " +
            e.message);
  }

  void on_receipt(const std::string& key, tracked& t, const outstanding& o, const json& receipt) {
    std::int64_t version = receipt.value("transfer_version", std::int64_t{0});
    std::string state = receipt.value("state", std::string());
    if (o.type == "transfer.request" && t.transfer_id.empty()) {
      t.transfer_id = receipt.value("transfer_id", std::string());
      if (t.transfer_id.empty()) {
        problem("the receipt for request " + o.message_id + " names no transfer");
        return;
      }
      key_of_[t.transfer_id] = key;
      observe(t, version, state);
      replay_parked(t.transfer_id);
      return;
    }
    observe(t, version, state);
    if (o.type == "transfer.accept" && chance(sc_.receiver.close_probability))
      plan(key, step::close, draw(sc_.receiver.close_after));
    if (o.type == "transfer.defer")
      // Decided again shortly before the deferral runs out, as an operator would.
      plan(key, step::redecide,
           std::chrono::milliseconds(static_cast<std::int64_t>(t.defer_for_s * 800)));
  }

  // ---- originating -------------------------------------------------------------------------

  void originate() {
    if (draining_ || origination_over()) return;
    const auto& tmpl = sc_.requests[pick_template_(rng_)];
    std::string id = new_message_id();
    json msg = make_request(sc_, tmpl, id, allocate_incident(), mode_, now_ms());
    tracked t;
    t.role = side::requester;
    t.counterpart = tmpl.to;
    t.category = tmpl.category;
    t.mode = mode_;
    t.tmpl = &tmpl;
    t.busy = true;
    transfers_[id] = std::move(t);
    ++n_.requests_sent;
    log_->info("event=sim_request agency={} msg_id={} template={} to={}", sc_.agency, id, tmpl.name,
               tmpl.to);
    submit(id, std::move(msg));
    // A fixed interval from the start, so that slow turns do not lower the rate.
    auto interval = std::chrono::duration<double>(1.0 / cfg_.rate_per_s);
    auto due = started_at_ + std::chrono::duration_cast<steady::duration>(
                                 interval * static_cast<double>(n_.requests_sent));
    timers_.push(timer{due, ++timer_order_, [this] { originate(); }});
  }

  // ---- deliveries --------------------------------------------------------------------------

  void handle_delivery(const json& m) {
    const std::string type = m.value("type", std::string());
    const std::string tid = m.value("transfer_id", std::string());
    if (type == "transfer.request") return on_request(m);
    if (type == "transfer.alert") {
      ++n_.alerts;
      log_->info("event=sim_alert agency={} transfer_id={} alert={}", sc_.agency, tid,
                 m.value(json::json_pointer("/body/alert"), std::string()));
      return;
    }
    if (type == "receipt") return on_delivered_receipt(m);
    if (type == "error") {
      problem("the gateway delivered an error: " + m.dump());
      return;
    }
    tracked* t = find_by_transfer(tid);
    if (!t) {
      // Ours but the receipt naming the transfer is not in yet, or from an earlier run.
      parked_[tid].push_back(m);
      return;
    }
    on_party_message(*t, m);
  }

  void replay_parked(const std::string& tid) {
    auto it = parked_.find(tid);
    if (it == parked_.end()) return;
    auto msgs = std::move(it->second);
    parked_.erase(it);
    for (const auto& m : msgs) handle_delivery(m);
  }

  void on_delivered_receipt(const json& m) {
    const json& body = m.at("body");
    if (body.value("status", std::string()) != "delivered") return;
    std::string request_id = body.value("message_id", std::string());
    auto it = transfers_.find(request_id);
    if (it == transfers_.end()) {
      ++n_.unmatched;
      return;
    }
    tracked& t = it->second;
    ++n_.requests_delivered;
    std::string tid = body.value("transfer_id", std::string());
    if (t.transfer_id.empty() && !tid.empty()) {
      t.transfer_id = tid;
      key_of_[tid] = request_id;
      observe(t, body.value("transfer_version", std::int64_t{0}), "delivered");
      replay_parked(tid);
      return;
    }
    observe(t, body.value("transfer_version", std::int64_t{0}), "delivered");
  }

  void on_party_message(tracked& t, const json& m) {
    const std::string type = m.value("type", std::string());
    observe(t, m.value("version", std::int64_t{0}), state_after(type));
    const std::string key = key_of_[t.transfer_id];
    if (t.role == side::requester) {
      if (type == "transfer.received") {
        ++n_.received_in;
      } else if (type == "transfer.accept") {
        ++n_.accepted;
        on_accepted(key);
      } else if (type == "transfer.decline") {
        ++n_.declined;
      } else if (type == "transfer.defer") {
        ++n_.deferred;
      } else if (type == "transfer.close") {
        ++n_.closes_in;
      }
      return;
    }
    if (type == "transfer.update")
      ++n_.updates_in;
    else if (type == "transfer.cancel")
      ++n_.cancels_in;
    else if (type == "transfer.close")
      ++n_.closes_in;
  }

  // Our request was accepted: an update after a delay, then perhaps a close after another.
  void on_accepted(const std::string& key) {
    const auto& rq = sc_.requester;
    std::chrono::milliseconds at{0};
    if (chance(rq.update_probability)) {
      at += draw(rq.update_after);
      plan(key, step::update, at);
    }
    if (chance(rq.close_probability)) {
      at += draw(rq.close_after);
      plan(key, step::close, at);
    }
  }

  void on_request(const json& m) {
    const std::string tid = m.value("transfer_id", std::string());
    if (tid.empty() || key_of_.count(tid)) return;  // already ours (a re-send after a restart)
    ++n_.requests_in;
    tracked& t = transfers_[tid];
    t.role = side::receiver;
    t.transfer_id = tid;
    t.counterpart = m.value("from", std::string());
    t.category = m.value(json::json_pointer("/body/category"), std::string());
    t.mode = m.value("mode", std::string("live"));
    t.version = m.value("version", std::int64_t{1});
    t.state = "submitted";
    key_of_[tid] = tid;
    log_->info("event=sim_request_in agency={} transfer_id={} from={} category={}", sc_.agency, tid,
               t.counterpart, t.category);
    const auto& r = sc_.receiver;
    auto received_at = draw(r.received_after);
    if (chance(r.received_probability)) plan(tid, step::received, received_at);
    if (t.category == "notification")
      plan(tid, step::notification_close, received_at + draw(r.notification_close_after));
    else
      plan(tid, step::decide, draw(r.decision_after));
  }

  // ---- own steps ---------------------------------------------------------------------------

  void enqueue_step(const std::string& key, step s) {
    auto it = transfers_.find(key);
    if (it == transfers_.end()) return;
    if (it->second.busy) {
      it->second.waiting.push_back(s);
      return;
    }
    run_step(key, it->second, s);
  }

  void run_waiting(const std::string& key) {
    auto it = transfers_.find(key);
    while (it != transfers_.end() && !it->second.busy && !it->second.waiting.empty()) {
      step s = it->second.waiting.front();
      it->second.waiting.pop_front();
      run_step(key, it->second, s);
    }
  }

  // Builds and submits the message for one step, or skips it if the transfer has moved on.
  void run_step(const std::string& key, tracked& t, step s) {
    const std::string& st = t.state;
    bool applicable = !is_final(st) && !t.transfer_id.empty();
    switch (s) {
      case step::received:
        applicable = applicable && (st == "submitted" || st == "delivered");
        break;
      case step::decide:
        applicable = applicable && st != "accepted" && st != "deferred";
        break;
      case step::redecide:
        applicable = applicable && st == "deferred";
        break;
      case step::close:
        applicable = applicable && st == "accepted";
        break;
      case step::update:
      case step::notification_close:
        break;
    }
    if (!applicable) {
      ++n_.skipped;
      log_->debug("event=sim_step_skipped agency={} transfer_id={} step={} state={}", sc_.agency,
                  t.transfer_id, to_string(s), st);
      return;
    }

    json body;
    std::string type;
    const auto& r = sc_.receiver;
    switch (s) {
      case step::received:
        type = "transfer.received";
        body = json::object();
        if (!sc_.operator_name.empty()) body["operator"] = sc_.operator_name;
        if (!r.received_note.empty()) body["note"] = r.received_note;
        ++n_.received_sent;
        break;
      case step::decide:
      case step::redecide: {
        double defer_w = s == step::decide ? r.defer_weight : 0.0;
        std::discrete_distribution<int> d({r.accept_weight, r.decline_weight, defer_w});
        int choice = d(rng_);
        if (choice == 0) {
          type = "transfer.accept";
          body = accept_body(t);
          ++n_.accepts_sent;
        } else if (choice == 1) {
          type = "transfer.decline";
          const auto& why = pick(r.decline_reasons);
          body = {{"reason", why.reason}, {"text", why.text}};
          ++n_.declines_sent;
        } else {
          type = "transfer.defer";
          auto for_ms = draw(r.defer_for);
          t.defer_for_s = static_cast<double>(for_ms.count()) / 1000.0;
          body = {{"until", format_rfc3339(now_ms() + for_ms)},
                  {"reason", pick_text(r.defer_reasons)}};
          ++n_.defers_sent;
        }
        break;
      }
      case step::update: {
        type = "transfer.update";
        if (t.tmpl && t.updates_used < t.tmpl->updates.size())
          body = t.tmpl->updates[t.updates_used++];
        else
          body = {{"text", sc_.requester.update_text}};
        ++n_.updates_sent;
        break;
      }
      case step::close: {
        type = "transfer.close";
        const auto& outcomes =
            t.role == side::requester ? sc_.requester.close_outcomes : r.close_outcomes;
        const auto& how = pick(outcomes);
        body = {{"outcome", how.outcome}};
        if (!how.text.empty()) body["text"] = how.text;
        ++n_.closes_sent;
        break;
      }
      case step::notification_close:
        type = "transfer.close";
        body = {{"outcome", "resolved"}, {"text", r.notification_close_text}};
        ++n_.closes_sent;
        break;
    }
    json msg = {{"id", new_message_id()},
                {"type", type},
                {"from", sc_.agency},
                {"to", json::array({t.counterpart})},
                {"sent_at", format_rfc3339(now_ms())},
                {"mode", t.mode},
                {"transfer_id", t.transfer_id},
                {"version", t.version + 1},
                {"body", std::move(body)}};
    t.busy = true;
    submit(key, std::move(msg));
  }

  json accept_body(const tracked& t) {
    const auto& r = sc_.receiver;
    json body = {
        {"receiver_incident", {{"number", allocate_incident()}, {"system", sc_.cad_system}}},
        {"eta_minutes", std::uniform_int_distribution<int>(r.eta_min, r.eta_max)(rng_)}};
    body["resources"] = r.resources.value(t.category, r.resources.value("default", std::string()));
    if (r.accept_notes.contains(t.category)) body["note"] = r.accept_notes.at(t.category);
    return body;
  }
};

simulator::simulator(scenario sc, sim_config cfg, cad::client_options link,
                     std::shared_ptr<spdlog::logger> log)
    : impl_(
          std::make_unique<impl>(std::move(sc), std::move(cfg), std::move(link), std::move(log))) {}

simulator::~simulator() {
  stop();
}

void simulator::start() {
  if (impl_->worker_.joinable()) return;
  impl_->client_->start();
  impl_->worker_ = std::thread([this] { impl_->run(); });
}

void simulator::finish() {
  {
    std::lock_guard lock(impl_->mu_);
    impl_->finish_requested_ = true;
  }
  impl_->wake_.notify_one();
}

bool simulator::wait_done(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu_);
  return impl_->done_cv_.wait_for(lock, timeout, [this] { return impl_->done_; });
}

void simulator::stop() {
  {
    std::lock_guard lock(impl_->mu_);
    impl_->stop_requested_ = true;
  }
  impl_->wake_.notify_one();
  if (impl_->worker_.joinable()) impl_->worker_.join();
  bool was_done = false;
  {
    std::lock_guard lock(impl_->mu_);
    was_done = impl_->done_;
  }
  // Stopped before settling: what is still outstanding was never answered. Safe to touch the
  // worker's state here because the worker has been joined (or never started).
  if (!was_done) {
    impl_->finish_run();
    impl_->publish();
    impl_->pending_.clear();
    std::lock_guard lock(impl_->mu_);
    impl_->done_ = true;
    impl_->done_cv_.notify_all();
  }
  impl_->client_->stop();
}

sim_counters simulator::counters() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->published_;
}

std::vector<std::string> simulator::problems() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->published_problems_;
}

const std::string& simulator::agency() const {
  return impl_->sc_.agency;
}

}  // namespace bl::sim
