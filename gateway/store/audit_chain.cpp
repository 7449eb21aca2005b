#include "gateway/core/digest.hpp"
#include "gateway/store/audit_verify.hpp"
#include "gateway/store/retention.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store {

std::string audit_hash(const std::string& prev_hash, std::int64_t seq, std::int64_t at,
                       const std::string& actor, const std::string& action,
                       const std::string& message_id, const std::string& transfer_id,
                       const std::string& detail) {
  // Length-prefixed fields so that no two different rows can serialise to the same bytes.
  std::string buf;
  auto add = [&](const std::string& s) {
    buf += std::to_string(s.size());
    buf += ':';
    buf += s;
  };
  add(prev_hash);
  add(std::to_string(seq));
  add(std::to_string(at));
  add(actor);
  add(action);
  add(message_id);
  add(transfer_id);
  add(detail);
  return sha256_hex(buf);
}

std::string audit_hash_erasable(const std::string& prev_hash, std::int64_t seq, std::int64_t at,
                                const std::string& actor, const std::string& action,
                                const std::string& message_id, const std::string& transfer_id,
                                const std::string& detail_sha256) {
  // A JSON detail never starts with "sha256:", so no erasable row hashes as an older one would.
  return audit_hash(prev_hash, seq, at, actor, action, message_id, transfer_id,
                    "sha256:" + detail_sha256);
}

bool audit_chain_check::next(const audit_chain_row& row, audit_report& r) {
  auto fail = [&](std::string why) {
    r.ok = false;
    r.first_bad_seq = row.seq;
    r.problem = std::move(why);
    return false;
  };
  const std::string n = std::to_string(row.seq);
  if (row.seq != expect_seq_) {
    r.ok = false;
    r.first_bad_seq = row.seq;
    r.problem = "row " + std::to_string(expect_seq_) + " is missing";
    return false;
  }
  if (row.prev_hash != prev_) return fail("row " + n + " does not chain to the row before it");
  std::string h;
  if (!row.detail_sha256) {
    if (erasable_seen_)
      return fail("row " + n + " has no detail digest, unlike the rows before it");
    h = audit_hash(prev_, row.seq, row.at, row.actor, row.action, row.message_id, row.transfer_id,
                   row.detail);
  } else {
    erasable_seen_ = true;
    h = audit_hash_erasable(prev_, row.seq, row.at, row.actor, row.action, row.message_id,
                            row.transfer_id, *row.detail_sha256);
  }
  if (h != row.hash) return fail("row " + n + " was altered: its hash does not match its content");
  if (row.detail_sha256) {
    if (!row.erased_by) {
      if (sha256_hex(row.detail) != *row.detail_sha256)
        return fail("row " + n + " was altered: its detail does not match its digest");
    } else {
      if (!row.detail.empty() || *row.erased_by <= row.seq)
        return fail("row " + n +
                    " was altered: an erasure must empty the detail and name a later row");
      erased_.emplace(*row.erased_by, row.seq);
    }
  }
  if (row.action == purge_audit_action) purge_rows_.insert(row.seq);
  prev_ = std::move(h);
  ++expect_seq_;
  return true;
}

void audit_chain_check::finish(audit_report& r) {
  for (const auto& [by, first] : erased_)
    if (!purge_rows_.count(by)) {
      r.ok = false;
      r.first_bad_seq = first;
      r.problem = "row " + std::to_string(first) + "'s detail was erased without a purge: row " +
                  std::to_string(by) + " is not one";
      return;
    }
}

}  // namespace bl::store
