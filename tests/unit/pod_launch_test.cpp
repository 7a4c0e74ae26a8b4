// Pod launches: a first launch reserves, creates its volumes and launches
// one task group; a relaunch finds the same reservation, ports and volumes
// in the offer and is pinned to the agent; a release destroys and
// unreserves exactly what the instance holds. The master's side of these
// operations is proven against a real master and agent in
// tests/integration/service_pod_test.cpp.
#include <map>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/pod_launch.hpp"
#include "dcos/service_spec.hpp"

using namespace dcos;

namespace {

const char* redis_spec = R"(name: redis
scheduler: {principal: redis-principal, role: redis-role}
pods:
  node:
    count: 3
    placement: '[["hostname", "UNIQUE"]]'
    volume: {path: shared, type: ROOT, size: 100}
    tasks:
      server:
        goal: RUNNING
        cmd: redis-server redis.conf
        cpus: 0.5
        memory: 256
        env: {ROLE: replica}
        ports: {redis: {port: 0, env-key: PORT_REDIS, vip: {prefix: redis, port: 6379}}}
        volume: {path: data, type: ROOT, size: 512}
        configs:
          conf: {template: redis.conf.mustache, dest: etc/redis.conf}
        health-check: {cmd: redis-cli ping, interval: 5, grace-period: 30, max-consecutive-failures: 3, delay: 0, timeout: 5}
        readiness-check: {cmd: redis-cli info | grep -q loading:0, interval: 2, timeout: 4}
      backup:
        goal: FINISH
        cmd: cp shared/dump.rdb backup/
        cpus: 0.1
        memory: 32
)";

v1::ServiceSpec spec_with_template(const std::string& text) {
  auto spec = parse_service_spec(redis_spec);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  for (auto& pod : *spec->mutable_pods())
    for (auto& task : *pod.mutable_tasks())
      for (auto& cfg : *task.mutable_configs())
        cfg.set_template_text(text);
  return std::move(*spec);
}

v1::Offer offer_of(const std::string& agent, const std::string& host,
                   const resources& rs) {
  v1::Offer o;
  o.mutable_id()->set_value("offer-" + agent);
  o.mutable_framework_id()->set_value("fw-1");
  o.mutable_agent_id()->set_value(agent);
  o.set_hostname(host);
  rs.to_proto(o.mutable_resources());
  return o;
}

resources fresh_agent() {
  return resources::parse("cpus:4;mem:4096;disk:10000;ports:[31000-31010]")
    ->allocate("redis-role");
}

// Ids in order: id-1, id-2, ...
std::function<std::string()> counter() {
  auto n = std::make_shared<int>(0);
  return [n] { return "id-" + std::to_string(++*n); };
}

resources of(const google::protobuf::RepeatedPtrField<v1::Resource>& xs) {
  auto rs = resources::from_proto(xs);
  REQUIRE_MESSAGE(rs, describe(rs.error()));
  return std::move(*rs);
}

// The agent's resources after an ACCEPT of `ops` (RESERVE and CREATE; the
// launched tasks' resources come back once they end).
resources after_accept(resources rs, const std::vector<v1::Offer::Operation>& ops) {
  for (const auto& op : ops) {
    if (op.type() == v1::Offer::Operation::RESERVE) {
      auto reserved = of(op.reserve().resources());
      REQUIRE(rs.contains(reserved.pop_reservation()));
      rs -= reserved.pop_reservation();
      rs += reserved;
    } else if (op.type() == v1::Offer::Operation::CREATE) {
      for (const auto& v : of(op.create().volumes())) {
        REQUIRE(rs.contains(v.volume_source()));
        rs -= v.volume_source();
        rs += v;
      }
    } else if (op.type() == v1::Offer::Operation::DESTROY) {
      for (const auto& v : of(op.destroy().volumes())) {
        REQUIRE(rs.contains(v));
        rs -= v;
        rs += v.volume_source();
      }
    } else if (op.type() == v1::Offer::Operation::UNRESERVE) {
      auto reserved = of(op.unreserve().resources());
      REQUIRE(rs.contains(reserved));
      rs -= reserved;
      rs += reserved.pop_reservation();
    }
  }
  return rs;
}

