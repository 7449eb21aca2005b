// HEAD against the real gateway binary: for every kind of route (console files, /healthz,
// /metrics, the API, errors) the reply has exactly GET's status and headers, Content-Length of
// GET's body included, and no body, so that the kept-alive connection carries on cleanly.

#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"
#include "tests/support/raw_connection.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;
using namespace std::chrono_literals;

std::string request(const std::string& method, const std::string& target,
                    const std::string& token) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  return r + "\r\n";
}

}  // namespace

TEST_CASE("HEAD answers every route with GET's headers and Content-Length and no body",
          "[system][http][head]") {
  gateway_process gw(json{{"console", {{"dir", std::string(BL_SOURCE_DIR) + "/console"}}}});
  const auto police = gateway_process::token(essex_police);

  struct route {
    std::string target;
    std::string token;
    int status;
    bool same_length;  // false where the body changes between two requests (counters, ages)
  };
  const route routes[] = {
      {"/healthz", "", 200, true},
      {"/", "", 200, true},
      {"/index.html", "", 200, true},
      {"/js/app.js", "", 200, true},
      {"/css/console.css", "", 200, true},
      {"/img/favicon.svg", "", 200, true},
      {"/vendor/nothing-here.js", "", 404, true},
      {"/api/v1/transfers", police, 200, true},
      // Each edge's last_heard_age_s is a time since: the request itself is heard (api edge).
      {"/api/v1/links", police, 200, false},
      {"/api/v1/inbox", police, 200, true},
      {"/api/v1/transfers", "", 401, true},
      {"/api/v1/no-such-thing", police, 404, true},
      {"/api/v1/inbox/ack", police, 405, true},
      {"/metrics", "", 200, false},
  };

  raw_connection c(gw.port());
  for (const auto& r : routes) {
    INFO(r.target);
    REQUIRE(c.send(request("GET", r.target, r.token)));
    auto get = c.read_response(true);
    REQUIRE(get);
    CHECK(get->status == r.status);
    CHECK(!get->body.empty());

    REQUIRE(c.send(request("HEAD", r.target, r.token)));
    auto head = c.read_response(false);
    REQUIRE(head);
    CHECK(head->status == get->status);
    CHECK(head->header("Content-Type") == get->header("Content-Type"));
    CHECK(head->header("Cache-Control") == get->header("Cache-Control"));
    CHECK(head->header("Content-Security-Policy") == get->header("Content-Security-Policy"));
    CHECK(!head->header("Content-Length").empty());
    if (r.same_length) CHECK(head->header("Content-Length") == std::to_string(get->body.size()));
    // No body follows the headers: nothing more arrives, and the next reply on the same
    // connection starts with its status line.
    std::this_thread::sleep_for(100ms);
    CHECK(c.take_received().empty());
  }
  // A console asset that is missing says so in text a person reads, with what to run.
  REQUIRE(c.send(request("GET", "/vendor/chartjs/not-fetched.js", "")));
  auto missing = c.read_response(true);
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(missing->header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(missing->body.find("npm run vendor") != std::string::npos);
  REQUIRE(c.send(request("GET", "/img/favicon.svg", "")));
  auto icon = c.read_response(true);
  REQUIRE(icon);
  CHECK(icon->header("Content-Type") == "image/svg+xml");
  // Browsers ask for /favicon.ico whatever the page links: it is the same icon.
  REQUIRE(c.send(request("GET", "/favicon.ico", "")));
  auto ico = c.read_response(true);
  REQUIRE(ico);
  CHECK(ico->status == 200);
  CHECK(ico->header("Content-Type") == "image/svg+xml");
  CHECK(ico->body == icon->body);
  REQUIRE(c.send(request("GET", "/healthz", "")));
  auto after = c.read_response(true);
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("the router answers a wrong method with 405 and Allow, and tells outsiders nothing",
          "[system][http]") {
  gateway_process gw(json{{"console", {{"dir", std::string(BL_SOURCE_DIR) + "/console"}}}});
  const auto police = gateway_process::token(essex_police);
  raw_connection c(gw.port());
  auto ask = [&](const std::string& method, const std::string& target, const std::string& token) {
    REQUIRE(c.send(request(method, target, token)));
    auto r = c.read_response(true);
    REQUIRE(r);
    return *r;
  };

  auto wrong = ask("DELETE", "/api/v1/calls", police);
  CHECK(wrong.status == 405);
  CHECK(wrong.header("Allow") == "GET, POST");
  CHECK(json::parse(wrong.body)["error"]["code"] == "bl.request.method_not_allowed");
  CHECK(ask("GET", "/api/v1/no-such-thing", police).status == 404);

  // Without credentials, what exists and what does not look the same under /api/v1.
  CHECK(ask("DELETE", "/api/v1/calls", "").status == 401);
  CHECK(ask("GET", "/api/v1/no-such-thing", "").status == 401);
  CHECK(ask("GET", "/api/v1/transfers", "").status == 401);

  // Monitoring and the console's files are open; a missing file is a 404 in Bluelink's shape.
  auto health_post = ask("POST", "/healthz", "");
  CHECK(health_post.status == 405);
  CHECK(health_post.header("Allow") == "GET");
  auto missing = ask("GET", "/no-such-file.js", "");
  CHECK(missing.status == 404);
  CHECK(json::parse(missing.body)["error"]["code"] == "bl.request.not_found");

  // UCRI2 answers in its own shape (here: not configured on this gateway, so no endpoint).
  auto u = ask("GET", "/ucri2/token", "");
  CHECK(u.status == 404);
  CHECK(u.body.find("not configured") != std::string::npos);
}
