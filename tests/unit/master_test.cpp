// The master's state machine: every scheduler call and agent event, on the
// deterministic scheduler with the real master, allocator and scheduler SDK.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/cluster_fixture.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

bool has_update(const framework_log& log, const std::string& task,
                v1::TaskState state) {
  for (const auto& u : log.updates_of(task))
    if (u.state() == state)
      return true;
  return false;
}

} // namespace

TEST_CASE("a registered agent's resources are offered to a framework") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096");
  auto f = c.add_framework();
  REQUIRE(f.log->subscribed.size() == 1);
  CHECK(f.log->subscribed[0].framework_id().value().empty() == false);
  auto offers = f.log->take_offers();
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].agent_id().value() == a.id());
  CHECK(offers[0].hostname() == "node");
  auto offered = resources::from_proto(offers[0].resources());
  REQUIRE(offered);
  CHECK(offered->scalar("cpus") == 4.0);
  CHECK(offered->begin()->allocation_role == "*");
}

TEST_CASE("launch, run, finish: updates are relayed and acknowledged") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  REQUIRE(a.log->runs.size() == 1);
  CHECK(a.log->runs[0].task().task_id().value() == "t1");
  CHECK(a.log->runs[0].framework().id().value() == f.id());
  // The unused part of the offer comes back at once (refused for 5 s).
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  REQUIRE(f.log->updates_of("t1").size() == 1);
  REQUIRE(a.log->acks.size() == 1); // the SDK acknowledged it
  CHECK(a.log->acks[0].uuid() == "u1");
  CHECK(c.tasks().tasks(0).state() == v1::TASK_RUNNING);
  CHECK(c.metric("master/tasks_running") == 1);
  c.update(a, f, "t1", v1::TASK_FINISHED, "u2");
  REQUIRE(a.log->acks.size() == 2);
  auto tasks = c.tasks();
  CHECK(tasks.tasks_size() == 0);
  REQUIRE(tasks.completed_tasks_size() == 1);
  CHECK(tasks.completed_tasks(0).state() == v1::TASK_FINISHED);
  CHECK(c.metric("master/tasks_finished") == 1);
  // Everything is offered again once the filter lapses.
  c.ds.advance(6s);
  auto again = f.log->take_offers();
  REQUIRE(!again.empty());
  CHECK(resources::from_proto(again.back().resources())->scalar("cpus") == 4);
}

TEST_CASE("invalid launches end in TASK_ERROR with a reason") {
  cluster c;
  c.add_agent("cpus:2;mem:1024");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  auto too_big = make_task("big", offer, "cpus:3;mem:128");
  auto both = make_task("both", offer);
  both.mutable_executor()->mutable_executor_id()->set_value("e");
  both.mutable_executor()->mutable_command()->set_value("exec");
  auto no_id = make_task("", offer);
  auto ok = make_task("ok", offer, "cpus:1;mem:128");
  auto duplicate = make_task("ok", offer, "cpus:0.5;mem:32");
  auto bad_check = make_task("check", offer, "cpus:0.1;mem:32");
  bad_check.mutable_health_check()->set_type(v1::HealthCheck::HTTP);
  auto bad_check_info = make_task("check-info", offer, "cpus:0.1;mem:32");
  bad_check_info.mutable_check()->set_type(v1::CheckInfo::COMMAND);
  auto bad_scheme = make_task("scheme", offer, "cpus:0.1;mem:32");
  bad_scheme.mutable_health_check()->set_type(v1::HealthCheck::HTTP);
  bad_scheme.mutable_health_check()->mutable_http()->set_port(80);
  bad_scheme.mutable_health_check()->mutable_http()->set_scheme("ftp");
  auto tty = make_task("tty", offer, "cpus:0.1;mem:32");
  tty.mutable_container()->mutable_tty_info();
  c.launch(f, offer,
           {too_big, both, no_id, ok, duplicate, bad_check, bad_check_info,
            bad_scheme, tty});
  auto error_of = [&](const std::string& id) {
    CAPTURE(id);
    auto updates = f.log->updates_of(id);
    REQUIRE(updates.size() == 1);
    CHECK(updates[0].state() == v1::TASK_ERROR);
    CHECK(updates[0].reason() == v1::TaskStatus::REASON_TASK_INVALID);
    CHECK(updates[0].source() == v1::TaskStatus::SOURCE_MASTER);
    return updates[0].message();
  };
  CHECK(error_of("big").find("exceed what the offers still hold")
        != std::string::npos);
  CHECK(error_of("both").find("exactly one of") != std::string::npos);
  CHECK(error_of("check").find("health_check.http.port")
        != std::string::npos);
  CHECK(error_of("check-info").find("check.command.command")
        != std::string::npos);
  CHECK(error_of("scheme")
        == "task 'scheme': health_check.http.scheme: unsupported "
           "scheme 'ftp' (http or https)");
  CHECK(error_of("tty") == "task 'tty': container.tty_info: a terminal is "
                           "given to debug sessions only, not to tasks or "
                           "executors");
  // "ok" launched; its duplicate failed (two updates for "ok": none is the
  // launch, so look at the one with TASK_ERROR).
  auto ok_updates = f.log->updates_of("ok");
  REQUIRE(ok_updates.size() == 1);
  CHECK(ok_updates[0].message().find("already exists") != std::string::npos);
  CHECK(f.log->updates_of("").size() == 1);
  CHECK(c.metric("master/invalid_launches") == 8);
}

TEST_CASE("an invalid offer drops (partition-aware) or loses the tasks") {
  cluster c;
  c.add_agent();
  auto aware = c.add_framework(framework_info("aware", true));
  auto old = c.add_framework(framework_info("old", false));
  auto offers = aware.log->take_offers();
  REQUIRE(offers.size() == 1);
  auto stale = offers[0];
  stale.mutable_id()->set_value("no-such-offer");
  c.launch(aware, stale, {make_task("a1", stale)});
  c.launch(old, stale, {make_task("o1", stale)});
  REQUIRE(aware.log->updates_of("a1").size() == 1);
  CHECK(aware.log->updates_of("a1")[0].state() == v1::TASK_DROPPED);
  CHECK(aware.log->updates_of("a1")[0].reason()
        == v1::TaskStatus::REASON_INVALID_OFFERS);
  REQUIRE(old.log->updates_of("o1").size() == 1);
  CHECK(old.log->updates_of("o1")[0].state() == v1::TASK_LOST);
  // Asked about later, the master answers with the same end, not with
  // TASK_GONE for a task it does not know.
  call::Call::Reconcile reconcile;
  auto* entry = reconcile.add_tasks();
  entry->mutable_task_id()->set_value("a1");
  *entry->mutable_agent_id() = stale.agent_id();
  caf::anon_send(aware.driver, reconcile);
  c.ds.run();
  auto a1 = aware.log->updates_of("a1");
  REQUIRE(a1.size() == 2);
  CHECK(a1[1].state() == v1::TASK_DROPPED);
  CHECK(a1[1].reason() == v1::TaskStatus::REASON_RECONCILIATION);
}

