#!/usr/bin/env bash
# ensure-debian-packages.sh PKG...: install the given Debian packages with apt-get
# when any of them is missing (native adapters' build steps call it, so a fresh
# machine gets their libraries). Does nothing when all are installed already.
# Needs root and apt-get; exits non-zero with a message otherwise.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 PKG..." >&2
  exit 2
fi

missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-debian-packages: missing Debian packages: ${missing[*]}; apt-get is not available here," \
       "install them with your system's package manager" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-debian-packages: missing Debian packages: ${missing[*]}; installing them needs root" \
       "(run: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "ensure-debian-packages: installing ${missing[*]}" >&2
# An old or empty package list cannot find packages: update first when installing fails.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/ensure-debian-packages.$$.log 2>&1; then
  apt-get update -q >/dev/null 2>&1 || true
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/ensure-debian-packages.$$.log 2>&1; then
    tail -n 20 /tmp/ensure-debian-packages.$$.log >&2
    rm -f /tmp/ensure-debian-packages.$$.log
    echo "ensure-debian-packages: apt-get install ${missing[*]} failed" >&2
    exit 1
  fi
fi
rm -f /tmp/ensure-debian-packages.$$.log
