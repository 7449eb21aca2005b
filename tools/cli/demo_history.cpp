#include "tools/cli/demo_history.hpp"

#include <array>
#include <cstdint>
#include <cstdio>

namespace bl::demo {

namespace {

// A seasonal swing per calendar month (more calls in the summer), in thousandths of the
// baseline; it sums to zero, so any twelve consecutive months average to the baseline exactly.
constexpr std::array<int, 12> swing_permille = {-15, -22, -10, 0, 8, 20, 30, 22, 5, -8, -12, -18};

// Calls from the go-live month on, in thousandths of the baseline: the fall the business case
// expects as rooms move to electronic transfers, levelling off at a 53 % fall.
constexpr std::array<int, 4> after_permille = {850, 700, 575, 470};

int days_in(year_month m) {
  static constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (m.year % 4 == 0 && m.year % 100 != 0) || m.year % 400 == 0;
  return days[static_cast<std::size_t>(m.month - 1)] + (m.month == 2 && leap ? 1 : 0);
}

// A small, portable generator (std:: distributions differ between standard libraries): the
// same seed gives the same times everywhere.
std::uint32_t mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

}  // namespace

std::vector<call_direction> essex_directions() {
  return {{"FP", "01632 960001", "01632 960002", "01632 960902", 400},
          {"PF", "01632 960002", "01632 960001", "01632 960901", 150}};
}

std::string default_go_live(time_point now) {
  return uk_month_of(now).plus(-4).str() + "-01";
}

int calls_in_month(const call_direction& d, year_month m, year_month go_live) {
  const int base = d.baseline_per_month;
  if (m < go_live) {
    int swing = swing_permille[static_cast<std::size_t>(m.month - 1)];
    // Rounded so that the twelve months still sum to twelve baselines for these baselines.
    return base + (base * swing + (swing >= 0 ? 500 : -500)) / 1000;
  }
  int k = m.index() - go_live.index();
  int share = after_permille[static_cast<std::size_t>(k < 3 ? k : 3)];
  return (base * share + 500) / 1000;
}

std::string history_csv(const std::vector<call_direction>& dirs, year_month go_live,
                        time_point now) {
  std::string out =
      "\"Call ID\",\"Calling Number\",\"Dialled Number\",\"Start Time\",\"Duration\"\r\n";
  const year_month last = uk_month_of(now);
  char line[160];
  for (year_month m = go_live.plus(-12); m <= last; m = m.plus(1)) {
    const int days = days_in(m);
    for (std::size_t di = 0; di < dirs.size(); ++di) {
      const auto& d = dirs[di];
      const int n = calls_in_month(d, m, go_live);
      for (int i = 0; i < n; ++i) {
        std::uint32_t r = mix(static_cast<std::uint32_t>(m.index()) * 2654435761U ^
                              static_cast<std::uint32_t>(di * 100000 + i));
        // Spread evenly over the month, at any time of day.
        int day = 1 + i * days / n;
        int h = static_cast<int>(r % 24), mi = static_cast<int>((r >> 5) % 60),
            s = static_cast<int>((r >> 11) % 60);
        int duration = 60 + static_cast<int>((r >> 17) % 540);
        auto at = uk_local_to_utc(m.year, m.month, day, h, mi, s);
        if (!at || *at > now) continue;  // the month in progress: only what has happened
        std::snprintf(line, sizeof line,
                      "DEMO-%s-%04d%02d-%04d,\"%s\",\"%s\",%04d-%02d-%02dT%02d:%02d:%02d,%d\r\n",
                      d.tag.c_str(), m.year, m.month, i + 1, d.caller.c_str(),
                      (i % 3 == 0 ? d.called_999 : d.called).c_str(), m.year, m.month, day, h, mi,
                      s, duration);
        out += line;
      }
    }
  }
  return out;
}

}  // namespace bl::demo
