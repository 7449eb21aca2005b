#include "gateway/net/api.hpp"
#include "gateway/service/access_queue.hpp"
#include "gateway/service/purge_scheduler.hpp"
#include "gateway/service/retention.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/digest.hpp"
#include "gateway/core/failpoint.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/net/console_hub.hpp"
#include "gateway/net/console_session.hpp"
#include "gateway/net/eido_session.hpp"
#include "gateway/net/query.hpp"
#include "gateway/net/reader_json.hpp"
#include "gateway/net/ucri2_handler.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/service/cluster.hpp"
#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/outage_monitor.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/service/token_auth.hpp"
#include "gateway/store/access_log.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;
namespace asio = boost::asio;

namespace {
// Reads an integer query parameter; an error names the parameter so the caller can fix it.
std::optional<error> int_param(const std::map<std::string, std::string>& q, const std::string& key,
                               std::int64_t min, std::int64_t max, std::int64_t& out) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto r = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (r.ec != std::errc() || r.ptr != it->second.data() + it->second.size() || v < min || v > max)
    return make_error(errc::bad_request,
                      "query parameter '" + key + "' must be a whole number from " +
                          std::to_string(min) + " to " + std::to_string(max),
                      key);
  out = v;
  return std::nullopt;
}

// RFC 7235: the scheme name is case-insensitive.
std::string bearer(std::string_view header) {
  constexpr std::string_view prefix = "bearer ";
  if (header.size() <= prefix.size()) return {};
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != prefix[i]) return {};
  auto token = header.substr(prefix.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return std::string(token);
}

constexpr std::string_view session_cookie = "bl_session";

// The value of one cookie in a Cookie header ("a=1; bl_session=xyz").
std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto part = header.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

// Compares secrets without an early exit, so timing does not reveal a matching prefix.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool unsafe_method(const std::string& m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

std::string_view content_type_for(const std::filesystem::path& p) {
  static const std::map<std::string, std::string_view> types = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".wav", "audio/wav"},
      {".mp3", "audio/mpeg"},
      {".txt", "text/plain; charset=utf-8"},
  };
  auto it = types.find(p.extension().string());
  return it == types.end() ? std::string_view("application/octet-stream") : it->second;
}

// The scheme://host[:port] part of a URL, for the CSP's img-src.
std::string origin_of(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  auto slash = url.find('/', scheme + 3);
  std::string o = url.substr(0, slash);
  // Leaflet's {s} subdomain placeholder: allow any subdomain of the host.
  auto s = o.find("{s}.");
  if (s != std::string::npos) o.replace(s, 3, "*");
  return o;
}

json user_json(const principal& p) {
  return {{"username", p.username},
          {"display_name", p.display_name},
          {"role", to_string(p.who)},
          {"agency", p.agency.empty() ? json() : json(p.agency)}};
}
}  // namespace

api_response json_response(int status, const json& body) {
  return {status, "application/json", body.dump(), {}};
}

std::string session_token_of(std::string_view cookie_header) {
  return cookie_value(cookie_header, session_cookie);
}

submitter api::submitter_of(const principal& who) {
  const char* edge = who.via_session ? "console" : "api";
  return submitter{who.agency, edge, edge, who.username, {}};
}

console_session_services api::console_services() const {
  return {s_.cfg, s_.schemas, s_.accts, s_.hub, *s_.log, s_.stats};
}

eido_session_services api::eido_services() const {
  return {s_.cfg, s_.schemas, s_.pipeline, s_.deliveries, *s_.log, s_.stats, &s_.links, &s_.reader};
}

void api::set_degraded(const std::string& component, const std::string& why) {
  s_.pipeline.set_degraded(component, why);
}

void api::begin_shutdown() {
  s_.pipeline.begin_shutdown();
}

void api::record_error(const api_response& r) {
  if (!r.error_id.empty()) s_.stats.error(r.error_id);
}

std::optional<error> api::read_body(const std::string& body, const char* schema, json& doc) const {
  if (auto e = parse_json_bounded(body, doc, edge_json_limits(s_.cfg), "the request body"))
    return e;
  return s_.schemas.validate(schema, doc);
}

api_response api::error_response(const error& e) {
  return error_reply(e);
}

void api::handle(api_request req, asio::any_io_executor ex, done_fn reply) {
  // Every reply passes here, so every error is counted exactly once, whichever path made it,
  // and a request is answered once even if a handler throws after answering.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  done_fn done = [this, answered, reply = std::move(reply)](api_response r) {
    if (answered->exchange(true)) return;
    record_error(r);
    add_security_headers(r);
    reply(std::move(r));
  };
  // The session boundary: nothing a handler throws (a store error in an accounts call, a bug)
  // may reach the I/O thread, where it would end the process. It becomes a 500 with a code and
  // a log line; the request changed nothing unless its answer said so.
  const std::string method = req.method;
  const std::string path = req.target.substr(0, req.target.find('?'));
  try {
    if (failpoint("http.handler_exception"))
      throw std::runtime_error("injected failure (failpoint http.handler_exception)");
    dispatch(req, std::move(ex), done);
  } catch (const std::exception& e) {
    s_.log->error("event=request_failed method={} path={} error={}", log_quote(method),
                  log_quote(path), log_quote(e.what()));
    done(error_response(make_error(errc::internal,
                                   "the gateway failed while handling this request; it was "
                                   "logged. Retry, and phone the other control room if it "
                                   "happens again")));
  }
}

// The routes under /api/v1. Without valid credentials, a path or method that does not exist is
// answered 401 like one that does: an outsider learns nothing of the API's surface.
class api::api_v1_routes final : public http_handler {
 public:
  explicit api_v1_routes(api& a) : a_(a) {}
  std::string mount() const override { return "/api/v1"; }
  void add_routes(route_table& t) override { a_.add_v1_routes(t); }
  void unmatched(const route_call& c, reply_fn done) override {
    auto authn = a_.authenticate(c.req);
    if (auto* e = std::get_if<error>(&authn)) return done(error_response(*e));
    http_handler::unmatched(c, std::move(done));
  }
  api_response wrong_method(const route_call& c, const std::string& allow) override {
    auto authn = a_.authenticate(c.req);
    if (auto* e = std::get_if<error>(&authn)) return error_response(*e);
    return http_handler::wrong_method(c, allow);
  }

