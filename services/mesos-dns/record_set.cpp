#include "record_set.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include <boost/asio/ip/address.hpp>
#include <boost/uuid/detail/sha1.hpp>
#include <fmt/format.h>

#include "dcos/vip_table.hpp"
#include "dns_labels.hpp"

namespace dcos::mesos_dns {

namespace {

using GetState = v1::master::Response::GetState;

// Mesos-DNS' short task hash: the first 5 characters of the z-base-32
// encoding of the task id's SHA-1 (the first 25 bits of the digest).
std::string task_hash(const std::string& task_id) {
  boost::uuids::detail::sha1 sha;
  sha.process_bytes(task_id.data(), task_id.size());
  boost::uuids::detail::sha1::digest_type digest;
  sha.get_digest(digest);
  static constexpr char alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
  uint32_t first = digest[0]; // the digest's first four bytes, big-endian
  std::string out;
  for (int i = 0; i < 5; ++i)
    out += alphabet[(first >> (27 - 5 * i)) & 0x1f];
  return out;
}

// The last dash-separated part of an agent id, lower case ("S3" -> "s3").
std::string agent_id_tail(const std::string& agent_id) {
  auto dash = agent_id.rfind('-');
  std::string tail
    = dash == std::string::npos ? agent_id : agent_id.substr(dash + 1);
  for (auto& c : tail)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail;
}

bool is_ip(const std::string& text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(text, ec);
  return !ec;
}

bool is_ipv4(const std::string& ip) {
  return boost::asio::ip::make_address(ip).is_v4();
}

// "HOST:PORT" -> HOST and PORT ("" if absent).
std::pair<std::string, std::string> split_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return {text, ""};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

// "name@HOST:PORT" -> HOST and PORT ("" if absent).
std::pair<std::string, std::string> pid_host_port(const std::string& pid) {
  auto at = pid.find('@');
  return split_host_port(at == std::string::npos ? pid : pid.substr(at + 1));
}

// Where an agent is: its pid's host (the address it told the master), else
// its hostname; an address if either is one, else the name to look up.
std::pair<std::string, std::string>
agent_host_port(const v1::master::Response::GetAgents::Agent& agent) {
  auto [host, port] = pid_host_port(agent.pid());
  const auto& hostname = agent.agent_info().hostname();
  if (!is_ip(host) && (is_ip(hostname) || host.empty()))
    host = hostname;
  if (port.empty() && agent.agent_info().port() > 0)
    port = std::to_string(agent.agent_info().port());
  return {host, port};
}

// Where the leading master is: its address' IP, else its pid's host, else
// its hostname.
std::pair<std::string, std::string>
leader_host_port(const v1::MasterInfo& leader) {
  std::string host = leader.address().ip();
  std::string port = leader.address().port() > 0
                       ? std::to_string(leader.address().port())
                       : std::string{};
  if (host.empty())
    std::tie(host, port) = pid_host_port(leader.pid());
  if (host.empty())
    host = !leader.address().hostname().empty() ? leader.address().hostname()
                                                 : leader.hostname();
  return {host, port};
}

// The task's latest TASK_RUNNING status, if any.
const v1::TaskStatus* running_status(const v1::Task& task) {
  const v1::TaskStatus* best = nullptr;
  for (const auto& s : task.statuses())
    if (s.state() == v1::TASK_RUNNING
        && (best == nullptr || s.timestamp() >= best->timestamp()))
      best = &s;
  return best;
}

std::vector<std::string> label_values(const v1::TaskStatus& status,
                                      const std::string& key) {
  std::vector<std::string> out;
  for (const auto& label : status.labels().labels())
    if (label.key() == key)
      out.push_back(label.value());
  return out;
}

std::vector<std::string> source_ips(const v1::Task& task,
                                    const std::string& source,
                                    const std::vector<std::string>& agent_ips) {
  if (source == "host")
    return agent_ips;
  const auto* status = running_status(task);
  if (status == nullptr)
    return {};
  if (source == "netinfo") {
    std::vector<std::string> out;
    for (const auto& network : status->container_status().network_infos())
      for (const auto& address : network.ip_addresses())
        if (!address.ip_address().empty())
          out.push_back(address.ip_address());
    return out;
  }
  if (source == "mesos")
    return label_values(*status, "MesosContainerizer.NetworkSettings.IPAddress");
  if (source == "docker")
    return label_values(*status, "Docker.NetworkSettings.IPAddress");
  return {};
}

// The task's addresses from the first source that gives any.
std::vector<std::string> task_ips(const v1::Task& task,
                                  const dns_settings& settings,
                                  const std::vector<std::string>& agent_ips) {
  for (const auto& source : settings.config.ip_sources()) {
    std::vector<std::string> ips;
    for (auto& ip : source_ips(task, source, agent_ips))
      if (is_ip(ip))
        ips.push_back(std::move(ip));
    if (!ips.empty())
      return ips;
  }
  return {};
}

std::vector<uint16_t> host_ports(const v1::Task& task) {
  std::vector<uint16_t> out;
  for (const auto& r : task.resources())
    if (r.name() == "ports")
      for (const auto& range : r.ranges().range())
        for (auto p = range.begin(); p <= range.end() && p <= 65535; ++p)
          out.push_back(static_cast<uint16_t>(p));
  return out;
}

} // namespace

// Builds one record_set; a class so that the generator's steps share the
// settings and the agents' addresses.
class record_builder {
public:
  record_builder(record_set& out, const dns_settings& settings,
                 const zone_inputs& inputs)
    : out_(out), s_(settings), inputs_(inputs),
      spec_(settings.config.enforce_rfc952() ? label_spec::rfc952
                                             : label_spec::rfc1123),
      tail_("." + settings.zone) {
  }

