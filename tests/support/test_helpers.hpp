#pragma once
// Small helpers shared by the test tiers: waiting for a condition, CURVE keys, and the schema
// examples under schemas/examples/.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <zmq.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_link_server.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl::test {

/// Polls `pred` every `poll` until it holds or `within` has passed; returns its last value.
template <class F>
bool eventually(F pred, std::chrono::milliseconds within = std::chrono::milliseconds(5000),
                std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

/// A fresh CURVE key pair (Z85).
inline cad::key_pair new_curve_keys() {
  char pub[41], sec[41];
  REQUIRE(zmq_curve_keypair(pub, sec) == 0);
  return {pub, sec};
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

/// The repository's schemas, loaded once per test process.
inline const schema_set& repo_schemas() {
  static schema_set s(std::filesystem::path(BL_SOURCE_DIR) / "schemas");
  return s;
}

/// The example files of a folder (not expectations.json), sorted.
inline std::vector<std::filesystem::path> example_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json" && e.path().filename() != "expectations.json")
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace bl::test
