#!/usr/bin/env bash
# A Debian 13 (trixie) chroot with c/storage 1.57's containers-storage, podman 5, skopeo and runc,
# so that the tests can check libcstorage against today's Go tools on this Debian 12 machine.
#
#   trixie-chroot.sh build
#       Build the chroot once (debootstrap + apt-get), idempotently: a second call that finds it
#       complete returns at once. Must run as root.
#   trixie-chroot.sh root
#       Print the chroot's directory.
#   trixie-chroot.sh run [--bin FILE]... STORE -- CMD [ARG]...
#       Run CMD inside the chroot, in a mount namespace of its own, with the directory STORE
#       (created if missing) visible at the same path inside as outside. Every `--bin FILE` is
#       bind-mounted read-only at /usr/local/bin/<name of FILE> (our cstorage binary, built on
#       the host). CMD gets a clean environment (add variables with `env VAR=... CMD`) that
#       points podman and the Go tools at configuration files of the chroot's own (write_config
#       below), so they never read the host's /etc/containers nor use /var/lib/containers or
#       /run/containers; /run in the chroot is a tmpfs of the namespace's own. CMD's exit status
#       is the script's.
#       Everything mounted is unmounted when CMD exits, whatever happens: by the trap below, and
#       by the kernel when the namespace's last process is gone.
#       Tests run many commands in one namespace: they start `run STORE -- sh -c '...'` as a
#       holder that prints its pid and waits for its stdin to close, and enter it with
#       `nsenter --target PID --mount --root --wd` (tests/trixie_common/mod.rs).
#
# The chroot lives in $CSTORAGE_TRIXIE_ROOT (default /var/tmp/cstorage-trixie), outside the
# repository, so that it survives between runs on the same machine.
set -euo pipefail

chroot_dir=$(realpath -m "${CSTORAGE_TRIXIE_ROOT:-/var/tmp/cstorage-trixie}")
# Inside the chroot: runc (crun cannot run here), busybox-static for a test image built without
# a registry. --no-install-recommends keeps podman's network stack (netavark, passt...) out: the
# tests run podman with --network none.
chroot_packages=(containers-storage podman skopeo runc busybox-static)
# What the build writes last; its content names the package list, so that changing the list
# rebuilds the chroot.
ready_marker="$chroot_dir/.cstorage-trixie-ready"
building_marker="$chroot_dir/.cstorage-trixie-building"
ready_content="trixie minbase: ${chroot_packages[*]}"

die() {
  echo "trixie-chroot.sh: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mount need it)"
}

# The Debian mirror this machine's apt uses, so that the chroot comes from the same place.
host_mirror() {
  local uri
  # shellcheck disable=SC2016 # $(REPO_URI) is apt's field name, not a shell expansion
  uri=$(apt-get indextargets --format '$(REPO_URI)' 'Origin: Debian' 2>/dev/null | grep -v security | head -n 1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -rhoE '^(deb[[:space:]]+|URIs:[[:space:]]*)[^[:space:]]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
      awk '{print $NF}' | grep -E '/debian/?$' | head -n 1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian/}"
}

is_built() {
  [ -f "$ready_marker" ] && [ "$(cat "$ready_marker")" = "$ready_content" ]
}

# Configuration read inside the chroot instead of the system-wide one: a storage.conf that names
# no path of the machine's own store (the tools always get --root/--runroot or -g/-R anyway), and
# a containers.conf with what this machine needs (no cgroup manager but cgroupfs, runc, no
# events journal, no network).
write_config() {
  local dir="$chroot_dir/etc/cstorage-tests"
  mkdir -p "$dir"
  cat >"$dir/storage.conf" <<'EOF'
# Written by libcstorage's scripts/trixie-chroot.sh. Tests always pass the store's roots and
# driver on the command line; these defaults only keep the tools off /var/lib/containers.
[storage]
driver = "vfs"
graphroot = "/var/tmp/cstorage-tests-unused/graph"
runroot = "/var/tmp/cstorage-tests-unused/run"
EOF
  cat >"$dir/containers.conf" <<'EOF'
# Written by libcstorage's scripts/trixie-chroot.sh.
# The tests pass the same settings as flags; these make a podman run by hand behave the same.
[containers]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "none"
pull_policy = "never"
EOF
}

