// The HTTP router (gateway/net/router.hpp): each handler registers its own routes; find() picks
// the most specific mount, then the route; a path whose routes take other methods is a
// wrong_method with the methods to allow; anything else under a mount is that handler's no_route.

#include <memory>
#include <stdexcept>
#include <string>
#include <variant>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/net/router.hpp"

namespace {

using bl::route_access;
using bl::route_call;
using bl::route_table;
using bl::router;

// A handler whose routes answer with their own name (and parameter), to see which one ran.
class named_routes final : public bl::http_handler {
 public:
  named_routes(std::string mount, std::vector<std::pair<std::string, std::string>> routes)
      : mount_(std::move(mount)), routes_(std::move(routes)) {}
  std::string mount() const override { return mount_; }
  void add_routes(route_table& t) override {
    for (const auto& [method, pattern] : routes_)
      t.add(method, pattern, route_access::open,
            [name = method + " " + pattern](const route_call& c, bl::reply_fn done) {
              done(bl::api_response(200, "text/plain", name + "|" + c.param));
            });
  }

 private:
  std::string mount_;
  std::vector<std::pair<std::string, std::string>> routes_;
};

std::string run(const router& r, const std::string& method, const std::string& path) {
  auto found = r.find(method, path);
  auto* m = std::get_if<router::match>(&found);
  if (!m) return "(no match)";
  bl::api_request req;
  req.method = method;
  req.target = path;
  std::string out;
  route_call call{req, path, {}, m->param, nullptr, {}};
  m->r->fn(call, [&](bl::api_response resp) { out = resp.body; });
  return out;
}

router sample() {
  router r;
  r.add(std::make_shared<named_routes>("/api/v1", std::vector<std::pair<std::string, std::string>>{
                                                      {"GET", "/api/v1/transfers"},
                                                      {"GET", "/api/v1/transfers/{id}"},
                                                      {"POST", "/api/v1/messages"},
                                                      {"GET", "/api/v1/calls"},
                                                      {"POST", "/api/v1/calls"},
                                                      {"PATCH", "/api/v1/users/{name}"}}));
  r.add(std::make_shared<named_routes>(
      "/ucri2", std::vector<std::pair<std::string, std::string>>{{"GET", "/ucri2/token"}}));
  r.add(std::make_shared<named_routes>(
      "", std::vector<std::pair<std::string, std::string>>{{"GET", "/healthz"}}));
  return r;
}

}  // namespace

TEST_CASE("the router finds fixed routes and trailing parameters, percent-decoded", "[router]") {
  const router r = sample();
  CHECK(run(r, "GET", "/api/v1/transfers") == "GET /api/v1/transfers|");
  CHECK(run(r, "GET", "/api/v1/transfers/T-2026-000123") ==
        "GET /api/v1/transfers/{id}|T-2026-000123");
  CHECK(run(r, "PATCH", "/api/v1/users/fire.op%201") == "PATCH /api/v1/users/{name}|fire.op 1");
  CHECK(run(r, "GET", "/ucri2/token") == "GET /ucri2/token|");
  CHECK(run(r, "GET", "/healthz") == "GET /healthz|");
  // The same path with two methods: each its own route.
  CHECK(run(r, "GET", "/api/v1/calls") == "GET /api/v1/calls|");
  CHECK(run(r, "POST", "/api/v1/calls") == "POST /api/v1/calls|");
}

TEST_CASE("a path whose routes take other methods is a wrong_method naming them", "[router]") {
  const router r = sample();
  auto found = r.find("DELETE", "/api/v1/calls");
  auto* wrong = std::get_if<router::wrong_method>(&found);
  REQUIRE(wrong);
  CHECK(wrong->allow == "GET, POST");
  CHECK(wrong->handler->mount() == "/api/v1");

  bl::api_request req;
  req.method = "DELETE";
  route_call call{req, "/api/v1/calls", {}, {}, nullptr, {}};
  auto resp = wrong->handler->wrong_method(call, wrong->allow);
  CHECK(resp.status == 405);
  CHECK(resp.error_id == "bl.request.method_not_allowed");
  REQUIRE(resp.headers.size() == 1);
  CHECK(resp.headers[0] == std::make_pair(std::string("Allow"), std::string("GET, POST")));
  CHECK(nlohmann::json::parse(resp.body)["error"]["message"] ==
        "DELETE is not allowed on /api/v1/calls; use GET, POST");
}

