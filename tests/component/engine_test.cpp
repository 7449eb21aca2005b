#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "gateway/service/engine.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/sqlite/fault_vfs.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "tests/support/engine_rig.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bl;
using nlohmann::json;

namespace {
using rig = test::engine_rig;
}  // namespace

TEST_CASE("a receipted request is stored and queued for the recipient only",
          "[component][engine]") {
  rig r;
  auto rc = r.receipt(test::rtc_request("essex-fire:a1"));
  CHECK(rc["status"] == "stored");
  CHECK(rc["transfer_id"] == "T-20261121-000001");
  CHECK(rc["state"] == "submitted");
  auto police = r.rd->inbox("essex-police", 0, 10);
  REQUIRE(police.size() == 1);
  CHECK(police[0].seq == 1);
  CHECK(json::parse(police[0].doc)["transfer_id"] == "T-20261121-000001");
  CHECK(r.rd->inbox("essex-fire", 0, 10).empty());
  CHECK(r.rd->inbox("eeast-ambulance", 0, 10).empty());
}

TEST_CASE("a duplicate message id returns the first receipt and changes nothing",
          "[component][engine][dedupe]") {
  rig r;
  auto first = r.receipt(test::rtc_request("essex-fire:dup"));
  auto counts = [&] {
    return std::vector<std::int64_t>{
        r.count("SELECT count(*) FROM messages"), r.count("SELECT count(*) FROM deliveries"),
        r.count("SELECT count(*) FROM transfers"), r.count("SELECT count(*) FROM audit")};
  };
  auto before = counts();
  auto again = r.submit(test::rtc_request("essex-fire:dup"));
  REQUIRE(std::holds_alternative<receipt_result>(again));
  CHECK(std::get<receipt_result>(again).duplicate);
  CHECK(std::get<receipt_result>(again).receipt == first);
  CHECK(counts() == before);
  SECTION("and after a restart too") {
    r.restart();
    auto third = r.submit(test::rtc_request("essex-fire:dup"));
    CHECK(std::get<receipt_result>(third).receipt == first);
    CHECK(counts() == before);
  }
}

TEST_CASE(
    "a message made from a partner's document keeps it; its id again with the same content is "
    "answered as the first, with other content refused",
    "[component][engine][dedupe]") {
  rig r;
  original_document sent{"UCRI2 incident_transfer 1.0 incident", "application/json",
                         "{\"sharedIncidentId\": \"x\"}", "digest-1", "{\"answer\":1}"};
  auto first = r.submit(test::rtc_request("essex-fire:p1"), sent);
  REQUIRE(std::holds_alternative<receipt_result>(first));
  CHECK_FALSE(std::get<receipt_result>(first).duplicate);
  CHECK(r.count("SELECT count(*) FROM originals WHERE message_id = 'essex-fire:p1'") == 1);
  auto messages = r.count("SELECT count(*) FROM messages");

  original_document repeat = sent;
  repeat.answer = "{\"answer\":2}";  // the edge's answer this time; the first is given back
  auto again = r.submit(test::rtc_request("essex-fire:p1"), repeat);
  REQUIRE(std::holds_alternative<receipt_result>(again));
  CHECK(std::get<receipt_result>(again).duplicate);
  CHECK(std::get<receipt_result>(again).first_answer == "{\"answer\":1}");
  CHECK(std::get<receipt_result>(again).receipt == std::get<receipt_result>(first).receipt);

  original_document other = sent;
  other.digest = "digest-2";
  auto reused = r.submit(test::rtc_request("essex-fire:p1"), other);
  REQUIRE(std::holds_alternative<error>(reused));
  CHECK(std::get<error>(reused).code == errc::message_id_reused);
  CHECK(std::get<error>(reused).pointer == "/id");
  CHECK(r.count("SELECT count(*) FROM messages") == messages);
  CHECK(r.count("SELECT count(*) FROM originals") == 1);
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'message.rejected' AND"
                " detail LIKE '%bl.message.id_reused%'") == 1);
  // An edge that keeps no digest cannot tell: the first answer, as ever.
  auto plain = r.submit(test::rtc_request("essex-fire:p1"));
  CHECK(std::get<receipt_result>(plain).duplicate);
}

