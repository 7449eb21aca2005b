#include "adapters/zmq_cad/cad_link_server.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_set>
#include <variant>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "adapters/zmq_cad/audit_limiter.hpp"
#include "adapters/zmq_cad/cad_frame.hpp"
#include "gateway/core/failpoint.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/cluster.hpp"
#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl::cad {

using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {
constexpr std::size_t max_pending_submits = 2000;  // per session; beyond it: bl.link.overloaded
constexpr std::size_t outbox_high_water = 512;
constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";
// Set by the ZAP handler on each authenticated connection, and so on every frame it carries:
// a session remembers the connection that opened it and refuses frames from any other.
constexpr const char* connection_property = "X-Bluelink-Connection";
// Audit rows for refusals an outsider can repeat at will, per minute and per kind (unknown keys
// apart from the refusals of registered CADs, so that a flood of one cannot hide the other).
constexpr std::size_t refusal_audits_per_minute = 20;

// libzmq gives a peer that did not set ZMQ_ROUTING_ID an id of exactly 5 bytes whose first byte
// is 0 (then a 32-bit counter; checked against libzmq 4.3.4 by tests/component/cad_link_test.cpp).
// Any other id was chosen by the client, and a chosen id is what lets one connection pose as
// another: the link refuses them.
bool generated_routing_id(std::string_view id) {
  return id.size() == 5 && id[0] == '\0';
}

// Routing ids are binary: logged and audited as hex, and never more than 64 bytes of them.
std::string hex_id(std::string_view id) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < id.size() && i < 64; ++i) {
    auto b = static_cast<unsigned char>(id[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  if (id.size() > 64) out += "...";
  return out;
}

// A property of the connection a frame came on ("User-Id", connection_property), or "" when
// there is none; zmq_msg_gets is used directly because cppzmq's gets() throws when it is absent.
std::string frame_property(zmq::message_t& m, const char* name) {
  const char* v = zmq_msg_gets(m.handle(), name);
  return v ? std::string(v) : std::string();
}

// The ZAP reply's metadata frame (ZMTP 3 property list): name length (1 byte), name, value
// length (4 bytes, network order), value.
std::string zap_metadata(std::string_view name, std::string_view value) {
  std::string out;
  out += static_cast<char>(name.size());
  out += name;
  auto n = static_cast<std::uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out += value;
  return out;
}

bool valid_z85_key(const std::string& k) {
  if (k.size() != 40) return false;
  static const std::string alphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  return k.find_first_not_of(alphabet) == std::string::npos;
}

std::string random_hex(int n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < n; ++i) out += digits[rng() & 15];
  return out;
}

std::string error_frame(const error& e, const std::string& message_id = {}) {
  json f = {{"v", 1}, {"op", "error"}, {"code", e.id()}, {"message", e.message}};
  if (!e.pointer.empty()) f["pointer"] = e.pointer;
  if (!message_id.empty()) f["message_id"] = message_id;
  return f.dump();
}
}  // namespace

key_pair load_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read CAD link key file " + path);
  // A key file is small: bounded like everything else read from outside the process.
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json doc;
  if (auto e = parse_json_bounded(text, doc, json_limits{64 * 1024, 8}, "the key file"))
    throw std::runtime_error("CAD link key file " + path + ": " + e->message);
  if (!doc.is_object() || !doc.contains("public") || !doc.contains("secret") ||
      !doc["public"].is_string() || !doc["secret"].is_string())
    throw std::runtime_error("CAD link key file " + path +
                             " must be {\"public\": Z85, \"secret\": Z85} "
                             "(write one with `bluelink keys generate`)");
  key_pair k{doc["public"].get<std::string>(), doc["secret"].get<std::string>()};
  if (!valid_z85_key(k.public_key) || !valid_z85_key(k.secret_key))
    throw std::runtime_error("CAD link key file " + path + " does not hold 40-character Z85 keys");
  return k;
}

/// Work handed to the link thread by other threads. Shared (not owned by the server alone) so
/// that a notifier waiter that fires during shutdown never touches freed memory.
struct mailbox {
  struct event {
    enum class kind { receipt, acked, wake, lease } what;
    std::string identity;
    std::string session;
    std::string agency;
    std::string message_id;
    std::variant<receipt_result, ack_result, error> result{error{}};
  };

  mailbox() : fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd < 0) throw std::runtime_error("eventfd failed");
  }
  ~mailbox() { ::close(fd); }
  void post(event e) {
    {
      std::lock_guard lock(mu);
      events.push_back(std::move(e));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
  }
  std::deque<event> take() {
    std::uint64_t v;
    [[maybe_unused]] auto n = ::read(fd, &v, sizeof v);
    std::lock_guard lock(mu);
    return std::exchange(events, {});
  }

  int fd;
  std::mutex mu;
  std::deque<event> events;
};

