#include "tests/support/failover_drill.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/console_ws.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"
#include "tools/pg_server/pg_server.hpp"

namespace bl::test {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string password = "failover drill 2026";
const std::string console_user = "police.drill";
const std::string manager_user = "drill.manager";
constexpr int quiet_every = 40;  // one request in this many is never decided: timers fire
const std::string phone_fallbacks_sql =
    "SELECT count(*) FROM transfer_events WHERE kind = 'phone_fallback'";

double seconds(steady::time_point from, steady::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string category_for(const std::string& to) {
  if (to == essex_police) return "police.traffic_management";
  if (to == essex_fire) return "fire.rescue";
  return "ambulance.casualty_care";
}

/// Rows of psql's unaligned output.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::int64_t int_of(const pg_server& s, const std::string& sql) {
  auto text = s.psql(sql, "bluelink");
  return text.empty() ? 0 : std::stoll(text);
}

/// What a server holds of what the gateways write: messages, audit rows and the nodes' newest
/// heartbeat. The same before and after means nothing was written.
struct written {
  std::string text;
  bool operator==(const written& o) const { return text == o.text; }
  bool operator!=(const written& o) const { return text != o.text; }
};

written writes_of(const pg_server& s) {
  return {s.psql(
      "SELECT 'messages ' || (SELECT count(*) FROM messages) || ', audit ' || (SELECT count(*) "
      "FROM audit) || ', newest heartbeat ' || COALESCE((SELECT max(seen_at)::text FROM "
      "cluster_nodes), 'none')",
      "bluelink")};
}

/// What one CAD sends and must receive. The worker thread owns the traffic state; the client's
/// thread only records deliveries and queues them for the worker.
struct receipt_time {
  steady::time_point submitted;
  steady::time_point receipted;
};

struct delivered_message {
  std::int64_t seq = 0;
  std::string id, type, transfer_id;
  std::int64_t version = 0;
};

class cad_driver {
 public:
  cad_driver(std::string agency, std::vector<std::string> peers, int quota,
             const cad::client_options& link, std::function<void(std::string)> fail)
      : agency_(std::move(agency)),
        peers_(std::move(peers)),
        quota_(quota),
        fail_(std::move(fail)) {
    client_ =
        std::make_unique<cad::cad_client>(link, [this](const cad::delivery& d) { on_delivery(d); });
  }
  ~cad_driver() { stop(); }

  /// Starts the traffic (the client is started, and connected, before).
  void start() {
    worker_ = std::thread([this] { run(); });
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    client_->stop();
  }

  const std::string& agency() const { return agency_; }
  cad::cad_client& client() { return *client_; }

