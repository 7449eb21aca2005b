#include "gateway/schema/schema_set.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validation_visitor.hpp>

#include "gateway/core/log_value.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/safe_regex.hpp"

namespace bl {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("cannot read schema file " + p.string());
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw std::runtime_error("schema file " + p.string() + " is not valid JSON: " + e.what());
  }
}

// valijson reports the path as {"<root>", "[body]", "[priority]"}; the wire wants a JSON pointer.
std::string to_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& c : context) {
    if (c == "<root>" || c.size() < 2 || c.front() != '[') continue;
    std::string key = c.substr(1, c.size() - 2);
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"')
      key = key.substr(1, key.size() - 2);
    std::string escaped;
    for (char ch : key) {
      if (ch == '~')
        escaped += "~0";
      else if (ch == '/')
        escaped += "~1";
      else
        escaped += ch;
    }
    out += "/" + escaped;
  }
  return out;
}

// One valijson error as the wire reports it.
error to_error(const valijson::ValidationResults::Error& e, const std::string& pointer_prefix) {
  std::string pointer = pointer_prefix + to_pointer(e.context);
  std::string message = e.description;
  // An unknown key is reported against its parent object; name the key itself in the pointer.
  const std::string marker =
      "could not be validated using 'properties' or 'additionalProperties' constraints: '";
  auto pos = message.find(marker);
  if (pos != std::string::npos) {
    auto start = pos + marker.size();
    auto end = message.find('\'', start);
    if (end != std::string::npos) {
      std::string key = message.substr(start, end - start);
      pointer += "/" + key;
      message = "unknown property '" + key + "' is not allowed";
    }
  }
  return make_error(errc::schema_invalid, message, pointer);
}

// valijson reports a failing property, array item or child schema twice: once where the
// problem is, and once more ("Failed to validate ...") for each object or schema around it.
bool wrapper_error(const valijson::ValidationResults::Error& e) {
  return e.description.rfind("Failed to validate", 0) == 0;
}

// Whether `inner` is at or below `outer`.
bool within(const std::vector<std::string>& outer, const std::vector<std::string>& inner) {
  return outer.size() <= inner.size() && std::equal(outer.begin(), outer.end(), inner.begin());
}

using regex_cache = std::unordered_map<std::string, std::regex>;

// Every `pattern` string in a schema document. Data that merely looks like a schema (enum, const,
// default and examples values) is skipped; a stray extra entry would only cost one compilation.
void collect_patterns(const json& node, std::set<std::string>& out) {
  if (node.is_array()) {
    for (const auto& v : node) collect_patterns(v, out);
    return;
  }
  if (!node.is_object()) return;
  for (const auto& [key, value] : node.items()) {
    if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
    if (key == "pattern" && value.is_string())
      out.insert(value.get<std::string>());
    else
      collect_patterns(value, out);
  }
}
}  // namespace

struct schema_set::impl {
  std::map<std::string, std::unique_ptr<valijson::Schema>> schemas;
  std::map<std::string, json> docs;  // kept alive: valijson may refer into them while parsing
  // Every pattern of every schema, compiled once at load for the breadth-first executor
  // (gateway/core/safe_regex.hpp). valijson looks a pattern up here before compiling one itself,
  // and since every pattern is here it never compiles one with the recursive executor.
  regex_cache regexes;
  // Tells this set's regexes apart from another set's in the per-thread copies (run()).
  std::uint64_t id = 0;

  bool run(const valijson::Schema& schema, const json& doc,
           valijson::ValidationResults& results) const {
    // One cache per thread: valijson may insert into the map it is given, so threads must not
    // share one. Copying a std::regex shares its compiled automaton, so the copy is cheap, and it
    // is made once per thread (compiling per message once cost 70 % of the gateway's CPU).
    struct thread_cache {
      std::uint64_t owner = 0;
      regex_cache regexes;
    };
    thread_local thread_cache cache;
    if (cache.owner != id) {
      cache.regexes = regexes;
      cache.owner = id;
    }
    valijson::adapters::NlohmannJsonAdapter target(doc);
    valijson::ValidationVisitor<valijson::adapters::NlohmannJsonAdapter> visitor(
        target, std::vector<std::string>(1, "<root>"), /*strictTypes=*/true, &results,
        cache.regexes);
    return visitor.validateSchema(schema);
  }
};

