#include "gateway/app/gateway_app.hpp"

#include <sys/resource.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_link_server.hpp"
#include "gateway/core/failpoint.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/console_hub.hpp"
#include "gateway/net/listener.hpp"
#include "gateway/schema/config_loader.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/access_queue.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/cluster.hpp"
#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/geo.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/outage_monitor.hpp"
#include "gateway/service/purge_scheduler.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/service/token_auth.hpp"
#include "gateway/store/file_modes.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

namespace asio = boost::asio;

namespace {
// `%*`: the event text with every control character escaped. Values from outside are quoted
// and escaped where they are logged (log_quote); this is the backstop that makes it impossible
// for anything, an exception's text included, to end a line and forge the next one.
class escaped_payload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char* hex = "0123456789abcdef";
    for (char ch : msg.payload) {
      auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 && c != 0x7f) {
        dest.push_back(ch);
        continue;
      }
      const char* esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : nullptr;
      if (esc) {
        dest.append(esc, esc + 2);
      } else {
        const char x[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        dest.append(x, x + 4);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<escaped_payload>();
  }
};

std::shared_ptr<spdlog::logger> make_logger(const gateway_config& cfg) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (!cfg.log_file.empty())
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.log_file));
  auto log = std::make_shared<spdlog::logger>("bluelink", sinks.begin(), sinks.end());
  // logfmt: one event per line, key=value, UTC timestamps; easy to grep and to ship.
  auto fmt = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  fmt->add_flag<escaped_payload>('*').set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %*");
  log->set_formatter(std::move(fmt));
  log->set_level(spdlog::level::from_str(cfg.log_level));
  log->flush_on(spdlog::level::warn);
  return log;
}

// Descriptors the gateway needs besides its HTTP connections: the database and its WAL files for
// the writer, readers and accounts, the CAD link, the log, epoll, timers and a margin.
constexpr rlim_t reserved_descriptors = 256;

// Raises the soft open-files limit to the hard one (the usual soft 1024 is below the default
// limits.max_connections), and says so when the connection limit cannot fit under it: the
// listener then meets EMFILE before its own limit and backs off instead of answering 503.
void check_open_files_limit(const gateway_config& cfg, spdlog::logger& log) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return;
  if (static_cast<rlim_t>(cfg.edge.max_connections) + reserved_descriptors > rl.rlim_cur)
    log.warn(
        "event=open_files_limit_low open_files_limit={} max_connections={} reserved={} "
        "hint=\"raise LimitNOFILE or lower limits.max_connections\"",
        static_cast<unsigned long long>(rl.rlim_cur), cfg.edge.max_connections,
        static_cast<unsigned long long>(reserved_descriptors));
}
}  // namespace

