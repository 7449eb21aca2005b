#pragma once
// The socket under a ws_connection, for one stream type: made by http_session when it hands an
// upgraded connection over, and by tests. The class itself (a Beast websocket::stream behind a
// small virtual interface) lives in ws_connection.cpp so that Beast's WebSocket code is compiled
// once for the whole gateway.

#include <memory>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace bl {

class ws_io;

std::unique_ptr<ws_io> make_ws_io(boost::beast::tcp_stream&& stream);
std::unique_ptr<ws_io> make_ws_io(boost::beast::ssl_stream<boost::beast::tcp_stream>&& stream);

}  // namespace bl
