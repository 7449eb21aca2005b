#include "gateway/service/retention.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <nlohmann/json.hpp>

#include "gateway/store/account_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/writer.hpp"

namespace bl {

using nlohmann::json;

namespace {

constexpr std::int64_t ms_per_day = 86'400'000;

/// The longer of two agencies' periods, or nullopt while either has none.
std::optional<int> longer(const std::optional<int>& a, const std::optional<int>& b) {
  if (!a || !b) return std::nullopt;
  return std::max(*a, *b);
}

std::optional<time_point> due_after(std::optional<int> days, time_point from) {
  if (!days) return std::nullopt;
  return from + std::chrono::milliseconds(static_cast<std::int64_t>(*days) * ms_per_day);
}

/// The shortest period any agency has for a kind (the bound of the candidates' scan), or nullopt
/// when none has one (nothing of that kind is ever due).
template <class Member>
std::optional<int> shortest(const gateway_config& cfg, Member m) {
  std::optional<int> out;
  for (const auto& a : cfg.agencies) {
    auto d = cfg.retention_of(a.id).*m;
    if (d && (!out || *d < *out)) out = d;
  }
  return out;
}

/// Keeps only `keys` of object `in` (when present).
json keep(const json& in, std::initializer_list<const char*> keys) {
  json out = json::object();
  if (!in.is_object()) return out;
  for (const char* k : keys)
    if (in.contains(k)) out[k] = in.at(k);
  return out;
}

store::access_entry erasure(time_point at, const purge_actor& who, const std::string& agency,
                            const std::string& object, const std::string& transfer_id,
                            const std::string& ref) {
  store::access_entry e;
  e.at = at;
  e.operation = std::string(store::access_op::erase);
  e.agency = agency;
  e.actor = who.actor;
  e.actor_kind = who.actor_kind;
  e.channel = who.channel;
  e.object = object;
  e.transfer_id = transfer_id;
  e.ref = ref;
  e.justification = "retention period passed (DPA 2018 s.39, UK GDPR Art 5(1)(e))";
  return e;
}

}  // namespace

std::optional<time_point> transfer_purge_due(const gateway_config& cfg,
                                             const std::string& requester,
                                             const std::string& responder, time_point updated_at) {
  return due_after(longer(cfg.retention_of(requester).transfers_days,
                          cfg.retention_of(responder).transfers_days),
                   updated_at);
}

std::optional<time_point> call_purge_due(const gateway_config& cfg, const std::string& from,
                                         const std::string& to, time_point started_at) {
  return due_after(longer(cfg.retention_of(from).calls_days, cfg.retention_of(to).calls_days),
                   started_at);
}

std::string tombstone_document(const std::string& doc, time_point purged_at) {
  json in = json::parse(doc, nullptr, false);
  if (in.is_discarded() || !in.is_object()) in = json::object();
  json out = keep(
      in, {"id", "type", "from", "to", "sent_at", "expires_at", "mode", "transfer_id", "version"});
  if (in.contains("source") && in.at("source").is_object())
    out["source"] = keep(in.at("source"), {"standard"});
  // Codes and numbers only: no free text, no M/ETHANE, no locations, no people.
  out["body"] = keep(in.value("body", json::object()),
                     {"category", "priority", "ask", "sender_incident", "receiver_incident",
                      "eta_minutes", "outcome", "until"});
  if (in.value("type", std::string()) == "transfer.decline" && in.contains("body") &&
      in.at("body").is_object() && in.at("body").contains("reason"))
    out["body"]["reason"] = in.at("body").at("reason");  // a code (schema enum)
  out["purged_at"] = format_rfc3339(purged_at);
  return out.dump();
}

std::string scrubbed_event_detail(const std::string& detail) {
  json in = json::parse(detail, nullptr, false);
  if (in.is_discarded() || !in.is_object()) return "{}";
  return keep(in, {"category", "priority", "sender_incident", "receiver_incident", "until",
                   "eta_minutes", "outcome", "direction", "emergency", "call_id", "prompt",
                   "calling", "via", "redirected_to", "redirected_from"})
      .dump();
}

purge_batch_result purge_transfers(store::writer& w, const gateway_config& cfg,
                                   const std::vector<std::string>& ids, time_point now,
                                   const purge_actor& who) {
  purge_batch_result out;
  std::vector<store::purge_subject> due;
  for (const auto& id : ids) {
    auto s = w.purge_read(id, true);
    if (!s || s->purged) {
      ++out.skipped;
      continue;
    }
    auto when = transfer_purge_due(cfg, s->requester, s->responder, s->updated_at);
    if (!when || *when > now) {
      ++out.skipped;
      continue;
    }
    if (s->held) {
      ++out.held;
      continue;
    }
    due.push_back(std::move(*s));
  }
  if (due.empty()) return out;
  // The purge's own audit row first: the audit details it erases name it (erased_by).
  json detail = {{"kind", "transfers"}, {"count", due.size()}, {"by", who.actor}};
  json list = json::array();
  for (const auto& s : due) list.push_back(s.transfer_id);
  detail["transfers"] = std::move(list);
  w.audit(now, who.actor, store::purge_audit_action, {}, {}, detail.dump());
  const std::int64_t erased_by = w.last_audit_seq();
  for (auto& s : due) {
    store::purge_rewrite rw;
    rw.transfer_id = s.transfer_id;
    rw.at = now;
    rw.erased_by = erased_by;
    for (auto& [id, doc] : s.messages) rw.messages.emplace_back(id, tombstone_document(doc, now));
    for (auto& e : s.events) rw.events.push_back({e.id, e.kind, scrubbed_event_detail(e.detail)});
    w.purge_write(rw);
    for (const auto* agency : {&s.requester, &s.responder}) {
      auto e = erasure(now, who, *agency, "transfer", s.transfer_id, s.transfer_id);
      w.access(e);
    }
    out.transfers.push_back(s.transfer_id);
  }
  return out;
}

purge_batch_result purge_calls(store::writer& w, const gateway_config& cfg,
                               const std::vector<store::call_candidate>& calls, time_point now,
                               const purge_actor& who) {
  purge_batch_result out;
  std::vector<std::int64_t> ids;
  for (const auto& c : calls) {
    auto when = call_purge_due(cfg, c.from_agency, c.to_agency, c.started_at);
    if (!when || *when > now) {
      ++out.skipped;
      continue;
    }
    ids.push_back(c.id);
  }
  if (ids.empty()) return out;
  auto purged = w.purge_calls(ids, now);
  out.skipped += static_cast<int>(ids.size() - purged.size());
  if (purged.empty()) return out;
  json list = json::array();
  for (const auto& c : purged) list.push_back(c.id);
  w.audit(
      now, who.actor, store::purge_audit_action, {}, {},
      json{{"kind", "calls"}, {"count", purged.size()}, {"by", who.actor}, {"calls", list}}.dump());
  for (const auto& c : purged) {
    std::set<std::string> agencies{c.from_agency, c.to_agency};
    for (const auto& a : agencies) {
      auto e = erasure(now, who, a, "call", "", std::to_string(c.id));
      w.access(e);
    }
    out.calls.push_back(c.id);
  }
  return out;
}

namespace {
/// The transfer `c` names, when `c.agency` may hold it (a party, or anyone for an empty agency).
/// Its row is locked first (purge_read): a purge on another node either commits before, and the
/// hold is refused as on a purged transfer, or waits for the hold and then keeps the transfer.
/// `placing`: a purged transfer is refused (a hold that stood before the purge, which the purge
/// itself never leaves, may still be lifted).
std::variant<transfer, error> holdable(store::writer& w, const hold_change& c, bool placing) {
  auto s = c.transfer_id.empty() ? std::nullopt : w.purge_read(c.transfer_id, false);
  auto t = s ? w.load_transfer(c.transfer_id) : std::nullopt;
  if (!t || (!c.agency.empty() && t->requester != c.agency && t->responder != c.agency))
    return make_error(errc::transfer_not_found, "no transfer '" + c.transfer_id + "'",
                      "/transfer_id");
  if (placing && s->purged)
    return make_error(errc::hold_purged,
                      "transfer " + t->id +
                          " was purged at the end of its retention period; its content is gone "
                          "and there is nothing left to hold",
                      "/transfer_id");
  return *t;
}

/// `who`: the change's own agency and user (the lifter's, for a lift, not the placer's).
void hold_logged(store::writer& w, const transfer& t, std::int64_t hold_id, bool placed,
                 const hold_change& who, time_point now) {
  const std::string actor = who.agency.empty() ? std::string("bluelink") : who.agency;
  // The reason stays in the hold's own row: the timeline (which both parties read) and the audit
  // say only that a hold was placed or lifted, by whom and of which agency.
  json detail = {{"hold_id", hold_id}, {"by", who.by}, {"agency", who.agency}};
  std::string state(to_string(t.state));
  w.add_event({t.id,
               now,
               placed ? "legal_hold" : "legal_hold_lifted",
               actor,
               {},
               state,
               state,
               t.version,
               detail.dump()});
  w.audit(now, actor, placed ? "hold.placed" : "hold.lifted", {}, t.id, detail.dump());
}
}  // namespace

std::variant<store::legal_hold, error> place_legal_hold(store::writer& w, const hold_change& c,
                                                        time_point now) {
  auto t = holdable(w, c, true);
  if (auto* e = std::get_if<error>(&t)) return *e;
  const auto& tr = std::get<transfer>(t);
  if (auto standing = w.current_hold(tr.id))
    return make_error(errc::hold_exists, "a legal hold already stands on " + tr.id +
                                             ", placed by " + standing->placed_by + " at " +
                                             format_rfc3339(standing->placed_at));
  store::legal_hold h;
  h.transfer_id = tr.id;
  h.agency = c.agency;
  h.placed_by = c.by;
  h.placed_at = now;
  h.reason = c.reason;
  h.id = w.place_hold(h);
  hold_logged(w, tr, h.id, true, c, now);
  return h;
}

std::variant<store::legal_hold, error> lift_legal_hold(store::writer& w, const hold_change& c,
                                                       time_point now) {
  auto t = holdable(w, c, false);
  if (auto* e = std::get_if<error>(&t)) return *e;
  const auto& tr = std::get<transfer>(t);
  auto standing = w.current_hold(tr.id);
  if (!standing) return make_error(errc::hold_not_found, "no legal hold stands on " + tr.id);
  w.lift_hold(standing->id, c.by, now, c.reason);
  standing->lifted_by = c.by;
  standing->lifted_at = now;
  standing->lift_reason = c.reason;
  hold_logged(w, tr, standing->id, false, c, now);
  return *standing;
}

std::int64_t purge_console_sessions(const gateway_config& cfg, store::account_store& accounts,
                                    time_point now) {
  std::int64_t n = 0;
  auto before = [&](int days) { return to_ms(now) - static_cast<std::int64_t>(days) * ms_per_day; };
  for (const auto& a : cfg.agencies)
    if (auto d = cfg.retention_of(a.id).logs_days) n += accounts.purge_sessions(a.id, before(*d));
  if (auto d = cfg.retention.defaults.logs_days)
    n += accounts.purge_sessions(std::nullopt, before(*d));
  return n;
}

purge_pass_report run_purge_pass(const gateway_config& cfg, store::reader& r, time_point now,
                                 const purge_pass_options& o) {
  purge_pass_report rep;
  const int page = std::max(1, o.batch);
  auto stopped = [&] { return o.stop && o.stop->load(); };
  auto timed = [&](auto&& apply) {
    auto t0 = std::chrono::steady_clock::now();
    auto res = apply();
    double took =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    rep.longest_batch_ms = std::max(rep.longest_batch_ms, took);
    ++rep.batches;
    return res;
  };
  std::set<std::string> held;
  for (const auto& h : r.current_holds()) held.insert(h.transfer_id);

  // Transfers: those whose last activity is before now minus the shortest period any agency
  // has, oldest first; each checked against its own two agencies' periods.
  if (auto days = shortest(cfg, &retention_periods::transfers_days)) {
    const time_point bound =
        now - std::chrono::milliseconds(static_cast<std::int64_t>(*days) * ms_per_day);
    std::optional<std::pair<time_point, std::string>> after;
    for (;;) {
      if (stopped()) {
        rep.stopped = true;
        return rep;
      }
      auto cands = r.purge_candidates(bound, after, page);
      if (cands.empty()) break;
      after = std::make_pair(cands.back().updated_at, cands.back().transfer_id);
      std::vector<std::string> ids;
      for (const auto& c : cands) {
        auto when = transfer_purge_due(cfg, c.requester, c.responder, c.updated_at);
        if (!when || *when > now) continue;
        ++rep.transfers_due;
        if (rep.oldest_due.empty()) rep.oldest_due = format_rfc3339(c.updated_at);
        ++rep.transfers_by_agency[c.requester];
        if (c.responder != c.requester) ++rep.transfers_by_agency[c.responder];
        if (held.count(c.transfer_id)) {
          ++rep.transfers_held;
          continue;
        }
        ids.push_back(c.transfer_id);
      }
      if (!ids.empty() && !o.dry_run && o.apply_transfers) {
        auto res = timed([&] { return o.apply_transfers(ids); });
        rep.transfers_purged += static_cast<std::int64_t>(res.transfers.size());
        // Held since the pass began: counted as held, not as purged.
        rep.transfers_held += res.held;
      }
      if (o.progress) o.progress(rep);
      if (static_cast<int>(cands.size()) < page) break;
    }
  }

  if (auto days = shortest(cfg, &retention_periods::calls_days)) {
    const time_point bound =
        now - std::chrono::milliseconds(static_cast<std::int64_t>(*days) * ms_per_day);
    std::optional<std::pair<time_point, std::int64_t>> after;
    for (;;) {
      if (stopped()) {
        rep.stopped = true;
        return rep;
      }
      auto cands = r.call_purge_candidates(bound, after, page);
      if (cands.empty()) break;
      after = std::make_pair(cands.back().started_at, cands.back().id);
      std::vector<store::call_candidate> due;
      for (const auto& c : cands) {
        auto when = call_purge_due(cfg, c.from_agency, c.to_agency, c.started_at);
        if (!when || *when > now) continue;
        ++rep.calls_due;
        due.push_back(c);
      }
      if (!due.empty() && !o.dry_run && o.apply_calls) {
        auto res = timed([&] { return o.apply_calls(due); });
        rep.calls_purged += static_cast<std::int64_t>(res.calls.size());
      }
      if (o.progress) o.progress(rep);
      if (static_cast<int>(cands.size()) < page) break;
    }
  }
  return rep;
}

}  // namespace bl
