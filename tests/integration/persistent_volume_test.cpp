// Persistent local volumes end to end, as in Mesos: a framework of role `db`
// CREATEs a volume on disk statically reserved to it, a task writes into the
// volume through its container's bind mount, a second task reads the data
// back after the first one ended, and DESTROY removes the volume. Real
// dcos-master, dcos-agent (Linux isolation, as root), executors and
// containers; the framework is the scheduler SDK in this process.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "dcos/resources.hpp"
#include "dcos/scheduler.hpp"
#include "support/network_node.hpp"
#include "support/offer_holder.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* role = "db";

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// The role a resource is reserved to (its innermost reservation), or "*".
std::string reserved_role(const v1::Resource& r) {
  return r.reservations_size() == 0
           ? "*"
           : r.reservations(r.reservations_size() - 1).role();
}

bool is_volume(const v1::Resource& r, const std::string& id) {
  return r.name() == "disk" && r.has_disk() && r.disk().has_persistence()
         && r.disk().persistence().id() == id;
}

// Disk reserved to `role` that is not (part of) a persistent volume.
bool is_plain_reserved_disk(const v1::Resource& r) {
  return r.name() == "disk" && reserved_role(r) == role
         && !(r.has_disk() && r.disk().has_persistence());
}

// Filters that do not hold back what an ACCEPT leaves unused: the next step
// of the test needs it offered again at once.
v1::Filters no_refusal() {
  v1::Filters f;
  f.set_refuse_seconds(0);
  return f;
}

double total_scalar(const std::vector<v1::Resource>& rs) {
  double sum = 0;
  for (const auto& r : rs)
    sum += r.scalar().value();
  return sum;
}

// `size` MB of the offered reserved disk `plain`, made a volume: the offered
// resource (reservation and allocation included) plus its disk identity.
v1::Resource make_volume(const v1::Resource& plain, const std::string& id,
                         double size) {
  v1::Resource v = plain;
  v.mutable_scalar()->set_value(size);
  v.mutable_disk()->mutable_persistence()->set_id(id);
  v.mutable_disk()->mutable_volume()->set_container_path("data");
  v.mutable_disk()->mutable_volume()->set_mode(v1::Volume::RW);
  return v;
}

// A command task of cpus:0.1;mem:32 that also uses `volume`.
v1::TaskInfo volume_task(const std::string& id, const std::string& command,
                         const v1::Offer& offer, const v1::Resource& volume) {
  auto t = command_task(id, command);
  *t.mutable_agent_id() = offer.agent_id();
  *t.add_resources() = volume;
  return t;
}

v1::Offer::Operation create_op(const v1::Resource& volume) {
  v1::Offer::Operation op;
  op.set_type(v1::Offer::Operation::CREATE);
  *op.mutable_create()->add_volumes() = volume;
  return op;
}

v1::Offer::Operation destroy_op(const v1::Resource& volume) {
  v1::Offer::Operation op;
  op.set_type(v1::Offer::Operation::DESTROY);
  *op.mutable_destroy()->add_volumes() = volume;
  return op;
}

v1::Offer::Operation launch_op(v1::TaskInfo task) {
  v1::Offer::Operation op;
  op.set_type(v1::Offer::Operation::LAUNCH);
  *op.mutable_launch()->add_task_infos() = std::move(task);
  return op;
}

// Host mounts below `dir` (a container's bind mounts must stay in its own
// mount namespace).
std::vector<std::string> host_mounts_under(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in{"/proc/self/mountinfo"};
  for (std::string line; std::getline(in, line);)
    if (contains(line, " " + dir))
      out.push_back(line);
  return out;
}

} // namespace

