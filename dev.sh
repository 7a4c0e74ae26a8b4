#!/usr/bin/env bash
# One entry point for newcomers and CI.
#
#   ./dev.sh up     install what is missing, build, run the local cluster
#   ./dev.sh test   install what is missing, build, run every test suite
#   ./dev.sh build  install what is missing and build
#
# Idempotent: apt-get runs only when a package is missing, meson setup only
# when there is no build directory yet. Needs root (or sudo) only to install.
set -euo pipefail

cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}

PACKAGES=(
  # toolchain
  g++ meson ninja-build pkg-config ccache python3
  # libraries
  libcaf-dev libprotobuf-dev protobuf-compiler libboost-dev libfmt-dev
  libspdlog-dev libyaml-cpp-dev libseccomp-dev doctest-dev
  libjemalloc-dev libzookeeper-mt-dev libldns-dev libkainjow-mustache-dev
  libssl-dev
  # time zones for Metronome's schedules
  libhowardhinnant-date-dev tzdata
  # used by tests and tools; ZooKeeper for several masters; dig for
  # Mesos-DNS
  curl procps zookeeper bind9-dnsutils
  # certificates for the https tests
  openssl
  # the stateful service SDK's example (examples/redis) and its test
  redis-server
  # Linux containers: test images (busybox), networks (ip, iptables,
  # nsenter), and crun for the launch benchmark
  busybox-static iproute2 iptables util-linux crun
)

install_missing() {
  local missing=()
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
        | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      echo "dev.sh: need root (or sudo) to install: ${missing[*]}" >&2
      exit 1
    }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  install_missing
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR"
  fi
  meson compile -C "$BUILD_DIR"
}

run_tests() {
  build
  local status=0
  meson test -C "$BUILD_DIR" --print-errorlogs "$@" || status=$?
  # The last line of the output: "N passed, N failed, N skipped", after
  # the reason for each skip. It fails the run if anything failed, or, when
  # CI is set (as .ci/run sets it), if anything was skipped.
  python3 scripts/test_summary.py "$BUILD_DIR/meson-logs/testlog.json" \
    || status=1
  return $status
}

case "${1:-}" in
  up)
    build
    shift
    # A local cluster (one master, agents as separate processes) in the
    # foreground; Ctrl-C stops all of it. Extra flags go to `dcos up`.
    exec "$BUILD_DIR/dcos" up "$@"
    ;;
  test)
    shift
    run_tests "$@"
    ;;
  build)
    build
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
