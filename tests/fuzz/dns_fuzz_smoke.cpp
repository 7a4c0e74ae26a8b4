// The short fuzz smoke CI runs (see dns_packet_fuzz.cpp): valid queries,
// mutated by seeded random edits (bit flips, cuts, insertions, huge counts,
// compression pointers anywhere), each fed to the packet path. The seed is
// DCOS_SEED (else 1) and the number of inputs DCOS_FUZZ_RUNS (else 200000),
// so that a finding reproduces. Exits 0 when no input crashed it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "support/dns_query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string mutate(std::string p, std::mt19937_64& rng) {
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    auto at = p.empty() ? 0 : rng() % p.size();
    switch (rng() % 7) {
      case 0: // flip a bit
        if (!p.empty())
          p[at] = static_cast<char>(p[at] ^ (1 << (rng() % 8)));
        break;
      case 1: // cut the end off
        p.resize(at);
        break;
      case 2: // insert random bytes
        p.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng())));
        break;
      case 3: // a huge count in the header
        if (p.size() >= 12) {
          auto field = 4 + 2 * (rng() % 4);
          p[field] = static_cast<char>(0xff);
          p[field + 1] = static_cast<char>(rng());
        }
        break;
      case 4: // a compression pointer anywhere, to anywhere
        if (p.size() >= 2) {
          p[at] = static_cast<char>(0xc0 | (rng() & 0x3f));
          if (at + 1 < p.size())
            p[at + 1] = static_cast<char>(rng());
        }
        break;
      case 5: // a label length past the end
        if (!p.empty())
          p[at] = static_cast<char>(rng() % 64);
        break;
      default: // duplicate a slice
        if (!p.empty()) {
          auto len = 1 + rng() % std::min<size_t>(16, p.size() - at);
          p.insert(at, p.substr(at, len));
        }
    }
  }
  return p;
}

} // namespace

int main() {
  using dcos::test::dns_query;
  auto seed = env_or("DCOS_SEED", 1);
  auto runs = env_or("DCOS_FUZZ_RUNS", 200000);
  std::vector<std::string> corpus = {
    dns_query("web.marathon.mesos.", "A"),
    dns_query("_web._tcp.marathon.mesos.", "SRV", 1, 4096),
    dns_query("mesos.", "SOA"),
    dns_query("db-abcde-s0.marathon.slave.mesos.", "AAAA"),
    dns_query("example.com.", "ANY"),
  };
  std::mt19937_64 rng{seed};
  for (uint64_t i = 0; i < runs; ++i) {
    const auto& base = corpus[rng() % corpus.size()];
    auto input = mutate(base, rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                           input.size());
  }
  std::printf("%llu inputs from seed %llu: no crash\n",
              static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(seed));
  return 0;
}