TEST_CASE("a persistent volume outlives its task, is offered back, and "
          "DESTROY removes it") {
  REQUIRE_MESSAGE(::geteuid() == 0, "the Linux containerizer needs root");
  scratch_dir dir;
  master_process master{{"--allocation_interval=100ms"}};
  auto work_dir = dir.path + "/agent";
  agent_process agent{master.address(), work_dir,
                      {"--isolation=filesystem/linux,namespaces/pid",
                       "--resources=cpus:2;mem:512;disk(db):100"}};
  agent_stopper stop{agent, master.address()};

  network_node node;
  auto detector = node.keep(
    spawn_remote_detector(*node.sys, "127.0.0.1", master.port));
  offer_holder sched;
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("persistent-volumes");
  info.add_roles(role);
  scheduler_driver driver{*node.sys, sched, info, detector};

  const auto volume_dir = work_dir + "/volumes/roles/db/vol-1";

  // 1. CREATE on 64 of the 100 reserved MB, and in the same ACCEPT a task
  //    that writes into the new volume.
  {
    auto offers = sched.take_offers(is_plain_reserved_disk);
    REQUIRE_MESSAGE(!offers.empty(), "no offer of disk reserved to 'db'");
    auto plain = find(offers, is_plain_reserved_disk);
    REQUIRE(total_scalar(plain) == 100);
    auto volume = make_volume(plain.front(), "vol-1", 64);
    driver.accept(ids_of(offers),
                  {create_op(volume),
                   launch_op(volume_task("writer",
                                         "echo hello > data/greeting && "
                                         "test -s data/greeting",
                                         offers.front(), volume))},
                  no_refusal());
  }
  auto writer = sched.wait_terminal("writer");
  REQUIRE_MESSAGE(writer, "no terminal update for 'writer'");
  INFO("writer: " << v1::TaskState_Name(writer->state()) << ": "
                  << writer->message());
  REQUIRE(writer->state() == v1::TASK_FINISHED);

  // 2. The data is in the volume's directory on the host, which outlived
  //    the task's container; the mount did not leak onto the host.
  CHECK(read_file(volume_dir + "/greeting") == "hello\n");
  CHECK(host_mounts_under(dir.path).empty());

  // 3. The volume comes back in an offer to the role, whole and with its
  //    container path; only the rest of the reserved disk stays plain.
  {
    auto offers = sched.take_offers(
      [](const auto& r) { return is_volume(r, "vol-1"); });
    REQUIRE_MESSAGE(!offers.empty(), "the volume was not offered back");
    auto volumes = find(offers,
                        [](const auto& r) { return is_volume(r, "vol-1"); });
    REQUIRE(volumes.size() == 1);
    const auto& volume = volumes.front();
    CHECK(volume.scalar().value() == 64);
    CHECK(reserved_role(volume) == role);
    CHECK(volume.disk().volume().container_path() == "data");
    CHECK(volume.disk().volume().mode() == v1::Volume::RW);
    CHECK(total_scalar(find(offers, is_plain_reserved_disk)) == 36);
    // A second task finds what the first one wrote.
    driver.accept(ids_of(offers),
                  {launch_op(volume_task("reader",
                                         "cat data/greeting && "
                                         "grep -q hello data/greeting",
                                         offers.front(), volume))},
                  no_refusal());
  }
  auto reader = sched.wait_terminal("reader");
  REQUIRE_MESSAGE(reader, "no terminal update for 'reader'");
  INFO("reader: " << v1::TaskState_Name(reader->state()) << ": "
                  << reader->message());
  REQUIRE(reader->state() == v1::TASK_FINISHED);

  // 4. DESTROY: the agent removes the directory, and the disk is plain
  //    reserved disk again, all 100 MB of it.
  {
    auto offers = sched.take_offers(
      [](const auto& r) { return is_volume(r, "vol-1"); });
    REQUIRE_MESSAGE(!offers.empty(), "the volume was not offered again");
    auto volume = find(offers,
                       [](const auto& r) { return is_volume(r, "vol-1"); });
    REQUIRE(volume.size() == 1);
    driver.accept(ids_of(offers), {destroy_op(volume.front())}, no_refusal());
  }
  CHECK(eventually([&] { return !fs::exists(volume_dir); }));
  {
    auto offers = sched.take_offers([](const v1::Resource& r) {
      return is_plain_reserved_disk(r) && r.scalar().value() == 100;
    });
    REQUIRE_MESSAGE(!offers.empty(), "the destroyed volume's disk did not "
                                     "come back as plain reserved disk");
    CHECK(find(offers, [](const auto& r) {
            return r.has_disk() && r.disk().has_persistence();
          }).empty());

    // 5. A volume that was never created cannot be used: the master refuses
    //    the task, naming its resources, and the agent makes no directory.
    auto plain = find(offers, is_plain_reserved_disk);
    auto ghost = make_volume(plain.front(), "vol-ghost", 64);
    driver.accept(ids_of(offers),
                  {launch_op(volume_task("ghost", "true", offers.front(),
                                         ghost))},
                  no_refusal());
  }
  auto ghost = sched.wait_terminal("ghost");
  REQUIRE_MESSAGE(ghost, "no terminal update for 'ghost'");
  CHECK(ghost->state() == v1::TASK_ERROR);
  CHECK(ghost->reason() == v1::TaskStatus::REASON_TASK_INVALID);
  CHECK_MESSAGE(contains(ghost->message(), "resources"), ghost->message());
  CHECK_FALSE(fs::exists(work_dir + "/volumes/roles/db/vol-ghost"));

  {
    std::lock_guard guard{sched.mtx};
    CHECK(sched.errors.empty());
  }
  driver.teardown();
  driver.join();
}
