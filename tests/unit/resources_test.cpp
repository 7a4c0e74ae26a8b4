#include <random>

#include <doctest/doctest.h>

#include "support/checks.hpp"

#include "dcos/error.hpp"
#include "dcos/resources.hpp"
#include "support/seed.hpp"

using dcos::reservation;
using dcos::resource;
using dcos::resources;

namespace {

resources parse(std::string_view text, std::string_view role = "*") {
  auto result = resources::parse(text, role);
  DCOS_REQUIRE_OK(result);
  return *result;
}

std::string parse_error(std::string_view text) {
  auto result = resources::parse(text);
  REQUIRE_FALSE(result);
  return dcos::describe(result.error());
}

} // namespace

TEST_CASE("parses the Mesos text format") {
  auto rs = parse("cpus:4;mem:1024;disk(role1):100;ports:[31000-32000,"
                  "40000-40010]");
  CHECK(rs.scalar("cpus") == 4.0);
  CHECK(rs.scalar("mem") == 1024.0);
  CHECK(rs.scalar("disk") == 100.0);
  CHECK(rs.reserved("role1").scalar("disk") == 100.0);
  CHECK(rs.unreserved().scalar("disk") == std::nullopt);
  auto ports = rs.ranges("ports");
  REQUIRE(ports);
  REQUIRE(ports->size() == 2);
  CHECK((*ports)[0].begin == 31000);
  CHECK((*ports)[1].end == 40010);
  CHECK(rs.to_string()
        == "cpus:4;mem:1024;disk(role1):100;ports:[31000-32000,40000-40010]");
}

TEST_CASE("text format: sets, spaces, default role, repeated names") {
  auto rs = parse(" cpus : 2 ; zones:{b, a ,a}; cpus:1.5 ", "web");
  CHECK(rs.reserved("web").scalar("cpus") == 3.5);
  CHECK(rs.to_string() == "cpus(web):3.5;zones(web):{a,b}");
  CHECK(parse("").empty());
  CHECK(parse("ports:[1-2];ports:[3-4]").to_string() == "ports:[1-4]");
}

TEST_CASE("text format errors name the bad token") {
  CHECK(parse_error("cpus:4;mem:abc").find("'mem:abc'") != std::string::npos);
  CHECK(parse_error("cpus:4;mem:abc").find("'abc' is not a number")
        != std::string::npos);
  CHECK(parse_error("cpus").find("'cpus': expected name:value")
        != std::string::npos);
  CHECK(parse_error("ports:[5-1]").find("range '5-1' begins after it ends")
        != std::string::npos);
  CHECK(parse_error("ports:[1-x]").find("'1-x' is not a range")
        != std::string::npos);
  CHECK(parse_error("cpus:-1").find("'-1' is negative") != std::string::npos);
  CHECK(parse_error("cpus(..):1").find("not a valid role")
        != std::string::npos);
  CHECK(parse_error(":4").find("name is empty") != std::string::npos);
  CHECK(dcos::code_of(resources::parse("cpus:x").error())
        == dcos::errc::invalid_argument);
}

TEST_CASE("parses and prints the JSON format") {
  auto rs = parse(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":2.5}},
    {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":5}]}},
    {"name":"disk","type":"SCALAR","scalar":{"value":10},
     "reservations":[{"type":"DYNAMIC","role":"db","principal":"ops"}]}])");
  CHECK(rs.scalar("cpus") == 2.5);
  CHECK(rs.reserved("db").scalar("disk") == 10.0);
  CHECK(rs.reserved("db").begin()->reservations[0].principal == "ops");
  auto json = rs.to_json();
  CHECK(json.find(R"("begin":1,"end":5)") != std::string::npos); // numbers
  CHECK(parse(json) == rs);
  auto bad = resources::parse(R"([{"name":"cpus","type":"SCALAR",
                                   "scalar":{"value":-1}}])");
  REQUIRE_FALSE(bad);
  CHECK(dcos::describe(bad.error()).find("resources[0]") != std::string::npos);
  auto broken = resources::parse("[{\"name\":");
  REQUIRE_FALSE(broken);
  CHECK(dcos::describe(broken.error()).find("resources JSON")
        != std::string::npos);
}

