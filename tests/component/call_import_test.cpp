// Component tests of the telephony call-record import (gateway/service/call_import): messy CSV
// written to a temp dir, imported into a real store on each engine (an SQLite file, a PostgreSQL
// database), and read back row by row.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/call_import.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "tests/support/store_engine.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using bl::store::stmt;

bl::gateway_config import_config() {
  bl::gateway_config cfg;
  for (auto [id, phone] :
       {std::pair{"essex-fire", "01632 960001"}, std::pair{"essex-police", "01632 960002"},
        std::pair{"eeast-ambulance", "01632 960003"}}) {
    bl::agency_config a;
    a.id = id;
    a.name = id;
    a.phone = phone;
    cfg.agencies.push_back(a);
  }
  auto& ci = cfg.call_import;
  ci.caller_column = "Caller";
  ci.called_column = "called number";  // the file says "Called Number"
  ci.start_column = " Start Time ";
  ci.duration_column = "DURATION";
  ci.numbers = {{"01632 960001", "essex-fire", false, "Fire control, admin line"},
                {"01632 960011", "essex-fire", true, "Fire control, emergency line"},
                {"+44 1632 960002", "essex-police", false, ""},
                {"01632-960012", "essex-police", true, ""},
                {"01632960003", "eeast-ambulance", false, ""},
                {"(01632) 960013", "eeast-ambulance", true, ""}};
  return cfg;
}

using bl::test::store_engine;

/// The engine each test case runs on (once for each).
#define EACH_ENGINE() GENERATE(from_range(store_engine::all()))

/// The call store in `db`, as the CLI opens it.
std::unique_ptr<bl::store::call_store> calls_at(const bl::gateway_config&, const store_engine& db) {
  return bl::store::open_call_store(db.options());
}

