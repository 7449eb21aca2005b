#pragma once
// cluster_store on PostgreSQL (gateway/store/cluster_store.hpp): LISTEN/NOTIFY for wake-ups, and
// the tables cluster_nodes and cad_leases (migration 4) for heartbeats and CAD leases, on one
// connection of the node's cluster thread. Times are the server's (clock_timestamp()).

#include <memory>
#include <string>

#include "gateway/store/cluster_store.hpp"

namespace bl::store::postgres {

class connection;

class pg_cluster_store final : public cluster_store {
 public:
  /// Connects on first use (ensure_listening()).
  explicit pg_cluster_store(std::string conninfo);
  ~pg_cluster_store() override;

  bool ensure_listening() override;
  std::vector<wake> wait_wakes(std::chrono::milliseconds timeout) override;
  std::vector<peer_status> heartbeat(const node_status& me, std::chrono::milliseconds ttl) override;
  std::int64_t take_lease(const std::string& agency, const std::string& node,
                          const std::string& session, std::chrono::milliseconds ttl) override;
  std::map<std::string, lease_hold> renew_leases(const std::string& node,
                                                 std::chrono::milliseconds ttl) override;
  void release_lease(const std::string& agency, const std::string& node,
                     const std::string& session) override;
  std::vector<cad_lease> leases() override;
  void leave(const std::string& node) override;
  std::string probe_primary() override;

 private:
  connection& conn();
  std::string conninfo_;
  std::unique_ptr<connection> c_;
};

}  // namespace bl::store::postgres
