#pragma once
// This node's part in a cluster of gateway nodes on one PostgreSQL store (issue 16; docs/
// architecture.md, "Several nodes"). One thread with one connection of its own
// (store::cluster_store) does three things:
//
//   wake-ups  it listens for the other nodes' commits and wakes this node's waiting readers: the
//             inbox notifier (long-polls, CAD sessions, UCRI2, EIDO) for the agencies named, and
//             the console hub for timeline events. After its connection was lost it wakes them
//             all once, since it may have missed some.
//   links     about once a second it publishes this node's CAD links and console presence, and
//             reads the other live nodes', so that every node shows the cluster's links.
//   leases    one node at a time delivers to an agency's CAD session. The CAD link thread asks
//             for a lease when a session starts (want_lease) and delivers only while lease()
//             says held; this thread takes it at once (the newest session wins, as on one node)
//             and renews it with each heartbeat. A lease counts as held only until the TTL,
//             measured from before the renewal was sent, runs out: a node that cannot reach the
//             database stops delivering before another node may take the agency over. A lease
//             another node took is lost, and the link thread ends its session.
//
// On SQLite (no cluster_store) the node is alone: every lease is held at once and the thread is
// not started. Nothing here decides what is stored; the database's transactions do that.
//
// Thread-safety: want_lease, drop_lease, lease, health may be called from any thread; the
// listeners run on the cluster thread and must only post work elsewhere. Lifetime: start() after
// the engine, stop() before it (stop gives this node's leases up at once).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/core/liveness.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class inbox_notifier;
class link_registry;
namespace store {
class cluster_store;
}

struct cluster_options {
  std::string node;  // this node's id (unique in the cluster)
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds node_ttl{5000};
  std::chrono::milliseconds lease_ttl{5000};
};

enum class lease_state {
  pending,  // asked for, not (or no longer) confirmed by the database: deliver nothing yet
  held,     // this node delivers to the session
  lost,     // another node took the agency's CAD: end the session
};

/// What /healthz and /metrics say of the node's place in the cluster.
struct cluster_health {
  bool alone = true;       // no other node can exist (SQLite)
  bool listening = false;  // connected and listening for the other nodes' wake-ups
  std::string error;       // why not, while not
  double failing_for_s = 0;
  std::size_t peers = 0;    // other live nodes
  std::uint64_t wakes = 0;  // wake-ups received from other nodes
  std::uint64_t store_failures = 0;
  std::uint64_t leases_lost = 0;  // sessions of this node's that another node took over
  std::string primary;            // the fence probe's last finding ("pg1:5432 primary on ...")
  std::string primary_error;      // why no server may be written to now, if so
};

class cluster {
 public:
  /// `store` null: the node is alone (SQLite).
  cluster(cluster_options opts, std::unique_ptr<store::cluster_store> store,
          inbox_notifier& notifier, link_registry& links, std::shared_ptr<spdlog::logger> log);
  ~cluster();
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// Called when another node committed timeline events (the console hub's wake). Set before
  /// start().
  void set_timeline_listener(std::function<void()> fn) { timeline_listener_ = std::move(fn); }
  /// This node's signed-in consoles per agency, published with each heartbeat. Set before start().
  void set_presence_source(std::function<std::map<std::string, int>()> fn) {
    presence_ = std::move(fn);
  }
  /// Called with an agency whose lease changed state (held, lost). Set before start().
  void set_lease_listener(std::function<void(const std::string& agency)> fn) {
    lease_listener_ = std::move(fn);
  }
  void set_beat(liveness::beat* b) { beat_ = b; }

  void start();
  void stop();

  const std::string& node() const { return opts_.node; }
  bool alone() const { return store_ == nullptr; }

  /// A session of `agency` began on this node: its lease is taken at once (on the cluster thread).
  void want_lease(const std::string& agency, const std::string& session);
  /// The session ended: the lease is given up, if this node still holds it for that session.
  void drop_lease(const std::string& agency, const std::string& session);
  /// Whether this node may deliver to `agency`'s `session` now.
  lease_state lease(const std::string& agency, const std::string& session) const;

  cluster_health health() const;

 private:
  using clock = std::chrono::steady_clock;
  struct lease_entry {
    std::string session;
    std::int64_t generation = 0;  // 0: not taken yet
    bool lost = false;
    clock::time_point valid_until{};
  };
  struct request {
    bool take = true;
    std::string agency, session;
  };

  void run();
  /// The fence thread: every few heartbeats, finds the primary among the database's servers and
  /// raises the process's fence to its timeline (store::cluster_store::probe_primary), so that
  /// connections still open to an old primary are refused. On a thread of its own: a server that
  /// does not answer holds a probe for the connect timeout, which must not delay the leases.
  void run_fence();
  void turn(clock::time_point& next_beat);
  void take(const request& r);
  void heartbeat();
  void failed(const std::string& why);
  /// Tells the lease listener about `agencies` (outside mu_).
  void tell(const std::vector<std::string>& agencies);

  cluster_options opts_;
  std::unique_ptr<store::cluster_store> store_;
  inbox_notifier& notifier_;
  link_registry& links_;
  std::shared_ptr<spdlog::logger> log_;
  std::function<void()> timeline_listener_;
  std::function<std::map<std::string, int>()> presence_;
  std::function<void(const std::string&)> lease_listener_;
  liveness::beat* beat_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, lease_entry> leases_;  // by agency
  std::vector<request> requests_;
  bool stopping_ = false;
  bool listening_ = false;
  std::string error_;
  clock::time_point failing_since_{};
  std::size_t peers_ = 0;
  std::atomic<std::uint64_t> wakes_{0}, store_failures_{0}, leases_lost_{0};
  std::string fence_error_;  // the last probe's failure; empty while it finds one primary
  std::string fence_summary_;
  std::thread thread_, fence_thread_;
};

}  // namespace bl
