#include "gateway/store/postgres/pg.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>

#include <poll.h>

#include <libpq-fe.h>

namespace bl::store::postgres {

std::string redact_conninfo(std::string_view ci) {
  std::string out;
  // A URI: postgresql://user:password@host/db?password=...
  auto scheme = ci.find("://");
  if (scheme != std::string_view::npos &&
      ci.substr(0, scheme).find(' ') == std::string_view::npos) {
    std::size_t auth_start = scheme + 3;
    std::size_t at = ci.find('@', auth_start);
    std::size_t slash = ci.find('/', auth_start);
    out.assign(ci.substr(0, auth_start));
    std::size_t rest = auth_start;
    if (at != std::string_view::npos && (slash == std::string_view::npos || at < slash)) {
      std::size_t colon = ci.find(':', auth_start);
      if (colon != std::string_view::npos && colon < at) {
        out.append(ci.substr(auth_start, colon - auth_start));
        out.append(":***");
        rest = at;
      }
    }
    std::string tail(ci.substr(rest));
    // Query parameter password=...: up to the next '&'.
    for (std::size_t p = 0; (p = tail.find("password=", p)) != std::string::npos;) {
      if (p > 0 && tail[p - 1] != '?' && tail[p - 1] != '&') {
        p += 9;
        continue;
      }
      std::size_t v = p + 9;
      std::size_t e = tail.find('&', v);
      tail.replace(v, (e == std::string::npos ? tail.size() : e) - v, "***");
      p = v + 3;
    }
    return out + tail;
  }
  // Key/value form: key = value pairs separated by spaces; a value may be 'quoted' with \ escapes.
  std::size_t i = 0;
  while (i < ci.size()) {
    if (std::isspace(static_cast<unsigned char>(ci[i]))) {
      out += ci[i++];
      continue;
    }
    std::size_t k = i;
    while (i < ci.size() && ci[i] != '=' && !std::isspace(static_cast<unsigned char>(ci[i]))) ++i;
    std::string_view key = ci.substr(k, i - k);
    out.append(key);
    while (i < ci.size() && std::isspace(static_cast<unsigned char>(ci[i]))) out += ci[i++];
    if (i >= ci.size() || ci[i] != '=') continue;
    out += ci[i++];
    while (i < ci.size() && std::isspace(static_cast<unsigned char>(ci[i]))) out += ci[i++];
    std::size_t v = i;
    if (i < ci.size() && ci[i] == '\'') {
      ++i;
      while (i < ci.size() && ci[i] != '\'') i += (ci[i] == '\\' && i + 1 < ci.size()) ? 2 : 1;
      if (i < ci.size()) ++i;
    } else {
      while (i < ci.size() && !std::isspace(static_cast<unsigned char>(ci[i]))) ++i;
    }
    if (key == "password")
      out += "***";
    else
      out.append(ci.substr(v, i - v));
  }
  return out;
}

fault fault_from_sqlstate(std::string_view st) {
  if (st.size() != 5) return fault::unavailable;  // no SQLSTATE: the connection itself failed
  std::string_view cls = st.substr(0, 2);
  if (cls == "53") return fault::full;  // insufficient resources: disk full, out of memory, ...
  if (st == "40001" || st == "40P01" || st == "23505") return fault::conflict;
  if (st == "55P03" || st == "57014") return fault::busy;
  if (st == "XX001" || st == "XX002") return fault::corrupt;
  // 08xxx connection exceptions, 57P01-57P03 shutdown / crash / cannot connect now, 3D000 no
  // such database, 28xxx authentication, and everything else: not usable until someone acts.
  return fault::unavailable;
}

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string first_words(std::string_view sql) {
  std::string out(sql.substr(0, 60));
  for (char& c : out)
    if (c == '\n') c = ' ';
  return sql.size() > 60 ? out + "..." : out;
}

// The operator's next step for the failures that are not the database's state but its setup.
std::string hint_for(std::string_view st, std::string_view msg) {
  if (st == "3D000" || (st.empty() && msg.find("does not exist") != std::string_view::npos))
    return " (the database named in the conninfo does not exist: create it, or fix dbname)";
  if (st.substr(0, 2) == "28" ||
      (st.empty() && (msg.find("authentication") != std::string_view::npos ||
                      msg.find("no pg_hba.conf entry") != std::string_view::npos)))
    return " (the server refused the user: check user, password and pg_hba.conf)";
  return {};
}

}  // namespace

