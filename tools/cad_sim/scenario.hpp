#pragma once
// The scenario of one simulated CAD system (schemas/sim/scenario.schema.json): the requests it
// originates, how it numbers its incidents, how it answers as a receiver and which faults it
// injects. Parsed and checked once at start into plain structs that the simulator only reads.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"

namespace bl {
class schema_set;
}

namespace bl::sim {

/// A delay drawn uniformly between min_s and max_s seconds.
struct delay_range {
  double min_s = 0;
  double max_s = 0;
};

struct close_outcome {
  std::string outcome;  // resolved | no_longer_required | handed_over | other
  std::string text;     // may be empty
  double weight = 1;
};

struct decline_reason {
  std::string reason;  // one of transfer.decline's reason codes
  std::string text;
  double weight = 1;
};

/// One request this CAD originates. `body` is a transfer.request body without sender_incident,
/// which is filled in with a fresh incident number each time.
struct request_template {
  std::string name;
  double weight = 1;
  std::string to;
  std::string category;
  nlohmann::json body;
  std::optional<std::int64_t> expires_in_s;
  std::vector<nlohmann::json> updates;  // transfer.update bodies, used in turn
};

/// What this CAD does with its own requests once they are accepted.
struct requester_policy {
  double update_probability = 0;
  delay_range update_after;
  std::string update_text;  // when the template has no updates left
  double close_probability = 0;
  delay_range close_after;
  std::vector<close_outcome> close_outcomes;
};

/// How this CAD answers the requests delivered to it.
struct receiver_policy {
  double received_probability = 1;
  delay_range received_after;
  std::string received_note;
  delay_range decision_after;
  double accept_weight = 1;
  double decline_weight = 0;
  double defer_weight = 0;
  int eta_min = 0;
  int eta_max = 0;
  nlohmann::json resources = nlohmann::json::object();     // category -> text, with "default"
  nlohmann::json accept_notes = nlohmann::json::object();  // category -> text
  std::vector<decline_reason> decline_reasons;
  delay_range defer_for;
  std::vector<std::string> defer_reasons;
  double close_probability = 0;
  delay_range close_after;
  std::vector<close_outcome> close_outcomes;
  delay_range notification_close_after;
  std::string notification_close_text;
};

struct fault_policy {
  double disconnects_per_minute = 0;
  double duplicate_probability = 0;
};

struct scenario {
  std::string agency;
  std::string description;
  std::string mode = "exercise";
  std::string cad_system;
  std::string incident_format;
  std::int64_t first_incident = 1;
  std::string operator_name;
  std::vector<request_template> requests;
  requester_policy requester;
  receiver_policy receiver;
  fault_policy faults;
};

/// An unusable scenario; what() names the file and the JSON pointer at fault.
class scenario_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Checks `doc` against "sim/scenario", then what a schema cannot say (min <= max, a decision is
/// possible, no request addressed to itself), and instantiates every template and update as a
/// real message that must pass the message schemas. `origin` names the source in errors.
scenario parse_scenario(const nlohmann::json& doc, const schema_set& schemas,
                        const std::string& origin = "scenario");
/// Reads and parses a scenario file; throws scenario_error.
scenario load_scenario(const std::filesystem::path& file, const schema_set& schemas);

/// Formats an incident number: literal text with {yyyy} {yy} {mm} {dd} {yymm} {yyyymmdd} (the
/// UTC date of `at`) and exactly one {n} or {n:0W} (`n` zero-padded to width W; wider numbers
/// are not cut). "F-{yymm}-{n:06}" gives "F-2611-004512". Throws std::invalid_argument for an
/// unknown placeholder, a missing or repeated {n}, a negative `n`, or a result longer than the
/// 40 characters an incident_ref allows.
std::string format_incident_number(std::string_view format, std::int64_t n, time_point at);

/// A transfer.request from template `t`, ready to submit.
nlohmann::json make_request(const scenario& sc, const request_template& t,
                            const std::string& message_id, const std::string& incident_number,
                            const std::string& mode, time_point now);

}  // namespace bl::sim
