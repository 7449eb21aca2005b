// bluelink-bench-reports: how fast the management savings report and the telephony call-record
// import are at the scale of issue 5 (results in docs/benchmarks.md).
//
//  1. Generates five years of data into a temporary SQLite file, migrated as the gateway does:
//     --calls phone calls (before go-live more, after fewer, over five control rooms, every
//     request category, emergency and non-emergency, some exercise calls, some linked to a
//     transfer) and --transfers transfers after go-live (every state, priority and category, some
//     exercise or test traffic). One transaction, prepared statements.
//  2. Times compute_savings over the five years, --runs times (best and median), and the JSON
//     rendering of the result.
//  3. Writes a telephony CSV of --import-rows call records and times import_calls_csv on it into
//     a fresh database.
//
// Results are printed as Markdown; --write FILE replaces this tool's section of FILE.

#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"
#include "gateway/service/call_import.hpp"
#include "gateway/service/savings.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/writer.hpp"
#include "tools/bench/bench_doc.hpp"

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

constexpr const char* begin_marker = "<!-- bluelink-bench-reports:begin -->";
constexpr const char* end_marker = "<!-- bluelink-bench-reports:end -->";

struct options {
  std::int64_t calls = 1'000'000;
  std::int64_t transfers = 1'000'000;
  std::int64_t import_rows = 1'000'000;
  int runs = 5;
  std::string dir;  // where the databases and the CSV go (default: a temp dir, removed after)
  std::string write_path;
  std::string command;
  bool reuse = false;  // time the report on the database an earlier run left in --dir
};

struct room {
  const char* id;
  const char* number;
  const char* emergency_number;
  int cost_pence;
};
const room rooms[] = {{"essex-fire", "01632960001", "01632960901", 400},
                      {"essex-police", "01632960002", "01632960902", 400},
                      {"eeast-ambulance", "01632960003", "01632960903", 400},
                      {"herts-fire", "01632960004", "01632960904", 380},
                      {"herts-police", "01632960005", "01632960905", 420}};
const char* categories[] = {"police.traffic_management",  "police.scene_security",
                            "police.violence_threat",     "fire.forced_entry",
                            "fire.missing_person_search", "fire.rescue",
                            "ambulance.casualty_care",    "info.address_risk"};
const char* states[] = {"accepted", "accepted",  "accepted", "closed",    "closed", "declined",
                        "received", "delivered", "deferred", "cancelled", "expired"};
const char* priorities[] = {"emergency", "urgent", "urgent", "routine"};

const bl::year_month first_month{2021, 4};  // five financial years: 2021/22 .. 2025/26
const bl::year_month last_month{2026, 3};
const bl::year_month go_live{2022, 4};

bl::gateway_config bench_config(const std::string& db_path) {
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

/// Progress on stderr, at most once per percent.
class progress {
 public:
  progress(std::string what, std::int64_t total) : what_(std::move(what)), total_(total) {}
  void update(std::int64_t done) {
    int pct = total_ ? static_cast<int>(done * 100 / total_) : 100;
    if (pct == last_) return;
    last_ = pct;
    std::fprintf(stderr, "\r%s: %3d%% (%lld of %lld)", what_.c_str(), pct,
                 static_cast<long long>(done), static_cast<long long>(total_));
    if (pct == 100) std::fprintf(stderr, "\n");
  }

 private:
  std::string what_;
  std::int64_t total_;
  int last_ = -1;
};

void check(int rc, sqlite3* h, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(h));
}

// A random instant in UK month m.
std::int64_t instant_in(std::mt19937_64& rng, const std::vector<std::int64_t>& starts, int m) {
  std::uniform_int_distribution<std::int64_t> d(starts[static_cast<std::size_t>(m)],
                                                starts[static_cast<std::size_t>(m) + 1] - 1);
  return d(rng);
}

struct generated {
  std::int64_t calls = 0, transfers = 0, exercise_calls = 0, linked_calls = 0,
               non_live_transfers = 0;
  double seconds = 0;
};

