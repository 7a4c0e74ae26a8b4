// A pod instance's life on its reservation, as the SDK's launch machinery
// (dcos/pod_launch.hpp) plans it, against a real dcos-master and
// dcos-agent (Linux isolation, as root): the first launch RESERVEs,
// CREATEs the pod's and the task's volumes and launches a task group that
// writes into both; a second launch of the instance finds the same
// reservation and volumes in the offer and reads the data back; the
// release DESTROYs the volumes and UNRESERVEs everything, so the agent's
// resources are all unreserved again.
#include <signal.h>

#include <filesystem>

#include <map>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/pod_launch.hpp"
#include "dcos/resources.hpp"
#include "dcos/service_spec.hpp"
#include "support/network_node.hpp"
#include "support/offer_holder.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* spec_yaml = R"(name: kv
scheduler: {principal: kv-principal, role: kv-role, user: root}
pods:
  store:
    count: 1
    volume: {path: shared, type: ROOT, size: 32}
    resource-sets:
      rs: {cpus: 0.1, memory: 32, volume: {path: data, type: ROOT, size: 64}}
    tasks:
      writer:
        goal: FINISH
        resource-set: rs
        cmd: echo $POD_INSTANCE_INDEX > data/index && echo pod > shared/note && grep -qx 'index 0' etc/kv.conf
        configs:
          conf: {template: kv.conf.mustache, dest: etc/kv.conf}
      reader:
        goal: FINISH
        resource-set: rs
        cmd: grep -qx 0 data/index && grep -qx pod shared/note
plans:
  deploy:
    phases:
      store:
        pod: store
        steps:
          - default: [[writer]]
)";

bool has_label(const v1::Resource& r, const std::string& id) {
  if (r.reservations_size() == 0)
    return false;
  for (const auto& l : r.reservations(r.reservations_size() - 1)
                         .labels()
                         .labels())
    if (l.key() == resource_id_label && l.value() == id)
      return true;
  return false;
}

// A protobuf map, comparable.
std::map<std::string, std::string>
as_map(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

// The held offers of the one agent as one offer (a new offer may come
// for resources that returned while an older one is held).
v1::Offer merged(const std::vector<v1::Offer>& offers) {
  REQUIRE(!offers.empty());
  auto out = offers.front();
  out.clear_resources();
  for (const auto& o : offers)
    for (const auto& r : o.resources())
      *out.add_resources() = r;
  return out;
}

bool is_volume(const v1::Resource& r) {
  return r.has_disk() && r.disk().has_persistence();
}

// Plans `tasks` of the instance on the held offers, accepts, and waits for
// the task group's end; the instance as the launch left it.
v1::PodInstance launch(offer_holder& sched, scheduler_driver& driver,
                       const v1::ServiceSpec& spec, v1::PodInstance instance,
                       const std::string& task,
                       const std::function<bool(const v1::Resource&)>& pred) {
  auto offers = sched.take_offers(pred);
  auto offer = merged(offers);
  pod_launch_request req;
  req.spec = &spec;
  req.instance = std::move(instance);
  req.tasks = {task};
  int n = 0;
  req.new_id = [&n, &task] { return task + "-id-" + std::to_string(++n); };
  auto available = resources::from_proto(offer.resources());
  REQUIRE(available);
  auto planned = plan_pod_launch(req, offer, *available);
  REQUIRE_MESSAGE(planned.fits, planned.reason);
  v1::Filters no_refusal;
  no_refusal.set_refuse_seconds(0);
  driver.accept(ids_of(offers), planned.operations, no_refusal);
  auto id = planned.instance.task_ids().at(task);
  auto end = sched.wait_terminal(id);
  REQUIRE_MESSAGE(end, "no terminal update for " << id);
  INFO(task << ": " << v1::TaskState_Name(end->state()) << ": "
            << end->message());
  REQUIRE(end->state() == v1::TASK_FINISHED);
  return planned.instance;
}

} // namespace