TEST_CASE("accepts the pre-refinement role/reservation format") {
  auto rs = parse(R"([{"name":"mem","type":"SCALAR","scalar":{"value":64},
    "role":"db","reservation":{"principal":"ops"}}])");
  REQUIRE(rs.size() == 1);
  const auto& r = *rs.begin();
  REQUIRE(r.reservations.size() == 1);
  CHECK(r.reservations[0].role == "db");
  CHECK(r.is_dynamically_reserved());
}

TEST_CASE("reservation stacks must refine") {
  auto bad = resources::parse(R"([{"name":"cpus","type":"SCALAR",
    "scalar":{"value":1},"reservations":[
      {"type":"STATIC","role":"a"},{"type":"DYNAMIC","role":"b"}]}])");
  REQUIRE_FALSE(bad);
  CHECK(dcos::describe(bad.error()).find("does not refine")
        != std::string::npos);
  auto good = resources::parse(R"([{"name":"cpus","type":"SCALAR",
    "scalar":{"value":1},"reservations":[
      {"type":"STATIC","role":"a"},{"type":"DYNAMIC","role":"a/b"}]}])");
  REQUIRE(good);
  CHECK(good->allocatable_to("a/b").scalar("cpus") == 1.0);
  CHECK(good->allocatable_to("a/b/c").scalar("cpus") == 1.0);
  CHECK(good->allocatable_to("a").empty());
}

TEST_CASE("scalars keep three decimals like Mesos") {
  auto rs = parse("cpus:0.1") + parse("cpus:0.2");
  CHECK(rs == parse("cpus:0.3"));
  CHECK(parse("cpus:0.0004").empty()); // rounds to zero
  CHECK(parse("cpus:1.0005").to_string() == "cpus:1.001");
  CHECK(dcos::format_milli(1234) == "1.234");
  CHECK(dcos::format_milli(500) == "0.5");
}

TEST_CASE("ranges merge and split") {
  CHECK((parse("ports:[1-5]") + parse("ports:[6-9,20-30]")).to_string()
        == "ports:[1-9,20-30]");
  CHECK((parse("ports:[1-10]") - parse("ports:[4-5]")).to_string()
        == "ports:[1-3,6-10]");
  CHECK((parse("ports:[1-10]") - parse("ports:[1-10]")).empty());
  CHECK((parse("ports:[1-10,20-30]") - parse("ports:[5-25]")).to_string()
        == "ports:[1-4,26-30]");
  CHECK(parse("ports:[1-10]").contains(parse("ports:[2-3,9-10]")));
  CHECK_FALSE(parse("ports:[1-10]").contains(parse("ports:[9-11]")));
}

TEST_CASE("subtraction saturates and reservations are separate") {
  CHECK((parse("cpus:1") - parse("cpus:3")).empty());
  auto rs = parse("cpus:4") + parse("cpus:2", "web");
  CHECK(rs.scalar("cpus") == 6.0);
  CHECK_FALSE(rs.contains(parse("cpus:5")));
  CHECK(rs.contains(parse("cpus:2", "web")));
  CHECK(rs.flatten() == parse("cpus:6"));
}

TEST_CASE("persistent volumes are atomic") {
  auto volume = parse(R"([{"name":"disk","type":"SCALAR","scalar":{"value":50},
    "reservations":[{"type":"DYNAMIC","role":"db","principal":"ops"}],
    "disk":{"persistence":{"id":"vol1"},"volume":{"container_path":"data",
                                                  "mode":"RW"}}}])");
  auto total = volume + parse("disk:100");
  CHECK(total.persistent_volumes() == volume);
  CHECK(total.contains(volume));
  auto half = parse(R"([{"name":"disk","type":"SCALAR","scalar":{"value":25},
    "reservations":[{"type":"DYNAMIC","role":"db","principal":"ops"}],
    "disk":{"persistence":{"id":"vol1"},"volume":{"container_path":"data",
                                                  "mode":"RW"}}}])");
  CHECK((volume + volume).size() == 2); // never merged
  CHECK((total - volume) == parse("disk:100"));
  CHECK(volume.to_string() == "disk(reservations: [(DYNAMIC,db,ops)])"
                              "[vol1:data]:50");
  // Part of a volume is not a volume: it is neither held nor taken away.
  CHECK_FALSE(volume.contains(half));
  CHECK_FALSE(total.contains(half));
  CHECK((volume - half) == volume);
  CHECK((total - half) == total);
}

