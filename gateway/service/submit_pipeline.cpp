#include "gateway/service/submit_pipeline.hpp"

#include <spdlog/spdlog.h>

#include "gateway/core/json_bounded.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl {

using nlohmann::json;

namespace {
error not_an_object() {
  return make_error(errc::schema_invalid, "a message is a JSON object", "");
}

/// Step 3: an agency may only ever send as itself.
std::optional<error> sender_binding(const json& doc, const submitter& who) {
  auto it = doc.find("from");
  if (it == doc.end() || !it->is_string() || *it == who.agency) return std::nullopt;
  const char* what = who.edge == "cad" ? "this link" : "this token";
  return make_error(errc::sender_not_authorised,
                    std::string(what) + " belongs to '" + who.agency + "' and cannot send as '" +
                        it->get<std::string>() + "'",
                    "/from");
}
}  // namespace

submit_pipeline::submit_pipeline(const gateway_config& cfg, const schema_set& schemas, engine& eng,
                                 std::shared_ptr<spdlog::logger> log)
    : cfg_(cfg), schemas_(schemas), eng_(eng), log_(std::move(log)) {}

std::optional<error> submit_pipeline::refusal() const {
  if (degraded_) {
    std::lock_guard lock(mu_);
    return make_error(errc::degraded, "the gateway is restarting after its " + degraded_component_ +
                                          " failed; nothing was accepted");
  }
  if (shutting_down_) return make_error(errc::shutting_down, "the gateway is shutting down");
  return std::nullopt;
}

void submit_pipeline::begin_shutdown() {
  shutting_down_ = true;
}

void submit_pipeline::set_degraded(const std::string& component, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (degraded_) return;
    degraded_component_ = component;
    degraded_why_ = why;
  }
  degraded_ = true;
}

std::optional<std::pair<std::string, std::string>> submit_pipeline::degraded() const {
  if (!degraded_) return std::nullopt;
  std::lock_guard lock(mu_);
  return std::make_pair(degraded_component_, degraded_why_);
}

error submit_pipeline::refuse(error e, const submitter& who, bool in_document) const {
  if (in_document) e.pointer = who.pointer_prefix + e.pointer;
  log_->info("event=rejected edge={} agency={} code={} pointer={} reason={}", who.edge, who.agency,
             e.id(), log_quote(log_pointer(e.pointer)), log_quote(log_reason(e.message)));
  return e;
}

std::variant<message, error> submit_pipeline::check_doc(json doc, const submitter& who) const {
  if (!doc.is_object()) return refuse(not_an_object(), who, true);
  if (auto e = sender_binding(doc, who)) return refuse(*e, who, true);
  if (auto e = schemas_.validate_submission(doc)) return refuse(*e, who, true);
  auto parsed = parse_message(std::move(doc));
  if (auto* e = std::get_if<error>(&parsed)) return refuse(*e, who, true);
  auto& m = std::get<message>(parsed);
  m.via = who.via;
  m.user = who.user;
  return parsed;
}

std::variant<message, error> submit_pipeline::check_body(std::string_view body,
                                                         const submitter& who) const {
  json doc;
  if (auto e = parse_json_bounded(body, doc, edge_json_limits(cfg_), "the request body"))
    return refuse(*e, who, false);
  return check_doc(std::move(doc), who);
}

std::variant<message, error> submit_pipeline::check(json doc, const submitter& who) const {
  return check_doc(std::move(doc), who);
}

std::vector<error> submit_pipeline::check_all(std::string_view body, const submitter& who) const {
  json doc;
  if (auto e = parse_json_bounded(body, doc, edge_json_limits(cfg_), "the request body"))
    return {*e};
  if (!doc.is_object()) return {not_an_object()};
  if (auto e = sender_binding(doc, who)) return {*e};
  auto errors = schemas_.validate_submission_all(doc);
  if (!errors.empty()) return errors;
  auto parsed = parse_message(std::move(doc));
  if (auto* e = std::get_if<error>(&parsed)) return {*e};
  return {};
}

void submit_pipeline::submit_body(std::string_view body, const submitter& who, submit_callback cb) {
  if (auto e = refusal()) return cb(refuse(*e, who, false));
  auto checked = check_body(body, who);
  if (auto* e = std::get_if<error>(&checked)) return cb(*e);
  auto& m = std::get<message>(checked);
  prepare_for_store(m);  // serialised here, on the edge's thread, not on the engine's
  eng_.submit(std::move(m), std::move(cb));
}

void submit_pipeline::submit(json doc, const submitter& who, submit_callback cb) {
  if (auto e = refusal()) return cb(refuse(*e, who, false));
  auto checked = check_doc(std::move(doc), who);
  if (auto* e = std::get_if<error>(&checked)) return cb(*e);
  auto& m = std::get<message>(checked);
  prepare_for_store(m);  // serialised here, on the edge's thread, not on the engine's
  eng_.submit(std::move(m), std::move(cb));
}

void submit_pipeline::submit(message m, const submitter& who, submit_callback cb) {
  if (auto e = refusal()) return cb(refuse(*e, who, false));
  prepare_for_store(m);
  eng_.submit(std::move(m), std::move(cb));
}

}  // namespace bl
