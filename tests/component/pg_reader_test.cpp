// The PostgreSQL reader (gateway/store/postgres/pg_reader) against a real server: the same
// operations written through the SQLite writer and the PostgreSQL writer read back the same
// through both readers, method by method (rows, order, every field); its page queries walk indexes
// (migration 2) rather than an agency's history; and it fails as unavailable while the server is
// down and recovers by itself when it is back.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/lifecycle.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/durable_marks.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/postgres/pg_reader.hpp"
#include "gateway/store/postgres/pg_reader_sql.hpp"
#include "gateway/store/postgres/pg_writer.hpp"
#include "gateway/store/sqlite/reader.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/pg_server/pg_server.hpp"

using namespace bl;
using nlohmann::json;
using store::fault;
using store::store_error;
using store::postgres::connection;
using store::postgres::pg_reader;
using store::postgres::pg_reader_config;
using store::postgres::pg_writer;

namespace {

const time_point t0 = *parse_rfc3339("2026-03-01T10:00:00Z");
const std::vector<std::string> agencies = {"essex-fire", "essex-police", "eeast-ambulance",
                                           "herts-fire"};
const std::vector<std::string> categories = {"fire.rescue", "police.traffic_management",
                                             "ambulance.casualty_care"};
const std::vector<transfer_state> answers = {
    transfer_state::submitted, transfer_state::delivered, transfer_state::received,
    transfer_state::accepted,  transfer_state::declined,  transfer_state::deferred,
    transfer_state::closed,    transfer_state::expired,   transfer_state::cancelled};

// One history, written the same way through whichever writer: transfers in every state (some in
// exercise mode, some with their phone-fallback alerts set), incident numbers, timeline events
// (with and without detail), several messages stored in one millisecond, deliveries and
// acknowledgements, audit rows (some about no message or transfer), phone calls, a transaction
// rolled back, transfers sharing an updated_at (the id breaks the tie), one whose requester is
// also its responder, one whose request has no summary and one whose summary holds \u0000.
// Returns the transfer ids.
std::vector<std::string> drive(store::writer& w) {
  std::vector<std::string> ids;
  std::mt19937 rng(15);  // the same draws for both writers
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  w.begin();
  for (int i = 0; i < 60; ++i) {
    transfer t;
    t.created_at = t0 + std::chrono::minutes(i / 3);
    t.id = w.next_transfer_id(t.created_at);
    std::size_t from = pick(agencies.size());
    std::size_t to = i == 13 ? from : (from + 1 + pick(agencies.size() - 1)) % agencies.size();
    t.requester = agencies[from];
    t.responder = agencies[to];
    t.category = categories[pick(categories.size())];
    t.prio = i % 4 == 0 ? priority::urgent : priority::routine;
    t.mode = i % 11 == 0 ? traffic_mode::exercise : traffic_mode::live;
    t.version = 1;
    t.request_message_id = t.requester + ":m" + std::to_string(i);
    t.updated_at = t.created_at;
    t.delivery_due = t.created_at + std::chrono::minutes(2);
    t.decision_due = t.created_at + std::chrono::minutes(10);
    t.expires_at = t.created_at + std::chrono::hours(1);
    json body = {{"summary", "RTC number " + std::to_string(i)}, {"hazards", {"fuel"}}};
    if (i == 9) body.erase("summary");
    if (i == 17) body["summary"] = std::string("Smoke\0seen", 10);
    if (i == 21) body["note"] = std::string("a\0b", 3);  // \u0000 elsewhere in the document
    json doc = {{"id", t.request_message_id},
                {"type", "transfer.request"},
                {"from", t.requester},
                {"transfer_id", t.id},
                {"body", body}};
    w.insert_message(t.request_message_id, "transfer.request", t.requester, t.responder, t.id, 1,
                     t.mode == traffic_mode::exercise ? "exercise" : "live", t.created_at,
                     t.created_at, doc.dump(), json{{"ok", true}}.dump());
    w.save_transfer(t, true);
    w.record_incident(t.id, t.requester, "INC-" + std::to_string(i), t.created_at);
    w.add_event({t.id, t.created_at, "transfer.request", t.requester, t.request_message_id, "",
                 "submitted", 1, i % 2 ? "{\"n\":1}" : ""});
    w.enqueue(t.responder, t.request_message_id, t.id, "transfer.request", t.created_at,
              t.requester);
    w.audit(t.created_at, t.requester, "message.accepted", t.request_message_id, t.id, "{}");
    ids.push_back(t.id);

    transfer_state s = answers[pick(answers.size())];
    if (s == transfer_state::submitted) continue;
    t.state = s;
    t.version = 2;
    // Some in the same minute as newer requests: ties on updated_at across transfers.
    t.updated_at = t.created_at + std::chrono::minutes(pick(3) == 0 ? 0 : 1 + pick(30));
    t.delivery_alerted = i % 7 == 0;
    t.decision_alerted = i % 9 == 0;
    // Two messages in one millisecond, stored in the opposite order of their ids: the detail
    // lists them in the order they were stored.
    std::string answer = t.responder + ":z" + std::to_string(i);
    std::string note = t.responder + ":a" + std::to_string(i);
    w.insert_message(answer, "transfer.accept", t.responder, t.requester, t.id, 2, "live",
                     t.updated_at, t.updated_at, json{{"id", answer}, {"n", i}}.dump(), "");
    w.insert_message(note, "transfer.update", t.responder, t.requester, t.id, 2, "live",
                     std::nullopt, t.updated_at, json{{"id", note}}.dump(), "{}");
    // Some answers came as a partner's document, kept as received (multi-byte text: the
    // detail's size is in bytes on both engines).
    if (i % 4 == 1)
      w.insert_original(answer,
                        {"UCRI2 incident_transfer 1.0 acknowledgement", "application/json",
                         "{ \"issue\": \"Übergabe " + std::to_string(i) + "\" }",
                         i % 8 == 1 ? "d" + std::to_string(i) : "", ""},
                        t.updated_at);
    w.save_transfer(t, false);
    if (i % 3) w.record_incident(t.id, t.responder, "R-" + std::to_string(i), t.updated_at);
    w.add_event({t.id, t.updated_at, "transfer.accept", t.responder, answer, "submitted",
                 std::string(to_string(s)), 2, json{{"state", std::string(to_string(s))}}.dump()});
    if (i % 5 == 0)
      w.add_event({t.id, t.updated_at, "phone_fallback", "bluelink", "", "", "", 0, ""});
    w.enqueue(t.requester, answer, t.id, "transfer.accept", t.updated_at, t.responder);
    w.audit(t.updated_at, t.responder, "message.accepted", answer, t.id, "{\"k\":[1,2]}");
    if (i % 8 == 0) w.audit(t.updated_at, "bluelink", "timer.fired", "", "", "{}");
  }
  w.commit();

  // Undone: none of it may be read.
  w.begin();
  w.insert_message("lost", "transfer.update", "essex-fire", "essex-police", ids[0], 3, "live",
                   std::nullopt, t0, "{}", "");
  w.enqueue("essex-police", "lost", ids[0], "transfer.update", t0, "essex-fire");
  w.rollback();

  w.begin();
  w.ack("essex-fire", w.last_seq("essex-fire") - 3, t0 + std::chrono::hours(2));
  w.ack("essex-police", w.last_seq("essex-police"), t0 + std::chrono::hours(2));
  for (int i = 0; i < 24; ++i) {
    store::call_record c;
    c.source = i % 3 ? "console" : "api";
    std::size_t from = pick(agencies.size());
    c.from_agency = agencies[from];
    c.to_agency = i == 5 ? c.from_agency : agencies[(from + 1 + pick(3)) % agencies.size()];
    c.agency = c.from_agency;
    c.started_at = t0 + std::chrono::minutes(i / 2 * 5);  // pairs started together
    if (i % 4) c.duration_s = 30 + i;
    c.emergency = i % 5 == 0;
    c.reason = i % 6 ? categories[pick(categories.size())] : "other";
    if (i % 3 == 0) c.transfer_id = ids[static_cast<std::size_t>(i)];
    c.logged_by = "user" + std::to_string(i);
    c.exercise = i % 7 == 0;
    if (i % 2) c.note = "rang back";
    c.created_at = c.started_at + std::chrono::seconds(90);
    w.insert_call(c);
  }
  w.audit(t0 + std::chrono::hours(2), "admin", "config.reloaded", "", "", "{\"by\":\"cli\"}");
  w.commit();
  return ids;
}

// An optional column's value, readably: null or the quoted text.
std::string shown(const std::optional<std::string>& v) {
  return v ? "'" + *v + "'" : "null";
}
std::string shown(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : "null";
}
std::string shown(time_point t) {
  return format_rfc3339(t);
}

// The rows the two readers return, field by field.
void same_fields(const store::transfer_fields& lite, const store::transfer_fields& pg) {
  INFO(lite.id);
  CHECK(lite.id == pg.id);
  CHECK(lite.state == pg.state);
  CHECK(lite.version == pg.version);
  CHECK(lite.category == pg.category);
  CHECK(lite.priority == pg.priority);
  CHECK(lite.mode == pg.mode);
  CHECK(lite.requester == pg.requester);
  CHECK(lite.responder == pg.responder);
  CHECK(shown(lite.created_at) == shown(pg.created_at));
  CHECK(shown(lite.updated_at) == shown(pg.updated_at));
  CHECK(shown(lite.expires_at) == shown(pg.expires_at));
  CHECK(shown(lite.delivery_due) == shown(pg.delivery_due));
  CHECK(shown(lite.decision_due) == shown(pg.decision_due));
  CHECK(lite.delivery_alerted == pg.delivery_alerted);
  CHECK(lite.decision_alerted == pg.decision_alerted);
}

void same(const store::transfer_row& lite, const store::transfer_row& pg) {
  same_fields(lite, pg);
  CHECK(shown(lite.requester_number) == shown(pg.requester_number));
  CHECK(shown(lite.responder_number) == shown(pg.responder_number));
  CHECK(shown(lite.summary) == shown(pg.summary));
}

void same(const std::vector<store::transfer_row>& lite,
          const std::vector<store::transfer_row>& pg) {
  REQUIRE(lite.size() == pg.size());
  for (std::size_t i = 0; i < lite.size(); ++i) same(lite[i], pg[i]);
}

void same(const store::event_row& lite, const store::event_row& pg) {
  INFO("event " << lite.id);
  CHECK(lite.id == pg.id);
  CHECK(lite.transfer_id == pg.transfer_id);
  CHECK(shown(lite.at) == shown(pg.at));
  CHECK(lite.kind == pg.kind);
  CHECK(lite.actor == pg.actor);
  CHECK(shown(lite.message_id) == shown(pg.message_id));
  CHECK(shown(lite.from_state) == shown(pg.from_state));
  CHECK(shown(lite.to_state) == shown(pg.to_state));
  CHECK(lite.version == pg.version);
  CHECK(lite.detail == pg.detail);
}

void same(const store::transfer_record& lite, const store::transfer_record& pg) {
  same_fields(lite, pg);
  CHECK(lite.request_message_id == pg.request_message_id);
  // Incident numbers are keyed by agency (the API shows an object): compared in agency order.
  auto numbers = [](std::vector<store::incident_number> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.agency < b.agency; });
    std::string out;
    for (const auto& n : v) out += n.agency + "=" + n.number + "@" + shown(n.recorded_at) + " ";
    return out;
  };
  CHECK(numbers(lite.incident_numbers) == numbers(pg.incident_numbers));
  REQUIRE(lite.timeline.size() == pg.timeline.size());
  for (std::size_t i = 0; i < lite.timeline.size(); ++i) same(lite.timeline[i], pg.timeline[i]);
  CHECK(lite.messages == pg.messages);
  REQUIRE(lite.originals.size() == pg.originals.size());
  for (std::size_t i = 0; i < lite.originals.size(); ++i) {
    const auto &l = lite.originals[i], &p = pg.originals[i];
    CHECK(l.message_id == p.message_id);
    CHECK(l.standard == p.standard);
    CHECK(l.media_type == p.media_type);
    CHECK(l.bytes == p.bytes);
    CHECK(shown(l.received_at) == shown(p.received_at));
  }
  REQUIRE(lite.audit.size() == pg.audit.size());
  for (std::size_t i = 0; i < lite.audit.size(); ++i) {
    const auto &l = lite.audit[i], &p = pg.audit[i];
    INFO("audit " << l.seq);
    CHECK(l.seq == p.seq);
    CHECK(shown(l.at) == shown(p.at));
    CHECK(l.actor == p.actor);
    CHECK(l.action == p.action);
    CHECK(shown(l.message_id) == shown(p.message_id));
    CHECK(l.detail == p.detail);
    CHECK(l.hash == p.hash);
  }
}