TEST_CASE("reserve and unreserve") {
  reservation level{reservation::kind::dynamic_reservation, "db", "ops", {}};
  auto base = parse("cpus:2;mem:512");
  auto reserved = base.push_reservation(level);
  CHECK(reserved.reserved("db") == reserved);
  CHECK(reserved.pop_reservation() == base);
  CHECK(base.allocate("db").unallocate() == base);
  CHECK_FALSE(base.allocate("db").contains(base));
}

TEST_CASE("allocation roles: entries that differ only in them become one") {
  auto base = parse("cpus:2;mem:512;ports:[31000-31009]");
  // One role throughout: nothing merges, in either direction.
  auto web = base.allocate("web");
  CHECK(web.size() == base.size());
  CHECK(web.unallocate() == base);
  // Two roles: unallocating merges each kind back into one entry.
  auto mixed = parse("cpus:1;mem:256;ports:[31000-31004]").allocate("web")
               + parse("cpus:1;mem:256;ports:[31005-31009]").allocate("db");
  CHECK(mixed.size() == 2 * base.size());
  CHECK(mixed.unallocate() == base);
  CHECK(mixed.unallocate().size() == base.size());
  CHECK(mixed.allocate("ops") == base.allocate("ops"));
  CHECK(mixed.allocate("ops").size() == base.size());
}

// -- property-style tests ----------------------------------------------------

namespace {

struct generator {
  std::mt19937_64 rng;

  explicit generator(uint64_t seed) : rng(seed) {}

  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>{lo, hi}(rng);
  }

  bool coin() { return uniform(0, 1) == 1; }

  std::vector<reservation> reservations(bool text_safe) {
    static const char* roles[] = {"a", "b", "web"};
    switch (uniform(0, text_safe ? 1 : 3)) {
      case 0: return {};
      case 1:
        return {{reservation::kind::static_reservation, roles[uniform(0, 2)],
                 {}, {}}};
      case 2:
        return {{reservation::kind::dynamic_reservation, roles[uniform(0, 2)],
                 coin() ? "ops" : "", {}}};
      default:
        return {{reservation::kind::static_reservation, "a", {}, {}},
                {reservation::kind::dynamic_reservation, "a/x", "ops",
                 {{"k", "v"}}}};
    }
  }

  // A random pool of resources; text_safe limits it to what the text
  // format can express.
  resources pool(bool text_safe) {
    resources result;
    int n = static_cast<int>(uniform(0, 6));
    for (int i = 0; i < n; ++i) {
      resource r;
      r.reservations = reservations(text_safe);
      switch (uniform(0, 3)) {
        case 0:
        case 1:
          r.name = uniform(0, 1) ? "cpus" : "mem";
          r.milli = uniform(1, 64'000);
          break;
        case 2: {
          r.name = "ports";
          r.type = resource::kind::ranges;
          uint64_t at = static_cast<uint64_t>(uniform(0, 1000));
          for (int k = 0, m = static_cast<int>(uniform(1, 4)); k < m; ++k) {
            auto len = static_cast<uint64_t>(uniform(0, 50));
            r.ranges.push_back({at, at + len});
            at += len + static_cast<uint64_t>(uniform(2, 100));
          }
          break;
        }
        default:
          r.name = "zones";
          r.type = resource::kind::set;
          for (const char* z : {"a", "b", "c", "d", "e"})
            if (coin())
              r.items.emplace_back(z);
      }
      result += r;
    }
    return result;
  }

  // Splits every amount of `total` into two disjoint parts.
  std::pair<resources, resources> split(const resources& total) {
    resources a;
    resources b;
    for (const auto& r : total) {
      resource left = r;
      resource right = r;
      switch (r.type) {
        case resource::kind::scalar:
          left.milli = uniform(0, r.milli);
          right.milli = r.milli - left.milli;
          break;
        case resource::kind::ranges:
          left.ranges.clear();
          right.ranges.clear();
          for (const auto& range : r.ranges) {
            auto cut = static_cast<uint64_t>(uniform(
              static_cast<int64_t>(range.begin),
              static_cast<int64_t>(range.end) + 1));
            if (cut > range.begin)
              left.ranges.push_back({range.begin, cut - 1});
            if (cut <= range.end)
              right.ranges.push_back({cut, range.end});
          }
          break;
        case resource::kind::set:
          left.items.clear();
          right.items.clear();
          for (const auto& item : r.items)
            (coin() ? left : right).items.push_back(item);
          break;
      }
      a += left;
      b += right;
    }
    return {a, b};
  }
};

} // namespace

