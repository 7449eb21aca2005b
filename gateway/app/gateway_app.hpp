#pragma once
// The bluelink-gateway process: parses the command line, loads config and schemas, opens the
// store, serves HTTP, and shuts down cleanly on the first SIGINT/SIGTERM (hard stop on the second).

namespace bl {

/// Returns the process exit code: 0 clean stop, 2 bad config, 3 unusable database, 4 cannot listen.
int gateway_main(int argc, char** argv);

}  // namespace bl