void same(const std::vector<store::call_row>& lite, const std::vector<store::call_row>& pg) {
  REQUIRE(lite.size() == pg.size());
  for (std::size_t i = 0; i < lite.size(); ++i) {
    const auto &l = lite[i], &p = pg[i];
    INFO("call " << l.id);
    CHECK(l.id == p.id);
    CHECK(l.source == p.source);
    CHECK(l.from_agency == p.from_agency);
    CHECK(l.to_agency == p.to_agency);
    CHECK(shown(l.started_at) == shown(p.started_at));
    CHECK(shown(l.duration_s) == shown(p.duration_s));
    CHECK(l.emergency == p.emergency);
    CHECK(shown(l.reason) == shown(p.reason));
    CHECK(shown(l.transfer_id) == shown(p.transfer_id));
    CHECK(shown(l.logged_by) == shown(p.logged_by));
    CHECK(l.exercise == p.exercise);
    CHECK(shown(l.note) == shown(p.note));
    CHECK(shown(l.created_at) == shown(p.created_at));
  }
}

void same_events(const std::vector<store::console_event>& lite,
                 const std::vector<store::console_event>& pg) {
  REQUIRE(lite.size() == pg.size());
  for (std::size_t i = 0; i < lite.size(); ++i) {
    same(lite[i].event, pg[i].event);
    same(lite[i].transfer, pg[i].transfer);
  }
}

