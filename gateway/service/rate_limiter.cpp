#include "gateway/service/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace bl {

rate_limiter::rate_limiter(double per_second, double burst)
    : per_second_(std::max(per_second, 0.001)), burst_(std::max(burst, 1.0)) {}

rate_limiter::decision rate_limiter::take(const std::string& key, clock::time_point now) {
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(key);
  bucket& b = it->second;
  if (fresh) {
    b.tokens = burst_;
    b.last = now;
  }
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.last = now;
  }
  decision d;
  // An episode under way is over once the key has gone `quiet` without a refusal.
  if (b.refused > 0 && now - b.last_refused >= quiet) {
    d.episode_ended = true;
    d.refused_in_episode = b.refused;
    b.refused = 0;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return d;
  }
  d.allowed = false;
  d.episode_started = b.refused == 0;
  d.refused_in_episode = ++b.refused;
  b.last_refused = now;
  d.retry_after = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / per_second_ * 1000.0)));
  return d;
}

}  // namespace bl
