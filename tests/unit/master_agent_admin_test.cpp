// The operator's calls on agents and frameworks (DEACTIVATE_AGENT,
// REACTIVATE_AGENT, DRAIN_AGENT, MARK_AGENT_GONE, TEARDOWN), maintenance
// with its inverse offers, the older quota calls and the logging level, on
// the deterministic scheduler with the real master, allocator and scheduler
// SDK.
#include <doctest/doctest.h>

#include "dcos/logging.hpp"
#include "support/cluster_fixture.hpp"

using namespace dcos;
using namespace dcos::test;
using v1::master::Call;

namespace {

Call agent_call(Call::Type type, const std::string& agent_id) {
  Call call;
  call.set_type(type);
  switch (type) {
    case Call::DEACTIVATE_AGENT:
      call.mutable_deactivate_agent()->mutable_agent_id()->set_value(agent_id);
      break;
    case Call::REACTIVATE_AGENT:
      call.mutable_reactivate_agent()->mutable_agent_id()->set_value(agent_id);
      break;
    case Call::DRAIN_AGENT:
      call.mutable_drain_agent()->mutable_agent_id()->set_value(agent_id);
      break;
    case Call::MARK_AGENT_GONE:
      call.mutable_mark_agent_gone()->mutable_agent_id()->set_value(agent_id);
      break;
    default:
      break;
  }
  return call;
}

v1::master::Response::GetAgents::Agent agent_entry(cluster& c,
                                                   const std::string& id) {
  Call call;
  call.set_type(Call::GET_AGENTS);
  auto r = c.call(call);
  REQUIRE(r);
  for (const auto& a : r->get_agents().agents())
    if (a.agent_info().id().value() == id)
      return a;
  FAIL("agent ", id, " is not registered");
  return {};
}

bool registered(cluster& c, const std::string& id) {
  Call call;
  call.set_type(Call::GET_AGENTS);
  auto r = c.call(call);
  REQUIRE(r);
  for (const auto& a : r->get_agents().agents())
    if (a.agent_info().id().value() == id)
      return true;
  return false;
}

std::string error_text(const caf::expected<v1::master::Response>& r) {
  REQUIRE_FALSE(r);
  return describe(r.error());
}

} // namespace

TEST_CASE("DEACTIVATE_AGENT stops its offers, REACTIVATE_AGENT restores "
          "them; tasks run on") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  c.ds.advance(6s); // the rest of the agent is offered again
  REQUIRE_FALSE(f.log->take_offers().empty());

  REQUIRE(c.call(agent_call(Call::DEACTIVATE_AGENT, a.id())));
  CHECK_FALSE(f.log->rescinds.empty()); // the outstanding offer
  c.ds.advance(30s);
  CHECK(f.log->take_offers().empty());
  auto entry = agent_entry(c, a.id());
  CHECK(entry.deactivated());
  CHECK_FALSE(entry.active());
  CHECK(a.log->kills.empty()); // its task runs on
  CHECK(c.tasks().tasks(0).state() == v1::TASK_RUNNING);

  REQUIRE(c.call(agent_call(Call::REACTIVATE_AGENT, a.id())));
  c.ds.advance(1s);
  CHECK_FALSE(f.log->take_offers().empty());
  CHECK(agent_entry(c, a.id()).active());

  // Mesos' refusals, naming the field; nothing changes.
  CHECK(error_text(c.call(agent_call(Call::REACTIVATE_AGENT, a.id())))
          .find("reactivate_agent.agent_id: agent '" + a.id()
                + "' is not deactivated")
        != std::string::npos);
  CHECK(error_text(c.call(agent_call(Call::DEACTIVATE_AGENT, "nope")))
          .find("deactivate_agent.agent_id: unknown agent 'nope'")
        != std::string::npos);
  CHECK(agent_entry(c, a.id()).active());
}

