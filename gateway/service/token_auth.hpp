#pragma once
// Maps bearer tokens to agencies. The config holds only SHA-256 digests of tokens; a presented
// token is hashed and looked up, so the tokens themselves are never stored or logged.
// Immutable after construction: safe to share between threads.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/core/config.hpp"

namespace bl {

class token_auth {
 public:
  explicit token_auth(const gateway_config& cfg);
  /// The agency the token belongs to, or nullopt for an unknown token.
  std::optional<std::string> agency_for(std::string_view token) const;
  /// Hex SHA-256 of a token, as written into the config file.
  static std::string digest(std::string_view token);
  /// A fresh random token: 32 URL-safe characters, 6 random bits each (192 bits of entropy).
  static std::string generate();

 private:
  std::unordered_map<std::string, std::string> by_digest_;
};

}  // namespace bl
