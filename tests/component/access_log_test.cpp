// The personal-data access log in the store (issue 18, DPA 2018 s.62), on both engines: entries
// are chained audit rows with an indexed access_log row each; queries filter and page them; the
// log is append-only, and `audit verify` finds an access_log row altered, removed or added.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "gateway/store/access_log.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/store_engine.hpp"

namespace access_log_test {

using bl::store::access_entry;
using bl::store::access_filter;

access_entry entry(const std::string& op, const std::string& agency, const std::string& actor,
                   const std::string& transfer, std::int64_t at_ms) {
  access_entry e;
  e.at = bl::from_ms(at_ms);
  e.operation = op;
  e.agency = agency;
  e.actor = actor;
  e.actor_kind = "user";
  e.channel = "console";
  e.object = "transfer";
  e.transfer_id = transfer;
  e.justification = "party to the transfer";
  return e;
}

constexpr std::int64_t t0 = 1796000000000;  // 2026-11-29

}  // namespace access_log_test

TEST_CASE("the access log keeps each entry as a chained audit row and answers a DPO's queries",
          "[access_log]") {
  using namespace access_log_test;
  const auto engine = GENERATE(from_range(bl::test::store_engine::all()));
  bl::test::store_engine db(engine);
  INFO(engine);
  {
    auto w = bl::store::open_writer(db.options());
    w->begin();
    w->audit(bl::from_ms(t0), "essex-fire", "message.accepted", "m-1", "T-1", "{}");
    std::vector<access_entry> entries = {
        entry("collect", "essex-fire", "fire.op", "T-1", t0),
        entry("consult", "essex-police", "kim.hall", "T-1", t0 + 1000),
        entry("consult", "essex-police", "kim.hall", "T-2", t0 + 2000),
        entry("consult", "essex-police", "sam.lee", "T-1", t0 + 3000),
        entry("consult", "eeast-ambulance", "amb.op", "T-3", t0 + 4000),
    };
    entries[0].object = "message";
    entries[0].ref = "m-1";
    entries[0].actor_kind = "integration";
    entries[0].channel = "cad";
    entries[0].recipients = "essex-police";
    for (auto& e : entries) {
      w->access(e);
      CHECK(e.seq > 1);
    }
    w->commit();
  }
  auto r = bl::store::open_reader(db.options());

  auto seqs = [](const std::vector<access_entry>& es) {
    std::vector<std::int64_t> out;
    for (const auto& e : es) out.push_back(e.seq);
    return out;
  };
  access_filter all;
  auto every = r->access_log(all);
  REQUIRE(every.size() == 5);
  CHECK(seqs(every) == std::vector<std::int64_t>{6, 5, 4, 3, 2});  // newest first
  CHECK(every.back().operation == "collect");
  CHECK(every.back().object == "message");
  CHECK(every.back().ref == "m-1");
  CHECK(every.back().recipients == "essex-police");
  CHECK(every.back().channel == "cad");
  CHECK(every.back().actor_kind == "integration");
  CHECK(bl::to_ms(every.back().at) == t0);

  SECTION("who looked at transfer T-1") {
    access_filter f;
    f.transfer_id = "T-1";
    f.operation = "consult";
    auto es = r->access_log(f);
    REQUIRE(es.size() == 2);
    CHECK(es[0].actor == "sam.lee");
    CHECK(es[1].actor == "kim.hall");
  }
  SECTION("what did one user look at, in a window") {
    access_filter f;
    f.actor = "kim.hall";
    f.since = bl::from_ms(t0 + 1500);
    f.until = bl::from_ms(t0 + 5000);
    auto es = r->access_log(f);
    REQUIRE(es.size() == 1);
    CHECK(es[0].transfer_id == "T-2");
  }
  SECTION("one agency's entries only, a page at a time") {
    access_filter f;
    f.agency = "essex-police";
    f.limit = 2;
    auto first = r->access_log(f);
    CHECK(seqs(first) == std::vector<std::int64_t>{5, 4});
    f.before_seq = first.back().seq;
    CHECK(seqs(r->access_log(f)) == std::vector<std::int64_t>{3});
    f.agency = "nobody";
    CHECK(r->access_log(f).empty());
  }
  SECTION("the chain verifies, and access rows are not filed under the transfer's audit rows") {
    auto rep = r->verify_audit();
    INFO(rep.problem);
    CHECK(rep.ok);
    CHECK(rep.rows == 6);
    CHECK(db.scalar("SELECT count(*) FROM audit WHERE transfer_id = 'T-1'") == 1);
    CHECK(db.scalar("SELECT count(*) FROM audit WHERE action = 'access.consult'") == 4);
  }
  SECTION("the log is append-only") {
    CHECK_THROWS(db.exec("UPDATE access_log SET actor = 'someone.else' WHERE seq = 3"));
    CHECK_THROWS(db.exec("DELETE FROM access_log WHERE seq = 3"));
    CHECK(r->access_log(all).size() == 5);
  }
  SECTION("verify finds an access_log row altered, removed or added behind the store's back") {
    // Only someone who can drop the triggers can do this; verification still finds it.
    if (db.postgres())
      db.exec(
          "ALTER TABLE access_log DISABLE TRIGGER access_log_no_update;"
          "ALTER TABLE access_log DISABLE TRIGGER access_log_no_delete");
    else
      db.exec("DROP TRIGGER access_log_no_update; DROP TRIGGER access_log_no_delete");
    SECTION("altered") {
      db.exec("UPDATE access_log SET actor = 'someone.else' WHERE seq = 3");
      auto rep = r->verify_audit();
      CHECK_FALSE(rep.ok);
      CHECK(rep.first_bad_seq == 3);
      CHECK(rep.problem == "access-log row 3 was altered: it does not match its audit row");
    }
    SECTION("its time moved") {
      db.exec("UPDATE access_log SET at = at + 1 WHERE seq = 4");
      auto rep = r->verify_audit();
      CHECK_FALSE(rep.ok);
      CHECK(rep.first_bad_seq == 4);
    }
    SECTION("removed") {
      db.exec("DELETE FROM access_log WHERE seq = 5");
      auto rep = r->verify_audit();
      CHECK_FALSE(rep.ok);
      CHECK(rep.first_bad_seq == 5);
      CHECK(rep.problem == "audit row 5 has no access-log row");
    }
    SECTION("added") {
      db.exec(
          "INSERT INTO access_log(seq, at, operation, agency, actor, actor_kind, channel, object,"
          " transfer_id, ref, recipients, justification) VALUES (1, 0, 'consult', 'essex-fire',"
          " 'x', 'user', 'console', 'transfer', 'T-9', '', '', '')");
      auto rep = r->verify_audit();
      CHECK_FALSE(rep.ok);
      CHECK(rep.first_bad_seq == 1);
      CHECK(rep.problem == "access-log row 1 has no audit row");
    }
  }
}

TEST_CASE("an access entry's audit detail is the same bytes for the same entry", "[access_log]") {
  using namespace access_log_test;
  auto e = entry("consult", "essex-police", "kim.hall", "T-1", t0);
  CHECK(bl::store::access_detail_json(e) ==
        R"({"operation":"consult","agency":"essex-police","actor":"kim.hall","actor_kind":"user",)"
        R"("channel":"console","object":"transfer","transfer_id":"T-1","ref":"","recipients":"",)"
        R"("justification":"party to the transfer"})");
  CHECK(bl::store::access_action(e) == "access.consult");
  CHECK(bl::store::known_access_operation("erase"));
  CHECK_FALSE(bl::store::known_access_operation("peek"));
  auto q = bl::store::access_query_of({std::string("essex-fire"), "kim.hall", "", "", {}, {}, 9, 5},
                                      true);
  CHECK(q.sql ==
        "SELECT seq, at, operation, agency, actor, actor_kind, channel, object, transfer_id, ref,"
        " recipients, justification FROM access_log WHERE agency = $1 AND actor = $2 AND seq < $3"
        " ORDER BY seq DESC LIMIT $4");
  CHECK(q.args.size() == 4);
}