void same_inbox(const std::vector<store::inbox_item>& lite,
                const std::vector<store::inbox_item>& pg) {
  REQUIRE(lite.size() == pg.size());
  for (std::size_t i = 0; i < lite.size(); ++i) {
    CHECK(lite[i].seq == pg[i].seq);
    CHECK(lite[i].doc == pg[i].doc);
    CHECK(lite[i].type == pg[i].type);
  }
}

void same_audit(const store::audit_report& lite, const store::audit_report& pg) {
  CHECK(lite.ok == pg.ok);
  CHECK(lite.rows == pg.rows);
  CHECK(lite.first_bad_seq == pg.first_bad_seq);
  CHECK(lite.problem == pg.problem);
}

// Both stores written, both readers open.
struct twin {
  test::temp_dir dir;
  std::string path = dir.file("bluelink.db");
  test::pg_server pg;
  std::vector<std::string> ids;
  std::unique_ptr<store::sqlite::reader> lite;
  std::unique_ptr<pg_reader> pgr;

  twin() {
    pg.create_database("bl");
    std::vector<std::string> pg_ids;
    {
      store::sqlite::writer w(store::store_options{path, false, 0, {}});
      ids = drive(w);
    }
    {
      pg_writer w(pg.conninfo("bl"));
      pg_ids = drive(w);
    }
    REQUIRE(ids == pg_ids);
    lite = std::make_unique<store::sqlite::reader>(path);
    pg_reader_config cfg;
    cfg.conninfo = pg.conninfo("bl");
    pgr = std::make_unique<pg_reader>(cfg);
  }
};

}  // namespace

