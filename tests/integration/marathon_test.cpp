// dcos-marathon against a real master and agents, driven with curl as its
// users drive Marathon: apps posted as JSON run and serve their ports, a
// killed task is replaced, a rolling upgrade keeps the healthy minimum,
// Marathon killed with -9 in the middle of a deployment is resumed by the
// next one (same framework, no task lost or doubled), bad input gets
// Marathon's 4xx and changes nothing, and (as root) a Docker image app runs
// in its image on the agents' container networks.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/https_server.hpp"
#include "support/images.hpp"
#include "support/marathon_process.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"
#include "support/skip.hpp"
#include "support/zookeeper.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

// A master, agents with ports of their own (two by default, each given
// `agent_flags`; resources of their own unless those name some), and a
// Marathon given `marathon_flags`.
struct cluster {
  scratch_dir dir;
  // An agent that stops answering is unreachable after 3 s, not 75 s.
  master_process master{
    {"--agent_ping_timeout=1secs", "--max_agent_ping_timeouts=3"}};
  std::vector<std::unique_ptr<agent_process>> agents;
  uint16_t marathon_port = free_port();
  std::optional<marathon_process> marathon;

  std::vector<std::string> marathon_flags;

  explicit cluster(int agent_count = 2,
                   std::vector<std::string> agent_flags = {},
                   std::vector<std::string> marathon_flags_ = {})
    : marathon_flags(std::move(marathon_flags_)) {
    bool own_resources = std::any_of(
      agent_flags.begin(), agent_flags.end(),
      [](const std::string& f) { return f.rfind("--resources=", 0) == 0; });
    // Each agent its own ports: the agents share this host's.
    for (int i = 0; i < agent_count; ++i) {
      auto flags = agent_flags;
      if (!own_resources)
        flags.push_back(resources_flag());
      agents.push_back(std::make_unique<agent_process>(
        master.address(), dir / fmt::format("agent-{}", i), flags));
    }
    start_marathon();
  }

  ~cluster() {
    marathon.reset();
    // The agents take their tasks with them.
    for (auto& a : agents) {
      a->process.kill(SIGUSR1);
      exit_status_within(a->process, 20s);
    }
  }

  agent_process& agent(size_t i) { return *agents.at(i); }

  static std::string resources_flag() {
    auto first = free_port_run(20);
    return fmt::format("--resources=cpus:4;mem:2048;disk:1000;ports:[{}-{}]",
                       first, first + 19);
  }

  void start_marathon() {
    marathon.emplace(master.address(), dir / "marathon", marathon_port,
                     marathon_flags);
  }

  http_result get(const std::string& path) {
    return curl({marathon->url(path)});
  }

  http_result send(const std::string& method, const std::string& path,
                   const std::string& body = {}) {
    std::vector<std::string> args{"-X", method, marathon->url(path)};
    if (!body.empty())
      args.insert(args.end(), {"-H", "Content-Type: application/json",
                               "--data-binary", body});
    return curl(args);
  }

  // POSTs an app definition; fails the test unless it is created.
  void post_app(const std::string& json) {
    auto r = send("POST", "/v2/apps", json);
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }

  // The app as GET /v2/apps/{id} shows it.
  google::protobuf::Struct app(const std::string& id) {
    auto r = get("/v2/apps" + id);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return parse_json_object(r.body).fields().at("app").struct_value();
  }

  std::vector<google::protobuf::Struct> tasks(const std::string& id) {
    std::vector<google::protobuf::Struct> out;
    auto a = app(id);
    if (auto t = a.fields().find("tasks"); t != a.fields().end())
      for (const auto& v : t->second.list_value().values())
        out.push_back(v.struct_value());
    return out;
  }

  int running(const std::string& id) {
    return static_cast<int>(
      app(id).fields().at("tasksRunning").number_value());
  }

  bool deployments_done() {
    auto r = get("/v2/deployments");
    return r.status == 200 && r.body == "[]";
  }

  // The tasks the master has of Marathon's framework that have not ended.
  std::set<std::string> master_tasks() {
    auto r = curl({"http://" + master.address() + "/master/state"});
    REQUIRE(r.status == 200);
    std::set<std::string> out;
    auto state = parse_json_object(r.body);
    for (const auto& f : state.fields().at("frameworks").list_value().values())
      for (const auto& v :
           f.struct_value().fields().at("tasks").list_value().values()) {
        const auto& t = v.struct_value().fields();
        auto state = t.at("state").string_value();
        if (state == "TASK_RUNNING" || state == "TASK_STAGING"
            || state == "TASK_STARTING" || state == "TASK_KILLING")
          out.insert(t.at("id").string_value());
      }
    return out;
  }
};

std::string text(const google::protobuf::Struct& s, const std::string& name) {
  auto at = s.fields().find(name);
  return at == s.fields().end() ? std::string{} : at->second.string_value();
}

std::string first_port(const google::protobuf::Struct& task) {
  return fmt::format(
    "{}", task.fields().at("ports").list_value().values(0).number_value());
}

} // namespace

TEST_CASE("an app posted with curl runs, serves its port, and a task that "
          "dies is replaced") {
  cluster c;
  auto posted = c.send("POST", "/v2/apps", R"({
    "id": "/web", "cmd": "exec python3 -m http.server $PORT0 --bind 127.0.0.1",
    "instances": 2, "cpus": 0.1, "mem": 64, "backoffSeconds": 0.5})");
  REQUIRE_MESSAGE(posted.status == 201, posted.body);
  auto body = parse_json_object(posted.body);
  CHECK(text(body, "id") == "/web");
  CHECK(body.fields().at("deployments").list_value().values_size() == 1);

  REQUIRE(eventually([&] { return c.running("/web") == 2; }, 30s));
  CHECK(eventually([&] { return c.deployments_done(); }));
  auto tasks = c.tasks("/web");
  REQUIRE(tasks.size() == 2);
  for (const auto& t : tasks) {
    CHECK(text(t, "appId") == "/web");
    CHECK(text(t, "state") == "TASK_RUNNING");
    auto port = first_port(t);
    CHECK_MESSAGE(eventually([&] {
                    return curl({"http://127.0.0.1:" + port + "/"}).status
                           == 200;
                  }),
                  "nothing serves port ", port);
  }

  // The task's process dies: Marathon notes the failure and replaces it.
  auto victim = tasks[0];
  auto killed = run_to_end(
    {"pkill", "-9", "-f", "http.server " + first_port(victim)});
  REQUIRE(killed.status == 0);
  REQUIRE(eventually(
    [&] {
      auto now = c.tasks("/web");
      return now.size() == 2 && c.running("/web") == 2
             && std::none_of(now.begin(), now.end(), [&](const auto& t) {
                  return text(t, "id") == text(victim, "id");
                });
    },
    30s));
  auto failure = c.app("/web").fields().at("lastTaskFailure").struct_value();
  CHECK(text(failure, "taskId") == text(victim, "id"));
  CHECK(text(failure, "state") == "TASK_FAILED");

  // GET /v2/tasks and /v2/apps/web/tasks list them; the label and id
  // filters of /v2/apps work.
  auto all = parse_json_object(c.get("/v2/tasks").body);
  CHECK(all.fields().at("tasks").list_value().values_size() == 2);
  auto own = parse_json_object(c.get("/v2/apps/web/tasks").body);
  CHECK(own.fields().at("tasks").list_value().values_size() == 2);
  CHECK(c.get("/v2/apps?id=we").body.find("\"/web\"") != std::string::npos);
  CHECK(c.get("/v2/apps?id=nope").body == R"({"apps":[]})");
  CHECK(c.get("/v2/apps").body.find(R"("tasks":[])") != std::string::npos);
  CHECK(c.get("/v2/apps?embed=apps.lastTaskFailure&embed=apps.tasks")
          .body.find(R"("tasks":[{)")
        != std::string::npos);

  // Removing the app kills its tasks at the master.
  auto removed = c.send("DELETE", "/v2/apps/web");
  CHECK(removed.status == 200);
  CHECK(removed.body.find("deploymentId") != std::string::npos);
  CHECK(c.get("/v2/apps/web").status == 404);
  CHECK(eventually([&] { return c.master_tasks().empty(); }, 30s));
  CHECK(eventually([&] { return c.deployments_done(); }));
}

