#pragma once
// The failpoint file of the gateways a system test starts (gateway/core/failpoint.hpp): made empty
// and named in BLUELINK_FAILPOINT_FILE for the test's lifetime; arm() writes one failpoint's name
// into it, disarm() empties it. One per test; not thread-safe. wait_degraded(): what a test
// then waits for, /healthz turning 503.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"

namespace bl::test {

struct failpoint_file {
  explicit failpoint_file(std::filesystem::path p) : path(std::move(p)) {
    std::ofstream(path, std::ios::trunc);
    ::setenv("BLUELINK_FAILPOINT_FILE", path.c_str(), 1);
  }
  ~failpoint_file() { ::unsetenv("BLUELINK_FAILPOINT_FILE"); }
  failpoint_file(const failpoint_file&) = delete;
  failpoint_file& operator=(const failpoint_file&) = delete;
  void arm(const std::string& name) { std::ofstream(path, std::ios::trunc) << name << "\n"; }
  void disarm() { std::ofstream(path, std::ios::trunc); }
  std::filesystem::path path;
};

/// Waits for /healthz to turn 503 (within 10 s), says after how long, and returns that reply.
inline http_response wait_degraded(http_client& monitor, const std::string& what) {
  const auto from = std::chrono::steady_clock::now();
  http_response health;
  REQUIRE(eventually(
      [&] {
        auto r = monitor.try_request("GET", "/healthz");
        if (!r) return false;
        health = *r;
        return health.status == 503;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50)));
  WARN(what << " seen by /healthz after "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count()
            << " s");
  return health;
}

}  // namespace bl::test
