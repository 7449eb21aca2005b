#include "gateway/net/router.hpp"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "gateway/core/error.hpp"
#include "gateway/net/query.hpp"

namespace bl {

namespace {

// "/api/v1/transfers/{id}" -> "/api/v1/transfers/"; "" when the pattern has no parameter.
std::string_view param_prefix(std::string_view pattern) {
  if (pattern.empty() || pattern.back() != '}') return {};
  auto open = pattern.rfind("/{");
  if (open == std::string_view::npos) return {};
  return pattern.substr(0, open + 1);
}

bool under(std::string_view path, std::string_view mount) {
  if (mount.empty()) return true;
  if (path.size() < mount.size() || path.substr(0, mount.size()) != mount) return false;
  return path.size() == mount.size() || path[mount.size()] == '/';
}

}  // namespace

api_response error_reply(const error& e) {
  nlohmann::json err = {
      {"code", e.id()},
      {"message", e.message.empty() ? std::string(info(e.code).operator_text) : e.message}};
  if (!e.pointer.empty()) err["pointer"] = e.pointer;
  // The error table's operator text, always: consoles show it when `message` is too technical.
  err["text"] = std::string(info(e.code).operator_text);
  api_response r(e.http_status(), "application/json", nlohmann::json{{"error", err}}.dump(),
                 std::string(e.id()));
  return r;
}

void route_table::get(std::string p, route_access a, route_fn fn) {
  add("GET", std::move(p), a, std::move(fn));
}
void route_table::post(std::string p, route_access a, route_fn fn) {
  add("POST", std::move(p), a, std::move(fn));
}
void route_table::patch(std::string p, route_access a, route_fn fn) {
  add("PATCH", std::move(p), a, std::move(fn));
}
void route_table::del(std::string p, route_access a, route_fn fn) {
  add("DELETE", std::move(p), a, std::move(fn));
}

void route_table::add(std::string method, std::string pattern, route_access a, route_fn fn) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern '" + pattern + "' must start with '/'");
  auto brace = pattern.find('{');
  if (brace != std::string::npos &&
      (pattern.back() != '}' || brace == 0 || pattern[brace - 1] != '/' ||
       pattern.find('}') != pattern.size() - 1 || pattern.size() - brace < 3))
    throw std::invalid_argument("route pattern '" + pattern +
                                "' may only end in one parameter: /prefix/{name}");
  if (!fn) throw std::invalid_argument("route " + method + " " + pattern + " has no function");
  for (const auto& r : routes_)
    if (r.method == method && r.pattern == pattern)
      throw std::invalid_argument("route " + method + " " + pattern + " is registered twice");
  routes_.push_back(route{std::move(method), std::move(pattern), a, std::move(fn)});
}

void http_handler::unmatched(const route_call& c, reply_fn done) {
  done(error_reply(make_error(errc::not_found, "no endpoint at " + std::string(c.path))));
}

api_response http_handler::wrong_method(const route_call& c, const std::string& allow) {
  auto r =
      error_reply(make_error(errc::method_not_allowed, c.req.method + " is not allowed on " +
                                                           std::string(c.path) + "; use " + allow));
  r.headers.emplace_back("Allow", allow);
  return r;
}

void router::add(std::shared_ptr<http_handler> h) {
  std::string m = h->mount();
  if (!m.empty() && (m.front() != '/' || m.back() == '/'))
    throw std::invalid_argument(
        "a handler's mount must be \"\" or start with '/' and not end "
        "with one: '" +
        m + "'");
  for (const auto& x : handlers_)
    if (x.mount == m) throw std::invalid_argument("two handlers mounted at '" + m + "'");
  mounted entry{h, m, {}};
  h->add_routes(entry.table);
  for (const auto& r : entry.table.routes())
    if (!under(r.pattern, m))
      throw std::invalid_argument("route " + r.pattern + " is outside its handler's mount '" + m +
                                  "'");
  handlers_.push_back(std::move(entry));
  // Longest mount first, so that find() takes the most specific handler.
  std::stable_sort(handlers_.begin(), handlers_.end(), [](const mounted& a, const mounted& b) {
    return a.mount.size() > b.mount.size();
  });
}

std::variant<router::match, router::no_route, router::wrong_method> router::find(
    std::string_view method, std::string_view path) const {
  for (const auto& h : handlers_) {
    if (!under(path, h.mount)) continue;
    std::string allow;
    for (const auto& r : h.table.routes()) {
      std::string param;
      bool hit = false;
      if (auto prefix = param_prefix(r.pattern); !prefix.empty()) {
        hit = path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix;
        if (hit) param = percent_decode(path.substr(prefix.size()));
      } else {
        hit = path == r.pattern;
      }
      if (!hit) continue;
      if (r.method == method) return match{h.handler.get(), &r, std::move(param)};
      if (allow.find(r.method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + r.method;
    }
    if (!allow.empty()) return wrong_method{h.handler.get(), std::move(allow)};
    return no_route{h.handler.get()};
  }
  return no_route{nullptr};
}

}  // namespace bl