TEST_CASE("a path under a mount with no route is that handler's to answer", "[router]") {
  const router r = sample();
  auto found = r.find("GET", "/api/v1/no-such-thing");
  auto* none = std::get_if<router::no_route>(&found);
  REQUIRE(none);
  REQUIRE(none->handler);
  CHECK(none->handler->mount() == "/api/v1");
  // A parameter route needs a parameter: the bare prefix is no route.
  CHECK(std::holds_alternative<router::no_route>(r.find("GET", "/api/v1/transfers/")));
  // Mounts end at a '/': /ucri2x is not under /ucri2; it falls to the handler of last resort.
  auto x = r.find("GET", "/ucri2x");
  REQUIRE(std::holds_alternative<router::no_route>(x));
  CHECK(std::get<router::no_route>(x).handler->mount().empty());
  // A bare mount is under it.
  auto bare = r.find("GET", "/ucri2");
  REQUIRE(std::holds_alternative<router::no_route>(bare));
  CHECK(std::get<router::no_route>(bare).handler->mount() == "/ucri2");

  bl::api_request req;
  req.method = "GET";
  route_call call{req, "/api/v1/no-such-thing", {}, {}, nullptr, {}};
  bl::api_response resp;
  none->handler->unmatched(call, [&](bl::api_response a) { resp = std::move(a); });
  CHECK(resp.status == 404);
  CHECK(resp.error_id == "bl.request.not_found");
}

TEST_CASE("without a handler of last resort, a path under no mount has no handler", "[router]") {
  router r;
  r.add(std::make_shared<named_routes>(
      "/api/v1", std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/links"}}));
  auto found = r.find("GET", "/index.html");
  REQUIRE(std::holds_alternative<router::no_route>(found));
  CHECK(std::get<router::no_route>(found).handler == nullptr);
}

TEST_CASE("malformed or clashing registrations are refused at start-up", "[router]") {
  auto one = [](std::string mount, std::string method, std::string pattern) {
    router r;
    r.add(std::make_shared<named_routes>(
        std::move(mount),
        std::vector<std::pair<std::string, std::string>>{{std::move(method), std::move(pattern)}}));
  };
  CHECK_THROWS_AS(one("/api/v1", "GET", "api/v1/x"), std::invalid_argument);
  CHECK_THROWS_AS(one("/api/v1", "GET", "/api/v1/{id}/more"), std::invalid_argument);
  CHECK_THROWS_AS(one("/api/v1", "GET", "/api/v1/x{id}"), std::invalid_argument);
  CHECK_THROWS_AS(one("/api/v1", "GET", "/ucri2/token"), std::invalid_argument);
  CHECK_THROWS_AS(one("/api/v1/", "GET", "/api/v1/x"), std::invalid_argument);
  CHECK_NOTHROW(one("/api/v1", "GET", "/api/v1/x/{id}"));

  router r;
  r.add(
      std::make_shared<named_routes>("/api/v1", std::vector<std::pair<std::string, std::string>>{
                                                    {"GET", "/api/v1/x"}, {"POST", "/api/v1/x"}}));
  CHECK_THROWS_AS(r.add(std::make_shared<named_routes>(
                      "/api/v1", std::vector<std::pair<std::string, std::string>>{})),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      r.add(std::make_shared<named_routes>(
          "/twice", std::vector<std::pair<std::string, std::string>>{{"GET", "/twice/a"},
                                                                     {"GET", "/twice/a"}})),
      std::invalid_argument);
}
