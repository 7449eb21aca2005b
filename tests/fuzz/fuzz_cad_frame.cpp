// libFuzzer target: arbitrary bytes as one frame from a CAD on the ZeroMQ CAD link
// (adapters/zmq_cad/cad_frame: hello, submit, ack, heartbeat, goodbye, or a refusal). Every input
// must give a typed frame whose values are within what the protocol allows, or a refusal with a
// message. The depth limit is set low so that the fuzzer reaches the limit as well as the
// schemas. Crashers are kept under tests/fuzz/regressions/fuzz_cad_frame/ and replayed by
// tests/unit/cad_frame_test.cpp.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adapters/zmq_cad/cad_frame.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

namespace {
namespace cad = bl::cad;

void check(const cad::cad_frame& f) {
  if (auto* h = std::get_if<cad::hello_frame>(&f)) {
    if (h->resume_from < 0 || h->agency.empty()) std::abort();
    if (h->window && (*h->window < 1 || *h->window > 1000)) std::abort();
  } else if (auto* s = std::get_if<cad::submit_frame>(&f)) {
    if (!s->message.is_object()) std::abort();
  } else if (auto* a = std::get_if<cad::ack_frame>(&f)) {
    if (a->upto < 0) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int depth : {8, 32}) {
    auto r = cad::parse_cad_frame(text, bl::fuzz::schemas(),
                                  cad::frame_limits{cad::max_frame_bytes, depth});
    if (auto* e = std::get_if<cad::frame_refusal>(&r)) {
      if (e->err.message.empty()) std::abort();
    } else {
      check(std::get<cad::cad_frame>(r));
    }
  }
  return 0;
}
