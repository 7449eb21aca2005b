// System test of `bluelink translate`: the real CLI binary takes the A12 request through CAP and
// EDXL-DE and back unchanged, and refuses a hostile XML document with its specific error.

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs `bluelink translate ...` in `dir` and waits for it; stdout and stderr go to files.
run_result translate(const bl::test::temp_dir& dir, const std::vector<std::string>& args) {
  const std::string bin = BL_CLI_BIN;
  REQUIRE(fs::exists(bin));
  std::vector<std::string> all = {bin, "translate"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back("--schemas");
  all.push_back(std::string(BL_SOURCE_DIR) + "/schemas");
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out_file = dir.file("translate.stdout");
  const std::string err_file = dir.file("translate.stderr");
  const std::string work_dir = dir.path().string();
  pid_t pid = fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
      _exit(126);
    if (chdir(work_dir.c_str()) != 0) _exit(126);
    execve(bin.c_str(), argv.data(), environ);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_file);
  r.err = slurp(err_file);
  return r;
}

}  // namespace

TEST_CASE("bluelink translate takes a request through CAP and EDXL-DE and back unchanged",
          "[system][cap]") {
  bl::test::temp_dir dir;
  const std::string example = std::string(BL_SOURCE_DIR) +
                              "/schemas/examples/valid/message/"
                              "01-request-police-traffic-management-a12-rtc.json";
  auto cap = translate(dir, {"--from", "bluelink", "--to", "cap", example});
  REQUIRE(cap.exit_code == 0);
  CHECK(cap.out.find("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">") !=
        std::string::npos);
  std::ofstream(dir.file("a12.xml")) << cap.out;

  auto edxl = translate(dir, {"--from", "cap", "--to", "edxl-de", "a12.xml"});
  REQUIRE(edxl.exit_code == 0);
  std::ofstream(dir.file("a12.edxl.json")) << edxl.out;

  auto back = translate(dir, {"--from", "edxl-de", "--to", "bluelink", "a12.edxl.json"});
  REQUIRE(back.exit_code == 0);
  CHECK(json::parse(back.out) == json::parse(slurp(example)));

  auto text = translate(dir, {"--from", "edxl-de", "--to", "methane-text", "a12.edxl.json"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("M  Major incident:        Not declared\n") != std::string::npos);
}

TEST_CASE("bluelink translate refuses an external entity with exit 1 and the reason",
          "[system][cap]") {
  bl::test::temp_dir dir;
  std::ofstream(dir.file("xxe.xml"))
      << "<?xml version=\"1.0\"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
         "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>&xxe;</identifier>"
         "</alert>\n";
  auto r = translate(dir, {"--from", "cap", "--to", "bluelink", "xxe.xml"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("bl.xml.dtd_refused: DTDs are not accepted") != std::string::npos);
  CHECK(r.err.find("root:") == std::string::npos);

  auto usage = translate(dir, {"--from", "eido", "--to", "cap", "xxe.xml"});
  CHECK(usage.exit_code == 2);
}
