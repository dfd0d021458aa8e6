"""Shared by the tests of the native (C/C++) adapters built on Debian packages."""

import os
import shutil
import subprocess

import pytest


def installed(pkg: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return out.returncode == 0 and "install ok installed" in out.stdout


def skip_without_toolchain(tools: list[str], packages: list[str]) -> None:
    """Skip when the compiler/make is absent, or the Debian packages are missing and cannot
    be installed here (scripts/ensure-debian-packages.sh needs apt-get and root)."""
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (the native adapters are built with make and a compiler)")
    if not shutil.which("dpkg-query"):
        pytest.skip("not a Debian system: the native adapters build against Debian's packages")
    absent = [p for p in packages if not installed(p)]
    if absent and (not shutil.which("apt-get") or os.geteuid() != 0):
        pytest.skip(f"Debian packages {', '.join(absent)} are not installed and cannot be installed here "
                    "(apt-get as root)")


def pkg_version(module: str) -> str:
    return subprocess.run(["pkg-config", "--modversion", module], capture_output=True, text=True,
                          check=True).stdout.strip()
