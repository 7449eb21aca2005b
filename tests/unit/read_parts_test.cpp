// The savings report's parts read side by side (gateway/store/read_parts.hpp), without a store:
// every part read at once and merged, and an error rethrown only once no read is running.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/store/read_parts.hpp"

using namespace bl;

namespace {

// `n` parts, one month each from April 2026; only their months matter here.
std::vector<savings_reads> parts_of(int n) {
  std::vector<savings_reads> parts(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto m = year_month::parse("2026-04")->plus(i);
    parts[static_cast<std::size_t>(i)].call_months = {{m, m}};
  }
  return parts;
}

// One call row in the part's month.
savings_counts one_row(const savings_reads& part) {
  savings_counts c;
  c.calls.push_back({part.call_months[0].first, "essex-fire", "essex-police", "", true, 1});
  return c;
}

// Waits until `n` reads have begun, or two seconds: false if they never were all running at once.
bool all_begun(std::atomic<int>& begun, int n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (begun.load() < n)
    if (std::chrono::steady_clock::now() > until)
      return false;
    else
      std::this_thread::yield();
  return true;
}

}  // namespace

TEST_CASE("a report's parts are read at once, the first on the calling thread, and merged",
          "[unit][savings]") {
  for (int n : {1, 2, 3}) {
    auto parts = parts_of(n);
    std::atomic<int> begun{0};
    std::vector<std::thread::id> readers(parts.size());
    auto out = store::read_parts_side_by_side(parts, [&](const savings_reads& part, std::size_t i) {
      readers[i] = std::this_thread::get_id();
      ++begun;
      if (!all_begun(begun, n)) throw std::runtime_error("the parts were not read at once");
      return one_row(part);
    });
    REQUIRE(out.calls.size() == parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i)
      CHECK(out.calls[i].month == parts[i].call_months[0].first);
    CHECK(readers[0] == std::this_thread::get_id());
    for (std::size_t i = 1; i < readers.size(); ++i) CHECK(readers[i] != readers[0]);
  }
}

TEST_CASE("a part that fails is rethrown only after every other part's read has ended",
          "[unit][savings]") {
  auto parts = parts_of(3);
  for (std::size_t failing : {0, 1}) {
    std::atomic<int> ended{0};
    auto read = [&](const savings_reads& part, std::size_t i) {
      if (i == failing) throw std::runtime_error("part " + std::to_string(i) + " failed");
      // The others take a while: still reading when the failure is thrown.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ++ended;
      return one_row(part);
    };
    CHECK_THROWS_WITH(store::read_parts_side_by_side(parts, read),
                      "part " + std::to_string(failing) + " failed");
    CHECK(ended.load() == 2);
  }
}
