#include "gateway/service/cluster.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "gateway/core/log_value.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/store/cluster_store.hpp"

namespace bl {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// How long the thread waits for wake-ups before it looks at its lease requests again: the most
// a new CAD session waits for its lease (the link thread's want_lease also wakes the thread
// between two waits, but not during one).
constexpr std::chrono::milliseconds request_poll{20};
// After a failure, how long before the next attempt.
constexpr std::chrono::milliseconds retry_after{500};
// What a peer may publish: bounded before it is parsed (a node is trusted, its data still bounded).
constexpr std::size_t max_peer_links_bytes = 1 << 20;

json opt_ms(const std::optional<time_point>& t) {
  return t ? json(to_ms(*t)) : json();
}

std::optional<time_point> read_ms(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return from_ms(it->get<std::int64_t>());
}

std::string links_to_json(const std::vector<link_state>& links) {
  json out = json::array();
  for (const auto& s : links)
    out.push_back({{"agency", s.agency},
                   {"kind", s.kind},
                   {"up", s.up},
                   {"session", s.session},
                   {"node", s.node},
                   {"client", s.client},
                   {"connected_since", opt_ms(s.connected_since)},
                   {"last_heard", opt_ms(s.last_heard)},
                   {"last_down", opt_ms(s.last_down)},
                   {"down_reason", s.down_reason},
                   {"sent_upto", s.sent_upto},
                   {"acked_upto", s.acked_upto},
                   {"last_seq", s.last_seq}});
  return out.dump();
}

peer_links peer_from_json(const store::peer_status& p) {
  peer_links out;
  out.node = p.status.node;
  if (p.status.links_json.size() > max_peer_links_bytes ||
      p.status.presence_json.size() > max_peer_links_bytes)
    throw std::runtime_error("node '" + p.status.node + "' published more than 1 MiB of links");
  auto links = json::parse(p.status.links_json);
  auto presence = json::parse(p.status.presence_json);
  if (!links.is_array() || !presence.is_object())
    throw std::runtime_error("node '" + p.status.node + "' published links of the wrong shape");
  for (const auto& j : links) {
    link_state s;
    s.agency = j.at("agency").get<std::string>();
    s.kind = j.at("kind").get<std::string>();
    s.up = j.at("up").get<bool>();
    s.session = j.value("session", std::string());
    s.node = j.value("node", out.node);
    s.client = j.value("client", std::string());
    s.connected_since = read_ms(j, "connected_since");
    s.last_heard = read_ms(j, "last_heard");
    s.last_down = read_ms(j, "last_down");
    s.down_reason = j.value("down_reason", std::string());
    s.sent_upto = j.value("sent_upto", std::int64_t{0});
    s.acked_upto = j.value("acked_upto", std::int64_t{0});
    s.last_seq = j.value("last_seq", std::int64_t{0});
    out.links.push_back(std::move(s));
  }
  for (const auto& [agency, n] : presence.items())
    if (n.is_number_integer()) out.consoles[agency] = n.get<int>();
  return out;
}

}  // namespace

cluster::cluster(cluster_options opts, std::unique_ptr<store::cluster_store> store,
                 inbox_notifier& notifier, link_registry& links,
                 std::shared_ptr<spdlog::logger> log)
    : opts_(std::move(opts)),
      store_(std::move(store)),
      notifier_(notifier),
      links_(links),
      log_(std::move(log)) {}

cluster::~cluster() {
  stop();
}

void cluster::start() {
  if (!store_ || thread_.joinable()) return;
  log_->info("event=cluster_starting node={} heartbeat_ms={} lease_ttl_ms={}", opts_.node,
             opts_.heartbeat.count(), opts_.lease_ttl.count());
  thread_ = std::thread([this] { run(); });
  fence_thread_ = std::thread([this] { run_fence(); });
}

void cluster::run_fence() {
  const auto every = std::max<std::chrono::milliseconds>(opts_.heartbeat * 2, 500ms);
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, every, [this] { return stopping_; })) return;
    }
    std::string summary, problem;
    try {
      summary = store_->probe_primary();
    } catch (const std::exception& e) {
      problem = e.what();
    }
    std::string before_summary, before_problem;
    {
      std::lock_guard lock(mu_);
      before_summary = std::exchange(fence_summary_, summary);
      before_problem = std::exchange(fence_error_, problem);
    }
    // Logged when what the servers are changes (a promotion, a server gone or back), not every
    // probe.
    if (!problem.empty() && problem != before_problem)
      log_->error("event=primary_unavailable node={} error={}", opts_.node, log_quote(problem));
    else if (problem.empty() && (summary != before_summary || !before_problem.empty()))
      log_->info("event=primary_found node={} servers={}", opts_.node, log_quote(summary));
  }
}