TEST_CASE("the PostgreSQL reader reads what the SQLite reader reads, method by method",
          "[postgres]") {
  twin tw;
  auto& lite = *tw.lite;
  auto& pgr = *tw.pgr;
  std::vector<std::string> who = agencies;
  who.push_back("nobody");

  {  // transfer lists, with each filter and page size
    std::size_t rows = 0;
    for (const auto& a : who) {
      std::vector<store::transfer_filter> filters;
      for (int limit : {200, 7, 1, 0}) {
        store::transfer_filter f;
        f.limit = limit;
        filters.push_back(f);
      }
      for (auto s : {"accepted", "closed", "submitted", "expired"}) {
        store::transfer_filter f;
        f.state = s;
        filters.push_back(f);
        f.category = categories[0];
        filters.push_back(f);
      }
      for (const auto& c : categories) {
        store::transfer_filter f;
        f.category = c;
        f.limit = 5;
        filters.push_back(f);
        f.since = t0 + std::chrono::minutes(12);
        filters.push_back(f);
      }
      store::transfer_filter since;
      since.since = t0 + std::chrono::minutes(10);
      filters.push_back(since);
      since.state = "accepted";
      filters.push_back(since);
      for (const auto& f : filters) {
        INFO(a << " state=" << f.state << " category=" << f.category
               << " since=" << (f.since ? format_rfc3339(*f.since) : "") << " limit=" << f.limit);
        auto l = lite.list_transfers(a, f);
        auto p = pgr.list_transfers(a, f);
        same(l, p);
        CHECK(p.size() <= static_cast<std::size_t>(std::max(f.limit, 0)));
        rows += p.size();
      }
    }
    CHECK(rows > 300);
    // The summary that PostgreSQL's json functions cannot give is there all the same (up to its
    // NUL, as SQLite gives it).
    int smoke = 0;
    for (const auto& a : agencies)
      for (const auto& row : pgr.list_transfers(a, {}))
        if (row.summary == std::optional<std::string>("Smoke")) ++smoke;
    CHECK(smoke >= 1);
  }

  {  // transfer details, to a party, to another agency and of no transfer
    for (const auto& id : tw.ids) {
      for (const auto& a : who) {
        INFO(id << " for " << a);
        bool lp = false, pp = true;
        auto l = lite.transfer_detail(id, a, lp);
        auto p = pgr.transfer_detail(id, a, pp);
        REQUIRE(l.has_value() == p.has_value());
        CHECK(lp == pp);
        if (l) same(*l, *p);
      }
    }
    bool lp = true, pp = true;
    CHECK_FALSE(lite.transfer_detail("T-20260301-999999", agencies[0], lp));
    CHECK_FALSE(pgr.transfer_detail("T-20260301-999999", agencies[0], pp));
    // The two messages stored in one millisecond come in the order they were stored (":z"
    // first), not in the order of their ids.
    int stored_together = 0;
    for (const auto& id : tw.ids)
      for (const auto& a : agencies) {
        bool party = false;
        auto d = pgr.transfer_detail(id, a, party);
        if (!party || d->messages.size() != 3) continue;
        ++stored_together;
        CHECK(json::parse(d->messages[1])["id"].get<std::string>().find(":z") != std::string::npos);
      }
    CHECK(stored_together > 10);
  }

  {  // originals: the body to a party of its transfer only, the same through both
    int kept = 0;
    for (const auto& id : tw.ids)
      for (const auto& a : who) {
        bool party = false;
        auto d = lite.transfer_detail(id, a, party);
        if (!party) continue;
        for (const auto& o : d->originals) {
          ++kept;
          for (const auto& reader_as : who) {
            INFO(o.message_id << " for " << reader_as);
            bool lp = false, pp = true;
            auto l = lite.original(o.message_id, reader_as, lp);
            auto p = pgr.original(o.message_id, reader_as, pp);
            REQUIRE(l.has_value());
            REQUIRE(p.has_value());
            CHECK(lp == pp);
            CHECK(l->doc.body == p->doc.body);
            CHECK(l->doc.standard == p->doc.standard);
            CHECK(l->received_at_ms == p->received_at_ms);
            // The transfer a message belongs to, found only under its own sender.
            auto lt = lite.transfer_of_message(o.message_id, reader_as);
            auto pt = pgr.transfer_of_message(o.message_id, reader_as);
            CHECK(lt == pt);
            if (pt) CHECK(pt->first == id);
            if (pp) {
              CHECK(static_cast<std::int64_t>(p->doc.body.size()) == o.bytes);
              CHECK(p->doc.body.find("Übergabe") != std::string::npos);
            } else {
              CHECK(p->doc.body.empty());
            }
          }
        }
      }
    CHECK(kept > 10);
    bool lp = true, pp = true;
    CHECK_FALSE(lite.original("no-such-message", agencies[0], lp));
    CHECK_FALSE(pgr.original("no-such-message", agencies[0], pp));
  }

  {  // inboxes, cursors and queue depths
    for (const auto& a : who) {
      for (std::int64_t after : {0, 3, 1000})
        for (int limit : {1, 5, 100}) {
          INFO(a << " after " << after << " limit " << limit);
          same_inbox(lite.inbox(a, after, limit), pgr.inbox(a, after, limit));
        }
      CHECK(lite.acked_upto(a) == pgr.acked_upto(a));
      CHECK(lite.last_seq(a) == pgr.last_seq(a));
    }
    CHECK(pgr.inbox(agencies[1], 0, 100).size() > 5);
    CHECK(pgr.acked_upto("essex-police") == pgr.last_seq("essex-police"));
    CHECK(lite.queue_depths() == pgr.queue_depths());
    CHECK_FALSE(pgr.queue_depths().empty());
    CHECK(lite.transfer_states() == pgr.transfer_states());
    std::int64_t total = 0;
    for (const auto& [state, n] : pgr.transfer_states()) total += n;
    CHECK(total == 60);
  }

  {  // timeline events, for everyone and for one agency, bounded and not
    CHECK(lite.last_event_id() == pgr.last_event_id());
    CHECK(pgr.last_event_id() > 60);
    for (std::int64_t after : {0, 10, 50})
      for (int limit : {1, 7, 500})
        for (std::int64_t upto : {0, 40}) {
          INFO("after " << after << " limit " << limit << " upto " << upto);
          same_events(lite.events_after(after, limit, {}, upto),
                      pgr.events_after(after, limit, {}, upto));
          for (const auto& a : who) {
            INFO(a);
            same_events(lite.events_after(after, limit, a, upto),
                        pgr.events_after(after, limit, a, upto));
          }
        }
    CHECK(pgr.events_after(0, 500).size() == static_cast<std::size_t>(pgr.last_event_id()));
  }

  {  // phone calls, with and without since
    std::size_t rows = 0;
    for (const auto& a : who)
      for (int limit : {100, 3})
        for (auto since : {std::optional<time_point>(),
                           std::optional<time_point>(t0 + std::chrono::minutes(25))}) {
          INFO(a << " limit " << limit);
          auto p = pgr.list_calls(a, since, limit);
          same(lite.list_calls(a, since, limit), p);
          rows += p.size();
        }
    CHECK(rows > 20);
  }

  {  // reads bounded by durable marks stop at the same place
    auto marks = std::make_shared<store::durable_marks>();
    marks->set({{"essex-police", 5}, {"essex-fire", 2}}, 20);
    lite.bound_by(marks);
    pgr.bound_by(marks);
    for (const auto& a : who) {
      INFO(a);
      same_inbox(lite.inbox(a, 0, 100), pgr.inbox(a, 0, 100));
      CHECK(lite.last_seq(a) == pgr.last_seq(a));
    }
    CHECK(pgr.last_seq("essex-police") == 5);
    CHECK(pgr.last_seq("herts-fire") == 0);
    CHECK(pgr.last_event_id() == 20);
    same_events(lite.events_after(0, 500), pgr.events_after(0, 500));
    same_events(lite.events_after(0, 500, "essex-fire", 15),
                pgr.events_after(0, 500, "essex-fire", 15));
    CHECK(pgr.events_after(0, 500).size() == 20);
    marks->advance({{"herts-fire", 3}}, 30);
    CHECK(pgr.last_seq("herts-fire") == std::min<std::int64_t>(3, lite.last_seq("herts-fire")));
    CHECK(pgr.last_event_id() == 30);
    same_events(lite.events_after(10, 500, "herts-fire"), pgr.events_after(10, 500, "herts-fire"));
  }

  {  // audit verification agrees, whole and after tampering
    auto ok = pgr.verify_audit();
    same_audit(lite.verify_audit(), ok);
    CHECK(ok.ok);
    CHECK(ok.rows > 100);
    CHECK(lite.ping());
    CHECK(pgr.ping());

    store::db raw(tw.path, false, false);
    {  // a row altered
      raw.exec("DROP TRIGGER audit_no_update; UPDATE audit SET detail = '{\"x\":1}' WHERE seq = 7");
      tw.pg.psql(
          "ALTER TABLE audit DISABLE TRIGGER audit_no_update;"
          " UPDATE audit SET detail = '{\"x\":1}' WHERE seq = 7",
          "bl");
      auto bad = pgr.verify_audit();
      same_audit(lite.verify_audit(), bad);
      CHECK_FALSE(bad.ok);
      CHECK(bad.first_bad_seq == 7);
      CHECK_THAT(bad.problem, Catch::Contains("altered"));
    }
    {  // then a row removed before it: the first fault found is the one reported
      raw.exec("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 3");
      tw.pg.psql(
          "ALTER TABLE audit DISABLE TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 3",
          "bl");
      auto bad = pgr.verify_audit();
      same_audit(lite.verify_audit(), bad);
      CHECK_FALSE(bad.ok);
      CHECK(bad.first_bad_seq == 4);
      CHECK_THAT(bad.problem, Catch::Contains("row 3 is missing"));
    }
  }
}

