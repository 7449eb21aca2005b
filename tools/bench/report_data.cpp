#include "tools/bench/report_data.hpp"

#include <sqlite3.h>

#include <chrono>
#include <stdexcept>

#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/writer.hpp"

namespace bl::bench {

using steady = std::chrono::steady_clock;

const room rooms[5] = {{"essex-fire", "01632960001", "01632960901", 400},
                       {"essex-police", "01632960002", "01632960902", 400},
                       {"eeast-ambulance", "01632960003", "01632960903", 400},
                       {"herts-fire", "01632960004", "01632960904", 380},
                       {"herts-police", "01632960005", "01632960905", 420}};
namespace {
const char* categories[] = {"police.traffic_management",  "police.scene_security",
                            "police.violence_threat",     "fire.forced_entry",
                            "fire.missing_person_search", "fire.rescue",
                            "ambulance.casualty_care",    "info.address_risk"};
const char* states[] = {"accepted", "accepted",  "accepted", "closed",    "closed", "declined",
                        "received", "delivered", "deferred", "cancelled", "expired"};
const char* priorities[] = {"emergency", "urgent", "urgent", "routine"};
}  // namespace

const bl::year_month first_month{2021, 4};  // five financial years: 2021/22 .. 2025/26
const bl::year_month last_month{2026, 3};
const bl::year_month go_live{2022, 4};

bl::gateway_config report_config(const std::string& db_path) {
  bl::gateway_config cfg;
  cfg.database_path = db_path;
  for (const auto& r : rooms) {
    bl::agency_config a;
    a.id = r.id;
    a.name = r.id;
    a.cost_per_call_pence = r.cost_pence;
    cfg.agencies.push_back(a);
    cfg.call_import.numbers.push_back({r.number, r.id, false, "switchboard"});
    cfg.call_import.numbers.push_back({r.emergency_number, r.id, true, "emergency line"});
  }
  cfg.savings.go_live = "2022-04-01";
  return cfg;
}

namespace {

void check(int rc, sqlite3* h, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(h));
}
}  // namespace

// A random instant in UK month m.
std::int64_t instant_in(std::mt19937_64& rng, const std::vector<std::int64_t>& starts, int m) {
  std::uniform_int_distribution<std::int64_t> d(starts[static_cast<std::size_t>(m)],
                                                starts[static_cast<std::size_t>(m) + 1] - 1);
  return d(rng);
}

