#pragma once
// A token bucket per key (an agency): `per_second` tokens a second, at most `burst` saved up.
// It also tells its caller when a key starts and stops being refused, so that a flood is
// audited once as an episode rather than once per refused message. A flood goes on letting
// through one message per refilled token; the episode ends only when the key has had no refusal
// for `quiet` (10 s).
//
// Thread-safety: take() may be called from any thread (one mutex; the work inside is a few
// arithmetic operations). Lifetime: plain value, owned by the engine.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bl {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  struct decision {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};  // refused: when one token will be there
    bool episode_started = false;  // refused, the first refusal since the key was last quiet
    bool episode_ended = false;    // the key's previous episode is over (it was quiet for `quiet`)
    std::int64_t refused_in_episode = 0;  // refusals so far (or in all, when it ended)
  };

  static constexpr std::chrono::seconds quiet{10};

  rate_limiter(double per_second, double burst);

  decision take(const std::string& key, clock::time_point now = clock::now());

 private:
  struct bucket {
    double tokens = 0;
    clock::time_point last{};
    std::int64_t refused = 0;  // in the current episode; 0: none under way
    clock::time_point last_refused{};
  };

  double per_second_;
  double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace bl
