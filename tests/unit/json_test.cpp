#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/wire_types.hpp"

using namespace dcos;

TEST_CASE("Mesos style: snake_case, enums by name, numbers stay numbers") {
  v1::TaskStatus status;
  status.mutable_task_id()->set_value("t1");
  status.set_state(v1::TASK_RUNNING);
  status.set_reason(v1::TaskStatus::REASON_RECONCILIATION);
  status.set_timestamp(1.5);
  status.set_uuid(std::string("\x01\x02\x03", 3));
  status.mutable_container_status()->add_network_infos()
    ->add_ip_addresses()->set_ip_address("10.0.0.2");
  auto json = to_json(status);
  CHECK(json == R"({"task_id":{"value":"t1"},"state":"TASK_RUNNING",)"
                R"("timestamp":1.5,"reason":"REASON_RECONCILIATION",)"
                R"("uuid":"AQID","container_status":{"network_infos":)"
                R"([{"ip_addresses":[{"ip_address":"10.0.0.2"}]}]}})");
  v1::TaskStatus back;
  REQUIRE_FALSE(from_json(json, &back, "status"));
  CHECK(back.SerializeAsString() == status.SerializeAsString());
}

TEST_CASE("Marathon style uses camelCase names and prints empty lists") {
  v1::FrameworkInfo info;
  info.set_failover_timeout(60);
  info.add_roles("web");
  CHECK(to_json(info, json_style::marathon)
        == R"({"failoverTimeout":60,"capabilities":[],"roles":["web"]})");
  v1::FrameworkInfo back;
  REQUIRE_FALSE(from_json(R"({"failoverTimeout":60,"roles":["web"]})", &back,
                          "framework"));
  CHECK(back.failover_timeout() == 60);
}

TEST_CASE("64-bit integers print as JSON numbers") {
  v1::Value::Range range;
  range.set_begin(31000);
  range.set_end(18446744073709551615ULL);
  CHECK(to_json(range) == R"({"begin":31000,"end":18446744073709551615})");
}

TEST_CASE("strings are escaped") {
  v1::Label label;
  label.set_key("a\"b\\c\n\x01");
  CHECK(to_json(label) == R"({"key":"a\"b\\c\n\u0001"})");
}

TEST_CASE("parse errors name what was parsed and leave the message empty") {
  v1::TaskInfo task;
  task.set_name("x");
  auto err = from_json(R"({"name": 5, "bogus": true})", &task, "request body");
  REQUIRE(err);
  CHECK(code_of(err) == errc::parse_error);
  CHECK(describe(err).rfind("parse_error: request body: ", 0) == 0);
  CHECK(task.name().empty());
}
