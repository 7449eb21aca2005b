// The UCRI2 Client API (PMeV-EFUL/ucri2, api/crm/2.0.0/ucrm-client-bundled.json) under /ucri2:
// token, info, registry, messaging/send, messaging/receive (long-poll) and messaging/commit.
// Messages are translated by adapters/ucri2 and go through the same engine as every other edge,
// so a UCRI2 client gets Bluelink's durability and dedupe. docs/protocols/ucri2.md.
#include "gateway/net/ucri2_handler.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>

#include <openssl/rand.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/ucri2/ucri2_message.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/message.hpp"
#include "gateway/net/api.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/delivery_stream.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/service/token_auth.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;
namespace asio = boost::asio;
namespace u2 = adapters::ucri2;

namespace {

// The spec's long-poll limit (dMax) and availability timeout.
constexpr int max_delay_s = 30;
// The largest maxMessages and sequenceId a client may send (schemas/ucri2/client/*).
constexpr std::int64_t max_messages_limit = 1000;
constexpr std::int64_t max_sequence_id = 9007199254740991;  // 2^53 - 1
constexpr auto availability_timeout = std::chrono::seconds(60);

}  // namespace

// What the UCRI2 edge keeps for the life of the api object: the token signing key (random per
// start, so a restart invalidates every token, and clients fetch a new one after a 475, as the
// spec expects) and when each client OID last asked for messages (the registry's online/offline
// status).
struct ucri2_state {
  ucri2_state() : key(32, '\0') {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1)
      throw std::runtime_error("no randomness for the UCRI2 token signing key (RAND_bytes)");
  }
  std::string key;
  std::mutex mu;
  std::map<std::string, std::chrono::steady_clock::time_point> last_seen;
};

