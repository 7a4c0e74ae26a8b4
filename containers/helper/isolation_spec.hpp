// The isolation a Linux container asks of dcos-containerizer (--isolation=FILE).
//
// The containerizer (containers/linux) decides everything and writes it down
// in this form; the helper only carries it out between clone() and exec(),
// so that it stays free of JSON, images and policy. One directive per line,
// fields separated by tabs (paths may hold spaces, never tabs or newlines):
//
//   namespaces    pid,mount,uts,ipc[,net]
//   hostname      NAME
//   rootfs        MERGED  UPPER  WORK  LOWER_TOP:...:LOWER_BOTTOM
//   rootfs_copy   DIR                 (an already assembled root, no overlay)
//   bind          SOURCE  TARGET  ro|rw   (TARGET as seen in the container)
//   workdir       DIR                 (in the container; default its root)
//   seccomp       FILE                (BPF program bytes, see seccomp_profile)
//   capabilities  N,N,...             (the bounding set kept; absent: all)
//   rlimit        RESOURCE  SOFT  HARD    (numbers; "inf" for unlimited)
//
// Thread-safety: none needed; the helper is single-threaded.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dcos::helper {

struct bind_mount {
  std::string source;
  std::string target;
  bool read_only = false;
};

struct rlimit_spec {
  int resource = 0;
  unsigned long long soft = 0; // RLIM_INFINITY for "inf"
  unsigned long long hard = 0;
};

struct isolation_spec {
  int clone_flags = 0; // CLONE_NEW* from "namespaces"
  std::string hostname;
  std::string rootfs;            // the container's root on the host, if any
  std::string overlay_upper;     // set together with overlay_lower
  std::string overlay_work;
  std::string overlay_lower;     // "top:...:bottom"
  std::vector<bind_mount> binds;
  std::string workdir;
  std::string seccomp_file;
  std::optional<std::vector<int>> capabilities;
  std::vector<rlimit_spec> rlimits;
};

/// Reads `path`. On failure returns false with `*error` naming the line.
bool read_isolation_spec(const std::string& path, isolation_spec* out,
                         std::string* error);

} // namespace dcos::helper
