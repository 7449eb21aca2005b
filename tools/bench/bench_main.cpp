// bluelink-bench: a load generator for the gateway's message API (POST /api/v1/messages) and,
// with --link cad, for the ZeroMQ CAD link (docs/protocols/cad-link.md) end to end.
//
// HTTP (the default): two measurements, each against a gateway it starts itself
// (synchronous=FULL, so every receipt means the transfer is on disk), or against a running gateway
// given by --port and --token:
//  - throughput: N keep-alive connections, each sending its next request as soon as the last one
//    is answered, for D seconds; counts receipted (202) transfers per second.
//  - latency: an open-loop schedule of R requests per second over the same connections. Latency
//    runs from each request's *scheduled* send time, so a stalled gateway cannot hide behind a
//    load generator that slows down with it (no coordinated omission).
// One thread drives every connection with Asio, so 64 or 1,000 connections cost little.
// --engine postgres|both (HTTP or CAD link, started gateways only): the same measurements on a
// gateway whose store is PostgreSQL, on a server the bench starts for each measurement
// (tools/pg_server: initdb in a temp dir, Unix socket, fsync and synchronous_commit on,
// stopped at the end); `both` measures SQLite first, then PostgreSQL, and writes one section with
// both engines side by side. The default (--engine sqlite) is the SQLite-only section as before.
//
// CAD link (--link cad): a gateway started with a CURVE-secured CAD link and two CAD clients
// (adapters/zmq_cad/cad_client.hpp) in this process. Fire submits transfer.requests to Police;
// the clock stops when Police's CAD is handed the delivery (on_delivery), so the figures cover
// the whole path: submit, CURVE/ZMTP, validation, group commit with fsync, the Police queue and
// the deliver frame. Receipt latency (submit to receipt at Fire) is measured as well.
//  - throughput: a closed loop with at most --in-flight transfers submitted but not yet
//    delivered at Police; counts deliveries per second.
//  - latency: an open-loop schedule of R submits per second, timed from each scheduled time.
//
// Results are printed as Markdown; --write FILE replaces the bench's section of FILE (each link
// has its own section, between its own markers).

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <zmq.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/service/accounts.hpp"
#include "tools/bench/bench_doc.hpp"
#include "tools/bench/pages_bench.hpp"
#include "tools/bench/report_data.hpp"
#include "tools/pg_server/pg_server.hpp"
#include "tools/samples/sample_requests.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using nlohmann::json;
using steady = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

struct bench_options {
  unsigned short port = 0;  // 0: start a gateway
  std::string token;
  std::string from = "essex-fire";
  std::string to = "essex-police";
  int connections = 64;
  int duration_s = 10;
  int warmup_s = 1;
  int rate = 1000;
  std::string mode = "both";  // throughput | latency | both
  std::string write_path;
  std::string gateway_bin = BL_GATEWAY_BIN;
  std::string db_dir;  // where the started gateway keeps its database (default: temp dir)
  std::string synchronous = "full";
  std::string log_level = "info";
  int http_threads = 2;
  std::string link = "http";      // http | cad
  std::string engine = "sqlite";  // http: sqlite | postgres | both
  int in_flight = 512;            // cad throughput: transfers submitted but not yet delivered
  int window = 256;               // cad: the receiving CAD's delivery window
  int drain_s = 30;  // cad: how long to wait for the last deliveries after the schedule
  std::int64_t report_calls = 1'000'000;      // contention: phone calls in the five years
  std::int64_t report_transfers = 1'000'000;  // contention: transfers in the five years
  int sign_ins = 20;                          // contention: sign-ins at once, every 3 s
  std::string command;                        // the command line, for the report
  std::int64_t pages_transfers = 1'000'000;   // pages: transfers in the generated year
  int pages_runs = 20;                        // pages: runs of each page
  bool reuse = false;                         // pages: time the database left in --db-dir
  int purge_batch = 50;                       // purge: transfers per transaction
};

// ---------------------------------------------------------------------------------------------
// The machine, for the report.

using bl::bench::cpu_model;
using bl::bench::kernel;
using bl::bench::write_section;

std::string fs_type(const fs::path& p) {
  struct statfs s {};
  if (statfs(p.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs (no real fsync)";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "fs magic 0x%lx", static_cast<unsigned long>(s.f_type));
      return buf;
    }
  }
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// User + system CPU of one process so far (0 when it is gone).
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// User + system CPU of a PostgreSQL server so far: the postmaster and every process it started
// (backends, WAL writer, checkpointer), read from /proc.
double server_cpu_seconds(pid_t postmaster) {
  double total = process_cpu_seconds(postmaster);
  for (int child : bl::test::children_of(postmaster))
    total += process_cpu_seconds(static_cast<pid_t>(child));
  return total;
}

// ---------------------------------------------------------------------------------------------
// A gateway started for one measurement, in a temporary directory of its own.
// Owns the child process and the directory; SIGTERM (then SIGKILL) and removal on destruction.

bl::cad::key_pair new_curve_keys() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0)
    throw std::runtime_error("zmq_curve_keypair failed (libzmq built without CURVE?)");
  return {pub, sec};
}

