#include "gateway/schema/config_loader.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gateway/schema/schema_set.hpp"

namespace bl {

gateway_config load_config(const std::filesystem::path& file, const schema_set& schemas) {
  std::ifstream in(file);
  if (!in) throw config_error("cannot read config file " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = nlohmann::json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded()) throw config_error("config file " + file.string() + " is not valid JSON");
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
