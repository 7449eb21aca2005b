#include "gateway/service/call_import.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "gateway/core/digest.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/store_error.hpp"
#include "gateway/store/writer.hpp"

namespace bl {

namespace {

// Telephony clocks drift: a call stamped a few minutes after the import began is not "future".
constexpr std::int64_t future_tolerance_ms = 5 * 60 * 1000;
// 2000-01-01T00:00:00Z: no control room's telephony export holds a real call before it, and a
// row dated 0001-01-01 would otherwise land in reports as a call of its own month.
constexpr std::int64_t earliest_call_ms = 946'684'800'000;
// No call between control rooms lasts a day; a bigger figure is a column mix-up.
constexpr std::int64_t max_duration_s = 24 * 3600;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// ---- values ------------------------------------------------------------------------------------

/// Reads 1..max_digits decimal digits at `pos`.
bool read_int(std::string_view s, std::size_t& pos, std::size_t min_digits, std::size_t max_digits,
              int& out) {
  std::size_t start = pos;
  long v = 0;
  while (pos < s.size() && pos - start < max_digits && s[pos] >= '0' && s[pos] <= '9')
    v = v * 10 + (s[pos++] - '0');
  if (pos - start < min_digits) return false;
  out = static_cast<int>(v);
  return true;
}

struct parsed_start {
  std::optional<time_point> at;
  std::string problem;  // when !at
};

std::string start_formats(const std::string& date_order) {
  std::string slash = date_order == "mdy"   ? "04/03/2026 09:15[:00] (month first)"
                      : date_order == "ymd" ? "2026/04/03 09:15[:00]"
                                            : "03/04/2026 09:15[:00] (day first)";
  return "expected ISO 8601 such as 2026-04-03T09:15:00 (optionally with Z or +01:00) or " + slash;
}

parsed_start parse_start(std::string_view s, const call_import_config& ci) {
  auto value = [s] { return std::string(s); };
  auto not_a_time = [&] {
    return parsed_start{std::nullopt, "start '" + value() + "' is not a date and time: " +
                                          start_formats(ci.date_order)};
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, millis = 0;
  std::size_t p = 0;
  int a = 0, b = 0, c = 0;
  if (!read_int(s, p, 1, 4, a) || p >= s.size()) return not_a_time();
  const bool iso = s[p] == '-' && p == 4;
  if (iso) {
    y = a;
    if (s[p++] != '-' || !read_int(s, p, 2, 2, mo) || p >= s.size() || s[p++] != '-' ||
        !read_int(s, p, 2, 2, d))
      return not_a_time();
  } else {
    if (s[p] != '/') return not_a_time();
    const std::size_t first_len = p;
    ++p;
    if (!read_int(s, p, 1, 2, b) || p >= s.size() || s[p++] != '/' || !read_int(s, p, 1, 4, c))
      return not_a_time();
    if (ci.date_order == "ymd") {
      if (first_len != 4) return not_a_time();
      y = a, mo = b, d = c;
    } else {
      if (first_len > 2 || c < 1000) return not_a_time();
      y = c;
      mo = ci.date_order == "mdy" ? a : b;
      d = ci.date_order == "mdy" ? b : a;
    }
  }
  // The time: 'T' or spaces, then H:MM[:SS[.fff]].
  if (p >= s.size() || (s[p] != 'T' && s[p] != ' ')) return not_a_time();
  ++p;
  while (p < s.size() && s[p] == ' ') ++p;
  if (!read_int(s, p, 1, 2, h) || p >= s.size() || s[p++] != ':' || !read_int(s, p, 2, 2, mi))
    return not_a_time();
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!read_int(s, p, 2, 2, se)) return not_a_time();
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      std::size_t start = p;
      int scale = 100;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        millis += (s[p++] - '0') * scale;
        scale /= 10;
      }
      if (p == start) return not_a_time();
    }
  }
  // An offset: Z, +HH:MM, +HHMM or +HH (ISO dates only).
  std::optional<int> offset_min;
  if (iso && p < s.size() && s[p] == 'Z') {
    offset_min = 0;
    ++p;
  } else if (iso && p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int sign = s[p++] == '+' ? 1 : -1;
    int oh = 0, om = 0;
    if (!read_int(s, p, 2, 2, oh)) return not_a_time();
    if (p < s.size() && s[p] == ':') ++p;
    if (p < s.size() && !read_int(s, p, 2, 2, om)) return not_a_time();
    if (oh > 18 || om > 59) return not_a_time();
    offset_min = sign * (oh * 60 + om);
  }
  if (p != s.size()) return not_a_time();
  // What the fields were read as, for the message (formatted only when there is a problem).
  auto shown = [&] {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, se);
    return std::string(buf);
  };
  if (!valid_date(y, mo, d))
    return {std::nullopt,
            "start '" + value() + "' is not a real date (read as " + shown().substr(0, 10) + ")"};
  if (y < 1970)
    return {std::nullopt, "start '" + value() + "' is before 1970: not a telephony record"};
  if (h > 23 || mi > 59 || se > 59)
    return {std::nullopt, "start '" + value() + "' is not a real time of day (read as " +
                              shown().substr(11) + ")"};
  if (!offset_min && ci.time_zone != "UTC") {
    auto utc = uk_local_to_utc(y, mo, d, h, mi, se);
    if (!utc) return not_a_time();
    return {from_ms(to_ms(*utc) + millis), {}};
  }
  std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
                      std::int64_t{offset_min.value_or(0)} * 60;
  return {from_ms(secs * 1000 + millis), {}};
}

