// A stateful service end to end on real processes: a dcos-master and a
// dcos-agent (Linux isolation, as root), the service scheduler actor in
// this process with a file store, and its HTTP API on loopback driven with
// curl as an operator would. The service deploys a server on a persistent
// volume, runs a `backup` plan started over HTTP with a parameter, keeps
// its plans and its pod (same reservation, same task) across a scheduler
// restart, restarts its pod in place and replaces it on a new volume over
// HTTP, and refuses bad requests with dcos-commons' codes.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/http_router.hpp"
#include "dcos/http_server.hpp"
#include "dcos/service_http.hpp"
#include "dcos/service_scheduler_actor.hpp"
#include "dcos/service_spec.hpp"
#include "dcos/store_actor.hpp"
#include "support/network_node.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* spec_yaml = R"(name: kv
scheduler: {principal: kv-principal, role: kv-role, user: root}
pods:
  node:
    count: 1
    volume: {path: data, type: ROOT, size: 64}
    tasks:
      server:
        goal: RUNNING
        cmd: echo served > data/log && sleep 1000
        cpus: 0.1
        memory: 32
        ports: {kv: {port: 0, advertise: true, vip: {prefix: kv, port: 6379}}}
      backup:
        goal: FINISH
        cmd: cp data/log data/backup-$BACKUP_NAME
        cpus: 0.1
        memory: 32
plans:
  deploy:
    phases:
      nodes: {pod: node, steps: [{default: [[server]]}]}
  backup:
    phases:
      save: {pod: node, steps: [{default: [[backup]]}]}
)";

// The scheduler and its HTTP API, started (again) on one store.
struct service_process {
  caf::actor_system& sys;
  service_scheduler_actor actor;
  std::unique_ptr<http_server> http;

  service_process(caf::actor_system& sys, const v1::ServiceSpec& spec,
                  detector_actor detector, store_actor store, uint64_t seed)
    : sys(sys) {
    service_config cfg;
    cfg.spec = spec;
    cfg.detector = std::move(detector);
    cfg.store = std::move(store);
    cfg.seed = seed;
    actor = spawn_service_scheduler(sys, cfg);
    http_router routes;
    add_service_routes(routes, sys, actor, spec);
    auto server = http_server::start("127.0.0.1", 0,
                                     std::move(routes).handler());
    REQUIRE_MESSAGE(server, describe(server.error()));
    http = std::move(*server);
  }

  ~service_process() {
    http->stop();
    caf::anon_send_exit(actor, caf::exit_reason::kill);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http->port()) + path;
  }
};

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// The first task id in a /v1/pod/{name}/status answer.
std::string task_id_in(const std::string& body) {
  auto at = body.find(R"("id":")");
  if (at == std::string::npos)
    return "";
  at += 6;
  return body.substr(at, body.find('"', at) - at);
}

} // namespace

