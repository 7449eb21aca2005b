// Single requests that once took the whole gateway down (security review): a 30,000-letter
// what3words and a 40,000-character error code made std::regex recurse once per character until
// the stack overflowed (SIGSEGV), even on a dry run. Against the real binary: each is refused with
// the right status and code, and the gateway still answers /healthz afterwards.

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;

void require_alive(gateway_process& gw) {
  http_client fresh(gw.port());
  auto h = fresh.get("/healthz", "");
  INFO(h.body);
  CHECK(h.status == 200);
  CHECK(gw.running());
}

std::string error_code_of(const http_response& r) {
  return r.json.is_object() && r.json.contains("error")
             ? r.json["error"].value("code", std::string())
             : std::string();
}

}  // namespace

TEST_CASE("a 30,000-letter what3words is refused with 422 and the gateway stays up",
          "[system][security]") {
  gateway_process gw;
  http_client c(gw.port());
  json msg = rtc_request("essex-fire:w3w-" + std::to_string(gw.port()));
  msg["body"]["methane"]["exact_location"]["what3words"] = "///" + std::string(30000, 'a') + ".b.c";

  for (const char* target : {"/api/v1/messages?dry_run=true", "/api/v1/messages"}) {
    INFO(target);
    auto r = c.post(target, msg, gateway_process::token(essex_fire));
    INFO(r.body.substr(0, 400));
    CHECK(r.status == 422);
    CHECK(error_code_of(r) == "bl.schema.invalid");
    CHECK(r.json["error"].value("pointer", std::string()) ==
          "/body/methane/exact_location/what3words");
    require_alive(gw);
  }
}

TEST_CASE("an error message with a 40,000-character code is refused as not submittable",
          "[system][security]") {
  gateway_process gw;
  http_client c(gw.port());
  json msg = {{"id", "essex-fire:err-" + std::to_string(gw.port())},
              {"type", "error"},
              {"from", essex_fire},
              {"to", {"essex-police"}},
              {"sent_at", "2026-11-21T14:19:30.412Z"},
              {"body", {{"code", "bl." + std::string(40000, 'x') + ".y"}, {"message", "boom"}}}};

  for (const char* target : {"/api/v1/messages?dry_run=true", "/api/v1/messages"}) {
    INFO(target);
    auto r = c.post(target, msg, gateway_process::token(essex_fire));
    INFO(r.body.substr(0, 400));
    CHECK(r.status == 422);
    CHECK(error_code_of(r) == "bl.message.not_submittable");
    CHECK(r.json["error"].value("pointer", std::string()) == "/type");
    require_alive(gw);
  }
}

TEST_CASE("a request body nesting too deep is refused with 400 before it is parsed",
          "[system][security]") {
  gateway_process gw;
  http_client c(gw.port());
  // 20,000 levels fit in the 64 KiB body limit; the configured max_json_depth is 32.
  json msg = rtc_request("essex-fire:deep-" + std::to_string(gw.port()));
  std::string text = msg.dump();
  text.insert(text.size() - 1, ",\"x\":" + std::string(20000, '[') + std::string(20000, ']'));

  for (const char* target : {"/api/v1/messages", "/api/v1/messages?dry_run=true"}) {
    INFO(target);
    auto r = c.request("POST", target, text, gateway_process::token(essex_fire));
    INFO(r.body.substr(0, 400));
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "bl.request.too_deep");
    require_alive(gw);
  }
  auto ack = c.request("POST", "/api/v1/inbox/ack",
                       "{\"upto\":" + std::string(40, '[') + "1" + std::string(40, ']') + "}",
                       gateway_process::token(essex_fire));
  CHECK(ack.status == 400);
  CHECK(error_code_of(ack) == "bl.request.too_deep");
  require_alive(gw);
}