 private:
  api& a_;
};

// The site: health and metrics for monitoring, and the console's own files for everything else.
class api::site_routes final : public http_handler {
 public:
  explicit site_routes(api& a) : a_(a) {}
  std::string mount() const override { return ""; }
  void add_routes(route_table& t) override {
    t.get("/healthz", route_access::open,
          [this](const route_call&, reply_fn done) { done(a_.health()); });
    t.get("/metrics", route_access::open, [this](const route_call& c, reply_fn done) {
      // With metrics.token_sha256 set, only the monitoring system's token may read the
      // per-agency traffic; the comparison of digests takes the same time however many
      // characters match.
      const auto& want = a_.s_.cfg.metrics_token_sha256;
      if (!want.empty()) {
        std::string token = bearer(c.req.authorization);
        if (token.empty())
          return done(error_response(
              make_error(errc::missing_token, "GET /metrics needs Authorization: Bearer <token>")));
        if (!same_secret(sha256_hex(token), want))
          return done(error_response(
              make_error(errc::invalid_token, "the token is not the metrics token")));
      }
      done(a_.render_metrics());
    });
  }
  void unmatched(const route_call& c, reply_fn done) override {
    if (c.req.method == "GET" || c.req.method == "HEAD") {
      if (auto file = a_.static_file(std::string(c.path))) return done(std::move(*file));
      if (auto missing = a_.console_file_missing(std::string(c.path)))
        return done(std::move(*missing));
    }
    http_handler::unmatched(c, std::move(done));
  }

 private:
  api& a_;
};

void api::add_v1_routes(route_table& t) {
  using A = route_access;
  // Signing in needs no credentials yet; everything else does.
  // Argon2id takes tens of milliseconds by design: it runs on the worker pool.
  t.post("/api/v1/session", A::open, [this](const route_call& c, reply_fn done) {
    blocking(
        "sign_in", [this, req = c.req] { return post_session(req); }, std::move(done));
  });
  t.get("/api/v1/session", A::signed_in,
        [this](const route_call& c, reply_fn done) { done(get_session(*c.who)); });
  t.del("/api/v1/session", A::signed_in,
        [this](const route_call& c, reply_fn done) { done(delete_session(c.req)); });
  t.post("/api/v1/messages", A::agency, [this](const route_call& c, reply_fn done) {
    auto q = parse_query(c.query);
    bool dry_run = q.count("dry_run") && (q["dry_run"] == "true" || q["dry_run"] == "1");
    if (dry_run) return done(validate_message(*c.who, c.req.body));
    post_message(*c.who, c.req.body, std::move(done));
  });
  t.get("/api/v1/transfers", A::agency_read, [this](const route_call& c, reply_fn done) {
    get_transfers(*c.who, std::string(c.query), std::move(done));
  });
  t.get("/api/v1/transfers/{id}", A::agency_read, [this](const route_call& c, reply_fn done) {
    get_transfer(*c.who, c.param, std::move(done));
  });
  t.post("/api/v1/documents", A::agency, [this](const route_call& c, reply_fn done) {
    post_document(*c.who, std::string(c.query), c.req.body, std::move(done));
  });
  t.get("/api/v1/originals/{id}", A::agency_read, [this](const route_call& c, reply_fn done) {
    get_original(*c.who, c.param, std::move(done));
  });
  t.get("/api/v1/access-log", A::signed_in, [this](const route_call& c, reply_fn done) {
    get_access_log(*c.who, std::string(c.query), std::move(done));
  });
  t.get("/api/v1/inbox", A::agency, [this](const route_call& c, reply_fn done) {
    get_inbox(c.who->agency, std::string(c.query), c.ex, std::move(done));
  });
  t.post("/api/v1/inbox/ack", A::agency, [this](const route_call& c, reply_fn done) {
    post_ack(c.who->agency, c.req.body, std::move(done));
  });
  t.get("/api/v1/links", A::signed_in,
        [this](const route_call&, reply_fn done) { done(get_links()); });
  t.get("/api/v1/calls", A::agency_read, [this](const route_call& c, reply_fn done) {
    get_calls(*c.who, std::string(c.query), std::move(done));
  });
  t.post("/api/v1/calls", A::agency, [this](const route_call& c, reply_fn done) {
    post_call(*c.who, c.req.body, std::move(done));
  });
  t.post("/api/v1/phone-claims", A::agency, [this](const route_call& c, reply_fn done) {
    post_phone_claim(*c.who, c.req.body, std::move(done));
  });
  t.post("/api/v1/redirects", A::agency, [this](const route_call& c, reply_fn done) {
    post_redirect(*c.who, c.req.body, std::move(done));
  });
  t.post("/api/v1/holds", A::signed_in, [this](const route_call& c, reply_fn done) {
    change_hold(*c.who, {}, c.req.body, true, std::move(done));
  });
  t.del("/api/v1/holds/{transfer_id}", A::signed_in, [this](const route_call& c, reply_fn done) {
    change_hold(*c.who, c.param, c.req.body, false, std::move(done));
  });
  t.post("/api/v1/subject-access/search", A::signed_in, [this](const route_call& c, reply_fn done) {
    subject_access(*c.who, c.req.body, false, std::move(done));
  });
  t.post("/api/v1/subject-access/export", A::signed_in, [this](const route_call& c, reply_fn done) {
    subject_access(*c.who, c.req.body, true, std::move(done));
  });
  t.get("/api/v1/retention", A::signed_in,
        [this](const route_call&, reply_fn done) { done(get_retention()); });
  t.get("/api/v1/reports/savings", A::signed_in, [this](const route_call& c, reply_fn done) {
    blocking(
        "savings_report",
        [this, who = *c.who, query = std::string(c.query)] {
          return get_savings_report(who, query);
        },
        std::move(done));
  });
  t.get("/api/v1/geo", A::signed_in,
        [this](const route_call& c, reply_fn done) { done(get_geo(std::string(c.query))); });
  t.get("/api/v1/users", A::signed_in,
        [this](const route_call& c, reply_fn done) { done(get_users(*c.who)); });
  t.post("/api/v1/users", A::signed_in, [this](const route_call& c, reply_fn done) {
    blocking(
        "add_user", [this, who = *c.who, body = c.req.body] { return post_user(who, body); },
        std::move(done));
  });
  t.patch("/api/v1/users/{name}", A::signed_in, [this](const route_call& c, reply_fn done) {
    blocking(
        "change_user",
        [this, who = *c.who, body = c.req.body, name = c.param] {
          return patch_user(who, name, body);
        },
        std::move(done));
  });
}

