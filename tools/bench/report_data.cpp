#include "tools/bench/report_data.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/bulk_load.hpp"
#include "gateway/store/store_error.hpp"
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

// A random instant in UK month m.
std::int64_t instant_in(std::mt19937_64& rng, const std::vector<std::int64_t>& starts, int m) {
  std::uniform_int_distribution<std::int64_t> d(starts[static_cast<std::size_t>(m)],
                                                starts[static_cast<std::size_t>(m) + 1] - 1);
  return d(rng);
}

generated generate(const std::string& path, const data_options& o) {
  auto t0 = steady::now();
  bl::store::bulk_loader load(path);
  std::vector<std::int64_t> starts;
  for (int i = first_month.index(); i <= last_month.index() + 1; ++i)
    starts.push_back(bl::to_ms(bl::uk_month_start(bl::year_month::from_index(i))));
  const int months = last_month.index() - first_month.index() + 1;
  const int before = go_live.index() - first_month.index();
  std::mt19937_64 rng(20260401);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  generated g;
  // Rows are drawn at random instants and stored in time order, as a gateway and a telephony
  // export write them: the report's indexes, led by the time, then fill their pages in order.
  std::vector<bl::store::bulk_transfer> transfers;
  transfers.reserve(static_cast<std::size_t>(o.transfers));
  std::vector<bl::store::bulk_call> calls;
  calls.reserve(static_cast<std::size_t>(o.calls));

  // Transfers first (after go-live only), so that some calls can be linked to them.
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
    bl::store::bulk_transfer t;
    t.id = id;
    // Drawn in this order, so that a seed gives the same data as before.
    t.state = states[pick(11)];
    t.category = categories[pick(8)];
    t.priority = priorities[pick(4)];
    t.mode = mode;
    t.requester = rooms[from].id;
    t.responder = rooms[to].id;
    t.created_ms = at;
    transfers.push_back(std::move(t));
    // About 4% of transfers fall back to the phone.
    if (pick(100) < 4 && linkable.size() < static_cast<std::size_t>(o.calls / 10))
      linkable.emplace_back(id, at);
    ++g.transfers;
    if (i % 10000 == 0 || i + 1 == o.transfers) pt.update(i + 1);
  }
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
    bl::store::bulk_call c;
    c.source = src < 6 ? "import" : src < 9 ? "console" : "api";
    c.from_agency = rooms[from].id;
    c.to_agency = rooms[to].id;
    c.started_ms = at;
    // Drawn in this order, so that a seed gives the same data as before.
    c.duration_s = 20 + pick(600);
    c.emergency = pick(3) == 0;
    if (src >= 6) c.reason = categories[pick(8)];  // telephony records carry no reason
    if (transfer) c.transfer_id = transfer;
    c.exercise = exercise;
    calls.push_back(std::move(c));
    ++g.calls;
    if (i % 10000 == 0 || i + 1 == o.calls) pc.update(i + 1);
  }
  std::stable_sort(transfers.begin(), transfers.end(),
                   [](const auto& a, const auto& b) { return a.created_ms < b.created_ms; });
  std::stable_sort(calls.begin(), calls.end(),
                   [](const auto& a, const auto& b) { return a.started_ms < b.started_ms; });
  progress ps("storing in time order", o.transfers + o.calls);
  // Merged by time: calls and transfers of the same day land in the file side by side.
  std::size_t ti = 0, ci = 0;
  std::int64_t stored = 0;
  while (ti < transfers.size() || ci < calls.size()) {
    if (ci == calls.size() ||
        (ti < transfers.size() && transfers[ti].created_ms <= calls[ci].started_ms))
      load.add(transfers[ti++]);
    else
      load.add(calls[ci++]);
    if (++stored % 20000 == 0) ps.update(stored);
  }
  ps.update(stored);
  load.finish();
  g.seconds = std::chrono::duration<double>(steady::now() - t0).count();
  return g;
}

// The counts of a database generated by an earlier run.
generated counted(const std::string& path) {
  const auto n = bl::store::count_bulk_rows(path);
  generated g;
  g.calls = n.calls;
  g.exercise_calls = n.exercise_calls;
  g.linked_calls = n.linked_calls;
  g.transfers = n.transfers;
  g.non_live_transfers = n.non_live_transfers;
  return g;
}

}  // namespace bl::bench