class gateway_child {
 public:
  /// With `with_cad`, the gateway also opens its CAD link on a free loopback port, with fresh
  /// CURVE keys for itself and for the CADs of o.from and o.to.
  /// `prepare`, when given, runs before the start with the database path and the config, to
  /// put data in the database or change the config.
  explicit gateway_child(const bench_options& o, bool with_cad = false,
                         const std::function<void(const fs::path&, json&)>& prepare = {})
      : token_("bench-token-" + o.from), with_cad_(with_cad) {
    fs::path base = o.db_dir.empty() ? fs::temp_directory_path() : fs::path(o.db_dir);
    std::string tmpl = (base / "bluelink-bench.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed in " + base.string());
    dir_ = tmpl;
    json agencies = json::array(), tokens = json::array();
    const std::vector<std::pair<std::string, std::string>> all = {
        {"essex-fire", "fire"}, {"essex-police", "police"}, {"eeast-ambulance", "ambulance"}};
    for (const auto& [id, kind] : all) {
      agencies.push_back({{"id", id}, {"name", id}, {"kind", kind}, {"phone", "01632 960000"}});
      tokens.push_back({{"agency", id}, {"sha256", bl::sha256_hex("bench-token-" + id)}});
    }
    json timers = {
        {"time_to_delivery_s", 3600}, {"time_to_decision_s", 7200}, {"default_expiry_s", 86400}};
    json cfg = {
        {"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
        {"database", {{"path", (dir_ / "bench.db").string()}, {"synchronous", o.synchronous}}},
        {"agencies", agencies},
        {"tokens", tokens},
        {"priorities", {{"emergency", timers}, {"urgent", timers}, {"routine", timers}}},
        // The benchmark measures throughput, not the per-agency limits: lift them.
        {"limits",
         {{"http_threads", o.http_threads},
          {"agency_submissions_per_second", 1000000},
          {"agency_submission_burst", 1000000},
          {"inbox_quota", 10000000}}},
        {"log", {{"level", o.log_level}}}};
    if (with_cad) {
      server_keys_ = new_curve_keys();
      std::ofstream(dir_ / "gateway.key")
          << json{{"public", server_keys_.public_key}, {"secret", server_keys_.secret_key}}.dump();
      json clients = json::array();
      for (const auto& agency : {o.from, o.to}) {
        cad_keys_[agency] = new_curve_keys();
        clients.push_back({{"agency", agency}, {"public_key", cad_keys_[agency].public_key}});
      }
      cfg["cad_link"] = {{"listen", "tcp://127.0.0.1:*"},
                         {"server_key_file", (dir_ / "gateway.key").string()},
                         {"clients", clients}};
    }
    if (o.engine == "postgres") {
      // A server of its own in the gateway's directory, durable (fsync, synchronous_commit=on).
      // The server's own shared_buffers, and initdb's writes flushed before the measurement.
      bl::test::pg_server_options pg_options;
      pg_options.parent = base;
      pg_options.max_connections = 40;
      pg_options.shared_buffers.clear();
      pg_options.sync_initdb = true;
      pg_.emplace(pg_options);
      pg_->create_database("bench");
      cfg["database"] = {{"engine", "postgres"}, {"conninfo", pg_->conninfo("bench")}};
    }
    if (prepare) prepare(dir_ / "bench.db", cfg);
    std::ofstream(dir_ / "gateway.json") << cfg.dump(2);
    start(o.gateway_bin);
  }

  ~gateway_child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 3000 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  gateway_child(const gateway_child&) = delete;
  gateway_child& operator=(const gateway_child&) = delete;

  unsigned short port() const { return port_; }
  const std::string& token() const { return token_; }
  const fs::path& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  /// The CAD link's bound endpoint (tcp://127.0.0.1:N), from the ready file.
  const std::string& cad_endpoint() const { return cad_endpoint_; }
  const bl::cad::key_pair& server_keys() const { return server_keys_; }
  const bl::cad::key_pair& cad_keys(const std::string& agency) const {
    return cad_keys_.at(agency);
  }
  /// User + system CPU the gateway has used so far.
  double cpu_seconds() const { return process_cpu_seconds(pid_); }
  /// The PostgreSQL server the bench started for this gateway (--engine postgres), if any.
  const bl::test::pg_server* pg() const { return pg_ ? &*pg_ : nullptr; }

 private:
  void start(const std::string& bin) {
    std::vector<std::string> args = {bin, "--config", (dir_ / "gateway.json").string(),
                                     "--ready-file", (dir_ / "ready.json").string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
    if (!std::getenv("BLUELINK_SCHEMAS"))
      env.push_back(std::string("BLUELINK_SCHEMAS=") + BL_SOURCE_DIR + "/schemas");
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string err_file = (dir_ / "gateway.stderr").string();

    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) dup2(fd, STDERR_FILENO);
      close_range(3, ~0U, 0);
      execve(bin.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    const auto deadline = steady::now() + std::chrono::seconds(20);
    for (;;) {
      std::ifstream ready(dir_ / "ready.json");
      json j = json::parse(ready, nullptr, false);
      if (!j.is_discarded() && j.contains("port")) {
        port_ = j["port"].get<unsigned short>();
        cad_endpoint_ = j.value("cad_endpoint", std::string());
        if (with_cad_ && cad_endpoint_.empty())
          throw std::runtime_error("the gateway's ready file names no cad_endpoint");
        return;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_ || steady::now() > deadline) {
        std::ifstream err(err_file);
        std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
        pid_ = -1;
        throw std::runtime_error("the gateway did not start: " + text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  fs::path dir_;
  std::string token_;
  bool with_cad_ = false;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::string cad_endpoint_;
  bl::cad::key_pair server_keys_;
  std::map<std::string, bl::cad::key_pair> cad_keys_;
  std::optional<bl::test::pg_server> pg_;  // stopped after the gateway (destructor body)
};

// ---------------------------------------------------------------------------------------------
// The request body: a realistic 2 KB transfer.request with a fresh id for every send. The JSON is
// serialised once; each send only splices in its id, so the load generator stays cheap.

class body_template {
 public:
  body_template(const std::string& from, const std::string& to) : from_(from) {
    json m = bl::samples::a12_rtc_request("@ID@", from, to);
    std::string text = m.dump();
    auto at = text.find("@ID@");
    prefix_ = text.substr(0, at);
    suffix_ = text.substr(at + 4);
    std::mt19937_64 rng{std::random_device{}()};
    char tag[17];
    std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(rng()));
    run_tag_ = tag;
  }

  std::string next() {
    return prefix_ + from_ + ":bench-" + run_tag_ + "-" + std::to_string(++counter_) + suffix_;
  }
  std::size_t size() const { return prefix_.size() + suffix_.size() + from_.size() + 32; }

 private:
  std::string from_, prefix_, suffix_, run_tag_;
  std::uint64_t counter_ = 0;
};

// ---------------------------------------------------------------------------------------------
// One measurement.

struct phase_spec {
  std::string name;
  bool open_loop = false;
  double rate = 0;  // open loop only
  int connections = 64;
  std::chrono::seconds warmup{1};
  std::chrono::seconds duration{10};
  /// --mode reads: each request is GET of this target (a transfer's detail) and a 200 counts;
  /// "seed" until run_phase has stored the transfer. Empty: POST /api/v1/messages, 202 counts.
  std::string read_target{};
};

struct phase_result {
  phase_spec spec;
  double window_s = 0;
  std::uint64_t receipted = 0;  // 202s answered in the measurement window
  std::uint64_t failed = 0;     // connection errors and timeouts (all phases)
  // Requests sent again on a new connection because the gateway had closed their idle kept-alive
  // one (header_timeout) before it read them, as an HTTP client does (all phases).
  std::uint64_t resent = 0;
  std::map<int, std::uint64_t> statuses;
  std::vector<double> latency_ms;  // requests scheduled in the window
  double gateway_cpu_s = -1;
  double bench_cpu_s = 0;
  double server_cpu_s = -1;  // the PostgreSQL server's processes (--engine postgres)

  double percentile(double p) const {
    if (latency_ms.empty()) return 0;
    auto i = static_cast<std::size_t>(std::ceil(p / 100.0 * latency_ms.size())) - 1;
    return latency_ms[std::min(i, latency_ms.size() - 1)];
  }
};

class load_phase;

/// One keep-alive connection. Owned by the phase (shared_ptr) and by its pending handler.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(asio::io_context& ioc, load_phase& phase, tcp::endpoint ep, const std::string& token,
             const std::string& read_target)
      : stream_(ioc), phase_(phase), ep_(ep), reads_(!read_target.empty()) {
    req_.method(reads_ ? http::verb::get : http::verb::post);
    req_.target(reads_ ? read_target : "/api/v1/messages");
    req_.version(11);
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::authorization, "Bearer " + token);
    if (!reads_) req_.set(http::field::content_type, "application/json");
    req_.keep_alive(true);
  }
  void start() { do_connect(); }
  void send(steady::time_point scheduled, std::string body);
  void close() {
    closed_ = true;
    beast::error_code ec;
    stream_.socket().close(ec);
  }

 private:
  void do_connect();
  void on_connect(beast::error_code ec);
  void on_write(beast::error_code ec);
  void on_read(beast::error_code ec, std::size_t bytes);
  void fail(beast::error_code ec = {}, bool answered_nothing = false);
  void write();

  beast::tcp_stream stream_;
  load_phase& phase_;
  tcp::endpoint ep_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  steady::time_point scheduled_;
  bool closed_ = false;
  bool resend_ = false;  // reconnecting to send req_ again
  bool resent_ = false;  // req_ was sent again once already (a second close is a failure)
  bool reads_ = false;   // GET of a transfer (--mode reads): no body
};

/// Drives every connection of one measurement on one io_context until the schedule is done and
/// the last answer is in.
class load_phase {
 public:
  load_phase(asio::io_context& ioc, tcp::endpoint ep, std::string token, phase_spec spec,
             body_template& body, std::function<double()> gateway_cpu,
             std::function<double()> server_cpu = {})
      : ioc_(ioc),
        ep_(ep),
        token_(std::move(token)),
        spec_(std::move(spec)),
        body_(body),
        gateway_cpu_(std::move(gateway_cpu)),
        server_cpu_(std::move(server_cpu)),
        tick_timer_(ioc),
        progress_timer_(ioc) {}

  phase_result run() {
    result_.spec = spec_;
    start_ = steady::now() + std::chrono::milliseconds(200);  // time to open the connections
    window_begin_ = start_ + spec_.warmup;
    end_ = window_begin_ + spec_.duration;
    for (int i = 0; i < spec_.connections; ++i) {
      conns_.push_back(std::make_shared<connection>(ioc_, *this, ep_, token_, spec_.read_target));
      conns_.back()->start();
    }
    tick_timer_.expires_at(start_);
    tick_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) on_tick();
    });
    do_progress();
    ioc_.restart();
    ioc_.run();
    result_.window_s = std::chrono::duration<double>(end_ - window_begin_).count();
    std::sort(result_.latency_ms.begin(), result_.latency_ms.end());
    return std::move(result_);
  }

  /// A connection is ready for its first (or, after an error, next) request.
  void on_ready(connection& c) {
    idle_.push_back(&c);
    assign();
  }

  /// A request is sent again on a new connection (connection::fail).
  void on_resend() { ++result_.resent; }

  /// A request finished: `status` 0 means the connection failed. A connection that is not
  /// `reusable` reconnects and reports on_ready() again.
  void on_answer(connection& c, steady::time_point scheduled, int status, bool reusable) {
    --in_flight_;
    auto now = steady::now();
    if (status == 0)
      ++result_.failed;
    else
      ++result_.statuses[status];
    const int ok = spec_.read_target.empty() ? 202 : 200;
    if (status == ok) ++total_receipted_;
    if (scheduled >= window_begin_ && scheduled < end_) {
      if (status == ok && (spec_.open_loop || now < end_)) ++result_.receipted;
      result_.latency_ms.push_back(
          std::chrono::duration<double, std::milli>(now - scheduled).count());
    }
    if (reusable) {
      idle_.push_back(&c);
      assign();
    }
    maybe_finish();
  }

 private:
  steady::time_point slot(std::uint64_t i) const {
    return start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * i / spec_.rate));
  }

  void on_tick() {
    auto now = steady::now();
    if (now >= window_begin_ && !window_started_) {
      window_started_ = true;
      cpu_at_begin_ = gateway_cpu_ ? gateway_cpu_() : -1;
      server_cpu_at_begin_ = server_cpu_ ? server_cpu_() : -1;
      self_cpu_at_begin_ = self_cpu_seconds();
    }
    if (spec_.open_loop) {
      // Everything whose time has come is queued now, even if no connection is free: the wait for
      // a connection is part of the latency a control room would see.
      while (slot(next_slot_) <= now && slot(next_slot_) < end_)
        pending_.push_back(slot(next_slot_++));
      assign();
    } else {
      running_ = now < end_;
      assign();
    }
    if (now >= end_) {
      scheduling_done_ = true;
      result_.gateway_cpu_s = gateway_cpu_ ? gateway_cpu_() - cpu_at_begin_ : -1;
      result_.server_cpu_s = server_cpu_ ? server_cpu_() - server_cpu_at_begin_ : -1;
      result_.bench_cpu_s = self_cpu_seconds() - self_cpu_at_begin_;
      maybe_finish();
      return;
    }
    auto next = spec_.open_loop ? std::min(slot(next_slot_), end_)
                                : std::min(now + std::chrono::milliseconds(50), end_);
    if (!window_started_) next = std::min(next, window_begin_);
    tick_timer_.expires_at(next);
    tick_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) on_tick();
    });
  }

  void assign() {
    while (!idle_.empty()) {
      steady::time_point when;
      if (spec_.open_loop) {
        if (pending_.empty()) return;
        when = pending_.front();
        pending_.pop_front();
      } else {
        when = steady::now();
        if (!running_ || when >= end_) return;
      }
      connection* c = idle_.back();
      idle_.pop_back();
      ++in_flight_;
      c->send(when, body_.next());
    }
  }

  void maybe_finish() {
    if (!scheduling_done_ || in_flight_ > 0 || finished_) return;
    if (spec_.open_loop && !pending_.empty()) return;
    finished_ = true;
    tick_timer_.cancel();
    progress_timer_.cancel();
    for (auto& c : conns_) c->close();
  }

  void do_progress() {
    progress_timer_.expires_after(std::chrono::seconds(1));
    progress_timer_.async_wait([this](beast::error_code ec) {
      if (ec || finished_) return;
      auto t = std::chrono::duration<double>(steady::now() - start_).count();
      std::fprintf(stderr,
                   "[%s] %5.1f s  %7llu receipted/s  in flight %3d  queued %5zu  failed %llu\n",
                   spec_.name.c_str(), t,
                   static_cast<unsigned long long>(total_receipted_ - receipted_last_second_),
                   in_flight_, pending_.size(), static_cast<unsigned long long>(result_.failed));
      receipted_last_second_ = total_receipted_;
      do_progress();
    });
  }

  asio::io_context& ioc_;
  tcp::endpoint ep_;
  std::string token_;
  phase_spec spec_;
  body_template& body_;
  std::function<double()> gateway_cpu_;
  std::function<double()> server_cpu_;
  asio::steady_timer tick_timer_, progress_timer_;
  std::vector<std::shared_ptr<connection>> conns_;
  std::vector<connection*> idle_;
  std::deque<steady::time_point> pending_;
  steady::time_point start_, window_begin_, end_;
  std::uint64_t next_slot_ = 0;
  int in_flight_ = 0;
  bool running_ = false, window_started_ = false, scheduling_done_ = false, finished_ = false;
  std::uint64_t total_receipted_ = 0, receipted_last_second_ = 0;
  double cpu_at_begin_ = 0, self_cpu_at_begin_ = 0, server_cpu_at_begin_ = 0;
  phase_result result_;
};

