// The simulated containerizer of one agent node: the node's process table.
// An executor container runs the real executor actor (configured from the
// environment the agent gives it, as dcos-executor is); any other container
// is a modelled process (see dcos/sim.hpp for the command words). Nested
// containers ("<parent>.<name>") die with their parent, as they do under a
// real containerizer. The table outlives restarts of the agent.
#include "world.hpp"

#include <deque>
#include <map>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/executor_environment.hpp"

namespace dcos::sim::detail {

namespace {

struct container {
  std::string id;
  resources limits;
  bool running = true;
  bool hang = false;               // ignores SIGTERM
  uint64_t generation = 0;         // guards its end timer
  bool is_executor = false;
  std::string framework_id;        // of the executor it is or runs under
  caf::actor executor;             // for executor containers, while alive
  container_termination end;
  std::vector<caf::typed_response_promise<container_termination>> waiters;
};

struct table_state {
  world* w = nullptr;
  int agent = 0;
  std::map<std::string, container> containers;
  // The containers whose executor actor lives, by its id: an actor's end
  // finds its container without a walk over every container there was.
  std::unordered_map<caf::actor_id, std::string> by_executor;
  std::deque<std::string> ended; // oldest first; pruned at each launch
  uint32_t next_pid = 100;
  uint64_t next_generation = 0;
  table_state() = default;
};

using self_ptr = sim_containerizer::stateful_pointer<table_state>;

// The task a nested container runs: executors name their tasks'
// containers "<executor container>.<task id>"; anything nested deeper (a
// task's health check, "<...>.<task id>.health-1") runs no task of its own.
std::string task_of(const table_state& st, const std::string& id) {
  auto dot = id.find('.');
  if (dot == std::string::npos)
    return {};
  auto parent = st.containers.find(id.substr(0, dot));
  if (parent == st.containers.end() || !parent->second.is_executor)
    return {};
  for (auto at = id.find('.', dot + 1); at != std::string::npos;
       at = id.find('.', at + 1))
    if (st.containers.count(id.substr(0, at)) > 0)
      return {};
  return id.substr(dot + 1);
}

// What a modelled process does, from its command words.
struct behaviour {
  std::optional<double> seconds; // runs until killed when empty
  int exit_code = 0;
  bool oom = false;
  bool hang = false;
};

behaviour read_command(const std::vector<std::string>& argv) {
  behaviour b;
  std::string text;
  for (const auto& arg : argv)
    text += arg + " ";
  std::istringstream in{text};
  std::string word;
  while (in >> word) {
    if (word == "sleep") {
      double s = 0;
      if (in >> s)
        b.seconds = s;
    } else if (word == "exit") {
      in >> b.exit_code;
      if (!b.seconds)
        b.seconds = 0;
    } else if (word == "oom") {
      b.oom = true;
    } else if (word == "hang") {
      b.hang = true;
    } else if (word == "true") {
      if (!b.seconds)
        b.seconds = 0;
    }
  }
  return b;
}

void finish(self_ptr self, container& c, container_termination end) {
  if (!c.running)
    return;
  c.running = false;
  c.end = std::move(end);
  self->state.ended.push_back(c.id);
  self->state.w->invariants().container_ended(self->state.agent, c.id,
                                              c.limits);
  for (auto& rp : c.waiters)
    rp.deliver(c.end);
  c.waiters.clear();
  // Its nested containers go with it. Their ids extend this one's, so
  // they sit together in the ordered table, right after the prefix.
  auto prefix = c.id + ".";
  auto& all = self->state.containers;
  for (auto i = all.lower_bound(prefix);
       i != all.end() && i->first.compare(0, prefix.size(), prefix) == 0;
       ++i) {
    auto& child = i->second;
    if (child.running) {
      if (child.executor)
        self->send_exit(child.executor, caf::exit_reason::kill);
      container_termination killed;
      killed.status = 128 + 9;
      killed.signal = 9;
      killed.destroyed = true;
      finish(self, child, killed);
    }
  }
  if (c.executor)
    self->send_exit(c.executor, caf::exit_reason::kill);
}

// Forgets the oldest ended containers beyond ended_containers_kept. Not in
// finish(): its callers hold references into the table.
void forget_ended(table_state& st) {
  while (st.ended.size() > ended_containers_kept) {
    auto i = st.containers.find(st.ended.front());
    if (i != st.containers.end() && !i->second.running)
      st.containers.erase(i);
    st.ended.pop_front();
  }
}

container_termination signalled(int sig, bool destroyed) {
  container_termination t;
  t.status = 128 + sig;
  t.signal = sig;
  t.destroyed = destroyed;
  return t;
}

sim_containerizer::behavior_type table(self_ptr self, world* w, int agent) {
  self->state.w = w;
  self->state.agent = agent;
  self->set_down_handler([self](caf::down_msg& msg) {
    // An executor actor ended: its container ends with it.
    auto& st = self->state;
    auto owner = st.by_executor.find(msg.source.id());
    if (owner == st.by_executor.end())
      return;
    auto i = st.containers.find(owner->second);
    st.by_executor.erase(owner);
    if (i == st.containers.end())
      return;
    auto& c = i->second;
    if (!c.running || !c.executor || c.executor.address() != msg.source)
      return;
    c.executor = nullptr;
    bool clean = msg.reason == caf::exit_reason::normal
                 || msg.reason == caf::exit_reason::user_shutdown;
    container_termination end;
    if (!clean)
      end = signalled(9, false);
    finish(self, c, end);
  });
  return {
    [self](launch_atom, container_launch& req) -> caf::result<uint32_t> {
      auto& st = self->state;
      forget_ended(st);
      if (st.containers.count(req.container_id) != 0)
        return make_error(errc::conflict,
                          fmt::format("container {} exists",
                                      req.container_id));
      auto& c = st.containers[req.container_id];
      c.id = req.container_id;
      c.limits = req.limits;
      c.generation = st.next_generation++;
      // An executor of ours is modelled by the real executor actor; any
      // other command, a custom executor's included, by its words.
      auto env = executor_environment::from_env(req.env);
      c.is_executor = env && env->program != executor_program::custom;
      if (c.is_executor)
        c.framework_id = env->framework_id;
      else if (auto p = st.containers.find(c.id.substr(0, c.id.find('.')));
               p != st.containers.end())
        c.framework_id = p->second.framework_id;
      st.w->invariants().container_started(
        st.agent, c.id, c.framework_id,
        c.is_executor ? std::string{} : task_of(st, c.id), c.limits);
      if (c.is_executor) {
        executor_config cfg;
        cfg.framework_id = env->framework_id;
        cfg.executor_id = env->executor_id;
        cfg.container_id = req.container_id;
        cfg.sandbox = req.sandbox;
        cfg.command_mode = env->program == executor_program::command_executor;
        cfg.recovery_timeout = env->recovery_timeout;
        cfg.containerizer = st.w->containerizer_of(st.agent);
        c.executor = caf::actor_cast<caf::actor>(
          st.w->spawn_executor(st.agent, std::move(cfg)));
        self->monitor(c.executor);
        st.by_executor[c.executor.id()] = c.id;
        return st.next_pid++;
      }
      auto b = read_command(req.command.argv);
      c.hang = b.hang;
      auto gen = c.generation;
      if (b.oom) {
        self->delayed_send(self, std::chrono::milliseconds(100),
                           end_atom::value, c.id, gen);
        c.end = signalled(9, false);
        c.end.reason = v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY;
        c.end.message = "memory limit exceeded";
      } else if (b.seconds) {
        c.end.status = b.exit_code;
        self->delayed_send(
          self,
          std::chrono::duration_cast<caf::timespan>(
            std::chrono::duration<double>(*b.seconds)),
          end_atom::value, c.id, gen);
      }
      return st.next_pid++;
    },
    [self](end_atom, const std::string& id, uint64_t gen) {
      auto i = self->state.containers.find(id);
      if (i == self->state.containers.end() || i->second.generation != gen)
        return;
      auto end = i->second.end;
      finish(self, i->second, end);
    },
    [](session_atom, const container_launch&)
      -> caf::result<container_io_ptr> {
      // Modelled processes have no streams to attach to.
      return make_error(errc::unavailable,
                        "debug sessions are not modelled by the simulation");
    },
    [self](wait_atom, const std::string& id)
      -> caf::result<container_termination> {
      auto i = self->state.containers.find(id);
      if (i == self->state.containers.end())
        return make_error(errc::not_found,
                          fmt::format("no container {}", id));
      if (!i->second.running)
        return i->second.end;
      auto rp = self->make_response_promise<container_termination>();
      i->second.waiters.push_back(rp);
      return rp;
    },
    [self](destroy_atom, const std::string& id,
           caf::timespan grace) -> caf::result<ok_atom> {
      auto i = self->state.containers.find(id);
      if (i == self->state.containers.end() || !i->second.running)
        return ok_atom::value;
      auto& c = i->second;
      if (c.executor) {
        // SIGTERM: the executor shuts down its tasks and exits.
        self->send(caf::actor_cast<executor_actor>(c.executor),
                   shutdown_atom::value, std::string{"destroyed"});
        c.end = signalled(9, true);
      } else if (c.hang) {
        c.end = signalled(9, true);
      } else {
        finish(self, c, signalled(15, true));
        return ok_atom::value;
      }
      // Whatever is left after the grace period is killed.
      c.generation = self->state.next_generation++;
      self->delayed_send(self, grace, end_atom::value, c.id, c.generation);
      auto rp = self->make_response_promise<ok_atom>();
      self->request(caf::actor_cast<sim_containerizer>(self), caf::infinite,
                    wait_atom::value, id)
        .then([rp](const container_termination&) mutable {
          rp.deliver(ok_atom::value);
        });
      return rp;
    },
    [self](recover_atom, const std::vector<known_container>& known) {
      std::vector<std::string> alive;
      for (const auto& k : known) {
        auto i = self->state.containers.find(k.container_id);
        if (i != self->state.containers.end() && i->second.running)
          alive.push_back(k.container_id);
      }
      return alive;
    },
    [self](state_atom, const std::string& id) {
      // Modelled processes have no networks of their own.
      v1::ContainerStatus status;
      status.mutable_container_id()->set_value(id);
      return status;
    },
    [self](metrics_atom,
           const std::string& id) -> caf::result<container_usage> {
      auto i = self->state.containers.find(id);
      if (i == self->state.containers.end() || !i->second.running)
        return make_error(errc::not_found,
                          fmt::format("no running container '{}'", id));
      container_usage usage;
      usage.processes = 1;
      return usage;
    },
    [](volume_atom, const std::string&, bool) {
      // Volumes are directories; modelled tasks never look into them.
    },
    [self](crash_atom) {
      // Every executor on the node dies (and its tasks with it).
      for (auto& [id, c] : self->state.containers)
        if (c.running && c.executor)
          self->send_exit(c.executor, caf::exit_reason::kill);
    },
  };
}

} // namespace

sim_containerizer spawn_containerizer(world& w, int agent) {
  return w.sys().spawn(table, &w, agent);
}

} // namespace dcos::sim::detail