TEST_CASE("the PostgreSQL reader finds rows removed from the end of the audit chain",
          "[postgres]") {
  // The one place where it says more than the SQLite reader: PostgreSQL's writers record the
  // chain's last row (audit_tail) in the statement that appends it, so a chain cut short shows.
  test::pg_server pg;
  pg.create_database("bl");
  {
    pg_writer w(pg.conninfo("bl"));
    w.begin();
    for (int i = 0; i < 5; ++i) w.audit(t0, "fire", "message.accepted", "", "", "{}");
    w.commit();
  }
  pg_reader_config cfg;
  cfg.conninfo = pg.conninfo("bl");
  pg_reader r(cfg);
  CHECK(r.verify_audit().ok);
  pg.psql("ALTER TABLE audit DISABLE TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= 4",
          "bl");
  auto bad = r.verify_audit();
  CHECK_FALSE(bad.ok);
  CHECK(bad.rows == 3);
  CHECK(bad.first_bad_seq == 4);
  CHECK_THAT(bad.problem, Catch::Contains("removed from its end"));
}

TEST_CASE("the PostgreSQL reader is unavailable while the server is down and recovers by itself",
          "[postgres]") {
  test::pg_server pg;
  pg.create_database("bl");
  { pg_writer w(pg.conninfo("bl")); }
  store::store_options opts;
  opts.engine = store::engine_kind::postgres;
  opts.conninfo = pg.conninfo("bl");
  auto r = store::open_reader(opts);
  CHECK(r->ping());
  CHECK(r->list_transfers("essex-fire", {}).empty());

  SECTION("the server stops and starts again") {
    pg.stop();
    for (int i = 0; i < 2; ++i) {
      try {
        r->list_transfers("essex-fire", {});
        FAIL("a read succeeded with the server stopped");
      } catch (const store_error& e) {
        CHECK(e.kind() == fault::unavailable);
        CHECK_THAT(e.what(), Catch::Contains("PostgreSQL"));
      }
    }
    CHECK_THROWS_AS(r->ping(), store_error);
    pg.start();
    CHECK(r->ping());
    CHECK(r->last_event_id() == 0);
  }

  SECTION("the server drops the reader's connections") {
    connection admin(pg.conninfo("postgres"));
    admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'bl' AND pid <>"
        " pg_backend_pid()");
    // The pooled connection is gone; the read runs again on a new one.
    CHECK(r->queue_depths().empty());
    CHECK(r->ping());
  }
}