void connection::do_connect() {
  stream_.expires_after(std::chrono::seconds(10));
  stream_.async_connect(
      ep_, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
}

void connection::on_connect(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    // The gateway is not accepting (yet): try again shortly rather than spin.
    auto t = std::make_shared<asio::steady_timer>(stream_.get_executor(),
                                                  std::chrono::milliseconds(100));
    t->async_wait([self = shared_from_this(), t](beast::error_code) { self->do_connect(); });
    return;
  }
  stream_.socket().set_option(tcp::no_delay(true), ec);
  if (resend_) {
    resend_ = false;
    return write();
  }
  phase_.on_ready(*this);
}

void connection::send(steady::time_point scheduled, std::string body) {
  scheduled_ = scheduled;
  resent_ = false;
  if (reads_) body.clear();
  req_.body() = std::move(body);
  req_.prepare_payload();
  write();
}

void connection::write() {
  stream_.expires_after(std::chrono::seconds(30));
  http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_write(ec);
  });
}

void connection::on_write(beast::error_code ec) {
  if (ec) return fail(ec, true);
  res_ = {};
  http::async_read(
      stream_, buffer_, res_,
      [self = shared_from_this()](beast::error_code e, std::size_t n) { self->on_read(e, n); });
}

void connection::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) return fail(ec, bytes == 0 && buffer_.size() == 0);
  const bool keep = res_.keep_alive();
  if (!keep) {
    // The gateway is closing this connection: open a new one before taking more work.
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
  }
  phase_.on_answer(*this, scheduled_, static_cast<int>(res_.result_int()), keep);
  if (!keep && !closed_) do_connect();
}

void connection::fail(beast::error_code ec, bool answered_nothing) {
  if (closed_) return;
  beast::error_code ignored;
  stream_.socket().close(ignored);
  // Only a close by the gateway (not a timeout: a gateway that stops answering is a failure).
  const bool closed_by_peer = ec == http::error::end_of_stream || ec == asio::error::eof ||
                              ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
  const bool stale = answered_nothing && closed_by_peer && !resent_;
  buffer_.clear();
  if (stale) {
    // The gateway closed this connection while it was idle (its header_timeout: 10 s without a
    // request, whether after the connect or after an answer), as servers do, and read nothing of
    // the request: send it again, once, on a new connection, with its scheduled time kept (the
    // latency includes the reconnect).
    phase_.on_resend();
    resend_ = resent_ = true;
    return do_connect();
  }
  std::fprintf(stderr, "connection error (%s): %s\n",
               answered_nothing ? "nothing of an answer read" : "part of an answer read",
               ec.message().c_str());
  phase_.on_answer(*this, scheduled_, 0, false);
  if (!closed_) do_connect();
}

// ---------------------------------------------------------------------------------------------
// Reporting.

std::string fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string cpu_cell(double cpu_s, double window_s) {
  if (cpu_s < 0) return "n/a";
  return fmt(100.0 * cpu_s / window_s, 0) + " %";
}

std::string other_statuses(const phase_result& r) {
  std::string out;
  for (auto& [status, n] : r.statuses)
    if (status != (r.spec.read_target.empty() ? 202 : 200))
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " × " + std::to_string(status);
  if (r.failed) out += (out.empty() ? "" : ", ") + std::to_string(r.failed) + " connection errors";
  if (out.empty()) out = "none";
  if (r.resent)
    out += " (" + std::to_string(r.resent) +
           " resent on a new connection: the gateway had closed their idle kept-alive one)";
  return out;
}

std::string report(const bench_options& o, const std::string& db_fs,
                   const std::optional<phase_result>& tp, const std::optional<phase_result>& lat,
                   std::size_t body_bytes) {
  std::ostringstream md;
  md << "## HTTP message API (bluelink-bench)\n\n";
  md << "Measured " << utc_now() << ". Every request is a new `transfer.request` of about "
     << (body_bytes / 100) * 100 << " bytes (" << o.from << " → " << o.to
     << ", the A12 RTC); a receipt (HTTP 202) means the transfer, its delivery queue entry and "
        "its audit row are committed.\n\n";
  md << "| | |\n|---|---|\n";
  md << "| CPU | " << cpu_model() << ", `nproc` = " << std::thread::hardware_concurrency()
     << " (load generator and gateway share them) |\n";
  md << "| kernel | " << kernel() << " |\n";
  if (o.port == 0)
    md << "| gateway | " << BL_BUILD_TYPE
       << " build, started by the bench; synchronous=" << o.synchronous << ", WAL; "
       << o.http_threads << " HTTP threads; log level " << o.log_level << " |\n"
       << "| database | " << db_fs << " |\n";
  else
    md << "| gateway | already running on port " << o.port << " (its settings are its own) |\n";
  md << "| command | `" << o.command << "` |\n\n";

  if (tp) {
    const auto& r = *tp;
    md << "### Maximum throughput (closed loop)\n\n"
       << r.spec.connections << " keep-alive connections, each sending its next request as soon as "
       << "the previous one is answered; " << r.spec.warmup.count() << " s warm-up, then "
       << r.spec.duration.count() << " s measured.\n\n"
       << "| receipted transfers/s | receipted | latency p50 | p99 | max | other answers | gateway "
          "CPU | bench CPU |\n"
       << "|---:|---:|---:|---:|---:|---|---:|---:|\n"
       << "| **" << with_commas(static_cast<std::uint64_t>(r.receipted / r.window_s)) << "** | "
       << with_commas(r.receipted) << " | " << fmt(r.percentile(50)) << " ms | "
       << fmt(r.percentile(99)) << " ms | " << fmt(r.latency_ms.empty() ? 0 : r.latency_ms.back())
       << " ms | " << other_statuses(r) << " | " << cpu_cell(r.gateway_cpu_s, r.window_s) << " | "
       << cpu_cell(r.bench_cpu_s, r.window_s) << " |\n\n";
  }
  if (lat) {
    const auto& r = *lat;
    md << "### Latency at a fixed offered rate (open loop)\n\n"
       << with_commas(static_cast<std::uint64_t>(r.spec.rate))
       << " requests/s on a fixed schedule over " << r.spec.connections
       << " connections; latency is measured from each request's scheduled "
       << "send time to its receipt; " << r.spec.warmup.count() << " s warm-up, then "
       << r.spec.duration.count() << " s measured.\n\n"
       << "| offered/s | receipted/s | p50 | p90 | p99 | p99.9 | max | other answers | gateway CPU "
          "| bench CPU |\n"
       << "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n"
       << "| " << with_commas(static_cast<std::uint64_t>(r.spec.rate)) << " | "
       << with_commas(static_cast<std::uint64_t>(r.receipted / r.window_s)) << " | "
       << fmt(r.percentile(50), 2) << " ms | " << fmt(r.percentile(90), 2) << " ms | **"
       << fmt(r.percentile(99), 2) << " ms** | " << fmt(r.percentile(99.9), 2) << " ms | "
       << fmt(r.latency_ms.empty() ? 0 : r.latency_ms.back(), 2) << " ms | " << other_statuses(r)
       << " | " << cpu_cell(r.gateway_cpu_s, r.window_s) << " | "
       << cpu_cell(r.bench_cpu_s, r.window_s) << " |\n\n";
  }
  if (tp || lat) {
    md << "Targets: ";
    if (tp)
      md << "≥ 5,000 receipted transfers/s — "
         << (tp->receipted / tp->window_s >= 5000 ? "**met**" : "**missed**");
    if (tp && lat) md << "; ";
    if (lat)
      md << "p99 < 20 ms at " << with_commas(static_cast<std::uint64_t>(lat->spec.rate)) << "/s — "
         << (lat->percentile(99) < 20 ? "**met**" : "**missed**");
    md << ".\n";
  }
  return md.str();
}

/// One engine's two measurements (--engine).
struct engine_run {
  std::string engine;  // sqlite | postgres
  std::string db_fs;   // where its database lived (and the server's version)
  std::optional<phase_result> tp, lat;
};

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + ", " + b + ", " + c;
}

