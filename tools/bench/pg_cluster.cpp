#include "tools/bench/pg_cluster.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace bl::bench {

namespace {

std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string pg_bindir() {
  if (const char* env = std::getenv("BLUELINK_PG_BINDIR")) return env;
  std::string out = command_output("pg_config --bindir 2>/dev/null");
  if (!out.empty() && std::filesystem::exists(std::filesystem::path(out) / "initdb")) return out;
  return "/usr/lib/postgresql/15/bin";
}

// The server binds no TCP port, but the number names its socket file: a free one keeps it apart
// from any server already running here.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 54329;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 54329;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::string s;
  std::getline(f, s, '\0');
  return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
}

}  // namespace

pg_cluster::pg_cluster(const std::filesystem::path& base)
    : bindir_(pg_bindir()), port_(free_port()) {
  std::string tmpl = (base / "bluelink-bench-pg.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed in " + base.string());
  dir_ = tmpl;
  as_postgres_ = ::geteuid() == 0;
  if (as_postgres_) {
    passwd* pw = ::getpwnam("postgres");
    if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("running as root, but there is no `postgres` user to run initdb as");
    }
  }
  version_ = command_output(tool("postgres") + " --version 2>/dev/null");
  const std::string data = (dir_ / "data").string();
  if (run(tool("initdb") + " -D '" + data + "' -U bluelink --auth=trust -E UTF8 --no-locale >'" +
          (dir_ / "initdb.log").string() + "' 2>&1") != 0) {
    std::string log = read_all(dir_ / "initdb.log");
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("initdb failed: " + log);
  }
  {
    // Durable as in production: the point is what a receipt costs when it means a flushed commit.
    std::ofstream conf(dir_ / "data" / "postgresql.conf", std::ios::app);
    conf << "\n# bluelink-bench server\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << dir_.string() << "'\n"
         << "port = " << port_ << "\n"
         << "max_connections = 40\n"
         << "fsync = on\n"
         << "full_page_writes = on\n"
         << "synchronous_commit = on\n";
  }
  if (run(tool("pg_ctl") + " start -w -t 60 -D '" + data + "' -l '" +
          (dir_ / "server.log").string() + "' >/dev/null 2>&1") != 0) {
    std::string log = read_all(dir_ / "server.log");
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("pg_ctl start failed: " + log);
  }
  running_ = true;
  if (run(tool("createdb") + " -h '" + dir_.string() + "' -p " + std::to_string(port_) +
          " -U bluelink bench >/dev/null 2>&1") != 0) {
    std::string log = read_all(dir_ / "server.log");
    stop();
    throw std::runtime_error("createdb failed: " + log);
  }
}

pg_cluster::~pg_cluster() {
  stop();
}

void pg_cluster::stop() noexcept {
  if (running_) {
    const std::string data = (dir_ / "data").string();
    if (run(tool("pg_ctl") + " stop -w -t 30 -m fast -D '" + data + "' >/dev/null 2>&1") != 0)
      run(tool("pg_ctl") + " stop -w -t 30 -m immediate -D '" + data + "' >/dev/null 2>&1");
    running_ = false;
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  dir_.clear();
}

std::string pg_cluster::conninfo() const {
  return "host=" + dir_.string() + " port=" + std::to_string(port_) + " dbname=bench user=bluelink";
}

int pg_cluster::postmaster_pid() const {
  std::ifstream f(dir_ / "data" / "postmaster.pid");
  int pid = 0;
  f >> pid;
  return pid;
}

std::string pg_cluster::tool(const std::string& name) const {
  return "'" + bindir_ + "/" + name + "'";
}

int pg_cluster::run(const std::string& command) const {
  std::string cmd =
      as_postgres_ ? "runuser -u postgres -- sh -c \"cd /tmp && " + command + "\"" : command;
  return std::system(cmd.c_str());
}

}  // namespace bl::bench
