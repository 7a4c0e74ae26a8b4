#include "app_definition.hpp"

#include "app_container.hpp"

#include <cmath>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <dcos/error.hpp>
#include <dcos/json.hpp>
#include <dcos/role.hpp>

namespace dcos::marathon {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Value;

// Marathon's rule for one segment of an app's path.
const std::regex& segment_rule() {
  static const std::regex rule{
    "(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*"
    "([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])"};
  return rule;
}

// What Marathon fills in its answers; a request may carry them back (a GET's
// answer sent with PUT) and they are ignored.
const std::set<std::string>& read_only_fields() {
  static const std::set<std::string> names{
    "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "tasks", "lastTaskFailure", "version", "versionInfo"};
  return names;
}

// Parts of Marathon's app definition this Marathon does not run yet: an
// empty or null value (as Marathon's own answers carry them) is accepted,
// anything else refused, so that nobody believes an app has, say, a health
// check that nothing runs.
const std::set<std::string>& not_yet_supported() {
  static const std::set<std::string> names{
    "secrets", "storeUrls",
    "gpus", "executor", "ipAddress",
    "role", "executorResources"};
  return names;
}

std::string segment_pattern() {
  return "^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*"
         "([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$";
}

// Reads Marathon's older `uris` (a list of strings) into `fetch`, as
// Marathon does: archives are extracted, nothing is executable or cached.
void upgrade_legacy_uris(google::protobuf::Map<std::string, Value>* fields,
                         std::string_view prefix,
                         std::vector<violation>* violations) {
  auto uris = fields->find("uris");
  if (uris == fields->end())
    return;
  auto path = fmt::format("{}/uris", prefix);
  if (uris->second.kind_case() != Value::kNullValue
      && !uris->second.has_list_value()) {
    violations->push_back({path, "must be an array"});
    return;
  }
  auto fetch = fields->find("fetch");
  bool has_fetch = fetch != fields->end() && !is_empty_value(fetch->second);
  Value converted;
  auto* list = converted.mutable_list_value();
  for (const auto& uri : uris->second.list_value().values()) {
    if (!uri.has_string_value()) {
      violations->push_back({path, "must be an array of strings"});
      return;
    }
    (*list->add_values()->mutable_struct_value()->mutable_fields())["uri"]
      .set_string_value(uri.string_value());
  }
  fields->erase(uris);
  if (list->values_size() == 0)
    return;
  if (has_fetch) {
    violations->push_back({path, "give either uris or fetch, not both"});
    return;
  }
  (*fields)["fetch"] = std::move(converted);
}

// Reads `"unreachableStrategy": "disabled"` into the object form
// ({"disabled": true}) the schema has.
void read_disabled_strategy(google::protobuf::Map<std::string, Value>* fields,
                            std::string_view prefix,
                            std::vector<violation>* violations) {
  auto strategy = fields->find("unreachableStrategy");
  if (strategy == fields->end() || !strategy->second.has_string_value())
    return;
  if (strategy->second.string_value() != "disabled") {
    violations->push_back({fmt::format("{}/unreachableStrategy", prefix),
                           "must be \"disabled\" or an object"});
    return;
  }
  Value disabled;
  (*disabled.mutable_struct_value()->mutable_fields())["disabled"]
    .set_bool_value(true);
  strategy->second = std::move(disabled);
}

// Reads the app fields of `parsed` (a JSON object) into `*out`, checking
// each top-level field's name and kind first so that an error names its
// path (after `prefix`). `present` gets the names the object gives.
void parse_fields(Value parsed, std::string_view prefix, App* out,
                  std::set<std::string>* present,
                  std::vector<violation>* violations) {
  std::map<std::string, const FieldDescriptor*> by_json_name;
  const auto* descriptor = App::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i)
    by_json_name[descriptor->field(i)->json_name()] = descriptor->field(i);
  auto before = violations->size();
  auto* fields = parsed.mutable_struct_value()->mutable_fields();
  upgrade_legacy_uris(fields, prefix, violations);
  read_disabled_strategy(fields, prefix, violations);
  for (auto it = fields->begin(); it != fields->end();) {
    const auto& [name, value] = *it;
    auto path = fmt::format("{}/{}", prefix, name);
    if (read_only_fields().count(name)) {
      it = fields->erase(it);
      continue;
    }
    if (not_yet_supported().count(name)) {
      if (!is_empty_value(value))
        violations->push_back({path, "not supported by this Marathon yet"});
      it = fields->erase(it);
      continue;
    }
    auto field = by_json_name.find(name);
    if (field == by_json_name.end()) {
      violations->push_back({path, "unknown field"});
    } else if (auto kind = expected_json_kind(field->second, value); !kind.empty()) {
      violations->push_back(
        {path, fmt::format("must be {}, not {}", kind, json_kind_name(value))});
    } else if (value.kind_case() != Value::kNullValue) {
      present->insert(name);
    }
    ++it;
  }
  if (violations->size() > before)
    return;
  std::string cleaned;
  (void)google::protobuf::util::MessageToJsonString(parsed, &cleaned);
  if (auto err = from_json(cleaned, out, "app definition"))
    violations->push_back({fmt::format("{}/", prefix), describe_reason(err)});
}

void check_range(std::vector<violation>& out, std::string path, double x,
                 double min, double max = INFINITY) {
  if (std::isnan(x) || x < min)
    out.push_back({std::move(path),
                   fmt::format("must be at least {}, not {}", min, x)});
  else if (x > max)
    out.push_back({std::move(path),
                   fmt::format("must be at most {}, not {}", max, x)});
}

bool valid_path(std::string_view absolute) {
  if (absolute.size() < 2 || absolute.front() != '/')
    return false;
  size_t begin = 1;
  while (begin <= absolute.size()) {
    auto end = absolute.find('/', begin);
    if (end == std::string_view::npos)
      end = absolute.size();
    std::string segment{absolute.substr(begin, end - begin)};
    if (!std::regex_match(segment, segment_rule()))
      return false;
    begin = end + 1;
  }
  return true;
}

std::vector<std::string> constraint_parts(const google::protobuf::ListValue& l,
                                          bool* all_strings) {
  std::vector<std::string> parts;
  *all_strings = true;
  for (const auto& v : l.values()) {
    if (v.has_string_value())
      parts.push_back(v.string_value());
    else
      *all_strings = false;
  }
  return parts;
}

// Marathon's rules for health checks, and this Marathon's limits: one
// check per app (a Mesos task has one), no ignoreHttp1xx (a 1xx answer
// counts as a failure). Every protocol runs in the executor, the
// Marathon-side ones (HTTP, HTTPS, TCP) as their MESOS_ twins.
void validate_health_checks(const App& app, std::vector<violation>& out) {
  if (app.health_checks_size() > 1)
    out.push_back({"/healthChecks",
                   "this Marathon runs at most one health check per app"});
  for (int i = 0; i < app.health_checks_size(); ++i) {
    const auto& check = app.health_checks(i);
    auto path = fmt::format("/healthChecks({})", i);
    const auto& protocol = check.protocol();
    if (protocol != "MESOS_HTTP" && protocol != "MESOS_HTTPS"
        && protocol != "MESOS_TCP" && protocol != "COMMAND"
        && protocol != "HTTP" && protocol != "HTTPS" && protocol != "TCP") {
      out.push_back({path + "/protocol",
                     "must be one of MESOS_HTTP, MESOS_HTTPS, MESOS_TCP, "
                     "COMMAND, HTTP, HTTPS, TCP"});
    }
    if (protocol == "COMMAND") {
      if (check.command().value().empty())
        out.push_back({path + "/command",
                       "a COMMAND health check needs a command"});
    } else if (check.has_port()) {
      if (check.port() < 1 || check.port() > 65535)
        out.push_back({path + "/port", "must be between 1 and 65535"});
    } else if (check.port_index() < 0
               || check.port_index() >= declared_ports(app)) {
      out.push_back({path + "/portIndex",
                     "Health check port indices must address an element of "
                     "the ports array or container port mappings."});
    }
    check_range(out, path + "/gracePeriodSeconds",
                check.grace_period_seconds(), 0);
    check_range(out, path + "/intervalSeconds", check.interval_seconds(), 1);
    check_range(out, path + "/timeoutSeconds", check.timeout_seconds(), 0);
    if (check.timeout_seconds() >= check.interval_seconds())
      out.push_back({path + "/timeoutSeconds",
                     "must be smaller than intervalSeconds"});
    check_range(out, path + "/maxConsecutiveFailures",
                check.max_consecutive_failures(), 0);
    check_range(out, path + "/delaySeconds", check.delay_seconds(), 0);
    if (check.ignore_http1xx())
      out.push_back({path + "/ignoreHttp1xx",
                     "is not supported by this Marathon yet"});
  }
}

// Marathon's rules for `fetch`, and what the agents' fetcher can get:
// file://, http://, https:// and absolute paths.
void validate_fetch(const App& app, std::vector<violation>& out) {
  for (int i = 0; i < app.fetch_size(); ++i) {
    const auto& f = app.fetch(i);
    auto path = fmt::format("/fetch({})", i);
    const auto& uri = f.uri();
    if (uri.empty())
      out.push_back({path + "/uri", "is required"});
    else if (uri.rfind("file:///", 0) != 0 && uri.rfind("http://", 0) != 0
             && uri.rfind("https://", 0) != 0 && uri.front() != '/')
      out.push_back({path + "/uri",
                     "must be a file://, http:// or https:// URI or an "
                     "absolute path on the agent"});
    if (f.has_output_file() && (f.output_file().empty()
                                || f.output_file().find("..")
                                     != std::string::npos
                                || f.output_file().front() == '/'))
      out.push_back({path + "/outputFile",
                     "must be a relative path inside the sandbox"});
  }
}

// Marathon's rules for readiness checks: one per app, on a named port of
// the app.
void validate_readiness_checks(const App& app, std::vector<violation>& out) {
  if (app.readiness_checks_size() > 1)
    out.push_back({"/readinessChecks", "an app has at most one readiness "
                                       "check"});
  std::set<std::string> port_names;
  if (host_networking(app))
    for (const auto& p : app.port_definitions())
      port_names.insert(p.name());
  else
    for (const auto& m : app.container().port_mappings())
      port_names.insert(m.name());
  for (int i = 0; i < app.readiness_checks_size(); ++i) {
    const auto& check = app.readiness_checks(i);
    auto path = fmt::format("/readinessChecks({})", i);
    if (check.protocol() != "HTTP" && check.protocol() != "HTTPS")
      out.push_back({path + "/protocol", "must be HTTP or HTTPS"});
    if (!port_names.count(check.port_name()))
      out.push_back({path + "/portName",
                     fmt::format("no port of the app is named '{}'",
                                 check.port_name())});
    check_range(out, path + "/intervalSeconds", check.interval_seconds(), 1);
    check_range(out, path + "/timeoutSeconds", check.timeout_seconds(), 0);
    if (check.timeout_seconds() >= check.interval_seconds())
      out.push_back({path + "/timeoutSeconds",
                     "must be smaller than intervalSeconds"});
    for (int j = 0; j < check.http_status_codes_for_ready_size(); ++j)
      check_range(out, fmt::format("{}/httpStatusCodesForReady({})", path, j),
                  check.http_status_codes_for_ready(j), 100, 599);
  }
}

} // namespace

