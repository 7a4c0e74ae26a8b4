// dcos-master as a real process: an agent (scripted, until the real agent
// exists) and the example scheduler reach it over the network through the
// remote detector; curl drives the HTTP edge.
#include <caf/io/all.hpp>
#include <doctest/doctest.h>

#include "support/checks.hpp"

#include "dcos/detector_actor.hpp"
#include "dcos/resources.hpp"
#include "dcos/version.hpp"
#include "support/processes.hpp"
#include "support/protocol_peers.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

// An actor system with threads and the network layer, that ends its actors.
struct network_node {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::vector<caf::actor> actors;

  network_node() {
    register_types(cfg);
    cfg.load<caf::io::middleman>();
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  ~network_node() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  template <class H>
  H keep(H h) {
    actors.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }
};

http_result api(const master_process& m, const std::string& body,
                std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"-X", "POST", "-H",
                                "Content-Type: application/json", "-d", body};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("http://" + m.address() + "/api/v1");
  return curl(args);
}

double number_at(const google::protobuf::Struct& doc, const std::string& key) {
  auto i = doc.fields().find(key);
  REQUIRE_MESSAGE(i != doc.fields().end(), key);
  return i->second.number_value();
}

} // namespace

TEST_CASE("a remote master runs a scheduler's tasks; curl reads the state") {
  master_process m;
  network_node node;
  auto detector = node.keep(spawn_remote_detector(*node.sys, "127.0.0.1",
                                                  m.port));
  master_actor master;
  caf::scoped_actor self{*node.sys};
  self->request(detector, std::chrono::seconds(20), detect_atom::value,
                master_actor{})
    .receive([&](master_actor& found) { master = found; },
             [&](caf::error& err) { FAIL(node.sys->render(err)); });
  REQUIRE(master);

  auto log = std::make_shared<agent_log>();
  log->auto_complete = true;
  v1::AgentInfo info;
  info.set_hostname("node-a");
  resources::parse("cpus:2;mem:1024;ports:[31000-31009]")
    ->to_proto(info.mutable_resources());
  node.keep(spawn_scripted_agent(*node.sys, master, info, log));
  REQUIRE(eventually([&] {
    auto r = api(m, R"({"type":"GET_AGENTS"})");
    return r.status == 200
           && r.body.find("node-a") != std::string::npos;
  }));

  // The example scheduler, as its own process, against the master's address.
  subprocess_options opts;
  opts.argv = {binary("DCOS_EXAMPLE_SCHEDULER"), "--master=" + m.address(),
               "--tasks=12", "--command=true", "--resources=cpus:0.5;mem:64"};
  opts.capture_stdout = true;
  auto scheduler = subprocess::spawn(opts);
  REQUIRE(scheduler);
  auto out = scheduler->read_all(60s);
  DCOS_REQUIRE_OK(out);
  CHECK(scheduler->wait() == 0);
  CHECK(out->find("12 finished, 0 failed") != std::string::npos);
  CHECK(out->find("task-11 TASK_FINISHED") != std::string::npos);

  // The legacy state endpoint: well-formed JSON with Mesos' field names.
  auto state = curl({"http://" + m.address() + "/master/state"});
  REQUIRE(state.status == 200);
  auto doc = parse_json_object(state.body);
  CHECK(doc.fields().at("slaves").list_value().values_size() == 1);
  const auto& done = doc.fields().at("completed_frameworks").list_value();
  REQUIRE(done.values_size() == 1);
  const auto& fw = done.values(0).struct_value().fields();
  CHECK(fw.at("name").string_value() == "example");
  CHECK(fw.at("completed_tasks").list_value().values_size() == 12);
  CHECK(fw.at("completed_tasks").list_value().values(0).struct_value()
          .fields().at("state").string_value() == "TASK_FINISHED");

  auto snapshot = curl({"http://" + m.address() + "/metrics/snapshot"});
  REQUIRE(snapshot.status == 200);
  CHECK(number_at(parse_json_object(snapshot.body), "master/tasks_finished")
        == 12);
  auto prom = curl({"http://" + m.address() + "/metrics"});
  CHECK(prom.status == 200);
  CHECK(prom.body.find("\nmaster_tasks_finished 12\n") != std::string::npos);
}

