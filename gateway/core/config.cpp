#include "gateway/core/config.hpp"

#include <cstdio>

#include "gateway/core/time_util.hpp"

#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include <unistd.h>

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

const partner_config* gateway_config::find_partner(std::string_view agency) const {
  for (const auto& p : partners)
    if (p.agency == agency) return &p;
  return nullptr;
}

const agency_config* gateway_config::find_agency(std::string_view id) const {
  for (auto& a : agencies)
    if (a.id == id) return &a;
  return nullptr;
}

retention_periods gateway_config::retention_of(std::string_view agency) const {
  retention_periods r = retention.defaults;
  if (const auto* a = find_agency(agency)) {
    if (a->retention.transfers_days) r.transfers_days = a->retention.transfers_days;
    if (a->retention.calls_days) r.calls_days = a->retention.calls_days;
    if (a->retention.logs_days) r.logs_days = a->retention.logs_days;
  }
  return r;
}

namespace {
retention_periods retention_periods_of(const nlohmann::json& j) {
  retention_periods r;
  if (j.contains("transfers_days")) r.transfers_days = j.at("transfers_days").get<int>();
  if (j.contains("calls_days")) r.calls_days = j.at("calls_days").get<int>();
  if (j.contains("logs_days")) r.logs_days = j.at("logs_days").get<int>();
  return r;
}
}  // namespace

bool conninfo_has_password(const std::string& conninfo) {
  // keyword=value form: a "password" keyword (any case, spaces around '=' allowed).
  std::string lower;
  for (char ch : conninfo) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (std::size_t at = lower.find("password"); at != std::string::npos;
       at = lower.find("password", at + 1)) {
    bool word_start = at == 0 || std::isspace(static_cast<unsigned char>(lower[at - 1]));
    std::size_t i = at + 8;
    while (i < lower.size() && std::isspace(static_cast<unsigned char>(lower[i]))) ++i;
    if (word_start && i < lower.size() && lower[i] == '=') return true;
    // URI form: postgresql://user:secret@host/... or ?password=...
    if (at > 0 && (lower[at - 1] == '?' || lower[at - 1] == '&') && i < lower.size() &&
        lower[i] == '=')
      return true;
  }
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    if (lower.rfind(scheme, 0) != 0) continue;
    std::string rest = lower.substr(std::string(scheme).size());
    auto at = rest.find('@');
    auto slash = rest.find('/');
    if (at != std::string::npos && (slash == std::string::npos || at < slash) &&
        rest.substr(0, at).find(':') != std::string::npos)
      return true;
  }
  return false;
}