std::string absolute_app_id(std::string_view id, std::string_view base) {
  std::string out;
  if (id.empty() || id.front() != '/') {
    out = base;
    if (out.empty() || out.back() != '/')
      out += '/';
  }
  out += id;
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  return out;
}

std::string app_id_key(std::string_view absolute_id) {
  std::string key{absolute_id.substr(absolute_id.empty() ? 0 : 1)};
  for (auto& c : key)
    if (c == '/')
      c = '_';
  return key;
}

void apply_defaults(App* app) {
  apply_container_defaults(app); // first: is_resident() depends on it
  if (!app->has_instances())
    app->set_instances(1);
  if (!app->has_cpus())
    app->set_cpus(1);
  if (!app->has_mem())
    app->set_mem(128);
  if (!app->has_disk())
    app->set_disk(0);
  if (!app->has_require_ports())
    app->set_require_ports(false);
  if (!app->has_backoff_seconds())
    app->set_backoff_seconds(1);
  if (!app->has_backoff_factor())
    app->set_backoff_factor(1.15);
  if (!app->has_max_launch_delay_seconds())
    app->set_max_launch_delay_seconds(300);
  if (!app->has_kill_selection())
    app->set_kill_selection("YOUNGEST_FIRST");
  // A resident app must kill an old task before its replacement can take
  // over the reservation, and never runs more tasks than instances.
  bool resident = is_resident(*app);
  auto* strategy = app->mutable_upgrade_strategy();
  if (!strategy->has_minimum_health_capacity())
    strategy->set_minimum_health_capacity(resident ? 0.5 : 1);
  if (!strategy->has_maximum_over_capacity())
    strategy->set_maximum_over_capacity(resident ? 0 : 1);
  if (resident || app->has_residency()) {
    auto* residency = app->mutable_residency();
    if (!residency->has_relaunch_escalation_timeout_seconds())
      residency->set_relaunch_escalation_timeout_seconds(3600);
    if (!residency->has_task_lost_behavior())
      residency->set_task_lost_behavior("WAIT_FOREVER");
  }
  auto* unreachable = app->mutable_unreachable_strategy();
  if (resident && !unreachable->has_inactive_after_seconds()
      && !unreachable->has_expunge_after_seconds())
    unreachable->set_disabled(true);
  if (unreachable->disabled()) {
    unreachable->clear_inactive_after_seconds();
    unreachable->clear_expunge_after_seconds();
  } else {
    unreachable->clear_disabled();
    if (!unreachable->has_inactive_after_seconds())
      unreachable->set_inactive_after_seconds(300);
    if (!unreachable->has_expunge_after_seconds())
      unreachable->set_expunge_after_seconds(600);
  }
  for (auto& check : *app->mutable_health_checks()) {
    if (!check.has_protocol())
      check.set_protocol("HTTP");
    const auto& protocol = check.protocol();
    bool http = protocol == "HTTP" || protocol == "MESOS_HTTP"
                || protocol == "HTTPS" || protocol == "MESOS_HTTPS";
    if (http && !check.has_path())
      check.set_path("/");
    if (check.protocol() != "COMMAND" && !check.has_port()
        && !check.has_port_index())
      check.set_port_index(0);
    if (!check.has_grace_period_seconds())
      check.set_grace_period_seconds(300);
    if (!check.has_interval_seconds())
      check.set_interval_seconds(60);
    if (!check.has_timeout_seconds())
      check.set_timeout_seconds(20);
    if (!check.has_max_consecutive_failures())
      check.set_max_consecutive_failures(3);
    if (!check.has_delay_seconds())
      check.set_delay_seconds(15);
    if (http && !check.has_ignore_http1xx())
      check.set_ignore_http1xx(false);
  }
  for (auto& port : *app->mutable_port_definitions()) {
    if (!port.has_port())
      port.set_port(0);
    if (!port.has_protocol())
      port.set_protocol("tcp");
  }
  for (auto& check : *app->mutable_readiness_checks()) {
    if (!check.has_name())
      check.set_name("readinessCheck");
    if (!check.has_protocol())
      check.set_protocol("HTTP");
    if (!check.has_path())
      check.set_path("/");
    if (!check.has_port_name())
      check.set_port_name("http-api");
    if (!check.has_interval_seconds())
      check.set_interval_seconds(30);
    if (!check.has_timeout_seconds())
      check.set_timeout_seconds(10);
    if (check.http_status_codes_for_ready_size() == 0)
      check.add_http_status_codes_for_ready(200);
    if (!check.has_preserve_last_response())
      check.set_preserve_last_response(false);
  }
  for (auto& f : *app->mutable_fetch()) {
    if (!f.has_executable())
      f.set_executable(false);
    if (!f.has_extract())
      f.set_extract(true);
    if (!f.has_cache())
      f.set_cache(false);
  }
}

