// The WAL checkpointer (gateway/store/checkpointer.hpp): commits hand checkpoints to its thread,
// it keeps the WAL small, and when it fails it says so while the writer keeps the WAL bounded.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "gateway/store/checkpointer.hpp"
#include "gateway/store/fault_vfs.hpp"
#include "gateway/store/sqlite.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bl;

namespace {

std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("checkpointer-test",
                                          std::make_shared<spdlog::sinks::null_sink_mt>());
}

// One commit of one audit row carrying `bytes` of detail (about bytes / 4096 WAL pages).
void commit_row(store::writer& w, int i, std::size_t bytes) {
  w.begin();
  w.audit(time_point{} + std::chrono::seconds(i), "essex-fire", "test.padding", {}, {},
          "{\"pad\":\"" + std::string(bytes, 'x') + "\"}");
  w.commit();
}

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return p();
}

std::int64_t count_rows(const std::string& path) {
  store::db d(path, false, true);
  store::stmt s(d, "SELECT count(*) FROM audit WHERE action = 'test.padding'");
  return s.step() ? s.int64(0) : -1;
}

}  // namespace

TEST_CASE("commits leave WAL checkpoints to the checkpointer's thread, which keeps the WAL small",
          "[component][store][checkpoint]") {
  test::temp_dir dir;
  store::store_options opts{dir.file("store.db"), true, 5000, {}};
  store::writer w(opts);
  store::checkpointer c(opts, quiet());
  w.hand_checkpoints_to(&c);
  c.start();

  // About 2,000 WAL pages: twice the point at which the checkpointer is woken.
  for (int i = 0; i < 200; ++i) commit_row(w, i, 40 * 1024);
  REQUIRE(eventually([&] { return c.status().runs >= 1 && c.status().pages_copied > 0; }));
  CHECK_FALSE(c.status().failing);
  CHECK(w.inline_checkpoints() == 0);  // under restart_pages, commits never checkpoint

  // Past restart_pages the writer copies what is left after a commit, and the next transaction
  // starts the WAL again from its beginning: the WAL stays bounded instead of growing with the
  // database, however busy the writer.
  int smallest = 1 << 30;
  for (int i = 200; i < 800; ++i) {
    commit_row(w, i, 40 * 1024);
    if (w.inline_checkpoints() > 0) smallest = std::min(smallest, c.status().wal_pages);
  }
  CHECK(w.inline_checkpoints() >= 1);
  CHECK(smallest < store::checkpointer::soft_pages);
  auto wal_bytes = std::filesystem::file_size(opts.path + "-wal");
  CHECK(wal_bytes < 2 * store::checkpointer::restart_pages * 4096);
  c.stop();
  w.hand_checkpoints_to(nullptr);
  CHECK(count_rows(opts.path) == 800);
}

TEST_CASE("a failing checkpointer is reported, and the writer keeps the WAL bounded itself",
          "[component][store][checkpoint]") {
  test::temp_dir dir;
  store::fault_vfs faulty("bl-checkpoint-fault");
  // NORMAL: no fsync per commit, so that these 20 MB of commits take no time.
  store::store_options opts{dir.file("store.db"), false, 5000, {}};
  store::writer w(opts);
  auto ckpt_opts = opts;
  ckpt_opts.vfs = faulty.name();
  store::checkpointer c(ckpt_opts, quiet());
  w.hand_checkpoints_to(&c);
  // Only the checkpointer's connection goes through the faulty VFS: every page it copies into
  // the database file fails, as on a disk that refuses writes to that file.
  faulty.arm(store::fault_vfs::op::write, 0, SQLITE_IOERR_WRITE);
  c.start();

  int i = 0;
  for (; i < 300; ++i) commit_row(w, i, 40 * 1024);
  REQUIRE(eventually([&] { return c.status().failing; }));
  auto s = c.status();
  CHECK(s.failures >= 1);
  CHECK(s.runs == 0);
  CHECK_THAT(s.error, Catch::Contains("checkpoint"));
  CHECK(w.inline_checkpoints() == 0);  // not yet: the WAL is under restart_pages

  // Past restart_pages the writer checkpoints inline, on its own connection: the WAL is bounded
  // even with the checkpointer failing for good.
  for (; i < 2000 && w.inline_checkpoints() == 0; ++i) commit_row(w, i, 40 * 1024);
  CHECK(w.inline_checkpoints() >= 1);
  CHECK(c.status().failing);
  auto rows = i;
  for (int k = 0; k < 200; ++k, ++i) commit_row(w, i, 40 * 1024);
  CHECK(c.status().wal_pages < store::checkpointer::restart_pages + 50);

  // Repaired: the next checkpoint succeeds and the failure ends.
  faulty.clear();
  REQUIRE(eventually([&] { return !c.status().failing && c.status().runs >= 1; }));
  c.stop();
  w.hand_checkpoints_to(nullptr);
  CHECK(count_rows(opts.path) == rows + 200);
}