void api::dispatch(const api_request& req, asio::any_io_executor ex, done_fn done) {
  std::string_view target = req.target;
  auto qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  const std::string_view query =
      qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);
  route_call call{req, path, query, {}, nullptr, std::move(ex)};

  auto found = router_.find(req.method, path);
  if (auto* none = std::get_if<router::no_route>(&found)) {
    if (!none->handler)
      return done(
          error_response(make_error(errc::not_found, "no endpoint at " + std::string(path))));
    return none->handler->unmatched(call, std::move(done));
  }
  if (auto* wrong = std::get_if<router::wrong_method>(&found))
    return done(wrong->handler->wrong_method(call, wrong->allow));

  auto& m = std::get<router::match>(found);
  call.param = std::move(m.param);
  std::optional<principal> who;
  if (m.r->access != route_access::open) {
    auto authn = authenticate(req);
    if (auto* e = std::get_if<error>(&authn)) return done(error_response(*e));
    who = std::get<principal>(std::move(authn));
    // An agency's own system (a bearer token, not a console) is there: not out (outage_monitor).
    if (!who->via_session && !who->agency.empty()) s_.links.heard(who->agency, "api", now_ms());
    // Transfers belong to agencies: only someone acting for one may read or send them.
    if (m.r->access != route_access::signed_in && who->agency.empty())
      return done(error_response(make_error(
          errc::forbidden_role, "a " + std::string(to_string(who->who)) +
                                    " account acts for no agency, so it has no transfers; "
                                    "sign in as an operator or supervisor")));
    // An agency's data-protection officer reads its transfers but acts for it in nothing.
    if (m.r->access == route_access::agency && !acts_for_agency(*who))
      return done(error_response(make_error(
          errc::forbidden_role, "a " + std::string(to_string(who->who)) +
                                    " account reads its agency's transfers but does not send, "
                                    "answer or take them; sign in as an operator or supervisor")));
    call.who = &*who;
  }
  m.r->fn(call, std::move(done));
}

api::api(api_services s) : s_(std::move(s)) {
  router_.add(std::make_shared<api_v1_routes>(*this));
  router_.add(std::make_shared<ucri2_handler>(ucri2_services{
      s_.cfg, s_.schemas, s_.auth, s_.pipeline, s_.deliveries, s_.reader, *s_.log, &s_.links}));
  router_.add(std::make_shared<site_routes>(*this));
}

bool api::origin_allowed(const api_request& req) const {
  if (req.origin.empty()) return true;  // not a browser, or a same-origin GET
  std::string own = std::string(req.tls ? "https://" : "http://") + req.host;
  if (req.origin == own) return true;
  for (const auto& o : s_.cfg.console.allowed_origins)
    if (req.origin == o) return true;
  return false;
}

std::variant<principal, error> api::authenticate(const api_request& req) const {
  std::string token = bearer(req.authorization);
  if (!token.empty()) {
    auto agency = s_.auth.agency_for(token);
    if (!agency) return make_error(errc::invalid_token, "the bearer token is not recognised");
    principal p;
    p.agency = *agency;
    p.who = role::operator_role;
    return p;
  }
  std::string sid = cookie_value(req.cookie, session_cookie);
  if (sid.empty())
    return make_error(errc::missing_token,
                      "send 'Authorization: Bearer <token>', or sign in to the console first");
  if (!origin_allowed(req))
    return make_error(errc::bad_origin, "requests from " + req.origin + " are not accepted");
  auto s = s_.accts.session(sid);
  if (auto* e = std::get_if<error>(&s)) return *e;
  auto& p = std::get<principal>(s);
  if (unsafe_method(req.method) && !same_secret(req.csrf_token, p.csrf_token))
    return make_error(errc::csrf_failed,
                      req.csrf_token.empty()
                          ? "send the session's anti-forgery token in the X-CSRF-Token header"
                          : "the X-CSRF-Token header does not match this session");
  return std::move(p);
}

void api::add_security_headers(api_response& r) const {
  std::string img = "'self' data:";
  if (auto o = origin_of(s_.cfg.console.tile_url); !o.empty()) img += " " + o;
  // A reply with a policy of its own (the printable savings report's inline style) keeps it.
  bool own_policy = std::any_of(r.headers.begin(), r.headers.end(),
                                [](const auto& h) { return h.first == "Content-Security-Policy"; });
  if (!own_policy)
    r.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img +
            "; connect-src 'self'; font-src 'self'; media-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  if (s_.cfg.tls.enabled()) r.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
}

void api::blocking(const char* what, std::function<api_response()> work, done_fn done) {
  auto run = [this, what, work = std::move(work)]() -> api_response {
    try {
      return work();
    } catch (const std::exception& e) {
      s_.log->error("event=request_failed work={} error={}", what, log_quote(e.what()));
      return error_response(make_error(errc::internal, std::string(what) + " failed"));
    }
  };
  if (!s_.workers) return done(run());
  if (blocking_jobs_.fetch_add(1) >= max_blocking_jobs) {
    --blocking_jobs_;
    s_.log->warn("event=workers_busy work={} waiting={}", what, max_blocking_jobs);
    return done(error_response(make_error(
        errc::busy, std::to_string(max_blocking_jobs) + " sign-ins and reports are waiting")));
  }
  asio::post(s_.workers, [this, run = std::move(run), done = std::move(done)] {
    if (workers_beat_) (*workers_beat_)();
    while (failpoint("workers.stall")) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = run();
    if (workers_beat_) (*workers_beat_)();
    --blocking_jobs_;
    done(std::move(r));
  });
}

