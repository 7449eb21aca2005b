#pragma once
// Bulk loading of generated calls and transfers into a new SQLite store, for the benchmarks'
// data (tools/bench/report_data): one transaction, synchronous off, prepared statements. Not for
// the gateway's own writes, which go through the writer.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace bl::store {

class db;
class stmt;

/// A transfer as the benchmarks generate it (version 3; every deadline at created_ms).
struct bulk_transfer {
  std::string id;
  std::string state, category, priority, mode;
  std::string requester, responder;
  std::int64_t created_ms = 0;
};

/// A phone call as the benchmarks generate it (logged by "bench", created at started_ms).
struct bulk_call {
  std::string source;  // "import", "console", "api"
  std::string from_agency, to_agency;
  std::int64_t started_ms = 0;
  std::int64_t duration_s = 0;
  bool emergency = false;
  std::optional<std::string> reason;
  std::optional<std::string> transfer_id;
  bool exercise = false;
};

/// Loads one file. Not thread-safe. Nothing is kept unless finish() is called.
class bulk_loader {
 public:
  /// Creates and migrates the file at `path` as the gateway does, then opens one transaction.
  explicit bulk_loader(const std::string& path);
  ~bulk_loader();
  bulk_loader(const bulk_loader&) = delete;
  bulk_loader& operator=(const bulk_loader&) = delete;

  void add(const bulk_transfer& t);
  void add(const bulk_call& c);
  /// Commits, analyses (for the report's query plans) and checkpoints the WAL into the file.
  void finish();

 private:
  std::unique_ptr<db> d_;
  std::unique_ptr<stmt> transfer_, call_;
};

/// Row counts of a loaded file.
struct bulk_counts {
  std::int64_t calls = 0, exercise_calls = 0, linked_calls = 0, transfers = 0,
               non_live_transfers = 0;
};
bulk_counts count_bulk_rows(const std::string& path);

}  // namespace bl::store
