#pragma once
// What several gateway nodes on one store tell each other through it (issue 16; docs/
// architecture.md, "Several nodes"). The store carries three things between live nodes, none of
// which is a transfer:
//
//   wake-ups   a node that commits deliveries or timeline events announces them with the commit
//              (writer::announce); every other node hears them here and wakes its own waiting
//              readers (long-polls, CAD sessions, consoles). PostgreSQL: NOTIFY in the committing
//              transaction, LISTEN on a connection of the node's cluster thread.
//   heartbeats each node's CAD links and console presence, rewritten about once a second, so
//              that every node shows the links of all of them; a node not seen for the TTL is gone.
//   CAD leases which node delivers to an agency's CAD session: the newest session wins (as on one
//              node, where a newer hello replaces the older session), and the node renews its
//              lease while the session lives. A node that cannot renew stops delivering when its
//              lease runs out, so two nodes never deliver to one agency's CAD at once.
//
// The embedded engine (SQLite) is one node: open_cluster_store() gives no store for it, and the
// cluster service runs alone. Times are the database server's, so nodes' clocks need not agree.
// Ownership, threading: one cluster_store, one connection, used by one thread (the node's cluster
// thread). Every failure is a store_error (unavailable when the server cannot be reached).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bl::store {

/// The channel wake-ups travel on (PostgreSQL: LISTEN/NOTIFY).
inline constexpr const char* cluster_wake_channel = "bluelink_wake";

/// One node's commit, as announced to the others.
struct wake {
  std::string node;
  bool timeline = false;           // timeline events were written
  bool lease_taken = false;        // the node took the CAD leases of `agencies`
  bool all = false;                // every agency (too many to name in one notification)
  std::set<std::string> agencies;  // agencies with new deliveries
};
/// "node\t1\tfire,police": node, then 0 (deliveries), 1 (and timeline events) or L (CAD leases
/// taken), then the agencies or "*" for all; at most max_wake_bytes whatever the agencies.
std::string encode_wake(const wake& w);
/// The wake a payload describes; nullopt when it is not one (a foreign NOTIFY on the channel).
std::optional<wake> decode_wake(std::string_view payload);
inline constexpr std::size_t max_wake_bytes = 7000;  // PostgreSQL's limit is 8000

/// What a node publishes of itself with each heartbeat.
struct node_status {
  std::string node;
  std::string links_json = "[]";     // its CAD links (link_registry's local states), a JSON array
  std::string presence_json = "{}";  // its signed-in consoles per agency, a JSON object
};

/// Another live node, as its last heartbeat left it.
struct peer_status {
  node_status status;
  double age_s = 0;  // since its last heartbeat, by the server's clock
};

/// This node's hold on one agency's CAD session.
struct lease_hold {
  std::string session;
  std::int64_t generation = 0;
};

/// A lease as the store has it.
struct cad_lease {
  std::string agency;
  std::string node;
  std::string session;
  std::int64_t generation = 0;
  bool live = false;  // not expired
};

class cluster_store {
 public:
  cluster_store() = default;
  virtual ~cluster_store() = default;
  cluster_store(const cluster_store&) = delete;
  cluster_store& operator=(const cluster_store&) = delete;

  /// Connects when not connected and listens for wake-ups. Returns true when it had to (a first
  /// start, or after the connection was lost): wake-ups sent meanwhile were missed, and the
  /// caller wakes every reader once.
  virtual bool ensure_listening() = 0;
  /// Waits up to `timeout` for other nodes' wake-ups (this node's own included: the caller skips
  /// them) and returns those that arrived.
  virtual std::vector<wake> wait_wakes(std::chrono::milliseconds timeout) = 0;
  /// Writes this node's status and returns every other node seen within `ttl`.
  virtual std::vector<peer_status> heartbeat(const node_status& me,
                                             std::chrono::milliseconds ttl) = 0;
  /// Takes `agency`'s CAD lease for `session` on `node` for `ttl`, whoever held it, and tells
  /// the node that held it at once (a lease wake); returns its new generation.
  virtual std::int64_t take_lease(const std::string& agency, const std::string& node,
                                  const std::string& session, std::chrono::milliseconds ttl) = 0;
  /// Renews, for `ttl`, every lease `node` holds, and returns those it still holds, by agency
  /// (a lease another node took since is missing, or has another session or generation).
  virtual std::map<std::string, lease_hold> renew_leases(const std::string& node,
                                                         std::chrono::milliseconds ttl) = 0;
  /// Gives up `agency`'s lease if `node` holds it for `session`.
  virtual void release_lease(const std::string& agency, const std::string& node,
                             const std::string& session) = 0;
  /// Every lease, live or expired.
  virtual std::vector<cad_lease> leases() = 0;
  /// This node stops cleanly: its heartbeat row and its leases go at once, so that the others
  /// do not wait for the TTL.
  virtual void leave(const std::string& node) = 0;
  /// Fencing (issue 16): finds the primary among the database's servers, on connections of its
  /// own (so it may be called from another thread than the rest), and raises this process's
  /// fence to its timeline, so that every connection still open to an older primary is refused
  /// from its next statement. Returns what each server was found to be, for logs; throws
  /// store_error when no server may be written to (none writable, two, or only a stale one).
  virtual std::string probe_primary() = 0;
};

}  // namespace bl::store
