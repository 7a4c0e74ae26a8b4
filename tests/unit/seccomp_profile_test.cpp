// Seccomp profiles are tested by loading the compiled programs into forked
// children and watching system calls fail or succeed there; where a call's
// result could come from the environment rather than the filter, the same
// call runs unfiltered too.
#include "linux/seccomp_profile.hpp"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "dcos/error.hpp"

namespace fs = std::filesystem;

using namespace dcos;
using namespace dcos::isolation;

namespace {

// A child's exit code when it could not install the filter.
constexpr int filter_refused = 250;

// What a call left in errno, or 0 if it succeeded: a child's exit code.
int errno_of(long rc) {
  return rc == -1 ? errno : 0;
}

// Runs `body` in a forked child, under the program `bpf` unless it is
// empty, and returns the child's exit code, or 256 + the killing signal.
template <class Body>
int in_child(const std::string& bpf, Body body) {
  std::vector<sock_filter> insns(bpf.size() / sizeof(sock_filter));
  std::memcpy(insns.data(), bpf.data(), insns.size() * sizeof(sock_filter));
  sock_fprog prog{static_cast<unsigned short>(insns.size()), insns.data()};
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!bpf.empty()
        && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0))
      _exit(filter_refused);
    _exit(body());
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
}

const std::string& default_bpf() {
  static const std::string bpf = [] {
    auto compiled = compile_default_profile();
    REQUIRE_MESSAGE(compiled, describe(compiled.error()));
    return *compiled;
  }();
  return bpf;
}

std::string docker_bpf(const std::string& json) {
  auto compiled = compile_docker_profile(json, "t.json");
  REQUIRE_MESSAGE(compiled, describe(compiled.error()));
  return *compiled;
}

// The sentence of the error compiling `json` gives, which must be one.
std::string docker_error(const std::string& json, errc code) {
  auto compiled = compile_docker_profile(json, "t.json");
  REQUIRE_FALSE(compiled);
  CHECK(code_of(compiled.error()) == code);
  return describe_reason(compiled.error());
}

int getcwd_errno() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? 0 : errno;
}

// personality(2) with the value as the kernel sees it, and as Docker
// decides it: "allowed" for 0, PER_LINUX32, UNAME26, both and 0xffffffff.
bool persona_allowed(uint64_t value) {
  auto low = value & 0xffffffff;
  return low == 0 || low == 0x8 || low == 0x20000 || low == 0x20008
         || low == 0xffffffff;
}

std::vector<uint64_t> persona_samples() {
  std::vector<uint64_t> out = {0,           0x8,         0x20000,
                               0x20008,     0xffffffff,  0x100000008,
                               0x100000001, 0xfffffffe,  0x7fffffff,
                               0x80000000,  0x0040000,   0x0400000};
  for (unsigned b = 0; b < 32; ++b) {
    out.push_back(uint64_t{1} << b);
    out.push_back(0xffffffff & ~(uint64_t{1} << b));
    out.push_back((uint64_t{1} << b) | 0x20008);
  }
  uint64_t x = 0x9e3779b97f4a7c15; // a fixed pseudo-random walk
  for (int i = 0; i < 500; ++i) {
    x = x * 6364136223846793005 + 1442695040888963407;
    out.push_back(x >> 32);
    out.push_back((x >> 32) & 0x20008);
  }
  return out;
}

// In a child: 0 if personality() fails with EPERM exactly for the values
// Docker refuses, else 1 + the index of the first sample that did not.
int personality_matches_docker() {
  auto samples = persona_samples();
  for (size_t i = 0; i < samples.size(); ++i) {
    auto rc = syscall(SYS_personality, samples[i]);
    bool refused = rc == -1 && errno == EPERM;
    if (refused == persona_allowed(samples[i]))
      return static_cast<int>(1 + i % 200);
  }
  return 0;
}

struct temp_dir {
  fs::path path = fs::temp_directory_path()
                  / ("seccomp_profile_test." + std::to_string(getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream{path / name} << text;
  }
};

constexpr const char* getcwd_enosys = R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                "errnoRet": 38}]
})";

} // namespace

TEST_CASE("the default profile is a whole number of BPF instructions") {
  const auto& bpf = default_bpf();
  CHECK(bpf.size() % sizeof(sock_filter) == 0);
  CHECK(bpf.size() / sizeof(sock_filter) > 0);
  CHECK(bpf.size() / sizeof(sock_filter) <= BPF_MAXINSNS);
}

