// The one way in (submit_pipeline) and the one way out (delivery_stream) that every edge uses:
// the order of the submit steps, the error each gives and where it points, the refusals while
// shutting down or degraded, and the delivery cursor rule with its race-free wake.

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <variant>

#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "tests/support/cad_link_rig.hpp"
#include "tests/support/engine_rig.hpp"

using namespace bl;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct pipeline_rig : test::engine_rig {
  pipeline_rig() { log->set_pattern("%v"); }
  std::shared_ptr<test::captured_log> sink = std::make_shared<test::captured_log>();
  std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>("pipeline", sink);
  schema_set schemas{std::string(BL_SOURCE_DIR) + "/schemas"};
  submit_pipeline pipeline{cfg, schemas, *eng, log};
  delivery_stream stream{*rd, notifier, *eng};

  std::variant<receipt_result, error> submit(json doc, const submitter& who) {
    std::promise<std::variant<receipt_result, error>> p;
    pipeline.submit(std::move(doc), who, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  std::variant<receipt_result, error> submit_body(const std::string& body, const submitter& who) {
    std::promise<std::variant<receipt_result, error>> p;
    pipeline.submit_body(body, who, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  std::variant<ack_result, error> stream_ack(const std::string& agency, std::int64_t upto) {
    std::promise<std::variant<ack_result, error>> p;
    stream.ack(agency, upto, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
};

const submitter fire_api{"essex-fire", "api", "api", {}, {}};
const submitter fire_cad{"essex-fire", "cad", "cad", {}, "/message"};

error refusal_of(const std::variant<receipt_result, error>& r) {
  REQUIRE(std::holds_alternative<error>(r));
  return std::get<error>(r);
}

}  // namespace

TEST_CASE("the submit pipeline applies every step in one order, for every edge",
          "[component][pipeline]") {
  pipeline_rig rig;

  SECTION(
      "sender binding comes first: a message naming another sender is refused as such, "
      "even when it is wrong in other ways too") {
    auto doc = test::rtc_request("essex-police:spoof-1", "essex-police", "essex-fire");
    doc["body"].erase("priority");  // also invalid: the binding is still what is reported
    auto e = refusal_of(rig.submit(doc, fire_api));
    CHECK(e.code == errc::sender_not_authorised);
    CHECK(e.pointer == "/from");
    CHECK_THAT(e.message, Catch::Contains("this token belongs to 'essex-fire'"));
    // On the CAD link the message sits inside the frame: the pointer says so.
    e = refusal_of(rig.submit(doc, fire_cad));
    CHECK(e.pointer == "/message/from");
    CHECK_THAT(e.message, Catch::Contains("this link belongs to 'essex-fire'"));
  }
  SECTION("a type only the gateway generates is refused before its body is looked at") {
    auto doc = test::read_json(std::string(BL_SOURCE_DIR) +
                               "/schemas/examples/valid/message/22-error-stale-version.json");
    doc["from"] = "essex-fire";
    doc["id"] = "essex-fire:err-1";
    doc["body"]["code"] = "not a code at all";
    auto e = refusal_of(rig.submit(doc, fire_api));
    CHECK(e.code == errc::not_submittable);
  }
  SECTION("the schema: the pointer names the field, with the edge's prefix") {
    auto doc = test::rtc_request("essex-fire:schema-1");
    doc["body"]["priority"] = "whenever";
    auto e = refusal_of(rig.submit(doc, fire_api));
    CHECK(e.code == errc::schema_invalid);
    CHECK(e.pointer == "/body/priority");
    CHECK(refusal_of(rig.submit(doc, fire_cad)).pointer == "/message/body/priority");
  }
  SECTION("what a schema cannot check: the id must carry the sender's prefix") {
    auto e = refusal_of(rig.submit(test::rtc_request("essex-police:not-mine"), fire_api));
    CHECK(e.code == errc::bad_message_id);
  }
  SECTION("a raw body is parsed within the edge's limits; those errors point nowhere") {
    auto e = refusal_of(rig.submit_body("{\"id\":", fire_cad));
    CHECK(e.code == errc::malformed_json);
    CHECK(e.pointer.empty());
    e = refusal_of(rig.submit_body(std::string(100, '[') + std::string(100, ']'), fire_cad));
    CHECK(e.code == errc::json_too_deep);
    e = refusal_of(rig.submit_body("[1,2]", fire_api));
    CHECK(e.code == errc::schema_invalid);
    CHECK_THAT(e.message, Catch::Contains("a message is a JSON object"));
  }
  SECTION(
      "accepted: stored once, with the edge and user on the timeline; a repeat is a "
      "duplicate with the same receipt") {
    submitter console{"essex-fire", "console", "console", "fire.operator", {}};
    auto first = rig.submit(test::rtc_request("essex-fire:ok-1"), console);
    REQUIRE(std::holds_alternative<receipt_result>(first));
    CHECK_FALSE(std::get<receipt_result>(first).duplicate);
    auto again = rig.submit_body(test::rtc_request("essex-fire:ok-1").dump(), console);
    REQUIRE(std::holds_alternative<receipt_result>(again));
    CHECK(std::get<receipt_result>(again).duplicate);
    CHECK(std::get<receipt_result>(again).receipt == std::get<receipt_result>(first).receipt);
    auto detail = rig.detail(std::get<receipt_result>(first).receipt["transfer_id"]);
    auto events = detail["timeline"];
    REQUIRE_FALSE(events.empty());
    CHECK(events[0]["detail"]["via"] == "console");
    CHECK(events[0]["detail"]["user"] == "fire.operator");
  }
  SECTION("every refusal is logged once, naming the edge") {
    auto doc = test::rtc_request("essex-fire:logged-1");
    doc["body"]["priority"] = "whenever";
    rig.submit(doc, fire_cad);
    auto text = rig.sink->text();
    CHECK_THAT(text, Catch::Contains("event=rejected edge=cad agency=essex-fire "
                                     "code=bl.schema.invalid pointer=\"/message/body/"
                                     "priority\""));
    CHECK(text.find("event=rejected") == text.rfind("event=rejected"));
  }
  SECTION("the dry run reports every violation and stores nothing") {
    auto doc = test::rtc_request("essex-fire:dry-1");
    doc["body"]["priority"] = "whenever";
    doc["body"].erase("summary");
    auto errors = rig.pipeline.check_all(doc.dump(), fire_api);
    CHECK(errors.size() >= 2);
    CHECK(rig.pipeline.check_all(test::rtc_request("essex-fire:dry-2").dump(), fire_api).empty());
    CHECK(rig.count("SELECT COUNT(*) FROM messages") == 0);
    CHECK(rig.sink->text().find("event=rejected") == std::string::npos);
  }
}

TEST_CASE(
    "while shutting down or degraded the pipeline refuses everything with a code, and says "
    "which part failed",
    "[component][pipeline]") {
  pipeline_rig rig;
  CHECK_FALSE(rig.pipeline.refusal());
  SECTION("shutting down") {
    rig.pipeline.begin_shutdown();
    CHECK(rig.pipeline.shutting_down());
    auto e = refusal_of(rig.submit(test::rtc_request("essex-fire:late-1"), fire_cad));
    CHECK(e.code == errc::shutting_down);
    CHECK(e.pointer.empty());
  }
  SECTION("degraded, which wins over shutting down") {
    rig.pipeline.set_degraded("cad_link", "zmq_poll failed");
    rig.pipeline.begin_shutdown();
    auto e = refusal_of(rig.submit_body(test::rtc_request("essex-fire:late-2").dump(), fire_api));
    CHECK(e.code == errc::degraded);
    CHECK_THAT(e.message, Catch::Contains("cad_link failed"));
    auto d = rig.pipeline.degraded();
    REQUIRE(d);
    CHECK(d->first == "cad_link");
    CHECK(d->second == "zmq_poll failed");
  }
  CHECK(rig.count("SELECT COUNT(*) FROM messages") == 0);
}

TEST_CASE(
    "the delivery stream: one cursor rule, acknowledgements, and a wake that cannot be "
    "missed",
    "[component][stream]") {
  pipeline_rig rig;
  for (int i = 1; i <= 5; ++i)
    REQUIRE(std::holds_alternative<receipt_result>(
        rig.submit(test::rtc_request("essex-fire:s-" + std::to_string(i)), fire_api)));
  // The engine answers a batch's submitters before it wakes the agencies' waiters, so a waiter
  // registered as soon as the last submit returns could still be woken by that batch. A timer
  // sweep (nothing is due: the clock has not moved) queues behind it and returns once it is done.
  rig.eng->run_timers_now();
  const std::string police = "essex-police";

  SECTION(
      "after >= 0 is exactly after that sequence; after < 0 resumes from the acknowledged "
      "position") {
    auto b = rig.stream.read(police, 2, 100);
    CHECK(b.after == 2);
    REQUIRE(b.items.size() == 3);
    CHECK(b.items.front().seq == 3);
    CHECK(b.items.front().type == "transfer.request");
    CHECK(json::parse(b.items.front().doc)["id"] == "essex-fire:s-3");
    b = rig.stream.read(police, -1, 2);
    CHECK(b.after == 0);
    CHECK(b.acked_upto == 0);
    CHECK(b.items.size() == 2);
    auto a = rig.stream_ack(police, 4);
    REQUIRE(std::holds_alternative<ack_result>(a));
    CHECK(std::get<ack_result>(a).acked == 4);
    CHECK(rig.stream.acked_upto(police) == 4);
    b = rig.stream.read(police, -1, 100);
    CHECK(b.after == 4);
    CHECK(b.acked_upto == 4);
    REQUIRE(b.items.size() == 1);
    CHECK(b.items[0].seq == 5);
    // An explicit cursor is the edge's own: the acknowledgement does not move it.
    CHECK(rig.stream.read(police, 0, 100).items.size() == 5);
    CHECK(rig.stream.any(police, 4));
    CHECK_FALSE(rig.stream.any(police, 5));
  }
  SECTION("when something already follows the cursor, the wake comes at once") {
    int woken = 0;
    CHECK(rig.stream.when_available(police, 3, [&] { ++woken; }) == 0);
    CHECK(woken == 1);
  }
  SECTION("otherwise it comes once, with the next commit for that agency and not another's") {
    std::atomic<int> woken{0};
    auto ticket = rig.stream.when_available(police, 5, [&] { ++woken; });
    CHECK(ticket != 0);
    // A delivery for another agency does not wake it.
    REQUIRE(std::holds_alternative<receipt_result>(
        rig.submit(test::rtc_request("essex-fire:amb-1", "essex-fire", "eeast-ambulance",
                                     "ambulance.casualty_care"),
                   fire_api)));
    CHECK(woken == 0);
    REQUIRE(std::holds_alternative<receipt_result>(
        rig.submit(test::rtc_request("essex-fire:s-6"), fire_api)));
    CHECK(test::eventually([&] { return woken == 1; }));
    REQUIRE(std::holds_alternative<receipt_result>(
        rig.submit(test::rtc_request("essex-fire:s-7"), fire_api)));
    std::this_thread::sleep_for(50ms);
    CHECK(woken == 1);
  }
  SECTION("a cancelled wait is never called") {
    std::atomic<int> woken{0};
    REQUIRE(std::holds_alternative<receipt_result>(
        rig.submit(test::rtc_request("essex-fire:amb-2", "essex-fire", "eeast-ambulance",
                                     "ambulance.casualty_care"),
                   fire_api)));
    auto ticket = rig.stream.when_available(police, 5, [&] { ++woken; });
    rig.stream.cancel(ticket);
    REQUIRE(std::holds_alternative<receipt_result>(
        rig.submit(test::rtc_request("essex-fire:s-8"), fire_api)));
    std::this_thread::sleep_for(50ms);
    CHECK(woken == 0);
  }
  SECTION("a commit between an edge's read and its wait is not missed") {
    // The edge read up to 5 and found nothing more; a commit lands before it registers.
    auto b = rig.stream.read(police, 5, 100);
    CHECK(b.items.empty());
    REQUIRE(std::holds_alternative<receipt_result>(
        rig.submit(test::rtc_request("essex-fire:s-9"), fire_api)));
    int woken = 0;
    rig.stream.when_available(police, 5, [&] { ++woken; });
    CHECK(woken == 1);
  }
}