TEST_CASE("LAUNCH_GROUP is all or nothing") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  auto group_accept = [&](std::vector<v1::TaskInfo> tasks) {
    call::Call::Accept accept;
    *accept.add_offer_ids() = offer.id();
    auto* op = accept.add_operations();
    op->set_type(v1::Offer::Operation::LAUNCH_GROUP);
    auto* group = op->mutable_launch_group();
    group->mutable_executor()->mutable_executor_id()->set_value("default");
    group->mutable_executor()->set_type(v1::ExecutorInfo::DEFAULT);
    resources::parse("cpus:0.1;mem:32")->to_proto(
      group->mutable_executor()->mutable_resources());
    for (auto& t : tasks)
      *group->mutable_task_group()->add_tasks() = std::move(t);
    caf::anon_send(f.driver, std::move(accept));
    c.ds.run();
  };
  group_accept({make_task("g1", offer), make_task("g2", offer, "cpus:99")});
  CHECK(a.log->groups.empty());
  for (auto id : {"g1", "g2"}) {
    auto updates = f.log->updates_of(id);
    REQUIRE(updates.size() == 1);
    CHECK(updates[0].state() == v1::TASK_ERROR);
    CHECK(updates[0].reason() == v1::TaskStatus::REASON_TASK_GROUP_INVALID);
  }
  c.ds.advance(6s);
  offer = f.log->take_offers().back();
  group_accept({make_task("g3", offer), make_task("g4", offer)});
  REQUIRE(a.log->groups.size() == 1);
  CHECK(a.log->groups[0].task_group().tasks_size() == 2);
  CHECK(a.log->groups[0].executor().executor_id().value() == "default");
  CHECK(c.tasks().tasks_size() == 2);
}

TEST_CASE("DECLINE with a filter keeps the resources away until it lapses") {
  cluster c;
  c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  call::Call::Decline decline;
  *decline.add_offer_ids() = offer.id();
  decline.mutable_filters()->set_refuse_seconds(10);
  caf::anon_send(f.driver, decline);
  c.ds.advance(9s);
  CHECK(f.log->take_offers().empty());
  c.ds.advance(2s);
  CHECK(f.log->take_offers().size() == 1);
}

TEST_CASE("SUPPRESS stops offers; REVIVE restores them and clears filters") {
  cluster c;
  c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  caf::anon_send(f.driver, call::Call::Suppress{});
  call::Call::Decline decline;
  *decline.add_offer_ids() = offer.id();
  decline.mutable_filters()->set_refuse_seconds(3600);
  caf::anon_send(f.driver, decline);
  c.ds.advance(5s);
  CHECK(f.log->take_offers().empty());
  caf::anon_send(f.driver, call::Call::Revive{});
  c.ds.run();
  CHECK(f.log->take_offers().size() == 1); // the hour-long filter is gone
}

TEST_CASE("KILL goes to the agent; an unknown task is reconciled") {
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  call::Call::Kill kill;
  kill.mutable_task_id()->set_value("t1");
  caf::anon_send(f.driver, kill);
  c.ds.run();
  REQUIRE(a.log->kills.size() == 1);
  CHECK(a.log->kills[0].task_id().value() == "t1");
  kill.mutable_task_id()->set_value("ghost");
  caf::anon_send(f.driver, kill);
  c.ds.run();
  auto ghost = f.log->updates_of("ghost");
  REQUIRE(ghost.size() == 1);
  CHECK(ghost[0].state() == v1::TASK_UNKNOWN);
  CHECK(ghost[0].reason() == v1::TaskStatus::REASON_RECONCILIATION);
}

TEST_CASE("reconciliation: implicit and explicit") {
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework();
  auto old = c.add_framework(framework_info("old", false));
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer), make_task("t2", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  f.log->updates.clear();
  caf::anon_send(f.driver, call::Call::Reconcile{});
  c.ds.run();
  REQUIRE(f.log->updates.size() == 2);
  for (const auto& u : f.log->updates) {
    CHECK(u.reason() == v1::TaskStatus::REASON_RECONCILIATION);
    CHECK(u.uuid().empty()); // nothing to acknowledge
  }
  CHECK(f.log->updates_of("t1")[0].state() == v1::TASK_RUNNING);
  CHECK(f.log->updates_of("t2")[0].state() == v1::TASK_STAGING);
  f.log->updates.clear();
  call::Call::Reconcile explicit_call;
  for (auto id : {"t1", "nope"}) {
    auto* entry = explicit_call.add_tasks();
    entry->mutable_task_id()->set_value(id);
  }
  caf::anon_send(f.driver, explicit_call);
  auto* entry = explicit_call.add_tasks();
  entry->mutable_task_id()->set_value("gone");
  entry->mutable_agent_id()->set_value(a.id());
  caf::anon_send(f.driver, explicit_call);
  caf::anon_send(old.driver, explicit_call);
  c.ds.run();
  CHECK(f.log->updates_of("nope").at(0).state() == v1::TASK_UNKNOWN);
  CHECK(f.log->updates_of("gone").at(0).state() == v1::TASK_GONE);
  CHECK(old.log->updates_of("nope").at(0).state() == v1::TASK_LOST);
  CHECK(old.log->updates_of("gone").at(0).state() == v1::TASK_LOST);
}

TEST_CASE("reconciliation of an ended task answers the end it had") {
  // Not TASK_GONE: a framework asking while the end was on its way would
  // learn two different ends.
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_FINISHED, "u1");
  REQUIRE(c.tasks().completed_tasks_size() == 1);
  f.log->updates.clear();
  call::Call::Reconcile ask;
  auto* entry = ask.add_tasks();
  entry->mutable_task_id()->set_value("t1");
  entry->mutable_agent_id()->set_value(a.id());
  caf::anon_send(f.driver, ask);
  c.ds.run();
  auto answers = f.log->updates_of("t1");
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state() == v1::TASK_FINISHED);
  CHECK(answers[0].reason() == v1::TaskStatus::REASON_RECONCILIATION);
}

TEST_CASE("failover within failover_timeout keeps the tasks running") {
  cluster c;
  auto a = c.add_agent();
  auto info = framework_info("fo");
  info.set_failover_timeout(30);
  auto f = c.add_framework(info);
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  auto id = f.id();
  caf::anon_send_exit(f.driver, caf::exit_reason::user_shutdown);
  c.ds.advance(10s);
  CHECK(c.metric("master/frameworks_disconnected") == 1);
  *info.mutable_id() = f.log->subscribed[0].framework_id();
  auto again = c.add_framework(info);
  REQUIRE(again.log->subscribed.size() == 1);
  CHECK(again.id() == id);
  c.ds.advance(60s);
  CHECK(a.log->framework_shutdowns.empty());
  CHECK(a.log->kills.empty());
  CHECK(c.tasks().tasks(0).state() == v1::TASK_RUNNING);
  CHECK(c.metric("master/frameworks_connected") == 1);
}