// The wedge seen on the demo: after a duplicate, the writer's "find the first receipt" statement
// was left on its row, holding a read open past COMMIT. Once any other connection committed (a
// sign-in does), every BEGIN IMMEDIATE failed at once with "database is locked" until restart.
TEST_CASE(
    "a duplicate leaves no read open on the writer, so another connection's commit cannot "
    "wedge the store",
    "[component][engine][dedupe][wedge]") {
  rig r;
  r.receipt(test::rtc_request("essex-fire:dup"));
  auto again = r.submit(test::rtc_request("essex-fire:dup"));  // reads the first receipt back
  REQUIRE(std::holds_alternative<receipt_result>(again));
  REQUIRE(std::get<receipt_result>(again).duplicate);
  {
    // Another connection commits, as the accounts service does at every sign-in.
    r.store.exec("INSERT INTO settings(key, value) VALUES('test.other_connection', 'x')");
  }
  auto next = r.submit(test::rtc_request("essex-fire:after"));
  if (auto* e = std::get_if<error>(&next)) FAIL("refused: " << e->id() << " " << e->message);
  CHECK(std::get<receipt_result>(next).receipt["status"] == "stored");
  // And a third, after another outside commit, for good measure.
  { r.store.exec("UPDATE settings SET value = 'y' WHERE key = 'test.other_connection'"); }
  CHECK(std::holds_alternative<receipt_result>(r.submit(test::rtc_request("essex-fire:later"))));
}

TEST_CASE("acknowledging a request marks it delivered and tells the sender",
          "[component][engine]") {
  rig r;
  auto id = r.receipt(test::rtc_request("essex-fire:a2"))["transfer_id"].get<std::string>();
  auto a = r.ack("essex-police", 1);
  REQUIRE(std::holds_alternative<ack_result>(a));
  CHECK(std::get<ack_result>(a).acked == 1);
  CHECK(r.detail(id)["state"] == "delivered");
  auto fire = r.rd->inbox("essex-fire", 0, 10);
  REQUIRE(fire.size() == 1);
  auto doc = json::parse(fire[0].doc);
  CHECK(doc["type"] == "receipt");
  CHECK(doc["body"]["status"] == "delivered");
  CHECK(doc["body"]["delivered_to"] == "essex-police");
  SECTION("acknowledging beyond the last delivery is refused") {
    auto bad = r.ack("essex-police", 5);
    REQUIRE(std::holds_alternative<error>(bad));
    CHECK(std::get<error>(bad).code == errc::bad_request);
  }
  SECTION("a repeated acknowledgement changes nothing") {
    auto again = r.ack("essex-police", 1);
    CHECK(std::get<ack_result>(again).acked == 0);
    CHECK(r.rd->inbox("essex-fire", 0, 10).size() == 1);
  }
}

