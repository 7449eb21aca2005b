#include "adapters/zmq_cad/audit_limiter.hpp"

namespace bl::cad {

audit_limiter::audit_limiter(std::size_t per_window, clock::duration window)
    : per_window_(per_window), window_(window) {}

void audit_limiter::roll(clock::time_point now) {
  if (started_ && now - window_start_ < window_) return;
  // A fixed window rather than a sliding one: the summary row then covers a stated minute and
  // the map is emptied at once instead of pruned key by key.
  started_ = true;
  window_start_ = now;
  audited_.clear();
  ended_suppressed_ += suppressed_;
  suppressed_ = 0;
}

bool audit_limiter::admit(const std::string& key, clock::time_point now) {
  roll(now);
  if (audited_.count(key) || audited_.size() >= per_window_) {
    ++suppressed_;
    return false;
  }
  audited_.insert(key);
  return true;
}

std::uint64_t audit_limiter::take_suppressed(clock::time_point now) {
  roll(now);
  auto n = ended_suppressed_;
  ended_suppressed_ = 0;
  return n;
}

}  // namespace bl::cad
