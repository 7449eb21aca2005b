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

#include <time.h>
#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
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
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/call_store.hpp"
#include "gateway/store/sqlite/report_store.hpp"
#include "gateway/store/store_error.hpp"
#include "gateway/store/writer.hpp"
#include "tools/bench/bench_doc.hpp"
#include "tools/bench/pg_copy.hpp"
#include "tools/bench/report_data.hpp"

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

using namespace bl::bench;

constexpr const char* begin_marker = "<!-- bluelink-bench-reports:begin -->";
constexpr const char* end_marker = "<!-- bluelink-bench-reports:end -->";

struct options {
  bl::bench::data_options data;
  std::int64_t import_rows = 1'000'000;
  int runs = 5;
  std::string dir;  // where the databases and the CSV go (default: a temp dir, removed after)
  std::string write_path;
  std::string command;
  bool reuse = false;             // time the report on the database an earlier run left in --dir
  std::string engine = "sqlite";  // sqlite | both: also on a PostgreSQL copy of the same data
};

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

// CPU time of this process (the report reads on two threads): the wall clock alone would also
// count other processes' turns.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/// compute_savings over the five years on `reports`, `runs` times: wall and this process's CPU
/// (on PostgreSQL the server's CPU is not in it), and the last result's volume total.
struct report_timing {
  std::vector<double> wall_s, cpu_s, json_s;
  std::int64_t saved = 0;
  std::size_t json_bytes = 0;
};

report_timing time_report(const bl::gateway_config& cfg, bl::store::report_store& reports, int runs,
                          const char* engine) {
  report_timing t;
  for (int i = 0; i < runs; ++i) {
    auto c0 = process_cpu_seconds();
    auto t0 = steady::now();
    auto r = bl::compute_savings(cfg, reports, first_month, last_month);
    auto t1 = steady::now();
    t.cpu_s.push_back(process_cpu_seconds() - c0);
    auto text = bl::to_json(r).dump();
    auto t2 = steady::now();
    t.wall_s.push_back(std::chrono::duration<double>(t1 - t0).count());
    t.json_s.push_back(std::chrono::duration<double>(t2 - t1).count());
    t.saved = r.overall.total.volume_saved_pence.value_or(0);
    t.json_bytes = text.size();
    std::fprintf(stderr, "%s report run %d: %.0f ms (%.0f ms CPU) + JSON %.0f ms (%zu bytes)\n",
                 engine, i + 1, t.wall_s.back() * 1000, t.cpu_s.back() * 1000,
                 t.json_s.back() * 1000, t.json_bytes);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bluelink-bench-reports: time the savings report and the call-record import"};
  options o;
  app.add_option("--calls", o.data.calls, "phone calls to generate")
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--transfers", o.data.transfers, "transfers to generate")
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--import-rows", o.import_rows, "rows of the generated telephony CSV (0: skip)")
      ->check(CLI::Range(0, 100'000'000));
  app.add_option("--runs", o.runs, "report runs to time")->check(CLI::Range(1, 100));
  app.add_option("--dir", o.dir, "directory for the databases and CSV (default: a temp dir)");
  app.add_option("--write", o.write_path, "replace this tool's section of a Markdown file");
  app.add_option("--engine", o.engine,
                 "sqlite: the report on the generated SQLite file; both: also on a PostgreSQL "
                 "server the bench starts, holding the same data (copied with `bluelink store "
                 "copy`'s library)")
      ->check(CLI::IsMember({"sqlite", "both"}));
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
    auto cfg = report_config(db_path);

    auto g = o.reuse ? counted(db_path) : generate(db_path, o.data);
    std::fprintf(stderr, "generated %lld calls and %lld transfers in %.1f s\n",
                 static_cast<long long>(g.calls), static_cast<long long>(g.transfers), g.seconds);

    auto reports = bl::store::open_sqlite_report_store(
        bl::store::store_options{db_path, cfg.synchronous_full, cfg.busy_timeout_ms, {}});
    report_timing lite = time_report(cfg, *reports, o.runs, "sqlite");
    std::vector<double>& report_s = lite.wall_s;
    std::vector<double>& report_cpu_s = lite.cpu_s;
    std::vector<double>& json_s = lite.json_s;
    const std::int64_t saved = lite.saved;
    const std::size_t json_bytes = lite.json_bytes;

    // The same data on PostgreSQL: a server of the bench's own on this machine, the SQLite file
    // moved into it with `bluelink store copy`'s library, VACUUM ANALYZE (as autovacuum would have
    // done on a live server), then the same report through the PostgreSQL report store.
    std::optional<report_timing> pg_timing;
    double copy_s = 0;
    std::int64_t copied_rows = 0;
    if (o.engine == "both") {
      auto pg = bl::bench::copy_to_own_postgres(dir, db_path, "report");
      copy_s = pg.seconds;
      copied_rows = pg.rows;
      bl::store::store_options so;
      so.engine = bl::store::engine_kind::postgres;
      so.conninfo = pg.conninfo;
      auto pg_reports = bl::store::open_report_store(so);
      pg_timing = time_report(cfg, *pg_reports, o.runs, "postgres");
      if (pg_timing->saved != saved)
        throw std::runtime_error("the PostgreSQL report's total differs from SQLite's");
    }

    double import_s = 0;
    bl::import_summary summary;
    if (o.import_rows > 0) {
      const std::string csv = write_csv((dir / "telephony.csv").string(), o.import_rows);
      const std::string import_db = (dir / "import.db").string();
      fs::remove(import_db);
      { auto create = bl::store::open_writer(bl::store::store_options{import_db, true, 5000, {}}); }
      cfg.call_import.id_column = "call_id";
      cfg.call_import.start_column = "start";
      progress p("importing", 1000);
      auto t0 = steady::now();
      auto calls = bl::store::open_sqlite_call_store(
          bl::store::store_options{import_db, cfg.synchronous_full, cfg.busy_timeout_ms, {}});
      summary =
          bl::import_calls_csv(cfg, *calls, csv, [&](std::uint64_t done, std::uint64_t total) {
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
    md << "| measurement | best | median | CPU of the process, both threads (median) | target "
          "|\n|---|---|---|---|---|\n";
    md << "| `compute_savings`, 60 months, " << o.runs << " runs | "
       << ms(*std::min_element(report_s.begin(), report_s.end())) << " | " << ms(median(report_s))
       << " | " << ms(median(report_cpu_s)) << " | < 1 s |\n";
    if (pg_timing)
      md << "| `compute_savings` on PostgreSQL, 60 months, " << o.runs << " runs | "
         << ms(*std::min_element(pg_timing->wall_s.begin(), pg_timing->wall_s.end())) << " | "
         << ms(median(pg_timing->wall_s)) << " | " << ms(median(pg_timing->cpu_s))
         << " (client only) | < 2 s |\n";
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
       << " (a check that it did the work, not a real figure)";
    if (pg_timing)
      md << "; the PostgreSQL report gave the same total. PostgreSQL ran on the same two cores, a "
            "server the bench started (fsync on, the server's default shared_buffers), holding "
            "the same data moved from the SQLite file by `bluelink store copy`'s library ("
         << with_commas(copied_rows) << " rows in " << static_cast<int>(copy_s + 0.5)
         << " s) and then vacuumed and analysed, as autovacuum leaves a settled database";
    md << ".\n";
    if (o.import_rows > 0)
      md << "\nThe telephony CSV has an id column and UK day-first local times, in time order as a "
            "telephony system exports them, and is imported into a database of its own in "
            "transactions sized to take about 100 ms each (at most 10,000 rows). Rows in random "
            "time order cost the import more (each batch then touches most index pages).\n";
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