result& result::operator=(result&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}
result::~result() {
  if (r_) PQclear(r_);
}
int result::rows() const {
  return r_ ? PQntuples(r_) : 0;
}
int result::columns() const {
  return r_ ? PQnfields(r_) : 0;
}
bool result::is_boolean(int col) const {
  constexpr Oid bool_oid = 16;  // pg_type.oid of boolean, fixed in every PostgreSQL
  return r_ && PQftype(r_, col) == bool_oid;
}
bool result::is_null(int row, int col) const {
  return PQgetisnull(r_, row, col) != 0;
}
std::string result::text(int row, int col) const {
  return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
}
std::int64_t result::int64(int row, int col) const {
  if (PQgetisnull(r_, row, col)) return 0;
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}
bool result::boolean(int row, int col) const {
  const char* v = PQgetvalue(r_, row, col);
  return v && v[0] == 't';
}
std::int64_t result::affected() const {
  const char* n = r_ ? PQcmdTuples(r_) : "";
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

std::string result::command_status() const {
  const char* s = r_ ? PQcmdStatus(r_) : nullptr;
  return s ? s : "";
}

namespace {

// ---- Several servers: choosing the primary, and fencing (issue 16) ---------------------------

// The newest timeline seen per conninfo (redacted, so that no password is a map key), shared by
// every connection of the process: a connection made on an older one is refused, and one already
// open on it fails its next statement.
std::shared_ptr<std::atomic<std::int64_t>> fence_for(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<std::atomic<std::int64_t>>> fences;
  std::lock_guard lock(mu);
  auto& f = fences[name];
  if (!f) f = std::make_shared<std::atomic<std::int64_t>>(0);
  return f;
}

void raise_fence(std::atomic<std::int64_t>& f, std::int64_t timeline) {
  auto seen = f.load();
  while (timeline > seen && !f.compare_exchange_weak(seen, timeline)) {
  }
}

std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto comma = v.find(',', start);
    out.push_back(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Whether the server takes writes (not in recovery, and not held read-only, as pg_auto_failover
// holds a standby it has just promoted until the old primary is fenced) and, if so, its timeline:
// the first eight hex digits of the current WAL file's name (a promotion starts a new timeline,
// so the promoted standby's is newer than the old primary's ever was).
constexpr const char* role_sql =
    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on',"
    " CASE WHEN pg_is_in_recovery() THEN 0 ELSE"
    " ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END";

struct probed {
  pg_conn* conn = nullptr;
  std::string host;
  bool writable = false;
  std::int64_t timeline = 0;
  std::string problem;
};

probed probe_one(const std::vector<const char*>& keys, const std::vector<const char*>& values,
                 std::string host) {
  probed p;
  p.host = std::move(host);
  p.conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (!p.conn) {
    p.problem = "out of memory";
    return p;
  }
  if (PQstatus(p.conn) != CONNECTION_OK) {
    p.problem = "cannot be reached: " + trim(PQerrorMessage(p.conn));
    PQfinish(p.conn);
    p.conn = nullptr;
    return p;
  }
  pg_result* r = PQexec(p.conn, role_sql);
  if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
    p.problem = "did not say whether it is a primary: " + trim(PQerrorMessage(p.conn));
    if (r) PQclear(r);
    PQfinish(p.conn);
    p.conn = nullptr;
    return p;
  }
  p.writable = PQgetvalue(r, 0, 0)[0] != 't';
  p.timeline = std::strtoll(PQgetvalue(r, 0, 1), nullptr, 10);
  PQclear(r);
  if (!p.writable) p.problem = "read-only (a standby, or held read-only during a failover)";
  return p;
}

// Connects to the primary among the servers `conninfo` names (primary_choice in pg.hpp). With
// one server, libpq connects as it always has (its target_session_attrs included) and the
// timeline is read for the fence. Throws store_error (unavailable).
pg_conn* connect_primary(const std::string& conninfo, const std::string& name,
                         std::atomic<std::int64_t>& fence, primary_choice& chosen) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &err);
  if (!parsed) {
    std::string msg = err ? trim(err) : "out of memory";
    if (err) PQfreemem(err);
    throw store_error(fault::unavailable, "PostgreSQL conninfo '" + name + "' is invalid: " + msg);
  }
  std::vector<std::pair<std::string, std::string>> options;
  std::string hosts, hostaddrs, ports;
  for (auto* o = parsed; o->keyword; ++o) {
    if (!o->val) continue;
    std::string k = o->keyword;
    if (k == "host")
      hosts = o->val;
    else if (k == "hostaddr")
      hostaddrs = o->val;
    else if (k == "port")
      ports = o->val;
    else if (k != "target_session_attrs")  // each server is asked on its own
      options.emplace_back(k, o->val);
  }
  PQconninfoFree(parsed);
  auto host_list = split_commas(hosts), addr_list = split_commas(hostaddrs),
       port_list = split_commas(ports);
  std::size_t n =
      std::max(hosts.empty() ? 0 : host_list.size(), hostaddrs.empty() ? 0 : addr_list.size());
  std::vector<probed> found;
  auto release = [&] {
    for (auto& f : found)
      if (f.conn) PQfinish(f.conn);
  };
  if (n <= 1) {
    probed p;
    p.host = hosts.empty() ? hostaddrs : hosts;
    p.conn = PQconnectdb(conninfo.c_str());
    if (!p.conn) throw store_error(fault::unavailable, "PostgreSQL: out of memory connecting");
    if (PQstatus(p.conn) != CONNECTION_OK) {
      // libpq's message names host and socket but never the password; the conninfo is redacted.
      std::string msg = trim(PQerrorMessage(p.conn));
      PQfinish(p.conn);
      throw store_error(fault::unavailable, "PostgreSQL at '" + name +
                                                "' cannot be reached: " + msg + hint_for({}, msg));
    }
    if (pg_result* r = PQexec(p.conn, role_sql)) {
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        p.writable = PQgetvalue(r, 0, 0)[0] != 't';
        p.timeline = std::strtoll(PQgetvalue(r, 0, 1), nullptr, 10);
      }
      PQclear(r);
    }
    found.push_back(p);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<std::pair<std::string, std::string>> kv = options;
      std::string label;
      if (!hosts.empty() && i < host_list.size() && !host_list[i].empty()) {
        kv.emplace_back("host", host_list[i]);
        label = host_list[i];
      }
      if (!hostaddrs.empty() && i < addr_list.size() && !addr_list[i].empty()) {
        kv.emplace_back("hostaddr", addr_list[i]);
        if (label.empty()) label = addr_list[i];
      }
      if (!ports.empty()) {
        const auto& port =
            port_list.size() == 1 ? port_list[0] : port_list[std::min(i, port_list.size() - 1)];
        if (!port.empty()) {
          kv.emplace_back("port", port);
          label += ":" + port;
        }
      }
      std::vector<const char*> keys, values;
      for (const auto& [k, v] : kv) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
      }
      keys.push_back(nullptr);
      values.push_back(nullptr);
      found.push_back(probe_one(keys, values, label));
    }
  }
  // The newest timeline among the writable servers.
  std::int64_t best = -1;
  int at_best = 0;
  for (const auto& f : found)
    if (f.conn && f.writable) {
      if (f.timeline > best) {
        best = f.timeline;
        at_best = 1;
      } else if (f.timeline == best) {
        ++at_best;
      }
    }
  std::string summary;
  for (const auto& f : found) {
    if (!summary.empty()) summary += "; ";
    summary += f.host.empty() ? std::string("(default)") : f.host;
    summary += f.writable ? " primary on timeline " + std::to_string(f.timeline) : " " + f.problem;
  }
  chosen.summary = summary;
  if (best < 0 && n <= 1) {
    // One server, in recovery (a standby read on purpose, or a primary being demoted): connected
    // as libpq always has, and the first write says it is read-only.
    chosen.host = found[0].host;
    return found[0].conn;
  }
  if (best < 0) {
    release();
    throw store_error(fault::unavailable, "no PostgreSQL server of '" + name +
                                              "' takes writes now (" + summary +
                                              "): a failover may be in progress");
  }
  if (at_best > 1 && n > 1) {
    release();
    throw store_error(fault::unavailable,
                      "two PostgreSQL servers of '" + name + "' take writes on timeline " +
                          std::to_string(best) + " (" + summary +
                          "): a split brain; both are refused until one is stopped or rejoined "
                          "as a standby");
  }
  auto floor = fence.load();
  if (best < floor) {
    release();
    throw store_error(fault::unavailable,
                      "the writable PostgreSQL server of '" + name + "' is on timeline " +
                          std::to_string(best) +
                          " but this node has seen the primary on timeline " +
                          std::to_string(floor) + " (" + summary +
                          "): it is an old primary restarted after a failover, and is refused "
                          "(fencing)");
  }
  raise_fence(fence, best);
  pg_conn* out = nullptr;
  for (auto& f : found) {
    if (!out && f.conn && f.writable && f.timeline == best) {
      out = f.conn;
      chosen.host = f.host;
      chosen.timeline = f.timeline;
    } else if (f.conn) {
      PQfinish(f.conn);
    }
  }
  return out;
}

}  // namespace