generated generate(const std::string& path, const options& o) {
  auto t0 = steady::now();
  { bl::store::writer create(bl::store::store_options{path, false, 5000, {}}); }
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

std::string write_csv(const std::string& path, std::int64_t rows) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << "call_id,caller,called,start,duration\r\n";
  std::mt19937_64 rng(5);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  progress p("writing the telephony CSV", rows);
  std::vector<std::int64_t> starts;
  for (int i = first_month.index(); i <= last_month.index() + 1; ++i)
    starts.push_back(bl::to_ms(bl::uk_month_start(bl::year_month::from_index(i))));
  // A telephony system exports its call records in the order the calls were made, so the file is
  // in time order (as the import's real input is; rows in random order cost the import more,
  // since every batch then touches most of the index pages).
  std::vector<std::int64_t> times(static_cast<std::size_t>(rows));
  for (auto& t : times) t = instant_in(rng, starts, pick(60));
  std::sort(times.begin(), times.end());
  char line[160];
  for (std::int64_t i = 0; i < rows; ++i) {
    int from = pick(5), to = (from + 1 + pick(4)) % 5;
    bool em = pick(3) == 0;
    auto t = bl::from_ms(times[static_cast<std::size_t>(i)]);
    // Local UK wall-clock time, in the UK day-first form telephony exports use.
    auto local = t + std::chrono::minutes(bl::uk_offset_minutes(t));
    auto days = std::chrono::floor<std::chrono::hours>(local).time_since_epoch().count() / 24;
    int y = 0, mo = 0, d = 0;
    bl::civil_from_days(days, y, mo, d);
    std::int64_t sec = (bl::to_ms(local) / 1000) % 86400;
    std::snprintf(line, sizeof line, "C-%lld,%s,%s,%02d/%02d/%04d %02lld:%02lld:%02lld,%d\r\n",
                  static_cast<long long>(i + 1), rooms[from].number,
                  em ? rooms[to].emergency_number : rooms[to].number, d, mo, y,
                  static_cast<long long>(sec / 3600), static_cast<long long>(sec / 60 % 60),
                  static_cast<long long>(sec % 60), 20 + pick(600));
    out << line;
    if (i % 10000 == 0 || i + 1 == rows) p.update(i + 1);
  }
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
  return path;
}

// CPU time of this thread: the wall clock alone would also count other processes' turns.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string ms(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000);
  return buf;
}