TEST_CASE("a rolling upgrade never has fewer than the healthy minimum "
          "running, and ends with every task on the new version") {
  cluster c;
  auto posted = c.send("POST", "/v2/apps", R"({
    "id": "/roll", "cmd": "sleep 3600", "instances": 4, "cpus": 0.1,
    "mem": 16, "upgradeStrategy": {"minimumHealthCapacity": 0.5,
    "maximumOverCapacity": 0.25}})");
  REQUIRE_MESSAGE(posted.status == 201, posted.body);
  REQUIRE(eventually([&] { return c.running("/roll") == 4; }, 30s));
  REQUIRE(eventually([&] { return c.deployments_done(); }));
  auto old_version
    = text(c.app("/roll").fields().at("versionInfo").struct_value(),
           "lastConfigChangeAt");

  auto put = c.send("PUT", "/v2/apps/roll", R"({
    "cmd": "sleep 3601", "instances": 4, "cpus": 0.1, "mem": 16,
    "upgradeStrategy": {"minimumHealthCapacity": 0.5,
    "maximumOverCapacity": 0.25}})");
  REQUIRE_MESSAGE(put.status == 200, put.body);
  int lowest = 4, most = 0;
  bool done = eventually(
    [&] {
      auto tasks = c.tasks("/roll");
      int running = 0;
      for (const auto& t : tasks)
        running += text(t, "state") == "TASK_RUNNING";
      lowest = std::min(lowest, running);
      most = std::max(most, static_cast<int>(c.master_tasks().size()));
      return c.deployments_done() && tasks.size() == 4
             && std::all_of(tasks.begin(), tasks.end(), [&](const auto& t) {
                  return text(t, "version") != old_version
                         && text(t, "state") == "TASK_RUNNING";
                });
    },
    60s);
  CHECK(done);
  CHECK_MESSAGE(lowest >= 2, "only ", lowest, " running during the upgrade");
  // 4 x 1.25 = 5, tasks being killed included.
  CHECK_MESSAGE(most <= 5, most, " tasks at the master at once");
  CHECK(eventually([&] { return c.master_tasks().size() == 4; }));
}

TEST_CASE("a health-checked app: deployments wait for health, a rolling "
          "upgrade keeps its healthy minimum answering, an instance failing "
          "its checks is killed and replaced, and a rollback restores it") {
  cluster c;
  auto events = [&] {
    subprocess_options opts;
    opts.argv = {"curl", "-sN", "-H", "Accept: text/event-stream",
                 c.marathon->url("/v2/events?event_type=health_status_changed_"
                                 "event&event_type=failed_health_check_event"
                                 "&event_type=unhealthy_instance_kill_event")};
    opts.capture_stdout = true;
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    return std::move(*p);
  }();
  // `check_path` is what the executor asks for: "/" answers 200, any
  // other path 404.
  auto definition = [](const std::string& version,
                       const std::string& check_path) {
    return fmt::format(R"({{
      "id": "/hc", "cmd": "exec python3 -m http.server $PORT0 --bind 127.0.0.1",
      "instances": 2, "cpus": 0.1, "mem": 64, "backoffSeconds": 0.5,
      "env": {{"VERSION": "{}"}},
      "upgradeStrategy": {{"minimumHealthCapacity": 1,
                           "maximumOverCapacity": 0.5}},
      "healthChecks": [{{"protocol": "MESOS_HTTP", "path": "{}",
        "portIndex": 0, "gracePeriodSeconds": 2, "intervalSeconds": 1,
        "timeoutSeconds": 0.5, "delaySeconds": 0,
        "maxConsecutiveFailures": 2}}]}})",
                       version, check_path);
  };
  auto count = [&](const char* field) {
    return static_cast<int>(c.app("/hc").fields().at(field).number_value());
  };
  // How many of the app's listed tasks really answer on their port.
  auto answering = [&] {
    int n = 0;
    for (const auto& t : c.tasks("/hc"))
      n += curl({"--max-time", "1", "http://127.0.0.1:" + first_port(t) + "/"})
             .status
           == 200;
    return n;
  };

  c.post_app(definition("1", "/"));
  // The deployment ends once both are healthy, not once they run.
  bool ended_unhealthy = false;
  REQUIRE(eventually(
    [&] {
      bool done = c.deployments_done();
      ended_unhealthy = ended_unhealthy || (done && count("tasksHealthy") < 2);
      return done;
    },
    30s));
  CHECK_FALSE(ended_unhealthy);
  CHECK(count("tasksHealthy") == 2);
  CHECK(count("tasksUnhealthy") == 0);
  for (const auto& t : c.tasks("/hc")) {
    const auto& results = t.fields().at("healthCheckResults").list_value();
    REQUIRE(results.values_size() == 1);
    const auto& r = results.values(0).struct_value();
    CHECK(r.fields().at("alive").bool_value());
    CHECK(text(r, "taskId") == text(t, "id"));
    CHECK_FALSE(text(r, "firstSuccess").empty());
  }

  // A rolling upgrade: two instances must answer all along.
  auto put = c.send("PUT", "/v2/apps/hc", definition("2", "/"));
  REQUIRE_MESSAGE(put.status == 200, put.body);
  int lowest = 2;
  bool upgraded = eventually(
    [&] {
      lowest = std::min(lowest, answering());
      auto tasks = c.tasks("/hc");
      return c.deployments_done() && tasks.size() == 2
             && count("tasksHealthy") == 2;
    },
    60s);
  CHECK(upgraded);
  CHECK_MESSAGE(lowest >= 2, "only ", lowest, " answering during the upgrade");

  // A version whose checks fail: its instances are killed after two failed
  // checks and replaced, the old ones keep serving, and the deployment
  // says it waits.
  put = c.send("PUT", "/v2/apps/hc", definition("3", "/missing"));
  REQUIRE_MESSAGE(put.status == 200, put.body);
  auto deployment = parse_json_object(put.body);
  REQUIRE(eventually(
    [&] {
      auto app = c.app("/hc");
      auto f = app.fields().find("lastTaskFailure");
      return f != app.fields().end()
             && text(f->second.struct_value(), "message")
                  .find("consecutive failed health checks")
                != std::string::npos;
    },
    30s));
  CHECK(answering() >= 2);
  CHECK_FALSE(c.deployments_done());
  std::vector<std::string> seen;
  while (seen.size() < 20) {
    auto line = events.read_line(10s);
    if (!line)
      break;
    if (line->rfind("event: ", 0) == 0) {
      seen.push_back(line->substr(7));
      if (seen.back() == "unhealthy_instance_kill_event")
        break;
    }
  }
  for (auto expected : {"health_status_changed_event",
                        "failed_health_check_event",
                        "unhealthy_instance_kill_event"})
    CHECK_MESSAGE(std::count(seen.begin(), seen.end(), expected) >= 1, "no ",
                  expected, " among ", seen.size(), " events");

  // Rolled back: the last healthy version comes back.
  auto rollback = c.send(
    "DELETE",
    "/v2/deployments/" + text(deployment, "deploymentId"));
  REQUIRE_MESSAGE(rollback.status == 200, rollback.body);
  CHECK(eventually(
    [&] {
      return c.deployments_done() && count("tasksHealthy") == 2
             && c.tasks("/hc").size() == 2;
    },
    60s));
  CHECK(answering() == 2);
}

TEST_CASE("Marathon killed with -9 mid-deployment: the next one resumes it "
          "with the same framework, losing and doubling nothing") {
  cluster c;
  c.post_app(R"({"id": "/db", "cmd": "sleep 3600",
    "instances": 1, "cpus": 0.1, "mem": 16})");
  REQUIRE(eventually([&] { return c.running("/db") == 1; }, 30s));
  auto framework = text(parse_json_object(c.get("/v2/info").body),
                        "frameworkId");
  REQUIRE_FALSE(framework.empty());

  auto scaled = c.send("PUT", "/v2/apps/db", R"({"cmd": "sleep 3600",
    "instances": 6, "cpus": 0.1, "mem": 16})");
  REQUIRE(scaled.status == 200);
  c.marathon->process.kill(SIGKILL);
  exit_status_within(c.marathon->process, 10s);
  c.start_marathon();

  CHECK(text(parse_json_object(c.get("/v2/info").body), "frameworkId")
        == framework);
  CHECK(eventually([&] { return c.running("/db") == 6; }, 40s));
  CHECK(eventually([&] { return c.deployments_done(); }));
  auto ours = c.tasks("/db");
  std::set<std::string> ids;
  for (const auto& t : ours)
    ids.insert(text(t, "id"));
  // Whatever the first Marathon launched but did not record is killed.
  CHECK(eventually([&] { return c.master_tasks() == ids; }, 20s));
}