  void run(const GetState& state, const v1::MasterInfo& leader) {
    agents(state);
    frameworks(state);
    name_server();
    masters(leader);
    tasks(state);
    vips(state);
  }

private:
  // A host's addresses: itself if it is one, else what was looked up.
  std::vector<std::string> addresses_of(const std::string& host) const {
    if (is_ip(host))
      return {host};
    auto it = inputs_.host_addresses.find(host);
    if (it == inputs_.host_addresses.end())
      return {};
    std::vector<std::string> out;
    for (const auto& ip : it->second)
      if (is_ip(ip))
        out.push_back(ip);
    return out;
  }

  void agents(const GetState& state) {
    auto slave = "slave" + tail_;
    for (const auto& agent : state.get_agents().agents()) {
      auto [host, port] = agent_host_port(agent);
      auto ips = addresses_of(host);
      if (ips.empty())
        continue;
      for (const auto& ip : ips)
        out_.add_address(slave, ip);
      if (!port.empty())
        out_.add_srv("_slave._tcp." + s_.zone,
                     {slave, static_cast<uint16_t>(std::stoul(port))});
      agent_ips_[agent.agent_info().id().value()] = std::move(ips);
    }
  }

  // Named VIPs, in their own zone (l4lb.thisdcos.directory), as DC/OS'
  // dcos-dns serves them: the same table Minuteman balances.
  void vips(const GetState& state) {
    for (const auto& v : build_vip_table(state).vips)
      if (!v.dns_name.empty())
        out_.add_address(v.dns_name + ".", v.ip);
  }

  void frameworks(const GetState& state) {
    for (const auto& f : state.get_frameworks().frameworks()) {
      auto name = domain_fragment(f.framework_info().name(), spec_);
      if (name.empty())
        continue;
      for (const auto& ip : addresses_of(f.framework_info().hostname()))
        out_.add_address(name + tail_, ip);
    }
  }

  void name_server() {
    for (const auto& ip : s_.self_ips)
      out_.add_address(s_.mname, ip);
  }

