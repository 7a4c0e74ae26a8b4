// Persistent volumes on labelled dynamic reservations: the offer steps a
// scheduler takes to keep state on an agent across its tasks' lives
// (Mesos' dynamic reservations and persistent volumes). A scheduler
// RESERVEs unreserved resources to its role with a label naming what they
// are for, CREATEs volumes on reserved disk, launches tasks on both, and
// later finds them in offers by that label; to let go it DESTROYs the
// volumes and UNRESERVEs the rest. The SDK's pod launches
// (dcos/pod_launch.hpp) and Marathon's resident apps take these steps.
//
// Thread-safety: plain functions.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dcos/resources.hpp>
#include <dcos/v1/offer.pb.h>

namespace dcos {

/// The disk a volume is made of, as Mesos' multiple-disk support names
/// them: part of the agent's root disk, part of a PATH disk, or a whole
/// MOUNT disk.
enum class volume_disk { root, path, mount };

/// Takes the unreserved disk a new volume of `size_mb` is made of out of
/// `left`: that much of the root disk or of a path disk, or the first
/// whole mount disk of at least that size (and at most `max_size_mb`,
/// when that is not 0), among those `accept` accepts (when given: a rule
/// on a disk's path). Reserved disk and volumes are never taken. Answers
/// std::nullopt, leaving `left` as it was, if none does.
std::optional<resource>
take_new_volume_disk(resources& left, double size_mb, volume_disk kind,
                     double max_size_mb = 0,
                     const std::function<bool(const resource&)>& accept = {});

/// The path of a path or mount disk (its source's root), or "" for the
/// root disk.
std::string disk_path(const resource& disk);

/// Takes the volume with persistence id `id` out of `left`, or answers
/// std::nullopt if `left` does not hold it.
std::optional<resource> take_volume(resources& left, const std::string& id);

/// `disk` (REQUIRES: reserved disk, no volume yet) as the persistent volume
/// `id` of `principal`, mounted read-write at `container_path` (relative
/// paths are in the task's sandbox).
resource with_volume(const resource& disk, const std::string& id,
                     const std::string& principal,
                     const std::string& container_path);

/// The value of label `key` of `r`'s innermost reservation, or "" if `r` is
/// unreserved or that reservation has no such label.
std::string reservation_label(const resource& r, std::string_view key);

/// The DESTROY (of the volumes among `reserved`) and UNRESERVE (of all of
/// it, the volumes' disk included) operations that give `reserved` back,
/// in that order; empty if `reserved` is. REQUIRES: `reserved` is part of
/// one offer and dynamically reserved.
std::vector<v1::Offer::Operation> release_operations(const resources& reserved);

} // namespace dcos