TEST_CASE("a group with dependencies posted by curl starts its apps in "
          "order, even across a kill -9 of Marathon; scaleBy, app and "
          "group versions, and removal of the group") {
  cluster c;
  // The database turns healthy a second or more after it starts; the web
  // app depends on it.
  auto posted = c.send("POST", "/v2/groups", R"({"id": "/shop", "apps": [
    {"id": "db", "cmd": "sleep 3600", "cpus": 0.1, "mem": 16,
     "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"},
       "delaySeconds": 1, "intervalSeconds": 1, "timeoutSeconds": 0.5,
       "gracePeriodSeconds": 5}]},
    {"id": "web", "cmd": "sleep 3600", "cpus": 0.1, "mem": 16,
     "dependencies": ["db"]}]})");
  REQUIRE_MESSAGE(posted.status == 201, posted.body);
  CHECK(c.get("/v2/deployments").body.find(
          R"("steps":[{"actions":[{"action":"StartApplication","app":"/shop/db"}]},)"
          R"({"actions":[{"action":"StartApplication","app":"/shop/web"}]}])")
        != std::string::npos);
  // Marathon dies while the web app waits; the next one keeps the order.
  c.marathon->process.kill(SIGKILL);
  exit_status_within(c.marathon->process, 10s);
  c.start_marathon();
  REQUIRE(eventually(
    [&] {
      return c.deployments_done() && c.running("/shop/web") == 1
             && c.running("/shop/db") == 1;
    },
    40s));
  auto db = c.tasks("/shop/db").at(0);
  auto healthy_since = text(
    db.fields().at("healthCheckResults").list_value().values(0).struct_value(),
    "firstSuccess");
  auto web = c.tasks("/shop/web").at(0);
  CHECK_MESSAGE(text(web, "stagedAt") >= healthy_since, "web staged at ",
                text(web, "stagedAt"), ", db healthy at ", healthy_since);

  auto tree = parse_json_object(c.get("/v2/groups").body);
  REQUIRE(tree.fields().at("groups").list_value().values_size() == 1);
  auto shop = parse_json_object(c.get("/v2/groups/shop").body);
  CHECK(shop.fields().at("apps").list_value().values_size() == 2);
  CHECK(c.get("/v2/groups/nope").status == 404);
  CHECK(c.send("POST", "/v2/groups", R"({"id": "/shop"})").status == 409);

  // A cycle is refused and changes nothing.
  auto cycle = c.send("PUT", "/v2/groups/shop",
                      R"({"dependencies": ["/shop/web"]})");
  CHECK(cycle.status == 422);
  CHECK(cycle.body.find("cyclic dependencies") != std::string::npos);
  CHECK(c.deployments_done());

  // scaleBy doubles both; the first version of web comes back by PUT.
  auto scaled = c.send("PUT", "/v2/groups/shop", R"({"scaleBy": 2})");
  REQUIRE_MESSAGE(scaled.status == 200, scaled.body);
  REQUIRE(eventually(
    [&] {
      return c.deployments_done() && c.running("/shop/web") == 2
             && c.running("/shop/db") == 2;
    },
    40s));
  auto versions = parse_json_object(c.get("/v2/apps/shop/web/versions").body)
                    .fields()
                    .at("versions")
                    .list_value();
  REQUIRE(versions.values_size() == 2);
  auto first = versions.values(1).string_value();
  auto old = parse_json_object(c.get("/v2/apps/shop/web/versions/" + first).body);
  CHECK(old.fields().at("instances").number_value() == 1);
  auto back = c.send("PUT", "/v2/apps/shop/web",
                     fmt::format(R"({{"version": "{}"}})", first));
  REQUIRE_MESSAGE(back.status == 200, back.body);
  CHECK(eventually(
    [&] { return c.deployments_done() && c.tasks("/shop/web").size() == 1; },
    30s));
  CHECK(c.app("/shop/web").fields().at("instances").number_value() == 1);
  CHECK(c.get("/v2/apps/shop/web/versions/2001-01-01T00:00:00.000Z").status
        == 404);

  // The group's versions (newest first, across the restart): the first is
  // the group as posted, and PUT {"version"} puts all of it back (db was
  // scaled to 2).
  auto group_versions = [&] {
    auto r = c.get("/v2/groups/shop/versions");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    google::protobuf::Value list;
    REQUIRE(google::protobuf::util::JsonStringToMessage(r.body, &list).ok());
    std::vector<std::string> out;
    for (const auto& v : list.list_value().values())
      out.push_back(v.string_value());
    return out;
  };
  auto kept = group_versions();
  REQUIRE(kept.size() >= 3); // posted, scaled, web put back
  CHECK(std::is_sorted(kept.rbegin(), kept.rend()));
  auto posted_version = kept.back();
  auto then = c.get("/v2/groups/shop/versions/" + posted_version);
  REQUIRE_MESSAGE(then.status == 200, then.body);
  auto then_group = parse_json_object(then.body);
  CHECK(text(then_group, "version") == posted_version);
  const auto& then_apps = then_group.fields().at("apps").list_value();
  REQUIRE(then_apps.values_size() == 2);
  for (const auto& a : then_apps.values())
    CHECK(a.struct_value().fields().at("instances").number_value() == 1);
  auto restored = c.send("PUT", "/v2/groups/shop",
                         fmt::format(R"({{"version": "{}"}})", posted_version));
  REQUIRE_MESSAGE(restored.status == 200, restored.body);
  CHECK(eventually(
    [&] {
      return c.deployments_done() && c.tasks("/shop/db").size() == 1
             && c.running("/shop/web") == 1;
    },
    30s));
  auto now_kept = group_versions();
  CHECK(now_kept.size() == kept.size() + 1);
  CHECK(now_kept.front() > kept.front());
  CHECK(c.get("/v2/groups/shop/versions/2001-01-01T00:00:00.000Z").status
        == 404);
  CHECK(c.get("/v2/groups/nope/versions").status == 404);
  CHECK(c.send("PUT", "/v2/groups/shop",
               R"({"version": "2001-01-01T00:00:00.000Z"})")
          .status
        == 404);

  auto removed = c.send("DELETE", "/v2/groups/shop");
  CHECK(removed.status == 200);
  CHECK(eventually([&] { return c.master_tasks().empty(); }, 30s));
  CHECK(c.get("/v2/groups/shop").status == 404);
  CHECK(c.get("/v2/apps/shop/web").status == 404);
}

TEST_CASE("`dcos marathon` adds, lists, updates, shows, restarts and "
          "removes apps, lists deployments and tasks, and says what is "
          "wrong") {
  cluster c;
  auto dcos = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {binary("DCOS_CLI"), "marathon"});
    args.push_back(fmt::format("--marathon=127.0.0.1:{}", c.marathon->port));
    return run_to_end(args, 30s);
  };
  auto file = c.dir / "app.json";
  write_file(file, R"({"id": "/cli", "cmd": "sleep 3600", "instances": 2,
                       "cpus": 0.1, "mem": 16})");
  auto added = dcos({"app", "add", file});
  REQUIRE_MESSAGE(added.status == 0, added.out);
  CHECK(added.out.rfind("Created deployment ", 0) == 0);
  REQUIRE(eventually([&] { return c.running("/cli") == 2; }, 30s));
  REQUIRE(eventually([&] { return c.deployments_done(); }));

  auto listed = dcos({"app", "list"});
  CHECK(listed.status == 0);
  CHECK_MESSAGE(listed.out.find("ID") == 0, listed.out);
  CHECK_MESSAGE(listed.out.find("/cli") != std::string::npos, listed.out);
  CHECK_MESSAGE(listed.out.find("2/2") != std::string::npos, listed.out);
  auto as_json = dcos({"app", "list", "--json"});
  CHECK(parse_json_object("{\"apps\":" + as_json.out + "}")
          .fields()
          .at("apps")
          .list_value()
          .values_size()
        == 1);

  auto tasks = dcos({"task", "list", "cli"});
  CHECK(tasks.status == 0);
  CHECK(std::count(tasks.out.begin(), tasks.out.end(), '\n') == 3);

  auto updated = dcos({"app", "update", "cli", "instances=3"});
  CHECK_MESSAGE(updated.status == 0, updated.out);
  CHECK(eventually([&] { return c.running("/cli") == 3; }, 30s));
  auto shown = parse_json_object(dcos({"app", "show", "cli"}).out);
  CHECK(shown.fields().at("instances").number_value() == 3);
  CHECK(shown.fields().at("cmd").string_value() == "sleep 3600");

  auto refused = dcos({"app", "update", "cli", "instances=-1"});
  CHECK(refused.status == 1);
  CHECK_MESSAGE(refused.out.find("/instances: must be at least 0")
                  != std::string::npos,
                refused.out);
  CHECK(c.app("/cli").fields().at("instances").number_value() == 3);
  CHECK(dcos({"app", "remove", "nope"}).out.find("App '/nope' does not exist")
        != std::string::npos);
  CHECK(dcos({"app", "frob", "cli"}).status == 2);

  REQUIRE(dcos({"app", "restart", "cli"}).status == 0);
  auto deployments = dcos({"deployment", "list", "cli"});
  CHECK(deployments.status == 0);
  CHECK_MESSAGE((deployments.out.find("RestartApplication") != std::string::npos
                 || deployments.out.find("There are no deployments")
                      != std::string::npos),
                deployments.out);
  CHECK(eventually([&] { return c.deployments_done(); }, 30s));
  CHECK(dcos({"deployment", "list"}).out == "There are no deployments\n");

  CHECK(dcos({"app", "remove", "cli"}).status == 0);
  CHECK(eventually([&] { return c.master_tasks().empty(); }, 30s));
}

