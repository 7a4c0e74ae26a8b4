// The busybox image that integration tests run containers from: built once
// per test program by make_busybox_image.sh (named by DCOS_MAKE_IMAGE) from
// the host's busybox-static, so nothing is downloaded. Its
// /etc/image-release says "busybox-test".
#pragma once

#include <string>

#include <doctest/doctest.h>

#include "dcos/subprocess.hpp"
#include "support/files.hpp"
#include "support/processes.hpp"

namespace dcos::test {

/// An image store directory holding the image "busybox", made on first
/// call; it lives as long as the program.
inline const std::string& busybox_image_store() {
  static std::string dir = [] {
    auto* keep = new scratch_dir; // lives as long as the process
    subprocess_options opts;
    opts.argv = {"sh", binary("DCOS_MAKE_IMAGE"), keep->path};
    opts.stdout_path = "/dev/null";
    opts.stderr_path = "/dev/null";
    auto p = subprocess::spawn(opts);
    REQUIRE(p);
    REQUIRE_MESSAGE(p->wait() == 0, "make_busybox_image.sh failed");
    return keep->path;
  }();
  return dir;
}

} // namespace dcos::test