TEST_CASE("beyond failover_timeout the framework is removed, tasks killed") {
  cluster c;
  auto a = c.add_agent();
  auto info = framework_info("short");
  info.set_failover_timeout(5);
  auto f = c.add_framework(info);
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  caf::anon_send_exit(f.driver, caf::exit_reason::user_shutdown);
  c.ds.advance(6s);
  REQUIRE(a.log->framework_shutdowns.size() == 1);
  CHECK(a.log->framework_shutdowns[0].framework_id().value() == f.id());
  auto tasks = c.tasks();
  REQUIRE(tasks.completed_tasks_size() == 1);
  CHECK(tasks.completed_tasks(0).state() == v1::TASK_KILLED);
  // A removed framework cannot come back.
  *info.mutable_id() = f.log->subscribed[0].framework_id();
  auto again = c.add_framework(info);
  CHECK(again.log->subscribed.empty());
  REQUIRE(again.log->errors.size() == 1);
  CHECK(again.log->errors[0].find("has been removed") != std::string::npos);
}

TEST_CASE("TEARDOWN removes the framework at once") {
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  caf::anon_send(f.driver, call::Call::Teardown{});
  c.ds.run();
  CHECK(a.log->framework_shutdowns.size() == 1);
  CHECK(c.metric("master/frameworks_removed") == 1);
}

TEST_CASE("an agent that stops answering pings becomes unreachable") {
  cluster c;
  auto a = c.add_agent();
  auto aware = c.add_framework(framework_info("aware", true));
  auto old = c.add_framework(framework_info("old", false));
  // Both get half the agent.
  auto offer = aware.log->take_offers().at(0);
  c.launch(aware, offer, {make_task("pa", offer)});
  c.ds.advance(6s);
  auto old_offer = old.log->take_offers().at(0);
  c.launch(old, old_offer, {make_task("np", old_offer)});
  c.update(a, aware, "pa", v1::TASK_RUNNING, "u1");
  c.update(a, old, "np", v1::TASK_RUNNING, "u2");
  a.log->responsive = false;
  c.ds.advance(2500ms);
  CHECK_FALSE(has_update(*aware.log, "pa", v1::TASK_UNREACHABLE));
  c.ds.advance(2s); // three missed pings
  CHECK(has_update(*aware.log, "pa", v1::TASK_UNREACHABLE));
  CHECK(has_update(*old.log, "np", v1::TASK_LOST));
  CHECK(aware.log->updates_of("pa").back().has_unreachable_time());
  CHECK(c.metric("master/slaves_unreachable") == 1);
  auto tasks = c.tasks();
  CHECK(tasks.unreachable_tasks_size() == 1);
  // Until it has re-registered, it does not speak for its tasks: a retried
  // update is dropped, and the framework still sees the task unreachable.
  auto invalid = c.metric("master/invalid_status_updates");
  c.update(a, aware, "pa", v1::TASK_RUNNING, "u1");
  CHECK(aware.log->updates_of("pa").back().state() == v1::TASK_UNREACHABLE);
  CHECK(c.metric("master/invalid_status_updates") == invalid + 1);
  // The agent comes back with both tasks still running.
  v1::internal::ReregisterAgent report;
  report.mutable_agent_info()->set_hostname("node");
  report.mutable_agent_info()->mutable_id()->set_value(a.id());
  resources::parse("cpus:4;mem:4096;disk:10000;ports:[31000-31100]")
    ->to_proto(report.mutable_agent_info()->mutable_resources());
  for (auto [fw, id] : {std::pair{aware.id(), "pa"}, std::pair{old.id(), "np"}}) {
    auto* t = report.add_tasks();
    t->mutable_task_id()->set_value(id);
    t->mutable_framework_id()->set_value(fw);
    t->mutable_agent_id()->set_value(a.id());
    t->set_state(v1::TASK_RUNNING);
    resources::parse("cpus:1;mem:128")->allocate("*").to_proto(
      t->mutable_resources());
  }
  auto log = c.reregister(report);
  CHECK(log->agent_id == a.id());
  auto back = aware.log->updates_of("pa").back();
  CHECK(back.state() == v1::TASK_RUNNING);
  CHECK(back.reason() == v1::TaskStatus::REASON_AGENT_REREGISTERED);
  // The old framework was told LOST, which is final: the agent must kill it.
  REQUIRE(log->kills.size() == 1);
  CHECK(log->kills[0].task_id().value() == "np");
  CHECK(c.metric("master/slaves_unreachable") == 0);
}

TEST_CASE("an agent whose link drops has its offers rescinded") {
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  caf::anon_send_exit(a.actor, caf::exit_reason::kill);
  c.ds.run();
  REQUIRE(f.log->rescinds.size() == 1);
  CHECK(f.log->rescinds[0].value() == offer.id().value());
  CHECK(c.metric("master/slaves_disconnected") == 1);
}

TEST_CASE("RESERVE, CREATE, DESTROY, UNRESERVE through ACCEPT") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096;disk:1000");
  auto info = framework_info("db");
  info.add_roles("db");
  info.set_principal("ops");
  auto f = c.add_framework(info);
  auto offer = f.log->take_offers().at(0);
  CHECK(offer.allocation_info().role() == "db");
  auto accept_op = [&](v1::Offer::Operation op) {
    call::Call::Accept accept;
    *accept.add_offer_ids() = offer.id();
    *accept.add_operations() = std::move(op);
    accept.mutable_filters()->set_refuse_seconds(0);
    caf::anon_send(f.driver, std::move(accept));
    c.ds.run();
    auto fresh = f.log->take_offers();
    REQUIRE(!fresh.empty());
    offer = fresh.back();
  };
  auto level = R"("reservations":[{"type":"DYNAMIC","role":"db","principal":"ops"}])";
  v1::Offer::Operation reserve;
  reserve.set_type(v1::Offer::Operation::RESERVE);
  resources::parse(fmt::format(R"([{{"name":"disk","type":"SCALAR",
    "scalar":{{"value":500}},{}}}])", level))
    ->to_proto(reserve.mutable_reserve()->mutable_resources());
  accept_op(reserve);
  REQUIRE(!a.log->checkpoints.empty());
  auto offered = *resources::from_proto(offer.resources());
  CHECK(offered.reserved("db").scalar("disk") == 500.0);
  CHECK(offered.unreserved().scalar("disk") == 500.0);

  v1::Offer::Operation create;
  create.set_type(v1::Offer::Operation::CREATE);
  resources::parse(fmt::format(R"([{{"name":"disk","type":"SCALAR",
    "scalar":{{"value":500}},{},"disk":{{"persistence":{{"id":"vol1"}},
    "volume":{{"container_path":"data","mode":"RW"}}}}}}])", level))
    ->to_proto(create.mutable_create()->mutable_volumes());
  accept_op(create);
  offered = *resources::from_proto(offer.resources());
  REQUIRE(offered.persistent_volumes().size() == 1);

  v1::Offer::Operation destroy;
  destroy.set_type(v1::Offer::Operation::DESTROY);
  *destroy.mutable_destroy()->mutable_volumes() = create.create().volumes();
  accept_op(destroy);
  offered = *resources::from_proto(offer.resources());
  CHECK(offered.persistent_volumes().empty());
  CHECK(offered.reserved("db").scalar("disk") == 500.0);

  v1::Offer::Operation unreserve;
  unreserve.set_type(v1::Offer::Operation::UNRESERVE);
  *unreserve.mutable_unreserve()->mutable_resources()
    = reserve.reserve().resources();
  accept_op(unreserve);
  offered = *resources::from_proto(offer.resources());
  CHECK(offered.reserved().empty());
  CHECK(offered.scalar("disk") == 1000.0);
  CHECK(a.log->checkpoints.size() == 4);
}