TEST_CASE("DRAIN_AGENT kills every task with a capped grace period; the "
          "agent is DRAINED once the ends are acknowledged") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  auto t1 = make_task("t1", offer, "cpus:1;mem:128");
  t1.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(
    600'000'000'000); // 10 minutes
  c.launch(f, offer, {t1, make_task("t2", offer, "cpus:1;mem:128")});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  c.update(a, f, "t2", v1::TASK_RUNNING, "u2");

  auto drain = agent_call(Call::DRAIN_AGENT, a.id());
  drain.mutable_drain_agent()->mutable_max_grace_period()->set_seconds(10);
  REQUIRE(c.call(drain));
  REQUIRE(a.log->drains.size() == 1);
  CHECK(a.log->drains[0].config().max_grace_period().nanoseconds()
        == 10'000'000'000);
  CHECK_FALSE(a.log->drains[0].config().mark_gone());
  auto entry = agent_entry(c, a.id());
  CHECK(entry.deactivated());
  CHECK(entry.drain_info().state() == v1::DRAINING);
  CHECK(entry.drain_info().config().max_grace_period().nanoseconds()
        == 10'000'000'000);
  CHECK(entry.has_estimated_drain_start_time());
  c.ds.advance(30s);
  CHECK(f.log->take_offers().empty());
  CHECK(error_text(c.call(agent_call(Call::REACTIVATE_AGENT, a.id())))
          .find("still in the DRAINING state")
        != std::string::npos);

  // The agent's executors end the tasks (the agent kills them itself).
  c.update(a, f, "t1", v1::TASK_KILLED, "u3");
  CHECK(agent_entry(c, a.id()).drain_info().state() == v1::DRAINING);
  c.update(a, f, "t2", v1::TASK_KILLED, "u4");
  CHECK(agent_entry(c, a.id()).drain_info().state() == v1::DRAINED);
  CHECK(c.tasks().tasks_size() == 0);

  REQUIRE(c.call(agent_call(Call::REACTIVATE_AGENT, a.id())));
  entry = agent_entry(c, a.id());
  CHECK_FALSE(entry.deactivated());
  CHECK_FALSE(entry.has_drain_info());
  c.ds.advance(6s);
  CHECK_FALSE(f.log->take_offers().empty());
}

TEST_CASE("DRAIN_AGENT of an idle agent drains it at once; an unknown "
          "agent is refused") {
  cluster c;
  auto a = c.add_agent();
  REQUIRE(c.call(agent_call(Call::DRAIN_AGENT, a.id())));
  CHECK(agent_entry(c, a.id()).drain_info().state() == v1::DRAINED);
  CHECK(error_text(c.call(agent_call(Call::DRAIN_AGENT, "nope")))
          .find("drain_agent.agent_id: unknown agent 'nope'")
        != std::string::npos);
  auto negative = agent_call(Call::DRAIN_AGENT, a.id());
  negative.mutable_drain_agent()->mutable_max_grace_period()->set_seconds(-1);
  CHECK(error_text(c.call(negative))
          .find("drain_agent.max_grace_period: must not be negative")
        != std::string::npos);
}

TEST_CASE("DRAIN_AGENT with mark_gone removes the drained agent for good") {
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework(framework_info("aware", true));
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  auto drain = agent_call(Call::DRAIN_AGENT, a.id());
  drain.mutable_drain_agent()->set_mark_gone(true);
  REQUIRE(c.call(drain));
  REQUIRE(a.log->drains.size() == 1);
  CHECK(a.log->drains[0].config().mark_gone());
  CHECK(registered(c, a.id()));
  // The agent reports the end as Mesos' agent does with mark_gone.
  c.update(a, f, "t1", v1::TASK_GONE_BY_OPERATOR, "u2");
  CHECK_FALSE(registered(c, a.id()));
  REQUIRE(a.log->shutdowns.size() == 1);
  CHECK(a.log->shutdowns[0].find("marked gone") != std::string::npos);
  // Marking it gone again is no error.
  CHECK(c.call(agent_call(Call::MARK_AGENT_GONE, a.id())));
  // It may never come back.
  v1::internal::ReregisterAgent report;
  report.mutable_agent_info()->set_hostname("node");
  report.mutable_agent_info()->mutable_id()->set_value(a.id());
  auto log = c.reregister(report);
  CHECK(log->agent_id.empty());
  CHECK(log->register_error.find("removed for good") != std::string::npos);
}

TEST_CASE("MARK_AGENT_GONE: a registered agent's tasks are gone by operator; "
          "an unknown agent is not found") {
  cluster c;
  auto a = c.add_agent();
  auto aware = c.add_framework(framework_info("aware", true));
  auto offer = aware.log->take_offers().at(0);
  c.launch(aware, offer, {make_task("t1", offer, "cpus:1;mem:128")});
  c.update(a, aware, "t1", v1::TASK_RUNNING, "u1");
  REQUIRE(c.call(agent_call(Call::MARK_AGENT_GONE, a.id())));
  auto updates = aware.log->updates_of("t1");
  REQUIRE(updates.size() == 2);
  CHECK(updates[1].state() == v1::TASK_GONE_BY_OPERATOR);
  CHECK(updates[1].reason() == v1::TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR);
  CHECK_FALSE(registered(c, a.id()));
  CHECK(a.log->shutdowns.size() == 1);
  CHECK(c.metric("master/tasks_gone_by_operator") == 1);

  auto missing = c.call(agent_call(Call::MARK_AGENT_GONE, "nope"));
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == errc::not_found);
}

TEST_CASE("a restarted master keeps deactivation and draining, and tells a "
          "returning agent to drain again") {
  cluster c;
  c.use_durable_store();
  auto a = c.add_agent();
  auto b = c.add_agent("cpus:4;mem:4096", "other");
  auto f = c.add_framework();
  v1::Offer offer;
  for (auto& o : f.log->take_offers())
    if (o.agent_id().value() == a.id())
      offer = o;
  REQUIRE(offer.agent_id().value() == a.id());
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  REQUIRE(c.call(agent_call(Call::DRAIN_AGENT, a.id())));
  REQUIRE(c.call(agent_call(Call::DEACTIVATE_AGENT, b.id())));

  caf::anon_send_exit(c.master, caf::exit_reason::kill);
  c.ds.run();
  c.start_master();
  auto comeback = [&](const std::string& id, const std::string& host,
                      bool with_task) {
    v1::internal::ReregisterAgent report;
    report.mutable_agent_info()->set_hostname(host);
    report.mutable_agent_info()->mutable_id()->set_value(id);
    resources::parse("cpus:4;mem:4096")->to_proto(
      report.mutable_agent_info()->mutable_resources());
    if (with_task) {
      auto* t = report.add_tasks();
      t->mutable_task_id()->set_value("t1");
      t->mutable_framework_id()->set_value(f.id());
      t->mutable_agent_id()->set_value(id);
      t->set_state(v1::TASK_RUNNING);
      resources::parse("cpus:1;mem:128")->allocate("*").to_proto(
        t->mutable_resources());
      *report.add_frameworks() = framework_info("test");
      report.mutable_frameworks(0)->mutable_id()->set_value(f.id());
    }
    return c.reregister(report);
  };
  auto a_again = comeback(a.id(), "node", true);
  auto b_again = comeback(b.id(), "other", false);
  REQUIRE(a_again->drains.size() == 1); // told again
  CHECK(b_again->drains.empty());
  auto ea = agent_entry(c, a.id());
  CHECK(ea.drain_info().state() == v1::DRAINING);
  CHECK_FALSE(ea.active());
  auto eb = agent_entry(c, b.id());
  CHECK(eb.deactivated());
  CHECK_FALSE(eb.active());
}

TEST_CASE("operator TEARDOWN removes a framework; an unknown one is "
          "refused") {
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  Call teardown;
  teardown.set_type(Call::TEARDOWN);
  teardown.mutable_teardown()->mutable_framework_id()->set_value("nope");
  CHECK(error_text(c.call(teardown))
          .find("teardown.framework_id: no framework with id 'nope'")
        != std::string::npos);
  CHECK(c.metric("master/frameworks_removed") == 0);
  teardown.mutable_teardown()->mutable_framework_id()->set_value(f.id());
  REQUIRE(c.call(teardown));
  CHECK(a.log->framework_shutdowns.size() == 1);
  CHECK(c.metric("master/frameworks_removed") == 1);
  REQUIRE_FALSE(f.log->errors.empty());
  CHECK(f.log->errors.back().find("removed by the operator")
        != std::string::npos);
}

TEST_CASE("SET_QUOTA and REMOVE_QUOTA, the older quota calls") {
  cluster c;
  c.add_agent("cpus:8;mem:8192");
  Call set;
  set.set_type(Call::SET_QUOTA);
  auto* request = set.mutable_set_quota()->mutable_quota_request();
  request->set_role("gold");
  resources::parse("cpus:2;mem:512")->to_proto(request->mutable_guarantee());
  REQUIRE(c.call(set));
  Call get;
  get.set_type(Call::GET_QUOTA);
  auto quota = c.call(get);
  REQUIRE(quota);
  REQUIRE(quota->get_quota().status().configs_size() == 1);
  const auto& config = quota->get_quota().status().configs(0);
  CHECK(config.role() == "gold");
  CHECK(config.guarantees().at("cpus").value() == 2);
  CHECK(config.limits().at("mem").value() == 512);
  // Mesos' refusals.
  CHECK(error_text(c.call(set)).find("already has quota") != std::string::npos);
  request->set_role("silver");
  request->clear_guarantee();
  resources::parse("cpus:100")->to_proto(request->mutable_guarantee());
  auto over = c.call(set);
  REQUIRE_FALSE(over);
  CHECK(code_of(over.error()) == errc::conflict);
  request->set_role("a/b");
  CHECK(error_text(c.call(set)).find("nested role") != std::string::npos);
  request->set_role("silver");
  request->clear_guarantee();
  resources::parse("ports:[1-2]")->to_proto(request->mutable_guarantee());
  CHECK(error_text(c.call(set))
          .find("set_quota.quota_request.guarantee[0]: 'ports' must be a "
                "scalar")
        != std::string::npos);

  Call remove;
  remove.set_type(Call::REMOVE_QUOTA);
  remove.mutable_remove_quota()->set_role("silver");
  CHECK(error_text(c.call(remove)).find("role 'silver' has no quota set")
        != std::string::npos);
  remove.mutable_remove_quota()->set_role("gold");
  REQUIRE(c.call(remove));
  CHECK(c.call(get)->get_quota().status().configs_size() == 0);
}

TEST_CASE("SET_LOGGING_LEVEL holds for its duration, then reverts") {
  cluster c;
  auto logger = logging::get("master");
  auto level_at_start = logger->level();
  Call get;
  get.set_type(Call::GET_LOGGING_LEVEL);
  CHECK(c.call(get)->get_logging_level().level() == 0);
  Call set;
  set.set_type(Call::SET_LOGGING_LEVEL);
  set.mutable_set_logging_level()->set_level(2);
  CHECK(error_text(c.call(set)).find("set_logging_level.duration")
        != std::string::npos);
  set.mutable_set_logging_level()->mutable_duration()->set_nanoseconds(
    10'000'000'000);
  REQUIRE(c.call(set));
  CHECK(c.call(get)->get_logging_level().level() == 2);
  CHECK(logger->level() == spdlog::level::trace);
  c.ds.advance(5s);
  CHECK(c.call(get)->get_logging_level().level() == 2);
  c.ds.advance(6s);
  CHECK(c.call(get)->get_logging_level().level() == 0);
  CHECK(logger->level() == level_at_start);
}

namespace {

Call schedule_call(const std::vector<std::string>& hostnames,
                   int64_t start_ns = 1'000'000'000'000) {
  Call call;
  call.set_type(Call::UPDATE_MAINTENANCE_SCHEDULE);
  auto* window
    = call.mutable_update_maintenance_schedule()->mutable_schedule()
        ->add_windows();
  for (const auto& h : hostnames)
    window->add_machine_ids()->set_hostname(h);
  window->mutable_unavailability()->mutable_start()->set_nanoseconds(start_ns);
  window->mutable_unavailability()->mutable_duration()->set_nanoseconds(
    3'600'000'000'000);
  return call;
}

Call machines_call(Call::Type type, const std::string& hostname) {
  Call call;
  call.set_type(type);
  auto* list = type == Call::START_MAINTENANCE
                 ? call.mutable_start_maintenance()->mutable_machines()
                 : call.mutable_stop_maintenance()->mutable_machines();
  list->Add()->set_hostname(hostname);
  return call;
}

} // namespace

TEST_CASE("a maintenance schedule: validated, kept, and its machines' "
          "offers carry the unavailability") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096", "node");
  c.add_agent("cpus:4;mem:4096", "other"); // not scheduled
  auto f = c.add_framework();
  std::string node_offer, other_offer;
  for (const auto& offer : f.log->take_offers())
    (offer.agent_id().value() == a.id() ? node_offer : other_offer)
      = offer.id().value();
  REQUIRE_FALSE(node_offer.empty());
  REQUIRE_FALSE(other_offer.empty());

  auto empty = schedule_call({});
  CHECK(error_text(c.call(empty)).find("windows[0].machine_ids: the list of "
                                       "machines in the maintenance window is "
                                       "empty")
        != std::string::npos);
  auto twice = schedule_call({"node", "node"});
  CHECK(error_text(c.call(twice)).find("appears more than once")
        != std::string::npos);
  auto bad_ip = schedule_call({});
  bad_ip.mutable_update_maintenance_schedule()->mutable_schedule()
    ->mutable_windows(0)->add_machine_ids()->set_ip("10.0.0.300");
  CHECK(error_text(c.call(bad_ip)).find("machine_ids[0].ip: '10.0.0.300' is "
                                        "not an IPv4 address")
        != std::string::npos);
  auto nameless = schedule_call({""});
  CHECK(error_text(c.call(nameless)).find("both 'hostname' and 'ip' are empty")
        != std::string::npos);

  REQUIRE(c.call(schedule_call({"node"})));
  Call get;
  get.set_type(Call::GET_MAINTENANCE_SCHEDULE);
  auto got = c.call(get);
  REQUIRE(got);
  REQUIRE(got->get_maintenance_schedule().schedule().windows_size() == 1);
  CHECK(got->get_maintenance_schedule().schedule().windows(0).machine_ids(0)
          .hostname()
        == "node");
  Call status;
  status.set_type(Call::GET_MAINTENANCE_STATUS);
  auto st = c.call(status);
  REQUIRE(st);
  REQUIRE(st->get_maintenance_status().status().draining_machines_size() == 1);
  CHECK(st->get_maintenance_status().status().down_machines_size() == 0);

  // The node's outstanding offer was rescinded (the other agent's stands);
  // the new one says when.
  REQUIRE(f.log->rescinds.size() == 1);
  CHECK(f.log->rescinds[0].value() == node_offer);
  c.ds.advance(6s);
  bool saw_node = false;
  for (const auto& offer : f.log->take_offers()) {
    CHECK(offer.agent_id().value() == a.id());
    saw_node = true;
    CHECK(offer.unavailability().start().nanoseconds() == 1'000'000'000'000);
    CHECK(offer.unavailability().duration().nanoseconds()
          == 3'600'000'000'000);
  }
  CHECK(saw_node);
  // The same schedule again changes no offer.
  REQUIRE(c.call(schedule_call({"node"})));
  CHECK(f.log->rescinds.size() == 1);
}

TEST_CASE("START_MAINTENANCE takes a scheduled machine's agents down; "
          "STOP_MAINTENANCE brings the machine back up") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096", "node");
  auto f = c.add_framework(framework_info("aware", true));
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");

  CHECK(error_text(c.call(machines_call(Call::START_MAINTENANCE, "node")))
          .find("start_maintenance.machines[0]: machine '{\"hostname\":"
                "\"node\"}' is not part of a maintenance schedule")
        != std::string::npos);
  CHECK(error_text(c.call(machines_call(Call::STOP_MAINTENANCE, "node")))
          .find("is not DOWN") != std::string::npos);
  REQUIRE(c.call(schedule_call({"node"})));
  REQUIRE(c.call(machines_call(Call::START_MAINTENANCE, "node")));
  CHECK_FALSE(registered(c, a.id()));
  REQUIRE(a.log->shutdowns.size() == 1);
  auto updates = f.log->updates_of("t1");
  REQUIRE(updates.size() == 2);
  CHECK(updates[1].state() == v1::TASK_GONE_BY_OPERATOR);
  Call status;
  status.set_type(Call::GET_MAINTENANCE_STATUS);
  auto st = c.call(status);
  REQUIRE(st);
  CHECK(st->get_maintenance_status().status().down_machines_size() == 1);
  CHECK(st->get_maintenance_status().status().draining_machines_size() == 0);
  // A DOWN machine stays on the schedule, and its agents are refused.
  CHECK(error_text(c.call(schedule_call({"other"}))).find("is DOWN")
        != std::string::npos);
  v1::internal::ReregisterAgent report;
  report.mutable_agent_info()->set_hostname("node");
  report.mutable_agent_info()->mutable_id()->set_value(a.id());
  auto log = c.reregister(report);
  CHECK(log->agent_id.empty());
  CHECK(log->register_error.find("DOWN for maintenance") != std::string::npos);

  REQUIRE(c.call(machines_call(Call::STOP_MAINTENANCE, "node")));
  Call get;
  get.set_type(Call::GET_MAINTENANCE_SCHEDULE);
  CHECK(c.call(get)->get_maintenance_schedule().schedule().windows_size() == 0);
  auto back = c.add_agent("cpus:4;mem:4096", "node");
  CHECK(registered(c, back.id()));
}

