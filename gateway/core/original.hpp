#pragma once
// A document as a partner sent it, kept byte for byte with the canonical message it became
// (issue 17): the receiving operator and a data-protection officer can see exactly what arrived,
// and an edge whose standard lets a client choose the message id can tell a true repeat from the
// same id reused for something else.
#include <cstdint>
#include <string>

namespace bl {

struct original_document {
  /// The standard, and where it has them the application, version and message: "UCRI2
  /// incident_transfer 1.0 incident", "EIDO 3.0", "CAP 1.2". Shown to operators as written.
  std::string standard;
  std::string media_type;  // "application/json", "application/cap+xml"
  /// Exactly the bytes received. Only kept by an edge that has checked they are UTF-8 (every
  /// standard Bluelink reads is UTF-8 on the wire), so both store engines hold them as text.
  std::string body;
  /// What identifies the content for the edge's dedupe (SHA-256, hex): a repeat of the message
  /// id with another digest is refused (bl.message.id_reused). Empty: not compared.
  std::string digest;
  /// The edge's answer to the first submission, replayed to an identical repeat so that it is
  /// answered exactly as the first (UCRI2's senderResponse). Empty: the edge has none.
  std::string answer;
};

/// An original as the store gives it back.
struct stored_original {
  std::string message_id;
  original_document doc;
  std::int64_t received_at_ms = 0;
  std::string transfer_id;  // the transfer its message belongs to ("" when none)
};

}  // namespace bl
