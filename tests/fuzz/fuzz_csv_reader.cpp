// libFuzzer target: arbitrary bytes as a telephony system's call export
// (gateway/service/csv_reader: byte-order mark, delimiter detection, RFC 4180 records), read
// through the in-memory source exactly as call_import reads a file. Every byte is consumed once,
// fields hold no more bytes than the input, line numbers only grow; and records built from the
// input, written out quoted with CRLF line ends, read back as exactly those records. Crashers are
// kept under tests/fuzz/regressions/fuzz_csv_reader/ and replayed by
// tests/unit/csv_reader_test.cpp.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/service/csv_reader.hpp"

namespace {

void check_read(std::string_view text) {
  bl::csv_source in(bl::csv_source::in_memory, text);
  const char delim = bl::detect_delimiter(in);
  if (delim != ',' && delim != ';' && delim != '\t') std::abort();
  std::size_t line_ends = 0;
  for (char c : text) line_ends += c == '\n' || c == '\r';
  bl::csv_reader csv(in, delim);
  bl::csv_record r;
  std::size_t records = 0, field_bytes = 0, last_line = 0;
  while (csv.next(r)) {
    if (++records > text.size()) std::abort();
    if (r.count == 0 || r.count > r.fields.size()) std::abort();
    if (r.line <= last_line || r.line > line_ends + 1) std::abort();
    last_line = r.line;
    for (std::size_t i = 0; i < r.count; ++i) field_bytes += r.fields[i].size();
  }
  if (field_bytes > text.size()) std::abort();
  if (in.done() != text.size() || in.total() != text.size()) std::abort();
  if (in.sha256().size() != 64) std::abort();
}

// The input cut into records at 0x01 and into fields at NUL, each field quoted ("" for a quote).
void check_round_trip(std::string_view text) {
  std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
  for (char c : text) {
    if (c == '\x01')
      records.emplace_back(1);
    else if (c == '\0')
      records.back().emplace_back();
    else
      records.back().back() += c;
  }
  std::string csv;
  for (const auto& rec : records) {
    for (std::size_t i = 0; i < rec.size(); ++i) {
      if (i) csv += ',';
      csv += '"';
      for (char c : rec[i]) csv += c == '"' ? std::string("\"\"") : std::string(1, c);
      csv += '"';
    }
    csv += "\r\n";
  }
  bl::csv_source in(bl::csv_source::in_memory, csv);
  if (bl::detect_delimiter(in) != ',') std::abort();
  bl::csv_reader reader(in, ',');
  bl::csv_record r;
  for (const auto& rec : records) {
    if (!reader.next(r) || !r.quote_problem.empty() || r.count != rec.size()) std::abort();
    for (std::size_t i = 0; i < rec.size(); ++i)
      if (r.fields[i] != rec[i]) std::abort();
  }
  if (reader.next(r)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_read(text);
  check_round_trip(text);
  return 0;
}
