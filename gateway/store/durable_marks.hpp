#pragma once
// How far the store is known to be on disk, for readers that hand rows to another system.
//
// The engine commits with synchronous=NORMAL and makes each commit durable by syncing the WAL on
// a thread of its own while it prepares the next batch (pipelined group commit). Between the two,
// a commit is visible to every reader but could still be lost by a power cut. Nothing may leave
// the gateway from such a commit: receipts wait for the sync, and so does every read that hands
// deliveries or timeline events onwards (CAD link, long-poll, UCRI2, EIDO, the console hub),
// because the reader bounds them by these marks. A delivery a CAD acknowledged and then lost in
// a power cut would have its sequence number given again to a different message.
//
// Thread-safety: every member may be called from any thread. Until set() is first called
// nothing is bounded (a store with no engine, such as the CLI's, is all durable).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace bl::store {

class durable_marks {
 public:
  /// The marks at start: every row already in the store is durable.
  void set(std::map<std::string, std::int64_t> seqs, std::int64_t event_id) {
    std::lock_guard lock(mu_);
    active_ = true;
    seqs_ = std::move(seqs);
    event_id_ = event_id;
  }
  /// After a sync: the last sequence number of each agency it covered, and the last event id.
  void advance(const std::map<std::string, std::int64_t>& seqs, std::int64_t event_id) {
    std::lock_guard lock(mu_);
    for (const auto& [agency, seq] : seqs) {
      auto& mark = seqs_[agency];
      if (seq > mark) mark = seq;
    }
    if (event_id > event_id_) event_id_ = event_id;
  }
  /// The highest sequence number of `agency`'s deliveries known to be durable; nullopt when
  /// nothing is bounded.
  std::optional<std::int64_t> seq(const std::string& agency) const {
    std::lock_guard lock(mu_);
    if (!active_) return std::nullopt;
    auto it = seqs_.find(agency);
    return it == seqs_.end() ? 0 : it->second;
  }
  /// The highest timeline event id known to be durable; nullopt when nothing is bounded.
  std::optional<std::int64_t> event_id() const {
    std::lock_guard lock(mu_);
    if (!active_) return std::nullopt;
    return event_id_;
  }

 private:
  mutable std::mutex mu_;
  bool active_ = false;
  std::map<std::string, std::int64_t> seqs_;
  std::int64_t event_id_ = 0;
};

}  // namespace bl::store
