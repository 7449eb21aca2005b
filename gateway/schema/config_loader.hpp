#pragma once
// Reads the gateway's JSON config file, validates it against schemas/config/config.schema.json
// (unknown keys rejected) and converts it to the typed config.

#include <filesystem>
#include <stdexcept>
#include <string>

#include "gateway/core/config.hpp"

namespace bl {

class schema_set;

/// Thrown for an unusable config; what() names the file and the JSON pointer at fault.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

gateway_config load_config(const std::filesystem::path& file, const schema_set& schemas);

}  // namespace bl
