#pragma once
// Fans the gateway's timeline out to the consoles connected over WebSocket
// (docs/protocols/websocket.md): every new transfer event goes to the consoles of the two
// agencies party to it, link status goes to everyone, and a console that (re)connects first
// replays what it missed since its last event.
//
// Threading: one hub thread does all of it, so that the replay for a new subscriber and the live
// stream are one ordered sequence with no gap and no duplicate: the replay reads up to the hub's
// own cursor, and every later event is pushed live. The engine's commit listener and subscribe()
// only post to the hub's queue. Subscribers get frames through push(), which must not block.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/core/config.hpp"
#include "gateway/core/liveness.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class clock_source;
class delivery_stream;
class link_registry;
class outage_monitor;
namespace store {
class reader;
}

/// Whether `agency`'s consoles are its receiving system: no other system of its own reads its
/// deliveries (no CAD on the CAD link, not a UCRI2 client, no API token for an HTTP or EIDO
/// integration). The gateway then acknowledges its deliveries itself once they have been shown
/// on one of its signed-in consoles (console_hub); otherwise its own system does (though a
/// request shown on a console still counts as delivered to the agency).
bool consoles_receive(const gateway_config& cfg, std::string_view agency);

/// A connected console as the hub sees it.
class console_subscriber {
 public:
  virtual ~console_subscriber() = default;
  /// Queues one text frame for sending; called on the hub thread, must not block.
  virtual void push(std::shared_ptr<const std::string> frame) = 0;
  /// The agency whose transfers this console may see (empty: links only).
  virtual const std::string& agency() const = 0;
};

class console_hub {
 public:
  console_hub(const gateway_config& cfg, store::reader& reader, const link_registry& links,
              std::shared_ptr<spdlog::logger> log);
  ~console_hub();
  /// The hub thread beats this on every pass (at least once a second). Set before start().
  void set_beat(liveness::beat* b) { beat_ = b; }
  /// Where the hub reports what its consoles have shown: once a pass has pushed every event
  /// committed with a delivery to at least one signed-in console of the agency, each request up
  /// to it counts as delivered to the agency and the sender sees "delivered". For an agency
  /// whose consoles are its receiving system (consoles_receive()) that is the acknowledgement
  /// of its deliveries; for one with a CAD or integration of its own, only the transfers are
  /// marked delivered and that system's cursor is left alone. Without it (tests) nothing is
  /// reported. Set before start().
  void set_deliveries(delivery_stream* d) { deliveries_ = d; }
  /// Where the hub records, at each links pass (every second), which agencies are connected, so
  /// that an agency's own outage begins and ends there (logged), and is shown in the links it
  /// publishes. Without it (tests) no outage is shown. Set before start().
  void set_outages(outage_monitor* m, const clock_source* clock) {
    outages_ = m;
    clock_ = clock;
  }
  console_hub(const console_hub&) = delete;
  console_hub& operator=(const console_hub&) = delete;

  void start();
  void stop();

  /// The engine committed something: look for new timeline events.
  void wake();
  /// Replays the events of the subscriber's agency after `after`, then streams live ones.
  void subscribe(std::shared_ptr<console_subscriber> s, std::int64_t after);
  void unsubscribe(const console_subscriber* s);
  /// Consoles currently connected per agency (presence).
  std::map<std::string, int> presence() const;

  /// Most events a reconnecting console is replayed; beyond it the console is told to resync.
  static constexpr int max_replay = 1000;

 private:
  struct pending_sub {
    std::weak_ptr<console_subscriber> who;
    std::int64_t after;
  };
  void run();
  void broadcast_new_events();
  /// Replays and makes the subscriber live; null when it has gone meanwhile.
  std::shared_ptr<console_subscriber> replay(const pending_sub& p);
  void publish_links(const std::vector<std::shared_ptr<console_subscriber>>& joined, bool due);
  std::string links_frame();
  /// The newest delivery of each agency with a console live or joining.
  std::map<std::string, std::int64_t> delivery_marks(const std::deque<pending_sub>& joining);
  /// Reports the marks of agencies that now have a live console (all their events shown).
  void acknowledge_shown(const std::map<std::string, std::int64_t>& marks);

  const gateway_config& cfg_;
  store::reader& reader_;
  const link_registry& links_;
  std::shared_ptr<spdlog::logger> log_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::deque<pending_sub> joining_;
  std::map<const console_subscriber*, std::weak_ptr<console_subscriber>> live_;
  std::thread thread_;

  // Hub thread only.
  std::int64_t cursor_ = 0;         // the newest event id already pushed live
  bool failing_ = false;            // the last pass could not read the store (hub thread only)
  liveness::beat* beat_ = nullptr;  // set before start()
  std::string last_links_;
  delivery_stream* deliveries_ = nullptr;      // set before start()
  outage_monitor* outages_ = nullptr;          // set before start()
  const clock_source* clock_ = nullptr;        // set before start()
  std::map<std::string, std::int64_t> acked_;  // per agency: reported shown up to; guarded by mu_
};

}  // namespace bl
