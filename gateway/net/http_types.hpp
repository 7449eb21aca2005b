#pragma once
// One HTTP request and its response as the API sees them: plain data, free of sockets, so that
// handlers can be driven by the Beast session (gateway/net/http_session), by tests and by other
// transports.

#include <string>
#include <utility>
#include <vector>

namespace bl {

struct api_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query
  std::string authorization;
  std::string body;
  std::string cookie;      // the Cookie header
  std::string origin;      // the Origin header (browsers send it on POST and WebSocket upgrades)
  std::string host;        // the Host header
  std::string csrf_token;  // the X-CSRF-Token header
  std::string remote;      // the client's address, for the sign-in rate limit
  bool tls = false;        // arrived over HTTPS
};

struct api_response {
  api_response() = default;
  api_response(int s, std::string type, std::string b, std::string err = {})
      : status(s), content_type(std::move(type)), body(std::move(b)), error_id(std::move(err)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string error_id;  // the bl.* code when this is an error reply (for metrics and logs)
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Set-Cookie, ...)
  bool cacheable = false;  // static console files may be cached; API replies never are
};

}  // namespace bl
