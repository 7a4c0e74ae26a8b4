// dcos-sim: runs a simulation scenario for one seed, or sweeps many seeds
// over all cores, and prints any failing seed with the command that
// replays it.
//
//   dcos-sim --scenario=libdcos/scenarios/launch_storm.yaml --seed=7
//   dcos-sim --scenario=... --sweep=1000 --jobs=2
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/logging.hpp"
#include "dcos/sim.hpp"

using namespace dcos;

namespace {

struct options {
  std::string scenario;
  uint64_t seed = 1;
  uint64_t sweep = 0;
  uint32_t jobs = 0;
  std::string mutation;
  bool trace = false;
  bool quiet = false;
};

void print(const sim::report& r, const sim::scenario& sc, bool trace) {
  const auto& s = r.stats;
  std::printf("%s seed=%llu hash=%016llx %s steps=%llu messages=%llu "
              "dropped=%llu faults=%llu tasks=%llu/%llu virtual=%.1fs "
              "wall=%.2fs\n",
              sc.name.c_str(), static_cast<unsigned long long>(r.seed),
              static_cast<unsigned long long>(r.trace_hash),
              r.passed ? "passed" : "FAILED",
              static_cast<unsigned long long>(s.steps),
              static_cast<unsigned long long>(s.link_messages),
              static_cast<unsigned long long>(s.dropped),
              static_cast<unsigned long long>(s.faults),
              static_cast<unsigned long long>(s.tasks_finished),
              static_cast<unsigned long long>(s.tasks_launched),
              std::chrono::duration<double>(s.virtual_time).count(),
              s.wall_seconds);
  if (!r.passed || trace) {
    if (!r.passed)
      std::printf("  violation: %s\n", r.violation.c_str());
    std::printf("  last events:\n");
    for (const auto& line : r.trace)
      std::printf("    %s\n", line.c_str());
    if (!r.passed)
      std::printf("  replay: %s\n", r.replay.c_str());
  }
  std::fflush(stdout);
}

sim::report run_one(const sim::scenario& sc, const options& o, uint64_t seed) {
  sim::simulation s{sc, seed};
  s.set_replay_hint(o.scenario);
  return s.run();
}

// Runs seeds seed..seed+sweep-1 in `jobs` processes (seed i in worker
// i % jobs); prints every run and, at the end, the failing seeds.
int sweep(const sim::scenario& sc, const options& o) {
  auto jobs = o.jobs > 0 ? o.jobs : std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<pid_t> workers;
  std::vector<int> pipes;
  for (long k = 0; k < jobs; ++k) {
    int fds[2];
    if (pipe(fds) != 0) {
      std::perror("dcos-sim: pipe");
      return 2;
    }
    auto pid = fork();
    if (pid == 0) {
      close(fds[0]);
      dup2(fds[1], STDOUT_FILENO);
      close(fds[1]);
      int failed = 0;
      for (uint64_t i = static_cast<uint64_t>(k); i < o.sweep;
           i += static_cast<uint64_t>(jobs)) {
        auto r = run_one(sc, o, o.seed + i);
        if (!r.passed || !o.quiet)
          print(r, sc, false);
        failed += r.passed ? 0 : 1;
      }
      std::fflush(stdout);
      _exit(failed > 0 ? 1 : 0);
    }
    close(fds[1]);
    workers.push_back(pid);
    pipes.push_back(fds[0]);
  }
  std::vector<std::string> failing;
  for (int fd : pipes) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
      out.append(buf, static_cast<size_t>(n));
    close(fd);
    std::fputs(out.c_str(), stdout);
    size_t at = 0;
    while ((at = out.find("  replay: ", at)) != std::string::npos) {
      auto end = out.find('\n', at);
      failing.push_back(out.substr(at + 10, end - at - 10));
      at = end;
    }
  }
  int status = 0;
  bool crashed = false;
  for (auto pid : workers) {
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) > 1)
      crashed = true;
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
      status = 1;
  }
  std::printf("%s: %llu seeds from %llu, %zu failed%s\n", sc.name.c_str(),
              static_cast<unsigned long long>(o.sweep),
              static_cast<unsigned long long>(o.seed), failing.size(),
              crashed ? " (a worker crashed: run its seeds one by one)" : "");
  for (const auto& cmd : failing)
    std::printf("  %s\n", cmd.c_str());
  return status;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  flags f{"dcos-sim --scenario=FILE [flags]",
          "Runs a deterministic cluster simulation; the same scenario and "
          "seed give the same run."};
  f.add(&o.scenario, "scenario", "the scenario (YAML)");
  f.add(&o.seed, "seed", "the seed (the first one of a sweep)");
  f.add(&o.sweep, "sweep", "run this many seeds and report the failing ones");
  f.add(&o.jobs, "jobs", "processes for a sweep (default: one per core)");
  f.add(&o.mutation, "mutation",
        "switch on a known kernel fault (proves the checks catch it)");
  f.add(&o.trace, "trace", "print the last events of passing runs too");
  f.add(&o.quiet, "quiet", "in a sweep, print failing runs only");
  parse_or_exit(f, argc, argv);
  if (o.scenario.empty()) {
    std::fprintf(stderr, "dcos-sim: --scenario is required\n");
    return 2;
  }
  auto sc = sim::load_scenario(o.scenario);
  if (!sc) {
    std::fprintf(stderr, "dcos-sim: %s\n", describe_reason(sc.error()).c_str());
    return 2;
  }
  if (auto err = sim::check_mutation(o.mutation)) {
    std::fprintf(stderr, "dcos-sim: --mutation: %s\n",
                 describe_reason(err).c_str());
    return 2;
  }
  if (!o.mutation.empty())
    sc->mutation = o.mutation;
  spdlog::level::level_enum level = spdlog::level::err;
  if (const char* text = std::getenv("DCOS_LOG_LEVEL"))
    logging::parse_level(text, level);
  logging::init(level);
  if (o.sweep > 0)
    return sweep(*sc, o);
  auto r = run_one(*sc, o, o.seed);
  print(r, *sc, o.trace);
  return r.passed ? 0 : 1;
}
