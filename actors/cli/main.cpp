// dcos: the command-line tool.
//
//   dcos up [--agents=N] [--work_dir=DIR]     a local cluster, until Ctrl-C
//   dcos execute --master=HOST:5050 --name=N --command=CMD [...]
//   dcos agents | frameworks | tasks [--master=HOST:5050] [--json]
//   dcos masters [--master=HOST:5050|zk://HOSTS/PATH] [--json]
//   dcos task log TASK_ID [--follow] [--stderr]
//   dcos task exec TASK_ID CMD [ARGS...]
//   dcos marathon app|deployment|task ...   (see marathon.cpp)
//   dcos job add|list|show|run|remove|history ...   (see job.cpp)
//   dcos vips [--minuteman=HOST:62080] [--json]
//   dcos service plan|pod|endpoints ... --service=HOST:PORT  (service.cpp)
#include <cstdio>
#include <cstring>
#include <string>

#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace dcos::cli;
  auto help = [] {
    std::puts("Usage: dcos <command> [flags]\n\n"
              "  up        start a local cluster (a master and agents)\n"
              "  execute   run a task (or a task group) and wait for it\n"
              "  agents    list agents\n"
              "  masters   list the masters and which one leads\n"
              "  frameworks  list frameworks\n"
              "  tasks     list tasks\n"
              "  task log  print a task's output\n"
              "  task exec run a command inside a task's container\n"
              "  marathon  Marathon's apps, deployments and tasks\n"
              "  job       Metronome's jobs, their runs and history\n"
              "  vips      Minuteman's VIPs and their backends\n"
              "  service   a stateful service's plans, pods and endpoints\n\n"
              "Run `dcos <command> --help` for a command's flags.");
  };
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0
      || std::strcmp(argv[1], "help") == 0) {
    help();
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  // Sub-commands see their own name as argv[0].
  if (command == "up")
    return up(argc - 1, argv + 1);
  if (command == "execute")
    return execute(argc - 1, argv + 1);
  if (command == "masters")
    return masters(argc - 1, argv + 1);
  if (command == "agents" || command == "frameworks" || command == "tasks")
    return list(command, argc - 1, argv + 1);
  if (command == "marathon")
    return marathon(argc - 1, argv + 1);
  if (command == "job")
    return job(argc - 1, argv + 1);
  if (command == "service")
    return service(argc - 1, argv + 1);
  if (command == "vips")
    return vips(argc - 1, argv + 1);
  if (command == "task") {
    if (argc >= 3 && std::strcmp(argv[2], "log") == 0)
      return task_log(argc - 2, argv + 2);
    if (argc >= 3 && std::strcmp(argv[2], "exec") == 0)
      return task_exec(argc - 2, argv + 2);
    return usage_error("unknown command 'task "
                       + std::string(argc >= 3 ? argv[2] : "")
                       + "' (try 'dcos task log TASK_ID' or 'dcos task exec "
                         "TASK_ID CMD')");
  }
  return usage_error("unknown command '" + command + "' (try 'dcos --help')");
}
