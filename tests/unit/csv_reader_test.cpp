// The CSV reader of telephony call exports (gateway/service/csv_reader): RFC 4180 quoting,
// line ends, the byte-order mark, delimiter detection, what is reported rather than refused, the
// file source's errors, and the fuzzer's kept inputs
// (tests/fuzz/{corpus,regressions}/fuzz_csv_reader/).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/service/csv_reader.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

namespace fs = std::filesystem;

struct read_back {
  char delimiter = ',';
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> lines;
  std::vector<std::string> problems;  // per record; empty when the quoting was fine
};

read_back read_all(std::string_view text) {
  bl::csv_source in(bl::csv_source::in_memory, text);
  read_back out;
  out.delimiter = bl::detect_delimiter(in);
  bl::csv_reader csv(in, out.delimiter);
  bl::csv_record r;
  while (csv.next(r)) {
    out.rows.emplace_back(r.fields.begin(), r.fields.begin() + static_cast<long>(r.count));
    out.lines.push_back(r.line);
    out.problems.push_back(r.quote_problem);
  }
  return out;
}

using rows = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("quoted fields hold delimiters, doubled quotes and line breaks", "[unit][csv]") {
  auto r = read_all(
      "caller,called,start,duration\n"
      "\"01632 960001\",\"Essex, Police\",\"say \"\"hi\"\"\",95\n"
      "\"line one\nline two\",x,,\n"
      "after,the,break,1\n");
  CHECK(r.rows == rows{{"caller", "called", "start", "duration"},
                       {"01632 960001", "Essex, Police", "say \"hi\"", "95"},
                       {"line one\nline two", "x", "", ""},
                       {"after", "the", "break", "1"}});
  // A record's line is where it starts; the embedded break moves the next one down.
  CHECK(r.lines == std::vector<std::size_t>{1, 2, 3, 5});
  for (const auto& p : r.problems) CHECK(p.empty());
}

TEST_CASE("CRLF, LF and CR all end a line, and a last line may have no end", "[unit][csv]") {
  auto r = read_all("a,b\r\n1,2\n3,4\r5,6");
  CHECK(r.rows == rows{{"a", "b"}, {"1", "2"}, {"3", "4"}, {"5", "6"}});
  CHECK(r.lines == std::vector<std::size_t>{1, 2, 3, 4});
  r = read_all("a,b\r\n\r\n1,2\r\n");
  CHECK(r.rows == rows{{"a", "b"}, {""}, {"1", "2"}});  // a blank line is a record of one field
  CHECK(read_all("").rows.empty());
}

TEST_CASE("a UTF-8 byte-order mark is skipped and the header's delimiter is used", "[unit][csv]") {
  auto r = read_all(
      "\xEF\xBB\xBF"
      "caller;called;start\n01632 960001;01632 960002;x\n");
  CHECK(r.delimiter == ';');
  CHECK(r.rows == rows{{"caller", "called", "start"}, {"01632 960001", "01632 960002", "x"}});
  CHECK(read_all("caller\tcalled\tstart,with comma\n").delimiter == '\t');
  CHECK(read_all("a,b;c\n").delimiter == ',');  // a tie goes to the comma
  CHECK(read_all("a;b;c\tD\n").delimiter == ';');
  CHECK(read_all("a;b\tc\td\n").delimiter == '\t');
  // Delimiters inside quotes and on later lines do not count.
  CHECK(read_all("\"a;b;c\",d\nx;y;z;w\n").delimiter == ',');
  CHECK(read_all("\xEF\xBB\xBF").rows.empty());
  CHECK(read_all("\xEF\xBB\xBF").delimiter == ',');
}

TEST_CASE("broken quoting is read on and reported, never refused", "[unit][csv]") {
  auto r = read_all("a,b\n\"open,1\n2,3\n");
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[1] == std::vector<std::string>{"open,1\n2,3\n"});
  CHECK(r.problems[1] ==
        "the quoted field opened on line 2 has no closing quote before the end of the file");
  r = read_all("a,b\n\"x\"y,2\n3,4\n");
  CHECK(r.rows[1] == std::vector<std::string>{"xy", "2"});
  CHECK(r.problems[1] == "text after the closing quote of field 1 (\"x\" then 'y')");
  CHECK(r.problems[2].empty());
  // A quote inside an unquoted field is a character.
  r = read_all("a,b\n12\"34,5\n");
  CHECK(r.rows[1] == std::vector<std::string>{"12\"34", "5"});
  CHECK(r.problems[1].empty());
}

TEST_CASE("a large field is read whole, across the source's chunks", "[unit][csv]") {
  // No field-size limit: a 3 MiB field (three 1 MiB file chunks) comes back intact.
  std::string big(3 << 20, 'x');
  auto r = read_all("a,b\n\"" + big + "\",1\n");
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[1][0].size() == big.size());
  bl::test::temp_dir dir;
  std::string path = dir.file("big.csv");
  std::ofstream(path, std::ios::binary) << "a,b\n\"" << big << "\",1\n";
  bl::csv_source in(path);
  CHECK(bl::detect_delimiter(in) == ',');
  bl::csv_reader csv(in, ',');
  bl::csv_record rec;
  REQUIRE(csv.next(rec));
  REQUIRE(csv.next(rec));
  CHECK(rec.fields[0] == big);
  CHECK(rec.fields[1] == "1");
  CHECK_FALSE(csv.next(rec));
  CHECK(in.done() == big.size() + 9);
}

TEST_CASE("a source hashes every byte it reads, from a file or from memory", "[unit][csv]") {
  const std::string text =
      "\xEF\xBB\xBF"
      "a,b\n1,2\n";
  bl::test::temp_dir dir;
  std::string path = dir.file("calls.csv");
  std::ofstream(path, std::ios::binary) << text;
  auto drain = [](bl::csv_source& in) {
    (void)bl::detect_delimiter(in);
    while (in.get() >= 0) {
    }
    return in.sha256();
  };
  bl::csv_source file(path);
  bl::csv_source memory(bl::csv_source::in_memory, text);
  CHECK(file.total() == text.size());
  auto a = drain(file);
  CHECK(a == drain(memory));
  CHECK(a.size() == 64);
  CHECK(file.done() == text.size());
  bl::csv_source empty(bl::csv_source::in_memory, "");
  CHECK(empty.sha256() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("a file that cannot be read is a csv_file_error naming it", "[unit][csv]") {
  bl::test::temp_dir dir;
  CHECK_THROWS_WITH(bl::csv_source(dir.file("nope.csv")), "no file at " + dir.file("nope.csv"));
  CHECK_THROWS_AS(bl::csv_source(dir.path().string()), bl::csv_file_error);
  CHECK_THROWS_WITH(bl::csv_source(dir.path().string()),
                    dir.path().string() + " is a directory, not a CSV file");
}

TEST_CASE("the CSV fuzzer's corpus and kept crashers are read without crashing",
          "[unit][csv][fuzz]") {
  bl::test::for_each_fuzz_input("fuzz_csv_reader",
                                [&](const std::filesystem::path& path, const std::string& input) {
                                  const std::string text = input;
                                  auto r = read_all(text);
                                  if (path.parent_path().parent_path().filename() == "corpus")
                                    CHECK(r.rows.size() >= 2);  // a header and a call
                                  std::size_t bytes = 0;
                                  for (const auto& row : r.rows)
                                    for (const auto& field : row) bytes += field.size();
                                  CHECK(bytes <= text.size());
                                });
}
