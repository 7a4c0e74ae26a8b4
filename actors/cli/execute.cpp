// dcos execute: runs one task, or a task group, like mesos-execute; prints
// every state change and exits 0 only if every task FINISHED.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "cli.hpp"
#include "dcos/actor_system_setup.hpp"
#include "dcos/detector_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/http_client.hpp"
#include "dcos/json.hpp"
#include "dcos/resources.hpp"
#include "dcos/scheduler.hpp"
#include "dcos/task_state.hpp"

namespace dcos::cli {

namespace {

struct executor_scheduler : scheduler {
  std::vector<v1::TaskInfo> tasks; // agent ids filled in at launch
  bool group = false;
  resources needed;                // all tasks (+ executor for a group)
  resources executor_resources = *resources::parse("cpus:0.1;mem:32");
  std::string name;
  bool launched = false;
  size_t ended = 0;
  size_t finished = 0;
  std::map<std::string, v1::TaskState> states; // last state seen per task

  void offers(scheduler_driver& d, const std::vector<v1::Offer>& offers) override {
    for (const auto& offer : offers) {
      auto role = offer.allocation_info().role();
      auto have = resources::from_proto(offer.resources());
      if (launched || !have || !have->contains(needed.allocate(role))) {
        d.decline({offer.id()});
        continue;
      }
      for (auto& t : tasks)
        *t.mutable_agent_id() = offer.agent_id();
      if (group) {
        v1::ExecutorInfo executor;
        executor.set_type(v1::ExecutorInfo::DEFAULT);
        executor.mutable_executor_id()->set_value("default-executor-" + name);
        executor_resources.allocate(role).to_proto(executor.mutable_resources());
        v1::TaskGroupInfo g;
        for (const auto& t : tasks)
          *g.add_tasks() = t;
        d.launch_group(offer.id(), executor, g);
      } else {
        d.launch(offer.id(), tasks);
      }
      launched = true;
      std::printf("Launched %zu task%s on agent %s\n", tasks.size(),
                  tasks.size() == 1 ? "" : "s", offer.hostname().c_str());
      d.suppress();
    }
  }

  void update(scheduler_driver& d, const v1::TaskStatus& s) override {
    // Updates arrive at least once: skip a repeat of what we already saw.
    auto [it, first] = states.try_emplace(s.task_id().value(), s.state());
    if (!first && (it->second == s.state() || is_terminal(it->second)))
      return;
    it->second = s.state();
    std::printf("Received status update %s for task '%s'%s%s\n",
                v1::TaskState_Name(s.state()).c_str(),
                s.task_id().value().c_str(), s.message().empty() ? "" : ": ",
                s.message().c_str());
    for (const auto& n : s.container_status().network_infos())
      for (const auto& ip : n.ip_addresses())
        std::printf("  network %s: %s\n", n.name().c_str(),
                    ip.ip_address().c_str());
    if (!is_terminal(s.state()))
      return;
    ++ended;
    finished += s.state() == v1::TASK_FINISHED ? 1 : 0;
    if (ended == tasks.size())
      d.teardown();
  }

  void error(scheduler_driver&, const std::string& message) override {
    std::fprintf(stderr, "dcos execute: %s\n", message.c_str());
  }
};

} // namespace

int execute(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string master = "127.0.0.1:5050";
  std::string name;
  std::string command;
  std::string amount = "cpus:0.1;mem:32";
  std::string task_group;
  std::string role = "*";
  std::string docker_image;
  std::string networks;
  flags f{"dcos execute --master=HOST:PORT --name=NAME "
          "(--command=CMD | --task_group=FILE.json) [flags]",
          "Runs a task or a task group and waits for it to end."};
  f.add(&master, "master",
        "HOST:PORT of the master, or zk://HOSTS/PATH of the masters");
  f.add(&name, "name", "name (and id) of the task");
  f.add(&command, "command", "shell command to run");
  f.add(&amount, "resources", "resources of the task");
  f.add(&task_group, "task_group",
        "a TaskGroupInfo in JSON (Mesos format) to run instead of --command");
  f.add(&role, "role", "role to run as");
  f.add(&docker_image, "docker_image",
        "run --command in this image from the agent's --image_store_dir");
  f.add(&networks, "networks",
        "virtual networks of the agent to join, comma-separated");
  parse_or_exit(f, argc, argv);
  if (name.empty())
    return usage_error("--name: required");
  if (command.empty() == task_group.empty())
    return usage_error("exactly one of --command and --task_group is needed");
  auto where = parse_master_location(master);
  if (!where)
    return usage_error(describe_reason(where.error()));
  executor_scheduler sched;
  sched.name = name;
  if (!task_group.empty()) {
    std::ifstream in{task_group};
    if (!in)
      return usage_error("--task_group: cannot read '" + task_group + "'");
    std::string text{std::istreambuf_iterator<char>(in), {}};
    v1::TaskGroupInfo g;
    if (auto err = from_json(text, &g, "--task_group"))
      return usage_error(describe_reason(err));
    if (g.tasks_size() == 0)
      return usage_error("--task_group: has no tasks");
    sched.group = true;
    sched.needed = sched.executor_resources;
    for (auto t : g.tasks()) {
      auto r = resources::from_proto(t.resources());
      if (!r)
        return usage_error("--task_group: " + describe_reason(r.error()));
      sched.needed += *r;
      if (t.task_id().value().empty())
        t.mutable_task_id()->set_value(t.name());
      sched.tasks.push_back(std::move(t));
    }
  } else {
    auto r = resources::parse(amount);
    if (!r)
      return usage_error("--resources: " + describe_reason(r.error()));
    sched.needed = *r;
    v1::TaskInfo t;
    t.set_name(name);
    t.mutable_task_id()->set_value(name);
    t.mutable_command()->set_value(command);
    r->to_proto(t.mutable_resources());
    auto* container = t.mutable_container();
    if (!docker_image.empty()) {
      container->set_type(v1::ContainerInfo::MESOS);
      auto* image = container->mutable_mesos()->mutable_image();
      image->set_type(v1::Image::DOCKER);
      image->mutable_docker()->set_name(docker_image);
    }
    std::istringstream names{networks};
    for (std::string n; std::getline(names, n, ',');)
      if (!n.empty())
        container->add_network_infos()->set_name(n);
    if (!docker_image.empty() || !networks.empty())
      container->set_type(v1::ContainerInfo::MESOS);
    else
      t.clear_container();
    sched.tasks.push_back(std::move(t));
  }
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("dcos-execute (" + name + ")");
  info.add_roles(role);
  info.add_capabilities()->set_type(
    v1::FrameworkInfo::Capability::TASK_KILLING_STATE);
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  auto detector = spawn_detector(sys, *where);
  int status = 1;
  {
    scheduler_driver driver{sys, sched, info, detector};
    status = driver.join();
  }
  caf::anon_send_exit(detector, caf::exit_reason::user_shutdown);
  if (status != 0)
    return 1;
  return sched.finished == sched.tasks.size() ? 0 : 1;
}

} // namespace dcos::cli
