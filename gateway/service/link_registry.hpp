#pragma once
// What every edge knows about the links to each agency (CAD link sessions, console presence),
// for GET /api/v1/links, /metrics and the senders' "phone them" prompts. With several nodes
// (gateway/service/cluster.hpp) it also holds what the other nodes last published, and its
// snapshot is the whole cluster's: an agency's CAD link is up when it is up on any node.
// Thread-safe: edges update it from their own threads; readers take snapshots.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/time_util.hpp"

namespace bl {

struct link_state {
  std::string agency;
  std::string kind = "cad";  // which edge: "cad" (ZeroMQ CAD link), or "api", "ucri2", "eido"
                             // (heard: link_registry::heard)
  bool up = false;
  std::string session;
  std::string node;    // the gateway node the session is on (several nodes)
  std::string client;  // what the peer said it is ("FireCAD/7.2")
  std::optional<time_point> connected_since;
  std::optional<time_point> last_heard;
  std::optional<time_point> last_down;
  std::string down_reason;
  std::int64_t sent_upto = 0;
  std::int64_t acked_upto = 0;
  std::int64_t last_seq = 0;  // last delivery queued for the agency (backlog = last_seq - acked)
};

/// What another node last published (its own links and consoles only).
struct peer_links {
  std::string node;
  std::vector<link_state> links;
  std::map<std::string, int> consoles;  // signed-in consoles per agency
};

class link_registry {
 public:
  /// This node's id, put in every link update() records (several nodes).
  void set_node(std::string node);
  /// This node's link of s.agency and s.kind.
  void update(const link_state& s);
  /// The agency's own system was heard at `at` on an edge it polls or holds open other than the
  /// CAD link: kind "api" (a request with its bearer token), "ucri2" (a UCRI2 client of it) or
  /// "eido" (an EIDO WebSocket's frame, or its subscription's poll while it is open). Recorded as
  /// a link that is up, heard at `at`, and published to the other nodes like the CAD link; it
  /// counts as connected for a while after (connected_agencies).
  void heard(const std::string& agency, const std::string& kind, time_point at);
  /// Every link of the cluster, one per agency and kind: the one that is up (the newest session,
  /// if two nodes both say so for a moment), else the one that went down last.
  std::vector<link_state> snapshot() const;
  std::optional<link_state> find(const std::string& agency, const std::string& kind) const;
  /// This node's own links, as it publishes them to the others.
  std::vector<link_state> local() const;
  /// What the other live nodes published (replaces the previous picture).
  void set_peers(std::vector<peer_links> peers);
  /// Consoles signed in on the other nodes, per agency.
  std::map<std::string, int> peer_consoles() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, link_state> links_;
  std::vector<peer_links> peers_;
  std::string node_;
};

}  // namespace bl
