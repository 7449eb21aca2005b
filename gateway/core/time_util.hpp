#pragma once
// RFC 3339 timestamps on the wire; std::chrono inside. All stored times are UTC milliseconds.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bl {

using sys_clock = std::chrono::system_clock;
using time_point = std::chrono::time_point<sys_clock, std::chrono::milliseconds>;

/// Parses "2026-11-21T14:02:11Z", "…T14:02:11.250Z" or "…T15:02:11+01:00"; nullopt if not RFC 3339.
std::optional<time_point> parse_rfc3339(std::string_view text);
/// Formats as UTC with milliseconds: "2026-11-21T14:02:11.250Z".
std::string format_rfc3339(time_point t);

inline std::int64_t to_ms(time_point t) {
  return t.time_since_epoch().count();
}
inline time_point from_ms(std::int64_t ms) {
  return time_point{std::chrono::milliseconds{ms}};
}
inline time_point now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(sys_clock::now());
}

/// The engine's source of time; tests substitute a manual clock to drive timers.
class clock_source {
 public:
  virtual ~clock_source() = default;
  virtual time_point now() const = 0;
};

class system_clock_source final : public clock_source {
 public:
  time_point now() const override { return now_ms(); }
};

}  // namespace bl
