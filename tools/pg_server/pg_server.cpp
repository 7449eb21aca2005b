#include "tools/pg_server/pg_server.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bl::test {

namespace {

// The first line a command prints on stdout, without its line end.
std::string first_line_of(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512] = {};
    if (std::fgets(buf, sizeof buf, p)) out = buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string pg_bindir() {
  if (const char* env = std::getenv("BLUELINK_PG_BINDIR")) return env;
  std::string out = first_line_of("pg_config --bindir 2>/dev/null");
  if (!out.empty() && std::filesystem::exists(std::filesystem::path(out) / "initdb")) return out;
  return "/usr/lib/postgresql/15/bin";
}

// A port number no TCP listener on this host uses: it names the server's socket file (and its TCP
// port on 127.0.0.1 when it has one), and a free one keeps it apart from any server a developer
// runs.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 54321;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 54321;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// Gone or a zombie nobody has reaped yet (a container's init may never reap it).
bool process_gone(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  if (!f) return true;
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'Z';
}

pg_server_options tests_options(bool durable) {
  pg_server_options o;
  o.durable = durable;
  return o;
}

}  // namespace

std::vector<int> children_of(int pid) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string line;
    std::getline(f, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid) out.push_back(std::stoi(name));
  }
  return out;
}

pg_server::pg_server(bool durable) : pg_server(tests_options(durable)) {}

void pg_server::make_dir(const std::filesystem::path& parent, const std::string& prefix) {
  std::random_device rd;
  dir_ = parent / (prefix + std::to_string(rd()));
  std::filesystem::create_directories(dir_);
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  as_postgres_ = ::geteuid() == 0;
  if (as_postgres_) {
    passwd* pw = ::getpwnam("postgres");
    if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("running as root, but there is no `postgres` user to run as");
    }
  }
}

