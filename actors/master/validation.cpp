#include "validation.hpp"

#include <cmath>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/mesos_defaults.hpp"
#include "dcos/role.hpp"

namespace dcos::kernel {

caf::error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

namespace {

// Parses wire resources; entries without allocation_info get `role`.
caf::expected<resources>
allocated_resources(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                    const std::string& role) {
  auto parsed = resources::from_proto(xs);
  if (!parsed)
    return parsed.error();
  resources result;
  for (auto r : *parsed) {
    if (r.allocation_role.empty())
      r.allocation_role = role;
    result += std::move(r);
  }
  return result;
}

caf::error validate_command(const v1::CommandInfo& cmd) {
  if (cmd.value().empty())
    return invalid(uses_shell(cmd) ? "command.value: a shell command is empty"
                                   : "command.value: no program to exec");
  for (int i = 0; i < cmd.uris_size(); ++i)
    if (cmd.uris(i).value().empty())
      return invalid(fmt::format("command.uris[{}].value: empty", i));
  return {};
}

caf::error validate_health_check(const v1::HealthCheck& hc) {
  for (auto [name, value] :
       {std::pair{"delay_seconds", delay_seconds(hc)},
        std::pair{"interval_seconds", interval_seconds(hc)},
        std::pair{"timeout_seconds", timeout_seconds(hc)},
        std::pair{"grace_period_seconds", grace_period_seconds(hc)}})
    if (!(value >= 0))
      return invalid(fmt::format("health_check.{}: must not be negative",
                                 name));
  switch (hc.type()) {
    case v1::HealthCheck::COMMAND:
      if (!hc.has_command())
        return invalid("health_check.command: missing for a COMMAND check");
      if (auto err = validate_command(hc.command()))
        return invalid(fmt::format("health_check.{}", describe_reason(err)));
      return {};
    case v1::HealthCheck::HTTP:
      if (!hc.has_http() || hc.http().port() == 0 || hc.http().port() > 65535)
        return invalid("health_check.http.port: an HTTP check needs a port");
      if (hc.http().has_scheme() && hc.http().scheme() != "http"
          && hc.http().scheme() != "https")
        return invalid(fmt::format("health_check.http.scheme: unsupported "
                                   "scheme '{}' (http or https)",
                                   hc.http().scheme()));
      if (hc.http().has_path() && hc.http().path().rfind('/', 0) != 0)
        return invalid("health_check.http.path: must start with '/'");
      return {};
    case v1::HealthCheck::TCP:
      if (!hc.has_tcp() || hc.tcp().port() == 0 || hc.tcp().port() > 65535)
        return invalid("health_check.tcp.port: a TCP check needs a port");
      return {};
    default:
      return invalid("health_check.type: must be COMMAND, HTTP or TCP");
  }
}

// Mesos' rules for a CheckInfo (a check reports, it never kills: no grace
// period or failure count).
caf::error validate_check(const v1::CheckInfo& check) {
  for (auto [name, value] :
       {std::pair{"delay_seconds", delay_seconds(check)},
        std::pair{"interval_seconds", interval_seconds(check)},
        std::pair{"timeout_seconds", timeout_seconds(check)}})
    if (!(value >= 0))
      return invalid(fmt::format("check.{}: must not be negative", name));
  switch (check.type()) {
    case v1::CheckInfo::COMMAND:
      if (!check.command().has_command())
        return invalid("check.command.command: missing for a COMMAND check");
      if (auto err = validate_command(check.command().command()))
        return invalid(fmt::format("check.command.{}", describe_reason(err)));
      return {};
    case v1::CheckInfo::HTTP:
      if (check.http().port() == 0 || check.http().port() > 65535)
        return invalid("check.http.port: an HTTP check needs a port");
      if (check.http().has_path() && check.http().path().rfind('/', 0) != 0)
        return invalid("check.http.path: must start with '/'");
      return {};
    case v1::CheckInfo::TCP:
      if (check.tcp().port() == 0 || check.tcp().port() > 65535)
        return invalid("check.tcp.port: a TCP check needs a port");
      return {};
    default:
      return invalid("check.type: must be COMMAND, HTTP or TCP");
  }
}

// Only debug sessions (the agent's LAUNCH_NESTED_CONTAINER_SESSION) get a
// terminal here: a task or executor that asks for one is not run without.
caf::error no_terminal(std::string_view field) {
  return invalid(fmt::format("{}: a terminal is given to debug sessions "
                             "only, not to tasks or executors",
                             field));
}

caf::error validate_executor(const v1::ExecutorInfo& executor,
                             const framework_record& fw,
                             const agent_record& agent, bool& is_new) {
  if (executor.container().has_tty_info())
    return no_terminal("executor.container.tty_info");
  if (auto err = validate_id("executor.executor_id",
                             executor.executor_id().value()))
    return err;
  if (executor.type() == v1::ExecutorInfo::CUSTOM || executor.has_command()) {
    if (auto err = validate_command(executor.command()))
      return invalid(fmt::format("executor.{}", describe_reason(err)));
  }
  auto known = agent.executors.find(
    executor_key{fw.info.id().value(), executor.executor_id().value()});
  is_new = known == agent.executors.end();
  if (!is_new) {
    // The same executor may run more tasks, but it must not change.
    auto a = known->second;
    auto b = executor;
    a.clear_resources();
    b.clear_resources();
    a.clear_framework_id();
    b.clear_framework_id();
    if (a.SerializeAsString() != b.SerializeAsString())
      return invalid(fmt::format("executor '{}' already runs on agent {} "
                                 "with a different ExecutorInfo",
                                 executor.executor_id().value(),
                                 agent.info.id().value()));
  }
  return {};
}

} // namespace

caf::error validate_id(std::string_view what, const std::string& id) {
  if (id.empty())
    return invalid(fmt::format("{}: empty", what));
  if (id == "." || id == "..")
    return invalid(fmt::format("{}: '{}' is not a valid id", what, id));
  for (char c : id)
    if (c == '/' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return invalid(fmt::format("{}: '{}' contains '/', whitespace or a "
                                 "control character",
                                 what, id));
  return {};
}

caf::expected<launch_plan>
validate_task(v1::TaskInfo& task, const framework_record& fw,
              const agent_record& agent, const resources& remaining,
              const std::string& offer_role,
              const v1::ExecutorInfo* group_executor) {
  const auto& id = task.task_id().value();
  auto fail = [&](const caf::error& err) {
    return invalid(fmt::format("task '{}': {}", id, describe_reason(err)));
  };
  if (auto err = validate_id("task_id", id))
    return invalid(describe_reason(err));
  if (fw.tasks.count(id) > 0)
    return fail(invalid("task_id: a task with this id already exists"));
  if (task.agent_id().value().empty())
    task.mutable_agent_id()->set_value(agent.info.id().value());
  else if (task.agent_id().value() != agent.info.id().value())
    return fail(invalid(fmt::format("agent_id: '{}' is not the agent of the "
                                    "offers ('{}')",
                                    task.agent_id().value(),
                                    agent.info.id().value())));
  launch_plan plan;
  if (group_executor != nullptr) {
    if (task.has_executor())
      return fail(invalid("executor: tasks of a group must not name an "
                          "executor"));
    if (!task.has_command())
      return fail(invalid("command: missing"));
  } else if (task.has_executor() == task.has_command()) {
    return fail(invalid("exactly one of 'command' and 'executor' must be "
                        "set"));
  }
  if (task.has_command())
    if (auto err = validate_command(task.command()))
      return fail(err);
  if (task.has_executor()) {
    if (auto err = validate_executor(task.executor(), fw, agent,
                                     plan.new_executor))
      return fail(err);
    task.mutable_executor()->mutable_framework_id()->set_value(
      fw.info.id().value());
    if (plan.new_executor) {
      auto exec = allocated_resources(task.executor().resources(), offer_role);
      if (!exec)
        return fail(invalid(fmt::format("executor.{}",
                                        describe_reason(exec.error()))));
      plan.executor_resources = std::move(*exec);
      // Recorded with allocation info, so its release needs no guessing.
      task.mutable_executor()->clear_resources();
      plan.executor_resources.to_proto(
        task.mutable_executor()->mutable_resources());
    }
  }
  if (task.container().has_tty_info())
    return fail(no_terminal("container.tty_info"));
  if (task.has_health_check())
    if (auto err = validate_health_check(task.health_check()))
      return fail(err);
  if (task.has_check())
    if (auto err = validate_check(task.check()))
      return fail(err);
  if (task.has_kill_policy() && task.kill_policy().grace_period().nanoseconds()
                                  < 0)
    return fail(invalid("kill_policy.grace_period: must not be negative"));
  auto used = allocated_resources(task.resources(), offer_role);
  if (!used)
    return fail(used.error());
  if (used->empty())
    return fail(invalid("resources: a task must use some resources"));
  plan.task_resources = std::move(*used);
  auto needed = plan.task_resources + plan.executor_resources;
  if (!remaining.contains(needed))
    return fail(invalid(fmt::format("resources: {} exceed what the offers "
                                    "still hold ({})",
                                    needed.to_string(),
                                    remaining.to_string())));
  // Keep the wire form in step with what was validated.
  task.clear_resources();
  plan.task_resources.to_proto(task.mutable_resources());
  return plan;
}

caf::expected<std::vector<launch_plan>>
validate_task_group(v1::ExecutorInfo& executor, v1::TaskGroupInfo& group,
                    const framework_record& fw, const agent_record& agent,
                    const resources& remaining,
                    const std::string& offer_role) {
  if (group.tasks_size() == 0)
    return invalid("task_group: has no tasks");
  bool is_new = false;
  if (auto err = validate_executor(executor, fw, agent, is_new))
    return err;
  if (executor.type() == v1::ExecutorInfo::UNKNOWN)
    executor.set_type(v1::ExecutorInfo::DEFAULT);
  executor.mutable_framework_id()->set_value(fw.info.id().value());
  resources left = remaining;
  launch_plan first;
  if (is_new) {
    auto exec = allocated_resources(executor.resources(), offer_role);
    if (!exec)
      return invalid(fmt::format("executor.{}",
                                 describe_reason(exec.error())));
    if (!left.contains(*exec))
      return invalid(fmt::format("executor.resources: {} exceed what the "
                                 "offers still hold ({})",
                                 exec->to_string(), left.to_string()));
    left -= *exec;
    executor.clear_resources();
    exec->to_proto(executor.mutable_resources());
    first.executor_resources = std::move(*exec);
    first.new_executor = true;
  }
  std::vector<launch_plan> plans;
  std::set<std::string> ids;
  for (auto& task : *group.mutable_tasks()) {
    if (!ids.insert(task.task_id().value()).second)
      return invalid(fmt::format("task '{}': task_id appears twice in the "
                                 "group",
                                 task.task_id().value()));
    auto plan = validate_task(task, fw, agent, left, offer_role, &executor);
    if (!plan)
      return plan.error();
    left -= plan->task_resources;
    plans.push_back(std::move(*plan));
  }
  plans.front().executor_resources = std::move(first.executor_resources);
  plans.front().new_executor = first.new_executor;
  return plans;
}

namespace {

caf::error check_dynamic(const resource& r, const framework_record* fw,
                         std::string_view what) {
  if (!r.is_dynamically_reserved())
    return invalid(fmt::format("{}: {} is not dynamically reserved", what,
                               r.name));
  const auto& level = r.reservations.back();
  if (fw != nullptr) {
    const auto& principal = fw->info.principal();
    if (!principal.empty() && level.principal != principal)
      return invalid(fmt::format("{}: reservation principal '{}' is not the "
                                 "framework's principal '{}'",
                                 what, level.principal, principal));
    if (!r.allocation_role.empty()
        && !is_subrole_or_same(level.role, r.allocation_role))
      return invalid(fmt::format("{}: role '{}' is not the role the "
                                 "resources are allocated to ('{}')",
                                 what, level.role, r.allocation_role));
  }
  return {};
}

} // namespace

caf::expected<conversion>
validate_reserve(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                 const framework_record* fw, const std::string& offer_role) {
  auto reserved = allocated_resources(xs, offer_role);
  if (!reserved)
    return invalid(fmt::format("reserve.{}", describe_reason(reserved.error())));
  if (reserved->empty())
    return invalid("reserve.resources: empty");
  for (const auto& r : *reserved) {
    if (auto err = check_dynamic(r, fw, "reserve.resources"))
      return err;
    if (r.is_persistent_volume())
      return invalid("reserve.resources: cannot reserve a persistent volume");
  }
  return conversion{reserved->pop_reservation(), *reserved};
}

caf::expected<conversion>
validate_unreserve(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                   const framework_record* fw, const std::string& offer_role) {
  auto reserved = allocated_resources(xs, offer_role);
  if (!reserved)
    return invalid(fmt::format("unreserve.{}",
                               describe_reason(reserved.error())));
  if (reserved->empty())
    return invalid("unreserve.resources: empty");
  for (const auto& r : *reserved) {
    if (auto err = check_dynamic(r, fw, "unreserve.resources"))
      return err;
    if (r.is_persistent_volume())
      return invalid("unreserve.resources: destroy the persistent volume "
                     "first");
  }
  return conversion{*reserved, reserved->pop_reservation()};
}

caf::expected<conversion>
validate_create(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                const agent_record& agent, const std::string& offer_role) {
  auto volumes = allocated_resources(xs, offer_role);
  if (!volumes)
    return invalid(fmt::format("create.{}", describe_reason(volumes.error())));
  if (volumes->empty())
    return invalid("create.volumes: empty");
  resources plain;
  std::set<std::string> ids;
  for (const auto& v : agent.total.persistent_volumes())
    ids.insert(v.disk->persistence().id());
  for (const auto& v : *volumes) {
    if (!v.is_persistent_volume())
      return invalid("create.volumes: a volume needs disk.persistence.id");
    if (!v.is_reserved())
      return invalid(fmt::format("create.volumes: volume '{}' must be made "
                                 "on reserved disk",
                                 v.disk->persistence().id()));
    const auto& path = v.disk->volume().container_path();
    if (path.empty() || path.front() == '/'
        || path.find("..") != std::string::npos)
      return invalid(fmt::format("create.volumes: volume '{}': "
                                 "disk.volume.container_path must be a "
                                 "relative path inside the sandbox",
                                 v.disk->persistence().id()));
    if (!ids.insert(v.disk->persistence().id()).second)
      return invalid(fmt::format("create.volumes: persistence id '{}' "
                                 "already exists on agent {}",
                                 v.disk->persistence().id(),
                                 agent.info.id().value()));
    // The plain reserved disk the volume is made of.
    plain += v.volume_source();
  }
  return conversion{plain, *volumes};
}

namespace {

// The one persistent volume a GROW_VOLUME or SHRINK_VOLUME is about.
caf::expected<resource> resizable_volume(const v1::Resource& x,
                                         std::string_view call) {
  auto volume = resources::entry_from_proto(x);
  if (!volume)
    return invalid(fmt::format("{}.volume: {}", call,
                               describe_reason(volume.error())));
  if (!volume->is_persistent_volume())
    return invalid(fmt::format("{}.volume: not a persistent volume", call));
  if (volume->shared)
    return invalid(fmt::format("{}.volume: a shared volume cannot be "
                               "resized",
                               call));
  if (volume->disk->source().type() == v1::Resource::DiskInfo::Source::MOUNT)
    return invalid(fmt::format("{}.volume: a volume on a MOUNT disk cannot be "
                               "resized",
                               call));
  return volume;
}

} // namespace

caf::expected<conversion> validate_grow(const v1::Resource& x,
                                        const v1::Resource& y) {
  auto volume = resizable_volume(x, "grow_volume");
  if (!volume)
    return volume.error();
  auto addition = resources::entry_from_proto(y);
  if (!addition)
    return invalid(fmt::format("grow_volume.addition: {}",
                               describe_reason(addition.error())));
  if (addition->milli <= 0)
    return invalid("grow_volume.addition: must be more than 0");
  if (!addition->same_identity(volume->volume_source()))
    return invalid("grow_volume.addition: must be disk of the volume's "
                   "reservation and source, and not a volume itself");
  resource grown = *volume;
  grown.milli += addition->milli;
  resources from;
  from += *volume;
  from += *addition;
  resources to;
  to += std::move(grown);
  return conversion{std::move(from), std::move(to)};
}

caf::expected<conversion> validate_shrink(const v1::Resource& x,
                                          const v1::Value::Scalar& subtract) {
  auto volume = resizable_volume(x, "shrink_volume");
  if (!volume)
    return volume.error();
  auto milli = static_cast<int64_t>(std::llround(subtract.value() * 1000));
  if (milli <= 0)
    return invalid("shrink_volume.subtract: must be more than 0");
  if (milli >= volume->milli)
    return invalid(fmt::format("shrink_volume.subtract: must be less than "
                               "the volume's size ({})",
                               volume->scalar()));
  resource shrunk = *volume;
  shrunk.milli -= milli;
  resource freed = volume->volume_source();
  freed.milli = milli;
  resources from;
  from += *volume;
  resources to;
  to += std::move(shrunk);
  to += std::move(freed);
  return conversion{std::move(from), std::move(to)};
}

caf::expected<conversion>
validate_destroy(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                 const std::string& offer_role) {
  auto volumes = allocated_resources(xs, offer_role);
  if (!volumes)
    return invalid(fmt::format("destroy.{}", describe_reason(volumes.error())));
  if (volumes->empty())
    return invalid("destroy.volumes: empty");
  resources plain;
  for (const auto& v : *volumes) {
    if (!v.is_persistent_volume())
      return invalid("destroy.volumes: not a persistent volume");
    plain += v.volume_source();
  }
  return conversion{*volumes, plain};
}

} // namespace dcos::kernel
