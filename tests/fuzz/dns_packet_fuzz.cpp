// The DNS packet path of dcos-dns (answer_query: ldns parsing, the lookup,
// the reply with truncation) as a fuzz target.
//
// libFuzzer: LLVMFuzzerTestOneInput is the entry point; build this file
// with clang++ -fsanitize=fuzzer,address and the mesos-dns sources to fuzz
// for real. Without libFuzzer, dns_fuzz_smoke.cpp drives it with seeded
// mutations of valid queries (the short smoke CI runs).
//
// Every input must end in a reply that ldns reads back, or in nothing; a
// crash, a hang or an unreadable reply is a finding.
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

// ldns defines `bool` as a macro unless stdbool.h came first.
#include <stdbool.h>
#include <ldns/ldns.h>

#include "dns_answer.hpp"
#include "record_set.hpp"

namespace {

using namespace dcos;
using namespace dcos::mesos_dns;

struct fixture {
  dns_settings settings;
  record_set records;

  fixture() {
    auto cfg = default_config();
    cfg.set_listener("127.0.0.1");
    settings = *make_settings(cfg);
    v1::master::Response::GetState state;
    auto* agent = state.mutable_get_agents()->add_agents();
    agent->mutable_agent_info()->mutable_id()->set_value("a-S0");
    agent->set_pid("slave(1)@10.0.0.1:5051");
    auto* f = state.mutable_get_frameworks()->add_frameworks();
    f->mutable_framework_info()->mutable_id()->set_value("fw");
    f->mutable_framework_info()->set_name("marathon");
    for (int i = 0; i < 300; ++i) {
      auto* t = state.mutable_get_tasks()->add_tasks();
      t->set_name(i % 2 ? "web" : "db");
      t->mutable_task_id()->set_value("t" + std::to_string(i));
      t->mutable_framework_id()->set_value("fw");
      t->mutable_agent_id()->set_value("a-S0");
      t->set_state(v1::TASK_RUNNING);
      auto* r = t->add_resources();
      r->set_name("ports");
      auto* range = r->mutable_ranges()->add_range();
      range->set_begin(31000 + i);
      range->set_end(31000 + i);
    }
    v1::MasterInfo leader;
    leader.mutable_address()->set_ip("10.0.0.100");
    leader.mutable_address()->set_port(5050);
    records = record_set::build(state, leader, settings);
  }
};

const fixture& the_fixture() {
  static const fixture f;
  return f;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& f = the_fixture();
  static std::minstd_rand rng{1};
  std::string_view packet(reinterpret_cast<const char*>(data), size);
  for (auto transport : {dns_transport::udp, dns_transport::tcp}) {
    auto out = answer_query(packet, f.records, f.settings, 1, transport, rng);
    if (out.action != dns_outcome::reply)
      continue;
    ldns_pkt* reply = nullptr;
    if (ldns_wire2pkt(&reply, reinterpret_cast<const uint8_t*>(out.wire.data()),
                      out.wire.size())
        != LDNS_STATUS_OK)
      std::abort(); // we wrote a reply we cannot read
    ldns_pkt_free(reply);
    if (transport == dns_transport::udp && out.wire.size() > 4096)
      std::abort(); // larger than any UDP client takes
  }
  return 0;
}
