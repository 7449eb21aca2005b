#pragma once
// Subject access (issue 18, docs/data-protection.md): a data-protection officer finds what Bluelink
// holds about one person in one agency's transfers and phone calls, and exports it.
//
// The search walks the agency's transfers last active in the period asked for, newest first, a
// page at a time through the lists' own index ranges (store::reader::subject_transfers), and asks
// subject_match whether each message, timeline detail and call note mentions the person. It
// stops at max_found transfers or calls (the officer narrows the period or the terms), or when
// told to; progress is reported every page. What it reads is what the agency is a party to, and
// nothing else.
//
// The export gathers, for the transfers and calls the officer picked from the search, what is
// held (every message, the timeline), who it was disclosed to (the other party, and when it was
// delivered), how long it is kept (its purge date, or the hold that keeps it), with third parties'
// phrases redacted as the officer lists them.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/subject_match.hpp"
#include "gateway/store/reader.hpp"

namespace bl {

struct subject_query {
  std::string agency;  // whose transfers and calls
  std::vector<subject_term> terms;
  time_point since{};
  time_point until{};
};

inline constexpr int subject_max_found = 500;
inline constexpr int subject_page = 200;
/// The longest period one search may walk (a longer request is several searches).
inline constexpr std::int64_t subject_max_period_days = 3660;

/// Where a transfer or call mentions the person: "message <id>", "timeline <event id>" or
/// "note", then the field's pointer and an excerpt.
struct subject_place {
  std::string source;
  subject_hit hit;
};

struct subject_found_transfer {
  store::subject_transfer transfer;  // its content is dropped once matched: only the places stay
  std::vector<subject_place> places;
};

struct subject_found_call {
  store::call_row call;
  std::vector<subject_place> places;
};

struct subject_progress {
  std::int64_t transfers_read = 0;
  std::int64_t calls_read = 0;
  std::int64_t transfers_found = 0;
  std::int64_t calls_found = 0;
};

struct subject_result {
  std::vector<subject_found_transfer> transfers;
  std::vector<subject_found_call> calls;
  subject_progress read;
  bool truncated = false;  // stopped at subject_max_found: narrow the period or the terms
  bool stopped = false;    // told to stop
};

/// The search: `progress` after every page (may be empty); `stop` ends it between pages.
subject_result search_subject(store::reader& r, const subject_query& q,
                              const std::function<void(const subject_progress&)>& progress = {},
                              const std::atomic<bool>* stop = nullptr);

/// Where a transfer or call mentions the person, as JSON (docs/openapi.yaml, SubjectPlaces).
nlohmann::json subject_places_json(const std::vector<subject_place>& places);
/// The search's answer as JSON (docs/openapi.yaml, POST /api/v1/subject-access/search).
nlohmann::json subject_result_json(const subject_result& res, const subject_query& q);

/// A query from a request body {agency?, terms: [{kind, value}], since?, until?} (schema-checked
/// already): `own_agency` is the officer's (an admin, with none, names one); `now` bounds until.
std::variant<subject_query, error> subject_query_from(const nlohmann::json& body,
                                                      const std::string& own_agency,
                                                      const gateway_config& cfg, time_point now);

}  // namespace bl