TEST_CASE("MESSAGE in both directions, and executor failures") {
  cluster c;
  auto a = c.add_agent();
  auto f = c.add_framework();
  call::Call::Message msg;
  msg.mutable_agent_id()->set_value(a.id());
  msg.mutable_executor_id()->set_value("e1");
  msg.set_data("hello executor");
  caf::anon_send(f.driver, msg);
  c.ds.run();
  REQUIRE(a.log->messages.size() == 1);
  CHECK(a.log->messages[0].data() == "hello executor");
  v1::internal::ExecutorToFramework back;
  back.mutable_agent_id()->set_value(a.id());
  back.mutable_framework_id()->set_value(f.id());
  back.mutable_executor_id()->set_value("e1");
  back.set_data("hello framework");
  caf::anon_send(a.actor, back);
  c.ds.run();
  REQUIRE(f.log->messages.size() == 1);
  CHECK(f.log->messages[0].data() == "hello framework");
  v1::internal::ExitedExecutor exited;
  exited.mutable_agent_id()->set_value(a.id());
  exited.mutable_framework_id()->set_value(f.id());
  exited.mutable_executor_id()->set_value("e1");
  exited.set_status(137);
  caf::anon_send(a.actor, exited);
  c.ds.run();
  REQUIRE(f.log->failures.size() == 1);
  CHECK(f.log->failures[0].status() == 137);
}

TEST_CASE("invalid subscriptions are rejected with the field named") {
  cluster c;
  auto info = framework_info("bad");
  info.add_roles("a");
  info.add_roles("b"); // no MULTI_ROLE
  auto f = c.add_framework(info);
  REQUIRE(f.log->errors.size() == 1);
  CHECK(f.log->errors[0].find("framework_info.roles") != std::string::npos);
  info.clear_roles();
  info.add_roles("..");
  auto g = c.add_framework(info);
  REQUIRE(g.log->errors.size() == 1);
  CHECK(g.log->errors[0].find("not a valid role") != std::string::npos);
}

TEST_CASE("completed task history is bounded") {
  auto cfg = test_master_config();
  cfg.max_completed_tasks_per_framework = 3;
  cluster c{cfg};
  auto a = c.add_agent("cpus:8;mem:8192");
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  std::vector<v1::TaskInfo> tasks;
  for (int i = 0; i < 5; ++i)
    tasks.push_back(make_task("t" + std::to_string(i), offer, "cpus:1;mem:32"));
  c.launch(f, offer, tasks);
  for (int i = 0; i < 5; ++i)
    c.update(a, f, "t" + std::to_string(i), v1::TASK_FINISHED,
             "u" + std::to_string(i));
  auto done = c.tasks();
  CHECK(done.completed_tasks_size() == 3);
  CHECK(done.completed_tasks(2).task_id().value() == "t4");
}

TEST_CASE("operator API: weights, quota, reservations, state") {
  cluster c;
  auto a = c.add_agent("cpus:8;mem:8192");
  v1::master::Call call;
  call.set_type(v1::master::Call::UPDATE_WEIGHTS);
  auto* w = call.mutable_update_weights()->add_weight_infos();
  w->set_role("gold");
  w->set_weight(-1);
  auto bad = c.call(call);
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()).find("weight_infos[0].weight")
        != std::string::npos);
  w->set_weight(3);
  REQUIRE(c.call(call));
  v1::master::Call get;
  get.set_type(v1::master::Call::GET_WEIGHTS);
  CHECK(c.call(get)->get_weights().weight_infos(0).weight() == 3);

  v1::master::Call quota;
  quota.set_type(v1::master::Call::UPDATE_QUOTA);
  auto* config = quota.mutable_update_quota()->add_quota_configs();
  config->set_role("gold");
  (*config->mutable_guarantees())["cpus"].set_value(100);
  auto over = c.call(quota);
  REQUIRE_FALSE(over);
  CHECK(code_of(over.error()) == errc::conflict);
  quota.mutable_update_quota()->set_force(true);
  REQUIRE(c.call(quota));
  (*config->mutable_limits())["cpus"].set_value(10);
  auto inverted = c.call(quota);
  REQUIRE_FALSE(inverted);
  CHECK(describe(inverted.error()).find("exceeds its limit")
        != std::string::npos);

  v1::master::Call reserve;
  reserve.set_type(v1::master::Call::RESERVE_RESOURCES);
  reserve.mutable_reserve_resources()->mutable_agent_id()->set_value(a.id());
  resources::parse(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":2},
    "reservations":[{"type":"DYNAMIC","role":"gold","principal":"op"}]}])")
    ->to_proto(reserve.mutable_reserve_resources()->mutable_resources());
  REQUIRE(c.call(reserve));
  CHECK(a.log->checkpoints.size() == 1);
  v1::master::Call agents;
  agents.set_type(v1::master::Call::GET_AGENTS);
  auto total = resources::from_proto(
    c.call(agents)->get_agents().agents(0).total_resources());
  CHECK(total->reserved("gold").scalar("cpus") == 2.0);
  reserve.mutable_reserve_resources()->mutable_agent_id()->set_value("nope");
  auto missing = c.call(reserve);
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == errc::not_found);

  v1::master::Call state;
  state.set_type(v1::master::Call::GET_STATE);
  auto s = c.call(state);
  REQUIRE(s);
  CHECK(s->get_state().get_agents().agents_size() == 1);
  v1::master::Call roles;
  roles.set_type(v1::master::Call::GET_ROLES);
  bool found = false;
  auto all_roles = c.call(roles);
  REQUIRE(all_roles);
  for (const auto& r : all_roles->get_roles().roles())
    if (r.name() == "gold") {
      found = true;
      CHECK(r.weight() == 3);
      CHECK(r.quota().guarantees().at("cpus").value() == 100);
    }
  CHECK(found);
}

