// bluelink-bench: an HTTP load generator for the gateway's message API (POST /api/v1/messages).
//
// Two measurements, each against a gateway it starts itself (synchronous=FULL, so every receipt
// means the transfer is on disk), or against a running gateway given by --port and --token:
//  - throughput: N keep-alive connections, each sending its next request as soon as the last one
//    is answered, for D seconds; counts receipted (202) transfers per second.
//  - latency: an open-loop schedule of R requests per second over the same connections. Latency
//    runs from each request's *scheduled* send time, so a stalled gateway cannot hide behind a
//    load generator that slows down with it (no coordinated omission).
// One thread drives every connection with Asio, so 64 or 1,000 connections cost little.
// Results are printed as Markdown; --write FILE replaces the bench's section of FILE.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

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

#include "gateway/core/digest.hpp"
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
  std::string command;  // the command line, for the report
};

// ---------------------------------------------------------------------------------------------
// The machine, for the report.

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string kernel() {
  utsname u{};
  uname(&u);
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

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

// ---------------------------------------------------------------------------------------------
// A gateway started for one measurement, in a temporary directory of its own.
// Owns the child process and the directory; SIGTERM (then SIGKILL) and removal on destruction.

class gateway_child {
 public:
  explicit gateway_child(const bench_options& o) : token_("bench-token-" + o.from) {
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
        {"limits", {{"http_threads", o.http_threads}}},
        {"log", {{"level", o.log_level}}}};
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
  /// User + system CPU the gateway has used so far.
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
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
  pid_t pid_ = -1;
  unsigned short port_ = 0;
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
};

struct phase_result {
  phase_spec spec;
  double window_s = 0;
  std::uint64_t receipted = 0;  // 202s answered in the measurement window
  std::uint64_t failed = 0;     // connection errors and timeouts (all phases)
  std::map<int, std::uint64_t> statuses;
  std::vector<double> latency_ms;  // requests scheduled in the window
  double gateway_cpu_s = -1;
  double bench_cpu_s = 0;

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
  connection(asio::io_context& ioc, load_phase& phase, tcp::endpoint ep, const std::string& token)
      : stream_(ioc), phase_(phase), ep_(ep) {
    req_.method(http::verb::post);
    req_.target("/api/v1/messages");
    req_.version(11);
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::authorization, "Bearer " + token);
    req_.set(http::field::content_type, "application/json");
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
  void on_read(beast::error_code ec);
  void fail();

  beast::tcp_stream stream_;
  load_phase& phase_;
  tcp::endpoint ep_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  steady::time_point scheduled_;
  bool closed_ = false;
};

/// Drives every connection of one measurement on one io_context until the schedule is done and
/// the last answer is in.
class load_phase {
 public:
  load_phase(asio::io_context& ioc, tcp::endpoint ep, std::string token, phase_spec spec,
             body_template& body, std::function<double()> gateway_cpu)
      : ioc_(ioc),
        ep_(ep),
        token_(std::move(token)),
        spec_(std::move(spec)),
        body_(body),
        gateway_cpu_(std::move(gateway_cpu)),
        tick_timer_(ioc),
        progress_timer_(ioc) {}

  phase_result run() {
    result_.spec = spec_;
    start_ = steady::now() + std::chrono::milliseconds(200);  // time to open the connections
    window_begin_ = start_ + spec_.warmup;
    end_ = window_begin_ + spec_.duration;
    for (int i = 0; i < spec_.connections; ++i) {
      conns_.push_back(std::make_shared<connection>(ioc_, *this, ep_, token_));
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

  /// A request finished: `status` 0 means the connection failed. A connection that is not
  /// `reusable` reconnects and reports on_ready() again.
  void on_answer(connection& c, steady::time_point scheduled, int status, bool reusable) {
    --in_flight_;
    auto now = steady::now();
    if (status == 0)
      ++result_.failed;
    else
      ++result_.statuses[status];
    if (status == 202) ++total_receipted_;
    if (scheduled >= window_begin_ && scheduled < end_) {
      if (status == 202 && (spec_.open_loop || now < end_)) ++result_.receipted;
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
  asio::steady_timer tick_timer_, progress_timer_;
  std::vector<std::shared_ptr<connection>> conns_;
  std::vector<connection*> idle_;
  std::deque<steady::time_point> pending_;
  steady::time_point start_, window_begin_, end_;
  std::uint64_t next_slot_ = 0;
  int in_flight_ = 0;
  bool running_ = false, window_started_ = false, scheduling_done_ = false, finished_ = false;
  std::uint64_t total_receipted_ = 0, receipted_last_second_ = 0;
  double cpu_at_begin_ = 0, self_cpu_at_begin_ = 0;
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
  phase_.on_ready(*this);
}

void connection::send(steady::time_point scheduled, std::string body) {
  scheduled_ = scheduled;
  req_.body() = std::move(body);
  req_.prepare_payload();
  stream_.expires_after(std::chrono::seconds(30));
  http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_write(ec);
  });
}

void connection::on_write(beast::error_code ec) {
  if (ec) return fail();
  res_ = {};
  http::async_read(
      stream_, buffer_, res_,
      [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
}

void connection::on_read(beast::error_code ec) {
  if (ec) return fail();
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

void connection::fail() {
  if (closed_) return;
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
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
    if (status != 202)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " × " + std::to_string(status);
  if (r.failed) out += (out.empty() ? "" : ", ") + std::to_string(r.failed) + " connection errors";
  return out.empty() ? "none" : out;
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

constexpr const char* begin_marker = "<!-- bluelink-bench:begin -->";
constexpr const char* end_marker = "<!-- bluelink-bench:end -->";

/// Replaces the bench's section of `path` (between its markers), or appends one.
void write_section(const fs::path& path, const std::string& section) {
  std::string text;
  if (std::ifstream in(path); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    text =
        "# Benchmarks\n\nMeasured numbers, with the machine and the exact command that produced "
        "them. Re-run a tool with `--write docs/benchmarks.md` to refresh its section.\n";
  }
  std::string block = std::string(begin_marker) + "\n" + section + end_marker + "\n";
  auto b = text.find(begin_marker);
  auto e = text.find(end_marker);
  if (b != std::string::npos && e != std::string::npos && e > b) {
    auto after = e + std::strlen(end_marker);
    if (after < text.size() && text[after] == '\n') ++after;
    text.replace(b, after - b, block);
  } else {
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += "\n" + block;
  }
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string quote(const std::string& arg) {
  if (arg.find_first_of(" \t'\"$\\") == std::string::npos) return arg;
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

phase_result run_phase(const bench_options& o, phase_spec spec, body_template& body,
                       std::string& db_fs) {
  asio::io_context ioc(1);
  std::optional<gateway_child> gw;
  unsigned short port = o.port;
  std::string token = o.token;
  std::function<double()> cpu;
  if (port == 0) {
    gw.emplace(o);  // a fresh gateway and database for each measurement
    port = gw->port();
    token = gw->token();
    db_fs = fs_type(gw->dir()) + ", " + gw->dir().parent_path().string();
    cpu = [&gw] { return gw->cpu_seconds(); };
  }
  std::fprintf(stderr, "[%s] gateway on 127.0.0.1:%u\n", spec.name.c_str(), port);
  load_phase phase(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), port), token,
                   std::move(spec), body, cpu);
  return phase.run();
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  CLI::App app{"bluelink-bench: load generator for the Bluelink gateway's HTTP message API"};
  app.add_option("--mode", o.mode, "throughput, latency or both")
      ->check(CLI::IsMember({"throughput", "latency", "both"}));
  app.add_option("-c,--connections", o.connections, "keep-alive connections")
      ->check(CLI::Range(1, 10000));
  app.add_option("-d,--duration", o.duration_s, "measured seconds per mode")
      ->check(CLI::Range(1, 3600));
  app.add_option("--warmup", o.warmup_s, "unmeasured seconds before each measurement")
      ->check(CLI::Range(0, 600));
  app.add_option("-r,--rate", o.rate, "offered requests/s in latency mode")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--port", o.port,
                 "use a running gateway on 127.0.0.1:PORT instead of starting one");
  app.add_option("--token", o.token, "bearer token of --from (with --port)");
  app.add_option("--from", o.from, "sending agency");
  app.add_option("--to", o.to, "receiving agency");
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
  o.command = quote(argv[0]);
  for (int i = 1; i < argc; ++i) o.command += " " + quote(argv[i]);
  signal(SIGPIPE, SIG_IGN);

  try {
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
      write_section(o.write_path, md);
      std::fprintf(stderr, "wrote %s\n", o.write_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bluelink-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
