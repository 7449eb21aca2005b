// POST /api/v1/documents: a partner's own document, sent over its agency's authenticated link
// (issue 17): a CAP 1.2 or 1.1 alert, or an EDXL-DE envelope (1.0 XML carrying CAP alerts, or the
// French health hub's 2.0 JSON). The token's agency is who sent it; the document's own sender is
// checked against the partners configuration. Each message is stored with the document kept
// byte for byte; an Update or Cancel finds the transfer its partner's first alert created.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/edxl_envelope.hpp"
#include "adapters/cap/edxl_xml.hpp"
#include "adapters/cap/xml_reader.hpp"
#include "adapters/eido/eido.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/message.hpp"
#include "gateway/net/api.hpp"
#include "gateway/net/eido_transfer_of.hpp"
#include "gateway/net/query.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/submit_pipeline.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"

namespace bl {

using nlohmann::json;
namespace ad = adapters;

namespace {

// A refusal of the document (or of one content object) in the API's error shape, with the
// adapter's stable id. The document's sender not being the link's agency is a question of who
// may send (403, like bl.auth.sender_mismatch); anything else is the document (422).
json translate_error_json(const ad::translate_error& e) {
  return {{"code", e.code}, {"message", e.message}};
}

int translate_error_status(const ad::translate_error& e) {
  return e.code.rfind("bl.partner.", 0) == 0 ? 403 : 422;
}

api_response translate_refusal(const ad::translate_error& e) {
  return api_response(translate_error_status(e), "application/json",
                      json{{"error", translate_error_json(e)}}.dump(), e.code);
}

json error_json(const error& e) {
  json j = {{"code", e.id()}, {"message", e.message}};
  if (!e.pointer.empty()) j["pointer"] = e.pointer;
  return j;
}

// One message made from the document, on its way into the store.
struct pending {
  std::size_t position = 0;  // 1-based content object; 0 for a lone CAP alert
  std::variant<json, ad::translate_error> made;
};

// Checks every message on the edge's thread, then submits them all in the document's order (the
// engine stores them in that order, so an envelope's later alert follows an earlier one) and
// answers once each has its outcome. The engine's callbacks may come from its own thread.
class document_submission : public std::enable_shared_from_this<document_submission> {
 public:
  document_submission(submit_pipeline& pipeline, submitter who, original_document original,
                      std::vector<pending> items, json head, api::done_fn done)
      : pipeline_(pipeline),
        who_(std::move(who)),
        original_(std::move(original)),
        items_(std::move(items)),
        head_(std::move(head)),
        done_(std::move(done)),
        results_(items_.size()) {}

  void start() {
    std::vector<std::pair<std::size_t, message>> ready;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      pending& p = items_[i];
      if (auto* e = std::get_if<ad::translate_error>(&p.made)) {
        results_[i] = outcome(p, json{{"error", translate_error_json(*e)}});
        statuses_.push_back(translate_error_status(*e));
        continue;
      }
      auto m = pipeline_.check(std::get<json>(std::move(p.made)), who_);
      if (auto* e = std::get_if<error>(&m)) {
        results_[i] = outcome(p, json{{"error", error_json(*e)}});
        statuses_.push_back(e->http_status());
        continue;
      }
      auto& msg = std::get<message>(m);
      original_document o = original_;
      // What makes a repeat of this message id the same message: its canonical content (a
      // partner may send one alert alone and again inside an envelope). The document as
      // received is kept with each message made from it.
      o.digest = sha256_hex(std::string(to_string(msg.type)) + "\n" + msg.doc.at("body").dump());
      msg.original = std::move(o);
      ready.emplace_back(i, std::move(msg));
    }
    remaining_ = ready.size();
    if (ready.empty()) return finish();
    for (auto& [i, msg] : ready) {
      const std::string id = msg.id;
      pipeline_.submit(
          std::move(msg), who_,
          [self = shared_from_this(), i = i, id](std::variant<receipt_result, error> r) {
            self->stored(i, id, std::move(r));
          });
    }
  }

 private:
  static json outcome(const pending& p, json j) {
    if (p.position) j["position"] = p.position;
    return j;
  }

  void stored(std::size_t i, const std::string& id, std::variant<receipt_result, error> r) {
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto* e = std::get_if<error>(&r)) {
        results_[i] = outcome(items_[i], json{{"message_id", id}, {"error", error_json(*e)}});
        statuses_.push_back(e->http_status());
      } else {
        const auto& rr = std::get<receipt_result>(r);
        results_[i] =
            outcome(items_[i],
                    json{{"message_id", id}, {"receipt", rr.receipt}, {"duplicate", rr.duplicate}});
        ++carried_;
      }
      last = --remaining_ == 0;
    }
    if (last) finish();
  }

  void finish() {
    // A lone alert answers as POST /api/v1/messages does (202 stored, 200 a repeat, the error
    // with its own status); an envelope lists every content object with its outcome, 200 when
    // every one was carried, else the first refusal's status.
    const bool lone = items_.size() == 1 && items_[0].position == 0;
    const int refused_status = statuses_.empty() ? 422 : statuses_.front();
    if (lone) {
      const json& r = results_.front();
      if (r.contains("error"))
        return done_(api_response(refused_status, "application/json",
                                  json{{"error", r.at("error")}}.dump(),
                                  r.at("error").at("code").get<std::string>()));
      json body = head_;
      body["message_id"] = r.at("message_id");
      body["receipt"] = r.at("receipt");
      return done_(
          api_response(r.at("duplicate").get<bool>() ? 200 : 202, "application/json", body.dump()));
    }
    json body = head_;
    body["items"] = results_;
    body["carried"] = carried_;
    body["refused"] = results_.size() - carried_;
    const bool all = carried_ == results_.size();
    done_(api_response(all ? 200 : refused_status, "application/json", body.dump(),
                       all ? std::string() : std::string("bl.edxl.content")));
  }

  submit_pipeline& pipeline_;
  submitter who_;
  original_document original_;
  std::vector<pending> items_;
  json head_;
  api::done_fn done_;
  std::mutex mu_;
  std::vector<json> results_;
  std::vector<int> statuses_;
  std::size_t remaining_ = 0;
  std::size_t carried_ = 0;
};

}  // namespace

