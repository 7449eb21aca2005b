#include "tests/support/sample_messages.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bl::test {

using nlohmann::json;

json rtc_request(const std::string& id, const std::string& from, const std::string& to,
                 const std::string& category, const std::string& priority) {
  return {{"id", id},
          {"type", "transfer.request"},
          {"from", from},
          {"to", {to}},
          {"sent_at", "2026-11-21T14:02:11Z"},
          {"mode", "live"},
          {"body",
           {{"category", category},
            {"priority", priority},
            {"ask", "attend"},
            {"summary", "RTC A12 southbound J19, car v HGV, carriageway blocked"},
            {"sender_incident", {{"number", "F-2611-004512"}, {"system", "Vision FX"}}},
            {"methane",
             {{"major_incident", "not_declared"},
              {"exact_location",
               {{"wgs84", {{"lat", 51.7523}, {"lon", 0.4995}, {"accuracy_m", 25}}},
                {"address", "A12 southbound between J19 and J18, Chelmsford"},
                {"postcode", "CM2 5PF"},
                {"osgr", {{"easting", 572450}, {"northing", 208420}}}}},
              {"type_of_incident",
               {{"code", "RTC"}, {"text", "Two vehicles, one person trapped, fuel on road"}}},
              {"hazards", {{{"hazard", "fuel spill"}, {"status", "present"}}}},
              {"access", "Approach southbound from J19; northbound carriageway open"},
              {"casualties", {{"immediate", 1}, {"minor", 1}}},
              {"emergency_services",
               {{"present", {"Fire"}}, {"required", {"Police traffic management"}}}}}}}}};
}

json follow_up(const std::string& id, const std::string& type, const std::string& from,
               const std::string& transfer_id, json body) {
  return {{"id", id},
          {"type", type},
          {"from", from},
          {"sent_at", "2026-11-21T14:05:00Z"},
          {"mode", "live"},
          {"transfer_id", transfer_id},
          {"body", std::move(body)}};
}

gateway_config essex_config() {
  gateway_config c;
  c.agencies = {
      {"essex-fire", "Essex County Fire and Rescue", agency_kind::fire, "01632 960001", 400},
      {"essex-police", "Essex Police", agency_kind::police, "01632 960002", 400},
      {"eeast-ambulance", "East of England Ambulance", agency_kind::ambulance, "01632 960003",
       400}};
  c.priorities[static_cast<int>(priority::emergency)] = {60, 180, 900};
  c.priorities[static_cast<int>(priority::urgent)] = {300, 900, 3600};
  c.priorities[static_cast<int>(priority::routine)] = {3600, 14400, 86400};
  // Load, crash and link tests measure other things than the per-agency limits, which have
  // tests of their own with low values (engine_test "[rate]", rate_limit_system_test).
  c.edge.agency_submissions_per_second = 1'000'000;
  c.edge.agency_submission_burst = 1'000'000;
  c.edge.inbox_quota = 100'000'000;
  return c;
}

std::string shared_sample(const std::string& dir, const std::string& name) {
  const std::string path = std::string(BL_SOURCE_DIR) + "/../shared/samples/" + dir + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the shared sample " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace bl::test