std::string engines_report(const bench_options& o, const std::vector<engine_run>& runs,
                           std::size_t body_bytes, const std::string& load_before) {
  std::ostringstream md;
  md << "## HTTP message API on both engines (bluelink-bench --engine)\n\n";
  md << "Measured " << utc_now() << ". Every request is a new `transfer.request` of about "
     << (body_bytes / 100) * 100 << " bytes (" << o.from << " → " << o.to
     << "); a receipt (HTTP 202) means the transfer, its delivery queue entry and its audit row "
        "are committed. Each measurement starts a fresh gateway on a fresh database; on "
        "PostgreSQL the bench also starts a fresh server (initdb in a temporary directory, Unix "
        "socket only, `fsync=on`, `synchronous_commit=on`, otherwise the defaults) on the same "
        "machine, so the server shares the same cores.\n\n";
  md << "| | |\n|---|---|\n";
  md << "| CPU | " << cpu_model() << ", `nproc` = " << std::thread::hardware_concurrency()
     << " (load generator, gateway and PostgreSQL server share them) |\n";
  md << "| kernel | " << kernel() << " |\n";
  md << "| load average before the run | " << load_before << " (1, 5, 15 min) |\n";
  md << "| gateway | " << BL_BUILD_TYPE << " build, started by the bench; " << o.http_threads
     << " HTTP threads; log level " << o.log_level << "; SQLite synchronous=" << o.synchronous
     << ", WAL |\n";
  for (const auto& r : runs) md << "| " << r.engine << " database | " << r.db_fs << " |\n";
  md << "| command | `" << o.command << "` |\n\n";

  auto cpu3 = [](const phase_result& r) {
    return cpu_cell(r.gateway_cpu_s, r.window_s) + " | " +
           (r.server_cpu_s < 0 ? std::string("–") : cpu_cell(r.server_cpu_s, r.window_s)) + " | " +
           cpu_cell(r.bench_cpu_s, r.window_s);
  };
  bool any_tp = false, any_lat = false;
  for (const auto& r : runs) {
    any_tp = any_tp || r.tp;
    any_lat = any_lat || r.lat;
  }
  if (any_tp) {
    const auto& spec =
        std::find_if(runs.begin(), runs.end(), [](auto& r) { return !!r.tp; })->tp->spec;
    md << "### Maximum throughput (closed loop)\n\n"
       << spec.connections << " keep-alive connections, each sending its next request as soon as "
       << "the previous one is answered; " << spec.warmup.count() << " s warm-up, then "
       << spec.duration.count() << " s measured.\n\n"
       << "| engine | receipted transfers/s | receipted | p50 | p99 | max | other answers | "
          "gateway CPU | server CPU | bench CPU |\n"
       << "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|\n";
    for (const auto& e : runs) {
      if (!e.tp) continue;
      const auto& r = *e.tp;
      md << "| " << e.engine << " | **"
         << with_commas(static_cast<std::uint64_t>(r.receipted / r.window_s)) << "** | "
         << with_commas(r.receipted) << " | " << fmt(r.percentile(50)) << " ms | "
         << fmt(r.percentile(99)) << " ms | " << fmt(r.latency_ms.empty() ? 0 : r.latency_ms.back())
         << " ms | " << other_statuses(r) << " | " << cpu3(r) << " |\n";
    }
    md << "\n";
  }
  if (any_lat) {
    const auto& spec =
        std::find_if(runs.begin(), runs.end(), [](auto& r) { return !!r.lat; })->lat->spec;
    md << "### Latency at a fixed offered rate (open loop)\n\n"
       << with_commas(static_cast<std::uint64_t>(spec.rate))
       << " requests/s on a fixed schedule over " << spec.connections
       << " connections; latency from each request's scheduled send time to its receipt; "
       << spec.warmup.count() << " s warm-up, then " << spec.duration.count() << " s measured.\n\n"
       << "| engine | offered/s | receipted/s | p50 | p90 | p99 | p99.9 | max | other answers | "
          "gateway CPU | server CPU | bench CPU |\n"
       << "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n";
    for (const auto& e : runs) {
      if (!e.lat) continue;
      const auto& r = *e.lat;
      md << "| " << e.engine << " | " << with_commas(static_cast<std::uint64_t>(r.spec.rate))
         << " | " << with_commas(static_cast<std::uint64_t>(r.receipted / r.window_s)) << " | "
         << fmt(r.percentile(50), 2) << " ms | " << fmt(r.percentile(90), 2) << " ms | **"
         << fmt(r.percentile(99), 2) << " ms** | " << fmt(r.percentile(99.9), 2) << " ms | "
         << fmt(r.latency_ms.empty() ? 0 : r.latency_ms.back(), 2) << " ms | " << other_statuses(r)
         << " | " << cpu3(r) << " |\n";
    }
    md << "\n";
  }
  md << "Targets (issue 15):";
  for (const auto& e : runs) {
    const bool pg = e.engine == "postgres";
    const double want_tp = pg ? 3000 : 5000, want_p99 = pg ? 25 : 20;
    md << " " << e.engine << ":";
    if (e.tp)
      md << " ≥ " << with_commas(static_cast<std::uint64_t>(want_tp)) << " receipted/s — "
         << (e.tp->receipted / e.tp->window_s >= want_tp ? "**met**" : "**missed**");
    if (e.tp && e.lat) md << ";";
    if (e.lat)
      md << " p99 < " << want_p99 << " ms at "
         << with_commas(static_cast<std::uint64_t>(e.lat->spec.rate)) << "/s — "
         << (e.lat->percentile(99) < want_p99 ? "**met**" : "**missed**");
    md << ".";
  }
  md << "\n";
  return md.str();
}

constexpr const char* engines_begin_marker = "<!-- bluelink-bench-engines:begin -->";
constexpr const char* engines_end_marker = "<!-- bluelink-bench-engines:end -->";
constexpr const char* http_begin_marker = "<!-- bluelink-bench:begin -->";
constexpr const char* http_end_marker = "<!-- bluelink-bench:end -->";
constexpr const char* cad_begin_marker = "<!-- bluelink-bench-cad:begin -->";
constexpr const char* cad_end_marker = "<!-- bluelink-bench-cad:end -->";
constexpr const char* cad_engines_begin_marker = "<!-- bluelink-bench-cad-engines:begin -->";
constexpr const char* cad_engines_end_marker = "<!-- bluelink-bench-cad-engines:end -->";

std::string quote(const std::string& arg) {
  if (arg.find_first_of(" \t'\"$\\") == std::string::npos) return arg;
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// --mode reads: stores one transfer.request (`body`) with `token` and returns its transfer id.
std::string seed_transfer(unsigned short port, const std::string& token, const std::string& body) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  http::request<http::string_body> req{http::verb::post, "/api/v1/messages", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  if (res.result_int() != 202)
    throw std::runtime_error("the seed transfer was refused (" + std::to_string(res.result_int()) +
                             "): " + res.body());
  return json::parse(res.body()).at("receipt").at("transfer_id").get<std::string>();
}

phase_result run_phase(const bench_options& o, phase_spec spec, body_template& body,
                       std::string& db_fs) {
  asio::io_context ioc(1);
  std::optional<gateway_child> gw;
  unsigned short port = o.port;
  std::string token = o.token;
  std::function<double()> cpu, server_cpu;
  if (port == 0) {
    gw.emplace(o);  // a fresh gateway and database (and server) for each measurement
    port = gw->port();
    token = gw->token();
    db_fs = fs_type(gw->dir()) + ", " + gw->dir().parent_path().string();
    cpu = [&gw] { return gw->cpu_seconds(); };
    if (const auto* pg = gw->pg()) {
      db_fs += "; " + pg->version();
      pid_t postmaster = pg->postmaster_pid();
      server_cpu = [postmaster] { return server_cpu_seconds(postmaster); };
    }
  }
  std::fprintf(stderr, "[%s] gateway (%s) on 127.0.0.1:%u\n", spec.name.c_str(), o.engine.c_str(),
               port);
  if (spec.read_target == "seed")
    spec.read_target = "/api/v1/transfers/" + seed_transfer(port, token, body.next());
  load_phase phase(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), port), token,
                   std::move(spec), body, cpu, server_cpu);
  return phase.run();
}

// ---------------------------------------------------------------------------------------------
// The CAD link, end to end: Fire's CAD submits, Police's CAD receives.

std::int64_t to_ns(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// Latencies in milliseconds, sorted before percentiles are read.
struct latency_samples {
  std::vector<double> ms;
  void sort() { std::sort(ms.begin(), ms.end()); }
  double percentile(double p) const {
    if (ms.empty()) return 0;
    auto i = static_cast<std::size_t>(std::ceil(p / 100.0 * ms.size()));
    return ms[std::min(i == 0 ? 0 : i - 1, ms.size() - 1)];
  }
  double max() const { return ms.empty() ? 0 : ms.back(); }
};

/// CPU seconds every core of the machine has spent busy (not idle or waiting for I/O) since boot.
double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// CPU used by each thread of a process, by thread id, with the thread's name.
std::map<int, std::pair<std::string, double>> thread_cpu(pid_t pid) {
  std::map<int, std::pair<std::string, double>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i)
      if (i == 14 || i == 15) ticks += std::stod(field);
    out[std::atoi(e.path().filename().c_str())] = {
        stat.substr(open + 1, close - open - 1), ticks / static_cast<double>(sysconf(_SC_CLK_TCK))};
  }
  return out;
}

/// The engine's group-commit counters from the gateway's /metrics.
struct commit_stats {
  double seconds = 0;          // time inside group commits, fsync included
  std::uint64_t commits = 0;   // group commits that carried work
  std::uint64_t messages = 0;  // messages they stored (submits and gateway notices)
};

