#!/usr/bin/env bash
# install-docker.sh: make the container engine answer, for `--runner docker`.
#
# - installs Debian's docker.io (the engine) and debootstrap (the base image) with
#   apt-get when they are missing and this runs as root;
# - starts dockerd in the background when it does not answer (systemd's docker
#   service where systemd runs, else dockerd itself, logging to $ZC_DOCKERD_LOG);
# - waits until `docker info` answers.
#
# Exit 0 when the engine answers (prints "started" on stdout when this script started
# it, so a caller can stop it again); otherwise exit 1 and say why on stderr. The local
# runner does not need any of this.
#
#   scripts/install-docker.sh [--no-start]   (--no-start: install only; exit 0 once installed)
set -euo pipefail

START=1
[ "${1:-}" = "--no-start" ] && START=0

LOG=${ZC_DOCKERD_LOG:-/var/log/zarr-conformance-dockerd.log}
WAIT=${ZC_DOCKERD_WAIT:-60}

say() { echo "install-docker: $*" >&2; }
answers() { docker info >/dev/null 2>&1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

missing=()
# The engine: not needed when one answers already (a remote DOCKER_HOST, say).
if ! command -v docker >/dev/null 2>&1 || { ! command -v dockerd >/dev/null 2>&1 && ! answers; }; then
  missing+=(docker.io)
fi
# The base image is made with debootstrap (not needed with --base-image).
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)

if [ "${#missing[@]}" -gt 0 ]; then
  if ! is_root; then
    say "missing: ${missing[*]}; installing them needs root (sudo apt-get install ${missing[*]})"
    answers || exit 1
  elif ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${missing[*]}; apt-get is not available here: install a docker engine and debootstrap" \
        "with this system's package manager"
    answers || exit 1
  else
    say "installing ${missing[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/install-docker.$$.log 2>&1; then
      apt-get update -q >/dev/null 2>&1 || true
      if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/install-docker.$$.log 2>&1; then
        tail -n 20 /tmp/install-docker.$$.log >&2
        rm -f /tmp/install-docker.$$.log
        say "apt-get install ${missing[*]} failed"
        exit 1
      fi
    fi
    rm -f /tmp/install-docker.$$.log
  fi
fi

if answers; then
  exit 0
fi
if [ "$START" = 0 ]; then
  command -v dockerd >/dev/null 2>&1 && exit 0
  say "no docker engine (dockerd) is installed"
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  say "no docker engine (dockerd) is installed and none answers at ${DOCKER_HOST:-the default socket}"
  exit 1
fi
if ! is_root; then
  say "the docker engine does not answer and starting dockerd needs root" \
      "(sudo scripts/install-docker.sh, or ask for membership of the docker group)"
  exit 1
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  say "starting the docker service"
  systemctl start docker >&2 || true
else
  say "starting dockerd in the background (log: $LOG)"
  mkdir -p "$(dirname "$LOG")"
  # setsid: the engine outlives this script and is not hit by the caller's Ctrl-C.
  setsid dockerd >>"$LOG" 2>&1 < /dev/null &
fi

for _ in $(seq "$WAIT"); do
  if answers; then
    echo started
    exit 0
  fi
  sleep 1
done

say "dockerd did not answer within ${WAIT} s; the end of its log:"
tail -n 15 "$LOG" >&2 2>/dev/null || true
if grep -qiE 'operation not permitted|permission denied|cgroup' "$LOG" 2>/dev/null; then
  say "this machine does not let dockerd start (it needs privileges for namespaces, cgroups and" \
      "overlay mounts, which an unprivileged container does not have); the local runner still works"
fi
exit 1
