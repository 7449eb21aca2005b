// The personal-data access log at the API (issue 18, DPA 2018 s.62): every read of a transfer's
// content is logged before it is answered, and supervisors and admins query the log
// (GET /api/v1/access-log). docs/data-protection.md.

#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "gateway/core/log_value.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/query.hpp"
#include "gateway/service/access_queue.hpp"
#include "gateway/service/access_view.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;

store::access_entry api::access_by(const principal& who, std::string_view operation,
                                   std::string_view object) {
  store::access_entry e;
  e.operation = std::string(operation);
  e.object = std::string(object);
  e.agency = who.agency;
  if (who.username.empty()) {
    // An agency's integration (its API token): the agency is who.
    e.actor = who.agency;
    e.actor_kind = "integration";
    e.channel = "api";
  } else {
    e.actor = who.username;
    e.actor_kind = "user";
    e.channel = who.via_session ? "console" : "api";
  }
  return e;
}

void api::answer_logged(std::vector<store::access_entry> entries, api_response r, done_fn done) {
  if (entries.empty()) return done(std::move(r));
  const std::size_t n = entries.size();
  // Nothing is shown that the log might not hold: without a queue to take the entries (an api
  // wired without one), or with one that refuses them, the read is refused.
  std::optional<error> refused;
  if (!s_.access)
    refused = make_error(errc::internal, "no access log is wired to this api");
  else
    refused = s_.access->record(std::move(entries));
  if (refused) {
    s_.log->warn("event=access_log_refused entries={} code={} error={}", n, refused->id(),
                 log_quote(refused->message));
    return done(error_response(make_error(
        refused->code, "the read was not answered because the access log could not record it: " +
                           refused->message)));
  }
  done(std::move(r));
}

void api::get_access_log(const principal& who, const std::string& query, done_fn done) {
  if (who.who != role::supervisor && who.who != role::dpo && who.who != role::admin)
    return done(error_response(make_error(
        errc::forbidden_role,
        "the access log is for supervisors and data-protection officers (their own agency's "
        "entries) and administrators; a " +
            std::string(to_string(who.who)) + " cannot read it")));
  auto q = parse_query(query);
  auto parsed = access_filter_from(q);
  if (auto* e = std::get_if<error>(&parsed)) return done(error_response(*e));
  auto f = std::get<store::access_filter>(parsed);
  std::string format = q.count("format") ? q["format"] : "json";
  if (format != "json" && format != "csv")
    return done(error_response(
        make_error(errc::bad_request, "query parameter 'format' must be json or csv", "format")));
  if (!who.agency.empty()) {
    // A supervisor or officer reads their own agency's entries and no other's, whatever they ask
    // for.
    if (q.count("agency") && q["agency"] != who.agency)
      return done(error_response(make_error(errc::forbidden_role,
                                            "a " + std::string(to_string(who.who)) +
                                                " reads their own agency's access log ('" +
                                                who.agency + "') only",
                                            "agency")));
    f.agency = who.agency;
  } else if (q.count("agency") && !q["agency"].empty()) {
    if (!s_.cfg.find_agency(q["agency"]))
      return done(error_response(
          make_error(errc::bad_request, "unknown agency '" + q["agency"] + "'", "agency")));
    f.agency = q["agency"];
  }
  // Reading the log is itself logged (s.62(4): its uses are limited, so who used it is kept).
  auto self = access_by(who, store::access_op::consult, "access_log");
  self.ref = access_query_ref(f, format == "csv");
  self.justification = "access-log query (self-monitoring, DPA 2018 s.62(4))";
  // On the worker pool: the reads queued just before the query are written first (up to one
  // batch interval), so that the log shows them.
  auto work = [this, f, csv = format == "csv"]() -> api_response {
    if (s_.access) s_.access->sync();
    std::vector<store::access_entry> entries;
    try {
      entries = s_.reader.access_log(f);
    } catch (const store::store_error& e) {
      return error_response(make_error(errc::store_unavailable, e.what()));
    }
    if (csv) {
      api_response r{200, "text/csv; charset=utf-8", access_csv(entries), {}};
      r.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"access-log" +
                                 (f.agency ? "-" + *f.agency : std::string()) + ".csv\"");
      return r;
    }
    json list = json::array();
    for (const auto& e : entries) list.push_back(access_entry_json(e));
    json next = entries.size() == static_cast<std::size_t>(f.limit) && !entries.empty()
                    ? json(entries.back().seq)
                    : json();
    return json_response(200, json{{"agency", f.agency ? json(*f.agency) : json()},
                                   {"entries", std::move(list)},
                                   {"next_before", std::move(next)}});
  };
  blocking("access log", std::move(work),
           [this, self = std::move(self), done = std::move(done)](api_response r) mutable {
             if (r.status != 200) return done(std::move(r));
             answer_logged({std::move(self)}, std::move(r), std::move(done));
           });
}

}  // namespace bl
