// A task on a real master and agent, launched with `dcos execute` and kept
// running, for the integration tests that need one to look at or to enter.
#pragma once

#include <memory>
#include <string>

#include <google/protobuf/util/json_util.h>

#include "dcos/wire_types.hpp"
#include "support/files.hpp"
#include "support/processes.hpp"

namespace dcos::test {

struct executed_task {
  subprocess run; // `dcos execute`: it ends the task when it ends
  v1::Task task;  // as the agent's GET_TASKS answers, once TASK_RUNNING

  /// Runs `dcos execute --name=NAME --command=COMMAND` against `master` (its
  /// stderr to DIR/execute.err) and waits up to a minute for `agent` (its
  /// HOST:PORT) to report the task running, its only task.
  executed_task(const std::string& master, const std::string& agent,
                const std::string& dir, const std::string& name,
                const std::string& command)
    : run(spawn(master, dir, name, command)) {
    REQUIRE(eventually([&] {
      auto r = curl({"-X", "POST", "-H", "Content-Type: application/json",
                     "--data-binary", R"({"type":"GET_TASKS"})",
                     "http://" + agent + "/api/v1"});
      v1::agent::Response tasks;
      if (r.status != 200
          || !google::protobuf::util::JsonStringToMessage(r.body, &tasks).ok())
        return false;
      const auto& launched = tasks.get_tasks().launched_tasks();
      if (launched.size() != 1 || launched[0].state() != v1::TASK_RUNNING)
        return false;
      task = launched[0];
      return true;
    }, 60s));
  }

private:
  static subprocess spawn(const std::string& master, const std::string& dir,
                          const std::string& name, const std::string& command) {
    subprocess_options exec;
    exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master,
                 "--name=" + name, "--command=" + command};
    exec.stdout_path = "/dev/null";
    exec.stderr_path = dir + "/execute.err";
    auto p = subprocess::spawn(exec);
    DCOS_REQUIRE_OK(p);
    return std::move(*p);
  }
};

/// A master, an agent and one task running on it, in a scratch directory:
/// what the agent API's tests look at and enter. Torn down in order, also
/// when a check fails: the task ends, the agent stops, and the containers
/// it left are cleaned up.
struct task_on_agent {
  scratch_dir dir;
  master_process master;
  std::unique_ptr<agent_process> agent;
  std::string address; // the agent's HOST:PORT
  // Stops the agent and cleans up after it, also when the task never ran
  // (executed_task's constructor failed, so ours did: no destructor runs
  // then, but the members made so far are destroyed).
  struct agent_cleanup {
    task_on_agent& owner;
    ~agent_cleanup() {
      owner.agent.reset();
      cleanup_agent_dir(owner.master.address(), owner.dir / "agent");
    }
  } cleanup{*this};
  executed_task run;

  task_on_agent(const std::string& name, const std::string& command)
    : agent(std::make_unique<agent_process>(master.address(), dir / "agent")),
      address(agent->address()),
      run(master.address(), address, dir.path, name, command) {}

  ~task_on_agent() { run.run.terminate(5s); } // then the agent goes
};

} // namespace dcos::test