commit_stats scrape_commits(unsigned short port) {
  commit_stats c;
  try {
    asio::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    http::request<http::string_body> req{http::verb::get, "/metrics", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(sock, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    std::istringstream in(res.body());
    for (std::string name, value; in >> name;) {
      if (name[0] == '#' || !std::getline(in, value)) continue;
      if (name == "bluelink_commit_seconds_sum") c.seconds = std::stod(value);
      if (name == "bluelink_commit_seconds_count") c.commits = std::stoull(value);
      if (name == "bluelink_committed_messages_total") c.messages = std::stoull(value);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-bench: cannot read the gateway's /metrics: %s\n", e.what());
  }
  return c;
}

struct cad_result {
  phase_spec spec;
  int in_flight = 0;  // closed loop: the bound on transfers submitted but not yet delivered
  double window_s = 0;
  // Throughput: events that happened in the measurement window. Latency: outcomes of the
  // submits scheduled in the window.
  std::uint64_t submitted = 0;
  std::uint64_t delivered = 0;
  std::uint64_t receipted = 0;
  // Over the whole run.
  std::uint64_t refused = 0;
  std::string first_refusal;
  std::uint64_t not_delivered = 0;  // submitted, but not at Police when the drain timed out
  std::uint64_t notifications = 0;  // deliveries to Fire (its transfers reached Police)
  bl::cad::client_counters fire, police;
  latency_samples end_to_end, receipt;
  double gateway_cpu_s = -1, bench_cpu_s = 0;
  double machine_busy_s = 0;  // every process on the machine, in the window
  commit_stats commits;       // the engine's group commits in the window
};

/// One CAD measurement against a gateway started for it. Threads: a driver submitting through
/// Fire's client, a collector waiting for Fire's receipts (futures, in submission order), the
/// two clients' own threads (Police's runs on_delivery), and the calling thread, which keeps time
/// and prints progress.
class cad_load {
 public:
  cad_load(const bench_options& o, phase_spec spec, gateway_child& gw)
      : o_(o), spec_(std::move(spec)), gw_(gw) {
    template_ = bl::samples::a12_rtc_request("", o.from, o.to);
    std::mt19937_64 rng{std::random_device{}()};
    char tag[17];
    std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(rng()));
    id_prefix_ = o.from + ":bench-" + tag + "-";
    // Room for every submit: the schedule in open loop, a generous ceiling in closed loop.
    const double seconds = static_cast<double>((spec_.warmup + spec_.duration).count()) + 1;
    capacity_ =
        static_cast<std::size_t>(spec_.open_loop ? spec_.rate * seconds + 16 : 50000.0 * seconds);
    submit_ns_ = std::make_unique<std::atomic<std::int64_t>[]>(capacity_);
    deliver_ns_ = std::make_unique<std::atomic<std::int64_t>[]>(capacity_);
    receipt_ns_ = std::make_unique<std::atomic<std::int64_t>[]>(capacity_);
    for (std::size_t i = 0; i < capacity_; ++i) submit_ns_[i] = deliver_ns_[i] = receipt_ns_[i] = 0;
  }

  std::size_t message_bytes() const { return template_.dump().size() + id_prefix_.size() + 6; }

  cad_result run() {
    auto options = [&](const std::string& agency) {
      bl::cad::client_options c;
      c.endpoint = gw_.cad_endpoint();
      c.server_public_key = gw_.server_keys().public_key;
      c.client_keys = gw_.cad_keys(agency);
      c.agency = agency;
      c.state_file = (gw_.dir() / (agency + ".cad-state")).string();
      c.window = o_.window;
      return c;
    };
    bl::cad::cad_client police(options(o_.to),
                               [this](const bl::cad::delivery& d) { on_police_delivery(d); });
    bl::cad::cad_client fire(options(o_.from), [this](const bl::cad::delivery&) {
      notifications_.fetch_add(1, std::memory_order_relaxed);
    });
    fire_ = &fire;
    police.start();
    fire.start();
    const auto connect_deadline = steady::now() + std::chrono::seconds(10);
    while (!(fire.connected() && police.connected())) {
      if (steady::now() > connect_deadline)
        throw std::runtime_error("the CAD clients did not connect to " + gw_.cad_endpoint());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }

    start_ = steady::now() + std::chrono::milliseconds(100);
    window_begin_ = start_ + spec_.warmup;
    end_ = window_begin_ + spec_.duration;
    std::thread collector([this] { collect(); });
    std::thread driver([this] { spec_.open_loop ? drive_open() : drive_closed(); });

    // Keep time: CPU at the window's edges, progress once a second.
    double gw_cpu0 = 0, self_cpu0 = 0, busy0 = 0;
    commit_stats commits0;
    std::map<int, std::pair<std::string, double>> threads0;
    bool began = false;
    auto next_progress = start_ + std::chrono::seconds(1);
    for (;;) {
      auto next = std::min(next_progress, began ? end_ : window_begin_);
      std::this_thread::sleep_until(next);
      auto now = steady::now();
      if (!began && now >= window_begin_) {
        began = true;
        gw_cpu0 = gw_.cpu_seconds();
        self_cpu0 = self_cpu_seconds();
        busy0 = machine_busy_seconds();
        commits0 = scrape_commits(gw_.port());
        threads0 = thread_cpu(gw_.pid());
      }
      if (now >= next_progress) {
        progress(now);
        next_progress += std::chrono::seconds(1);
      }
      if (began && now >= end_) break;
    }
    result_.gateway_cpu_s = gw_.cpu_seconds() - gw_cpu0;
    result_.bench_cpu_s = self_cpu_seconds() - self_cpu0;
    result_.machine_busy_s = machine_busy_seconds() - busy0;
    auto commits1 = scrape_commits(gw_.port());
    result_.commits = {commits1.seconds - commits0.seconds, commits1.commits - commits0.commits,
                       commits1.messages - commits0.messages};
    report_threads(threads0, thread_cpu(gw_.pid()));
    driver.join();

    // Drain: wait for what is still on its way to Police.
    const auto drain_deadline = steady::now() + std::chrono::seconds(o_.drain_s);
    while (delivered_.load() < submitted_.load() && steady::now() < drain_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (steady::now() >= next_progress) {
        progress(steady::now());
        next_progress += std::chrono::seconds(1);
      }
    }
    // Receipts come before deliveries, so they are in by now unless something failed; stopping
    // Fire's client completes any stragglers with bl.gateway.shutting_down.
    const auto receipt_deadline = steady::now() + std::chrono::seconds(5);
    while (receipted_.load() + refused_.load() < submitted_.load() &&
           steady::now() < receipt_deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    result_.fire = fire.counters();
    result_.police = police.counters();
    fire.stop();
    police.stop();
    {
      std::lock_guard lock(collect_mu_);
      collect_done_ = true;
    }
    collect_cv_.notify_one();
    collector.join();
    fire_ = nullptr;
    return summarise();
  }

 private:
  bool closed_loop() const { return !spec_.open_loop; }

  steady::time_point slot(std::uint64_t i) const {
    return start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * i / spec_.rate));
  }

  /// Submits message `i` as if at `t`; false once the arrays are full.
  bool submit_one(std::size_t i, json message, steady::time_point t) {
    if (i >= capacity_) return false;
    submit_ns_[i].store(to_ns(t), std::memory_order_relaxed);
    auto f = fire_->submit(std::move(message));
    submitted_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(collect_mu_);
      pending_receipts_.emplace_back(i, std::move(f));
    }
    collect_cv_.notify_one();
    return true;
  }

  json next_message(std::size_t i) {
    json m = template_;
    m["id"] = id_prefix_ + std::to_string(i);
    return m;
  }

  /// Closed loop: a new submit whenever fewer than --in-flight transfers are on their way.
  void drive_closed() {
    std::this_thread::sleep_until(start_);
    for (std::size_t i = 0;; ++i) {
      {
        std::unique_lock lock(slot_mu_);
        if (!slot_cv_.wait_until(lock, end_, [&] { return in_flight_ < o_.in_flight; })) return;
        ++in_flight_;
      }
      json m = next_message(i);
      auto now = steady::now();  // the CAD has its message: the clock starts
      if (now >= end_ || !submit_one(i, std::move(m), now)) {
        std::lock_guard lock(slot_mu_);
        --in_flight_;
        return;
      }
    }
  }

  /// Open loop: submit i at its scheduled time, however far behind the gateway is.
  void drive_open() {
    for (std::size_t i = 0;; ++i) {
      auto t = slot(i);
      if (t >= end_) return;
      std::this_thread::sleep_until(t);
      if (!submit_one(i, next_message(i), t)) return;
    }
  }

  /// Police's CAD has the delivery: the end of the path being measured.
  void on_police_delivery(const bl::cad::delivery& d) {
    const auto now = to_ns(steady::now());
    auto it = d.message.find("id");
    if (it == d.message.end() || !it->is_string()) return;
    const auto& id = it->get_ref<const std::string&>();
    if (id.compare(0, id_prefix_.size(), id_prefix_) != 0) return;
    auto i = static_cast<std::size_t>(std::strtoull(id.c_str() + id_prefix_.size(), nullptr, 10));
    if (i >= capacity_) return;
    std::int64_t none = 0;
    if (!deliver_ns_[i].compare_exchange_strong(none, now)) return;  // the client dedupes anyway
    delivered_.fetch_add(1, std::memory_order_relaxed);
    if (closed_loop()) {
      {
        std::lock_guard lock(slot_mu_);
        --in_flight_;
      }
      slot_cv_.notify_one();
    }
  }

  /// Waits for Fire's receipts in submission order (the gateway answers in commit order, which
  /// is submission order for one CAD, so a receipt is rarely held up behind an earlier one).
  void collect() {
    for (;;) {
      std::pair<std::size_t, std::future<bl::cad::submit_result>> item;
      {
        std::unique_lock lock(collect_mu_);
        collect_cv_.wait(lock, [&] { return !pending_receipts_.empty() || collect_done_; });
        if (pending_receipts_.empty()) return;
        item = std::move(pending_receipts_.front());
        pending_receipts_.pop_front();
      }
      auto r = item.second.get();
      auto now = to_ns(steady::now());
      if (std::holds_alternative<json>(r)) {
        receipt_ns_[item.first].store(now, std::memory_order_relaxed);
        receipted_.fetch_add(1, std::memory_order_relaxed);
      } else {
        if (refused_.fetch_add(1) == 0) {
          const auto& e = std::get<bl::error>(r);
          std::lock_guard lock(refusal_mu_);
          result_.first_refusal = std::string(e.id()) + ": " + e.message;
        }
      }
    }
  }

  void progress(steady::time_point now) {
    auto delivered = delivered_.load(), receipted = receipted_.load(),
         submitted = submitted_.load();
    auto t = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr,
                 "[%s] %5.1f s  %7llu delivered/s  %7llu receipted/s  in flight %5llu  refused "
                 "%llu\n",
                 spec_.name.c_str(), t,
                 static_cast<unsigned long long>(delivered - delivered_last_),
                 static_cast<unsigned long long>(receipted - receipted_last_),
                 static_cast<unsigned long long>(submitted - delivered),
                 static_cast<unsigned long long>(refused_.load()));
    delivered_last_ = delivered;
    receipted_last_ = receipted;
  }

  /// The gateway's busiest threads in the window, to stderr: where its CPU goes.
  void report_threads(const std::map<int, std::pair<std::string, double>>& before,
                      const std::map<int, std::pair<std::string, double>>& after) const {
    const double window_s = std::chrono::duration<double>(spec_.duration).count();
    std::vector<std::pair<double, std::string>> rows;
    for (const auto& [tid, v] : after) {
      auto b = before.find(tid);
      double used = v.second - (b == before.end() ? 0 : b->second.second);
      rows.emplace_back(used, std::to_string(tid) + " " + v.first);
    }
    std::sort(rows.rbegin(), rows.rend());
    std::string line;
    for (std::size_t i = 0; i < rows.size() && i < 8; ++i)
      if (rows[i].first > 0)
        line += "  " + rows[i].second + " " + fmt(100.0 * rows[i].first / window_s, 0) + "%";
    std::fprintf(stderr, "[%s] gateway threads (tid name CPU):%s\n", spec_.name.c_str(),
                 line.c_str());
  }

  cad_result summarise() {
    cad_result& r = result_;
    r.spec = spec_;
    r.in_flight = o_.in_flight;
    r.window_s = std::chrono::duration<double>(end_ - window_begin_).count();
    r.refused = refused_.load();
    r.notifications = notifications_.load();
    const auto wb = to_ns(window_begin_), we = to_ns(end_);
    auto in_window = [&](std::int64_t t) { return t >= wb && t < we; };
    const std::size_t n = std::min<std::size_t>(submitted_.load(), capacity_);
    for (std::size_t i = 0; i < n; ++i) {
      const auto s = submit_ns_[i].load(), d = deliver_ns_[i].load(), c = receipt_ns_[i].load();
      if (d == 0) ++r.not_delivered;
      if (closed_loop()) {
        // Throughput counts what arrived in the window, whenever it was submitted.
        if (d != 0 && in_window(d)) ++r.delivered;
        if (c != 0 && in_window(c)) ++r.receipted;
      }
      if (!in_window(s)) continue;
      ++r.submitted;
      if (!closed_loop()) {
        if (d != 0) ++r.delivered;
        if (c != 0) ++r.receipted;
      }
      if (d != 0) r.end_to_end.ms.push_back(static_cast<double>(d - s) / 1e6);
      if (c != 0) r.receipt.ms.push_back(static_cast<double>(c - s) / 1e6);
    }
    r.end_to_end.sort();
    r.receipt.sort();
    return std::move(r);
  }

  const bench_options& o_;
  phase_spec spec_;
  gateway_child& gw_;
  json template_;
  std::string id_prefix_;
  std::size_t capacity_ = 0;
  std::unique_ptr<std::atomic<std::int64_t>[]> submit_ns_, deliver_ns_, receipt_ns_;
  bl::cad::cad_client* fire_ = nullptr;
  steady::time_point start_, window_begin_, end_;

  std::atomic<std::uint64_t> submitted_{0}, delivered_{0}, receipted_{0}, refused_{0},
      notifications_{0};
  std::uint64_t delivered_last_ = 0, receipted_last_ = 0;  // progress, calling thread only

  std::mutex slot_mu_;  // closed loop: transfers on their way
  std::condition_variable slot_cv_;
  int in_flight_ = 0;

  std::mutex collect_mu_;
  std::condition_variable collect_cv_;
  std::deque<std::pair<std::size_t, std::future<bl::cad::submit_result>>> pending_receipts_;
  bool collect_done_ = false;

  std::mutex refusal_mu_;
  cad_result result_;
};

