#pragma once
// What every edge knows about the links to each agency (CAD link sessions now; console presence
// later), for GET /api/v1/links, /metrics and the senders' "phone them" prompts.
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
  std::string kind = "cad";  // which edge: "cad" (ZeroMQ CAD link)
  bool up = false;
  std::string session;
  std::string client;  // what the peer said it is ("FireCAD/7.2")
  std::optional<time_point> connected_since;
  std::optional<time_point> last_heard;
  std::optional<time_point> last_down;
  std::string down_reason;
  std::int64_t sent_upto = 0;
  std::int64_t acked_upto = 0;
  std::int64_t last_seq = 0;  // last delivery queued for the agency (backlog = last_seq - acked)
};

class link_registry {
 public:
  void update(const link_state& s);
  std::vector<link_state> snapshot() const;
  std::optional<link_state> find(const std::string& agency, const std::string& kind) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, link_state> links_;
};

}  // namespace bl