primary_choice probe_primary(const std::string& conninfo) {
  auto name = redact_conninfo(conninfo);
  primary_choice chosen;
  pg_conn* c = connect_primary(conninfo, name, *fence_for(name), chosen);
  PQfinish(c);
  return chosen;
}

std::int64_t fence_timeline(const std::string& conninfo) {
  return fence_for(redact_conninfo(conninfo))->load();
}

connection::connection(const std::string& conninfo)
    : conninfo_(conninfo), name_(redact_conninfo(conninfo)), fence_(fence_for(name_)) {
  open();
}

void connection::open() {
  primary_choice chosen;
  c_ = connect_primary(conninfo_, name_, *fence_, chosen);
  server_ = chosen.host;
  timeline_ = chosen.timeline;
  // Notices (e.g. "relation already exists, skipping") are not errors: not on stderr.
  PQsetNoticeProcessor(
      c_, [](void*, const char*) {}, nullptr);
  try {
    session_settings();
  } catch (...) {
    PQfinish(c_);
    c_ = nullptr;
    throw;
  }
}

void connection::check_fence() {
  if (timeline_ > 0 && fence_->load(std::memory_order_relaxed) > timeline_) {
    needs_reset_ = true;
    throw store_error(fault::unavailable,
                      "PostgreSQL at '" + server_ + "' (" + name_ +
                          ") is no longer the primary: " + "a newer one is on timeline " +
                          std::to_string(fence_->load()) + " (a failover); connecting to it");
  }
}

