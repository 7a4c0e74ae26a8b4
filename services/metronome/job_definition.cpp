#include "job_definition.hpp"

#include <regex>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <dcos/error.hpp>
#include <dcos/json.hpp>

#include "cron_spec.hpp"

namespace dcos::metronome {

namespace {

using google::protobuf::Value;

// Metronome's schema patterns, quoted in its error messages.
constexpr const char* job_id_pattern =
  "^([a-z0-9]+(\\-+[a-z0-9]+)*)(\\.([a-z0-9]+(\\-+[a-z0-9]+)*))*$";
constexpr const char* schedule_id_pattern = "^([a-z0-9][a-z0-9\\-]*[a-z0-9]+)$";

// Compiled once; std::regex is safe to share for matching.
const std::regex& job_id_rule() {
  static const std::regex rule{job_id_pattern};
  return rule;
}

const std::regex& schedule_id_rule() {
  static const std::regex rule{schedule_id_pattern};
  return rule;
}

void check_min(std::vector<violation>& out, std::string path, double x,
               double min) {
  if (!(x >= min))
    out.push_back({std::move(path),
                   fmt::format("{} is smaller than required minimum value of "
                               "{}.",
                               x, min)});
}

void missing(std::vector<violation>& out, std::string path,
             std::string_view property) {
  out.push_back({std::move(path), fmt::format("Property {} missing.",
                                              property)});
}

// The JSON object of `body`, checked field by field against `T`; the
// message itself once every field has the right name and kind.
template <class T>
std::optional<http_response> read_message(std::string_view body, T* out,
                                          std::vector<violation>* violations) {
  std::optional<http_response> refused;
  auto parsed = parse_json_object(body, &refused);
  if (!parsed)
    return refused;
  auto* fields = parsed->mutable_struct_value()->mutable_fields();
  // Metronome's secrets need a secret store, which this cluster has not.
  if (auto run = fields->find("run");
      run != fields->end() && run->second.has_struct_value()) {
    auto* run_fields = run->second.mutable_struct_value()->mutable_fields();
    if (auto secrets = run_fields->find("secrets");
        secrets != run_fields->end()) {
      if (!is_empty_value(secrets->second))
        violations->push_back({"/run/secrets",
                               "secrets are not supported: this cluster has "
                               "no secret store"});
      run_fields->erase(secrets);
    }
  }
  check_json_fields(*parsed, *T::descriptor(), "", violations);
  if (!violations->empty())
    return invalid_object(*violations);
  std::string cleaned;
  (void)google::protobuf::util::MessageToJsonString(*parsed, &cleaned);
  if (auto err = from_json(cleaned, out, "request body")) {
    violations->push_back({"/", describe_reason(err)});
    return invalid_object(*violations);
  }
  return std::nullopt;
}

// The fields of a schedule that Metronome requires.
void check_required(const Schedule& s, const std::string& prefix,
                    std::vector<violation>& out) {
  auto at = prefix.empty() ? std::string{"/"} : prefix;
  if (s.id().empty())
    missing(out, at, "id");
  if (s.cron().empty())
    missing(out, at, "cron");
}

void check_required(const Job& job, std::vector<violation>& out) {
  if (job.id().empty())
    missing(out, "/", "id");
  if (!job.has_run()) {
    missing(out, "/", "run");
  } else {
    const auto& run = job.run();
    if (!run.has_cpus())
      missing(out, "/run", "cpus");
    if (!run.has_mem())
      missing(out, "/run", "mem");
    if (!run.has_disk())
      missing(out, "/run", "disk");
  }
  for (int i = 0; i < job.schedules_size(); ++i)
    check_required(job.schedules(i), fmt::format("/schedules({})", i), out);
}

void validate_run(const JobRunSpec& run, std::vector<violation>& out) {
  check_min(out, "/run/cpus", run.cpus(), 0.01);
  check_min(out, "/run/mem", run.mem(), 32);
  check_min(out, "/run/disk", run.disk(), 0);
  check_min(out, "/run/gpus", run.gpus(), 0);
  check_min(out, "/run/maxLaunchDelay",
            static_cast<double>(run.max_launch_delay()), 1);
  if (run.has_task_kill_grace_period_seconds())
    check_min(out, "/run/taskKillGracePeriodSeconds",
              run.task_kill_grace_period_seconds(), 0);
  if (run.has_cmd() && run.cmd().empty())
    out.push_back({"/run/cmd", "must not be empty"});
  if (run.restart().has_active_deadline_seconds()
      && run.restart().active_deadline_seconds() < 0)
    out.push_back({"/run/restart/activeDeadlineSeconds",
                   fmt::format("Can not read duration: {}",
                               run.restart().active_deadline_seconds())});
  bool image = run.has_docker() || run.has_ucr();
  if (!run.has_cmd() && run.args_size() == 0 && !image)
    out.push_back({"/run", "Cmd, Docker or UCR image must be specified"});
  if (run.has_docker() && run.has_ucr())
    out.push_back({"/run", "Either Docker or UCR should be provided, but not "
                           "both"});
  if (run.has_docker() && run.docker().image().empty())
    missing(out, "/run/docker", "image");
  if (run.has_ucr()) {
    if (!run.ucr().has_image() || run.ucr().image().id().empty())
      missing(out, run.ucr().has_image() ? "/run/ucr/image" : "/run/ucr",
              run.ucr().has_image() ? "id" : "image");
    else if (run.ucr().image().kind() != "docker")
      out.push_back({"/run/ucr/image/kind",
                     fmt::format("'{}' images are not supported: only "
                                 "docker images run here",
                                 run.ucr().image().kind())});
  }
  if (run.has_docker() && run.gpus() > 0)
    out.push_back({"/run/gpus", "GPUs are not supported with Docker"});
  for (int i = 0; i < run.artifacts_size(); ++i)
    if (run.artifacts(i).uri().empty())
      missing(out, fmt::format("/run/artifacts({})", i), "uri");
  for (int i = 0; i < run.placement().constraints_size(); ++i) {
    const auto& c = run.placement().constraints(i);
    auto path = fmt::format("/run/placement/constraints({})", i);
    if (c.attribute().empty())
      missing(out, path, "attribute");
    if (c.operator_() != "IS" && c.operator_() != "LIKE"
        && c.operator_() != "UNLIKE") {
      out.push_back({path + "/operator",
                     fmt::format("'{}' is not one of IS, EQ, LIKE, UNLIKE",
                                 c.operator_())});
      continue;
    }
    if (c.attribute().empty())
      continue;
    std::vector<std::string> parts{c.attribute(), c.operator_()};
    if (c.has_value())
      parts.push_back(c.value());
    if (auto parsed = parse_placement_constraint(parts); !parsed)
      out.push_back({path, describe_reason(parsed.error())});
  }
  for (int i = 0; i < run.volumes_size(); ++i) {
    const auto& v = run.volumes(i);
    auto path = fmt::format("/run/volumes({})", i);
    if (v.container_path().empty())
      missing(out, path, "containerPath");
    if (v.host_path().empty())
      missing(out, path, "hostPath");
    if (v.mode() != "RO" && v.mode() != "RW")
      out.push_back({path + "/mode", fmt::format("'{}' is not one of RO, RW",
                                                 v.mode())});
  }
  int host_or_bridge = 0;
  for (int i = 0; i < run.networks_size(); ++i) {
    const auto& n = run.networks(i);
    auto path = fmt::format("/run/networks({})", i);
    if (n.mode() == "host" || n.mode() == "container/bridge") {
      ++host_or_bridge;
      if (n.has_name())
        out.push_back({path + "/name", fmt::format("a {} network takes no "
                                                   "name",
                                                   n.mode())});
    } else if (n.mode() == "container") {
      if (!n.has_name() || n.name().empty())
        missing(out, path, "name");
    } else {
      out.push_back({path + "/mode",
                     fmt::format("'{}' is not one of host, container/bridge, "
                                 "container",
                                 n.mode())});
      continue;
    }
    if (n.mode() != "host" && !image)
      out.push_back({path + "/mode", "a job without a Docker or UCR image "
                                     "can only use the host network"});
  }
  if (host_or_bridge > 1)
    out.push_back({"/run/networks", "at most one host or bridge network"});
  if (run.networks_size() > 1 && host_or_bridge > 0)
    out.push_back({"/run/networks", "host and bridge networks cannot be "
                                    "mixed with others"});
}

} // namespace

bool valid_job_id(std::string_view id) {
  return std::regex_match(id.begin(), id.end(), job_id_rule());
}

void apply_defaults(Schedule* s) {
  if (!s->has_timezone())
    s->set_timezone("UTC");
  if (!s->has_starting_deadline_seconds())
    s->set_starting_deadline_seconds(900);
  if (!s->has_concurrency_policy())
    s->set_concurrency_policy(ALLOW);
  if (!s->has_enabled())
    s->set_enabled(true);
}

void apply_defaults(Job* job) {
  auto* run = job->mutable_run();
  if (!run->has_gpus())
    run->set_gpus(0);
  if (!run->has_max_launch_delay())
    run->set_max_launch_delay(3600);
  auto* restart = run->mutable_restart();
  if (!restart->has_policy())
    restart->set_policy(NEVER);
  (void)run->mutable_placement();
  for (auto& c : *run->mutable_placement()->mutable_constraints())
    if (c.operator_() == "EQ") // Metronome reads EQ as IS, and says IS
      c.set_operator_("IS");
  for (auto& a : *run->mutable_artifacts()) {
    if (!a.has_executable())
      a.set_executable(false);
    if (!a.has_extract())
      a.set_extract(true);
    if (!a.has_cache())
      a.set_cache(false);
  }
  if (run->has_docker()) {
    auto* d = run->mutable_docker();
    if (!d->has_force_pull_image())
      d->set_force_pull_image(false);
    if (!d->has_privileged())
      d->set_privileged(false);
  }
  if (run->has_ucr()) {
    auto* u = run->mutable_ucr();
    if (!u->has_privileged())
      u->set_privileged(false);
    if (u->has_image()) {
      if (!u->image().has_kind())
        u->mutable_image()->set_kind("docker");
      if (!u->image().has_force_pull())
        u->mutable_image()->set_force_pull(false);
    }
  }
  for (auto& s : *job->mutable_schedules())
    apply_defaults(&s);
}

std::vector<violation> validate_schedule(const Schedule& s,
                                         std::string_view prefix,
                                         bool embedded, sys_seconds now) {
  std::vector<violation> out;
  auto path = [&](std::string_view field) {
    return fmt::format("{}/{}", prefix, field);
  };
  const char* pattern = embedded ? job_id_pattern : schedule_id_pattern;
  const auto& rule = embedded ? job_id_rule() : schedule_id_rule();
  if (!std::regex_match(s.id(), rule))
    out.push_back({path("id"), fmt::format("'{}' does not match pattern "
                                           "'{}'.",
                                           s.id(), pattern)});
  auto zone = find_time_zone(s.timezone());
  if (!zone)
    out.push_back({path("timezone"),
                   fmt::format("No time zone found with this id: \"{}\"",
                               s.timezone())});
  auto cron = cron_spec::parse(s.cron());
  if (!cron) {
    out.push_back({path("cron"),
                   fmt::format("Can not read cron expression \"{}\": {}",
                               s.cron(), describe_reason(cron.error()))});
  } else if (zone) {
    // A schedule that never comes due (February 30) is refused, as
    // Metronome refuses days a month cannot have.
    if (!cron->next_after(now, **zone))
      out.push_back({path("cron"),
                     fmt::format("Can not read cron expression \"{}\": it "
                                 "never comes due",
                                 s.cron())});
  }
  if (s.starting_deadline_seconds() < 60)
    out.push_back({path("startingDeadlineSeconds"),
                   fmt::format("got {} seconds, expected 1 minute or more",
                               s.starting_deadline_seconds())});
  return out;
}

std::vector<violation> validate_job(const Job& job, sys_seconds now) {
  std::vector<violation> out;
  if (!valid_job_id(job.id()))
    out.push_back({"/id", fmt::format("'{}' does not match pattern '{}'.",
                                      job.id(), job_id_pattern)});
  validate_run(job.run(), out);
  if (job.schedules_size() > 1)
    out.push_back({"/schedules", fmt::format("has size {}, expected 1 or less",
                                             job.schedules_size())});
  for (int i = 0; i < job.schedules_size(); ++i) {
    auto more = validate_schedule(job.schedules(i),
                                  fmt::format("/schedules({})", i), true,
                                  now);
    out.insert(out.end(), more.begin(), more.end());
  }
  std::set<std::string> parents;
  for (int i = 0; i < job.dependencies_size(); ++i) {
    const auto& parent = job.dependencies(i).id();
    if (!valid_job_id(parent))
      out.push_back({fmt::format("/dependencies({})/id", i),
                     fmt::format("'{}' does not match pattern '{}'.", parent,
                                 job_id_pattern)});
    else if (!parents.insert(parent).second)
      out.push_back({"/dependencies", "has double entries"});
  }
  return out;
}

std::optional<http_response> read_job(std::string_view body,
                                      std::string_view path_id,
                                      sys_seconds now, Job* job) {
  std::vector<violation> violations;
  if (auto refused = read_message(body, job, &violations))
    return refused;
  if (!path_id.empty())
    job->set_id(std::string{path_id});
  for (auto& s : *job->mutable_schedules())
    s.clear_next_run_at();
  check_required(*job, violations);
  if (!violations.empty())
    return invalid_object(violations);
  apply_defaults(job);
  violations = validate_job(*job, now);
  if (!violations.empty())
    return invalid_object(violations);
  return std::nullopt;
}

std::optional<http_response> read_schedule(std::string_view body,
                                           std::string_view path_id,
                                           sys_seconds now,
                                           Schedule* schedule) {
  std::vector<violation> violations;
  if (auto refused = read_message(body, schedule, &violations))
    return refused;
  if (!path_id.empty())
    schedule->set_id(std::string{path_id});
  schedule->clear_next_run_at(); // answers carry it; it is not an input
  check_required(*schedule, "", violations);
  if (!violations.empty())
    return invalid_object(violations);
  apply_defaults(schedule);
  violations = validate_schedule(*schedule, "", false, now);
  if (!violations.empty())
    return invalid_object(violations);
  return std::nullopt;
}

std::vector<placement_constraint> constraints_of(const Job& job) {
  std::vector<placement_constraint> out;
  for (const auto& c : job.run().placement().constraints()) {
    std::vector<std::string> parts{c.attribute(), c.operator_()};
    if (c.has_value())
      parts.push_back(c.value());
    if (auto parsed = parse_placement_constraint(parts))
      out.push_back(std::move(*parsed));
  }
  return out;
}

} // namespace dcos::metronome