namespace {
std::uint64_t next_schema_set_id() {
  static std::atomic<std::uint64_t> next{0};
  return ++next;
}

// Compiles every pattern for the breadth-first executor; names `file` when one is refused.
void compile_patterns(const std::set<std::string>& patterns, regex_cache& out,
                      const fs::path& file) {
  for (const auto& p : patterns) {
    if (out.count(p)) continue;
    try {
      out.emplace(p, make_safe_regex(p));
    } catch (const std::exception& e) {
      throw std::runtime_error("schema " + file.string() + ": pattern '" + p +
                               "' cannot be used: " + e.what());
    }
  }
}
}  // namespace

namespace {

// The member names a schema defines, so that a log line may name them (log_pointer) while any
// other token of a pointer, which the sender chose, is elided.
void learn_member_names(const json& doc) {
  std::vector<std::string> names;
  std::function<void(const json&)> walk = [&](const json& j) {
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (k == "properties" && v.is_object())
          for (const auto& [name, sub] : v.items()) names.push_back(name);
        if (k == "required" && v.is_array())
          for (const auto& r : v)
            if (r.is_string()) names.push_back(r.get<std::string>());
        if (k != "enum" && k != "const" && k != "examples" && k != "default") walk(v);
      }
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(doc);
  log_learn_members(names);
}

}  // namespace

schema_set::schema_set(const fs::path& dir) : impl_(std::make_unique<impl>()) {
  impl_->id = next_schema_set_id();
  if (!fs::is_directory(dir))
    throw std::runtime_error("schema directory not found: " + dir.string());
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto& p = entry.path();
    std::string file = p.filename().string();
    const std::string suffix = ".schema.json";
    if (!entry.is_regular_file() || file.size() <= suffix.size() ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    auto rel = fs::relative(p, dir).generic_string();
    std::string name = rel.substr(0, rel.size() - suffix.size());
    json doc = read_json(p);
    learn_member_names(doc);
    auto schema = std::make_unique<valijson::Schema>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    // $ref "common.schema.json#/..." is resolved by file name in the same folder.
    auto folder = p.parent_path();
    std::set<std::string> patterns;
    collect_patterns(doc, patterns);
    auto fetch = [folder, &patterns](const std::string& uri) -> const json* {
      auto f = folder / uri;
      if (!fs::exists(f)) return nullptr;
      auto fetched = std::make_unique<json>(read_json(f));
      collect_patterns(*fetched, patterns);
      return fetched.release();
    };
    auto free_doc = [](const json* d) { delete d; };
    try {
      parser.populateSchema(adapter, *schema, fetch, free_doc);
    } catch (const std::exception& e) {
      throw std::runtime_error("schema " + p.string() + " could not be loaded: " + e.what());
    }
    compile_patterns(patterns, impl_->regexes, p);
    impl_->docs.emplace(name, std::move(doc));
    impl_->schemas.emplace(name, std::move(schema));
  }
  if (impl_->schemas.empty()) throw std::runtime_error("no schemas found under " + dir.string());
}

schema_set::~schema_set() = default;

bool schema_set::has(const std::string& name) const {
  return impl_->schemas.count(name) > 0;
}

std::optional<error> schema_set::validate(const std::string& name, const json& doc,
                                          const std::string& pointer_prefix) const {
  auto it = impl_->schemas.find(name);
  if (it == impl_->schemas.end())
    return make_error(errc::schema_invalid, "no schema named '" + name + "'", pointer_prefix);
  valijson::ValidationResults results;
  if (impl_->run(*it->second, doc, results)) return std::nullopt;
  // The deepest error is the most specific one; the outer ones only say "a child failed".
  const valijson::ValidationResults::Error* best = nullptr;
  for (const auto& e : results)
    if (!best || e.context.size() > best->context.size()) best = &e;
  return to_error(*best, pointer_prefix);
}

