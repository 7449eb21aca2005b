// cad_client is linked into a CAD vendor's process: nothing it meets may end that process or make
// it silently start again from sequence 0. A torn, empty, damaged or foreign state file is an
// error the application is told about; the state is replaced whole; a delivery handler that
// throws loses nothing; and malformed frames from a (misbehaving) gateway are logged and refused.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "adapters/zmq_cad/cad_client.hpp"
#include "tests/support/cad_link_rig.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {
using test::inbox;
using test::link_rig;

json fresh_request(const std::string& id) {
  auto m = test::rtc_request(id);
  m["sent_at"] = format_rfc3339(now_ms());
  return m;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE(
    "a torn, empty, damaged or foreign state file is an error the CAD is told about, never "
    "a silent restart from sequence 0",
    "[component][cadlink][client]") {
  test::temp_dir dir;
  cad::client_options o;
  o.agency = "essex-police";
  o.state_file = dir.file("police.state");
  auto refusal = [&] {
    try {
      cad::cad_client c(o, [](const cad::delivery&) {});
    } catch (const cad::state_file_error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  SECTION("no file yet: a new CAD starts from 0") {
    cad::cad_client c(o, [](const cad::delivery&) {});
    CHECK(c.processed_upto() == 0);
  }
  SECTION("a whole file: resumes from it") {
    write_file(o.state_file, R"({"agency":"essex-police","processed_upto":41})");
    cad::cad_client c(o, [](const cad::delivery&) {});
    CHECK(c.processed_upto() == 41);
  }
  SECTION("empty, as a power cut can leave a file written without fsync") {
    write_file(o.state_file, "");
    auto why = refusal();
    CHECK_THAT(why, Catch::Contains("police.state is empty"));
    CHECK_THAT(why, Catch::Contains("starting from 0 would deliver every message again"));
  }
  SECTION("torn half-way") {
    write_file(o.state_file, R"({"agency":"essex-police","processed_up)");
    CHECK_THAT(refusal(), Catch::Contains("is damaged"));
  }
  SECTION("no usable sequence") {
    write_file(o.state_file, R"({"agency":"essex-police","processed_upto":-3})");
    CHECK_THAT(refusal(), Catch::Contains("no whole, non-negative \"processed_upto\""));
    write_file(o.state_file, R"({"agency":"essex-police","processed_upto":"41"})");
    CHECK_THAT(refusal(), Catch::Contains("no whole, non-negative \"processed_upto\""));
  }
  SECTION("another agency's") {
    write_file(o.state_file, R"({"agency":"essex-fire","processed_upto":41})");
    CHECK_THAT(refusal(), Catch::Contains("belongs to agency \"essex-fire\", not 'essex-police'"));
  }
}

TEST_CASE("the state file is replaced whole and acknowledgements never run ahead of it",
          "[component][cadlink][client]") {
  link_rig rig;
  auto got = std::make_shared<inbox>();
  auto opts = rig.options("essex-police");
  opts.state_file = rig.dir.file("police.state");
  cad::cad_client police(opts, [got](auto& d) { (*got)(d); });
  cad::cad_client fire(rig.options("essex-fire"), [](const cad::delivery&) {});
  fire.start();
  police.start();
  for (int i = 0; i < 30; ++i)
    REQUIRE(std::holds_alternative<json>(
        fire.submit(fresh_request("essex-fire:state-" + std::to_string(i))).get()));
  REQUIRE(test::eventually([&] { return got->size() == 30; }));
  // The gateway records an acknowledgement only up to what the state file says.
  REQUIRE(test::eventually([&] {
    return rig.count("SELECT acked_upto FROM endpoints WHERE agency = 'essex-police'") == 30;
  }));
  auto state = json::parse(read_file(opts.state_file));
  CHECK(state["agency"] == "essex-police");
  CHECK(state["processed_upto"] == 30);
  CHECK_FALSE(std::filesystem::exists(opts.state_file + ".tmp"));
  CHECK((std::filesystem::status(opts.state_file).permissions() &
         (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
        std::filesystem::perms::none);
}

TEST_CASE("a delivery handler that throws neither ends the client nor loses the delivery",
          "[component][cadlink][client]") {
  link_rig rig;
  auto got = std::make_shared<inbox>();
  std::atomic<int> failures{0};
  auto sink = std::make_shared<test::captured_log>();
  auto log = std::make_shared<spdlog::logger>("client", sink);
  cad::cad_client police(
      rig.options("essex-police"),
      [got, &failures](const cad::delivery& d) {
        // The CAD's own database is briefly unavailable for the second message.
        if (d.seq == 2 && failures++ < 2) throw std::runtime_error("CAD database unavailable");
        (*got)(d);
      },
      log);
  cad::cad_client fire(rig.options("essex-fire"), [](const cad::delivery&) {});
  fire.start();
  police.start();
  for (int i = 0; i < 5; ++i)
    REQUIRE(std::holds_alternative<json>(
        fire.submit(fresh_request("essex-fire:throws-" + std::to_string(i))).get()));
  REQUIRE(test::eventually([&] { return got->size() == 5; }, 10s));
  CHECK(failures == 3);
  CHECK(got->seqs() == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  // The client records a delivery as processed once the handler has returned, just after it.
  CHECK(test::eventually([&] { return police.processed_upto() == 5; }));
  CHECK_THAT(sink->text(), Catch::Contains("event=cad_delivery_handler_failed agency=essex-police "
                                           "seq=2"));
  CHECK_THAT(sink->text(), Catch::Contains("CAD database unavailable"));
  // Still working afterwards.
  REQUIRE(std::holds_alternative<json>(fire.submit(fresh_request("essex-fire:after")).get()));
  CHECK(test::eventually([&] { return got->size() == 6; }));
}

TEST_CASE("malformed frames from a gateway are logged and refused, and the client carries on",
          "[component][cadlink][client]") {
  // A misbehaving gateway: a CURVE ROUTER that answers hello with welcome, then sends garbage.
  auto server_keys = test::new_curve_keys();
  auto client_keys = test::new_curve_keys();
  zmq::context_t ctx;
  zmq::socket_t server(ctx, zmq::socket_type::router);
  server.set(zmq::sockopt::linger, 0);
  server.set(zmq::sockopt::curve_server, 1);
  server.set(zmq::sockopt::curve_secretkey, server_keys.secret_key);
  server.bind("tcp://127.0.0.1:*");
  cad::client_options o;
  o.endpoint = server.get(zmq::sockopt::last_endpoint);
  o.server_public_key = server_keys.public_key;
  o.client_keys = client_keys;
  o.agency = "essex-police";
  o.backoff_initial = 20ms;
  o.backoff_max = 100ms;
  auto got = std::make_shared<inbox>();
  auto sink = std::make_shared<test::captured_log>();
  cad::cad_client police(
      o, [got](auto& d) { (*got)(d); }, std::make_shared<spdlog::logger>("client", sink));
  police.start();

  auto next_hello = [&]() -> std::string {
    for (;;) {
      std::vector<zmq::message_t> parts;
      REQUIRE(zmq::recv_multipart(server, std::back_inserter(parts)));
      REQUIRE(parts.size() == 2);
      auto f = json::parse(parts[1].to_string());
      if (f["op"] == "hello") return parts[0].to_string();
    }
  };
  auto send = [&](const std::string& id, const std::string& frame) {
    std::array<zmq::const_buffer, 2> parts{zmq::buffer(id), zmq::buffer(frame)};
    REQUIRE(zmq::send_multipart(server, parts));
  };
  const json welcome = {{"v", 1},           {"op", "welcome"},      {"agency", "essex-police"},
                        {"session", "s-1"}, {"heartbeat_ms", 1000}, {"liveness", 3},
                        {"last_seq", 1},    {"acked_upto", 0},      {"window", 16}};
  auto id = next_hello();
  send(id, welcome.dump());
  send(id, "not json at all");
  send(id, "[1,2,3]");
  send(id, R"({"v":1,"op":"deliver","message":{"id":"essex-fire:x"}})");  // no seq
  // The deliver frame without a sequence ends the session: the client says hello again.
  id = next_hello();
  send(id, welcome.dump());
  send(id,
       json{{"v", 1}, {"op", "deliver"}, {"seq", 1}, {"message", fresh_request("essex-fire:fine")}}
           .dump());
  REQUIRE(test::eventually([&] { return got->size() == 1; }));
  CHECK(got->ids().front() == "essex-fire:fine");
  auto text = sink->text();
  CHECK_THAT(text, Catch::Contains("event=cad_link_bad_frame agency=essex-police error=\"the "
                                   "frame is not valid JSON\""));
  CHECK_THAT(text, Catch::Contains("must be an object with a string \\\"op\\\""));
  CHECK_THAT(text, Catch::Contains("a deliver frame needs a whole \\\"seq\\\" >= 1"));
  police.stop();
}
