#pragma once
// The savings report's reads (issue 5), whatever the engine: counts of calls and transfers per
// UK month, direction, category and flags, as typed rows (gateway/core/savings_math.hpp). The
// arithmetic over them is the core's; the JSON, CSV and HTML are the service's.

#include "gateway/core/savings_math.hpp"

namespace bl::store {

/// Reads for the savings report. Implementations: gateway/store/sqlite/report_store.hpp and
/// gateway/store/postgres/pg_report_store.hpp.
///
/// Thread-safety and lifetime: every member may be called from any thread at once (each call
/// reads on connections of its own); the store outlives nothing it returns.
class report_store {
 public:
  virtual ~report_store() = default;

  /// Every count `what` asks for. Month boundaries are UK midnight on the 1st (uk_month_start).
  /// Calls flagged as exercises and calls of a source not in what.count_sources are only
  /// counted as excluded; transfers whose mode is not "live" likewise. Throws store_error when
  /// the store cannot be read.
  ///
  /// Snapshots: each month's counts (its calls, transfers, fall-backs and exclusions) come from
  /// one read transaction, so they add up. An implementation may read disjoint runs of months
  /// side by side on several connections (split_savings_reads): on PostgreSQL they share one
  /// exported snapshot; on SQLite, which cannot share one, each run has its own, begun one after
  /// the other, and every row is counted once, as one of them saw it (a row's month is its
  /// creation or start time, which never changes).
  virtual savings_counts read_savings_counts(const savings_reads& what) = 0;
};

}  // namespace bl::store