TEST_CASE("bad requests get Marathon's status and body, and change "
          "nothing") {
  cluster c;
  c.post_app(R"({"id": "/keep", "cmd": "sleep 3600",
    "instances": 1, "cpus": 0.1, "mem": 16})");
  REQUIRE(eventually([&] { return c.deployments_done(); }, 30s));
  auto before = c.get("/v2/apps").body;

  auto malformed = c.send("POST", "/v2/apps", R"({"id": "x", "cmd": )");
  CHECK(malformed.status == 400);
  CHECK(malformed.body.find("Invalid JSON") != std::string::npos);
  auto negative = c.send("POST", "/v2/apps",
                         R"({"id": "x", "cmd": "y", "instances": -1})");
  CHECK(negative.status == 422);
  CHECK(negative.body.find(R"("path":"/instances")") != std::string::npos);
  auto wrong_type = c.send("POST", "/v2/apps",
                           R"({"id": "x", "cmd": "y", "mem": "lots"})");
  CHECK(wrong_type.status == 422);
  CHECK(wrong_type.body.find(R"("path":"/mem")") != std::string::npos);
  auto operator_ = c.send(
    "POST", "/v2/apps",
    R"({"id": "x", "cmd": "y", "constraints": [["hostname", "EVERYWHERE"]]})");
  CHECK(operator_.status == 422);
  CHECK(operator_.body.find("EVERYWHERE") != std::string::npos);
  auto duplicate = c.send("POST", "/v2/apps",
                          R"({"id": "/keep", "cmd": "other"})");
  CHECK(duplicate.status == 409);
  CHECK(duplicate.body.find("already exists") != std::string::npos);
  auto bad_put = c.send("PUT", "/v2/apps/keep",
                        R"({"cmd": "sleep 1", "cpus": -1})");
  CHECK(bad_put.status == 422);
  CHECK(c.get("/v2/apps/nothing").status == 404);
  CHECK(c.send("DELETE", "/v2/apps/nothing").status == 404);
  CHECK(c.send("POST", "/v2/apps/nothing/restart").status == 404);

  CHECK(c.get("/v2/apps").body == before);
  CHECK(c.deployments_done());
}

namespace {

// The reserved resources of every agent, by role, as the master shows them.
std::set<std::string> reserved_roles(cluster& c) {
  auto r = curl({"http://" + c.master.address() + "/master/state"});
  REQUIRE(r.status == 200);
  std::set<std::string> out;
  auto state = parse_json_object(r.body);
  for (const auto& a : state.fields().at("slaves").list_value().values())
    for (const auto& [role, rs] :
         a.struct_value().fields().at("reserved_resources").struct_value()
           .fields())
      out.insert(role);
  return out;
}

std::string persistence_id(const google::protobuf::Struct& task) {
  auto at = task.fields().find("localVolumes");
  if (at == task.fields().end() || at->second.list_value().values_size() != 1)
    return {};
  return text(at->second.list_value().values(0).struct_value(),
              "persistenceId");
}

// The lines a resident task wrote to its volume, on its agent's disk.
std::string volume_log(cluster& c, const std::string& id) {
  return read_file(c.agent(0).work_dir + "/volumes/roles/slave_public/" + id
                   + "/log");
}

const char* resident_app = R"({"id": "/db",
  "cmd": "echo $MESOS_TASK_ID >> data/log && exec sleep 3600",
  "cpus": 0.1, "mem": 32, "instances": 1, "backoffSeconds": 0.2,
  "container": {"type": "MESOS", "volumes": [{"containerPath": "data",
    "mode": "RW", "persistent": {"type": "root", "size": 10}}]}})";

} // namespace

TEST_CASE("a resident app keeps its volume: relaunched in place after a "
          "kill and after a scale down and up; removed, it gives its "
          "reservation and volume back") {
  cluster c{1, {}, {"--mesos_role=slave_public"}};
  c.post_app(resident_app);
  REQUIRE(eventually([&] { return c.running("/db") == 1; }, 30s));
  REQUIRE(eventually([&] { return c.deployments_done(); }, 30s));
  auto first = c.tasks("/db").at(0);
  auto volume = persistence_id(first);
  REQUIRE_MESSAGE(volume.rfind("db#data#", 0) == 0, volume);
  CHECK(reserved_roles(c) == std::set<std::string>{"slave_public"});
  CHECK(c.app("/db").fields().at("unreachableStrategy").string_value()
        == "disabled");
  auto id1 = text(first, "id");
  REQUIRE(eventually([&] { return volume_log(c, volume) == id1 + "\n"; }));

  // Killed (not scaled): its replacement runs on the same volume.
  REQUIRE(c.send("DELETE", "/v2/apps/db/tasks/" + id1).status == 200);
  std::string id2;
  REQUIRE(eventually(
    [&] {
      auto tasks = c.tasks("/db");
      if (tasks.size() != 1 || text(tasks[0], "state") != "TASK_RUNNING"
          || text(tasks[0], "id") == id1)
        return false;
      id2 = text(tasks[0], "id");
      return persistence_id(tasks[0]) == volume;
    },
    30s));
  REQUIRE(eventually(
    [&] { return volume_log(c, volume) == id1 + "\n" + id2 + "\n"; }));

  // Scaled to 0: the instance is suspended, listed with its volume and no
  // state; its reservation stays.
  auto scaled = c.send("PATCH", "/v2/apps/db", R"({"instances": 0})");
  REQUIRE_MESSAGE(scaled.status == 200, scaled.body);
  REQUIRE(eventually([&] { return c.deployments_done(); }, 30s));
  REQUIRE(eventually([&] { return c.master_tasks().empty(); }, 30s));
  auto suspended = c.tasks("/db");
  REQUIRE(suspended.size() == 1);
  CHECK(text(suspended[0], "id") == id2);
  CHECK(text(suspended[0], "state").empty());
  CHECK(persistence_id(suspended[0]) == volume);
  CHECK(reserved_roles(c) == std::set<std::string>{"slave_public"});

  // Scaled up again: the same volume, with what it held.
  REQUIRE(c.send("PATCH", "/v2/apps/db", R"({"instances": 1})").status == 200);
  REQUIRE(eventually([&] { return c.running("/db") == 1; }, 30s));
  auto third = c.tasks("/db").at(0);
  CHECK(persistence_id(third) == volume);
  auto id3 = text(third, "id");
  REQUIRE(eventually([&] {
    return volume_log(c, volume) == id1 + "\n" + id2 + "\n" + id3 + "\n";
  }));

  // Its resources can not change; nothing changes when refused.
  auto more = c.send("PATCH", "/v2/apps/db", R"({"cpus": 0.2})");
  CHECK(more.status == 422);
  CHECK_MESSAGE(more.body.find("may not change resource requirements")
                  != std::string::npos,
                more.body);
  CHECK(c.app("/db").fields().at("cpus").number_value() == 0.1);

  // Removed: the task is killed, the volume destroyed, the resources
  // unreserved.
  REQUIRE(c.send("DELETE", "/v2/apps/db").status == 200);
  REQUIRE(eventually([&] { return c.get("/v2/apps/db").status == 404; },
                     30s));
  CHECK(eventually([&] { return reserved_roles(c).empty(); }, 30s));
  CHECK(eventually([&] {
    return !std::filesystem::exists(c.agent(0).work_dir
                                    + "/volumes/roles/slave_public/"
                                    + volume);
  }));
}

