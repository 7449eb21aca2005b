#include "gateway/store/postgres/pg_cluster_store.hpp"

#include "gateway/store/postgres/pg.hpp"

namespace bl::store::postgres {

namespace {

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

constexpr const char* heartbeat_sql =
    "INSERT INTO cluster_nodes(node, started_at, seen_at, links, presence)"
    " VALUES($1, clock_timestamp(), clock_timestamp(), $2, $3)"
    " ON CONFLICT(node) DO UPDATE SET seen_at = clock_timestamp(), links = EXCLUDED.links,"
    " presence = EXCLUDED.presence";
constexpr const char* peers_sql =
    "SELECT node, links, presence,"
    " extract(epoch FROM clock_timestamp() - seen_at)::double precision FROM cluster_nodes"
    " WHERE node <> $1 AND seen_at > clock_timestamp() - make_interval(secs => $2::bigint / 1000.0)"
    " ORDER BY node";
// The newest session wins, as on one node: the row is taken whoever held it, and the generation
// grows so that the node that held it finds out at its next renewal.
constexpr const char* take_sql =
    "INSERT INTO cad_leases(agency, node, session, generation, taken_at, expires_at)"
    " VALUES($1, $2, $3, 1, clock_timestamp(),"
    " clock_timestamp() + make_interval(secs => $4::bigint / 1000.0))"
    " ON CONFLICT(agency) DO UPDATE SET node = EXCLUDED.node, session = EXCLUDED.session,"
    " generation = cad_leases.generation + 1, taken_at = EXCLUDED.taken_at,"
    " expires_at = EXCLUDED.expires_at RETURNING generation";
constexpr const char* renew_sql =
    "UPDATE cad_leases SET expires_at = clock_timestamp() + make_interval(secs => $2::bigint / "
    "1000.0) WHERE node = $1 RETURNING agency, session, generation";
constexpr const char* release_sql =
    "DELETE FROM cad_leases WHERE agency = $1 AND node = $2 AND session = $3";
constexpr const char* leases_sql =
    "SELECT agency, node, session, generation, expires_at > clock_timestamp() FROM cad_leases"
    " ORDER BY agency";

}  // namespace

pg_cluster_store::pg_cluster_store(std::string conninfo) : conninfo_(std::move(conninfo)) {}

pg_cluster_store::~pg_cluster_store() = default;

connection& pg_cluster_store::conn() {
  if (!c_ || c_->broken()) ensure_listening();
  return *c_;
}

bool pg_cluster_store::ensure_listening() {
  if (c_ && !c_->broken()) return false;
  if (!c_)
    c_ = std::make_unique<connection>(conninfo_);
  else
    c_->reconnect_if_broken();
  c_->exec(std::string("LISTEN ") + cluster_wake_channel);
  return true;
}

std::vector<wake> pg_cluster_store::wait_wakes(std::chrono::milliseconds timeout) {
  std::vector<wake> out;
  for (const auto& payload : conn().wait_notifications(static_cast<int>(timeout.count())))
    if (auto w = decode_wake(payload)) out.push_back(std::move(*w));
  return out;
}

std::vector<peer_status> pg_cluster_store::heartbeat(const node_status& me,
                                                     std::chrono::milliseconds ttl) {
  auto& c = conn();
  c.prepared(heartbeat_sql, {p(me.node), p(me.links_json), p(me.presence_json)});
  auto r = c.prepared(peers_sql, {p(me.node), p(millis(ttl))});
  std::vector<peer_status> out;
  for (int i = 0; i < r.rows(); ++i) {
    peer_status s;
    s.status.node = r.text(i, 0);
    s.status.links_json = r.text(i, 1);
    s.status.presence_json = r.text(i, 2);
    s.age_s = std::stod(r.text(i, 3));
    out.push_back(std::move(s));
  }
  return out;
}

std::int64_t pg_cluster_store::take_lease(const std::string& agency, const std::string& node,
                                          const std::string& session,
                                          std::chrono::milliseconds ttl) {
  auto& c = conn();
  auto generation =
      c.prepared(take_sql, {p(agency), p(node), p(session), p(millis(ttl))}).int64(0, 0);
  wake w;
  w.node = node;
  w.lease_taken = true;
  w.agencies = {agency};
  c.prepared("SELECT pg_notify($1, $2)", {p(cluster_wake_channel), p(encode_wake(w))});
  return generation;
}

std::map<std::string, lease_hold> pg_cluster_store::renew_leases(const std::string& node,
                                                                 std::chrono::milliseconds ttl) {
  auto r = conn().prepared(renew_sql, {p(node), p(millis(ttl))});
  std::map<std::string, lease_hold> out;
  for (int i = 0; i < r.rows(); ++i) out[r.text(i, 0)] = {r.text(i, 1), r.int64(i, 2)};
  return out;
}

void pg_cluster_store::release_lease(const std::string& agency, const std::string& node,
                                     const std::string& session) {
  conn().prepared(release_sql, {p(agency), p(node), p(session)});
}

std::vector<cad_lease> pg_cluster_store::leases() {
  auto r = conn().prepared(leases_sql);
  std::vector<cad_lease> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3), r.boolean(i, 4)});
  return out;
}

std::string pg_cluster_store::probe_primary() {
  return postgres::probe_primary(conninfo_).summary;
}

void pg_cluster_store::leave(const std::string& node) {
  auto& c = conn();
  c.prepared("DELETE FROM cad_leases WHERE node = $1", {p(node)});
  c.prepared("DELETE FROM cluster_nodes WHERE node = $1", {p(node)});
}

}  // namespace bl::store::postgres
