#include "gateway/store/postgres/pg.hpp"

#include <cctype>
#include <cstdlib>

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

connection::connection(const std::string& conninfo) : name_(redact_conninfo(conninfo)) {
  c_ = PQconnectdb(conninfo.c_str());
  if (!c_) throw store_error(fault::unavailable, "PostgreSQL: out of memory connecting");
  if (PQstatus(c_) != CONNECTION_OK) {
    // libpq's message names host and socket but never the password; the conninfo is redacted.
    std::string msg = trim(PQerrorMessage(c_));
    PQfinish(c_);
    c_ = nullptr;
    throw store_error(fault::unavailable, "PostgreSQL at '" + name_ +
                                              "' cannot be reached: " + msg + hint_for({}, msg));
  }
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
  std::string msg = "PostgreSQL";
  if (!state.empty()) msg += " SQLSTATE " + state;
  msg += ": " + primary + hint_for(state, primary) + " [" + first_words(sql) + "]";
  throw store_error(kind, msg);
}

result connection::exec(const std::string& sql) {
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
  enter_pipeline();
  const std::string& name = statement_name(sql, true);
  auto v = values_of(ps);
  if (PQsendQueryPrepared(c_, name.c_str(), static_cast<int>(v.size()), v.data(), nullptr, nullptr,
                          0) != 1)
    send_failed(sql);
  pending_.push_back({sql, false});
}

void connection::send_command(const std::string& sql) {
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
  if (PQstatus(c_) == CONNECTION_OK && !needs_reset_) return false;
  needs_reset_ = false;
  prepared_.clear();  // they lived in the old backend
  pending_.clear();
  pipeline_ = false;
  PQreset(c_);
  if (PQstatus(c_) == CONNECTION_OK && PQpipelineStatus(c_) != PQ_PIPELINE_OFF)
    PQexitPipelineMode(c_);
  if (PQstatus(c_) != CONNECTION_OK) {
    std::string msg = trim(PQerrorMessage(c_));
    throw store_error(fault::unavailable, "PostgreSQL at '" + name_ +
                                              "' cannot be reached: " + msg + hint_for({}, msg));
  }
  session_settings();
  return true;
}

bool connection::broken() const {
  return needs_reset_ || PQstatus(c_) != CONNECTION_OK;
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

}  // namespace bl::store::postgres