bl::import_summary import_at(const bl::gateway_config& cfg, const store_engine& db,
                             const std::string& csv, const bl::import_progress& progress = {},
                             bool dry_run = false) {
  return bl::import_calls_csv(cfg, *calls_at(cfg, db), csv, progress, dry_run);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// Joins lines with CRLF, as a Windows telephony export writes them.
std::string crlf(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  return out;
}

std::int64_t utc_ms(int y, int mo, int d, int h, int mi, int s = 0) {
  return (bl::days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

struct stored_call {
  std::string source, external_id, from, to;
  std::int64_t started_at = 0, duration_s = 0;
  bool emergency = false;
};

std::vector<stored_call> stored_calls(const store_engine& db) {
  std::vector<stored_call> out;
  for (const auto& r : db.query(
           "SELECT source, external_id, from_agency, to_agency, started_at, duration_s, emergency"
           " FROM calls ORDER BY started_at, id"))
    out.push_back({*r[0], *r[1], *r[2], *r[3], std::stoll(*r[4]), std::stoll(*r[5]), *r[6] == "1"});
  return out;
}

std::int64_t count(const store_engine& db, const std::string& sql) {
  return db.scalar(sql);
}

std::int64_t count(const std::string& db_path, const std::string& sql) {
  bl::store::db d(db_path, false, true);
  stmt s(d, sql);
  return s.step() ? s.int64(0) : -1;
}

const stored_call* at(const std::vector<stored_call>& calls, std::int64_t started_ms) {
  for (const auto& c : calls)
    if (c.started_at == started_ms) return &c;
  return nullptr;
}

// The messy export. Line numbers (1-based) are what the summary must report.
const std::vector<std::string> messy_lines = {
    /*  1 */ "\xEF\xBB\xBF\"Caller\",\"Called Number\",Start Time,Duration,Notes",
    /*  2 */ "01632 960001,01632 960002,2026-07-01 12:00:00,95,plain",
    /*  3 */ "+44 1632 960002,(01632) 960011,03/07/2026 09:15,0:01:35,\"police, to fire's 999\"",
    /*  4 */ "",
    /*  5 */ "0044-1632-960003,01632.960012,29/03/2026 00:30,12:05,\"said \"\"urgent\"\"\"",
    /*  6 */ "01632960001,01632960003,29/03/2026 02:30:00,60,spring forward",
    /*  7 */ "01632 960002,01632 960001,25/10/2026 01:30,61,the hour that happens twice",
    /*  8 */ "01632 960002,01632 960001,2026-11-02T09:00:00Z,62,UTC",
    /*  9 */ "01632 960003,01632 960001,2026-11-02T10:00:00+01:00,63,",
    /* 10 */ "01632 999999,01632 960001,2026-07-01 12:00,10,unknown caller",
    /* 11 */ "01632 960001,07700 900123,2026-07-01 12:00,10,unknown called",
    /* 12 */ "07700 900000,07700 900001,2026-07-01 12:00,10,neither",
    /* 13 */ "01632 960001,01632 960011,2026-07-01 12:00,10,inside fire control",
    /* 14 */ "01632 960001,01632 960002,2026-02-30 10:00,10,no such day",
    /* 15 */ "01632 960001,01632 960002,yesterday,10,words",
    /* 16 */ "01632 960001,01632 960002,2026-07-01 12:00,-5,negative",
    /* 17 */ "01632 960001,01632 960002,2026-07-01 12:00,ten,words",
    /* 18 */ "01632 960001,01632 960002",
    /* 19 */ "01632 960001,01632 960002,2099-01-01 10:00,10,future",
    /* 20 */ "01632 960001,01632 960002,2026-08-01 10:00,30,\"line one",
    /* 21 */ "line two, with a comma\"",
    /* 22 */ "01632 960001,01632 960002,2026-08-01 11:00,31,after the two-line note",
    /* 23 */ "441632960001,01632 960003,2026-08-02T10:00:00.250Z,2,12-digit 44",
    /* 24 */ ",,,,",
    /* 25 */ "01632 960001,01632 960002,2026-08-03 10:00,,no duration",
};

}  // namespace

TEST_CASE("phone numbers are compared without punctuation and with +44 read as 0",
          "[component][import]") {
  CHECK(bl::normalise_phone_number("01632 960001") == "01632960001");
  CHECK(bl::normalise_phone_number("+44 1632 960001") == "01632960001");
  CHECK(bl::normalise_phone_number("+44 (0)1632 960001") == "01632960001");
  CHECK(bl::normalise_phone_number("0044-1632-960001") == "01632960001");
  CHECK(bl::normalise_phone_number("441632960001") == "01632960001");
  CHECK(bl::normalise_phone_number("(01632) 960.001") == "01632960001");
  CHECK(bl::normalise_phone_number("4416329600") == "4416329600");  // not 12 digits: not +44
  CHECK(bl::normalise_phone_number("+1 555 0100") == "+15550100");
}

TEST_CASE("a messy telephony export imports its good rows and reports each bad row by line",
          "[component][import][postgres]") {
  bl::test::temp_dir dir;
  const auto cfg = import_config();
  store_engine db(EACH_ENGINE());
  const auto csv = dir.file("export.csv");
  write_file(csv, crlf(messy_lines));

  auto sum = import_at(cfg, db, csv);
  CHECK(sum.rows == 21);
  CHECK(sum.imported == 10);
  CHECK(sum.already_imported == 0);
  CHECK(sum.skipped == 11);
  CHECK(sum.file_sha256.size() == 64);

  std::vector<std::pair<std::size_t, std::string>> got;
  for (const auto& p : sum.problems) got.emplace_back(p.line, p.kind);
  CHECK(got == std::vector<std::pair<std::size_t, std::string>>{{10, "unknown_caller"},
                                                                {11, "unknown_called"},
                                                                {12, "unknown_numbers"},
                                                                {13, "same_agency"},
                                                                {14, "bad_start"},
                                                                {15, "bad_start"},
                                                                {16, "bad_duration"},
                                                                {17, "bad_duration"},
                                                                {18, "missing_field"},
                                                                {19, "future_start"},
                                                                {25, "missing_field"}});
  CHECK(sum.skipped_by_kind == std::map<std::string, std::size_t>{{"bad_duration", 2},
                                                                  {"bad_start", 2},
                                                                  {"future_start", 1},
                                                                  {"missing_field", 2},
                                                                  {"same_agency", 1},
                                                                  {"unknown_called", 1},
                                                                  {"unknown_caller", 1},
                                                                  {"unknown_numbers", 1}});
  SECTION("each problem names the offending value") {
    auto detail = [&](std::size_t line) {
      for (const auto& p : sum.problems)
        if (p.line == line) return p.detail;
      return std::string();
    };
    CHECK_THAT(detail(10), Catch::Contains("'01632 999999'"));
    CHECK_THAT(detail(11), Catch::Contains("'07700 900123'"));
    CHECK_THAT(detail(12), Catch::Contains("'07700 900000'"));
    CHECK_THAT(detail(13), Catch::Contains("essex-fire"));
    CHECK_THAT(detail(14), Catch::Contains("'2026-02-30 10:00'") && Catch::Contains("real date"));
    CHECK_THAT(detail(15), Catch::Contains("'yesterday'"));
    CHECK_THAT(detail(16), Catch::Contains("'-5'"));
    CHECK_THAT(detail(17), Catch::Contains("'ten'"));
    CHECK_THAT(detail(18), Catch::Contains("2 fields") && Catch::Contains("' Start Time '"));
    CHECK_THAT(detail(19), Catch::Contains("2099-01-01T10:00:00.000Z"));
    CHECK_THAT(detail(25), Catch::Contains("'DURATION' is empty"));
  }

  SECTION("good rows are stored with UTC start, direction and the called line's emergency flag") {
    auto calls = stored_calls(db);
    REQUIRE(calls.size() == 10);
    for (const auto& c : calls) {
      CHECK(c.source == "import");
      CHECK(c.external_id.rfind("import:", 0) == 0);
      CHECK(c.external_id.size() == 7 + 64);
    }
    // BST in July: 12:00 local is 11:00 UTC.
    auto* plain = at(calls, utc_ms(2026, 7, 1, 11, 0));
    REQUIRE(plain);
    CHECK(plain->from == "essex-fire");
    CHECK(plain->to == "essex-police");
    CHECK(plain->duration_s == 95);
    CHECK_FALSE(plain->emergency);
    // Day-first slash date; a call to Fire's emergency line is an emergency call.
    auto* to_999 = at(calls, utc_ms(2026, 7, 3, 8, 15));
    REQUIRE(to_999);
    CHECK(to_999->from == "essex-police");
    CHECK(to_999->to == "essex-fire");
    CHECK(to_999->emergency);
    CHECK(to_999->duration_s == 95);
    // 29 March 2026: GMT until 01:00 UTC, BST after; 02:30 local is after the change.
    auto* before_change = at(calls, utc_ms(2026, 3, 29, 0, 30));
    REQUIRE(before_change);
    CHECK(before_change->from == "eeast-ambulance");
    CHECK(before_change->to == "essex-police");
    CHECK(before_change->emergency);
    CHECK(before_change->duration_s == 725);
    auto* after_change = at(calls, utc_ms(2026, 3, 29, 1, 30));
    REQUIRE(after_change);
    CHECK(after_change->to == "eeast-ambulance");
    // 25 October 2026: 01:30 happens twice; the first (BST) is taken.
    auto* autumn = at(calls, utc_ms(2026, 10, 25, 0, 30));
    REQUIRE(autumn);
    CHECK(autumn->duration_s == 61);
    // Explicit Z and offset, both 09:00 UTC.
    CHECK(count(db, "SELECT count(*) FROM calls WHERE started_at = " +
                        std::to_string(utc_ms(2026, 11, 2, 9, 0))) == 2);
    // The note spanning lines 20-21 did not shift the rows after it.
    CHECK(at(calls, utc_ms(2026, 8, 1, 9, 0)));
    CHECK(at(calls, utc_ms(2026, 8, 1, 10, 0)));
    auto* ms = at(calls, utc_ms(2026, 8, 2, 10, 0) + 250);
    REQUIRE(ms);
    CHECK(ms->from == "essex-fire");
  }

  SECTION("importing the same file again counts nothing twice") {
    auto again = import_at(cfg, db, csv);
    CHECK(again.rows == 21);
    CHECK(again.imported == 0);
    CHECK(again.already_imported == 10);
    CHECK(again.skipped == 11);
    CHECK(again.file_sha256 == sum.file_sha256);
    CHECK(count(db, "SELECT count(*) FROM calls") == 10);
  }

  SECTION("every import is written to the ledger") {
    import_at(cfg, db, csv);
    auto ledger = bl::list_call_imports(*calls_at(cfg, db));
    REQUIRE(ledger.size() == 2);
    CHECK(ledger[0].file_name == csv);
    CHECK(ledger[0].file_sha256 == sum.file_sha256);
    CHECK(ledger[0].rows == 21);
    CHECK(ledger[0].imported == 10);
    CHECK(ledger[0].skipped == 11);
    CHECK(nlohmann::json::parse(ledger[0].summary) == nlohmann::json{{"bad_duration", 2},
                                                                     {"bad_start", 2},
                                                                     {"future_start", 1},
                                                                     {"missing_field", 2},
                                                                     {"same_agency", 1},
                                                                     {"unknown_called", 1},
                                                                     {"unknown_caller", 1},
                                                                     {"unknown_numbers", 1}});
    CHECK(ledger[1].imported == 0);
    CHECK(ledger[1].already_imported == 10);
  }
}

TEST_CASE("a dry run reads and checks the whole file and writes nothing",
          "[component][import][postgres]") {
  bl::test::temp_dir dir;
  const auto cfg = import_config();
  store_engine db(EACH_ENGINE());
  const auto csv = dir.file("export.csv");
  write_file(csv, crlf(messy_lines));

  auto dry = import_at(cfg, db, csv, {}, true);
  CHECK(dry.dry_run);
  CHECK(dry.imported == 10);
  CHECK(dry.skipped == 11);
  CHECK_FALSE(db.exists());

  import_at(cfg, db, csv);
  auto dry_again = import_at(cfg, db, csv, {}, true);
  CHECK(dry_again.imported == 0);
  CHECK(dry_again.already_imported == 10);
  CHECK(count(db, "SELECT count(*) FROM calls") == 10);
  CHECK(count(db, "SELECT count(*) FROM call_imports") == 1);
}

TEST_CASE("with an id column, the telephony system's call id decides what was imported already",
          "[component][import][postgres]") {
  bl::test::temp_dir dir;
  auto cfg = import_config();
  cfg.call_import.id_column = "Call ID";
  cfg.call_import.caller_column = "caller";
  cfg.call_import.called_column = "called";
  cfg.call_import.start_column = "start";
  cfg.call_import.duration_column = "duration";
  store_engine db(EACH_ENGINE());
  const auto first = dir.file("first.csv");
  write_file(first,
             "call id,caller,called,start,duration\n"
             "C-1001,01632 960001,01632 960002,2026-06-01 10:00,60\n"
             "C-1002,01632 960002,01632 960001,2026-06-01 11:00,70\n"
             ",01632 960002,01632 960001,2026-06-01 12:00,80\n");
  auto sum = import_at(cfg, db, first);
  CHECK(sum.imported == 2);
  REQUIRE(sum.problems.size() == 1);
  CHECK(sum.problems[0].line == 4);
  CHECK(sum.problems[0].kind == "missing_field");
  CHECK_THAT(sum.problems[0].detail, Catch::Contains("'Call ID' is empty"));
  CHECK(count(db, "SELECT count(*) FROM calls WHERE external_id = 'import:C-1001'") == 1);

  // A corrected export: C-1002's duration was fixed and C-1003 is new.
  const auto second = dir.file("second.csv");
  write_file(second,
             "call id,caller,called,start,duration\n"
             "C-1001,01632 960001,01632 960002,2026-06-01 10:00,60\n"
             "C-1002,01632 960002,01632 960001,2026-06-01 11:00,75\n"
             "C-1003,01632 960003,01632 960001,2026-06-01 13:00,90\n");
  auto again = import_at(cfg, db, second);
  CHECK(again.imported == 1);
  CHECK(again.already_imported == 2);
  CHECK(count(db, "SELECT count(*) FROM calls") == 3);
}

TEST_CASE("semicolon or tab separated exports, UTC and month-first dates are read as configured",
          "[component][import][postgres]") {
  bl::test::temp_dir dir;
  auto cfg = import_config();
  cfg.call_import.caller_column = "caller";
  cfg.call_import.called_column = "called";
  cfg.call_import.start_column = "start";
  cfg.call_import.duration_column = "duration";
  cfg.call_import.date_order = "mdy";
  cfg.call_import.time_zone = "UTC";
  store_engine db(EACH_ENGINE());
  const auto semi = dir.file("semi.csv");
  write_file(semi,
             "caller;called;start;duration\n"
             "01632 960001;01632 960002;07/04/2026 12:00;1:00\n"
             "01632 960001;01632 960002;13/04/2026 12:00;1:00\n");
  auto s = import_at(cfg, db, semi);
  CHECK(s.delimiter == ';');
  CHECK(s.imported == 1);
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].kind == "bad_start");  // month 13
  auto calls = stored_calls(db);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].started_at == utc_ms(2026, 7, 4, 12, 0));  // July 4th, no BST shift
  CHECK(calls[0].duration_s == 60);

  const auto tab = dir.file("tab.tsv");
  write_file(tab,
             "caller\tcalled\tstart\tduration\n01632 960002\t01632 960003\t2026-05-05 08:00\t9\n");
  auto t = import_at(cfg, db, tab);
  CHECK(t.delimiter == '\t');
  CHECK(t.imported == 1);
}

