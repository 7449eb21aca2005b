#include "adapters/zmq_cad/cad_frame.hpp"

#include <limits>
#include <utility>

#include "gateway/core/json_bounded.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl::cad {

using nlohmann::json;

namespace {

// The ops a CAD may send; the others (welcome, receipt, deliver, acked, error) are the gateway's.
bool sent_by_cad(std::string_view op) {
  return op == "hello" || op == "submit" || op == "ack" || op == "heartbeat" || op == "goodbye";
}

// Schemas check the range, but an unsigned number above INT64_MAX passes "minimum": 0 and would
// wrap on get<int64_t>(): read integers here so that no such value reaches the server.
std::optional<error> read_integer(const json& doc, const char* key, std::int64_t min,
                                  std::int64_t max, std::int64_t& out) {
  const auto& v = doc.at(key);
  // nlohmann keeps every non-negative integer as unsigned; only above INT64_MAX does that matter.
  bool representable = v.is_number_integer() &&
                       (!v.is_number_unsigned() ||
                        v.get<std::uint64_t>() <=
                            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (representable && v.get<std::int64_t>() >= min && v.get<std::int64_t>() <= max) {
    out = v.get<std::int64_t>();
    return std::nullopt;
  }
  return make_error(errc::schema_invalid,
                    std::string("'") + key + "' must be a whole number from " +
                        std::to_string(min) + " to " + std::to_string(max),
                    std::string("/") + key);
}

constexpr std::int64_t max_seq = std::numeric_limits<std::int64_t>::max();

std::variant<cad_frame, frame_refusal> read_frame(const std::string& op, const json& doc) {
  auto refuse = [&](error e) { return frame_refusal{std::move(e), op, {}}; };
  if (op == "hello") {
    hello_frame h;
    h.agency = doc.at("agency").get<std::string>();
    if (auto e = read_integer(doc, "resume_from", 0, max_seq, h.resume_from)) return refuse(*e);
    if (auto c = doc.find("client"); c != doc.end()) h.client = c->get<std::string>();
    if (doc.contains("window")) {
      std::int64_t w = 0;
      if (auto e = read_integer(doc, "window", 1, 1000, w)) return refuse(*e);
      h.window = static_cast<int>(w);
    }
    return h;
  }
  if (op == "submit") {
    submit_frame s;
    s.message = doc.at("message");  // bounded depth: this copy recurses at most max_depth deep
    if (auto id = s.message.find("id"); id != s.message.end() && id->is_string())
      s.message_id = id->get<std::string>();
    return s;
  }
  if (op == "ack") {
    ack_frame a;
    if (auto e = read_integer(doc, "upto", 0, max_seq, a.upto)) return refuse(*e);
    return a;
  }
  if (op == "heartbeat") return heartbeat_frame{};
  goodbye_frame g;
  if (auto r = doc.find("reason"); r != doc.end()) g.reason = r->get<std::string>();
  return g;
}

}  // namespace

std::variant<cad_frame, frame_refusal> parse_cad_frame(std::string_view raw,
                                                       const schema_set& schemas,
                                                       const frame_limits& limits) {
  json doc;
  if (auto e = parse_json_bounded(raw, doc, json_limits{limits.max_bytes, limits.max_depth},
                                  "the frame"))
    return frame_refusal{std::move(*e), {}, {}};
  if (!doc.is_object())
    return frame_refusal{make_error(errc::link_bad_frame, "a frame is one JSON object"), {}, {}};
  if (auto e = schemas.validate("cadlink/frame", doc))
    return frame_refusal{make_error(errc::link_bad_frame, e->message, e->pointer), {}, {}};
  // cadlink/frame guarantees a string op from its enum.
  std::string op = doc["op"].get<std::string>();
  if (!sent_by_cad(op))
    return frame_refusal{
        make_error(errc::link_bad_frame, op + " is sent by the gateway only", "/op"), op, {}};
  // The id of a submit's message, read before its schema so that a refusal names it and the
  // CAD can stop retrying that message.
  std::string message_id;
  if (op == "submit")
    if (auto m = doc.find("message"); m != doc.end() && m->is_object())
      if (auto id = m->find("id"); id != m->end() && id->is_string())
        message_id = id->get<std::string>();
  if (auto e = schemas.validate("cadlink/" + op, doc))
    return frame_refusal{std::move(*e), op, std::move(message_id)};
  try {
    auto r = read_frame(op, doc);
    if (auto* refusal = std::get_if<frame_refusal>(&r)) refusal->message_id = message_id;
    return r;
  } catch (const json::exception& ex) {
    // Only reachable if a schema under schemas/cadlink/ stops requiring what read_frame reads.
    return frame_refusal{
        make_error(errc::link_bad_frame, "the " + op +
                                             " frame does not have the members its schema "
                                             "promises: " +
                                             ex.what()),
        op, std::move(message_id)};
  }
}

std::string_view op_name(const cad_frame& f) {
  struct namer {
    std::string_view operator()(const hello_frame&) const { return "hello"; }
    std::string_view operator()(const submit_frame&) const { return "submit"; }
    std::string_view operator()(const ack_frame&) const { return "ack"; }
    std::string_view operator()(const heartbeat_frame&) const { return "heartbeat"; }
    std::string_view operator()(const goodbye_frame&) const { return "goodbye"; }
  };
  return std::visit(namer{}, f);
}

}  // namespace bl::cad