TEST_CASE(
    "a request shown on a console is delivered to the agency but its CAD's cursor does not move",
    "[component][engine][console_delivery]") {
  rig r;
  auto id = r.request("essex-fire:shown1");
  auto later = r.request("essex-fire:shown2");
  REQUIRE(r.rd->last_seq("essex-police") == 2);
  auto s = r.shown("essex-police", 0, 1);  // only the first was on screen when the mark was read
  REQUIRE(std::holds_alternative<ack_result>(s));
  CHECK(std::get<ack_result>(s).acked == 1);
  CHECK(r.detail(later)["state"] == "submitted");
  s = r.shown("essex-police", 1, 2);
  CHECK(std::get<ack_result>(s).acked == 1);
  CHECK(r.detail(later)["state"] == "delivered");
  auto t = r.detail(id);
  CHECK(t["state"] == "delivered");
  CHECK(t["timeline"].back()["kind"] == "delivered");
  // The sender has one "delivered" receipt for each...
  auto fire = r.rd->inbox("essex-fire", 0, 10);
  REQUIRE(fire.size() == 2);
  CHECK(json::parse(fire[0].doc)["body"]["status"] == "delivered");
  CHECK(t["timeline"].back()["detail"]["via"] == "console");
  // ...and the CAD still gets both deliveries from its own position.
  CHECK(r.rd->acked_upto("essex-police") == 0);
  CHECK(r.rd->inbox("essex-police", 0, 10).size() == 2);
  CHECK(r.count("SELECT count(*) FROM deliveries WHERE agency = 'essex-police' AND"
                " acked_at IS NOT NULL") == 0);

  SECTION("no phone prompt follows once the delivery limit passes") {
    r.advance(std::chrono::seconds(61));
    fire = r.rd->inbox("essex-fire", 0, 10);
    CHECK(fire.size() == 2);
    auto detail = r.detail(id);  // the loop must not range over a member of a temporary
    for (const auto& ev : detail["timeline"]) CHECK(ev["kind"] != "phone_fallback");
  }
  SECTION("the CAD acknowledging later sends no second receipt") {
    auto a = r.ack("essex-police", 2);
    REQUIRE(std::holds_alternative<ack_result>(a));
    CHECK(std::get<ack_result>(a).acked == 2);
    CHECK(r.rd->acked_upto("essex-police") == 2);
    CHECK(r.rd->inbox("essex-fire", 0, 10).size() == 2);
    CHECK(r.detail(id)["state"] == "delivered");
  }
  SECTION("showing it again changes nothing") {
    auto again = r.shown("essex-police", 0, 2);
    CHECK(std::get<ack_result>(again).acked == 0);
    CHECK(r.rd->inbox("essex-fire", 0, 10).size() == 2);
  }
  SECTION("a mark beyond the last delivery is refused") {
    auto bad = r.shown("essex-police", 2, 9);
    REQUIRE(std::holds_alternative<error>(bad));
    CHECK(std::get<error>(bad).code == errc::bad_request);
  }
}

TEST_CASE("stalled transfers raise a phone fallback, then expire with an error to the sender",
          "[component][engine][timers]") {
  rig r;
  auto id = r.receipt(test::rtc_request("essex-fire:t1"))["transfer_id"].get<std::string>();
  r.advance(std::chrono::seconds(61));
  auto fire = r.rd->inbox("essex-fire", 0, 10);
  REQUIRE(fire.size() == 1);
  auto alert = json::parse(fire[0].doc);
  CHECK(alert["type"] == "transfer.alert");
  CHECK(alert["body"]["alert"] == "delivery_overdue");
  CHECK(alert["body"]["phone"] == "01632 960002");
  r.advance(std::chrono::seconds(900));
  fire = r.rd->inbox("essex-fire", 0, 10);
  REQUIRE(fire.size() == 2);  // expiry ends the transfer: no decision alert follows it
  auto last = json::parse(fire.back().doc);
  CHECK(last["type"] == "error");
  CHECK(last["body"]["code"] == "bl.transfer.expired");
  auto t = r.detail(id);
  CHECK(t["state"] == "expired");
  std::vector<std::string> kinds;
  for (auto& e : t["timeline"]) kinds.push_back(e["kind"]);
  CHECK(kinds == std::vector<std::string>{"transfer.request", "phone_fallback", "expired"});
  auto late = r.submit(test::follow_up("essex-police:late", "transfer.accept", "essex-police", id,
                                       {{"receiver_incident", {{"number", "ESX-1"}}}}));
  REQUIRE(std::holds_alternative<error>(late));
  CHECK(std::get<error>(late).code == errc::expired);
}

