#pragma once
// Retention (issue 18, docs/data-protection.md): what a purge reads and writes, and legal holds.
// A purge keeps every row that a count or a report reads (a tombstone) and removes the personal
// content: messages' documents (replaced by a tombstone document), partner originals (deleted),
// timeline details (reduced to what is not personal), the names on phone claims, and the detail
// of the transfer's audit rows that can carry free text or names (emptied; the chain hashes each
// detail through its SHA-256, so it still verifies).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/core/time_util.hpp"

namespace bl::store {

/// A legal hold on a transfer: while it stands (not lifted), no purge touches the transfer.
struct legal_hold {
  std::int64_t id = 0;
  std::string transfer_id;
  std::string agency;     // the agency of whoever placed it
  std::string placed_by;  // the user (or cli:<user>)
  time_point placed_at{};
  std::string reason;
  std::string lifted_by;  // empty while it stands
  std::optional<time_point> lifted_at;
  std::string lift_reason;
};

/// A transfer a purge may take: the reader's candidates, oldest last activity first.
struct purge_candidate {
  std::string transfer_id;
  std::string requester;
  std::string responder;
  time_point updated_at{};
};

/// A phone call a purge may take.
struct call_candidate {
  std::int64_t id = 0;
  std::string from_agency;
  std::string to_agency;
  time_point started_at{};
};

/// A timeline event a purge rewrites.
struct purge_event {
  std::int64_t id = 0;
  std::string kind;    // the event's kind (a message type, phone_call, ...)
  std::string detail;  // JSON text
};

/// What a transfer's purge reads (in the purging transaction) before it writes.
struct purge_subject {
  std::string transfer_id;
  std::string requester;
  std::string responder;
  time_point updated_at{};
  bool purged = false;
  bool held = false;
  std::vector<std::pair<std::string, std::string>> messages;  // id, stored document
  std::vector<purge_event> events;
};

/// What it writes.
struct purge_rewrite {
  std::string transfer_id;
  time_point at{};
  std::int64_t erased_by = 0;                                 // the purge's own audit row
  std::vector<std::pair<std::string, std::string>> messages;  // id, tombstone document
  std::vector<purge_event> events;                            // detail: what is kept
};

/// Audit actions whose detail may carry free text or people's names (a rejection's reason, a
/// redirect's reason, a phone claim's names): a transfer's purge erases these rows' details.
inline const char* const erasable_audit_actions[] = {"message.rejected", "transfer.redirected",
                                                     "transfer.redirected_from", "phone.claimed"};

/// The audit action of a purge's own row, which erased rows name (erased_by).
inline constexpr const char* purge_audit_action = "retention.purged";

}  // namespace bl::store
