// The PostgreSQL writer (gateway/store/postgres/pg_writer) against a real server: the SQLite
// writer's behaviours, and what changes with several writers on one database: numbers stay
// gap-free and in commit order, transfer ids unique, the audit chain one unbroken chain.

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "gateway/core/digest.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/postgres/pg_writer.hpp"
#include "tools/pg_server/pg_server.hpp"

using bl::from_ms;
using bl::store::fault;
using bl::store::store_error;
using bl::store::postgres::connection;
using bl::store::postgres::pg_writer;

namespace {

const bl::time_point t0 = from_ms(1'764'900'000'000);  // 2025-12-05T02:00:00Z

bl::transfer make_transfer(const std::string& id, bl::time_point due) {
  bl::transfer t;
  t.id = id;
  t.version = 1;
  t.category = "mutual_aid";
  t.requester = "fire";
  t.responder = "police";
  t.request_message_id = "req-" + id;
  t.created_at = t.updated_at = t0;
  t.expires_at = due + std::chrono::hours(1);
  t.delivery_due = due;
  t.decision_due = due + std::chrono::minutes(5);
  return t;
}

void message(pg_writer& w, const std::string& id, const std::string& from = "fire",
             const std::string& receipt = "{\"ok\":true}") {
  w.insert_message(id, "transfer.update", from, "police", "", std::nullopt, "live", std::nullopt,
                   t0, "{}", receipt);
}

// Checks the audit chain as `bluelink audit verify` does: seq 1..n, each row's prev_hash the
// previous row's hash, each hash recomputed from the row. Returns the number of rows.
std::int64_t verify_chain(connection& c) {
  auto r = c.query(
      "SELECT seq, at, actor, action, COALESCE(message_id, ''), COALESCE(transfer_id, ''),"
      " detail, prev_hash, hash, detail_sha256 FROM audit ORDER BY seq");
  std::string prev = bl::store::genesis_hash;
  for (int i = 0; i < r.rows(); ++i) {
    INFO("audit row " << i + 1);
    REQUIRE(r.int64(i, 0) == i + 1);
    REQUIRE(r.text(i, 7) == prev);
    // Each row's detail is chained through its SHA-256 (erasable by a retention purge).
    REQUIRE(r.text(i, 9) == bl::sha256_hex(r.text(i, 6)));
    std::string h =
        bl::store::audit_hash_erasable(prev, r.int64(i, 0), r.int64(i, 1), r.text(i, 2),
                                       r.text(i, 3), r.text(i, 4), r.text(i, 5), r.text(i, 9));
    REQUIRE(r.text(i, 8) == h);
    prev = h;
  }
  auto tail = c.query("SELECT seq, hash FROM audit_tail");
  CHECK(tail.int64(0, 0) == r.rows());
  CHECK(tail.text(0, 1) == prev);
  return r.rows();
}

}  // namespace

TEST_CASE("the PostgreSQL writer commits, undoes a savepoint and rolls back", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  CHECK(w.open_reads_ended() == 0);

  w.begin();
  message(w, "m1");
  CHECK(w.enqueue("police", "m1", "", "transfer.update", t0, "fire") == 1);
  w.audit(t0, "fire", "message.accepted", "m1", "", "{}");
  w.savepoint();
  message(w, "m2");
  CHECK(w.enqueue("police", "m2", "", "transfer.update", t0, "fire") == 2);
  w.audit(t0, "fire", "message.accepted", "m2", "", "{}");
  w.rollback_to_savepoint();
  // The undone message's number is given again: no gap.
  w.savepoint();
  message(w, "m3");
  CHECK(w.enqueue("police", "m3", "", "transfer.update", t0, "fire") == 2);
  w.audit(t0, "fire", "message.accepted", "m3", "", "{}");
  w.release_savepoint();
  w.commit();

  CHECK(w.find_receipt("m1"));
  CHECK_FALSE(w.find_receipt("m2"));
  CHECK(w.find_receipt("m3"));
  CHECK(w.last_seq("police") == 2);

  w.begin();
  message(w, "m4");
  CHECK(w.enqueue("police", "m4", "", "transfer.update", t0) == 3);
  w.rollback();
  CHECK_FALSE(w.find_receipt("m4"));
  CHECK(w.last_seq("police") == 2);
  CHECK(w.last_seqs() == std::map<std::string, std::int64_t>{{"police", 2}});

  connection c(pg.conninfo("bl"));
  CHECK(verify_chain(c) == 2);
}