void cluster::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fence_thread_.joinable()) fence_thread_.join();
}

void cluster::want_lease(const std::string& agency, const std::string& session) {
  if (!store_) return;
  {
    std::lock_guard lock(mu_);
    leases_[agency] = lease_entry{session, 0, false, {}};
    requests_.push_back({true, agency, session});
  }
  cv_.notify_all();
}

void cluster::drop_lease(const std::string& agency, const std::string& session) {
  if (!store_) return;
  {
    std::lock_guard lock(mu_);
    auto it = leases_.find(agency);
    if (it == leases_.end() || it->second.session != session) return;
    bool taken = it->second.generation > 0 && !it->second.lost;
    leases_.erase(it);
    if (taken) requests_.push_back({false, agency, session});
  }
  cv_.notify_all();
}

lease_state cluster::lease(const std::string& agency, const std::string& session) const {
  if (!store_) return lease_state::held;
  std::lock_guard lock(mu_);
  auto it = leases_.find(agency);
  if (it == leases_.end() || it->second.session != session) return lease_state::pending;
  if (it->second.lost) return lease_state::lost;
  if (it->second.generation == 0 || clock::now() >= it->second.valid_until)
    return lease_state::pending;
  return lease_state::held;
}

cluster_health cluster::health() const {
  cluster_health h;
  h.alone = !store_;
  std::lock_guard lock(mu_);
  h.listening = listening_;
  h.error = error_;
  if (!error_.empty())
    h.failing_for_s = std::chrono::duration<double>(clock::now() - failing_since_).count();
  h.peers = peers_;
  h.wakes = wakes_.load();
  h.store_failures = store_failures_.load();
  h.leases_lost = leases_lost_.load();
  h.primary = fence_summary_;
  h.primary_error = fence_error_;
  return h;
}

void cluster::run() {
  auto next_beat = clock::now();
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (beat_) (*beat_)();
    try {
      turn(next_beat);
    } catch (const std::exception& e) {
      failed(e.what());
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, retry_after, [this] { return stopping_; });
    }
  }
  // A clean stop gives this node's leases up at once: the agencies' CADs, which move to another
  // node, are delivered to there without waiting for the TTL.
  try {
    store_->leave(opts_.node);
  } catch (const std::exception& e) {
    log_->warn("event=cluster_leave_failed node={} error={}", opts_.node, log_quote(e.what()));
  }
  log_->info("event=cluster_stopped node={}", opts_.node);
}

void cluster::failed(const std::string& why) {
  store_failures_.fetch_add(1);
  bool first;
  {
    std::lock_guard lock(mu_);
    first = error_.empty();
    if (first) failing_since_ = clock::now();
    error_ = why;
    listening_ = false;
  }
  // Logged once per run of failures; health() and /metrics show it meanwhile.
  if (first) log_->error("event=cluster_store_failed node={} error={}", opts_.node, log_quote(why));
}

