"""Adapter environments: one isolated, pinned environment per implementation version.

Python implementations get a virtual environment made by uv from a lock file
(readers/python/locks/<impl>-<version>.txt) plus the shared adapter package.
An environment is rebuilt only when its inputs change: the stamp is a hash of
the lock file, the adapter sources and the Python version. An environment that
cannot be built is reported as "not available: why", never silently dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import devbuild
from .matrix import ROOT, ImplVersion

PY_ADAPTER = ROOT / "readers" / "python"
PY_CANONICAL = ROOT / "canonical" / "python"  # the canonical form, shared with the harness
LOCKS = PY_ADAPTER / "locks"


def cache_root() -> Path:
    return Path(os.environ.get("ZC_CACHE", ROOT / ".cache"))


def tools_root() -> Path:
    """Machine-wide cache shared by every checkout: built tools (MinIO) and build trees
    that take long to make from nothing (the Rust adapter's cargo target directory)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zarr-conformance" / "tools"
    return Path(os.environ.get("ZC_TOOLS") or default)


class NotAvailable(Exception):
    """The implementation's environment cannot be built here; the message says why."""


@dataclass
class Environment:
    impl: ImplVersion
    command: list[str]
    env: dict[str, str]


def find_python(version: str) -> str:
    """A CPython X.Y interpreter: on PATH, else among pyenv's installed versions."""
    exe = shutil.which(f"python{version}")
    if exe and _python_runs(exe):
        return exe
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    if current == version:
        return sys.executable
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        for cand in sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"), reverse=True):
            if _python_runs(cand):
                return cand
    raise NotAvailable(f"no Python {version} interpreter found (looked on PATH and in pyenv's versions)")


def _python_runs(exe: str) -> bool:
    try:
        return subprocess.run([exe, "-c", "pass"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# Not sources: installing a package from its directory leaves setuptools' copies of it in build/ (made by
# the first environment set up, they would change the stamp of every environment set up before them).
_NOT_SOURCES = ("__pycache__", "locks", "build")


def _tree_digest(h, root: Path, patterns=("*.py", "*.toml")) -> None:
    for pat in patterns:
        for p in sorted(root.rglob(pat)):
            rel = p.relative_to(root).parts
            if any(part in _NOT_SOURCES or part.endswith(".egg-info") for part in rel):
                continue
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())


def python_lock(iv: ImplVersion) -> Path:
    # A dev build starts from the environment of the released version it is based on.
    return LOCKS / f"{iv.name}-{iv.spec.base or iv.version}.txt"


def python_stamp(iv: ImplVersion) -> str:
    h = hashlib.sha256()
    lock = python_lock(iv)
    h.update(lock.read_bytes() if lock.exists() else b"")
    h.update((iv.spec.python or "").encode())
    if iv.spec.debian:
        h.update(debian_versions(iv.spec.debian).encode())
    _tree_digest(h, PY_ADAPTER)
    _tree_digest(h, PY_CANONICAL)
    if devbuild.is_dev(iv):
        h.update(devbuild.source_digest(iv).encode())
    return h.hexdigest()[:16]


def env_dir(iv: ImplVersion) -> Path:
    return cache_root() / "envs" / iv.id


def _holds(stamp_file: Path, stamp: str) -> bool:
    """Whether what was built is what the inputs of now would build (its stamp is theirs)."""
    return stamp_file.exists() and stamp_file.read_text() == stamp


def _run(cmd: list[str], what: str, env: dict | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise NotAvailable(f"{what} failed: " + " | ".join(tail))


def _uv() -> str:
    exe = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(exe).exists():
        raise NotAvailable("uv is not installed in the harness environment")
    return exe


# A Debian-packaged library (matrix.yaml `debian:`) runs with Debian's interpreter and dist-packages.
DEBIAN_PYTHON = "/usr/bin/python3"
DEBIAN_DIST = "/usr/lib/python3/dist-packages"


def debian_versions(packages: list[str]) -> str:
    """The installed versions of Debian packages ("name version" lines; empty where dpkg is absent), so
    that an environment (and the datasets its writer made) follows a Debian update."""
    if not shutil.which("dpkg-query"):
        return ""
    proc = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *packages],
                          capture_output=True, text=True)
    return proc.stdout


def setup_debian(iv: ImplVersion, log=print) -> Environment:
    """A virtual environment over Debian's /usr/bin/python3 that sees Debian's dist-packages
    (--system-site-packages), with the adapter and the lock file's PyPI packages (what Debian does
    not package) installed without dependencies, so that nothing there replaces a Debian package."""
    target = env_dir(iv)
    stamp = python_stamp(iv)
    stamp_file = target / ".zc-stamp"
    if not _holds(stamp_file, stamp):
        _run([str(ROOT / "scripts" / "ensure-debian-packages.sh"), *iv.spec.debian],
             f"installing Debian's {' '.join(iv.spec.debian)}")
        if not Path(DEBIAN_PYTHON).exists():
            raise NotAvailable(f"Debian's {DEBIAN_PYTHON} is not here")
        stamp = python_stamp(iv)  # the packages may have just been installed
        log(f"setting up {iv.id}: Debian's {DEBIAN_PYTHON} with {', '.join(iv.spec.debian)}")
        uv, env = _fresh_venv(iv, target, DEBIAN_PYTHON, "--system-site-packages")
        lock = python_lock(iv)
        if lock.exists():
            _run([uv, "pip", "install", "-q", "--no-deps", "-r", str(lock)], f"installing {lock.name}", env)
        _install_adapter(uv, env)
        # Nothing installed in the environment may shadow a Debian package.
        proc = subprocess.run([str(target / "bin" / "python"), "-I", "-c", _SHADOWS, DEBIAN_DIST],
                              capture_output=True, text=True)
        if proc.returncode != 0 or proc.stdout.strip():
            shutil.rmtree(target)
            raise NotAvailable(f"the environment of {iv.id} would replace Debian's packages: "
                               + (proc.stdout.strip() or proc.stderr.strip()[-300:]))
        stamp_file.write_text(stamp)
    command = [str(target / "bin" / "python"), "-m", "zc_adapter", "--backend", iv.spec.backend]
    return Environment(iv, command, {**_adapter_env(), "PYTHONNOUSERSITE": "1"})


# Distributions found both in the environment's own site-packages and in Debian's dist-packages.
_SHADOWS = """
import sys, sysconfig
from importlib import metadata
def names(path):
    return {(d.metadata["Name"] or "").lower().replace("_", "-") for d in metadata.distributions(path=[path])}
print(" ".join(sorted(names(sysconfig.get_paths()["purelib"]) & names(sys.argv[1]) - {""})))
"""


def _fresh_venv(iv: ImplVersion, target: Path, python: str, *venv_args: str) -> tuple[str, dict]:
    """An empty virtual environment at target (what was there is removed): uv and the environment
    variables that install into it."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    uv = _uv()
    env = {**os.environ, "VIRTUAL_ENV": str(target)}
    env.pop("PYTHONPATH", None)
    _run([uv, "venv", "-q", *venv_args, "-p", python, str(target)], f"creating the environment of {iv.id}")
    return uv, env


def _install_adapter(uv: str, env: dict) -> None:
    _run([uv, "pip", "install", "-q", "--no-deps", str(PY_CANONICAL), str(PY_ADAPTER)],
         "installing the Python adapter", env)


def setup_python(iv: ImplVersion, log=print) -> Environment:
    if iv.spec.debian:
        if not iv.spec.backend:
            raise NotAvailable("matrix.yaml gives no backend for this version")
        return setup_debian(iv, log)
    lock = python_lock(iv)
    if not lock.exists():
        raise NotAvailable(f"no lock file {lock.relative_to(ROOT)}")
    if not iv.spec.backend:
        raise NotAvailable("matrix.yaml gives no backend for this version")
    target = env_dir(iv)
    stamp = python_stamp(iv)
    stamp_file = target / ".zc-stamp"
    if not _holds(stamp_file, stamp):
        python = find_python(iv.spec.python or f"{sys.version_info.major}.{sys.version_info.minor}")
        log(f"setting up {iv.id}: Python {iv.spec.python} environment from {lock.relative_to(ROOT)}")
        uv, env = _fresh_venv(iv, target, python)
        _run([uv, "pip", "install", "-q", "-r", str(lock)], f"installing {lock.name}", env)
        _install_adapter(uv, env)
        if devbuild.is_dev(iv):
            devbuild.check_source(iv)
            log(f"installing the dev build of {iv.name} from {iv.spec.source}")
            _run([uv, "pip", "install", "-q", "--reinstall-package", iv.impl.dev.package, str(devbuild.source_path(iv))],
                 f"the dev build of {iv.name} (pip install {iv.spec.source})", env)
        stamp_file.write_text(stamp)
    command = [str(target / "bin" / "python"), "-m", "zc_adapter", "--backend", iv.spec.backend]
    return Environment(iv, command, _adapter_env())


def _adapter_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONUNBUFFERED"] = "1"
    # One thread per worker: the harness parallelises across workers.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLOSC_NTHREADS", "RAYON_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def _expand(text: str, iv: ImplVersion) -> str:
    # A command adapter's dev build runs from its own copy of the adapter's directories.
    dev = devbuild.is_dev(iv) and iv.adapter == "command"
    root = devbuild.dev_root(iv) if dev else ROOT
    return (text.replace("{root}", str(root)).replace("{python}", sys.executable)
            .replace("{version}", iv.version).replace("{cache}", str(cache_root()))
            .replace("{tools}", str(tools_root())))


def build_stamp(iv: ImplVersion) -> str:
    build = iv.build
    h = hashlib.sha256(json.dumps([build.model_dump() if build else None, iv.command]).encode())
    if build:
        base = ROOT / build.dir
        for pattern in build.inputs:
            # "src/**" means every file below src (Path.glob would give the directories only).
            pattern = pattern + "/*" if pattern.endswith("**") else pattern
            for p in sorted(base.glob(pattern)):
                if p.is_file():
                    h.update(str(p.relative_to(base)).encode())
                    h.update(p.read_bytes())
    if devbuild.is_dev(iv):
        h.update(devbuild.source_digest(iv).encode())
    return h.hexdigest()[:16]


def build_stamp_file(iv: ImplVersion) -> Path:
    return cache_root() / "builds" / f"{iv.id}.stamp"


def build_command_adapter(iv: ImplVersion, log=print) -> None:
    """Run the adapter's build steps unless the stamp of its inputs is unchanged."""
    build = iv.build
    if build is None:
        return
    missing = [tool for tool in build.requires if not shutil.which(tool)]
    if missing:
        raise NotAvailable(f"needs {', '.join(missing)} on PATH")
    stamp_file = build_stamp_file(iv)
    stamp = build_stamp(iv)
    if _holds(stamp_file, stamp):
        return
    log(f"building {iv.id} in {build.dir}")
    workdir = ROOT / build.dir
    steps = build.steps
    env = {**os.environ, "ZC_VERSION": iv.version}
    if devbuild.is_dev(iv):
        devbuild.check_source(iv)
        workdir = devbuild.prepare_tree(iv) / build.dir
        steps = (devbuild.before_build(iv, workdir) + [devbuild.build_args(iv, s) for s in build.steps]
                 + devbuild.after_build(iv))
        env.update(devbuild.build_env(iv))
    deadline = time.monotonic() + build.timeout
    for step in steps:
        if step[0] == "{install_jar}":
            step = devbuild.install_jar_step(iv, *step[1:])
        cmd = [_expand(part, iv) for part in step]
        try:
            proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env,
                                  timeout=max(1, deadline - time.monotonic()))
        except FileNotFoundError:
            raise NotAvailable(f"build step {cmd[0]!r} not found") from None
        except subprocess.TimeoutExpired:
            raise NotAvailable(f"build of {iv.id} took longer than {build.timeout:g} s") from None
        if proc.returncode != 0:
            tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-10:]
            raise NotAvailable(f"build step `{' '.join(cmd)}` failed: " + " | ".join(tail))
    stamp_file.parent.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)