std::string env_of(const v1::TaskInfo& t, const std::string& name) {
  for (const auto& v : t.command().environment().variables())
    if (v.name() == name)
      return v.value();
  return "<unset>";
}

// A protobuf map, comparable.
std::map<std::string, std::string>
as_map(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

pod_launch_request request_for(const v1::ServiceSpec& spec, uint32_t index,
                               std::vector<std::string> tasks) {
  pod_launch_request req;
  req.spec = &spec;
  req.instance.set_pod("node");
  req.instance.set_index(index);
  req.tasks = std::move(tasks);
  req.new_id = counter();
  return req;
}

} // namespace

TEST_CASE("a first launch reserves, creates the volumes and launches the "
          "pod's task group") {
  auto spec = spec_with_template("port {{PORT_REDIS}}\nrole {{ROLE}}\n");
  auto req = request_for(spec, 0, {"server"});
  // The launching plan's parameters override the spec's environment.
  auto* param = req.parameters.add_variables();
  param->set_name("ROLE");
  param->set_value("primary");
  req.api_hostname = "10.0.0.9";
  req.api_port = 10000;
  auto offer = offer_of("agent-1", "host-1", fresh_agent());
  auto* rack = offer.add_attributes();
  rack->set_name("rack");
  rack->set_type(v1::Value::TEXT);
  rack->mutable_text()->set_value("r1");
  offer.mutable_domain()->mutable_fault_domain()->mutable_zone()->set_name(
    "z1");
  resources used;
  auto launch = plan_pod_launch(req, offer, fresh_agent(), &used);
  REQUIRE_MESSAGE(launch.fits, launch.reason);
  REQUIRE(launch.operations.size() == 3);
  const auto& reserve = launch.operations[0];
  const auto& create = launch.operations[1];
  const auto& group = launch.operations[2];
  CHECK(reserve.type() == v1::Offer::Operation::RESERVE);
  CHECK(create.type() == v1::Offer::Operation::CREATE);
  CHECK(group.type() == v1::Offer::Operation::LAUNCH_GROUP);

  const auto& inst = launch.instance;
  CHECK(inst.agent_id() == "agent-1");
  CHECK(inst.hostname() == "host-1");
  // Where it is, for the placement of the pod's later instances.
  REQUIRE(inst.attributes_size() == 1);
  CHECK(inst.attributes(0).text().value() == "r1");
  CHECK(inst.zone() == "z1");
  CHECK(inst.reservation_id() == "id-1");

  // Everything reserved carries the instance's label, role and principal.
  auto reserved = of(reserve.reserve().resources());
  for (const auto& r : reserved) {
    REQUIRE(r.reservations.size() == 1);
    CHECK(r.reservations[0].role == "redis-role");
    CHECK(r.reservations[0].principal == "redis-principal");
    CHECK(r.reservations[0].type == reservation::kind::dynamic_reservation);
    CHECK(reservation_id_of(r) == "id-1");
    CHECK(r.allocation_role == "redis-role");
  }
  // The task, the executor (0.1 cpus, 32 MB) and both volumes' disk.
  CHECK(reserved.scalar("cpus").value_or(0) == doctest::Approx(0.6));
  CHECK(reserved.scalar("mem").value_or(0) == doctest::Approx(288));
  CHECK(reserved.scalar("disk").value_or(0) == doctest::Approx(612));
  CHECK(reserved.flatten() == used.flatten());

  // Two volumes: the pod's (on the executor) and the task's.
  auto volumes = of(create.create().volumes());
  REQUIRE(volumes.size() == 2);
  REQUIRE(inst.volumes().size() == 2);
  auto shared_id = inst.volumes().at(":shared");
  auto data_id = inst.volumes().at("server-resource-set:data");
  CHECK(shared_id != data_id);
  for (const auto& v : volumes) {
    CHECK(v.is_persistent_volume());
    CHECK(reservation_id_of(v) == "id-1");
    CHECK(v.disk->volume().mode() == v1::Volume::RW);
    auto id = v.disk->persistence().id();
    CHECK(v.disk->volume().container_path()
          == (id == shared_id ? "shared" : "data"));
    CHECK(v.scalar() == (id == shared_id ? 100 : 512));
  }

  const auto& lg = group.launch_group();
  CHECK(lg.executor().type() == v1::ExecutorInfo::DEFAULT);
  CHECK(lg.executor().executor_id().value() == inst.executor_id());
  CHECK(inst.executor_id().rfind("node-0__", 0) == 0);
  auto exec = of(lg.executor().resources());
  CHECK(exec.scalar("cpus").value_or(0) == doctest::Approx(0.1));
  CHECK(exec.persistent_volumes().size() == 1);

  REQUIRE(lg.task_group().tasks_size() == 1);
  const auto& task = lg.task_group().tasks(0);
  CHECK(task.name() == "node-0-server");
  CHECK(task.task_id().value().rfind("node-0-server__", 0) == 0);
  CHECK(inst.task_ids().at("server") == task.task_id().value());
  CHECK(task.agent_id().value() == "agent-1");
  CHECK(env_of(task, "PORT_REDIS") == "31000");
  CHECK(inst.ports().at("server-resource-set:redis") == 31000);
  CHECK(env_of(task, "POD_INSTANCE_INDEX") == "0");
  CHECK(env_of(task, "TASK_NAME") == "node-0-server");
  CHECK(env_of(task, "node-0-server") == "true");
  CHECK(env_of(task, "FRAMEWORK_NAME") == "redis");
  CHECK(env_of(task, "FRAMEWORK_HOST")
        == "redis.autoip.dcos.thisdcos.directory");
  CHECK(env_of(task, "ROLE") == "primary");
  CHECK(env_of(task, "SCHEDULER_API_HOSTNAME") == "10.0.0.9");
  CHECK(env_of(task, "SCHEDULER_API_PORT") == "10000");
  // The config is written before the command runs, rendered.
  CHECK(task.command().value()
        == "mkdir -p 'etc' && printf '%s' 'port 31000\nrole primary\n' > "
           "'etc/redis.conf' && redis-server redis.conf");
  CHECK(task.health_check().command().value() == "redis-cli ping");
  CHECK(task.health_check().consecutive_failures() == 3);
  // The readiness check is a Mesos check with the task's environment.
  CHECK(task.check().type() == v1::CheckInfo::COMMAND);
  CHECK(task.check().command().command().value()
        == "redis-cli info | grep -q loading:0");
  CHECK(task.check().delay_seconds() == 0);
  CHECK(task.check().interval_seconds() == 2);
  CHECK(task.check().timeout_seconds() == 4);
  CHECK(task.check().command().command().environment().variables_size()
        == task.command().environment().variables_size());
  auto task_resources = of(task.resources());
  CHECK(task_resources.scalar("cpus").value_or(0) == doctest::Approx(0.5));
  CHECK(task_resources.persistent_volumes().size() == 1);
  REQUIRE(task.discovery().ports().ports_size() == 1);
  CHECK(task.discovery().ports().ports(0).number() == 31000);
  CHECK(task.discovery().ports().ports(0).labels().labels(0).value()
        == "/redis:6379");
}