void api::post_document(const principal& who, const std::string& query, const std::string& body,
                        done_fn done) {
  if (auto e = s_.pipeline.refusal()) return done(error_response(*e));
  auto q = parse_query(query);
  const std::string standard = q.count("standard") ? q["standard"] : "";
  if (standard != "cap" && standard != "edxl-de" && standard != "eido")
    return done(error_response(make_error(
        errc::bad_request,
        "say which standard the document follows: ?standard=cap (a CAP 1.2 or 1.1 alert), "
        "?standard=edxl-de (EDXL-DE 1.0 XML, or 2.0 JSON as the health hub sends it) or "
        "?standard=eido (a NENA EIDO 1.0 JSON document)",
        "standard")));
  const submitter sender = submitter_of(who);
  const std::string& agency = sender.agency;

  // Who the document is from and where it goes: the link's agency is authoritative.
  ad::partner_context partner = ad::partner_context_of(s_.cfg, agency);
  if (q.count("for") && !q["for"].empty()) {
    if (!s_.cfg.find_agency(q["for"]) || q["for"] == agency)
      return done(error_response(
          make_error(errc::unknown_agency,
                     "'" + q["for"] + "' is not another agency of this gateway", "for")));
    partner.default_to = q["for"];
  }
  // An Update or Cancel names the alert it follows by its sender and identifier: the transfer
  // that alert made, if this agency sent it.
  store::reader& reader = s_.reader;
  partner.transfer_of =
      [&reader, agency, senders = partner.senders](
          const std::string& cap_sender,
          const std::string& identifier) -> std::optional<ad::referenced_transfer> {
    auto it = senders.find(cap_sender);
    const std::string& of = it != senders.end() ? it->second : agency;
    if (of != agency) return std::nullopt;  // another partner's alert is not this one's to change
    auto t =
        reader.transfer_of_message(ad::partner_message_id(agency, cap_sender, identifier), agency);
    if (!t) return std::nullopt;
    return ad::referenced_transfer{t->first, t->second + 1};
  };

  std::vector<pending> items;
  json head = json::object();
  original_document original;
  original.body = body;
  try {
    if (standard == "cap") {
      auto r = ad::cap_import(body, s_.schemas, partner);
      if (auto* e = std::get_if<ad::translate_error>(&r)) return done(translate_refusal(*e));
      json msg = std::get<json>(std::move(r));
      original.standard = msg.contains("source") ? msg["source"].value("standard", "CAP") : "CAP";
      original.media_type = "application/cap+xml";
      items.push_back({0, std::move(msg)});
    } else if (standard == "eido") {
      // The link's agency sends it; its EIDO identities are checked against partners[].eido_ids
      // and ?for= (partner.default_to) is the recipient when given.
      ad::eido_import_context ctx;
      ctx.from = agency;
      ctx.partner = &partner;
      if (!partner.default_to.empty()) ctx.to = {partner.default_to};
      // A later state of an incident whose first state made a transfer updates it.
      ctx.transfer_of = eido_transfer_of(reader, agency);
      auto r = ad::eido_import(body, s_.schemas, ctx);
      if (auto* e = std::get_if<ad::translate_error>(&r)) return done(translate_refusal(*e));
      json msg = std::get<json>(std::move(r));
      original.standard = msg.contains("source") ? msg["source"].value("standard", "NENA EIDO 1.0")
                                                 : "NENA EIDO 1.0";
      original.media_type = std::string(ad::eido_media_type);
      items.push_back({0, std::move(msg)});
    } else {
      const bool xml = ad::looks_like_xml(body);
      ad::xml_limits limits;
      limits.max_bytes = ad::edxl_max_bytes;
      auto r = xml ? ad::edxl10_unwrap(body, s_.schemas, partner, limits)
                   : ad::hub_unwrap(body, s_.schemas, partner);
      if (auto* e = std::get_if<ad::translate_error>(&r)) return done(translate_refusal(*e));
      auto& dist = std::get<ad::edxl_distribution>(r);
      original.standard = xml ? "EDXL-DE 1.0" : "EDXL-DE 2.0";
      original.media_type = xml ? "application/xml" : "application/json";
      head = {{"distribution_id", dist.distribution_id}, {"sender_id", dist.sender_id}};
      for (auto& item : dist.items) items.push_back({item.position, std::move(item.result)});
      if (items.empty())
        return done(translate_refusal(
            {"bl.edxl.content", "the envelope holds no content object Bluelink can carry"}));
    }
  } catch (const store::store_error& e) {
    return done(error_response(make_error(errc::store_unavailable, e.what())));
  }
  auto job = std::make_shared<document_submission>(
      s_.pipeline, sender, std::move(original), std::move(items), std::move(head), std::move(done));
  job->start();
}

}  // namespace bl
