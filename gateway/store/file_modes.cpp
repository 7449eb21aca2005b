#include "gateway/store/file_modes.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace bl::store {

namespace {
gid_t group_id(const std::string& name) {
  std::vector<char> buf(16384);
  struct group g {};
  struct group* found = nullptr;
  int rc = getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found);
  if (rc != 0 || !found)
    throw std::runtime_error("file_group '" + name + "' is not a group on this machine");
  return found->gr_gid;
}

// Tightens one existing file; false if it does not exist.
bool tighten(const std::string& path, mode_t mode, const std::string& group, bool& changed) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    throw std::runtime_error("cannot inspect '" + path + "': " + std::strerror(errno));
  }
  if (!group.empty()) {
    gid_t gid = group_id(group);
    if (st.st_gid != gid) {
      if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0)
        throw std::runtime_error("cannot give '" + path + "' to group '" + group +
                                 "': " + std::strerror(errno));
      changed = true;
    }
  }
  if ((st.st_mode & 07777) != mode) {
    if (::chmod(path.c_str(), mode) != 0)
      throw std::runtime_error("cannot set the mode of '" + path + "': " + std::strerror(errno));
    // Only a widening is news; a file that was already stricter is simply made as documented.
    if ((st.st_mode & 0777 & ~mode) != 0) changed = true;
  }
  return true;
}
}  // namespace

void restrict_umask(const std::string& group) {
  ::umask(group.empty() ? 0077 : 0027);
}

bool protect_file(const std::string& path, const std::string& group, bool database) {
  if (path.empty() || path == ":memory:") return false;
  const mode_t mode = group.empty() ? 0600 : 0640;
  if (database) {
    // Create it ourselves so that it never exists, even for a moment, with a wider mode.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd >= 0)
      ::close(fd);
    else if (errno != EEXIST)
      throw std::runtime_error("cannot create the database '" + path +
                               "': " + std::strerror(errno));
  }
  bool changed = false;
  tighten(path, mode, group, changed);
  if (database)
    for (const char* suffix : {"-wal", "-shm", "-journal"})
      tighten(path + suffix, mode, group, changed);
  return changed;
}

}  // namespace bl::store