std::string percentile_row(const std::string& what, const latency_samples& s) {
  return "| " + what + " | " + with_commas(s.ms.size()) + " | " + fmt(s.percentile(50), 2) +
         " ms | " + fmt(s.percentile(90), 2) + " ms | **" + fmt(s.percentile(99), 2) + " ms** | " +
         fmt(s.percentile(99.9), 2) + " ms | " + fmt(s.max(), 2) + " ms |\n";
}

std::string cad_other_outcomes(const cad_result& r) {
  std::vector<std::string> parts;
  if (r.refused) parts.push_back(with_commas(r.refused) + " refused (" + r.first_refusal + ")");
  if (r.not_delivered) parts.push_back(with_commas(r.not_delivered) + " not delivered");
  if (r.fire.resent_submits)
    parts.push_back(with_commas(r.fire.resent_submits) + " submits sent again");
  std::uint64_t reconnects = (r.fire.connects > 0 ? r.fire.connects - 1 : 0) +
                             (r.police.connects > 0 ? r.police.connects - 1 : 0);
  if (reconnects) parts.push_back(with_commas(reconnects) + " reconnects");
  if (r.police.duplicates_dropped)
    parts.push_back(with_commas(r.police.duplicates_dropped) + " duplicate deliveries dropped");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "none" : out;
}

/// CPU that neither the gateway nor the bench used: anything else running disturbs the figures.
std::string other_cpu_cell(const cad_result& r) {
  return cpu_cell(std::max(0.0, r.machine_busy_s - r.gateway_cpu_s - r.bench_cpu_s), r.window_s);
}

/// The engine's share of the path: how often it committed and how busy that kept it.
std::string engine_line(const cad_result& r) {
  const auto& c = r.commits;
  if (c.commits == 0) return "";
  std::ostringstream o;
  o << "Engine (from the gateway's `/metrics`, in the window): "
    << with_commas(static_cast<std::uint64_t>(c.commits / r.window_s))
    << " group commits/s, each carrying " << fmt(static_cast<double>(c.messages) / c.commits, 1)
    << " submitted messages on average (the CADs' acknowledgements and the delivered notices "
       "to Fire share the same commits); "
    << fmt(1000.0 * c.seconds / c.commits, 2)
    << " ms per commit, fsync included; the engine thread was inside a commit "
    << fmt(100.0 * c.seconds / r.window_s, 0) << " % of the time.\n\n";
  return o.str();
}

std::string cad_report(const bench_options& o, const std::string& db_fs,
                       const std::optional<cad_result>& tp, const std::optional<cad_result>& lat,
                       std::size_t message_bytes) {
  std::ostringstream md;
  if (o.engine == "sqlite")
    md << "## CAD link, end to end (bluelink-bench --link cad)\n\n";
  else
    md << "### CAD link, end to end, on " << o.engine
       << " (bluelink-bench --link cad --engine)\n\n";
  md << "Measured " << utc_now() << ". Two CAD clients (`adapters/zmq_cad/cad_client.hpp`) run "
     << "in the bench process, connected over CURVE to the gateway's CAD link on loopback. "
     << o.from << "'s CAD submits a new `transfer.request` of about " << (message_bytes / 100) * 100
     << " bytes (the A12 RTC) to " << o.to
     << " for every transfer. **End to end** runs from the submit at Fire's CAD to the moment "
        "Police's CAD is handed the delivery (`on_delivery`): Fire's client thread, CURVE/ZMTP, "
        "frame and message validation on the link thread, the engine's group commit with fsync, "
        "the Police delivery queue and the `deliver` frame. **Receipt** runs from the same submit "
        "to Fire's receipt (the transfer is on disk). Each CAD acknowledges its deliveries as the "
        "protocol asks, so every transfer also commits Police's ack and a delivered notice to "
        "Fire.\n\n";
  md << "| | |\n|---|---|\n";
  md << "| CPU | " << cpu_model() << ", `nproc` = " << std::thread::hardware_concurrency()
     << " (the two CADs and the gateway share them; CPU figures are % of one core) |\n";
  md << "| kernel | " << kernel() << " |\n";
  md << "| gateway | " << BL_BUILD_TYPE
     << " build, started by the bench; synchronous=" << o.synchronous
     << ", WAL; CAD link on `tcp://127.0.0.1:*` (CURVE), heartbeat 1 s; " << o.http_threads
     << " HTTP threads (idle); log level " << o.log_level << " |\n"
     << "| CADs | `cad_client` with state files, window " << o.window << " |\n"
     << "| database | "
     << (o.engine == "postgres" ? "PostgreSQL (a server the bench started "
                                  "on the same machine: fsync, "
                                  "synchronous_commit=on), "
                                : "SQLite, ")
     << db_fs << " |\n";
  md << "| command | `" << o.command << "` |\n\n";

  const char* header =
      "| measured | samples | p50 | p90 | p99 | p99.9 | max |\n"
      "|---|---:|---:|---:|---:|---:|---:|\n";
  if (tp) {
    const auto& r = *tp;
    md << "### Maximum throughput (closed loop)\n\n"
       << "At most " << r.in_flight
       << " transfers on their way at once (submitted at Fire, not yet "
       << "delivered at Police); a new submit as soon as one is delivered. "
       << r.spec.warmup.count() << " s warm-up, then " << r.spec.duration.count()
       << " s measured.\n\n"
       << "| delivered transfers/s (end to end) | delivered | receipted/s | other outcomes | "
          "gateway CPU | bench CPU | other processes' CPU |\n"
       << "|---:|---:|---:|---|---:|---:|---:|\n"
       << "| **" << with_commas(static_cast<std::uint64_t>(r.delivered / r.window_s)) << "** | "
       << with_commas(r.delivered) << " | "
       << with_commas(static_cast<std::uint64_t>(r.receipted / r.window_s)) << " | "
       << cad_other_outcomes(r) << " | " << cpu_cell(r.gateway_cpu_s, r.window_s) << " | "
       << cpu_cell(r.bench_cpu_s, r.window_s) << " | " << other_cpu_cell(r) << " |\n\n"
       << "Latency under this load (submits in the window):\n\n"
       << header << percentile_row("end to end (submit → delivered at Police)", r.end_to_end)
       << percentile_row("receipt (submit → receipt at Fire)", r.receipt) << "\n"
       << engine_line(r);
  }
  if (lat) {
    const auto& r = *lat;
    md << "### Latency at a fixed offered rate (open loop)\n\n"
       << with_commas(static_cast<std::uint64_t>(r.spec.rate))
       << " submits/s on a fixed schedule; latency is measured from each submit's *scheduled* "
          "time, so a stall is not hidden by a load generator that slows down with it. "
       << r.spec.warmup.count() << " s warm-up, then " << r.spec.duration.count()
       << " s measured.\n\n"
       << "| offered/s | delivered/s | receipted/s | other outcomes | gateway CPU | bench CPU | "
          "other processes' CPU |\n"
       << "|---:|---:|---:|---|---:|---:|---:|\n"
       << "| " << with_commas(static_cast<std::uint64_t>(r.spec.rate)) << " | "
       << with_commas(static_cast<std::uint64_t>(r.delivered / r.window_s)) << " | "
       << with_commas(static_cast<std::uint64_t>(r.receipted / r.window_s)) << " | "
       << cad_other_outcomes(r) << " | " << cpu_cell(r.gateway_cpu_s, r.window_s) << " | "
       << cpu_cell(r.bench_cpu_s, r.window_s) << " | " << other_cpu_cell(r) << " |\n\n"
       << header << percentile_row("end to end (submit → delivered at Police)", r.end_to_end)
       << percentile_row("receipt (submit → receipt at Fire)", r.receipt) << "\n"
       << engine_line(r);
  }
  if (tp || lat) {
    md << "Targets: ";
    if (tp)
      md << "≥ 5,000 transfers/s end to end on " << std::thread::hardware_concurrency()
         << " cores — " << (tp->delivered / tp->window_s >= 5000 ? "**met**" : "**missed**");
    if (tp && lat) md << "; ";
    if (lat) {
      bool met =
          lat->end_to_end.percentile(99) < 25 && lat->not_delivered == 0 && lat->refused == 0;
      md << "end-to-end p99 < 25 ms at " << with_commas(static_cast<std::uint64_t>(lat->spec.rate))
         << "/s offered — " << (met ? "**met**" : "**missed**");
    }
    md << ".\n";
  }
  return md.str();
}