  /// The first receipt of a message submitted at or after `t`; nullopt when none yet.
  std::optional<steady::time_point> first_receipt_after(steady::time_point t) {
    std::lock_guard lock(mu_);
    std::optional<steady::time_point> best;
    for (auto it = receipts_.rbegin(); it != receipts_.rend(); ++it)
      if (it->submitted >= t && (!best || it->receipted < *best)) best = it->receipted;
    return best;
  }
  /// The first receipt of any message (resent ones included) that came at or after `t`.
  std::optional<steady::time_point> first_any_receipt_after(steady::time_point t) {
    std::lock_guard lock(mu_);
    std::optional<steady::time_point> best;
    for (auto it = receipts_.rbegin(); it != receipts_.rend() && it->receipted >= t; ++it)
      best = it->receipted;
    return best;
  }
  /// The first message submitted at or after `t`, whether or not it has been receipted yet.
  std::optional<steady::time_point> first_submit_after(steady::time_point t) {
    std::lock_guard lock(mu_);
    auto it = std::lower_bound(submits_.begin(), submits_.end(), t);
    if (it == submits_.end()) return std::nullopt;
    return *it;
  }
  /// Receipts of messages submitted at or after `from` that came before `until`.
  int receipts_between(steady::time_point from, steady::time_point until) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& r : receipts_) n += r.submitted >= from && r.receipted < until;
    return n;
  }

  struct tally {
    int requests = 0;     // receipted
    int quiet = 0;        // receipted requests never to be decided
    int completed = 0;    // updates delivered here (as receiver)
    int outstanding = 0;  // submits without an answer
    bool originating = true;
    std::uint64_t receipts = 0;
  };
  tally counts() {
    std::lock_guard lock(mu_);
    tally t = tally_;
    t.outstanding = static_cast<int>(outstanding_count_);
    t.originating = originated_ < quota_;
    return t;
  }

  // After stop(): what was sent, receipted and delivered.
  std::map<std::string, std::string> expected;  // receipted message id -> its recipient
  std::set<std::string> quiet_transfers;
  std::vector<delivered_message> delivered;
  std::vector<std::string> receipted_ids;

 private:
  struct outstanding {
    std::string kind, id, transfer_id, recipient;
    bool quiet = false;
    steady::time_point submitted;
    std::future<cad::submit_result> result;
  };

  void on_delivery(const cad::delivery& d) {
    const auto& m = d.message;
    delivered_message r;
    r.seq = d.seq;
    r.id = m.value("id", std::string());
    r.type = m.value("type", std::string());
    r.transfer_id = m.value("transfer_id", std::string());
    r.version = m.value("version", std::int64_t{0});
    {
      std::lock_guard lock(mu_);
      delivered.push_back(r);
      if (r.type == "transfer.request" || r.type == "transfer.accept") inbox_.push_back(m);
      if (r.type == "transfer.update") ++tally_.completed;
    }
    cv_.notify_one();
  }

  void run() {
    for (;;) {
      std::deque<json> in;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, 2ms, [&] { return stop_ || !inbox_.empty(); });
        if (stop_) return;
        in.swap(inbox_);
      }
      for (const auto& m : in) react(m);
      originate();
      poll();
    }
  }

  void submit(const std::string& kind, json msg, const std::string& transfer_id,
              const std::string& recipient, bool quiet) {
    outstanding o;
    o.kind = kind;
    o.id = msg.at("id").get<std::string>();
    o.transfer_id = transfer_id;
    o.recipient = recipient;
    o.quiet = quiet;
    o.submitted = steady::now();
    o.result = client_->submit(std::move(msg));
    std::lock_guard lock(mu_);
    submits_.push_back(o.submitted);
    pending_.push_back(std::move(o));
    outstanding_count_ = pending_.size();
  }

  void react(const json& m) {
    const std::string type = m.value("type", std::string());
    const std::string tid = m.value("transfer_id", std::string());
    const std::string from = m.value("from", std::string());
    const auto version = m.value("version", std::int64_t{1});
    if (type == "transfer.request") {
      bool quiet = m.value("id", std::string()).find("-quiet") != std::string::npos;
      auto msg = party_message(new_message_id(agency_, "received"), "transfer.received", agency_,
                               tid, json::object(), version + 1);
      msg["to"] = json::array({from});
      submit("received", std::move(msg), tid, from, quiet);
    } else if (type == "transfer.accept") {
      auto msg = party_message(new_message_id(agency_, "update"), "transfer.update", agency_, tid,
                               {{"text", "Two more appliances on the way; road closed at J25"}},
                               version + 1);
      msg["to"] = json::array({from});
      submit("update", std::move(msg), tid, from, false);
    }
  }

  void originate() {
    while (originated_ < quota_ && requests_in_flight_ < in_flight) {
      const auto& to = peers_[static_cast<std::size_t>(originated_) % peers_.size()];
      const bool quiet = originated_ % quiet_every == quiet_every - 1;
      auto id = new_message_id(agency_, quiet ? "req-quiet" : "req");
      auto msg = request_between(id, agency_, to, category_for(to));
      if (quiet) msg["body"]["priority"] = "routine";  // its short decision limit (config)
      ++originated_;
      ++requests_in_flight_;
      submit("request", std::move(msg), "", to, quiet);
    }
  }

  void poll() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->result.wait_for(0s) != std::future_status::ready) {
        ++it;
        continue;
      }
      auto r = it->result.get();
      auto o = std::move(*it);
      it = pending_.erase(it);
      if (o.kind == "request") --requests_in_flight_;
      if (auto* e = std::get_if<error>(&r)) {
        fail(agency_ + "'s " + o.kind + " " + o.id + " was refused: " + std::string(e->id()) + " " +
             e->message);
        continue;
      }
      const auto& receipt = std::get<json>(r);
      const auto now = steady::now();
      std::string tid =
          o.transfer_id.empty() ? receipt.value("transfer_id", std::string()) : o.transfer_id;
      {
        std::lock_guard lock(mu_);
        receipts_.push_back({o.submitted, now});
        ++tally_.receipts;
        expected[o.id] = o.recipient;
        receipted_ids.push_back(o.id);
        if (o.kind == "request") {
          ++tally_.requests;
          if (o.quiet) {
            ++tally_.quiet;
            quiet_transfers.insert(tid);
          }
        }
      }
      if (o.kind == "received" && !o.quiet) {
        auto version = receipt.value("transfer_version", std::int64_t{0});
        auto msg = party_message(
            new_message_id(agency_, "accept"), "transfer.accept", agency_, tid,
            {{"receiver_incident", {{"number", agency_.substr(0, 3) + "-" + tid.substr(0, 20)}}},
             {"eta_minutes", 12}},
            version + 1);
        msg["to"] = json::array({o.recipient});
        submit("accept", std::move(msg), tid, o.recipient, false);
      }
    }
    std::lock_guard lock(mu_);
    outstanding_count_ = pending_.size();
  }

  void fail(const std::string& what) { fail_(what); }

 public:
  int in_flight = 48;

 private:
  std::string agency_;
  std::vector<std::string> peers_;
  int quota_;
  std::function<void(std::string)> fail_;
  std::unique_ptr<cad::cad_client> client_;
  std::thread worker_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<json> inbox_;
  std::vector<receipt_time> receipts_;       // in the order receipted
  std::vector<steady::time_point> submits_;  // every submission's time, in order
  tally tally_;
  std::size_t outstanding_count_ = 0;

  // The worker's own.
  std::vector<outstanding> pending_;
  int originated_ = 0;
  int requests_in_flight_ = 0;
};

