#include "gateway/net/eido_session.hpp"
#include "gateway/core/log_value.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/beast/http/status.hpp>

#include "adapters/eido/eido.hpp"
#include "adapters/eido/eido_conveyance.hpp"
#include "gateway/core/config.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/metrics.hpp"
#include "gateway/core/original.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/net/eido_transfer_of.hpp"
#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/store/reader.hpp"

namespace bl {

namespace beast = boost::beast;
namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string status_text(int code) {
  auto t = beast::http::obsolete_reason(static_cast<beast::http::status>(code));
  return t.empty() ? std::string("Error") : std::string(t);
}

// The message id of a cancelRequest by incidentId (no EIDO to take an id from): its requestId is
// the idempotency key, so the same cancelRequest sent again gets the same receipt.
std::string message_id_for(const std::string& agency, const std::string& request_id) {
  return agency + ":eido-" + sha256_hex(agency + "\n" + request_id).substr(0, 32);
}

}  // namespace

bool offers_eido_subprotocol(std::string_view v) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = v.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == eido_subprotocol) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

namespace {
ws_options eido_options(const eido_session_limits& l) {
  ws_options o;
  o.edge = "eido";
  o.max_message_bytes = l.max_frame_bytes;
  o.max_queued = l.max_queued;
  o.subprotocol = eido_subprotocol;
  o.slow_reason = "too slow: reconnect and resume from your last acknowledged event";
  return o;
}
}  // namespace

eido_session::eido_session(std::unique_ptr<ws_io> io, const eido_session_services& s,
                           std::string agency, eido_session_limits limits, connection_slot slot)
    : ws_connection(std::move(io), eido_options(limits), s.log, s.stats, std::move(slot)),
      s_(s),
      agency_(std::move(agency)),
      limits_(limits),
      expiry_timer_(executor()),
      rate_timer_(executor()),
      poll_timer_(executor()) {}

void eido_session::on_open() {
  log_.info("event=eido_connected agency={}", agency_);
  heard();
}

void eido_session::heard() {
  if (s_.links) s_.links->heard(agency_, "eido", now_ms());  // its system is there (outages)
}

void eido_session::on_closed() {
  log_.info("event=eido_disconnected agency={}", agency_);
  sub_.reset();
  stop_waiting();
}

void eido_session::stop_waiting() {
  expiry_timer_.cancel();
  rate_timer_.cancel();
  poll_timer_.cancel();
  s_.deliveries.cancel(std::exchange(poll_ticket_, 0));
}

void eido_session::on_message(std::string text) {
  heard();
  auto parsed =
      adapters::conveyance::parse_frame(text, edge_json_limits(s_.cfg, limits_.max_frame_bytes));
  if (auto* fe = std::get_if<adapters::conveyance::frame_error>(&parsed))
    return send_error(fe->reply, fe->correlation, fe->err);
  std::visit(
      [this](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, adapters::conveyance::subscribe>)
          on_subscribe(m);
        else if constexpr (std::is_same_v<T, adapters::conveyance::unsubscribe>)
          on_unsubscribe(m);
        else if constexpr (std::is_same_v<T, adapters::conveyance::event_response>)
          on_event_response(m);
        else if constexpr (std::is_same_v<T, adapters::conveyance::request>)
          on_request(m);
        // terminateResponse: our terminate needs no further step.
      },
      std::get<adapters::conveyance::frame>(parsed));
}