api_response api::post_session(const api_request& req) {
  if (!origin_allowed(req))
    return error_response(
        make_error(errc::bad_origin, "sign-ins from " + req.origin + " are not accepted"));
  json doc;
  if (auto e = parse_json_bounded(req.body, doc, edge_json_limits(s_.cfg), "the request body"))
    return error_response(*e);
  if (auto e = s_.schemas.validate("api/login", doc)) return error_response(*e);
  auto r = s_.accts.login(doc.at("username").get<std::string>(),
                          doc.at("password").get<std::string>(), req.remote);
  if (auto* e = std::get_if<error>(&r)) {
    // The password is never logged; the username is, so that attacks can be seen.
    s_.log->warn("event=login_failed username={} remote={} code={}",
                 log_quote(doc.at("username").get<std::string>()), log_quote(req.remote), e->id());
    return error_response(*e);
  }
  auto& ok = std::get<login_ok>(r);
  s_.log->info("event=login username={} role={} agency={} remote={}", log_quote(ok.who.username),
               to_string(ok.who.who), ok.who.agency, log_quote(req.remote));
  auto resp = get_session(ok.who);
  std::string cookie = std::string(session_cookie) + "=" + ok.session_token +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                       std::to_string(s_.cfg.console.session_max_s);
  if (req.tls) cookie += "; Secure";
  resp.headers.emplace_back("Set-Cookie", cookie);
  return resp;
}

api_response api::get_session(const principal& who) {
  json agencies = json::array();
  for (const auto& a : s_.cfg.agencies)
    agencies.push_back(
        {{"id", a.id}, {"name", a.name}, {"kind", to_string(a.kind)}, {"phone", a.phone}});
  json out = {
      {"user", user_json(who)},
      {"agencies", agencies},
      {"map",
       {{"tile_url", s_.cfg.console.tile_url.empty() ? json() : json(s_.cfg.console.tile_url)},
        {"attribution", s_.cfg.console.tile_attribution}}}};
  // For an agency without a CAD (or UCRI2 client) of its own, its consoles are the receiving
  // system: the gateway acknowledges its deliveries once they are shown on one of them. (For any
  // agency, a request shown on one of its consoles is delivered to it: console_hub.)
  out["acknowledges_deliveries"] = consoles_receive(s_.cfg, who.agency);
  if (who.via_session) {
    out["csrf_token"] = who.csrf_token;
    out["expires_at"] = format_rfc3339(who.expires_at);
  }
  return json_response(200, out);
}

