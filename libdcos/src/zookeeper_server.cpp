#include "dcos/zookeeper_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace fs = std::filesystem;

namespace dcos {

namespace {

constexpr const char* zookeeper_jar = "/usr/share/java/zookeeper.jar";

bool accepts(const std::string& ip, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr)
            == 0;
  ::close(fd);
  return ok;
}

std::string tail_of(const std::string& path) {
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>(in), {}};
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

} // namespace

caf::expected<zookeeper_server>
zookeeper_server::start(zookeeper_options opts,
                        std::chrono::milliseconds ready_within) {
  if (!fs::exists(zookeeper_jar))
    return make_error(errc::unavailable,
                      fmt::format("ZooKeeper is not installed ({} is missing; "
                                  "apt-get install zookeeper)",
                                  zookeeper_jar));
  std::error_code ec;
  fs::create_directories(opts.dir + "/data", ec);
  if (ec)
    return make_error(errc::io_error, fmt::format("cannot create {}/data: {}",
                                                  opts.dir, ec.message()));
  std::ofstream cfg{opts.dir + "/zoo.cfg", std::ios::trunc};
  // tickTime bounds the session timeouts: at least 2, at most 20 ticks
  // unless set; both are set, so a short tick only sharpens expiry.
  cfg << "tickTime=500\n"
      << "minSessionTimeout=" << opts.min_session_timeout.count() << "\n"
      << "maxSessionTimeout=" << opts.max_session_timeout.count() << "\n"
      << "dataDir=" << opts.dir << "/data\n"
      << "clientPortAddress=" << opts.ip << "\n"
      << "clientPort=" << opts.port << "\n"
      << "admin.enableServer=false\n";
  if (!opts.ensemble.empty()) {
    // Ticks of 500 ms: followers get 5 s to connect and sync, 2.5 s to lag.
    cfg << "initLimit=10\nsyncLimit=5\n";
    for (const auto& peer : opts.ensemble)
      cfg << fmt::format("server.{}={}:{}:{}\n", peer.id, peer.ip,
                         peer.quorum_port, peer.election_port);
    std::ofstream myid{opts.dir + "/data/myid", std::ios::trunc};
    if (!(myid << opts.id << "\n") || !myid.flush())
      return make_error(errc::io_error,
                        fmt::format("cannot write {}/data/myid", opts.dir));
  }
  if (!cfg.flush())
    return make_error(errc::io_error,
                      fmt::format("cannot write {}/zoo.cfg", opts.dir));
  zookeeper_server server{std::move(opts)};
  if (auto err = server.launch(ready_within))
    return err;
  return server;
}

caf::error zookeeper_server::launch(std::chrono::milliseconds ready_within) {
  subprocess_options opts;
  if (opts_.nice != 0)
    opts.argv = {"nice", "-n", std::to_string(opts_.nice)};
  for (std::string arg : {"java", "-Xmx256m", "-XX:+UseSerialGC",
                          "-XX:TieredStopAtLevel=1", "-cp", zookeeper_jar,
                          "org.apache.zookeeper.server.quorum.QuorumPeerMain"})
    opts.argv.push_back(std::move(arg));
  opts.argv.push_back(opts_.dir + "/zoo.cfg");
  opts.stdout_path = log_path();
  opts.stderr_path = log_path();
  auto p = subprocess::spawn(opts);
  if (!p)
    return make_error(errc::unavailable,
                      fmt::format("cannot start ZooKeeper (is Java "
                                  "installed?): {}",
                                  describe_reason(p.error())));
  process_.emplace(std::move(*p));
  auto deadline = std::chrono::steady_clock::now() + ready_within;
  while (!accepts(opts_.ip, opts_.port)) {
    if (process_->poll())
      return make_error(errc::unavailable,
                        fmt::format("ZooKeeper exited: {}",
                                    tail_of(log_path())));
    if (std::chrono::steady_clock::now() > deadline)
      return make_error(errc::unavailable,
                        fmt::format("ZooKeeper did not accept connections on "
                                    "{} within {} ms (see {})",
                                    servers(), ready_within.count(),
                                    log_path()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {};
}

zookeeper_server::zookeeper_server(zookeeper_server&& other) noexcept
  : opts_(std::move(other.opts_)), process_(std::move(other.process_)) {
  other.process_.reset(); // the moved-from object owns no process
}

zookeeper_server& zookeeper_server::operator=(zookeeper_server&& other) noexcept {
  if (this != &other) {
    stop();
    opts_ = std::move(other.opts_);
    process_ = std::move(other.process_);
    other.process_.reset();
  }
  return *this;
}

zookeeper_server::~zookeeper_server() {
  stop();
}

std::string zookeeper_server::servers() const {
  return fmt::format("{}:{}", opts_.ip, opts_.port);
}

std::string zookeeper_server::url(const std::string& path) const {
  return "zk://" + servers() + path;
}

std::string zookeeper_server::log_path() const {
  return opts_.dir + "/zookeeper.log";
}

caf::error zookeeper_server::restart() {
  stop();
  return launch(std::chrono::seconds(60));
}

void zookeeper_server::pause() {
  if (process_)
    process_->kill(SIGSTOP);
}

void zookeeper_server::resume() {
  if (process_)
    process_->kill(SIGCONT);
}

void zookeeper_server::stop() {
  if (!process_)
    return;
  process_->kill(SIGCONT); // a frozen JVM cannot take SIGTERM
  process_->terminate();
  process_.reset();
}

bool zookeeper_server::running() {
  return process_ && !process_->poll();
}

} // namespace dcos
