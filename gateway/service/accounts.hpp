#pragma once
// Console accounts: users with memory-hard password hashes (libsodium crypto_pwhash, Argon2id),
// sign-in sessions kept as SHA-256 digests of their tokens, idle and absolute expiry, and a
// sign-in throttle per address and account and per address, with a back-off that slows a
// guesser but never locks a named account (docs/operations.md, "Security").
//
// Thread-safety: every member may be called from any thread at once. The class owns the account
// store it is given (users and sessions only; the engine's writer never touches them) and calls
// it under a mutex; the slow part of a sign-in (the password hash) runs outside the lock.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/account_store.hpp"

namespace bl {

/// dpo: an agency's data-protection officer (docs/data-protection.md): reads its access log,
/// its transfers and calls (each read logged), places and lifts legal holds on its transfers;
/// sends, answers and takes deliveries for no one.
enum class role { operator_role, supervisor, manager, admin, dpo };
std::string_view to_string(role r);
std::optional<role> role_from(std::string_view s);
/// Operators, supervisors and data-protection officers belong to one agency; managers and admins
/// to none.
inline bool agency_scoped(role r) {
  return r == role::operator_role || r == role::supervisor || r == role::dpo;
}

/// Who is making a request: a signed-in console user, or an integration's bearer token (then
/// user_id is 0, username empty, role operator_role and agency the token's agency).
struct principal {
  std::int64_t user_id = 0;
  std::string username;
  std::string display_name;
  role who = role::operator_role;
  std::string agency;  // empty for managers and admins
  bool via_session = false;
  std::string csrf_token;   // the session's anti-forgery token (sessions only)
  time_point expires_at{};  // when the session ends if nothing renews it (sessions only)
};

/// Whether `p` acts for its agency (sends, answers, takes its deliveries): its operators,
/// supervisors and systems (a token is an operator), not its data-protection officer.
inline bool acts_for_agency(const principal& p) {
  return !p.agency.empty() && (p.who == role::operator_role || p.who == role::supervisor);
}

struct login_ok {
  principal who;
  std::string session_token;  // goes into the HttpOnly cookie; only its SHA-256 is stored
  time_point expires_at{};
};

struct user_row {
  std::int64_t id = 0;
  std::string username;
  std::string display_name;
  role who = role::operator_role;
  std::string agency;
  bool disabled = false;
  time_point created_at{};
};

class accounts {
 public:
  /// Keeps users and sessions in `store` (store::open_account_store, on either engine).
  accounts(const gateway_config& cfg, std::unique_ptr<store::account_store> store);
  /// Transitional, for tools/bench/bench_main.cpp until it opens the store itself: the SQLite
  /// account store at `db_path` (store::open_sqlite_account_store, cfg's busy timeout).
  accounts(const gateway_config& cfg, const std::string& db_path);
  ~accounts();
  accounts(const accounts&) = delete;
  accounts& operator=(const accounts&) = delete;

  /// Checks the password and opens a session. Errors: bl.auth.login_failed (unknown user or
  /// wrong password, indistinguishable), bl.auth.account_disabled, bl.auth.rate_limited,
  /// bl.store.* when the database fails.
  std::variant<login_ok, error> login(std::string_view username, std::string_view password,
                                      std::string_view remote);
  /// The principal of a live session, renewing its idle timer. bl.auth.session_expired when the
  /// token is unknown, logged out, idle too long, past its absolute limit, or its user disabled.
  std::variant<principal, error> session(std::string_view token);
  /// Ends the session (idempotent).
  void logout(std::string_view token);

  // ---- administration (the `bluelink user` CLI and tests) --------------------------------------
  /// Adds a user; throws std::invalid_argument with a specific message for a duplicate name, a
  /// missing or superfluous agency for the role, an unknown agency, or a password under 10
  /// characters.
  std::int64_t add_user(const std::string& username, const std::string& display_name, role r,
                        const std::string& agency, const std::string& password);
  /// Sets a new password and ends every session of the user. Throws std::invalid_argument.
  void set_password(const std::string& username, const std::string& password);
  /// Disables (or re-enables) a user; disabling ends every session of the user.
  void set_disabled(const std::string& username, bool disabled);
  std::vector<user_row> list_users();
  /// The user named `username` (case-insensitive), or nullopt.
  std::optional<user_row> find_user(const std::string& username);

  /// A new random password: 20 characters from an alphabet without look-alikes (no l, 1, O, 0),
  /// about 117 bits, drawn without bias.
  static std::string generate_password();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bl
