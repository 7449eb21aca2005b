#pragma once
// Realistic messages for tests: an RTC on the A12 needing police traffic management, a forced
// entry in Colchester, and the decisions that follow. Each builder returns a schema-valid envelope.

#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"

namespace bl::test {

/// A Fire -> Police request for traffic management at an RTC (or another category/priority).
nlohmann::json rtc_request(const std::string& id, const std::string& from = "essex-fire",
                           const std::string& to = "essex-police",
                           const std::string& category = "police.traffic_management",
                           const std::string& priority = "emergency");
/// Any follow-up message of `type` on `transfer_id` with `body`.
nlohmann::json follow_up(const std::string& id, const std::string& type, const std::string& from,
                         const std::string& transfer_id, nlohmann::json body);
/// The three Essex agencies with realistic limits, for core and engine tests.
gateway_config essex_config();

/// A real partner's document from ../shared/samples/<dir>/<name>, read in place (never copied).
std::string shared_sample(const std::string& dir, const std::string& name);

}  // namespace bl::test