void eido_session::on_subscribe(const adapters::conveyance::subscribe& m) {
  const std::string base = "/subscribe";
  const std::string& request_id = m.request_id;
  const std::string& subscription_id = m.subscription_id;
  const std::string& sub_type = m.sub_type;
  const std::string& incident = m.incident_id;
  const std::optional<std::int64_t>& expires = m.expires;
  const std::optional<std::int64_t>& min_rate = m.min_rate;
  const json corr = {{"requestId", request_id}};
  auto grant_expires = [&] {
    std::int64_t v = expires ? *expires : limits_.default_expires_s;
    return static_cast<int>(
        std::clamp<std::int64_t>(v, limits_.min_expires_s, limits_.max_expires_s));
  };
  auto grant_min_rate = [&] {
    return static_cast<int>(std::min<std::int64_t>(min_rate.value_or(0), limits_.max_min_rate_s));
  };
  auto respond = [&] {
    send_json(json{{"subscribeResponse",
                    {{"requestId", request_id},
                     {"subscriptionId", sub_->id},
                     {"expires", sub_->expires_s},
                     {"minRate", sub_->min_rate_s},
                     {"statusCode", 200},
                     {"statusText", "OK"}}}});
  };

  if (!subscription_id.empty()) {
    // A renewal: the subscription goes on, with the new expiry (and rate) from now.
    if (!sub_ || sub_->id != subscription_id)
      return send_error("subscribeResponse", corr,
                        make_error(errc::eido_unknown_subscription,
                                   "no active subscription '" + subscription_id +
                                       "' on this connection (it may have expired: subscribe "
                                       "again without subscriptionId)",
                                   base + "/subscriptionId"));
    sub_->expires_s = grant_expires();
    if (min_rate) sub_->min_rate_s = grant_min_rate();
    start_expiry_timer();
    return respond();
  }
  if (sub_)
    return send_error("subscribeResponse", corr,
                      make_error(errc::eido_already_subscribed,
                                 "this connection already has subscription '" + sub_->id +
                                     "'; renew it with its subscriptionId or unsubscribe first",
                                 base));
  subscription s;
  s.generation = next_generation_++;
  s.id = "S-" + sha256_hex(agency_ + request_id + std::to_string(to_ms(now_ms())) + "\n" +
                           std::to_string(s.generation))
                    .substr(0, 20);
  s.single = sub_type == "single";
  s.transfer_id = incident;
  // "new" resumes at the agency's acknowledged position (everything unacknowledged comes again);
  // "single" replays the whole history of its one transfer.
  s.cursor = s.single ? 0 : -1;
  sub_ = std::move(s);
  sub_->expires_s = grant_expires();
  sub_->min_rate_s = grant_min_rate();
  respond();
  log_.info(
      "event=eido_subscribed agency={} subscription={} type={} transfer={} "
      "expires_s={} min_rate_s={}",
      agency_, sub_->id, sub_type, incident, sub_->expires_s, sub_->min_rate_s);
  start_expiry_timer();
  do_poll(0);
}

void eido_session::on_unsubscribe(const adapters::conveyance::unsubscribe& m) {
  const std::string base = "/unsubscribe";
  const std::string& request_id = m.request_id;
  const std::string& subscription_id = m.subscription_id;
  const json corr = {{"requestId", request_id}};
  if (!sub_ || sub_->id != subscription_id)
    return send_error(
        "unsubscribeResponse", corr,
        make_error(errc::eido_unknown_subscription,
                   "no active subscription '" + subscription_id + "' on this connection",
                   base + "/subscriptionId"));
  end_subscription("unsubscribed");
  send_json(json{{"unsubscribeResponse",
                  {{"requestId", request_id},
                   {"subscriptionId", subscription_id},
                   {"statusCode", 200},
                   {"statusText", "OK"}}}});
}

void eido_session::start_expiry_timer() {
  expiry_timer_.expires_after(std::chrono::seconds(sub_->expires_s));
  expiry_timer_.async_wait([weak = weak_self(), gen = sub_->generation](beast::error_code ec) {
    auto self = weak.lock();
    if (!self || ec || !self->sub_ || self->sub_->generation != gen) return;
    // Not renewed in time: the subscription ends and the client is told so.
    const std::string id = self->sub_->id;
    self->end_subscription("expired");
    self->send_json(json{{"terminate",
                          {{"requestId", id + "-expired"},
                           {"subscriptionId", id},
                           {"reason",
                            "expired: the subscription was not renewed within its "
                            "expires; subscribe again to resume"}}}});
  });
}

