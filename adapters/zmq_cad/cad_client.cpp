#include "adapters/zmq_cad/cad_client.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_set>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "adapters/zmq_cad/cad_frame.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/log_value.hpp"

namespace bl::cad {

using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {
// Frames from the gateway are bounded too: a deliver frame holds one message (at most
// max_frame_bytes) and a little framing. The depth is generous (the gateway's own limit is
// configurable) but keeps what follows the parse from recursing without bound.
const json_limits gateway_frame_limits{max_frame_bytes + 4096, 256};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Writes `text` to `path` so that a crash or power cut at any moment leaves either the old file
// or the new one, whole: a temporary file, fsync, rename over the old one, fsync the directory.
void write_file_durably(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("cannot create " + tmp);
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      throw_errno("cannot write " + tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    throw_errno("cannot fsync " + tmp);
  }
  if (::close(fd) != 0) throw_errno("cannot close " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("cannot rename " + tmp);
  auto dir = std::filesystem::path(path).parent_path();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw_errno("cannot open the directory of " + path);
  int rc = ::fsync(dfd);
  int saved = errno;
  ::close(dfd);
  errno = saved;
  if (rc != 0) throw_errno("cannot fsync the directory of " + path);
}
}  // namespace

bool cad_client::retryable(errc code) {
  switch (code) {
    case errc::store_busy:
    case errc::store_full:
    case errc::store_unavailable:
    case errc::shutting_down:
    case errc::link_overloaded:
    case errc::rate_submissions:  // the agency's rate: nothing stored, the same id goes later
    case errc::link_no_session:
    case errc::internal:
      return true;
    default:
      return false;
  }
}

struct cad_client::impl {
  struct pending {
    std::string frame;        // the submit frame, serialised once
    std::string transfer_id;  // empty for a message that opens no transfer order
    std::vector<std::promise<submit_result>> promises;  // more than one if the id was resubmitted
    void complete(const submit_result& r) {
      for (auto& pr : promises) pr.set_value(r);
      promises.clear();
    }
    steady::time_point last_sent{};  // epoch: not sent on the current session yet
    steady::time_point resend_at{};  // still unanswered then: send it again
    int session_sends = 0;           // times sent on the current session
    bool sent_once = false;
    std::uint64_t order = 0;  // submission order: resends keep it, so a transfer's messages stay
                              // in the order the CAD made them
  };

  impl(client_options o, std::function<void(const delivery&)> cb, std::shared_ptr<spdlog::logger> l)
      : opts(std::move(o)),
        on_delivery(std::move(cb)),
        log(std::move(l)),
        wake_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    endpoint_list =
        opts.endpoints.empty() ? std::vector<std::string>{opts.endpoint} : opts.endpoints;
    if (!log)
      log = std::make_shared<spdlog::logger>("cad-client",
                                             std::make_shared<spdlog::sinks::null_sink_mt>());
    if (wake_fd < 0) throw std::runtime_error("eventfd failed");
    try {
      processed = load_state();
    } catch (...) {
      ::close(wake_fd);  // the destructor does not run when the constructor throws
      throw;
    }
  }
  ~impl() { ::close(wake_fd); }

  client_options opts;
  std::function<void(const delivery&)> on_delivery;
  std::shared_ptr<spdlog::logger> log;
  int wake_fd;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> sock;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> drop_requested{false};
  std::atomic<bool> is_connected{false};
  std::atomic<std::int64_t> processed{0};
  std::atomic<std::uint64_t> next_order{0};

  mutable std::mutex mu;  // guards `incoming`, `counts`
  std::deque<std::pair<std::string, std::shared_ptr<pending>>> incoming;
  client_counters counts;

  // Owned by the client thread.
  std::map<std::string, std::shared_ptr<pending>> outstanding;  // by message id
  std::map<std::uint64_t, pending*> by_order;  // the same entries in submission order
  std::unordered_set<std::string> seen;
  std::deque<std::string> seen_order;
  bool welcomed = false;
  steady::time_point connected_at{}, last_heard{}, last_sent{}, next_attempt{};
  std::chrono::milliseconds backoff{0};
  // Several gateway nodes: the endpoints (fixed at construction), the one in use (written by the
  // client thread under `mu`, for endpoint()), and how many sessions in a row have failed since
  // the last welcome.
  std::vector<std::string> endpoint_list;
  std::size_t at = 0;
  std::size_t failed_in_row = 0;
  std::chrono::milliseconds heartbeat{1000};
  int liveness = 3;
  std::int64_t ack_sent = 0;
  std::int64_t persisted = 0;
  bool state_write_failing = false;
  bool ready_dirty = false;

  // ---- state file: the last processed sequence survives a restart of the CAD -----------------

  /// The last processed sequence from the state file; 0 when there is none yet (a new CAD).
  /// A file that exists but cannot be read, or is empty, torn or someone else's, is an error
  /// the application must decide about: starting from 0 would deliver every message again.
  std::int64_t load_state() {
    if (opts.state_file.empty()) return 0;
    const std::string& path = opts.state_file;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return 0;
    auto damaged = [&](const std::string& why) {
      return state_file_error(
          "the CAD link state file " + path + " " + why +
          ". It records the last delivery this CAD processed; starting from 0 would deliver "
          "every message again. Restore it from a backup, or write {\"agency\": \"" +
          opts.agency +
          "\", \"processed_upto\": N} with the last sequence the CAD processed, or delete it "
          "to receive every message again (each keeps its id, for a CAD that dedupes)");
    };
    std::ifstream in(path, std::ios::binary);
    if (!in) throw damaged(std::string("cannot be read (") + std::strerror(errno) + ")");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw damaged("cannot be read");
    json doc;
    if (text.empty()) throw damaged("is empty (torn by a crash or power cut?)");
    if (auto e = parse_json_bounded(text, doc, json_limits{4096, 4}, "the state file"))
      throw damaged("is damaged: " + e->message);
    const json* upto =
        doc.is_object() && doc.contains("processed_upto") ? &doc["processed_upto"] : nullptr;
    if (!upto || !upto->is_number_integer() || upto->get<std::int64_t>() < 0)
      throw damaged("has no whole, non-negative \"processed_upto\"");
    if (auto a = doc.find("agency"); a != doc.end() && (!a->is_string() || *a != opts.agency))
      throw damaged("belongs to agency " + a->dump() + ", not '" + opts.agency + "'");
    persisted = upto->get<std::int64_t>();
    return persisted;
  }

  /// Writes the processed sequence durably. On failure (disk full, permissions) it logs and
  /// keeps the old value: acknowledgements then go no further than what is on disk.
  void save_state() {
    std::int64_t p = processed;
    if (opts.state_file.empty() || p == persisted) return;
    try {
      write_file_durably(opts.state_file,
                         json{{"agency", opts.agency}, {"processed_upto", p}}.dump() + "\n");
      persisted = p;
      state_write_failing = false;
    } catch (const std::exception& e) {
      if (!state_write_failing)
        log->error("event=cad_state_write_failed agency={} file={} error={}", opts.agency,
                   log_quote(opts.state_file), log_quote(e.what()));
      state_write_failing = true;
    }
  }

  /// What may be acknowledged: everything processed, or with a state file, what it records.
  /// An acknowledgement says "never send these again", so it must not run ahead of the disk.
  std::int64_t ackable() {
    save_state();
    return opts.state_file.empty() ? processed.load() : persisted;
  }

  // ---- connection --------------------------------------------------------------------------

  void connect() {
    sock = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    sock->set(zmq::sockopt::linger, 0);
    sock->set(zmq::sockopt::sndhwm, 20000);
    sock->set(zmq::sockopt::rcvhwm, 20000);
    sock->set(zmq::sockopt::curve_serverkey, opts.server_public_key);
    sock->set(zmq::sockopt::curve_publickey, opts.client_keys.public_key);
    sock->set(zmq::sockopt::curve_secretkey, opts.client_keys.secret_key);
    std::string target;
    {
      std::lock_guard lock(mu);
      target = endpoint_list[at];
    }
    sock->connect(target);
    welcomed = false;
    connected_at = last_heard = steady::now();
    send(json{{"v", 1},
              {"op", "hello"},
              {"agency", opts.agency},
              {"resume_from", processed.load()},
              {"client", opts.client_name},
              {"window", opts.window}});
  }

  void disconnect(const std::string& why) {
    if (!sock) return;
    if (welcomed) log->warn("event=cad_link_lost agency={} reason={}", opts.agency, log_quote(why));
    sock->close();
    sock.reset();
    welcomed = false;
    is_connected = false;
    ++failed_in_row;
    if (endpoint_list.size() > 1) {
      // Several nodes: the next one at once, as long as not every one has failed in a row.
      std::string from, to;
      {
        std::lock_guard lock(mu);
        from = endpoint_list[at];
        at = (at + 1) % endpoint_list.size();
        to = endpoint_list[at];
        ++counts.failovers;
      }
      log->warn("event=cad_link_failover agency={} from={} to={} reason={}", opts.agency, from, to,
                log_quote(why));
      if (failed_in_row < endpoint_list.size()) {
        next_attempt = steady::now();
        for (auto& [id, p] : outstanding) {  // resend on the next session
          p->last_sent = {};
          p->session_sends = 0;
        }
        return;
      }
      failed_in_row = 0;  // a whole round failed: back off before the next
    }
    // Capped exponential back-off, with jitter so that many CADs do not reconnect in lockstep.
    backoff = backoff.count() == 0 ? opts.backoff_initial : std::min(backoff * 2, opts.backoff_max);
    thread_local std::mt19937 rng{std::random_device{}()};
    auto jitter = std::chrono::milliseconds(rng() % (backoff.count() / 4 + 1));
    next_attempt = steady::now() + backoff + jitter;
    for (auto& [id, p] : outstanding) {  // resend on the next session
      p->last_sent = {};
      p->session_sends = 0;
    }
  }

  void send(const json& frame) {
    if (!sock) return;
    auto text = frame.dump();
    if (sock->send(zmq::buffer(text), zmq::send_flags::dontwait)) last_sent = steady::now();
  }

  // ---- the loop ----------------------------------------------------------------------------

  /// The client thread. Nothing thrown inside it may leave it (it would end the CAD's whole
  /// process): an error in one turn of the loop is logged and the connection started again.
  void run() {
    next_attempt = steady::now();
    while (!stopping) {
      try {
        turn();
      } catch (const std::exception& e) {
        log->error("event=cad_link_client_error agency={} error={}", opts.agency,
                   log_quote(e.what()));
        try {
          disconnect(std::string("client error: ") + e.what());
        } catch (const std::exception&) {
          sock.reset();
          welcomed = false;
          is_connected = false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // never a busy loop
      }
    }
    try {
      if (sock && welcomed) send(json{{"v", 1}, {"op", "goodbye"}, {"reason", "client stopping"}});
      save_state();
      if (sock) sock->close();
    } catch (const std::exception& e) {
      log->warn("event=cad_link_client_error agency={} error={}", opts.agency, log_quote(e.what()));
    }
    sock.reset();
    is_connected = false;
    take_incoming();
    for (auto& [id, p] : outstanding)
      p->complete(make_error(errc::shutting_down, "the CAD client stopped"));
    outstanding.clear();
    by_order.clear();
  }

  void turn() {
    if (!sock && steady::now() >= next_attempt) connect();
    std::vector<zmq::pollitem_t> items;
    items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
    if (sock) items.push_back({sock->handle(), 0, ZMQ_POLLIN, 0});
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(50));
    if (items[0].revents & ZMQ_POLLIN) {
      std::uint64_t v;
      [[maybe_unused]] auto n = ::read(wake_fd, &v, sizeof v);
    }
    take_incoming();
    if (drop_requested.exchange(false)) disconnect("dropped on request");
    if (sock && items.size() > 1 && (items[1].revents & ZMQ_POLLIN)) receive_all();
    if (sock) timers();
  }

  void take_incoming() {
    std::deque<std::pair<std::string, std::shared_ptr<pending>>> batch;
    {
      std::lock_guard lock(mu);
      batch.swap(incoming);
    }
    for (auto& [id, p] : batch) {
      auto [it, fresh] = outstanding.emplace(id, p);
      if (fresh) by_order.emplace(p->order, p.get());
      if (!fresh) {
        // The same id submitted again while the first is outstanding: send it again (the
        // gateway dedupes) and give both callers the one receipt.
        for (auto& pr : p->promises) it->second->promises.push_back(std::move(pr));
        if (welcomed && it->second->sent_once) send_submit(*it->second, steady::now());
        continue;
      }
    }
    if (welcomed) send_ready();
  }

  /// Outstanding submits that may go out now, in submission order. A message on a transfer
  /// waits until the earlier messages on that transfer are answered: per-transfer order must
  /// survive retries, refusals and reconnects (an update resent after its close would be stale).
  std::vector<pending*> eligible() {
    std::unordered_set<std::string_view> busy;
    std::vector<pending*> out;
    for (auto& [order, p] : by_order) {
      if (!p->transfer_id.empty() && !busy.insert(p->transfer_id).second) continue;
      out.push_back(p);
    }
    return out;
  }

  void forget(std::map<std::string, std::shared_ptr<pending>>::iterator it) {
    by_order.erase(it->second->order);
    outstanding.erase(it);
  }

  /// Sends eligible submits not yet sent on this session, while fewer than submit_window are
  /// unanswered; with `resend_due`, also sends again those whose answer is overdue.
  ///
  /// The window is what keeps a backlog from becoming a storm: without it a CAD holding
  /// thousands of unanswered submissions sends all of them on every new session, and a gateway
  /// that is slow (or restarting) spends its time validating copies while the CAD resends them
  /// again. The same goes for resends within a session, which back off (submit_timeout, then
  /// twice, four and eight times it): a session's frames are not lost in transit, so an answer
  /// that is late is on its way, and resending only adds to the gateway's queue.
  void send_ready(bool resend_due = false) {
    const auto now = steady::now();
    auto ready = eligible();
    std::size_t unanswered = 0;
    for (auto* p : ready)
      if (p->last_sent != steady::time_point{}) ++unanswered;
    for (auto* p : ready) {
      if (p->last_sent == steady::time_point{}) {
        if (unanswered >= opts.submit_window) continue;
        send_submit(*p, now);
        ++unanswered;
      } else if (resend_due && now >= p->resend_at) {
        send_submit(*p, now);
      }
    }
  }

  void send_submit(pending& p, steady::time_point now) {
    if (p.sent_once) {
      std::lock_guard lock(mu);
      ++counts.resent_submits;
    }
    if (sock && sock->send(zmq::buffer(p.frame), zmq::send_flags::dontwait)) last_sent = now;
    p.last_sent = now;
    p.resend_at = now + opts.submit_timeout * (1 << std::min(p.session_sends, 3));
    ++p.session_sends;
    p.sent_once = true;
  }

  void receive_all() {
    for (int i = 0; i < 1000 && sock; ++i) {
      zmq::message_t msg;
      if (!sock->recv(msg, zmq::recv_flags::dontwait)) break;
      last_heard = steady::now();
      json f;
      if (auto e = parse_json_bounded(msg.to_string_view(), f, gateway_frame_limits, "the frame")) {
        log->warn("event=cad_link_bad_frame agency={} error={}", opts.agency,
                  log_quote(e->message));
        continue;
      }
      if (!f.is_object() || !f.contains("op") || !f["op"].is_string()) {
        log->warn("event=cad_link_bad_frame agency={} error={}", opts.agency,
                  log_quote("a frame from the gateway must be an object with a string \"op\""));
        continue;
      }
      try {
        handle(f);
      } catch (const json::exception& ex) {
        // A frame whose members are not what the protocol says: ignore it rather than let the
        // exception end the client thread; a lost delivery shows up as a gap and a resume.
        log->warn("event=cad_link_bad_frame agency={} op={} error={}", opts.agency,
                  log_quote(f["op"].get<std::string>()), log_quote(ex.what()));
      }
    }
    if (ready_dirty && welcomed) {
      ready_dirty = false;
      send_ready();
    }
    // Acknowledge what this batch processed, at least every half window.
    if (welcomed && processed > ack_sent &&
        (processed - ack_sent >= opts.window / 2 || !sock_has_more())) {
      std::int64_t p = ackable();
      if (p > ack_sent) {
        send(json{{"v", 1}, {"op", "ack"}, {"upto", p}});
        ack_sent = p;
      }
    }
  }

  bool sock_has_more() {
    zmq::pollitem_t it{sock->handle(), 0, ZMQ_POLLIN, 0};
    return zmq::poll(&it, 1, std::chrono::milliseconds(0)) > 0;
  }

  void handle(const json& f) {
    const std::string op = f["op"].get<std::string>();
    if (op == "welcome") {
      welcomed = true;
      is_connected = true;
      backoff = std::chrono::milliseconds(0);
      failed_in_row = 0;
      heartbeat = std::chrono::milliseconds(f.value("heartbeat_ms", 1000));
      liveness = f.value("liveness", 3);
      ack_sent = processed;
      {
        std::lock_guard lock(mu);
        ++counts.connects;
      }
      log->info("event=cad_link_up agency={} session={} resume_from={}", opts.agency,
                log_quote(f.value("session", "")), processed.load());
      send_ready();  // the same ids as before: the gateway dedupes
    } else if (op == "deliver") {
      auto seq = f.find("seq");
      auto m = f.find("message");
      if (seq == f.end() || !seq->is_number_integer() || seq->get<std::int64_t>() < 1 ||
          m == f.end() || !m->is_object() || !m->contains("id") || !(*m)["id"].is_string()) {
        // Without a sequence the CAD cannot say what it has processed: start the session again.
        log->warn("event=cad_link_bad_frame agency={} error={}", opts.agency,
                  log_quote("a deliver frame needs a whole \"seq\" >= 1 and a message with an "
                            "id"));
        disconnect("malformed deliver frame");
        return;
      }
      on_deliver(seq->get<std::int64_t>(), *m);
    } else if (op == "receipt") {
      auto it = outstanding.find(f.value("message_id", ""));
      if (it == outstanding.end()) return;  // a late duplicate receipt
      it->second->complete(f["receipt"]);
      forget(it);
      ready_dirty = true;  // later messages on its transfer may go now
      std::lock_guard lock(mu);
      ++counts.receipts;
    } else if (op == "error") {
      on_error(f);
    } else if (op == "goodbye") {
      disconnect("the gateway said goodbye: " + f.value("reason", std::string()));
    }
    // heartbeat and acked need nothing beyond the liveness they already gave.
  }

  void on_deliver(std::int64_t seq, const json& message) {
    std::int64_t p = processed;
    if (seq <= p) {
      std::lock_guard lock(mu);
      ++counts.duplicates_dropped;
      return;
    }
    if (seq != p + 1) {
      // A gap means frames were lost: resume from what we really have.
      log->warn("event=cad_link_gap agency={} expected={} got={}", opts.agency, p + 1, seq);
      disconnect("sequence gap");
      return;
    }
    std::string id = message.value("id", std::string());
    bool duplicate = !seen.insert(id).second;
    if (!duplicate) {
      seen_order.push_back(id);
      if (seen_order.size() > opts.dedupe_memory) {
        seen.erase(seen_order.front());
        seen_order.pop_front();
      }
      try {
        on_delivery(delivery{seq, message});
      } catch (const std::exception& e) {
        // The CAD's handler failed: the delivery is not processed. It comes again after a
        // reconnect (nothing past it is acknowledged), and the CAD's own log says why.
        seen.erase(id);
        seen_order.pop_back();
        log->error("event=cad_delivery_handler_failed agency={} seq={} message_id={} error={}",
                   opts.agency, seq, log_quote(id), log_quote(e.what()));
        disconnect("the delivery handler failed");
        return;
      }
    }
    processed = seq;
    std::lock_guard lock(mu);
    ++(duplicate ? counts.duplicates_dropped : counts.delivered);
  }

  void on_error(const json& f) {
    auto code = errc_from_id(f.value("code", std::string())).value_or(errc::internal);
    std::string id = f.value("message_id", std::string());
    auto it = id.empty() ? outstanding.end() : outstanding.find(id);
    if (it != outstanding.end()) {
      if (retryable(code)) {
        it->second->resend_at = steady::now() + backoff_after_refusal();
        return;
      }
      it->second->complete(
          make_error(code, f.value("message", std::string()), f.value("pointer", std::string())));
      forget(it);
      ready_dirty = true;  // later messages on its transfer may go now
      return;
    }
    log->warn("event=cad_link_error agency={} code={} message={}", opts.agency,
              log_quote(f.value("code", "")), log_quote(f.value("message", "")));
    // Refusals of the session itself: start again with a new connection and a new hello.
    if (code == errc::link_no_session || code == errc::sender_not_authorised ||
        code == errc::bad_request || code == errc::link_routing_id ||
        code == errc::link_agency_mismatch)
      disconnect("refused: " + f.value("code", std::string()));
  }

  std::chrono::milliseconds backoff_after_refusal() const { return std::chrono::milliseconds(200); }

  void timers() {
    auto now = steady::now();
    auto dead_after = heartbeat * liveness;
    if (!welcomed && now - connected_at > opts.hello_timeout) return disconnect("no welcome");
    if (welcomed && now - last_heard > dead_after) return disconnect("gateway silent");
    if (!welcomed) return;
    send_ready(/*resend_due=*/true);
    if (processed > ack_sent) {
      std::int64_t p = ackable();
      if (p > ack_sent) {
        send(json{{"v", 1}, {"op", "ack"}, {"upto", p}});
        ack_sent = p;
      }
    }
    if (now - last_sent >= heartbeat) send(json{{"v", 1}, {"op", "heartbeat"}});
  }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }
};

