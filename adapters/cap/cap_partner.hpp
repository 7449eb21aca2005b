#pragma once
// What reading a partner's CAP alert needs beyond the element tree: its free text as plain UTF-8
// (markup stripped), the priority its urgency, severity and certainty give, the common incident
// code its category and event give, its areas (every polygon, circle and geocode), and its
// references. The tables are in docs/protocols/cap-edxl.md; cap_alert.cpp calls these. Stateless
// functions, safe on any thread.

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/cap/translate_error.hpp"
#include "adapters/cap/xml_reader.hpp"

namespace bl::adapters::cap_detail {

/// Text as an operator should read it: HTML-style markup a producer left in (`<br />`, `<p>`,
/// `<b>`) removed, line breaks kept, the common HTML entities decoded, runs of spaces collapsed,
/// lines trimmed, at most one blank line in a row. UTF-8 stays as written.
std::string plain_text(std::string_view text);

/// Whole UTF-8 characters of `s` up to `max_chars` characters; `clipped` says whether any were
/// dropped.
std::string clip_chars(const std::string& s, std::size_t max_chars, bool* clipped = nullptr);

/// Bluelink priority from CAP urgency, severity and certainty (docs/protocols/cap-edxl.md,
/// "Priority"): emergency, urgent or routine.
std::string priority_of(std::string_view urgency, std::string_view severity,
                        std::string_view certainty);

/// The common M/ETHANE incident code for a CAP category and event, e.g. Met + "wind" ->
/// "WEATHER", Geo + "Tsunami warning" -> "TSUNAMI", Rescue + "child abduction" -> "MISPER".
std::string incident_code(std::string_view category, std::string_view event);

/// One <area> as a canonical area: description, polygons, circles (radius in metres) and
/// geocodes. What has no place (altitude, ceiling, an empty geocode) is added to `not_carried`.
/// Errors: bl.cap.missing_element (no areaDesc), bl.cap.bad_value (a polygon or circle that is
/// not CAP's "lat,lon" form or is out of range, a polygon of fewer than four points).
std::variant<nlohmann::json, translate_error> read_area(const xml_element& area,
                                                        const std::string& ns,
                                                        std::vector<std::string>& not_carried);

/// One entry of a CAP <references> list: "sender,identifier,sent".
struct cap_reference {
  std::string sender;
  std::string identifier;
  std::string sent;
};
/// The entries of a <references> element. Errors: bl.cap.bad_value naming the element when it
/// is empty or an entry does not have three comma-separated parts.
std::variant<std::vector<cap_reference>, translate_error> read_references(const xml_element& e);

}  // namespace bl::adapters::cap_detail
