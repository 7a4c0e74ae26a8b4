// dcos masters: who leads, and who stands by.
//
// With zk://, every master contending in the election (the leader first), as
// read from ZooKeeper; with HOST:PORT, the leader that master names (a
// standby answers /master/redirect with the leader).
#include <cstdio>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "cli.hpp"
#include "dcos/detector_actor.hpp"
#include "dcos/election_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"

namespace dcos::cli {

namespace {

constexpr auto census_timeout = std::chrono::seconds(10);

// The election members' data (MasterInfo as JSON), the leader's first.
caf::expected<std::vector<std::string>> contenders(const zk_url& url) {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto election = spawn_zk_election(sys, url);
  caf::scoped_actor self{sys};
  caf::expected<std::vector<std::string>> out{std::vector<std::string>{}};
  self->request(election, census_timeout, members_atom::value)
    .receive([&](std::vector<std::string>& data) { out = std::move(data); },
             [&](caf::error& err) {
               out = err == caf::sec::request_timeout
                       ? make_error(errc::unavailable,
                                    fmt::format("no answer from ZooKeeper at "
                                                "{} within {} s",
                                                url.to_string(),
                                                census_timeout.count()))
                       : std::move(err);
             });
  self->send_exit(election, caf::exit_reason::user_shutdown);
  return out;
}

// The leader's MasterInfo as JSON, asking HOST:PORT (a standby names it).
caf::expected<std::string> leader_of(const std::string& address) {
  auto reply = get_reply(address, "/master/redirect");
  if (!reply)
    return reply.error();
  auto location = reply->header("location");
  if (reply->status != 307 || location.empty())
    return make_error(errc::unavailable,
                      fmt::format("{}/master/redirect answered {} without "
                                  "naming a leader",
                                  address, reply->status));
  // "http://HOST:PORT" (Mesos writes "//HOST:PORT").
  auto leader = location.substr(location.find("//") + 2);
  if (auto slash = leader.find('/'); slash != std::string::npos)
    leader.resize(slash);
  auto r = operator_call(leader, v1::master::Call::GET_MASTER);
  if (!r)
    return r.error();
  return to_json(r->get_master().master_info());
}

} // namespace

int masters(int argc, char** argv) {
  std::string master = "127.0.0.1:5050";
  bool json = false;
  flags f{"dcos masters [--master=HOST:PORT|zk://HOSTS/PATH] [--json]",
          "Lists the masters and which one leads. With zk:// every master "
          "in the election is listed, the leader first; with HOST:PORT only "
          "the leader that master names."};
  f.add(&master, "master", "HOST:PORT of a master, or zk://HOSTS/PATH");
  f.add(&json, "json", "print each master's MasterInfo as JSON, one per "
                       "line, the leader first");
  parse_or_exit(f, argc, argv);
  auto where = parse_master_location(master);
  if (!where)
    return usage_error(describe_reason(where.error()));
  caf::expected<std::vector<std::string>> found{std::vector<std::string>{}};
  if (where->zk) {
    found = contenders(*where->zk);
  } else if (auto leader = leader_of(fmt::format("{}:{}", where->host,
                                                 where->port))) {
    found = std::vector<std::string>{std::move(*leader)};
  } else {
    found = leader.error();
  }
  if (!found) {
    std::fprintf(stderr, "dcos masters: %s\n",
                 describe_reason(found.error()).c_str());
    return 1;
  }
  if (json) {
    for (const auto& data : *found)
      std::puts(data.c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
    {"ADDRESS", "ID", "HOSTNAME", "LEADER"}};
  for (size_t i = 0; i < found->size(); ++i) {
    const auto& data = (*found)[i];
    v1::MasterInfo info;
    // Mesos' masters write fields this version may not know: skip those.
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    (void)google::protobuf::util::JsonStringToMessage(data, &info, options);
    auto endpoint = master_http_endpoint(data);
    rows.push_back({endpoint ? fmt::format("{}:{}", endpoint->first,
                                           endpoint->second)
                             : std::string{"?"},
                    info.id().empty() ? "?" : info.id(),
                    info.hostname().empty() ? "?" : info.hostname(),
                    i == 0 ? "true" : "false"});
  }
  print_table(rows);
  return 0;
}

} // namespace dcos::cli
