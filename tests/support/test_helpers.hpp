#pragma once
// Small helpers shared by the test tiers: waiting for a condition, CURVE keys, and the schema
// examples under schemas/examples/.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <zmq.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/zmq_cad/cad_link_server.hpp"
#include "gateway/core/config.hpp"
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

/// Calls `fn(path, bytes)` for every input a fuzz target keeps in the tree: its kept crashers
/// (tests/fuzz/regressions/<target>/) and its seed corpus (tests/fuzz/corpus/<target>/), so that
/// the unit tests replay them on every build. Each call runs with the file's path as INFO.
template <class F>
void for_each_fuzz_input(const std::string& target, F fn) {
  namespace fs = std::filesystem;
  for (const char* tree : {"regressions", "corpus"}) {
    fs::path dir = fs::path(BL_SOURCE_DIR) / "tests/fuzz" / tree / target;
    REQUIRE(fs::exists(dir));
    for (const auto& f : fs::directory_iterator(dir)) {
      if (f.path().filename() == ".gitkeep") continue;
      INFO(f.path().string());
      std::ifstream in(f.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      fn(f.path(), bytes.str());
    }
  }
}

/// A loopback TCP port for a listener that must keep its number across restarts (the CAD link
/// in tests that kill and restart the gateway). Below the kernel's ephemeral range (32768 and
/// up), so no outgoing connection is ever given it, and free when chosen (checked by binding).
inline unsigned short fixed_test_port() {
  thread_local std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<unsigned short>(20000 + rng() % 12000);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  FAIL("no free loopback port between 20000 and 32000");
  return 0;
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

/// Why config_from_json refuses `doc` (the gateway's own checks, no schema), or "(accepted)".
inline std::string config_refusal(const nlohmann::json& doc) {
  try {
    config_from_json(doc);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
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