void connection::session_settings() {
  // No JIT compilation: every statement of the gateway reads or writes a page of rows, but the
  // planner's estimate for some (the queue depths' counts, 300,000 rows per agency against the
  // 17 there were) passes jit_above_cost, and compiling then took 270 ms for a query that ran in
  // 2 ms (docs/benchmarks.md, "Pages on a million transfers").
  check(PQexec(c_, "SET jit = off"), "SET jit = off");
}

connection::~connection() {
  if (c_) PQfinish(c_);
}

result connection::check(pg_result* r, std::string_view sql) {
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return result(r);
  std::string state, primary;
  if (r) {
    if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) state = s;
    if (const char* m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)) primary = m;
    PQclear(r);
  }
  if (primary.empty()) primary = trim(PQerrorMessage(c_));
  fault kind = fault_from_sqlstate(state);
  if (PQstatus(c_) == CONNECTION_BAD) kind = fault::unavailable;
  // A server that no longer takes writes (a primary being demoted, or a standby just promoted
  // that the failover manager holds read-only until the old primary is fenced): the connection
  // is made again, choosing the primary anew, before it is used next.
  if (state == "25006") needs_reset_ = true;
  std::string msg = "PostgreSQL";
  if (!state.empty()) msg += " SQLSTATE " + state;
  msg += ": " + primary + hint_for(state, primary) + " [" + first_words(sql) + "]";
  throw store_error(kind, msg);
}

result connection::exec(const std::string& sql) {
  check_fence();
  // Several statements in one string need the simple protocol, which a pipeline does not allow.
  if (pipeline_) flush();
  return check(PQexec(c_, sql.c_str()), sql);
}