TEST_CASE("a file that cannot be read as call records is refused with what is wrong",
          "[component][import][postgres]") {
  bl::test::temp_dir dir;
  const auto cfg = import_config();
  store_engine db(EACH_ENGINE());

  SECTION("a header without a configured column names it and lists the columns found") {
    const auto csv = dir.file("wrong.csv");
    write_file(csv, "Caller,Called Number,When,Duration\n01632 960001,01632 960002,x,1\n");
    try {
      import_at(cfg, db, csv);
      FAIL("expected import_file_error");
    } catch (const bl::import_file_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("' Start Time ' (call_import.columns.start)") &&
                               Catch::Contains("'Caller', 'Called Number', 'When', 'Duration'"));
    }
    CHECK_FALSE(db.exists());
  }
  SECTION("a missing file") {
    CHECK_THROWS_MATCHES(import_at(cfg, db, dir.file("nope.csv")), bl::import_file_error,
                         Catch::Message("no file at " + dir.file("nope.csv")));
  }
  SECTION("an empty file") {
    const auto csv = dir.file("empty.csv");
    write_file(csv, "\xEF\xBB\xBF\r\n\r\n");
    CHECK_THROWS_AS(import_at(cfg, db, csv), bl::import_file_error);
  }
  SECTION("a config without numbers is a config error") {
    auto none = cfg;
    none.call_import.numbers.clear();
    const auto csv = dir.file("ok.csv");
    write_file(csv, crlf(messy_lines));
    CHECK_THROWS_AS(import_at(none, db, csv), std::invalid_argument);
  }
  SECTION("a config listing one number twice is a config error") {
    auto twice = cfg;
    twice.call_import.numbers.push_back({"+441632960001", "essex-police", false, ""});
    const auto csv = dir.file("ok.csv");
    write_file(csv, crlf(messy_lines));
    CHECK_THROWS_WITH(import_at(twice, db, csv), Catch::Contains("/call_import/numbers/6/number") &&
                                                     Catch::Contains("/call_import/numbers/0"));
  }
}

