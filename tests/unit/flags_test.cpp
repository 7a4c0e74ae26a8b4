#include <cstdio>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"

namespace {

struct options {
  std::string master = "127.0.0.1:5050";
  uint16_t port = 5051;
  bool checkpoint = true;
  double weight = 1.0;
  caf::timespan interval = std::chrono::seconds(1);
  std::string resources_text;
};

struct fixture {
  options opts;
  dcos::flags flags{"dcos-test [flags]", "A daemon under test."};

  fixture() {
    flags.add(&opts.master, "master", "master address");
    flags.add(&opts.port, "port", "HTTP port");
    flags.add(&opts.checkpoint, "checkpoint", "checkpoint state");
    flags.add(&opts.weight, "weight", "role weight");
    flags.add(&opts.interval, "allocation_interval", "allocation interval");
    flags.add_custom("resources", "resources", "", [this](std::string_view t) {
      if (t.empty())
        return dcos::make_error(dcos::errc::invalid_argument, "empty");
      opts.resources_text.assign(t);
      return caf::error{};
    });
  }

  caf::error load(std::vector<const char*> args,
                  std::vector<const char*> env = {}) {
    args.insert(args.begin(), "dcos-test");
    env.push_back(nullptr);
    return flags.load(static_cast<int>(args.size()), args.data(), env.data());
  }
};

std::string temp_file(const std::string& text) {
  auto path = std::filesystem::temp_directory_path()
              / ("dcos-flags-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream{path} << text;
  return path.string();
}

} // namespace

TEST_CASE_FIXTURE(fixture, "defaults stay when nothing is given") {
  REQUIRE_FALSE(load({}));
  CHECK(opts.port == 5051);
  CHECK(opts.checkpoint);
  CHECK_FALSE(flags.is_set("port"));
}

TEST_CASE_FIXTURE(fixture, "command line values of every type") {
  REQUIRE_FALSE(load({"--port=6000", "--no-checkpoint", "--weight=2.5",
                      "--allocation_interval=500ms", "--master=m1:5050",
                      "up", "--", "--not-a-flag"}));
  CHECK(opts.port == 6000);
  CHECK_FALSE(opts.checkpoint);
  CHECK(opts.weight == 2.5);
  CHECK(opts.interval == std::chrono::milliseconds(500));
  CHECK(opts.master == "m1:5050");
  CHECK(flags.positional() == std::vector<std::string>{"up", "--not-a-flag"});
  CHECK(flags.is_set("port"));
}

TEST_CASE_FIXTURE(fixture, "command line beats environment beats config") {
  auto path = temp_file("port: 7000\nweight: 3\nmaster: cfg:1\n");
  REQUIRE_FALSE(load({"--port=6000", ("--config=" + path).c_str()},
                     {"DCOS_PORT=6500", "DCOS_WEIGHT=4", "HOME=/root"}));
  CHECK(opts.port == 6000);  // command line
  CHECK(opts.weight == 4.0); // environment
  CHECK(opts.master == "cfg:1"); // config file
  std::remove(path.c_str());
}

TEST_CASE_FIXTURE(fixture, "config file from DCOS_CONFIG, structured values") {
  auto path = temp_file("resources:\n  - name: cpus\n    type: SCALAR\n"
                        "    scalar: {value: 4}\n");
  REQUIRE_FALSE(load({}, {("DCOS_CONFIG=" + path).c_str()}));
  CHECK(opts.resources_text
        == R"([{"name":"cpus","type":"SCALAR","scalar":{"value":4}}])");
  std::remove(path.c_str());
}

TEST_CASE_FIXTURE(fixture, "errors name the flag and its source") {
  auto text = [&](caf::error err) { return dcos::describe_reason(err); };
  CHECK(text(load({"--prot=1"})) == "unknown flag '--prot' (command line)");
  CHECK(text(load({"--port=70000"}))
        == "--port (command line): '70000' is not a port number (0-65535)");
  CHECK(text(load({"--port"}))
        == "--port (command line): needs a value, as in --port=VALUE");
  CHECK(text(load({}, {"DCOS_WEIGHT=heavy"}))
        == "--weight (environment DCOS_WEIGHT): 'heavy' is not a number");
  CHECK(text(load({"--allocation_interval=5parsecs"})).find("duration")
        != std::string::npos);
  CHECK(text(load({"--resources="})) == "--resources (command line): empty");
  auto path = temp_file("bogus: 1\n");
  CHECK(text(load({("--config=" + path).c_str()})).find("unknown flag "
                                                        "'--bogus' (config "
                                                        "file")
        == 0);
  std::remove(path.c_str());
  CHECK(text(load({"--config=/nonexistent.yaml"}))
        == "--config: cannot read '/nonexistent.yaml'");
}

TEST_CASE_FIXTURE(fixture, "--help is generated from the declarations") {
  REQUIRE_FALSE(load({"--help"}));
  CHECK(flags.help_requested());
  auto usage = flags.usage();
  CHECK(usage.find("Usage: dcos-test [flags]") == 0);
  CHECK(usage.find("--port=VALUE") != std::string::npos);
  CHECK(usage.find("(default: 5051)") != std::string::npos);
  CHECK(usage.find("--[no-]checkpoint") != std::string::npos);
  CHECK(usage.find("(default: 1secs)") != std::string::npos);
}

TEST_CASE("durations in Mesos units") {
  caf::timespan t;
  REQUIRE_FALSE(dcos::parse_flag_value("1.5secs", t));
  CHECK(t == std::chrono::milliseconds(1500));
  REQUIRE_FALSE(dcos::parse_flag_value("2mins", t));
  CHECK(t == std::chrono::minutes(2));
  REQUIRE_FALSE(dcos::parse_flag_value("10s", t));
  CHECK(dcos::flag_value_text(t) == "10secs");
  CHECK(dcos::parse_flag_value("10", t)); // a unit is required
}

TEST_CASE("split_list drops empty items") {
  CHECK(dcos::split_list("a,b,,c,") == std::vector<std::string>{"a", "b", "c"});
  CHECK(dcos::split_list("") == std::vector<std::string>{});
  CHECK(dcos::split_list("x y", ' ') == std::vector<std::string>{"x", "y"});
}

TEST_CASE("values lists every flag with the text in effect, for /flags") {
  fixture f;
  REQUIRE_FALSE(f.load({"--port=6000", "--resources=cpus:1"},
                       {"DCOS_PORT=7000", "DCOS_WEIGHT=2.5"}));
  std::vector<std::pair<std::string, std::string>> expected = {
    {"allocation_interval", "1secs"},
    {"checkpoint", "true"},
    {"master", "127.0.0.1:5050"},
    {"port", "6000"},          // the command line won over the environment
    {"resources", "cpus:1"},
    {"weight", "2.5"},          // from the environment
  };
  CHECK(f.flags.values() == expected);
}
