// dcos-containerizer and dcos-fetcher as real processes: exit records,
// sandbox output, environment, descendants and signals, and fetching from
// files and from dcos::http_server.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include "dcos/http_server.hpp"
#include "dcos/v1/command.pb.h"
#include "dcos/json.hpp"
#include "support/https_server.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;
namespace fs = std::filesystem;

namespace {

// A string literal with its embedded NULs.
template <size_t N>
std::string bytes(const char (&literal)[N]) {
  return {literal, N - 1};
}

// Runs `argv`, waits, and returns its status.
int run(std::vector<std::string> argv) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  auto p = subprocess::spawn(opts);
  REQUIRE_MESSAGE(p, why(p));
  return p->wait();
}

// One container: a sandbox, a status file and a cache, in a temp dir.
struct container {
  scratch_dir dir;
  std::string sandbox = dir / "sandbox";
  std::string status_file = dir / "status.json";
  std::string cache_dir = dir / "cache";

  container() { fs::create_directories(sandbox); }

  std::vector<std::string> argv(const std::vector<std::string>& program,
                                const std::vector<std::string>& extra = {}) {
    std::vector<std::string> out = {binary("DCOS_CONTAINERIZER_BIN"),
                                     "launch", "--sandbox=" + sandbox,
                                     "--status_file=" + status_file};
    out.insert(out.end(), extra.begin(), extra.end());
    out.push_back("--");
    out.insert(out.end(), program.begin(), program.end());
    return out;
  }

  subprocess start(const std::vector<std::string>& program,
                   const std::vector<std::string>& extra = {}) {
    subprocess_options opts;
    opts.argv = argv(program, extra);
    auto p = subprocess::spawn(opts);
    REQUIRE_MESSAGE(p, why(p));
    return std::move(*p);
  }

  int run(const std::vector<std::string>& program,
          const std::vector<std::string>& extra = {}) {
    return start(program, extra).wait();
  }

  // Runs PROGRAM after fetching `command`'s URIs.
  int run_fetching(const v1::CommandInfo& command,
                   const std::vector<std::string>& program = {"true"}) {
    auto request = dir / "request.json";
    write_file(request, to_json(command));
    return run(program, {"--fetch=" + request,
                         "--fetcher=" + binary("DCOS_FETCHER_BIN"),
                         "--cache_dir=" + cache_dir});
  }

  google::protobuf::Struct status() {
    auto text = read_file(status_file);
    REQUIRE_MESSAGE(!text.empty(), "no status file");
    CHECK_MESSAGE(text.find('\n') == text.size() - 1, "not one line: " << text);
    CHECK_FALSE(fs::exists(status_file + ".tmp"));
    return parse_json_object(text);
  }

  std::string file(const std::string& name) { return read_file(sandbox + "/" + name); }
};

double number(const google::protobuf::Struct& doc, const std::string& key) {
  auto it = doc.fields().find(key);
  REQUIRE_MESSAGE(it != doc.fields().end(), "no '" << key << "'");
  return it->second.number_value();
}

std::string text(const google::protobuf::Struct& doc, const std::string& key) {
  auto it = doc.fields().find(key);
  REQUIRE_MESSAGE(it != doc.fields().end(), "no '" << key << "'");
  return it->second.string_value();
}

bool has(const google::protobuf::Struct& doc, const std::string& key) {
  return doc.fields().count(key) > 0;
}

