#pragma once
// Bounds the audit rows written for refusals that an outsider can repeat at will (an unknown CURVE
// key, a forbidden routing id, a frame under another agency's key). Each distinct key (a public
// key, an agency) gets at most one row per window, and all keys together at most `per_window`
// rows; every refusal beyond that is counted, and the count of a window that had any is handed
// out once for a single summary row. Memory is bounded: only keys audited in the current window
// are remembered, so at most `per_window` of them.
//
// Threading: none; the CAD link thread owns it. Time is passed in, so tests drive it directly.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

namespace bl::cad {

class audit_limiter {
 public:
  using clock = std::chrono::steady_clock;

  explicit audit_limiter(std::size_t per_window = 20,
                         clock::duration window = std::chrono::minutes(1));

  /// True when this refusal of `key` gets an audit row of its own; otherwise it is counted for
  /// the summary.
  bool admit(const std::string& key, clock::time_point now);
  /// The number of refusals suppressed in windows that have ended since the last call (0 if
  /// none): write one summary row when it is not 0.
  std::uint64_t take_suppressed(clock::time_point now);
  /// Refusals suppressed so far in the current window (not yet handed out).
  std::uint64_t suppressed_in_window() const { return suppressed_; }
  /// Keys remembered (audited in the current window).
  std::size_t tracked() const { return audited_.size(); }

 private:
  void roll(clock::time_point now);

  std::size_t per_window_;
  clock::duration window_;
  clock::time_point window_start_{};
  bool started_ = false;
  std::set<std::string> audited_;       // keys audited in this window
  std::uint64_t suppressed_ = 0;        // in this window
  std::uint64_t ended_suppressed_ = 0;  // in ended windows, not yet taken
};

}  // namespace bl::cad