std::vector<error> schema_set::validate_all(const std::string& name, const json& doc,
                                            const std::string& pointer_prefix) const {
  auto it = impl_->schemas.find(name);
  if (it == impl_->schemas.end())
    return {make_error(errc::schema_invalid, "no schema named '" + name + "'", pointer_prefix)};
  valijson::ValidationResults results;
  if (impl_->run(*it->second, doc, results)) return {};
  std::vector<valijson::ValidationResults::Error> all(results.begin(), results.end());
  std::vector<error> out;
  for (const auto& e : all) {
    // Leave out a wrapper when the violation it wraps is reported too.
    bool wrapper = wrapper_error(e) && std::any_of(all.begin(), all.end(), [&](const auto& o) {
                     return !wrapper_error(o) && within(e.context, o.context);
                   });
    if (wrapper) continue;
    auto err = to_error(e, pointer_prefix);
    bool seen = std::any_of(out.begin(), out.end(), [&](const error& o) {
      return o.pointer == err.pointer && o.message == err.message;
    });
    if (!seen) out.push_back(std::move(err));
  }
  return out;
}

namespace {
// The refusal of a type only the gateway generates, or nullopt for a type an agency may send.
std::optional<error> gateway_only_refusal(const std::string& type) {
  auto t = msg_type_from(type);
  if (!t || !gateway_only(*t)) return std::nullopt;
  return make_error(errc::not_submittable, type + " is generated by the gateway only", "/type");
}
}  // namespace

std::optional<error> schema_set::validate_message(const json& doc) const {
  if (auto e = validate("message/envelope", doc)) return e;
  std::string type = doc.at("type").get<std::string>();
  std::string name = "message/" + type;
  if (!has(name)) return make_error(errc::schema_invalid, "no schema for type " + type, "/type");
  return validate(name, doc.at("body"), "/body");
}

std::optional<error> schema_set::validate_submission(const json& doc) const {
  if (auto e = validate("message/envelope", doc)) return e;
  // Refused before its body is looked at: nothing an agency sends as a gateway-only type is
  // worth validating, and its schema is written for what the gateway generates.
  std::string type = doc.at("type").get<std::string>();
  if (auto e = gateway_only_refusal(type)) return e;
  std::string name = "message/" + type;
  if (!has(name)) return make_error(errc::schema_invalid, "no schema for type " + type, "/type");
  return validate(name, doc.at("body"), "/body");
}

std::vector<error> schema_set::validate_message_all(const json& doc) const {
  return validate_all_of(doc, false);
}

std::vector<error> schema_set::validate_submission_all(const json& doc) const {
  return validate_all_of(doc, true);
}

std::vector<error> schema_set::validate_all_of(const json& doc, bool submission) const {
  auto out = validate_all("message/envelope", doc);
  // The body is checked even when the envelope is not, as long as its type is known: a form
  // shows every mistake at once instead of one per attempt.
  auto type = doc.is_object() ? doc.find("type") : doc.end();
  if (!doc.is_object() || type == doc.end() || !type->is_string()) return out;
  if (submission) {
    if (auto e = gateway_only_refusal(type->get<std::string>())) {
      out.push_back(std::move(*e));
      return out;
    }
  }
  std::string name = "message/" + type->get<std::string>();
  if (!has(name)) {
    bool reported =
        std::any_of(out.begin(), out.end(), [](const error& e) { return e.pointer == "/type"; });
    if (!reported)
      out.push_back(make_error(errc::schema_invalid,
                               "no schema for type " + type->get<std::string>(), "/type"));
    return out;
  }
  auto body = doc.find("body");
  if (body == doc.end()) return out;  // the envelope has reported the missing body
  for (auto& e : validate_all(name, *body, "/body"))
    if (std::none_of(out.begin(), out.end(), [&](const error& o) {
          return o.pointer == e.pointer && o.message == e.message;
        }))
      out.push_back(std::move(e));
  return out;
}

fs::path schema_set::locate(const fs::path& argv0) {
  if (const char* env = std::getenv("BLUELINK_SCHEMAS")) return env;
  std::error_code ec;
  auto exe = fs::canonical("/proc/self/exe", ec);
  fs::path start = ec ? fs::absolute(argv0).parent_path() : exe.parent_path();
  for (fs::path p = start; !p.empty(); p = p.parent_path()) {
    if (fs::is_directory(p / "schemas" / "message")) return p / "schemas";
    if (fs::is_directory(p / "share" / "bluelink" / "schemas"))
      return p / "share" / "bluelink" / "schemas";
    if (p == p.parent_path()) break;
  }
#ifdef BL_SOURCE_DIR
  return fs::path(BL_SOURCE_DIR) / "schemas";
#else
  return "schemas";
#endif
}

}  // namespace bl
