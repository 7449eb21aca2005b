#pragma once
// SHA-256 as lower-case hex: token digests in the config, the audit hash chain.

#include <string>
#include <string_view>

namespace bl {

std::string sha256_hex(std::string_view data);

}  // namespace bl
