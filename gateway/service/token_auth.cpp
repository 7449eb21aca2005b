#include "gateway/service/token_auth.hpp"

#include "gateway/core/digest.hpp"

#include <stdexcept>

#include <openssl/rand.h>

namespace bl {

token_auth::token_auth(const gateway_config& cfg) {
  for (const auto& t : cfg.tokens) by_digest_.emplace(t.sha256, t.agency);
}

std::optional<std::string> token_auth::agency_for(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  auto it = by_digest_.find(digest(token));
  if (it == by_digest_.end()) return std::nullopt;
  return it->second;
}

std::string token_auth::digest(std::string_view token) {
  return sha256_hex(token);
}

std::string token_auth::generate() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("no randomness available");
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "blt_";
  for (unsigned char c : raw) out += alphabet[c & 63];
  return out;
}

}  // namespace bl
