#pragma once
// Console sign-in for system tests: the three test agencies as a config (for the accounts class),
// signing in over HTTP as the browser does, and the error code of a reply.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/service/accounts.hpp"
#include "tests/support/http_client.hpp"

namespace bl::test {

/// A config naming the three agencies every test gateway has (essex-fire, essex-police,
/// eeast-ambulance), enough for bl::accounts to check users' agencies.
gateway_config agencies_config();

/// A console user a test adds.
struct test_user {
  std::string username;
  std::string display_name;
  role user_role;
  std::string agency;  // "" for an admin of no agency
};

/// Adds `users`, each with `password`, to the SQLite store at `db` (a test gateway's), as
/// `bluelink user add` does.
void add_users(const std::filesystem::path& db, const std::vector<test_user>& users,
               const std::string& password);

/// A signed-in console: the session cookie and the anti-forgery token from the sign-in reply.
struct console_session {
  std::string cookie;  // "bl_session=..."
  std::string csrf;
  http_response reply;
};

/// POST /api/v1/session as `user`; REQUIREs `expected_status`. On 200 the cookie and CSRF token
/// are filled in.
console_session sign_in(http_client& c, const std::string& user, const std::string& password,
                        int expected_status = 200, const header_list& headers = {});

/// A request as the signed-in console `s` makes it: its cookie, and for any method but GET its
/// anti-forgery token and the gateway's own Origin (`port`), with `body` as JSON (null: none).
http_response as_user(http_client& c, const console_session& s, const std::string& method,
                      const std::string& target, const nlohmann::json& body, unsigned short port);

/// The bl.* code of an error reply ("" when the reply is not one).
std::string error_code(const http_response& r);

}  // namespace bl::test
