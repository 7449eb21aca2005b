#include "tests/support/console_login.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"

namespace bl::test {

gateway_config agencies_config() {
  gateway_config cfg;
  for (const auto& id : {essex_fire, essex_police, eeast_ambulance}) {
    agency_config a;
    a.id = id;
    a.name = id;
    cfg.agencies.push_back(a);
  }
  return cfg;
}

console_session sign_in(http_client& c, const std::string& user, const std::string& password,
                        int expected_status, const header_list& headers) {
  auto r =
      c.request_with("POST", "/api/v1/session",
                     nlohmann::json{{"username", user}, {"password", password}}.dump(), headers);
  INFO("sign in as " << user << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expected_status);
  console_session s;
  s.reply = r;
  if (expected_status != 200) return s;
  auto set_cookie = r.header("Set-Cookie");
  s.cookie = set_cookie.substr(0, set_cookie.find(';'));
  s.csrf = r.json.at("csrf_token");
  return s;
}

std::string error_code(const http_response& r) {
  return r.json.is_object() && r.json.contains("error") ? r.json["error"].value("code", "")
                                                        : std::string();
}

}  // namespace bl::test
