#include "marathon_state.hpp"

namespace dcos::marathon {

void marathon_state::subscribe(std::shared_ptr<stream_sink> sink,
                               const std::vector<std::string>& types) {
  subscribers.push_back({sink, {types.begin(), types.end()}});
  EventStreamAttached attached;
  attached.set_event_type("event_stream_attached");
  attached.set_timestamp(timestamp());
  sink->write(fmt::format("event: event_stream_attached\ndata: {}\n\n",
                          to_marathon_json(attached)));
}

void marathon_state::publish_deployment(const std::string& type,
                                        const Deployment& d) {
  DeploymentEvent e;
  e.set_id(d.id());
  *e.mutable_plan() = d;
  if (d.current_step() > 0 && d.current_step() <= d.steps_size())
    *e.mutable_current_step() = d.steps(d.current_step() - 1);
  publish(type, std::move(e));
}

std::string marathon_state::condition_of(v1::TaskState state) {
  auto name = v1::TaskState_Name(state).substr(5); // no "TASK_"
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? c : static_cast<char>(std::tolower(c));
    upper = false;
  }
  return out;
}

void marathon_state::publish_status(const app_entry& entry, const Task& task,
                                    const v1::TaskStatus& status) {
  StatusUpdateEvent e;
  e.set_slave_id(task.slave_id());
  e.set_task_id(task.id());
  e.set_task_status(v1::TaskState_Name(status.state()));
  e.set_message(status.message());
  e.set_app_id(entry.app.id());
  e.set_host(task.host());
  *e.mutable_ip_addresses() = task.ip_addresses();
  *e.mutable_ports() = task.ports();
  e.set_version(task.version());
  publish("status_update_event", std::move(e));
  InstanceChangedEvent c;
  c.set_instance_id(task.id());
  c.set_condition(condition_of(status.state()));
  c.set_run_spec_id(entry.app.id());
  c.set_agent_id(task.slave_id());
  c.set_host(task.host());
  c.set_run_spec_version(task.version());
  c.set_goal(task.killing() ? (entry.removing ? "Decommissioned" : "Stopped")
                            : "Running");
  publish("instance_changed_event", std::move(c));
}

void marathon_state::persist(std::string key,
                             const google::protobuf::Message& msg,
                             std::function<void()> done) {
  self->request(cfg.store, caf::infinite, put_atom::value, key,
                msg.SerializeAsString())
    .then(
      [done](ok_atom) {
        if (done)
          done();
      },
      [this, key, done](caf::error& err) {
        store_failed(key, err);
        if (done)
          done();
      });
}

void marathon_state::forget(std::string key) {
  self->request(cfg.store, caf::infinite, erase_atom::value, key)
    .then([](ok_atom) {},
          [this, key](caf::error& err) {
            if (code_of(err) != errc::not_found)
              store_failed(key, err);
          });
}

void marathon_state::store_failed(const std::string& what,
                                  const caf::error& err) {
  if (code_of(err) != errc::conflict) {
    log->error("cannot store {}: {}", what, describe(err));
    return;
  }
  log->critical("the store refused {}: another Marathon leads; stopping",
                what);
  self->quit(err);
}

} // namespace dcos::marathon