TEST_CASE("a relaunch uses the instance's reservation, ports and volumes, "
          "on its agent only") {
  auto spec = spec_with_template("port {{PORT_REDIS}}\n");
  auto req = request_for(spec, 0, {"server"});
  auto first = plan_pod_launch(req, offer_of("agent-1", "host-1",
                                             fresh_agent()),
                               fresh_agent());
  REQUIRE(first.fits);
  // The agent's resources once the reservation and volumes exist; another
  // framework's launch took port 31000's neighbours meanwhile.
  auto after = after_accept(fresh_agent(), first.operations);
  after -= resources::parse("ports:[31001-31003]")->allocate("redis-role");

  auto again = request_for(spec, 0, {"server"});
  again.instance = first.instance;
  auto relaunch = plan_pod_launch(again, offer_of("agent-1", "host-1", after),
                                  after);
  REQUIRE_MESSAGE(relaunch.fits, relaunch.reason);
  REQUIRE(relaunch.operations.size() == 1); // nothing to reserve or create
  const auto& lg = relaunch.operations[0].launch_group();
  const auto& task = lg.task_group().tasks(0);
  CHECK(env_of(task, "PORT_REDIS") == "31000");
  CHECK(task.task_id().value() != first.instance.task_ids().at("server"));
  CHECK(as_map(relaunch.instance.volumes()) == as_map(first.instance.volumes()));
  CHECK(relaunch.instance.reservation_id() == "id-1");
  for (const auto& r : of(task.resources()))
    CHECK(reservation_id_of(r) == "id-1");
  // A new executor: the old one ended with the task.
  CHECK(relaunch.instance.executor_id() != first.instance.executor_id());

  // Elsewhere it does not fit, even with room to spare.
  auto elsewhere = plan_pod_launch(
    again, offer_of("agent-2", "host-2", fresh_agent()), fresh_agent());
  CHECK_FALSE(elsewhere.fits);
  CHECK(elsewhere.reason
        == "node-0 is pinned to agent agent-1, where its reservations and "
           "volumes are");

  // Without its volume in the offer (the agent lost it), it waits.
  auto lost = after.filter([](const resource& r) {
    return !r.is_persistent_volume()
           || r.disk->volume().container_path() != "data";
  });
  auto no_volume = plan_pod_launch(again, offer_of("agent-1", "host-1", lost),
                                   lost);
  CHECK_FALSE(no_volume.fits);
  CHECK(no_volume.reason.find("volume 'data'") != std::string::npos);
}

