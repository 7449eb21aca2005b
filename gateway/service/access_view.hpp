#pragma once
// The personal-data access log as a data-protection officer reads it (issue 18): the query a
// caller asks for (the same parameters on GET /api/v1/access-log and `bluelink access-log
// query`), checked before anything is read, and the entries as JSON or CSV.

#include <map>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/error.hpp"
#include "gateway/store/access_log.hpp"

namespace bl {

/// The most entries one query returns (the CSV export pages with `before`).
inline constexpr int access_query_max = 10000;

/// A filter from query parameters: transfer, user (an actor), operation, since and until (RFC
/// 3339), before (a seq, for the next page) and limit (1 to access_query_max, default 500).
/// `agency` is not read here: who may see which agency's entries is the caller's decision.
/// Every value is bounded (ids and names at most 128 characters); the first bad one is
/// bl.request.bad_parameter naming it.
std::variant<store::access_filter, error> access_filter_from(
    const std::map<std::string, std::string>& q);

/// The query `f` asks, as the access log records it (the `ref` of its own consult entry):
/// "transfer=…&user=…&operation=…&agency=…&since=…&until=…&before=…", with `limit` when not the
/// default and "format=csv" when `csv`; only what is set, always in that order.
std::string access_query_ref(const store::access_filter& f, bool csv);

/// One entry as the API gives it: seq, at (RFC 3339), and every field of access_entry.
nlohmann::json access_entry_json(const store::access_entry& e);

/// Entries as CSV (RFC 4180, CRLF), a header row first. A cell that a spreadsheet would run as a
/// formula (starting with =, +, -, @, a tab or a carriage return) is prefixed with an apostrophe.
std::string access_csv(const std::vector<store::access_entry>& entries);

}  // namespace bl
