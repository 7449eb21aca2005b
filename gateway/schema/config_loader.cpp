#include "gateway/schema/config_loader.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl {

gateway_config load_config(const std::filesystem::path& file, const schema_set& schemas) {
  std::ifstream in(file);
  if (!in) throw config_error("cannot read config file " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  // Bounded like any JSON from outside the process; the defaults (32 levels) are far deeper than
  // the config schema nests, and edge.max_json_depth is not known until the file is read.
  json_limits limits;
  limits.max_bytes = std::size_t{16} << 20;
  nlohmann::json doc;
  if (auto e = parse_json_bounded(ss.str(), doc, limits, "the config file"))
    throw config_error("config file " + file.string() + ": " + e->message);
  if (auto e = schemas.validate("config/config", doc))
    throw config_error("config file " + file.string() + ": " +
                       (e->pointer.empty() ? std::string("(root)") : e->pointer) + ": " +
                       e->message);
  try {
    return config_from_json(doc);
  } catch (const std::exception& e) {
    throw config_error("config file " + file.string() + ": " + e.what());
  }
}

}  // namespace bl
