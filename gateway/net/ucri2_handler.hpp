#pragma once
// The UCRI2 Client API under /ucri2 (docs/protocols/ucri2.md): token, info, registry,
// messaging/send, messaging/receive (a long-poll on the delivery stream) and messaging/commit.
// One http_handler: it registers its own routes with the router and answers unknown paths and
// wrong methods in UCRI2's error shape. Messages are translated by adapters/ucri2 and go through
// the submit pipeline like every other edge's.
//
// Thread-safety: the routes may run on every I/O thread at once; the per-start token key and the
// clients' presence are guarded inside.

#include <memory>
#include <string>

#include "gateway/net/router.hpp"

namespace spdlog {
class logger;
}

namespace bl {

struct gateway_config;
class schema_set;
class token_auth;
class submit_pipeline;
class delivery_stream;
namespace store {
class reader;
}
struct ucri2_state;

/// What the UCRI2 edge uses, owned elsewhere and outliving it.
class link_registry;

struct ucri2_services {
  const gateway_config& cfg;
  const schema_set& schemas;
  const token_auth& auth;
  submit_pipeline& pipeline;
  delivery_stream& deliveries;
  store::reader& reader;
  spdlog::logger& log;
  link_registry* links = nullptr;  // each authorised client is heard (kind "ucri2"); null: not
};

class ucri2_handler final : public http_handler {
 public:
  /// Draws the per-start token signing key (a restart makes clients fetch a new token).
  explicit ucri2_handler(ucri2_services s);
  ~ucri2_handler() override;

  std::string mount() const override { return "/ucri2"; }
  /// No routes when ucri2.enabled is false: every path then says the API is not configured.
  void add_routes(route_table& t) override;
  void unmatched(const route_call& c, reply_fn done) override;
  api_response wrong_method(const route_call& c, const std::string& allow) override;

 private:
  ucri2_services s_;
  std::shared_ptr<ucri2_state> state_;
};

}  // namespace bl
