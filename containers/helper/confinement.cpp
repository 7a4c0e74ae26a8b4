#include "confinement.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace dcos::helper {

namespace {

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::string drop_capabilities(const std::vector<int>& keep) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
      break; // past the last capability this kernel knows
    bool kept = false;
    for (int k : keep)
      kept = kept || k == cap;
    if (!kept && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      return errno_text("cannot drop capability " + std::to_string(cap));
  }
  // Ambient capabilities would survive exec regardless of the bounding set.
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return {};
}

} // namespace

std::string read_seccomp_filter(const isolation_spec& spec, std::string* bpf) {
  bpf->clear();
  if (spec.seccomp_file.empty())
    return {};
  std::ifstream in{spec.seccomp_file, std::ios::binary};
  bpf->assign(std::istreambuf_iterator<char>(in), {});
  if (bpf->empty() || bpf->size() % sizeof(sock_filter) != 0)
    return "seccomp: '" + spec.seccomp_file + "' is not a BPF program";
  return {};
}

std::string apply_limits(const isolation_spec& spec) {
  for (const auto& r : spec.rlimits) {
    rlimit limit{r.soft, r.hard};
    if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &limit) != 0)
      return errno_text("cannot set rlimit " + std::to_string(r.resource));
  }
  if (spec.capabilities)
    return drop_capabilities(*spec.capabilities);
  return {};
}

void reset_signals() {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::string confine(const std::string& bpf) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return errno_text("no_new_privs");
  if (bpf.empty())
    return {};
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(bpf.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(bpf.data()));
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
    return errno_text("cannot load the seccomp filter");
  return {};
}

} // namespace dcos::helper