TEST_CASE("a service deploys on a volume, backs up over HTTP, and keeps "
          "its state across a scheduler restart") {
  REQUIRE_MESSAGE(::geteuid() == 0, "the Linux containerizer needs root");
  auto spec = parse_service_spec(spec_yaml);
  REQUIRE_MESSAGE(spec, describe(spec.error()));

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
  auto store = spawn_file_store(*node.sys, dir.path + "/service");
  auto service = std::make_unique<service_process>(*node.sys, *spec, detector,
                                                   store, 1);

  // Deploy: 202 while in progress, then 200 COMPLETE.
  CHECK(eventually([&] {
    return curl({service->url("/v1/plans/deploy")}).status == 200;
  }, 60s));
  CHECK(curl({service->url("/v1/health")}).status == 200);
  auto names = curl({service->url("/v1/plans")});
  CHECK(names.status == 200);
  CHECK(names.body == R"(["deploy","backup"])");
  auto pods = curl({service->url("/v1/pod")});
  CHECK(pods.body == R"(["node-0"])");
  auto status = curl({service->url("/v1/pod/node-0/status")});
  CHECK(status.status == 200);
  CHECK_MESSAGE(contains(status.body, R"("name":"node-0-server","status":"RUNNING")"),
                status.body);
  auto server_id = task_id_in(status.body);
  CHECK(server_id.rfind("node-0-server__", 0) == 0);

  // Endpoints: the advertised port, by agent address, autoip name and VIP.
  auto endpoints = curl({service->url("/v1/endpoints")});
  CHECK(endpoints.status == 200);
  CHECK(endpoints.body == R"(["kv"])");
  auto kv = curl({service->url("/v1/endpoints/kv")});
  CHECK(kv.status == 200);
  CHECK_MESSAGE(contains(kv.body, R"({"address":[")"), kv.body);
  CHECK_MESSAGE(contains(kv.body, R"("dns":["node-0-server.kv.autoip.dcos.)"
                                  R"(thisdcos.directory:310)"),
                kv.body);
  CHECK_MESSAGE(contains(kv.body,
                         R"("vip":"kv.kv.l4lb.thisdcos.directory:6379"})"),
                kv.body);
  CHECK(curl({service->url("/v1/endpoints/nope")}).status == 404);

  // The instance's TaskInfos and statuses (protobuf's JSON mapping, as
  // dcos-commons), the framework id, the properties and the metrics.
  auto info = curl({service->url("/v1/pod/node-0/info")});
  CHECK(info.status == 200);
  CHECK_MESSAGE(contains(info.body, R"([{"info":{"name":"node-0-server",)"
                                    R"("taskId":{"value":")" + server_id),
                info.body);
  CHECK_MESSAGE(contains(info.body, R"("status":{"taskId":{"value":")"
                                    + server_id + R"("},"state":"TASK_RUNNING")"),
                info.body);
  CHECK(curl({service->url("/v1/pod/node-7/info")}).status == 404);
  auto framework = curl({service->url("/v1/state/frameworkId")});
  CHECK(framework.status == 200);
  CHECK_MESSAGE(framework.body.rfind(R"([")", 0) == 0, framework.body);
  CHECK(curl({service->url("/v1/state/properties")}).body
        == R"(["framework-id","incarnation"])");
  CHECK(curl({service->url("/v1/state/properties/incarnation")}).body == "1");
  CHECK(curl({service->url("/v1/state/properties/nope")}).status == 404);
  auto metrics = curl({service->url("/metrics")});
  CHECK(metrics.status == 200);
  CHECK_MESSAGE(contains(metrics.body, "service_plans_deploy_complete 1\n"),
                metrics.body);
  CHECK_MESSAGE(contains(metrics.body, "service_tasks_running 1\n"),
                metrics.body);
  CHECK_MESSAGE(contains(metrics.body, "service_operations_launch_group 1\n"),
                metrics.body);

  // Backup, started over HTTP with a parameter its task sees.
  auto started = curl({"-X", "POST", "-H", "Content-Type: application/json",
                       "-d", R"({"BACKUP_NAME":"monday"})",
                       service->url("/v1/plans/backup/start")});
  CHECK(started.status == 200);
  CHECK(started.body == R"({"message":"Received cmd: start"})");
  CHECK(eventually([&] {
    return curl({service->url("/v1/plans/backup")}).status == 200;
  }, 60s));
  std::string backup;
  for (const auto& e : fs::recursive_directory_iterator(
         work_dir + "/volumes/roles/kv-role"))
    if (e.path().filename() == "backup-monday")
      backup = e.path();
  REQUIRE_MESSAGE(!backup.empty(), "no backup-monday in the pod's volume");
  std::ifstream in{backup};
  std::string line;
  std::getline(in, line);
  CHECK(line == "served");

  // Bad requests change nothing.
  CHECK(curl({service->url("/v1/plans/nope")}).status == 404);
  CHECK(curl({"-X", "POST", service->url("/v1/plans/deploy/bogus")}).status
        == 404);
  auto no_phase = curl({"-X", "POST",
                        service->url("/v1/plans/deploy/restart?step=x")});
  CHECK(no_phase.status == 400);
  CHECK_MESSAGE(contains(no_phase.body, "phase"), no_phase.body);
  auto bad_body = curl({"-X", "POST", "-d", R"({"BACKUP_NAME": 3})",
                        service->url("/v1/plans/backup/start")});
  CHECK(bad_body.status == 400);
  CHECK_MESSAGE(contains(bad_body.body, "BACKUP_NAME"), bad_body.body);
  CHECK(curl({service->url("/v1/pod/node-7/status")}).status == 404);
  // An operator stops the backup plan (interrupted, back to PENDING):
  // stopping it again changes nothing (208).
  CHECK(curl({"-X", "POST", service->url("/v1/plans/backup/stop")}).status
        == 200);
  CHECK(curl({"-X", "POST", service->url("/v1/plans/backup/interrupt")})
          .status
        == 208);
  auto waiting = curl({service->url("/v1/plans/backup")});
  CHECK(waiting.status == 202);
  CHECK_MESSAGE(contains(waiting.body, R"("status":"WAITING")"),
                waiting.body);

  // A restarted scheduler keeps the plans (the stop included: the backup
  // does not run again) and the pod: the same server task, running, found
  // by reconciliation.
  service.reset();
  service = std::make_unique<service_process>(*node.sys, *spec, detector,
                                              store, 1);
  CHECK(eventually([&] {
    return curl({service->url("/v1/plans/deploy")}).status == 200;
  }, 30s));
  auto kept = curl({service->url("/v1/plans/backup")});
  CHECK(kept.status == 202);
  CHECK_MESSAGE(contains(kept.body, R"("status":"WAITING")"), kept.body);
  CHECK(eventually([&] {
    auto s = curl({service->url("/v1/pod/node-0/status")});
    return contains(s.body, server_id)
           && contains(s.body, R"("status":"RUNNING")");
  }, 30s));

  // pod restart: a new server task, on the same volume (the backup is
  // still there).
  CHECK(curl({"-X", "POST", service->url("/v1/pod/node-7/restart")}).status
        == 404);
  CHECK(curl({"-X", "POST", service->url("/v1/pod/node-0/reboot")}).status
        == 404);
  auto restarted = curl({"-X", "POST",
                         service->url("/v1/pod/node-0/restart")});
  CHECK(restarted.status == 200);
  // Every task it launched, the finished backup too, as dcos-commons lists
  // them.
  const std::string answer
    = R"({"pod":"node-0","tasks":["node-0-server","node-0-backup"]})";
  CHECK(restarted.body == answer);
  std::string restarted_id;
  CHECK(eventually([&] {
    auto s = curl({service->url("/v1/pod/node-0/status")});
    restarted_id = task_id_in(s.body);
    return restarted_id != server_id
           && contains(s.body, R"("status":"RUNNING")");
  }, 30s));
  CHECK(fs::exists(backup));

  // The dcos tool, as an operator types it.
  auto dcos = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {binary("DCOS_CLI"), "service"});
    args.push_back("--service=127.0.0.1:"
                   + std::to_string(service->http->port()));
    return run_to_end(args);
  };
  auto shown = dcos({"plan", "show", "deploy"});
  CHECK(shown.status == 0);
  CHECK_MESSAGE(contains(shown.out, "deploy (serial strategy) (COMPLETE)\n"
                                    "└─ nodes (serial strategy) (COMPLETE)\n"
                                    "   └─ node-0:[server] (COMPLETE)\n"),
                shown.out);
  CHECK(dcos({"plan", "list"}).out == "[\"deploy\",\"backup\"]\n");
  auto pod_status = dcos({"pod", "status"});
  CHECK_MESSAGE(contains(pod_status.out, "kv\n└─ node\n   └─ node-0\n"
                                         "      ├─ node-0-server (RUNNING)"),
                pod_status.out);
  CHECK(contains(dcos({"endpoints", "kv"}).out,
                 "kv.kv.l4lb.thisdcos.directory:6379"));
  auto no_plan = dcos({"plan", "start", "nope"});
  CHECK(no_plan.status == 1);
  CHECK_MESSAGE(contains(no_plan.out, "Plan nope not found"), no_plan.out);
  CHECK(dcos({"plan", "start", "backup", "NOT-A-PARAMETER"}).status == 2);
  CHECK(dcos({"plan", "force-complete", "deploy", "nodes"}).status == 2);

  // pod replace (with the tool): a new server on a new volume; the old one
  // is destroyed.
  auto replaced = dcos({"pod", "replace", "node-0"});
  CHECK(replaced.status == 0);
  CHECK_MESSAGE(contains(replaced.out, R"("pod": "node-0")"), replaced.out);
  CHECK(eventually([&] {
    auto s = curl({service->url("/v1/pod/node-0/status")});
    auto id = task_id_in(s.body);
    return !id.empty() && id != restarted_id
           && contains(s.body, R"("status":"RUNNING")");
  }, 30s));
  CHECK(eventually([&] { return !fs::exists(backup); }, 30s));
  CHECK(curl({service->url("/v1/health")}).status == 200);
  service.reset();
}
