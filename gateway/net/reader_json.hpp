#pragma once
// The HTTP API's and the console's JSON for what the store's reader returns (typed rows, see
// gateway/store/reader.hpp): the transfer list (GET /api/v1/transfers), a transfer's detail
// (GET /api/v1/transfers/{id}), the console's live events and the call list
// (GET /api/v1/calls). The shapes are those of docs/openapi.yaml and docs/protocols/websocket.md;
// times are RFC 3339 in UTC with milliseconds, a column the store holds no value for is null, and
// the JSON text the store keeps (timeline and audit details, message documents) is embedded parsed.
// Pure functions, no state: callable from any thread.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/store/reader.hpp"

namespace bl {

/// A transfer's list row without "direction" (the console adds the side it is sent to).
nlohmann::json transfer_row_json(const store::transfer_row& t);
/// A transfer's list row as `agency` sees it: with "direction" ("outgoing" when it is the
/// requester, else "incoming").
nlohmann::json transfer_row_json(const store::transfer_row& t, const std::string& agency);
/// A page of transfers as `agency` sees them, in the store's order.
nlohmann::json transfer_list_json(const std::vector<store::transfer_row>& rows,
                                  const std::string& agency);
/// One transfer with its incident numbers (keyed by agency), timeline, messages and audit rows.
nlohmann::json transfer_detail_json(const store::transfer_record& t);
/// A timeline event as the console pushes it (with its id and transfer id; without "op" and
/// "transfer", which the console adds).
nlohmann::json console_event_json(const store::event_row& e);
/// A page of phone calls as `agency` sees them, in the store's order.
nlohmann::json call_list_json(const std::vector<store::call_row>& rows, const std::string& agency);
/// Stored JSON text, parsed: null when empty, the text itself as a string when it does not parse.
nlohmann::json stored_json(const std::string& text);

}  // namespace bl