TEST_CASE("the default profile refuses namespaces, mounts and keys") {
  const auto& bpf = default_bpf();
  CHECK(in_child(bpf, [] { return errno_of(unshare(CLONE_NEWUTS)); })
        == EPERM);
  // unshare(0) changes nothing and succeeds for anyone, unless filtered.
  auto unshare_nothing = [] { return errno_of(unshare(0)); };
  CHECK(in_child("", unshare_nothing) == 0);
  CHECK(in_child(bpf, unshare_nothing) == EPERM);
  // Mounting on a missing path fails with ENOENT for anyone, unless filtered.
  auto mount_nowhere = [] {
    return errno_of(mount("none", "/nonexistent/seccomp-test", "tmpfs", 0,
                          nullptr));
  };
  CHECK(in_child("", mount_nowhere) == ENOENT);
  CHECK(in_child(bpf, mount_nowhere) == EPERM);
  auto session_keyring = [] {
    return errno_of(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
                            KEY_SPEC_SESSION_KEYRING, 0));
  };
  CHECK(in_child("", session_keyring) != EPERM);
  CHECK(in_child(bpf, session_keyring) == EPERM);
}

TEST_CASE("the default profile refuses clone with namespace flags") {
  // 0 if clone with each of `flags` is refused with EPERM (`refused`) or
  // makes a child (not `refused`); else 100 + the index of the first that
  // did otherwise.
  auto clone_each = [](std::vector<long> flags, bool refused) {
    return [flags, refused] {
      for (size_t i = 0; i < flags.size(); ++i) {
        errno = 0;
        auto pid = syscall(SYS_clone, flags[i] | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0)
          _exit(0);
        if (pid > 0)
          waitpid(static_cast<pid_t>(pid), nullptr, 0);
        bool was_refused = pid < 0 && errno == EPERM;
        if (was_refused != refused)
          return 100 + static_cast<int>(i);
      }
      return 0;
    };
  };
  const std::vector<long> all = {CLONE_NEWNS,   CLONE_NEWUTS, CLONE_NEWIPC,
                                 CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                                 CLONE_NEWCGROUP};
  // The control: unfiltered, the same calls make children (all of them as
  // root; a user namespace for anyone), so the refusals are the filter's.
  auto allowed = geteuid() == 0 ? all : std::vector<long>{CLONE_NEWUSER};
  CHECK(in_child("", clone_each(allowed, false)) == 0);
  CHECK(in_child(default_bpf(), clone_each(all, true)) == 0);
}

TEST_CASE("the default profile answers clone3 with ENOSYS") {
  // clone3 with no arguments fails with EINVAL, unless filtered.
  auto clone3_nothing = [] {
    return errno_of(syscall(SYS_clone3, nullptr, 0));
  };
  CHECK(in_child("", clone3_nothing) == EINVAL);
  CHECK(in_child(default_bpf(), clone3_nothing) == ENOSYS);
}

TEST_CASE("the default profile allows ordinary work") {
  const auto& bpf = default_bpf();
  CHECK(in_child(bpf, [] { return syscall(SYS_getpid) == getpid() ? 0 : 1; })
        == 0);
  auto files = [] {
    char buf[64];
    int in = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (in < 0 || out < 0)
      return 1;
    auto n = read(in, buf, sizeof buf);
    if (n <= 0 || write(out, buf, static_cast<size_t>(n)) != n)
      return 2;
    return close(in) == 0 && close(out) == 0 ? 0 : 3;
  };
  CHECK(in_child(bpf, files) == 0);
  auto fork_and_wait = [] {
    pid_t pid = fork();
    if (pid == 0)
      _exit(7);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
      return 1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 2;
  };
  CHECK(in_child(bpf, fork_and_wait) == 0);
  // glibc tries clone3 for threads and falls back to clone on ENOSYS.
  auto start_thread = [] {
    int ran = 0;
    std::thread{[&ran] { ran = 1; }}.join();
    return ran == 1 ? 0 : 1;
  };
  CHECK(in_child(bpf, start_thread) == 0);
}

TEST_CASE("the default profile allows only Docker's personalities") {
  CHECK(in_child(default_bpf(), personality_matches_docker) == 0);
}

TEST_CASE("a Docker profile's errnoRet reaches the caller") {
  CHECK(in_child(docker_bpf(R"({"defaultAction": "SCMP_ACT_ALLOW"})"),
                 getcwd_errno)
        == 0);
  auto bpf = docker_bpf(getcwd_enosys);
  CHECK(in_child(bpf, getcwd_errno) == ENOSYS);
  CHECK(in_child(bpf, [] { return syscall(SYS_getpid) > 0 ? 0 : 1; }) == 0);
}