TEST_CASE("property: algebra laws hold for random resources") {
  DCOS_TEST_SEED_INFO();
  generator gen{dcos::test::test_seed()};
  for (int round = 0; round < 2000; ++round) {
    CAPTURE(round);
    auto [a, b] = gen.split(gen.pool(false));
    auto c = gen.pool(false);
    CAPTURE(a.to_string());
    CAPTURE(b.to_string());
    CAPTURE(c.to_string());
    CHECK((a + b) - b == a);
    CHECK((a + b) - a == b);
    CHECK(a + b == b + a);
    CHECK((a + b) + c == a + (b + c));
    CHECK((a + b).contains(a));
    CHECK((a + b).contains(b));
    CHECK(a.contains(a));
    CHECK(a.contains(resources{}));
    CHECK(a.contains(a - c));
    CHECK(((a - c) + c).contains(a));
    CHECK((a - a).empty());
    CHECK(a.flatten().scalar("cpus") == a.scalar("cpus"));
    CHECK(a.allocate("a").unallocate() == a);
    reservation level{reservation::kind::dynamic_reservation, "z", "p", {}};
    CHECK(a.push_reservation(level).pop_reservation() == a);
    CHECK(a.unreserved() + a.reserved() == a);
    if (a.contains(c) && c.contains(a))
      CHECK(a == c);
  }
}

TEST_CASE("property: text, JSON and protobuf round trips") {
  DCOS_TEST_SEED_INFO();
  generator gen{dcos::test::test_seed() ^ 0x9e3779b97f4a7c15ULL};
  for (int round = 0; round < 1000; ++round) {
    CAPTURE(round);
    auto text_safe = gen.pool(true);
    CAPTURE(text_safe.to_string());
    auto from_text = resources::parse(text_safe.to_string());
    REQUIRE(from_text);
    CHECK(*from_text == text_safe);

    auto any = gen.pool(false);
    CAPTURE(any.to_json());
    auto from_json = resources::parse(any.to_json());
    DCOS_REQUIRE_OK(from_json);
    CHECK(*from_json == any);

    google::protobuf::RepeatedPtrField<dcos::v1::Resource> wire;
    any.to_proto(&wire);
    auto back = resources::from_proto(wire);
    REQUIRE(back);
    CHECK(*back == any);
  }
}

TEST_CASE("a persistent volume's source is its reserved disk, mount kept") {
  auto volume = parse(R"([{"name":"disk","type":"SCALAR","scalar":{"value":50},
    "reservations":[{"type":"DYNAMIC","role":"db","principal":"ops"}],
    "disk":{"persistence":{"id":"vol1"},"volume":{"container_path":"data",
                                                  "mode":"RW"},
            "source":{"type":"MOUNT","mount":{"root":"/mnt/d1"}}}}])");
  REQUIRE(volume.size() == 1);
  auto source = volume.begin()->volume_source();
  CHECK_FALSE(source.is_persistent_volume());
  REQUIRE(source.disk);
  CHECK(source.disk->source().mount().root() == "/mnt/d1");
  CHECK_FALSE(source.disk->has_volume());
  CHECK(source.milli == 50'000);
  CHECK(source.reservations == volume.begin()->reservations);
  // Without a source, plain reserved disk; a plain entry stays as it is.
  auto bare = parse(R"([{"name":"disk","type":"SCALAR","scalar":{"value":5},
    "reservations":[{"type":"DYNAMIC","role":"db"}],
    "disk":{"persistence":{"id":"v2"},"volume":{"container_path":"d",
                                                "mode":"RW"}}}])");
  CHECK_FALSE(bare.begin()->volume_source().disk);
  auto plain = parse("cpus:1");
  CHECK(plain.begin()->volume_source().same_identity(*plain.begin()));
}