  void masters(const v1::MasterInfo& leader) {
    auto [host, port] = leader_host_port(leader);
    auto leader_ips = addresses_of(host);
    if (leader_ips.empty())
      return;
    auto leader_address = host + ":" + port;
    auto leader_name = "leader" + tail_;
    auto all = "master" + tail_;
    for (const auto& ip : leader_ips) {
      out_.add_address(leader_name, ip);
      out_.add_address(all, ip);
    }
    if (!port.empty()) {
      auto p = static_cast<uint16_t>(std::stoul(port));
      out_.add_srv("_leader._tcp." + s_.zone, {leader_name, p});
      out_.add_srv("_leader._udp." + s_.zone, {leader_name, p});
    }
    // masterN: every master in order (the election's members, else the
    // configured ones), the leader among them once, as Mesos-DNS numbers
    // them; a leader not among them comes last.
    std::vector<std::string> configured(s_.config.masters().begin(),
                                        s_.config.masters().end());
    const auto& masters = inputs_.masters ? *inputs_.masters : configured;
    bool leader_numbered = false;
    int n = 0;
    for (const auto& master : masters) {
      auto [master_host, master_port] = split_host_port(master);
      auto ips = addresses_of(master_host);
      if (ips.empty())
        continue;
      // The leader, named as it names itself or by a name of its address.
      bool is_leader = master == leader_address
                       || (master_port == port
                           && std::find_first_of(ips.begin(), ips.end(),
                                                 leader_ips.begin(),
                                                 leader_ips.end())
                                != ips.end());
      if (!is_leader) {
        bool added = false;
        for (const auto& ip : ips)
          added = out_.add_address(all, ip) || added;
        if (!added) // the same master twice
          continue;
      } else if (leader_numbered) {
        continue;
      }
      auto numbered = fmt::format("master{}{}", n++, tail_);
      for (const auto& ip : ips)
        out_.add_address(numbered, ip);
      leader_numbered = leader_numbered || is_leader;
    }
    if (!leader_numbered)
      for (const auto& ip : leader_ips)
        out_.add_address(fmt::format("master{}{}", n, tail_), ip);
  }

  void tasks(const GetState& state) {
    // Tasks by framework, in the frameworks' order.
    std::unordered_map<std::string, std::vector<const v1::Task*>> by_framework;
    for (const auto& task : state.get_tasks().tasks())
      by_framework[task.framework_id().value()].push_back(&task);
    for (const auto& f : state.get_frameworks().frameworks()) {
      auto& listed = out_.frameworks_.emplace_back();
      listed.name = f.framework_info().name();
      auto it = by_framework.find(f.framework_info().id().value());
      if (it == by_framework.end())
        continue;
      auto fname = domain_fragment(f.framework_info().name(), spec_);
      for (const auto* task : it->second) {
        if (task->state() != v1::TASK_RUNNING)
          continue;
        auto agent = agent_ips_.find(task->agent_id().value());
        if (agent == agent_ips_.end())
          continue;
        auto& entry = listed.tasks.emplace_back();
        entry.name = task->name();
        entry.id = task->task_id().value();
        task_records(*task, fname, agent->second, entry);
      }
    }
  }

  void task_records(const v1::Task& task, const std::string& fname,
                    const std::vector<std::string>& agent_ips,
                    enumerated_task& entry) {
    context ctx{dns_label(task.name(), spec_), task_hash(task.task_id().value()),
                agent_id_tail(task.agent_id().value()),
                task_ips(task, s_, agent_ips), agent_ips};
    const auto& discovery = task.discovery();
    if (!discovery.name().empty()) {
      // As Mesos-DNS: the discovery name as given, and as a label.
      ctx.name = discovery.name();
      task_context_records(ctx, task, fname, entry);
      ctx.name = dns_label(discovery.name(), spec_);
    }
    task_context_records(ctx, task, fname, entry);
  }

  struct context {
    std::string name;
    std::string hash;
    std::string agent_tail;
    std::vector<std::string> ips;
    std::vector<std::string> agent_ips;
  };

