#include "tools/bench/bench_doc.hpp"

#include <sys/utsname.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bl::bench {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string kernel() {
  utsname u{};
  uname(&u);
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

void write_section(const std::filesystem::path& path, const std::string& section,
                   const char* begin_marker, const char* end_marker) {
  std::string text;
  if (std::ifstream in(path); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    text =
        "# Benchmarks\n\nMeasured numbers, with the machine and the exact command that produced "
        "them. Re-run a tool with `--write docs/benchmarks.md` to refresh its section.\n";
  }
  std::string block = std::string(begin_marker) + "\n" + section + end_marker + "\n";
  auto b = text.find(begin_marker);
  auto e = text.find(end_marker);
  if (b != std::string::npos && e != std::string::npos && e > b) {
    auto after = e + std::strlen(end_marker);
    if (after < text.size() && text[after] == '\n') ++after;
    text.replace(b, after - b, block);
  } else {
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += "\n" + block;
  }
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace bl::bench