def setup_command(iv: ImplVersion, log=print) -> Environment:
    cmd = iv.command
    if not cmd:
        raise NotAvailable("matrix.yaml gives no command for this adapter")
    build_command_adapter(iv, log)
    cmd = [_expand(c, iv) for c in cmd]
    if not (shutil.which(cmd[0]) or Path(cmd[0]).exists()):
        raise NotAvailable(f"adapter program {cmd[0]!r} not found")
    return Environment(iv, cmd, {**_adapter_env(), **devbuild.run_env(iv)})


@contextlib.contextmanager
def _exclusive(name: str):
    """One builder at a time per environment, also across concurrent runs."""
    lock_dir = cache_root() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def readiness(iv: ImplVersion) -> str:
    """Whether a version is ready to run, found without building anything: "available" when its
    environment or build is that of its inputs now, else what setting it up needs or why it cannot be."""
    if iv.adapter == "python":
        if not iv.spec.debian and not python_lock(iv).exists():
            return f"not available: no lock file {python_lock(iv).relative_to(ROOT)}"
        ready = _holds(env_dir(iv) / ".zc-stamp", python_stamp(iv))
    else:
        missing = [tool for tool in (iv.build.requires if iv.build else []) if not shutil.which(tool)]
        if missing:
            return f"not available: needs {', '.join(missing)} on PATH"
        ready = iv.build is None or _holds(build_stamp_file(iv), build_stamp(iv))
    return "available" if ready else f"not set up: zarr-conformance setup {iv.id}"


def setup(iv: ImplVersion, log=print) -> Environment:
    """Build (or reuse) the environment of one implementation version."""
    with _exclusive(iv.id):
        if iv.adapter == "python":
            return setup_python(iv, log)
        return setup_command(iv, log)


def adapter_stamp(iv: ImplVersion) -> str:
    """Identifies the writer's code: cached datasets are reused only while it holds."""
    if iv.adapter == "python":
        return python_stamp(iv)
    h = hashlib.sha256(build_stamp(iv).encode())
    if iv.build:
        return h.hexdigest()[:16]  # the build's inputs say it all; no need to build to know
    for part in iv.command or []:
        p = Path(_expand(part, iv))
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]
