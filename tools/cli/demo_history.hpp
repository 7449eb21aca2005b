#pragma once
// The demo's telephony history (issue 14): a deterministic export of the phone calls between
// the Essex control rooms, twelve whole months before go-live and every month since, so that the
// manager's first report shows calls before and after go-live. Written as the CSV a telephony
// system exports and loaded by the real import (`bluelink calls import`'s code), so the demo
// exercises the same path as a site does.
//
// Pure: no clock, no files. The same `go_live` and `now` always give the same rows, and a row's
// Call ID depends only on its direction, month and place in the month, so importing a later
// demo's file again adds only the calls since.

#include <string>
#include <vector>

#include "gateway/core/time_util.hpp"

namespace bl::demo {

/// One direction of calls: who rings whom, and how many calls a month before go-live.
struct call_direction {
  std::string tag;             // in the Call ID, e.g. "FP"
  std::string caller;          // the calling room's number
  std::string called;          // the called room's ordinary line
  std::string called_999;      // the called room's emergency line (every third call)
  int baseline_per_month = 0;  // average over any twelve months before go-live
};

/// Fire -> Police at about 400 calls a month and Police -> Fire at about 150, on the demo's
/// numbers (tools/cli: demo init).
std::vector<call_direction> essex_directions();

/// The go-live demo init sets: the first of the UK month four months before `now`'s, so that
/// the report has four whole months after it.
std::string default_go_live(time_point now);

/// How many calls `d` has in month `m`: before go-live, the baseline with a seasonal swing that
/// sums to nothing over any twelve months; from the go-live month on, 85 %, 70 %, 57.5 %, then
/// 47 % of it (a 53 % fall by the fourth month, as the business case expects).
int calls_in_month(const call_direction& d, year_month m, year_month go_live);

/// The CSV (header "Call ID","Calling Number","Dialled Number","Start Time","Duration"; start
/// times UK local, ISO 8601) from the twelfth month before `go_live` up to `now`. The month of
/// `now` has its share of calls up to `now` only; nothing is in the future.
std::string history_csv(const std::vector<call_direction>& dirs, year_month go_live,
                        time_point now);

}  // namespace bl::demo