TEST_CASE("a quote left open is reported at the line where its row starts",
          "[component][import][postgres]") {
  bl::test::temp_dir dir;
  auto cfg = import_config();
  cfg.call_import.caller_column = "caller";
  cfg.call_import.called_column = "called";
  cfg.call_import.start_column = "start";
  cfg.call_import.duration_column = "duration";
  store_engine db(EACH_ENGINE());
  const auto csv = dir.file("open.csv");
  write_file(csv,
             "caller,called,start,duration,note\n"
             "01632 960001,01632 960002,2026-06-01 10:00,60,fine\n"
             "01632 960001,01632 960002,2026-06-01 11:00,60,\"never closed\n"
             "01632 960001,01632 960002,2026-06-01 12:00,60,swallowed\n");
  auto s = import_at(cfg, db, csv);
  CHECK(s.imported == 1);
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].line == 3);
  CHECK(s.problems[0].kind == "bad_quoting");
  CHECK_THAT(s.problems[0].detail, Catch::Contains("opened on line 3"));
}

TEST_CASE("progress is reported in bytes up to the whole file", "[component][import][postgres]") {
  bl::test::temp_dir dir;
  const auto cfg = import_config();
  const auto csv = dir.file("export.csv");
  write_file(csv, crlf(messy_lines));
  std::uint64_t last_done = 0, last_total = 0;
  bool monotonic = true;
  store_engine db(EACH_ENGINE());
  import_at(cfg, db, csv, [&](std::uint64_t done, std::uint64_t total) {
    monotonic = monotonic && done >= last_done;
    last_done = done;
    last_total = total;
  });
  CHECK(monotonic);
  CHECK(last_total == fs::file_size(csv));
  CHECK(last_done == last_total);
}