/// Whole seconds, H:MM:SS or MM:SS; nullopt with `problem` set otherwise.
std::optional<std::int64_t> parse_duration(std::string_view s, std::string& problem) {
  auto bad = [&](std::string_view why) {
    problem = "duration '" + std::string(s) + "' ";
    problem += why;
    return std::nullopt;
  };
  constexpr std::string_view forms =
      "is not a call length: expected whole seconds (95), H:MM:SS (0:01:35) or MM:SS (01:35)";
  int parts[3] = {0, 0, 0};
  std::size_t n = 0, p = 0;
  while (n < 3) {
    const std::size_t start = p;
    if (!read_int(s, p, 1, n == 0 ? 9 : 2, parts[n])) return bad(forms);
    if (n > 0 && p - start != 2) return bad(forms);
    ++n;
    if (p == s.size()) break;
    if (s[p++] != ':') return bad(forms);
  }
  if (p != s.size()) return bad(forms);
  std::int64_t secs = 0;
  if (n == 1) {
    secs = parts[0];
  } else if (n == 2) {
    if (parts[1] > 59) return bad(forms);
    secs = std::int64_t{parts[0]} * 60 + parts[1];
  } else {
    if (parts[1] > 59 || parts[2] > 59) return bad(forms);
    secs = std::int64_t{parts[0]} * 3600 + parts[1] * 60 + parts[2];
  }
  if (secs > max_duration_s)
    return bad("is " + std::to_string(secs) + " s, longer than a day: is this the right column?");
  return secs;
}

// ---- the numbers -------------------------------------------------------------------------------

using number_map = std::unordered_map<std::string, const phone_line_config*>;

number_map map_numbers(const call_import_config& ci) {
  if (ci.numbers.empty())
    throw std::invalid_argument(
        "/call_import/numbers: no control-room numbers are configured, so no call could be "
        "matched to an agency; list each room's numbers (see docs/operations.md section 14)");
  number_map map;
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < ci.numbers.size(); ++i) {
    const auto& line = ci.numbers[i];
    auto n = normalise_phone_number(line.number);
    if (n.empty())
      throw std::invalid_argument("/call_import/numbers/" + std::to_string(i) + "/number: '" +
                                  line.number + "' has no digits");
    auto [it, fresh] = index.emplace(n, i);
    if (!fresh)
      throw std::invalid_argument(
          "/call_import/numbers/" + std::to_string(i) + "/number: '" + line.number +
          "' is the same number as /call_import/numbers/" + std::to_string(it->second) + " ('" +
          ci.numbers[it->second].number + "'); a number can ring only one line");
    map.emplace(n, &line);
  }
  return map;
}

// ---- the store ---------------------------------------------------------------------------------