TEST_CASE("a pod instance is reserved, keeps its volumes across launches, "
          "and is released") {
  REQUIRE_MESSAGE(::geteuid() == 0, "the Linux containerizer needs root");
  auto spec = parse_service_spec(spec_yaml);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  spec->mutable_pods(0)->mutable_tasks(0)->mutable_configs(0)
    ->set_template_text("index {{POD_INSTANCE_INDEX}}\n");

  scratch_dir dir;
  master_process master{{"--allocation_interval=100ms"}};
  auto work_dir = dir.path + "/agent";
  agent_process agent{master.address(), work_dir,
                      {"--isolation=filesystem/linux,namespaces/pid",
                       "--resources=cpus:2;mem:512;disk:1000;"
                       "ports:[31000-31005]"}};
  agent_stopper stop{agent, master.address()};

  network_node node;
  auto detector = node.keep(
    spawn_remote_detector(*node.sys, "127.0.0.1", master.port));
  offer_holder sched;
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("kv");
  info.set_principal("kv-principal");
  info.add_roles("kv-role");
  scheduler_driver driver{*node.sys, sched, info, detector};

  auto unreserved_disk = [](const v1::Resource& r) {
    return r.name() == "disk" && r.reservations_size() == 0
           && r.scalar().value() == 1000;
  };

  // 1. First launch: reserve, create both volumes, write into them.
  v1::PodInstance fresh;
  fresh.set_pod("store");
  fresh.set_index(0);
  auto inst = launch(sched, driver, *spec, fresh, "writer", unreserved_disk);
  CHECK(inst.volumes().size() == 2);
  const auto rid = inst.reservation_id();
  for (const auto& [key, id] : inst.volumes())
    CHECK_MESSAGE(fs::exists(work_dir + "/volumes/roles/kv-role/" + id),
                  key);

  // 2. The reservation and volumes come back; a second task of the pod, on
  //    them, finds what the first wrote (its own volume and the pod's).
  auto ours = [&rid](const v1::Resource& r) {
    return is_volume(r) && has_label(r, rid);
  };
  auto offered_volumes = [&](const std::vector<v1::Offer>& offers) {
    return find(offers, ours).size();
  };
  {
    // Wait until both volumes are offered (the executor's returns when the
    // executor ended).
    CHECK(eventually([&] {
      std::lock_guard guard{sched.mtx};
      return offered_volumes(sched.held) == 2;
    }, 30s));
  }
  auto again = launch(sched, driver, *spec, inst, "reader", ours);
  CHECK(again.reservation_id() == rid);
  CHECK(as_map(again.volumes()) == as_map(inst.volumes()));

  // 3. Release: the volumes' directories go, and all of the agent's
  //    resources are unreserved again.
  CHECK(eventually([&] {
    std::lock_guard guard{sched.mtx};
    return offered_volumes(sched.held) == 2;
  }, 30s));
  {
    auto offers = sched.take_offers(ours);
    auto ops = release_pod_instance(again, merged(offers));
    REQUIRE(ops.size() == 2);
    v1::Filters no_refusal;
    no_refusal.set_refuse_seconds(0);
    driver.accept(ids_of(offers), ops, no_refusal);
  }
  for (const auto& [key, id] : inst.volumes())
    CHECK_MESSAGE(eventually([&] {
                    return !fs::exists(work_dir + "/volumes/roles/kv-role/"
                                       + id);
                  }),
                  key);
  auto offers = sched.take_offers(unreserved_disk);
  REQUIRE_MESSAGE(!offers.empty(), "the disk did not come back unreserved");
  CHECK(find(offers, [](const v1::Resource& r) {
          return r.reservations_size() > 0;
        }).empty());

  {
    std::lock_guard guard{sched.mtx};
    CHECK(sched.errors.empty());
  }
  driver.teardown();
  driver.join();
}
