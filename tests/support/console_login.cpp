#include "tests/support/console_login.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "gateway/store/sqlite/account_store.hpp"
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

void add_users(const std::filesystem::path& db, const std::vector<test_user>& users,
               const std::string& password) {
  const gateway_config cfg = agencies_config();
  accounts accts(cfg, store::open_sqlite_account_store(
                          store::store_options{db.string(), true, cfg.busy_timeout_ms, {}}));
  for (const auto& u : users)
    accts.add_user(u.username, u.display_name, u.user_role, u.agency, password);
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

http_response as_user(http_client& c, const console_session& s, const std::string& method,
                      const std::string& target, const nlohmann::json& body, unsigned short port) {
  if (method == "GET") return c.request_with("GET", target, {}, {{"Cookie", s.cookie}});
  return c.request_with(method, target, body.is_null() ? std::string() : body.dump(),
                        {{"Cookie", s.cookie},
                         {"X-CSRF-Token", s.csrf},
                         {"Origin", "http://127.0.0.1:" + std::to_string(port)},
                         {"Content-Type", "application/json"}});
}

std::string error_code(const http_response& r) {
  return r.json.is_object() && r.json.contains("error") ? r.json["error"].value("code", "")
                                                        : std::string();
}

}  // namespace bl::test