TEST_CASE("a restarted master recovers its registry; agents and "
          "frameworks come back") {
  cluster c;
  // A durable store shared by both master incarnations.
  c.use_durable_store();
  auto a = c.add_agent();
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  auto framework_id = f.log->subscribed[0].framework_id();
  // The master dies; a new one starts from the same store.
  caf::anon_send_exit(c.master, caf::exit_reason::kill);
  c.ds.run();
  c.start_master();
  v1::internal::ReregisterAgent report;
  report.mutable_agent_info()->set_hostname("node");
  report.mutable_agent_info()->mutable_id()->set_value(a.id());
  resources::parse("cpus:4;mem:4096;disk:10000;ports:[31000-31100]")
    ->to_proto(report.mutable_agent_info()->mutable_resources());
  auto* t = report.add_tasks();
  t->mutable_task_id()->set_value("t1");
  *t->mutable_framework_id() = framework_id;
  t->mutable_agent_id()->set_value(a.id());
  t->set_state(v1::TASK_RUNNING);
  t->set_name("t1");
  resources::parse("cpus:1;mem:128")->allocate("*").to_proto(
    t->mutable_resources());
  *report.add_frameworks() = framework_info("test");
  report.mutable_frameworks(0)->mutable_id()->CopyFrom(framework_id);
  auto log = c.reregister(report);
  CHECK(log->agent_id == a.id());
  // The framework re-subscribes with its id and reconciles.
  auto info = framework_info("test");
  *info.mutable_id() = framework_id;
  auto again = c.add_framework(info);
  REQUIRE(again.log->subscribed.size() == 1);
  CHECK(again.id() == framework_id.value());
  caf::anon_send(again.driver, call::Call::Reconcile{});
  c.ds.run();
  auto t1 = again.log->updates_of("t1");
  REQUIRE(t1.size() == 1);
  CHECK(t1[0].state() == v1::TASK_RUNNING);
  // Its share counts: only the rest of the agent is offered.
  auto offers = again.log->take_offers();
  REQUIRE(!offers.empty());
  CHECK(resources::from_proto(offers.back().resources())->scalar("cpus")
        == 3.0);
}

TEST_CASE("after a master restart, agents that never return are marked "
          "unreachable") {
  auto cfg = test_master_config();
  cfg.agent_reregister_timeout = 30s;
  cluster c{cfg};
  c.use_durable_store();
  c.add_agent();
  caf::anon_send_exit(c.master, caf::exit_reason::kill);
  c.ds.run();
  c.start_master();
  v1::master::Call agents;
  agents.set_type(v1::master::Call::GET_AGENTS);
  CHECK(c.call(agents)->get_agents().recovered_agents_size() == 1);
  c.ds.advance(31s);
  CHECK(c.call(agents)->get_agents().recovered_agents_size() == 0);
  CHECK(c.metric("master/slaves_unreachable") == 1);
}

// -- the SDK follows the master it is told about ------------------------------------

namespace {

using point_atom = caf::atom_constant<caf::atom("point")>;

// A detector the test can point at another master, as a ZooKeeper detector
// would after an election.
using test_detector
  = detector_actor::extend<caf::reacts_to<point_atom, master_actor>>;

struct pointing_state {
  pointing_state() = default; // not an aggregate (see CAF state rule)
  master_actor current;
  std::vector<std::pair<master_actor, caf::typed_response_promise<master_actor>>>
    waiting;
};

test_detector::behavior_type
pointing_detector(test_detector::stateful_pointer<pointing_state> self,
                  master_actor first) {
  self->state.current = first;
  return {
    [self](detect_atom, const master_actor& previous)
      -> caf::result<master_actor> {
      if (self->state.current != previous)
        return self->state.current;
      auto rp = self->make_response_promise<master_actor>();
      self->state.waiting.emplace_back(previous, rp);
      return rp;
    },
    [self](point_atom, const master_actor& next) {
      self->state.current = next;
      for (auto& [previous, rp] : self->state.waiting)
        rp.deliver(next);
      self->state.waiting.clear();
    },
  };
}

} // namespace

TEST_CASE("the SDK reports a lost master and re-subscribes to the next one") {
  cluster c;
  auto detector = c.ds.track(c.ds.sys().spawn(pointing_detector, c.master));
  auto log = std::make_shared<framework_log>();
  auto actor = c.ds.track(spawn_recording_framework(c.ds.sys(), log));
  auto driver = c.ds.track(spawn_scheduler_driver(
    c.ds.sys(), actor, framework_info("follow"),
    caf::actor_cast<detector_actor>(detector)));
  c.ds.run();
  REQUIRE(log->subscribed.size() == 1);
  auto id = log->subscribed[0].framework_id().value();
  caf::anon_send_exit(c.master, caf::exit_reason::kill);
  c.ds.run();
  CHECK(log->disconnected == 1);
  auto next_cfg = c.cfg;
  next_cfg.seed += 1; // another incarnation, another id
  auto next = c.ds.track(spawn_master(c.ds.sys(), next_cfg));
  caf::anon_send(detector, point_atom::value, next);
  c.ds.run();
  REQUIRE(log->subscribed.size() == 2);
  CHECK(log->subscribed[1].framework_id().value() == id); // same framework
  CHECK(log->subscribed[1].master_info().id()
        != log->subscribed[0].master_info().id());
  (void) driver;
}

namespace {

// An actor following the operator event stream, recording what it hears.
struct event_log {
  std::vector<v1::master::Event> events;
  bool ended = false;

  std::vector<v1::master::Event::Type> types() const {
    std::vector<v1::master::Event::Type> out;
    for (const auto& e : events)
      out.push_back(e.type());
    return out;
  }
};

master_subscriber_actor follow_events(cluster& c,
                                      std::shared_ptr<event_log> log) {
  auto actor = c.ds.track(c.ds.sys().spawn(
    [log](master_subscriber_actor::pointer self)
      -> master_subscriber_actor::behavior_type {
      self->attach_functor([log] { log->ended = true; });
      return {[log](const v1::master::Event& e) { log->events.push_back(e); }};
    }));
  auto master = c.master;
  c.ds.sys().spawn([master, actor, log](caf::event_based_actor* self) {
    self->request(master, caf::infinite, subscribe_atom::value, actor)
      .then([log](v1::master::Event& e) { log->events.push_back(e); },
            [](caf::error&) {});
  });
  c.ds.run();
  return actor;
}

} // namespace

TEST_CASE("an actor follows the operator event stream") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096");
  auto log = std::make_shared<event_log>();
  follow_events(c, log);
  REQUIRE(log->events.size() == 1);
  const auto& subscribed = log->events[0];
  REQUIRE(subscribed.type() == v1::master::Event::SUBSCRIBED);
  REQUIRE(subscribed.subscribed().get_state().get_agents().agents_size() == 1);
  CHECK(c.metric("master/operator_event_stream_subscribers") == 1);

  using E = v1::master::Event;
  auto f = c.add_framework();
  auto offer = f.log->take_offers().at(0);
  c.launch(f, offer, {make_task("t1", offer)});
  c.update(a, f, "t1", v1::TASK_RUNNING, "u1");
  c.update(a, f, "t1", v1::TASK_RUNNING, "u2"); // no new state: no event
  c.update(a, f, "t1", v1::TASK_FINISHED, "u3");
  caf::anon_send(f.driver, call::Call::Teardown{});
  c.ds.run();
  CHECK(log->types()
        == std::vector<E::Type>{E::SUBSCRIBED, E::FRAMEWORK_ADDED,
                                E::TASK_ADDED, E::TASK_UPDATED,
                                E::TASK_UPDATED, E::FRAMEWORK_REMOVED});
  CHECK(log->events[2].task_added().task().task_id().value() == "t1");
  CHECK(log->events[3].task_updated().state() == v1::TASK_RUNNING);
  CHECK(log->events[4].task_updated().state() == v1::TASK_FINISHED);
  CHECK(log->events[4].task_updated().framework_id().value() == f.id());
  CHECK(log->events[5].framework_removed().framework_info().id().value()
        == f.id());

  // Heartbeats at the framework heartbeat interval.
  auto before = log->events.size();
  c.ds.advance(c.cfg.framework_heartbeat_interval);
  REQUIRE(log->events.size() == before + 1);
  CHECK(log->events.back().type() == E::HEARTBEAT);
}