namespace {

std::vector<v1::master::InverseOfferStatus> answers(cluster& c) {
  Call status;
  status.set_type(Call::GET_MAINTENANCE_STATUS);
  auto st = c.call(status);
  REQUIRE(st);
  const auto& s = st->get_maintenance_status().status();
  REQUIRE(s.draining_machines_size() == 1);
  return {s.draining_machines(0).statuses().begin(),
          s.draining_machines(0).statuses().end()};
}

template <class Answer>
Answer answer(const v1::InverseOffer& offer, double refuse_seconds) {
  Answer call;
  *call.add_inverse_offer_ids() = offer.id();
  call.mutable_filters()->set_refuse_seconds(refuse_seconds);
  return call;
}

} // namespace

TEST_CASE("a scheduled window produces inverse offers to the frameworks on "
          "its machine; their answers show in the maintenance status") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096", "node");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  auto idle = c.add_agent("cpus:4;mem:4096", "other");
  CHECK(f.log->inverse_offers.empty());

  REQUIRE(c.call(schedule_call({"node"})));
  REQUIRE(f.log->inverse_offers.size() == 1);
  auto first = f.log->inverse_offers[0];
  CHECK(first.agent_id().value() == a.id());
  CHECK(first.framework_id().value() == f.id());
  CHECK(first.unavailability().start().nanoseconds() == 1'000'000'000'000);
  CHECK(first.resources_size() == 0); // the whole agent
  CHECK(first.url().address().hostname() == "node");
  CHECK(answers(c).empty()); // nobody answered yet
  // Outstanding: not asked again.
  c.ds.advance(3s);
  CHECK(f.log->inverse_offers.size() == 1);

  caf::anon_send(f.driver,
                 answer<call::Call::AcceptInverseOffers>(first, 10));
  c.ds.run();
  auto got = answers(c);
  REQUIRE(got.size() == 1);
  CHECK(got[0].status() == v1::master::InverseOfferStatus::ACCEPT);
  CHECK(got[0].framework_id().value() == f.id());
  CHECK(got[0].timestamp().nanoseconds() > 0);
  // An answer to an inverse offer that is no longer outstanding changes
  // nothing.
  caf::anon_send(f.driver,
                 answer<call::Call::DeclineInverseOffers>(first, 0));
  c.ds.run();
  CHECK(answers(c)[0].status() == v1::master::InverseOfferStatus::ACCEPT);
  // Asked again once the answer's filter lapses.
  c.ds.advance(8s);
  CHECK(f.log->inverse_offers.size() == 1);
  c.ds.advance(3s);
  REQUIRE(f.log->inverse_offers.size() == 2);
  auto second = f.log->inverse_offers[1];
  CHECK(second.id().value() != first.id().value());
  caf::anon_send(f.driver, answer<call::Call::DeclineInverseOffers>(second, 60));
  c.ds.run();
  CHECK(answers(c)[0].status() == v1::master::InverseOfferStatus::DECLINE);

  // A new window for the machine: answers are forgotten, and the framework
  // is asked about the new one at once, whatever its filter.
  REQUIRE(c.call(schedule_call({"node"}, 2'000'000'000'000)));
  CHECK(answers(c).empty());
  REQUIRE(f.log->inverse_offers.size() == 3);
  auto third = f.log->inverse_offers[2];
  CHECK(third.unavailability().start().nanoseconds() == 2'000'000'000'000);
  // Off the schedule: the outstanding inverse offer is rescinded.
  CHECK(f.log->inverse_rescinds.empty());
  REQUIRE(c.call(schedule_call({"other"})));
  REQUIRE(f.log->inverse_rescinds.size() == 1);
  CHECK(f.log->inverse_rescinds[0].value() == third.id().value());
  c.ds.advance(3s);
  // The idle agent's machine is scheduled now: the framework holds an offer
  // there, so it is asked about that agent (and only it).
  REQUIRE(f.log->inverse_offers.size() == 4);
  for (size_t i = 3; i < f.log->inverse_offers.size(); ++i)
    CHECK(f.log->inverse_offers[i].agent_id().value() == idle.id());
}