TEST_CASE("SCMP_ACT_ERRNO falls back to defaultErrnoRet, then EPERM") {
  auto rule = R"("syscalls": [{"names": ["getcwd"],
                               "action": "SCMP_ACT_ERRNO"}])";
  auto with_default = docker_bpf(
    std::string{R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 22,
               )"} + rule + "}");
  CHECK(in_child(with_default, getcwd_errno) == EINVAL);
  auto without =
    docker_bpf(std::string{R"({"defaultAction": "SCMP_ACT_ALLOW", )"} + rule
               + "}");
  CHECK(in_child(without, getcwd_errno) == EPERM);
}

TEST_CASE("Docker argument rules test the arguments") {
  auto bpf = docker_bpf(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
      {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
       "args": [{"index": 0, "value": 67108864, "valueTwo": 67108864,
                 "op": "SCMP_CMP_MASKED_EQ"}]}
    ]
  })");
  CHECK(in_child(bpf, [] {
          return errno_of(syscall(SYS_personality, 0xffffffffUL));
        })
        == EPERM);
  CHECK(in_child(bpf, [] { return errno_of(syscall(SYS_personality, 0)); })
        == 0);
  // CLONE_NEWUTS is 67108864; unshare(0) leaves the masked bit clear.
  CHECK(in_child(bpf, [] { return errno_of(unshare(CLONE_NEWUTS)); })
        == EACCES);
  CHECK(in_child(bpf, [] { return errno_of(unshare(0)); }) == 0);
}

TEST_CASE("two tests of one argument match either, as under runc") {
  auto bpf = docker_bpf(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                           {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]
  })");
  CHECK(in_child(bpf, [] { return errno_of(syscall(SYS_personality, 1)); })
        == EPERM);
  CHECK(in_child(bpf, [] { return errno_of(syscall(SYS_personality, 2)); })
        == EPERM);
  CHECK(in_child(bpf, [] { return errno_of(syscall(SYS_personality, 0)); })
        == 0);
}

TEST_CASE("includes and excludes select rules for this host") {
  auto with_filter = [](const std::string& filter) {
    return docker_bpf(R"({
      "defaultAction": "SCMP_ACT_ALLOW",
      "archMap": [
        {"architecture": "SCMP_ARCH_X86_64",
         "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64",
         "subArchitectures": ["SCMP_ARCH_ARM"]}],
      "syscalls": [{"name": "getcwd", "action": "SCMP_ACT_ERRNO", )"
                      + filter + "}]}");
  };
  // Assumed: Docker's default capabilities (CAP_CHOWN, not CAP_SYS_ADMIN).
  CHECK(in_child(with_filter(R"("includes": {"caps": ["CAP_SYS_ADMIN"]})"),
                 getcwd_errno)
        == 0);
  CHECK(in_child(with_filter(R"("includes": {"caps": ["CAP_CHOWN"]})"),
                 getcwd_errno)
        == EPERM);
  CHECK(in_child(with_filter(R"("excludes": {"caps": ["CAP_CHOWN"]})"),
                 getcwd_errno)
        == 0);
  CHECK(in_child(with_filter(R"("excludes": {"caps": ["CAP_SYS_ADMIN"]})"),
                 getcwd_errno)
        == EPERM);
  CHECK(in_child(with_filter(R"("includes": {"minKernel": "99.0"})"),
                 getcwd_errno)
        == 0);
  CHECK(in_child(with_filter(R"("includes": {"minKernel": "3.0"})"),
                 getcwd_errno)
        == EPERM);
  // No host here is a 32-bit MIPS.
  CHECK(in_child(with_filter(R"("includes": {"arches": ["mips"]})"),
                 getcwd_errno)
        == 0);
  CHECK(in_child(with_filter(R"("excludes": {"arches": ["mips"]})"),
                 getcwd_errno)
        == EPERM);
}

TEST_CASE("unknown syscall names are skipped, as Docker does") {
  auto bpf = docker_bpf(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["no_such_syscall", "getcwd"],
                  "action": "SCMP_ACT_ERRNO"}]
  })");
  CHECK(in_child(bpf, getcwd_errno) == EPERM);
}

