#include "gateway/core/config.hpp"

#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace bl {

std::string_view to_string(agency_kind k) {
  switch (k) {
    case agency_kind::fire:
      return "fire";
    case agency_kind::police:
      return "police";
    case agency_kind::ambulance:
      return "ambulance";
    case agency_kind::other:
      return "other";
  }
  return "other";
}

std::string_view to_string(priority p) {
  switch (p) {
    case priority::emergency:
      return "emergency";
    case priority::urgent:
      return "urgent";
    case priority::routine:
      return "routine";
  }
  return "routine";
}

std::optional<priority> priority_from(std::string_view s) {
  if (s == "emergency") return priority::emergency;
  if (s == "urgent") return priority::urgent;
  if (s == "routine") return priority::routine;
  return std::nullopt;
}

const agency_config* gateway_config::find_agency(std::string_view id) const {
  for (auto& a : agencies)
    if (a.id == id) return &a;
  return nullptr;
}

gateway_config config_from_json(const nlohmann::json& doc) {
  gateway_config c;
  const auto& listen = doc.at("listen");
  c.listen_address = listen.at("address").get<std::string>();
  c.listen_port = listen.at("port").get<std::uint16_t>();
  const auto& db = doc.at("database");
  c.database_path = db.at("path").get<std::string>();
  c.synchronous_full = db.value("synchronous", std::string("full")) == "full";
  c.busy_timeout_ms = db.value("busy_timeout_ms", 5000);

  std::set<std::string> ids;
  const auto& agencies = doc.at("agencies");
  for (std::size_t i = 0; i < agencies.size(); ++i) {
    const auto& a = agencies[i];
    agency_config ac;
    ac.id = a.at("id").get<std::string>();
    if (ac.id == "bluelink")
      throw std::invalid_argument("/agencies/" + std::to_string(i) +
                                  "/id: 'bluelink' is reserved for the gateway itself");
    if (!ids.insert(ac.id).second)
      throw std::invalid_argument("/agencies/" + std::to_string(i) + "/id: duplicate agency id '" +
                                  ac.id + "'");
    ac.name = a.at("name").get<std::string>();
    auto kind = a.at("kind").get<std::string>();
    ac.kind = kind == "fire"        ? agency_kind::fire
              : kind == "police"    ? agency_kind::police
              : kind == "ambulance" ? agency_kind::ambulance
                                    : agency_kind::other;
    ac.phone = a.at("phone").get<std::string>();
    ac.cost_per_call_pence = a.value("cost_per_call_pence", 400);
    c.agencies.push_back(std::move(ac));
  }

  if (doc.contains("tokens")) {
    const auto& tokens = doc.at("tokens");
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      token_config t;
      t.agency = tokens[i].at("agency").get<std::string>();
      t.sha256 = tokens[i].at("sha256").get<std::string>();
      t.label = tokens[i].value("label", std::string());
      if (!ids.count(t.agency))
        throw std::invalid_argument("/tokens/" + std::to_string(i) + "/agency: unknown agency '" +
                                    t.agency + "'");
      c.tokens.push_back(std::move(t));
    }
  }

  const auto& prio = doc.at("priorities");
  for (auto p : {priority::emergency, priority::urgent, priority::routine}) {
    const auto& pc = prio.at(std::string(to_string(p)));
    auto& out = c.priorities[static_cast<int>(p)];
    out.time_to_delivery_s = pc.at("time_to_delivery_s").get<int>();
    out.time_to_decision_s = pc.at("time_to_decision_s").get<int>();
    out.default_expiry_s = pc.at("default_expiry_s").get<int>();
  }

  if (doc.contains("limits")) {
    const auto& l = doc.at("limits");
    c.max_message_bytes = l.value("max_message_bytes", c.max_message_bytes);
    c.http_threads = l.value("http_threads", c.http_threads);
    c.inbox_batch = l.value("inbox_batch", c.inbox_batch);
    c.max_wait_s = l.value("max_wait_s", c.max_wait_s);
  }
  if (doc.contains("cad_link")) {
    const auto& l = doc.at("cad_link");
    auto& cl = c.cad_link;
    cl.enabled = true;
    cl.listen = l.at("listen").get<std::string>();
    cl.server_key_file = l.at("server_key_file").get<std::string>();
    cl.heartbeat_ms = l.value("heartbeat_ms", cl.heartbeat_ms);
    cl.liveness = l.value("liveness", cl.liveness);
    cl.window = l.value("window", cl.window);
    std::set<std::string> keys;
    if (l.contains("clients")) {
      const auto& clients = l.at("clients");
      for (std::size_t i = 0; i < clients.size(); ++i) {
        cad_client_config cc;
        cc.agency = clients[i].at("agency").get<std::string>();
        cc.public_key = clients[i].at("public_key").get<std::string>();
        cc.label = clients[i].value("label", std::string());
        std::string where = "/cad_link/clients/" + std::to_string(i);
        if (!ids.count(cc.agency))
          throw std::invalid_argument(where + "/agency: unknown agency '" + cc.agency + "'");
        // One key, one agency: a key listed twice could speak for two agencies.
        if (!keys.insert(cc.public_key).second)
          throw std::invalid_argument(where + "/public_key: this key is already registered");
        cl.clients.push_back(std::move(cc));
      }
    }
  }
  if (doc.contains("console")) {
    const auto& k = doc.at("console");
    auto& cc = c.console;
    cc.dir = k.value("dir", cc.dir);
    cc.session_idle_s = k.value("session_idle_s", cc.session_idle_s);
    cc.session_max_s = k.value("session_max_s", cc.session_max_s);
    cc.login_attempts_per_minute =
        k.value("login_attempts_per_minute", cc.login_attempts_per_minute);
    cc.allowed_origins = k.value("allowed_origins", cc.allowed_origins);
    cc.tile_url = k.value("tile_url", cc.tile_url);
    cc.tile_attribution = k.value("tile_attribution", cc.tile_attribution);
    cc.ws_max_message_bytes = k.value("ws_max_message_bytes", cc.ws_max_message_bytes);
    cc.ws_max_queued = k.value("ws_max_queued", cc.ws_max_queued);
  }
  if (doc.contains("tls")) {
    c.tls.cert_file = doc.at("tls").at("cert_file").get<std::string>();
    c.tls.key_file = doc.at("tls").at("key_file").get<std::string>();
  }
  if (doc.contains("log")) {
    c.log_level = doc.at("log").value("level", c.log_level);
    c.log_file = doc.at("log").value("file", c.log_file);
  }
  return c;
}

}  // namespace bl
