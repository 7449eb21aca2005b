#pragma once
// Reading CSV as telephony systems export it (docs/operations.md section 14): RFC 4180 records
// with quoted fields holding delimiters, line breaks and "" escapes; CRLF, LF or CR line ends; a
// UTF-8 byte-order mark skipped; the delimiter (comma, semicolon or tab) taken from the header
// line. Lenient where spreadsheets are: a quote inside an unquoted field is a character; text
// after a closing quote is kept but reported, as is a quoted field the file ends inside.
// call_import reads its files through this; the unit tests and tests/fuzz/fuzz_csv_reader.cpp
// read buffers in memory.
//
// Bounds: a file is read in 1 MiB chunks, so memory holds one chunk and one record. A record is
// not bounded in size: a quote never closed makes the rest of the file one field.
//
// Threading: none; one reader and its source belong to one thread.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bl {

/// A CSV file that cannot be read at all: missing, a directory, unreadable, or a read error part
/// way through. call_import throws it as import_file_error.
class csv_file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The bytes of a CSV document, hashed (SHA-256) as they are read: a file read in 1 MiB chunks
/// (the source owns the open file), or a buffer in memory (borrowed: it must outlive the source).
class csv_source {
 public:
  struct in_memory_t {};
  static constexpr in_memory_t in_memory{};

  /// Opens `path`; throws csv_file_error ("no file at ...", "... is a directory, not a CSV file",
  /// "cannot read ...: <reason>").
  explicit csv_source(const std::string& path);
  /// Reads `data`, all of it one chunk.
  csv_source(in_memory_t, std::string_view data);
  ~csv_source();
  csv_source(const csv_source&) = delete;
  csv_source& operator=(const csv_source&) = delete;

  /// The next byte (0..255), consumed; -1 at the end. Throws csv_file_error on a read error.
  int get() {
    if (pos_ == len_ && !fill()) return -1;
    ++done_;
    return static_cast<unsigned char>(data_[pos_++]);
  }
  /// The next byte without consuming it; -1 at the end.
  int peek() {
    if (pos_ == len_ && !fill()) return -1;
    return static_cast<unsigned char>(data_[pos_]);
  }
  /// The bytes not yet consumed in the current chunk (after a peek(), at least one).
  std::string_view lookahead() const { return {data_ + pos_, len_ - pos_}; }
  /// Consumes `n` bytes of lookahead().
  void skip(std::size_t n) {
    pos_ += n;
    done_ += n;
  }
  /// Bytes consumed so far.
  std::uint64_t done() const { return done_; }
  /// The size of the file when it started (or of the buffer); at least done().
  std::uint64_t total() const { return total_ > done_ ? total_ : done_; }
  /// The lower-case hex SHA-256 of every byte read so far (all of them once get() returned -1).
  /// Call once.
  std::string sha256();

 private:
  bool fill();

  std::string path_;
  std::FILE* f_ = nullptr;
  void* md_ = nullptr;  // EVP_MD_CTX, kept out of this header
  std::vector<char> buf_;
  std::string_view memory_;
  const char* data_ = nullptr;
  std::size_t pos_ = 0, len_ = 0;
  std::uint64_t done_ = 0, total_ = 0;
  bool eof_ = false;
};

/// One CSV record: its fields and the line it starts on.
struct csv_record {
  std::vector<std::string> fields;  // reused between records; only the first `count` are valid
  std::size_t count = 0;
  std::size_t line = 0;
  std::string quote_problem;  // set when the quoting broke RFC 4180 (the record is still read)
  /// True when every field is empty or only spaces and tabs.
  bool blank() const;
};

/// Reads records one at a time from a csv_source (which must outlive it).
class csv_reader {
 public:
  csv_reader(csv_source& in, char delimiter) : in_(in), delim_(delimiter) {}

  /// Reads the next record into `r`; false at the end of the input.
  bool next(csv_record& r);

 private:
  std::string& field(csv_record& r);
  int unquoted(std::string& f, int c);

  csv_source& in_;
  char delim_;
  std::size_t line_ = 1;
};

/// Skips a UTF-8 byte-order mark and picks the delimiter the header line uses most: ',' (the
/// default), ';' (spreadsheets in many European locales) or a tab. Looks no further than the
/// source's current chunk.
char detect_delimiter(csv_source& in);

}  // namespace bl
