#pragma once
// An engine on a real SQLite file in a temporary directory (optionally through the
// fault-injecting VFS), with a manual clock and blocking helpers, for component tests.
//
// Ownership: owns the directory, the engine and a reader; the destructor stops the engine.
// Threading: call it from the test's thread; the helpers block until the engine has answered.

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <variant>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/metrics.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/net/reader_json.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_store.hpp"

namespace bl::test {

/// A clock that only moves when told, starting at 2026-11-21T14:02:12Z. Atomic: engines read it
/// on their own threads while the test advances it (TSan: pg_cluster_test's two engines).
class manual_clock final : public clock_source {
 public:
  time_point now() const override { return now_.load(); }
  void advance(std::chrono::seconds s) { now_.store(now_.load() + s); }

 private:
  std::atomic<time_point> now_{*parse_rfc3339("2026-11-21T14:02:12Z")};
};

struct engine_rig {
  explicit engine_rig(const std::string& vfs = {}) : vfs_name(vfs) { restart(); }
  ~engine_rig() {
    if (eng) eng->stop();
  }
  /// Stops the engine (draining its queue) and starts a new one on the same file.
  void restart() {
    if (eng) eng->stop();
    eng.reset();
    eng = std::make_unique<engine>(
        cfg, options(), stats, notifier, clock,
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()));
    eng->start();
    rd = store::open_reader(options());
    rd->bound_by(eng->durable_marks());
  }
  /// Moves the clock on and runs the engine's timer sweep at once, as the engine's own would
  /// within 250 ms: what is due by then (expiries, phone prompts) has happened when this returns,
  /// rather than at a moment of the sweep's choosing during what the test does next.
  void advance(std::chrono::seconds s) {
    clock.advance(s);
    eng->run_timers_now();
  }
  /// Submits `doc`, made from the partner document `original` when there is one.
  std::variant<receipt_result, error> submit(nlohmann::json doc,
                                             std::optional<original_document> original = {}) {
    auto parsed = parse_message(std::move(doc));
    REQUIRE(std::holds_alternative<message>(parsed));
    auto m = std::get<message>(std::move(parsed));
    m.original = std::move(original);
    std::promise<std::variant<receipt_result, error>> p;
    eng->submit(std::move(m), [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  /// The receipt of a message that must be accepted.
  nlohmann::json receipt(nlohmann::json doc) {
    auto r = submit(std::move(doc));
    if (auto* e = std::get_if<error>(&r)) FAIL("rejected: " << e->id() << " " << e->message);
    return std::get<receipt_result>(r).receipt;
  }
  /// Submits the A12 RTC request with message id `id`; returns its transfer id.
  std::string request(const std::string& id) {
    return receipt(rtc_request(id))["transfer_id"].get<std::string>();
  }
  std::variant<ack_result, error> ack(const std::string& agency, std::int64_t upto) {
    std::promise<std::variant<ack_result, error>> p;
    eng->ack(agency, upto, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  std::variant<ack_result, error> shown(const std::string& agency, std::int64_t after,
                                        std::int64_t upto) {
    std::promise<std::variant<ack_result, error>> p;
    eng->shown(agency, after, upto, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  std::variant<std::int64_t, error> log(call_record c) {
    std::promise<std::variant<std::int64_t, error>> p;
    eng->log_call(std::move(c), [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  /// The id of a call that must be accepted.
  std::int64_t logged(call_record c) {
    auto r = log(std::move(c));
    if (auto* e = std::get_if<error>(&r)) FAIL("rejected: " << e->id() << " " << e->message);
    return std::get<std::int64_t>(r);
  }
  std::variant<claim_result, error> claim(phone_claim c) {
    std::promise<std::variant<claim_result, error>> p;
    eng->claim_phone(std::move(c), [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  /// The store's options: the SQLite file with the rig's VFS, or the test's PostgreSQL database
  /// (tests/support/test_store.hpp).
  store::store_options options() const {
    auto o = store.options();
    o.vfs = vfs_name;
    if (!store.postgres()) o.busy_timeout_ms = 0;  // a lock held is a failure, not a wait
    return o;
  }
  /// The single integer an SQL query returns (-1 when it returns no row), in SQL both engines
  /// accept ($1, $2, ... for `args`).
  std::int64_t count(const std::string& sql, const std::vector<std::string>& args = {}) {
    auto rows = store.query_rows(sql, args);
    if (rows.empty() || rows[0].empty()) return -1;
    return rows[0][0].empty() ? 0 : std::stoll(rows[0][0]);
  }
  /// The transfer's detail as GET /api/v1/transfers/{id} shows it to `agency`.
  nlohmann::json detail(const std::string& id, const std::string& agency = "essex-fire") {
    bool party = false;
    auto t = rd->transfer_detail(id, agency, party);
    REQUIRE(t);
    return transfer_detail_json(*t);
  }

  temp_dir dir;
  std::string vfs_name;
  test_store store{dir.file("bluelink.db")};
  gateway_config cfg = essex_config();
  metrics stats;
  inbox_notifier notifier;
  manual_clock clock;
  std::unique_ptr<engine> eng;
  std::unique_ptr<store::reader> rd;
};

}  // namespace bl::test