api_response api::delete_session(const api_request& req) {
  s_.accts.logout(cookie_value(req.cookie, session_cookie));
  api_response r{204, "application/json", {}, {}};
  r.headers.emplace_back("Set-Cookie", std::string(session_cookie) +
                                           "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return r;
}

namespace {
// What of console.dir is served besides index.html: its assets. The directory also holds
// package.json, node_modules and build tools, none of which a browser has any business fetching.
const std::set<std::string> console_assets = {"favicon.ico", "css", "js",
                                              "vendor",      "img", "sounds"};
}  // namespace

std::optional<api_response> api::static_file(const std::string& path) const {
  namespace fs = std::filesystem;
  if (s_.cfg.console.dir.empty()) return std::nullopt;
  std::string rel = path == "/" ? "index.html" : percent_decode(path.substr(1));
  // No way out of the console directory: no "..", no absolute parts, no hidden files.
  fs::path p(rel);
  for (const auto& part : p)
    if (part == ".." || part.string().empty() || part.string().front() == '.') return std::nullopt;
  if (p.is_absolute()) return std::nullopt;
  // Only the page and its assets (console_assets).
  if (p.begin()->string() != "index.html" && !console_assets.count(p.begin()->string()))
    return std::nullopt;
  fs::path full = fs::path(s_.cfg.console.dir) / p;
  std::error_code ec;
  // Browsers ask for /favicon.ico whatever the page links; the console's icon is an SVG.
  if (rel == "favicon.ico" && !fs::is_regular_file(full, ec))
    full = fs::path(s_.cfg.console.dir) / "img" / "favicon.svg";
  if (!fs::is_regular_file(full, ec)) return std::nullopt;
  std::ifstream in(full, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream body;
  body << in.rdbuf();
  api_response r{200, std::string(content_type_for(full)), body.str(), {}};
  // The page itself is never cached (it must pick up a new deployment); its assets may be.
  r.cacheable = full.extension() != ".html";
  return r;
}

std::optional<api_response> api::console_file_missing(const std::string& path) const {
  // A console asset that is not there answers as a browser and an operator can read it (plain
  // text, saying what to run), not as an API error in JSON: a page whose map or charts do not
  // load is then one look at the network tab away from its cause.
  if (s_.cfg.console.dir.empty() || path.size() < 2) return std::nullopt;
  std::string first = path.substr(1, path.find('/', 1) - 1);  // npos - 1 still takes the rest
  if (!console_assets.count(first)) return std::nullopt;
  std::string text = "not found: " + path + "\n";
  if (first == "vendor")
    text +=
        "The console's map and chart libraries have not been fetched. Run ./tools/run, or in "
        "the console directory: npm ci && npm run vendor\n";
  s_.log->info("event=console_file_missing path={}", log_quote(path));
  return api_response{404, "text/plain; charset=utf-8", text, {}};
}

void api::post_message(const principal& who, const std::string& body, done_fn done) {
  s_.pipeline.submit_body(
      body, submitter_of(who), [done = std::move(done)](std::variant<receipt_result, error> r) {
        if (auto* e = std::get_if<error>(&r)) return done(error_response(*e));
        auto& rr = std::get<receipt_result>(r);
        done(json_response(rr.duplicate ? 200 : 202, json{{"receipt", rr.receipt}}));
      });
}

void api::get_transfers(const principal& who, const std::string& query, done_fn done) {
  const std::string& agency = who.agency;
  auto q = parse_query(query);
  store::transfer_filter f;
  f.state = q.count("state") ? q["state"] : "";
  f.category = q.count("category") ? q["category"] : "";
  if (!f.state.empty() && !transfer_state_from(f.state))
    return done(
        error_response(make_error(errc::bad_request, "unknown state '" + f.state + "'", "state")));
  if (q.count("since") && !q["since"].empty()) {
    f.since = parse_rfc3339(q["since"]);
    if (!f.since)
      return done(error_response(make_error(
          errc::bad_request, "'since' must be an RFC 3339 date-time such as 2026-11-21T14:00:00Z",
          "since")));
  }
  std::int64_t limit = 200;
  if (auto e = int_param(q, "limit", 1, 1000, limit)) return done(error_response(*e));
  f.limit = static_cast<int>(limit);
  try {
    // The event cursor is read before the list: events after it may already show in the list
    // (a console ignores older versions), but none committed in between can fall in a gap. A
    // console subscribes to the WebSocket with hello {"after": last_event} and misses nothing.
    std::int64_t last_event = s_.reader.last_event_id();
    auto rows = s_.reader.list_transfers(agency, f);
    // Each transfer listed is consulted: its summary and parties are shown.
    std::vector<store::access_entry> seen;
    seen.reserve(rows.size());
    for (const auto& row : rows) {
      auto e = access_by(who, store::access_op::consult, "transfer_list");
      e.transfer_id = row.id;
      e.justification = "party to the transfer";
      seen.push_back(std::move(e));
    }
    auto r = json_response(200, json{{"agency", agency},
                                     {"last_event", last_event},
                                     {"transfers", transfer_list_json(rows, agency)}});
    answer_logged(std::move(seen), std::move(r), std::move(done));
  } catch (const store::store_error& e) {
    done(error_response(make_error(errc::store_unavailable, e.what())));
  }
}

void api::get_transfer(const principal& who, const std::string& id, done_fn done) {
  const std::string& agency = who.agency;
  try {
    bool party = false;
    auto t = s_.reader.transfer_detail(id, agency, party);
    // "Not yours" and "no such transfer" get the same answer: ids must not be probeable.
    if (!t || !party)
      return done(error_response(make_error(errc::transfer_not_found, "no transfer '" + id + "'")));
    auto e = access_by(who, store::access_op::consult, "transfer");
    e.transfer_id = id;
    e.justification = "party to the transfer";
    json detail = transfer_detail_json(*t);
    detail["retention"] = retention_json(*t, agency);
    answer_logged({std::move(e)}, json_response(200, json{{"transfer", std::move(detail)}}),
                  std::move(done));
  } catch (const store::store_error& e) {
    done(error_response(make_error(errc::store_unavailable, e.what())));
  }
}

json api::retention_json(const store::transfer_record& t, const std::string& viewer) const {
  // When its content goes (unless held), and the holds: a hold's reason is shown to the agency
  // that placed it (and to administrators), the other party sees only that it stands.
  auto due = transfer_purge_due(s_.cfg, t.requester, t.responder, t.updated_at);
  json holds = json::array();
  json current;
  for (const auto& h : t.holds) {
    const bool own = viewer.empty() || h.agency == viewer;
    json j = {{"id", h.id},
              {"agency", h.agency.empty() ? json() : json(h.agency)},
              {"placed_by", own ? json(h.placed_by) : json()},
              {"placed_at", format_rfc3339(h.placed_at)},
              {"reason", own ? json(h.reason) : json()},
              {"lifted_by", h.lifted_at && own ? json(h.lifted_by) : json()},
              {"lifted_at", h.lifted_at ? json(format_rfc3339(*h.lifted_at)) : json()},
              {"lift_reason", h.lifted_at && own ? json(h.lift_reason) : json()}};
    if (!h.lifted_at) current = j;
    holds.push_back(std::move(j));
  }
  return {{"purged_at", t.purged_at ? json(format_rfc3339(*t.purged_at)) : json()},
          {"purge_due", due ? json(format_rfc3339(*due)) : json()},
          {"held", !current.is_null()},
          {"hold", current},
          {"holds", std::move(holds)}};
}

void api::get_original(const principal& who, const std::string& message_id, done_fn done) {
  const std::string& agency = who.agency;
  try {
    bool party = false;
    auto o = s_.reader.original(message_id, agency, party);
    // As for a transfer: "not yours" and "none" get the same answer.
    if (!o || !party)
      return done(error_response(make_error(
          errc::not_found, "no original document is kept for message '" + message_id + "'")));
    // Byte for byte, with its own media type; a partner's document is never run as a page of
    // the console's origin (sandboxed, nothing loads).
    api_response r{200, o->doc.media_type + "; charset=utf-8", std::move(o->doc.body), {}};
    r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
    std::string standard = o->doc.standard;  // set by an edge; a header carries printable ASCII
    for (auto& ch : standard)
      if (ch < 0x20 || ch > 0x7e) ch = '?';
    r.headers.emplace_back("Bluelink-Standard", standard);
    r.headers.emplace_back("Bluelink-Received-At", format_rfc3339(from_ms(o->received_at_ms)));
    auto e = access_by(who, store::access_op::consult, "original");
    e.transfer_id = o->transfer_id;
    e.ref = message_id;
    e.justification = "party to the transfer";
    answer_logged({std::move(e)}, std::move(r), std::move(done));
  } catch (const store::store_error& e) {
    done(error_response(make_error(errc::store_unavailable, e.what())));
  }
}

namespace {

/// One long-poll of GET /api/v1/inbox: answers with what follows the cursor as soon as there is
/// something, or when the wait runs out. A wake that finds nothing (a commit that was already
/// waking waiters as this one registered: delivery_stream::when_available) waits again, so that
/// the poll never answers early with no deliveries.
class inbox_poll : public std::enable_shared_from_this<inbox_poll> {
 public:
  inbox_poll(asio::any_io_executor ex, delivery_stream& deliveries, std::string agency,
             std::int64_t after, std::function<api_response()> build, api::done_fn done)
      : ex_(ex),
        timer_(ex),
        deliveries_(deliveries),
        agency_(std::move(agency)),
        after_(after),
        build_(std::move(build)),
        done_(std::move(done)) {}

  void start(std::chrono::seconds wait) {
    timer_.expires_after(wait);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code) { self->finish(); });
    arm();
  }

 private:
  void arm() {
    ticket_ = deliveries_.when_available(agency_, after_, [self = shared_from_this()] {
      asio::post(self->ex_, [self] { self->woken(); });
    });
  }
  void woken() {
    if (finished_) return;
    if (!deliveries_.any(agency_, after_)) return arm();  // an early wake: wait on
    finish();
  }
  void finish() {
    if (finished_.exchange(true)) return;
    timer_.cancel();
    deliveries_.cancel(ticket_.load());
    done_(build_());
  }

  asio::any_io_executor ex_;
  asio::steady_timer timer_;
  delivery_stream& deliveries_;
  const std::string agency_;
  const std::int64_t after_;
  std::function<api_response()> build_;
  api::done_fn done_;
  std::atomic<bool> finished_{false};
  std::atomic<std::uint64_t> ticket_{0};
};

}  // namespace