build() {
  need_root
  if is_built; then
    echo "trixie-chroot.sh: $chroot_dir is ready"
    return
  fi
  local start=$SECONDS
  if ! command -v debootstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  # Anything without the ready marker is a build that was cut off (or made for another package
  # list): start again from nothing. Only ever delete a directory this script made.
  if [ -d "$chroot_dir" ] && [ -n "$(ls -A "$chroot_dir")" ] && [ ! -e "$building_marker" ] && [ ! -e "$ready_marker" ]; then
    die "$chroot_dir is not empty and was not made by this script: remove it or set CSTORAGE_TRIXIE_ROOT"
  fi
  # Unmount first in case a cut-off run left something mounted (only under the chroot).
  unmount_under "$chroot_dir"
  rm -rf --one-file-system "$chroot_dir"
  mkdir -p "$chroot_dir"
  touch "$building_marker"
  local mirror
  mirror=$(host_mirror)
  echo "trixie-chroot.sh: debootstrap trixie from $mirror into $chroot_dir"
  debootstrap --variant=minbase trixie "$chroot_dir" "$mirror" >"$chroot_dir.debootstrap.log" 2>&1 ||
    { tail -n 30 "$chroot_dir.debootstrap.log" >&2; die "debootstrap failed (log: $chroot_dir.debootstrap.log)"; }
  # dpkg's fsyncs are most of an install's time and buy nothing in a throwaway chroot.
  echo force-unsafe-io >"$chroot_dir/etc/dpkg/dpkg.cfg.d/cstorage-unsafe-io"
  # apt inside needs /proc and /dev; mount them in a namespace that vanishes afterwards.
  # shellcheck disable=SC2016 # expanded by the inner bash
  unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    export DEBIAN_FRONTEND=noninteractive LC_ALL=C
    chroot "$root" apt-get update -qq
    chroot "$root" apt-get install -y -qq --no-install-recommends "$@"
    chroot "$root" apt-get clean
  ' _ "$chroot_dir" "${chroot_packages[@]}" >"$chroot_dir.apt.log" 2>&1 ||
    { tail -n 30 "$chroot_dir.apt.log" >&2; die "apt-get install in the chroot failed (log: $chroot_dir.apt.log)"; }
  write_config
  echo "$ready_content" >"$ready_marker"
  rm -f "$building_marker"
  echo "trixie-chroot.sh: built $chroot_dir in $((SECONDS - start)) s"
}

# Unmount every mount at or under $1, deepest first (lazily: a busy mount is detached and goes
# when its last user does).
unmount_under() {
  local base=$1 mp
  awk '{print $5}' /proc/self/mountinfo | while read -r mp; do
    mp=$(printf '%b' "$mp")
    case "$mp" in "$base" | "$base"/*) echo "$mp" ;; esac
  done | sort -r | while read -r mp; do
    umount -l "$mp" 2>/dev/null || true
  done
}

run() {
  need_root
  is_built || die "no chroot in $chroot_dir: run scripts/install-deps.sh (or '$0 build') first"
  local bins=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --bin) [ $# -ge 2 ] || die "--bin needs a file"; bins+=("$(realpath "$2")"); shift 2 ;;
      *) break ;;
    esac
  done
  if [ $# -lt 3 ] || [ "$2" != "--" ]; then
    die "usage: $0 run [--bin FILE]... STORE -- CMD [ARG]..."
  fi
  local store
  mkdir -p "$1"
  store=$(realpath "$1")
  shift 2
  for bin in "${bins[@]}"; do
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
      die "--bin $bin: not an executable file"
    fi
  done
  # A mount namespace of its own: nothing mounted here is seen by the machine or by another
  # test's namespace, and the kernel drops it all with the namespace.
  exec unshare --mount --propagation private -- "$0" __in-namespace "$store" "${#bins[@]}" "${bins[@]}" -- "$@"
}

# The body of `run`, already inside its own mount namespace.
in_namespace() {
  local store=$1 nbins=$2
  shift 2
  local bins=("${@:1:$nbins}")
  shift "$nbins"
  shift # --
  # The mount point made inside the chroot goes too (rmdir: it never holds anything itself).
  trap 'unmount_under "$chroot_dir"; unmount_under "$store"; rmdir "$chroot_dir$store" 2>/dev/null || true' EXIT

  # The chroot's / must be a mount point: Go's layer import (chrootarchive) makes / private and
  # pivot_roots into the layer, which fails in a chroot whose root is a plain directory.
  mount --bind "$chroot_dir" "$chroot_dir"
  mount -t proc proc "$chroot_dir/proc"
  mount --rbind /sys "$chroot_dir/sys"
  mount --make-rslave "$chroot_dir/sys"
  mount --rbind /dev "$chroot_dir/dev"
  mount --make-rslave "$chroot_dir/dev"
  # runc, conmon and podman keep their state under /run; a fresh one per namespace.
  mount -t tmpfs -o mode=0755 tmpfs "$chroot_dir/run"
  # The store at the same path on both sides, as one shared mount: whatever is mounted under it
  # on one side (overlay layers) is seen on the other.
  mount --bind "$store" "$store"
  mount --make-shared "$store"
  mkdir -p "$chroot_dir$store"
  mount --bind "$store" "$chroot_dir$store"
  local bin target
  for bin in "${bins[@]}"; do
    target="$chroot_dir/usr/local/bin/$(basename "$bin")"
    [ -e "$target" ] || touch "$target"
    mount --bind "$bin" "$target"
    mount -o remount,bind,ro "$target"
  done

  # Not exec: the trap must run after the command.
  local status=0
  env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LC_ALL=C TERM="${TERM:-dumb}" \
    CONTAINERS_STORAGE_CONF=/etc/cstorage-tests/storage.conf \
    CONTAINERS_CONF=/etc/cstorage-tests/containers.conf \
    PODMAN_IGNORE_CGROUPSV1_WARNING=1 \
    chroot "$chroot_dir" "$@" || status=$?
  exit "$status"
}

case "${1:-}" in
  build) build ;;
  root) echo "$chroot_dir" ;;
  run) shift; run "$@" ;;
  __in-namespace) shift; in_namespace "$@" ;;
  *) die "usage: $0 build | root | run [--bin FILE]... STORE -- CMD [ARG]..." ;;
esac
