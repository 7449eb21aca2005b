#pragma once
// The canonical message: envelope fields typed, the body kept as JSON plus the few fields the
// core decides on. Built by the edges after schema validation; the core never sees raw bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/original.hpp"
#include "gateway/core/time_util.hpp"

namespace bl {

enum class msg_type {
  request,
  update,
  received,
  accept,
  decline,
  defer,
  cancel,
  close,
  receipt,
  error,
  alert,
};

enum class traffic_mode { live, exercise, test };

std::string_view to_string(msg_type t);
std::optional<msg_type> msg_type_from(std::string_view s);
std::string_view to_string(traffic_mode m);
/// Types only the gateway itself generates; an agency submitting one is refused.
bool gateway_only(msg_type t);

/// The sender id the gateway uses for messages it generates (receipts, errors, alerts).
inline constexpr std::string_view gateway_sender = "bluelink";

/// One message, immutable once parsed. `doc` is the full envelope as it will be stored and
/// delivered (the core may fill in transfer_id and version on it before storing).
struct message {
  std::string id;
  msg_type type = msg_type::request;
  std::string from;
  std::vector<std::string> to;
  time_point sent_at{};
  std::optional<time_point> expires_at;
  traffic_mode mode = traffic_mode::live;
  std::string transfer_id;
  std::optional<std::int64_t> version;

  // Fields extracted from the body that the core and the store index on.
  std::string category;
  std::optional<priority> prio;
  std::string incident_number;  // sender_incident (request) or receiver_incident (accept)
  std::optional<time_point> defer_until;

  // How it reached the gateway, for the timeline ("who did what, on which system"); not part of
  // the stored document. via: "api", "cad" or "console"; user: the console user's name.
  std::string via;
  std::string user;
  // The partner document this message was made from, kept with it as received; set by an edge
  // that translates a standard (original.hpp).
  std::optional<original_document> original;

  nlohmann::json doc;

  // Made by prepare_for_store() on the edge's thread (the submit pipeline calls it last), so that
  // the engine thread, the one that every message waits for, never serialises or frees a whole
  // document: the document serialised without the fields the engine settles (transfer_id and
  // version, and a request's expires_at), and the timeline entry's detail. `doc` is released then.
  bool prepared = false;
  std::string doc_rest;
  std::string timeline_detail;
};

/// Serialises `m` for the store (see message::prepared) and releases m.doc. Idempotent. Needs via
/// and user set first: they are part of the timeline detail.
void prepare_for_store(message& m);

/// The stored and delivered copy of a prepared message: its document with the transfer id and
/// version the engine settled on spliced in, and for a request the expiry (RFC 3339) too.
std::string stored_copy(const message& m, const std::string& transfer_id, std::int64_t version,
                        const std::string& request_expires_at);

/// Builds a typed message from an envelope that already passed schema validation; still checks
/// what a schema cannot (the id prefix, real calendar dates).
std::variant<message, error> parse_message(nlohmann::json doc);

}  // namespace bl
