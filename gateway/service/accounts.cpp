#include "gateway/service/accounts.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "gateway/core/digest.hpp"
#include "gateway/store/sqlite/account_store.hpp"
// store_error and to_error (gateway/store/store_error.hpp once the store's fault kinds land).
#include "gateway/store/store_error.hpp"

namespace bl {

std::string_view to_string(role r) {
  switch (r) {
    case role::operator_role:
      return "operator";
    case role::supervisor:
      return "supervisor";
    case role::manager:
      return "manager";
    case role::admin:
      return "admin";
    case role::dpo:
      return "dpo";
  }
  return "operator";
}

std::optional<role> role_from(std::string_view s) {
  if (s == "operator") return role::operator_role;
  if (s == "supervisor") return role::supervisor;
  if (s == "manager") return role::manager;
  if (s == "admin") return role::admin;
  if (s == "dpo") return role::dpo;
  return std::nullopt;
}

namespace {

constexpr std::size_t min_password = 10;
constexpr std::size_t max_password = 1024;  // the sign-in schema's limit
constexpr std::int64_t minute_ms = 60'000;
// A busy console renews its session on every request; the database hears of it at most this often.
constexpr std::int64_t renew_write_interval_ms = minute_ms;
// Rate-limit keys and cached sessions are swept when a map grows past this, so that a flood of
// distinct usernames or addresses cannot grow memory without bound.
constexpr std::size_t sweep_threshold = 10'000;
// A throttle with no failure for this long starts again from nothing.
constexpr std::int64_t forget_after_ms = 15 * minute_ms;
constexpr std::int64_t max_backoff_ms = minute_ms;

// The wait after `failures` failed sign-ins of which `free` cost nothing: 1 s, 2 s, 4 s ... 60 s.
std::int64_t backoff_ms(int failures, int free) {
  if (failures < free) return 0;
  int doublings = std::min(failures - free, 6);
  return std::min<std::int64_t>(max_backoff_ms, std::int64_t{1000} << doublings);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string random_token() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char out[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return out;
}

// Argon2id with the interactive limits: about 0.1 s and 64 MiB per sign-in on a server core.
std::string hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    throw std::runtime_error("crypto_pwhash_str failed: out of memory for the password hash");
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

void check_password(std::string_view password) {
  if (password.size() < min_password)
    throw std::invalid_argument("the password must be at least " + std::to_string(min_password) +
                                " characters long");
  if (password.size() > max_password)
    throw std::invalid_argument("the password must be at most " + std::to_string(max_password) +
                                " characters long");
}

error expired(std::string message) {
  return make_error(errc::session_expired, std::move(message));
}

}  // namespace

struct accounts::impl {
  // What this process knows about a session beyond the database: the renewed idle deadline that
  // has not been written yet, and when the row was last written.
  struct cached_session {
    std::int64_t user_id = 0;
    std::int64_t expires_ms = 0;  // the true deadline, renewed on each use
    std::int64_t db_expires_ms =
        0;  // what the row says; a different value means someone else
            // (the CLI, an operator with a database tool) changed it: trust the row
    std::int64_t written_ms = 0;
  };

  impl(const gateway_config& c, std::unique_ptr<store::account_store> s)
      : cfg(c), db(std::move(s)) {}

  gateway_config cfg;
  std::mutex mu;  // guards sessions, throttles, and orders the store's writes with them
  std::unique_ptr<store::account_store> db;
  std::unordered_map<std::string, cached_session> sessions;  // by token SHA-256
  // Sign-in throttles: "p:<address>|<username>" (one guesser against one account) and
  // "a:<address>" (one guesser spraying many accounts). Each failure past the free ones doubles
  // the wait before the next attempt from that key, up to a minute; nothing is keyed by the
  // username alone, so nobody can lock a named operator out by guessing from elsewhere.
  struct throttle {
    int failures = 0;
    std::int64_t last_ms = 0;  // the latest failure (or attempt still being checked)
  };
  std::unordered_map<std::string, throttle> throttles;
  std::once_flag dummy_once;
  std::string dummy_hash;

  // A hash of a random password, verified against when the username is unknown so that the
  // reply takes as long as for a real user with a wrong password.
  const std::string& dummy() {
    std::call_once(dummy_once, [this] { dummy_hash = hash_password(random_token()); });
    return dummy_hash;
  }