TEST_CASE("migration 3 adds the import ledger and drops calls.category, keeping the calls",
          "[component][import]") {
  bl::test::temp_dir dir;
  const auto path = dir.file("old.db");
  {
    bl::store::db d(path, true, false);
    for (const auto& m : bl::store::all_migrations())
      if (m.version <= 2) d.exec(m.sql);
    d.exec("PRAGMA user_version = 2");
    d.exec(
        "INSERT INTO calls(source, from_agency, to_agency, started_at, emergency, reason,"
        " created_at) VALUES('console', 'essex-fire', 'essex-police', 1, 0, 'other', 1)");
    bl::store::migrate(d);
  }
  bl::store::db d(path, false, true);
  std::vector<std::string> columns;
  stmt info(d, "PRAGMA table_info(calls)");
  while (info.step()) columns.push_back(info.text(1));
  CHECK(std::find(columns.begin(), columns.end(), "category") == columns.end());
  CHECK(std::find(columns.begin(), columns.end(), "reason") != columns.end());
  CHECK(count(path, "SELECT count(*) FROM calls WHERE reason = 'other'") == 1);
  CHECK(count(path, "SELECT count(*) FROM call_imports") == 0);
}

namespace {

/// A call store that only records the size of each batch, taking `slow` for any batch of more
/// than `slow_above` rows: the batch sizing under a fast and a slow store, without a real disk.
class timing_call_store : public bl::store::call_store {
 public:
  timing_call_store(std::size_t slow_above, std::chrono::milliseconds slow)
      : slow_above_(slow_above), slow_(slow) {}
  std::vector<std::size_t> batches;