void api::get_inbox(const std::string& agency, const std::string& query, asio::any_io_executor ex,
                    done_fn done) {
  auto q = parse_query(query);
  std::int64_t after = -1, wait = 0, limit = s_.cfg.inbox_batch;
  if (auto e = int_param(q, "after", 0, INT64_MAX, after)) return done(error_response(*e));
  if (auto e = int_param(q, "wait", 0, s_.cfg.max_wait_s, wait)) return done(error_response(*e));
  if (auto e = int_param(q, "limit", 1, s_.cfg.inbox_batch, limit)) return done(error_response(*e));

  // The response embeds each stored message verbatim instead of re-serialising it.
  auto build = [this, agency, limit, after]() -> api_response {
    try {
      auto b = s_.deliveries.read(agency, after, static_cast<int>(limit));
      std::string body = "{\"agency\":" + json(agency).dump() +
                         ",\"after\":" + std::to_string(b.after) +
                         ",\"acked_upto\":" + std::to_string(b.acked_upto) + ",\"deliveries\":[";
      for (std::size_t i = 0; i < b.items.size(); ++i) {
        if (i) body += ',';
        body += "{\"seq\":" + std::to_string(b.items[i].seq) +
                ",\"type\":" + json(b.items[i].type).dump() + ",\"message\":" + b.items[i].doc +
                "}";
      }
      body += "]}";
      return {200, "application/json", std::move(body), {}};
    } catch (const store::store_error& e) {
      return error_response(make_error(errc::store_unavailable, e.what()));
    }
  };
  if (wait == 0 || s_.pipeline.shutting_down()) return done(build());

  // Long-poll: whichever comes first, a delivery after the cursor or the wait running out.
  auto p = std::make_shared<inbox_poll>(ex, s_.deliveries, agency, after, std::move(build),
                                        std::move(done));
  p->start(std::chrono::seconds(wait));
}

void api::post_ack(const std::string& agency, const std::string& body, done_fn done) {
  json doc;
  if (auto e = read_body(body, "api/inbox_ack", doc)) return done(error_response(*e));
  s_.deliveries.ack(agency, doc.at("upto").get<std::int64_t>(),
                    [done = std::move(done)](std::variant<ack_result, error> r) {
                      if (auto* e = std::get_if<error>(&r)) return done(error_response(*e));
                      auto& a = std::get<ack_result>(r);
                      done(json_response(200, json{{"acked", a.acked}, {"upto", a.upto}}));
                    });
}

// Every agency's links, visible to every agency: a sender needs to know whether the other room's
// CAD is listening, or anyone is at its console, before it relies on an electronic transfer.
json links_json(const gateway_config& cfg, const link_registry& links,
                const std::map<std::string, int>* consoles, const outage_monitor* outages) {
  auto states = links.snapshot();
  const auto elsewhere = consoles ? links.peer_consoles() : std::map<std::string, int>{};
  auto now = now_ms();
  json out = json::array();
  for (const auto& a : cfg.agencies) {
    json cad;  // null: this agency has no CAD registered on the link
    for (const auto& st : states) {
      if (st.agency != a.id || st.kind != "cad") continue;
      auto t = [](const std::optional<time_point>& v) {
        return v ? json(format_rfc3339(*v)) : json();
      };
      cad = {{"up", st.up},
             {"session", st.session.empty() ? json() : json(st.session)},
             {"node", st.node.empty() ? json() : json(st.node)},
             {"client", st.client.empty() ? json() : json(st.client)},
             {"connected_since", t(st.connected_since)},
             {"last_heard", t(st.last_heard)},
             {"last_heard_age_s",
              st.last_heard ? json(std::chrono::duration<double>(now - *st.last_heard).count())
                            : json()},
             {"last_down", t(st.last_down)},
             {"down_reason", st.down_reason.empty() ? json() : json(st.down_reason)},
             {"sent_upto", st.sent_upto},
             {"acked_upto", st.acked_upto},
             {"backlog", std::max<std::int64_t>(0, st.last_seq - st.acked_upto)}};
    }
    // The agency's other edges (HTTP API, UCRI2, EIDO), each as last heard on any node.
    json edges = json::array();
    for (const auto& st : states) {
      if (st.agency != a.id || st.kind == "cad" || !st.last_heard) continue;
      edges.push_back(
          {{"kind", st.kind},
           {"node", st.node.empty() ? json() : json(st.node)},
           {"last_heard", format_rfc3339(*st.last_heard)},
           {"last_heard_age_s", std::chrono::duration<double>(now - *st.last_heard).count()}});
    }
    json fallback;  // null: no buddy room configured
    if (const auto* b = a.fallback_agency.empty() ? nullptr : cfg.find_agency(a.fallback_agency))
      fallback = {{"agency", b->id},
                  {"name", b->name},
                  {"phone", b->phone},
                  {"note", a.fallback_note.empty() ? json() : json(a.fallback_note)}};
    json outage;  // null: the room is not out (or nobody is watching)
    if (auto since = outages ? outages->out_since(a.id) : std::nullopt)
      outage = {
          {"since", format_rfc3339(*since)},
          {"for_s", std::max<std::int64_t>(
                        0, std::chrono::duration_cast<std::chrono::seconds>(now - *since).count())},
          {"after_s", a.outage_after_s},
          {"phone", a.phone},
          {"fallback", fallback}};
    json row = {{"agency", a.id},       {"name", a.name},  {"kind", to_string(a.kind)},
                {"phone", a.phone},     {"cad", cad},      {"edges", edges},
                {"fallback", fallback}, {"outage", outage}};
    if (consoles) {
      // This node's consoles and those signed in on the other nodes (several nodes).
      auto it = consoles->find(a.id);
      auto pt = elsewhere.find(a.id);
      row["consoles"] =
          (it == consoles->end() ? 0 : it->second) + (pt == elsewhere.end() ? 0 : pt->second);
    }
    out.push_back(std::move(row));
  }
  return out;
}