cad_result run_cad_phase(const bench_options& o, phase_spec spec, std::string& db_fs,
                         std::size_t& message_bytes) {
  gateway_child gw(o, true);  // a fresh gateway and database for each measurement
  db_fs = fs_type(gw.dir()) + ", " + gw.dir().parent_path().string();
  std::fprintf(stderr, "[%s] gateway on 127.0.0.1:%u, CAD link %s\n", spec.name.c_str(), gw.port(),
               gw.cad_endpoint().c_str());
  cad_load load(o, std::move(spec), gw);
  message_bytes = load.message_bytes();
  return load.run();
}

// ---------------------------------------------------------------------------------------------
// Contention (--mode contention): one operator's receipts while a manager runs the five-year
// savings report over and over and bursts of sign-ins (Argon2id) arrive, against the same
// gateway. The blocking work runs on the gateway's worker pool; the receipts' p99 must stay
// under 100 ms (issue 13).

constexpr const char* contention_begin_marker = "<!-- bluelink-bench-contention:begin -->";
constexpr const char* contention_end_marker = "<!-- bluelink-bench-contention:end -->";
const std::string bench_password = "bench contention password";

struct http_reply {
  int status = 0;
  std::string set_cookie;
  double ms = 0;
};

// One request on a fresh connection, as a browser console would send it.
http_reply http_once(unsigned short port, http::verb verb, const std::string& target,
                     const std::string& body, const std::string& cookie) {
  auto t0 = steady::now();
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(120));
  stream.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  const std::string host = "127.0.0.1:" + std::to_string(port);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::origin, "http://" + host);
  if (!cookie.empty()) req.set(http::field::cookie, cookie);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buf, parser);
  http_reply r;
  r.status = parser.get().result_int();
  std::string c(parser.get()[http::field::set_cookie]);
  r.set_cookie = c.substr(0, c.find(';'));
  r.ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return r;
}

http_reply sign_in(unsigned short port, const std::string& user) {
  return http_once(port, http::verb::post, "/api/v1/session",
                   json{{"username", user}, {"password", bench_password}}.dump(), {});
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(std::ceil(p / 100.0 * v.size())) - 1;
  return v[std::min(i, v.size() - 1)];
}

