#pragma once
// The schemas/ directory every fuzz target that validates shares: loaded once, from
// LLVMFuzzerInitialize, so that loading is not part of any input's run. tools/fuzz sets
// $BLUELINK_SCHEMAS; otherwise schema_set::locate() looks beside the binary, then in the source
// tree. A function-local static rather than a global: the fuzzer runs one input at a time on one
// thread, and the schema_set is read-only once loaded.

#include "gateway/schema/schema_set.hpp"

namespace bl::fuzz {

/// The loaded schemas. The first call (pass argv[0] from LLVMFuzzerInitialize) loads them and
/// throws, ending the fuzzer before it starts, when they cannot be read.
inline const schema_set& schemas(const char* argv0 = "") {
  static const schema_set s(schema_set::locate(argv0));
  return s;
}

}  // namespace bl::fuzz
