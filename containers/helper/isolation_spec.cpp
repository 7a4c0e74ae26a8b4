#include "isolation_spec.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace dcos::helper {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in{text};
  while (std::getline(in, field, sep))
    out.push_back(field);
  return out;
}

bool to_number(const std::string& text, unsigned long long* out) {
  if (text == "inf") {
    *out = RLIM_INFINITY;
    return true;
  }
  if (text.empty() || text[0] < '0' || text[0] > '9')
    return false;
  char* end = nullptr;
  errno = 0;
  *out = std::strtoull(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

bool parse_namespaces(const std::string& list, int* flags) {
  for (const auto& name : split(list, ',')) {
    if (name == "pid")
      *flags |= CLONE_NEWPID;
    else if (name == "mount")
      *flags |= CLONE_NEWNS;
    else if (name == "uts")
      *flags |= CLONE_NEWUTS;
    else if (name == "ipc")
      *flags |= CLONE_NEWIPC;
    else if (name == "net")
      *flags |= CLONE_NEWNET;
    else
      return false;
  }
  return true;
}

// One directive; false with `*error` set if it is malformed.
bool apply(const std::vector<std::string>& f, isolation_spec* out,
           std::string* error) {
  const auto& key = f[0];
  auto arity = [&](size_t n) {
    if (f.size() == n + 1)
      return true;
    *error = "'" + key + "' takes " + std::to_string(n) + " fields";
    return false;
  };
  if (key == "namespaces") {
    if (!arity(1))
      return false;
    if (!parse_namespaces(f[1], &out->clone_flags)) {
      *error = "namespaces: unknown namespace in '" + f[1] + "'";
      return false;
    }
  } else if (key == "hostname") {
    if (!arity(1))
      return false;
    out->hostname = f[1];
  } else if (key == "rootfs") {
    if (!arity(4))
      return false;
    out->rootfs = f[1];
    out->overlay_upper = f[2];
    out->overlay_work = f[3];
    out->overlay_lower = f[4];
  } else if (key == "rootfs_copy") {
    if (!arity(1))
      return false;
    out->rootfs = f[1];
  } else if (key == "bind") {
    if (!arity(3))
      return false;
    if (f[3] != "ro" && f[3] != "rw") {
      *error = "bind: mode must be ro or rw, not '" + f[3] + "'";
      return false;
    }
    out->binds.push_back({f[1], f[2], f[3] == "ro"});
  } else if (key == "workdir") {
    if (!arity(1))
      return false;
    out->workdir = f[1];
  } else if (key == "seccomp") {
    if (!arity(1))
      return false;
    out->seccomp_file = f[1];
  } else if (key == "capabilities") {
    if (!arity(1))
      return false;
    std::vector<int> caps;
    for (const auto& cap : split(f[1], ',')) {
      unsigned long long n = 0;
      if (!to_number(cap, &n) || n > 63) {
        *error = "capabilities: '" + cap + "' is not a capability number";
        return false;
      }
      caps.push_back(static_cast<int>(n));
    }
    out->capabilities = std::move(caps);
  } else if (key == "rlimit") {
    if (!arity(3))
      return false;
    unsigned long long resource = 0;
    rlimit_spec r;
    if (!to_number(f[1], &resource) || resource >= RLIM_NLIMITS
        || !to_number(f[2], &r.soft) || !to_number(f[3], &r.hard)
        || r.soft > r.hard) {
      *error = "rlimit: bad values";
      return false;
    }
    r.resource = static_cast<int>(resource);
    out->rlimits.push_back(r);
  } else {
    *error = "unknown directive '" + key + "'";
    return false;
  }
  return true;
}

} // namespace

bool read_isolation_spec(const std::string& path, isolation_spec* out,
                         std::string* error) {
  std::ifstream in{path};
  if (!in) {
    *error = "--isolation: cannot open '" + path + "'";
    return false;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty())
      continue;
    if (!apply(split(line, '\t'), out, error)) {
      *error = "--isolation: " + path + ":" + std::to_string(number) + ": "
               + *error;
      return false;
    }
  }
  return true;
}

} // namespace dcos::helper
