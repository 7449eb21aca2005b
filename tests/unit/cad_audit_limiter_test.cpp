// The limiter of refusal audit rows on the CAD link (adapters/zmq_cad/audit_limiter): one row per
// key per minute, a ceiling across all keys, a summary count for the rest, bounded memory.

#include <catch2/catch.hpp>

#include <string>

#include "adapters/zmq_cad/audit_limiter.hpp"

using bl::cad::audit_limiter;
using namespace std::chrono_literals;

TEST_CASE("a key is audited once a minute however often it is refused", "[unit][cadlink][audit]") {
  audit_limiter lim(20, 1min);
  auto t0 = audit_limiter::clock::now();
  CHECK(lim.admit("key-a", t0));
  for (int i = 1; i < 100; ++i) CHECK_FALSE(lim.admit("key-a", t0 + i * 100ms));
  CHECK(lim.suppressed_in_window() == 99);
  CHECK(lim.take_suppressed(t0 + 30s) == 0);  // the minute has not ended
  CHECK(lim.take_suppressed(t0 + 61s) == 99);
  CHECK(lim.admit("key-a", t0 + 61s));
}

TEST_CASE("300 unknown keys in a minute give 20 audit rows and one count of the other 280",
          "[unit][cadlink][audit]") {
  audit_limiter lim(20, 1min);
  auto t0 = audit_limiter::clock::now();
  int audited = 0;
  for (int i = 0; i < 300; ++i)
    if (lim.admit("key-" + std::to_string(i), t0 + i * 10ms)) ++audited;
  CHECK(audited == 20);
  CHECK(lim.tracked() == 20);  // only audited keys are remembered
  CHECK(lim.take_suppressed(t0 + 59s) == 0);
  CHECK(lim.take_suppressed(t0 + 60s) == 280);
  CHECK(lim.take_suppressed(t0 + 120s) == 0);  // handed out once
  CHECK(lim.tracked() == 0);                   // and the keys of the ended minute are forgotten
}

TEST_CASE("suppressed refusals of a minute are not lost when the next refusal opens a new one",
          "[unit][cadlink][audit]") {
  audit_limiter lim(1, 1min);
  auto t0 = audit_limiter::clock::now();
  CHECK(lim.admit("a", t0));
  CHECK_FALSE(lim.admit("b", t0 + 1s));
  CHECK_FALSE(lim.admit("c", t0 + 2s));
  // The next refusal comes two minutes later: it opens a new window and is audited...
  CHECK(lim.admit("d", t0 + 120s));
  // ...and the two suppressed in the first window are still handed out for the summary.
  CHECK(lim.take_suppressed(t0 + 121s) == 2);
}
