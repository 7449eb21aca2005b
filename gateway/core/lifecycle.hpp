#pragma once
// The transfer lifecycle state machine and routing rules: pure functions of (transfer, message,
// config, now). No I/O, no threads: the engine calls these inside its store transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/core/config.hpp"
#include "gateway/core/error.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/time_util.hpp"

namespace bl {

enum class transfer_state {
  submitted,
  delivered,
  received,
  accepted,
  declined,
  deferred,
  cancelled,
  closed,
  expired,
  redirected,  // withdrawn from its recipient by the sender and sent to the recipient's buddy room
};

std::string_view to_string(transfer_state s);
std::optional<transfer_state> transfer_state_from(std::string_view s);
bool is_terminal(transfer_state s);

/// A transfer as the core sees it. `version` counts the messages the parties have applied
/// (the request is version 1); gateway events (delivery, alerts, expiry) do not change it, so a
/// party's next version never races the gateway.
struct transfer {
  std::string id;
  transfer_state state = transfer_state::submitted;
  std::int64_t version = 0;
  std::string category;
  priority prio = priority::routine;
  traffic_mode mode = traffic_mode::live;
  std::string requester;
  std::string responder;
  std::string requester_incident;
  std::string responder_incident;
  std::string request_message_id;
  time_point created_at{};
  time_point updated_at{};
  time_point expires_at{};
  time_point delivery_due{};
  time_point decision_due{};
  bool delivery_alerted = false;
  bool decision_alerted = false;

  /// The earliest moment a timer may fire, or nullopt when no timer is pending.
  std::optional<time_point> next_due() const;
  /// The other party to `agency`, or empty if `agency` is not a party.
  std::string counterpart(std::string_view agency) const;
};

/// What applying one message does: the transfer afterwards, the state it left, and who the
/// message must be delivered to.
struct outcome {
  transfer after;
  transfer_state before = transfer_state::submitted;
  bool created = false;
  std::string recipient;
};

/// Applies a party's message to its transfer (`current` is empty for a new request, in which case
/// `new_transfer_id` is the id to give it). Returns the new state or a specific rejection.
std::variant<outcome, error> apply_message(const std::optional<transfer>& current, const message& m,
                                           const gateway_config& cfg, time_point now,
                                           const std::string& new_transfer_id);

/// The receiving agency acknowledged delivery of the request: submitted -> delivered.
/// Returns false when that changes nothing (already past submitted).
bool mark_delivered(transfer& t, time_point now);

enum class timer_kind { expire, delivery_overdue, decision_overdue };
std::string_view to_string(timer_kind k);

/// The timers that have run out at `now`, in the order they must be applied.
std::vector<timer_kind> due_timers(const transfer& t, time_point now);
/// Applies one timer to the transfer (sets the alerted flag, or moves it to expired).
void apply_timer(transfer& t, timer_kind k, time_point now);

}  // namespace bl
