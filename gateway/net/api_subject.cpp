// Subject access at the API (issue 18, docs/data-protection.md): an agency's data-protection
// officer (or an administrator, naming the agency) searches what the agency holds about one
// person, and exports it for the answer to the request. The work runs on the worker pool; the
// search and every transfer and call it shows (consulted) or exports (disclosed to the data
// subject) go in the access log under the request's reference before the answer leaves.

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "gateway/core/log_value.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/reader_json.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/subject_access.hpp"
#include "gateway/store/access_log.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;

namespace {

/// What the officer left out of an export.
struct subject_exclusions {
  std::set<std::string> transfers;
  std::set<std::int64_t> calls;
};

subject_exclusions exclusions_of(const json& doc) {
  subject_exclusions out;
  if (!doc.contains("exclude")) return out;
  const auto& x = doc.at("exclude");
  if (x.contains("transfers"))
    for (const auto& t : x.at("transfers")) out.transfers.insert(t.get<std::string>());
  if (x.contains("calls"))
    for (const auto& c : x.at("calls")) out.calls.insert(c.get<std::int64_t>());
  return out;
}

json call_export_json(const store::call_row& c) {
  auto opt = [](const auto& v) { return v ? json(*v) : json(); };
  return {{"call_id", c.id},
          {"from_agency", c.from_agency},
          {"to_agency", c.to_agency},
          {"started_at", format_rfc3339(c.started_at)},
          {"duration_s", opt(c.duration_s)},
          {"emergency", c.emergency},
          {"reason", opt(c.reason)},
          {"transfer_id", opt(c.transfer_id)},
          {"logged_by", opt(c.logged_by)},
          {"note", opt(c.note)}};
}

}  // namespace

