#pragma once
// One way in. Every edge that takes a message from outside (the HTTP API, the console, the CAD
// link, EIDO conveyance, UCRI2, the dry-run check) hands it to this pipeline, which applies the
// same steps in the same order and passes the typed message to the engine:
//
//   1. the gateway is taking submissions: not shutting down, no part of it failed (degraded);
//   2. the document is a JSON object (a raw body is parsed within the edge's JSON limits);
//   3. sender binding: "from", when present, must be the authenticated agency, checked before
//      anything else is looked at (an agency may only ever send as itself);
//   4. the schema: the envelope, then a type only the gateway generates is refused before its
//      body is looked at, then the body;
//   5. parse_message(): what a schema cannot check (the id prefix, real calendar dates);
//   6. the engine: dedupe, the transfer rules, rate and quota, the durable store, the receipt.
//
// Every refusal in steps 1-5 is logged once here (event=rejected edge=... agency=... code=...),
// so an edge only turns the error into its own wire format.
//
// Thread-safety: every member may be called from any thread at once. The callback of submit()
// is called exactly once, on the calling thread for a refusal in steps 1-5, otherwise on the
// engine thread after the commit: it must only post work elsewhere.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/message.hpp"
#include "gateway/service/engine.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class schema_set;

/// Who is submitting, as the edge authenticated it.
struct submitter {
  std::string agency;  // the authenticated agency: the only sender it may name
  std::string edge;    // "api", "console", "cad", "eido", "ucri2": for logs
  std::string via;     // the timeline's "via" ("api", "cad" or "console")
  std::string user;    // the console user, or "ucri2:<oid>"; empty for a system
  /// Where the message sits inside the edge's frame ("/message" on the CAD link): prefixed to
  /// every error pointer so that it points into what the sender actually sent.
  std::string pointer_prefix;
};

class submit_pipeline {
 public:
  submit_pipeline(const gateway_config& cfg, const schema_set& schemas, engine& eng,
                  std::shared_ptr<spdlog::logger> log);

  /// Step 1: why nothing can be accepted now (bl.gateway.shutting_down, bl.gateway.degraded),
  /// or nullopt when submissions are being taken.
  std::optional<error> refusal() const;
  /// From now on submissions are refused with bl.gateway.shutting_down.
  void begin_shutdown();
  bool shutting_down() const { return shutting_down_; }
  /// A long-lived part of the gateway failed: submissions are refused with bl.gateway.degraded
  /// naming it (nothing is accepted that the gateway could not deliver).
  void set_degraded(const std::string& component, const std::string& why);
  /// The failed component and why, once set_degraded() was called.
  std::optional<std::pair<std::string, std::string>> degraded() const;

  /// Steps 2-5 on a raw body: the typed message, or the first thing wrong with it.
  std::variant<message, error> check_body(std::string_view body, const submitter& who) const;
  /// Steps 3-5 on a document the edge already parsed or produced (a CAD frame's "message", a
  /// UCRI2 or EIDO document translated to the canonical form).
  std::variant<message, error> check(nlohmann::json doc, const submitter& who) const;
  /// The dry run of steps 2-5: every violation found (empty when the body would be accepted).
  /// Logs nothing: nothing was submitted.
  std::vector<error> check_all(std::string_view body, const submitter& who) const;

  /// Steps 1-6 on a raw body.
  void submit_body(std::string_view body, const submitter& who, submit_callback cb);
  /// Steps 1 and 3-6 on a parsed document.
  void submit(nlohmann::json doc, const submitter& who, submit_callback cb);
  /// Steps 1 and 6 for a message that check() returned (an edge that needs the message id
  /// before it submits).
  void submit(message m, const submitter& who, submit_callback cb);

 private:
  std::variant<message, error> check_doc(nlohmann::json doc, const submitter& who) const;
  /// Logs a refusal and returns it; an error `in_document` gets the edge's pointer prefix.
  error refuse(error e, const submitter& who, bool in_document) const;

  const gateway_config& cfg_;
  const schema_set& schemas_;
  engine& eng_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> degraded_{false};
  mutable std::mutex mu_;
  std::string degraded_component_, degraded_why_;  // guarded by mu_
};

}  // namespace bl
