#pragma once
// The call import's store on SQLite. It may run in a process beside a live gateway on the same
// file (WAL, the gateway's busy timeout): each batch holds the write lock only while it inserts.

#include <memory>

#include "gateway/store/call_store.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store {

/// A call store on the SQLite file at o.path (o.synchronous_full, o.busy_timeout_ms). Opens
/// nothing until it is used: read-only for call_stored and list_imports (nothing is created),
/// read-write for begin_import.
std::unique_ptr<call_store> open_sqlite_call_store(const store_options& o);

}  // namespace bl::store
