#pragma once
// The M/ETHANE text rendering of a transfer, for radio read-out and printing: a header (transfer
// id, from -> to, priority, category, sent time in UK local time and UTC), the seven JESIP
// M/ETHANE headings in order, then the ask, contact and notes. UTF-8 as written (a Polish or Hebrew
// place name stays as it is), lines of at most 72 characters. Pure functions: no I/O, any thread.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace bl::adapters {

/// Renders a canonical message (transfer.request, transfer.update or transfer.cancel; other types
/// get the header and their body fields) or a stored transfer's request document. Works on the
/// JSON so that the CLI and the API can both call it; the message is expected to have passed
/// schema validation, but missing parts are written as "not given" rather than refused.
std::string methane_text(const nlohmann::json& message);

/// Keeps every whole UTF-8 character as it is; control characters other than newline (C0 and C1)
/// become spaces and bytes that are not UTF-8 become U+FFFD, so the text is safe to print.
std::string clean_text(std::string_view utf8);

/// Wraps text at `width` characters (UTF-8 code points, not bytes); continuation lines start with
/// `indent` spaces and the first line with `first` (which should be `indent` characters wide).
/// Words longer than a line are split between characters.
std::string wrap(std::string_view text, std::string_view first, std::size_t indent,
                 std::size_t width = 72);

/// OS National Grid reference with letters and grouped digits, e.g. 574520, 205704 ->
/// "TL 74520 05704"; empty when outside the grid.
std::string os_grid_letters(double easting, double northing);

}  // namespace bl::adapters
