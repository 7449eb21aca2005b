#include "gateway/service/delivery_stream.hpp"

#include <atomic>
#include <memory>

#include "gateway/service/inbox_notifier.hpp"

namespace bl {

delivery_stream::delivery_stream(store::reader& reader, inbox_notifier& notifier, engine& eng)
    : reader_(reader), notifier_(notifier), eng_(eng) {}

delivery_batch delivery_stream::read(const std::string& agency, std::int64_t after, int limit) {
  delivery_batch b;
  b.acked_upto = reader_.acked_upto(agency);
  b.after = after < 0 ? b.acked_upto : after;
  b.items = reader_.inbox(agency, b.after, limit);
  return b;
}

bool delivery_stream::any(const std::string& agency, std::int64_t after) {
  try {
    auto from = after < 0 ? reader_.acked_upto(agency) : after;
    return !reader_.inbox(agency, from, 1).empty();
  } catch (const std::exception&) {
    return true;
  }
}

std::uint64_t delivery_stream::when_available(const std::string& agency, std::int64_t after,
                                              std::function<void()> wake) {
  if (any(agency, after)) {
    wake();
    return 0;
  }
  // Whichever comes first calls `wake`: the notifier, or the second look below.
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto fire = [once, wake = std::move(wake)] {
    if (!once->exchange(true)) wake();
  };
  std::uint64_t ticket = notifier_.wait(agency, fire);
  if (any(agency, after)) {
    notifier_.cancel(ticket);
    fire();
  }
  return ticket;
}

void delivery_stream::cancel(std::uint64_t ticket) {
  if (ticket != 0) notifier_.cancel(ticket);
}

void delivery_stream::ack(const std::string& agency, std::int64_t upto, ack_callback cb) {
  eng_.ack(agency, upto, std::move(cb));
}

void delivery_stream::shown(const std::string& agency, std::int64_t after, std::int64_t upto,
                            ack_callback cb) {
  eng_.shown(agency, after, upto, std::move(cb));
}

std::int64_t delivery_stream::acked_upto(const std::string& agency) {
  return reader_.acked_upto(agency);
}

}  // namespace bl
