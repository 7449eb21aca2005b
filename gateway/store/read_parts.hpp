#pragma once
// The savings report's months read side by side (report_store.hpp): the parts that
// split_savings_reads cut, each read on a thread of its own, their counts merged. Both engines'
// report stores use it; what each part reads through (a connection, a snapshot) is theirs.

#include <cstddef>
#include <future>
#include <vector>

#include "gateway/core/savings_math.hpp"

namespace bl::store {

/// The counts of every part, merged (merge_savings_counts): read_one(part, i) reads parts[i] and
/// returns its counts. Part 0 is read on the calling thread, every other part on a thread of its
/// own started first, so all of them run at once; one part is read on the calling thread alone.
/// When a read throws, every other read has ended before the first error in part order is
/// rethrown, so nothing still uses what read_one refers to (the caller's connections).
template <class ReadOne>
savings_counts read_parts_side_by_side(const std::vector<savings_reads>& parts, ReadOne read_one) {
  if (parts.size() == 1) return read_one(parts[0], std::size_t{0});
  std::vector<std::future<savings_counts>> later;
  later.reserve(parts.size());
  for (std::size_t i = 1; i < parts.size(); ++i)
    later.push_back(
        std::async(std::launch::async, [&read_one, &parts, i] { return read_one(parts[i], i); }));
  savings_counts out;
  try {
    if (!parts.empty()) out = read_one(parts[0], std::size_t{0});
    for (auto& f : later) merge_savings_counts(out, f.get());
  } catch (...) {
    for (auto& f : later)
      if (f.valid()) f.wait();
    throw;
  }
  return out;
}

}  // namespace bl::store