/// Collects checked rows and writes them `batch` at a time, each batch in one transaction of the
/// store's. Rows are parsed before a batch is handed over, so the write lock (which a live gateway
/// sharing the store waits for) is held only while the store inserts.
class batch_writer {
 public:
  /// Batches start at `first_rows`, grow while a transaction stays well inside `target` and
  /// shrink when one takes longer, never beyond `max_rows`: how long the import holds the store's
  /// write lock is bounded by time, so a gateway sharing the file (a sign-in, a receipt) waits
  /// about `target` at most, however slow the machine or the disk.
  batch_writer(std::unique_ptr<store::call_import_writer> w, std::size_t max_rows,
               std::chrono::milliseconds target)
      : w_(std::move(w)),
        max_(std::max<std::size_t>(max_rows, 1)),
        batch_(std::min<std::size_t>(max_, kFirstRows)),
        target_(target) {
    rows_.reserve(batch_);
  }

  /// Queues one call; writes the batch when it is full, counting new and already imported calls.
  void add(store::imported_call c, import_summary& sum) {
    rows_.push_back(std::move(c));
    if (rows_.size() < batch_) return;
    const auto started = std::chrono::steady_clock::now();
    count(w_->insert_calls(rows_), sum);
    rows_.clear();
    const auto took = std::chrono::steady_clock::now() - started;
    if (took > target_)
      batch_ = std::max<std::size_t>(batch_ / 2, 1);
    else if (took < target_ / 4)
      batch_ = std::min(batch_ * 2, max_);
  }
  /// Writes what is queued and then the ledger row in one final transaction; its id.
  template <class F>
  std::int64_t finish(import_summary& sum, F&& ledger) {
    auto id = w_->finish(rows_, [&](const store::batch_result& r) {
      count(r, sum);
      return ledger();
    });
    rows_.clear();
    return id;
  }

 private:
  static constexpr std::size_t kFirstRows = 500;

  static void count(const store::batch_result& r, import_summary& sum) {
    sum.imported += r.inserted;
    sum.already_imported += r.already_stored;
  }

  std::unique_ptr<store::call_import_writer> w_;
  std::size_t max_;
  std::size_t batch_;
  std::chrono::milliseconds target_;
  std::vector<store::imported_call> rows_;
};

std::string kinds_json(const import_summary& s) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [kind, n] : s.skipped_by_kind) j[kind] = n;
  return j.dump();
}

}  // namespace

