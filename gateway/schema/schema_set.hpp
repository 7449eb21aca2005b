#pragma once
// The JSON Schemas under schemas/, loaded once at start and shared read-only by every edge.
// Validation is thread-safe (valijson schemas are immutable once parsed; each thread matches
// patterns with its own copy of the regexes). Every `pattern` is compiled at load for libstdc++'s
// breadth-first executor (gateway/core/safe_regex.hpp), so no input, however long, makes
// validation recurse per character; a schema pattern with a back-reference is refused at load.
// valijson stays inside schema_set.cpp so that its heavy headers are compiled once.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/error.hpp"

namespace bl {

class schema_set {
 public:
  /// Loads every *.schema.json under `dir` (message/, config/, api/...). Throws
  /// std::runtime_error naming the file if one cannot be read or is not a valid schema.
  explicit schema_set(const std::filesystem::path& dir);
  ~schema_set();
  schema_set(const schema_set&) = delete;
  schema_set& operator=(const schema_set&) = delete;

  /// Validates a message: the envelope first, then its body against the schema of its type.
  /// Returns the most specific violation (bl.schema.invalid with the JSON pointer), or nullopt.
  std::optional<error> validate_message(const nlohmann::json& doc) const;
  /// Validates against one named schema, e.g. "config/config" or "api/inbox_ack".
  std::optional<error> validate(const std::string& name, const nlohmann::json& doc,
                                const std::string& pointer_prefix = {}) const;
  /// Every violation instead of the most specific one (the console shows each beside its
  /// field): one error per offending value, leaving out the "a child failed" errors of the
  /// objects that contain them. Empty when the document is valid.
  std::vector<error> validate_all(const std::string& name, const nlohmann::json& doc,
                                  const std::string& pointer_prefix = {}) const;
  /// validate_message() reporting every violation of the envelope and of the body.
  std::vector<error> validate_message_all(const nlohmann::json& doc) const;
  /// What an agency submits: the envelope, then the refusal of a type only the gateway
  /// generates (bl.message.not_submittable, before its body is looked at), then the body.
  /// Every edge that accepts messages from outside validates with this, not validate_message().
  std::optional<error> validate_submission(const nlohmann::json& doc) const;
  /// validate_submission() reporting every violation (the dry run). A gateway-only type is
  /// reported after the envelope's violations and its body is not validated.
  std::vector<error> validate_submission_all(const nlohmann::json& doc) const;
  bool has(const std::string& name) const;

  /// Finds the schemas/ directory: $BLUELINK_SCHEMAS, else beside or above the executable,
  /// else the source tree this binary was built from.
  static std::filesystem::path locate(const std::filesystem::path& argv0);

 private:
  std::vector<error> validate_all_of(const nlohmann::json& doc, bool submission) const;

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bl
