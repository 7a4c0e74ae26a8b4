// Wire messages between two OS processes over CAF's network layer (BASP on
// loopback): they arrive intact, and a corrupt payload is rejected without
// harming the receiver.
#include <cstdlib>

#include <caf/io/all.hpp>
#include <doctest/doctest.h>

#include "support/checks.hpp"

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/subprocess.hpp"
#include "support/seed.hpp"
#include "support/wire_echo.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;

namespace {

// Starts wire_peer and returns it with its port.
std::pair<subprocess, uint16_t> start_peer() {
  const char* path = std::getenv("DCOS_WIRE_PEER");
  REQUIRE_MESSAGE(path != nullptr, "DCOS_WIRE_PEER is not set");
  subprocess_options opts;
  opts.argv = {path};
  opts.capture_stdout = true;
  auto peer = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(peer);
  auto line = peer->read_line(20s);
  DCOS_REQUIRE_OK(line);
  REQUIRE(line->rfind("PORT ", 0) == 0);
  auto port = static_cast<uint16_t>(std::stoi(line->substr(5)));
  return {std::move(*peer), port};
}

struct client {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  client() {
    register_types(cfg);
    cfg.load<caf::io::middleman>();
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

template <class T>
void check_round_trip(caf::scoped_actor& self, const wire_echo_actor& peer,
                      const T& msg) {
  self->request(peer, 10s, echo_atom::value, msg)
    .receive(
      [&](const T& back, const std::string& peer_json) {
        CHECK(back.SerializeAsString() == msg.SerializeAsString());
        CHECK(peer_json == to_json(msg)); // the peer decoded the same content
      },
      [&](const caf::error& err) { FAIL("request failed: " << to_string(err)); });
}

v1::TaskInfo rich_task(int i) {
  v1::TaskInfo task;
  task.set_name("task-" + std::to_string(i));
  task.mutable_task_id()->set_value("id-" + std::to_string(i));
  task.mutable_agent_id()->set_value("agent-1");
  auto* cmd = task.mutable_command();
  cmd->set_value("echo hello; sleep 1");
  auto* uri = cmd->add_uris();
  uri->set_value("http://example.invalid/a.tgz");
  uri->set_extract(false);
  auto* var = cmd->mutable_environment()->add_variables();
  var->set_name("GREETING");
  var->set_value(std::string(static_cast<size_t>(i % 7), 'x') + "ünïcode");
  auto* r = task.add_resources();
  r->set_name("ports");
  r->set_type(v1::Value::RANGES);
  auto* range = r->mutable_ranges()->add_range();
  range->set_begin(31000);
  range->set_end(31000 + static_cast<uint64_t>(i));
  auto* hc = task.mutable_health_check();
  hc->set_type(v1::HealthCheck::HTTP);
  hc->mutable_http()->set_port(8080);
  hc->set_consecutive_failures(5);
  task.set_data(std::string(static_cast<size_t>(i) * 31, '\0'));
  auto* port = task.mutable_discovery()->mutable_ports()->add_ports();
  port->set_number(8080);
  port->set_name("http");
  return task;
}

} // namespace

TEST_CASE("wire messages cross process boundaries intact") {
  auto [peer_process, port] = start_peer();
  client c;
  auto peer = c.sys->middleman().remote_actor<wire_echo_actor>("127.0.0.1",
                                                               port);
  if (!peer)
    FAIL(c.sys->render(peer.error()));
  caf::scoped_actor self{*c.sys};

  for (int i = 0; i < 50; ++i)
    check_round_trip(self, *peer, rich_task(i));

  v1::TaskGroupInfo group;
  for (int i = 0; i < 3; ++i)
    *group.add_tasks() = rich_task(i);
  check_round_trip(self, *peer, group);

  v1::Offer offer;
  offer.mutable_id()->set_value("o1");
  offer.mutable_framework_id()->set_value("f1");
  offer.set_hostname("node-1");
  offer.mutable_domain()->mutable_fault_domain()->mutable_region()->set_name(
    "eu");
  auto* reserved = offer.add_resources();
  reserved->set_name("disk");
  reserved->set_type(v1::Value::SCALAR);
  reserved->mutable_scalar()->set_value(100.125);
  auto* level = reserved->add_reservations();
  level->set_type(v1::Resource::ReservationInfo::DYNAMIC);
  level->set_role("db");
  level->set_principal("ops");
  reserved->mutable_disk()->mutable_persistence()->set_id("vol-1");
  check_round_trip(self, *peer, offer);

  v1::TaskStatus status;
  status.mutable_task_id()->set_value("id-1");
  status.set_state(v1::TASK_UNREACHABLE);
  status.set_reason(v1::TaskStatus::REASON_AGENT_DISCONNECTED);
  status.set_uuid(std::string("\x00\x01\xfe\xff", 4));
  status.set_healthy(false);
  check_round_trip(self, *peer, status);

  v1::FrameworkInfo framework;
  framework.set_user("root");
  framework.set_name("example");
  framework.set_failover_timeout(3600);
  framework.add_capabilities()->set_type(
    v1::FrameworkInfo::Capability::PARTITION_AWARE);
  check_round_trip(self, *peer, framework);

  v1::AgentInfo agent;
  agent.set_hostname("node-1");
  agent.set_port(5051);
  check_round_trip(self, *peer, agent);

  CHECK(peer_process.poll() == std::nullopt); // still running
  CHECK(peer_process.terminate() == 0);       // clean shutdown on SIGTERM
}

// -- corrupt payloads ----------------------------------------------------------

namespace {

// A type that claims, on the wire, to be a dcos.v1.TaskInfo but carries
// arbitrary bytes.
struct forged_task_info {
  std::string bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forged_task_info& x) {
  return f(x.bytes);
}

// CAF checks the whole interface when connecting, so the forger mirrors the
// peer's, with the forged type in place of TaskInfo.
using forged_echo_actor = caf::typed_actor<
  echo_of<forged_task_info>, echo_of<v1::TaskGroupInfo>, echo_of<v1::Offer>,
  echo_of<v1::TaskStatus>, echo_of<v1::FrameworkInfo>, echo_of<v1::AgentInfo>>;

} // namespace

TEST_CASE("a corrupt payload is rejected; the receiver keeps serving") {
  auto [peer_process, port] = start_peer();

  // The forger: an actor system that registers the fake type under the real
  // type's name, so its bytes reach the peer as a "TaskInfo".
  caf::actor_system_config forger_cfg;
  register_types(forger_cfg);
  forger_cfg.add_message_type<forged_task_info>("dcos.v1.TaskInfo");
  forger_cfg.load<caf::io::middleman>();
  caf::actor_system forger{forger_cfg};
  auto target = forger.middleman().remote_actor<forged_echo_actor>("127.0.0.1",
                                                                   port);
  if (!target)
    FAIL(forger.render(target.error()));
  caf::scoped_actor forger_self{forger};
  DCOS_TEST_SEED_INFO();
  std::mt19937_64 rng{test_seed()};
  int rejected = 0;
  for (int i = 0; i < 5; ++i) {
    // Field 1 claims more bytes than follow: never a valid encoding.
    forged_task_info forged{std::string("\x0a\x7f", 2)};
    for (int k = 0; k < 8; ++k)
      forged.bytes += static_cast<char>(rng());
    // Untyped, so that any answer at all would be caught below.
    forger_self->request(caf::actor_cast<caf::actor>(*target), 2s,
                         echo_atom::value, forged)
      .receive(
        [&](const v1::TaskInfo& task, const std::string&) {
          FAIL("a corrupt payload was answered: " << task.ShortDebugString());
        },
        [&](const caf::error& err) {
          // The inspector's corrupt_payload error stops CAF from decoding the
          // message, so no handler of the peer ever sees it; the peer answers
          // the request with an error at once (no timeout needed).
          CHECK_MESSAGE(err == caf::sec::unexpected_message,
                        forger.render(err));
          ++rejected;
        });
  }
  CHECK(rejected == 5);

  // The peer is alive and still answers well-formed messages.
  CHECK(peer_process.poll() == std::nullopt);
  client c;
  auto peer = c.sys->middleman().remote_actor<wire_echo_actor>("127.0.0.1",
                                                               port);
  REQUIRE(peer);
  caf::scoped_actor self{*c.sys};
  check_round_trip(self, *peer, rich_task(7));
  CHECK(peer_process.terminate() == 0);
}
