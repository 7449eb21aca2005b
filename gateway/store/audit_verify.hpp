#pragma once
// Verifying the audit hash chain, row by row, the same for every engine (reader::verify_audit).
// A row written before retention (issue 18) hashes its detail itself; every later row hashes the
// detail's SHA-256 (detail_sha256), so that a purge can empty the detail (erased_by naming the
// purge's own audit row, which comes after it) and the chain still verifies. Checked:
// - the seq has no gap and each row chains to the one before (prev_hash);
// - the row's hash matches its fields;
// - a detail not erased matches its digest; an erased one is empty and names a later row whose
//   action is the purge's (retention.purged);
// - once rows carry a digest, every later row does (none can pass for an older kind of row).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "gateway/store/reader.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store {

struct audit_chain_row {
  std::int64_t seq = 0;
  std::int64_t at = 0;
  std::string actor;
  std::string action;
  std::string message_id;   // '' when none
  std::string transfer_id;  // '' when none
  std::string detail;
  std::string prev_hash;
  std::string hash;
  std::optional<std::string> detail_sha256;
  std::optional<std::int64_t> erased_by;
};

/// The columns of an audit_chain_row, in its order, for a SELECT ... FROM audit.
inline constexpr const char* audit_chain_columns =
    "seq, at, actor, action, COALESCE(message_id, ''), COALESCE(transfer_id, ''), detail,"
    " prev_hash, hash, detail_sha256, erased_by";

/// Row `i` of a result of audit_chain_columns: anything with int64(i, c), text(i, c) and
/// is_null(i, c), as the PostgreSQL engine's result has (the SQLite reader adapts its statement).
template <class Result>
audit_chain_row audit_chain_row_of(const Result& r, int i) {
  audit_chain_row row{r.int64(i, 0),
                      r.int64(i, 1),
                      r.text(i, 2),
                      r.text(i, 3),
                      r.text(i, 4),
                      r.text(i, 5),
                      r.text(i, 6),
                      r.text(i, 7),
                      r.text(i, 8),
                      {},
                      {}};
  if (!r.is_null(i, 9)) row.detail_sha256 = r.text(i, 9);
  if (!r.is_null(i, 10)) row.erased_by = r.int64(i, 10);
  return row;
}

class audit_chain_check {
 public:
  /// Checks the next row (in seq order); false, with `r` saying why, at the first bad one.
  bool next(const audit_chain_row& row, audit_report& r);
  /// After the last row: every erased detail names a purge row.
  void finish(audit_report& r);
  /// The seq the next row must have, and the hash it must chain to.
  std::int64_t next_seq() const { return expect_seq_; }
  const std::string& last_hash() const { return prev_; }

 private:
  std::string prev_ = genesis_hash;
  std::int64_t expect_seq_ = 1;
  bool erasable_seen_ = false;
  std::set<std::int64_t> purge_rows_;
  std::map<std::int64_t, std::int64_t> erased_;  // erased_by -> the first row it erased
};

}  // namespace bl::store