TEST_CASE("too many event stream followers: the oldest is closed") {
  auto cfg = test_master_config();
  cfg.max_operator_event_stream_subscribers = 2;
  cluster c{cfg};
  auto first = std::make_shared<event_log>();
  auto second = std::make_shared<event_log>();
  auto third = std::make_shared<event_log>();
  follow_events(c, first);
  follow_events(c, second);
  CHECK_FALSE(first->ended);
  follow_events(c, third);
  CHECK(first->ended);
  CHECK_FALSE(second->ended);
  CHECK_FALSE(third->ended);
  CHECK(c.metric("master/operator_event_stream_subscribers") == 2);
  c.add_agent();
  CHECK(first->events.size() == 1); // SUBSCRIBED only
  CHECK(second->types().back() == v1::master::Event::AGENT_ADDED);
  CHECK(third->types().back() == v1::master::Event::AGENT_ADDED);
}

TEST_CASE("UPDATE_FRAMEWORK changes roles and name; immutable fields and "
          "bad roles are refused with the field named") {
  cluster c;
  c.add_agent("cpus:4;mem:4096");
  auto info = framework_info("before");
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  info.add_roles("a");
  auto f = c.add_framework(info);
  auto offers = f.log->take_offers();
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].allocation_info().role() == "a");

  auto update = [&](v1::FrameworkInfo next) {
    call::Call::UpdateFramework call;
    *call.mutable_framework_info() = std::move(next);
    return c.request<v1::FrameworkInfo>(f.driver, std::move(call));
  };
  auto next = info;
  next.set_name("after");
  next.clear_roles();
  next.add_roles("b");
  auto updated = update(next);
  REQUIRE(updated);
  CHECK(updated->name() == "after");
  CHECK(updated->id().value() == f.id());
  // The role-a offer is void; the next one is for role b.
  REQUIRE(f.log->rescinds.size() == 1);
  CHECK(f.log->rescinds[0].value() == offers[0].id().value());
  c.ds.advance(2s);
  offers = f.log->take_offers();
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].allocation_info().role() == "b");
  v1::master::Call get;
  get.set_type(v1::master::Call::GET_FRAMEWORKS);
  auto fws = c.call(get);
  REQUIRE(fws);
  CHECK(fws->get_frameworks().frameworks(0).framework_info().name() == "after");

  auto other_user = next;
  other_user.set_user("nobody");
  auto refused = update(other_user);
  REQUIRE_FALSE(refused);
  CHECK(describe(refused.error()).find("FrameworkInfo update is not valid: "
                                       "framework_info.user")
        != std::string::npos);
  auto principal = next;
  principal.set_principal("someone");
  CHECK_FALSE(update(principal));
  auto two_roles = next;
  two_roles.clear_capabilities();
  two_roles.add_roles("c");
  refused = update(two_roles);
  REQUIRE_FALSE(refused);
  CHECK(describe(refused.error()).find("Supplied FrameworkInfo is not valid: "
                                       "framework_info.roles")
        != std::string::npos);
  // Nothing changed by the refusals.
  fws = c.call(get);
  CHECK(fws->get_frameworks().frameworks(0).framework_info().user() == "root");
  // A re-subscription that changes the user is refused too.
  auto failover = principal;
  failover.set_principal("");
  failover.clear_principal();
  failover.set_user("nobody");
  *failover.mutable_id() = f.log->subscribed[0].framework_id();
  auto log = std::make_shared<framework_log>();
  auto actor = c.ds.track(spawn_recording_framework(c.ds.sys(), log));
  c.ds.track(spawn_scheduler_driver(c.ds.sys(), actor, failover, c.detector));
  c.ds.run();
  CHECK(log->subscribed.empty());
  REQUIRE(log->errors.size() == 1);
  CHECK(log->errors[0].find("framework_info.user") != std::string::npos);
}

TEST_CASE("operator CREATE_VOLUMES, GROW_VOLUME, SHRINK_VOLUME, "
          "DESTROY_VOLUMES on an agent's reserved disk") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096;disk:1000");
  using v1::master::Call;
  auto level = R"("reservations":[{"type":"DYNAMIC","role":"db","principal":"op"}])";
  auto disk = [&](int size, std::string_view extra = {}) {
    google::protobuf::RepeatedPtrField<v1::Resource> out;
    resources::parse(fmt::format(R"([{{"name":"disk","type":"SCALAR",
      "scalar":{{"value":{}}},{}{}}}])", size, level, extra))
      ->to_proto(&out);
    return out;
  };
  auto volume = [&](int size) {
    return disk(size, R"(,"disk":{"persistence":{"id":"vol1"},
      "volume":{"container_path":"data","mode":"RW"}})");
  };
  auto total = [&] {
    Call get;
    get.set_type(Call::GET_AGENTS);
    return *resources::from_proto(
      c.call(get)->get_agents().agents(0).total_resources());
  };
  auto error_of = [&](const Call& call) {
    auto r = c.call(call);
    REQUIRE_FALSE(r);
    return describe(r.error());
  };
  Call reserve;
  reserve.set_type(Call::RESERVE_RESOURCES);
  reserve.mutable_reserve_resources()->mutable_agent_id()->set_value(a.id());
  *reserve.mutable_reserve_resources()->mutable_resources() = disk(600);
  REQUIRE(c.call(reserve));

  Call create;
  create.set_type(Call::CREATE_VOLUMES);
  create.mutable_create_volumes()->mutable_agent_id()->set_value(a.id());
  *create.mutable_create_volumes()->mutable_volumes() = volume(400);
  REQUIRE(c.call(create));
  auto volumes = total().persistent_volumes();
  REQUIRE(volumes.size() == 1);
  CHECK(volumes.scalar("disk") == 400.0);
  CHECK(error_of(create).find("persistence id 'vol1' already exists")
        != std::string::npos);
  auto elsewhere = create;
  elsewhere.mutable_create_volumes()->mutable_agent_id()->set_value("nope");
  CHECK(error_of(elsewhere).find("agent 'nope' is not registered")
        != std::string::npos);

  Call grow;
  grow.set_type(Call::GROW_VOLUME);
  grow.mutable_grow_volume()->mutable_agent_id()->set_value(a.id());
  *grow.mutable_grow_volume()->mutable_volume() = volume(400)[0];
  *grow.mutable_grow_volume()->mutable_addition() = disk(150)[0];
  REQUIRE(c.call(grow));
  CHECK(total().persistent_volumes().scalar("disk") == 550.0);
  // Only 50 reserved disk is left: growing by 150 again finds it not free.
  *grow.mutable_grow_volume()->mutable_volume() = volume(550)[0];
  CHECK(error_of(grow).find("are not free") != std::string::npos);
  auto unreserved = grow;
  google::protobuf::RepeatedPtrField<v1::Resource> plain;
  resources::parse("disk:10")->to_proto(&plain);
  *unreserved.mutable_grow_volume()->mutable_addition() = plain[0];
  CHECK(error_of(unreserved).find("grow_volume.addition: must be disk of the "
                                  "volume's reservation")
        != std::string::npos);

  Call shrink;
  shrink.set_type(Call::SHRINK_VOLUME);
  shrink.mutable_shrink_volume()->mutable_agent_id()->set_value(a.id());
  *shrink.mutable_shrink_volume()->mutable_volume() = volume(550)[0];
  shrink.mutable_shrink_volume()->mutable_subtract()->set_value(550);
  CHECK(error_of(shrink).find("shrink_volume.subtract: must be less than")
        != std::string::npos);
  shrink.mutable_shrink_volume()->mutable_subtract()->set_value(250);
  REQUIRE(c.call(shrink));
  CHECK(total().persistent_volumes().scalar("disk") == 300.0);
  CHECK(total().reserved("db").scalar("disk") == 600.0);

  Call destroy;
  destroy.set_type(Call::DESTROY_VOLUMES);
  destroy.mutable_destroy_volumes()->mutable_agent_id()->set_value(a.id());
  *destroy.mutable_destroy_volumes()->mutable_volumes() = volume(300);
  REQUIRE(c.call(destroy));
  CHECK(total().persistent_volumes().empty());
  CHECK(total().reserved("db").scalar("disk") == 600.0);
  CHECK(error_of(destroy).find("are not free") != std::string::npos);
  // Each change reached the agent.
  CHECK(a.log->checkpoints.size() == 5);
}