  void task_context_records(const context& ctx, const v1::Task& task,
                            const std::string& fname, enumerated_task& entry) {
    bool has_discovery = !task.discovery().name().empty();
    auto canonical = ctx.name + "-" + ctx.hash + "-" + ctx.agent_tail + "."
                     + fname;
    auto arec = ctx.name + "." + fname;
    for (const auto& ip : ctx.ips) {
      add_address(arec + tail_, ip, entry);
      add_address(canonical + tail_, ip, entry);
    }
    for (const auto& ip : ctx.agent_ips) {
      add_address(arec + ".slave" + tail_, ip, entry);
      add_address(canonical + ".slave" + tail_, ip, entry);
    }
    auto service = "_" + ctx.name;
    auto agent_target = canonical + ".slave" + tail_;
    for (auto port : host_ports(task))
      for (const char* proto : {"_tcp.", "_udp."}) {
        auto name = service + "." + proto + fname;
        add_srv(name + ".slave" + tail_, {agent_target, port}, entry);
        if (!has_discovery)
          add_srv(name + tail_, {agent_target, port}, entry);
      }
    if (!has_discovery)
      return;
    auto target = canonical + tail_;
    for (const auto& port : task.discovery().ports().ports()) {
      if (port.number() == 0 || port.number() > 65535)
        continue;
      srv_target t{target, static_cast<uint16_t>(port.number())};
      auto protocol = dns_label(port.protocol(), spec_);
      std::vector<std::string> names;
      if (protocol.empty()) {
        names = {service + "._tcp." + fname, service + "._udp." + fname};
      } else {
        names = {service + "._" + protocol + "." + fname};
      }
      auto port_name = dns_label(port.name(), spec_);
      for (const auto& name : names) {
        add_srv(name + tail_, t, entry);
        if (!port_name.empty())
          add_srv("_" + port_name + "." + name + tail_, t, entry);
      }
    }
  }

  void add_address(const std::string& name, const std::string& ip,
                   enumerated_task& entry) {
    if (out_.add_address(name, ip))
      entry.records.push_back({name, ip, is_ipv4(ip) ? "A" : "AAAA"});
  }

  void add_srv(const std::string& name, srv_target target,
               enumerated_task& entry) {
    auto host = fmt::format("{}:{}", target.host, target.port);
    if (out_.add_srv(name, std::move(target)))
      entry.records.push_back({name, std::move(host), "SRV"});
  }

  record_set& out_;
  const dns_settings& s_;
  const zone_inputs& inputs_;
  label_spec spec_;
  std::string tail_; // ".mesos."
  std::unordered_map<std::string, std::vector<std::string>> agent_ips_;
};

record_set record_set::build(const GetState& state,
                             const v1::MasterInfo& leader,
                             const dns_settings& settings,
                             const zone_inputs& inputs) {
  record_set out;
  record_builder{out, settings, inputs}.run(state, leader);
  return out;
}

std::vector<std::string>
record_set::host_names(const GetState& state, const v1::MasterInfo& leader,
                       const std::vector<std::string>& masters) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& host) {
    if (!host.empty() && !is_ip(host))
      out.push_back(host);
  };
  for (const auto& agent : state.get_agents().agents())
    add(agent_host_port(agent).first);
  for (const auto& f : state.get_frameworks().frameworks())
    add(f.framework_info().hostname());
  add(leader_host_port(leader).first);
  for (const auto& master : masters)
    add(split_host_port(master).first);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool record_set::add_address(const std::string& name, const std::string& ip) {
  auto& list = is_ipv4(ip) ? a_[name] : aaaa_[name];
  if (std::find(list.begin(), list.end(), ip) != list.end())
    return false;
  list.push_back(ip);
  return true;
}

bool record_set::add_srv(const std::string& name, srv_target target) {
  auto& list = srv_[name];
  if (std::find(list.begin(), list.end(), target) != list.end())
    return false;
  list.push_back(std::move(target));
  return true;
}

bool record_set::has_name(const std::string& name) const {
  return a_.count(name) > 0 || aaaa_.count(name) > 0 || srv_.count(name) > 0;
}

std::vector<std::string> record_set::lines() const {
  std::vector<std::string> out;
  for (const auto& [name, ips] : a_)
    for (const auto& ip : ips)
      out.push_back(name + " A " + ip);
  for (const auto& [name, ips] : aaaa_)
    for (const auto& ip : ips)
      out.push_back(name + " AAAA " + ip);
  for (const auto& [name, targets] : srv_)
    for (const auto& t : targets)
      out.push_back(fmt::format("{} SRV {}:{}", name, t.host, t.port));
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace dcos::mesos_dns
