#include "gateway/net/connection_limiter.hpp"

#include "gateway/core/metrics.hpp"

namespace bl {

namespace asio = boost::asio;

connection_slot& connection_slot::operator=(connection_slot&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::move(o.owner_);
    address_ = o.address_;
  }
  return *this;
}

void connection_slot::release() noexcept {
  if (!owner_) return;
  owner_->release(address_);
  owner_.reset();
}

connection_limiter::connection_limiter(connection_limits limits, metrics& stats)
    : limits_(limits), stats_(stats) {}

asio::ip::address connection_limiter::normalise(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

std::variant<connection_slot, connection_limiter::refusal> connection_limiter::acquire(
    const asio::ip::address& remote) {
  auto a = normalise(remote);
  {
    std::lock_guard lock(mu_);
    if (total_ >= limits_.max_total) {
      stats_.connection_refused("total");
      return refusal::total;
    }
    auto it = per_address_.find(a);
    if (it != per_address_.end() && it->second >= limits_.max_per_address) {
      stats_.connection_refused("per_address");
      return refusal::per_address;
    }
    if (it == per_address_.end()) it = per_address_.emplace(a, 0).first;
    ++it->second;
    ++total_;
    stats_.open_connections(total_);
  }
  return connection_slot(shared_from_this(), a);
}

void connection_limiter::release(const asio::ip::address& a) noexcept {
  std::lock_guard lock(mu_);
  auto it = per_address_.find(a);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  if (total_ > 0) --total_;
  stats_.open_connections(total_);
}

std::size_t connection_limiter::open() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::size_t connection_limiter::open_from(const asio::ip::address& remote) const {
  std::lock_guard lock(mu_);
  auto it = per_address_.find(normalise(remote));
  return it == per_address_.end() ? 0 : it->second;
}

std::shared_ptr<connection_limiter> make_connection_limiter(connection_limits limits,
                                                            metrics& stats) {
  return std::make_shared<connection_limiter>(limits, stats);
}

}  // namespace bl