class drill {
 public:
  explicit drill(const failover_drill_options& o) : opts_(o) {}

  failover_drill_result run();

 private:
  void fail(std::string what) {
    std::lock_guard lock(fail_mu_);
    if (result_.failures.size() < 60) result_.failures.push_back(std::move(what));
  }
  void say(const std::string& line) {
    if (opts_.progress) *opts_.progress << "failover drill: " << line << std::endl;
  }
  std::unique_ptr<gateway_process> node(const std::string& id, const std::string& endpoint,
                                        const fs::path& failpoints);
  void add_users();
  void console_loop();
  int requests_receipted();
  /// Waits for the first receipt after `t` at `hit` (every CAD when empty); -1 on timeout, with
  /// where the time went.
  fault_window window_after(std::string fault, std::string aim, steady::time_point t,
                            const std::vector<cad_driver*>& hit,
                            std::chrono::seconds within = 120s);
  std::vector<cad_driver*> on_endpoint(const std::string& endpoint);
  void progress_line(steady::time_point started);
  void checks();
  void check_savings();
  std::string conninfo() const;

  failover_drill_options opts_;
  failover_drill_result result_;
  std::mutex fail_mu_;

  std::unique_ptr<pg_server> primary_, standby_;
  pg_server* current_ = nullptr;  // the server taking writes now
  cad::key_pair gateway_key_;
  std::map<std::string, cad::key_pair> cad_keys_;
  std::vector<std::unique_ptr<gateway_process>> nodes_;
  std::vector<std::string> endpoints_;
  std::vector<fs::path> failpoint_files_;
  std::vector<std::unique_ptr<cad_driver>> cads_;

  std::thread console_;
  std::atomic<bool> console_stop_{false};
  std::mutex console_mu_;
  std::vector<std::int64_t> console_seen_;
  std::uint64_t console_reconnects_ = 0;
  bool console_signed_in_ = false;

  std::optional<written> stale_;  // the stale primary's, when it was restarted
};

std::string drill::conninfo() const {
  std::string hosts = primary_->host(), ports = std::to_string(primary_->port());
  hosts += "," + standby_->host();
  ports += "," + std::to_string(standby_->port());
  return "host=" + hosts + " port=" + ports +
         " dbname=bluelink user=bluelink connect_timeout=2 target_session_attrs=read-write";
}

std::unique_ptr<gateway_process> drill::node(const std::string& id, const std::string& endpoint,
                                             const fs::path& failpoints) {
  auto gw = std::make_unique<gateway_process>(
      json{
          {"database",
           {{"path", nullptr},
            {"synchronous", nullptr},
            {"engine", "postgres"},
            {"conninfo", conninfo()},
            {"busy_timeout_ms", 2000}}},
          {"cluster",
           {{"node_id", id}, {"heartbeat_ms", 200}, {"lease_ttl_ms", 1000}, {"node_ttl_ms", 1000}}},
          // One request in forty is routine and never decided: its decision limit (phone them)
          // fires during the drill, on whichever node sweeps first.
          {"priorities",
           {{"routine",
             {{"time_to_delivery_s", 60}, {"time_to_decision_s", 3}, {"default_expiry_s", 3600}}}}},
          {"log", {{"level", "info"}}}},
      false);
  std::ofstream(gw->dir() / "gateway.key")
      << json{{"public", gateway_key_.public_key}, {"secret", gateway_key_.secret_key}}.dump();
  json clients = json::array();
  for (const auto& [agency, keys] : cad_keys_)
    clients.push_back({{"agency", agency}, {"public_key", keys.public_key}});
  gw->config()["cad_link"] = {{"listen", endpoint},
                              {"server_key_file", (gw->dir() / "gateway.key").string()},
                              {"heartbeat_ms", 300},
                              {"clients", clients}};
  // Each node reads its own failpoint file (the variable is read when the child starts).
  std::ofstream(failpoints, std::ios::app);
  ::setenv("BLUELINK_FAILPOINT_FILE", failpoints.c_str(), 1);
  gw->start();
  ::unsetenv("BLUELINK_FAILPOINT_FILE");
  return gw;
}

