// Seccomp profiles for containers, compiled to BPF with libseccomp.
//
// Two sources of profiles:
//  - the built-in default, which blocks what Docker's default profile blocks
//    (mount, umount2, ptrace, keyctl, add_key, request_key, kexec_load,
//    kexec_file_load, bpf, init_module, finit_module, delete_module, reboot,
//    swapon, swapoff, unshare, setns, open_by_handle_at, perf_event_open,
//    userfaultfd, pivot_root, acct, settimeofday, clock_settime, ..., clone
//    with namespace flags, personalities other than Docker's) with EPERM,
//    answers clone3 with ENOSYS (glibc then falls back to clone), and
//    allows everything else;
//  - Docker-format JSON profiles, one per `<name>.json` in the operator's
//    --seccomp_config_dir: defaultAction, archMap (or architectures),
//    syscalls[] with names (or name), action, args[] (index, value, valueTwo,
//    op), errnoRet, and includes/excludes (arches, caps, minKernel). Caps
//    are judged as if the container held Docker's default capability set;
//    argument values must fit JSON's exact integers (up to 2^53); a rule
//    that tests one argument twice matches either test, as under runc.
//
// A profile is compiled once into a classic BPF program (an array of
// struct sock_filter, as seccomp_export_bpf writes it) for the native
// architecture and those the kernel also runs (x86 and x32 on x86_64);
// other architectures' callers are killed. The container helper loads those
// bytes with prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) right before exec,
// after PR_SET_NO_NEW_PRIVS, so it needs no libseccomp of its own.
//
// Thread-safety: a seccomp_profiles object is used by one actor at a time.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace dcos::isolation {

/// Compiles a Docker-format JSON profile. Errors name `what` (e.g. the file)
/// and the offending field, e.g. "p.json: syscalls[3].action: unknown action
/// 'SCMP_ACT_FOO'". Syscall names this kernel's libseccomp does not know are
/// skipped (as Docker does), not errors.
caf::expected<std::string> compile_docker_profile(std::string_view json,
                                                  std::string_view what);

/// Compiles the built-in default profile.
caf::expected<std::string> compile_default_profile();

class seccomp_profiles {
public:
  /// Reads and compiles every `*.json` in `dir` (nothing if `dir` is empty).
  /// Fails on the first bad file, naming it and the field.
  static caf::expected<seccomp_profiles> load(const std::string& dir);

  /// The BPF bytes of profile `name`; the default profile for "".
  /// Fails with not_found for an unknown name.
  caf::expected<std::string> bpf(const std::string& name);

  /// The names of the loaded profiles (without ".json"), sorted.
  std::vector<std::string> names() const;

private:
  std::map<std::string, std::string> compiled_; // name -> bpf; "" = default
};

} // namespace dcos::isolation