void api::subject_access(const principal& who, const std::string& body, bool exporting,
                         done_fn done) {
  const char* verb = exporting ? "subject_export" : "subject_search";
  auto reject = [log = s_.log, agency = who.agency, verb, done](const error& e) {
    log->info("event={}_rejected agency={} code={} pointer={} reason={}", verb, log_quote(agency),
              e.id(), log_quote(log_pointer(e.pointer)), log_quote(log_reason(e.message)));
    done(error_response(e));
  };
  if (who.who != role::dpo && who.who != role::admin)
    return reject(make_error(errc::forbidden_role,
                             "subject access is for data-protection officers (their agency's "
                             "data) and administrators; a " +
                                 std::string(to_string(who.who)) + " cannot"));
  json doc;
  if (auto e = read_body(body, exporting ? "api/subject_export" : "api/subject_search", doc))
    return reject(*e);
  auto parsed = subject_query_from(doc, who.agency, s_.cfg, now_ms());
  if (auto* e = std::get_if<error>(&parsed)) return reject(*e);
  const auto q = std::get<subject_query>(std::move(parsed));
  const std::string reference = doc.at("reference").get<std::string>();
  const auto left_out = exclusions_of(doc);
  std::vector<std::string> redact;
  if (doc.contains("redact"))
    for (const auto& p : doc.at("redact")) redact.push_back(p.get<std::string>());

  // What the answer shows, for the access log: filled in on the worker, read on the I/O thread
  // once the worker is done.
  struct shown {
    std::vector<std::string> transfers;
    std::vector<std::pair<std::int64_t, std::string>> calls;  // id, its transfer
  };
  auto seen = std::make_shared<shown>();
  auto work = [this, q, reference, exporting, left_out, redact, seen,
               by = who.username]() -> api_response {
    const auto started = std::chrono::steady_clock::now();
    auto last = started;
    subject_result found;
    try {
      found = search_subject(s_.reader, q, [&](const subject_progress& p) {
        auto t = std::chrono::steady_clock::now();
        if (t - last < std::chrono::seconds(10)) return;
        last = t;
        s_.log->info(
            "event=subject_search_progress agency={} transfers_read={} calls_read={} "
            "transfers_found={} calls_found={}",
            q.agency, p.transfers_read, p.calls_read, p.transfers_found, p.calls_found);
      });
      s_.log->info(
          "event=subject_search agency={} transfers_read={} calls_read={} transfers_found={} "
          "calls_found={} truncated={} ms={}",
          q.agency, found.read.transfers_read, found.read.calls_read, found.read.transfers_found,
          found.read.calls_found, found.truncated,
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                started)
              .count());
      if (!exporting) {
        for (const auto& f : found.transfers) seen->transfers.push_back(f.transfer.id);
        for (const auto& f : found.calls)
          seen->calls.emplace_back(f.call.id, f.call.transfer_id.value_or(""));
        json j = subject_result_json(found, q);
        j["reference"] = reference;
        return json_response(200, j);
      }
      // The export: each transfer as its detail shows it (less the audit rows' hashes), how long
      // it is kept, and to whom its messages were disclosed; each call as logged.
      json transfers = json::array();
      for (const auto& f : found.transfers) {
        if (left_out.transfers.count(f.transfer.id)) continue;
        bool party = false;
        auto rec = s_.reader.transfer_detail(f.transfer.id, q.agency, party);
        if (!rec || !party) continue;
        json detail = transfer_detail_json(*rec);
        detail.erase("audit");
        store::access_filter af;
        af.transfer_id = f.transfer.id;
        af.operation = std::string(store::access_op::disclose);
        af.limit = 500;
        json disclosed = json::array();
        for (const auto& e : s_.reader.access_log(af))
          disclosed.push_back({{"at", format_rfc3339(e.at)},
                               {"by_agency", e.agency.empty() ? json() : json(e.agency)},
                               {"to", e.recipients},
                               {"channel", e.channel},
                               {"message_id", e.ref}});
        transfers.push_back({{"transfer", std::move(detail)},
                             {"retention", retention_json(*rec, q.agency)},
                             {"disclosed", std::move(disclosed)},
                             {"found", subject_places_json(f.places)}});
        seen->transfers.push_back(f.transfer.id);
      }
      json calls = json::array();
      for (const auto& f : found.calls) {
        if (left_out.calls.count(f.call.id)) continue;
        calls.push_back(call_export_json(f.call));
        seen->calls.emplace_back(f.call.id, f.call.transfer_id.value_or(""));
      }
      subject_redact(transfers, redact);
      subject_redact(calls, redact);
      const auto* a = s_.cfg.find_agency(q.agency);
      json terms = json::array();
      for (const auto& t : q.terms)
        terms.push_back({{"kind", to_string(t.kind)}, {"value", t.value}});
      json out = {
          {"reference", reference},
          {"agency", q.agency},
          {"agency_name", a ? a->name : q.agency},
          {"generated_at", format_rfc3339(now_ms())},
          {"generated_by", by.empty() ? json() : json(by)},
          {"since", format_rfc3339(q.since)},
          {"until", format_rfc3339(q.until)},
          {"terms", std::move(terms)},
          {"redacted_phrases", redact.size()},
          {"left_out",
           {{"transfers", left_out.transfers.size()}, {"calls", left_out.calls.size()}}},
          {"truncated", found.truncated},
          {"retention_rule",
           "A transfer is kept for the longer of its two agencies' transfer periods from its last "
           "activity, a call for the longer of its two agencies' call periods from when it "
           "started; then its personal content is purged (unless a legal hold stands)."},
          {"transfers", std::move(transfers)},
          {"calls", std::move(calls)}};
      api_response r = json_response(200, out);
      r.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"subject-access-" + q.agency + ".json\"");
      return r;
    } catch (const store::store_error& e) {
      return error_response(make_error(errc::store_unavailable, e.what()));
    }
  };
  const std::string why = "subject access request " + reference;
  blocking(verb, std::move(work),
           [this, who, q, seen, why, exporting, done = std::move(done)](api_response r) mutable {
             if (r.status != 200) return done(std::move(r));
             // The search itself, then each transfer and call the answer shows (the search's
             // excerpts are content) or hands over: logged before the answer leaves.
             const std::string_view op =
                 exporting ? store::access_op::disclose : store::access_op::consult;
             std::vector<store::access_entry> entries;
             auto self = access_by(who, store::access_op::consult, "subject_search");
             self.agency = q.agency;
             self.ref = std::to_string(seen->transfers.size()) + " transfers, " +
                        std::to_string(seen->calls.size()) + " calls" +
                        (exporting ? " exported" : " found");
             self.justification = why;
             entries.push_back(self);
             auto entry = [&](const char* object) {
               auto e = access_by(who, op, object);
               e.agency = q.agency;
               e.justification = why;
               if (exporting) e.recipients = "data subject";
               return e;
             };
             for (const auto& id : seen->transfers) {
               auto e = entry("transfer");
               e.transfer_id = id;
               entries.push_back(std::move(e));
             }
             for (const auto& [id, transfer] : seen->calls) {
               auto e = entry("call");
               e.ref = std::to_string(id);
               e.transfer_id = transfer;
               entries.push_back(std::move(e));
             }
             answer_logged(std::move(entries), std::move(r), std::move(done));
           });
}

}  // namespace bl
