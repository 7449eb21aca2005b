// Console user management over the API: an admin manages every account; a supervisor manages the
// operators of their own agency (add, disable, re-enable, new password). Passwords the gateway
// generates are returned once in the reply and never logged.

#include <optional>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/net/api.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;

namespace {

json user_row_json(const user_row& u) {
  return {{"username", u.username},   {"display_name", u.display_name},
          {"role", to_string(u.who)}, {"agency", u.agency.empty() ? json() : json(u.agency)},
          {"disabled", u.disabled},   {"created_at", format_rfc3339(u.created_at)}};
}

std::optional<error> may_manage_users(const principal& who) {
  if (who.who == role::admin || who.who == role::supervisor) return std::nullopt;
  return make_error(errc::forbidden_role,
                    "only a supervisor (for their own agency's operators) or an admin manages "
                    "console users; this account is a " +
                        std::string(to_string(who.who)));
}

// A supervisor acts on the operators of their own agency; an admin on anyone but themselves
// being disabled (so that the last admin cannot lock everyone out by accident).
std::optional<error> may_change(const principal& who, const user_row& target) {
  if (who.who == role::supervisor &&
      (target.agency != who.agency || target.who != role::operator_role))
    return make_error(errc::forbidden_role,
                      "a supervisor manages the operators of their own agency only; '" +
                          target.username + "' is a " + std::string(to_string(target.who)) +
                          (target.agency.empty() ? std::string() : " of " + target.agency));
  return std::nullopt;
}

}  // namespace

api_response api::get_users(const principal& who) {
  if (auto e = may_manage_users(who)) return error_response(*e);
  try {
    json list = json::array();
    for (const auto& u : s_.accts.list_users())
      if (who.who == role::admin || u.agency == who.agency) list.push_back(user_row_json(u));
    return json_response(200, json{{"users", std::move(list)}});
  } catch (const store::store_error& e) {
    return error_response(store::to_error(e));
  }
}

api_response api::post_user(const principal& who, const std::string& body) {
  if (auto e = may_manage_users(who)) return error_response(*e);
  json doc;
  if (auto e = read_body(body, "api/user_new", doc)) return error_response(*e);
  auto r = role_from(doc.at("role").get<std::string>());
  std::string agency = doc.value("agency", std::string());
  if (who.who == role::supervisor) {
    if (*r != role::operator_role)
      return error_response(make_error(errc::forbidden_role,
                                       "a supervisor adds operators only; ask an admin for a '" +
                                           doc.at("role").get<std::string>() + "' account",
                                       "/role"));
    if (!agency.empty() && agency != who.agency)
      return error_response(make_error(
          errc::forbidden_role,
          "a supervisor of '" + who.agency + "' cannot add users to '" + agency + "'", "/agency"));
    agency = who.agency;
  }
  bool generated = !doc.contains("password");
  std::string password =
      generated ? accounts::generate_password() : doc.at("password").get<std::string>();
  std::string username = doc.at("username").get<std::string>();
  try {
    s_.accts.add_user(username, doc.at("display_name").get<std::string>(), *r, agency, password);
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    std::string ptr = msg.find("agency") != std::string::npos     ? "/agency"
                      : msg.find("password") != std::string::npos ? "/password"
                                                                  : "/username";
    return error_response(make_error(errc::bad_request, msg, ptr));
  } catch (const store::store_error& e) {
    return error_response(store::to_error(e));
  }
  s_.log->info("event=user_added by={} username={} role={} agency={}", log_quote(who.username),
               log_quote(username), to_string(*r), agency.empty() ? "-" : agency);
  auto added = s_.accts.find_user(username);
  json out = {{"user", added ? user_row_json(*added) : json()}};
  if (generated) out["password"] = password;
  return json_response(201, out);
}

api_response api::patch_user(const principal& who, const std::string& username,
                             const std::string& body) {
  if (auto e = may_manage_users(who)) return error_response(*e);
  json doc;
  if (auto e = read_body(body, "api/user_change", doc)) return error_response(*e);
  try {
    auto target = s_.accts.find_user(username);
    // A supervisor learns nothing about accounts outside their agency: the same reply as none.
    if (!target || (who.who == role::supervisor && target->agency != who.agency))
      return error_response(
          make_error(errc::not_found, "no user named '" + username + "' that you can manage"));
    if (auto e = may_change(who, *target)) return error_response(*e);
    if (doc.contains("disabled") && target->id == who.user_id && doc.at("disabled").get<bool>())
      return error_response(make_error(
          errc::bad_request, "you cannot disable your own account; ask another admin or supervisor",
          "/disabled"));
    json out;
    if (doc.contains("new_password")) {
      std::string password = accounts::generate_password();
      s_.accts.set_password(target->username, password);
      out["password"] = password;
      s_.log->info("event=user_password_reset by={} username={}", log_quote(who.username),
                   log_quote(target->username));
    }
    if (doc.contains("disabled")) {
      bool disabled = doc.at("disabled").get<bool>();
      s_.accts.set_disabled(target->username, disabled);
      s_.log->info("event={} by={} username={}", disabled ? "user_disabled" : "user_enabled",
                   log_quote(who.username), log_quote(target->username));
    }
    out["user"] = user_row_json(*s_.accts.find_user(target->username));
    return json_response(200, out);
  } catch (const std::invalid_argument& e) {
    return error_response(make_error(errc::bad_request, e.what()));
  } catch (const store::store_error& e) {
    return error_response(store::to_error(e));
  }
}

}  // namespace bl