  // How long `key` must still wait before its next attempt, in ms; 0 when it may try now.
  // An entry with no failure for forget_after_ms is forgotten (caller holds mu).
  std::int64_t wait_ms(const std::string& key, int free, std::int64_t now) {
    auto it = throttles.find(key);
    if (it == throttles.end()) return 0;
    if (now - it->second.last_ms > forget_after_ms) {
      throttles.erase(it);
      return 0;
    }
    if (it->second.failures < free) return 0;  // free attempts never wait
    auto d = backoff_ms(it->second.failures, free);
    return std::max<std::int64_t>(0, it->second.last_ms + d - now);
  }

  void count_failure(const std::string& key, std::int64_t now) {
    auto& t = throttles[key];
    ++t.failures;
    t.last_ms = now;
  }

  // A failure counted in advance is now known to be one: its wait starts from this moment.
  void failure_answered(const std::string& pair_key, const std::string& addr_key,
                        std::int64_t now) {
    std::lock_guard lock(mu);
    for (const auto* key : {&pair_key, &addr_key}) {
      auto it = throttles.find(*key);
      if (it != throttles.end()) it->second.last_ms = std::max(it->second.last_ms, now);
    }
  }

  // Takes back one failure counted in advance for an attempt that succeeded.
  void take_back(const std::string& key) {
    auto it = throttles.find(key);
    if (it == throttles.end()) return;
    if (--it->second.failures <= 0) throttles.erase(it);
  }

  void sweep(std::int64_t now) {
    if (throttles.size() > sweep_threshold) {
      for (auto it = throttles.begin(); it != throttles.end();)
        it = now - it->second.last_ms > forget_after_ms ? throttles.erase(it) : std::next(it);
    }
    if (sessions.size() > sweep_threshold) {
      for (auto it = sessions.begin(); it != sessions.end();)
        it = it->second.expires_ms <= now ? sessions.erase(it) : std::next(it);
    }
  }