void drill::add_users() {
  store::store_options o("");
  o.engine = store::engine_kind::postgres;
  o.conninfo = conninfo();
  accounts accts(agencies_config(), store::open_account_store(o));
  accts.add_user(console_user, "Police drill console", role::operator_role, essex_police, password);
  accts.add_user(manager_user, "Drill manager", role::manager, "", password);
}

void drill::console_loop() {
  std::size_t which = nodes_.size() > 1 ? 1 : 0;  // starts on node B
  std::int64_t last = 0;
  std::string cookie;
  bool first = true;
  while (!console_stop_) {
    try {
      const unsigned short port = nodes_[which]->current_port().load();
      const std::string origin = "http://127.0.0.1:" + std::to_string(port);
      if (cookie.empty()) {
        http_client c(port);
        auto r = c.request_with("POST", "/api/v1/session",
                                json{{"username", console_user}, {"password", password}}.dump(),
                                {{"Origin", origin}});
        if (r.status != 200) throw std::runtime_error("sign-in: " + std::to_string(r.status));
        auto set_cookie = r.header("Set-Cookie");
        cookie = set_cookie.substr(0, set_cookie.find(';'));
      }
      console_ws ws(port, cookie, origin);
      ws.send({{"op", "hello"}, {"after", last}});
      {
        std::lock_guard lock(console_mu_);
        console_signed_in_ = true;
        if (!first) ++console_reconnects_;
      }
      first = false;
      auto pinged = steady::now();
      while (!console_stop_) {
        if (seconds(pinged, steady::now()) >= 1) {
          ws.send({{"op", "ping"}});
          pinged = steady::now();
        }
        auto f = ws.next(4s);
        const std::string op = f.value("op", "");
        if (op == "event") {
          const auto id = f.at("id").get<std::int64_t>();
          if (id <= last)
            fail("the console got event " + std::to_string(id) + " after " + std::to_string(last));
          last = id;
          std::lock_guard lock(console_mu_);
          console_seen_.push_back(id);
        } else if (op == "resync") {
          fail("the console was told to resync: " + f.dump());
          last = f.at("last_event").get<std::int64_t>();
        } else if (op == "error") {
          throw std::runtime_error("error frame " + f.dump());
        }
      }
    } catch (const std::exception&) {
      if (console_stop_) break;
      // Its node went: the other node, with the same session (sessions live in the store).
      which = (which + 1) % nodes_.size();
      std::this_thread::sleep_for(100ms);
    }
  }
}

int drill::requests_receipted() {
  int n = 0;
  for (auto& c : cads_) n += c->counts().requests;
  return n;
}

std::vector<cad_driver*> drill::on_endpoint(const std::string& endpoint) {
  std::vector<cad_driver*> out;
  for (auto& c : cads_)
    if (c->client().endpoint() == endpoint) out.push_back(c.get());
  return out;
}

fault_window drill::window_after(std::string fault, std::string aim, steady::time_point t,
                                 const std::vector<cad_driver*>& hit, std::chrono::seconds within) {
  fault_window w;
  w.fault = std::move(fault);
  w.aim = std::move(aim);
  std::vector<cad_driver*> who = hit;
  if (who.empty())
    for (auto& c : cads_) who.push_back(c.get());
  // Where each hit CAD's time went: when its client gave the node up and moved, when the next
  // node welcomed it, its first receipt of anything (resends included), its first submission
  // after the fault and that message's receipt.
  struct parts {
    cad::client_counters base;
    std::optional<steady::time_point> moved, welcomed;
  };
  std::vector<parts> seen(who.size());
  for (std::size_t i = 0; i < who.size(); ++i) seen[i].base = who[i]->client().counters();
  const auto until = steady::now() + within;
  std::optional<std::size_t> last;  // the hit CAD whose new receipt came last
  std::optional<steady::time_point> latest;
  while (steady::now() < until) {
    const auto now = steady::now();
    latest.reset();
    bool all = true;
    // The window ends when every CAD the fault hit has had a new receipt.
    for (std::size_t i = 0; i < who.size(); ++i) {
      auto* c = who[i];
      auto n = c->client().counters();
      if (!seen[i].moved && n.failovers > seen[i].base.failovers) seen[i].moved = now;
      if (!seen[i].welcomed && n.connects > seen[i].base.connects) seen[i].welcomed = now;
      auto r = c->first_receipt_after(t);
      if (!r) {
        // A CAD that has nothing left to send has no new receipt to wait for.
        auto k = c->counts();
        if (k.originating || k.outstanding > 0) all = false;
        continue;
      }
      if (!latest || *r > *latest) {
        latest = r;
        last = i;
      }
    }
    if (all && latest) break;
    std::this_thread::sleep_for(5ms);
  }
  if (!latest || !last) return w;
  cad_driver* slowest = who[*last];
  w.unavailable_s = seconds(t, *latest);
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << slowest->agency() << ":";
  const char* sep = " ";
  auto part = [&](const char* what, std::optional<steady::time_point> at) {
    o << sep << what << " " << (at ? seconds(t, *at) : -1.0) << " s";
    sep = ", ";
  };
  if (!hit.empty()) {
    part("moved", seen[*last].moved);
    part("welcomed", seen[*last].welcomed);
  }
  part("first receipt", slowest->first_any_receipt_after(t));
  part("first new submission", slowest->first_submit_after(t));
  part("its receipt", latest);
  w.parts = o.str();
  return w;
}