TEST_CASE("a wiped resident instance gives its volume back and its "
          "replacement starts on a new one; a Marathon without a role of "
          "its own refuses resident apps") {
  {
    cluster c{1, {}, {"--mesos_role=slave_public"}};
    c.post_app(resident_app);
    REQUIRE(eventually([&] { return c.running("/db") == 1; }, 30s));
    auto first = c.tasks("/db").at(0);
    auto volume = persistence_id(first);
    auto wiped = c.send("DELETE", "/v2/apps/db/tasks/" + text(first, "id")
                                    + "?wipe=true");
    REQUIRE_MESSAGE(wiped.status == 200, wiped.body);
    std::string fresh;
    REQUIRE(eventually(
      [&] {
        auto tasks = c.tasks("/db");
        if (tasks.size() != 1 || text(tasks[0], "state") != "TASK_RUNNING")
          return false;
        fresh = persistence_id(tasks[0]);
        return !fresh.empty() && fresh != volume;
      },
      30s));
    CHECK(eventually([&] {
      return !std::filesystem::exists(c.agent(0).work_dir
                                      + "/volumes/roles/slave_public/"
                                      + volume);
    }));
    CHECK(std::filesystem::exists(c.agent(0).work_dir
                                  + "/volumes/roles/slave_public/" + fresh));
    // Marathon restarted: it knows the instance's reservation still, and
    // relaunches the instance on it.
    c.start_marathon();
    REQUIRE(eventually([&] { return c.running("/db") == 1; }, 30s));
    auto task = c.tasks("/db").at(0);
    CHECK(persistence_id(task) == fresh);
    REQUIRE(c.send("DELETE", "/v2/apps/db/tasks/" + text(task, "id")).status
            == 200);
    CHECK(eventually(
      [&] {
        auto tasks = c.tasks("/db");
        return tasks.size() == 1 && text(tasks[0], "state") == "TASK_RUNNING"
               && text(tasks[0], "id") != text(task, "id")
               && persistence_id(tasks[0]) == fresh;
      },
      30s));
    CHECK(reserved_roles(c) == std::set<std::string>{"slave_public"});
    auto both = c.send("DELETE", "/v2/apps/db/tasks?scale=true&wipe=true");
    CHECK(both.status == 400);
    CHECK(both.body.find("scale and wipe") != std::string::npos);
  }
  cluster plain{1};
  auto refused = plain.send("POST", "/v2/apps", resident_app);
  CHECK(refused.status == 422);
  CHECK_MESSAGE(refused.body.find("cannot have the role *")
                  != std::string::npos,
                refused.body);
  CHECK(plain.get("/v2/apps/db").status == 404);
}

TEST_CASE("a change while a deployment holds the app is refused with 409 "
          "unless forced; a rollback restores the old definition") {
  cluster c;
  // More than the agents have: the deployment cannot finish, and says why.
  auto posted = c.send("POST", "/v2/apps", R"({"id": "/big",
    "cmd": "sleep 3600", "instances": 1, "cpus": 0.1, "mem": 16})");
  REQUIRE(posted.status == 201);
  REQUIRE(eventually([&] { return c.deployments_done(); }, 30s));
  auto stuck = c.send("PUT", "/v2/apps/big", R"({"cmd": "sleep 3600",
    "instances": 3, "cpus": 0.1, "mem": 4000})");
  REQUIRE(stuck.status == 200);
  auto deployment = text(parse_json_object(stuck.body), "deploymentId");
  CHECK(eventually(
    [&] {
      return c.get("/v2/deployments").body.find("not enough mem")
             != std::string::npos;
    },
    20s));

  // The queue says how many wait and what the offers lacked.
  CHECK(eventually(
    [&] {
      auto q = c.get("/v2/queue").body;
      return q.find(R"("count":3)") != std::string::npos
             && q.find(R"("reason":"InsufficientMemory")")
                  != std::string::npos;
    },
    20s));
  // With embed=lastUnusedOffers, the offers themselves and why not.
  auto queue = parse_json_object(c.get("/v2/queue?embed=lastUnusedOffers").body);
  const auto& item = queue.fields().at("queue").list_value().values(0)
                       .struct_value().fields();
  const auto& unused = item.at("lastUnusedOffers").list_value();
  REQUIRE(unused.values_size() >= 1);
  REQUIRE(unused.values_size() <= 10);
  const auto& last = unused.values(unused.values_size() - 1).struct_value();
  CHECK(last.fields().at("reason").list_value().values(0).string_value()
        == "InsufficientMemory");
  CHECK_FALSE(text(last, "timestamp").empty());
  const auto& offered = last.fields().at("offer").struct_value();
  CHECK_FALSE(text(offered, "agentId").empty());
  bool has_mem = false;
  for (const auto& r : offered.fields().at("resources").list_value().values())
    has_mem = has_mem || text(r.struct_value(), "name") == "mem";
  CHECK(has_mem);
  CHECK(c.get("/v2/queue").body.find("\"offer\":") == std::string::npos);

  auto refused = c.send("PUT", "/v2/apps/big", R"({"cmd": "sleep 3600",
    "instances": 2, "cpus": 0.1, "mem": 16})");
  CHECK(refused.status == 409);
  CHECK(refused.body.find(deployment) != std::string::npos);

  // Rolling back: the app is as it was, and its task runs on.
  auto rollback = c.send("DELETE", "/v2/deployments/" + deployment);
  CHECK(rollback.status == 200);
  CHECK(eventually([&] { return c.deployments_done(); }, 30s));
  auto app = c.app("/big");
  CHECK(app.fields().at("mem").number_value() == 16);
  CHECK(app.fields().at("instances").number_value() == 1);
  CHECK(eventually([&] { return c.running("/big") == 1; }));

  auto forced = c.send("PUT", "/v2/apps/big?force=true",
                       R"({"cmd": "sleep 3600", "instances": 2, "cpus": 0.1,
                           "mem": 16})");
  CHECK(forced.status == 200);
  CHECK(eventually([&] { return c.running("/big") == 2; }, 30s));
}

TEST_CASE("an app's fetch puts an archive (unpacked) and an executable "
          "script in its sandbox before it starts") {
  cluster c;
  scratch_dir files;
  write_file(files / "hello.txt", "fetched and unpacked\n");
  REQUIRE(run_to_end({"tar", "-czf", files / "site.tar.gz", "-C", files.path,
                      "hello.txt"})
            .status
          == 0);
  write_file(files / "serve",
             "exec python3 -m http.server \"$PORT0\" --bind 127.0.0.1\n");
  c.post_app(fmt::format(R"({{"id": "/fetched", "cmd": "./serve",
    "cpus": 0.1, "mem": 64,
    "fetch": [{{"uri": "file://{}"}},
              {{"uri": "file://{}", "executable": true}}]}})",
                         files / "site.tar.gz", files / "serve"));
  REQUIRE(eventually([&] { return c.running("/fetched") == 1; }, 30s));
  auto port = first_port(c.tasks("/fetched").at(0));
  http_result page;
  CHECK(eventually([&] {
    page = curl({"http://127.0.0.1:" + port + "/hello.txt"});
    return page.status == 200;
  }));
  CHECK(page.body == "fetched and unpacked\n");
  // The app keeps `fetch` with Marathon's defaults.
  auto fetch = c.app("/fetched").fields().at("fetch").list_value();
  REQUIRE(fetch.values_size() == 2);
  const auto& first = fetch.values(0).struct_value().fields();
  CHECK(first.at("extract").bool_value());
  CHECK_FALSE(first.at("executable").bool_value());
}

