#pragma once
// Console accounts as stored, whatever the engine: users (with their password hashes), sign-in
// sessions (kept by the SHA-256 of their tokens) and the writes that must happen together. The
// rules (hashing, throttles, expiry, roles) are gateway/service/accounts'; this only stores.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bl::store {

/// What a sign-in needs of a user.
struct login_record {
  std::int64_t id = 0;
  std::string display_name;
  std::string role;    // "operator", "supervisor", "manager", "admin"
  std::string agency;  // empty for none
  std::string password_hash;
  bool disabled = false;
};

/// A session to open. Times are UTC milliseconds.
struct new_session {
  std::string token_sha256;
  std::int64_t user_id = 0;
  std::string csrf_token;
  std::int64_t created_ms = 0;  // also its first last_seen
  std::int64_t expires_ms = 0;
  std::string remote;  // the client's address; empty: not known
};

/// A stronger hash of the password a sign-in just verified.
struct password_rehash {
  std::string verified_hash;  // replaced only while the row still holds it
  std::string new_hash;
};

/// A session with its user, as a request checks it.
struct session_record {
  std::int64_t user_id = 0;
  std::string csrf_token;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  bool ended = false;  // signed out, or ended by a password change or disabling
  std::string username, display_name, role, agency;
  bool user_disabled = false;
};

struct new_user {
  std::string username;  // already lower-case
  std::string display_name;
  std::string role;
  std::string agency;  // empty for none
  std::string password_hash;
  std::int64_t created_ms = 0;
};

struct user_record {
  std::int64_t id = 0;
  std::string username, display_name, role, agency;
  bool disabled = false;
  std::int64_t created_ms = 0;
};

/// Users and sessions. Implementations: gateway/store/sqlite/account_store.hpp.
///
/// Usernames are looked up exactly as given (the service lower-cases them). Every member throws
/// store_error when the store fails; none leaves a half-done change behind.
/// Thread-safety: every member may be called from any thread at once.
class account_store {
 public:
  virtual ~account_store() = default;

  virtual std::optional<login_record> find_login(const std::string& username) = 0;
  /// Opens the session and, with `rehash`, replaces the user's password hash if it is still
  /// rehash->verified_hash: ONE transaction.
  virtual void open_session(const new_session& s, const std::optional<password_rehash>& rehash) = 0;
  /// The session with this token digest and its user, ended or not; nullopt when unknown.
  virtual std::optional<session_record> find_session(const std::string& token_sha256) = 0;
  /// Records a use of an open session and its new idle deadline (nothing if it has ended).
  virtual void renew_session(const std::string& token_sha256, std::int64_t seen_ms,
                             std::int64_t expires_ms) = 0;
  /// Ends the session if it is open (idempotent).
  virtual void end_session(const std::string& token_sha256, std::int64_t at_ms) = 0;

  virtual bool user_exists(const std::string& username) = 0;
  /// The new user's id; nullopt when the name is taken.
  virtual std::optional<std::int64_t> add_user(const new_user& u) = 0;
  /// Sets the password hash and ends every open session of the user: ONE transaction. The user's
  /// id; nullopt (and nothing written) when there is no such user.
  virtual std::optional<std::int64_t> set_password(const std::string& username,
                                                   const std::string& password_hash,
                                                   std::int64_t at_ms) = 0;
  /// Disables or re-enables the user; disabling also ends every open session of the user: ONE
  /// transaction. The user's id; nullopt (and nothing written) when there is no such user.
  virtual std::optional<std::int64_t> set_disabled(const std::string& username, bool disabled,
                                                   std::int64_t at_ms) = 0;
  /// Every user, by username.
  virtual std::vector<user_record> list_users() = 0;
  /// Retention of console sign-in records: deletes the sessions of `agency`'s users (nullopt:
  /// users of no agency, managers and admins) that ended (or expired) before `before_ms`; returns
  /// how many.
  virtual std::int64_t purge_sessions(const std::optional<std::string>& agency,
                                      std::int64_t before_ms) = 0;
};

}  // namespace bl::store
