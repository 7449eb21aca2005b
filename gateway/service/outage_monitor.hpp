#pragma once
// An agency's own outage (issue 16): its room is "out" when it has had no CAD link up, no
// console signed in and no other edge of its own heard (HTTP API, UCRI2, EIDO) on any gateway
// node for longer than its outage_after_s. Senders are shown
// it at once, with the agency's phone number and its fallback (buddy) room, and may redirect a
// pending transfer there (engine::redirect).
//
// Ownership: held by the gateway app, outlives the console hub (which looks every second) and
// the API (which reads it). Thread-safety: every member may be called from any thread. Time is
// passed in, so tests drive it with any clock; an agency never connected since the monitor was
// made counts as last seen at that moment (the gateway's start).

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/core/config.hpp"
#include "gateway/core/time_util.hpp"

namespace bl {

class link_registry;

class outage_monitor {
 public:
  /// An outage that began or ended at one look.
  struct change {
    std::string agency;
    bool began = false;
    time_point since{};  // when the room was last connected (or the gateway started)
  };

  outage_monitor(const gateway_config& cfg, time_point started);

  /// One look at `now`: `connected` holds the agencies with a CAD link up or a console signed in
  /// anywhere in the cluster. Returns the outages that began or ended since the last look.
  std::vector<change> observe(time_point now, const std::set<std::string>& connected);
  /// Since when `agency` has been out (last connected), or nullopt while it is not out.
  std::optional<time_point> out_since(const std::string& agency) const;
  /// Every agency out at the last look, with since when.
  std::map<std::string, time_point> current() const;

 private:
  const gateway_config& cfg_;
  mutable std::mutex mu_;
  std::map<std::string, time_point> last_seen_;
  std::map<std::string, time_point> out_;
};

/// The agencies with a CAD link up on any node, a console signed in on any node, or their own
/// system heard on another edge (HTTP API, UCRI2, EIDO WebSocket: link_registry::heard) on any
/// node within `grace` before `now`: `local` is this node's consoles per agency, the registry
/// holds the rest. `grace` covers a client's wait between polls (polled_edge_grace).
std::set<std::string> connected_agencies(const link_registry& links,
                                         const std::map<std::string, int>& local, time_point now,
                                         std::chrono::seconds grace);

/// How long an agency heard on a polled edge counts as connected: the longest inbox long-poll
/// (max_wait_s) and 30 s for the client to ask again.
std::chrono::seconds polled_edge_grace(const gateway_config& cfg);

}  // namespace bl