TEST_CASE("a task joins its pod's running executor; what the spec grew is "
          "reserved on the way") {
  auto spec = spec_with_template("x\n");
  auto req = request_for(spec, 1, {"server"});
  auto first = plan_pod_launch(req, offer_of("agent-1", "host-1",
                                             fresh_agent()),
                               fresh_agent());
  REQUIRE(first.fits);
  // The server runs: what it and the executor use is not offered.
  auto left = after_accept(fresh_agent(), first.operations);
  for (const auto& t : first.operations.back().launch_group().task_group()
                         .tasks())
    left -= of(t.resources());
  left -= of(first.operations.back().launch_group().executor().resources());

  auto backup = request_for(spec, 1, {"backup"});
  backup.instance = first.instance;
  backup.executor_running = true;
  auto launch = plan_pod_launch(backup, offer_of("agent-1", "host-1", left),
                                left);
  REQUIRE_MESSAGE(launch.fits, launch.reason);
  // The backup task's resources are new: reserved, under the same label.
  REQUIRE(launch.operations.size() == 2);
  auto reserved = of(launch.operations[0].reserve().resources());
  CHECK(reserved.scalar("cpus").value_or(0) == doctest::Approx(0.1));
  for (const auto& r : reserved)
    CHECK(reservation_id_of(r) == first.instance.reservation_id());
  const auto& lg = launch.operations[1].launch_group();
  CHECK(lg.executor().executor_id().value() == first.instance.executor_id());
  CHECK(lg.executor().resources_size() == 0);
  CHECK(lg.task_group().tasks(0).name() == "node-1-backup");
}