  void forget_user_sessions(std::int64_t user_id) {
    for (auto it = sessions.begin(); it != sessions.end();)
      it = it->second.user_id == user_id ? sessions.erase(it) : std::next(it);
  }
};

static std::invalid_argument no_user(const std::string& username) {
  return std::invalid_argument("no user named '" + username + "'");
}

accounts::accounts(const gateway_config& cfg, std::unique_ptr<store::account_store> store) {
  if (!store) throw std::invalid_argument("accounts: no account store");
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  impl_ = std::make_unique<impl>(cfg, std::move(store));
}

accounts::accounts(const gateway_config& cfg, const std::string& db_path)
    : accounts(cfg, store::open_sqlite_account_store(
                        store::store_options{db_path, true, cfg.busy_timeout_ms, {}})) {}

accounts::~accounts() = default;

std::variant<login_ok, error> accounts::login(std::string_view username, std::string_view password,
                                              std::string_view remote) {
  auto& m = *impl_;
  const std::string name = lower(username);
  const std::string pair_key = "p:" + std::string(remote) + "|" + name;
  const std::string addr_key = "a:" + std::string(remote);
  // The free attempts: per address and account as configured; an address may make ten times as
  // many (a control room's operators share one NAT address and mistype too).
  const int pair_free = std::max(1, m.cfg.console.login_attempts_per_minute);
  const int addr_free = pair_free * 10;
  std::optional<store::login_record> user;
  {
    std::lock_guard lock(m.mu);
    // Read under the lock: a time read before it could be older than another sign-in's answer,
    // and would then look like a wait still to run (a sign-in refused with no failures at all).
    const std::int64_t attempt_ms = to_ms(now_ms());
    // Refused before any hashing, so that a flood of guesses cannot burn the gateway's CPU.
    auto wait = std::max(m.wait_ms(pair_key, pair_free, attempt_ms),
                         remote.empty() ? 0 : m.wait_ms(addr_key, addr_free, attempt_ms));
    if (wait > 0)
      return make_error(errc::rate_limited, "too many failed sign-ins from this address; wait " +
                                                std::to_string((wait + 999) / 1000) +
                                                " s and try again");
    // The attempt counts as failed until it succeeds: concurrent guesses cannot all slip past
    // the check above while the hashes run.
    m.count_failure(pair_key, attempt_ms);
    if (!remote.empty()) m.count_failure(addr_key, attempt_ms);
    m.sweep(attempt_ms);
    try {
      user = m.db->find_login(name);
    } catch (const store::store_error& e) {
      // The store failed, not the caller: the attempt counted in advance is taken back.
      m.take_back(pair_key);
      if (!remote.empty()) m.take_back(addr_key);
      return store::to_error(e);
    }
  }

  // The slow part, outside the lock; an unknown user costs the same as a wrong password.
  bool ok = verify_password(user ? user->password_hash : m.dummy(), password);
  if (!user || !ok) {
    // The wait runs from the answer, not from the attempt: the guesser learns the result only
    // now, and a hash that was slow (a loaded machine) must not use up the wait it earns.
    m.failure_answered(pair_key, addr_key, to_ms(now_ms()));
    return make_error(errc::login_failed, "the username or password is not correct");
  }
  // Only someone who knows the password learns that the account is disabled.
  if (user->disabled)
    return make_error(errc::account_disabled,
                      "this account is disabled; ask an administrator to enable it");
  auto r = role_from(user->role);
  if (!r) return make_error(errc::internal, "user '" + name + "' has an unknown role");

  std::optional<store::password_rehash> rehash;
  if (crypto_pwhash_str_needs_rehash(user->password_hash.c_str(),
                                     crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    rehash = store::password_rehash{user->password_hash, hash_password(password)};

  login_ok out;
  out.session_token = random_token();
  const std::string csrf = random_token();
  const std::string digest = sha256_hex(out.session_token);
  const std::int64_t now = to_ms(now_ms());
  const std::int64_t expires = std::min(now + std::int64_t{m.cfg.console.session_idle_s} * 1000,
                                        now + std::int64_t{m.cfg.console.session_max_s} * 1000);
  {
    std::lock_guard lock(m.mu);
    try {
      // The session and the stronger hash of the password, together.
      m.db->open_session(
          store::new_session{digest, user->id, csrf, now, expires, std::string(remote)}, rehash);
    } catch (const store::store_error& e) {
      // The password was right and the store failed: no failed attempt to count.
      m.take_back(pair_key);
      if (!remote.empty()) m.take_back(addr_key);
      return store::to_error(e);
    }
    // Counted against the address in advance; a success takes it back, so that many operators
    // behind one address can all sign in at the start of a shift.
    m.throttles.erase(pair_key);
    if (!remote.empty()) m.take_back(addr_key);
    m.sessions[digest] = impl::cached_session{user->id, expires, expires, now};
  }

  out.who.user_id = user->id;
  out.who.username = name;
  out.who.display_name = user->display_name;
  out.who.who = *r;
  out.who.agency = user->agency;
  out.who.via_session = true;
  out.who.csrf_token = csrf;
  out.who.expires_at = from_ms(expires);
  out.expires_at = out.who.expires_at;
  return out;
}

std::variant<principal, error> accounts::session(std::string_view token) {
  auto& m = *impl_;
  // Tokens are 43 characters; anything far longer is not ours and is not worth hashing.
  if (token.empty() || token.size() > 256)
    return expired("the sign-in session is not recognised; sign in again");
  const std::string digest = sha256_hex(token);
  const std::int64_t now = to_ms(now_ms());

  std::lock_guard lock(m.mu);
  try {
    auto row = m.db->find_session(digest);
    if (!row) {
      m.sessions.erase(digest);
      return expired("the sign-in session is not recognised; sign in again");
    }
    principal p;
    p.user_id = row->user_id;
    p.csrf_token = row->csrf_token;
    const std::int64_t created = row->created_ms;
    const std::int64_t row_expires = row->expires_ms;
    const bool ended = row->ended;
    p.username = row->username;
    p.display_name = row->display_name;
    auto r = role_from(row->role);
    p.agency = row->agency;
    const bool disabled = row->user_disabled;

    if (ended) {
      m.sessions.erase(digest);
      return expired("this session was signed out; sign in again");
    }
    if (disabled) {
      m.sessions.erase(digest);
      return expired("this account has been disabled; the session has ended");
    }
    if (!r) return make_error(errc::internal, "user '" + p.username + "' has an unknown role");

    auto it = m.sessions.find(digest);
    if (it != m.sessions.end() && it->second.db_expires_ms != row_expires) {
      m.sessions.erase(it);
      it = m.sessions.end();
    }
    const std::int64_t deadline = it != m.sessions.end() ? it->second.expires_ms : row_expires;
    const std::int64_t absolute = created + std::int64_t{m.cfg.console.session_max_s} * 1000;
    if (now >= deadline) {
      if (it != m.sessions.end()) m.sessions.erase(it);
      return expired(now >= absolute
                         ? "the session reached its time limit; sign in again"
                         : "the session ended after a period without use; sign in again");
    }

    const std::int64_t renewed =
        std::min(now + std::int64_t{m.cfg.console.session_idle_s} * 1000, absolute);
    if (it == m.sessions.end())
      it = m.sessions.emplace(digest, impl::cached_session{p.user_id, row_expires, row_expires, 0})
               .first;
    it->second.expires_ms = std::max(it->second.expires_ms, renewed);
    if (now - it->second.written_ms >= renew_write_interval_ms) {
      m.db->renew_session(digest, now, it->second.expires_ms);
      it->second.db_expires_ms = it->second.expires_ms;
      it->second.written_ms = now;
    }
    p.who = *r;
    p.via_session = true;
    p.expires_at = from_ms(it->second.expires_ms);
    return p;
  } catch (const store::store_error& e) {
    return store::to_error(e);
  }
}

void accounts::logout(std::string_view token) {
  auto& m = *impl_;
  if (token.empty() || token.size() > 256) return;
  const std::string digest = sha256_hex(token);
  std::lock_guard lock(m.mu);
  m.sessions.erase(digest);
  m.db->end_session(digest, to_ms(now_ms()));
}

std::int64_t accounts::add_user(const std::string& username, const std::string& display_name,
                                role r, const std::string& agency, const std::string& password) {
  auto& m = *impl_;
  const std::string name = lower(username);
  if (name.size() < 3 || name.size() > 64)
    throw std::invalid_argument("the username must be 3 to 64 characters long, not " +
                                std::to_string(name.size()));
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      throw std::invalid_argument("the username '" + username +
                                  "' may only contain letters, digits, '.', '_' and '-'");
  if (display_name.find_first_not_of(" \t") == std::string::npos)
    throw std::invalid_argument("the display name must not be empty");
  if (agency_scoped(r)) {
    if (agency.empty())
      throw std::invalid_argument("a " + std::string(to_string(r)) +
                                  " belongs to one agency: give --agency");
    if (!m.cfg.find_agency(agency))
      throw std::invalid_argument("agency '" + agency + "' is not in the gateway's config");
  } else if (!agency.empty()) {
    throw std::invalid_argument("a " + std::string(to_string(r)) +
                                " acts for no agency: leave out --agency");
  }
  check_password(password);
  {
    std::lock_guard lock(m.mu);
    if (m.db->user_exists(name))
      throw std::invalid_argument("a user named '" + name + "' already exists");
  }
  const std::string hash = hash_password(password);
  const std::int64_t now = to_ms(now_ms());
  std::lock_guard lock(m.mu);
  auto id = m.db->add_user(
      store::new_user{name, display_name, std::string(to_string(r)), agency, hash, now});
  // Someone else added the same name while the hash ran.
  if (!id) throw std::invalid_argument("a user named '" + name + "' already exists");
  return *id;
}

void accounts::set_password(const std::string& username, const std::string& password) {
  auto& m = *impl_;
  const std::string name = lower(username);
  check_password(password);
  {
    std::lock_guard lock(m.mu);
    // Fail fast, before the hash, for a mistyped name.
    if (!m.db->user_exists(name)) throw no_user(name);
  }
  const std::string hash = hash_password(password);
  const std::int64_t now = to_ms(now_ms());
  std::lock_guard lock(m.mu);
  // Whoever knew the old password may hold a session: a new password ends them all.
  auto id = m.db->set_password(name, hash, now);
  if (!id) throw no_user(name);
  m.forget_user_sessions(*id);
}

void accounts::set_disabled(const std::string& username, bool disabled) {
  auto& m = *impl_;
  const std::string name = lower(username);
  const std::int64_t now = to_ms(now_ms());
  std::lock_guard lock(m.mu);
  auto id = m.db->set_disabled(name, disabled, now);
  if (!id) throw no_user(name);
  if (disabled) m.forget_user_sessions(*id);
}

std::vector<user_row> accounts::list_users() {
  auto& m = *impl_;
  std::lock_guard lock(m.mu);
  std::vector<user_row> out;
  for (auto& row : m.db->list_users()) {
    user_row u;
    u.id = row.id;
    u.username = std::move(row.username);
    u.display_name = std::move(row.display_name);
    u.who = role_from(row.role).value_or(role::operator_role);
    u.agency = std::move(row.agency);
    u.disabled = row.disabled;
    u.created_at = from_ms(row.created_ms);
    out.push_back(std::move(u));
  }
  return out;
}

std::optional<user_row> accounts::find_user(const std::string& username) {
  for (auto& u : list_users()) {
    if (u.username.size() != username.size()) continue;
    bool same =
        std::equal(u.username.begin(), u.username.end(), username.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        });
    if (same) return u;
  }
  return std::nullopt;
}

std::string accounts::generate_password() {
  constexpr std::string_view alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  std::string out;
  for (int i = 0; i < 20; ++i)
    out += alphabet[randombytes_uniform(static_cast<std::uint32_t>(alphabet.size()))];
  return out;
}

}  // namespace bl