namespace {

std::string random_uuid() {
  std::random_device rd;
  std::string h;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) h += hex[rd() & 0xF];
  h[12] = '4';
  h[16] = hex[8 | (rd() & 3)];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

api_response ucri2_reply(int status, const json& body) {
  return json_response(status, body);
}

api_response ucri2_fail(const u2::ucri2_error& e) {
  auto r = json_response(e.http_status(), e.to_json());
  r.error_id = e.bl_code;
  return r;
}

api_response ucri2_fail(u2::wire_code code, std::string bl_code, std::string message,
                        std::string pointer = {}) {
  return ucri2_fail(
      u2::make_ucri2_error(code, std::move(bl_code), std::move(message), std::move(pointer)));
}

// An engine refusal in the spec's terms: store trouble is an internal error (491, HTTP 500);
// a rule of the transfer lifecycle is a payload the receiver cannot take (464). blCode keeps
// our own id either way.
api_response engine_refusal(const error& e) {
  // A per-agency limit (bl.rate.*) is neither the payload's fault nor a fault inside: the spec
  // has no code for it, so the reply is HTTP 429 with Retry-After, and the client sends the same
  // messageId again later (a repeat is deduplicated).
  if (e.http_status() == 429) {
    auto r = ucri2_fail(u2::wire_code::internal, std::string(e.id()), e.message, e.pointer);
    r.status = 429;
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  // The envelope's messageId is what is wrong: the transport spec's code, at /messageId.
  if (e.code == errc::message_id_reused)
    return ucri2_fail(u2::wire_code::invalid_request, std::string(e.id()), e.message, "/messageId");
  bool internal = e.http_status() >= 500;
  return ucri2_fail(internal ? u2::wire_code::internal : u2::wire_code::invalid_payload,
                    std::string(e.id()), e.message, e.pointer);
}

json supported_apps_json() {
  json apps = json::array();
  for (const auto& a : u2::supported_apps())
    apps.push_back({{"appId", a.app_id}, {"appVersion", a.app_version}});
  return apps;
}

// A participant's appRefs: what its system supports, and the messages of each it does not.
json supported_apps_json(const u2::participant& p) {
  json apps = json::array();
  for (const auto& a : p.supported()) {
    json ref = {{"appId", a.app_id}, {"appVersion", a.app_version}};
    if (!a.unsupported_messages.empty()) ref["unsupportedMessages"] = a.unsupported_messages;
    apps.push_back(std::move(ref));
  }
  return apps;
}

// Everything one UCRI2 request needs: the edge's services, the directory of participants and
// the per-start state; copied into long-polls.
struct ucri2_ctx : ucri2_services {
  u2::directory dir;
  ucri2_state& st;
};

u2::transfer_facts facts_of(const store::transfer_fields& t) {
  u2::transfer_facts f;
  f.transfer_id = t.id;
  f.requester = t.requester;
  f.responder = t.responder;
  return f;
}

// What the store knows of one transfer, as seen by `agency` (a party to it).
std::optional<u2::transfer_facts> transfer_facts_of(ucri2_ctx& c, const std::string& agency,
                                                    const std::string& transfer_id) {
  try {
    bool party = false;
    auto t = c.reader.transfer_detail(transfer_id, agency, party);
    if (!t || !party) return std::nullopt;
    auto f = facts_of(*t);
    for (const auto& n : t->incident_numbers)
      if (n.agency == f.requester) f.requester_number = n.number;
    return f;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The transfer a sharedIncidentId names: one derived from a transfer id, or the requester's
// incident number of a transfer that began as a UCRI2 incident (searched among the agency's
// most recent 1000 transfers).
std::optional<u2::transfer_facts> find_shared(ucri2_ctx& c, const std::string& agency,
                                              const std::string& other, const std::string& shared) {
  if (auto id = u2::transfer_id_from_shared(shared)) {
    auto f = transfer_facts_of(c, agency, *id);
    if (f && (f->requester == other || f->responder == other)) return f;
    return std::nullopt;
  }
  try {
    store::transfer_filter filter;
    filter.limit = 1000;
    for (const auto& row : c.reader.list_transfers(agency, filter)) {
      auto f = facts_of(row);
      f.requester_number = row.requester_number.value_or("");
      if (f.requester_number == shared && (f.requester == other || f.responder == other)) return f;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// The token's participant, or the 475 reply.
std::variant<const u2::participant*, api_response> authorize(ucri2_ctx& c, const api_request& req) {
  std::string_view h = req.authorization;
  auto refuse = [](std::string why) {
    return ucri2_fail(u2::wire_code::unauthorized, "bl.ucri2.unauthorized", std::move(why));
  };
  if (h.size() < 7 || (h.substr(0, 7) != "Bearer " && h.substr(0, 7) != "bearer "))
    return refuse("send 'Authorization: Bearer <token>' with a token from GET /ucri2/token");
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  auto claims = u2::check_jwt(c.st.key, h.substr(7), now_s);
  if (!claims) return refuse("the token is not valid or has expired; fetch a new one");
  const auto* p = c.dir.by_oid(claims->value("sub", std::string()));
  if (!p || !p->client || p->agency != claims->value("agency", std::string()))
    return refuse("the token's participant is no longer configured as a UCRI2 client");
  if (c.links) c.links->heard(p->agency, "ucri2", now_ms());  // its system is there (outages)
  return p;
}

api_response get_token(ucri2_ctx& c, const api_request& req) {
  auto creds = u2::basic_credentials(req.authorization);
  auto refuse = [](std::string why) {
    return ucri2_fail(u2::wire_code::unauthorized, "bl.ucri2.unauthorized", std::move(why));
  };
  if (!creds)
    return refuse(
        "send 'Authorization: Basic base64(<your OID>:<your agency's Bluelink bearer token>)'");
  const auto* p = c.dir.by_oid(creds->first);
  auto agency = c.auth.agency_for(creds->second);
  // One answer for every mismatch, so that the reply does not reveal which half was wrong.
  if (!p || !p->client || !agency || *agency != p->agency) {
    c.log.warn("event=ucri2_token_refused client_id={}", log_quote(creds->first));
    return refuse("the client id and secret do not match a configured UCRI2 client");
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  json claims = {
      {"sub", p->oid}, {"agency", p->agency}, {"iat", now}, {"exp", now + c.cfg.ucri2.token_ttl_s}};
  return ucri2_reply(200, json{{"token", u2::make_jwt(c.st.key, claims)}});
}

api_response get_info(ucri2_ctx& c) {
  int status = 0;
  try {
    c.reader.ping();
  } catch (const std::exception&) {
    status = 2;
  }
  if (c.pipeline.shutting_down()) status = 2;
  return ucri2_reply(200, json{{"apiVersion", "2.0.0"},
                               {"ucrmProvider", "Bluelink"},
                               {"ucrmProductName", "Bluelink gateway"},
                               {"ucrmVersion", "1.0"},
                               {"status", status}});
}

json participant_json(ucri2_ctx& c, const u2::participant& p) {
  const auto* a = c.cfg.find_agency(p.agency);
  std::string status = "unknown";
  if (p.client) {
    std::lock_guard<std::mutex> lock(c.st.mu);
    auto it = c.st.last_seen.find(p.oid);
    status = it != c.st.last_seen.end() &&
                     std::chrono::steady_clock::now() - it->second < availability_timeout
                 ? "online"
                 : "offline";
  }
  return {{"id", p.oid},
          {"type", "client"},
          {"systemName", p.client ? "UCRI2 client of " + p.name : "Bluelink (" + p.name + ")"},
          {"operatorName", p.name},
          {"operatorShortName", p.agency},
          {"supportedApps", supported_apps_json(p)},
          {"techSupport",
           {{"phone", !c.cfg.ucri2.support_phone.empty() ? c.cfg.ucri2.support_phone
                                                         : (a ? a->phone : std::string())},
            {"e-mail", c.cfg.ucri2.support_email}}},
          {"status", status},
          {"transmitsUnsignedMessages", true}};
}

json ucrm_json(ucri2_ctx& c) {
  return {{"id", c.dir.ucrm_oid},
          {"type", "ucrm"},
          {"systemName", "Bluelink gateway"},
          {"operatorName", "Bluelink"},
          {"operatorShortName", "bluelink"},
          {"supportedApps", supported_apps_json()},
          {"techSupport",
           {{"phone", c.cfg.ucri2.support_phone}, {"e-mail", c.cfg.ucri2.support_email}}},
          {"status", c.pipeline.shutting_down() ? "offline" : "online"},
          {"transmitsUnsignedMessages", true}};
}

api_response get_registry(ucri2_ctx& c, const std::string& id) {
  if (id.empty()) {
    json list = json::array({ucrm_json(c)});
    for (const auto& p : c.dir.participants) list.push_back(participant_json(c, p));
    return ucri2_reply(200, json{{"commParticipants", list}});
  }
  if (id == c.dir.ucrm_oid) return ucri2_reply(200, ucrm_json(c));
  if (const auto* p = c.dir.by_oid(id)) return ucri2_reply(200, participant_json(c, *p));
  // The spec answers an unknown id with 404; 470 is the code closest to it.
  auto r = ucri2_fail(u2::wire_code::unknown_destination, "bl.ucri2.unknown_participant",
                      "no participant has the OID '" + id + "'", "/id");
  r.status = 404;
  return r;
}

void post_send(ucri2_ctx c, const u2::participant who, const std::string& body, reply_fn done) {
  if (auto e = c.pipeline.refusal())
    return done(ucri2_fail(u2::wire_code::internal, std::string(e->id()),
                           e->message + "; retry with the same messageId"));
  // client_api.md's order: the transport envelope (460), whether the token may send as the
  // source (478), whether the destination is known (470), and only then the app message
  // (461..465, 467): a caller that may not send learns nothing about its payload.
  const auto limits = edge_json_limits(c.cfg);
  auto parsed = u2::parse_send_envelope(body, c.schemas, limits);
  if (auto* e = std::get_if<u2::ucri2_error>(&parsed)) return done(ucri2_fail(*e));
  auto& req = std::get<u2::send_request>(parsed);
  // What makes two sends with one messageId the same message: who from, to whom, and the
  // payload exactly as sent. The description, timeout and ack are how to carry it, not what.
  const std::string content_digest = sha256_hex(
      json::array({req.source, req.destination, req.payload.app_id, req.payload.app_version,
                   req.payload.schema_id, req.content_type, req.data_text})
          .dump());
  if (req.source != who.oid)
    return done(ucri2_fail(
        u2::wire_code::oid_forbidden, "bl.ucri2.oid_forbidden",
        "this token was issued to " + who.oid + " and cannot send as '" + req.source + "'",
        "/source"));
  const auto* to = c.dir.by_oid(req.destination);
  if (!to)
    return done(ucri2_fail(u2::wire_code::unknown_destination, "bl.ucri2.unknown_destination",
                           "no participant has the OID '" + req.destination + "'",
                           "/destinations/0"));
  if (to->agency == who.agency)
    return done(ucri2_fail(u2::wire_code::unknown_destination, "bl.ucri2.unknown_destination",
                           "'" + req.destination + "' is the sender itself", "/destinations/0"));
  if (auto e = u2::check_send_payload(req, c.schemas, limits)) return done(ucri2_fail(*e));
  // A well-formed message the destination's system does not take (its supported_apps).
  if (auto e = to->refuses(req.payload)) return done(ucri2_fail(*e));
  // Without a client messageId there is nothing to dedupe on: each such send is a new message.
  if (req.message_id.empty()) req.message_id = random_uuid();
  u2::inbound_context ictx;
  ictx.from = &who;
  ictx.to = to;
  ictx.now = now_ms();
  ictx.find = [&c, &who, to](const std::string& shared) {
    return find_shared(c, who.agency, to->agency, shared);
  };
  auto mapped = u2::to_canonical(req, ictx);
  if (auto* e = std::get_if<u2::ucri2_error>(&mapped)) return done(ucri2_fail(*e));
  json doc = std::get<json>(std::move(mapped));
  // The submit pipeline, as every edge: sender binding, the envelope, a gateway-only type
  // refused before its body, the body, then what a schema cannot check.
  const submitter sender{who.agency, "ucri2", "api", "ucri2:" + who.oid, {}};
  auto m = c.pipeline.check(std::move(doc), sender);
  if (auto* e = std::get_if<error>(&m)) {
    if (e->code != errc::schema_invalid && e->code != errc::not_submittable)
      return done(engine_refusal(*e));
    return done(ucri2_fail(u2::wire_code::invalid_payload, std::string(e->id()),
                           "the translated transfer is not valid: " + e->message +
                               (e->pointer.empty() ? "" : " (at '" + e->pointer + "')")));
  }
  auto& msg = std::get<message>(m);
  // The reply echoes the envelope as the UCRM settled it (senderResponse).
  json reply = {{"messageId", req.message_id},
                {"sentDate", format_rfc3339(req.sent_date.value_or(ictx.now))},
                {"timeout", req.timeout_s},
                {"ack", std::string(u2::to_string(req.ack))},
                {"source", req.source},
                {"destinations", json::array({req.destination})},
                {"payload",
                 {{"appId", req.payload.app_id},
                  {"appVersion", req.payload.app_version},
                  {"schemaId", req.payload.schema_id},
                  {"contentType", "application/json"},
                  {"data", req.payload.data.dump()}}}};
  if (!req.description.empty()) reply["description"] = req.description;
  // The send as received is kept with the message (GET /api/v1/originals/{message_id}), and the
  // answer with it: a repeat of this messageId is answered exactly as this first send was.
  msg.original = original_document{
      "UCRI2 " + req.payload.app_id + " " + req.payload.app_version + " " + req.payload.schema_id,
      "application/json", body, content_digest, reply.dump()};
  std::string id = msg.id;
  c.pipeline.submit(std::move(msg), sender,
                    [done = std::move(done), reply = std::move(reply), id,
                     log = &c.log](std::variant<receipt_result, error> r) {
                      if (auto* e = std::get_if<error>(&r)) {
                        log->info("event=ucri2_rejected msg_id={} code={} reason={}", log_quote(id),
                                  e->id(), log_quote(log_reason(e->message)));
                        return done(engine_refusal(*e));
                      }
                      // Answered only now: the message is on disk. A repeat gets the first answer.
                      auto& stored = std::get<receipt_result>(r);
                      if (stored.duplicate && !stored.first_answer.empty()) {
                        auto first = json::parse(stored.first_answer, nullptr, false);
                        if (!first.is_discarded()) return done(ucri2_reply(200, first));
                      }
                      done(ucri2_reply(200, reply));
                    });
}

// One POST /messaging/receive: answers at once when there is something for the client, else
// waits for the notifier (or maxDelay). Deliveries the client must not see (receipts it did not
// ask for) are acknowledged by the gateway itself when they lead the queue. Lives in a
// shared_ptr held by its pending handlers; every step runs on the request's executor.
class ucri2_receive : public std::enable_shared_from_this<ucri2_receive> {
 public:
  ucri2_receive(ucri2_ctx c, u2::participant who, std::string destination, int limit, int delay_s,
                asio::any_io_executor ex, reply_fn done)
      : c_(std::move(c)),
        who_(std::move(who)),
        destination_(std::move(destination)),
        limit_(limit),
        ex_(ex),
        timer_(ex),
        done_(std::move(done)),
        deadline_(std::chrono::steady_clock::now() + std::chrono::seconds(delay_s)) {}

  void start() {
    timer_.expires_at(deadline_);
    timer_.async_wait(
        [self = shared_from_this()](boost::system::error_code) { self->on_deadline(); });
    attempt();
  }

 private:
  void attempt() {
    if (finished_) return;
    std::vector<json> visible;
    std::int64_t leading_skip = 0;
    try {
      // Resume from the acknowledged position: UCRI2 receive has no cursor of its own.
      auto items = c_.deliveries.read(who_.agency, -1, limit_).items;
      u2::outbound_context octx;
      octx.dir = &c_.dir;
      octx.recipient = who_.agency;
      octx.transfer = [this](const std::string& id) {
        return transfer_facts_of(c_, who_.agency, id);
      };
      for (const auto& it : items) {
        json doc = json::parse(it.doc, nullptr, false);
        auto item = doc.is_discarded() ? std::nullopt : u2::from_canonical(doc, octx);
        if (!item) {
          if (visible.empty()) leading_skip = it.seq;
          continue;
        }
        relay_if_sent_by_ucri2(doc, *item);
        (*item)["destination"] = destination_;
        (*item)["sequenceId"] = it.seq;
        visible.push_back(std::move(*item));
      }
    } catch (const std::exception& e) {
      return finish(ucri2_fail(u2::wire_code::internal, "bl.store.unavailable", e.what()));
    }
    if (!visible.empty())
      return finish(ucri2_reply(200, json{{"messages", visible}, {"maxMessages", limit_}}));
    if (leading_skip > 0) {
      // Nothing the client must see leads the queue: acknowledge it and look again.
      c_.deliveries.ack(
          who_.agency, leading_skip,
          [self = shared_from_this()](std::variant<ack_result, error> r) {
            asio::post(self->ex_, [self, failed = std::holds_alternative<error>(r)] {
              if (failed)
                return self->finish(ucri2_fail(u2::wire_code::internal, "bl.store.unavailable",
                                               "could not skip gateway receipts"));
              self->attempt();
            });
          });
      return;
    }
    if (c_.pipeline.shutting_down() || std::chrono::steady_clock::now() >= deadline_)
      return finish_empty();
    // Wait for the next commit for this agency (the stream looks again after registering).
    if (ticket_ == 0)
      ticket_ = c_.deliveries.when_available(who_.agency, -1, [self = shared_from_this()] {
        asio::post(self->ex_, [self] {
          self->ticket_ = 0;
          self->attempt();
        });
      });
  }

  // Same standard in, same standard out: a message another UCRI2 client sent reaches this one
  // as it was sent (its original, kept with the message), not as translated back from the
  // canonical transfer. Only a message from a UCRI2 participant can have one: others cost no read.
  void relay_if_sent_by_ucri2(const json& doc, json& item) {
    auto from = doc.find("from");
    auto id = doc.find("id");
    if (from == doc.end() || !from->is_string() || id == doc.end() || !id->is_string()) return;
    if (!c_.dir.by_agency(from->get<std::string>())) return;
    bool party = false;
    auto original = c_.reader.original(id->get<std::string>(), who_.agency, party);
    if (!original || !party || original->doc.standard.rfind("UCRI2 ", 0) != 0) return;
    if (auto relayed = u2::relay_as_sent(item, original->doc.body)) item = std::move(*relayed);
  }

  void on_deadline() {
    if (!finished_) finish_empty();
  }

  void finish_empty() {
    api_response r{204, "application/json", {}, {}};
    finish(std::move(r));
  }

  void finish(api_response r) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    c_.deliveries.cancel(ticket_);
    ticket_ = 0;
    done_(std::move(r));
  }

  ucri2_ctx c_;
  u2::participant who_;
  std::string destination_;
  int limit_;
  asio::any_io_executor ex_;
  asio::steady_timer timer_;
  reply_fn done_;
  std::chrono::steady_clock::time_point deadline_;
  bool finished_ = false;
  std::uint64_t ticket_ = 0;
};

// A destination OID the token may read or commit for, or the 478 reply.
std::optional<api_response> own_oid(ucri2_ctx& c, const u2::participant& who,
                                    const std::string& oid, const std::string& pointer) {
  if (oid == who.oid) return std::nullopt;
  // client_api.md: an OID no participant has is unknown (470); another participant's is
  // forbidden (478), as the reference client's suite checks both.
  if (!c.dir.by_oid(oid))
    return ucri2_fail(u2::wire_code::unknown_destination, "bl.ucri2.unknown_destination",
                      "'" + oid + "' is not a participant of this gateway", pointer);
  return ucri2_fail(
      u2::wire_code::oid_forbidden, "bl.ucri2.oid_forbidden",
      "this token was issued to " + who.oid + "; '" + oid + "' belongs to another participant",
      pointer);
}

std::variant<json, api_response> read_body(ucri2_ctx& c, const std::string& body,
                                           const std::string& schema) {
  json doc;
  if (auto e = parse_json_bounded(body, doc, edge_json_limits(c.cfg), "the request body"))
    return ucri2_fail(u2::wire_code::invalid_request,
                      e->code == errc::malformed_json ? std::string("bl.ucri2.malformed_json")
                                                      : std::string(e->id()),
                      e->message);
  if (auto e = c.schemas.validate(schema, doc))
    return ucri2_fail(u2::wire_code::invalid_request, "bl.ucri2.invalid_request", e->message,
                      e->pointer);
  return doc;
}

void post_receive(ucri2_ctx c, const u2::participant who, const std::string& body,
                  asio::any_io_executor ex, reply_fn done) {
  auto doc = read_body(c, body, "ucri2/client/receive_request");
  if (auto* r = std::get_if<api_response>(&doc)) return done(std::move(*r));
  const json& d = std::get<json>(doc);
  const auto& dests = d.at("destinations");
  for (std::size_t i = 0; i < dests.size(); ++i)
    if (auto r = own_oid(c, who, dests[i].get<std::string>(), "/destinations/" + std::to_string(i)))
      return done(std::move(*r));
  {
    std::lock_guard<std::mutex> lock(c.st.mu);
    c.st.last_seen[who.oid] = std::chrono::steady_clock::now();
  }
  // The schema bounds both; they are converted only through the range check, so that a value
  // such as 4294967295 can never wrap to a negative "no limit".
  std::int64_t max_messages = c.cfg.inbox_batch;
  if (auto it = d.find("maxMessages"); it != d.end()) {
    auto v = u2::integer_in(*it, 1, max_messages_limit);
    if (!v)
      return done(ucri2_fail(
          u2::wire_code::invalid_request, "bl.ucri2.invalid_request",
          "maxMessages must be an integer from 1 to " + std::to_string(max_messages_limit),
          "/maxMessages"));
    max_messages = std::min<std::int64_t>(*v, c.cfg.inbox_batch);
  }
  std::int64_t delay = max_delay_s;
  if (auto it = d.find("maxDelay"); it != d.end()) {
    auto v = u2::integer_in(*it, 0, max_delay_s);
    if (!v)
      return done(ucri2_fail(
          u2::wire_code::invalid_request, "bl.ucri2.invalid_request",
          "maxDelay must be an integer number of seconds from 0 to " + std::to_string(max_delay_s),
          "/maxDelay"));
    delay = *v;
  }
  int limit = static_cast<int>(std::max<std::int64_t>(1, max_messages));
  std::make_shared<ucri2_receive>(std::move(c), who, who.oid, limit, static_cast<int>(delay), ex,
                                  std::move(done))
      ->start();
}

void post_commit(ucri2_ctx c, const u2::participant who, const std::string& body, reply_fn done) {
  auto doc = read_body(c, body, "ucri2/client/commit_request");
  if (auto* r = std::get_if<api_response>(&doc)) return done(std::move(*r));
  const json& d = std::get<json>(doc);
  if (auto r = own_oid(c, who, d.at("destination").get<std::string>(), "/destination"))
    return done(std::move(*r));
  auto seq = u2::integer_in(d.at("sequenceId"), 0, max_sequence_id);
  if (!seq)
    return done(
        ucri2_fail(u2::wire_code::invalid_request, "bl.ucri2.invalid_request",
                   "sequenceId must be an integer from 0 to " + std::to_string(max_sequence_id),
                   "/sequenceId"));
  c.deliveries.ack(who.agency, *seq, [done = std::move(done)](std::variant<ack_result, error> r) {
    if (auto* e = std::get_if<error>(&r)) {
      if (e->http_status() >= 500) return done(engine_refusal(*e));
      // The only refusal of a well-formed commit: a sequenceId beyond the last delivery.
      return done(ucri2_fail(u2::wire_code::no_messages_to_commit, "bl.ucri2.nothing_to_commit",
                             e->message, "/sequenceId"));
    }
    done(api_response{204, "application/json", {}, {}});
  });
}

}  // namespace

ucri2_handler::ucri2_handler(ucri2_services s)
    : s_(std::move(s)), state_(std::make_shared<ucri2_state>()) {}

ucri2_handler::~ucri2_handler() = default;

namespace {

// A path or method outside the client API is HTTP's 404 or 405, not a UCRI2 refusal: the spec's
// codes may be sent only with the statuses error_handling.md gives them (400, 401, 500), so
// these carry the reason and Bluelink's code but no UCRI2 number.
api_response outside_the_api(int status, std::string_view reason, std::string message) {
  return json_response(
      status,
      json{{"reason", reason}, {"message", std::move(message)}, {"blCode", "bl.ucri2.not_found"}});
}

}  // namespace

void ucri2_handler::unmatched(const route_call& c, reply_fn done) {
  if (!s_.cfg.ucri2.enabled)
    return done(outside_the_api(404, "Not Found",
                                "the UCRI2 client API is not configured on this gateway (ucri2)"));
  done(outside_the_api(404, "Not Found",
                       "the UCRI2 client API has no endpoint at " + std::string(c.path)));
}

api_response ucri2_handler::wrong_method(const route_call& c, const std::string& allow) {
  api_response r = outside_the_api(
      405, "Method Not Allowed",
      c.req.method + " is not allowed on " + std::string(c.path) + "; use " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

void ucri2_handler::add_routes(route_table& t) {
  if (!s_.cfg.ucri2.enabled) return;
  // Every request gets its own view of the services and the directory of participants (copied
  // into a long-poll, which outlives the request's stack).
  auto ctx = [this] { return ucri2_ctx{{s_}, u2::make_directory(s_.cfg), *state_}; };
  // Routes are `open` to the router: UCRI2 has its own credentials (Basic for the token, then
  // the token as Bearer), checked here and refused in UCRI2's shape.
  t.get("/ucri2/token", route_access::open, [ctx](const route_call& call, reply_fn done) {
    auto c = ctx();
    done(get_token(c, call.req));
  });
  // The rest need the token's participant first.
  auto with_participant = [ctx](auto fn) {
    return [ctx, fn](const route_call& call, reply_fn done) {
      auto c = ctx();
      auto who = authorize(c, call.req);
      if (auto* r = std::get_if<api_response>(&who)) return done(std::move(*r));
      u2::participant own = *std::get<const u2::participant*>(who);  // a copy: it points into
                                                                     // c.dir, which moves on
      fn(std::move(c), std::move(own), call, std::move(done));
    };
  };
  t.get("/ucri2/info", route_access::open,
        with_participant([](ucri2_ctx c, u2::participant, const route_call&, reply_fn done) {
          done(get_info(c));
        }));
  t.get("/ucri2/registry", route_access::open,
        with_participant([](ucri2_ctx c, u2::participant, const route_call&, reply_fn done) {
          done(get_registry(c, std::string()));
        }));
  t.get("/ucri2/registry/{id}", route_access::open,
        with_participant([](ucri2_ctx c, u2::participant, const route_call& call, reply_fn done) {
          // The raw path, as before: an OID has no escapes to decode.
          done(get_registry(c,
                            std::string(call.path.substr(std::string("/ucri2/registry/").size()))));
        }));
  t.post(
      "/ucri2/messaging/send", route_access::open,
      with_participant([](ucri2_ctx c, u2::participant who, const route_call& call, reply_fn done) {
        post_send(std::move(c), std::move(who), call.req.body, std::move(done));
      }));
  t.post(
      "/ucri2/messaging/receive", route_access::open,
      with_participant([](ucri2_ctx c, u2::participant who, const route_call& call, reply_fn done) {
        post_receive(std::move(c), std::move(who), call.req.body, call.ex, std::move(done));
      }));
  t.post(
      "/ucri2/messaging/commit", route_access::open,
      with_participant([](ucri2_ctx c, u2::participant who, const route_call& call, reply_fn done) {
        post_commit(std::move(c), std::move(who), call.req.body, std::move(done));
      }));
}

}  // namespace bl
