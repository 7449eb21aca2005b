#pragma once
// One fresh store on either engine for a test that must behave the same on both: an SQLite file
// in a temp directory, or a database of its own on the PostgreSQL server that the test binary's
// run starts once (tools/pg_server/pg_server) and stops at exit. Parameterise a TEST_CASE with
//   const auto engine = GENERATE(from_range(bl::test::store_engine::all()));
//   bl::test::store_engine db(engine);
// and open the stores under test with the engine-neutral factories (store::open_*_store(
// db.options())). Raw SQL for setting rows up and checking them takes $1, $2, ... placeholders
// and text parameters on both engines (SQLite reads $1 as a named parameter in the same slot).
// Not thread-safe: one test, one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/store/writer.hpp"
#include "tests/support/temp_dir.hpp"

namespace bl::test {

class store_engine {
 public:
  using value = std::optional<std::string>;  // std::nullopt is SQL NULL
  using row = std::vector<value>;

  /// "sqlite" and "postgres".
  static std::vector<std::string> all();

  explicit store_engine(const std::string& engine);
  ~store_engine();
  store_engine(const store_engine&) = delete;
  store_engine& operator=(const store_engine&) = delete;

  const std::string& name() const { return name_; }
  bool postgres() const { return name_ == "postgres"; }
  /// The store, for store::open_writer / open_*_store.
  store::store_options options() const;
  /// Creates and migrates the store as the gateway does at start (store::open_writer), then
  /// closes the writer.
  void create() const;
  /// Whether anything of a Bluelink store exists yet (SQLite: the file; PostgreSQL: any table).
  bool exists() const;

  /// Runs one statement and returns its rows as text (booleans as "1"/"0" on both engines).
  std::vector<row> query(const std::string& sql, const std::vector<value>& args = {}) const;
  /// The first column of the first row as an integer; fails the test when there is no row.
  std::int64_t scalar(const std::string& sql, const std::vector<value>& args = {}) const;
  /// Runs statements without rows (several, separated by ';', when there are no args).
  void exec(const std::string& sql, const std::vector<value>& args = {}) const;

 private:
  std::string name_;
  std::unique_ptr<temp_dir> dir_;  // SQLite
  std::string path_;               // SQLite
  std::string database_;           // PostgreSQL
};

}  // namespace bl::test