std::string with_commas(std::int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bluelink-bench-reports: time the savings report and the call-record import"};
  options o;
  app.add_option("--calls", o.calls, "phone calls to generate")->check(CLI::Range(1, 100'000'000));
  app.add_option("--transfers", o.transfers, "transfers to generate")
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--import-rows", o.import_rows, "rows of the generated telephony CSV (0: skip)")
      ->check(CLI::Range(0, 100'000'000));
  app.add_option("--runs", o.runs, "report runs to time")->check(CLI::Range(1, 100));
  app.add_option("--dir", o.dir, "directory for the databases and CSV (default: a temp dir)");
  app.add_option("--write", o.write_path, "replace this tool's section of a Markdown file");
  app.add_flag("--reuse", o.reuse,
               "use the report database an earlier run left in --dir instead of generating one");
  CLI11_PARSE(app, argc, argv);
  for (int i = 0; i < argc; ++i) o.command += (i ? " " : "") + std::string(argv[i]);

  try {
    bool own_dir = o.dir.empty();
    fs::path dir = own_dir ? fs::temp_directory_path() /
                                 ("bluelink-bench-reports-" + std::to_string(::getpid()))
                           : fs::path(o.dir);
    fs::create_directories(dir);
    const std::string db_path = (dir / "report.db").string();
    if (o.reuse && (o.dir.empty() || !fs::exists(db_path)))
      throw std::invalid_argument("--reuse needs --dir with the report.db of an earlier run");
    if (!o.reuse) fs::remove(db_path);
    auto cfg = bench_config(db_path);

    auto g = o.reuse ? counted(db_path) : generate(db_path, o);
    std::fprintf(stderr, "generated %lld calls and %lld transfers in %.1f s\n",
                 static_cast<long long>(g.calls), static_cast<long long>(g.transfers), g.seconds);

    std::vector<double> report_s, report_cpu_s, json_s;
    std::int64_t saved = 0;
    std::size_t json_bytes = 0;
    for (int i = 0; i < o.runs; ++i) {
      auto c0 = thread_cpu_seconds();
      auto t0 = steady::now();
      auto r = bl::compute_savings(cfg, db_path, first_month, last_month);
      auto t1 = steady::now();
      report_cpu_s.push_back(thread_cpu_seconds() - c0);
      auto text = bl::to_json(r).dump();
      auto t2 = steady::now();
      report_s.push_back(std::chrono::duration<double>(t1 - t0).count());
      json_s.push_back(std::chrono::duration<double>(t2 - t1).count());
      saved = r.overall.total.volume_saved_pence.value_or(0);
      json_bytes = text.size();
      std::fprintf(stderr, "report run %d: %.0f ms (%.0f ms CPU) + JSON %.0f ms (%zu bytes)\n",
                   i + 1, report_s.back() * 1000, report_cpu_s.back() * 1000, json_s.back() * 1000,
                   json_bytes);
    }

    double import_s = 0;
    bl::import_summary summary;
    if (o.import_rows > 0) {
      const std::string csv = write_csv((dir / "telephony.csv").string(), o.import_rows);
      const std::string import_db = (dir / "import.db").string();
      fs::remove(import_db);
      { bl::store::writer create(bl::store::store_options{import_db, true, 5000, {}}); }
      cfg.call_import.id_column = "call_id";
      cfg.call_import.start_column = "start";
      progress p("importing", 1000);
      auto t0 = steady::now();
      summary =
          bl::import_calls_csv(cfg, import_db, csv, [&](std::uint64_t done, std::uint64_t total) {
            p.update(total ? static_cast<std::int64_t>(done * 1000 / total) : 1000);
          });
      import_s = std::chrono::duration<double>(steady::now() - t0).count();
      std::fprintf(stderr, "imported %zu of %zu rows (%zu skipped) in %.1f s\n", summary.imported,
                   summary.rows, summary.skipped, import_s);
    }

    std::ostringstream md;
    auto date = bl::format_rfc3339(bl::now_ms()).substr(0, 10);
    md << "## Savings report and call-record import (bluelink-bench-reports)\n\n";
    md << "Measured " << date << " with `" << o.command << "` (build type " << BL_BUILD_TYPE
       << ").\n\n";
    md << "| machine | |\n|---|---|\n";
    md << "| CPU | " << bl::bench::cpu_model()
       << ", `nproc` = " << std::thread::hardware_concurrency() << " |\n";
    md << "| kernel | " << bl::bench::kernel() << " |\n";
    char load[32];
    std::snprintf(load, sizeof load, "%.1f", load_average());
    md << "| load average (1 min) at the end | " << load << " |\n\n";
    md << "Data: " << with_commas(g.calls) << " phone calls (" << with_commas(g.exercise_calls)
       << " exercise, " << with_commas(g.linked_calls) << " linked to a transfer) and "
       << with_commas(g.transfers) << " transfers (" << with_commas(g.non_live_transfers)
       << " exercise or test) over " << first_month.str() << " to " << last_month.str()
       << " (60 UK months, go-live " << go_live.str() << "), five control rooms, generated in "
       << static_cast<int>(g.seconds + 0.5) << " s into one SQLite file (WAL, schema migrated as "
       << "the gateway does, with the report's covering indexes).\n\n";
    md << "| measurement | best | median | CPU (median) | target |\n|---|---|---|---|---|\n";
    md << "| `compute_savings`, 60 months, " << o.runs << " runs | "
       << ms(*std::min_element(report_s.begin(), report_s.end())) << " | " << ms(median(report_s))
       << " | " << ms(median(report_cpu_s)) << " | < 1 s |\n";
    md << "| JSON rendering of that report (" << json_bytes / 1024 << " KiB) | "
       << ms(*std::min_element(json_s.begin(), json_s.end())) << " | " << ms(median(json_s))
       << " | | |\n";
    if (o.import_rows > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f s", import_s);
      md << "| `import_calls_csv`, " << with_commas(static_cast<std::int64_t>(summary.rows))
         << " rows (" << with_commas(static_cast<std::int64_t>(summary.imported)) << " imported, "
         << summary.skipped << " skipped), one run | " << buf << " | | | < 30 s |\n";
    }
    md << "\nThe report's volume total over the five years is £" << bl::pounds(saved)
       << " (a check that it did the work, not a real figure).\n";
    if (o.import_rows > 0)
      md << "\nThe telephony CSV has an id column and UK day-first local times, in time order as a "
            "telephony system exports them, and is imported into a database of its own in "
            "10,000-row transactions. Rows in random time order cost the import more (each "
            "batch then touches most index pages).\n";
    md << "\n";
    std::cout << md.str() << std::flush;
    if (!o.write_path.empty()) {
      bl::bench::write_section(o.write_path, md.str(), begin_marker, end_marker);
      std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
    }
    if (own_dir) fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nbluelink-bench-reports: %s\n", e.what());
    return 1;
  }
  return 0;
}
