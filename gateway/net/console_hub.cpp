#include "gateway/net/console_hub.hpp"

#include <algorithm>
#include <set>
#include <variant>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "gateway/core/failpoint.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/reader_json.hpp"
#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/outage_monitor.hpp"
#include "gateway/store/reader.hpp"

namespace bl {

using nlohmann::json;

namespace {
// Link status is polled: CAD sessions change it from their own thread without telling anyone.
constexpr std::chrono::milliseconds links_interval{1000};
// Events read per query while catching up or broadcasting.
constexpr int batch = 500;

std::shared_ptr<const std::string> event_frame(const store::console_event& ev,
                                               const std::string& agency) {
  json f = console_event_json(ev.event);
  f["op"] = "event";
  f["transfer"] = transfer_row_json(ev.transfer, agency);
  return std::make_shared<const std::string>(f.dump());
}
}  // namespace

console_hub::console_hub(const gateway_config& cfg, store::reader& reader,
                         const link_registry& links, std::shared_ptr<spdlog::logger> log)
    : cfg_(cfg), reader_(reader), links_(links), log_(std::move(log)) {}

console_hub::~console_hub() {
  stop();
}

void console_hub::start() {
  cursor_ = reader_.last_event_id();
  thread_ = std::thread([this] { run(); });
}

void console_hub::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void console_hub::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void console_hub::subscribe(std::shared_ptr<console_subscriber> s, std::int64_t after) {
  {
    std::lock_guard lock(mu_);
    joining_.push_back({s, after});
  }
  cv_.notify_one();
}

void console_hub::unsubscribe(const console_subscriber* s) {
  bool changed;
  {
    std::lock_guard lock(mu_);
    changed = live_.erase(s) > 0;
  }
  if (changed) wake();  // presence changed: the next pass republishes the links
}

std::map<std::string, int> console_hub::presence() const {
  std::map<std::string, int> out;
  std::lock_guard lock(mu_);
  for (const auto& [ptr, weak] : live_)
    if (auto s = weak.lock(); s && !s->agency().empty()) ++out[s->agency()];
  return out;
}

void console_hub::run() {
  auto next_links = std::chrono::steady_clock::now();
  for (;;) {
    if (beat_) (*beat_)();
    std::deque<pending_sub> joining;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_links, [this] { return stopping_ || woken_ || !joining_.empty(); });
      if (stopping_) return;
      woken_ = false;
      joining.swap(joining_);
    }
    try {
      // Read before the events: every delivery up to a mark was committed with its event
      // before the events below are read, so once they are pushed, the mark has been shown.
      auto marks = delivery_marks(joining);
      // Live events first, so that the cursor a joiner replays up to is as new as possible.
      broadcast_new_events();
      std::vector<std::shared_ptr<console_subscriber>> joined;
      for (const auto& p : joining)
        if (auto s = replay(p)) joined.push_back(std::move(s));
      acknowledge_shown(marks);
      bool due = std::chrono::steady_clock::now() >= next_links;
      publish_links(joined, due);
      if (due) next_links = std::chrono::steady_clock::now() + links_interval;
      if (failing_) {
        log_->warn("event=console_hub_recovered");
        failing_ = false;
      }
    } catch (const std::exception& e) {
      // The store could not be read. The cursor has not moved, so nothing is lost: the events
      // go out on a later pass. Every console is told once (the console shows that live
      // updates are paused and reconnects with back-off, saying the last event it showed) and
      // joiners are told each time; the pass is retried.
      if (!failing_) log_->error("event=console_hub_failed error={}", log_quote(e.what()));
      auto frame = std::make_shared<const std::string>(json{
          {"op", "error"},
          {"code", info(errc::store_unavailable).id},
          {"message",
           "the gateway cannot read its store just now: live updates are paused; "
           "reconnecting"}}.dump());
      for (const auto& p : joining)
        if (auto s = p.who.lock()) s->push(frame);
      if (!failing_) {
        std::lock_guard lock(mu_);
        for (const auto& [ptr, weak] : live_)
          if (auto s = weak.lock()) s->push(frame);
      }
      failing_ = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      wake();
    }
  }
}