void cluster::turn(clock::time_point& next_beat) {
  if (store_->ensure_listening()) {
    bool was_failing;
    {
      std::lock_guard lock(mu_);
      was_failing = !error_.empty();
      error_.clear();
      listening_ = true;
    }
    log_->info("event=cluster_listening node={} recovered={}", opts_.node, was_failing);
    // Whatever the other nodes committed while this node was not listening: every waiting reader
    // looks again.
    notifier_.notify_all();
    if (timeline_listener_) timeline_listener_();
    next_beat = clock::now();
  }
  std::vector<request> reqs;
  {
    std::lock_guard lock(mu_);
    reqs.swap(requests_);
  }
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    try {
      if (reqs[i].take)
        take(reqs[i]);
      else
        store_->release_lease(reqs[i].agency, opts_.node, reqs[i].session);
    } catch (...) {
      // Tried again after the retry pause, in order, unless the session has moved on meanwhile.
      std::lock_guard lock(mu_);
      requests_.insert(requests_.begin(), reqs.begin() + static_cast<std::ptrdiff_t>(i),
                       reqs.end());
      throw;
    }
  }
  if (clock::now() >= next_beat) {
    heartbeat();
    next_beat = clock::now() + opts_.heartbeat;
    // A heartbeat that went through on a connection whose earlier statement failed (the server
    // was read-only for a moment during a failover, say): the node is in touch again.
    bool recovered;
    {
      std::lock_guard lock(mu_);
      recovered = !error_.empty();
      error_.clear();
      listening_ = true;
    }
    if (recovered) log_->info("event=cluster_listening node={} recovered=true", opts_.node);
  }
  auto wait = std::min<clock::duration>(request_poll, next_beat - clock::now());
  {
    std::lock_guard lock(mu_);
    if (!requests_.empty() || stopping_) wait = clock::duration::zero();
  }
  auto wakes = store_->wait_wakes(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max<clock::duration>(wait, clock::duration::zero())));
  std::vector<std::string> lost;
  for (const auto& w : wakes) {
    if (w.node == opts_.node) continue;  // this node woke its own readers when it committed
    wakes_.fetch_add(1);
    if (w.lease_taken) {
      std::lock_guard lock(mu_);
      for (const auto& a : w.agencies) {
        auto it = leases_.find(a);
        if (it == leases_.end() || it->second.lost) continue;
        it->second.lost = true;
        lost.push_back(a);
      }
      continue;
    }
    if (w.all)
      notifier_.notify_all();
    else if (!w.agencies.empty())
      notifier_.notify(w.agencies);
    if (w.timeline && timeline_listener_) timeline_listener_();
  }
  if (!lost.empty()) {
    leases_lost_.fetch_add(lost.size());
    for (const auto& a : lost)
      log_->warn("event=cad_lease_lost node={} agency={} reason=taken_by_another_node", opts_.node,
                 a);
    tell(lost);
  }
}

void cluster::take(const request& r) {
  {
    std::lock_guard lock(mu_);
    auto it = leases_.find(r.agency);
    if (it == leases_.end() || it->second.session != r.session) return;  // ended meanwhile
  }
  auto sent = clock::now();
  auto generation = store_->take_lease(r.agency, opts_.node, r.session, opts_.lease_ttl);
  {
    std::lock_guard lock(mu_);
    auto it = leases_.find(r.agency);
    if (it == leases_.end() || it->second.session != r.session) {
      // The session ended while the lease was being taken: give it straight back.
      requests_.push_back({false, r.agency, r.session});
      return;
    }
    it->second.generation = generation;
    it->second.lost = false;
    it->second.valid_until = sent + opts_.lease_ttl;
  }
  log_->info("event=cad_lease_taken node={} agency={} session={} generation={}", opts_.node,
             r.agency, r.session, generation);
  tell({r.agency});
}

void cluster::heartbeat() {
  store::node_status me;
  me.node = opts_.node;
  me.links_json = links_to_json(links_.local());
  if (presence_) me.presence_json = json(presence_()).dump();
  auto peers = store_->heartbeat(me, opts_.node_ttl);
  std::vector<peer_links> parsed;
  for (const auto& p : peers) {
    try {
      parsed.push_back(peer_from_json(p));
    } catch (const std::exception& e) {
      log_->error("event=cluster_peer_unreadable node={} peer={} error={}", opts_.node,
                  log_quote(p.status.node), log_quote(e.what()));
    }
  }
  {
    // Published before the peers' links so that whoever sees a peer's link also sees the peer.
    std::lock_guard lock(mu_);
    peers_ = peers.size();
  }
  links_.set_peers(std::move(parsed));
  // Renewal: the TTL counts from before the statement was sent, so this node stops delivering
  // no later than the database's lease runs out.
  auto sent = clock::now();
  auto held = store_->renew_leases(opts_.node, opts_.lease_ttl);
  std::vector<std::string> changed;
  {
    std::lock_guard lock(mu_);
    for (auto& [agency, e] : leases_) {
      if (e.generation == 0 || e.lost) continue;
      auto it = held.find(agency);
      bool ours = it != held.end() && it->second.session == e.session &&
                  it->second.generation == e.generation;
      if (ours) {
        if (sent >= e.valid_until) changed.push_back(agency);  // held again after a lapse
        e.valid_until = sent + opts_.lease_ttl;
      } else {
        e.lost = true;
        leases_lost_.fetch_add(1);
        log_->warn("event=cad_lease_lost node={} agency={} reason=not_renewed", opts_.node, agency);
        changed.push_back(agency);
      }
    }
  }
  tell(changed);
}

void cluster::tell(const std::vector<std::string>& agencies) {
  if (!lease_listener_) return;
  for (const auto& a : agencies) lease_listener_(a);
}

}  // namespace bl
