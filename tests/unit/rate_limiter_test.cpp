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

TEST_CASE("a flood is reported as one episode with its count", "[unit][rate]") {
  rate_limiter r(1, 1);
  auto t0 = rate_limiter::clock::time_point{} + 1h;
  CHECK(r.take("a", t0).allowed);
  auto first = r.take("a", t0);
  CHECK_FALSE(first.allowed);
  CHECK(first.episode_started);
  for (int i = 0; i < 10; ++i) {
    auto d = r.take("a", t0 + 1ms);
    CHECK_FALSE(d.allowed);
    CHECK_FALSE(d.episode_started);
  }
  auto back = r.take("a", t0 + 2s);
  CHECK(back.allowed);
  CHECK(back.episode_ended);
  CHECK(back.refused_in_episode == 11);
  auto next = r.take("a", t0 + 4s);
  CHECK(next.allowed);
  CHECK_FALSE(next.episode_ended);
}
