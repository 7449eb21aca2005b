#pragma once
// The failpoint file of the gateways a system test starts (gateway/core/failpoint.hpp): made empty
// and named in BLUELINK_FAILPOINT_FILE for the test's lifetime; arm() writes one failpoint's name
// into it, disarm() empties it. One per test; not thread-safe.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

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

}  // namespace bl::test
