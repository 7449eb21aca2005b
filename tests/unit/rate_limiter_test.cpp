#include <catch2/catch.hpp>

#include "gateway/service/rate_limiter.hpp"

using namespace bl;
using namespace std::chrono_literals;

TEST_CASE("a burst is allowed, then the steady rate, and each key has its own bucket",
          "[unit][rate]") {
  rate_limiter r(10, 5);  // 10 a second, 5 saved up
  auto t0 = rate_limiter::clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i) CHECK(r.take("essex-fire", t0).allowed);
  auto refused = r.take("essex-fire", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 100ms);  // one token every 100 ms
  // Another agency is not held up by the first one's flood.
  CHECK(r.take("essex-police", t0).allowed);
  // 100 ms later there is one token again, and only one.
  CHECK(r.take("essex-fire", t0 + 100ms).allowed);
  CHECK_FALSE(r.take("essex-fire", t0 + 100ms).allowed);
  // Saved tokens never exceed the burst.
  auto later = t0 + 1h;
  for (int i = 0; i < 5; ++i) CHECK(r.take("essex-fire", later).allowed);
  CHECK_FALSE(r.take("essex-fire", later).allowed);
}

TEST_CASE("a sustained flood is one episode, over only after ten quiet seconds", "[unit][rate]") {
  rate_limiter r(1, 1);
  auto t0 = rate_limiter::clock::time_point{} + 1h;
  CHECK(r.take("a", t0).allowed);
  auto first = r.take("a", t0);
  CHECK_FALSE(first.allowed);
  CHECK(first.episode_started);
  // The flood goes on for five seconds: one message a second gets through, the rest are
  // refused, and all of it is the same episode.
  int refused = 1;
  for (int ms = 100; ms <= 5000; ms += 100) {
    auto d = r.take("a", t0 + std::chrono::milliseconds(ms));
    CHECK_FALSE(d.episode_started);
    CHECK_FALSE(d.episode_ended);
    if (!d.allowed) ++refused;
  }
  CHECK(refused >= 44);  // about one in ten gets through
  // Quiet for less than ten seconds: still the same episode.
  auto soon = r.take("a", t0 + 14s);
  CHECK(soon.allowed);
  CHECK_FALSE(soon.episode_ended);
  // Ten seconds after the last refusal the episode is over, with its count.
  auto back = r.take("a", t0 + 16s);
  CHECK(back.allowed);
  CHECK(back.episode_ended);
  CHECK(back.refused_in_episode == refused);
  auto next = r.take("a", t0 + 18s);
  CHECK(next.allowed);
  CHECK_FALSE(next.episode_ended);
}