bool consoles_receive(const gateway_config& cfg, std::string_view agency) {
  if (agency.empty()) return false;
  if (cfg.cad_link.enabled)
    for (const auto& c : cfg.cad_link.clients)
      if (c.agency == agency) return false;
  if (cfg.ucri2.enabled)
    for (const auto& p : cfg.ucri2.participants)
      if (p.client && p.agency == agency) return false;
  // An API token belongs to a system integration (HTTP inbox, EIDO conveyance) that reads and
  // acknowledges the agency's deliveries itself.
  for (const auto& t : cfg.tokens)
    if (t.agency == agency) return false;
  return true;
}

std::map<std::string, std::int64_t> console_hub::delivery_marks(
    const std::deque<pending_sub>& joining) {
  std::map<std::string, std::int64_t> marks;
  if (!deliveries_) return marks;
  std::set<std::string> agencies;
  for (const auto& p : joining)
    if (auto s = p.who.lock()) agencies.insert(s->agency());
  for (const auto& [agency, n] : presence()) agencies.insert(agency);
  for (const auto& a : agencies)
    if (!a.empty()) marks[a] = reader_.last_seq(a);
  return marks;
}

void console_hub::acknowledge_shown(const std::map<std::string, std::int64_t>& marks) {
  if (marks.empty()) return;
  auto shown = presence();  // live consoles now: each has every event up to the hub's cursor
  for (const auto& [agency, upto] : marks) {
    if (!shown.count(agency) || upto <= 0) continue;
    std::int64_t after;
    {
      std::lock_guard lock(mu_);
      auto& done = acked_[agency];
      if (upto <= done) continue;
      after = done;
      done = upto;
    }
    auto on_done = [this, agency, upto](std::variant<ack_result, error> r) {
      auto* e = std::get_if<error>(&r);
      if (!e) return;
      // Not recorded: forget it so that a later pass (at the latest the next links refresh)
      // tries again from the agency's acknowledged position.
      log_->warn("event=console_ack_failed agency={} upto={} code={} reason={}", agency, upto,
                 e->id(), log_quote(e->message));
      std::lock_guard lock(mu_);
      acked_.erase(agency);
    };
    // Two different acknowledgements. Where the consoles are the agency's receiving system,
    // showing a delivery acknowledges it (the agency's cursor moves). Where a CAD or an
    // integration of its own receives them, a request on a signed-in console is still
    // delivered to the agency (the sender's delivery timer stops), but the cursor is left to
    // that system: it must still receive every delivery, whether or not a console showed it.
    if (consoles_receive(cfg_, agency))
      deliveries_->ack(agency, upto, std::move(on_done));
    else
      deliveries_->shown(agency, after, upto, std::move(on_done));
  }
}

void console_hub::broadcast_new_events() {
  if (failpoint("console_hub.store_error"))
    throw std::runtime_error("injected store failure (failpoint console_hub.store_error)");
  for (;;) {
    std::vector<std::shared_ptr<console_subscriber>> subs;
    {
      std::lock_guard lock(mu_);
      for (auto it = live_.begin(); it != live_.end();) {
        if (auto s = it->second.lock()) {
          subs.push_back(std::move(s));
          ++it;
        } else {
          it = live_.erase(it);
        }
      }
    }
    if (subs.empty()) {
      // Nobody to show them to: move the cursor past them without reading them (a console that
      // joins later is replayed from its own cursor). Under load with no console open, reading
      // and rendering every event was a tenth of the gateway's CPU.
      cursor_ = std::max(cursor_, reader_.last_event_id());
      return;
    }
    auto events = reader_.events_after(cursor_, batch);
    if (events.empty()) return;
    for (const auto& ev : events) {
      // One frame per party: "direction" differs between the two sides.
      std::shared_ptr<const std::string> to_requester, to_responder;
      for (const auto& s : subs) {
        const auto& a = s->agency();
        if (a == ev.transfer.requester) {
          if (!to_requester) to_requester = event_frame(ev, ev.transfer.requester);
          s->push(to_requester);
        } else if (a == ev.transfer.responder) {
          if (!to_responder) to_responder = event_frame(ev, ev.transfer.responder);
          s->push(to_responder);
        }
      }
      cursor_ = ev.event.id;
    }
    if (static_cast<int>(events.size()) < batch) return;
  }
}