// A framework in role "db" (MULTI_ROLE), and an ACCEPT of its first offer
// that reserves 1 cpu to "db" with operation id `id`.
struct reserving_framework {
  cluster::framework f;
  call::Call::Accept accept;
  v1::Offer offer;
};

reserving_framework reserve_with_id(cluster& c, const std::string& id) {
  auto info = framework_info("ops");
  info.add_roles("db");
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  reserving_framework out{c.add_framework(info), {}, {}};
  out.offer = out.f.log->take_offers().at(0);
  *out.accept.add_offer_ids() = out.offer.id();
  auto* reserve = out.accept.add_operations();
  reserve->set_type(v1::Offer::Operation::RESERVE);
  reserve->mutable_id()->set_value(id);
  resources::parse(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":1},
    "reservations":[{"type":"DYNAMIC","role":"db"}]}])")
    ->to_proto(reserve->mutable_reserve()->mutable_resources());
  return out;
}

// The latest states of the operations GET_OPERATIONS lists.
std::vector<v1::OperationState> listed_operation_states(cluster& c) {
  v1::master::Call get;
  get.set_type(v1::master::Call::GET_OPERATIONS);
  auto ops = c.call(get);
  REQUIRE(ops);
  std::vector<v1::OperationState> states;
  for (const auto& op : ops->get_operations().operations())
    states.push_back(op.latest_status().state());
  return states;
}

// The operation statuses `call` brings `f`, alone.
std::vector<v1::OperationStatus>
reconciled(cluster& c, cluster::framework& f,
           const call::Call::ReconcileOperations& call) {
  f.log->operation_updates.clear();
  caf::anon_send(f.driver, call);
  c.ds.run();
  return f.log->operation_updates;
}

TEST_CASE("operations asking for feedback: applied, finished by the agent, "
          "kept until acknowledged, reconciled; LAUNCH with an id is an "
          "error, an invalid operation with an id OPERATION_ERROR") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096;disk:1000");
  auto [f, accept, offer] = reserve_with_id(c, "reserve-1");
  auto* bad = accept.add_operations();
  bad->set_type(v1::Offer::Operation::UNRESERVE);
  bad->mutable_id()->set_value("unreserve-1");
  resources::parse(R"([{"name":"mem","type":"SCALAR","scalar":{"value":64},
    "reservations":[{"type":"DYNAMIC","role":"db"}]}])")
    ->to_proto(bad->mutable_unreserve()->mutable_resources());
  auto* launch = accept.add_operations();
  launch->set_type(v1::Offer::Operation::LAUNCH);
  launch->mutable_id()->set_value("launch-1");
  *launch->mutable_launch()->add_task_infos() = make_task("t1", offer);
  accept.mutable_filters()->set_refuse_seconds(0);
  caf::anon_send(f.driver, accept);
  c.ds.run();
  // The reservation went to the agent with the operation, and the agent's
  // OPERATION_FINISHED reached the framework, to be acknowledged.
  REQUIRE(a.log->checkpoints.size() == 1);
  REQUIRE(a.log->checkpoints[0].operations_size() == 1);
  CHECK(a.log->checkpoints[0].operations(0).info().id().value()
        == "reserve-1");
  auto updates_for = [&](const std::string& id) {
    std::vector<v1::OperationStatus> out;
    for (const auto& u : f.log->operation_updates)
      if (u.operation_id().value() == id)
        out.push_back(u);
    return out;
  };
  auto errors = updates_for("unreserve-1");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].state() == v1::OPERATION_ERROR);
  CHECK(errors[0].uuid().value().empty()); // nothing to acknowledge
  auto finished = updates_for("reserve-1");
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].state() == v1::OPERATION_FINISHED);
  CHECK(finished[0].agent_id().value() == a.id());
  CHECK(finished[0].uuid().value() == "finished-0000001");
  auto updates = f.log->updates_of("t1");
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].state() == v1::TASK_ERROR);
  CHECK(updates[0].reason() == v1::TaskStatus::REASON_TASK_INVALID);
  // The reservation holds: it is offered again, reserved.
  c.ds.advance(2s);
  auto again = f.log->take_offers();
  REQUIRE(again.size() == 1);
  auto offered = *resources::from_proto(again[0].resources());
  CHECK(offered.reserved("db").scalar("cpus") == 1.0);

  // Until acknowledged, the master keeps it: listed, and reconciled.
  CHECK(listed_operation_states(c)
        == std::vector<v1::OperationState>{v1::OPERATION_FINISHED});
  f.log->operation_updates.clear();
  call::Call::ReconcileOperations reconcile;
  caf::anon_send(f.driver, reconcile); // implicit: every known one
  c.ds.run();
  REQUIRE(f.log->operation_updates.size() == 1);
  CHECK(f.log->operation_updates[0].state() == v1::OPERATION_FINISHED);
  CHECK(f.log->operation_updates[0].uuid().value().empty());
  auto* known = reconcile.add_operations();
  known->mutable_operation_id()->set_value("reserve-1");
  known->mutable_agent_id()->set_value(a.id());
  reconcile.add_operations()->mutable_operation_id()->set_value("x");
  caf::anon_send(f.driver, reconcile);
  c.ds.run();
  REQUIRE(f.log->operation_updates.size() == 3);
  CHECK(f.log->operation_updates[1].state() == v1::OPERATION_FINISHED);
  CHECK(f.log->operation_updates[2].state() == v1::OPERATION_UNKNOWN);

  // An acknowledgement of another status changes nothing; the right one
  // reaches the agent, and the finished operation is forgotten.
  call::Call::AcknowledgeOperationStatus ack;
  ack.mutable_agent_id()->set_value(a.id());
  ack.mutable_operation_id()->set_value("reserve-1");
  ack.set_uuid("finished-0000099");
  caf::anon_send(f.driver, ack);
  c.ds.run();
  CHECK(a.log->operation_acks.empty());
  ack.set_uuid("finished-0000001");
  caf::anon_send(f.driver, ack);
  c.ds.run();
  REQUIRE(a.log->operation_acks.size() == 1);
  CHECK(a.log->operation_acks[0].status_uuid().value() == "finished-0000001");
  CHECK(a.log->operation_acks[0].operation_uuid().value()
        == a.log->checkpoints[0].operations(0).uuid().value());
  CHECK(listed_operation_states(c).empty());
  CHECK(reconciled(c, f, {}).empty()); // implicit
}

