#pragma once
// Shared by the benchmark tools: the machine a result was measured on, and the writer of each
// tool's own section of docs/benchmarks.md.

#include <filesystem>
#include <string>

namespace bl::bench {

/// The CPU's model name from /proc/cpuinfo ("unknown" when it cannot be read).
std::string cpu_model();
/// "Linux 6.8.0-45-generic x86_64".
std::string kernel();

/// Replaces the section of `path` between `begin_marker` and `end_marker`, or appends one (the
/// file is created with a title when it does not exist). Throws std::runtime_error when it
/// cannot be written.
void write_section(const std::filesystem::path& path, const std::string& section,
                   const char* begin_marker, const char* end_marker);

}  // namespace bl::bench