struct session {
  std::string identity;    // ROUTER routing id of the connection
  std::string connection;  // the connection_property of the connection that said hello
  std::string agency;
  std::string id;
  std::string client;
  int window = 256;
  steady::time_point last_heard;
  steady::time_point last_sent;
  time_point connected_since{};
  std::int64_t sent_upto = 0;      // highest sequence sent on this session
  std::int64_t client_acked = 0;   // highest sequence the CAD has acknowledged
  std::int64_t durable_acked = 0;  // highest acknowledgement the engine has committed
  // Ids of this session's submissions in the engine, waiting for their receipts. A resend of one
  // of them is dropped unread: the receipt on its way answers both, and a CAD that resends
  // faster than the store commits must not multiply the work it is waiting for.
  std::unordered_set<std::string> submits_in_engine;
  // The inbox had nothing past sent_upto and a notifier waiter is registered: pump() need not
  // read again until that waiter fires (or the next tick, as a safety net).
  bool caught_up = false;
  std::deque<std::string> outbox;  // frames the socket would not take yet (high-water mark)
};

struct cad_link_server::impl {
  impl(server_services s, key_pair k)
      : svc(std::move(s)), keys(std::move(k)), box(std::make_shared<mailbox>()) {
    for (const auto& c : svc.cfg.cad_link.clients) agency_by_key[c.public_key] = c.agency;
    if (svc.nodes) {
      // A lease taken or lost: the link thread looks at the agency's session.
      std::weak_ptr<mailbox> weak = box;
      svc.nodes->set_lease_listener([weak](const std::string& agency) {
        if (auto b = weak.lock()) b->post({mailbox::event::kind::lease, {}, {}, agency, {}, {}});
      });
    }
  }

  /// Whether this node may deliver to `s` now (it holds the agency's CAD lease).
  bool may_deliver(const session& s) const {
    return !svc.nodes || svc.nodes->lease(s.agency, s.id) == lease_state::held;
  }
  /// Whether another node has taken `s`'s agency: the session ends.
  bool lease_lost(const session& s) const {
    return svc.nodes && svc.nodes->lease(s.agency, s.id) == lease_state::lost;
  }
  static constexpr const char* moved_reason =
      "another gateway node took this agency's CAD link (a newer session of the agency's there)";
  void end_moved(session& s) {
    // Copied first: flush() may find the peer gone and end the session itself, and `s` dies with
    // it (a use after free that ASan found in the failover drill).
    const std::string identity = s.identity;
    s.outbox.push_back(json{{"v", 1}, {"op", "goodbye"}, {"reason", moved_reason}}.dump());
    flush(s);
    auto it = sessions.find(identity);
    if (it != sessions.end()) link_down(it->second, moved_reason, true);
  }

  server_services svc;
  key_pair keys;
  std::shared_ptr<mailbox> box;
  std::map<std::string, std::string> agency_by_key;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> router;
  std::unique_ptr<zmq::socket_t> zap;
  std::string bound;
  std::thread thread;
  std::atomic<bool> stopping{false};
  // The app may set the handler after start(): guarded, and a failure that came first is
  // reported as soon as it is set.
  std::mutex failure_mu;
  std::function<void(const std::string&)> on_failure;  // guarded by failure_mu
  std::optional<std::string> failed_why;               // guarded by failure_mu
  liveness::beat* beat = nullptr;                      // set before start()
  std::atomic<bool> draining{false};

  // Owned by the link thread only.
  std::map<std::string, session> sessions;         // by routing identity
  std::map<std::string, std::string> identity_of;  // agency -> routing identity
  std::set<std::string> waiting;                   // agencies with a notifier waiter registered
  std::uint64_t connections_authenticated = 0;     // numbers connection_property values
  std::string connection_prefix = random_hex(8);   // ...unique across gateway restarts too
  audit_limiter unknown_key_audits{refusal_audits_per_minute};
  audit_limiter link_refusal_audits{refusal_audits_per_minute};
  // Refused frames from registered CADs that are only logged (multipart, hello as another agency).
  audit_limiter frame_refusal_logs{refusal_audits_per_minute};

  /// Where a frame came from: its routing id, and what ZAP attached to its connection.
  struct origin {
    std::string identity;
    std::string agency;      // User-Id: the agency of the connection's CURVE key
    std::string connection;  // connection_property
  };

  frame_limits limits() const { return frame_limits{max_frame_bytes, svc.cfg.edge.max_json_depth}; }

  std::chrono::milliseconds heartbeat() const {
    return std::chrono::milliseconds(svc.cfg.cad_link.heartbeat_ms);
  }

  // ---- setup -------------------------------------------------------------------------------