std::vector<violation> validate_app(const App& app) {
  std::vector<violation> out;
  if (app.id().empty())
    out.push_back({"/id", "is required"});
  else if (!valid_path(app.id()))
    out.push_back({"/id", "each part of the path must fully match "
                              + segment_pattern()});
  if (!app.has_cmd() && app.args_size() == 0)
    out.push_back({"/", "AppDefinition must contain one of 'cmd' or 'args'"});
  if (app.has_cmd() && app.args_size() > 0)
    out.push_back({"/", "AppDefinition must contain either 'cmd' or 'args', "
                        "not both"});
  if (app.has_cmd() && app.cmd().empty())
    out.push_back({"/cmd", "must not be empty"});
  check_range(out, "/instances", app.instances(), 0);
  check_range(out, "/cpus", app.cpus(), 0);
  check_range(out, "/mem", app.mem(), 0);
  check_range(out, "/disk", app.disk(), 0);
  if (app.cpus() == 0 && app.mem() == 0)
    out.push_back({"/", "an app needs some cpus or mem"});
  check_range(out, "/backoffSeconds", app.backoff_seconds(), 0);
  check_range(out, "/backoffFactor", app.backoff_factor(), 1);
  check_range(out, "/maxLaunchDelaySeconds", app.max_launch_delay_seconds(),
              0);
  if (app.has_task_kill_grace_period_seconds())
    check_range(out, "/taskKillGracePeriodSeconds",
                app.task_kill_grace_period_seconds(), 0);
  check_range(out, "/upgradeStrategy/minimumHealthCapacity",
              app.upgrade_strategy().minimum_health_capacity(), 0, 1);
  check_range(out, "/upgradeStrategy/maximumOverCapacity",
              app.upgrade_strategy().maximum_over_capacity(), 0, 1);
  const auto& unreachable = app.unreachable_strategy();
  if (!unreachable.disabled()) {
    check_range(out, "/unreachableStrategy/inactiveAfterSeconds",
                unreachable.inactive_after_seconds(), 0);
    check_range(out, "/unreachableStrategy/expungeAfterSeconds",
                unreachable.expunge_after_seconds(),
                unreachable.inactive_after_seconds());
  }
  if (app.has_residency()) {
    const auto& r = app.residency();
    check_range(out, "/residency/relaunchEscalationTimeoutSeconds",
                r.relaunch_escalation_timeout_seconds(), 0);
    if (r.task_lost_behavior() != "WAIT_FOREVER"
        && r.task_lost_behavior() != "RELAUNCH_AFTER_TIMEOUT")
      out.push_back({"/residency/taskLostBehavior",
                     "must be WAIT_FOREVER or RELAUNCH_AFTER_TIMEOUT"});
  }
  if (is_resident(app)) {
    if (!unreachable.disabled())
      out.push_back({"/unreachableStrategy",
                     "unreachableStrategy must be disabled for resident "
                     "tasks"});
    if (app.upgrade_strategy().maximum_over_capacity() != 0)
      out.push_back({"/upgradeStrategy/maximumOverCapacity",
                     "must be 0 for resident tasks"});
  }
  if (app.kill_selection() != "YOUNGEST_FIRST"
      && app.kill_selection() != "OLDEST_FIRST")
    out.push_back({"/killSelection",
                   "must be YOUNGEST_FIRST or OLDEST_FIRST"});
  for (int i = 0; i < app.constraints_size(); ++i) {
    auto path = fmt::format("/constraints({})", i);
    bool all_strings = false;
    auto parts = constraint_parts(app.constraints(i), &all_strings);
    if (!all_strings) {
      out.push_back({path, "each part of a constraint must be a string"});
      continue;
    }
    if (auto c = parse_placement_constraint(parts); !c)
      out.push_back({path, describe_reason(c.error())});
  }
  std::set<std::string> port_names;
  std::set<int> fixed_ports;
  for (int i = 0; i < app.port_definitions_size(); ++i) {
    const auto& port = app.port_definitions(i);
    auto path = fmt::format("/portDefinitions({})", i);
    if (port.port() < 0 || port.port() > 65535)
      out.push_back({path + "/port", "must be between 0 and 65535"});
    if (port.port() != 0 && !fixed_ports.insert(port.port()).second)
      out.push_back({path + "/port", "is used twice"});
    if (port.protocol() != "tcp" && port.protocol() != "udp"
        && port.protocol() != "udp,tcp" && port.protocol() != "tcp,udp")
      out.push_back({path + "/protocol", "must be tcp, udp or udp,tcp"});
    if (port.has_name() && !port_names.insert(port.name()).second)
      out.push_back({path + "/name", "is used twice"});
  }
  if (app.require_ports())
    for (int i = 0; i < app.port_definitions_size(); ++i)
      if (app.port_definitions(i).port() == 0)
        out.push_back({fmt::format("/portDefinitions({})/port", i),
                       "requirePorts needs a fixed port, not 0"});
  validate_health_checks(app, out);
  validate_container(app, out);
  validate_fetch(app, out);
  validate_readiness_checks(app, out);
  for (int i = 0; i < app.accepted_resource_roles_size(); ++i) {
    if (auto err = validate_role(app.accepted_resource_roles(i)))
      out.push_back({fmt::format("/acceptedResourceRoles({})", i),
                     describe_reason(err)});
  }
  for (int i = 0; i < app.dependencies_size(); ++i)
    if (!valid_path(absolute_app_id(app.dependencies(i))))
      out.push_back({fmt::format("/dependencies({})", i),
                     "is not a valid app path"});
  return out;
}

