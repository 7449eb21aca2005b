#pragma once
// The HTTP edge's routing, built the way Beast's examples and BeastLounge build theirs: handler
// classes each register their own routes, and one router finds the route for a request.
//
//  - An http_handler answers under a mount ("/api/v1", "/ucri2"; "" for the handler of last
//    resort) and fills a route_table with (method, pattern, access, function). A pattern is a
//    fixed path ("/api/v1/transfers") or a fixed prefix and one trailing parameter
//    ("/api/v1/transfers/{id}"): the rest of the path, percent-decoded, arrives as `param`.
//  - router::find() picks the handler with the longest mount that the path is under (at a '/'
//    boundary), then the route: a path whose pattern exists only with other methods is a
//    wrong_method (405 with an Allow header); a path with no pattern is no_route, answered by
//    that handler's unmatched() (Bluelink's bl.request.not_found, or the handler's own shape:
//    UCRI2 answers in UCRI2's).
//  - `access` says who may call a route; the API checks it before the route's function runs
//    (open: anyone; signed_in: a bearer token or a console session; agency_read: one of an agency;
//    agency: one acting for an agency). The route's function then never repeats that check.
//
// Thread-safety: routes are registered once at start-up (add()); find() is then const and may be
// called from every I/O thread at once.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "gateway/net/http_types.hpp"

namespace bl {

struct principal;
struct error;

/// An error reply in Bluelink's shape: {"error":{"code","message","pointer"}} with the code's
/// HTTP status (docs/error-codes.md).
api_response error_reply(const error& e);

/// Who may call a route.
enum class route_access {
  open,         // anyone (sign-in, health, the console's files, UCRI2's own token scheme)
  signed_in,    // a bearer token or a console session of any role
  agency,       // as signed_in, acting for an agency (operators, supervisors, integrations)
  agency_read,  // as signed_in, of an agency: those acting for it, and its data-protection
                // officer (reads only; each read of a transfer is in the access log)
};

/// One request as a route's function sees it.
struct route_call {
  const api_request& req;
  std::string_view path;   // the target without its query
  std::string_view query;  // after '?', raw
  std::string param;       // the pattern's trailing {parameter}, percent-decoded; else empty
  const principal* who = nullptr;   // who is calling (set for signed_in and agency routes)
  boost::asio::any_io_executor ex;  // the connection's strand (long-poll timers)
};

using reply_fn = std::function<void(api_response)>;
using route_fn = std::function<void(const route_call&, reply_fn)>;

struct route {
  std::string method;   // "GET", "POST", "PATCH", "PUT", "DELETE"
  std::string pattern;  // "/api/v1/transfers" or "/api/v1/transfers/{id}"
  route_access access = route_access::signed_in;
  route_fn fn;
};

class route_table {
 public:
  void get(std::string pattern, route_access a, route_fn fn);
  void post(std::string pattern, route_access a, route_fn fn);
  void patch(std::string pattern, route_access a, route_fn fn);
  void del(std::string pattern, route_access a, route_fn fn);
  /// Throws std::invalid_argument for a malformed pattern or a (method, pattern) given twice.
  void add(std::string method, std::string pattern, route_access a, route_fn fn);
  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

/// One area of the HTTP API: registers its routes and says how it answers a path it lacks.
class http_handler {
 public:
  virtual ~http_handler() = default;
  /// The path prefix this handler answers under ("/ucri2"); "" for the handler of last resort.
  virtual std::string mount() const = 0;
  virtual void add_routes(route_table& t) = 0;
  /// A request under the mount that matches no route. Default: 404 bl.request.not_found.
  virtual void unmatched(const route_call& c, reply_fn done);
  /// A path whose routes take other methods (`allow`, e.g. "GET, POST"). Default: 405
  /// bl.request.method_not_allowed naming them, with an Allow header.
  virtual api_response wrong_method(const route_call& c, const std::string& allow);
};

class router {
 public:
  /// Registers `h` and its routes. Throws std::invalid_argument when its mount is taken.
  void add(std::shared_ptr<http_handler> h);

  struct match {
    http_handler* handler = nullptr;
    const route* r = nullptr;
    std::string param;
  };
  struct no_route {
    http_handler* handler = nullptr;  // null: under no mount at all
  };
  struct wrong_method {
    http_handler* handler = nullptr;
    std::string allow;  // "GET, POST"
  };
  std::variant<match, no_route, wrong_method> find(std::string_view method,
                                                   std::string_view path) const;

 private:
  struct mounted {
    std::shared_ptr<http_handler> handler;
    std::string mount;
    route_table table;
  };
  std::vector<mounted> handlers_;
};

}  // namespace bl
