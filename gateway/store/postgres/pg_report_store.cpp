#include "gateway/store/postgres/pg_report_store.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/read_parts.hpp"

namespace bl::store::postgres {

namespace {

// Month boundaries (UTC ms of UK midnight on the 1st) for a run of months, as an array literal
// for width_bucket: a time in month i of the run falls in bucket i + 1.
struct month_range {
  year_month first;
  std::vector<std::int64_t> starts;  // size months+1: the start of each month and of the next

  month_range(year_month a, year_month b) : first(a) {
    for (int i = a.index(); i <= b.index() + 1; ++i)
      starts.push_back(to_ms(uk_month_start(year_month::from_index(i))));
  }
  std::string bounds() const {
    std::string s = "{";
    for (std::size_t i = 0; i < starts.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(starts[i]);
    }
    return s + '}';
  }
  params args() const { return {p(starts.front()), p(starts.back()), bounds()}; }
  // The month index of the bucket width_bucket returned (1: the first month of the range).
  int month_of(std::int64_t bucket) const { return first.index() + static_cast<int>(bucket) - 1; }
};

// Whether the transfer's state counts as completed (accepted, declined or closed), and whether
// it was of emergency priority: computed by the server, as booleans, so that grouping by them
// keeps the groups few.
constexpr const char* completed_sql = "state IN ('accepted', 'declined', 'closed')";
constexpr const char* emergency_sql = "priority = 'emergency'";

using call_key = std::tuple<int, std::string, std::string, std::string, bool>;
using transfer_key = std::tuple<int, std::string, std::string, std::string, bool, bool>;

struct tallies {
  std::map<call_key, std::int64_t> calls;
  std::map<transfer_key, std::int64_t> transfers, fell_back;
  std::map<int, month_exclusions> excluded;
  month_exclusions& excluded_in(int month) {
    auto& e = excluded[month];
    e.month = year_month::from_index(month);
    return e;
  }
};

void read_calls(connection& c, const std::vector<std::string>& count_sources, const month_range& r,
                tallies& out) {
  // One range of calls_report (started_at first, every other column in it), grouped by the
  // server into (month, source, exercise, direction, emergency, reason).
  auto q = c.query(
      "SELECT width_bucket(started_at, $3::bigint[]), source, exercise, from_agency, to_agency,"
      " emergency, reason, count(*) FROM calls WHERE started_at >= $1 AND started_at < $2"
      " GROUP BY 1, 2, 3, 4, 5, 6, 7",
      r.args());
  for (int i = 0; i < q.rows(); ++i) {
    const int month = r.month_of(q.int64(i, 0));
    const std::int64_t n = q.int64(i, 7);
    if (q.boolean(i, 2)) {
      out.excluded_in(month).exercise_calls += n;
      continue;
    }
    const std::string source = q.text(i, 1);
    if (std::find(count_sources.begin(), count_sources.end(), source) == count_sources.end()) {
      out.excluded_in(month).uncounted_source_calls += n;
      continue;
    }
    // A call without a reason (an imported one) is counted as unclassified, as on SQLite.
    std::string reason = q.is_null(i, 6) ? std::string(unclassified_category) : q.text(i, 6);
    out.calls[{month, q.text(i, 3), q.text(i, 4), std::move(reason), q.boolean(i, 5)}] += n;
  }
}

void read_transfers(connection& c, const month_range& r, tallies& out) {
  {
    // One range of transfers_report, grouped by the server.
    auto q = c.query(std::string("SELECT width_bucket(created_at, $3::bigint[]), mode = 'live', ") +
                         completed_sql + ", " + emergency_sql +
                         ", category, requester, responder, count(*) FROM transfers"
                         " WHERE created_at >= $1 AND created_at < $2"
                         " GROUP BY 1, 2, 3, 4, 5, 6, 7",
                     r.args());
    for (int i = 0; i < q.rows(); ++i) {
      const int month = r.month_of(q.int64(i, 0));
      const std::int64_t n = q.int64(i, 7);
      if (!q.boolean(i, 1)) {
        out.excluded_in(month).non_live_transfers += n;
        continue;
      }
      out.transfers[{month, q.text(i, 5), q.text(i, 6), q.text(i, 4), q.boolean(i, 3),
                     q.boolean(i, 2)}] += n;
    }
  }
  // Transfers that fell back to the phone: few, found from the calls linked to them
  // (calls_linked holds transfer_id and exercise).
  auto q = c.query(std::string("SELECT width_bucket(created_at, $3::bigint[]), ") + completed_sql +
                       ", " + emergency_sql +
                       ", category, requester, responder, count(*) FROM transfers"
                       " WHERE mode = 'live' AND created_at >= $1 AND created_at < $2 AND id IN"
                       " (SELECT transfer_id FROM calls WHERE transfer_id IS NOT NULL"
                       " AND NOT exercise) GROUP BY 1, 2, 3, 4, 5, 6",
                   r.args());
  for (int i = 0; i < q.rows(); ++i)
    out.fell_back[{r.month_of(q.int64(i, 0)), q.text(i, 4), q.text(i, 5), q.text(i, 3),
                   q.boolean(i, 2), q.boolean(i, 1)}] += q.int64(i, 6);
}

std::vector<transfer_count> transfer_rows(const std::map<transfer_key, std::int64_t>& m) {
  std::vector<transfer_count> out;
  out.reserve(m.size());
  for (const auto& [k, n] : m) {
    const auto& [month, from, to, category, emergency, completed] = k;
    out.push_back({year_month::from_index(month), from, to, category, emergency, completed, n});
  }
  return out;
}

// The reads of one report part on `c`, whose transaction is open; the transaction is left open.
savings_counts read_part(connection& c, const savings_reads& what) {
  tallies t;
  for (const auto& [a, b] : what.call_months)
    read_calls(c, what.count_sources, month_range(a, b), t);
  if (what.reads_transfers())
    read_transfers(c, month_range(what.transfers_from, what.transfers_to), t);
  savings_counts out;
  out.calls.reserve(t.calls.size());
  for (const auto& [k, n] : t.calls) {
    const auto& [month, from, to, category, emergency] = k;
    out.calls.push_back({year_month::from_index(month), from, to, category, emergency, n});
  }
  out.transfers = transfer_rows(t.transfers);
  out.fell_back = transfer_rows(t.fell_back);
  for (const auto& [m, e] : t.excluded) out.excluded.push_back(e);
  return out;
}

// Read-only and repeatable read, so that it can never write or take a write lock and every query
// sees one snapshot however many gateways commit meanwhile. The grouping of a million rows
// wants more than the default 4 MB of work_mem (it would spill to disk). (Every connection runs
// without JIT, which cost about 25 ms per query here: connection::session_settings.)
// With `snapshot`, the transaction adopts that exported snapshot (before it reads anything).
void begin_report(connection& c, const std::string& snapshot = {}) {
  c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!snapshot.empty()) c.exec("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
  c.exec("SET LOCAL work_mem = '64MB'");
}

// A snapshot id as pg_export_snapshot returns it (hexadecimal fields and dashes), checked before
// it is spliced into SET TRANSACTION SNAPSHOT, which takes no parameters.
const std::string& snapshot_id(const std::string& id) {
  const bool ok = !id.empty() && id.size() < 64 && std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F') || ch == '-';
  });
  if (!ok)
    throw store_error(fault::unavailable, "unexpected snapshot id from pg_export_snapshot: " + id);
  return id;
}