TEST_CASE("a relaunch of a shrunk task unreserves what it shrank by, and "
          "keeps what the pod's other tasks need") {
  auto spec = spec_with_template("x\n");
  auto first = plan_pod_launch(request_for(spec, 1, {"server"}),
                               offer_of("agent-1", "host-1", fresh_agent()),
                               fresh_agent());
  REQUIRE(first.fits);
  // The backup ran once beside the server (which, with the executor, held
  // its share outside the offer): its 0.1 cpus and 32 MB were reserved.
  auto in_use = of(first.operations.back().launch_group().executor()
                     .resources());
  for (const auto& t : first.operations.back().launch_group().task_group()
                         .tasks())
    in_use += of(t.resources());
  auto agent = after_accept(fresh_agent(), first.operations) - in_use;
  auto backup = request_for(spec, 1, {"backup"});
  backup.instance = first.instance;
  backup.executor_running = true;
  auto ran = plan_pod_launch(backup, offer_of("agent-1", "host-1", agent),
                             agent);
  REQUIRE_MESSAGE(ran.fits, ran.reason);
  REQUIRE(ran.operations.front().type() == v1::Offer::Operation::RESERVE);
  agent = after_accept(agent, ran.operations) + in_use; // all ended
  auto ours = [&](const resources& rs, const char* name) {
    return rs
      .filter([&](const resource& r) {
        return reservation_id_of(r) == first.instance.reservation_id();
      })
      .scalar(name)
      .value_or(0);
  };
  CHECK(ours(agent, "cpus") == doctest::Approx(0.7));

  // Everything ended; the same spec again: nothing to give back.
  auto same = request_for(spec, 1, {"server"});
  same.instance = ran.instance;
  auto again = plan_pod_launch(same, offer_of("agent-1", "host-1", agent),
                               agent);
  REQUIRE_MESSAGE(again.fits, again.reason);
  for (const auto& op : again.operations)
    CHECK(op.type() != v1::Offer::Operation::UNRESERVE);

  // The server shrank from 0.5 cpus and 256 MB to 0.2 and 128 MB: the
  // difference is unreserved, first; the backup's share stays.
  auto smaller = spec;
  auto* server = smaller.mutable_pods(0)->mutable_tasks(0);
  REQUIRE(server->name() == "server");
  server->set_cpus(0.2);
  server->set_memory_mb(128);
  auto shrunk = request_for(smaller, 1, {"server"});
  shrunk.instance = ran.instance;
  auto launch = plan_pod_launch(shrunk, offer_of("agent-1", "host-1", agent),
                                agent);
  REQUIRE_MESSAGE(launch.fits, launch.reason);
  REQUIRE(launch.operations.size() == 2);
  REQUIRE(launch.operations[0].type() == v1::Offer::Operation::UNRESERVE);
  auto freed = of(launch.operations[0].unreserve().resources());
  CHECK(freed.scalar("cpus").value_or(0) == doctest::Approx(0.3));
  CHECK(freed.scalar("mem").value_or(0) == doctest::Approx(128));
  CHECK(freed.scalar("disk").value_or(0) == 0);
  for (const auto& r : freed)
    CHECK(reservation_id_of(r) == first.instance.reservation_id());
  auto after = after_accept(agent, launch.operations);
  // Executor 0.1 + server 0.2 + backup 0.1.
  CHECK(ours(after, "cpus") == doctest::Approx(0.4));
  CHECK(ours(after, "mem") == doctest::Approx(32 + 128 + 32));
  // The unreserved pool got it back.
  CHECK(after.unreserved().scalar("cpus").value_or(0)
        == doctest::Approx(4 - 0.4));
}

TEST_CASE("placement, missing disk and bad templates are reasons, not "
          "launches") {
  auto spec = spec_with_template("port {{PORT_REDIS}} {{NO_SUCH_VALUE}}\n");
  auto req = request_for(spec, 1, {"backup"});
  placement_site placed;
  placed.hostname = "host-1";
  req.placed.push_back(placed);
  auto crowded = plan_pod_launch(req, offer_of("agent-1", "host-1",
                                               fresh_agent()),
                                 fresh_agent());
  CHECK_FALSE(crowded.fits);
  CHECK_FALSE(crowded.hopeless);
  CHECK(crowded.reason.find("UNIQUE") != std::string::npos);

  auto small = resources::parse("cpus:4;mem:4096;disk:50")->allocate(
    "redis-role");
  auto no_disk = plan_pod_launch(req, offer_of("agent-2", "host-2", small),
                                 small);
  CHECK_FALSE(no_disk.fits);
  CHECK(no_disk.reason == "volume 'shared': no root disk of 100 MB in the "
                          "offer");

  auto server = request_for(spec, 1, {"server"});
  auto bad = plan_pod_launch(server, offer_of("agent-2", "host-2",
                                              fresh_agent()),
                             fresh_agent());
  CHECK_FALSE(bad.fits);
  CHECK(bad.hopeless);
  CHECK_MESSAGE(bad.reason.find("NO_SUCH_VALUE") != std::string::npos,
                bad.reason);

  // Resources reserved to another instance are not this one's to take.
  auto first = plan_pod_launch(request_for(spec, 0, {"backup"}),
                               offer_of("agent-3", "host-3", small + small),
                               small + small);
  REQUIRE_MESSAGE(first.fits, first.reason);
  auto taken = after_accept(small + small, first.operations);
  auto other = request_for(spec, 2, {"backup"});
  other.new_id = [] { return std::string{"other"}; };
  auto squeezed = plan_pod_launch(other, offer_of("agent-3", "host-3", taken),
                                  taken);
  CHECK_FALSE(squeezed.fits);
}