TEST_CASE("store faults acknowledge nothing that is not stored",
          "[component][engine][fault][sqlite]") {
  store::fault_vfs vfs("bl-fault-engine");
  rig r(vfs.name());
  r.receipt(test::rtc_request("essex-fire:ok-before"));

  struct fault_case {
    const char* name;
    store::fault_vfs::op o;
    int rc;
    errc expected;
  };
  auto c = GENERATE(
      fault_case{"disk full on write", store::fault_vfs::op::write, SQLITE_FULL, errc::store_full},
      fault_case{"I/O error on write", store::fault_vfs::op::write, SQLITE_IOERR_WRITE,
                 errc::store_unavailable},
      fault_case{"database busy", store::fault_vfs::op::lock, SQLITE_BUSY, errc::store_busy});
  INFO(c.name);
  auto audit_before = r.count("SELECT count(*) FROM audit");
  vfs.arm(c.o, 0, c.rc);
  auto failed = r.submit(test::rtc_request("essex-fire:during-fault"));
  REQUIRE(std::holds_alternative<error>(failed));
  CHECK(std::get<error>(failed).code == c.expected);
  CHECK(std::get<error>(failed).http_status() == 503);
  vfs.clear();
  CHECK(r.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:during-fault'") == 0);
  CHECK(r.count("SELECT count(*) FROM audit") == audit_before);

  // The sender retries with the same id once the fault is gone: stored exactly once.
  auto retried = r.submit(test::rtc_request("essex-fire:during-fault"));
  REQUIRE(std::holds_alternative<receipt_result>(retried));
  CHECK_FALSE(std::get<receipt_result>(retried).duplicate);
  CHECK(r.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:during-fault'") == 1);
  CHECK(r.count("SELECT count(*) FROM deliveries WHERE message_id = 'essex-fire:during-fault'") ==
        1);
  CHECK(r.rd->verify_audit().ok);
  // Sequence numbers stay gap-free across the failure.
  CHECK(r.count("SELECT max(seq) - count(*) FROM deliveries WHERE agency = 'essex-police'") == 0);
}

TEST_CASE("a commit is neither receipted nor read onwards before it is on disk",
          "[component][engine][fault][durability][sqlite]") {
  // The group commit is pipelined: COMMIT does not wait for the disk, a second thread syncs the
  // write-ahead log, and only then is the batch released. A disk slow to confirm shows it all.
  store::fault_vfs vfs("bl-fault-hold");
  rig r(vfs.name());
  r.receipt(test::rtc_request("essex-fire:before-hold"));
  REQUIRE(r.rd->last_seq("essex-police") == 1);

  vfs.hold_syncs(true);
  std::promise<std::variant<receipt_result, error>> answered;
  auto parsed = parse_message(test::rtc_request("essex-fire:held"));
  REQUIRE(std::holds_alternative<message>(parsed));
  r.eng->submit(std::get<message>(std::move(parsed)),
                [&](auto res) { answered.set_value(std::move(res)); });
  auto answer = answered.get_future();
  // Committed (visible to a plain SQL count) but waiting for its sync...
  for (int i = 0;
       i < 500 && r.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:held'") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(r.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:held'") == 1);
  for (int i = 0; i < 500 && vfs.syncs_held() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(vfs.syncs_held() >= 1);
  // ...so no receipt, and nothing of it is read onwards: not the delivery, not its sequence
  // number, not its timeline event.
  CHECK(answer.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  CHECK(r.rd->inbox("essex-police", 0, 10).size() == 1);
  CHECK(r.rd->last_seq("essex-police") == 1);
  auto events_before = r.rd->last_event_id();
  CHECK(r.rd->events_after(0, 100).size() == static_cast<std::size_t>(events_before));
  CHECK(r.count("SELECT max(id) FROM transfer_events") > events_before);
  // A message submitted meanwhile is not answered before the one ahead of it is on disk.
  std::promise<std::variant<receipt_result, error>> second;
  auto parsed2 = parse_message(test::rtc_request("essex-fire:behind"));
  REQUIRE(std::holds_alternative<message>(parsed2));
  r.eng->submit(std::get<message>(std::move(parsed2)),
                [&](auto res) { second.set_value(std::move(res)); });
  auto second_answer = second.get_future();
  CHECK(second_answer.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  CHECK(answer.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);

  vfs.hold_syncs(false);
  auto got = answer.get();
  REQUIRE(std::holds_alternative<receipt_result>(got));
  REQUIRE(std::holds_alternative<receipt_result>(second_answer.get()));
  CHECK(r.rd->inbox("essex-police", 0, 10).size() == 3);
  CHECK(r.rd->last_seq("essex-police") == 3);
  CHECK(r.rd->last_event_id() == r.count("SELECT max(id) FROM transfer_events"));
}

TEST_CASE("a failed sync answers no receipt, hands nothing onwards and degrades the engine",
          "[component][engine][fault][durability][sqlite]") {
  store::fault_vfs vfs("bl-fault-sync");
  rig r(vfs.name());
  r.receipt(test::rtc_request("essex-fire:ok-before"));
  vfs.arm(store::fault_vfs::op::sync, 0, SQLITE_IOERR_FSYNC);
  auto failed = r.submit(test::rtc_request("essex-fire:during-fault"));
  REQUIRE(std::holds_alternative<error>(failed));
  CHECK(std::get<error>(failed).code == errc::store_unavailable);
  CHECK(std::get<error>(failed).http_status() == 503);
  CHECK_THAT(std::get<error>(failed).message, Catch::Contains("disk"));
  vfs.clear();
  // The row may be in SQLite's view, but it never left: the police inbox still ends at 1.
  CHECK(r.rd->inbox("essex-police", 0, 10).size() == 1);
  CHECK(r.rd->last_seq("essex-police") == 1);
  // Loud: health says the store is failing, and new work is refused until a restart.
  auto h = r.eng->health();
  CHECK(h.commits_failing);
  CHECK_THAT(h.error, Catch::Contains("disk"));
  auto refused = r.submit(test::rtc_request("essex-fire:after-fault"));
  REQUIRE(std::holds_alternative<error>(refused));
  CHECK(std::get<error>(refused).code == errc::degraded);

  // After the restart the failure policy asks for, the sender's retry is answered once: with
  // the first receipt if the row reached the disk after all, or stored now if it did not.
  r.restart();
  auto retried = r.submit(test::rtc_request("essex-fire:during-fault"));
  REQUIRE(std::holds_alternative<receipt_result>(retried));
  CHECK(r.count("SELECT count(*) FROM messages WHERE id = 'essex-fire:during-fault'") == 1);
  CHECK(r.count("SELECT count(*) FROM deliveries WHERE message_id = 'essex-fire:during-fault'") ==
        1);
  CHECK(r.rd->inbox("essex-police", 0, 10).size() == 2);
  CHECK(r.rd->verify_audit().ok);
}

TEST_CASE("the audit log is append-only and tampering breaks the hash chain",
          "[component][store][audit][sqlite]") {
  rig r;
  auto id = r.receipt(test::rtc_request("essex-fire:au1"))["transfer_id"].get<std::string>();
  r.ack("essex-police", 1);
  r.receipt(test::follow_up("essex-police:au2", "transfer.accept", "essex-police", id,
                            {{"receiver_incident", {{"number", "ESX-20261121-0457"}}}}));
  auto ok = r.rd->verify_audit();
  CHECK(ok.ok);
  CHECK(ok.rows >= 4);
  r.eng->stop();
  store::db raw(r.dir.file("bluelink.db"), false, false);
  CHECK_THROWS_AS(raw.exec("UPDATE audit SET detail = '{}' WHERE seq = 2"), store::store_error);
  CHECK_THROWS_AS(raw.exec("DELETE FROM audit WHERE seq = 2"), store::store_error);
  raw.exec("DROP TRIGGER audit_no_update; UPDATE audit SET detail = '{}' WHERE seq = 2");
  auto bad = r.rd->verify_audit();
  CHECK_FALSE(bad.ok);
  CHECK(bad.first_bad_seq == 2);
}

TEST_CASE("a database that is not a Bluelink store is refused with a clear message",
          "[component][store][sqlite]") {
  test::temp_dir dir;
  auto path = dir.file("garbage.db");
  {
    std::ofstream f(path);
    f << std::string(8192, 'x');
  }
  try {
    auto w = store::open_writer(store::store_options{path, true, 0, {}});
    FAIL("opened a corrupt file");
  } catch (const store::store_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("unusable"));
  }
}