bool process_gone(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

pid_t read_pid(const std::string& path) {
  std::string text;
  REQUIRE(eventually([&] {
    text = read_file(path);
    return !text.empty() && text.back() == '\n';
  }));
  return static_cast<pid_t>(std::stol(text));
}

v1::CommandInfo fetch_of(const std::string& uri) {
  v1::CommandInfo command;
  command.add_uris()->set_value(uri);
  return command;
}

// Serves files over HTTP from memory, counting requests per path.
struct file_server {
  std::mutex mutex;
  std::map<std::string, std::string> files;
  std::map<std::string, int> hits;
  std::vector<std::thread> slow_answers;
  std::unique_ptr<http_server> server;

  file_server() {
    auto started = http_server::start(
      "127.0.0.1", 0, [this](http_request req, http_responder respond) {
        route(std::move(req), std::move(respond));
      });
    REQUIRE_MESSAGE(started, why(started));
    server = std::move(*started);
  }

  ~file_server() {
    server.reset();
    for (auto& t : slow_answers)
      t.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  int hits_of(const std::string& path) {
    std::lock_guard guard{mutex};
    return hits[path];
  }

  void route(http_request req, http_responder respond) {
    std::lock_guard guard{mutex};
    ++hits[req.path];
    auto redirect = [&](unsigned status, std::string location) {
      respond({.status = status, .content_type = "",
               .headers = {{"Location", std::move(location)}}});
    };
    if (req.path == "/hop/1")
      return redirect(302, "/hop/2");
    if (req.path == "/hop/2")
      return redirect(301, url("/files/hello.txt"));
    if (req.path == "/loop")
      return redirect(307, "/loop");
    auto it = files.find(req.path);
    if (it == files.end())
      return respond(json_error(404, "no file " + req.path));
    http_response response{.status = 200,
                           .content_type = "application/octet-stream",
                           .body = it->second};
    if (req.path.starts_with("/slow/")) {
      // Slow enough that concurrent fetchers overlap.
      slow_answers.emplace_back([respond, response] {
        std::this_thread::sleep_for(300ms);
        respond(response);
      });
      return;
    }
    respond(response);
  }
};

} // namespace

// -- dcos-containerizer ---------------------------------------------------------

TEST_CASE("the program's exit code is the helper's and the record's") {
  container c;
  CHECK(c.run({"true"}) == 0);
  auto status = c.status();
  CHECK(number(status, "status") == 0);
  CHECK(text(status, "reason") == "exited");
  CHECK_FALSE(has(status, "signal"));

  CHECK(c.run({"sh", "-c", "exit 3"}) == 3);
  status = c.status();
  CHECK(number(status, "status") == 3);
  CHECK(text(status, "reason") == "exited");
  CHECK(text(status, "message").find("3") != std::string::npos);
}

TEST_CASE("--exec runs a file with PROGRAM ARGS... as its whole argv") {
  container c;
  // The shell's $0 is its argv[0]: the name given, not the file run.
  CHECK(c.run({"probe", "-c", "echo \"$0\""}, {"--exec=/bin/sh"}) == 0);
  CHECK(c.file("stdout") == "probe\n");
  // Without --exec, PROGRAM is both the file and argv[0].
  container plain;
  CHECK(plain.run({"sh", "-c", "echo \"$0\""}) == 0);
  CHECK(plain.file("stdout") == "sh\n");
  // A file that cannot be run is named in the record, not argv[0].
  container missing;
  CHECK(missing.run({"probe"}, {"--exec=/no/such/file"}) == 127);
  CHECK(text(missing.status(), "message")
        == "cannot run '/no/such/file': No such file or directory");
}

TEST_CASE("a program killed by a signal is recorded as signaled") {
  container c;
  CHECK(c.run({"sh", "-c", "kill -9 $$"}) == 137);
  auto status = c.status();
  CHECK(number(status, "status") == 137);
  CHECK(text(status, "reason") == "signaled");
  CHECK(number(status, "signal") == 9);
}

TEST_CASE("a program that cannot be run is an exec failure naming it") {
  container c;
  CHECK(c.run({"no-such-program-here", "x"}) == 127);
  auto status = c.status();
  CHECK(number(status, "status") == 127);
  CHECK(text(status, "reason") == "exec_failed");
  CHECK(text(status, "message")
        == "cannot run 'no-such-program-here': No such file or directory");
  CHECK(c.file("stderr").find("no-such-program-here") != std::string::npos);
}

TEST_CASE("a sandbox that does not exist is an exec failure naming it") {
  container c;
  fs::remove_all(c.sandbox);
  CHECK(c.run({"true"}) == 127);
  auto status = c.status();
  CHECK(text(status, "reason") == "exec_failed");
  CHECK(text(status, "message").find(c.sandbox) != std::string::npos);
}

TEST_CASE("a bad command line leaves a record, or exits 2 without one") {
  container c;
  CHECK(c.run({"true"}, {"--no_such_flag=1"}) == 127);
  CHECK(text(c.status(), "message") == "unknown flag '--no_such_flag'");
  CHECK(run({binary("DCOS_CONTAINERIZER_BIN"), "launch", "--", "true"}) == 2);
}

TEST_CASE("stdout and stderr land in the sandbox, which is the working dir") {
  container c;
  write_file(c.sandbox + "/stdout", "earlier\n"); // appended to, not replaced
  CHECK(c.run({"sh", "-c", "echo out; echo err >&2; pwd; read x || echo eof"})
        == 0);
  CHECK(c.file("stdout")
        == "earlier\nout\n" + fs::canonical(c.sandbox).string() + "\neof\n");
  CHECK(c.file("stderr") == "err\n");
}

TEST_CASE("the env file is the program's whole environment") {
  container c;
  auto env_file = c.dir / "env";
  write_file(env_file, bytes("A=1\0B=two words\0C=x=y\nz"));
  CHECK(c.run({"env"}, {"--env_file=" + env_file}) == 0);
  CHECK(c.file("stdout") == "A=1\nB=two words\nC=x=y\nz\n");

  write_file(env_file, bytes("A=1\0not an entry\0"));
  CHECK(c.run({"env"}, {"--env_file=" + env_file}) == 127);
  CHECK(text(c.status(), "message").find("not an entry") != std::string::npos);
}

TEST_CASE("enter runs a program in a running container, with its "
          "environment, on the caller's streams; not in one that ended") {
  container c;
  auto meta = c.dir / "meta";
  fs::create_directories(meta);
  c.status_file = meta + "/status";
  write_file(meta + "/env", bytes("WHO=the-container\0MESOS_SANDBOX=")
                              + c.sandbox + std::string(1, '\0'));
  auto helper = c.start({"sh", "-c", "sleep 300"},
                        {"--pid_file=" + meta + "/pid",
                         "--env_file=" + meta + "/env"});
  REQUIRE(eventually([&] { return fs::exists(meta + "/pid"); }, 10s));
  // POSIX: the helper's own namespaces are the container's.
  CHECK(read_pid(meta + "/pid") == helper.pid());
  auto enter = [&](const std::string& target,
                   const std::vector<std::string>& program,
                   const std::string& flag = {}) {
    subprocess_options opts;
    opts.argv = {binary("DCOS_CONTAINERIZER_BIN"), "enter",
                 "--target=" + target,
                 "--status_file=" + (c.dir / "session.json"),
                 flag.empty() ? "--env_file=" + meta + "/env" : flag, "--"};
    opts.argv.insert(opts.argv.end(), program.begin(), program.end());
    opts.capture_stdout = true;
    opts.stderr_path = "/dev/stdout";
    auto p = subprocess::spawn(opts);
    REQUIRE_MESSAGE(p, why(p));
    auto out = p->read_all(30s);
    REQUIRE(out);
    return std::make_pair(p->wait(), *out);
  };
  auto [status, out] = enter(meta, {"sh", "-c", "echo $WHO; pwd; exit 6"});
  CHECK(status == 6);
  CHECK(out == "the-container\n" + c.sandbox + "\n");
  CHECK(text(parse_json_object(read_file(c.dir / "session.json")), "reason")
        == "exited");
  // A directory without a container's pid is refused, and recorded.
  auto [lost, why_lost] = enter(c.dir / "nowhere", {"true"});
  CHECK(lost == 127);
  CHECK(why_lost.find("does not name the container's process")
        != std::string::npos);
  // --tty needs a terminal on stdin (the agent gives one; here it is not).
  auto [no_tty, why_no_tty] = enter(meta, {"true"}, "--tty");
  CHECK(no_tty == 127);
  CHECK(why_no_tty.find("cannot take the terminal") != std::string::npos);
  // Once the container has ended, it cannot be entered.
  ::kill(helper.pid(), SIGTERM);
  CHECK(helper.wait() == 128 + SIGTERM);
  auto [ended, why_ended] = enter(meta, {"true"});
  CHECK(ended == 127);
  CHECK(why_ended.find("the container has ended") != std::string::npos);
  // enter takes no sandbox, and launch no target.
  CHECK(c.run({"true"}, {"--target=" + meta}) == 127);
  CHECK(text(c.status(), "message") == "--target is only valid with enter");
  CHECK(c.run({"true"}, {"--tty"}) == 127);
  CHECK(text(c.status(), "message") == "--tty is only valid with enter");
}

TEST_CASE("an orphan is killed and reaped when the program exits") {
  container c;
  CHECK(c.run({"sh", "-c", "sleep 300 & echo $! > orphan.pid; exit 0"}) == 0);
  auto orphan = read_pid(c.sandbox + "/orphan.pid");
  CHECK(process_gone(orphan));
  CHECK(text(c.status(), "reason") == "exited");
}

TEST_CASE("a descendant in a session of its own is killed too") {
  container c;
  CHECK(c.run({"sh", "-c", "setsid sleep 300 & echo $! > orphan.pid; "
                           "sleep 0.2; exit 4"})
        == 4);
  CHECK(process_gone(read_pid(c.sandbox + "/orphan.pid")));
}

TEST_CASE("SIGTERM to the helper reaches the program's trap") {
  container c;
  auto helper = c.start({"sh", "-c",
                         "trap 'echo bye > trapped; exit 0' TERM; "
                         "echo $$ > ready; while :; do sleep 0.1; done"});
  read_pid(c.sandbox + "/ready");
  ::kill(helper.pid(), SIGTERM); // the helper alone, not its group
  CHECK(helper.wait() == 0);
  CHECK(c.file("trapped") == "bye\n");
  auto status = c.status();
  CHECK(number(status, "status") == 0);
  CHECK(text(status, "reason") == "exited");
}

TEST_CASE("SIGTERM reaches a descendant that left the process group") {
  container c;
  // The outer shell survives SIGTERM (':' is a handler, so the inner shell
  // does not inherit it as ignored) and waits for the inner one, so that the
  // helper's final SIGKILL cannot overtake the inner trap.
  auto helper = c.start({"sh", "-c",
                         "trap : TERM; "
                         "setsid sh -c 'trap \"echo bye > trapped; exit 0\" "
                         "TERM; echo $$ > ready; while :; do sleep 0.1; "
                         "done' & wait; wait"});
  read_pid(c.sandbox + "/ready");
  ::kill(helper.pid(), SIGTERM);
  helper.wait();
  CHECK(c.file("trapped") == "bye\n");
}

TEST_CASE("SIGUSR1 kills a program that ignores SIGTERM") {
  container c;
  auto helper = c.start({"sh", "-c",
                         "trap '' TERM; echo $$ > ready; "
                         "while :; do sleep 0.1; done"});
  read_pid(c.sandbox + "/ready");
  ::kill(helper.pid(), SIGTERM);
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(helper.poll().has_value());
  ::kill(helper.pid(), SIGUSR1);
  CHECK(helper.wait() == 128 + 9);
  auto status = c.status();
  CHECK(number(status, "status") == 137);
  CHECK(text(status, "reason") == "signaled");
  CHECK(number(status, "signal") == 9);
}

TEST_CASE("signals from inside the container are not termination requests") {
  container c;
  // `kill 0` reaches the whole process group, the helper included.
  CHECK(c.run({"sh", "-c", "trap 'echo t' TERM USR1; kill -TERM 0; "
                           "kill -USR1 0; sleep 0.2; exit 5"})
        == 5);
  CHECK(text(c.status(), "reason") == "exited");
}

// -- dcos-fetcher ---------------------------------------------------------------

TEST_CASE("a file:// URI and a plain path are copied into the sandbox") {
  container c;
  write_file(c.dir / "data.txt", "some data\n");
  v1::CommandInfo command;
  command.add_uris()->set_value("file://" + c.dir / "data.txt");
  auto* renamed = command.add_uris();
  renamed->set_value(c.dir / "data.txt");
  renamed->set_output_file("sub/copy.txt");
  CHECK(c.run_fetching(command, {"cat", "data.txt"}) == 0);
  CHECK(text(c.status(), "reason") == "exited");
  CHECK(c.file("data.txt") == "some data\n");
  CHECK(c.file("sub/copy.txt") == "some data\n");
  auto out = c.file("stdout");
  CHECK(out.find("fetched file://" + c.dir / "data.txt" + " to "
                 + c.sandbox + "/data.txt\n")
        != std::string::npos);
  CHECK(out.find("some data\n") != std::string::npos); // then the program ran
}

TEST_CASE("an http:// URI is downloaded, following redirects") {
  container c;
  file_server server;
  server.files["/files/hello.txt"] = "hello over http";
  v1::CommandInfo command;
  command.add_uris()->set_value(server.url("/files/hello.txt?v=1"));
  auto* hop = command.add_uris();
  hop->set_value(server.url("/hop/1"));
  hop->set_output_file("via-redirects.txt");
  CHECK(c.run_fetching(command) == 0);
  CHECK(c.file("hello.txt") == "hello over http");
  CHECK(c.file("via-redirects.txt") == "hello over http");
  CHECK(server.hits_of("/hop/2") == 1);

  auto status = c.run_fetching(fetch_of(server.url("/loop")));
  CHECK(status == 127);
  CHECK(text(c.status(), "message").find("more than 5 redirects")
        != std::string::npos);
  CHECK(server.hits_of("/loop") == 6);
}

TEST_CASE("archives are extracted; the archive stays") {
  container c;
  auto src = c.dir / "src";
  fs::create_directories(src + "/bin");
  write_file(src + "/bin/tool", "#!/bin/sh\necho tool ran\n");
  fs::permissions(src + "/bin/tool", fs::perms(0755));
  REQUIRE(run({"tar", "-czf", c.dir / "bundle.tar.gz", "-C", src, "bin"})
          == 0);
  write_file(c.dir / "note.txt", "compressed note\n");
  REQUIRE(run({"gzip", "-k", c.dir / "note.txt"}) == 0);
  write_file(src + "/zipped.txt", "from a zip\n");
  REQUIRE(run({"sh", "-c", "cd " + src + " && zip -q ../bundle.zip zipped.txt"})
          == 0);

  v1::CommandInfo command;
  command.add_uris()->set_value("file://" + c.dir / "bundle.tar.gz");
  command.add_uris()->set_value(c.dir / "note.txt.gz");
  command.add_uris()->set_value(c.dir / "bundle.zip");
  CHECK(c.run_fetching(command, {"./bin/tool"}) == 0);
  CHECK(fs::exists(c.sandbox + "/bundle.tar.gz"));
  CHECK(c.file("stdout").find("extracted " + c.sandbox + "/bundle.tar.gz into "
                              + c.sandbox)
        != std::string::npos);
  CHECK(c.file("stdout").find("tool ran\n") != std::string::npos);
  CHECK(c.file("note.txt") == "compressed note\n");
  CHECK(fs::exists(c.sandbox + "/note.txt.gz"));
  CHECK(c.file("zipped.txt") == "from a zip\n");
  CHECK(fs::exists(c.sandbox + "/bundle.zip"));
}

TEST_CASE("extract false and executable true leave an archive packed") {
  container c;
  auto src = c.dir / "src";
  fs::create_directories(src);
  write_file(src + "/inside.txt", "x");
  REQUIRE(run({"tar", "-cf", c.dir / "a.tar", "-C", src, "inside.txt"}) == 0);
  REQUIRE(run({"cp", c.dir / "a.tar", c.dir / "b.tar"}) == 0);
  v1::CommandInfo command;
  auto* a = command.add_uris();
  a->set_value(c.dir / "a.tar");
  a->set_extract(false);
  auto* b = command.add_uris();
  b->set_value(c.dir / "b.tar");
  b->set_executable(true);
  CHECK(c.run_fetching(command) == 0);
  CHECK(fs::exists(c.sandbox + "/a.tar"));
  CHECK(fs::exists(c.sandbox + "/b.tar"));
  CHECK_FALSE(fs::exists(c.sandbox + "/inside.txt"));
}

TEST_CASE("executable sets mode 0755") {
  container c;
  write_file(c.dir / "script.sh", "#!/bin/sh\nexit 7\n");
  ::chmod((c.dir / "script.sh").c_str(), 0600);
  v1::CommandInfo command;
  auto* uri = command.add_uris();
  uri->set_value("file://" + c.dir / "script.sh");
  uri->set_executable(true);
  CHECK(c.run_fetching(command, {"./script.sh"}) == 7);
  struct stat st;
  REQUIRE(::stat((c.sandbox + "/script.sh").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
}

TEST_CASE("a cached URI is fetched again after its source is gone") {
  container first, second;
  scratch_dir source_dir;
  auto source = source_dir / "cached.txt";
  write_file(source, "cache me\n");
  v1::CommandInfo command;
  auto* uri = command.add_uris();
  uri->set_value("file://" + source);
  uri->set_cache(true);
  CHECK(first.run_fetching(command) == 0);
  CHECK(first.file("cached.txt") == "cache me\n");

  fs::remove(source);
  second.cache_dir = first.cache_dir;
  CHECK(second.run_fetching(command) == 0);
  CHECK(second.file("cached.txt") == "cache me\n");
  CHECK(second.file("stdout").find("(from the cache)") != std::string::npos);
}

TEST_CASE("concurrent fetchers of one cached URI download it once") {
  file_server server;
  server.files["/slow/blob.bin"] = std::string(100000, 'b');
  scratch_dir cache;
  v1::CommandInfo command;
  auto* uri = command.add_uris();
  uri->set_value(server.url("/slow/blob.bin"));
  uri->set_cache(true);
  std::vector<std::unique_ptr<container>> containers;
  std::vector<subprocess> helpers;
  for (int i = 0; i < 4; ++i) {
    auto& c = *containers.emplace_back(std::make_unique<container>());
    write_file(c.dir / "request.json", to_json(command));
    helpers.push_back(c.start({"true"}, {"--fetch=" + c.dir / "request.json",
                                         "--fetcher=" + binary("DCOS_FETCHER_BIN"),
                                         "--cache_dir=" + cache.path}));
  }
  for (size_t i = 0; i < helpers.size(); ++i) {
    CHECK(helpers[i].wait() == 0);
    CHECK(containers[i]->file("blob.bin") == std::string(100000, 'b'));
  }
  CHECK(server.hits_of("/slow/blob.bin") == 1);
}

TEST_CASE("a failed fetch is recorded as fetch_failed naming the URI") {
  container c;
  auto missing = "file://" + c.dir / "missing.txt";
  CHECK(c.run_fetching(fetch_of(missing), {"touch", "ran"}) == 127);
  auto status = c.status();
  CHECK(number(status, "status") == 127);
  CHECK(text(status, "reason") == "fetch_failed");
  auto message = text(status, "message");
  CHECK(message.find(missing) != std::string::npos);
  CHECK(message.find("No such file or directory") != std::string::npos);
  CHECK_FALSE(fs::exists(c.sandbox + "/ran")); // the program never ran
  CHECK(c.file("stderr").find(missing) != std::string::npos);

  file_server server;
  CHECK(c.run_fetching(fetch_of(server.url("/nothing.bin"))) == 127);
  CHECK(text(c.status(), "message").find("HTTP 404") != std::string::npos);
}

namespace {

// Runs dcos-fetcher on `uri` into DIR/sandbox, with `env` added: its exit
// status and stderr.
std::pair<int, std::string> run_fetcher(const scratch_dir& dir,
                                        const std::string& uri,
                                        std::vector<std::string> env = {}) {
  fs::create_directories(dir / "sandbox");
  write_file(dir / "request.json", to_json(fetch_of(uri)));
  subprocess_options opts;
  opts.argv = {binary("DCOS_FETCHER_BIN"), "--request=" + dir / "request.json",
               "--sandbox=" + dir / "sandbox", "--cache_dir=" + dir / "cache"};
  opts.env = std::move(env);
  opts.stderr_path = dir / "stderr";
  fs::remove(dir / "stderr");
  auto p = subprocess::spawn(opts);
  REQUIRE_MESSAGE(p, why(p));
  int status = p->wait();
  return {status, read_file(dir / "stderr")};
}

} // namespace

TEST_CASE("an https:// URI is downloaded from a server whose certificate "
          "the fetcher trusts, and refused from any other") {
  scratch_dir dir;
  scratch_dir site;
  write_file(site / "hello.txt", "hello over https");
  auto tls = make_certificate(dir, "localhost");
  https_server server{dir, site.path, tls};
  auto uri = fmt::format("https://127.0.0.1:{}/hello.txt", server.port);

  // A self-signed certificate is no authority the system knows.
  auto [refused, why_refused] = run_fetcher(dir, uri);
  CHECK(refused == 1);
  CHECK_MESSAGE(why_refused.find("certificate verify failed")
                  != std::string::npos,
                why_refused);
  CHECK_FALSE(fs::exists(dir / "sandbox/hello.txt"));

  // Trusted through OpenSSL's SSL_CERT_FILE, by address and by name.
  auto [status, err] = run_fetcher(dir, uri, {"SSL_CERT_FILE=" + tls.cert});
  CHECK_MESSAGE(status == 0, err);
  CHECK(read_file(dir / "sandbox/hello.txt") == "hello over https");
  fs::remove(dir / "sandbox/hello.txt");
  auto by_name = fmt::format("https://localhost:{}/hello.txt", server.port);
  std::tie(status, err) = run_fetcher(dir, by_name,
                                      {"SSL_CERT_FILE=" + tls.cert});
  CHECK_MESSAGE(status == 0, err);
  CHECK(read_file(dir / "sandbox/hello.txt") == "hello over https");

  // A trusted certificate for another name is refused.
  auto other = make_certificate(dir, "elsewhere.test");
  https_server impostor{dir, site.path, other};
  std::tie(status, err) = run_fetcher(
    dir, fmt::format("https://localhost:{}/hello.txt", impostor.port),
    {"SSL_CERT_FILE=" + other.cert});
  CHECK(status == 1);
  CHECK_MESSAGE(err.find("certificate verify failed") != std::string::npos,
                err);
}

TEST_CASE("the fetcher names unsupported URIs on stderr and exits 1") {
  scratch_dir dir;
  auto fetch = [&](const std::string& uri) {
    auto [status, err] = run_fetcher(dir, uri);
    CHECK(status == 1);
    return err;
  };
  CHECK(fetch("ftp://example.com/x")
        == "dcos-fetcher: cannot fetch 'ftp://example.com/x': not an absolute "
           "path or a file://, http:// or https:// URI\n");
  CHECK(fetch("relative/path").find("'relative/path'") != std::string::npos);
  CHECK(fetch("http://127.0.0.1:1/").find("names no file") != std::string::npos);
}