std::string normalise_phone_number(std::string_view raw) {
  std::string n;
  n.reserve(raw.size());
  for (char c : raw) {
    switch (c) {
      case ' ':
      case '\t':
      case '-':
      case '(':
      case ')':
      case '[':
      case ']':
      case '.':
      case '/':
        break;
      default:
        n += c;
    }
  }
  std::string rest;
  if (n.compare(0, 3, "+44") == 0)
    rest = n.substr(3);
  else if (n.compare(0, 4, "0044") == 0)
    rest = n.substr(4);
  else if (n.size() == 12 && n.compare(0, 2, "44") == 0 &&
           std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
    rest = n.substr(2);
  else
    return n;
  // "+44 (0)1632 960001": the bracketed trunk 0 is already there.
  return rest.compare(0, 1, "0") == 0 ? rest : "0" + rest;
}

import_summary import_calls_csv(const gateway_config& cfg, store::call_store& calls,
                                const std::string& path, const import_progress& progress,
                                bool dry_run) {
  import_options o;
  o.dry_run = dry_run;
  if (progress)
    o.on_progress = [progress](std::uint64_t done, std::uint64_t total, std::uint64_t) {
      progress(done, total);
    };
  return import_calls_csv(cfg, calls, path, o);
}

import_summary import_calls_csv(const gateway_config& cfg, store::call_store& calls,
                                const std::string& path, const import_options& options) {
  const auto& ci = cfg.call_import;
  const number_map numbers = map_numbers(ci);
  const time_point now = options.now.value_or(now_ms());

  import_summary sum;
  sum.file_name = path;
  sum.dry_run = options.dry_run;

  csv_source in(path);
  sum.delimiter = detect_delimiter(in);
  csv_reader csv(in, sum.delimiter);
  csv_record rec;

  // The header: the first line that is not blank.
  bool have_header = false;
  while (csv.next(rec))
    if (!rec.blank()) {
      have_header = true;
      break;
    }
  const std::vector<std::pair<std::string, std::string>> wanted = [&] {
    std::vector<std::pair<std::string, std::string>> w = {{"caller", ci.caller_column},
                                                          {"called", ci.called_column},
                                                          {"start", ci.start_column},
                                                          {"duration", ci.duration_column}};
    if (!ci.id_column.empty()) w.emplace_back("id", ci.id_column);
    return w;
  }();
  if (!have_header) {
    std::string names;
    for (const auto& [key, name] : wanted) names += (names.empty() ? "'" : ", '") + name + "'";
    throw import_file_error(path + " is empty: expected a header line naming the columns " + names);
  }
  std::vector<std::size_t> col(wanted.size());
  {
    std::unordered_map<std::string, std::size_t> found;
    std::string listed;
    for (std::size_t i = 0; i < rec.count; ++i) {
      found.emplace(lower_ascii(trim(rec.fields[i])), i);
      listed += (i ? ", '" : "'") + std::string(trim(rec.fields[i])) + "'";
    }
    std::string missing;
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      auto it = found.find(lower_ascii(trim(wanted[k].second)));
      if (it != found.end()) {
        col[k] = it->second;
        continue;
      }
      missing += (missing.empty() ? "" : ", ") + std::string("'") + wanted[k].second +
                 "' (call_import.columns." + wanted[k].first + ")";
    }
    if (!missing.empty()) {
      const char* delim_name = sum.delimiter == ';'    ? "semicolons"
                               : sum.delimiter == '\t' ? "tabs"
                                                       : "commas";
      throw import_file_error(path + ": the header on line " + std::to_string(rec.line) +
                              " has no column " + missing + "; columns found (split on " +
                              delim_name + "): " + listed);
    }
  }
  const std::size_t needed = *std::max_element(col.begin(), col.end()) + 1;

  std::unique_ptr<batch_writer> writer;
  std::unordered_set<std::string> seen;  // dry run: ids met earlier in this file
  if (!options.dry_run)
    writer = std::make_unique<batch_writer>(calls.begin_import(to_ms(now)), options.batch_rows,
                                            options.batch_target);

  auto skip = [&](std::string kind, std::string detail) {
    ++sum.skipped;
    ++sum.skipped_by_kind[kind];
    sum.problems.push_back({rec.line, std::move(kind), std::move(detail)});
  };
  std::uint64_t next_report = 0;
  const std::uint64_t report_step = std::max<std::uint64_t>(in.total() / 200, 64 * 1024);
  auto report = [&](bool last) {
    if (!options.on_progress) return;
    if (!last && in.done() < next_report) return;
    next_report = in.done() + report_step;
    options.on_progress(in.done(), in.total(), sum.rows);
  };

  std::string key;
  std::string external_id;
  while (csv.next(rec)) {
    report(false);
    if (rec.blank()) continue;
    ++sum.rows;
    if (!rec.quote_problem.empty()) {
      skip("bad_quoting", rec.quote_problem);
      continue;
    }
    if (rec.count < needed) {
      std::string absent;
      for (std::size_t k = 0; k < wanted.size(); ++k)
        if (col[k] >= rec.count) absent += (absent.empty() ? "'" : ", '") + wanted[k].second + "'";
      skip("missing_field", "the row has " + std::to_string(rec.count) + " field" +
                                (rec.count == 1 ? "" : "s") + ", so no " + absent);
      continue;
    }
    std::string_view value[5];
    std::string empty;
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      value[k] = trim(rec.fields[col[k]]);
      if (value[k].empty() && empty.empty()) empty = wanted[k].second;
    }
    if (!empty.empty()) {
      skip("missing_field", "column '" + empty + "' is empty");
      continue;
    }
    const std::string caller = normalise_phone_number(value[0]);
    const std::string called = normalise_phone_number(value[1]);
    auto from_it = numbers.find(caller);
    auto to_it = numbers.find(called);
    if (from_it == numbers.end() && to_it == numbers.end()) {
      skip("unknown_numbers", "neither caller '" + std::string(value[0]) + "' nor called '" +
                                  std::string(value[1]) + "' is a configured control-room number");
      continue;
    }
    if (from_it == numbers.end()) {
      skip("unknown_caller",
           "caller '" + std::string(value[0]) + "' is not a configured control-room number");
      continue;
    }
    if (to_it == numbers.end()) {
      skip("unknown_called",
           "called '" + std::string(value[1]) + "' is not a configured control-room number");
      continue;
    }
    const phone_line_config& from = *from_it->second;
    const phone_line_config& to = *to_it->second;
    if (from.agency == to.agency) {
      skip("same_agency", "caller '" + std::string(value[0]) + "' and called '" +
                              std::string(value[1]) + "' are both " + from.agency +
                              " numbers: a call inside one control room");
      continue;
    }
    auto start = parse_start(value[2], ci);
    if (!start.at) {
      skip("bad_start", std::move(start.problem));
      continue;
    }
    if (to_ms(*start.at) < earliest_call_ms) {
      skip("bad_start", "start '" + std::string(value[2]) + "' (" + format_rfc3339(*start.at) +
                            ") is before 2000-01-01");
      continue;
    }
    if (to_ms(*start.at) > to_ms(now) + future_tolerance_ms) {
      skip("future_start", "start '" + std::string(value[2]) + "' (" + format_rfc3339(*start.at) +
                               ") is after the import began (" + format_rfc3339(now) + ")");
      continue;
    }
    std::string why;
    auto duration = parse_duration(value[3], why);
    if (!duration) {
      skip("bad_duration", std::move(why));
      continue;
    }

    const std::int64_t started_ms = to_ms(*start.at);
    if (wanted.size() > 4) {
      external_id = "import:";
      external_id += value[4];
    } else {
      key.clear();
      key += caller;
      key += '|';
      key += called;
      key += '|';
      key += std::to_string(started_ms);
      key += '|';
      key += std::to_string(*duration);
      external_id = "import:" + sha256_hex(key);
    }

    if (writer) {
      writer->add({external_id, from.agency, to.agency, started_ms, *duration, to.emergency}, sum);
      continue;
    }
    bool fresh = seen.insert(external_id).second;
    if (fresh) fresh = !calls.call_stored(external_id);
    if (fresh)
      ++sum.imported;
    else
      ++sum.already_imported;
  }
  sum.file_bytes = in.done();
  sum.file_sha256 = in.sha256();

  if (writer) {
    // The ledger row goes in the last transaction, with the last batch of calls.
    sum.ledger_id = writer->finish(sum, [&] {
      return store::import_ledger_entry{sum.file_name,
                                        sum.file_sha256,
                                        to_ms(now),
                                        static_cast<std::int64_t>(sum.rows),
                                        static_cast<std::int64_t>(sum.imported),
                                        static_cast<std::int64_t>(sum.already_imported),
                                        static_cast<std::int64_t>(sum.skipped),
                                        kinds_json(sum)};
    });
  }
  report(true);
  return sum;
}

