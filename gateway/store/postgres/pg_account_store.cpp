#include "gateway/store/postgres/pg_account_store.hpp"

#include <mutex>

#include "gateway/store/postgres/pg.hpp"

namespace bl::store::postgres {

namespace {

// Usernames are compared as SQLite's COLLATE NOCASE column compares them: whatever their case.
// lower(username) is what the unique index users_username holds, so each look-up is one probe.
constexpr const char* user_by_name = "lower(username) = lower($1)";

class pg_account_store final : public account_store {
 public:
  explicit pg_account_store(const std::string& conninfo)
      : c_(std::make_unique<connection>(conninfo)) {}

  std::optional<login_record> find_login(const std::string& username) override {
    std::lock_guard lock(mu_);
    auto r = conn().prepared(std::string("SELECT id, display_name, role, COALESCE(agency, ''),"
                                         " password_hash, disabled FROM users WHERE ") +
                                 user_by_name,
                             {p(username)});
    if (r.rows() == 0) return std::nullopt;
    return login_record{r.int64(0, 0), r.text(0, 1), r.text(0, 2),
                        r.text(0, 3),  r.text(0, 4), r.boolean(0, 5)};
  }

  void open_session(const new_session& n, const std::optional<password_rehash>& rehash) override {
    std::lock_guard lock(mu_);
    transaction([&](connection& c) {
      c.prepared(
          "INSERT INTO sessions(token_sha256, user_id, csrf_token, created_at, last_seen,"
          " expires_at, remote) VALUES($1, $2, $3, $4, $4, $5, $6)",
          {p(n.token_sha256), p(n.user_id), p(n.csrf_token), p(n.created_ms), p(n.expires_ms),
           p_or_null(n.remote)});
      // Only replaces the hash it verified: a password changed meanwhile is left alone.
      if (rehash)
        c.prepared(
            "UPDATE users SET password_hash = $1, updated_at = $2"
            " WHERE id = $3 AND password_hash = $4",
            {p(rehash->new_hash), p(n.created_ms), p(n.user_id), p(rehash->verified_hash)});
      return 0;
    });
  }

  std::optional<session_record> find_session(const std::string& token_sha256) override {
    std::lock_guard lock(mu_);
    auto r = conn().prepared(
        "SELECT s.user_id, s.csrf_token, s.created_at, s.expires_at, s.ended_at IS NOT NULL,"
        " u.username, u.display_name, u.role, COALESCE(u.agency, ''), u.disabled"
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = $1",
        {p(token_sha256)});
    if (r.rows() == 0) return std::nullopt;
    session_record s;
    s.user_id = r.int64(0, 0);
    s.csrf_token = r.text(0, 1);
    s.created_ms = r.int64(0, 2);
    s.expires_ms = r.int64(0, 3);
    s.ended = r.boolean(0, 4);
    s.username = r.text(0, 5);
    s.display_name = r.text(0, 6);
    s.role = r.text(0, 7);
    s.agency = r.text(0, 8);
    s.user_disabled = r.boolean(0, 9);
    return s;
  }

  void renew_session(const std::string& token_sha256, std::int64_t seen_ms,
                     std::int64_t expires_ms) override {
    std::lock_guard lock(mu_);
    conn().prepared(
        "UPDATE sessions SET last_seen = $1, expires_at = $2"
        " WHERE token_sha256 = $3 AND ended_at IS NULL",
        {p(seen_ms), p(expires_ms), p(token_sha256)});
  }

  void end_session(const std::string& token_sha256, std::int64_t at_ms) override {
    std::lock_guard lock(mu_);
    conn().prepared(
        "UPDATE sessions SET ended_at = $1 WHERE token_sha256 = $2 AND ended_at IS NULL",
        {p(at_ms), p(token_sha256)});
  }

  std::int64_t purge_sessions(const std::optional<std::string>& agency,
                              std::int64_t before_ms) override {
    std::lock_guard lock(mu_);
    if (agency)
      return conn()
          .prepared(
              "DELETE FROM sessions WHERE COALESCE(ended_at, expires_at) < $1 AND user_id IN"
              " (SELECT id FROM users WHERE agency = $2)",
              {p(before_ms), p(*agency)})
          .affected();
    return conn()
        .prepared(
            "DELETE FROM sessions WHERE COALESCE(ended_at, expires_at) < $1 AND user_id IN"
            " (SELECT id FROM users WHERE agency IS NULL)",
            {p(before_ms)})
        .affected();
  }