void eido_session::end_subscription(const std::string& reason) {
  if (!sub_) return;
  log_.info("event=eido_subscription_ended agency={} subscription={} reason={}", agency_, sub_->id,
            reason);
  sub_.reset();
  stop_waiting();
}

template <class Fn>
void eido_session::post_back(Fn fn) {
  asio::post(executor(), [weak = weak_self(), fn = std::move(fn)]() mutable {
    if (auto self = weak.lock()) fn(*self);
  });
}

void eido_session::do_poll(int wait_s) {
  if (!sub_ || sub_->polling || closing()) return;
  // Flow control: a CAD that stops answering events stops the stream instead of growing memory.
  if (outstanding_.size() >= limits_.max_outstanding_events) return;
  sub_->polling = true;
  const auto gen = sub_->generation;
  if (wait_s == 0) return post_back([gen](eido_session& self) { self.on_poll(gen); });
  // Whichever comes first: a delivery after the cursor, or the wait running out.
  poll_timer_.expires_after(std::chrono::seconds(wait_s));
  poll_timer_.async_wait([weak = weak_self(), gen](beast::error_code ec) {
    auto self = weak.lock();
    if (self && !ec) self->on_poll(gen);
  });
  poll_ticket_ = s_.deliveries.when_available(agency_, sub_->cursor,
                                              [weak = weak_self(), ex = executor(), gen] {
                                                asio::post(ex, [weak, gen] {
                                                  if (auto self = weak.lock()) self->on_poll(gen);
                                                });
                                              });
}

void eido_session::on_poll(std::uint64_t generation) {
  if (!sub_ || sub_->generation != generation || closing() || !sub_->polling) return;
  heard();  // subscribed and still open: the CAD is there though it has nothing to say
  sub_->polling = false;
  poll_timer_.cancel();
  s_.deliveries.cancel(std::exchange(poll_ticket_, 0));
  delivery_batch batch;
  try {
    batch = s_.deliveries.read(agency_, sub_->cursor, limits_.batch);
  } catch (const std::exception& e) {
    // The store could not be read: try again shortly.
    log_.warn("event=eido_poll_failed agency={} error={}", agency_, log_quote(e.what()));
    stats_.error(std::string(info(errc::store_unavailable).id));
    rate_timer_.expires_after(std::chrono::seconds(2));
    rate_timer_.async_wait([weak = weak_self(), generation](beast::error_code ec) {
      auto self = weak.lock();
      if (!self || ec || !self->sub_ || self->sub_->generation != generation) return;
      self->do_poll(self->limits_.poll_wait_s);
    });
    return;
  }
  if (sub_->cursor < 0) sub_->cursor = batch.after;
  if (batch.items.empty()) return do_poll(limits_.poll_wait_s);

  // minRate: no two events closer together than minRate seconds. What arrives meanwhile is not
  // lost: it is read again when the interval is over and goes out as one event.
  auto now = std::chrono::steady_clock::now();
  if (now < sub_->next_event_at) {
    rate_timer_.expires_at(sub_->next_event_at);
    rate_timer_.async_wait([weak = weak_self(), generation](beast::error_code ec) {
      auto self = weak.lock();
      if (!self || ec || !self->sub_ || self->sub_->generation != generation) return;
      self->do_poll(0);
    });
    return;
  }

  json notification = json::array();
  std::int64_t last = sub_->cursor;
  for (const auto& d : batch.items) {
    last = std::max(last, d.seq);
    const json msg = json::parse(d.doc, nullptr, false);  // stored by the engine: well formed
    if (sub_->single && msg.value("transfer_id", std::string()) != sub_->transfer_id) continue;
    if (auto relayed = relay_as_sent(msg)) {
      notification.push_back(std::move(*relayed));
      continue;
    }
    auto exported = adapters::eido_export(msg);
    if (auto* te = std::get_if<adapters::translate_error>(&exported)) {
      // Every type an inbox holds exports (tests/unit/eido_test.cpp); should one ever not, it is
      // passed over, logged, and counts as delivered with the event that follows it.
      log_.warn("event=eido_not_expressible agency={} message={} type={} code={} reason={}",
                agency_, log_quote(msg.value("id", std::string())),
                log_quote(msg.value("type", std::string())), te->code,
                log_quote(log_reason(te->message)));
      continue;
    }
    notification.push_back(std::move(std::get<json>(exported)));
  }
  sub_->cursor = last;
  if (notification.empty()) return do_poll(limits_.poll_wait_s);

  const std::string tid = sub_->id + "-" + std::to_string(next_transaction_++);
  // A "single" subscription shows one transfer: acknowledging it must not move the agency's
  // cumulative inbox position over deliveries it never showed.
  transactions_[tid] = sub_->single ? -1 : last;
  if (!sub_->single) outstanding_[last] = outstanding_event{last, false};
  send_json(json{{"event",
                  {{"transactionId", tid},
                   {"subscriptionId", sub_->id},
                   {"notification", std::move(notification)}}}});
  sub_->next_event_at = now + std::chrono::seconds(sub_->min_rate_s);
  do_poll(sub_->min_rate_s > 0 ? limits_.poll_wait_s : 0);
}

