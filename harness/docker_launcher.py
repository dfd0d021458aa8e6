"""The docker launcher: every adapter in its own container (`--runner docker`).

One container per worker, started once with `docker run -i` and reused for
every request the worker makes (protocol v1 over the attached stdin/stdout);
stopped when the worker stops, killed with `docker rm -f` when the worker is
killed (a timeout, a protocol violation, Ctrl-C). Every container carries the
run's label, so `close()` removes whatever is left of the run, and a later run
removes containers of a harness that died without closing.

Containers are hardened: a non-root user, a read-only root file system, no
capabilities, no privilege gain, memory, CPU and pids limits, a private /tmp.
The datasets and reference data are mounted read-only; the staging and scratch
directories are mounted writable, and inside them only the directory a request
writes to (a write's target, a dump) is handed to the container's user. The
network is the host's (`--network host`) when the run reads from an endpoint,
because the endpoints listen on the host's loopback; otherwise none.

Images come from `zarr-conformance images build` (harness/images.py); an
implementation whose image is missing or stale is not available, and says so.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .environments import Environment
from .images import ImageError, docker, docker_cli, engine_problem, image_states
from .launchers import AdapterDirs, PathMap

LABEL_RUN = "org.zarr-conformance.run"
LABEL_OWNER = "org.zarr-conformance.owner"  # host:pid of the harness that started the container
LABEL_ADAPTER = "org.zarr-conformance.adapter"
NOBODY = (65534, 65534)  # the containers' user when the harness runs as root
# Passed into containers from the adapter's environment; nothing else of the host's environment is.
PASS_ENV = ("PYTHONUNBUFFERED", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLOSC_NTHREADS",
            "RAYON_NUM_THREADS", "TZ")


class ContainerUnavailable(OSError):
    """The container cannot be started (no image prepared for it, the engine is gone)."""


@dataclass
class ContainerPaths(PathMap):
    """Host paths -> the container's, and the directories a request writes to handed to its user.

    The staging and scratch mounts are writable, but their subdirectories belong to the
    harness: a container's user gets exactly the directory one write (or one dump) goes to."""

    owner: tuple[int, int] | None = None

    def request(self, req: dict) -> dict:
        if self.owner and self.mounts:
            for d in self.writes(req):
                self.grant(d)
        return super().request(req)

    @staticmethod
    def writes(req: dict) -> list[Path]:
        out = []
        target = req.get("target")
        if req.get("op") == "write" and isinstance(target, dict) and target.get("kind") == "local" \
                and target.get("path"):
            out.append(Path(target["path"]).parent)
        if req.get("dump"):
            out.append(Path(req["dump"]).parent)
        return out

    def grant(self, d: Path) -> None:
        """Only below a writable mount; never a read-only one (datasets stay the harness's)."""
        for m in self.mounts:
            if m.writable and (d == m.host or m.host in d.parents):
                if d.is_dir() and (d.stat().st_uid, d.stat().st_gid) != self.owner:
                    os.chown(d, *self.owner)
                return


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", text)


def _mount(host: Path, inside: str, writable: bool) -> str:
    buf = io.StringIO()  # --mount is CSV: a comma in a path is quoted
    csv.writer(buf, lineterminator="").writerow(
        ["type=bind", f"source={host}", f"target={inside}"] + ([] if writable else ["readonly"]))
    return buf.getvalue()