TEST_CASE("a readiness check holds a deployment until the new task answers "
          "ready, and the deployment shows the check's last answer") {
  // The agent advertises the loopback address, where Marathon asks.
  cluster c{1, {"--hostname=127.0.0.1"}};
  // The task serves at once, but /ready only after three seconds.
  c.post_app(R"({"id": "/slow",
    "cmd": "(sleep 3; echo ok > ready) & exec python3 -m http.server $PORT0 --bind 127.0.0.1",
    "cpus": 0.1, "mem": 64,
    "portDefinitions": [{"port": 0, "name": "http-api"}],
    "readinessChecks": [{"path": "/ready", "intervalSeconds": 1,
                         "timeoutSeconds": 0.5,
                         "preserveLastResponse": true}]})");
  // Running and answering, not ready: the deployment waits and says why.
  google::protobuf::Struct result;
  REQUIRE(eventually(
    [&] {
      auto list = parse_json_object("{\"d\":" + c.get("/v2/deployments").body
                                    + "}");
      const auto& ds = list.fields().at("d").list_value();
      if (ds.values_size() != 1)
        return false;
      const auto& results = ds.values(0).struct_value().fields().at(
        "readinessCheckResults").list_value();
      if (results.values_size() != 1)
        return false;
      result = results.values(0).struct_value();
      // The first asks may find nothing listening yet.
      return result.fields().count("lastResponse") > 0;
    },
    20s));
  CHECK(text(result, "name") == "readinessCheck");
  CHECK_FALSE(result.fields().at("ready").bool_value());
  CHECK(result.fields().at("lastResponse").struct_value().fields()
          .at("status").number_value() == 404);
  CHECK(c.running("/slow") == 1);
  // Once /ready answers 200 the deployment ends.
  CHECK(eventually([&] { return c.deployments_done(); }, 20s));
  CHECK(c.get("/v2/apps/slow").body.find("readinessChecked")
        == std::string::npos);

  // A check on a port the app does not name is refused.
  auto bad = c.send("POST", "/v2/apps", R"({"id": "/bad", "cmd": "x",
    "readinessChecks": [{"portName": "nope"}]})");
  CHECK(bad.status == 422);
  CHECK(bad.body.find("/readinessChecks(0)/portName") != std::string::npos);
}

TEST_CASE("HTTPS health and readiness checks: an app serving TLS is ready "
          "and healthy, one answering plain HTTP on its checked port is "
          "not") {
  // The agent advertises the loopback address, where Marathon asks.
  cluster c{1, {"--hostname=127.0.0.1"}};
  scratch_dir files;
  auto tls = make_certificate(files, "localhost");
  auto script = write_https_script(files);
  // The task serves its sandbox over TLS; /ready only after two seconds.
  c.post_app(fmt::format(R"({{"id": "/secure",
    "cmd": "(sleep 2; echo ok > ready) & exec python3 {} --cert {} --key {} --port $PORT0",
    "cpus": 0.1, "mem": 64,
    "portDefinitions": [{{"port": 0, "name": "https-api"}}],
    "healthChecks": [{{"protocol": "MESOS_HTTPS", "path": "/",
      "gracePeriodSeconds": 5, "intervalSeconds": 1, "timeoutSeconds": 0.5,
      "delaySeconds": 0}}],
    "readinessChecks": [{{"protocol": "HTTPS", "portName": "https-api",
      "path": "/ready", "intervalSeconds": 1, "timeoutSeconds": 0.5}}]}})",
                         script, tls.cert, tls.key));
  auto posted = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return c.deployments_done(); }, 40s));
  // It waited for /ready, which answers over TLS only after two seconds.
  CHECK(std::chrono::steady_clock::now() - posted >= 2s);
  auto count = [&](const std::string& id, const char* field) {
    return static_cast<int>(c.app(id).fields().at(field).number_value());
  };
  CHECK(eventually([&] { return count("/secure", "tasksHealthy") == 1; }));
  auto port = first_port(c.tasks("/secure").at(0));
  CHECK(curl({"-k", "https://127.0.0.1:" + port + "/ready"}).status == 200);

  // Plain HTTP where the check expects TLS: never healthy, and the check
  // says why. The grace period lets it listen before a failure counts;
  // no kills (maxConsecutiveFailures 0).
  c.post_app(R"({"id": "/plain", "cmd": "exec python3 -m http.server $PORT0 --bind 127.0.0.1",
    "cpus": 0.1, "mem": 64,
    "healthChecks": [{"protocol": "MESOS_HTTPS", "gracePeriodSeconds": 3,
      "intervalSeconds": 1, "timeoutSeconds": 0.5, "delaySeconds": 0,
      "maxConsecutiveFailures": 0}]})");
  std::string cause;
  CHECK(eventually(
    [&] {
      auto tasks = c.tasks("/plain");
      if (tasks.empty())
        return false;
      auto results = tasks[0].fields().find("healthCheckResults");
      if (results == tasks[0].fields().end()
          || results->second.list_value().values_size() == 0)
        return false;
      const auto& r = results->second.list_value().values(0).struct_value();
      cause = text(r, "lastFailureCause");
      return !r.fields().at("alive").bool_value()
             && cause.find("TLS handshake") != std::string::npos;
    },
    30s));
  CHECK_MESSAGE(cause.find("TLS handshake") != std::string::npos, cause);
  CHECK(count("/plain", "tasksHealthy") == 0);
}

TEST_CASE("acceptedResourceRoles puts a public app on the resources "
          "reserved for its role and keeps other apps off them") {
  // One agent like a DC/OS public agent: a share reserved for slave_public
  // (with the port range), the rest unreserved; Marathon in that role.
  auto first = free_port_run(20);
  cluster c{1,
            {fmt::format("--resources=cpus(slave_public):1;"
                         "mem(slave_public):256;ports(slave_public):[{}-{}];"
                         "cpus:2;mem:1024;disk:1000;ports:[{}-{}]",
                         first, first + 9, first + 10, first + 19)},
            {"--mesos_role=slave_public"}};
  c.post_app(R"({"id": "/public", "cmd": "sleep 3600", "cpus": 0.5,
    "mem": 64, "acceptedResourceRoles": ["slave_public"]})");
  c.post_app(R"({"id": "/private", "cmd": "sleep 3600", "cpus": 0.5,
    "mem": 64, "acceptedResourceRoles": ["*"]})");
  REQUIRE(eventually(
    [&] {
      return c.running("/public") == 1 && c.running("/private") == 1;
    },
    30s));
  // The master says which resources each task holds.
  auto state = parse_json_object(
    curl({"-X", "POST", "-H", "Content-Type: application/json", "-d",
          R"({"type": "GET_TASKS"})",
          "http://" + c.master.address() + "/api/v1"})
      .body);
  std::map<std::string, std::string> cpus_role; // task name -> role of cpus
  {
    const auto& tasks = state.fields().at("get_tasks").struct_value()
                          .fields().at("tasks").list_value();
    for (const auto& t : tasks.values()) {
      const auto& task = t.struct_value().fields();
      for (const auto& r : task.at("resources").list_value().values()) {
        const auto& res = r.struct_value().fields();
        if (res.at("name").string_value() != "cpus")
          continue;
        auto reservations = res.find("reservations");
        cpus_role[task.at("name").string_value()]
          = reservations == res.end()
                || reservations->second.list_value().values_size() == 0
              ? "*"
              : text(reservations->second.list_value().values(0)
                       .struct_value(),
                     "role");
      }
    }
  }
  CHECK(cpus_role["public"] == "slave_public");
  CHECK(cpus_role["private"] == "*");
  auto public_port = std::stoi(first_port(c.tasks("/public").at(0)));
  CHECK(public_port >= first);
  CHECK(public_port <= first + 9);

  // More than the reserved share: it waits, and the queue says why.
  c.post_app(R"({"id": "/wide", "cmd": "sleep 3600", "cpus": 0.75,
    "mem": 64, "acceptedResourceRoles": ["slave_public"]})");
  CHECK(eventually(
    [&] {
      return c.get("/v2/queue").body.find(R"("reason":"UnfulfilledRole")")
             != std::string::npos;
    },
    20s));
}