TEST_CASE("a failed statement without a savepoint fails the whole transaction at commit",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  message(w, "m1");
  // A write is queued (pipeline mode): its failure is raised by the next call that waits for
  // the server, at the latest by COMMIT, which then stores nothing.
  try {
    message(w, "m1");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::conflict);
  }
  try {
    w.commit();
    FAIL("COMMIT of a failed transaction succeeded");
  } catch (const store_error& e) {
    CHECK(e.kind() != fault::corrupt);
  }
  w.rollback();
  CHECK_FALSE(w.find_receipt("m1"));
}

TEST_CASE("a duplicate message id returns the first receipt and cannot be stored twice",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  message(w, "m1", "fire", "{\"receipt\":1}");
  message(w, "m-no-receipt", "fire", "");
  w.commit();
  CHECK(w.find_receipt("m1") == std::optional<std::string>("{\"receipt\":1}"));
  CHECK(w.find_receipt("m-no-receipt") == std::optional<std::string>(""));
  CHECK_FALSE(w.find_receipt("m2"));

  pg_writer other(pg.conninfo("bl"));
  CHECK(other.find_receipt("m1") == std::optional<std::string>("{\"receipt\":1}"));
  other.begin();
  try {
    message(other, "m1");
    other.commit();  // a queued write's failure is raised here at the latest
    FAIL("a duplicate id was stored");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::conflict);
  }
  other.rollback();
  CHECK(w.find_receipt("m1") == std::optional<std::string>("{\"receipt\":1}"));
}

TEST_CASE("a partner's document is kept with its message, and read back within the batch",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  message(w, "m1", "fire", "{\"receipt\":1}");
  // As the engine does: the original is written in the pipeline with the message, and a repeat
  // in the same batch reads its digest back before COMMIT.
  w.insert_original("m1", {"CAP 1.2", "application/cap+xml", "<alert>Übung</alert>", "d1", ""}, t0);
  auto in_batch = w.find_original("m1");
  REQUIRE(in_batch);
  CHECK(in_batch->digest == "d1");
  CHECK(in_batch->answer.empty());
  w.commit();
  pg_writer other(pg.conninfo("bl"));
  CHECK(other.find_original("m1")->digest == "d1");
  CHECK_FALSE(other.find_original("m2"));
  CHECK(pg.psql("SELECT body FROM originals WHERE message_id = 'm1'", "bl") ==
        "<alert>Übung</alert>");
}

