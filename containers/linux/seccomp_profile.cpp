// Seccomp profiles compiled to BPF with libseccomp (see the header).
//
// Both kinds of profile become one `profile` (default action, architectures,
// rules) before libseccomp sees them, so a Docker file is fully validated
// before any filter is built and the built-in default shares the compiler.
#include "linux/seccomp_profile.hpp"

#include <sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <seccomp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "files.hpp"

namespace fs = std::filesystem;

namespace dcos::isolation {

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// The kernel clamps a filter's errno to MAX_ERRNO.
constexpr uint64_t max_errno = 4095;

// JSON numbers reach us as doubles (google::protobuf::Struct), which hold
// integers exactly only up to 2^53; larger argument values are rejected
// rather than silently rounded.
constexpr uint64_t max_json_integer = uint64_t{1} << 53;

// seccomp(2) filters see six system call arguments.
constexpr uint64_t max_arg_index = 5;

struct syscall_rule {
  std::string field; // where the rule came from, for errors
  std::vector<std::string> names;
  uint32_t action = 0;
  std::vector<scmp_arg_cmp> args; // all must hold
};

struct profile {
  uint32_t default_action = 0;
  std::vector<uint32_t> arches; // the native one first
  std::vector<syscall_rule> rules;
};

struct filter_release {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using filter_ptr = std::unique_ptr<void, filter_release>;

class owned_fd {
public:
  explicit owned_fd(int fd) : fd_(fd) {}
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  ~owned_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

// -- the host ----------------------------------------------------------------

// The architectures whose system calls a kernel of the native one also
// serves (its compat modes). libseccomp's bad-architecture action kills the
// callers of any architecture a filter omits, so listing these keeps e.g.
// 32-bit x86 binaries working on x86_64.
std::vector<uint32_t> host_arches() {
  auto native = seccomp_arch_native();
  switch (native) {
    case SCMP_ARCH_X86_64:
      return {native, SCMP_ARCH_X86, SCMP_ARCH_X32};
    case SCMP_ARCH_AARCH64:
      return {native, SCMP_ARCH_ARM};
    case SCMP_ARCH_PPC64:
      return {native, SCMP_ARCH_PPC};
    case SCMP_ARCH_S390X:
      return {native, SCMP_ARCH_S390};
    case SCMP_ARCH_MIPS64:
      return {native, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64N32};
    case SCMP_ARCH_MIPSEL64:
      return {native, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64N32};
    case SCMP_ARCH_PARISC64:
      return {native, SCMP_ARCH_PARISC};
    default:
      return {native};
  }
}

// Docker's includes/excludes name architectures as Go does (runtime.GOARCH).
std::string_view go_arch_name(uint32_t arch) {
  switch (arch) {
    case SCMP_ARCH_X86_64: return "amd64";
    case SCMP_ARCH_X86: return "386";
    case SCMP_ARCH_AARCH64: return "arm64";
    case SCMP_ARCH_ARM: return "arm";
    case SCMP_ARCH_PPC64LE: return "ppc64le";
    case SCMP_ARCH_PPC64: return "ppc64";
    case SCMP_ARCH_S390X: return "s390x";
    case SCMP_ARCH_S390: return "s390";
    case SCMP_ARCH_MIPS64: return "mips64";
    case SCMP_ARCH_MIPSEL64: return "mips64le";
    case SCMP_ARCH_MIPS: return "mips";
    case SCMP_ARCH_MIPSEL: return "mipsle";
    case SCMP_ARCH_RISCV64: return "riscv64";
    default: return "";
  }
}

// Docker spells architectures "SCMP_ARCH_X86_64", libseccomp "x86_64".
// Returns 0 for names libseccomp does not know.
uint32_t resolve_arch(std::string_view docker_name) {
  constexpr std::string_view prefix = "SCMP_ARCH_";
  if (docker_name.substr(0, prefix.size()) != prefix)
    return 0;
  std::string name{docker_name.substr(prefix.size())};
  for (auto& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(name.c_str());
}

struct kernel_version {
  unsigned major = 0;
  unsigned minor = 0;
  auto operator<=>(const kernel_version&) const = default;
};

// Reads "major.minor" from the front of `text` and drops what it read.
std::optional<kernel_version> take_version(std::string_view& text) {
  kernel_version v;
  auto end = text.data() + text.size();
  auto [dot, ec] = std::from_chars(text.data(), end, v.major);
  if (ec != std::errc{} || dot == end || *dot != '.')
    return std::nullopt;
  auto [rest, ec2] = std::from_chars(dot + 1, end, v.minor);
  if (ec2 != std::errc{})
    return std::nullopt;
  text.remove_prefix(static_cast<size_t>(rest - text.data()));
  return v;
}

kernel_version running_kernel() {
  utsname u{};
  ::uname(&u);
  std::string_view release{u.release};
  return take_version(release).value_or(kernel_version{});
}

// Docker decides "caps" filters by the container's bounding set, which is
// not known when a profile is compiled. Profiles are compiled for a
// container holding Docker's default set, so Docker's own default.json
// allows and denies here what it does for a plain `docker run`.
bool docker_default_cap(std::string_view cap) {
  constexpr std::string_view caps[] = {
    "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
    "CAP_SETUID", "CAP_SYS_CHROOT",
  };
  return std::find(std::begin(caps), std::end(caps), cap) != std::end(caps);
}

// -- reading a Docker profile ------------------------------------------------

// Typed access to the JSON document; every error names `what` and the field.
class reader {
public:
  explicit reader(std::string_view what) : what_(what) {}

  caf::error fail(const std::string& field, const std::string& problem) const {
    return make_error(errc::invalid_argument,
                      fmt::format("{}: {}: {}", what_, field, problem));
  }

  // The accessors take the field's value, or nullptr when it is missing.
  caf::expected<std::string> string(const Value* v,
                                    const std::string& field) const {
    if (!v)
      return fail(field, "missing");
    if (v->kind_case() != Value::kStringValue)
      return fail(field, "expected a string");
    return v->string_value();
  }

  caf::expected<uint64_t> integer(const Value* v, uint64_t max,
                                  const std::string& field) const {
    if (!v)
      return fail(field, "missing");
    auto d = v->number_value();
    if (v->kind_case() != Value::kNumberValue || !(d >= 0)
        || d > static_cast<double>(max) || d != std::floor(d))
      return fail(field, fmt::format("expected an integer from 0 to {}", max));
    return static_cast<uint64_t>(d);
  }

  caf::expected<const Struct*> object(const Value* v,
                                      const std::string& field) const {
    if (!v)
      return fail(field, "missing");
    if (v->kind_case() != Value::kStructValue)
      return fail(field, "expected an object");
    return &v->struct_value();
  }

  caf::expected<const ListValue*> list(const Value* v,
                                       const std::string& field) const {
    if (!v)
      return fail(field, "missing");
    if (v->kind_case() != Value::kListValue)
      return fail(field, "expected a list");
    return &v->list_value();
  }

  caf::expected<std::vector<std::string>>
  strings(const Value* v, const std::string& field) const {
    auto items = list(v, field);
    if (!items)
      return items.error();
    std::vector<std::string> out;
    for (int i = 0; i < (*items)->values_size(); ++i) {
      auto s = string(&(*items)->values(i), fmt::format("{}[{}]", field, i));
      if (!s)
        return s.error();
      out.push_back(std::move(*s));
    }
    return out;
  }

private:
  std::string_view what_;
};

const Value* find(const Struct& obj, std::string_view key) {
  auto i = obj.fields().find(std::string{key});
  return i == obj.fields().end() ? nullptr : &i->second;
}

std::string member(const std::string& field, std::string_view key) {
  return fmt::format("{}.{}", field, key);
}

std::string element(const std::string& field, int index) {
  return fmt::format("{}[{}]", field, index);
}

// `errno_ret` is the error SCMP_ACT_ERRNO returns and, as in runc, the
// message SCMP_ACT_TRACE hands the tracer.
std::optional<uint32_t> action_of(std::string_view name, uint16_t errno_ret) {
  if (name == "SCMP_ACT_ERRNO")
    return SCMP_ACT_ERRNO(errno_ret);
  if (name == "SCMP_ACT_TRACE")
    return SCMP_ACT_TRACE(errno_ret);
  constexpr std::pair<std::string_view, uint32_t> fixed[] = {
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
  };
  for (const auto& [known, action] : fixed)
    if (name == known)
      return action;
  return std::nullopt;
}

std::optional<scmp_compare> compare_of(std::string_view name) {
  constexpr std::pair<std::string_view, scmp_compare> ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [known, op] : ops)
    if (name == known)
      return op;
  return std::nullopt;
}

caf::expected<uint32_t> read_action(const reader& in, const Value* v,
                                    const std::string& field,
                                    uint16_t errno_ret) {
  auto name = in.string(v, field);
  if (!name)
    return name.error();
  if (auto action = action_of(*name, errno_ret))
    return *action;
  return in.fail(field, fmt::format("unknown action '{}'", *name));
}

// An errno field, or `fallback` when it is absent.
caf::expected<uint16_t> read_errno(const reader& in, const Value* v,
                                   const std::string& field,
                                   uint16_t fallback) {
  if (!v)
    return fallback;
  auto value = in.integer(v, max_errno, field);
  if (!value)
    return value.error();
  return static_cast<uint16_t>(*value);
}

// Docker's "architectures" and "archMap" entries that this host can run;
// the others (and names this libseccomp does not know, which cannot be this
// host's) would only lengthen the program. Docker uses only archMap's entry
// for the native architecture, which comes to the same.
caf::expected<std::vector<uint32_t>> read_arches(const reader& in,
                                                 const Struct& doc) {
  auto host = host_arches();
  std::vector<uint32_t> out{host.front()};
  auto take = [&](const std::vector<std::string>& names) {
    for (const auto& name : names) {
      auto arch = resolve_arch(name);
      if (std::count(host.begin(), host.end(), arch) > 0
          && std::count(out.begin(), out.end(), arch) == 0)
        out.push_back(arch);
    }
  };
  if (auto* v = find(doc, "architectures")) {
    auto names = in.strings(v, "architectures");
    if (!names)
      return names.error();
    take(*names);
  }
  auto* map = find(doc, "archMap");
  if (!map)
    return out;
  auto entries = in.list(map, "archMap");
  if (!entries)
    return entries.error();
  for (int i = 0; i < (*entries)->values_size(); ++i) {
    auto field = element("archMap", i);
    auto entry = in.object(&(*entries)->values(i), field);
    if (!entry)
      return entry.error();
    auto arch = in.string(find(**entry, "architecture"),
                          member(field, "architecture"));
    if (!arch)
      return arch.error();
    take({*arch});
    if (auto* v = find(**entry, "subArchitectures")) {
      auto subs = in.strings(v, member(field, "subArchitectures"));
      if (!subs)
        return subs.error();
      take(*subs);
    }
  }
  return out;
}

caf::expected<std::vector<scmp_arg_cmp>>
read_args(const reader& in, const Value* v, const std::string& field) {
  auto items = in.list(v, field);
  if (!items)
    return items.error();
  std::vector<scmp_arg_cmp> out;
  for (int i = 0; i < (*items)->values_size(); ++i) {
    auto arg_field = element(field, i);
    auto arg = in.object(&(*items)->values(i), arg_field);
    if (!arg)
      return arg.error();
    auto index = in.integer(find(**arg, "index"), max_arg_index,
                            member(arg_field, "index"));
    if (!index)
      return index.error();
    uint64_t values[2] = {0, 0}; // "value" and "valueTwo", 0 when absent
    const std::string_view keys[2] = {"value", "valueTwo"};
    for (size_t k = 0; k < 2; ++k) {
      auto* value = find(**arg, keys[k]);
      if (!value)
        continue;
      auto n = in.integer(value, max_json_integer, member(arg_field, keys[k]));
      if (!n)
        return n.error();
      values[k] = *n;
    }
    auto op_field = member(arg_field, "op");
    auto op_name = in.string(find(**arg, "op"), op_field);
    if (!op_name)
      return op_name.error();
    auto op = compare_of(*op_name);
    if (!op)
      return in.fail(op_field, fmt::format("unknown operator '{}'", *op_name));
    // For SCMP_CMP_MASKED_EQ Docker's "value" is the mask and "valueTwo"
    // the expected result, the order libseccomp takes them in.
    out.push_back(scmp_arg_cmp{static_cast<unsigned>(*index), *op, values[0],
                               values[1]});
  }
  return out;
}

// Whether Docker's "includes" (all = true) or "excludes" (all = false)
// filter matches here. It tests "arches", "caps" and "minKernel", each only
// when given (and non-empty); includes needs every test and every listed
// cap to pass, excludes any of them.
caf::expected<bool> filter_matches(const reader& in, const Value* v,
                                   const std::string& field, bool all) {
  auto filter = in.object(v, field);
  if (!filter)
    return filter.error();
  std::vector<bool> results;
  if (auto* arches = find(**filter, "arches")) {
    auto names = in.strings(arches, member(field, "arches"));
    if (!names)
      return names.error();
    auto native = go_arch_name(seccomp_arch_native());
    if (!names->empty())
      results.push_back(std::count(names->begin(), names->end(), native) > 0);
  }
  if (auto* caps = find(**filter, "caps")) {
    auto names = in.strings(caps, member(field, "caps"));
    if (!names)
      return names.error();
    if (!names->empty())
      results.push_back(
        all ? std::all_of(names->begin(), names->end(), docker_default_cap)
            : std::any_of(names->begin(), names->end(), docker_default_cap));
  }
  if (auto* min = find(**filter, "minKernel")) {
    auto min_field = member(field, "minKernel");
    auto text = in.string(min, min_field);
    if (!text)
      return text.error();
    std::string_view rest{*text};
    auto version = take_version(rest);
    if (!version || !rest.empty())
      return in.fail(min_field, fmt::format("'{}' is not a kernel version "
                                            "such as 4.8", *text));
    results.push_back(running_kernel() >= *version);
  }
  auto passed = [](bool result) { return result; };
  return all ? std::all_of(results.begin(), results.end(), passed)
             : std::any_of(results.begin(), results.end(), passed);
}

// Whether the rule applies on this host and to the assumed capabilities.
caf::expected<bool> rule_selected(const reader& in, const Struct& rule,
                                  const std::string& field) {
  if (auto* v = find(rule, "includes")) {
    auto included = filter_matches(in, v, member(field, "includes"), true);
    if (!included || !*included)
      return included;
  }
  if (auto* v = find(rule, "excludes")) {
    auto excluded = filter_matches(in, v, member(field, "excludes"), false);
    if (!excluded)
      return excluded;
    return !*excluded;
  }
  return true;
}

caf::expected<std::vector<std::string>>
read_names(const reader& in, const Struct& rule, const std::string& field) {
  auto* names = find(rule, "names");
  auto* name = find(rule, "name");
  if (names && name)
    return in.fail(field, "give either names or name, not both");
  if (names)
    return in.strings(names, member(field, "names"));
  auto single = in.string(name, member(field, "names"));
  if (!single)
    return single.error();
  return std::vector<std::string>{std::move(*single)};
}

// Reads syscalls[i]; nullopt when it does not apply here.
caf::expected<std::optional<syscall_rule>>
read_rule(const reader& in, const Value* v, const std::string& field,
          uint16_t default_errno) {
  auto obj = in.object(v, field);
  if (!obj)
    return obj.error();
  syscall_rule rule;
  rule.field = field;
  auto names = read_names(in, **obj, field);
  if (!names)
    return names.error();
  rule.names = std::move(*names);
  auto errno_ret = read_errno(in, find(**obj, "errnoRet"),
                              member(field, "errnoRet"), default_errno);
  if (!errno_ret)
    return errno_ret.error();
  auto action = read_action(in, find(**obj, "action"), member(field, "action"),
                            *errno_ret);
  if (!action)
    return action.error();
  rule.action = *action;
  if (auto* args = find(**obj, "args")) {
    auto cmps = read_args(in, args, member(field, "args"));
    if (!cmps)
      return cmps.error();
    rule.args = std::move(*cmps);
  }
  auto selected = rule_selected(in, **obj, field);
  if (!selected)
    return selected.error();
  if (!*selected)
    return std::optional<syscall_rule>{};
  return std::optional<syscall_rule>{std::move(rule)};
}

caf::expected<profile> read_profile(const reader& in, const Struct& doc) {
  profile p;
  auto default_errno = read_errno(in, find(doc, "defaultErrnoRet"),
                                  "defaultErrnoRet", EPERM);
  if (!default_errno)
    return default_errno.error();
  auto action = read_action(in, find(doc, "defaultAction"), "defaultAction",
                            *default_errno);
  if (!action)
    return action.error();
  p.default_action = *action;
  auto arches = read_arches(in, doc);
  if (!arches)
    return arches.error();
  p.arches = std::move(*arches);
  auto* syscalls = find(doc, "syscalls");
  if (!syscalls)
    return p;
  auto entries = in.list(syscalls, "syscalls");
  if (!entries)
    return entries.error();
  for (int i = 0; i < (*entries)->values_size(); ++i) {
    auto rule = read_rule(in, &(*entries)->values(i), element("syscalls", i),
                          *default_errno);
    if (!rule)
      return rule.error();
    // libseccomp refuses rules that repeat the default action (EACCES).
    if (*rule && (*rule)->action != p.default_action)
      p.rules.push_back(std::move(**rule));
  }
  return p;
}

// -- the built-in default ----------------------------------------------------

syscall_rule deny(std::string name, int error,
                  std::vector<scmp_arg_cmp> args = {}) {
  return syscall_rule{name, {name}, SCMP_ACT_ERRNO(error), std::move(args)};
}

// What Docker's default profile denies a container without added
// capabilities, with the 32-bit x86 variants, since 32-bit callers pass too.
std::vector<syscall_rule> denied_outright() {
  constexpr const char* names[] = {
    "mount", "umount", "umount2", "ptrace", "keyctl", "add_key",
    "request_key", "kexec_load", "kexec_file_load", "bpf", "init_module",
    "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "unshare", "setns", "open_by_handle_at", "name_to_handle_at",
    "perf_event_open", "userfaultfd", "pivot_root", "acct", "settimeofday",
    "stime", "clock_settime", "clock_settime64", "clock_adjtime",
    "clock_adjtime64", "adjtimex", "lookup_dcookie", "move_pages",
    "nfsservctl", "quotactl", "syslog", "uselib", "ustat", "sysfs",
    "_sysctl", "vm86", "vm86old", "create_module", "get_kernel_syms",
    "query_module", "iopl", "ioperm", "fanotify_init", "kcmp",
    "process_vm_readv", "process_vm_writev",
    // the new mount API
    "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree",
    "mount_setattr",
  };
  std::vector<syscall_rule> out;
  for (const char* name : names)
    out.push_back(deny(name, EPERM));
  return out;
}

// clone(2) may not make namespaces. libseccomp has no "masked value is not
// zero", so each flag gets a rule of its own. s390 passes the flags second.
std::vector<syscall_rule> clone_rules() {
  auto native = seccomp_arch_native();
  unsigned flags_arg =
    native == SCMP_ARCH_S390X || native == SCMP_ARCH_S390 ? 1 : 0;
  constexpr uint64_t namespaces[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
  };
  std::vector<syscall_rule> out;
  for (auto flag : namespaces)
    out.push_back(deny("clone", EPERM,
                       {{flags_arg, SCMP_CMP_MASKED_EQ, flag, flag}}));
  // clone3 passes its flags in memory, out of the filter's reach; ENOSYS
  // makes glibc fall back to clone, as under Docker.
  out.push_back(deny("clone3", ENOSYS));
  return out;
}

// personality(2) stays open for the personas Docker allows: PER_LINUX (0),
// PER_LINUX32, UNAME26, both of these, and 0xffffffff (a query). libseccomp
// cannot AND two tests of one argument, so "any other value" is a union of
// tests "bit a set and bit b clear", (arg0 & (a|b)) == a:
//  - around the cycle of the 30 bits other than PER_LINUX32 and UNAME26,
//    "a bit set and the next one clear" matches every value whose cycle bits
//    are neither all clear (the four personas) nor all set;
//  - "bit 0 set and PER_LINUX32 clear" and "bit 0 set and UNAME26 clear"
//    match those with all cycle bits set, except 0xffffffff.
// The kernel reads the argument as 32 bits, so higher bits are not tested.
std::vector<syscall_rule> personality_rules() {
  constexpr auto personas =
    static_cast<uint64_t>(PER_LINUX32) | static_cast<uint64_t>(UNAME26);
  static_assert((personas & 1) == 0);
  std::vector<uint64_t> cycle;
  for (unsigned b = 0; b < 32; ++b)
    if ((personas & (uint64_t{1} << b)) == 0)
      cycle.push_back(uint64_t{1} << b);
  auto set_and_clear = [](uint64_t set, uint64_t clear) {
    return deny("personality", EPERM,
                {{0, SCMP_CMP_MASKED_EQ, set | clear, set}});
  };
  std::vector<syscall_rule> out;
  for (size_t i = 0; i < cycle.size(); ++i)
    out.push_back(set_and_clear(cycle[i], cycle[(i + 1) % cycle.size()]));
  out.push_back(set_and_clear(1, PER_LINUX32));
  out.push_back(set_and_clear(1, UNAME26));
  return out;
}

// -- compiling ---------------------------------------------------------------

caf::error libseccomp_error(std::string_view what, std::string_view doing,
                            int rc) {
  return make_error(errc::invalid_argument,
                    fmt::format("{}: {}: {}", what, doing, std::strerror(-rc)));
}

// libseccomp cannot AND two comparisons of one argument (EINVAL), so, as
// runc does for Docker profiles, such a rule becomes one rule per
// comparison, i.e. their OR.
bool tests_an_arg_twice(const std::vector<scmp_arg_cmp>& args) {
  for (size_t i = 0; i < args.size(); ++i)
    for (size_t j = i + 1; j < args.size(); ++j)
      if (args[i].arg == args[j].arg)
        return true;
  return false;
}

int add_syscall_rule(scmp_filter_ctx ctx, const syscall_rule& rule, int nr) {
  if (!tests_an_arg_twice(rule.args))
    return seccomp_rule_add_array(ctx, rule.action, nr,
                                  static_cast<unsigned>(rule.args.size()),
                                  rule.args.data());
  for (const auto& arg : rule.args)
    if (int rc = seccomp_rule_add_array(ctx, rule.action, nr, 1, &arg); rc < 0)
      return rc;
  return 0;
}

caf::error add_rule(scmp_filter_ctx ctx, const syscall_rule& rule,
                    std::string_view what) {
  for (const auto& name : rule.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR)
      continue; // unknown to libseccomp on every architecture, as Docker skips
    if (int rc = add_syscall_rule(ctx, rule, nr); rc < 0)
      return libseccomp_error(
        what, fmt::format("{}: cannot add the rule for '{}'", rule.field, name),
        rc);
  }
  return {};
}

caf::expected<std::string> export_bpf(scmp_filter_ctx ctx,
                                      std::string_view what) {
  auto io_error = [what](std::string_view call, int err) {
    return make_error(errc::io_error, fmt::format("{}: {}: {}", what, call,
                                                  std::strerror(err)));
  };
  owned_fd fd{::memfd_create("seccomp-bpf", MFD_CLOEXEC)};
  if (fd.get() < 0)
    return io_error("memfd_create", errno);
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0)
    return io_error("seccomp_export_bpf", -rc);
  std::string bpf;
  char buf[4096];
  for (;;) {
    auto n = ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(bpf.size()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error("read", errno);
    if (n == 0)
      return bpf;
    bpf.append(buf, static_cast<size_t>(n));
  }
}

caf::expected<std::string> compile(const profile& p, std::string_view what) {
  filter_ptr filter{seccomp_init(p.default_action)};
  if (!filter)
    return make_error(errc::invalid_argument,
                      fmt::format("{}: libseccomp refused the default action",
                                  what));
  auto ctx = filter.get();
  // The container helper sets no_new_privs itself before it loads the
  // program; the attribute only affects seccomp_load, which is not used.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
    return libseccomp_error(what, "seccomp_attr_set", rc);
  for (auto arch : p.arches)
    if (int rc = seccomp_arch_add(ctx, arch); rc < 0 && rc != -EEXIST)
      return libseccomp_error(what, "seccomp_arch_add", rc);
  for (const auto& rule : p.rules)
    if (auto err = add_rule(ctx, rule, what))
      return err;
  return export_bpf(ctx, what);
}

caf::expected<std::vector<fs::path>> json_files(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> out;
  for (fs::directory_iterator i{dir, ec}, end; !ec && i != end;
       i.increment(ec))
    if (i->path().extension() == ".json")
      out.push_back(i->path());
  if (ec)
    return make_error(errc::invalid_argument,
                      fmt::format("--seccomp_config_dir: cannot read '{}': {}",
                                  dir, ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

caf::expected<std::string> compile_docker_profile(std::string_view json,
                                                  std::string_view what) {
  Struct doc;
  if (auto err = from_json(json, &doc, what))
    return err;
  auto p = read_profile(reader{what}, doc);
  if (!p)
    return p.error();
  return compile(*p, what);
}

caf::expected<std::string> compile_default_profile() {
  profile p;
  p.default_action = SCMP_ACT_ALLOW;
  p.arches = host_arches();
  for (auto part : {denied_outright(), clone_rules(), personality_rules()})
    std::move(part.begin(), part.end(), std::back_inserter(p.rules));
  return compile(p, "default seccomp profile");
}

caf::expected<seccomp_profiles> seccomp_profiles::load(const std::string& dir) {
  seccomp_profiles profiles;
  auto fallback = compile_default_profile();
  if (!fallback)
    return fallback.error();
  profiles.compiled_[""] = std::move(*fallback);
  if (dir.empty())
    return profiles;
  auto files = json_files(dir);
  if (!files)
    return files.error();
  for (const auto& path : *files) {
    auto text = read_file(path.string());
    if (!text)
      return text.error();
    auto bpf = compile_docker_profile(*text, path.string());
    if (!bpf)
      return bpf.error();
    profiles.compiled_[path.stem().string()] = std::move(*bpf);
  }
  return profiles;
}

caf::expected<std::string> seccomp_profiles::bpf(const std::string& name) {
  if (auto i = compiled_.find(name); i != compiled_.end())
    return i->second;
  std::string available;
  for (const auto& known : names())
    available += (available.empty() ? "" : ", ") + known;
  return make_error(errc::not_found,
                    fmt::format("unknown seccomp profile '{}' (available: {})",
                                name, available.empty() ? "none" : available));
}

std::vector<std::string> seccomp_profiles::names() const {
  std::vector<std::string> out;
  for (const auto& [name, bpf] : compiled_)
    if (!name.empty())
      out.push_back(name);
  return out;
}

} // namespace dcos::isolation