std::optional<json> eido_session::relay_as_sent(const json& msg) {
  // Same standard in, same standard out: a partner's EIDO (its message says where it came
  // from) reaches this CAD as the partner sent it, not as translated back from the transfer.
  // Only such a message has one: the others cost no read.
  if (!s_.reader) return std::nullopt;
  auto src = msg.find("source");
  if (src == msg.end() || !src->is_object() ||
      src->value("standard", std::string()).rfind("NENA EIDO", 0) != 0)
    return std::nullopt;
  const std::string id = msg.value("id", std::string());
  bool party = false;
  std::optional<stored_original> original;
  try {
    original = s_.reader->original(id, agency_, party);
  } catch (const std::exception& e) {
    // Not readable now: the CAD gets the translation, which carries the same transfer.
    log_.warn("event=eido_original_unreadable agency={} message={} error={}", agency_,
              log_quote(id), log_quote(e.what()));
    stats_.error(std::string(info(errc::store_unavailable).id));
    return std::nullopt;
  }
  if (!original || !party || original->doc.standard.rfind("NENA EIDO", 0) != 0) return std::nullopt;
  json doc;
  json_limits limits;
  limits.max_bytes = adapters::eido_max_bytes;
  if (parse_json_bounded(original->doc.body, doc, limits, "the kept EIDO") || !doc.is_object()) {
    // Cannot happen for an original the gateway kept; should it, the CAD gets the translation.
    log_.warn("event=eido_original_unreadable agency={} message={} error={}", agency_,
              log_quote(id), log_quote("the kept EIDO is not a JSON object within the bounds"));
    return std::nullopt;
  }
  // Bluelink's transfer id goes where NENA has a place for another incident's identifier: a
  // linkComponent RELATED to this one, recorded on the sender's behalf at the EIDO's own time.
  const std::string transfer = msg.value("transfer_id", std::string());
  if (!transfer.empty()) {
    auto by = doc.find("updatedByAgencyReference");
    json link = {{"$id", "urn:uuid:" + adapters::eido_component_uuid(id, "bluelink-transfer")},
                 {"lastUpdateTimeStamp", doc.value("lastUpdateTimeStamp", std::string())},
                 {"updatedByAgencyReference", by != doc.end() ? *by : json::object()},
                 {"incidentTrackingIdentifier", "urn:emergency:uid:incidentid:" + transfer + ":" +
                                                    std::string(adapters::eido_issuing_element)},
                 {"linkDirectionCode", "RELATED"}};
    json& links = doc["linkComponent"];
    if (!links.is_array()) links = json::array();
    links.push_back(std::move(link));
  }
  return doc;
}

