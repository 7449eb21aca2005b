#pragma once
// One way out. Every edge's view of an agency's deliveries (the HTTP inbox and its long-poll,
// UCRI2 receive, the CAD link, EIDO conveyance) comes from here, with one cursor rule:
//
//   after >= 0   exactly the deliveries after sequence `after` (the edge's own position: what it
//                has already sent on its session, or what the client says it has);
//   after <  0   resume: the deliveries after the agency's last acknowledgement.
//
// Acknowledgements go back through here too, so that what "delivered" means is decided in one
// place. Waiting is race-free: when_available() registers with the notifier and then looks
// again, so a commit between an edge's read and its registration is never missed.
//
// Thread-safety: every member may be called from any thread at once. read() throws
// store::store_error when the store cannot be read; edges answer with their own 503.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/service/engine.hpp"
#include "gateway/store/reader.hpp"

namespace bl {

class inbox_notifier;

struct delivery_batch {
  std::int64_t after = 0;       // the cursor the rule resolved to
  std::int64_t acked_upto = 0;  // the agency's acknowledged position when read
  std::vector<store::inbox_item> items;
};

class delivery_stream {
 public:
  delivery_stream(store::reader& reader, inbox_notifier& notifier, engine& eng);

  /// Up to `limit` deliveries for `agency` after the cursor (the rule above), oldest first.
  delivery_batch read(const std::string& agency, std::int64_t after, int limit);
  /// Whether anything follows the cursor. A store that cannot be read counts as "something"
  /// so that the edge reads at once and answers with the error.
  bool any(const std::string& agency, std::int64_t after);

  /// Calls `wake` once when a delivery for `agency` follows the cursor: at once (on this
  /// thread) if one already does, else after the next commit for the agency (on the engine
  /// thread: `wake` must only post work elsewhere). A commit that was already waking waiters as
  /// this registered may call it early; the edge then reads, finds nothing and waits again.
  /// Never called after cancel() has returned. Returns a ticket for cancel(); 0 when `wake` was
  /// called already.
  std::uint64_t when_available(const std::string& agency, std::int64_t after,
                               std::function<void()> wake);
  /// Stops a when_available() that is no longer needed (the edge timed out or closed).
  void cancel(std::uint64_t ticket);

  /// Acknowledges `agency`'s deliveries up to `upto` (cumulative; durable before `cb`).
  void ack(const std::string& agency, std::int64_t upto, ack_callback cb);
  /// Requests to `agency` after `after` up to `upto` were shown on one of its signed-in
  /// consoles: delivered to the agency, though its own system's position does not move
  /// (engine::shown()).
  void shown(const std::string& agency, std::int64_t after, std::int64_t upto, ack_callback cb);
  /// The agency's acknowledged position.
  std::int64_t acked_upto(const std::string& agency);

 private:
  store::reader& reader_;
  inbox_notifier& notifier_;
  engine& eng_;
};

}  // namespace bl
