#include <set>
#include <sstream>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <google/protobuf/descriptor.h>

#include "dcos/error.hpp"
#include "dcos/type_bridge.hpp"
#include "dcos/wire_types.hpp"

using namespace dcos;

namespace {

v1::TaskInfo sample_task() {
  v1::TaskInfo task;
  task.set_name("web");
  task.mutable_task_id()->set_value("web.1");
  task.mutable_command()->set_value("python3 -m http.server $PORT0");
  auto* r = task.add_resources();
  r->set_name("cpus");
  r->set_type(v1::Value::SCALAR);
  r->mutable_scalar()->set_value(0.5);
  return task;
}

} // namespace

TEST_CASE("a message survives CAF's binary serializer") {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto task = sample_task();
  REQUIRE_FALSE(sink(task));
  v1::TaskInfo back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(back));
  CHECK(back.SerializeAsString() == task.SerializeAsString());
}

TEST_CASE("a corrupt payload is an error naming the type") {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  // A length-prefixed byte string that is not a valid TaskInfo encoding:
  // field 1 (name) claims 100 bytes but only 2 follow.
  std::string garbage = "\x0a\x64xy";
  REQUIRE_FALSE(sink(garbage));
  v1::TaskInfo back;
  caf::binary_deserializer source{sys, buf};
  auto err = source(back);
  REQUIRE(err);
  CHECK(code_of(err) == errc::corrupt_payload);
  CHECK(describe(err) == "corrupt_payload: 4 bytes are not a valid "
                         "dcos.v1.TaskInfo");
  // Truncated input fails inside CAF before our parser runs: still an error.
  buf.resize(2);
  caf::binary_deserializer short_source{sys, buf};
  CHECK(short_source(back));
}

TEST_CASE("every top-level message of the schema is registered") {
  caf::actor_system_config cfg;
  register_types(cfg);
  std::set<std::string> registered;
  for (auto& [rtti, name] : cfg.type_names_by_rtti)
    registered.insert(name);
  std::istringstream names{DCOS_PROTO_NAMES};
  std::string name;
  int checked = 0;
  while (std::getline(names, name, ',')) {
    auto* file = google::protobuf::DescriptorPool::generated_pool()
                   ->FindFileByName("dcos/v1/" + name + ".proto");
    REQUIRE_MESSAGE(file != nullptr, name);
    for (int i = 0; i < file->message_type_count(); ++i) {
      auto full = file->message_type(i)->full_name();
      CHECK_MESSAGE(registered.count(full) == 1,
                    full << " is missing from dcos/wire_types.hpp");
      ++checked;
    }
  }
  CHECK(checked > 40);
}

TEST_CASE("typed actors exchange protobuf messages in process") {
  using ping_atom = caf::atom_constant<caf::atom("ping")>;
  using echo_actor = caf::typed_actor<
    caf::replies_to<ping_atom, v1::TaskInfo>::with<v1::TaskStatus>>;
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto echo = sys.spawn([]() -> echo_actor::behavior_type {
    return {[](ping_atom, const v1::TaskInfo& task) {
      v1::TaskStatus status;
      *status.mutable_task_id() = task.task_id();
      status.set_state(v1::TASK_RUNNING);
      return status;
    }};
  });
  caf::scoped_actor self{sys};
  self->request(echo, caf::infinite, ping_atom::value, sample_task())
    .receive(
      [](const v1::TaskStatus& status) {
        CHECK(status.task_id().value() == "web.1");
        CHECK(status.state() == v1::TASK_RUNNING);
      },
      [](const caf::error& err) { FAIL(caf::to_string(err)); });
  auto text = caf::deep_to_string(sample_task());
  CHECK(text.rfind("dcos.v1.TaskInfo(", 0) == 0);
  CHECK(text.find("web.1") != std::string::npos);
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}