  void bind() {
    // libzmq 4.3 starts a ROUTER's generated routing ids at rand(), which nothing seeds: every
    // gateway would hand out the same, guessable ids (0x006b8b4567 first), and a client may set
    // such an id itself. Seeded from the OS before the socket exists, the ids cannot be guessed,
    // so a connection cannot sit on an id a departed CAD's session still names.
    std::srand(std::random_device{}());
    // The ZAP handler must be bound before any CURVE socket accepts a handshake.
    zap = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::rep);
    zap->set(zmq::sockopt::linger, 0);
    zap->bind(zap_endpoint);
    router = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
    router->set(zmq::sockopt::linger, 500);
    router->set(zmq::sockopt::router_mandatory, 1);  // a vanished peer is an error, not silence
    // Never let a new connection take over a live connection's routing id: with handover on,
    // a CAD connecting with another CAD's id would receive that agency's deliveries.
    router->set(zmq::sockopt::router_handover, 0);
    router->set(zmq::sockopt::sndhwm, 20000);
    router->set(zmq::sockopt::rcvhwm, 20000);
    router->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(max_frame_bytes + 4096));
    router->set(zmq::sockopt::curve_server, 1);
    router->set(zmq::sockopt::curve_secretkey, keys.secret_key);
    router->set(zmq::sockopt::zap_domain, "bluelink");
    router->bind(svc.cfg.cad_link.listen);
    bound = router->get(zmq::sockopt::last_endpoint);
    for (const auto& c : svc.cfg.cad_link.clients) {
      link_state s;
      s.agency = c.agency;
      s.down_reason = "never connected";
      s.last_seq = svc.reader.last_seq(c.agency);
      s.acked_upto = svc.reader.acked_upto(c.agency);
      svc.links.update(s);
    }
  }

  // ---- the loop ----------------------------------------------------------------------------

  void run() {
    auto next_tick = steady::now();
    while (!stopping) {
      if (beat) (*beat)();
      zmq::pollitem_t items[] = {{router->handle(), 0, ZMQ_POLLIN, 0},
                                 {zap->handle(), 0, ZMQ_POLLIN, 0},
                                 {nullptr, box->fd, ZMQ_POLLIN, 0}};
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - steady::now());
      zmq::poll(items, 3, std::max(std::chrono::milliseconds(0), std::min(wait, heartbeat())));
      if (items[1].revents & ZMQ_POLLIN) handle_zap();
      if (items[2].revents & ZMQ_POLLIN)
        for (auto& e : box->take()) handle_event(std::move(e));
      if (items[0].revents & ZMQ_POLLIN) {
        // Bounded per pass so that timers and the mailbox are never starved.
        for (int i = 0; i < 512 && receive_one(); ++i) {
        }
      }
      if (steady::now() >= next_tick) {
        tick();
        next_tick = steady::now() + std::min(heartbeat() / 4, std::chrono::milliseconds(250));
      }
      flush_all();
    }
    // Say goodbye so that CADs reconnect at once to whatever comes next, rather than waiting for
    // liveness to run out.
    for (auto& e : box->take()) handle_event(std::move(e));
    // link_down() erases the session, so walk a copy of the identities.
    std::vector<std::string> ids;
    for (auto& [identity, s] : sessions) ids.push_back(identity);
    for (auto& id : ids) {
      auto& s = sessions.at(id);
      s.outbox.push_back(json{{"v", 1}, {"op", "goodbye"}, {"reason", "gateway stopping"}}.dump());
      flush(s);  // may end the session itself if the peer is gone
      if (auto it = sessions.find(id); it != sessions.end())
        link_down(it->second, "gateway stopping", false);
    }
    flush_all();
    router->close();
    zap->close();
  }

  // ---- ZAP: map the CURVE public key to exactly one agency ----------------------------------

  void handle_zap() {
    std::vector<zmq::message_t> req;
    if (!zmq::recv_multipart(*zap, std::back_inserter(req), zmq::recv_flags::dontwait)) return;
    if (req.size() < 6) return;
    std::string request_id = req[1].to_string();
    std::string address = req[3].to_string();
    std::string mechanism = req[5].to_string();
    std::string key_z85;
    if (mechanism == "CURVE" && req.size() >= 7 && req[6].size() == 32) {
      char buf[41];
      zmq_z85_encode(buf, static_cast<const std::uint8_t*>(req[6].data()), 32);
      key_z85 = buf;
    }
    auto it = agency_by_key.find(key_z85);
    bool ok = it != agency_by_key.end();
    const std::string user_id = ok ? it->second : std::string();  // outlives the send below
    // Number each authenticated connection: every frame it carries has this property, so that a
    // session can tell its own connection's frames from another's on the same routing id.
    const std::string metadata =
        ok ? zap_metadata(connection_property,
                          connection_prefix + "-" + std::to_string(++connections_authenticated))
           : std::string();
    std::array<zmq::const_buffer, 6> reply = {
        zmq::str_buffer("1.0"),
        zmq::buffer(request_id),
        ok ? zmq::str_buffer("200") : zmq::str_buffer("400"),
        ok ? zmq::str_buffer("OK") : zmq::str_buffer("unknown CAD key"),
        zmq::buffer(user_id),
        zmq::buffer(metadata)};
    zmq::send_multipart(*zap, reply);
    if (!ok) refuse_key(mechanism, key_z85, address);
  }

  void refuse_key(const std::string& mechanism, const std::string& key_z85,
                  const std::string& address) {
    // Counted every time; audited at most once a minute per key and refusal_audits_per_minute
    // times in all: a misconfigured CAD retries every few hundred milliseconds, and anyone who
    // can reach the port can offer a new key each time. Neither may flood the audit log.
    svc.stats.error("bl.auth.invalid_token");
    auto now = steady::now();
    if (unknown_key_audits.admit(key_z85, now)) {
      svc.log->warn("event=link_refused edge=cad reason=unknown_key address={} public_key={}",
                    log_quote(address), log_quote(key_z85));
      svc.eng.note("bluelink", "link.refused",
                   {{"edge", "cad"},
                    {"mechanism", mechanism},
                    {"public_key", key_z85},
                    {"address", address}});
    }
    summarise_suppressed(now);
  }

  /// One audit row (and log line) for the refusals each limiter suppressed in a minute that
  /// has ended; called on every refusal and every tick.
  void summarise_suppressed(steady::time_point now) {
    for (auto [limiter, kind] : {std::pair{&unknown_key_audits, "unknown_key"},
                                 std::pair{&link_refusal_audits, "registered_cad"},
                                 std::pair{&frame_refusal_logs, "frame"}}) {
      auto n = limiter->take_suppressed(now);
      if (n == 0) continue;
      svc.log->warn("event=link_refusals_suppressed edge=cad kind={} count={}", kind, n);
      // Those refusals are only logged, never audited: their summary is a log line too.
      if (limiter != &frame_refusal_logs)
        svc.eng.note("bluelink", "link.refusals_suppressed",
                     {{"edge", "cad"}, {"kind", kind}, {"count", n}, {"window_s", 60}});
    }
  }

  // ---- inbound frames ----------------------------------------------------------------------

  bool receive_one() {
    zmq::message_t identity_msg;
    if (!router->recv(identity_msg, zmq::recv_flags::dontwait)) return false;
    // The parts of one ZeroMQ message are delivered together, so every part is already here:
    // read `more` on each part as it comes and never block (a blocking read of a part that is
    // not there would stall the link for every agency, and stop() with it).
    zmq::message_t payload;
    std::size_t payload_parts = 0;
    bool more = identity_msg.more();
    while (more) {
      zmq::message_t part;
      if (!router->recv(part, zmq::recv_flags::dontwait)) break;
      more = part.more();
      if (++payload_parts == 1) payload = std::move(part);  // later parts are only counted
    }
    if (payload_parts == 0) return true;  // the ROUTER always adds the routing id: not reached
    // ZAP put the agency of the CURVE key and the connection's number on every frame it carries.
    origin o{identity_msg.to_string(), frame_property(payload, "User-Id"),
             frame_property(payload, connection_property)};
    handle_message(o, payload_parts, payload.to_string_view());
    return true;
  }

  void handle_message(const origin& o, std::size_t payload_parts, std::string_view raw) {
    // Who is speaking is settled before what is said: a routing id the client chose, or a frame
    // on a session's routing id from another key or another connection, is refused whatever the
    // frame holds.
    if (!generated_routing_id(o.identity)) return refuse_routing_id(o);
    if (auto it = sessions.find(o.identity); it != sessions.end()) {
      session& s = it->second;
      if (o.agency != s.agency) return refuse_agency_mismatch(s, o);
      if (o.connection != s.connection) return refuse_other_connection(s, o);
      s.last_heard = steady::now();
    }
    if (payload_parts > 1) return refuse_multipart(o, payload_parts);
    handle_frame(o, raw);
  }

  void refuse_routing_id(const origin& o) {
    reply_error(o.identity,
                make_error(errc::link_routing_id,
                           "this connection set its own ZeroMQ routing id (ZMQ_ROUTING_ID); CAD "
                           "link clients must leave it unset so that the gateway assigns one"));
    auto now = steady::now();
    if (link_refusal_audits.admit("routing_id " + o.agency, now)) {
      svc.log->warn("event=link_refused edge=cad reason=routing_id agency={} routing_id={}",
                    log_quote(o.agency), log_quote(hex_id(o.identity)));
      svc.eng.note("bluelink", "link.routing_id_refused",
                   {{"edge", "cad"}, {"agency", o.agency}, {"routing_id", hex_id(o.identity)}});
    }
    summarise_suppressed(now);
  }

  void refuse_agency_mismatch(session& s, const origin& o) {
    std::string session_id = s.id, agency = s.agency;
    // The routing id now reaches a connection under another key: nothing more may be sent to it
    // as this agency, so the session ends before the refusal goes out (directly, not queued).
    link_down(s, "a frame under another agency's CURVE key arrived on this session", true);
    reply_error(o.identity, make_error(errc::link_agency_mismatch,
                                       "this frame's CURVE key belongs to another agency than the "
                                       "session on this connection; the session is ended"));
    auto now = steady::now();
    if (link_refusal_audits.admit("agency_mismatch " + agency + " " + o.agency, now)) {
      svc.log->warn(
          "event=link_refused edge=cad reason=agency_mismatch agency={} session={} "
          "key_agency={} routing_id={}",
          agency, session_id, log_quote(o.agency), log_quote(hex_id(o.identity)));
      svc.eng.note("bluelink", "link.agency_mismatch",
                   {{"edge", "cad"},
                    {"agency", agency},
                    {"session", session_id},
                    {"key_agency", o.agency},
                    {"routing_id", hex_id(o.identity)}});
    }
    summarise_suppressed(now);
  }

  void refuse_other_connection(session& s, const origin& o) {
    std::string session_id = s.id, agency = s.agency;
    // Same key, another connection: the session's own connection is gone or was displaced, and
    // this one chose the routing id to land on it. End the session; the CAD says hello again.
    link_down(s, "another connection arrived on this session's routing id", true);
    reply_error(o.identity,
                make_error(errc::link_routing_id,
                           "this routing id belongs to a session of another connection; the "
                           "session is ended: reconnect without setting ZMQ_ROUTING_ID"));
    auto now = steady::now();
    if (link_refusal_audits.admit("routing_id_reused " + agency, now)) {
      svc.log->warn(
          "event=link_refused edge=cad reason=routing_id_reused agency={} session={} "
          "routing_id={}",
          agency, session_id, log_quote(hex_id(o.identity)));
      svc.eng.note("bluelink", "link.routing_id_refused",
                   {{"edge", "cad"},
                    {"agency", agency},
                    {"session", session_id},
                    {"reason", "another connection on the session's routing id"},
                    {"routing_id", hex_id(o.identity)}});
    }
    summarise_suppressed(now);
  }

  void refuse_multipart(const origin& o, std::size_t payload_parts) {
    reply_error(o.identity, make_error(errc::link_bad_frame,
                                       "a CAD link message has exactly one frame; this one had " +
                                           std::to_string(payload_parts)));
    auto now = steady::now();
    if (frame_refusal_logs.admit(o.agency, now))
      svc.log->warn("event=frame_refused edge=cad reason=multipart agency={} parts={}",
                    log_quote(o.agency), payload_parts);
    summarise_suppressed(now);
  }

  void send_to(const std::string& identity, std::string frame) {
    auto it = sessions.find(identity);
    if (it != sessions.end()) {
      it->second.outbox.push_back(std::move(frame));
      return;
    }
    // No session (yet): answer directly; a vanished peer is simply not answered.
    try {
      router->send(zmq::buffer(identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      router->send(zmq::buffer(frame), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }

  void reply_error(const std::string& identity, const error& e, const std::string& msg_id = {}) {
    svc.stats.error(e.id());
    send_to(identity, error_frame(e, msg_id));
  }

  void handle_frame(const origin& o, std::string_view raw) {
    try {
      dispatch_frame(o, raw);
    } catch (const store::store_error& e) {
      // The store cannot be read for a moment (a database failover, a primary restarting): the
      // CAD is told so and says hello again after its hello timeout, or sends again, as after any
      // refusal; the link thread and every other session go on. Logged once per key per minute
      // (the rest are counted in the minute's summary line), counted in the error metrics.
      auto err = store::to_error(e);
      auto now = steady::now();
      if (frame_refusal_logs.admit("store " + std::string(err.id()), now))
        svc.log->warn("event=cad_frame_store_unavailable edge=cad code={} error={}", err.id(),
                      log_quote(e.what()));
      summarise_suppressed(now);
      reply_error(o.identity, err);
    }
  }

  void dispatch_frame(const origin& o, std::string_view raw) {
    auto parsed = parse_cad_frame(raw, svc.schemas, limits());
    if (auto* r = std::get_if<frame_refusal>(&parsed))
      return reply_error(o.identity, r->err, r->message_id);
    auto& f = std::get<cad_frame>(parsed);
    if (auto* h = std::get_if<hello_frame>(&f)) return on_hello(o, *h);
    auto it = sessions.find(o.identity);
    if (it == sessions.end()) {
      if (std::holds_alternative<goodbye_frame>(f) || std::holds_alternative<heartbeat_frame>(f))
        return;
      return reply_error(o.identity, make_error(errc::link_no_session, "send hello before " +
                                                                           std::string(op_name(f)) +
                                                                           " on this connection"));
    }
    session& s = it->second;
    if (auto* sub = std::get_if<submit_frame>(&f)) return on_submit(s, std::move(*sub));
    if (auto* a = std::get_if<ack_frame>(&f)) return on_ack(s, a->upto);
    if (std::holds_alternative<goodbye_frame>(f)) return link_down(s, "goodbye from the CAD", true);
    // heartbeat: last_heard is already updated
  }

  void on_hello(const origin& o, const hello_frame& h) {
    const std::string& identity = o.identity;
    const std::string& agency = o.agency;
    if (h.agency != agency) {
      auto now = steady::now();
      if (frame_refusal_logs.admit("claimed " + agency, now))
        svc.log->warn("event=hello_refused edge=cad agency={} claimed={}", log_quote(agency),
                      log_quote(h.agency));
      summarise_suppressed(now);
      return reply_error(identity,
                         make_error(errc::sender_not_authorised,
                                    "this CAD's key belongs to '" + agency +
                                        "'; it cannot open a session as '" + h.agency + "'",
                                    "/agency"));
    }
    std::int64_t resume_from = h.resume_from;
    std::int64_t last = svc.reader.last_seq(agency);
    if (resume_from > last)
      return reply_error(identity, make_error(errc::bad_request,
                                              "resume_from " + std::to_string(resume_from) +
                                                  " is beyond the last delivery to " + agency +
                                                  " (" + std::to_string(last) + ")",
                                              "/resume_from"));
    // One live session per agency: a newer one (a restarted or standby CAD) replaces the older.
    if (auto old = identity_of.find(agency); old != identity_of.end() && old->second != identity) {
      auto os = sessions.find(old->second);
      if (os != sessions.end()) {
        std::string old_identity = old->second;
        os->second.outbox.push_back(
            json{{"v", 1}, {"op", "goodbye"}, {"reason", "replaced by a newer session"}}.dump());
        flush(os->second);  // may find the peer gone and end the session itself
        os = sessions.find(old_identity);
        if (os != sessions.end()) link_down(os->second, "replaced by a newer session", true);
      }
    }
    if (auto same = sessions.find(identity); same != sessions.end())
      link_down(same->second, "said hello again", true);

    session s;
    s.identity = identity;
    s.connection = o.connection;
    s.agency = agency;
    s.id = "s-" + random_hex(12);
    s.client = h.client;
    s.window = h.window.value_or(svc.cfg.cad_link.window);
    s.last_heard = s.last_sent = steady::now();
    s.connected_since = now_ms();
    s.sent_upto = s.client_acked = resume_from;
    std::int64_t acked = svc.reader.acked_upto(agency);
    s.durable_acked = acked;
    s.outbox.push_back(json{
        {"v", 1},
        {"op", "welcome"},
        {"agency", agency},
        {"session", s.id},
        {"heartbeat_ms", svc.cfg.cad_link.heartbeat_ms},
        {"liveness", svc.cfg.cad_link.liveness},
        {"last_seq", last},
        {"acked_upto", acked},
        {"window",
         s.window}}.dump());
    auto& stored = sessions[identity] = std::move(s);
    identity_of[agency] = identity;
    // Several nodes: deliveries start once this node holds the agency's CAD lease (at once when
    // alone; within milliseconds otherwise, woken by the lease event).
    if (svc.nodes) svc.nodes->want_lease(agency, stored.id);
    // Resuming from a sequence says everything up to it has been processed: record that.
    if (resume_from > acked) submit_ack(stored, resume_from);
    svc.log->info("event=link_up edge=cad agency={} session={} client={} resume_from={}", agency,
                  stored.id, log_quote(stored.client), resume_from);
    svc.eng.note(agency, "link.up",
                 {{"edge", "cad"},
                  {"session", stored.id},
                  {"client", stored.client},
                  {"resume_from", resume_from}});
    publish(stored);
    pump(stored);
  }

  void on_submit(session& s, submit_frame sub) {
    json msg = std::move(sub.message);
    const std::string& msg_id = sub.message_id;
    if (draining)
      return reply_error(s.identity,
                         make_error(errc::shutting_down, "the gateway is shutting down"), msg_id);
    // Already in the engine on this session: its receipt answers this resend too.
    if (!msg_id.empty() && s.submits_in_engine.count(msg_id)) return;
    // The submit pipeline, as every edge: sender binding, the envelope, a gateway-only type
    // refused before its body, the body, then what a schema cannot check.
    auto parsed =
        svc.pipeline.check(std::move(msg), submitter{s.agency, "cad", "cad", {}, "/message"});
    if (auto* e = std::get_if<error>(&parsed)) return reply_error(s.identity, *e, msg_id);
    auto& m = std::get<message>(parsed);
    if (s.submits_in_engine.size() >= max_pending_submits)
      return reply_error(
          s.identity,
          make_error(errc::link_overloaded, std::to_string(s.submits_in_engine.size()) +
                                                " submissions are already waiting for receipts"),
          msg_id);
    s.submits_in_engine.insert(msg_id);
    std::weak_ptr<mailbox> weak = box;
    svc.pipeline.submit(
        std::move(m), submitter{s.agency, "cad", "cad", {}, "/message"},
        [weak, identity = s.identity, sid = s.id, msg_id](std::variant<receipt_result, error> r) {
          auto b = weak.lock();
          if (!b) return;
          mailbox::event e{mailbox::event::kind::receipt, identity, sid, {}, msg_id, {}};
          if (auto* err = std::get_if<error>(&r))
            e.result = *err;
          else
            e.result = std::get<receipt_result>(std::move(r));
          b->post(std::move(e));
        });
  }

  void on_ack(session& s, std::int64_t upto) {
    if (upto > s.sent_upto)
      return reply_error(s.identity, make_error(errc::bad_request,
                                                "cannot acknowledge " + std::to_string(upto) +
                                                    ": the last delivery sent on this session is " +
                                                    std::to_string(s.sent_upto),
                                                "/upto"));
    if (upto <= s.client_acked) {
      s.outbox.push_back(json{{"v", 1}, {"op", "acked"}, {"upto", s.durable_acked}}.dump());
      return;
    }
    s.client_acked = upto;
    submit_ack(s, upto);
    pump(s);  // the window has opened
  }

  void submit_ack(session& s, std::int64_t upto) {
    std::weak_ptr<mailbox> weak = box;
    svc.deliveries.ack(s.agency, upto,
                       [weak, identity = s.identity, sid = s.id,
                        agency = s.agency](std::variant<ack_result, error> r) {
                         auto b = weak.lock();
                         if (!b) return;
                         mailbox::event e{
                             mailbox::event::kind::acked, identity, sid, agency, {}, {}};
                         if (auto* err = std::get_if<error>(&r))
                           e.result = *err;
                         else
                           e.result = std::get<ack_result>(r);
                         b->post(std::move(e));
                       });
  }

  // ---- events from other threads -------------------------------------------------------------

  void handle_event(mailbox::event e) {
    if (e.what == mailbox::event::kind::lease) {
      auto it = identity_of.find(e.agency);
      if (it == identity_of.end()) return;
      auto sit = sessions.find(it->second);
      if (sit == sessions.end()) return;
      if (lease_lost(sit->second)) return end_moved(sit->second);
      sit->second.caught_up = false;
      pump(sit->second);
      return;
    }
    if (e.what == mailbox::event::kind::wake) {
      waiting.erase(e.agency);
      auto it = identity_of.find(e.agency);
      if (it != identity_of.end()) {
        auto s = sessions.find(it->second);
        if (s != sessions.end()) {
          s->second.caught_up = false;
          pump(s->second);
        }
      }
      return;
    }
    auto it = sessions.find(e.identity);
    // The session that asked is gone: the CAD will resend with the same id and get this receipt.
    if (it == sessions.end() || it->second.id != e.session) return;
    session& s = it->second;
    if (e.what == mailbox::event::kind::receipt) {
      s.submits_in_engine.erase(e.message_id);
      if (auto* err = std::get_if<error>(&e.result)) {
        svc.stats.error(err->id());
        s.outbox.push_back(error_frame(*err, e.message_id));
      } else {
        auto& r = std::get<receipt_result>(e.result);
        s.outbox.push_back(json{
            {"v", 1},
            {"op", "receipt"},
            {"message_id", e.message_id},
            {"duplicate", r.duplicate},
            {"receipt",
             r.receipt}}.dump());
      }
    } else if (auto* err = std::get_if<error>(&e.result)) {
      svc.stats.error(err->id());
      s.outbox.push_back(error_frame(*err));
    } else {
      auto& a = std::get<ack_result>(e.result);
      s.durable_acked = std::max(s.durable_acked, a.upto);
      s.outbox.push_back(json{{"v", 1}, {"op", "acked"}, {"upto", s.durable_acked}}.dump());
      // The link status picks up the new acknowledgement on the next tick.
    }
  }

  // ---- deliveries ----------------------------------------------------------------------------

  void pump(session& s) {
    // Only the node holding the agency's CAD lease delivers; the lease event pumps again.
    if (!may_deliver(s)) return;
    if (s.caught_up && waiting.count(s.agency)) return;
    s.caught_up = false;
    while (s.outbox.size() < outbox_high_water && s.sent_upto < s.client_acked + s.window) {
      int room = static_cast<int>(
          std::min<std::int64_t>(svc.cfg.inbox_batch, s.client_acked + s.window - s.sent_upto));
      std::vector<store::inbox_item> items;
      try {
        items = svc.deliveries.read(s.agency, s.sent_upto, room).items;
      } catch (const std::exception& ex) {
        svc.log->error("event=link_read_failed agency={} error={}", s.agency, log_quote(ex.what()));
        return;  // the next tick tries again
      }
      if (items.empty()) {
        // Caught up: the delivery stream wakes this link when a delivery follows the cursor (it
        // looks again after registering, so a commit in between is not missed).
        s.caught_up = true;
        if (!waiting.count(s.agency)) {
          waiting.insert(s.agency);
          std::weak_ptr<mailbox> weak = box;
          svc.deliveries.when_available(s.agency, s.sent_upto, [weak, agency = s.agency] {
            if (auto b = weak.lock()) b->post({mailbox::event::kind::wake, {}, {}, agency, {}, {}});
          });
        }
        return;
      }
      for (auto& item : items) {
        s.outbox.push_back("{\"v\":1,\"op\":\"deliver\",\"seq\":" + std::to_string(item.seq) +
                           ",\"message\":" + item.doc + "}");
        s.sent_upto = item.seq;
        svc.stats.message_out("cad." + item.type);
      }
    }
  }

  void flush(session& s) {
    while (!s.outbox.empty()) {
      try {
        if (!router->send(zmq::buffer(s.identity),
                          zmq::send_flags::sndmore | zmq::send_flags::dontwait))
          return;  // high-water mark: try again on the next pass
        router->send(zmq::buffer(s.outbox.front()), zmq::send_flags::dontwait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EHOSTUNREACH) return link_down(s, "connection closed", true);
        throw;
      }
      s.outbox.pop_front();
      s.last_sent = steady::now();
    }
  }

  void flush_all() {
    // link_down() erases from the map, so collect identities first.
    std::vector<std::string> ids;
    for (auto& [id, s] : sessions)
      if (!s.outbox.empty()) ids.push_back(id);
    for (auto& id : ids) {
      auto it = sessions.find(id);
      if (it != sessions.end()) flush(it->second);
    }
  }

  // ---- liveness ------------------------------------------------------------------------------

  /// The link thread is ending on an error: loud everywhere, then the gateway decides.
  void fail(const std::string& why) noexcept {
    try {
      svc.log->critical("event=link_thread_failed edge=cad error={}", log_quote(why));
      svc.stats.error(info(errc::degraded).id);
      svc.eng.note("bluelink", "link.failed", {{"edge", "cad"}, {"error", why}});
      // Every session ends with the thread: the link status says so at once.
      std::vector<std::string> ids;
      for (auto& [identity, s] : sessions) ids.push_back(identity);
      for (auto& id : ids)
        if (auto it = sessions.find(id); it != sessions.end())
          link_down(it->second, "the gateway's CAD link failed: " + why, false);
      // Close on this thread, which owns them: the CADs see the link drop and start
      // reconnecting (to the restarted gateway), and the ROUTER goes before the ZAP handler so
      // that no handshake is ever made without one.
      router->close();
      zap->close();
    } catch (...) {
      // Reporting is best effort; the failure handler below still runs.
    }
    std::function<void(const std::string&)> handler;
    {
      std::lock_guard lock(failure_mu);
      failed_why = why;
      handler = on_failure;
    }
    if (handler) handler(why);
  }

  void tick() {
    // A stuck link thread, as a blocking call that never returns would leave it.
    while (failpoint("cad_link.stall") && !stopping)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (failpoint("cad_link.zmq_error"))
      throw std::runtime_error("injected ZeroMQ failure (failpoint cad_link.zmq_error)");
    auto now = steady::now();
    summarise_suppressed(now);
    auto dead_after = heartbeat() * svc.cfg.cad_link.liveness;
    std::vector<std::string> dead, moved;
    for (auto& [id, s] : sessions) {
      if (lease_lost(s)) {
        moved.push_back(id);
        continue;
      }
      if (now - s.last_heard > dead_after) {
        dead.push_back(id);
        continue;
      }
      if (now - s.last_sent >= heartbeat() && s.outbox.empty())
        s.outbox.push_back(R"({"v":1,"op":"heartbeat"})");
      s.caught_up = false;
      pump(s);  // also a safety net should a wake-up ever be missed
      publish(s);
    }
    for (auto& id : moved)
      if (auto it = sessions.find(id); it != sessions.end()) end_moved(it->second);
    for (auto& id : dead) {
      auto it = sessions.find(id);
      if (it != sessions.end())
        link_down(it->second,
                  "no frame for " + std::to_string(svc.cfg.cad_link.liveness) + " heartbeats",
                  true);
    }
  }

  void publish(const session& s) {
    link_state st;
    st.agency = s.agency;
    st.up = true;
    st.session = s.id;
    st.client = s.client;
    st.connected_since = s.connected_since;
    st.last_heard = now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                                                     s.last_heard);
    st.sent_upto = s.sent_upto;
    st.acked_upto = s.durable_acked;
    try {
      st.last_seq = svc.reader.last_seq(s.agency);
    } catch (const std::exception&) {
      st.last_seq = s.sent_upto;
    }
    svc.links.update(st);
  }

  void link_down(session& s, const std::string& reason, bool audit) {
    link_state st;
    st.agency = s.agency;
    st.up = false;
    st.session = s.id;
    st.client = s.client;
    st.last_heard = now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                                                     s.last_heard);
    st.last_down = now_ms();
    st.down_reason = reason;
    st.sent_upto = s.sent_upto;
    st.acked_upto = s.durable_acked;
    st.last_seq = s.sent_upto;
    svc.links.update(st);
    svc.log->warn("event=link_down edge=cad agency={} session={} reason={}", s.agency, s.id,
                  log_quote(reason));
    if (audit)
      svc.eng.note(s.agency, "link.down", {{"edge", "cad"}, {"session", s.id}, {"reason", reason}});
    if (auto it = identity_of.find(s.agency); it != identity_of.end() && it->second == s.identity)
      identity_of.erase(it);
    if (svc.nodes) svc.nodes->drop_lease(s.agency, s.id);
    std::string identity = s.identity;  // `s` dies with the erase below
    sessions.erase(identity);
  }
};

cad_link_server::cad_link_server(server_services s, key_pair server_keys)
    : impl_(std::make_unique<impl>(std::move(s), std::move(server_keys))) {}

cad_link_server::~cad_link_server() {
  stop();
}

void cad_link_server::set_beat(liveness::beat* b) {
  impl_->beat = b;
}

void cad_link_server::set_failure_handler(std::function<void(const std::string&)> fn) {
  std::optional<std::string> already;
  {
    std::lock_guard lock(impl_->failure_mu);
    impl_->on_failure = fn;
    already = impl_->failed_why;
  }
  if (already && fn) fn(*already);  // the link failed before anyone was listening
}

void cad_link_server::start() {
  impl_->bind();
  impl_->thread = std::thread([this] {
    std::string why;
    try {
      impl_->run();
      return;
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
      why = "an unknown exception";
    }
    impl_->fail(why);
  });
  impl_->svc.log->info("event=listening edge=cad endpoint={} clients={}", log_quote(impl_->bound),
                       impl_->svc.cfg.cad_link.clients.size());
}

void cad_link_server::begin_shutdown() {
  impl_->draining = true;
}

void cad_link_server::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->box->post({mailbox::event::kind::wake, {}, {}, {}, {}, {}});
  impl_->thread.join();
}

std::string cad_link_server::endpoint() const {
  return impl_->bound;
}

}  // namespace bl::cad