TEST_CASE("/ping, /v2/info, /v2/leader and /metrics answer") {
  cluster c;
  auto ping = c.get("/ping");
  CHECK(ping.status == 200);
  CHECK(ping.body == "pong\n");
  auto info = parse_json_object(c.get("/v2/info").body);
  CHECK(text(info, "name") == "marathon");
  CHECK(eventually([&] {
    return !text(parse_json_object(c.get("/v2/info").body), "frameworkId")
              .empty();
  }));
  CHECK(c.get("/v2/leader").body.find(std::to_string(c.marathon_port))
        != std::string::npos);
  // PUT creates an app that does not exist (201); deleting its tasks
  // with scale=true leaves it with none.
  auto created = c.send("PUT", "/v2/apps/fresh",
                        R"({"cmd": "sleep 3600", "cpus": 0.1, "mem": 16})");
  CHECK(created.status == 201);
  REQUIRE(eventually([&] { return c.running("/fresh") == 1; }, 30s));
  auto killed = c.send("DELETE", "/v2/apps/fresh/tasks?scale=true");
  CHECK(killed.status == 200);
  CHECK(parse_json_object(killed.body).fields().at("tasks").list_value()
          .values_size()
        == 1);
  CHECK(c.app("/fresh").fields().at("instances").number_value() == 0);
  CHECK(eventually([&] { return c.master_tasks().empty(); }));
  auto metrics = c.get("/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("marathon_apps ") != std::string::npos);
}

// The leader each Marathon names, "" while it answers otherwise (503 while
// none is known, or while the elected one loads its state).
std::string leader_named_by(const marathon_process& m) {
  auto r = curl({m.url("/v2/leader")});
  return r.status == 200 ? text(parse_json_object(r.body), "leader") : "";
}

TEST_CASE("several Marathons over ZooKeeper: the standby forwards to the "
          "leader, takes over after kill -9 with the same framework and "
          "tasks, and an abdicated leader hands over") {
  test_zookeeper zk;
  auto ha_flags = [&zk] {
    return std::vector<std::string>{"--zk=" + zk.url("/marathon"),
                                    "--zk_session_timeout=2000",
                                    "--hostname=127.0.0.1"};
  };
  cluster c{1, {}, ha_flags()};
  auto a_address = fmt::format("127.0.0.1:{}", c.marathon_port);
  REQUIRE(eventually([&] { return leader_named_by(*c.marathon) == a_address; },
                     30s));
  uint16_t b_port = free_port();
  auto b_address = fmt::format("127.0.0.1:{}", b_port);
  std::optional<marathon_process> b;
  b.emplace(c.master.address(), c.dir / "marathon-b", b_port, ha_flags());
  REQUIRE(eventually([&] { return leader_named_by(*b) == a_address; }, 30s));
  // A real SSE reader on the standby gets the leader's events as they come.
  auto events = [&] {
    subprocess_options opts;
    opts.argv = {"curl", "-sN", "-H", "Accept: text/event-stream",
                 b->url("/v2/events?event_type=api_post_event")};
    opts.capture_stdout = true;
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    return std::move(*p);
  }();
  auto attached = events.read_line(10s);
  DCOS_REQUIRE_OK(attached);
  CHECK(*attached == "event: event_stream_attached");

  // The standby forwards: the answer is the leader's, and says so.
  auto via_b = curl({"-i", b->url("/v2/info")});
  CHECK(via_b.status == 200);
  CHECK(via_b.body.find("X-Marathon-Leader: http://" + a_address)
        != std::string::npos);
  CHECK(via_b.body.find("X-Marathon-Via: 1.1 " + b_address)
        != std::string::npos);
  CHECK(via_b.body.find(R"("ha":true)") != std::string::npos);
  auto posted = curl({"-X", "POST", b->url("/v2/apps"), "-H",
                      "Content-Type: application/json", "--data-binary",
                      R"({"id": "/kept", "cmd": "sleep 3600", "instances": 2,
                          "cpus": 0.1, "mem": 16})"});
  REQUIRE_MESSAGE(posted.status == 201, posted.body);
  REQUIRE(eventually([&] { return c.running("/kept") == 2; }, 30s));
  REQUIRE(eventually([&] { return c.deployments_done(); }));
  auto framework = text(parse_json_object(c.get("/v2/info").body),
                        "frameworkId");
  auto before = c.master_tasks();
  REQUIRE(before.size() == 2);
  // Bad input forwarded gets the leader's refusal, unchanged.
  auto bad = curl({"-X", "POST", b->url("/v2/apps"), "-H",
                   "Content-Type: application/json", "--data-binary",
                   R"({"id": "/bad", "cmd": "sleep 1", "cpus": -1})"});
  CHECK(bad.status == 422);
  bool posted_event = false;
  for (int i = 0; i < 10 && !posted_event; ++i) {
    auto line = events.read_line(10s);
    DCOS_REQUIRE_OK(line);
    posted_event = *line == "event: api_post_event";
  }
  CHECK(posted_event);

  // kill -9 of the leader: the standby leads once the session expires,
  // fails over to the same framework and keeps the same tasks.
  c.marathon->process.kill(SIGKILL);
  exit_status_within(c.marathon->process, 10s);
  c.marathon.reset();
  REQUIRE(eventually([&] { return leader_named_by(*b) == b_address; }, 30s));
  auto on_b = [&](const std::string& path) { return curl({b->url(path)}); };
  CHECK(text(parse_json_object(on_b("/v2/info").body), "frameworkId")
        == framework);
  CHECK(eventually(
    [&] {
      auto app = parse_json_object(on_b("/v2/apps/kept").body);
      return app.fields().at("app").struct_value().fields()
               .at("tasksRunning").number_value()
             == 2;
    },
    30s));
  CHECK(c.master_tasks() == before);

  // The old leader comes back as a standby; told to abdicate (through it),
  // the leader hands over to it.
  c.start_marathon();
  REQUIRE(eventually([&] { return leader_named_by(*c.marathon) == b_address; },
                     30s));
  auto abdicated = c.send("DELETE", "/v2/leader");
  CHECK(abdicated.status == 200);
  CHECK(abdicated.body == R"({"message":"Leadership abdicated"})");
  auto b_exit = exit_status_within(b->process, 10s);
  CHECK(b_exit.value_or(-1) == 0);
  b.reset();
  REQUIRE(eventually([&] { return leader_named_by(*c.marathon) == a_address; },
                     30s));
  CHECK(eventually([&] { return c.running("/kept") == 2; }, 30s));
  CHECK(c.master_tasks() == before);

  // A bad flag: the state lives in one place.
  auto both = run_to_end({binary("DCOS_MARATHON_BIN"),
                          "--zk=" + zk.url("/marathon"), "--work_dir=/tmp"});
  CHECK(both.status != 0);
  CHECK(both.out.find("--work_dir") != std::string::npos);
}

TEST_CASE("/v2/events streams the deployment of an app to a real SSE client "
          "(curl), filtered by event_type on request") {
  cluster c;
  auto follow = [&](std::vector<std::string> extra) {
    subprocess_options opts;
    opts.argv = {"curl", "-sN", "-H", "Accept: text/event-stream"};
    opts.argv.insert(opts.argv.end(), extra.begin(), extra.end());
    opts.capture_stdout = true;
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    return std::move(*p);
  };
  auto all = follow({c.marathon->url("/v2/events")});
  auto few = follow(
    {c.marathon->url("/v2/events?event_type=deployment_success"
                     "&event_type=app_terminated_event")});
  // Reads "event:" lines until one of `type` (or a timeout): their types.
  auto read_until = [](subprocess& p, const std::string& type) {
    std::vector<std::string> types;
    while (true) {
      auto line = p.read_line(20s);
      REQUIRE_MESSAGE(line, "no ", type, " event; saw ", types.size());
      if (line->rfind("event: ", 0) == 0) {
        types.push_back(line->substr(7));
        if (types.back() == type)
          return types;
      }
    }
  };
  CHECK(read_until(all, "event_stream_attached").size() == 1);
  CHECK(read_until(few, "event_stream_attached").size() == 1);

  c.post_app(R"({"id": "/seen", "cmd": "sleep 3600",
    "cpus": 0.1, "mem": 16})");
  auto types = read_until(all, "deployment_success");
  for (auto expected : {"api_post_event", "group_change_success",
                        "deployment_info", "status_update_event",
                        "instance_changed_event", "deployment_step_success"})
    CHECK_MESSAGE(std::count(types.begin(), types.end(), expected) >= 1,
                  "no ", expected);
  auto data = all.read_line(5s); // the success's data line
  REQUIRE(data);
  CHECK(data->find("\"affectedApps\":[\"/seen\"]") != std::string::npos);

  REQUIRE(c.send("DELETE", "/v2/apps/seen").status == 200);
  CHECK(read_until(few, "app_terminated_event")
        == std::vector<std::string>{"deployment_success",
                                    "app_terminated_event"});
  CHECK(read_until(few, "deployment_success").size() == 1);

  auto refused = curl({"-H", "Accept: application/json",
                       c.marathon->url("/v2/events")});
  CHECK(refused.status == 406);
}