namespace {

// Clears what Marathon fills in its answers about an app: its counts, its
// deployments, tasks and last failure, and its version.
void clear_answer_fields(App* app) {
  app->clear_tasks_staged();
  app->clear_tasks_running();
  app->clear_tasks_healthy();
  app->clear_tasks_unhealthy();
  app->clear_deployments();
  app->clear_tasks();
  app->clear_last_task_failure();
  app->clear_version();
}

// Reads the app in `parsed` as read_app() does, its violations' paths
// after `prefix`.
void read_app_value(Value parsed, std::string_view path_id,
                    std::string_view prefix, App* app,
                    std::vector<violation>* violations) {
  std::set<std::string> present;
  auto before = violations->size();
  parse_fields(std::move(parsed), prefix, app, &present, violations);
  if (violations->size() > before)
    return;
  if (!path_id.empty())
    app->set_id(std::string{path_id});
  if (!app->id().empty())
    app->set_id(absolute_app_id(app->id()));
  upgrade_legacy_networking(app, violations);
  if (violations->size() > before)
    return;
  if (!present.count("portDefinitions") && host_networking(*app))
    app->add_port_definitions();
  apply_defaults(app);
  // A relative dependency is relative to the app's group.
  for (auto& dependency : *app->mutable_dependencies())
    dependency = absolute_app_id(dependency, parent_group(app->id()));
  for (auto& v : validate_app(*app)) {
    // The app's own rules ("/") are about the app's path in a group.
    auto tail = prefix.empty() || v.path != "/" ? v.path : std::string{};
    violations->push_back(
      {fmt::format("{}{}", prefix, tail), std::move(v.message)});
  }
}

// Calls `each(item, its path)` for every object in the list `value`
// (field `name` after `prefix`), or says what is wrong with it.
template <class Each>
void for_each_object(const Value& value, const std::string& prefix,
                     const std::string& name,
                     std::vector<violation>* violations, Each each) {
  if (!value.has_list_value()) {
    violations->push_back({fmt::format("{}/{}", prefix, name),
                           "must be an array"});
    return;
  }
  const auto& list = value.list_value().values();
  for (int i = 0; i < list.size(); ++i) {
    auto item_path = fmt::format("{}/{}({})", prefix, name, i);
    if (list[i].has_struct_value())
      each(list[i], item_path);
    else
      violations->push_back({item_path, "must be an object"});
  }
}

// Reads one group of a group update (`parsed`, a JSON object) whose id is
// relative to `parent`; `path_id` (from the URL) wins over the body's.
void read_group_value(const Value& parsed, std::string_view path_id,
                      const std::string& parent, const std::string& prefix,
                      bool top, GroupUpdate* out,
                      std::vector<violation>* violations) {
  const auto& fields = parsed.struct_value().fields();
  auto path = [&prefix](std::string_view name) {
    return fmt::format("{}/{}", prefix, name);
  };
  std::string id{path_id};
  if (auto at = fields.find("id"); id.empty() && at != fields.end()) {
    if (!at->second.has_string_value())
      violations->push_back({path("id"), "must be a string"});
    else
      id = at->second.string_value();
  }
  if (id.empty() && !top) {
    violations->push_back({path("id"), "is required"});
    return;
  }
  id = absolute_app_id(id, parent);
  if (id != "/" && !valid_path(id)) {
    violations->push_back({path("id"), "each part of the path must fully "
                                       "match " + segment_pattern()});
    return;
  }
  out->set_id(id);
  for (const auto& [name, value] : fields) {
    if (name == "id")
      continue;
    if (name == "apps") {
      out->set_with_apps(true);
      for_each_object(value, prefix, name, violations,
                      [&](const Value& item, const std::string& item_path) {
                        std::string app_id;
                        const auto& f = item.struct_value().fields();
                        if (auto at = f.find("id");
                            at != f.end() && at->second.has_string_value())
                          app_id = absolute_app_id(at->second.string_value(),
                                                   id);
                        if (app_id.empty() || app_id == id)
                          violations->push_back(
                            {item_path + "/id", "is required"});
                        else
                          read_app_value(item, app_id, item_path,
                                         out->add_apps(), violations);
                      });
    } else if (name == "groups") {
      out->set_with_groups(true);
      for_each_object(value, prefix, name, violations,
                      [&](const Value& item, const std::string& item_path) {
                        read_group_value(item, "", id, item_path, false,
                                         out->add_groups(), violations);
                      });
    } else if (name == "dependencies") {
      out->set_with_dependencies(true);
      bool strings = value.has_list_value();
      if (strings) {
        for (const auto& d : value.list_value().values()) {
          if (d.has_string_value())
            out->add_dependencies(absolute_app_id(d.string_value(), id));
          else
            strings = false;
        }
      }
      if (!strings)
        violations->push_back({path(name), "must be an array of paths"});
    } else if (name == "scaleBy" && top) {
      if (value.kind_case() != Value::kNumberValue
          || !(value.number_value() > 0))
        violations->push_back({path(name), "must be a number above 0"});
      else
        out->set_scale_by(value.number_value());
    } else if (name == "version") {
      // A PUT of {"version": ...} alone puts a group back (the HTTP edge
      // routes it); anywhere else a version is no change to make.
      violations->push_back(
        {path(name), top ? "a version puts an existing group back (PUT "
                           "{\"version\": ...} alone), it is no part of a "
                           "group to create or change"
                         : "only the group of the request can be put back "
                           "to a version"});
    } else if (name == "enforceRole") {
      if (value.kind_case() == Value::kBoolValue && value.bool_value())
        violations->push_back({path(name),
                               "not supported by this Marathon yet"});
    } else {
      violations->push_back({path(name), "unknown field"});
    }
  }
  if (top && out->has_scale_by()
      && (out->with_apps() || out->with_groups() || out->with_dependencies()))
    violations->push_back(
      {"/scaleBy", "scaleBy cannot be combined with other changes"});
}

} // namespace