void drill::progress_line(steady::time_point started) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << seconds(started, steady::now()) << " s:";
  for (auto& c : cads_) {
    auto n = c->counts();
    o << " " << c->agency() << " " << n.requests << " req/" << n.completed << " done/"
      << n.outstanding << " out (" << c->client().endpoint().substr(16) << ")";
  }
  std::lock_guard lock(console_mu_);
  o << "; console " << console_seen_.size() << " events";
  say(o.str());
}

failover_drill_result drill::run() {
  if (opts_.faults && opts_.nodes < 2)
    throw std::invalid_argument("the failover drill's faults need two nodes");
  result_.nodes = opts_.nodes;
  say("starting PostgreSQL on 127.0.0.1: a primary and its synchronous standby");
  pg_server_options po;
  po.durable = false;      // a process kill loses no page the OS holds
  po.tcp_loopback = true;  // nodes and the standby connect over TCP, as across a network
  primary_ = std::make_unique<pg_server>(po);
  primary_->create_database("bluelink");
  standby_ = std::make_unique<pg_server>(*primary_, "bluelink_standby");
  primary_->require_sync_standby("bluelink_standby");
  current_ = primary_.get();

  gateway_key_ = new_curve_keys();
  for (const auto& a : {essex_fire, essex_police, eeast_ambulance}) cad_keys_[a] = new_curve_keys();
  const char* names[] = {"node-a", "node-b"};
  auto scratch = fs::temp_directory_path() / ("bluelink-drill-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  for (int i = 0; i < opts_.nodes; ++i) {
    endpoints_.push_back("tcp://127.0.0.1:" + std::to_string(fixed_test_port()));
    failpoint_files_.push_back(scratch / (std::string(names[i]) + ".failpoints"));
    nodes_.push_back(node(names[i], endpoints_.back(), failpoint_files_.back()));
  }
  add_users();
  say(std::to_string(opts_.nodes) + " gateway node(s) up");

  // Fire and Ambulance start on node A, Police on node B; each knows both.
  const std::map<std::string, std::vector<std::string>> peers = {
      {essex_fire, {essex_police, eeast_ambulance}},
      {essex_police, {essex_fire, eeast_ambulance}},
      {eeast_ambulance, {essex_police, essex_fire}}};
  int left = opts_.transfers;
  int i = 0;
  for (const auto& a : {essex_fire, essex_police, eeast_ambulance}) {
    int quota = i == 2 ? left : opts_.transfers / 3;
    left -= quota;
    cad::client_options o;
    o.endpoints = endpoints_;
    if (a == essex_police && endpoints_.size() > 1)
      std::reverse(o.endpoints.begin(), o.endpoints.end());
    o.server_public_key = gateway_key_.public_key;
    o.client_keys = cad_keys_[a];
    o.agency = a;
    o.backoff_initial = 50ms;
    o.backoff_max = 500ms;
    o.hello_timeout = 1000ms;
    cads_.push_back(std::make_unique<cad_driver>(a, peers.at(a), quota, o,
                                                 [this](std::string w) { fail(std::move(w)); }));
    cads_.back()->in_flight = opts_.in_flight;
    ++i;
  }

  console_ = std::thread([this] { console_loop(); });
  if (!eventually(
          [&] {
            std::lock_guard lock(console_mu_);
            return console_signed_in_;
          },
          30s, 20ms))
    fail("the console never connected");
  for (auto& c : cads_) c->client().start();
  if (!eventually(
          [&] {
            return std::all_of(cads_.begin(), cads_.end(),
                               [](auto& c) { return c->client().connected(); });
          },
          30s, 20ms))
    fail("the CADs never connected");

  const auto started = steady::now();
  for (auto& c : cads_) c->start();
  auto last_progress = started;
  int next_fault = opts_.faults ? 1 : 99;
  const auto deadline = started + 30min;
  for (;;) {
    const auto now = steady::now();
    if (now > deadline) {
      fail("the traffic did not finish within 30 minutes");
      break;
    }
    if (seconds(last_progress, now) >= 5) {
      progress_line(started);
      last_progress = now;
    }
    const double done = static_cast<double>(requests_receipted()) / opts_.transfers;
    if (next_fault == 1 && done >= 0.10) {
      auto hit = on_endpoint(endpoints_[0]);
      say("fault 1: SIGKILL node A (" + std::to_string(hit.size()) + " CADs on it)");
      auto t = steady::now();
      nodes_[0]->kill(SIGKILL);
      nodes_[0]->wait_exit();
      result_.windows.push_back(
          window_after("gateway node SIGKILLed (CADs move to the other node)", "≤ 3 s", t, hit));
      nodes_[0]->start();
      say("node A restarted");
      ++next_fault;
    } else if (next_fault == 2 && done >= 0.25) {
      say("fault 2: the standby's WAL receiver stalled for 2 s");
      auto t = steady::now();
      if (!standby_->signal_wal_receiver(SIGSTOP)) fail("the standby had no WAL receiver");
      std::this_thread::sleep_for(2s);
      auto resumed = steady::now();
      standby_->signal_wal_receiver(SIGCONT);
      // Synchronous commit: nothing submitted after the stall began may be receipted before the
      // standby has it (a little slack for a commit already on its way to the standby).
      int early = 0;
      for (auto& c : cads_) early += c->receipts_between(t + 200ms, resumed);
      if (early > 0)
        fail(std::to_string(early) +
             " messages were receipted while the synchronous standby could not confirm them");
      result_.windows.push_back(
          window_after("synchronous standby's WAL receiver stalled for 2 s", "–", t, {}));
      for (auto& c : cads_) {
        auto a = c->first_receipt_after(t), b = c->first_receipt_after(resumed);
        say(c->agency() + ": first receipt of a message submitted in the stall " +
            (a ? std::to_string(seconds(resumed, *a)) : "-") +
            " s after it ended; submitted after it " +
            (b ? std::to_string(seconds(resumed, *b)) : "-") + " s");
      }
      ++next_fault;
    } else if (next_fault == 3 && done >= 0.40) {
      auto hit = on_endpoint(endpoints_[1]);
      say("fault 3: node B dies between a commit and its receipts (" + std::to_string(hit.size()) +
          " CADs on it)");
      std::ofstream(failpoint_files_[1], std::ios::trunc) << "engine.crash_after_commit\n";
      int code = nodes_[1]->wait_exit(60s);
      auto t = steady::now();
      std::ofstream(failpoint_files_[1], std::ios::trunc);
      if (code != 128 + SIGKILL)
        fail("node B ended with " + std::to_string(code) + ", not SIGKILL");
      result_.windows.push_back(
          window_after("gateway node killed between commit and receipt", "≤ 3 s", t, hit));
      ::setenv("BLUELINK_FAILPOINT_FILE", failpoint_files_[1].c_str(), 1);
      nodes_[1]->start();
      ::unsetenv("BLUELINK_FAILPOINT_FILE");
      say("node B restarted");
      ++next_fault;
    } else if (next_fault == 4 && done >= 0.55) {
      say("fault 4: SIGKILL the primary; the standby is promoted");
      auto t = steady::now();
      primary_->kill();
      standby_->promote();
      current_ = standby_.get();
      say("standby promoted after " + std::to_string(seconds(t, steady::now())) + " s");
      result_.windows.push_back(window_after(
          "PostgreSQL primary SIGKILLed, standby promoted at once", "≤ 5 s + detection", t, {}));
      ++next_fault;
    } else if (next_fault == 5 && done >= 0.70) {
      say("fault 5: the old primary restarted as it was, taking writes on its old timeline");
      // As it was, except that it no longer waits for its lost standby: the worst case, a
      // stale primary that would take a write at once.
      auto conf = primary_->dir() / "data" / "postgresql.auto.conf";
      std::string kept;
      {
        std::ifstream in(conf);
        for (std::string line; std::getline(in, line);)
          if (line.find("synchronous_standby_names") == std::string::npos) kept += line + "\n";
      }
      std::ofstream(conf, std::ios::trunc) << kept;
      primary_->start();
      if (primary_->psql("SELECT pg_is_in_recovery()") != "f")
        fail("the old primary did not come back as a primary");
      stale_ = writes_of(*primary_);
      ++next_fault;
    }
    bool finished = true;
    for (auto& c : cads_) {
      auto n = c->counts();
      if (n.originating || n.outstanding > 0) finished = false;
    }
    int completed = 0, quiet = 0, requests = 0;
    for (auto& c : cads_) {
      auto n = c->counts();
      completed += n.completed;
      quiet += n.quiet;
      requests += n.requests;
    }
    if (finished && completed >= requests - quiet && (next_fault > 5 || !opts_.faults)) break;
    std::this_thread::sleep_for(20ms);
  }
  const auto traffic_end = steady::now();
  result_.traffic_s = seconds(started, traffic_end);
  progress_line(started);

  // The undecided transfers' decision limits (3 s after their request) fire before the checks.
  std::int64_t quiet_total = 0;
  for (auto& c : cads_) quiet_total += c->counts().quiet;
  if (!eventually([&] { return int_of(*current_, phone_fallbacks_sql) >= quiet_total; }, 60s,
                  200ms))
    fail("not every undecided transfer's decision limit fired within a minute");
  // The console catches up with every event of its agency.
  const auto last_police_event =
      int_of(*current_,
             "SELECT COALESCE(max(e.id), 0) FROM transfer_events e JOIN transfers t ON t.id = "
             "e.transfer_id WHERE t.requester = 'essex-police' OR t.responder = 'essex-police'");
  if (!eventually(
          [&] {
            std::lock_guard lock(console_mu_);
            return !console_seen_.empty() && console_seen_.back() >= last_police_event;
          },
          30s, 50ms))
    fail("the console did not catch up with event " + std::to_string(last_police_event));
  // Deliveries that follow the last receipts (phone prompts) settle.
  std::this_thread::sleep_for(1s);
  console_stop_ = true;
  console_.join();
  for (auto& c : cads_) {
    auto k = c->client().counters();
    result_.duplicates_dropped += k.duplicates_dropped;
    result_.resent_submits += k.resent_submits;
    result_.cad_failovers += k.failovers;
    c->stop();
  }
  checks();
  result_.transfers_per_s = result_.traffic_s > 0 ? result_.transfers / result_.traffic_s : 0;
  result_.messages_per_s = result_.traffic_s > 0 ? result_.receipts / result_.traffic_s : 0;
  nodes_.clear();
  fs::remove_all(scratch);
  return result_;
}

