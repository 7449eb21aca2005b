#pragma once
// The savings report's reads on PostgreSQL, with the SQLite report store's results
// (gateway/store/sqlite/report_store.hpp): the same counts for the same rows.
//
// Ownership, threading, lifetime: each read_savings_counts opens two connections of its own,
// each in a REPEATABLE READ READ ONLY transaction on one shared snapshot (pg_export_snapshot:
// figures that add up across calls and transfers however busy the gateway is), reads the two
// halves of its months side by side (one on a thread of its own) and closes them, so reports may
// run on several threads beside live gateways and never wait on a writer or make one wait.
//
// The server counts: each read is a GROUP BY over a range of the covering indexes calls_report
// and transfers_report (migration 1), bucketed into UK months by width_bucket over the month
// boundaries the gateway computes (uk_month_start: the server's zone rules are never asked), so
// a few thousand groups cross the wire, not a million rows.

#include <memory>
#include <string>

#include "gateway/store/report_store.hpp"

namespace bl::store::postgres {

/// A report store on the database `conninfo` names (the password already in it). Connects only
/// when it reads.
std::unique_ptr<report_store> open_pg_report_store(const std::string& conninfo);

}  // namespace bl::store::postgres