std::shared_ptr<console_subscriber> console_hub::replay(const pending_sub& p) {
  auto s = p.who.lock();
  if (!s) return s;
  const std::string& agency = s->agency();
  std::int64_t after = p.after;
  // A console without a cursor (no "after") starts from now. One with a cursor, 0 included (a
  // list read over REST before any event existed), gets every event after it: a console that
  // reads its list and then subscribes from the list's last_event misses nothing committed in
  // between. A cursor from the future (another gateway's database) is taken as now.
  if (after < 0 || after > cursor_) after = cursor_;
  std::int64_t replayed = 0;
  if (!agency.empty()) {
    for (;;) {
      auto events = reader_.events_after(after, batch, agency, cursor_);
      for (const auto& ev : events) {
        s->push(event_frame(ev, agency));
        after = ev.event.id;
        if (++replayed >= max_replay) break;
      }
      if (replayed >= max_replay) {
        s->push(std::make_shared<const std::string>(json{
            {"op", "resync"},
            {"last_event", cursor_},
            {"reason",
             "more than " + std::to_string(max_replay) + " events were missed; reload the lists"}}
                                                        .dump()));
        break;
      }
      if (static_cast<int>(events.size()) < batch) break;
    }
  }
  s->push(std::make_shared<const std::string>(
      json{{"op", "caught_up"}, {"last_event", cursor_}, {"replayed", replayed}}.dump()));
  {
    std::lock_guard lock(mu_);
    live_[s.get()] = s;
  }
  return s;
}

void console_hub::publish_links(const std::vector<std::shared_ptr<console_subscriber>>& joined,
                                bool due) {
  if (joined.empty() && !due) return;
  if (due && outages_ && clock_) {
    // Every second, whoever is connected anywhere: an agency silent for its outage_after_s is
    // out from this pass on, and its senders' consoles see it in the frame below.
    const auto now = clock_->now();
    const auto connected =
        connected_agencies(links_, presence(), now_ms(), polled_edge_grace(cfg_));
    for (const auto& c : outages_->observe(now, connected)) {
      const auto* a = cfg_.find_agency(c.agency);
      const std::string fallback = a ? a->fallback_agency : std::string();
      if (c.began)
        log_->warn("event=agency_outage_began agency={} since={} fallback={}", c.agency,
                   format_rfc3339(c.since), fallback.empty() ? "none" : fallback);
      else
        log_->warn("event=agency_outage_ended agency={} since={}", c.agency,
                   format_rfc3339(c.since));
    }
  }
  std::string frame = links_frame();
  auto shared = std::make_shared<const std::string>(frame);
  // Newcomers always get the picture; everyone else only when it changed.
  for (const auto& s : joined) s->push(shared);
  if (!due || frame == last_links_) return;
  last_links_ = std::move(frame);
  std::vector<std::shared_ptr<console_subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [ptr, weak] : live_)
      if (auto s = weak.lock()) subs.push_back(std::move(s));
  }
  for (const auto& s : subs) s->push(shared);
}

std::string console_hub::links_frame() {
  auto p = presence();
  return json{{"op", "links"}, {"links", links_json(cfg_, links_, &p, outages_)}}.dump();
}

}  // namespace bl
