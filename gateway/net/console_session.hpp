#pragma once
// One console WebSocket (docs/protocols/websocket.md). Created by http_session once an upgrade
// request to /api/v1/ws has been authenticated (session cookie, Origin); it then owns the socket.
// The socket, the bounded write queue, close codes and error handling are ws_connection's.
//
// Protocol: the console sends {"op":"hello","after":N}; the session subscribes to the
// console_hub, which replays the agency's events after N, then streams live ones and link status.
// Slow consoles: at most console.ws_max_queued frames wait to be written; beyond that the socket is
// closed with 1013 (try again later) and the console catches up from its last event when it
// reconnects, so nothing is lost and a stuck browser cannot grow the gateway's memory.
// Sessions are re-checked every 30 s: a logged-out, expired or disabled account is closed with
// 4401.
//
// Threading: everything runs on the connection's strand; push() may be called from the hub thread
// and posts onto it.

#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "gateway/net/console_hub.hpp"
#include "gateway/net/ws_connection.hpp"
#include "gateway/service/accounts.hpp"

namespace bl {

struct gateway_config;
class schema_set;
struct error;

/// What a console session uses, owned elsewhere and outliving it.
struct console_session_services {
  const gateway_config& cfg;
  const schema_set& schemas;
  accounts& accts;
  console_hub* hub;  // null in tests without one: the session then streams nothing
  spdlog::logger& log;
  metrics& stats;
};

class console_session final : public ws_connection, public console_subscriber {
 public:
  console_session(std::unique_ptr<ws_io> io, const console_session_services& s, principal who,
                  std::string session_token, connection_slot slot = {});
  ~console_session() override;

  void push(std::shared_ptr<const std::string> frame) override;
  /// The agency whose events the console is sent: its own, for one acting for it; none for its
  /// data-protection officer (who reads transfers one by one, each read logged) or anyone else.
  const std::string& agency() const override { return feed_agency_; }

 private:
  void on_open() override;
  void on_message(std::string text) override;
  void on_closed() override;
  std::string log_fields() const override;

  std::shared_ptr<console_session> self() {
    return std::static_pointer_cast<console_session>(shared_from_this());
  }
  void send_error(const error& e);
  void schedule_check();

  console_session_services s_;
  principal who_;
  std::string feed_agency_;  // agency()
  std::string token_;
  bool hello_ = false;
  bool subscribed_ = false;
  boost::asio::steady_timer timer_;  // hello deadline, then the periodic session check
};

}  // namespace bl