nlohmann::json to_json(const import_summary& s, std::size_t max_problems) {
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, n] : s.skipped_by_kind) kinds[kind] = n;
  nlohmann::json problems = nlohmann::json::array();
  for (std::size_t i = 0; i < s.problems.size() && i < max_problems; ++i)
    problems.push_back({{"line", s.problems[i].line},
                        {"kind", s.problems[i].kind},
                        {"detail", s.problems[i].detail}});
  nlohmann::json j = {{"file", s.file_name},
                      {"file_sha256", s.file_sha256},
                      {"bytes", s.file_bytes},
                      {"dry_run", s.dry_run},
                      {"rows", s.rows},
                      {"imported", s.imported},
                      {"already_imported", s.already_imported},
                      {"skipped", s.skipped},
                      {"skipped_by_kind", kinds},
                      {"problems", problems},
                      {"problems_not_shown", s.problems.size() - problems.size()}};
  if (s.ledger_id) j["import_id"] = s.ledger_id;
  return j;
}

std::vector<call_import_record> list_call_imports(store::call_store& calls) {
  std::vector<call_import_record> out;
  for (auto& r : calls.list_imports()) {
    call_import_record c;
    c.id = r.id;
    c.file_name = std::move(r.entry.file_name);
    c.file_sha256 = std::move(r.entry.file_sha256);
    c.imported_at = from_ms(r.entry.imported_at_ms);
    c.rows = r.entry.rows;
    c.imported = r.entry.imported;
    c.already_imported = r.entry.already_imported;
    c.skipped = r.entry.skipped;
    c.summary = std::move(r.entry.summary);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace bl