TEST_CASE("the pending operations of an agent marked gone are "
          "OPERATION_GONE_BY_OPERATOR") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096;disk:1000");
  a.log->answer_operations = false; // the agent never finishes them
  auto [f, accept, offer] = reserve_with_id(c, "reserve-1");
  caf::anon_send(f.driver, accept);
  c.ds.run();
  CHECK(f.log->operation_updates.empty());
  CHECK(listed_operation_states(c)
        == std::vector<v1::OperationState>{v1::OPERATION_PENDING});
  v1::master::Call gone;
  gone.set_type(v1::master::Call::MARK_AGENT_GONE);
  gone.mutable_mark_agent_gone()->mutable_agent_id()->set_value(a.id());
  REQUIRE(c.call(gone));
  c.ds.run();
  REQUIRE(f.log->operation_updates.size() == 1);
  CHECK(f.log->operation_updates[0].state()
        == v1::OPERATION_GONE_BY_OPERATOR);
  CHECK(listed_operation_states(c).empty());
}

TEST_CASE("the operations of an agent marked unreachable are "
          "OPERATION_UNREACHABLE and forgotten; back, it is not sent them "
          "again") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096;disk:1000");
  a.log->answer_operations = false; // the checkpoint is lost on the way
  auto [f, accept, offer] = reserve_with_id(c, "reserve-1");
  caf::anon_send(f.driver, accept);
  c.ds.run();
  CHECK(listed_operation_states(c)
        == std::vector<v1::OperationState>{v1::OPERATION_PENDING});
  a.log->responsive = false;
  c.ds.advance(4500ms); // three missed pings
  REQUIRE(c.metric("master/slaves_unreachable") == 1);
  REQUIRE(f.log->operation_updates.size() == 1);
  const auto& told = f.log->operation_updates[0];
  CHECK(told.state() == v1::OPERATION_UNREACHABLE);
  CHECK(told.operation_id().value() == "reserve-1");
  CHECK(told.agent_id().value() == a.id());
  CHECK(told.uuid().value().empty()); // nothing to acknowledge
  CHECK(listed_operation_states(c).empty());
  // Its retried status is dropped until it has re-registered.
  REQUIRE(a.log->checkpoints.size() == 1);
  REQUIRE(a.log->checkpoints[0].operations_size() == 1);
  v1::internal::UpdateOperationStatus finished;
  *finished.mutable_operation() = a.log->checkpoints[0].operations(0);
  auto* status = finished.mutable_operation()->mutable_latest_status();
  status->set_state(v1::OPERATION_FINISHED);
  status->mutable_uuid()->set_value("finished-0000001");
  caf::anon_send(c.master, finished);
  c.ds.run();
  CHECK(f.log->operation_updates.size() == 1);
  CHECK(listed_operation_states(c).empty());

  // Reconciliation answers from the agent's state, as Mesos.
  CHECK(reconciled(c, f, {}).empty()); // implicit
  call::Call::ReconcileOperations explicit_;
  auto* asked = explicit_.add_operations();
  asked->mutable_operation_id()->set_value("reserve-1");
  asked->mutable_agent_id()->set_value(a.id());
  auto answers = reconciled(c, f, explicit_);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state() == v1::OPERATION_UNREACHABLE);

  // The agent comes back without the reservation: the master takes its
  // resources as they are, and does not send it the forgotten operation
  // (it would answer OPERATION_FINISHED for a reservation it lacks).
  v1::internal::ReregisterAgent report;
  report.mutable_agent_info()->set_hostname("node");
  report.mutable_agent_info()->mutable_id()->set_value(a.id());
  resources::parse("cpus:4;mem:4096;disk:1000")
    ->to_proto(report.mutable_agent_info()->mutable_resources());
  auto log = c.reregister(report);
  REQUIRE(log->agent_id == a.id());
  for (const auto& checkpoint : log->checkpoints)
    CHECK(checkpoint.operations_size() == 0);
  answers = reconciled(c, f, explicit_);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state() == v1::OPERATION_UNKNOWN);
  // Had it applied the operation, its retried status now counts again.
  caf::anon_send(c.master, finished);
  c.ds.run();
  REQUIRE(f.log->operation_updates.size() == 2);
  CHECK(f.log->operation_updates[1].state() == v1::OPERATION_FINISHED);
  CHECK(listed_operation_states(c)
        == std::vector<v1::OperationState>{v1::OPERATION_FINISHED});
}

TEST_CASE("an agent taken down for maintenance takes its operations "
          "along, OPERATION_GONE_BY_OPERATOR; one that unregisters, "
          "silently, as in Mesos") {
  cluster c;
  auto a = c.add_agent("cpus:4;mem:4096;disk:1000");
  a.log->answer_operations = false;
  auto [f, accept, offer] = reserve_with_id(c, "reserve-1");
  caf::anon_send(f.driver, accept);
  c.ds.run();
  REQUIRE(listed_operation_states(c)
          == std::vector<v1::OperationState>{v1::OPERATION_PENDING});
  SUBCASE("maintenance") {
    v1::master::Call schedule;
    schedule.set_type(v1::master::Call::UPDATE_MAINTENANCE_SCHEDULE);
    auto* window = schedule.mutable_update_maintenance_schedule()
                     ->mutable_schedule()->add_windows();
    window->add_machine_ids()->set_hostname("node");
    window->mutable_unavailability()->mutable_start()->set_nanoseconds(
      1'000'000'000'000);
    REQUIRE(c.call(schedule));
    v1::master::Call down;
    down.set_type(v1::master::Call::START_MAINTENANCE);
    down.mutable_start_maintenance()->add_machines()->set_hostname("node");
    REQUIRE(c.call(down));
    c.ds.run();
    REQUIRE(f.log->operation_updates.size() == 1);
    CHECK(f.log->operation_updates[0].state()
          == v1::OPERATION_GONE_BY_OPERATOR);
  }
  SUBCASE("unregistered") {
    caf::anon_send(c.master, unregister_atom::value, offer.agent_id());
    c.ds.run();
    CHECK(f.log->operation_updates.empty());
  }
  CHECK(listed_operation_states(c).empty());
}