cad_client::cad_client(client_options opts, std::function<void(const delivery&)> on_delivery,
                       std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(on_delivery), std::move(log))) {}

cad_client::~cad_client() {
  stop();
}

void cad_client::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void cad_client::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->wake();
  impl_->thread.join();
}

std::future<submit_result> cad_client::submit(json message) {
  auto p = std::make_shared<impl::pending>();
  p->promises.emplace_back();
  auto fut = p->promises.back().get_future();
  std::string id = message.value("id", std::string());
  if (id.empty()) {
    p->complete(make_error(errc::schema_invalid, "a message needs an id", "/id"));
    return fut;
  }
  if (impl_->stopping) {
    p->complete(make_error(errc::shutting_down, "the CAD client is stopping"));
    return fut;
  }
  p->transfer_id = message.value("transfer_id", std::string());
  p->frame = json{{"v", 1}, {"op", "submit"}, {"message", message}}.dump();
  p->order = ++impl_->next_order;
  {
    std::lock_guard lock(impl_->mu);
    impl_->incoming.emplace_back(id, std::move(p));
  }
  impl_->wake();
  return fut;
}

bool cad_client::connected() const {
  return impl_->is_connected;
}
std::int64_t cad_client::processed_upto() const {
  return impl_->processed;
}

client_counters cad_client::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counts;
}

void cad_client::drop_connection() {
  impl_->drop_requested = true;
  impl_->wake();
}

std::string cad_client::endpoint() const {
  std::lock_guard lock(impl_->mu);
  return impl_->endpoint_list[impl_->at];
}

}  // namespace bl::cad