TEST_CASE("a release destroys the instance's volumes and unreserves all it "
          "holds, and nothing else") {
  auto spec = spec_with_template("x\n");
  auto a = plan_pod_launch(request_for(spec, 0, {"server"}),
                           offer_of("agent-1", "host-1", fresh_agent()),
                           fresh_agent());
  REQUIRE(a.fits);
  auto after_a = after_accept(fresh_agent(), a.operations);
  auto b_req = request_for(spec, 1, {"server"});
  b_req.new_id = [n = 100]() mutable { return "id-" + std::to_string(++n); };
  auto b = plan_pod_launch(b_req, offer_of("agent-1", "host-1", after_a),
                           after_a);
  REQUIRE_MESSAGE(b.fits, b.reason);
  auto both = after_accept(after_a, b.operations);

  auto ops = release_pod_instance(a.instance,
                                  offer_of("agent-1", "host-1", both));
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].type() == v1::Offer::Operation::DESTROY);
  CHECK(ops[0].destroy().volumes_size() == 2);
  CHECK(ops[1].type() == v1::Offer::Operation::UNRESERVE);
  auto freed = after_accept(both, ops);
  // b's reservation is untouched; a's resources are unreserved again.
  CHECK(freed.filter([](const resource& r) {
               return reservation_id_of(r) == "id-1";
             }).empty());
  CHECK(freed.filter([](const resource& r) {
               return reservation_id_of(r) == "id-101";
             }) == both.filter([](const resource& r) {
               return reservation_id_of(r) == "id-101";
             }));
  // All that is unreserved again but b's share: 0.6 cpus, 288 MB, 612 MB
  // of disk and a port.
  CHECK(freed.unreserved().scalar("cpus").value_or(0)
        == doctest::Approx(3.4));
  CHECK(freed.unreserved().scalar("mem").value_or(0)
        == doctest::Approx(4096 - 288));
  CHECK(freed.unreserved().scalar("disk").value_or(0)
        == doctest::Approx(10000 - 612));
  CHECK(freed.persistent_volumes().size() == 2);

  // An offer from elsewhere holds nothing of it.
  CHECK(release_pod_instance(a.instance,
                             offer_of("agent-2", "host-2", fresh_agent()))
          .empty());
}

TEST_CASE("endpoints: the advertised ports of launched tasks, with their "
          "autoip and VIP names") {
  auto spec = spec_with_template("port {{PORT_REDIS}}");
  auto req = request_for(spec, 1, {"server"});
  auto offer = offer_of("agent-b", "host-b", fresh_agent());
  auto launch = plan_pod_launch(req, offer, fresh_agent());
  REQUIRE_MESSAGE(launch.fits, launch.reason);
  // Not advertised: not an endpoint.
  CHECK(pod_endpoints(spec, launch.instance).empty());
  spec.mutable_pods(0)->mutable_tasks(0)->mutable_ports(0)->set_advertise(
    true);
  auto port = launch.instance.ports().at("server-resource-set:redis");
  auto endpoints = pod_endpoints(spec, launch.instance);
  REQUIRE(endpoints.size() == 1);
  CHECK(endpoints[0].name == "redis");
  CHECK(endpoints[0].address == fmt::format("host-b:{}", port));
  CHECK(endpoints[0].dns
        == fmt::format("node-1-server.redis.autoip.dcos.thisdcos.directory:{}",
                       port));
  CHECK(endpoints[0].vip == "redis.redis.l4lb.thisdcos.directory:6379");
  // A task never launched has none.
  v1::PodInstance fresh;
  fresh.set_pod("node");
  fresh.set_index(2);
  CHECK(pod_endpoints(spec, fresh).empty());
}
