#include "gateway/store/sqlite/account_store.hpp"

#include <sqlite3.h>

#include <mutex>

#include "gateway/store/sqlite/sqlite.hpp"

namespace bl::store {

namespace {

// Rolls back without throwing: SQLite may already have rolled back after the error being handled.
void rollback(db& d) {
  sqlite3_exec(d.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

class sqlite_account_store final : public account_store {
 public:
  explicit sqlite_account_store(const store_options& o) : conn_(o.path, false, false, o.vfs) {
    conn_.exec("PRAGMA busy_timeout = " + std::to_string(o.busy_timeout_ms));
    conn_.exec("PRAGMA foreign_keys = ON");
  }

  std::optional<login_record> find_login(const std::string& username) override {
    std::lock_guard lock(mu_);
    stmt s(conn_,
           "SELECT id, display_name, role, agency, password_hash, disabled FROM users "
           "WHERE username = ?1",
           borrow);
    s.bind(1, username);
    if (!s.step()) return std::nullopt;
    return login_record{s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.int64(5) != 0};
  }

  void open_session(const new_session& n, const std::optional<password_rehash>& rehash) override {
    std::lock_guard lock(mu_);
    conn_.exec("BEGIN IMMEDIATE");
    try {
      stmt(conn_,
           "INSERT INTO sessions(token_sha256, user_id, csrf_token, created_at, "
           "last_seen, expires_at, remote) VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?6)",
           borrow)
          .bind(1, n.token_sha256)
          .bind(2, n.user_id)
          .bind(3, n.csrf_token)
          .bind(4, n.created_ms)
          .bind(5, n.expires_ms)
          .bind(6, n.remote.empty() ? std::optional<std::string>() : n.remote)
          .run();
      // Only replaces the hash it verified: a password changed meanwhile is left alone.
      if (rehash)
        stmt(conn_,
             "UPDATE users SET password_hash = ?1, updated_at = ?2 "
             "WHERE id = ?3 AND password_hash = ?4")
            .bind(1, rehash->new_hash)
            .bind(2, n.created_ms)
            .bind(3, n.user_id)
            .bind(4, rehash->verified_hash)
            .run();
      conn_.exec("COMMIT");
    } catch (...) {
      rollback(conn_);
      throw;
    }
  }

  std::optional<session_record> find_session(const std::string& token_sha256) override {
    std::lock_guard lock(mu_);
    stmt s(conn_,
           "SELECT s.user_id, s.csrf_token, s.created_at, s.expires_at, s.ended_at, "
           "u.username, u.display_name, u.role, u.agency, u.disabled "
           "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?1",
           borrow);
    s.bind(1, token_sha256);
    if (!s.step()) return std::nullopt;
    session_record r;
    r.user_id = s.int64(0);
    r.csrf_token = s.text(1);
    r.created_ms = s.int64(2);
    r.expires_ms = s.int64(3);
    r.ended = !s.is_null(4);
    r.username = s.text(5);
    r.display_name = s.text(6);
    r.role = s.text(7);
    r.agency = s.text(8);
    r.user_disabled = s.int64(9) != 0;
    return r;
  }

  void renew_session(const std::string& token_sha256, std::int64_t seen_ms,
                     std::int64_t expires_ms) override {
    std::lock_guard lock(mu_);
    stmt(conn_,
         "UPDATE sessions SET last_seen = ?1, expires_at = ?2 "
         "WHERE token_sha256 = ?3 AND ended_at IS NULL",
         borrow)
        .bind(1, seen_ms)
        .bind(2, expires_ms)
        .bind(3, token_sha256)
        .run();
  }

  void end_session(const std::string& token_sha256, std::int64_t at_ms) override {
    std::lock_guard lock(mu_);
    stmt(conn_, "UPDATE sessions SET ended_at = ?1 WHERE token_sha256 = ?2 AND ended_at IS NULL")
        .bind(1, at_ms)
        .bind(2, token_sha256)
        .run();
  }

  std::int64_t purge_sessions(const std::optional<std::string>& agency,
                              std::int64_t before_ms) override {
    std::lock_guard lock(mu_);
    stmt s(conn_,
           agency ? "DELETE FROM sessions WHERE COALESCE(ended_at, expires_at) < ?1 AND user_id IN"
                    " (SELECT id FROM users WHERE agency = ?2)"
                  : "DELETE FROM sessions WHERE COALESCE(ended_at, expires_at) < ?1 AND user_id IN"
                    " (SELECT id FROM users WHERE agency IS NULL)");
    s.bind(1, before_ms);
    if (agency) s.bind(2, *agency);
    s.run();
    return conn_.changes();
  }

  bool user_exists(const std::string& username) override {
    std::lock_guard lock(mu_);
    stmt s(conn_, "SELECT 1 FROM users WHERE username = ?1");
    s.bind(1, username);
    return s.step();
  }

  std::optional<std::int64_t> add_user(const new_user& u) override {
    std::lock_guard lock(mu_);
    try {
      stmt(conn_,
           "INSERT INTO users(username, display_name, role, agency, password_hash, "
           "created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)")
          .bind(1, u.username)
          .bind(2, u.display_name)
          .bind(3, u.role)
          .bind(4, u.agency.empty() ? std::optional<std::string>() : u.agency)
          .bind(5, u.password_hash)
          .bind(6, u.created_ms)
          .run();
    } catch (const store_error&) {
      // Someone else added the same name meanwhile.
      if (sqlite3_extended_errcode(conn_.handle()) == SQLITE_CONSTRAINT_UNIQUE) return std::nullopt;
      throw;
    }
    return sqlite3_last_insert_rowid(conn_.handle());
  }

  std::optional<std::int64_t> set_password(const std::string& username,
                                           const std::string& password_hash,
                                           std::int64_t at_ms) override {
    std::lock_guard lock(mu_);
    conn_.exec("BEGIN IMMEDIATE");
    try {
      auto id = user_id(username);
      if (id) {
        stmt(conn_, "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3")
            .bind(1, password_hash)
            .bind(2, at_ms)
            .bind(3, *id)
            .run();
        end_sessions(*id, at_ms);
      }
      conn_.exec(id ? "COMMIT" : "ROLLBACK");
      return id;
    } catch (...) {
      rollback(conn_);
      throw;
    }
  }

  std::optional<std::int64_t> set_disabled(const std::string& username, bool disabled,
                                           std::int64_t at_ms) override {
    std::lock_guard lock(mu_);
    conn_.exec("BEGIN IMMEDIATE");
    try {
      auto id = user_id(username);
      if (id) {
        stmt(conn_, "UPDATE users SET disabled = ?1, updated_at = ?2 WHERE id = ?3")
            .bind(1, disabled ? 1 : 0)
            .bind(2, at_ms)
            .bind(3, *id)
            .run();
        if (disabled) end_sessions(*id, at_ms);
      }
      conn_.exec(id ? "COMMIT" : "ROLLBACK");
      return id;
    } catch (...) {
      rollback(conn_);
      throw;
    }
  }

  std::vector<user_record> list_users() override {
    std::lock_guard lock(mu_);
    stmt s(conn_,
           "SELECT id, username, display_name, role, agency, disabled, created_at FROM users "
           "ORDER BY username");
    std::vector<user_record> out;
    while (s.step())
      out.push_back(user_record{s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4),
                                s.int64(5) != 0, s.int64(6)});
    return out;
  }

 private:
  // Ends every open session of the user (caller holds mu_, inside a transaction).
  void end_sessions(std::int64_t user_id, std::int64_t now) {
    stmt(conn_, "UPDATE sessions SET ended_at = ?1 WHERE user_id = ?2 AND ended_at IS NULL")
        .bind(1, now)
        .bind(2, user_id)
        .run();
  }

  std::optional<std::int64_t> user_id(const std::string& username) {
    stmt s(conn_, "SELECT id FROM users WHERE username = ?1");
    s.bind(1, username);
    if (!s.step()) return std::nullopt;
    return s.int64(0);
  }

  std::mutex mu_;  // guards conn_
  db conn_;
};

}  // namespace

std::unique_ptr<account_store> open_sqlite_account_store(const store_options& o) {
  return std::make_unique<sqlite_account_store>(o);
}

}  // namespace bl::store