TEST_CASE("the operator API answers curl in Mesos' JSON shape") {
  master_process m;
  auto health = api(m, R"({"type":"GET_HEALTH"})");
  CHECK(health.status == 200);
  CHECK(health.body == R"({"type":"GET_HEALTH","get_health":{"healthy":true}})");
  for (auto call : {"GET_VERSION", "GET_STATE", "GET_AGENTS", "GET_FRAMEWORKS",
                    "GET_TASKS", "GET_ROLES", "GET_METRICS"}) {
    CAPTURE(call);
    auto r = api(m, std::string(R"({"type":")") + call + "\"}");
    CHECK(r.status == 200);
    auto doc = parse_json_object(r.body);
    CHECK(doc.fields().at("type").string_value() == call);
  }
  CHECK(api(m, R"({"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[
           {"role":"gold","weight":2.5}]}})").status == 200);
  auto roles = api(m, R"({"type":"GET_ROLES"})");
  CHECK(roles.body.find(R"("name":"gold","weight":2.5)") != std::string::npos);
  CHECK(api(m, R"({"type":"UPDATE_QUOTA","update_quota":{"force":true,
           "quota_configs":[{"role":"gold","guarantees":{"cpus":{"value":1}}}]}})")
          .status == 200);
  // Bad requests: 4xx with a JSON body naming the problem.
  auto bad_json = api(m, R"({"type":)");
  CHECK(bad_json.status == 400);
  CHECK(parse_json_object(bad_json.body).fields().count("error") == 1);
  auto bad_weight = api(m, R"({"type":"UPDATE_WEIGHTS","update_weights":{
    "weight_infos":[{"role":"gold","weight":0}]}})");
  CHECK(bad_weight.status == 400);
  CHECK(bad_weight.body.find("weight_infos[0].weight") != std::string::npos);
  auto no_agent = api(m, R"({"type":"RESERVE_RESOURCES","reserve_resources":{
    "agent_id":{"value":"nope"},"resources":[{"name":"cpus","type":"SCALAR",
    "scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":"gold"}]}]}})");
  CHECK(no_agent.status == 404);
  CHECK(api(m, R"({"type":"NO_SUCH_CALL"})").status == 400);
  auto wrong_type = curl({"-X", "POST", "-H", "Content-Type: text/plain", "-d",
                          "x", "http://" + m.address() + "/api/v1"});
  CHECK(wrong_type.status == 415);
  CHECK(parse_json_object(wrong_type.body).fields().count("error") == 1);
  CHECK(curl({"http://" + m.address() + "/api/v1"}).status == 405);
  CHECK(curl({"-X", "POST", "http://" + m.address() + "/master/state"}).status
        == 405);
  CHECK(curl({"http://" + m.address() + "/no/such/endpoint"}).status == 404);
  CHECK(curl({"http://" + m.address() + "/health"}).status == 200);
  // The master is still fine after all that.
  CHECK(api(m, R"({"type":"GET_HEALTH"})").status == 200);
}

TEST_CASE("the master and an agent serve what every daemon serves") {
  master_process m;
  scratch_dir dir;
  agent_process a{m.address(), dir.path + "/agent",
                  {"--executor_log_level=debug"}};
  auto flag = [](const google::protobuf::Struct& doc, const std::string& name) {
    const auto& flags = doc.fields().at("flags").struct_value().fields();
    auto i = flags.find(name);
    return i == flags.end() ? std::string{"(none)"} : i->second.string_value();
  };
  for (const auto& address : {m.address(), a.address()}) {
    CAPTURE(address);
    CHECK(curl({"http://" + address + "/health"}).status == 200);
    auto version = curl({"http://" + address + "/version"});
    CHECK(version.status == 200);
    CHECK(parse_json_object(version.body).fields().at("version").string_value()
          == dcos::version);
    // Every flag, with the value in effect.
    auto flags = parse_json_object(curl({"http://" + address + "/flags"}).body);
    CHECK(flag(flags, "log_level") == "warning");
    CHECK(flag(flags, "ip") == "127.0.0.1");
    CHECK(flag(flags, "http_threads") == "2");
    auto prometheus = curl({"http://" + address + "/metrics"});
    CHECK(prometheus.status == 200);
    CHECK(prometheus.body.find("# TYPE ") != std::string::npos);
    auto snapshot = curl({"http://" + address + "/metrics/snapshot"});
    CHECK(snapshot.status == 200);
    CHECK(parse_json_object(snapshot.body).fields().size() > 10);
    auto refused = curl({"-X", "DELETE", "http://" + address + "/health"});
    CHECK(refused.status == 405);
    CHECK(refused.body == R"({"error":"use GET"})");
  }
  auto master_flags = parse_json_object(curl({"http://" + m.address()
                                              + "/flags"}).body);
  CHECK(flag(master_flags, "max_agent_ping_timeouts") == "5");
  auto agent_flags = parse_json_object(curl({"http://" + a.address()
                                             + "/flags"}).body);
  CHECK(flag(agent_flags, "executor_log_level") == "debug");
  // The master's /state carries the same flags, as Mesos' does.
  auto state = parse_json_object(curl({"http://" + m.address()
                                       + "/master/state"}).body);
  CHECK(flag(state, "max_agent_ping_timeouts") == "5");
  a.process.terminate(15s);
}

TEST_CASE("dcos-master rejects a bad flag with exit status 2 and one line") {
  for (auto flag : {"--no_such_flag=1", "--port=http", "--weights=gold",
                    "--agent_ping_timeout=soon", "--roles=a,..,b"}) {
    CAPTURE(flag);
    scratch_dir dir;
    subprocess_options opts;
    opts.argv = {binary("DCOS_MASTER_BIN"), flag};
    opts.stdout_path = dir / "stdout";
    opts.stderr_path = dir / "stderr";
    auto p = subprocess::spawn(opts);
    REQUIRE(p);
    CHECK(p->wait() == 2);
    // One line on stderr that names the flag; nothing on stdout.
    auto err = read_file(dir / "stderr");
    CAPTURE(err);
    CHECK(!err.empty());
    CHECK(err.find('\n') == err.size() - 1);
    std::string name{flag};
    CHECK(err.find(name.substr(0, name.find('='))) != std::string::npos);
    CHECK(read_file(dir / "stdout").empty());
  }
}