void eido_session::on_event_response(const adapters::conveyance::event_response& m) {
  const std::string base = "/eventResponse";
  const std::string& tid = m.transaction_id;
  const std::int64_t code = m.status_code;
  const json corr = {{"transactionId", tid}};
  auto t = transactions_.find(tid);
  if (t == transactions_.end())
    return send_error("errorResponse", corr,
                      make_error(errc::eido_unknown_transaction,
                                 "no unacknowledged event with transactionId '" + tid +
                                     "' was sent on this connection",
                                 base + "/transactionId"));
  const std::int64_t upto = t->second;
  transactions_.erase(t);
  if (code < 200 || code > 299) {
    // Refused by the CAD: not acknowledged, so it is delivered again when the CAD reconnects.
    log_.warn("event=eido_event_refused agency={} transaction={} status={}", agency_, tid, code);
    return;
  }
  if (upto < 0) return;
  if (auto o = outstanding_.find(upto); o != outstanding_.end()) o->second.acked = true;
  ack_contiguous();
}

void eido_session::ack_contiguous() {
  while (!outstanding_.empty() && outstanding_.begin()->second.acked) {
    ack_target_ = std::max(ack_target_, outstanding_.begin()->first);
    outstanding_.erase(outstanding_.begin());
  }
  // Room again for events: resume a stream that flow control paused.
  if (sub_ && !sub_->polling && outstanding_.size() < limits_.max_outstanding_events) do_poll(0);
  if (ack_in_flight_ || ack_target_ <= acked_upto_) return;
  ack_in_flight_ = true;
  const std::int64_t upto = ack_target_;
  s_.deliveries.ack(agency_, upto, [weak = weak_self(), upto](std::variant<ack_result, error> r) {
    auto self = weak.lock();
    if (!self) return;
    self->post_back([upto, r = std::move(r)](eido_session& s) {
      s.ack_in_flight_ = false;
      if (auto* e = std::get_if<error>(&r)) {
        s.log_.warn("event=eido_ack_failed agency={} upto={} error={} reason={}", s.agency_, upto,
                    e->id(), log_quote(e->message));
        return;
      }
      s.acked_upto_ = std::max(s.acked_upto_, upto);
      if (s.ack_target_ > s.acked_upto_) s.ack_contiguous();
    });
  });
}

