#include "marathon_state.hpp"

#include "app_container.hpp"

namespace dcos::marathon {

namespace {

// Where the readiness check of `task` asks: the port named `port_name`, on
// the agent's host (a host port) or at the task's address in its network.
// False if the task has no such port (an older version of the app) or no
// address yet.
bool probe_target(const App& app, const Task& task,
                  const std::string& port_name, std::string* host,
                  uint16_t* port) {
  auto specs = task_ports(app);
  int host_port_index = 0;
  for (const auto& spec : specs) {
    if (spec.name == port_name) {
      if (spec.wants_host_port) {
        if (host_port_index >= task.ports_size())
          return false;
        *host = task.host();
        *port = static_cast<uint16_t>(task.ports(host_port_index));
      } else {
        if (task.ip_addresses_size() == 0)
          return false;
        *host = task.ip_addresses(0).ip_address();
        *port = static_cast<uint16_t>(spec.container_port);
      }
      return true;
    }
    if (spec.wants_host_port)
      ++host_port_index;
  }
  return false;
}

} // namespace

void marathon_state::check_readiness(const std::string& task_id) {
  auto* entry = app_of(task_id);
  if (!entry)
    return;
  auto at = entry->tasks.find(task_id);
  if (at == entry->tasks.end())
    return;
  auto& task = at->second;
  if (!task.readiness_checked() || task.ready() || task.killing()
      || task.state() != "TASK_RUNNING")
    return;
  const auto& app = entry->app;
  std::string host;
  uint16_t port = 0;
  bool checked = app.readiness_checks_size() > 0 && cfg.prober;
  if (checked
      && !probe_target(app, task, app.readiness_checks(0).port_name(), &host,
                       &port)) {
    log->warn("task {}: no port '{}' to check readiness on; taken as ready",
              task_id, app.readiness_checks(0).port_name());
    checked = false;
  }
  if (!checked) { // the app no longer checks, or nothing can
    task.set_ready(true);
    persist(task_key(task_id), task);
    converge_soon(app.id());
    return;
  }
  const auto& check = app.readiness_checks(0);
  auto timeout = std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(check.timeout_seconds()));
  self
    ->request(cfg.prober, timeout + std::chrono::seconds(5),
              probe_atom::value, host, port, check.protocol() == "HTTPS",
              check.path(), timeout)
    .then(
      [this, task_id](int32_t status, const std::string& type,
                      const std::string& body) {
        note_readiness(task_id, status, type, body, {});
      },
      [this, task_id](caf::error& err) {
        note_readiness(task_id, 0, {}, {}, describe_reason(err));
      });
}

void marathon_state::note_readiness(const std::string& task_id,
                                    int32_t status,
                                    const std::string& content_type,
                                    const std::string& body,
                                    const std::string& error) {
  auto* entry = app_of(task_id);
  if (!entry || entry->app.readiness_checks_size() == 0)
    return;
  auto at = entry->tasks.find(task_id);
  if (at == entry->tasks.end())
    return; // it ended meanwhile
  auto& task = at->second;
  const auto& check = entry->app.readiness_checks(0);
  const auto& ready_codes = check.http_status_codes_for_ready();
  bool ready = error.empty()
               && std::find(ready_codes.begin(), ready_codes.end(), status)
                    != ready_codes.end();
  auto& result = entry->readiness[task_id];
  result.set_name(check.name());
  result.set_task_id(task_id);
  result.set_ready(ready);
  result.clear_last_response();
  if (check.preserve_last_response() && error.empty()) {
    auto* r = result.mutable_last_response();
    r->set_status(status);
    r->set_content_type(content_type);
    r->set_body(body);
  }
  if (!ready) {
    log->debug("task {} not ready: {}", task_id,
               error.empty() ? fmt::format("HTTP status {}", status) : error);
    self->delayed_send(self,
                       std::chrono::duration_cast<caf::timespan>(
                         std::chrono::duration<double>(
                           check.interval_seconds())),
                       readiness_atom::value, task_id);
    return;
  }
  task.set_ready(true);
  persist(task_key(task_id), task);
  converge_soon(entry->app.id());
}

} // namespace dcos::marathon