api_response api::get_links() {
  std::map<std::string, int> consoles;
  if (s_.hub) consoles = s_.hub->presence();
  return json_response(200, json{{"links", links_json(s_.cfg, s_.links, &consoles, s_.outages)}});
}

api_response api::health() {
  // The engine's timer sweep commits every 250 ms even when idle, so a store that stops taking
  // writes (full, unwritable, locked) or an engine that stops shows here within a second or two;
  // a transaction waiting on the busy timeout takes at most that long (5 s by default).
  constexpr double stalled_after_s = 15;
  constexpr double not_committing_after_s = 4;
  constexpr double cluster_failing_after_s = 5;
  try {
    s_.reader.ping();
  } catch (const std::exception& e) {
    return json_response(503, json{{"status", "unavailable"}, {"store", e.what()}});
  }
  auto h = s_.eng.health();
  json body{{"status", "ok"}, {"store", "ok"}, {"engine_queue", s_.eng.queue_depth()}};
  int status = 200;
  if (auto failed = s_.pipeline.degraded()) {
    // Before shutting_down: the drain that follows a failure must still say why it happens.
    status = 503;
    body["status"] = "degraded";
    body["failed"] = failed->first;
    body["error"] = failed->second;
  } else if (s_.pipeline.shutting_down()) {
    status = 503;
    body["status"] = "shutting_down";
  } else if (!h.running) {
    status = 503;
    body["status"] = "unavailable";
    body["engine"] = h.error.empty() ? "stopped" : h.error;
  } else if (h.commits_failing) {
    status = 503;
    body["status"] = "unavailable";
    body["store"] = "failing";
    body["store_error"] = h.error;
    body["failing_for_s"] = std::round(h.failing_for_s * 10) / 10;
  } else if (h.since_last_commit_s > stalled_after_s) {
    status = 503;
    body["status"] = "unavailable";
    body["engine"] = "stalled";
    body["since_last_commit_s"] = std::round(h.since_last_commit_s * 10) / 10;
  } else if (h.since_last_commit_s > not_committing_after_s) {
    // The timer sweep commits every 250 ms even when idle: a store this long without a commit
    // is locked or stuck, even before the busy timeout makes a commit fail.
    status = 503;
    body["status"] = "unavailable";
    body["store"] = "not committing";
    body["since_last_commit_s"] = std::round(h.since_last_commit_s * 10) / 10;
  } else if (!h.timers_error.empty()) {
    // Phone prompts and expiries are not being raised: operators must not rely on them.
    status = 503;
    body["status"] = "unavailable";
    body["timers"] = "failing";
    body["timers_error"] = h.timers_error;
  }
  if (s_.access) {
    // Reads are refused while consultations cannot be logged: say so, and why.
    auto q = s_.access->state();
    body["access_log"] = q.failing ? "failing" : "ok";
    if (q.failing) {
      body["access_log_error"] = q.error;
      body["access_log_failing_for_s"] = std::round(q.failing_for_s * 10) / 10;
      if (status == 200) {
        status = 503;
        body["status"] = "unavailable";
      }
    }
  }
  if (s_.nodes && !s_.nodes->alone()) {
    auto c = s_.nodes->health();
    body["cluster"] = {{"node", s_.nodes->node()},
                       {"peers", c.peers},
                       {"listening", c.listening},
                       {"error", c.error.empty() ? json() : json(c.error)},
                       {"primary", c.primary.empty() ? json() : json(c.primary)},
                       {"primary_error", c.primary_error.empty() ? json() : json(c.primary_error)}};
    // Not hearing the other nodes: their commits wake nothing here, so deliveries to this node's
    // CADs and consoles would wait for a safety-net poll. Past a few seconds, say so.
    if (status == 200 && !c.error.empty() && c.failing_for_s > cluster_failing_after_s) {
      status = 503;
      body["status"] = "unavailable";
      body["failing_for_s"] = std::round(c.failing_for_s * 10) / 10;
    }
  }
  return json_response(status, body);
}