namespace {
std::vector<const char*> values_of(const params& ps) {
  std::vector<const char*> v;
  v.reserve(ps.size());
  for (const auto& x : ps) v.push_back(x ? x->c_str() : nullptr);
  return v;
}
}  // namespace

result connection::query(const std::string& sql, const params& ps) {
  check_fence();
  auto v = values_of(ps);
  if (pipeline_) {
    // Behind what is queued, in the same round trip.
    if (PQsendQueryParams(c_, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(), nullptr,
                          nullptr, 0) != 1)
      send_failed(sql);
    pending_.push_back({sql, false});
    return flush();
  }
  return check(PQexecParams(c_, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(), nullptr,
                            nullptr, 0),
               sql);
}

const std::string& connection::statement_name(const std::string& sql, bool in_pipeline) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = "bl" + std::to_string(prepared_.size() + 1);
  if (in_pipeline) {
    // Prepared in the pipeline, ahead of its first use; forgotten again if that fails.
    if (PQsendPrepare(c_, name.c_str(), sql.c_str(), 0, nullptr) != 1) send_failed(sql);
    pending_.push_back({sql, true});
  } else {
    check(PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr), sql);
  }
  return prepared_.emplace(sql, std::move(name)).first->second;
}

result connection::prepared(const std::string& sql, const params& ps) {
  check_fence();
  if (pipeline_) {
    send(sql, ps);
    return flush();
  }
  const std::string& name = statement_name(sql, false);
  auto v = values_of(ps);
  return check(
      PQexecPrepared(c_, name.c_str(), static_cast<int>(v.size()), v.data(), nullptr, nullptr, 0),
      sql);
}

void connection::enter_pipeline() {
  if (pipeline_) return;
  if (PQenterPipelineMode(c_) != 1) send_failed("(pipeline mode)");
  pipeline_ = true;
}

void connection::leave_pipeline() noexcept {
  pending_.clear();
  // libpq cannot leave pipeline mode with results it never read (the server went away
  // mid-pipeline): the connection is then of no further use and is made again.
  if (pipeline_ && PQpipelineStatus(c_) != PQ_PIPELINE_OFF && PQexitPipelineMode(c_) != 1)
    needs_reset_ = true;
  pipeline_ = false;
}

void connection::send_failed(std::string_view sql) {
  // Sending fails only when the connection does (or libpq is out of memory).
  std::string msg = trim(PQerrorMessage(c_));
  leave_pipeline();
  throw store_error(fault::unavailable, "PostgreSQL at '" + name_ + "': sending failed: " + msg +
                                            " [" + first_words(sql) + "]");
}

void connection::send(const std::string& sql, const params& ps) {
  check_fence();
  enter_pipeline();
  const std::string& name = statement_name(sql, true);
  auto v = values_of(ps);
  if (PQsendQueryPrepared(c_, name.c_str(), static_cast<int>(v.size()), v.data(), nullptr, nullptr,
                          0) != 1)
    send_failed(sql);
  pending_.push_back({sql, false});
}