class ContainerProcess:
    """A `docker run -i` client and its container, as a worker's AdapterProcess."""

    def __init__(self, popen: subprocess.Popen, name: str, launcher: "DockerLauncher"):
        self.popen, self.name, self.launcher = popen, name, launcher
        self.stdin, self.stdout, self.pid = popen.stdin, popen.stdout, popen.pid

    def poll(self):
        return _signalled(self.popen.poll())

    def wait(self, timeout=None):
        return _signalled(self.popen.wait(timeout=timeout))

    def kill(self) -> None:
        """At once: the container (every process in it) and its client. A client that has
        exited took its container along (--rm); close() removes any straggler."""
        if self.popen.poll() is None:
            self.launcher.remove([self.name])
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class DockerLauncher:
    """Adapters in containers, from the images `zarr-conformance images build` made."""

    name = "docker"

    def __init__(self, dirs: AdapterDirs | None = None, base_image: str | None = None, network: str = "host",
                 memory: str = "8g", cpus: float | None = None, pids: int = 1024, tmp_size: str = "1g"):
        if network not in ("host", "none"):
            raise ValueError(f"network must be 'host' or 'none', not {network!r}")
        self.dirs = dirs
        self.base_image = base_image
        self.network = network
        self.memory, self.pids, self.tmp_size = memory, pids, tmp_size
        self.cpus = cpus or float(min(2, os.cpu_count() or 1))
        self.run_id = secrets.token_hex(6)
        self.owner_label = f"{socket.gethostname()}:{os.getpid()}"
        root = os.geteuid() == 0
        # As root, containers run as nobody; otherwise as the user running the harness (their files).
        self.user = NOBODY if root else (os.geteuid(), os.getegid())
        self.paths = ContainerPaths(dirs.mounts() if dirs else [], owner=NOBODY if root else None)
        self._images: dict[str, tuple[str, list[str]]] = {}
        self._numbers = itertools.count(1)
        self._clients: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        self._swept = False
        self._engine: str | None = None
        self._closed = False

    # --- images -------------------------------------------------------------------------------------------
    def prepare(self, environments: dict[str, Environment], log=print):
        """The environments whose image is built and up to date; why not for the others."""
        with self._lock:
            if self._engine is None:  # asked once: prepare() runs for every implementation a run starts
                self._engine = engine_problem() or ""
        problem = self._engine
        if problem:
            return {}, {i: f"the docker runner is not available: {problem}" for i in environments}
        self.sweep_orphans(log)
        self._make_visible()
        try:
            states, specs = image_states(environments, self.base_image)
        except ImageError as exc:
            return {}, {i: f"no image: {exc}" for i in environments}
        ready, refused = {}, {}
        for impl_id, env in environments.items():
            st = states[impl_id]
            build = f"run zarr-conformance images build {impl_id}" + (
                f" --base-image {self.base_image}" if self.base_image else "")
            if st.status == "built":
                ready[impl_id] = env
                self._images[impl_id] = (st.ref, specs[impl_id].arguments(env.command))
            elif st.status == "unavailable":
                refused[impl_id] = f"no image: {st.why}"
            elif st.status == "stale":
                refused[impl_id] = f"image stale ({st.why}): {build}"
            else:
                refused[impl_id] = f"image not built ({st.why}): {build}" if st.why != "not built" else \
                    f"image not built: {build}"
        return ready, refused

    def _make_visible(self) -> None:
        """The scratch directory is private to the harness (mkdtemp): let the containers' user in."""
        if self.paths.owner and self.dirs:
            self.paths.grant(self.dirs.scratch)

    # --- containers ---------------------------------------------------------------------------------------
    def run_args(self, environment: Environment, name: str) -> tuple[list[str], dict[str, str]]:
        """The `docker run` command line of one adapter container, and the client's environment."""
        impl_id = environment.impl.id
        if impl_id not in self._images:
            raise ContainerUnavailable(f"no image prepared for {impl_id} (DockerLauncher.prepare decides)")
        image, args = self._images[impl_id]
        uid, gid = self.user
        cmd = [docker_cli() or "docker", "run", "-i", "--rm", "--init", "--name", name,
               "--label", f"{LABEL_RUN}={self.run_id}", "--label", f"{LABEL_OWNER}={self.owner_label}",
               "--label", f"{LABEL_ADAPTER}={impl_id}",
               # hardening
               "--user", f"{uid}:{gid}", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
               "--memory", self.memory, "--memory-swap", self.memory, "--cpus", f"{self.cpus:g}",
               "--pids-limit", str(self.pids),
               # exec allowed: the Java adapters' native libraries (JNA, zstd-jni, blosc) unpack there
               "--tmpfs", f"/tmp:rw,exec,nosuid,nodev,size={self.tmp_size}", "--workdir", "/tmp",
               "--network", self.network,
               # the protocol goes over the attached streams; the engine keeps no copy
               "--log-driver", "none"]
        for m in self.paths.mounts:
            cmd += ["--mount", _mount(m.host, m.inside, m.writable)]
        client_env = {k: v for k, v in os.environ.items() if k.startswith("DOCKER_") or k in ("PATH", "HOME")}
        for key in sorted(environment.env):
            if key in PASS_ENV:
                cmd += ["--env", key]  # the value from the client's environment: not on the command line
                client_env[key] = environment.env[key]
        return cmd + [image, *args], client_env

    def spawn(self, environment: Environment, stderr) -> ContainerProcess:
        name = f"zc-{self.run_id}-{_slug(environment.impl.id)}-{next(self._numbers)}"
        cmd, client_env = self.run_args(environment, name)
        with self._lock:
            if self._closed:
                raise ContainerUnavailable("the run is closing: no new container")
        popen = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=client_env,
                                 start_new_session=True, bufsize=0)
        with self._lock:
            self._clients = [p for p in self._clients if p.poll() is None] + [popen]
        return ContainerProcess(popen, name, self)

    def remove(self, names_or_ids: list[str]) -> None:
        if names_or_ids:
            try:
                docker("rm", "-f", *names_or_ids, check=False, timeout=120)
            except ImageError:
                pass

    def containers(self, label_filter: str | None = None) -> list[str]:
        """Ids of the containers with this label (default: this run's), running or not."""
        proc = docker("ps", "-aq", "--no-trunc", "--filter", f"label={label_filter or f'{LABEL_RUN}={self.run_id}'}",
                      check=False, timeout=60)
        return proc.stdout.split() if proc.returncode == 0 else []

    def remove_all(self, label_filter: str | None = None, timeout: float = 60) -> list[str]:
        """Remove every container of the run (or of the filter) and wait until the engine lists none."""
        deadline = time.monotonic() + timeout
        left = self.containers(label_filter)
        while left and time.monotonic() < deadline:
            self.remove(left)
            time.sleep(0.2)  # an --rm removal already under way is not finished at once
            left = self.containers(label_filter)
        return left

    def sweep_orphans(self, log=print) -> None:
        """Containers of a harness on this host that died without closing: removed."""
        if self._swept:
            return
        self._swept = True
        proc = docker("ps", "-a", "--filter", f"label={LABEL_OWNER}", "--format",
                      f'{{{{.ID}}}}\t{{{{.Label "{LABEL_OWNER}"}}}}', check=False, timeout=60)
        host = socket.gethostname()
        dead = []
        for line in proc.stdout.splitlines():
            cid, _, owner = line.partition("\t")
            h, _, pid = owner.rpartition(":")
            if h == host and pid.isdigit() and not _alive(int(pid)):
                dead.append(cid)
        if dead:
            log(f"removing {len(dead)} containers left by a run that did not finish")
            self.remove(dead)

    def close(self) -> None:
        """Remove every container of this run (the workers have stopped theirs) and end any client left.
        No container starts after this (a start still under way when Ctrl-C came is removed too)."""
        with self._lock:
            self._closed = True
            clients, self._clients = self._clients, []
        try:
            self.remove_all()
        except ImageError:
            pass
        for p in clients:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # A client killed while its container was being made (Ctrl-C during a start) may leave the
        # engine finishing that container a moment later: look again once every client is gone.
        time.sleep(0.3)
        try:
            left = self.remove_all()
        except ImageError:
            left = []
        if left:
            raise RuntimeError(f"containers of run {self.run_id} could not be removed: {' '.join(left)}")


def _signalled(code: int | None) -> int | None:
    """The container's init reports an adapter killed by signal N as status 128+N; a local process's
    status is -N. Told the same way, so that both runners word a crash alike."""
    if code is not None and 128 < code <= 128 + 64:
        return 128 - code
    return code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