gateway_config config_from_json(const nlohmann::json& doc) {
  gateway_config c;
  const auto& listen = doc.at("listen");
  c.listen_address = listen.at("address").get<std::string>();
  c.listen_port = listen.at("port").get<std::uint16_t>();
  const auto& db = doc.at("database");
  c.database_engine = db.value("engine", std::string("sqlite"));
  if (c.database_engine == "postgres") {
    c.database_path.clear();
    c.database_conninfo = db.at("conninfo").get<std::string>();
    c.database_password_file = db.value("password_file", std::string());
    c.database_password_env = db.value("password_env", std::string());
    if (conninfo_has_password(c.database_conninfo))
      throw std::invalid_argument(
          "/database/conninfo: holds a password; give it in /database/password_file or "
          "/database/password_env instead, so that it is never in the config, a log or a process "
          "listing");
    if (!c.database_password_file.empty() && !c.database_password_env.empty())
      throw std::invalid_argument(
          "/database: password_file and password_env are both given; give one");
  } else {
    c.database_path = db.at("path").get<std::string>();
  }
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
    if (a.contains("area")) {
      const auto& ar = a.at("area");
      ac.area =
          area_config{ar.at("centre").at("lat").get<double>(),
                      ar.at("centre").at("lon").get<double>(), ar.at("radius_km").get<double>()};
    }
    if (a.contains("fallback")) {
      ac.fallback_agency = a.at("fallback").at("agency").get<std::string>();
      ac.fallback_note = a.at("fallback").value("note", std::string());
    }
    ac.outage_after_s = a.value("outage_after_s", ac.outage_after_s);
    if (a.contains("retention")) ac.retention = retention_periods_of(a.at("retention"));
    c.agencies.push_back(std::move(ac));
  }
  // A buddy room must be another configured agency: a redirect to itself or to nobody would
  // leave the sender's transfer with no one to answer it.
  for (std::size_t i = 0; i < c.agencies.size(); ++i) {
    const auto& ac = c.agencies[i];
    if (ac.fallback_agency.empty()) continue;
    const auto where = "/agencies/" + std::to_string(i) + "/fallback/agency";
    if (ac.fallback_agency == ac.id)
      throw std::invalid_argument(where + ": agency '" + ac.id +
                                  "' cannot be its own fallback; name its buddy or secondary "
                                  "control room");
    if (!ids.count(ac.fallback_agency))
      throw std::invalid_argument(where + ": unknown agency '" + ac.fallback_agency +
                                  "' (a fallback must be one of the configured agencies)");
  }

  if (doc.contains("tokens")) {
    const auto& tokens = doc.at("tokens");
    std::map<std::string, std::size_t> by_hash;  // token hash -> index of its first entry
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      token_config t;
      t.agency = tokens[i].at("agency").get<std::string>();
      t.sha256 = tokens[i].at("sha256").get<std::string>();
      t.label = tokens[i].value("label", std::string());
      if (!ids.count(t.agency))
        throw std::invalid_argument("/tokens/" + std::to_string(i) + "/agency: unknown agency '" +
                                    t.agency + "'");
      // One token, one agency: the same hash twice would let the gateway pick either agency
      // for it (and the second would get 401 with only a log line to say why).
      auto [first, fresh] = by_hash.emplace(t.sha256, i);
      if (!fresh)
        throw std::invalid_argument(
            "/tokens/" + std::to_string(i) + "/sha256: the same token hash as /tokens/" +
            std::to_string(first->second) + " (agency '" + c.tokens[first->second].agency +
            "'); give agency '" + t.agency + "' a token of its own (bluelink token new)");
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
    auto& e = c.edge;
    e.max_json_depth = l.value("max_json_depth", e.max_json_depth);
    e.max_connections = l.value("max_connections", e.max_connections);
    e.max_connections_per_address =
        l.value("max_connections_per_address", e.max_connections_per_address);
    e.header_timeout_ms = l.value("header_timeout_ms", e.header_timeout_ms);
    e.agency_submissions_per_second =
        l.value("agency_submissions_per_second", e.agency_submissions_per_second);
    e.agency_submission_burst = l.value("agency_submission_burst", e.agency_submission_burst);
    e.inbox_quota = l.value("inbox_quota", e.inbox_quota);
    e.thread_stall_s = l.value("thread_stall_s", e.thread_stall_s);
  }
  if (doc.contains("metrics"))
    c.metrics_token_sha256 = doc.at("metrics").value("token_sha256", std::string());
  c.file_group = doc.value("file_group", std::string());
  if (doc.contains("cluster")) {
    const auto& l = doc.at("cluster");
    auto& k = c.cluster;
    k.node_id = l.value("node_id", k.node_id);
    k.heartbeat_ms = l.value("heartbeat_ms", k.heartbeat_ms);
    k.node_ttl_ms = l.value("node_ttl_ms", k.node_ttl_ms);
    k.lease_ttl_ms = l.value("lease_ttl_ms", k.lease_ttl_ms);
    if (k.lease_ttl_ms < 2 * k.heartbeat_ms || k.node_ttl_ms < 2 * k.heartbeat_ms)
      throw std::invalid_argument(
          "/cluster: lease_ttl_ms and node_ttl_ms must be at least twice "
          "heartbeat_ms, so that one late heartbeat does not end a lease");
  }
  if (c.cluster.node_id.empty()) {
    // The default node id: this host and its HTTP port, unique on one machine and across them.
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "node");
    c.cluster.node_id = std::string(host).substr(0, 40) + ":" + std::to_string(c.listen_port);
    // Port 0 (a free port, tests): the process id tells two such nodes on one host apart.
    if (c.listen_port == 0) c.cluster.node_id += "-" + std::to_string(::getpid());
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
    std::map<std::string, std::size_t> keys;  // public key -> index of its first entry
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
        if (auto [first, fresh] = keys.emplace(cc.public_key, i); !fresh)
          throw std::invalid_argument(
              where + "/public_key: the same key as /cad_link/clients/" +
              std::to_string(first->second) + " (agency '" + cl.clients[first->second].agency +
              "'); each CAD needs a key pair of its own (bluelink keys generate)");
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
  if (doc.contains("call_import")) {
    const auto& k = doc.at("call_import");
    auto& ci = c.call_import;
    if (k.contains("columns")) {
      const auto& col = k.at("columns");
      ci.caller_column = col.value("caller", ci.caller_column);
      ci.called_column = col.value("called", ci.called_column);
      ci.start_column = col.value("start", ci.start_column);
      ci.duration_column = col.value("duration", ci.duration_column);
      ci.id_column = col.value("id", ci.id_column);
    }
    ci.date_order = k.value("date_order", ci.date_order);
    ci.time_zone = k.value("time_zone", ci.time_zone);
    if (k.contains("numbers")) {
      const auto& nums = k.at("numbers");
      for (std::size_t i = 0; i < nums.size(); ++i) {
        phone_line_config pl;
        pl.number = nums[i].at("number").get<std::string>();
        pl.agency = nums[i].at("agency").get<std::string>();
        pl.emergency = nums[i].value("emergency", false);
        pl.label = nums[i].value("label", std::string());
        if (!ids.count(pl.agency))
          throw std::invalid_argument("/call_import/numbers/" + std::to_string(i) +
                                      "/agency: unknown agency '" + pl.agency + "'");
        ci.numbers.push_back(std::move(pl));
      }
    }
  }
  if (doc.contains("retention")) {
    const auto& r = doc.at("retention");
    c.retention.defaults = retention_periods_of(r);
    c.retention.purge_every_s = r.value("purge_every_s", c.retention.purge_every_s);
    c.retention.batch = r.value("batch", c.retention.batch);
  }
  if (doc.contains("savings")) {
    const auto& k = doc.at("savings");
    auto& sc = c.savings;
    sc.go_live = k.value("go_live", sc.go_live);
    sc.financial_year_start_month =
        k.value("financial_year_start_month", sc.financial_year_start_month);
    sc.comparison_months = k.value("comparison_months", sc.comparison_months);
    sc.count_sources = k.value("count_sources", sc.count_sources);
    if (k.contains("baseline")) {
      const auto& b = k.at("baseline");
      sc.baseline_method = b.value("method", sc.baseline_method);
      sc.baseline_months = b.value("months", sc.baseline_months);
      if (b.contains("entered")) {
        const auto& list = b.at("entered");
        for (std::size_t i = 0; i < list.size(); ++i) {
          baseline_figure f;
          f.from_agency = list[i].at("from").get<std::string>();
          f.to_agency = list[i].at("to").get<std::string>();
          f.category = list[i].value("category", std::string());
          if (list[i].contains("emergency")) f.emergency = list[i].at("emergency").get<bool>();
          f.calls_per_month = list[i].at("calls_per_month").get<double>();
          std::string where = "/savings/baseline/entered/" + std::to_string(i);
          if (!ids.count(f.from_agency))
            throw std::invalid_argument(where + "/from: unknown agency '" + f.from_agency + "'");
          if (!ids.count(f.to_agency))
            throw std::invalid_argument(where + "/to: unknown agency '" + f.to_agency + "'");
          sc.baseline.push_back(std::move(f));
        }
      }
    }
    if (!sc.go_live.empty()) {
      int y = 0, m = 0, d = 0;
      if (std::sscanf(sc.go_live.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || !valid_date(y, m, d))
        throw std::invalid_argument("/savings/go_live: '" + sc.go_live + "' is not a real date");
    }
    if (sc.baseline_method == "entered" && sc.baseline.empty())
      throw std::invalid_argument(
          "/savings/baseline/entered: the baseline method is 'entered' but no figures are given");
  }
  if (doc.contains("ucri2")) {
    const auto& u = doc.at("ucri2");
    auto& uc = c.ucri2;
    uc.enabled = true;
    uc.oid = u.at("oid").get<std::string>();
    uc.token_ttl_s = u.value("token_ttl_s", uc.token_ttl_s);
    uc.support_phone = u.value("support_phone", uc.support_phone);
    uc.support_email = u.value("support_email", uc.support_email);
    std::set<std::string> with_oid;
    std::map<std::string, std::string> oids = {{uc.oid, "the gateway's own (/ucri2/oid)"}};
    const auto& ps = u.at("participants");
    for (std::size_t i = 0; i < ps.size(); ++i) {
      ucri2_participant_config p;
      p.agency = ps[i].at("agency").get<std::string>();
      p.oid = ps[i].at("oid").get<std::string>();
      p.client = ps[i].value("client", false);
      std::string where = "/ucri2/participants/" + std::to_string(i);
      if (ps[i].contains("supported_apps"))
        for (const auto& a : ps[i].at("supported_apps")) {
          ucri2_app_config ac;
          ac.app_id = a.at("app_id").get<std::string>();
          ac.app_version = a.at("app_version").get<std::string>();
          if (a.contains("unsupported_messages"))
            ac.unsupported_messages = a.at("unsupported_messages").get<std::vector<std::string>>();
          p.supported_apps.push_back(std::move(ac));
        }
      if (!ids.count(p.agency))
        throw std::invalid_argument(where + "/agency: unknown agency '" + p.agency + "'");
      // One address, one agency, both ways: a receiver must be unambiguous.
      if (!with_oid.insert(p.agency).second)
        throw std::invalid_argument(where + "/agency: '" + p.agency + "' already has an OID");
      if (auto [first, fresh] = oids.emplace(p.oid, "agency '" + p.agency + "'"); !fresh)
        throw std::invalid_argument(where + "/oid: '" + p.oid + "' is already " + first->second +
                                    "; agency '" + p.agency + "' needs an OID of its own");
      uc.participants.push_back(std::move(p));
    }
  }
  if (doc.contains("partners")) {
    // One identity, one agency, in each standard: a document's sender must map to one agency.
    std::map<std::string, std::string> seen[3];
    const char* kinds[3] = {"cap_senders", "edxl_senders", "eido_ids"};
    std::set<std::string> with_entry;
    const auto& ps = doc.at("partners");
    for (std::size_t i = 0; i < ps.size(); ++i) {
      partner_config p;
      std::string where = "/partners/" + std::to_string(i);
      p.agency = ps[i].at("agency").get<std::string>();
      if (!ids.count(p.agency))
        throw std::invalid_argument(where + "/agency: unknown agency '" + p.agency +
                                    "' (a partner must be one of /agencies)");
      if (!with_entry.insert(p.agency).second)
        throw std::invalid_argument(where + "/agency: '" + p.agency +
                                    "' already has a partners entry; give it one");
      p.default_to = ps[i].value("default_to", std::string());
      if (!p.default_to.empty() && !ids.count(p.default_to))
        throw std::invalid_argument(where + "/default_to: unknown agency '" + p.default_to + "'");
      if (p.default_to == p.agency)
        throw std::invalid_argument(where + "/default_to: '" + p.agency +
                                    "' cannot send its documents to itself");
      std::vector<std::string>* lists[3] = {&p.cap_senders, &p.edxl_senders, &p.eido_ids};
      for (int k = 0; k < 3; ++k) {
        if (!ps[i].contains(kinds[k])) continue;
        const auto& arr = ps[i].at(kinds[k]);
        for (std::size_t j = 0; j < arr.size(); ++j) {
          auto v = arr[j].get<std::string>();
          if (auto [first, fresh] = seen[k].emplace(v, p.agency); !fresh)
            throw std::invalid_argument(where + "/" + kinds[k] + "/" + std::to_string(j) + ": '" +
                                        v + "' is already an identity of agency '" + first->second +
                                        "'");
          lists[k]->push_back(std::move(v));
        }
      }
      c.partners.push_back(std::move(p));
    }
  }
  if (doc.contains("log")) {
    c.log_level = doc.at("log").value("level", c.log_level);
    c.log_file = doc.at("log").value("file", c.log_file);
  }
  return c;
}

}  // namespace bl