void drill::checks() {
  // Every node is still up. One that ended by itself (a sanitizer's report, a component failed by
  // a store error during the promotion) is a failure, told with the end of what it wrote.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto code = nodes_[i]->exited();
    if (!code) continue;
    auto err = nodes_[i]->stderr_text();
    if (err.size() > 4000) err = "..." + err.substr(err.size() - 4000);
    fail("node " + std::to_string(i) + " (" + nodes_[i]->dir().filename().string() +
         ") ended by itself with exit code " + std::to_string(*code) + "; its stderr ends:\n" +
         err);
  }
  // Nothing receipted is lost, nothing is stored twice.
  std::set<std::string> stored;
  for (auto& line : lines_of(current_->psql("SELECT id FROM messages", "bluelink")))
    stored.insert(line);
  if (int_of(*current_, "SELECT count(*) - count(DISTINCT id) FROM messages") != 0)
    fail("a message is stored twice");
  std::map<std::string, std::string> expected;  // id -> recipient
  std::set<std::string> quiet;
  for (auto& c : cads_) {
    for (const auto& id : c->receipted_ids)
      if (!stored.count(id)) fail("receipted " + id + " is not in the store");
    expected.insert(c->expected.begin(), c->expected.end());
    quiet.insert(c->quiet_transfers.begin(), c->quiet_transfers.end());
    auto n = c->counts();
    result_.transfers += n.requests;
    result_.completed += n.completed;
    result_.receipts += n.receipts;
  }
  result_.completed += static_cast<int>(quiet.size());

  // Each receipted message reached its recipient once (after the client's dedupe), each CAD's
  // sequence has no gap, each transfer's messages came in version order.
  std::map<std::string, std::map<std::string, int>> got;  // agency -> id -> times
  for (auto& c : cads_) {
    result_.deliveries += c->delivered.size();
    std::int64_t prev = 0;
    std::map<std::string, std::int64_t> version_of;
    for (const auto& d : c->delivered) {
      if (d.seq != prev + 1)
        fail(c->agency() + " got sequence " + std::to_string(d.seq) + " after " +
             std::to_string(prev));
      prev = d.seq;
      ++got[c->agency()][d.id];
      if (d.version > 0 && !d.transfer_id.empty()) {
        auto& v = version_of[d.transfer_id];
        if (d.version <= v)
          fail(c->agency() + " got version " + std::to_string(d.version) + " of " + d.transfer_id +
               " after version " + std::to_string(v));
        v = std::max(v, d.version);
      }
    }
  }
  int lost = 0, twice = 0;
  for (const auto& [id, to] : expected) {
    int n = got[to][id];
    if (n == 0 && ++lost <= 5) fail(to + " never got " + id);
    if (n > 1 && ++twice <= 5) fail(to + " got " + id + " " + std::to_string(n) + " times");
  }
  if (lost > 5) fail(std::to_string(lost) + " receipted messages never reached their recipient");
  if (twice > 5) fail(std::to_string(twice) + " messages were delivered more than once");

  // Timers fired once each, on whichever node swept first.
  auto twice_fired = current_->psql(
      "SELECT transfer_id || ' ' || kind || ' ' || COALESCE(detail, '') FROM transfer_events "
      "WHERE kind IN ('phone_fallback', 'expired') GROUP BY transfer_id, kind, detail "
      "HAVING count(*) > 1 LIMIT 5",
      "bluelink");
  if (!twice_fired.empty()) fail("timers fired twice: " + twice_fired);
  result_.timers_fired = static_cast<std::uint64_t>(
      int_of(*current_,
             "SELECT count(*) FROM transfer_events WHERE kind IN ('phone_fallback', 'expired')"));
  auto prompts = static_cast<std::size_t>(int_of(*current_, phone_fallbacks_sql));
  if (prompts != quiet.size())
    fail(std::to_string(prompts) + " phone prompts for " + std::to_string(quiet.size()) +
         " undecided transfers");

  // The audit chain verifies across the failover.
  store::store_options o("");
  o.engine = store::engine_kind::postgres;
  o.conninfo = conninfo();
  auto report = store::open_reader(o)->verify_audit();
  if (!report.ok) fail("the audit chain does not verify: " + report.problem);

  // The console saw every event of its agency, once, in order.
  auto events = lines_of(current_->psql(
      "SELECT e.id FROM transfer_events e JOIN transfers t ON t.id = e.transfer_id WHERE "
      "t.requester = 'essex-police' OR t.responder = 'essex-police' ORDER BY e.id",
      "bluelink"));
  {
    std::lock_guard lock(console_mu_);
    result_.console_events = console_seen_.size();
    result_.console_reconnects = console_reconnects_;
    std::vector<std::int64_t> want;
    for (const auto& e : events) want.push_back(std::stoll(e));
    if (want != console_seen_)
      fail("the console saw " + std::to_string(console_seen_.size()) + " events; its agency has " +
           std::to_string(want.size()));
  }

  check_savings();

  // The stale primary was never written to.
  if (stale_) {
    auto now = writes_of(*primary_);
    if (now != *stale_)
      fail("the stale primary was written to: " + stale_->text + " -> " + now.text);
  }
}