  std::unique_ptr<bl::store::call_import_writer> begin_import(std::int64_t) override {
    struct writer : bl::store::call_import_writer {
      timing_call_store& s;
      explicit writer(timing_call_store& st) : s(st) {}
      bl::store::batch_result insert_calls(
          const std::vector<bl::store::imported_call>& calls) override {
        s.batches.push_back(calls.size());
        if (calls.size() > s.slow_above_) std::this_thread::sleep_for(s.slow_);
        return {calls.size(), 0};
      }
      std::int64_t finish(
          const std::vector<bl::store::imported_call>& calls,
          const std::function<bl::store::import_ledger_entry(const bl::store::batch_result&)>&
              ledger) override {
        s.batches.push_back(calls.size());
        ledger({calls.size(), 0});
        return 1;
      }
    };
    return std::make_unique<writer>(*this);
  }
  bool call_stored(const std::string&) override { return false; }
  std::vector<bl::store::import_record> list_imports() override { return {}; }

 private:
  std::size_t slow_above_;
  std::chrono::milliseconds slow_;
};

/// `rows` distinct good calls, a minute apart.
std::string many_calls(int rows) {
  std::string out = "Caller,Called Number,Start Time,Duration\r\n";
  for (int i = 0; i < rows; ++i) {
    char line[96];
    std::snprintf(line, sizeof line, "01632 960001,01632 960002,2026-07-%02d %02d:%02d:00,%d\r\n",
                  1 + i / 1440, i / 60 % 24, i % 60, 10 + i % 50);
    out += line;
  }
  return out;
}

}  // namespace

TEST_CASE("import batches are sized by time: they shrink on a slow store and grow on a fast one",
          "[component][import]") {
  bl::test::temp_dir dir;
  const auto cfg = import_config();
  const auto csv = dir.file("export.csv");

  SECTION("a store that takes 150 ms for any batch over 100 rows") {
    write_file(csv, many_calls(3000));
    // The gateway beside it must never wait long for the write lock: batches halve until one
    // commits inside the 100 ms target, and stay near that size.
    timing_call_store slow(100, std::chrono::milliseconds(150));
    bl::import_options o;
    o.batch_target = std::chrono::milliseconds(100);
    const auto sum = bl::import_calls_csv(cfg, slow, csv, o);
    CHECK(sum.imported == 3000);
    REQUIRE(slow.batches.size() > 4);
    CHECK(slow.batches[0] == 500);
    CHECK(slow.batches[1] == 250);
    CHECK(slow.batches[2] == 125);
    for (std::size_t i = 3; i + 1 < slow.batches.size(); ++i) CHECK(slow.batches[i] <= 124);
  }
  SECTION("a fast store") {
    write_file(csv, many_calls(12000));
    // Batches double up to batch_rows, so a fast disk is not held back by small transactions.
    timing_call_store fast(std::numeric_limits<std::size_t>::max(), {});
    bl::import_options o;
    o.batch_rows = 4000;
    o.batch_target = std::chrono::seconds(2);  // "fast" is anything under 500 ms here
    const auto sum = bl::import_calls_csv(cfg, fast, csv, o);
    CHECK(sum.imported == 12000);
    CHECK(fast.batches == std::vector<std::size_t>{500, 1000, 2000, 4000, 4000, 500});
  }
}