TEST_CASE("a PostgreSQL reader opened while the server cannot be reached fails each read cleanly",
          "[postgres]") {
  test::pg_server pg;
  std::string conninfo = pg.conninfo("bl");
  pg.stop();
  pg_reader_config cfg;
  cfg.conninfo = conninfo + " password=secret-word";
  pg_reader r(cfg);  // connects to nothing yet
  try {
    r.ping();
    FAIL("ping succeeded with no server");
  } catch (const store_error& e) {
    CHECK(e.kind() == fault::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("cannot be reached"));
    CHECK_THAT(e.what(), !Catch::Contains("secret-word"));
  }
  CHECK(r.open_connections() == 0);
}

TEST_CASE("the PostgreSQL reader never holds more connections than its pool", "[postgres]") {
  test::pg_server pg;
  pg.create_database("bl");
  { pg_writer w(pg.conninfo("bl")); }
  pg_reader_config cfg;
  cfg.conninfo = pg.conninfo("bl");
  cfg.pool_size = 2;
  pg_reader r(cfg);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) try {
          r.list_transfers("essex-fire", {});
          r.verify_audit();
        } catch (...) {
          ++failures;
        }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(r.open_connections() <= 2);
  CHECK(pg.psql("SELECT count(*) <= 2 FROM pg_stat_activity WHERE datname = 'bl'", "postgres") ==
        "t");
}