int gateway_main(int argc, char** argv) {
  CLI::App app{"Bluelink gateway: durable incident transfers between control rooms"};
  std::string config_path, schemas_dir, ready_file, db_override;
  app.add_option("-c,--config", config_path, "gateway config file (JSON)")->required();
  app.add_option("--schemas", schemas_dir, "schemas directory (default: found beside the binary)");
  app.add_option("--ready-file", ready_file,
                 "write {\"port\":N} here once listening (for scripts and tests)");
  app.add_option("--database", db_override, "database path (overrides the config file)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; any other command-line mistake is a configuration error (exit 2).
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::unique_ptr<schema_set> schemas;
  gateway_config cfg;
  try {
    schemas = std::make_unique<schema_set>(
        schemas_dir.empty() ? schema_set::locate(argv[0]) : std::filesystem::path(schemas_dir));
    cfg = load_config(config_path, *schemas);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-gateway: %s\n", e.what());
    return 2;
  }
  if (!db_override.empty()) {
    cfg.database_engine = "sqlite";
    cfg.database_path = db_override;
  }
  store::store_options store_opts;
  try {
    store_opts = store::options_for(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-gateway: %s\n", e.what());
    return 2;
  }
  const std::string store_name = store::describe(store_opts);
  // Before any file is opened: the database, its -wal and -shm and the log are never readable
  // by other accounts on the machine (0600, or 0640 to the configured group).
  store::restrict_umask(cfg.file_group);
  bool tightened = false;
  try {
    if (store_opts.engine == store::engine_kind::sqlite)
      tightened = store::protect_file(cfg.database_path, cfg.file_group, true);
    if (!cfg.log_file.empty())
      tightened |= store::protect_file(cfg.log_file, cfg.file_group, false);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-gateway: %s\n", e.what());
    return 2;
  }
  std::shared_ptr<spdlog::logger> log;
  try {
    log = make_logger(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-gateway: cannot open log file '%s': %s\n", cfg.log_file.c_str(),
                 e.what());
    return 2;
  }

  if (tightened)
    log->warn("event=file_modes_tightened database={} log={} mode={}", log_quote(cfg.database_path),
              log_quote(cfg.log_file), cfg.file_group.empty() ? "0600" : "0640");
  metrics stats;
  inbox_notifier notifier;
  system_clock_source clock;
  token_auth auth(cfg);
  // Every long-lived thread beats; /metrics shows the ages and the watchdog below turns a silent
  // thread into a restart. Declared before every thread's owner, so that it outlives them all,
  // on the early-return paths too (a beat into a destroyed registry corrupted the heap).
  liveness live;
  std::unique_ptr<engine> eng;
  try {
    eng = std::make_unique<engine>(cfg, store_opts, stats, notifier, clock, log);
  } catch (const store::store_error& e) {
    log->critical("event=store_unusable store={} error={}", log_quote(store_name),
                  log_quote(e.what()));
    std::fprintf(stderr, "bluelink-gateway: cannot start: %s\n", e.what());
    return 3;
  }
  std::unique_ptr<store::reader> reader_store;
  try {
    reader_store = store::open_reader(store_opts);
  } catch (const store::store_error& e) {
    log->critical("event=store_unusable store={} error={}", log_quote(store_name),
                  log_quote(e.what()));
    std::fprintf(stderr, "bluelink-gateway: cannot start: %s\n", e.what());
    return 3;
  }
  store::reader& reader = *reader_store;
  // Deliveries and timeline events are read onwards only once they are on disk.
  reader.bound_by(eng->durable_marks());
  link_registry links;
  // Accounts and reports on the configured engine, each on connections of their own beside the
  // engine's writer and the reader.
  std::unique_ptr<accounts> accts;
  try {
    accts = std::make_unique<accounts>(cfg, store::open_account_store(store_opts));
  } catch (const std::exception& e) {
    log->critical("event=store_unusable store={} error={}", log_quote(store_name),
                  log_quote(e.what()));
    std::fprintf(stderr, "bluelink-gateway: cannot open the accounts store: %s\n", e.what());
    return 3;
  }
  // Coordinate conversion is a convenience for the console: without PROJ's data the gateway
  // still carries transfers, and /api/v1/geo says why it cannot convert.
  std::unique_ptr<geo> geo_convert;
  try {
    geo_convert = std::make_unique<geo>();
  } catch (const std::exception& e) {
    log->error("event=geo_unavailable error={}", log_quote(e.what()));
  }
  // One way in and one way out, shared by every edge (docs/architecture.md). Declared before the
  // hub, which acknowledges console-received deliveries through the stream.
  submit_pipeline pipeline(cfg, *schemas, *eng, log);
  delivery_stream deliveries(reader, notifier, *eng);
  console_hub hub(cfg, reader, links, log);
  eng->set_commit_listener([&hub] { hub.wake(); });
  // Several nodes on one PostgreSQL store: the other nodes' commits wake this node's readers and
  // consoles, links are shown cluster-wide, and one node at a time delivers to an agency's CAD.
  // Alone on SQLite.
  links.set_node(cfg.cluster.node_id);
  std::unique_ptr<cluster> nodes;
  try {
    nodes = std::make_unique<cluster>(
        cluster_options{cfg.cluster.node_id, std::chrono::milliseconds(cfg.cluster.heartbeat_ms),
                        std::chrono::milliseconds(cfg.cluster.node_ttl_ms),
                        std::chrono::milliseconds(cfg.cluster.lease_ttl_ms)},
        store::open_cluster_store(store_opts), notifier, links, log);
  } catch (const std::exception& e) {
    log->critical("event=store_unusable store={} error={}", log_quote(store_name),
                  log_quote(e.what()));
    std::fprintf(stderr, "bluelink-gateway: cannot start: %s\n", e.what());
    return 3;
  }
  nodes->set_timeline_listener([&hub] { hub.wake(); });
  nodes->set_presence_source([&hub] { return hub.presence(); });
  hub.set_deliveries(&deliveries);
  // An agency's own outage counts from now for a room never seen since the start.
  outage_monitor outages(cfg, clock.now());
  hub.set_outages(&outages, &clock);
  // Reads queue their access-log entries here, written in batches (docs/data-protection.md).
  access_queue accessq(*eng, log);
  // Personal data past its retention period is purged on a schedule (docs/data-protection.md).
  purge_scheduler purger(cfg, *eng, reader, clock, log);
  purger.set_accounts(store::open_account_store(store_opts));
  api_services services{cfg,    *schemas, auth,  *eng, pipeline, deliveries,
                        reader, stats,    links, log,  *accts};
  services.access = &accessq;
  services.purger = &purger;
  services.geo_convert = geo_convert.get();
  services.hub = &hub;
  services.live = &live;
  services.nodes = nodes.get();
  services.outages = &outages;
  const auto reports = store::open_report_store(store_opts);
  services.reports = reports.get();
  // Blocking work (password hashing, reports) runs here, never on the HTTP I/O threads.
  asio::thread_pool workers(static_cast<std::size_t>(services.worker_threads));
  services.workers = workers.get_executor();
  api handler(services);
  std::unique_ptr<cad::cad_link_server> cad_link;
  if (cfg.cad_link.enabled) {
    try {
      cad_link = std::make_unique<cad::cad_link_server>(
          cad::server_services{cfg, *schemas, *eng, pipeline, deliveries, reader, stats, links, log,
                               nodes.get()},
          cad::load_key_file(cfg.cad_link.server_key_file));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bluelink-gateway: %s\n", e.what());
      return 2;
    }
  }

  // HTTPS when a certificate is configured: TLS 1.2 or newer, the server's cipher order.
  std::unique_ptr<asio::ssl::context> tls;
  if (cfg.tls.enabled()) {
    try {
      tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
      tls->use_certificate_chain_file(cfg.tls.cert_file);
      tls->use_private_key_file(cfg.tls.key_file, asio::ssl::context::pem);
    } catch (const std::exception& e) {
      log->critical("event=tls_unusable cert={} key={} error={}", log_quote(cfg.tls.cert_file),
                    log_quote(cfg.tls.key_file), log_quote(e.what()));
      std::fprintf(stderr,
                   "bluelink-gateway: cannot use the TLS certificate '%s' with key '%s': %s\n",
                   cfg.tls.cert_file.c_str(), cfg.tls.key_file.c_str(), e.what());
      return 2;
    }
  }

  check_open_files_limit(cfg, *log);
  asio::io_context ioc(cfg.http_threads);
  std::shared_ptr<listener> lst;
  try {
    asio::ip::tcp::endpoint ep(asio::ip::make_address(cfg.listen_address), cfg.listen_port);
    listener_options lo;
    lo.http.body_limit = cfg.max_message_bytes;
    lo.http.header_timeout = std::chrono::milliseconds(cfg.edge.header_timeout_ms);
    lo.connections.max_total = cfg.edge.max_connections;
    lo.connections.max_per_address = cfg.edge.max_connections_per_address;
    lst = std::make_shared<listener>(ioc, ep, handler, lo, stats, log, tls.get());
  } catch (const std::exception& e) {
    log->critical("event=listen_failed address={} port={} error={}", log_quote(cfg.listen_address),
                  cfg.listen_port, log_quote(e.what()));
    std::fprintf(stderr, "bluelink-gateway: cannot listen on %s:%u: %s\n",
                 cfg.listen_address.c_str(), cfg.listen_port, e.what());
    return 4;
  }
  eng->set_beat(&live.add("engine"));
  hub.set_beat(&live.add("console_hub"));
  if (cad_link) cad_link->set_beat(&live.add("cad_link"));
  if (!nodes->alone()) nodes->set_beat(&live.add("cluster"));
  accessq.set_beat(&live.add("access_log"));
  purger.set_beat(&live.add("retention"));
  // The HTTP/WebSocket I/O threads and every timer on them (inbox and UCRI2 long-polls, EIDO
  // subscriptions' poll, rate and expiry timers, console session checks) beat through one timer
  // on the same io_context; the worker pool beats as its jobs start and end, and while idle.
  liveness::beat& io_beat = live.add("io");
  handler.set_workers_beat(&live.add("workers"));
  try {
    eng->start();
  } catch (const std::exception& e) {
    // The first sync of the write-ahead log: a disk that cannot take it cannot take transfers.
    log->critical("event=store_unusable store={} error={}", log_quote(store_name),
                  log_quote(e.what()));
    std::fprintf(stderr, "bluelink-gateway: cannot start: %s\n", e.what());
    return 3;
  }
  hub.start();
  nodes->start();
  if (cad_link) {
    try {
      cad_link->start();
    } catch (const std::exception& e) {
      log->critical("event=listen_failed edge=cad endpoint={} error={}",
                    log_quote(cfg.cad_link.listen), log_quote(e.what()));
      std::fprintf(stderr, "bluelink-gateway: cannot bind the CAD link at %s: %s\n",
                   cfg.cad_link.listen.c_str(), e.what());
      purger.stop();
      accessq.stop();
      eng->stop();
      nodes->stop();
      hub.stop();
      return 4;
    }
  }
  lst->run();
  log->info(
      "event=listening address={} port={} scheme={} database={} synchronous={} agencies={} "
      "max_connections={} max_connections_per_address={} header_timeout_ms={}",
      log_quote(cfg.listen_address), lst->port(), tls ? "https" : "http", log_quote(store_name),
      cfg.synchronous_full ? "full" : "normal", cfg.agencies.size(), cfg.edge.max_connections,
      cfg.edge.max_connections_per_address, cfg.edge.header_timeout_ms);
  if (!ready_file.empty()) {
    std::ofstream(ready_file + ".tmp")
        << nlohmann::json{{"port", lst->port()},
                          {"cad_endpoint", cad_link ? cad_link->endpoint() : std::string()}}
               .dump()
        << "\n";
    std::filesystem::rename(ready_file + ".tmp", ready_file);
  }

  // First signal: stop accepting, refuse new submissions, drain the engine, then stop.
  // Second signal: stop at once (everything receipted is already on disk).
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer grace(ioc);
  std::thread drainer;
  std::atomic<bool> drain_started{false};  // handlers run on several I/O threads
  std::atomic<int> exit_code{0};
  // Runs on an I/O thread: stop listening, refuse new submissions, drain, then stop the loop.
  std::function<void()> drain = [&] {
    if (drain_started.exchange(true)) return;
    lst->stop();
    handler.begin_shutdown();
    notifier.notify_all();
    // The engine's stop() blocks until its queue is empty; do it off the I/O threads.
    if (cad_link) cad_link->begin_shutdown();
    drainer = std::thread([&] {
      purger.stop();
      accessq.stop();
      eng->stop();
      // Receipts for what the engine drained still go out before the CAD link closes.
      if (cad_link) cad_link->stop();
      // Then this node leaves the cluster: its CAD leases go at once, not after their TTL.
      nodes->stop();
      asio::post(ioc, [&] {
        grace.expires_after(std::chrono::milliseconds(300));
        grace.async_wait([&](boost::system::error_code) {
          signals.cancel();
          ioc.stop();
        });
      });
    });
  };
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                      int sig) {
    if (ec) return;
    if (drain_started) {
      // Everything receipted is already on disk; whatever is still queued was never receipted.
      log->warn("event=hard_stop signal={}", sig);
      log->flush();
      std::_Exit(130);
    }
    log->info("event=draining signal={}", sig);
    drain();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  // The failure policy (docs/architecture.md): when a long-lived part of the gateway fails, it
  // says so everywhere (log, audit, /healthz 503 naming it, bl.gateway.degraded to every new
  // submission), keeps answering /healthz for a moment so monitors and consoles see why, then
  // drains everything already accepted and exits with code 5 for its supervisor to restart it.
  asio::steady_timer failure_hold(ioc);
  std::atomic<bool> failed{false};
  auto component_failed = [&](const std::string& component, const std::string& why) {
    if (failed.exchange(true)) return;
    log->critical("event=component_failed component={} error={} action=drain_and_exit exit_code=5",
                  component, log_quote(why));
    eng->set_degraded(component + ": " + why);
    handler.set_degraded(component, why);
    notifier.notify_all();  // long-polls answer now rather than wait on a gateway going away
    exit_code = 5;
    // A stalled thread (the I/O threads themselves, even) may never let the drain run or finish:
    // the supervisor must still get its restart. Everything receipted is on disk already.
    std::thread([log] {
      std::this_thread::sleep_for(std::chrono::seconds(32));
      log->critical("event=drain_timeout action=exit exit_code=5");
      log->flush();
      std::_Exit(5);
    }).detach();
    asio::post(ioc, [&] {
      failure_hold.expires_after(std::chrono::seconds(2));
      failure_hold.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        log->warn("event=draining reason=component_failed");
        drain();
      });
    });
  };
  if (cad_link)
    cad_link->set_failure_handler(
        [&](const std::string& why) { component_failed("cad_link", why); });
  // Started once its failure has somewhere to go; before any I/O thread runs a read.
  accessq.set_failure_handler([&](const std::string& why) { component_failed("access_log", why); });
  purger.set_failure_handler([&](const std::string& why) { component_failed("retention", why); });
  accessq.start();
  // Personal data kept without a period is kept until one is set: say so at each start.
  for (const auto& a : cfg.agencies) {
    auto r = cfg.retention_of(a.id);
    if (!r.transfers_days || !r.calls_days || !r.logs_days)
      log->warn("event=retention_not_set agency={} transfers_days={} calls_days={} logs_days={}",
                a.id, r.transfers_days ? std::to_string(*r.transfers_days) : "unset",
                r.calls_days ? std::to_string(*r.calls_days) : "unset",
                r.logs_days ? std::to_string(*r.logs_days) : "unset");
  }
  purger.start(std::chrono::seconds(10));

  // The I/O beat: a handler that cannot run within limits.thread_stall_s means every I/O thread
  // is stuck (the failpoint io.stall holds one in this handler, as a stuck handler would).
  asio::steady_timer io_timer(ioc);
  std::function<void(boost::system::error_code)> beat_io = [&](boost::system::error_code ec) {
    if (ec) return;
    while (failpoint("io.stall") && !drain_started)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    io_beat();
    handler.beat_idle_workers();
    io_timer.expires_after(std::chrono::milliseconds(250));
    io_timer.async_wait(beat_io);
  };
  io_timer.expires_after(std::chrono::milliseconds(250));
  io_timer.async_wait(beat_io);

  // The watchdog runs on a thread of its own, so that it still sees the I/O threads when they
  // are the ones that stalled. The engine reports its own end through health(); a thread silent
  // for limits.thread_stall_s is stalled. Either way: the same policy (component_failed).
  std::mutex watchdog_mu;
  std::condition_variable watchdog_cv;
  bool watchdog_stop = false;
  std::thread watchdog([&] {
    std::unique_lock lock(watchdog_mu);
    while (!watchdog_cv.wait_for(lock, std::chrono::seconds(1), [&] { return watchdog_stop; })) {
      if (drain_started || failed) continue;
      // Nothing may end this thread (std::terminate): a fault is logged, and the next second
      // looks again.
      try {
        auto h = eng->health();
        if (!h.running)
          component_failed("engine", h.error.empty() ? "the engine stopped" : h.error);
        for (const auto& [component, age] : live.ages())
          if (age > cfg.edge.thread_stall_s)
            component_failed(component, "no progress for " + std::to_string(static_cast<int>(age)) +
                                            " s (limits.thread_stall_s is " +
                                            std::to_string(cfg.edge.thread_stall_s) + ")");
      } catch (const std::exception& e) {
        log->error("event=watchdog_error error={}", log_quote(e.what()));
      }
    }
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < cfg.http_threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(watchdog_mu);
    watchdog_stop = true;
  }
  watchdog_cv.notify_all();
  watchdog.join();
  if (drainer.joinable()) drainer.join();
  purger.stop();
  accessq.stop();
  eng->stop();
  if (cad_link) cad_link->stop();
  nodes->stop();
  hub.stop();
  log->info("event=stopped exit_code={}", exit_code.load());
  log->flush();
  return exit_code;
}

}  // namespace bl
