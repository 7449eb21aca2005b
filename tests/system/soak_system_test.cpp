// The short form of the mixed-load soak (issue 13): both simulated CADs, HTTP submissions, three
// console WebSockets, sign-ins and account changes through the API and the CLI, savings reports,
// a call import and phone-fallback timers against the real gateway at once; no commit keeps
// failing, nothing receipted is lost, and an unwritable store turns /healthz to 503. The long
// form is tools/soak (docs/operations.md).

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <catch2/catch.hpp>

#include "tests/support/soak.hpp"

namespace {

/// BL_SOAK_SECONDS (the sanitizer presets set it lower; tools/soak sets it higher), else 45 s.
std::chrono::seconds soak_duration() {
  if (const char* v = std::getenv("BL_SOAK_SECONDS")) return std::chrono::seconds(std::atoi(v));
  return std::chrono::seconds(45);
}

}  // namespace

TEST_CASE(
    "under mixed load no commit keeps failing, nothing receipted is lost, and an unwritable "
    "store turns /healthz to 503",
    "[system][soak]") {
  bl::test::soak_options opts;
  opts.duration = soak_duration();
  opts.progress = &std::cout;
  if (const char* v = std::getenv("BL_SOAK_PROGRESS_S"))
    opts.progress_every = std::chrono::seconds(std::atoi(v));
  const auto result = bl::test::run_soak(opts);
  const auto summary = result.summary();
  std::cout << summary << std::flush;
  if (const char* file = std::getenv("BL_SOAK_SUMMARY")) std::ofstream(file) << summary;

  INFO(summary);
  CHECK(result.worst_failing_streak_s <= opts.busy_timeout_ms / 1000.0);
  CHECK(result.unwritable_to_503_s >= 0);
  CHECK(result.unwritable_to_503_s <= opts.busy_timeout_ms / 1000.0 + 5);
  CHECK(result.failures.empty());
}
