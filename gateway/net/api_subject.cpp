// Subject access at the API (issue 18, docs/data-protection.md): an agency's data-protection
// officer (or an administrator, naming the agency) searches what the agency holds about one
// person. The search runs on the worker pool; it, and every transfer and call it finds, goes in
// the access log under the request's reference before the answer leaves.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "gateway/core/log_value.hpp"
#include "gateway/net/api.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/subject_access.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;

void api::subject_search(const principal& who, const std::string& body, done_fn done) {
  auto reject = [log = s_.log, agency = who.agency, done](const error& e) {
    log->info("event=subject_search_rejected agency={} code={} pointer={} reason={}",
              log_quote(agency), e.id(), log_quote(log_pointer(e.pointer)),
              log_quote(log_reason(e.message)));
    done(error_response(e));
  };
  if (who.who != role::dpo && who.who != role::admin)
    return reject(make_error(errc::forbidden_role,
                             "subject access searches are for data-protection officers (their "
                             "agency's data) and administrators; a " +
                                 std::string(to_string(who.who)) + " cannot"));
  json doc;
  if (auto e = read_body(body, "api/subject_search", doc)) return reject(*e);
  auto parsed = subject_query_from(doc, who.agency, s_.cfg, now_ms());
  if (auto* e = std::get_if<error>(&parsed)) return reject(*e);
  auto q = std::get<subject_query>(std::move(parsed));
  const std::string reference = doc.at("reference").get<std::string>();
  const std::string why = "subject access request " + reference;

  auto found = std::make_shared<subject_result>();
  auto work = [this, q, found, reference]() -> api_response {
    const auto started = std::chrono::steady_clock::now();
    auto last = started;
    try {
      *found = search_subject(s_.reader, q, [&](const subject_progress& p) {
        auto t = std::chrono::steady_clock::now();
        if (t - last < std::chrono::seconds(10)) return;
        last = t;
        s_.log->info(
            "event=subject_search_progress agency={} transfers_read={} calls_read={} "
            "transfers_found={} calls_found={}",
            q.agency, p.transfers_read, p.calls_read, p.transfers_found, p.calls_found);
      });
    } catch (const store::store_error& e) {
      return error_response(make_error(errc::store_unavailable, e.what()));
    }
    s_.log->info(
        "event=subject_search agency={} transfers_read={} calls_read={} transfers_found={} "
        "calls_found={} truncated={} ms={}",
        q.agency, found->read.transfers_read, found->read.calls_read, found->read.transfers_found,
        found->read.calls_found, found->truncated,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              started)
            .count());
    json j = subject_result_json(*found, q);
    j["reference"] = reference;
    return json_response(200, j);
  };
  blocking("subject search", std::move(work),
           [this, who, q, found, why, done = std::move(done)](api_response r) mutable {
             if (r.status != 200) return done(std::move(r));
             // The search itself, then each transfer and call it showed (their excerpts are
             // their content): logged before the answer leaves.
             std::vector<store::access_entry> entries;
             auto self = access_by(who, store::access_op::consult, "subject_search");
             self.agency = q.agency;
             self.ref = std::to_string(found->transfers.size()) + " transfers, " +
                        std::to_string(found->calls.size()) + " calls found";
             self.justification = why;
             entries.push_back(self);
             for (const auto& f : found->transfers) {
               auto e = access_by(who, store::access_op::consult, "transfer");
               e.agency = q.agency;
               e.transfer_id = f.transfer.id;
               e.justification = why;
               entries.push_back(std::move(e));
             }
             for (const auto& f : found->calls) {
               auto e = access_by(who, store::access_op::consult, "call");
               e.agency = q.agency;
               e.ref = std::to_string(f.call.id);
               e.transfer_id = f.call.transfer_id.value_or("");
               e.justification = why;
               entries.push_back(std::move(e));
             }
             answer_logged(std::move(entries), std::move(r), std::move(done));
           });
}

}  // namespace bl
