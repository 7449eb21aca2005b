#include "gateway/core/digest.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store {

std::string audit_hash(const std::string& prev_hash, std::int64_t seq, std::int64_t at,
                       const std::string& actor, const std::string& action,
                       const std::string& message_id, const std::string& transfer_id,
                       const std::string& detail) {
  // Length-prefixed fields so that no two different rows can serialise to the same bytes.
  std::string buf;
  auto add = [&](const std::string& s) {
    buf += std::to_string(s.size());
    buf += ':';
    buf += s;
  };
  add(prev_hash);
  add(std::to_string(seq));
  add(std::to_string(at));
  add(actor);
  add(action);
  add(message_id);
  add(transfer_id);
  add(detail);
  return sha256_hex(buf);
}

}  // namespace bl::store