TEST_CASE("two PostgreSQL writers interleaving take sequence numbers in commit order",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer a(pg.conninfo("bl"));
  pg_writer b(pg.conninfo("bl"));

  a.begin();
  message(a, "a1");
  CHECK(a.enqueue("police", "a1", "", "transfer.update", t0) == 1);
  // b's transaction waits for a's numbers: it may not take 2 before a commits or rolls back.
  auto fb = std::async(std::launch::async, [&] {
    b.begin();
    message(b, "b1");
    auto seq = b.enqueue("police", "b1", "", "transfer.update", t0);
    b.commit();
    return seq;
  });
  CHECK(fb.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  SECTION("a commits first: b continues after it") {
    a.commit();
    CHECK(fb.get() == 2);
  }
  SECTION("a rolls back: b takes its number, no gap") {
    a.rollback();
    CHECK(fb.get() == 1);
  }
  connection c(pg.conninfo("bl"));
  auto r = c.query("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM deliveries");
  CHECK((r.text(0, 0) == "1,2" || r.text(0, 0) == "1"));
  CHECK(a.last_seq("police") == b.last_seq("police"));
}

TEST_CASE("many PostgreSQL writers at once keep numbers gap-free, ids unique, one audit chain",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  const int writers = 4, transactions = 25;
  { pg_writer first(pg.conninfo("bl")); }  // migrated once, before the race
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> ids(writers);
  for (int n = 0; n < writers; ++n)
    threads.emplace_back([&, n] {
      try {
        pg_writer w(pg.conninfo("bl"));
        for (int i = 0; i < transactions; ++i) {
          std::string m = "w" + std::to_string(n) + "-" + std::to_string(i);
          w.begin();
          message(w, m);
          w.enqueue(i % 2 ? "police" : "ambulance", m, "", "transfer.update", t0);
          // Ids of two UTC days.
          auto id = w.next_transfer_id(t0 + std::chrono::hours(24 * (i % 2)));
          w.save_transfer(make_transfer(id, t0), true);
          w.audit(t0, "fire", "message.accepted", m, id, "{\"n\":" + std::to_string(i) + "}");
          bl::store::timeline_event e{id, t0, "transfer.request", "fire", m, "", "submitted",
                                      1,  ""};
          w.add_event(e);
          if (i % 5 == 4) {
            w.rollback();  // some transactions are abandoned: their numbers are reused
            continue;
          }
          w.commit();
          ids[static_cast<std::size_t>(n)].push_back(id);
        }
      } catch (const std::exception& e) {
        ++failures;
        UNSCOPED_INFO(e.what());
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(failures == 0);

  const int committed = writers * (transactions - transactions / 5);
  connection c(pg.conninfo("bl"));
  // Each agency's deliveries are numbered 1..n with no gap.
  for (const char* agency : {"police", "ambulance"}) {
    auto r = c.query("SELECT count(*), COALESCE(max(seq), 0) FROM deliveries WHERE agency = $1",
                     {bl::store::postgres::p(agency)});
    CHECK(r.int64(0, 0) == r.int64(0, 1));
  }
  CHECK(c.query("SELECT count(*) FROM deliveries").int64(0, 0) == committed);
  // Transfer ids: unique, and per day numbered 1..n with no gap.
  std::set<std::string> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  CHECK(all.size() == static_cast<std::size_t>(committed));
  auto days = c.query(
      "SELECT count(*), max(substr(id, 12)::bigint) FROM transfers GROUP BY substr(id, 1, 10)");
  CHECK(days.rows() == 2);
  for (int i = 0; i < days.rows(); ++i) CHECK(days.int64(i, 0) == days.int64(i, 1));
  // One audit chain through every writer's rows, and timeline ids 1..n.
  CHECK(verify_chain(c) == committed);
  auto ev = c.query("SELECT count(*), max(id) FROM transfer_events");
  CHECK(ev.int64(0, 0) == committed);
  CHECK(ev.int64(0, 1) == committed);
  pg_writer w(pg.conninfo("bl"));
  CHECK(w.last_event_id() == committed);
}

TEST_CASE("transfer ids are T-YYYYMMDD-NNNNNN, per UTC day, after any stored that day",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  w.save_transfer(make_transfer("T-20251205-000041", t0), true);
  CHECK(w.next_transfer_id(t0) == "T-20251205-000042");
  CHECK(w.next_transfer_id(t0) == "T-20251205-000043");
  CHECK(w.next_transfer_id(t0 + std::chrono::hours(24)) == "T-20251206-000001");
  w.commit();
  pg_writer other(pg.conninfo("bl"));
  other.begin();
  CHECK(other.next_transfer_id(t0) == "T-20251205-000044");
  other.rollback();
  other.begin();
  CHECK(other.next_transfer_id(t0) == "T-20251205-000044");
  other.commit();
}

TEST_CASE("acknowledgements move an agency's position and report what they acknowledged",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  for (int i = 1; i <= 4; ++i) {
    std::string m = "m" + std::to_string(i);
    message(w, m, i == 4 ? "ambulance" : "fire");
    w.enqueue("police", m, i == 2 ? "" : "T-20251205-000001",
              i % 2 ? "transfer.request" : "transfer.update", t0, "fire");
  }
  w.commit();
  CHECK(w.acked_upto("police") == 0);
  CHECK(w.pending_from("police", "fire") == 3);
  CHECK(w.pending_from("police", "ambulance") == 1);
  auto req = w.unacked_requests("police", 0, 4, 10);
  REQUIRE(req.size() == 2);
  CHECK(req[0].seq == 1);
  CHECK(req[1].seq == 3);
  CHECK(w.unacked_requests("police", 1, 4, 10).size() == 1);
  CHECK(w.unacked_requests("police", 0, 4, 1).size() == 1);

  w.begin();
  auto acked = w.ack("police", 2, t0);
  w.commit();
  REQUIRE(acked.size() == 2);
  CHECK(acked[0].seq == 1);
  CHECK(acked[0].message_id == "m1");
  CHECK(acked[0].transfer_id == "T-20251205-000001");
  CHECK(acked[0].type == "transfer.request");
  CHECK(acked[1].transfer_id.empty());
  CHECK(w.acked_upto("police") == 2);
  CHECK(w.pending_from("police", "fire") == 1);
  CHECK(w.unacked_requests("police", 0, 4, 10).size() == 1);

  w.begin();
  CHECK(w.ack("police", 2, t0).empty());  // already acknowledged
  CHECK(w.ack("police", 1, t0).empty());  // never moves back
  w.commit();
  CHECK(w.acked_upto("police") == 2);
  pg_writer other(pg.conninfo("bl"));
  other.begin();
  CHECK(other.ack("police", 4, t0).size() == 2);
  other.commit();
  CHECK(w.acked_upto("police") == 4);
  CHECK(w.pending_from("police", "fire") == 0);
  connection c(pg.conninfo("bl"));
  CHECK(c.query("SELECT count(*) FROM deliveries WHERE acked_at IS NULL").int64(0, 0) == 0);
}

namespace {

// Every (recipient, sender) pair whose kept count (pending_counts) differs from the count of
// deliveries beyond the recipient's acknowledged position, as "recipient/sender kept=K real=R".
std::vector<std::string> pending_count_mismatches(connection& c) {
  auto r = c.query(
      "WITH real AS (SELECT d.agency AS recipient, m.from_agency AS sender, count(*) AS n"
      "  FROM deliveries d JOIN messages m ON m.id = d.message_id"
      "  WHERE d.seq > COALESCE((SELECT acked_upto FROM endpoints e WHERE e.agency = d.agency), 0)"
      "  GROUP BY 1, 2)"
      " SELECT COALESCE(k.recipient, real.recipient), COALESCE(k.sender, real.sender),"
      "  COALESCE(k.n, 0), COALESCE(real.n, 0)"
      " FROM pending_counts k FULL JOIN real USING (recipient, sender)"
      " WHERE COALESCE(k.n, 0) <> COALESCE(real.n, 0)");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(r.text(i, 0) + "/" + r.text(i, 1) + " kept=" + r.text(i, 2) +
                  " real=" + r.text(i, 3));
  return out;
}

}  // namespace

TEST_CASE("the inbox quota's kept counts equal the unacknowledged deliveries they count",
          "[postgres]") {
  bl::test::pg_server pg(false);
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  pg_writer other(pg.conninfo("bl"));
  connection c(pg.conninfo("bl"));
  const std::vector<std::string> agencies = {"fire", "police", "ambulance"};
  std::mt19937 rng(15);
  int n = 0;
  std::int64_t most = 0;
  // Requests and updates between the rooms, the gateway's own notices (an expiry tells both
  // parties: sender "bluelink"), acknowledgements of part of a queue or all of it, by either
  // writer, and work undone by a savepoint or a rollback.
  for (int round = 0; round < 60; ++round) {
    INFO("round " << round);
    pg_writer& x = round % 3 == 2 ? other : w;
    x.begin();
    for (int k = 0; k < 5; ++k) {
      const std::string to = agencies[rng() % 3];
      std::string from = rng() % 4 == 0 ? "bluelink" : agencies[rng() % 3];
      if (from == to) from = "bluelink";
      const std::string id = "q" + std::to_string(++n);
      const bool undo = rng() % 7 == 0;
      if (undo) x.savepoint();
      x.insert_message(id, from == "bluelink" ? "transfer.expired" : "transfer.request", from, to,
                       "", std::nullopt, "live", std::nullopt, t0, "{}", "");
      x.enqueue(to, id, "", "transfer.request", t0, from);
      if (undo) x.rollback_to_savepoint();
    }
    if (rng() % 3 == 0) {
      const std::string a = agencies[rng() % 3];
      const std::int64_t last = x.last_seq(a);
      const std::int64_t at = x.acked_upto(a);
      if (last > at) x.ack(a, at + 1 + static_cast<std::int64_t>(rng() % (last - at)), t0);
    }
    if (round % 11 == 10)
      x.rollback();
    else
      x.commit();
    CHECK(pending_count_mismatches(c).empty());
    // What the engine's quota check reads agrees with the count, pair by pair.
    for (const auto& to : agencies)
      for (const auto& from : {"fire", "police", "ambulance", "bluelink"}) {
        auto real = c.query(
                         "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id"
                         " WHERE d.agency = $1 AND m.from_agency = $2 AND d.seq > COALESCE("
                         "  (SELECT acked_upto FROM endpoints WHERE agency = $1), 0)",
                         {to, std::string(from)})
                        .int64(0, 0);
        CHECK(w.pending_from(to, from) == real);
        most = std::max(most, real);
      }
  }
  CHECK(most >= 5);  // the queues did grow
  // Everything acknowledged: nothing pending from anyone.
  w.begin();
  for (const auto& a : agencies) w.ack(a, w.last_seq(a), t0);
  w.commit();
  CHECK(pending_count_mismatches(c).empty());
  for (const auto& to : agencies)
    for (const auto& from : {"fire", "police", "ambulance", "bluelink"})
      CHECK(w.pending_from(to, from) == 0);
}

TEST_CASE("transfers are stored, loaded and found when their timers are due", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  auto a = make_transfer("T-20251205-000001", t0 + std::chrono::minutes(2));
  auto b = make_transfer("T-20251205-000002", t0 + std::chrono::minutes(1));
  auto c = make_transfer("T-20251205-000003", t0 + std::chrono::minutes(10));
  w.save_transfer(a, true);
  w.save_transfer(b, true);
  w.save_transfer(c, true);
  w.record_incident(a.id, "fire", "F-1", t0);
  w.record_incident(a.id, "police", "P-1", t0);
  w.record_incident(a.id, "police", "P-2", t0);
  w.commit();

  CHECK(w.due_transfers(t0, 10).empty());
  CHECK(w.due_transfers(t0 + std::chrono::minutes(5), 10) == std::vector<std::string>{b.id, a.id});
  CHECK(w.due_transfers(t0 + std::chrono::minutes(5), 1) == std::vector<std::string>{b.id});

  auto loaded = w.load_transfer(a.id);
  REQUIRE(loaded);
  CHECK(loaded->requester_incident == "F-1");
  CHECK(loaded->responder_incident == "P-2");
  CHECK(loaded->delivery_due == a.delivery_due);
  CHECK(loaded->category == "mutual_aid");
  CHECK(loaded->state == bl::transfer_state::submitted);
  CHECK_FALSE(w.load_transfer("T-nope"));

  // An update: delivered and alerted, a later decision timer.
  a.state = bl::transfer_state::delivered;
  a.delivery_alerted = true;
  a.version = 2;
  a.prio = bl::priority::emergency;
  w.begin();
  w.save_transfer(a, false);
  w.commit();
  auto again = w.load_transfer(a.id);
  REQUIRE(again);
  CHECK(again->state == bl::transfer_state::delivered);
  CHECK(again->delivery_alerted);
  CHECK_FALSE(again->decision_alerted);
  CHECK(again->version == 2);
  CHECK(again->prio == bl::priority::emergency);
  CHECK(w.due_transfers(t0 + std::chrono::minutes(5), 10) == std::vector<std::string>{b.id});
}

TEST_CASE("phone calls get ids and the first phone claim on a prompt stands", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  w.save_transfer(make_transfer("T-20251205-000001", t0), true);
  bl::store::call_record call;
  call.source = "console";
  call.agency = "fire";
  call.from_agency = "fire";
  call.to_agency = "police";
  call.started_at = t0;
  call.duration_s = 75;
  call.emergency = true;
  call.reason = "mutual_aid";
  call.transfer_id = "T-20251205-000001";
  call.logged_by = "kim";
  call.created_at = t0;
  auto first = w.insert_call(call);
  call.duration_s.reset();
  call.transfer_id.clear();
  auto second = w.insert_call(call);
  CHECK(second > first);

  CHECK_FALSE(w.find_phone_claim("T-20251205-000001", "fire", "delivery_overdue"));
  bl::store::phone_claim claim{
      "T-20251205-000001", "fire", "delivery_overdue", "kim", "Kim Hall", "police", t0};
  w.insert_phone_claim(claim);
  w.commit();

  auto found = w.find_phone_claim("T-20251205-000001", "fire", "delivery_overdue");
  REQUIRE(found);
  CHECK(found->display_name == "Kim Hall");
  CHECK(found->counterpart == "police");
  CHECK(found->claimed_at == t0);
  CHECK_FALSE(w.find_phone_claim("T-20251205-000001", "police", "delivery_overdue"));

  pg_writer other(pg.conninfo("bl"));
  other.begin();
  claim.username = "sam";
  try {
    other.insert_phone_claim(claim);
    FAIL("a second claim was stored");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::conflict);
  }
  other.rollback();

  connection c(pg.conninfo("bl"));
  auto r = c.query(
      "SELECT emergency, duration_s IS NULL, transfer_id IS NULL FROM calls"
      " ORDER BY id");
  REQUIRE(r.rows() == 2);
  CHECK(r.boolean(0, 0));
  CHECK_FALSE(r.boolean(0, 1));
  CHECK(r.boolean(1, 1));
  CHECK(r.boolean(1, 2));
}

TEST_CASE("a PostgreSQL writer refuses an unusable database without showing its password",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  { pg_writer w(pg.conninfo("bl")); }
  pg.psql("UPDATE bluelink_schema SET version = version + 1", "bl");
  try {
    pg_writer w(pg.conninfo("bl") + " password=hunter2");
    FAIL("a newer schema was accepted");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::corrupt);
    CHECK_THAT(e.what(), Catch::Contains("is unusable") && Catch::Contains("newer"));
    CHECK_THAT(e.what(), Catch::Contains("password=***") && !Catch::Contains("hunter2"));
  }
  try {
    pg_writer w(pg.conninfo("missing") + " password=hunter2");
    FAIL("a missing database was accepted");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("does not exist") && !Catch::Contains("hunter2"));
  }
}

TEST_CASE("a PostgreSQL writer carries on after the server crashed and came back", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  message(w, "m1");
  CHECK(w.enqueue("police", "m1", "", "transfer.update", t0) == 1);
  w.audit(t0, "fire", "message.accepted", "m1", "", "{}");
  w.commit();

  // Killed mid-transaction: nothing of it is stored, and the writer says unavailable.
  w.begin();
  message(w, "m2");
  pg.kill();
  try {
    w.enqueue("police", "m2", "", "transfer.update", t0);
    FAIL("a write to a dead server succeeded");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::unavailable);
  }
  w.rollback();
  try {
    w.begin();
    FAIL("a transaction began on a dead server");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::unavailable);
  }

  pg.start();
  w.begin();
  CHECK_FALSE(w.find_receipt("m2"));
  message(w, "m2");
  CHECK(w.enqueue("police", "m2", "", "transfer.update", t0) == 2);
  w.audit(t0, "fire", "message.accepted", "m2", "", "{}");
  w.commit();
  connection c(pg.conninfo("bl"));
  CHECK(verify_chain(c) == 2);
}

