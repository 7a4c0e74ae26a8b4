// Metrics as Mesos publishes them, and the legacy JSON pieces the master's
// and agents' /state share.
#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/mesos_json.hpp"
#include "dcos/metrics.hpp"
#include "dcos/resources.hpp"

using namespace dcos;

TEST_CASE("a task state's metric name is Mesos'") {
  CHECK(task_state_metric("master/", v1::TASK_RUNNING)
        == "master/tasks_running");
  CHECK(task_state_metric("slave/", v1::TASK_GONE_BY_OPERATOR)
        == "slave/tasks_gone_by_operator");
}

TEST_CASE("a snapshot is served as JSON and as Prometheus text") {
  metrics_snapshot m;
  add_metric(m, "master/tasks_running", 3);
  add_metric(m, "allocator/offer_filters/active", 0.5);
  CHECK(snapshot_json(m)
        == R"({"master/tasks_running":3,"allocator/offer_filters/active":0.5})");
  CHECK(prometheus_text(m)
        == "# TYPE master_tasks_running gauge\nmaster_tasks_running 3\n"
           "# TYPE allocator_offer_filters_active gauge\n"
           "allocator_offer_filters_active 0.5\n");
  auto json = metrics_response(m, false);
  CHECK(json.content_type == "application/json");
  CHECK(json.body == snapshot_json(m));
  auto text = metrics_response(m, true);
  CHECK(text.content_type == "text/plain; version=0.0.4");
  CHECK(text.body == prometheus_text(m));
}

TEST_CASE("route_metrics serves both endpoints from one source, and its "
          "error") {
  bool fail = false;
  int asked = 0;
  http_router routes;
  route_metrics(routes, [&](auto done) {
    ++asked;
    if (fail) {
      done(make_error(errc::unavailable, "the daemon is starting"));
      return;
    }
    metrics_snapshot m;
    add_metric(m, "x/y", 1);
    done(std::move(m));
  });
  auto handler = std::move(routes).handler();
  auto get = [&](std::string path) {
    http_request req;
    req.method = "GET";
    req.path = std::move(path);
    http_response out;
    handler(std::move(req), [&out](http_response r) { out = std::move(r); });
    return out;
  };
  CHECK(get("/metrics/snapshot").body == R"({"x/y":1})");
  CHECK(get("/metrics").body == "# TYPE x_y gauge\nx_y 1\n");
  CHECK(asked == 2);
  fail = true;
  CHECK(get("/metrics").status == 503);
}

TEST_CASE("resources in legacy JSON: scalars, ranges and sets summed over "
          "roles; the four kinds always there") {
  auto rs = resources::parse(
    "cpus:2;cpus(web):1.5;ports:[31000-31005,31010-31010];disk(web):10");
  REQUIRE(rs);
  google::protobuf::RepeatedPtrField<v1::Resource> wire;
  rs->to_proto(&wire);
  json_writer w;
  write_resources_object(w, wire);
  CHECK(w.str()
        == R"({"cpus":3.5,"mem":0,"disk":10,"gpus":0,)"
           R"("ports":"[31000-31005, 31010-31010]"})");
}

TEST_CASE("attributes and status entries in legacy JSON") {
  google::protobuf::RepeatedPtrField<v1::Attribute> attrs;
  auto* rack = attrs.Add();
  rack->set_name("rack");
  rack->set_type(v1::Value::TEXT);
  rack->mutable_text()->set_value("r1");
  auto* level = attrs.Add();
  level->set_name("level");
  level->set_type(v1::Value::SCALAR);
  level->mutable_scalar()->set_value(2);
  auto* ports = attrs.Add();
  ports->set_name("ports");
  ports->set_type(v1::Value::RANGES);
  auto* r = ports->mutable_ranges()->add_range();
  r->set_begin(1);
  r->set_end(2);
  auto* zones = attrs.Add();
  zones->set_name("zones");
  zones->set_type(v1::Value::SET);
  zones->mutable_set()->add_item("a");
  zones->mutable_set()->add_item("b");
  json_writer w;
  write_attributes_object(w, attrs);
  CHECK(w.str()
        == R"({"rack":"r1","level":2,"ports":"[1-2]","zones":"{a, b}"})");
  v1::TaskStatus status;
  status.set_state(v1::TASK_RUNNING);
  status.set_timestamp(1.5);
  status.set_healthy(true);
  json_writer s;
  write_status_entry(s, status);
  CHECK(s.str()
        == R"({"state":"TASK_RUNNING","timestamp":1.5,"healthy":true})");
}
