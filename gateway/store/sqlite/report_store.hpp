#pragma once
// The savings report's reads on SQLite: each read_savings_counts reads the two halves of its
// months side by side, on a thread each, each on a read-only connection of its own (the store's
// busy timeout) in one read transaction, and closes them, so reports may run on several threads
// beside a live gateway (WAL) and never wait on the engine.

#include <memory>

#include "gateway/store/report_store.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store {

/// A report store on the SQLite file at o.path (created and migrated by the writer; this only
/// reads). Uses o.path, o.busy_timeout_ms and o.vfs. Opens nothing until the first read.
std::unique_ptr<report_store> open_sqlite_report_store(const store_options& o);

}  // namespace bl::store
