#pragma once
// Realistic requests shared by the CLI's demo, the load generator and the system tests, so that
// all three send the same well-formed M/ETHANE content.

#include <string>

#include <nlohmann/json.hpp>

namespace bl::samples {

/// Fire asks Police for a road closure at a two-car RTC on the A12 near Chelmsford, sent now.
nlohmann::json a12_rtc_request(const std::string& id, const std::string& from = "essex-fire",
                               const std::string& to = "essex-police");

}  // namespace bl::samples