void end_report(connection& c) noexcept {
  try {
    if (c.in_transaction()) c.exec("ROLLBACK");
  } catch (...) {
    // The connection is gone: nothing was written anyway.
  }
}

class pg_report_store final : public report_store {
 public:
  explicit pg_report_store(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  // The months are read in two parts side by side (the server's two backends group a half each),
  // on two connections that share one snapshot: the first exports it, the second adopts it
  // before it reads anything (report_store.hpp).
  savings_counts read_savings_counts(const savings_reads& what) override {
    auto parts = split_savings_reads(what, 2);
    connection first(conninfo_);
    try {
      begin_report(first);
      if (parts.size() == 1) {
        auto out = read_part(first, parts[0]);
        first.exec("COMMIT");
        return out;
      }
      const std::string snapshot = first.exec("SELECT pg_export_snapshot()").text(0, 0);
      connection second(conninfo_);
      try {
        begin_report(second, snapshot_id(snapshot));
        auto out = read_parts_side_by_side(parts, [&](const savings_reads& part, std::size_t i) {
          return read_part(i == 0 ? first : second, part);
        });
        second.exec("COMMIT");
        first.exec("COMMIT");
        return out;
      } catch (...) {
        end_report(second);
        throw;
      }
    } catch (...) {
      end_report(first);
      throw;
    }
  }

 private:
  std::string conninfo_;
};

}  // namespace

std::unique_ptr<report_store> open_pg_report_store(const std::string& conninfo) {
  return std::make_unique<pg_report_store>(conninfo);
}

}  // namespace bl::store::postgres