std::optional<http_response> read_app(std::string_view body,
                                      std::string_view path_id, App* app) {
  std::optional<http_response> refused;
  auto parsed = parse_json_object(body, &refused);
  if (!parsed)
    return refused;
  std::vector<violation> violations;
  read_app_value(std::move(*parsed), path_id, "", app, &violations);
  if (!violations.empty())
    return invalid_object(violations);
  return std::nullopt;
}

std::optional<http_response> read_group_update(std::string_view body,
                                               std::string_view path_id,
                                               GroupUpdate* update) {
  std::optional<http_response> refused;
  auto parsed = parse_json_object(body, &refused);
  if (!parsed)
    return refused;
  std::vector<violation> violations;
  read_group_value(*parsed, path_id, "/", "", true, update, &violations);
  if (!violations.empty())
    return invalid_object(violations);
  return std::nullopt;
}

std::string parent_group(std::string_view id) {
  auto slash = id.rfind('/');
  if (slash == std::string_view::npos || slash == 0)
    return "/";
  return std::string{id.substr(0, slash)};
}

bool same_definition(const App& a, const App& b) {
  App x = a, y = b;
  for (App* app : {&x, &y}) {
    clear_answer_fields(app);
    app->clear_instances();
    app->clear_version_info();
  }
  // Not by their bytes: maps (env, labels) serialize in no fixed order.
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

std::optional<http_response> patch_app(std::string_view body,
                                       const App& current, App* app) {
  std::optional<http_response> refused;
  auto parsed = parse_json_object(body, &refused);
  if (!parsed)
    return refused;
  App partial;
  std::set<std::string> present;
  std::vector<violation> violations;
  parse_fields(std::move(*parsed), "", &partial, &present, &violations);
  if (!violations.empty())
    return invalid_object(violations);
  upgrade_legacy_networking(&partial, &violations);
  if (!violations.empty())
    return invalid_object(violations);
  if (partial.networks_size() > 0)
    present.insert("networks");
  // Moving to a container network leaves the host's port definitions
  // behind unless the patch names them.
  if (present.count("networks") && !host_networking(partial)
      && !present.count("portDefinitions"))
    present.insert("portDefinitions");
  *app = current;
  // `current` may be an answer (with counts and tasks): only its
  // definition is patched.
  clear_answer_fields(app);
  const auto* descriptor = App::descriptor();
  const auto* refl = app->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (!present.count(field->json_name()) || field->name() == "id")
      continue;
    refl->ClearField(app, field);
  }
  // The named fields were cleared: merging replaces them (lists and maps
  // too) and leaves the others as they are.
  app->MergeFrom(partial);
  app->set_id(current.id());
  app->clear_version_info();
  apply_defaults(app);
  if (auto violations = validate_app(*app); !violations.empty())
    return invalid_object(violations);
  return std::nullopt;
}