pg_server::pg_server(const pg_server_options& options)
    : bindir_(pg_bindir()), port_(free_port()), tcp_(options.tcp_loopback) {
  make_dir(options.parent.empty() ? std::filesystem::temp_directory_path() : options.parent,
           "bluelink-pg-");
  std::string data = (dir_ / "data").string();
  if (run(tool("initdb") + " -D '" + data + "' -U bluelink --auth=trust -E UTF8 --no-locale" +
          (options.sync_initdb ? "" : " --no-sync") + " >'" + (dir_ / "initdb.log").string() +
          "' 2>&1") != 0) {
    std::string log;
    std::ifstream f(dir_ / "initdb.log");
    std::getline(f, log, '\0');
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("initdb failed: " + log);
  }
  {
    std::ofstream conf(dir_ / "data" / "postgresql.conf", std::ios::app);
    conf << "\n# bluelink test server\n"
         << "listen_addresses = '" << (tcp_ ? "127.0.0.1" : "") << "'\n"
         << "unix_socket_directories = '" << dir_.string() << "'\n"
         << "port = " << port_ << "\n";
    if (!options.shared_buffers.empty())
      conf << "shared_buffers = " << options.shared_buffers << "\n";
    conf << "max_connections = " << options.max_connections << "\n"
         << "fsync = " << (options.durable ? "on" : "off") << "\n"
         << "full_page_writes = " << (options.durable ? "on" : "off") << "\n"
         << "synchronous_commit = on\n"
         << "max_prepared_transactions = 0\n";
  }
  try {
    start();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

pg_server::pg_server(const pg_server& primary, const std::string& application_name)
    : bindir_(pg_bindir()), port_(free_port()), tcp_(primary.tcp_) {
  make_dir(primary.dir_.parent_path(), "bluelink-pg-standby-");
  std::string data = (dir_ / "data").string();
  // The primary's own settings come with the backup; the standby's port and socket follow them
  // (the later line wins), and its connection to the primary names it for
  // synchronous_standby_names (postgresql.auto.conf is read last, so it goes there). A fast
  // checkpoint: the default spread one made each backup wait about 90 s.
  if (run(tool("pg_basebackup") + " -D '" + data +
          "' -R -X stream --checkpoint=fast --no-sync -h '" + primary.host() + "' -p " +
          std::to_string(primary.port_) + " -U bluelink >'" + (dir_ / "basebackup.log").string() +
          "' 2>&1") != 0) {
    std::string log;
    std::ifstream f(dir_ / "basebackup.log");
    std::getline(f, log, '\0');
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("pg_basebackup failed: " + log);
  }
  {
    std::ofstream conf(dir_ / "data" / "postgresql.conf", std::ios::app);
    conf << "\n# bluelink test standby\n"
         << "unix_socket_directories = '" << dir_.string() << "'\n"
         << "port = " << port_ << "\n"
         << "wal_receiver_status_interval = 1s\n";
    std::ofstream aut(dir_ / "data" / "postgresql.auto.conf", std::ios::app);
    aut << "primary_conninfo = 'host=" << primary.host() << " port=" << primary.port_
        << " user=bluelink application_name=" << application_name << "'\n";
  }
  try {
    start();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
  // Streaming: the primary lists it.
  for (int i = 0; i < 600; ++i) {
    if (primary.psql("SELECT count(*) FROM pg_stat_replication WHERE application_name = '" +
                     application_name + "' AND state = 'streaming'") == "1")
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("the standby did not start streaming: " + log_tail());
}

void pg_server::require_sync_standby(const std::string& standby_name) {
  psql("ALTER SYSTEM SET synchronous_standby_names = '" + standby_name + "'");
  psql("SELECT pg_reload_conf()");
}

void pg_server::promote() {
  std::string data = (dir_ / "data").string();
  if (run(tool("pg_ctl") + " promote -w -t 60 -D '" + data + "' >/dev/null 2>&1") != 0)
    throw std::runtime_error("pg_ctl promote failed: " + log_tail());
  for (int i = 0; i < 600 && psql("SELECT pg_is_in_recovery()") != "f"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

bool pg_server::signal_wal_receiver(int sig) {
  const int pid = postmaster_pid();
  if (pid <= 0) return false;
  for (int child : children_of(pid)) {
    std::ifstream f("/proc/" + std::to_string(child) + "/cmdline");
    std::string cmd;
    std::getline(f, cmd, '\0');
    if (cmd.find("walreceiver") != std::string::npos) return ::kill(child, sig) == 0;
  }
  return false;
}

int pg_server::timeline() const {
  auto v = psql(
      "SELECT CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver)"
      " ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END");
  return v.empty() ? 0 : std::stoi(v);
}

pg_server::~pg_server() {
  try {
    if (running_) stop();
  } catch (...) {
  }
  if (running_) {
    try {
      kill();
    } catch (...) {
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string pg_server::tool(const std::string& name) const {
  return "'" + bindir_ + "/" + name + "'";
}

int pg_server::run(const std::string& command) const {
  std::string cmd =
      as_postgres_ ? "runuser -u postgres -- sh -c \"cd /tmp && " + command + "\"" : command;
  return std::system(cmd.c_str());
}

std::string pg_server::log_tail() const {
  std::ifstream f(dir_ / "server.log");
  std::string all;
  std::getline(f, all, '\0');
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

std::string pg_server::conninfo(const std::string& db) const {
  return "host=" + host() + " port=" + std::to_string(port_) + " dbname=" + db + " user=bluelink";
}

void pg_server::start() {
  if (running_) return;
  std::string data = (dir_ / "data").string();
  if (run(tool("pg_ctl") + " start -w -t 60 -D '" + data + "' -l '" +
          (dir_ / "server.log").string() + "' >/dev/null 2>&1") != 0)
    throw std::runtime_error("pg_ctl start failed: " + log_tail());
  running_ = true;
}

void pg_server::stop() {
  if (!running_) return;
  std::string data = (dir_ / "data").string();
  if (run(tool("pg_ctl") + " stop -w -t 30 -m fast -D '" + data + "' >/dev/null 2>&1") != 0 &&
      run(tool("pg_ctl") + " stop -w -t 30 -m immediate -D '" + data + "' >/dev/null 2>&1") != 0)
    throw std::runtime_error("pg_ctl stop failed: " + log_tail());
  running_ = false;
}

int pg_server::postmaster_pid() const {
  std::ifstream pidfile(dir_ / "data" / "postmaster.pid");
  int pid = 0;
  pidfile >> pid;
  return pid;
}

std::string pg_server::version() const {
  return first_line_of(tool("postgres") + " --version 2>/dev/null");
}

void pg_server::kill() {
  if (!running_) return;
  const int pid = postmaster_pid();
  if (pid <= 0) throw std::runtime_error("no postmaster.pid: the server is not running");
  // Backends first found, then everything at once: nothing gets to shut down cleanly.
  std::vector<int> all = children_of(pid);
  all.insert(all.begin(), pid);
  for (int p : all) ::kill(p, SIGKILL);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int p : all)
    while (!process_gone(p) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // The pid file is stale now, as after a power cut; but a dead postmaster nobody has reaped
  // yet still answers kill(pid, 0), and the next start would take it for a live one.
  // Likewise the socket's lock file, which names the postmaster's pid too.
  std::error_code ec;
  std::filesystem::remove(dir_ / "data" / "postmaster.pid", ec);
  std::string sock = ".s.PGSQL." + std::to_string(port_);
  std::filesystem::remove(dir_ / (sock + ".lock"), ec);
  std::filesystem::remove(dir_ / sock, ec);
  running_ = false;
}

void pg_server::create_database(const std::string& name) {
  psql("CREATE DATABASE \"" + name + "\"");
}

std::string pg_server::psql(const std::string& sql, const std::string& db) const {
  // Trust auth over the socket: psql runs as whoever runs the test. Output unaligned, no headers.
  std::filesystem::path script = dir_ / "psql.sql";
  {
    std::ofstream f(script);
    f << sql << "\n";
  }
  std::string cmd = tool("psql") + " -X -q -A -t -v ON_ERROR_STOP=1 '" + conninfo(db) + "' -f '" +
                    script.string() + "' 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("psql could not be started");
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("psql failed (" + sql + "): " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace bl::test
