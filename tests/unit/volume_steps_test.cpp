// The steps of persistent volumes on labelled reservations
// (dcos/persistent_volume.hpp): which disk a new volume is made of, finding
// a volume again, and giving a reservation back.
#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/persistent_volume.hpp"

using namespace dcos;

namespace {

resources parse(std::string_view text) {
  auto result = resources::parse(text);
  REQUIRE_MESSAGE(result, (result ? "" : describe(result.error())));
  return *result;
}

// A root disk of 1000, path disks at /srv/a (500) and /ssd/b (500), mount
// disks at /mnt/small (200) and /mnt/big (2000).
resources disks() {
  return parse(R"([
    {"name": "disk", "type": "SCALAR", "scalar": {"value": 1000}},
    {"name": "disk", "type": "SCALAR", "scalar": {"value": 500},
     "disk": {"source": {"type": "PATH", "path": {"root": "/srv/a"}}}},
    {"name": "disk", "type": "SCALAR", "scalar": {"value": 500},
     "disk": {"source": {"type": "PATH", "path": {"root": "/ssd/b"}}}},
    {"name": "disk", "type": "SCALAR", "scalar": {"value": 200},
     "disk": {"source": {"type": "MOUNT", "mount": {"root": "/mnt/small"}}}},
    {"name": "disk", "type": "SCALAR", "scalar": {"value": 2000},
     "disk": {"source": {"type": "MOUNT", "mount": {"root": "/mnt/big"}}}}])");
}

reservation level(const std::string& id) {
  reservation r;
  r.type = reservation::kind::dynamic_reservation;
  r.role = "db";
  r.principal = "ops";
  r.labels = {{"owner", id}};
  return r;
}

} // namespace

TEST_CASE("a root or path volume takes part of its disk, a mount volume a "
          "whole disk of its size or more") {
  auto left = disks();
  auto root = take_new_volume_disk(left, 100, volume_disk::root);
  REQUIRE(root);
  CHECK(root->milli == 100000);
  CHECK(disk_path(*root).empty());
  auto path = take_new_volume_disk(left, 100, volume_disk::path);
  REQUIRE(path);
  CHECK(path->milli == 100000);
  CHECK(disk_path(*path) == "/srv/a");
  auto mount = take_new_volume_disk(left, 150, volume_disk::mount);
  REQUIRE(mount);
  CHECK(mount->milli == 200000); // whole
  CHECK(disk_path(*mount) == "/mnt/small");
  // What was taken is gone from `left`; what is too small is not taken.
  auto before = left;
  CHECK(!take_new_volume_disk(left, 5000, volume_disk::mount));
  CHECK(!take_new_volume_disk(left, 901, volume_disk::root));
  CHECK(left == before);
  CHECK(take_new_volume_disk(left, 900, volume_disk::root));
}

TEST_CASE("maxSize and a rule on the disk's path choose among the disks") {
  auto left = disks();
  // At most 1000: the big mount disk is too big, the small one too small.
  CHECK(!take_new_volume_disk(left, 300, volume_disk::mount, 1000));
  auto big = take_new_volume_disk(left, 300, volume_disk::mount, 3000);
  REQUIRE(big);
  CHECK(disk_path(*big) == "/mnt/big");
  auto ssd = take_new_volume_disk(
    left, 10, volume_disk::path, 0,
    [](const resource& d) { return disk_path(d).rfind("/ssd/", 0) == 0; });
  REQUIRE(ssd);
  CHECK(disk_path(*ssd) == "/ssd/b");
}

TEST_CASE("a volume is found again by its persistence id, and a reservation "
          "is given back by DESTROY then UNRESERVE of what it was made of") {
  auto pool = parse("cpus:1;mem:64") + disks();
  auto disk = take_new_volume_disk(pool, 50, volume_disk::root);
  REQUIRE(disk);
  auto reserved_disk = *disk;
  reserved_disk.reservations.push_back(level("a"));
  auto volume = with_volume(reserved_disk, "vol-1", "ops", "data");
  CHECK(volume.is_persistent_volume());
  CHECK(reservation_label(volume, "owner") == "a");
  CHECK(reservation_label(volume, "other").empty());
  CHECK(reservation_label(*disk, "owner").empty());
  auto cpus = parse("cpus:1").push_reservation(level("a"));
  resources held = cpus;
  held += volume;
  auto left = held;
  CHECK(!take_volume(left, "vol-2"));
  auto found = take_volume(left, "vol-1");
  REQUIRE(found);
  CHECK(found->disk->persistence().id() == "vol-1");
  CHECK(found->milli == volume.milli);
  CHECK(left == cpus);

  auto ops = release_operations(held);
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].type() == v1::Offer::Operation::DESTROY);
  auto destroyed = resources::from_proto(ops[0].destroy().volumes());
  REQUIRE(destroyed);
  CHECK(destroyed->persistent_volumes().size() == 1);
  CHECK(ops[1].type() == v1::Offer::Operation::UNRESERVE);
  auto unreserved = resources::from_proto(ops[1].unreserve().resources());
  REQUIRE(unreserved);
  CHECK(unreserved->persistent_volumes().empty());
  resources expected = cpus;
  expected += reserved_disk;
  CHECK(*unreserved == expected);
  // Nothing with no volume to destroy but UNRESERVE; nothing for nothing.
  auto plain = release_operations(cpus);
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].type() == v1::Offer::Operation::UNRESERVE);
  CHECK(release_operations(resources{}).empty());
}