TEST_CASE("a crash loop is held back by the app's backoff, which the queue "
          "shows and DELETE /v2/queue/{id}/delay ends") {
  cluster c;
  c.post_app(R"({"id": "/crash", "cmd": "exit 3",
    "cpus": 0.1, "mem": 16, "backoffSeconds": 60})");
  std::string first_failure;
  REQUIRE(eventually(
    [&] {
      auto a = c.app("/crash");
      auto f = a.fields().find("lastTaskFailure");
      if (f == a.fields().end())
        return false;
      first_failure = text(f->second.struct_value(), "taskId");
      return !first_failure.empty();
    },
    30s));
  auto queue = parse_json_object(c.get("/v2/queue").body);
  auto items = queue.fields().at("queue").list_value();
  REQUIRE(items.values_size() == 1);
  auto delay = items.values(0).struct_value().fields().at("delay").struct_value();
  CHECK(delay.fields().at("timeLeftSeconds").number_value() > 30);
  CHECK_FALSE(delay.fields().at("overdue").bool_value());
  // (Its deployment finished: the task ran before it failed, and without
  // health checks running is what Marathon waits for.) Nothing is
  // launched while the backoff lasts.
  std::this_thread::sleep_for(2s);
  CHECK(c.tasks("/crash").empty());
  CHECK(text(c.app("/crash").fields().at("lastTaskFailure").struct_value(),
             "taskId")
        == first_failure);

  auto reset = c.send("DELETE", "/v2/queue/crash/delay");
  CHECK(reset.status == 204);
  // Launched again at once, and failed again.
  CHECK(eventually(
    [&] {
      auto f = c.app("/crash").fields().at("lastTaskFailure").struct_value();
      return text(f, "taskId") != first_failure;
    },
    30s));
  CHECK(c.send("DELETE", "/v2/queue/nothing/delay").status == 404);
}

TEST_CASE("kill -9 of an agent with tasks: they are replaced on the other "
          "agent and a deployment under way completes") {
  cluster c;
  // Replaced 1 s after they turn unreachable (Marathon's default: 300 s).
  c.post_app(R"({"id": "/spread", "cmd": "sleep 3600",
    "instances": 6, "cpus": 1, "mem": 16,
    "unreachableStrategy": {"inactiveAfterSeconds": 1,
                            "expungeAfterSeconds": 600}})");
  // 4 cpus per agent, 1 per task: both agents have some.
  REQUIRE(eventually([&] { return c.running("/spread") == 6; }, 30s));
  REQUIRE(eventually([&] { return c.deployments_done(); }));
  std::set<std::string> agents;
  for (const auto& t : c.tasks("/spread"))
    agents.insert(text(t, "slaveId"));
  REQUIRE(agents.size() == 2);

  c.agent(0).process.kill(SIGKILL);
  exit_status_within(c.agent(0).process, 10s);
  // A scale while the agent is gone: it completes on the survivor.
  REQUIRE(c.send("PATCH", "/v2/apps/spread", R"({"instances": 3})")
            .status
          == 200);
  CHECK(eventually(
    [&] {
      auto tasks = c.tasks("/spread");
      int running = 0;
      std::set<std::string> where;
      for (const auto& t : tasks)
        if (text(t, "state") == "TASK_RUNNING") {
          ++running;
          where.insert(text(t, "slaveId"));
        }
      return running == 3 && where.size() == 1 && c.deployments_done();
    },
    60s));
  // Only the instances changed: the tasks on the survivor kept running.
  CHECK(c.get("/v2/deployments").body.find("RestartApplication")
        == std::string::npos);
  cleanup_agent_dir(c.master.address(), c.agent(0).work_dir);
}

// Its own meson test (marathon_containers): it skips without root.
TEST_CASE("a Docker image app runs in its image on a container network and "
          "on the bridge, serves its mapped ports, and passes its check") {
  if (::geteuid() != 0)
    return skip("the agent's Linux isolation (images, networks) needs root");
  // What the agent's networks leave on the host: their bridges and their
  // rules in the agent's iptables chains.
  auto remove_networks = [] {
    run_to_end({"ip", "link", "del", "dcosmt-blue"});
    run_to_end({"ip", "link", "del", "dcosmt-bridge"});
    run_to_end({"sh", "-c",
                "for t in nat filter; do iptables -w -t $t -S "
                "| grep -F ' 10.234.' | sed 's/^-A/-D/' "
                "| while read -r rule; do iptables -w -t $t $rule; done; "
                "done"});
  };
  remove_networks();
  struct cleanup {
    std::function<void()> f;
    ~cleanup() { f(); }
  } guard{remove_networks};
  scratch_dir config;
  write_file(config / "networks.json", R"([
    {"name": "mt-blue", "subnet": "10.234.1.0/24", "bridge": "dcosmt-blue"},
    {"name": "mesos-bridge", "subnet": "10.234.2.0/24",
     "bridge": "dcosmt-bridge"}])");
  cluster c{1,
            {"--isolation=namespaces/pid,filesystem/linux,network/bridge",
             "--image_store_dir=" + busybox_image_store(),
             "--networks=" + (config / "networks.json")}};

  // Marathon 1.5's spelling: a named container network, a mapped port and
  // a MESOS_HTTP check on it. The page names the image it was served from.
  c.post_app(R"({"id": "/box",
    "cmd": "cat /etc/image-release > /tmp/index.html; exec httpd -f -p 8080 -h /tmp",
    "cpus": 0.1, "mem": 32,
    "container": {"type": "DOCKER", "docker": {"image": "busybox"},
      "portMappings": [{"containerPort": 8080, "hostPort": 0,
                        "name": "http"}]},
    "networks": [{"mode": "container", "name": "mt-blue"}],
    "healthChecks": [{"protocol": "MESOS_HTTP", "portIndex": 0,
      "gracePeriodSeconds": 30, "intervalSeconds": 2,
      "timeoutSeconds": 1}]})");
  // Marathon 1.4's spelling of a bridged Docker app.
  c.post_app(R"({"id": "/bridged",
    "cmd": "cat /etc/image-release > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    "cpus": 0.1, "mem": 32,
    "container": {"type": "DOCKER", "docker": {"image": "busybox",
      "network": "BRIDGE",
      "portMappings": [{"containerPort": 80, "hostPort": 0}]}}})");

  REQUIRE_MESSAGE(eventually(
                    [&] {
                      auto box = c.app("/box").fields();
                      return box.at("tasksHealthy").number_value() == 1
                             && c.running("/bridged") == 1;
                    },
                    60s),
                  c.get("/v2/apps?embed=apps.lastTaskFailure").body);
  CHECK(eventually([&] { return c.deployments_done(); }));

  // The task's address on its network, and one host port for the mapping.
  auto box = c.tasks("/box");
  REQUIRE(box.size() == 1);
  const auto& ips = box[0].fields().at("ipAddresses").list_value();
  REQUIRE(ips.values_size() == 1);
  auto ip = text(ips.values(0).struct_value(), "ipAddress");
  CHECK(ip.rfind("10.234.1.", 0) == 0);
  auto host_port = first_port(box[0]);
  auto page = curl({"http://" + ip + ":8080/index.html"});
  CHECK(page.status == 200);
  CHECK(page.body == "busybox-test\n");
  // The host port reaches it too (through the network's gateway, an
  // address of this host).
  auto mapped = curl({"http://10.234.1.1:" + host_port + "/index.html"});
  CHECK(mapped.status == 200);
  CHECK(mapped.body == "busybox-test\n");

  auto bridged = c.tasks("/bridged");
  REQUIRE(bridged.size() == 1);
  auto bridged_port = first_port(bridged[0]);
  auto via_bridge
    = curl({"http://10.234.2.1:" + bridged_port + "/index.html"});
  CHECK(via_bridge.status == 200);
  CHECK(via_bridge.body == "busybox-test\n");
  // Marathon keeps the app in Marathon 1.5's spelling.
  auto app = c.app("/bridged").fields();
  CHECK(app.at("networks").list_value().values(0).struct_value().fields()
          .at("mode").string_value() == "container/bridge");
  CHECK(app.at("container").struct_value().fields().at("portMappings")
          .list_value().values_size() == 1);
}
