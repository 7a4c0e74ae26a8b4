#include "task_factory.hpp"

#include "app_container.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include <dcos/offer_match.hpp>

namespace dcos::marathon {

namespace {

// "web-1" -> "WEB_1": the name of a port or label in an environment variable.
std::string env_name(std::string_view text) {
  std::string out;
  for (char c : text)
    out += std::isalnum(static_cast<unsigned char>(c))
             ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
             : '_';
  return out;
}

void add_env(v1::Environment* env, std::string name, std::string value) {
  auto* var = env->add_variables();
  var->set_name(std::move(name));
  var->set_value(std::move(value));
}

// Marathon's port variables: PORT0.. and PORTS (the host port, or the
// container port where none is mapped), PORT_<NAME>, and PORT_<declared>
// for a port declared by number (a port definition's, a mapping's
// container port).
void add_port_env(v1::Environment* env, const App& app,
                  const std::vector<placed_port>& ports) {
  std::vector<int> values;
  for (const auto& p : ports)
    values.push_back(p.host_port != 0 ? p.host_port : p.spec.container_port);
  if (!values.empty()) {
    add_env(env, "PORT", std::to_string(values[0]));
    add_env(env, "PORTS", fmt::format("{}", fmt::join(values, ",")));
  }
  bool host = host_networking(app);
  for (size_t i = 0; i < ports.size(); ++i) {
    add_env(env, fmt::format("PORT{}", i), std::to_string(values[i]));
    if (!ports[i].spec.name.empty())
      add_env(env, "PORT_" + env_name(ports[i].spec.name),
              std::to_string(values[i]));
    int declared = host ? app.port_definitions(static_cast<int>(i)).port()
                        : ports[i].spec.container_port;
    if (declared != 0)
      add_env(env, fmt::format("PORT_{}", declared),
              std::to_string(values[i]));
  }
}

// The executor's health check for a task with `ports`: it probes the port
// the task listens on (in a container network, at the container's address).
// REQUIRES: the app is valid (its check's port index addresses a port).
v1::HealthCheck mesos_health_check(const HealthCheck& check,
                                   const std::vector<placed_port>& ports) {
  v1::HealthCheck out;
  out.set_delay_seconds(check.delay_seconds());
  out.set_interval_seconds(check.interval_seconds());
  out.set_timeout_seconds(check.timeout_seconds());
  out.set_consecutive_failures(
    static_cast<uint32_t>(check.max_consecutive_failures()));
  out.set_grace_period_seconds(check.grace_period_seconds());
  const auto& protocol = check.protocol();
  if (protocol == "COMMAND") {
    out.set_type(v1::HealthCheck::COMMAND);
    out.mutable_command()->set_value(check.command().value());
    return out;
  }
  auto index = static_cast<size_t>(check.port_index());
  auto port = static_cast<uint32_t>(
    check.has_port()         ? check.port()
    : index < ports.size() ? ports[index].effective()
                           : 0);
  if (protocol == "MESOS_TCP" || protocol == "TCP") {
    out.set_type(v1::HealthCheck::TCP);
    out.mutable_tcp()->set_port(port);
  } else {
    out.set_type(v1::HealthCheck::HTTP);
    bool https = protocol == "MESOS_HTTPS" || protocol == "HTTPS";
    out.mutable_http()->set_scheme(https ? "https" : "http");
    out.mutable_http()->set_port(port);
    // Marathon makes a relative path absolute; Mesos requires it.
    const auto& path = check.path();
    out.mutable_http()->set_path(path.starts_with('/') ? path : "/" + path);
  }
  return out;
}

} // namespace

std::string task_name(const std::string& app_id) {
  std::vector<std::string_view> parts;
  std::string_view rest{app_id};
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto part = rest.substr(0, slash);
    if (!part.empty())
      parts.push_back(part);
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  std::reverse(parts.begin(), parts.end());
  return fmt::format("{}", fmt::join(parts, "."));
}

fit_result fit_task(const App& app,
                    const std::vector<placement_constraint>& constraints,
                    const v1::Offer& offer, const resources& available,
                    const std::vector<placement_site>& placed,
                    const std::string& task_id, const std::string& now) {
  fit_result out;
  task_demand demand;
  demand.cpus = app.cpus();
  demand.mem = app.mem();
  demand.disk = app.disk();
  demand.accepted_roles.assign(app.accepted_resource_roles().begin(),
                               app.accepted_resource_roles().end());
  auto specs = task_ports(app);
  for (const auto& spec : specs)
    if (spec.wants_host_port)
      demand.host_ports.push_back({spec.fixed_host_port, spec.fixed_by});
  auto match = match_offer(demand, constraints, offer, available, placed);
  if (!match.fits) {
    out.reason = std::move(match.reason);
    out.reason_code = std::move(match.reason_code);
    return out;
  }
  std::vector<placed_port> ports;
  auto host_port = match.host_ports.begin();
  for (auto& spec : specs) {
    placed_port p{std::move(spec), 0};
    if (p.spec.wants_host_port)
      p.host_port = *host_port++;
    ports.push_back(std::move(p));
  }
  out.launch.used = std::move(match.used);

  auto& info = out.launch.info;
  info.set_name(task_name(app.id()));
  info.mutable_task_id()->set_value(task_id);
  *info.mutable_agent_id() = offer.agent_id();
  out.launch.used.to_proto(info.mutable_resources());
  auto* command = info.mutable_command();
  if (app.has_cmd()) {
    command->set_value(app.cmd());
  } else {
    command->set_shell(false);
    command->set_value(app.args(0));
    for (const auto& arg : app.args())
      command->add_arguments(arg);
  }
  if (app.has_user())
    command->set_user(app.user());
  for (const auto& f : app.fetch()) {
    auto* uri = command->add_uris();
    uri->set_value(f.uri());
    uri->set_executable(f.executable());
    uri->set_extract(f.extract());
    uri->set_cache(f.cache());
    if (f.has_output_file())
      uri->set_output_file(f.output_file());
  }
  auto* env = command->mutable_environment();
  for (const auto& [name, value] : app.env())
    add_env(env, name, value);
  add_env(env, "MARATHON_APP_ID", app.id());
  add_env(env, "MARATHON_APP_VERSION", app.version());
  add_env(env, "MARATHON_APP_RESOURCE_CPUS", fmt::format("{}", app.cpus()));
  add_env(env, "MARATHON_APP_RESOURCE_MEM", fmt::format("{}", app.mem()));
  add_env(env, "MARATHON_APP_RESOURCE_DISK", fmt::format("{}", app.disk()));
  for (const auto& [key, value] : app.labels())
    add_env(env, "MARATHON_APP_LABEL_" + env_name(key), value);
  add_env(env, "MESOS_TASK_ID", task_id);
  add_env(env, "HOST", offer.hostname());
  add_port_env(env, app, ports);
  for (const auto& [key, value] : app.labels()) {
    auto* label = info.mutable_labels()->add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  if (auto container = container_info(app, ports))
    *info.mutable_container() = std::move(*container);
  *info.mutable_discovery() = discovery_info(app, info.name(), ports);
  if (app.health_checks_size() > 0)
    *info.mutable_health_check() = mesos_health_check(app.health_checks(0),
                                                      ports);
  if (app.has_task_kill_grace_period_seconds())
    info.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(
      static_cast<int64_t>(app.task_kill_grace_period_seconds() * 1e9));

  auto& task = out.launch.task;
  task.set_id(task_id);
  task.set_app_id(app.id());
  task.set_host(offer.hostname());
  for (const auto& p : ports)
    if (p.host_port != 0)
      task.add_ports(p.host_port);
  task.set_slave_id(offer.agent_id().value());
  task.set_state("TASK_STAGING");
  task.set_staged_at(now);
  task.set_version(app.version_info().last_config_change_at());
  if (app.health_checks_size() > 0)
    task.set_health_checked(true);
  if (app.readiness_checks_size() > 0)
    task.set_readiness_checked(true);
  out.fits = true;
  return out;
}

} // namespace dcos::marathon