std::vector<placement_constraint> constraints_of(const App& app) {
  std::vector<placement_constraint> out;
  for (const auto& c : app.constraints()) {
    bool all_strings = false;
    if (auto parsed = parse_placement_constraint(constraint_parts(c, &all_strings)))
      out.push_back(std::move(*parsed));
  }
  return out;
}

bool is_resident(const App& app) {
  for (const auto& v : app.container().volumes())
    if (v.has_persistent())
      return true;
  return false;
}

std::vector<violation> resident_update_violations(const App& from,
                                                  const App& to) {
  std::vector<violation> out;
  if (!is_resident(from) && !is_resident(to))
    return out;
  auto volumes = [](const App& app) {
    std::map<std::string, std::string> by_path;
    for (const auto& v : app.container().volumes())
      if (v.has_persistent())
        by_path[v.container_path()] = v.SerializeAsString();
    return by_path;
  };
  if (volumes(from) != volumes(to))
    out.push_back({"/container/volumes",
                   "Persistent volumes can not be changed!"});
  static const std::string changed
    = "Services with persistent volumes configured may not change resource "
      "requirements. If you need to make this change, please create a new "
      "service.";
  if (from.cpus() != to.cpus())
    out.push_back({"/cpus", changed});
  if (from.mem() != to.mem())
    out.push_back({"/mem", changed});
  if (from.disk() != to.disk())
    out.push_back({"/disk", changed});
  if (from.require_ports() != to.require_ports())
    out.push_back({"/requirePorts", changed});
  auto host_ports = [](const App& app) {
    std::multiset<int> ports;
    for (const auto& p : task_ports(app))
      if (p.wants_host_port)
        ports.insert(p.fixed_host_port);
    return ports;
  };
  if (host_ports(from) != host_ports(to))
    out.push_back({"/", "Services with persistent volumes configured may "
                        "not change host ports. If you need to make this "
                        "change, please create a new service."});
  return out;
}

std::string to_marathon_json(const google::protobuf::Message& msg) {
  auto out = to_json(msg, json_style::marathon);
  // The schema's object form of Marathon's "disabled" (the only thing a
  // disabled strategy holds), back to the string Marathon prints.
  static const std::string object
    = R"("unreachableStrategy":{"disabled":true})";
  static const std::string string = R"("unreachableStrategy":"disabled")";
  for (auto at = out.find(object); at != std::string::npos;
       at = out.find(object, at + string.size()))
    out.replace(at, object.size(), string);
  return out;
}

} // namespace dcos::marathon