  bool user_exists(const std::string& username) override {
    std::lock_guard lock(mu_);
    return conn()
               .prepared(std::string("SELECT 1 FROM users WHERE ") + user_by_name, {p(username)})
               .rows() > 0;
  }

  std::optional<std::int64_t> add_user(const new_user& u) override {
    std::lock_guard lock(mu_);
    // A name taken meanwhile (by another process, whatever its case) inserts nothing and returns
    // no row, as SQLite's UNIQUE constraint does for the SQLite store; other failures throw.
    auto r = conn().prepared(
        "INSERT INTO users(username, display_name, role, agency, password_hash, created_at,"
        " updated_at) VALUES($1, $2, $3, $4, $5, $6, $6)"
        " ON CONFLICT ((lower(username))) DO NOTHING RETURNING id",
        {p(u.username), p(u.display_name), p(u.role), p_or_null(u.agency), p(u.password_hash),
         p(u.created_ms)});
    if (r.rows() == 0) return std::nullopt;
    return r.int64(0, 0);
  }

  std::optional<std::int64_t> set_password(const std::string& username,
                                           const std::string& password_hash,
                                           std::int64_t at_ms) override {
    std::lock_guard lock(mu_);
    return transaction([&](connection& c) -> std::optional<std::int64_t> {
      auto id = lock_user(c, username);
      if (!id) return std::nullopt;
      c.prepared("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
                 {p(password_hash), p(at_ms), p(*id)});
      end_sessions(c, *id, at_ms);
      return id;
    });
  }

  std::optional<std::int64_t> set_disabled(const std::string& username, bool disabled,
                                           std::int64_t at_ms) override {
    std::lock_guard lock(mu_);
    return transaction([&](connection& c) -> std::optional<std::int64_t> {
      auto id = lock_user(c, username);
      if (!id) return std::nullopt;
      c.prepared("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3",
                 {p(disabled), p(at_ms), p(*id)});
      if (disabled) end_sessions(c, *id, at_ms);
      return id;
    });
  }

  std::vector<user_record> list_users() override {
    std::lock_guard lock(mu_);
    // Ordered as SQLite's NOCASE column orders them (the names are stored lower-case anyway).
    auto r = conn().prepared(
        "SELECT id, username, display_name, role, COALESCE(agency, ''), disabled, created_at"
        " FROM users ORDER BY lower(username), username");
    std::vector<user_record> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(user_record{r.int64(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3),
                                r.text(i, 4), r.boolean(i, 5), r.int64(i, 6)});
    return out;
  }

 private:
  // The connection, made again first if the server went away since the last call (caller holds
  // mu_, outside a transaction: nothing of an open one can be lost by reconnecting).
  connection& conn() {
    c_->reconnect_if_broken();
    return *c_;
  }

  // Runs `body` in one transaction: committed when it returns, rolled back when it throws.
  template <class F>
  auto transaction(F&& body) -> decltype(body(std::declval<connection&>())) {
    connection& c = conn();
    c.exec("BEGIN");
    try {
      auto out = body(c);
      // A COMMIT the server answers with ROLLBACK stored nothing: say so rather than succeed.
      if (c.exec("COMMIT").command_status() != "COMMIT")
        throw store_error(fault::conflict,
                          "PostgreSQL rolled the account change back at COMMIT: nothing of it "
                          "was stored");
      return out;
    } catch (...) {
      try {
        if (c.in_transaction()) c.exec("ROLLBACK");
      } catch (...) {
        // The connection is gone: the server has rolled back.
      }
      throw;
    }
  }

  // The user's id with its row locked until the transaction ends, so that a password change and
  // a disabling of the same user from two processes take turns (SQLite: BEGIN IMMEDIATE).
  static std::optional<std::int64_t> lock_user(connection& c, const std::string& username) {
    auto r = c.prepared(std::string("SELECT id FROM users WHERE ") + user_by_name + " FOR UPDATE",
                        {p(username)});
    if (r.rows() == 0) return std::nullopt;
    return r.int64(0, 0);
  }

  // Ends every open session of the user (inside the caller's transaction).
  static void end_sessions(connection& c, std::int64_t user_id, std::int64_t now) {
    c.prepared("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
               {p(now), p(user_id)});
  }

  std::mutex mu_;  // guards c_
  std::unique_ptr<connection> c_;
};

}  // namespace

std::unique_ptr<account_store> open_pg_account_store(const std::string& conninfo) {
  return std::make_unique<pg_account_store>(conninfo);
}

}  // namespace bl::store::postgres