TEST_CASE("bad Docker profiles are refused, naming the field") {
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["getcwd"],
                                       "action": "SCMP_ACT_FOO"}]})",
                     errc::invalid_argument)
        == "t.json: syscalls[0].action: unknown action 'SCMP_ACT_FOO'");
  CHECK(docker_error(R"({"syscalls": []})", errc::invalid_argument)
        == "t.json: defaultAction: missing");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["getcwd"],
                                       "action": "SCMP_ACT_ERRNO"},
                                      {"names": ["getcwd"],
                                       "action": "SCMP_ACT_KILL",
                                       "args": [{"index": 0, "value": 1,
                                                 "op": "SCMP_CMP_XX"}]}]})",
                     errc::invalid_argument)
        == "t.json: syscalls[1].args[0].op: unknown operator 'SCMP_CMP_XX'");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["getcwd"],
                                       "action": "SCMP_ACT_KILL",
                                       "args": [{"index": 6, "value": 1,
                                                 "op": "SCMP_CMP_EQ"}]}]})",
                     errc::invalid_argument)
        == "t.json: syscalls[0].args[0].index: expected an integer from 0 "
           "to 5");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["getcwd"],
                                       "action": "SCMP_ACT_KILL",
                                       "args": [{"index": 0,
                                                 "value": 18446744073709551615,
                                                 "op": "SCMP_CMP_EQ"}]}]})",
                     errc::invalid_argument)
        == "t.json: syscalls[0].args[0].value: expected an integer from 0 "
           "to 9007199254740992");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ERRNO",
                         "defaultErrnoRet": 5000})",
                     errc::invalid_argument)
        == "t.json: defaultErrnoRet: expected an integer from 0 to 4095");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["getcwd", 7],
                                       "action": "SCMP_ACT_KILL"}]})",
                     errc::invalid_argument)
        == "t.json: syscalls[0].names[1]: expected a string");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"action": "SCMP_ACT_KILL"}]})",
                     errc::invalid_argument)
        == "t.json: syscalls[0].names: missing");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["getcwd"],
                                       "action": "SCMP_ACT_KILL",
                                       "includes": {"minKernel": "new"}}]})",
                     errc::invalid_argument)
        == "t.json: syscalls[0].includes.minKernel: 'new' is not a kernel "
           "version such as 4.8");
  CHECK(docker_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                         "archMap": [{"subArchitectures": []}]})",
                     errc::invalid_argument)
        == "t.json: archMap[0].architecture: missing");
  auto invalid = docker_error(R"({"defaultAction": )", errc::parse_error);
  CHECK(invalid.rfind("t.json: ", 0) == 0);
}

TEST_CASE("load() compiles the default and every *.json, by stem") {
  temp_dir dir;
  dir.write("b.json", getcwd_enosys);
  dir.write("a.json", R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  dir.write("notes.txt", "not a profile");
  auto profiles = seccomp_profiles::load(dir.path.string());
  REQUIRE_MESSAGE(profiles, describe(profiles.error()));
  CHECK(profiles->names() == std::vector<std::string>{"a", "b"});
  auto fallback = profiles->bpf("");
  REQUIRE(fallback);
  CHECK(*fallback == default_bpf());
  auto b = profiles->bpf("b");
  REQUIRE(b);
  CHECK(in_child(*b, getcwd_errno) == ENOSYS);
  auto nope = profiles->bpf("nope");
  REQUIRE_FALSE(nope);
  CHECK(code_of(nope.error()) == errc::not_found);
  CHECK(describe_reason(nope.error())
        == "unknown seccomp profile 'nope' (available: a, b)");
}

TEST_CASE("load() without a directory has only the default") {
  auto profiles = seccomp_profiles::load("");
  REQUIRE(profiles);
  CHECK(profiles->names().empty());
  CHECK(profiles->bpf(""));
  auto nope = profiles->bpf("a");
  REQUIRE_FALSE(nope);
  CHECK(describe_reason(nope.error())
        == "unknown seccomp profile 'a' (available: none)");
}

TEST_CASE("load() names a missing directory and a bad file") {
  auto missing = seccomp_profiles::load("/nonexistent/seccomp");
  REQUIRE_FALSE(missing);
  auto reason = describe_reason(missing.error());
  CHECK(reason.rfind("--seccomp_config_dir: cannot read '/nonexistent/seccomp'",
                     0)
        == 0);
  temp_dir dir;
  dir.write("bad.json", R"({"defaultAction": "SCMP_ACT_NOPE"})");
  auto bad = seccomp_profiles::load(dir.path.string());
  REQUIRE_FALSE(bad);
  CHECK(describe_reason(bad.error())
        == (dir.path / "bad.json").string()
             + ": defaultAction: unknown action 'SCMP_ACT_NOPE'");
}