TEST_CASE("a PostgreSQL store at schema version 1 upgrades to version 2 with its counts",
          "[postgres]") {
  test::pg_server pg;
  pg.create_database("bl");
  connection c(pg.conninfo("bl"));
  // A store as a gateway of version 1 left it: its schema, its marker, transfers and messages.
  c.exec(
      "CREATE TABLE bluelink_schema(only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),"
      " application text NOT NULL, version integer NOT NULL,"
      " migrated_at timestamptz NOT NULL DEFAULT now());"
      " INSERT INTO bluelink_schema(application, version) VALUES('bluelink', 1)");
  c.exec(std::string(store::postgres::all_pg_migrations().at(0).sql));
  c.exec(
      "INSERT INTO transfers(id, state, version, category, priority, mode, requester, responder,"
      " request_message_id, created_at, updated_at, expires_at, delivery_due, decision_due)"
      " SELECT 'T-20260101-' || lpad(i::text, 6, '0'),"
      " (ARRAY['submitted', 'accepted', 'closed'])[1 + i % 3], 1, 'fire.rescue', 'routine',"
      " 'live', 'essex-fire', 'essex-police', 'm' || i, i, i, i, i, i"
      " FROM generate_series(1, 30) i;"
      " INSERT INTO messages(id, type, from_agency, transfer_id, mode, stored_at, doc)"
      " SELECT 'm' || i, 'transfer.request', 'essex-fire', 'T-20260101-' || lpad(i::text, 6, '0'),"
      " 'live', i, '{}' FROM generate_series(1, 30) i");
  store::postgres::migrate(c, 2);
  CHECK(store::postgres::schema_version(c) == 2);
  pg_reader_config cfg;
  cfg.conninfo = pg.conninfo("bl");
  pg_reader r(cfg);
  using counts = std::vector<std::pair<std::string, std::int64_t>>;
  CHECK(r.transfer_states() == counts{{"accepted", 10}, {"closed", 10}, {"submitted", 10}});
  CHECK(c.query("SELECT count(*) FROM messages WHERE stored_order IS NULL").int64(0, 0) == 0);
  CHECK(r.list_transfers("essex-police", {}).size() == 30);
}