int run_contention(const bench_options& o) {
  std::fprintf(stderr, "generating %lld calls and %lld transfers over five years...\n",
               static_cast<long long>(o.report_calls), static_cast<long long>(o.report_transfers));
  bl::bench::generated data;
  gateway_child gw(o, false, [&](const fs::path& db, json& cfg) {
    data = bl::bench::generate(db.string(), {o.report_calls, o.report_transfers});
    // The five rooms of the generated data, with their call costs, for the report.
    auto rc = bl::bench::report_config(db.string());
    json agencies = json::array();
    for (const auto& r : bl::bench::rooms) {
      std::string id = r.id;
      std::string kind = id.find("fire") != std::string::npos     ? "fire"
                         : id.find("police") != std::string::npos ? "police"
                                                                  : "ambulance";
      agencies.push_back({{"id", id},
                          {"name", id},
                          {"kind", kind},
                          {"phone", "01632 960000"},
                          {"cost_per_call_pence", r.cost_pence}});
    }
    cfg["agencies"] = agencies;
    cfg["savings"] = {{"go_live", "2022-04-01"}};
    bl::accounts accts(rc, db.string());
    accts.add_user("bench.manager", "Bench Manager", bl::role::manager, "", bench_password);
    for (int i = 0; i < o.sign_ins; ++i)
      accts.add_user("bench.op" + std::to_string(i), "Bench Operator " + std::to_string(i),
                     bl::role::operator_role, "essex-police", bench_password);
  });
  bench_options q = o;
  q.port = gw.port();
  q.token = gw.token();
  body_template body(o.from, o.to);
  std::string db_fs = fs_type(gw.dir()) + ", " + gw.dir().parent_path().string();
  auto phase = [&](const std::string& name) {
    return run_phase(q,
                     {name, true, static_cast<double>(o.rate), o.connections,
                      std::chrono::seconds(o.warmup_s), std::chrono::seconds(o.duration_s)},
                     body, db_fs);
  };
  auto quiet = phase("contention-quiet");

  // The blocking load: one manager's five-year report, again as soon as it answers, and every
  // 3 s o.sign_ins operators signing in at once.
  auto manager = sign_in(gw.port(), "bench.manager");
  if (manager.status != 200)
    throw std::runtime_error("the manager could not sign in: HTTP " +
                             std::to_string(manager.status));
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> report_ms, sign_in_ms;
  std::map<int, int> report_status, sign_in_status;
  std::thread reports([&] {
    while (!stop) {
      auto r = http_once(gw.port(), http::verb::get,
                         "/api/v1/reports/savings?from=2021-04&to=2026-03", {}, manager.set_cookie);
      std::lock_guard lock(mu);
      ++report_status[r.status];
      if (r.status == 200) report_ms.push_back(r.ms);
    }
  });
  std::thread bursts([&] {
    while (!stop) {
      std::vector<std::thread> users;
      for (int i = 0; i < o.sign_ins; ++i)
        users.emplace_back([&, i] {
          auto r = sign_in(gw.port(), "bench.op" + std::to_string(i));
          std::lock_guard lock(mu);
          ++sign_in_status[r.status];
          if (r.status == 200) sign_in_ms.push_back(r.ms);
        });
      for (auto& u : users) u.join();
      for (int i = 0; i < 30 && !stop; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto busy = phase("contention-busy");
  stop = true;
  reports.join();
  bursts.join();

  auto statuses = [](const std::map<int, int>& m) {
    std::string out;
    for (const auto& [status, n] : m)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " × " + std::to_string(status);
    return out.empty() ? std::string("none") : out;
  };
  std::ostringstream md;
  md << "## Receipts while reports and sign-ins run (bluelink-bench --mode contention)\n\n";
  md << "Measured " << utc_now().substr(0, 10) << " with `" << o.command << "` (build type "
     << BL_BUILD_TYPE << ").\n\n";
  md << "| machine | |\n|---|---|\n";
  md << "| CPU | " << cpu_model() << ", `nproc` = " << std::thread::hardware_concurrency()
     << " |\n";
  md << "| kernel | " << kernel() << " |\n";
  md << "| database | " << db_fs << " |\n\n";
  md << "One operator (" << o.from << " to " << o.to << ") submits " << o.rate
     << " transfers a second over " << o.connections
     << " keep-alive connections (open loop: latency from each request's scheduled time). "
     << "First alone, then while a manager runs the savings report over five years ("
     << bl::bench::first_month.str() << " to " << bl::bench::last_month.str() << ", " << data.calls
     << " calls and " << data.transfers << " transfers) again as soon as it answers, and "
     << o.sign_ins
     << " operators sign in at once every 3 s (Argon2id). The gateway runs the report and "
        "the password hashing on its worker pool (two threads), never on the two HTTP I/O "
        "threads.\n\n";
  md << "| phase | receipted | p50 | p99 | max | other answers | target "
        "|\n|---|---|---|---|---|---|---|\n";
  for (const auto* r : {&quiet, &busy}) {
    md << "| " << (r == &quiet ? "alone" : "with reports and sign-ins") << " | " << r->receipted
       << " | " << fmt(r->percentile(50), 2) << " ms | " << fmt(r->percentile(99), 2) << " ms | "
       << fmt(r->latency_ms.empty() ? 0 : r->latency_ms.back(), 2) << " ms | " << other_statuses(*r)
       << " | p99 < 100 ms |\n";
  }
  md << "\nMeanwhile: " << report_ms.size() << " five-year reports (median "
     << fmt(pct(report_ms, 50), 0) << " ms; answers: " << statuses(report_status) << "), "
     << sign_in_ms.size() << " sign-ins (median " << fmt(pct(sign_in_ms, 50), 0) << " ms, p99 "
     << fmt(pct(sign_in_ms, 99), 0) << " ms; answers: " << statuses(sign_in_status) << ").\n\n";
  std::cout << md.str() << std::flush;
  if (!o.write_path.empty()) {
    write_section(o.write_path, md.str(), contention_begin_marker, contention_end_marker);
    std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
  }
  return busy.percentile(99) < 100 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  CLI::App app{
      "bluelink-bench: load generator for the Bluelink gateway's HTTP message API and CAD link"};
  app.add_option("--link", o.link,
                 "http: the message API; cad: the ZeroMQ CAD link end to end (CAD to CAD)")
      ->check(CLI::IsMember({"http", "cad"}));
  app.add_option("--report-calls", o.report_calls, "contention: phone calls in the five years");
  app.add_option("--report-transfers", o.report_transfers,
                 "contention: transfers in the five years");
  app.add_option("--sign-ins", o.sign_ins, "contention: operators signing in at once, every 3 s")
      ->check(CLI::Range(1, 200));
  app.add_option("--mode", o.mode,
                 "throughput, latency, both or contention (http); pages: the store's reads on a "
                 "generated year of --transfers transfers, no gateway; reads: one transfer's "
                 "detail read over --connections (http, sqlite); purge: the retention purge of a "
                 "generated year of --transfers transfers under live traffic")
      ->check(CLI::IsMember(
          {"throughput", "latency", "both", "contention", "pages", "reads", "purge"}));
  app.add_option("--transfers", o.pages_transfers, "pages, purge: transfers to generate")
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--runs", o.pages_runs, "pages: runs of each page")->check(CLI::Range(1, 1000));
  app.add_flag("--reuse", o.reuse, "pages: time the pages.db an earlier run left in --db-dir");
  app.add_option("--purge-batch", o.purge_batch, "purge: transfers purged per transaction")
      ->check(CLI::Range(1, 1000));
  app.add_option("-c,--connections", o.connections, "keep-alive connections (http)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--in-flight", o.in_flight,
                 "cad throughput: transfers submitted but not yet delivered, at most")
      ->check(CLI::Range(1, 2000));
  app.add_option("--window", o.window, "cad: the receiving CAD's delivery window")
      ->check(CLI::Range(1, 1000));
  app.add_option("--drain", o.drain_s,
                 "cad: seconds to wait for the last deliveries after the schedule")
      ->check(CLI::Range(1, 3600));
  app.add_option("-d,--duration", o.duration_s, "measured seconds per mode")
      ->check(CLI::Range(1, 3600));
  app.add_option("--warmup", o.warmup_s, "unmeasured seconds before each measurement")
      ->check(CLI::Range(0, 600));
  app.add_option("-r,--rate", o.rate, "offered requests (http) or submits (cad)/s in latency mode")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--port", o.port,
                 "use a running gateway on 127.0.0.1:PORT instead of starting one");
  app.add_option("--token", o.token, "bearer token of --from (with --port)");
  app.add_option("--from", o.from, "sending agency");
  app.add_option("--to", o.to, "receiving agency");
  app.add_option("--engine", o.engine,
                 "http and cad: the store engine of the started gateway; postgres starts a server "
                 "of its own; with postgres or both, the results go to their own section of "
                 "--write. pages: the engines the pages are timed on (postgres: a server of its "
                 "own holding the generated store)")
      ->check(CLI::IsMember({"sqlite", "postgres", "both"}));
  app.add_option("--gateway", o.gateway_bin, "gateway binary to start");
  app.add_option("--db-dir", o.db_dir, "directory for the started gateway's database");
  app.add_option("--synchronous", o.synchronous, "full or normal")
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--log-level", o.log_level, "the started gateway's log level");
  app.add_option("--http-threads", o.http_threads, "the started gateway's HTTP threads");
  app.add_option("--write", o.write_path, "replace the bench's section of this Markdown file");
  CLI11_PARSE(app, argc, argv);
  if (o.port != 0 && o.token.empty()) {
    std::fprintf(stderr, "bluelink-bench: --port needs --token\n");
    return 2;
  }
  if (o.link == "cad" && o.port != 0) {
    std::fprintf(stderr, "bluelink-bench: --link cad starts its own gateway; --port is for http\n");
    return 2;
  }
  if (o.link == "cad" && o.from == o.to) {
    std::fprintf(stderr, "bluelink-bench: --from and --to must be different agencies\n");
    return 2;
  }
  o.command = quote(argv[0]);
  for (int i = 1; i < argc; ++i) o.command += " " + quote(argv[i]);
  signal(SIGPIPE, SIG_IGN);

  try {
    if (o.mode == "pages") {
      bl::bench::pages_options p;
      p.transfers = o.pages_transfers;
      p.runs = o.pages_runs;
      p.dir = o.db_dir;
      p.reuse = o.reuse;
      p.engine = o.engine;
      p.write_path = o.write_path;
      p.command = o.command;
      return bl::bench::run_pages(p);
    }
    if (o.mode == "purge") {
      bl::bench::purge_bench_options p;
      p.transfers = o.pages_transfers;
      p.batch = o.purge_batch;
      p.dir = o.db_dir;
      p.write_path = o.write_path;
      p.command = o.command;
      return bl::bench::run_purge_bench(p);
    }
    if (o.mode == "reads") {
      // One transfer's detail read over and over by a party's integration (the console's detail
      // read is the same handler): what a read costs, access-log entry included (issue 18).
      if (o.link != "http" || o.engine != "sqlite") {
        std::fprintf(stderr, "bluelink-bench: --mode reads is HTTP on SQLite\n");
        return 2;
      }
      body_template body(o.from, o.to);
      std::string db_fs = "n/a";
      phase_spec spec{"reads",
                      false,
                      0,
                      o.connections,
                      std::chrono::seconds(o.warmup_s),
                      std::chrono::seconds(o.duration_s),
                      "seed"};
      auto r = run_phase(o, spec, body, db_fs);
      std::printf(
          "| transfer detail reads/s | answered 200 | p50 | p99 | max | other answers | gateway "
          "CPU |\n|---:|---:|---:|---:|---:|---|---:|\n| **%s** | %s | %s ms | %s ms | %s ms | %s "
          "| "
          "%s |\n",
          with_commas(static_cast<std::uint64_t>(r.receipted / r.window_s)).c_str(),
          with_commas(r.receipted).c_str(), fmt(r.percentile(50), 2).c_str(),
          fmt(r.percentile(99), 2).c_str(),
          fmt(r.latency_ms.empty() ? 0 : r.latency_ms.back(), 1).c_str(), other_statuses(r).c_str(),
          cpu_cell(r.gateway_cpu_s, r.window_s).c_str());
      return 0;
    }
    if (o.mode == "contention") {
      if (o.link != "http" || o.port != 0) {
        std::fprintf(stderr, "bluelink-bench: --mode contention starts its own HTTP gateway\n");
        return 2;
      }
      return run_contention(o);
    }
    if (o.link == "cad") {
      // --engine sqlite: the CAD link's own section; postgres or both: each engine's run, one
      // after the other on fresh gateways (and servers), in a section of their own.
      std::string md;
      for (std::string engine : {"sqlite", "postgres"}) {
        if (o.engine != "both" && o.engine != engine) continue;
        bench_options oe = o;
        oe.engine = engine;
        std::string db_fs = "n/a";
        std::size_t message_bytes = 0;
        std::optional<cad_result> tp, lat;
        if (o.mode != "latency")
          tp = run_cad_phase(oe,
                             {"cad-throughput", false, 0, 0, std::chrono::seconds(o.warmup_s),
                              std::chrono::seconds(o.duration_s)},
                             db_fs, message_bytes);
        if (o.mode != "throughput")
          lat =
              run_cad_phase(oe,
                            {"cad-latency", true, static_cast<double>(o.rate), 0,
                             std::chrono::seconds(o.warmup_s), std::chrono::seconds(o.duration_s)},
                            db_fs, message_bytes);
        std::string one = cad_report(oe, db_fs, tp, lat, message_bytes);
        const std::string own = "## CAD link, end to end (bluelink-bench --link cad)";
        if (o.engine != "sqlite" && one.rfind(own, 0) == 0)
          one = "### CAD link, end to end, on sqlite (bluelink-bench --link cad --engine)" +
                one.substr(own.size());
        md += one;
      }
      if (o.engine != "sqlite")
        md = "## CAD link, end to end, on both engines (bluelink-bench --link cad --engine)\n\n" +
             md;
      std::cout << md << std::flush;
      if (!o.write_path.empty()) {
        if (o.engine == "sqlite")
          write_section(o.write_path, md, cad_begin_marker, cad_end_marker);
        else
          write_section(o.write_path, md, cad_engines_begin_marker, cad_engines_end_marker);
        std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
      }
      return 0;
    }
    if (o.engine != "sqlite") {
      // One or both engines, each with its own fresh gateway (and server) per measurement.
      if (o.port != 0) {
        std::fprintf(stderr, "bluelink-bench: --engine starts its own gateways; drop --port\n");
        return 2;
      }
      body_template body(o.from, o.to);
      const std::string load_before = load_average();
      std::vector<engine_run> runs;
      for (std::string engine : {"sqlite", "postgres"}) {
        if (o.engine != "both" && o.engine != engine) continue;
        bench_options e = o;
        e.engine = engine;
        engine_run r{engine, "n/a", {}, {}};
        if (o.mode != "latency")
          r.tp = run_phase(e,
                           {"throughput", false, 0, o.connections, std::chrono::seconds(o.warmup_s),
                            std::chrono::seconds(o.duration_s)},
                           body, r.db_fs);
        if (o.mode != "throughput")
          r.lat = run_phase(e,
                            {"latency", true, static_cast<double>(o.rate), o.connections,
                             std::chrono::seconds(o.warmup_s), std::chrono::seconds(o.duration_s)},
                            body, r.db_fs);
        runs.push_back(std::move(r));
      }
      std::string md = engines_report(o, runs, body.size(), load_before);
      std::cout << md << std::flush;
      if (!o.write_path.empty()) {
        write_section(o.write_path, md, engines_begin_marker, engines_end_marker);
        std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
      }
      return 0;
    }
    body_template body(o.from, o.to);
    std::string db_fs = "n/a";
    std::optional<phase_result> tp, lat;
    if (o.mode != "latency")
      tp = run_phase(o,
                     {"throughput", false, 0, o.connections, std::chrono::seconds(o.warmup_s),
                      std::chrono::seconds(o.duration_s)},
                     body, db_fs);
    if (o.mode != "throughput")
      lat = run_phase(o,
                      {"latency", true, static_cast<double>(o.rate), o.connections,
                       std::chrono::seconds(o.warmup_s), std::chrono::seconds(o.duration_s)},
                      body, db_fs);
    std::string md = report(o, db_fs, tp, lat, body.size());
    std::cout << md << std::flush;
    if (!o.write_path.empty()) {
      write_section(o.write_path, md, http_begin_marker, http_end_marker);
      std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