void eido_session::on_request(const adapters::conveyance::request& m) {
  const std::string& kind = m.kind;
  const std::string base = "/" + kind;
  const std::string reply = kind + "Response";
  const std::string& request_id = m.request_id;
  const json corr = {{"requestId", request_id}};

  json doc;
  if (m.by_incident) {
    doc = {{"type", "transfer.cancel"},
           {"from", agency_},
           {"transfer_id", m.incident_id},
           {"body", {{"reason", m.reason}}}};
  } else {
    adapters::eido_import_context ctx;
    ctx.from = agency_;
    // "transfer.alert" is the adapter's word for awareness: a notification, for information.
    ctx.type = kind == "cancelRequest"      ? "transfer.cancel"
               : kind == "requestAwareness" ? "transfer.alert"
                                            : "transfer.request";
    ctx.to = m.to;
    // The partners configuration: the identities this agency's EIDOs may carry
    // (partners[].eido_ids) and its default recipient.
    const adapters::partner_context partner = adapters::partner_context_of(s_.cfg, agency_);
    ctx.partner = &partner;
    // A later state of an incident this agency's EIDO made a transfer of updates it.
    if (s_.reader) ctx.transfer_of = eido_transfer_of(*s_.reader, agency_);
    std::variant<json, adapters::translate_error> imported;
    try {
      imported = adapters::eido_import(m.eido_text, s_.schemas, ctx);
    } catch (const std::exception& e) {  // the store, looking for the incident's transfer
      log_.warn("event=eido_lookup_failed agency={} request={} error={}", agency_,
                log_quote(request_id), log_quote(e.what()));
      return send_error(reply, corr, make_error(errc::store_unavailable, e.what()));
    }
    if (auto* te = std::get_if<adapters::translate_error>(&imported)) {
      // The adapter's own code (bl.eido.invalid, bl.eido.missing_field, ...) goes out as is; its
      // message names the EIDO field.
      auto known = errc_from_id(te->code);
      // A document whose sender is not the link's agency is forbidden (403), as on
      // POST /api/v1/documents; too large is 413; any other refusal of the document is 400.
      int status = known                                   ? info(*known).http_status
                   : te->code == "bl.eido.too_large"       ? 413
                   : te->code.rfind("bl.partner.", 0) == 0 ? 403
                                                           : 400;
      stats_.error(te->code);
      json out = corr;
      out["statusCode"] = status;
      out["statusText"] = status_text(status);
      out["code"] = te->code;
      out["message"] = te->message;
      out["pointer"] = base + "/eido";
      return send_json(json{{reply, out}});
    }
    // The message id comes from the EIDO's own identifier: the same EIDO sent again is the same
    // message and gets the same receipt.
    doc = std::move(std::get<json>(imported));
    if (kind == "requestAwareness" && doc.value("type", std::string()) == "transfer.request") {
      // Awareness asks nothing of the receiver: Bluelink's notification, for information.
      doc["body"]["category"] = "notification";
      doc["body"]["ask"] = "for_information";
    }
  }
  if (!doc.contains("id")) doc["id"] = message_id_for(agency_, request_id);
  if (!doc.contains("sent_at") || doc["sent_at"] == "") doc["sent_at"] = format_rfc3339(now_ms());

  // Answered only once the engine has the message on disk (or refused it).
  auto answer = [reply, request_id, corr](eido_session& self,
                                          const std::variant<receipt_result, error>& r) {
    if (auto* e = std::get_if<error>(&r)) return self.send_error(reply, corr, *e);
    const json& receipt = std::get<receipt_result>(r).receipt;
    self.send_json(json{{reply,
                         {{"requestId", request_id},
                          {"statusCode", 200},
                          {"statusText", "OK"},
                          {"messageId", receipt.value("message_id", std::string())},
                          {"transferId", receipt.value("transfer_id", std::string())}}}});
  };
  auto on_receipt = [weak = weak_self(), answer](std::variant<receipt_result, error> r) {
    auto self = weak.lock();
    if (!self) return;
    self->post_back([answer, r = std::move(r)](eido_session& s) { answer(s, r); });
  };
  const submitter who{agency_, "eido", "api", {}, {}};
  if (m.by_incident) return s_.pipeline.submit(std::move(doc), who, std::move(on_receipt));

  // The EIDO is kept as the CAD sent it (its bytes in the frame) with the message it became:
  // the receiving operator can read it, and a CAD that speaks EIDO receives it as sent.
  original_document original;
  original.standard = doc.contains("source") && doc["source"].is_object()
                          ? doc["source"].value("standard", std::string("NENA EIDO 1.0"))
                          : std::string("NENA EIDO 1.0");
  original.media_type = std::string(adapters::eido_media_type);
  original.body = m.eido_text;
  auto checked = s_.pipeline.check(std::move(doc), who);
  if (auto* e = std::get_if<error>(&checked)) return send_error(reply, corr, *e);
  message& msg = std::get<message>(checked);
  // The same state of the incident with other content is another message under the same id.
  original.digest = sha256_hex(std::string(to_string(msg.type)) + "\n" + msg.doc.at("body").dump());
  msg.original = std::move(original);
  s_.pipeline.submit(std::move(msg), who, std::move(on_receipt));
}

void eido_session::send_json(const json& frame) {
  send(frame.dump());
}

void eido_session::send_error(const std::string& type, const json& correlation, const error& e) {
  stats_.error(std::string(e.id()));
  json out = correlation;
  out["statusCode"] = e.http_status();
  out["statusText"] = status_text(e.http_status());
  out["code"] = e.id();
  out["message"] = e.message;
  if (!e.pointer.empty()) out["pointer"] = e.pointer;
  send_json(json{{type, out}});
}

}  // namespace bl
