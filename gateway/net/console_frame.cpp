#include "gateway/net/console_frame.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "gateway/schema/schema_set.hpp"

namespace bl {

std::variant<console_frame, error> parse_console_frame(std::string_view text,
                                                       const schema_set& schemas,
                                                       const json_limits& limits) {
  nlohmann::json f;
  if (auto e = parse_json_bounded(text, f, limits, "the frame")) return *e;
  if (auto e = schemas.validate("ws/client", f)) return *e;
  // ws/client guarantees an object whose op is "hello" or "ping", and an integer after.
  try {
    console_frame out;
    if (f.at("op").get<std::string>() == "ping") return out;
    out.what = console_frame::op::hello;
    // Absent: "from now on" (-1). Present, 0 included: exactly the events after that id.
    out.after = f.value("after", std::int64_t{-1});
    return out;
  } catch (const nlohmann::json::exception& ex) {
    // Only reachable if schemas/ws/client stops requiring what is read here.
    return make_error(errc::internal,
                      std::string("the frame does not have the members schemas/ws/client "
                                  "promises: ") +
                          ex.what());
  }
}

}  // namespace bl