generated generate(const std::string& path, const data_options& o) {
  auto t0 = steady::now();
  { auto create = bl::store::open_writer(bl::store::store_options{path, false, 5000, {}}); }
  bl::store::db d(path, false, false);
  d.exec("PRAGMA synchronous = OFF");
  d.exec("PRAGMA cache_size = -262144");
  std::vector<std::int64_t> starts;
  for (int i = first_month.index(); i <= last_month.index() + 1; ++i)
    starts.push_back(bl::to_ms(bl::uk_month_start(bl::year_month::from_index(i))));
  const int months = last_month.index() - first_month.index() + 1;
  const int before = go_live.index() - first_month.index();
  std::mt19937_64 rng(20260401);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  generated g;

  d.exec("BEGIN");
  // Transfers first (after go-live only), so that some calls can be linked to them.
  sqlite3_stmt* ts = nullptr;
  check(sqlite3_prepare_v2(d.handle(),
                           "INSERT INTO transfers(id, state, version, category, priority, mode,"
                           " requester, responder, request_message_id, created_at, updated_at,"
                           " expires_at, delivery_due, decision_due) VALUES(?1, ?2, 3, ?3, ?4,"
                           " ?5, ?6, ?7, ?1, ?8, ?8, ?8, ?8, ?8)",
                           -1, &ts, nullptr),
        d.handle(), "prepare transfers");
  progress pt("generating transfers", o.transfers);
  std::vector<std::pair<std::string, std::int64_t>> linkable;  // transfers that get a call
  for (std::int64_t i = 0; i < o.transfers; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "T-%09lld", static_cast<long long>(i + 1));
    int from = pick(5), to = (from + 1 + pick(4)) % 5;
    int m = before + pick(months - before);
    std::int64_t at = instant_in(rng, starts, m);
    int r = pick(1000);
    const char* mode = r < 15 ? "exercise" : r < 20 ? "test" : "live";
    if (r < 20) ++g.non_live_transfers;
    sqlite3_bind_text(ts, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ts, 2, states[pick(11)], -1, SQLITE_STATIC);
    sqlite3_bind_text(ts, 3, categories[pick(8)], -1, SQLITE_STATIC);
    sqlite3_bind_text(ts, 4, priorities[pick(4)], -1, SQLITE_STATIC);
    sqlite3_bind_text(ts, 5, mode, -1, SQLITE_STATIC);
    sqlite3_bind_text(ts, 6, rooms[from].id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ts, 7, rooms[to].id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ts, 8, at);
    check(sqlite3_step(ts), d.handle(), "insert transfer");
    sqlite3_reset(ts);
    // About 4% of transfers fall back to the phone.
    if (pick(100) < 4 && linkable.size() < static_cast<std::size_t>(o.calls / 10))
      linkable.emplace_back(id, at);
    ++g.transfers;
    if (i % 10000 == 0 || i + 1 == o.transfers) pt.update(i + 1);
  }
  sqlite3_finalize(ts);

  sqlite3_stmt* cs = nullptr;
  check(sqlite3_prepare_v2(d.handle(),
                           "INSERT INTO calls(source, from_agency, to_agency, started_at,"
                           " duration_s, emergency, reason, transfer_id, logged_by, exercise,"
                           " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'bench', ?9, ?4)",
                           -1, &cs, nullptr),
        d.handle(), "prepare calls");
  // Calls per month: the pilot's shape, about 40% fewer after go-live than before.
  const double before_weight = 1.0, after_weight = 0.6;
  const double total_weight = before * before_weight + (months - before) * after_weight;
  std::discrete_distribution<int> month_of(
      static_cast<std::size_t>(months), 0, months, [&](double x) {
        int m = static_cast<int>(x);
        return (m < before ? before_weight : after_weight) / total_weight;
      });
  progress pc("generating calls", o.calls);
  std::size_t next_link = 0;
  for (std::int64_t i = 0; i < o.calls; ++i) {
    int from = pick(5), to = (from + 1 + pick(4)) % 5;
    std::int64_t at = instant_in(rng, starts, month_of(rng));
    const char* transfer = nullptr;
    std::string tid;
    if (next_link < linkable.size() && pick(20) == 0) {
      tid = linkable[next_link].first;
      at = linkable[next_link].second + 120000;
      transfer = tid.c_str();
      ++next_link;
      ++g.linked_calls;
    }
    int src = pick(10);
    bool exercise = pick(100) == 0;
    if (exercise) ++g.exercise_calls;
    sqlite3_bind_text(cs, 1, src < 6 ? "import" : src < 9 ? "console" : "api", -1, SQLITE_STATIC);
    sqlite3_bind_text(cs, 2, rooms[from].id, -1, SQLITE_STATIC);
    sqlite3_bind_text(cs, 3, rooms[to].id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(cs, 4, at);
    sqlite3_bind_int64(cs, 5, 20 + pick(600));
    sqlite3_bind_int(cs, 6, pick(3) == 0 ? 1 : 0);
    if (src < 6)
      sqlite3_bind_null(cs, 7);  // telephony records carry no reason
    else
      sqlite3_bind_text(cs, 7, categories[pick(8)], -1, SQLITE_STATIC);
    if (transfer)
      sqlite3_bind_text(cs, 8, transfer, -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(cs, 8);
    sqlite3_bind_int(cs, 9, exercise ? 1 : 0);
    check(sqlite3_step(cs), d.handle(), "insert call");
    sqlite3_reset(cs);
    ++g.calls;
    if (i % 10000 == 0 || i + 1 == o.calls) pc.update(i + 1);
  }
  sqlite3_finalize(cs);
  d.exec("COMMIT");
  d.exec("ANALYZE");
  d.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  g.seconds = std::chrono::duration<double>(steady::now() - t0).count();
  return g;
}

// The counts of a database generated by an earlier run.
generated counted(const std::string& path) {
  bl::store::db d(path, false, true);
  auto count = [&](const char* sql) {
    bl::store::stmt s(d, sql);
    s.step();
    return s.int64(0);
  };
  generated g;
  g.calls = count("SELECT count(*) FROM calls");
  g.exercise_calls = count("SELECT count(*) FROM calls WHERE exercise = 1");
  g.linked_calls = count("SELECT count(*) FROM calls WHERE transfer_id IS NOT NULL");
  g.transfers = count("SELECT count(*) FROM transfers");
  g.non_live_transfers = count("SELECT count(*) FROM transfers WHERE mode <> 'live'");
  return g;
}

}  // namespace bl::bench
