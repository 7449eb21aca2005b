// GET /api/v1/reports/savings: the management savings report as JSON, CSV or a printable page.
// It runs on the HTTP thread that received the request, through a read-only connection of its
// own, so the engine thread never waits for it.

#include <openssl/evp.h>

#include <algorithm>
#include <string>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "gateway/core/failpoint.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/query.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/savings.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

namespace {

constexpr int max_report_months = 120;

// A month query parameter ("2026-04"); `err` names the parameter and the value when it is bad.
std::optional<year_month> month_param(const std::map<std::string, std::string>& q,
                                      const std::string& key, year_month fallback,
                                      std::optional<error>& err) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return fallback;
  auto m = year_month::parse(it->second);
  if (!m)
    err = make_error(errc::bad_request,
                     "query parameter '" + key + "' must be a month written YYYY-MM, such as " +
                         fallback.str() + ", not '" + it->second + "'",
                     key);
  return m;
}

// The CSP source for the page's one inline style element: 'sha256-<base64 digest>'.
std::string style_hash_source(const std::string& css) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(css.data(), css.size(), md, &len, EVP_sha256(), nullptr);
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return "'sha256-" + std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n)) + "'";
}

}  // namespace

api_response api::get_savings_report(const principal& who, const std::string& query) const {
  if (who.who != role::manager && who.who != role::admin)
    return error_response(make_error(
        errc::forbidden_role, "the savings report is for managers and administrators; a " +
                                  std::string(to_string(who.who)) + " account cannot see it"));
  auto q = parse_query(query);
  // Default: the last 12 months up to and including the current UK month.
  const year_month current = uk_month_of(now_ms());
  std::optional<error> err;
  auto to = month_param(q, "to", current, err);
  if (err) return error_response(*err);
  auto from = month_param(q, "from", to->plus(-11), err);
  if (err) return error_response(*err);
  if (*to < *from)
    return error_response(make_error(errc::bad_request,
                                     "'from' (" + from->str() + ") is after 'to' (" + to->str() +
                                         "); the first month must not be after the last",
                                     "from"));
  if (to->index() - from->index() + 1 > max_report_months)
    return error_response(make_error(
        errc::bad_request,
        "a report covers at most " + std::to_string(max_report_months) + " months; " + from->str() +
            " to " + to->str() + " is " + std::to_string(to->index() - from->index() + 1),
        "to"));
  std::string format = q.count("format") ? q["format"] : "json";
  if (format != "json" && format != "csv" && format != "html")
    return error_response(make_error(
        errc::bad_request,
        "query parameter 'format' must be json, csv or html, not '" + format + "'", "format"));

  // A report that cannot be made is logged and counted here: its coded reply reaches only the
  // manager who asked.
  auto failed = [&](const error& e, std::string_view kind) {
    s_.log->error("event=savings_report_failed user={} from={} to={} code={} kind={} error={}",
                  log_quote(who.username), from->str(), to->str(), e.id(), kind,
                  log_quote(e.message));
    s_.stats.report_failure(e.id());
    return error_response(e);
  };
  savings_report r;
  try {
    if (!s_.reports)
      return failed(make_error(errc::store_unavailable, "the report store is not open"), "closed");
    if (failpoint("reports.store_unavailable"))
      throw store::store_error(store::fault::unavailable,
                               "injected store failure (failpoint reports.store_unavailable)");
    r = compute_savings(s_.cfg, *s_.reports, *from, *to);
  } catch (const store::store_error& e) {
    return failed(store::to_error(e), store::fault_name(e.kind()));
  } catch (const std::invalid_argument& e) {
    return failed(make_error(errc::internal, e.what()), "internal");
  }
  s_.log->info("event=savings_report user={} from={} to={} format={}", log_quote(who.username),
               from->str(), to->str(), format);
  if (format == "json") return json_response(200, to_json(r));
  if (format == "csv") {
    api_response resp{200, "text/csv; charset=utf-8", to_csv(r), {}};
    resp.headers.emplace_back(
        "Content-Disposition",
        "attachment; filename=\"savings-" + from->str() + "-to-" + to->str() + ".csv\"");
    return resp;
  }
  api_response resp{200, "text/html; charset=utf-8", to_html(r), {}};
  // The page is self-contained: its one style element is allowed by hash, nothing else runs.
  resp.headers.emplace_back("Content-Security-Policy",
                            "default-src 'none'; style-src " +
                                style_hash_source(savings_html_style()) +
                                "; img-src data:; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'");
  return resp;
}

}  // namespace bl
