// The executor actor (see dcos/executor.hpp).
#include <cstring>
#include <map>
#include <random>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/executor.hpp"
#include "dcos/http_client.hpp"
#include "dcos/logging.hpp"
#include "dcos/mesos_defaults.hpp"
#include "dcos/command_line.hpp"
#include "dcos/task_state.hpp"
#include "dcos/tcp_probe.hpp"
#include "health_policy.hpp"
#include "task_env.hpp"

namespace dcos {

namespace {

using started_atom = caf::atom_constant<caf::atom("started")>;
using ended_atom = caf::atom_constant<caf::atom("ended")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using locate_atom = caf::atom_constant<caf::atom("locate")>;
using check_atom = caf::atom_constant<caf::atom("check")>;
using checked_atom = caf::atom_constant<caf::atom("checked")>;

// Which of a task's two probes: its health check or its check (CheckInfo).
enum class probe_kind : uint8_t { health, check };

using executor_impl = executor_actor::extend<
  caf::reacts_to<locate_atom>,
  caf::reacts_to<idle_atom, uint64_t>,
  // Time for a task's health check or check (probe_kind) number N.
  caf::reacts_to<check_atom, std::string, uint8_t, uint64_t>,
  // Its result: whether it passed, the code it gave (exit status, HTTP
  // status, 1 or 0 for a TCP connection made or refused), timed_out or
  // no_result (it could not run), and why.
  caf::reacts_to<checked_atom, std::string, uint8_t, uint64_t, bool, int32_t,
                 std::string>>;

// Codes of a probe that gave no result: a check's status becomes unknown
// after a timeout and stays as it was after an error (likely transient), as
// Mesos' checker has it.
constexpr int32_t timed_out = -1;
constexpr int32_t no_result = -2;

// One of a task's probes in flight: which number, whether it still runs.
struct probe_slot {
  uint64_t n = 0;
  bool running = false;
};

// A task's check (Mesos' CheckInfo): its timing and latest result.
struct check_run {
  caf::timespan delay;
  caf::timespan interval;
  caf::timespan timeout;
  probe_slot slot;
  v1::CheckStatusInfo status; // what updates carry
};

struct task_run {
  v1::TaskInfo info;
  std::string container_id;
  std::string sandbox;
  v1::TaskState state = v1::TASK_STAGING;
  bool launched = false;
  bool killing = false;
  uint64_t group = 0; // 0: not part of a group
  // Health checking (when the task has a health check).
  std::optional<kernel::health_policy> health;
  caf::actor_clock::time_point started{};
  probe_slot health_slot;
  std::string unhealthy_reason; // why it was killed, if it was
  std::optional<check_run> check; // when the task has a check
  // Its networks' real addresses, sent with every update once known.
  std::optional<v1::ContainerStatus> container_status;
};

struct executor_state {
  static inline const char* name = "dcos.executor";
  executor_state() = default;
  executor_config cfg;
  agent_executor_actor agent;
  bool registered = false;
  v1::FrameworkInfo framework;
  v1::ExecutorInfo info;
  v1::AgentInfo agent_info;
  std::map<std::string, task_run> tasks;
  // Updates the agent has not acknowledged, in the order they were made.
  std::vector<v1::internal::StatusUpdate> unacked;
  std::mt19937_64 rng;
  caf::actor_clock::time_point started_at;
  caf::actor_clock::time_point lost_at{};
  uint64_t next_group = 1;
  uint64_t idle_generation = 0;
  bool shutting_down = false;
  bool ever_had_tasks = false;
  // I/O for HTTP and TCP health checks, made when first needed.
  std::unique_ptr<http_client> http;
  std::unique_ptr<tcp_prober> tcp;
  std::shared_ptr<spdlog::logger> log = logging::get("executor");
};

using executor_self = executor_impl::stateful_pointer<executor_state>;

double now(executor_self self) {
  auto& st = self->state;
  return st.cfg.start_time
         + std::chrono::duration<double>(self->clock().now() - st.started_at)
             .count();
}

std::string new_uuid(executor_self self) {
  std::string bytes(16, '\0');
  for (size_t i = 0; i < 16; i += 8) {
    auto x = self->state.rng();
    std::memcpy(bytes.data() + i, &x, 8);
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
  return bytes;
}

void maybe_finish(executor_self self);

void send_update(executor_self self, const std::string& task_id,
                 v1::TaskState state, std::optional<v1::TaskStatus::Reason>
                                        reason = std::nullopt,
                 const std::string& message = {}) {
  auto& st = self->state;
  v1::internal::StatusUpdate update;
  update.mutable_framework_id()->set_value(st.cfg.framework_id);
  if (!st.cfg.command_mode)
    update.mutable_executor_id()->set_value(st.cfg.executor_id);
  auto* status = update.mutable_status();
  status->mutable_task_id()->set_value(task_id);
  status->set_state(state);
  status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  if (reason)
    status->set_reason(*reason);
  if (!message.empty())
    status->set_message(message);
  status->set_uuid(new_uuid(self));
  status->set_timestamp(now(self));
  if (!st.cfg.command_mode)
    status->mutable_executor_id()->set_value(st.cfg.executor_id);
  if (auto t = st.tasks.find(task_id); t != st.tasks.end()) {
    t->second.state = state;
    auto* container = status->mutable_container_status();
    if (t->second.container_status)
      *container = *t->second.container_status;
    // The task's container named as Mesos names a nested one: what a debug
    // session (`dcos task exec`) joins.
    auto* id = container->mutable_container_id();
    id->set_value(task_id);
    id->mutable_parent()->set_value(st.cfg.container_id);
    if (t->second.health && t->second.health->healthy())
      status->set_healthy(*t->second.health->healthy());
    if (t->second.check)
      *status->mutable_check_status() = t->second.check->status;
  }
  st.unacked.push_back(update);
  if (st.registered)
    self->send(st.agent, std::move(update));
}

void stop_probes(executor_self self, const task_run& t);

bool kill_state_supported(const v1::FrameworkInfo& fw) {
  for (const auto& cap : fw.capabilities())
    if (cap.type() == v1::FrameworkInfo::Capability::TASK_KILLING_STATE)
      return true;
  return false;
}

void kill_task(executor_self self, const std::string& task_id,
               std::optional<caf::timespan> grace) {
  auto& st = self->state;
  auto i = st.tasks.find(task_id);
  if (i == st.tasks.end() || is_terminal(i->second.state)
      || i->second.killing)
    return;
  auto& t = i->second;
  t.killing = true;
  stop_probes(self, t);
  if (!t.launched) {
    send_update(self, task_id, v1::TASK_KILLED,
                v1::TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH,
                "killed before it started");
    return;
  }
  if (kill_state_supported(st.framework))
    send_update(self, task_id, v1::TASK_KILLING);
  if (!grace)
    grace = t.info.has_kill_policy()
              ? caf::timespan{t.info.kill_policy().grace_period().nanoseconds()}
              : st.cfg.default_kill_grace;
  self->request(st.cfg.containerizer, caf::infinite, destroy_atom::value,
                t.container_id, *grace)
    .then([](ok_atom) {}, [](caf::error&) {});
}

void task_ended(executor_self self, const std::string& task_id,
                const container_termination& t) {
  auto& st = self->state;
  auto i = st.tasks.find(task_id);
  if (i == st.tasks.end() || is_terminal(i->second.state))
    return;
  auto& run = i->second;
  stop_probes(self, run);
  if (t.reason) {
    send_update(self, task_id, v1::TASK_FAILED, *t.reason, t.message);
  } else if (run.killing || t.destroyed) {
    send_update(self, task_id, v1::TASK_KILLED,
                run.unhealthy_reason.empty()
                  ? std::nullopt
                  : std::optional{
                    v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED},
                run.unhealthy_reason.empty()
                  ? "Command terminated with signal "
                      + std::to_string(t.signal.value_or(0))
                  : run.unhealthy_reason);
  } else if (t.status == 0) {
    send_update(self, task_id, v1::TASK_FINISHED, std::nullopt,
                "Command exited with status 0");
  } else {
    send_update(self, task_id, v1::TASK_FAILED,
                std::nullopt,
                t.signal ? fmt::format("Command terminated with signal {}",
                                       *t.signal)
                         : fmt::format("Command exited with status {}",
                                       t.status));
  }
  // A group ends together: one task failing or killed takes the rest.
  auto final_state = st.tasks[task_id].state;
  if (run.group != 0 && final_state != v1::TASK_FINISHED)
    for (auto& [other_id, other] : st.tasks)
      if (other.group == run.group && !is_terminal(other.state))
        kill_task(self, other_id, std::nullopt);
  maybe_finish(self);
}

// -- health checks and checks ---------------------------------------------------

caf::timespan seconds(double s) {
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(s));
}

// What to probe, from a health check or a check (their types share
// numbers).
struct probe_spec {
  v1::HealthCheck::Type type = v1::HealthCheck::UNKNOWN;
  const v1::CommandInfo* command = nullptr;
  uint32_t port = 0;
  std::string path;
  std::vector<uint32_t> statuses; // passing HTTP statuses; empty: 2xx, 3xx
  bool https = false;              // HTTP over TLS (scheme "https")
};

probe_spec spec_of(const v1::HealthCheck& hc) {
  probe_spec p;
  p.type = hc.type();
  p.command = &hc.command();
  p.port = hc.type() == v1::HealthCheck::TCP ? hc.tcp().port()
                                              : hc.http().port();
  p.path = hc.http().path();
  p.statuses.assign(hc.http().statuses().begin(), hc.http().statuses().end());
  p.https = hc.http().scheme() == "https";
  return p;
}

probe_spec spec_of(const v1::CheckInfo& check) {
  probe_spec p;
  p.type = static_cast<v1::HealthCheck::Type>(check.type());
  p.command = &check.command().command();
  p.port = check.type() == v1::CheckInfo::TCP ? check.tcp().port()
                                              : check.http().port();
  p.path = check.http().path();
  return p;
}

// Results from other threads come back as messages, through a weak address
// (the I/O objects belong to this actor's state).
void report_check(caf::actor_addr me, std::string task_id, probe_kind kind,
                  uint64_t n, bool passed, int32_t code, std::string why) {
  if (auto hdl = caf::actor_cast<caf::actor>(me))
    caf::anon_send(hdl, checked_atom::value, std::move(task_id),
                   static_cast<uint8_t>(kind), n, passed, code,
                   std::move(why));
}

// The container a COMMAND probe runs in.
std::string probe_container_id(const task_run& t, probe_kind kind,
                               uint64_t n) {
  return fmt::format("{}.{}-{}", t.container_id,
                     kind == probe_kind::health ? "health" : "check", n);
}

// Starts probe number `n` of task `t`; its result comes as `checked_atom`
// (a failed one after `timeout`, if nothing came before).
void start_probe(executor_self self, const std::string& task_id,
                 task_run& t, probe_kind kind, uint64_t n,
                 const probe_spec& probe, caf::timespan timeout) {
  auto& st = self->state;
  auto k = static_cast<uint8_t>(kind);
  if (timeout > caf::timespan{0})
    self->delayed_send(self, timeout, checked_atom::value, task_id, k, n,
                       false, timed_out,
                       fmt::format("timed out after {}s",
                                   std::chrono::duration<double>(timeout)
                                     .count()));
  else // Mesos: no timeout at all (the probes' I/O still needs a bound)
    timeout = std::chrono::hours(24);
  auto me = self->address();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  // A task in a network of its own listens on its address there (Mesos
  // probes from inside the task's namespace; from outside, the address is
  // where that namespace's ports are); others on the host's loopback.
  std::string probed_host = "127.0.0.1";
  if (t.container_status)
    for (const auto& network : t.container_status->network_infos())
      for (const auto& ip : network.ip_addresses())
        if (probed_host == "127.0.0.1" && !ip.ip_address().empty())
          probed_host = ip.ip_address();
  switch (probe.type) {
    case v1::HealthCheck::COMMAND: {
      container_launch req;
      req.container_id = probe_container_id(t, kind, n);
      req.sandbox = t.sandbox;
      // It runs beside the task, not in its image.
      req.command = to_command_line(*probe.command, false);
      req.env = kernel::task_environment(t.info, t.sandbox,
                                         st.cfg.framework_id,
                                         st.cfg.executor_id, st.agent_info);
      auto check_id = req.container_id;
      auto failed = [self, task_id, k, n](caf::error& err) {
        self->send(self, checked_atom::value, task_id, k, n, false,
                   no_result, describe_reason(err));
      };
      self->request(st.cfg.containerizer, caf::infinite, launch_atom::value,
                    req)
        .then(
          [self, task_id, k, n, check_id, failed](uint32_t) {
            self
              ->request(self->state.cfg.containerizer, caf::infinite,
                        wait_atom::value, check_id)
              .then(
                [self, task_id, k, n](const container_termination& end) {
                  self->send(self, checked_atom::value, task_id, k, n,
                             end.status == 0, int32_t{end.status},
                             fmt::format("the check command exited with "
                                         "status {}",
                                         end.status));
                },
                failed);
          },
          failed);
      break;
    }
    case v1::HealthCheck::HTTP: {
      if (!st.http)
        st.http = std::make_unique<http_client>();
      http_call call;
      call.host = probed_host;
      call.port = static_cast<uint16_t>(probe.port);
      call.target = probe.path.empty() ? "/" : probe.path;
      call.timeout = millis;
      // As Mesos (curl -k): the task's certificate is not checked.
      call.tls = probe.https;
      call.verify_peer = false;
      st.http->fetch(call, [me, task_id, kind, n, ok = probe.statuses](
                             caf::expected<http_reply> r) {
        if (!r) { // refused, reset, or no answer in time
          report_check(me, task_id, kind, n, false, no_result,
                       describe_reason(r.error()));
          return;
        }
        bool passed = ok.empty()
                        ? r->status >= 200 && r->status < 400
                        : std::find(ok.begin(), ok.end(), r->status)
                            != ok.end();
        report_check(me, task_id, kind, n, passed,
                     static_cast<int32_t>(r->status),
                     fmt::format("HTTP status {}", r->status));
      });
      break;
    }
    case v1::HealthCheck::TCP: {
      if (!st.tcp)
        st.tcp = std::make_unique<tcp_prober>();
      st.tcp->probe(probed_host, static_cast<uint16_t>(probe.port), millis,
                    [me, task_id, kind, n](bool passed, std::string why) {
                      // The prober's own deadline is the probe's: no
                      // result, rather than "refused".
                      int32_t code = passed                 ? 1
                                     : why == "timed out" ? timed_out
                                                            : 0;
                      report_check(me, task_id, kind, n, passed, code,
                                   std::move(why));
                    });
      break;
    }
    default:
      // Validation refuses these; report no result rather than hang.
      self->send(self, checked_atom::value, task_id, k, n, false, no_result,
                 std::string{"no such check type"});
  }
}

// The probe slot of `t` for `kind`, if the task has that probe.
probe_slot* slot_of(task_run& t, probe_kind kind) {
  if (kind == probe_kind::health)
    return t.health ? &t.health_slot : nullptr;
  return t.check ? &t.check->slot : nullptr;
}

// Ends the command of `t`'s latest probe of `kind`, if it has one (a
// probe's container is not nested in the task's, so it would outlive it).
void stop_probe(executor_self self, const task_run& t, probe_kind kind) {
  auto type = kind == probe_kind::health ? t.info.health_check().type()
                                         : spec_of(t.info.check()).type;
  const auto* slot = kind == probe_kind::health ? &t.health_slot
                                                : t.check ? &t.check->slot
                                                          : nullptr;
  if (type != v1::HealthCheck::COMMAND || slot == nullptr || slot->n == 0)
    return;
  self->request(self->state.cfg.containerizer, caf::infinite,
                destroy_atom::value, probe_container_id(t, kind, slot->n),
                caf::timespan{0})
    .then([](ok_atom) {}, [](caf::error&) {});
}

// Ends the probes of `t` still under way (its end or kill ends them).
void stop_probes(executor_self self, const task_run& t) {
  if (t.health_slot.running)
    stop_probe(self, t, probe_kind::health);
  if (t.check && t.check->slot.running)
    stop_probe(self, t, probe_kind::check);
}

void run_check(executor_self self, const std::string& task_id,
               probe_kind kind, uint64_t n) {
  auto& st = self->state;
  auto i = st.tasks.find(task_id);
  if (i == st.tasks.end() || i->second.killing
      || is_terminal(i->second.state))
    return;
  auto& t = i->second;
  auto* slot = slot_of(t, kind);
  if (slot == nullptr)
    return;
  auto health = kind == probe_kind::health;
  auto interval = health ? t.health->interval() : t.check->interval;
  if (slot->running) { // the last one is still out: try again later
    self->delayed_send(self, interval, check_atom::value, task_id,
                       static_cast<uint8_t>(kind), n);
    return;
  }
  slot->n = n;
  slot->running = true;
  if (health)
    start_probe(self, task_id, t, kind, n, spec_of(t.info.health_check()),
                t.health->timeout());
  else
    start_probe(self, task_id, t, kind, n, spec_of(t.info.check()),
                t.check->timeout);
}

// The status a check's result gives (`code` as checked_atom has it, or
// timed_out for "unknown").
v1::CheckStatusInfo check_status_of(const v1::CheckInfo& check,
                                    int32_t code) {
  v1::CheckStatusInfo next;
  next.set_type(check.type());
  bool known = code >= 0;
  switch (check.type()) {
    case v1::CheckInfo::COMMAND:
      next.mutable_command();
      if (known)
        next.mutable_command()->set_exit_code(code);
      break;
    case v1::CheckInfo::HTTP:
      next.mutable_http();
      if (known)
        next.mutable_http()->set_status_code(static_cast<uint32_t>(code));
      break;
    case v1::CheckInfo::TCP:
      next.mutable_tcp();
      if (known)
        next.mutable_tcp()->set_succeeded(code == 1);
      break;
    default:
      break;
  }
  return next;
}

// A check's result (`code` as checked_atom has it) becomes its status; an
// update goes out when the status changed.
void record_check(executor_self self, const std::string& task_id,
                  task_run& t, int32_t code) {
  if (code == no_result)
    return;
  auto next = check_status_of(t.info.check(), code);
  if (next.SerializeAsString() == t.check->status.SerializeAsString())
    return;
  t.check->status = std::move(next);
  send_update(self, task_id, v1::TASK_RUNNING,
              v1::TaskStatus::REASON_TASK_CHECK_STATUS_UPDATED);
}

void check_result(executor_self self, const std::string& task_id,
                  probe_kind kind, uint64_t n, bool passed, int32_t code,
                  const std::string& why) {
  auto& st = self->state;
  auto i = st.tasks.find(task_id);
  if (i == st.tasks.end())
    return;
  auto& t = i->second;
  auto* slot = slot_of(t, kind);
  if (slot == nullptr || n != slot->n || !slot->running)
    return; // late (it timed out already) or for an old probe
  slot->running = false;
  // A command that timed out must not outlive its probe: Mesos kills a
  // check's process at its timeout.
  if (code == timed_out)
    stop_probe(self, t, kind);
  if (t.killing || is_terminal(t.state))
    return;
  if (kind == probe_kind::check) {
    record_check(self, task_id, t, code);
    self->delayed_send(self, t.check->interval, check_atom::value, task_id,
                       static_cast<uint8_t>(kind), n + 1);
    return;
  }
  using action = kernel::health_policy::action;
  switch (t.health->record(passed, self->clock().now() - t.started)) {
    case action::report_healthy:
    case action::report_unhealthy:
      send_update(self, task_id, v1::TASK_RUNNING,
                  v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED,
                  passed ? "" : "health check failed: " + why);
      break;
    case action::kill:
      t.unhealthy_reason = fmt::format(
        "killed after {} consecutive failed health checks (last: {})",
        t.health->consecutive_failures(), why);
      st.log->warn("task {} is unhealthy: {}", task_id, t.unhealthy_reason);
      kill_task(self, task_id, std::nullopt);
      return;
    case action::none:
      break;
  }
  self->delayed_send(self, t.health->interval(), check_atom::value, task_id,
                     static_cast<uint8_t>(kind), n + 1);
}

// The task's container runs: report it, start health checks, and wait for
// its end.
void task_started(executor_self self, const std::string& id) {
  auto& st = self->state;
  auto i = st.tasks.find(id);
  if (i == st.tasks.end())
    return;
  auto& t = i->second;
  t.launched = true;
  // Its first TASK_RUNNING carries the check's type, with no result yet.
  if (t.info.has_check()) {
    const auto& check = t.info.check();
    t.check.emplace();
    t.check->delay = seconds(delay_seconds(check));
    t.check->interval = seconds(interval_seconds(check));
    t.check->timeout = seconds(timeout_seconds(check));
    t.check->status = check_status_of(check, -1);
  }
  if (!t.killing)
    send_update(self, id, v1::TASK_RUNNING);
  t.started = self->clock().now();
  if (t.info.has_health_check()) {
    t.health.emplace(t.info.health_check());
    self->delayed_send(self, t.health->delay(), check_atom::value, id,
                       static_cast<uint8_t>(probe_kind::health), uint64_t{1});
  }
  if (t.check)
    self->delayed_send(self, t.check->delay, check_atom::value, id,
                       static_cast<uint8_t>(probe_kind::check), uint64_t{1});
  self->request(st.cfg.containerizer, caf::infinite, wait_atom::value,
                i->second.container_id)
    .then([self, id](const container_termination& t) { task_ended(self, id, t); },
          [self, id](caf::error& err) {
            container_termination t;
            t.status = -1;
            t.message = describe_reason(err);
            task_ended(self, id, t);
          });
}

void launch_task(executor_self self, const v1::TaskInfo& task,
                 uint64_t group) {
  auto& st = self->state;
  const auto& id = task.task_id().value();
  if (st.shutting_down || st.tasks.count(id) > 0) {
    if (st.tasks.count(id) == 0)
      send_update(self, id, v1::TASK_KILLED, std::nullopt,
                  "the executor is shutting down");
    return;
  }
  st.ever_had_tasks = true;
  ++st.idle_generation; // not idle any more
  auto& run = st.tasks[id];
  run.info = task;
  run.group = group;
  run.container_id = st.cfg.container_id + "." + id;
  run.sandbox = st.cfg.command_mode ? st.cfg.sandbox
                                    : st.cfg.sandbox + "/tasks/" + id;
  container_launch req;
  req.container_id = run.container_id;
  req.sandbox = run.sandbox;
  const auto& cmd = task.command();
  req.container = task.container();
  req.command = to_command_line(cmd, task.container().mesos().has_image());
  req.env = kernel::task_environment(task, run.sandbox, st.cfg.framework_id,
                                     st.cfg.executor_id, st.agent_info);
  if (cmd.uris_size() > 0)
    req.fetch = cmd;
  if (auto rs = resources::from_proto(task.resources()))
    req.limits = *rs;
  bool networked = std::any_of(
    task.container().network_infos().begin(),
    task.container().network_infos().end(),
    [](const v1::NetworkInfo& n) { return !n.name().empty(); });
  self->request(st.cfg.containerizer, caf::infinite, launch_atom::value, req)
    .then(
      [self, id, networked](uint32_t) {
        auto& st = self->state;
        auto i = st.tasks.find(id);
        if (i == st.tasks.end())
          return;
        if (!networked) {
          task_started(self, id);
          return;
        }
        // TASK_RUNNING carries the addresses the agent's IPAM gave it.
        self->request(st.cfg.containerizer, caf::infinite, state_atom::value,
                      i->second.container_id)
          .then(
            [self, id](v1::ContainerStatus& status) {
              if (auto j = self->state.tasks.find(id);
                  j != self->state.tasks.end())
                j->second.container_status = std::move(status);
              task_started(self, id);
            },
            [self, id](caf::error&) { task_started(self, id); });
      },
      [self, id](caf::error& err) {
        container_termination t;
        t.status = -1;
        t.reason = v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED;
        t.message = describe_reason(err);
        task_ended(self, id, t);
      });
}

// Ends the executor once nothing is left to do: every task ended and its
// updates are safe with the agent.
void maybe_finish(executor_self self) {
  auto& st = self->state;
  bool active = std::any_of(st.tasks.begin(), st.tasks.end(), [](auto& t) {
    return !is_terminal(t.second.state);
  });
  if (active || !st.unacked.empty())
    return;
  if (st.shutting_down || (st.cfg.command_mode && st.ever_had_tasks)) {
    self->quit();
    return;
  }
  if (st.ever_had_tasks)
    self->delayed_send(self, st.cfg.idle_timeout, idle_atom::value,
                       ++st.idle_generation);
}

void locate(executor_self self);

// Everything the agent has not confirmed goes again (it drops repeats):
// updates made while the (re-)registration was on its way are in no
// message yet.
void resend_unacked(executor_self self) {
  for (const auto& update : self->state.unacked)
    self->send(self->state.agent, update);
}

void registered(executor_self self,
                const v1::internal::ExecutorRegistered& reply) {
  auto& st = self->state;
  st.registered = true;
  st.framework = reply.framework_info();
  st.info = reply.executor_info();
  st.agent_info = reply.agent_info();
  resend_unacked(self);
  st.log->info("registered with the agent executor_id={}",
               st.cfg.executor_id);
}

void attach(executor_self self, agent_executor_actor agent) {
  auto& st = self->state;
  st.agent = std::move(agent);
  self->monitor(st.agent);
  auto me = caf::actor_cast<executor_actor>(self);
  auto on_error = [self](caf::error& err) {
    self->state.log->error("the agent refused this executor: {}",
                           describe(err));
    self->quit(err);
  };
  if (!st.cfg.reregister) {
    v1::internal::RegisterExecutor msg;
    msg.mutable_framework_id()->set_value(st.cfg.framework_id);
    msg.mutable_executor_id()->set_value(st.cfg.executor_id);
    msg.mutable_container_id()->set_value(st.cfg.container_id);
    self->request(st.agent, std::chrono::seconds(30), me, std::move(msg))
      .then([self](v1::internal::ExecutorRegistered& r) { registered(self, r); },
            on_error);
    return;
  }
  v1::internal::ReregisterExecutor msg;
  msg.mutable_framework_id()->set_value(st.cfg.framework_id);
  msg.mutable_executor_id()->set_value(st.cfg.executor_id);
  msg.mutable_container_id()->set_value(st.cfg.container_id);
  for (const auto& [id, t] : st.tasks)
    if (!is_terminal(t.state))
      *msg.add_tasks() = t.info;
  for (const auto& u : st.unacked)
    *msg.add_updates() = u;
  self->request(st.agent, std::chrono::seconds(30), me, std::move(msg))
    .then(
      [self](v1::internal::ExecutorRegistered& r) {
        self->state.registered = true;
        self->state.framework = r.framework_info();
        self->state.info = r.executor_info();
        self->state.agent_info = r.agent_info();
        // (The simulation found an update made while this re-registration
        // was on its way that was never sent: its task never ended.)
        resend_unacked(self);
        self->state.log->info("re-registered with the restarted agent");
      },
      on_error);
}

void locate(executor_self self) {
  auto& st = self->state;
  self->request(st.cfg.locator, std::chrono::seconds(5), detect_atom::value)
    .then([self](agent_executor_actor& agent) { attach(self, agent); },
          [self](caf::error&) {
            auto& st = self->state;
            if (self->clock().now() - st.lost_at > st.cfg.recovery_timeout) {
              st.log->error("the agent did not come back within the "
                            "recovery timeout: ending all tasks");
              st.shutting_down = true;
              for (auto& [id, t] : st.tasks)
                kill_task(self, id, std::chrono::seconds(0));
              self->quit();
              return;
            }
            self->delayed_send(self, std::chrono::seconds(1),
                               locate_atom::value);
          });
}

executor_impl::behavior_type executor(executor_self self,
                                      executor_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.rng.seed(st.cfg.seed);
  st.started_at = self->clock().now();
  st.lost_at = st.started_at;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source != st.agent.address())
      return;
    // The agent is gone (restarting, we hope): keep the tasks, look for it.
    st.log->warn("lost the agent; tasks keep running");
    st.registered = false;
    st.agent = agent_executor_actor{};
    st.cfg.reregister = true;
    st.lost_at = self->clock().now();
    locate(self);
  });
  locate(self);
  return {
    [self](const v1::internal::RunTask& msg) {
      if (self->state.framework.id().value().empty())
        self->state.framework = msg.framework();
      launch_task(self, msg.task(), 0);
    },
    [self](const v1::internal::RunTaskGroup& msg) {
      if (self->state.framework.id().value().empty())
        self->state.framework = msg.framework();
      auto group = self->state.next_group++;
      for (const auto& task : msg.task_group().tasks())
        launch_task(self, task, group);
    },
    [self](const v1::internal::KillTask& msg) {
      std::optional<caf::timespan> grace;
      if (msg.has_kill_policy())
        grace = caf::timespan{msg.kill_policy().grace_period().nanoseconds()};
      kill_task(self, msg.task_id().value(), grace);
    },
    [self](const v1::internal::StatusUpdateAcknowledgement& ack) {
      auto& unacked = self->state.unacked;
      unacked.erase(std::remove_if(unacked.begin(), unacked.end(),
                                   [&](auto& u) {
                                     return u.status().uuid() == ack.uuid();
                                   }),
                    unacked.end());
      maybe_finish(self);
    },
    [self](const v1::internal::FrameworkToExecutor&) {
      self->state.log->debug("ignoring a framework message: this executor "
                             "runs commands");
    },
    [self](shutdown_atom, const std::string& why) {
      auto& st = self->state;
      st.log->info("shutting down: {}", why);
      st.shutting_down = true;
      for (auto& [id, t] : st.tasks)
        kill_task(self, id, std::nullopt);
      maybe_finish(self);
    },
    [self](locate_atom) { locate(self); },
    [self](check_atom, const std::string& task_id, uint8_t kind,
           uint64_t n) {
      run_check(self, task_id, static_cast<probe_kind>(kind), n);
    },
    [self](checked_atom, const std::string& task_id, uint8_t kind, uint64_t n,
           bool passed, int32_t code, const std::string& why) {
      check_result(self, task_id, static_cast<probe_kind>(kind), n, passed,
                   code, why);
    },
    [self](idle_atom, uint64_t generation) {
      if (generation == self->state.idle_generation) {
        self->state.shutting_down = true;
        maybe_finish(self);
      }
    },
  };
}

} // namespace

executor_actor spawn_executor(caf::actor_system& sys, executor_config cfg) {
  return caf::actor_cast<executor_actor>(sys.spawn(executor, std::move(cfg)));
}

} // namespace dcos
