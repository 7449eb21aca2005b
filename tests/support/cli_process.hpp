#pragma once
// Runs the real `bluelink` CLI for system tests: in a given working directory, with the source
// tree's schemas (BLUELINK_SCHEMAS), its standard output and error captured through files (so
// stderr is never a terminal and progress bars stay off).

#include <filesystem>
#include <string>
#include <vector>

namespace bl::test {

struct cli_result {
  int exit_code = -1;  // 128 + signal when it was killed
  std::string out;
  std::string err;
};

/// Runs BL_CLI_BIN with `args` in `work_dir` and waits for it. stdout and stderr are written to
/// cli.stdout and cli.stderr in `work_dir`.
cli_result run_cli(const std::filesystem::path& work_dir, const std::vector<std::string>& args);

/// The whole file as bytes ("" when it cannot be read).
std::string read_text(const std::filesystem::path& file);

}  // namespace bl::test
