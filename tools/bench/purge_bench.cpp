// bluelink-bench --mode purge (issue 18): the retention purge of a year of a busy hub while live
// traffic runs.
//
//  1. Generates a year of --transfers transfers between four control rooms (as --mode pages
//     does), opens it as the gateway does (migrations: the retention columns and the purge's
//     partial indexes are built here over the whole year, timed), and starts the real engine on
//     it with every agency keeping transfers for 1 day: the whole year but its last day is due.
//  2. Live traffic: a thread submits a request every 10 ms (100 a second) through the same engine
//     and times each from submit to its durable receipt; 10 s of it alone first (the baseline).
//  3. The purge: the gateway's own pass (purge_scheduler::run_once), a batch of --batch transfers
//     a transaction, each an engine task among the live submissions, until the year is purged.
//  4. `audit verify` over the result, timed.
// What live traffic waited for is the submit latency during the purge (its maximum and how many
// waited more than 50 ms) against the baseline's, and the longest batch the purge held the writer.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "gateway/core/message.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/service/purge_scheduler.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "tools/bench/bench_doc.hpp"
#include "tools/bench/pages_bench.hpp"
#include "tools/samples/sample_requests.hpp"

namespace bl::bench {

namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr const char* purge_begin_marker = "<!-- bluelink-bench-purge:begin -->";
constexpr const char* purge_end_marker = "<!-- bluelink-bench-purge:end -->";

gateway_config hub_config(int batch) {
  gateway_config cfg;
  const char* ids[4] = {"essex-fire", "essex-police", "eeast-ambulance", "herts-fire"};
  const agency_kind kinds[4] = {agency_kind::fire, agency_kind::police, agency_kind::ambulance,
                                agency_kind::fire};
  for (int i = 0; i < 4; ++i) {
    agency_config a;
    a.id = ids[i];
    a.name = ids[i];
    a.kind = kinds[i];
    a.phone = "01632 96000" + std::to_string(i);
    cfg.agencies.push_back(a);
  }
  cfg.retention.defaults.transfers_days = 1;
  cfg.retention.defaults.calls_days = 1;
  cfg.retention.batch = batch;
  // The live traffic is one room's system sending 100 requests a second that nobody takes:
  // neither the rate limit nor the inbox quota may refuse it.
  cfg.edge.agency_submissions_per_second = 1000;
  cfg.edge.agency_submission_burst = 1000;
  cfg.edge.inbox_quota = 10'000'000;
  return cfg;
}

struct latencies {
  std::mutex mu;
  std::vector<double> ms;
  std::int64_t refused = 0;
};

/// Submits a request every 10 ms until `stop`, timing each to its durable receipt.
void live_traffic(engine& eng, std::atomic<bool>& stop, latencies& out, const std::string& tag) {
  std::int64_t n = 0;
  auto next = steady::now();
  while (!stop) {
    next += std::chrono::milliseconds(10);
    auto parsed =
        parse_message(samples::a12_rtc_request("essex-fire:" + tag + "-" + std::to_string(++n)));
    auto m = std::get<message>(std::move(parsed));
    std::promise<bool> done;
    const auto t0 = steady::now();
    eng.submit(std::move(m), [&](std::variant<receipt_result, error> r) {
      done.set_value(std::holds_alternative<receipt_result>(r));
    });
    bool ok = done.get_future().get();
    const double took = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
    {
      std::lock_guard lock(out.mu);
      if (ok)
        out.ms.push_back(took);
      else
        ++out.refused;
    }
    std::this_thread::sleep_until(next);
  }
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::string f1(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string commas(std::int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace

int run_purge_bench(const purge_bench_options& o) {
  try {
    const bool own_dir = o.dir.empty();
    fs::path dir =
        own_dir ? fs::temp_directory_path() / ("bluelink-bench-purge-" + std::to_string(::getpid()))
                : fs::path(o.dir);
    fs::create_directories(dir);
    const std::string path = (dir / "purge.db").string();
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(path + ext);
    auto g0 = steady::now();
    const std::int64_t audit_rows = generate_history(path, o.transfers);
    const double generated_s = std::chrono::duration<double>(steady::now() - g0).count();
    std::fprintf(stderr, "generated %lld transfers in %.1f s\n",
                 static_cast<long long>(o.transfers), generated_s);

    // The generator writes the schema it was built for; migration 9 is what an upgrade runs.
    auto m0 = steady::now();
    { store::sqlite::writer w(store::store_options{path, true, 5000, {}}); }
    const double migrated_s = std::chrono::duration<double>(steady::now() - m0).count();

    const gateway_config cfg = hub_config(o.batch);
    metrics stats;
    inbox_notifier notifier;
    system_clock_source clock;
    auto quiet =
        std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    store::store_options so{path, true, 5000, {}};
    so.sync_by_caller = true;  // as the gateway runs it: group commit, fsync on its own thread
    engine eng(cfg, so, stats, notifier, clock, quiet);
    eng.start();
    auto rd = store::open_reader(so);
    rd->bound_by(eng.durable_marks());

    // The baseline: live traffic alone, after a second of it unmeasured (the first commits warm
    // the file's pages and the write-ahead log).
    latencies alone;
    {
      latencies warm;
      std::atomic<bool> warmed{false};
      std::thread w([&] { live_traffic(eng, warmed, warm, "warm"); });
      std::this_thread::sleep_for(std::chrono::seconds(1));
      warmed = true;
      w.join();
    }
    {
      std::atomic<bool> stop{false};
      std::thread t([&] { live_traffic(eng, stop, alone, "alone"); });
      std::this_thread::sleep_for(std::chrono::seconds(10));
      stop = true;
      t.join();
    }
    std::fprintf(stderr, "baseline: %zu submits\n", alone.ms.size());

    // The purge with live traffic.
    latencies during;
    std::atomic<bool> stop{false};
    std::thread live([&] { live_traffic(eng, stop, during, "during"); });
    purge_scheduler purger(cfg, eng, *rd, clock,
                           spdlog::default_logger());  // its progress lines on stderr
    auto p0 = steady::now();
    auto rep = purger.run_once();
    const double purge_s = std::chrono::duration<double>(steady::now() - p0).count();
    stop = true;
    live.join();
    eng.stop();

    auto v0 = steady::now();
    auto verified = store::open_reader(so)->verify_audit();
    const double verify_s = std::chrono::duration<double>(steady::now() - v0).count();
    if (!verified.ok) throw std::runtime_error("audit verify failed: " + verified.problem);

    const auto over = [](const std::vector<double>& v, double limit) {
      return std::count_if(v.begin(), v.end(), [&](double x) { return x > limit; });
    };
    std::ostringstream md;
    md << "## Retention: purging a year of a busy hub under live traffic (bluelink-bench --mode "
          "purge)\n\n";
    md << "Measured " << format_rfc3339(now_ms()).substr(0, 10) << " on " << cpu_model() << " ("
       << std::thread::hardware_concurrency() << " cores), " << kernel() << ", " << BL_BUILD_TYPE
       << " build: `" << o.command << "`.\n\n";
    md << "A year of " << commas(o.transfers) << " transfers between four control rooms ("
       << commas(audit_rows) << " audit rows), generated as `--mode pages` does, opened as the "
       << "gateway opens it (migration 9, which adds the retention columns and builds the purge's "
       << "partial indexes over the year: " << f1(migrated_s) << " s), then the gateway's own "
       << "purge pass with every agency keeping transfers for 1 day, " << o.batch
       << " transfers a transaction, while a live request was submitted every 10 ms through the "
       << "same engine and timed to its durable receipt.\n\n";
    md << "| | |\n|---|---:|\n";
    md << "| transfers purged | " << commas(rep.transfers_purged) << " |\n";
    md << "| purge time | " << f1(purge_s) << " s ("
       << commas(static_cast<std::int64_t>(static_cast<double>(rep.transfers_purged) /
                                           std::max(purge_s, 1e-9)))
       << " transfers/s) |\n";
    md << "| batches (transactions) | " << commas(rep.batches) << " |\n";
    md << "| longest batch (the writer held by the purge) | " << f1(rep.longest_batch_ms)
       << " ms |\n";
    md << "| live submits alone: median, p99, max | " << f1(pct(alone.ms, 0.5)) << ", "
       << f1(pct(alone.ms, 0.99)) << ", " << f1(pct(alone.ms, 1.0)) << " ms (" << alone.ms.size()
       << " submits) |\n";
    md << "| live submits during the purge: median, p99, max | " << f1(pct(during.ms, 0.5)) << ", "
       << f1(pct(during.ms, 0.99)) << ", " << f1(pct(during.ms, 1.0)) << " ms (" << during.ms.size()
       << " submits, " << during.refused << " refused) |\n";
    md << "| live submits over 50 ms: alone, during | " << over(alone.ms, 50) << ", "
       << over(during.ms, 50) << " |\n";
    md << "| `audit verify` afterwards | " << f1(verify_s) << " s, " << commas(verified.rows)
       << " rows, ok |\n\n";
    md << "A live submit waits for at most the batch the writer is in (a purge batch is one job "
          "of the engine's among the live ones), then for its own group commit.\n\n";
    std::cout << md.str() << std::flush;
    if (!o.write_path.empty()) {
      write_section(o.write_path, md.str(), purge_begin_marker, purge_end_marker);
      std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
    }
    if (own_dir) fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nbluelink-bench --mode purge: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace bl::bench