void drill::check_savings() {
  std::vector<json> totals;
  for (auto& n : nodes_) {
    if (!n->running()) continue;  // told above
    const unsigned short port = n->port();
    const std::string origin = "http://127.0.0.1:" + std::to_string(port);
    http_client c(port);
    auto r = c.request_with("POST", "/api/v1/session",
                            json{{"username", manager_user}, {"password", password}}.dump(),
                            {{"Origin", origin}});
    if (r.status != 200) {
      fail("the manager could not sign in: " + std::to_string(r.status));
      return;
    }
    auto set_cookie = r.header("Set-Cookie");
    auto report = c.request_with(
        "GET", "/api/v1/reports/savings", "",
        {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}, {"Origin", origin}});
    if (report.status != 200) {
      fail("the savings report failed: " + std::to_string(report.status) + " " + report.body);
      return;
    }
    totals.push_back(report.json.at("totals").at("overall").at("total"));
  }
  for (std::size_t i = 1; i < totals.size(); ++i)
    if (totals[i] != totals[0]) fail("the nodes' savings totals differ");
  if (totals.empty()) return;
  auto transfers = totals[0].at("transfers").at("total").get<std::int64_t>();
  if (transfers != result_.transfers)
    fail("the savings report counts " + std::to_string(transfers) + " transfers; " +
         std::to_string(result_.transfers) + " were receipted");
}

}  // namespace

std::string failover_drill_result::summary() const {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2);
  o << nodes << " node(s): " << transfers << " transfers (" << completed << " completed), "
    << receipts << " messages receipted, " << deliveries << " deliveries in " << traffic_s
    << " s: " << transfers_per_s << " transfers/s, " << messages_per_s << " messages/s\n";
  o << "  CAD clients: " << cad_failovers << " failovers, " << resent_submits
    << " submits sent again, " << duplicates_dropped << " duplicate deliveries dropped\n";
  o << "  console: " << console_events << " events, " << console_reconnects
    << " reconnects; timers fired: " << timers_fired << "\n";
  for (const auto& w : windows)
    o << "  " << w.fault << ": " << w.unavailable_s << " s to the first new receipt (" << w.parts
      << ")\n";
  if (failures.empty()) {
    o << "  PASSED: every check held\n";
  } else {
    o << "  FAILED:\n";
    for (const auto& f : failures) o << "    " << f << "\n";
  }
  return o.str();
}

failover_drill_result run_failover_drill(const failover_drill_options& opts) {
  drill d(opts);
  return d.run();
}

}  // namespace bl::test
