"""Launchers: how an adapter process is started, watched and killed.

A worker (harness/workers.py) speaks protocol v1 to a process a launcher
started; it does not know whether that process runs on the host or in a
container. The launcher also owns the adapter's view of the file system: a
request names host paths (dataset roots, reference data, dump files) and the
launcher's `PathMap` turns them into the paths the adapter sees.

- `local`: a child process of the harness in its own process group (killed
  with the group, so grandchildren go too).
- `docker`: one container per worker (harness/docker_launcher.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from .environments import Environment


@dataclass(frozen=True)
class Mount:
    """A host directory the adapter sees at `inside`; writable only when `writable`."""

    host: Path
    inside: str
    writable: bool = False


@dataclass
class PathMap:
    """Host paths in requests -> the adapter's paths. The identity when there are no mounts."""

    mounts: list[Mount] = field(default_factory=list)

    def inside(self, host_path: str) -> str:
        if not self.mounts:
            return host_path
        p = Path(host_path)
        # The longest mount that holds the path wins (a writable staging dir inside a read-only cache).
        for m in sorted(self.mounts, key=lambda m: len(m.host.parts), reverse=True):
            try:
                rel = p.relative_to(m.host)
            except ValueError:
                continue
            return m.inside if not rel.parts else f"{m.inside}/{rel.as_posix()}"
        raise PathNotVisible(f"{host_path} is not inside any directory mounted into the adapter "
                             f"({', '.join(str(m.host) for m in self.mounts)})")

    def request(self, req: dict) -> dict:
        """A copy of the request with every path it names in the adapter's view."""
        if not self.mounts:
            return req
        out = dict(req)
        for key in ("data", "dump"):
            if out.get(key):
                out[key] = self.inside(out[key])
        target = out.get("target")
        if isinstance(target, dict) and target.get("kind") == "local" and target.get("path"):
            out["target"] = {**target, "path": self.inside(target["path"])}
        return out


class PathNotVisible(ValueError):
    """A request names a path the adapter cannot see: a harness bug, never the adapter's."""


class AdapterProcess(Protocol):
    """What a worker needs of a started adapter."""

    stdin: IO[bytes]
    stdout: IO[bytes]

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None:
        """Stop it at once, with everything it started (its process group, its container)."""


class Launcher(Protocol):
    name: str
    paths: PathMap

    def prepare(self, environments: dict[str, Environment], log=print) -> tuple[dict[str, Environment], dict[str, str]]:
        """The environments this launcher can start (built images, say), and why not for the others."""

    def spawn(self, environment: Environment, stderr: IO[bytes] | int) -> AdapterProcess: ...

    def close(self) -> None:
        """Release whatever the launcher holds once every worker has stopped."""


class LocalProcess:
    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.stdin, self.stdout, self.pid = popen.stdin, popen.stdout, popen.pid

    def poll(self):
        return self.popen.poll()

    def wait(self, timeout=None):
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@dataclass(frozen=True)
class AdapterDirs:
    """The host directories requests name: what a container must see, and how.

    Readers see datasets and reference data read-only; writers write only below
    `staging` (a fresh directory per write); dumps go to `scratch`. The files stores
    serve from disk (`store_files`: a kerchunk store's reference files, whose
    references name absolute paths) are seen read-only at their own paths."""

    datasets: Path
    reference: Path
    staging: Path
    scratch: Path
    store_files: Path | None = None

    def mounts(self) -> list[Mount]:
        out = [Mount(self.datasets, "/zc/datasets"), Mount(self.reference, "/zc/reference"),
               Mount(self.staging, "/zc/staging", writable=True), Mount(self.scratch, "/zc/scratch", writable=True)]
        if self.store_files is not None:
            out.append(Mount(self.store_files, str(self.store_files)))
        return out


class LocalLauncher:
    """Adapters as host processes, each in the pinned environment `setup` built for it."""

    name = "local"

    def __init__(self, dirs: AdapterDirs | None = None):
        self.dirs = dirs
        self.paths = PathMap()

    def prepare(self, environments, log=print):
        return environments, {}

    def spawn(self, environment: Environment, stderr) -> LocalProcess:
        return LocalProcess(subprocess.Popen(
            environment.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            env=environment.env, start_new_session=True, bufsize=0))

    def close(self) -> None:
        pass


RUNNERS = ("local", "docker")


def make_launcher(runner: str, dirs: AdapterDirs, **options) -> Launcher:
    if runner == "local":
        return LocalLauncher(dirs)
    if runner == "docker":
        from .docker_launcher import DockerLauncher

        return DockerLauncher(dirs, **options)
    raise ValueError(f"unknown runner {runner!r}; runners: {', '.join(RUNNERS)}")