TEST_CASE("inverse offers: a framework without resources on the machine is "
          "not asked; a disconnected one's are dropped, an agent's are "
          "rescinded when it is deactivated") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096", "node");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer, "cpus:4;mem:4096")});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  auto g = c.add_framework(framework_info("bystander"));
  REQUIRE(c.call(schedule_call({"node"})));
  CHECK(f.log->inverse_offers.size() == 1);
  CHECK(g.log->inverse_offers.empty());

  REQUIRE(c.call(agent_call(Call::DEACTIVATE_AGENT, a.id())));
  REQUIRE(f.log->inverse_rescinds.size() == 1);
  c.ds.advance(3s);
  CHECK(f.log->inverse_offers.size() == 1); // not while deactivated
  REQUIRE(c.call(agent_call(Call::REACTIVATE_AGENT, a.id())));
  c.ds.advance(2s);
  REQUIRE(f.log->inverse_offers.size() == 2);
  // The framework fails over: its outstanding inverse offer is void, and
  // the new instance is asked afresh.
  auto info = framework_info("test");
  *info.mutable_id() = f.log->subscribed[0].framework_id();
  caf::anon_send_exit(f.driver, caf::exit_reason::user_shutdown);
  c.ds.run();
  auto again = c.add_framework(info);
  c.ds.advance(2s);
  REQUIRE(again.log->inverse_offers.size() == 1);
  CHECK(again.log->inverse_offers[0].id().value()
        != f.log->inverse_offers[1].id().value());
}
