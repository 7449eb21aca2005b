#pragma once
// Failpoints: faults that a system test injects into the real gateway binary at named places, to
// prove that each failure is loud and loses nothing. A test sets BLUELINK_FAILPOINT_FILE to a file
// and, when it wants the fault, writes the failpoint's name on a line of that file. Without the
// variable (always, in production) a failpoint is one test of a cached null pointer.
//
// Failpoints in the code:
//   cad_link.zmq_error       the CAD link thread fails as on a ZeroMQ error it cannot handle
//   cad_link.stall           the CAD link thread stops making progress while armed
//   http.handler_exception   every HTTP request's handler throws (as a store error or a bug)
//   console_hub.store_error  the console hub cannot read new events from the store
//   reports.store_unavailable every savings report fails as on a store that cannot be read
//                            (bl.store.unavailable) while armed
//   engine.message_exception a message whose id contains "failpoint-throw" throws half-way
//                            through writing its rows (after the message and transfer rows)
//   engine.sweep_exception   the engine's timer sweep throws (not a store error)
//   engine.crash_after_commit the gateway SIGKILLs itself right after a commit of work, before
//                            any receipt is sent (a node dying between commit and receipt)
//   engine.commit_busy       every engine transaction fails to commit as on SQLITE_BUSY, so every
//                            submission is refused with bl.store.busy while armed
//   access_log.thread_exception the access log's writer thread throws (as on a bug)
//   io.stall                 the I/O beat's handler holds its I/O thread while armed (as a handler
//                            stuck on an I/O thread would)
//   workers.stall            every worker-pool job (sign-in, account change, report) waits
//                            before it starts while armed (as a job stuck on the pool would)

#include <string_view>

namespace bl {

/// True while `name` is armed (listed in $BLUELINK_FAILPOINT_FILE).
bool failpoint(std::string_view name);

}  // namespace bl