api_response api::render_metrics() {
  using family = metrics::gauge_family;
  std::vector<family> g;
  if (s_.nodes && !s_.nodes->alone()) {
    auto c = s_.nodes->health();
    g.push_back({"bluelink_cluster_listening",
                 "1 while this node hears the other nodes' commits (LISTEN on the database).",
                 {{{}, c.listening ? 1.0 : 0.0}}});
    g.push_back({"bluelink_cluster_peers",
                 "Other gateway nodes seen within their time-out.",
                 {{{}, static_cast<double>(c.peers)}}});
    g.push_back({"bluelink_cluster_wakes_total",
                 "Wake-ups received from the other nodes' commits (a counter).",
                 {{{}, static_cast<double>(c.wakes)}}});
    g.push_back({"bluelink_cluster_store_failures_total",
                 "Failures of this node's cluster connection (a counter).",
                 {{{}, static_cast<double>(c.store_failures)}}});
    g.push_back({"bluelink_cad_leases_lost_total",
                 "CAD sessions of this node's that another node took over (a counter).",
                 {{{}, static_cast<double>(c.leases_lost)}}});
  }
  if (s_.outages) {
    family out{"bluelink_agency_outage",
               "1 while the agency's room is out: no CAD link up and no console signed in on any "
               "node for longer than its outage_after_s.",
               {}};
    const auto current = s_.outages->current();
    for (const auto& a : s_.cfg.agencies)
      out.samples.push_back({{{"agency", a.id}}, current.count(a.id) ? 1.0 : 0.0});
    g.push_back(std::move(out));
  }
  g.push_back({"bluelink_engine_queue_depth",
               "Messages and acknowledgements waiting for the database writer.",
               {{{}, static_cast<double>(s_.eng.queue_depth())}}});
  {
    auto h = s_.eng.health();
    g.push_back({"bluelink_engine_up",
                 "1 while the engine (the database writer) thread runs.",
                 {{{}, h.running ? 1.0 : 0.0}}});
    g.push_back({"bluelink_store_commits_failing",
                 "1 while the store's last transaction failed (/healthz is 503 meanwhile).",
                 {{{}, h.commits_failing ? 1.0 : 0.0}}});
    if (s_.access) {
      auto q = s_.access->state();
      g.push_back({"bluelink_access_log_failing",
                   "1 while consultations cannot be written to the access log (every read of "
                   "personal data is refused meanwhile; /healthz is 503).",
                   {{{}, q.failing ? 1.0 : 0.0}}});
      g.push_back({"bluelink_access_log_pending",
                   "Access-log entries queued and not yet written (written every 20 ms).",
                   {{{}, static_cast<double>(q.pending)}}});
    }
    if (s_.purger) {
      auto p = s_.purger->state();
      g.push_back({"bluelink_retention_purged_total",
                   "Transfers and calls whose personal content the retention purge removed, and "
                   "console sessions it deleted, since the gateway started (a counter).",
                   {{{{"kind", "transfers"}}, static_cast<double>(p.transfers_purged)},
                    {{{"kind", "calls"}}, static_cast<double>(p.calls_purged)},
                    {{{"kind", "sessions"}}, static_cast<double>(p.sessions_purged)}},
                   "counter"});
      g.push_back({"bluelink_retention_purge_failures_total",
                   "Retention purge passes that failed (a counter; each is tried again at the "
                   "next interval, event=purge_failed).",
                   {{{}, static_cast<double>(p.failures)}},
                   "counter"});
      g.push_back({"bluelink_retention_last_purge_timestamp_seconds",
                   "When the last retention purge pass ended (Unix time; 0: none yet).",
                   {{{}, static_cast<double>(p.last_pass_at_ms) / 1000.0}}});
      g.push_back({"bluelink_retention_longest_batch_seconds",
                   "The longest one purge batch held the store's writer in the last pass.",
                   {{{}, p.longest_batch_ms / 1000.0}}});
    }
    g.push_back({"bluelink_timers_failing",
                 "1 while the timer sweep (phone prompts, expiries) fails (/healthz is 503).",
                 {{{}, h.timers_error.empty() ? 0.0 : 1.0}}});
    if (s_.live) {
      family beats{"bluelink_thread_last_beat_age_seconds",
                   "Seconds since each long-lived thread last showed progress (normally under 1; "
                   "beyond limits.thread_stall_s the gateway restarts).",
                   {}};
      for (const auto& [component, age] : s_.live->ages())
        beats.samples.push_back({{{"component", component}}, age});
      g.push_back(std::move(beats));
    }
    g.push_back({"bluelink_store_last_commit_age_seconds",
                 "Seconds since the last transaction committed (the idle sweep commits every "
                 "250 ms).",
                 {{{}, h.since_last_commit_s}}});
  }
  try {
    auto depths = s_.reader.queue_depths();
    family delivery{"bluelink_delivery_queue_depth",
                    "Deliveries to each agency that it has not yet acknowledged.",
                    {}};
    for (const auto& a : s_.cfg.agencies) {
      std::int64_t depth = 0;
      for (auto& [agency, n] : depths)
        if (agency == a.id) depth = n;
      delivery.samples.push_back({{{"agency", a.id}}, static_cast<double>(depth)});
    }
    g.push_back(std::move(delivery));
    // One family per metric, each with every agency's sample: the text format forbids a family
    // appearing twice, so the per-link rows are gathered before rendering.
    family up{"bluelink_cad_link_up", "1 while the agency's CAD has a live link session.", {}};
    family backlog{
        "bluelink_cad_link_backlog", "Deliveries to the agency's CAD not yet acknowledged.", {}};
    family heard{"bluelink_cad_link_last_heard_age_seconds",
                 "Seconds since the agency's CAD was last heard on the link.",
                 {}};
    auto now = now_ms();
    for (const auto& st : s_.links.snapshot()) {
      if (st.kind != "cad") continue;
      up.samples.push_back({{{"agency", st.agency}}, st.up ? 1.0 : 0.0});
      backlog.samples.push_back(
          {{{"agency", st.agency}},
           static_cast<double>(std::max<std::int64_t>(0, st.last_seq - st.acked_upto))});
      if (st.last_heard)
        heard.samples.push_back(
            {{{"agency", st.agency}}, std::chrono::duration<double>(now - *st.last_heard).count()});
    }
    g.push_back(std::move(up));
    g.push_back(std::move(backlog));
    g.push_back(std::move(heard));
    family transfers{"bluelink_transfers", "Transfers in the database, by state.", {}};
    for (auto& [state, n] : s_.reader.transfer_states())
      transfers.samples.push_back({{{"state", state}}, static_cast<double>(n)});
    g.push_back(std::move(transfers));
    g.push_back(
        {"bluelink_store_up", "0 when the database could not be read for this scrape.", {{{}, 1}}});
  } catch (const std::exception&) {
    g.push_back(
        {"bluelink_store_up", "0 when the database could not be read for this scrape.", {{{}, 0}}});
  }
  return {200, "text/plain; version=0.0.4; charset=utf-8", s_.stats.render(g), {}};
}

}  // namespace bl