void connection::send_command(const std::string& sql) {
  check_fence();
  enter_pipeline();
  if (PQsendQueryParams(c_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1)
    send_failed(sql);
  pending_.push_back({sql, false});
}

result connection::flush() {
  auto all = flush_all();
  if (all.empty()) return {};
  return std::move(all.back());
}

std::vector<result> connection::flush_all() {
  if (!pipeline_) return {};
  // The sync ends the pipeline's implicit unit: the server answers everything up to it, then
  // skips nothing more (after a failure it had skipped the rest, each answered "aborted").
  if (PQpipelineSync(c_) != 1) send_failed("(pipeline sync)");
  std::optional<store_error> first;
  std::vector<result> out;
  out.reserve(pending_.size());
  for (const auto& q : pending_) {
    pg_result* r = PQgetResult(c_);
    if (!r) {
      if (!first)
        first = store_error(fault::unavailable,
                            "PostgreSQL at '" + name_ + "' answered no result: " +
                                trim(PQerrorMessage(c_)) + " [" + first_words(q.sql) + "]");
      break;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
      if (q.prepare)
        PQclear(r);  // a statement's preparation: its execution's result follows
      else
        out.emplace_back(r);
    } else {
      if (q.prepare) prepared_.erase(q.sql);  // not prepared after all: prepare it again
      if (!q.prepare) out.emplace_back();
      if (st == PGRES_PIPELINE_ABORTED) {
        PQclear(r);
      } else {
        try {
          check(r, q.sql);  // raises the server's error, which the first failure carries
        } catch (const store_error& e) {
          if (!first) first = e;
        }
      }
    }
    // Each statement's results end with a null.
    while (pg_result* extra = PQgetResult(c_)) PQclear(extra);
  }
  // Then the sync's own result.
  bool synced = false;
  while (pg_result* r = PQgetResult(c_)) {
    synced = synced || PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (synced) break;
  }
  if (!synced && !first)
    first = store_error(fault::unavailable,
                        "PostgreSQL at '" + name_ +
                            "': the pipeline ended without its sync: " + trim(PQerrorMessage(c_)));
  leave_pipeline();
  if (first) throw *first;
  return out;
}

bool connection::reconnect_if_broken() {
  if (c_ && PQstatus(c_) == CONNECTION_OK && !needs_reset_ &&
      !(timeline_ > 0 && fence_->load() > timeline_))
    return false;
  needs_reset_ = false;
  prepared_.clear();  // they lived in the old backend
  pending_.clear();
  pipeline_ = false;
  if (c_) PQfinish(c_);
  c_ = nullptr;
  // The primary is chosen again: after a failover it is another server.
  open();
  return true;
}

bool connection::broken() const {
  return !c_ || needs_reset_ || PQstatus(c_) != CONNECTION_OK ||
         (timeline_ > 0 && fence_->load(std::memory_order_relaxed) > timeline_);
}

void connection::copy_begin(const std::string& sql) {
  if (pipeline_) flush();
  pg_result* r = PQexec(c_, sql.c_str());
  if (r && PQresultStatus(r) == PGRES_COPY_IN) {
    copy_sql_ = sql;
    PQclear(r);
    return;
  }
  check(r, sql);  // raises the server's error
  throw store_error(fault::unavailable,
                    "PostgreSQL did not enter COPY mode [" + first_words(sql) + "]");
}

void connection::copy_put(std::string_view data) {
  // Blocking connection: PQputCopyData returns 1 once queued (or sent), -1 when the connection
  // failed; 0 happens only on non-blocking connections.
  if (PQputCopyData(c_, data.data(), static_cast<int>(data.size())) != 1)
    throw store_error(fault::unavailable,
                      "PostgreSQL at '" + name_ + "': sending COPY data failed: " +
                          trim(PQerrorMessage(c_)) + " [" + first_words(copy_sql_) + "]");
}

void connection::copy_end() {
  if (PQputCopyEnd(c_, nullptr) != 1)
    throw store_error(fault::unavailable, "PostgreSQL at '" + name_ +
                                              "': ending COPY failed: " + trim(PQerrorMessage(c_)) +
                                              " [" + first_words(copy_sql_) + "]");
  // One result for the COPY, then nullptr; check() raises a failed one.
  result last;
  while (pg_result* r = PQgetResult(c_)) last = check(r, copy_sql_);
}

bool connection::in_transaction() const {
  auto s = PQtransactionStatus(c_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

int connection::backend_pid() const {
  return PQbackendPID(c_);
}

std::vector<std::string> connection::wait_notifications(int timeout_ms) {
  std::vector<std::string> out;
  auto take = [&] {
    while (PGnotify* n = PQnotifies(c_)) {
      out.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
  };
  auto gone = [&](const std::string& what) {
    needs_reset_ = true;
    return store_error(fault::unavailable,
                       "PostgreSQL at '" + name_ + "': " + what + ": " + trim(PQerrorMessage(c_)));
  };
  if (PQstatus(c_) != CONNECTION_OK) throw gone("the connection is closed");
  take();  // those that arrived with the results of earlier statements
  if (!out.empty()) return out;
  pollfd pfd{PQsocket(c_), POLLIN, 0};
  if (pfd.fd < 0) throw gone("the connection has no socket");
  int r = ::poll(&pfd, 1, timeout_ms);
  if (r < 0 && errno != EINTR) throw gone("poll failed");
  if (r > 0) {
    if (PQconsumeInput(c_) == 0) throw gone("reading from the server failed");
    take();
  }
  return out;
}

}  // namespace bl::store::postgres
