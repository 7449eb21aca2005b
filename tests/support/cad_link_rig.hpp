#pragma once
// A gateway without HTTP for CAD link component tests: engine, store and the CAD link server on a
// loopback port with real CURVE keys for Fire and Police; a raw DEALER for frames our own client
// would never send; and a log sink the tests can read.
//
// Ownership: link_rig owns the directory, engine, reader and server (stopped by its destructor);
// raw_cad owns its ZeroMQ context and socket. Threading: drive both from the test's thread; the
// log sink and `inbox` may be written from the link and client threads.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "adapters/zmq_cad/cad_link_server.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_helpers.hpp"

namespace bl::test {

/// Keeps every formatted log line, for tests that check what the link logs.
class captured_log final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string text() {
    std::lock_guard lock(this->mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t out;
    this->formatter_->format(msg, out);
    text_.append(out.data(), out.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

struct link_rig {
  explicit link_rig(int heartbeat_ms = 1000) {
    cfg.cad_link.enabled = true;
    cfg.cad_link.listen = "tcp://127.0.0.1:*";
    cfg.cad_link.heartbeat_ms = heartbeat_ms;
    cfg.cad_link.window = 16;  // small, so that flow control is exercised
    for (const char* a : {"essex-fire", "essex-police"}) {
      keys[a] = new_curve_keys();
      cfg.cad_link.clients.push_back({a, keys[a].public_key, "test"});
    }
    log->set_pattern("%v");
    eng = std::make_unique<engine>(cfg, store::store_options{dir.file("bl.db"), true, 0, {}}, stats,
                                   notifier, clock, quiet());
    eng->start();
    rd = store::open_reader(store::store_options{dir.file("bl.db"), true, 0, {}});
    rd->bound_by(eng->durable_marks());
    pipeline = std::make_unique<submit_pipeline>(cfg, schemas, *eng, log);
    deliveries = std::make_unique<delivery_stream>(*rd, notifier, *eng);
    server = std::make_unique<cad::cad_link_server>(
        cad::server_services{cfg, schemas, *eng, *pipeline, *deliveries, *rd, stats, links, log},
        server_keys);
    server->start();
  }
  ~link_rig() {
    server->stop();
    eng->stop();
  }

  static std::shared_ptr<spdlog::logger> quiet() {
    return std::make_shared<spdlog::logger>("test",
                                            std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  cad::client_options options(const std::string& agency) {
    cad::client_options o;
    o.endpoint = server->endpoint();
    o.server_public_key = server_keys.public_key;
    o.client_keys = keys[agency];
    o.agency = agency;
    o.submit_timeout = std::chrono::milliseconds(2000);
    o.backoff_initial = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(200);
    return o;
  }

  std::int64_t count(const std::string& sql) {
    store::db d(dir.file("bl.db"), false, true);
    store::stmt s(d, sql);
    return s.step() ? s.int64(0) : -1;
  }

  /// The value of bluelink_errors_total for `code` (0 when it was never counted).
  std::uint64_t errors_counted(const std::string& code) {
    auto text = stats.render({});
    auto key = "bluelink_errors_total{code=\"" + code + "\"} ";
    auto at = text.find(key);
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
  }

  temp_dir dir;
  gateway_config cfg = essex_config();
  schema_set schemas{std::string(BL_SOURCE_DIR) + "/schemas"};
  metrics stats;
  inbox_notifier notifier;
  link_registry links;
  system_clock_source clock;
  std::shared_ptr<captured_log> log_sink = std::make_shared<captured_log>();
  std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>("cad", log_sink);
  cad::key_pair server_keys = new_curve_keys();
  std::map<std::string, cad::key_pair> keys;
  std::unique_ptr<engine> eng;
  std::unique_ptr<store::reader> rd;
  std::unique_ptr<submit_pipeline> pipeline;
  std::unique_ptr<delivery_stream> deliveries;
  std::unique_ptr<cad::cad_link_server> server;
};

/// A CAD written by hand: a DEALER with CURVE keys that sends exactly the frames (and ZeroMQ
/// message parts) a test gives it, optionally with a routing id of its own choosing.
struct raw_cad {
  raw_cad(link_rig& rig, const cad::key_pair& keys, std::optional<std::string> routing_id = {})
      : sock(ctx, zmq::socket_type::dealer) {
    sock.set(zmq::sockopt::linger, 0);
    if (routing_id) sock.set(zmq::sockopt::routing_id, *routing_id);
    sock.set(zmq::sockopt::curve_serverkey, rig.server_keys.public_key);
    sock.set(zmq::sockopt::curve_publickey, keys.public_key);
    sock.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    sock.connect(rig.server->endpoint());
  }

  void send(const std::string& frame) { sock.send(zmq::buffer(frame), zmq::send_flags::none); }
  void send(const nlohmann::json& frame) { send(frame.dump()); }
  /// One ZeroMQ message of several parts.
  void send_parts(const std::vector<std::string>& parts) {
    for (std::size_t i = 0; i < parts.size(); ++i)
      sock.send(zmq::buffer(parts[i]),
                i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  /// The next frame, or nullopt when none arrives within `within`.
  std::optional<nlohmann::json> next(std::chrono::milliseconds within = std::chrono::seconds(5)) {
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, within) <= 0) return std::nullopt;
    zmq::message_t m;
    if (!sock.recv(m, zmq::recv_flags::dontwait)) return std::nullopt;
    return nlohmann::json::parse(m.to_string_view());
  }
  /// The next frame that is not a heartbeat.
  std::optional<nlohmann::json> next_not_heartbeat(
      std::chrono::milliseconds within = std::chrono::seconds(5)) {
    auto until = std::chrono::steady_clock::now() + within;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto f = next(left);
      if (!f || (*f)["op"] != "heartbeat") return f;
    }
  }
  /// Every frame that arrives within `within`.
  std::vector<nlohmann::json> drain(std::chrono::milliseconds within) {
    std::vector<nlohmann::json> out;
    auto until = std::chrono::steady_clock::now() + within;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      if (auto f = next(left)) out.push_back(std::move(*f));
    }
  }
  /// Says hello as `agency` and returns the answer.
  std::optional<nlohmann::json> hello(const std::string& agency, std::int64_t resume_from = 0) {
    send(nlohmann::json{
        {"v", 1}, {"op", "hello"}, {"agency", agency}, {"resume_from", resume_from}});
    return next_not_heartbeat();
  }

  zmq::context_t ctx;
  zmq::socket_t sock;
};

/// Collects deliveries from the client thread; readers get copies taken under the lock (the
/// client may deliver again, a re-delivery or a later message, while a test reads).
class inbox {
 public:
  void operator()(const cad::delivery& d) {
    std::lock_guard lock(mu_);
    seqs_.push_back(d.seq);
    ids_.push_back(d.message["id"].get<std::string>());
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return ids_.size();
  }
  std::vector<std::int64_t> seqs() {
    std::lock_guard lock(mu_);
    return seqs_;
  }
  std::vector<std::string> ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  std::mutex mu_;
  std::vector<std::int64_t> seqs_;
  std::vector<std::string> ids_;
};

}  // namespace bl::test
