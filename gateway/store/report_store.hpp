#pragma once
// The savings report's reads (issue 5), whatever the engine: counts of calls and transfers per
// UK month, direction, category and flags, as typed rows (gateway/core/savings_math.hpp). The
// arithmetic over them is the core's; the JSON, CSV and HTML are the service's.

#include "gateway/core/savings_math.hpp"

namespace bl::store {

/// Reads for the savings report. Implementations: gateway/store/sqlite/report_store.hpp.
///
/// Thread-safety and lifetime: every member may be called from any thread at once (each call
/// reads on a connection of its own); the store outlives nothing it returns.
class report_store {
 public:
  virtual ~report_store() = default;

  /// Every count `what` asks for, read in ONE read transaction (one snapshot: figures that add up
  /// across calls and transfers). Month boundaries are UK midnight on the 1st
  /// (uk_month_start). Calls flagged as exercises and calls of a source not in
  /// what.count_sources are only counted as excluded; transfers whose mode is not "live" likewise.
  /// Throws store_error when the store cannot be read.
  virtual savings_counts read_savings_counts(const savings_reads& what) = 0;
};

}  // namespace bl::store
