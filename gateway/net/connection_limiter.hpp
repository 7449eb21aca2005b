#pragma once
// Counts the connections the HTTP listener holds open, in total and per remote address, so that
// neither a flood of slow clients nor one busy address can use up the process's file descriptors.
//
// Ownership: shared (make_connection_limiter); every connection_slot keeps the limiter alive, so
// a WebSocket session that outlives the listener still releases its slot safely. Threading:
// acquire() and a slot's release may run on any thread (one mutex). Lifetime: a slot counts from
// acquire() until it is destroyed or released; the session that owns the socket (HTTP, or the
// WebSocket session it was upgraded to) owns the slot.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <variant>

#include <boost/asio/ip/address.hpp>

namespace bl {

class metrics;
class connection_limiter;

/// One open connection's place in the count. Move-only; releases on destruction.
class connection_slot {
 public:
  connection_slot() = default;
  connection_slot(connection_slot&& o) noexcept = default;
  connection_slot& operator=(connection_slot&& o) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot() { release(); }
  void release() noexcept;
  explicit operator bool() const { return owner_ != nullptr; }

 private:
  friend class connection_limiter;
  connection_slot(std::shared_ptr<connection_limiter> owner, boost::asio::ip::address a)
      : owner_(std::move(owner)), address_(a) {}
  std::shared_ptr<connection_limiter> owner_;
  boost::asio::ip::address address_;
};

struct connection_limits {
  std::size_t max_total = 2048;
  std::size_t max_per_address = 256;
};

class connection_limiter : public std::enable_shared_from_this<connection_limiter> {
 public:
  enum class refusal { total, per_address };

  connection_limiter(connection_limits limits, metrics& stats);
  /// A slot for a new connection from `remote`, or why it must be refused (also counted in the
  /// metrics). IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
  std::variant<connection_slot, refusal> acquire(const boost::asio::ip::address& remote);
  std::size_t open() const;
  std::size_t open_from(const boost::asio::ip::address& remote) const;
  const connection_limits& limits() const { return limits_; }

 private:
  friend class connection_slot;
  void release(const boost::asio::ip::address& a) noexcept;
  static boost::asio::ip::address normalise(const boost::asio::ip::address& a);

  const connection_limits limits_;
  metrics& stats_;
  mutable std::mutex mu_;
  std::size_t total_ = 0;
  std::map<boost::asio::ip::address, std::size_t> per_address_;
};

std::shared_ptr<connection_limiter> make_connection_limiter(connection_limits limits,
                                                            metrics& stats);

}  // namespace bl
