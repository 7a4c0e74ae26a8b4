// The Linux containerizer as the agent and its executors use it, as root:
// real namespaces, cgroups, overlayfs, seccomp, capabilities, rlimits and
// networks around busybox containers built at test time from Debian's
// busybox-static. Each case checks what a process inside actually sees.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "dcos/containerizer_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/subprocess.hpp"
#include "dcos/type_bridge.hpp"
#include "linux/cgroups.hpp"
#include "support/images.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

int run(std::vector<std::string> argv) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.stdout_path = "/dev/null";
  opts.stderr_path = "/dev/null";
  auto p = subprocess::spawn(opts);
  REQUIRE(p);
  return p->wait();
}

// Networks of this test only, and what they leave on the host.
const char* const test_networks = R"([
  {"name": "ct-blue", "subnet": "10.232.1.0/24", "bridge": "dcosct-blue"},
  {"name": "ct-red", "subnet": "10.232.2.0/24", "bridge": "dcosct-red"}
])";

void remove_test_networks() {
  run({"ip", "link", "del", "dcosct-blue"});
  run({"ip", "link", "del", "dcosct-red"});
}

struct fixture {
  scratch_dir dir;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  containerizer_actor containerizer;
  linux_isolation_config isolation;
  int next = 0;

  explicit fixture(std::vector<std::string> isolators = {
                     "cgroups/cpu", "cgroups/mem", "cgroups/pids",
                     "namespaces/pid", "filesystem/linux", "linux/seccomp",
                     "linux/capabilities", "posix/rlimits"},
                   std::string image_backend = "") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the Linux containerizer needs root");
    register_types(sys_cfg);
    sys_cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    fs::create_directories(dir.path + "/seccomp");
    // A Docker-format profile of the operator's: getcwd fails with ENOSYS.
    write_file(dir.path + "/seccomp/nogetcwd.json", R"({
      "defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                    "errnoRet": 38}]
    })");
    isolation.isolators = std::move(isolators);
    isolation.runtime_dir = dir.path + "/runtime";
    isolation.image_store_dir = busybox_image_store();
    isolation.image_cache_dir = dir.path + "/images";
    isolation.image_backend = std::move(image_backend);
    isolation.seccomp_config_dir = dir.path + "/seccomp";
    isolation.allowed_capabilities = {"NET_ADMIN"};
    isolation.networks = test_networks;
    isolation.network_state_dir = dir.path + "/networks";
    isolation.pids_limit = 64;
    containerizer = spawn(isolation);
  }

  ~fixture() {
    caf::anon_send_exit(containerizer, caf::exit_reason::user_shutdown);
    containerizer = nullptr;
    sys.reset();
  }

  containerizer_actor spawn(const linux_isolation_config& iso) {
    posix_containerizer_config cfg;
    cfg.helper = binary("DCOS_CONTAINERIZER_BIN");
    cfg.fetcher = binary("DCOS_FETCHER_BIN");
    auto c = spawn_linux_containerizer(*sys, cfg, iso);
    REQUIRE_MESSAGE(c, describe(c.error()));
    return *c;
  }

  // A launch request for `argv` in the busybox image, with its own sandbox
  // that holds the probe program.
  container_launch request(std::vector<std::string> argv,
                           bool with_image = true) {
    container_launch req;
    req.container_id = "ct-" + std::to_string(::getpid()) + "-"
                       + std::to_string(next++);
    req.sandbox = dir.path + "/sandboxes/" + req.container_id;
    fs::create_directories(req.sandbox);
    fs::copy_file(binary("DCOS_CONTAINER_PROBE"),
                  req.sandbox + "/container_probe");
    // No argv: the image's entrypoint and cmd.
    req.command.entrypoint = argv.empty() && with_image;
    req.command.argv = std::move(argv);
    req.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "MESOS_SANDBOX="
                                                      + req.sandbox};
    req.limits = *resources::parse("cpus:0.5;mem:64");
    req.container.set_type(v1::ContainerInfo::MESOS);
    if (with_image) {
      auto* image = req.container.mutable_mesos()->mutable_image();
      image->set_type(v1::Image::DOCKER);
      image->mutable_docker()->set_name("busybox");
    }
    return req;
  }

  caf::expected<uint32_t> launch(const container_launch& req) {
    caf::scoped_actor self{*sys};
    caf::expected<uint32_t> out{caf::error{}};
    self->request(containerizer, 60s, launch_atom::value, req)
      .receive([&](uint32_t pid) { out = pid; },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  container_termination wait(const std::string& id,
                             caf::timespan timeout = 60s) {
    caf::scoped_actor self{*sys};
    container_termination out;
    self->request(containerizer, timeout, wait_atom::value, id)
      .receive([&](container_termination& t) { out = std::move(t); },
               [&](caf::error& err) { FAIL(describe(err)); });
    return out;
  }

  // Runs `req` to its end; returns its stdout.
  std::string run_to_end(const container_launch& req,
                         container_termination* end = nullptr) {
    auto pid = launch(req);
    REQUIRE_MESSAGE(pid, describe(pid.error()));
    return finish(req, end);
  }

  // Waits for the launched `req` to end; returns its stdout.
  std::string finish(const container_launch& req,
                     container_termination* end = nullptr) {
    auto t = wait(req.container_id);
    if (end != nullptr)
      *end = t;
    auto out = read_file(req.sandbox + "/stdout");
    CHECK_MESSAGE(t.message.find("exec") == std::string::npos,
                  t.message << "; stderr: "
                            << read_file(req.sandbox + "/stderr"));
    return out;
  }

  void destroy(const std::string& id, caf::timespan grace = 1s) {
    caf::scoped_actor self{*sys};
    self->request(containerizer, 30s, destroy_atom::value, id, grace)
      .receive([](ok_atom) {},
               [&](caf::error& err) { FAIL(describe(err)); });
  }

  v1::ContainerStatus status(const std::string& id) {
    caf::scoped_actor self{*sys};
    v1::ContainerStatus out;
    self->request(containerizer, 10s, state_atom::value, id)
      .receive([&](v1::ContainerStatus& s) { out = std::move(s); },
               [&](caf::error& err) { FAIL(describe(err)); });
    return out;
  }

  caf::expected<container_io_ptr> session(const container_launch& req) {
    caf::scoped_actor self{*sys};
    caf::expected<container_io_ptr> out{caf::error{}};
    self->request(containerizer, 60s, session_atom::value, req)
      .receive([&](container_io_ptr& io) { out = std::move(io); },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  caf::expected<container_usage> usage(const std::string& id) {
    caf::scoped_actor self{*sys};
    caf::expected<container_usage> out{caf::error{}};
    self->request(containerizer, 10s, metrics_atom::value, id)
      .receive([&](container_usage& u) { out = u; },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Everything `fd` yields up to its end.
std::string read_to_end(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    REQUIRE(n > 0);
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A terminal's output to its end (EIO, once nothing holds its other side);
// fails if that takes 20 s.
std::string read_terminal(int fd) {
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (true) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, out);
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 200) <= 0)
      continue;
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      CHECK((n == 0 || errno == EIO));
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

// The directory of container `id` in `controller`'s hierarchy, as the
// containerizer's own cgroups code places it on this host (v1 or v2).
std::string cgroup_of(const std::string& controller, const std::string& id) {
  static const auto host = isolation::cgroups::detect({"memory", "pids"});
  REQUIRE_MESSAGE(host, describe(host.error()));
  return host->path(controller, id);
}

bool cgroup_exists(const std::string& controller, const std::string& id) {
  return fs::exists(cgroup_of(controller, id));
}

} // namespace

TEST_CASE("a container sees its own processes, hostname, root and volumes") {
  fixture f;
  scratch_dir host;
  write_file(host.path + "/hello", "from the host\n");
  // It waits for the file `go` in its sandbox, so that its cgroup can be
  // seen while it runs.
  auto req = f.request(
    {"/bin/sh", "-c",
     "until test -e $MESOS_SANDBOX/go; do sleep 0.05; done; "
     "echo pid=$$; echo procs=$(ls /proc | grep -c '^[0-9]'); hostname; "
     "cat /etc/image-release; test -e /etc/motd || echo motd-whited-out; "
     "cat /data/hello; (echo x > /data/new) 2>/dev/null || echo data-ro; "
     "echo y > $MESOS_SANDBOX/scratch/made && echo sandbox-rw; pwd; "
     "test -e /work || echo host-root-hidden"});
  req.container.set_hostname("box-1");
  auto* ro = req.container.add_volumes();
  ro->set_container_path("/data");
  ro->set_mode(v1::Volume::RO);
  ro->mutable_source()->set_type(v1::Volume::Source::HOST_PATH);
  ro->mutable_source()->mutable_host_path()->set_path(host.path);
  auto* sb = req.container.add_volumes();
  sb->set_container_path("scratch");
  sb->set_mode(v1::Volume::RW);
  sb->mutable_source()->set_type(v1::Volume::Source::SANDBOX_PATH);
  sb->mutable_source()->mutable_sandbox_path()->set_path("scratch-data");
  auto pid = f.launch(req);
  REQUIRE_MESSAGE(pid, describe(pid.error()));
  CHECK(cgroup_exists("memory", req.container_id));
  write_file(req.sandbox + "/go", "");
  container_termination end;
  auto out = f.finish(req, &end);
  CHECK(end.status == 0);
  // PROGRAM is pid 2, the child of the container's init (pid 1); the only
  // other processes are the shell's own (a subshell, ls and grep).
  CHECK(contains(out, "pid=2\n"));
  auto procs = std::stoi(out.substr(out.find("procs=") + 6));
  CHECK(procs <= 5);
  CHECK(contains(out, "box-1\n"));
  CHECK(contains(out, "busybox-test\n"));
  CHECK(contains(out, "motd-whited-out\n"));
  CHECK(contains(out, "from the host\n"));
  CHECK(contains(out, "data-ro\n"));
  CHECK(contains(out, "sandbox-rw\n"));
  CHECK(read_file(req.sandbox + "/scratch-data/made") == "y\n");
  CHECK(contains(out, "\n/\n")); // the image's WorkingDir
  CHECK(contains(out, "host-root-hidden\n"));
  CHECK_FALSE(fs::exists(host.path + "/new"));
  // Nothing is left of it once it ended.
  CHECK(eventually(
    [&] { return !cgroup_exists("memory", req.container_id); }, 5s));
  CHECK(eventually([&] {
    return !fs::exists(f.isolation.runtime_dir + "/" + req.container_id);
  }, 5s));
}

TEST_CASE("a session joins a running container: its processes, root, "
          "hostname, cgroups and limits") {
  fixture f;
  auto req = f.request(
    {"/bin/sh", "-c",
     "grep CapBnd /proc/self/status > $MESOS_SANDBOX/capbnd; "
     "until test -e $MESOS_SANDBOX/stop; do sleep 0.05; done"});
  req.container.set_hostname("box-s");
  auto pid = f.launch(req);
  REQUIRE_MESSAGE(pid, describe(pid.error()));
  REQUIRE(eventually([&] { return fs::exists(req.sandbox + "/capbnd"); },
                     10s));
  container_launch s;
  s.container_id = req.container_id + ".debug";
  s.sandbox = req.sandbox;
  s.join = req.container_id;
  s.command.argv = {"/bin/sh", "-c",
                    "echo procs=$(ls /proc | grep -c '^[0-9]'); hostname; "
                    "cat /etc/image-release; pwd; echo $SESSION_VAR; "
                    "grep CapBnd /proc/self/status; cat /proc/self/cgroup; "
                    "echo to-stderr >&2; exit 5"};
  s.env = {"SESSION_VAR=from-the-session"};
  auto io = f.session(s);
  REQUIRE_MESSAGE(io, describe(io.error()));
  auto out = read_to_end((*io)->out());
  auto err = read_to_end((*io)->err());
  INFO(out, err);
  auto end = f.wait(s.container_id);
  CHECK(end.status == 5);
  // The container's pid namespace: its init, shell and sleep, and the
  // session's shell, subshell, ls and grep; not the host's processes.
  auto procs = std::stoi(out.substr(out.find("procs=") + 6));
  CHECK(procs <= 8);
  CHECK(contains(out, "box-s\n"));
  CHECK(contains(out, "busybox-test\n"));
  CHECK(contains(out, "\n/mnt/mesos/sandbox\n"));
  CHECK(contains(out, "from-the-session\n"));
  CHECK(contains(out, read_file(req.sandbox + "/capbnd")));
  CHECK(contains(out, "/" + req.container_id + "\n")); // its cgroups
  CHECK(err == "to-stderr\n");
  // The container itself runs on, and ends as it would have.
  write_file(req.sandbox + "/stop", "");
  container_termination t;
  f.finish(req, &t);
  CHECK(t.status == 0);
  // One that has ended cannot be joined.
  auto late = s;
  late.container_id = req.container_id + ".late";
  auto refused = f.session(late);
  REQUIRE_FALSE(refused);
  CHECK(contains(describe(refused.error()), "is not running"));
}

TEST_CASE("a session at a terminal: all its streams are the terminal; the "
          "jobs it leaves in its container end with it") {
  fixture f;
  auto req = f.request(
    {"/bin/sh", "-c",
     "touch $MESOS_SANDBOX/up; "
     "until test -e $MESOS_SANDBOX/stop; do sleep 0.05; done"});
  auto pid = f.launch(req);
  REQUIRE_MESSAGE(pid, describe(pid.error()));
  // Joinable once its program runs: a launch returns once the container is
  // isolated, a moment before the helper records its pid and starts it.
  REQUIRE(eventually([&] { return fs::exists(req.sandbox + "/up"); }, 10s));
  container_launch s;
  s.container_id = req.container_id + ".tty";
  s.sandbox = req.sandbox;
  s.join = req.container_id;
  s.container.mutable_tty_info()->mutable_window_size()->set_rows(24);
  s.container.mutable_tty_info()->mutable_window_size()->set_columns(80);
  // A job of its own group (job control), which the container's init
  // adopts once the shell is gone: it would hold the terminal open.
  s.command.argv = {"/bin/sh", "-c",
                    "set -m; sleep 600 & test -t 0 && test -t 1 && "
                    "test -t 2 && echo at-a-terminal >&2; exit 3"};
  auto io = f.session(s);
  REQUIRE_MESSAGE(io, describe(io.error()));
  CHECK((*io)->tty());
  CHECK((*io)->err() == -1);
  CHECK((*io)->resize(30, 100));
  auto out = read_terminal((*io)->out());
  CHECK(out == "at-a-terminal\r\n");
  CHECK(f.wait(s.container_id).status == 3);
  write_file(req.sandbox + "/stop", "");
  container_termination t;
  f.finish(req, &t);
  CHECK(t.status == 0);
}

TEST_CASE("the copy backend builds the same root without overlayfs") {
  fixture f{{"namespaces/pid", "filesystem/linux"}, "copy"};
  auto req = f.request(
    {"/bin/sh", "-c",
     "cat /etc/image-release; test -e /etc/motd || echo motd-whited-out; "
     "ls /var/cache; grep -c overlay /proc/mounts || true"});
  container_termination end;
  auto out = f.run_to_end(req, &end);
  CHECK(end.status == 0);
  CHECK(out == "busybox-test\nmotd-whited-out\nfresh\n0\n");
  fixture bad_backend{{"posix/cpu"}};
  auto iso = bad_backend.isolation;
  iso.isolators = {"filesystem/linux"};
  iso.image_backend = "aufs";
  posix_containerizer_config cfg;
  auto c = spawn_linux_containerizer(*bad_backend.sys, cfg, iso);
  REQUIRE_FALSE(c);
  CHECK(contains(describe(c.error()), "--image_provisioner_backend"));
}

TEST_CASE("a volume cannot be mounted outside the container's root") {
  fixture f{{"namespaces/pid", "filesystem/linux"}};
  scratch_dir host;
  auto req = f.request({"/bin/true"});
  auto* v = req.container.add_volumes();
  v->set_container_path("/../../etc/evil");
  v->set_mode(v1::Volume::RW);
  v->mutable_source()->set_type(v1::Volume::Source::HOST_PATH);
  v->mutable_source()->mutable_host_path()->set_path(host.path);
  auto launched = f.launch(req);
  REQUIRE_FALSE(launched);
  CHECK(contains(describe(launched.error()), "container_path"));
  // A symlink in the sandbox (a fetched archive may hold one) that leads
  // to the host does not take the mount, nor its directories, there.
  auto escape = f.request({"/bin/true"});
  fs::create_directory_symlink(host.path, escape.sandbox + "/link");
  auto* out = escape.container.add_volumes();
  out->set_container_path("/mnt/mesos/sandbox/link/evil/deeper");
  out->set_mode(v1::Volume::RW);
  out->mutable_source()->set_type(v1::Volume::Source::HOST_PATH);
  out->mutable_source()->mutable_host_path()->set_path(host.path);
  REQUIRE(f.launch(escape));
  auto end = f.wait(escape.container_id);
  CHECK(end.status == 127);
  CHECK(contains(end.message, "leads outside the container"));
  CHECK_FALSE(fs::exists(host.path + "/evil"));
  // A relative symlink that stays inside is followed.
  auto inside = f.request({"/bin/sh", "-c", "cat /mnt/mesos/data/hello"});
  write_file(host.path + "/hello", "hi\n");
  fs::create_directory_symlink("..", inside.sandbox + "/link");
  auto* ok = inside.container.add_volumes();
  ok->set_container_path("/mnt/mesos/sandbox/link/data");
  ok->set_mode(v1::Volume::RO);
  ok->mutable_source()->set_type(v1::Volume::Source::HOST_PATH);
  ok->mutable_source()->mutable_host_path()->set_path(host.path);
  CHECK(f.run_to_end(inside) == "hi\n");
}

TEST_CASE("the image's entrypoint, environment and working directory apply") {
  fixture f;
  auto req = f.request({});
  // The image's Cmd is /bin/sh: with stdin at /dev/null it ends at once.
  container_termination end;
  f.run_to_end(req, &end);
  CHECK(end.status == 0);
  // Arguments without a command replace the image's cmd (it has no
  // entrypoint: they are the whole command, as with `docker run`).
  auto args = f.request({});
  args.command.argv = {"/bin/sh", "-c", "echo replaced cmd"};
  CHECK(f.run_to_end(args) == "replaced cmd\n");
  auto env = f.request({"/bin/sh", "-c", "echo PATH=$PATH; echo SB=$MESOS_SANDBOX"});
  auto out = f.run_to_end(env);
  CHECK(contains(out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
  CHECK(contains(out, "SB=/mnt/mesos/sandbox\n"));
}

TEST_CASE("seccomp blocks what Docker blocks with EPERM; profiles apply") {
  fixture f;
  auto probe = "/mnt/mesos/sandbox/container_probe";
  auto confined = f.run_to_end(f.request({probe, "keyctl"}));
  CHECK(contains(confined, "keyctl: EPERM (1)"));
  auto unconfined_req = f.request({probe, "keyctl"});
  unconfined_req.container.mutable_linux_info()
    ->mutable_seccomp()
    ->set_unconfined(true);
  auto unconfined = f.run_to_end(unconfined_req);
  CHECK_FALSE(contains(unconfined, "EPERM"));
  CHECK(contains(unconfined, "keyctl:"));
  auto custom_req = f.request({probe, "getcwd"});
  custom_req.container.mutable_linux_info()->mutable_seccomp()
    ->set_profile_name("nogetcwd");
  CHECK(contains(f.run_to_end(custom_req), "getcwd: ENOSYS (38)"));
  auto unknown = f.request({probe, "getcwd"});
  unknown.container.mutable_linux_info()->mutable_seccomp()
    ->set_profile_name("nope");
  auto launched = f.launch(unknown);
  REQUIRE_FALSE(launched);
  CHECK(contains(describe(launched.error()), "profile_name"));
}

TEST_CASE("capabilities are cut to Docker's set unless allowed; rlimits") {
  fixture f;
  auto probe = "/mnt/mesos/sandbox/container_probe";
  // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
  // NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
  uint64_t expected = 0;
  for (int bit : {0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31})
    expected |= uint64_t{1} << bit;
  auto out = f.run_to_end(f.request({probe, "caps"}));
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(expected));
  CHECK(contains(out, std::string{"CapBnd:\t"} + hex));
  auto more = f.request({probe, "caps"});
  more.container.mutable_linux_info()->mutable_bounding_capabilities()
    ->add_capabilities(v1::CapabilityInfo::NET_ADMIN);
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(expected | (1ull << 12)));
  CHECK(contains(f.run_to_end(more), std::string{"CapBnd:\t"} + hex));
  auto refused = f.request({probe, "caps"});
  refused.container.mutable_linux_info()->mutable_bounding_capabilities()
    ->add_capabilities(v1::CapabilityInfo::SYS_ADMIN);
  auto launched = f.launch(refused);
  REQUIRE_FALSE(launched);
  CHECK(contains(describe(launched.error()), "SYS_ADMIN"));
  auto limited = f.request({"/bin/sh", "-c", "ulimit -n; ulimit -Hn"});
  auto* nofile = limited.container.mutable_rlimit_info()->add_rlimits();
  nofile->set_type(v1::RLimitInfo::RLimit::RLMT_NOFILE);
  nofile->set_soft(77);
  nofile->set_hard(99);
  CHECK(f.run_to_end(limited) == "77\n99\n");
}

TEST_CASE("seccomp and rlimits apply without namespaces or an image") {
  fixture f{{"linux/seccomp", "posix/rlimits"}};
  auto req = f.request({}, false);
  req.command.argv = {"/bin/sh", "-c",
                      "ulimit -n; " + req.sandbox + "/container_probe keyctl"};
  auto* nofile = req.container.mutable_rlimit_info()->add_rlimits();
  nofile->set_type(v1::RLimitInfo::RLimit::RLMT_NOFILE);
  nofile->set_soft(55);
  nofile->set_hard(55);
  CHECK(f.run_to_end(req) == "55\nkeyctl: EPERM (1)\n");
}

TEST_CASE("without a mount namespace, volumes are links in the sandbox") {
  // Mesos' filesystem/posix: a persistent volume at "data" is reachable
  // there; an absolute container path is refused, naming the field.
  fixture f{{"posix/rlimits"}};
  auto volume = f.dir.path + "/volume";
  fs::create_directories(volume);
  auto req = f.request({"/bin/sh", "-c", "echo kept > data/file && cat "
                                         "data/file"},
                       false);
  auto* v = req.container.add_volumes();
  v->set_container_path("data");
  v->set_mode(v1::Volume::RW);
  v->mutable_source()->set_type(v1::Volume::Source::HOST_PATH);
  v->mutable_source()->mutable_host_path()->set_path(volume);
  CHECK(f.run_to_end(req) == "kept\n");
  CHECK(read_file(volume + "/file") == "kept\n");

  auto absolute = f.request({"/bin/true"}, false);
  *absolute.container.add_volumes() = *v;
  absolute.container.mutable_volumes(0)->set_container_path("/data");
  auto refused = f.launch(absolute);
  REQUIRE(!refused);
  CHECK_MESSAGE(contains(describe(refused.error()),
                         "container.volumes[0].container_path"),
                describe(refused.error()));
}

TEST_CASE("the containerizer remembers only the last ended containers") {
  // An agent runs containers for months: the end of each is kept for its
  // waiters, not for ever.
  fixture f{{"posix/rlimits"}};
  auto sandbox = f.dir.path + "/shared-sandbox";
  fs::create_directories(sandbox);
  auto id = [](size_t n) { return "short-" + std::to_string(n); };
  for (size_t n = 0; n <= ended_containers_kept; ++n) {
    container_launch req;
    req.container_id = id(n);
    req.sandbox = sandbox;
    req.command.argv = {"/bin/true"};
    req.env = {"PATH=/usr/bin:/bin"};
    req.limits = *resources::parse("cpus:0.1;mem:32");
    auto pid = f.launch(req);
    REQUIRE_MESSAGE(pid, describe(pid.error()));
    CHECK(f.wait(req.container_id).status == 0);
  }
  // One more launch forgets the oldest beyond the bound.
  container_launch last;
  last.container_id = id(ended_containers_kept + 1);
  last.sandbox = sandbox;
  last.command.argv = {"/bin/false"};
  last.env = {"PATH=/usr/bin:/bin"};
  last.limits = *resources::parse("cpus:0.1;mem:32");
  REQUIRE(f.launch(last));
  CHECK(f.wait(last.container_id).status == 1);
  CHECK(f.wait(id(2)).status == 0); // still remembered
  caf::scoped_actor self{*f.sys};
  bool forgotten = false;
  self->request(f.containerizer, 10s, wait_atom::value, id(0))
    .receive([](const container_termination&) {},
             [&](caf::error&) { forgotten = true; });
  CHECK(forgotten);
}

TEST_CASE("memory over the limit ends the container with the OOM reason") {
  fixture f;
  auto req = f.request({"/mnt/mesos/sandbox/container_probe", "alloc", "512"});
  req.limits = *resources::parse("cpus:0.5;mem:32");
  container_termination end;
  f.run_to_end(req, &end);
  CHECK(end.status != 0);
  REQUIRE(end.reason.has_value());
  CHECK(*end.reason == v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);
  CHECK(contains(end.message, "Memory limit exceeded"));
}

TEST_CASE("a fork bomb stays within the pids limit and is destroyed") {
  fixture f;
  // The shell execs sleep: a shell that fails to fork would exit, and end
  // the container before the test could destroy it.
  auto req = f.request({"/bin/sh", "-c", "b() { b | b & }; b & exec sleep 600"});
  auto pid = f.launch(req);
  REQUIRE_MESSAGE(pid, describe(pid.error()));
  // The bomb runs into the cgroup's limit (the kernel counts the forks it
  // refused), and the container never holds more than the limit.
  CHECK(cgroup_exists("pids", req.container_id));
  auto events = cgroup_of("pids", req.container_id) + "/pids.events";
  uint64_t seen = 0;
  bool refused = eventually([&] {
    if (auto u = f.usage(req.container_id))
      seen = std::max<uint64_t>(seen, u->processes);
    auto text = read_file(events);
    return text.rfind("max ", 0) == 0 && std::stoull(text.substr(4)) > 0;
  }, 15s);
  // (The bomb may collapse once its forks fail, so its size is not
  // checked from below: the kernel's refusals show it reached the limit.)
  CHECK(refused);
  CHECK(seen <= 64);
  auto usage = f.usage(req.container_id);
  REQUIRE(usage);
  CHECK(usage->mem_limit_bytes == 64ull * 1024 * 1024);
  auto started = std::chrono::steady_clock::now();
  f.destroy(req.container_id);
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  auto end = f.wait(req.container_id);
  CHECK(end.destroyed);
  CHECK(::kill(static_cast<pid_t>(*pid), 0) != 0);
  CHECK(eventually(
    [&] { return !cgroup_exists("pids", req.container_id); }, 10s));
}

TEST_CASE("containers reach each other on one network, not across networks") {
  remove_test_networks();
  struct cleanup {
    ~cleanup() { remove_test_networks(); }
  } guard;
  fixture f{{"cgroups/mem", "namespaces/pid", "filesystem/linux",
             "network/bridge"}};
  auto on = [&](const char* network, std::vector<std::string> argv) {
    auto req = f.request(std::move(argv));
    req.container.add_network_infos()->set_name(network);
    return req;
  };
  auto server = on("ct-blue", {"/bin/sh", "-c",
                               "ip -4 addr show eth0; nc -l -p 7000"});
  REQUIRE(f.launch(server));
  auto server_ip = f.status(server.container_id).network_infos(0)
                     .ip_addresses(0).ip_address();
  CHECK(server_ip.rfind("10.232.1.", 0) == 0);
  // The address the status reports is the one inside.
  CHECK(eventually([&] {
    return contains(read_file(server.sandbox + "/stdout"), server_ip + "/24");
  }, 5s));
  auto stranger = on("ct-red", {"/bin/sh", "-c",
                                "echo intruder | nc -w 2 " + server_ip
                                  + " 7000 && echo sent || echo refused"});
  auto stranger_out = f.run_to_end(stranger);
  CHECK(contains(stranger_out, "refused"));
  auto stranger_ip = f.status(stranger.container_id);
  auto client = on("ct-blue", {"/bin/sh", "-c",
                               "echo neighbour | nc -w 2 " + server_ip
                                 + " 7000 && echo sent"});
  CHECK(contains(f.run_to_end(client), "sent"));
  auto end = f.wait(server.container_id, 10s);
  CHECK(end.status == 0);
  auto got = read_file(server.sandbox + "/stdout");
  CHECK(contains(got, "neighbour"));
  CHECK_FALSE(contains(got, "intruder"));
  // Addresses go back to the pool when their containers end.
  CHECK(eventually([&] {
    return fs::is_empty(f.isolation.network_state_dir + "/containers");
  }, 5s));
}

TEST_CASE("after a restart, live containers are adopted and orphans destroyed") {
  fixture f;
  auto kept = f.request({"/bin/sleep", "600"});
  auto orphan = f.request({"/bin/sleep", "600"});
  auto kept_pid = f.launch(kept);
  auto orphan_pid = f.launch(orphan);
  REQUIRE(kept_pid);
  REQUIRE(orphan_pid);
  CHECK(cgroup_exists("memory", orphan.container_id));
  // The agent dies: its containerizer goes, the containers stay.
  caf::anon_send_exit(f.containerizer, caf::exit_reason::kill);
  std::this_thread::sleep_for(200ms);
  CHECK(::kill(static_cast<pid_t>(*orphan_pid), 0) == 0);
  f.containerizer = f.spawn(f.isolation);
  caf::scoped_actor self{*f.sys};
  std::vector<std::string> alive;
  std::vector<known_container> known{{kept.container_id, kept.sandbox,
                                      *kept_pid}};
  self->request(f.containerizer, 30s, recover_atom::value, known)
    .receive([&](std::vector<std::string>& ids) { alive = ids; },
             [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(alive == std::vector<std::string>{kept.container_id});
  // The orphan (known to no one) is killed and its cgroups removed.
  CHECK(eventually([&] {
    return !cgroup_exists("memory", orphan.container_id);
  }, 10s));
  // Its helper is our child (the agent's, were this an agent), so it stays
  // a zombie until reaped here.
  CHECK(eventually([&] {
    return ::waitpid(static_cast<pid_t>(*orphan_pid), nullptr, WNOHANG)
           == static_cast<pid_t>(*orphan_pid);
  }, 5s));
  // The adopted one is still isolated and can be destroyed as before.
  CHECK(cgroup_exists("memory", kept.container_id));
  f.destroy(kept.container_id);
  CHECK(f.wait(kept.container_id).destroyed);
  CHECK(eventually(
    [&] { return !cgroup_exists("memory", kept.container_id); }, 10s));
}

TEST_CASE("an isolator the host cannot provide is refused at start-up") {
  fixture f{{"posix/cpu"}};
  linux_isolation_config bad;
  bad.isolators = {"cgroups/cpu", "cgroups/bogus"};
  bad.runtime_dir = f.dir.path + "/runtime";
  posix_containerizer_config cfg;
  auto c = spawn_linux_containerizer(*f.sys, cfg, bad);
  REQUIRE_FALSE(c);
  CHECK(contains(describe(c.error()), "cgroups/bogus"));
  bad.isolators = {"filesystem/linux"};
  bad.image_store_dir = f.dir.path + "/no-such-dir";
  c = spawn_linux_containerizer(*f.sys, cfg, bad);
  REQUIRE_FALSE(c);
  CHECK(contains(describe(c.error()), "--image_store_dir"));
}

TEST_CASE("an agent with Linux isolation runs a task in an image on a "
          "network; a host without an isolator is refused") {
  remove_test_networks();
  struct cleanup {
    ~cleanup() { remove_test_networks(); }
  } guard;
  scratch_dir dir;
  // An isolator this host does not have: one line, exit 2, nothing runs.
  subprocess_options bad;
  bad.argv = {binary("DCOS_AGENT_BIN"), "--master=127.0.0.1:1",
              "--work_dir=" + dir.path + "/bad",
              "--isolation=cgroups/cpu,cgroups/bogus"};
  bad.capture_stdout = true;
  bad.stderr_path = dir.path + "/bad.err";
  auto refused = subprocess::spawn(bad);
  REQUIRE(refused);
  CHECK(refused->wait() == 2);
  auto err = read_file(dir.path + "/bad.err");
  CHECK(contains(err, "unknown isolator 'cgroups/bogus'"));
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);

  write_file(dir.path + "/networks.json", test_networks);
  master_process master;
  agent_process agent{
    master.address(), dir.path + "/agent",
    {"--isolation=cgroups/cpu,cgroups/mem,cgroups/pids,namespaces/pid,"
     "filesystem/linux,linux/seccomp,linux/capabilities,posix/rlimits,"
     "network/bridge",
     "--image_store_dir=" + busybox_image_store(),
     "--networks=" + dir.path + "/networks.json",
     "--resources=cpus:2;mem:1024"}};
  struct stop {
    agent_process& a;
    ~stop() { a.process.kill(SIGUSR1); a.process.wait(); }
  } stop_agent{agent};
  subprocess_options exec;
  exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master.address(),
               "--name=boxed", "--docker_image=busybox",
               "--networks=ct-blue",
               "--command=hostname; cat /etc/image-release; "
               "ip -4 -o addr show eth0"};
  exec.capture_stdout = true;
  exec.stderr_path = "/dev/null";
  auto run = subprocess::spawn(exec);
  REQUIRE(run);
  auto out = run->read_all(60s);
  REQUIRE(out);
  CHECK(run->wait() == 0);
  INFO(*out);
  CHECK(contains(*out, "TASK_FINISHED for task 'boxed'"));
  // TASK_RUNNING carries the address the agent's IPAM gave the task ...
  auto at = out->find("network ct-blue: ");
  REQUIRE(at != std::string::npos);
  auto ip = out->substr(at + 17, out->find('\n', at) - at - 17);
  CHECK(ip.rfind("10.232.1.", 0) == 0);
  // ... and it is the one the task saw inside.
  subprocess_options log;
  log.argv = {binary("DCOS_CLI"), "task", "log", "boxed",
              "--master=" + master.address()};
  log.capture_stdout = true;
  log.stderr_path = dir.path + "/log.err";
  auto logp = subprocess::spawn(log);
  REQUIRE(logp);
  auto text = logp->read_all(30s);
  CHECK_MESSAGE(logp->wait() == 0, read_file(dir.path + "/log.err"));
  REQUIRE(text);
  CHECK(contains(*text, "busybox-test\n"));
  CHECK(contains(*text, "inet " + ip + "/24"));

  // Over its memory limit: TASK_FAILED, and the framework learns why.
  exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master.address(),
               "--name=greedy", "--docker_image=busybox",
               "--resources=cpus:0.1;mem:32",
               "--command=dd if=/dev/zero of=/dev/null bs=200M count=1"};
  auto greedy = subprocess::spawn(exec);
  REQUIRE(greedy);
  auto greedy_out = greedy->read_all(60s);
  REQUIRE(greedy_out);
  CHECK(greedy->wait() == 1);
  CHECK(contains(*greedy_out, "TASK_FAILED for task 'greedy': Memory limit "
                              "exceeded"));

  // A running task's usage, as the kernel accounts it, at
  // /monitor/statistics.
  exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master.address(),
               "--name=steady", "--resources=cpus:0.5;mem:48",
               "--command=sleep 600"};
  exec.capture_stdout = false;
  exec.stdout_path = "/dev/null";
  auto steady = subprocess::spawn(exec);
  REQUIRE(steady);
  std::string stats;
  CHECK(eventually([&] {
    stats = curl({"http://" + agent.address() + "/monitor/statistics"}).body;
    return contains(stats, "\"executor_id\":\"steady\"")
           && contains(stats, "\"processes\"");
  }));
  INFO(stats);
  CHECK(contains(stats, "\"cpus_user_time_secs\""));
  CHECK(contains(stats, "\"cpus_nr_throttled\""));
  CHECK(contains(stats, "\"mem_rss_bytes\""));
  CHECK(contains(stats, "\"cpus_limit\":0.5"));
  // ... and the totals in the agent's metrics.
  auto metrics = parse_json_object(
    curl({"http://" + agent.address() + "/metrics/snapshot"}).body);
  const auto& fields = metrics.fields();
  REQUIRE(fields.count("containers/mem_rss_bytes") == 1);
  CHECK(fields.at("containers/mem_rss_bytes").number_value() > 0);
  CHECK(fields.at("containers/processes").number_value() >= 1);
  CHECK(fields.count("containers/cpus_throttled_time_secs") == 1);
  steady->kill(SIGTERM);
}

TEST_CASE("kill -9 of an isolated agent: its containers are recovered, "
          "orphans destroyed") {
  scratch_dir dir;
  master_process master;
  std::vector<std::string> flags{
    "--isolation=cgroups/cpu,cgroups/mem,namespaces/pid,filesystem/linux",
    "--image_store_dir=" + busybox_image_store(), "--resources=cpus:2;mem:1024"};
  auto agent = std::make_unique<agent_process>(master.address(),
                                               dir.path + "/agent", flags);
  subprocess_options exec;
  exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master.address(),
               "--name=survivor", "--docker_image=busybox",
               "--command=sleep 4; echo survived"};
  exec.capture_stdout = true;
  exec.stderr_path = "/dev/null";
  auto run = subprocess::spawn(exec);
  REQUIRE(run);
  std::string seen;
  while (seen.find("TASK_RUNNING") == std::string::npos) {
    auto line = run->read_line(60s);
    DCOS_REQUIRE_OK(line);
    seen += *line + "\n";
  }
  // A container no agent knows of: a process in a cgroup of ours.
  auto orphan_id = "orphan-" + std::to_string(::getpid());
  auto orphan_cgroup = cgroup_of("memory", orphan_id);
  fs::create_directories(orphan_cgroup);
  subprocess_options sleeper;
  sleeper.argv = {"sleep", "600"};
  auto orphan = subprocess::spawn(sleeper);
  REQUIRE(orphan);
  write_file(orphan_cgroup + "/cgroup.procs", std::to_string(orphan->pid()));
  // The agent dies; its containers do not, and a new agent adopts them.
  agent->process.kill(SIGKILL);
  agent->process.wait();
  agent = std::make_unique<agent_process>(master.address(),
                                          dir.path + "/agent", flags);
  auto rest = run->read_all(60s);
  DCOS_REQUIRE_OK(rest);
  seen += *rest;
  CHECK(run->wait() == 0);
  INFO(seen);
  CHECK(contains(seen, "TASK_FINISHED for task 'survivor'"));
  CHECK(eventually([&] { return orphan->poll().has_value(); }, 10s));
  CHECK(eventually([&] { return !fs::exists(orphan_cgroup); }, 10s));
  agent->process.kill(SIGUSR1);
  agent->process.wait();
}
