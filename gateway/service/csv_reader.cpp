#include "gateway/service/csv_reader.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <openssl/evp.h>

namespace bl {

namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

EVP_MD_CTX* new_sha256() {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  if (!md || EVP_DigestInit_ex(md, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(md);
    throw std::runtime_error("SHA-256 is not available");
  }
  return md;
}

}  // namespace

// ---- csv_source --------------------------------------------------------------------------------

csv_source::csv_source(const std::string& path) : path_(path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw csv_file_error("no file at " + path);
  if (fs::is_directory(st)) throw csv_file_error(path + " is a directory, not a CSV file");
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) throw csv_file_error("cannot read " + path + ": " + std::strerror(errno));
  total_ = fs::file_size(path, ec);
  if (ec) total_ = 0;
  try {
    md_ = new_sha256();
  } catch (...) {
    std::fclose(f_);
    throw;
  }
  buf_.resize(1 << 20);
  data_ = buf_.data();
}

csv_source::csv_source(in_memory_t, std::string_view data)
    : md_(new_sha256()), memory_(data), data_(data.data()), total_(data.size()) {}

csv_source::~csv_source() {
  if (f_) std::fclose(f_);
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md_));
}

std::string csv_source::sha256() {
  static constexpr char digits[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(md_), md, &len);
  std::string out(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  return out;
}

bool csv_source::fill() {
  if (eof_) return false;
  if (!f_) {
    // In memory: the whole buffer is the one chunk.
    eof_ = true;
    data_ = memory_.data();
    len_ = memory_.size();
    pos_ = 0;
    if (len_ > 0) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(md_), data_, len_);
    return len_ > 0;
  }
  len_ = std::fread(buf_.data(), 1, buf_.size(), f_);
  pos_ = 0;
  if (len_ < buf_.size()) {
    if (std::ferror(f_))
      throw csv_file_error("reading " + path_ + " failed after " + std::to_string(done_) +
                           " bytes: " + std::strerror(errno));
    eof_ = true;
  }
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(md_), buf_.data(), len_);
  return len_ > 0;
}

// ---- csv_reader --------------------------------------------------------------------------------

bool csv_record::blank() const {
  for (std::size_t i = 0; i < count; ++i)
    if (!trim(fields[i]).empty()) return false;
  return true;
}

bool csv_reader::next(csv_record& r) {
  r.count = 0;
  r.quote_problem.clear();
  r.line = line_;
  int c = in_.peek();
  if (c < 0) return false;
  for (;;) {
    std::string& f = field(r);
    c = in_.get();
    if (c == '"') {
      const std::size_t opened = line_;
      for (;;) {
        c = in_.get();
        if (c < 0) {
          r.quote_problem = "the quoted field opened on line " + std::to_string(opened) +
                            " has no closing quote before the end of the file";
          return true;
        }
        if (c == '"') {
          if (in_.peek() != '"') break;
          in_.get();
        } else if (c == '\n') {
          ++line_;
        }
        f += static_cast<char>(c);
      }
      c = in_.get();
      if (c >= 0 && c != delim_ && c != '\n' && c != '\r') {
        if (r.quote_problem.empty())
          r.quote_problem = "text after the closing quote of field " + std::to_string(r.count) +
                            " (\"" + f + "\" then '" + static_cast<char>(c) + "')";
        c = unquoted(f, c);
      }
    } else {
      c = unquoted(f, c);
    }
    if (c == delim_) continue;
    if (c == '\r' && in_.peek() == '\n') in_.get();
    if (c >= 0) ++line_;
    return true;
  }
}

std::string& csv_reader::field(csv_record& r) {
  if (r.fields.size() <= r.count) r.fields.emplace_back();
  std::string& f = r.fields[r.count++];
  f.clear();
  return f;
}

// Appends up to the next delimiter or line end; returns that character (or -1 at the end).
int csv_reader::unquoted(std::string& f, int c) {
  for (;;) {
    if (c < 0 || c == delim_ || c == '\n' || c == '\r') return c;
    f += static_cast<char>(c);
    c = in_.get();
  }
}

char detect_delimiter(csv_source& in) {
  if (in.peek() < 0) return ',';
  if (in.lookahead().substr(0, 3) == "\xEF\xBB\xBF") in.skip(3);
  if (in.peek() < 0) return ',';
  std::size_t commas = 0, semicolons = 0, tabs = 0;
  bool quoted = false;
  for (char c : in.lookahead()) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    commas += c == ',';
    semicolons += c == ';';
    tabs += c == '\t';
  }
  if (semicolons > commas && semicolons >= tabs) return ';';
  if (tabs > commas && tabs > semicolons) return '\t';
  return ',';
}

}  // namespace bl