TEST_CASE("a PostgreSQL writer's commits wait for the disk even if the server would not",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  // With synchronous_commit off and a WAL writer that waits 10 s, a commit that does not flush
  // its WAL itself is lost by a crash soon after it.
  pg.psql("ALTER DATABASE bl SET synchronous_commit = off");
  pg.psql("ALTER SYSTEM SET wal_writer_delay = '10s'");
  pg.psql("SELECT pg_reload_conf()");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  message(w, "m1");
  w.commit();
  pg.kill();
  pg.start();
  pg_writer again(pg.conninfo("bl"));
  CHECK(again.find_receipt("m1"));
}

TEST_CASE("a second PostgreSQL writer's transaction reads what the first committed, no lost update",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer a(pg.conninfo("bl"));
  pg_writer b(pg.conninfo("bl"));
  a.begin();
  a.save_transfer(make_transfer("T-20251205-000001", t0), true);
  a.commit();

  a.begin();
  auto ta = a.load_transfer("T-20251205-000001");
  REQUIRE(ta);
  // b reads and updates the same transfer at the same moment: it must read a's update.
  auto fb = std::async(std::launch::async, [&] {
    b.begin();
    auto tb = b.load_transfer("T-20251205-000001");
    tb->version += 1;
    b.save_transfer(*tb, false);
    b.commit();
    return tb->version;
  });
  CHECK(fb.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  ta->version += 1;
  a.save_transfer(*ta, false);
  a.commit();
  CHECK(fb.get() == 3);
  CHECK(a.load_transfer("T-20251205-000001")->version == 3);
}

TEST_CASE("a batch's receipts and inbox counts come with BEGIN and answer as the rows would",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  message(w, "stored-before", "fire", "{\"first\":true}");
  w.enqueue_later("police", "stored-before", "", "transfer.update", t0, "fire");
  message(w, "stored-too", "fire");
  w.enqueue_later("police", "stored-too", "", "transfer.update", t0, "fire");
  w.save_transfer(make_transfer("T-20251205-000007", t0), true);
  w.commit();

  bl::store::batch_hint hint{{"stored-before", "new-1", "quo\"te\\d"}, {"fire", "police"}, t0};
  w.begin_batch(hint);
  CHECK(w.find_receipt("stored-before") == std::optional<std::string>("{\"first\":true}"));
  CHECK_FALSE(w.find_receipt("new-1"));
  CHECK_FALSE(w.find_receipt("quo\"te\\d"));
  CHECK_FALSE(w.find_receipt("not-in-the-hint"));
  CHECK(w.pending_from("police", "fire") == 2);
  CHECK(w.pending_from("fire", "police") == 0);
  CHECK(w.pending_from("ambulance", "fire") == 0);

  // What the transaction stores, it knows: a repeat of new-1 in the same batch is a duplicate.
  message(w, "new-1", "fire", "{\"new\":1}");
  w.enqueue_later("police", "new-1", "", "transfer.update", t0, "fire");
  CHECK(w.find_receipt("new-1") == std::optional<std::string>("{\"new\":1}"));
  CHECK(w.pending_from("police", "fire") == 3);
  w.audit(t0, "fire", "message.accepted", "new-1", "", "{}");
  CHECK(w.next_transfer_id(t0) == "T-20251205-000008");
  CHECK(w.next_transfer_id(t0) == "T-20251205-000009");

  // A job undone by its savepoint leaves nothing known that is not stored.
  w.savepoint();
  message(w, "undone", "fire");
  w.enqueue_later("police", "undone", "", "transfer.update", t0, "fire");
  CHECK(w.pending_from("police", "fire") == 4);
  CHECK(w.next_transfer_id(t0) == "T-20251205-000010");
  w.audit(t0, "fire", "message.accepted", "undone", "", "{}");
  w.rollback_to_savepoint();
  // The chain goes on from the append before the job (audit_tail moves only at COMMIT).
  w.audit(t0, "bluelink", "after.undone", "", "", "{}");
  CHECK_FALSE(w.find_receipt("undone"));
  CHECK(w.find_receipt("new-1") == std::optional<std::string>("{\"new\":1}"));
  CHECK(w.pending_from("police", "fire") == 3);
  CHECK(w.next_transfer_id(t0) == "T-20251205-000010");

  // An acknowledgement changes the counts; they are read again.
  CHECK(w.ack("police", 1, t0).size() == 1);
  CHECK(w.pending_from("police", "fire") == 2);
  w.commit();

  connection c(pg.conninfo("bl"));
  CHECK(pending_count_mismatches(c).empty());
  CHECK(c.query("SELECT last_no FROM transfer_day_seq WHERE day = '20251205'").int64(0, 0) == 10);
  CHECK(verify_chain(c) == 2);
  CHECK(c.query("SELECT string_agg(action, ',' ORDER BY seq) FROM audit").text(0, 0) ==
        "message.accepted,after.undone");
  w.begin_batch(hint);
  CHECK(w.next_transfer_id(t0) == "T-20251205-000011");
  CHECK(w.find_receipt("new-1") == std::optional<std::string>("{\"new\":1}"));
  w.commit();
  verify_chain(c);
}

TEST_CASE("a batch's reads wait for the writer before it and see what it committed", "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer a(pg.conninfo("bl"));
  pg_writer b(pg.conninfo("bl"));
  a.begin_batch({{"shared"}, {"fire"}, t0});
  message(a, "shared", "fire", "{\"by\":\"a\"}");
  a.enqueue_later("police", "shared", "", "transfer.update", t0, "fire");
  CHECK(a.next_transfer_id(t0) == "T-20251205-000001");

  auto fb = std::async(std::launch::async, [&] {
    b.begin_batch({{"shared"}, {"fire"}, t0});
    auto seen = std::make_tuple(b.find_receipt("shared"), b.pending_from("police", "fire"),
                                b.next_transfer_id(t0));
    b.commit();
    return seen;
  });
  CHECK(fb.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  a.commit();
  auto [receipt, pending, id] = fb.get();
  CHECK(receipt == std::optional<std::string>("{\"by\":\"a\"}"));
  CHECK(pending == 1);
  CHECK(id == "T-20251205-000002");
}

TEST_CASE("a job that only writes reaches the server only when it ends, and is undone unseen",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  connection c(pg.conninfo("bl"));
  w.begin_batch({{"kept", "dropped", "read-then-dropped"}, {"fire"}, t0});

  w.savepoint();
  message(w, "kept", "fire");
  w.enqueue_later("police", "kept", "", "transfer.update", t0, "fire");
  w.audit(t0, "fire", "message.accepted", "kept", "", "{}");
  w.release_savepoint();

  w.savepoint();
  message(w, "dropped", "fire");
  w.enqueue_later("police", "dropped", "", "transfer.update", t0, "fire");
  w.audit(t0, "fire", "message.accepted", "dropped", "", "{}");
  w.rollback_to_savepoint();

  // A job that reads after writing takes a real savepoint first; undone, so is what it wrote.
  w.savepoint();
  message(w, "read-then-dropped", "fire");
  CHECK(w.load_transfer("T-none") == std::nullopt);
  CHECK(w.find_receipt("read-then-dropped").has_value());
  w.audit(t0, "fire", "message.accepted", "read-then-dropped", "", "{}");
  w.rollback_to_savepoint();

  CHECK_FALSE(w.find_receipt("dropped"));
  CHECK_FALSE(w.find_receipt("read-then-dropped"));
  CHECK(w.find_receipt("kept").has_value());
  CHECK(w.pending_from("police", "fire") == 1);
  w.audit(t0, "bluelink", "after", "", "", "{}");
  w.commit();

  CHECK(c.query("SELECT string_agg(id, ',' ORDER BY id) FROM messages").text(0, 0) == "kept");
  CHECK(c.query("SELECT string_agg(seq::text, ',') FROM deliveries").text(0, 0) == "1");
  CHECK(verify_chain(c) == 2);
  CHECK(pending_count_mismatches(c).empty());
}

TEST_CASE("transfers fetched together answer load_transfer as the rows do, until changed",
          "[postgres]") {
  bl::test::pg_server pg;
  pg.create_database("bl");
  pg_writer w(pg.conninfo("bl"));
  w.begin();
  w.save_transfer(make_transfer("T-20251205-000001", t0), true);
  w.save_transfer(make_transfer("T-20251205-000002", t0), true);
  w.record_incident("T-20251205-000001", "fire", "F-1", t0);
  w.commit();

  w.begin();
  auto one = w.load_transfer("T-20251205-000001");
  auto two = w.load_transfer("T-20251205-000002");
  REQUIRE(one);
  REQUIRE(two);
  w.prefetch_transfers({"T-20251205-000001", "T-20251205-000002", "T-none"});
  auto fetched = w.load_transfer("T-20251205-000001");
  REQUIRE(fetched);
  CHECK(fetched->requester_incident == "F-1");
  CHECK(fetched->state == one->state);
  CHECK(fetched->version == one->version);
  CHECK(fetched->delivery_due == one->delivery_due);
  CHECK(fetched->request_message_id == one->request_message_id);
  CHECK_FALSE(w.load_transfer("T-none"));

  // Changed by this transaction: read again, as stored.
  auto changed = *two;
  changed.state = bl::transfer_state::delivered;
  changed.version = 2;
  w.save_transfer(changed, false);
  CHECK(w.load_transfer("T-20251205-000002")->state == bl::transfer_state::delivered);
  w.record_incident("T-20251205-000001", "police", "P-9", t0);
  CHECK(w.load_transfer("T-20251205-000001")->responder_incident == "P-9");
  w.commit();
}
