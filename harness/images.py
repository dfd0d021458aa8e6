"""Container images of the adapters, made without any registry.

`zarr-conformance images build [IMPL...]` makes

1. a base image: Debian 12 (bookworm, minbase) made with debootstrap from the
   host's own Debian mirror and loaded with `docker import` (or, with
   `--base-image`, an official image the engine has or can pull);
2. one image per implementation version, from the small Dockerfile beside its
   adapter. Its build context is prepared here, on the host, from what `setup`
   built, so that a build needs no network at all (builds run with
   `--network none`):

   - Python: the CPython install the environment was made with (standard library
     only) and the environment itself, its pyvenv.cfg pointing at the copy;
   - JavaScript: Node's executable and the adapter with its node_modules;
   - Java: a small JRE made with jlink from the host's JDK, and the adapter's jar;
   - C, C++, Rust: the adapter's executable;
   - and for all of them the Debian packages whose libraries those link (`ldd`),
     with the packages they depend on (data files such as GDAL's come along),
     copied from the host's installed files, less what the base image has.

Images are tagged by a hash of their declared inputs (the Dockerfile, the base
image, the environment's or build's stamp, the toolchain) and rebuilt only when
those change; the Debian packages copied into an image are recorded in a label
and an image whose packages changed on the host since is stale too. The docker
launcher (harness/docker_launcher.py) runs only images that are up to date.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .environments import (DEBIAN_PYTHON, NotAvailable, Environment, _expand, adapter_stamp, cache_root, env_dir,
                           python_stamp, setup, tools_root)
from .matrix import ROOT, ImplVersion

REPO = "zarr-conformance"
LABEL = "org.zarr-conformance"
L_IMPL, L_INPUTS, L_DEBIAN, L_KIND = (f"{LABEL}.impl", f"{LABEL}.inputs", f"{LABEL}.debian-packages", f"{LABEL}.kind")
L_NEEDS = f"{LABEL}.needs-debian"  # in a Dockerfile: Debian packages an adapter loads at run time (dlopen)
LAYOUT = "3"  # the staged layout below; a change rebuilds every image
SHARED_NODE_DOCKERFILE = ROOT / "readers" / "js-protocol" / "Dockerfile"
TRUST_STORE = "/etc/ssl/certs/ca-certificates.crt"

BASE_SUITE = "bookworm"
BASE_LAYOUT = "1"  # how the base image is made; a change makes it (and so every image) anew
BASE_VARIANT = "minbase"
# Not needed to run adapters: package lists and caches, documentation, translations.
BASE_PRUNE = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info",
              "usr/share/locale")
PACKAGE_SKIP = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/lintian/", "/usr/share/bug/",
                "/usr/share/locale/", "/usr/include/")
# The JRE of the Java adapters; one set for all, so that their images share the layer.
JAVA_MODULES = ("java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.prefs,"
                "java.scripting,java.security.jgss,java.sql,java.xml,jdk.crypto.ec,jdk.unsupported,jdk.zipfs")
# Never staged from a Python install: tests, the IDE, Tk, pip's bootstrap, the static library, extra byte-code.
PY_PRUNE = {"test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "site-packages"}
BUILD_TIMEOUT = 1800


class ImageError(Exception):
    """An image cannot be made or used; the message says why and what to do."""


# --- the engine ----------------------------------------------------------------------------------------------------
def docker_cli() -> str | None:
    return shutil.which("docker")


def docker(*args: str, timeout: float | None = 120, check: bool = True, input: bytes | None = None,
           text: bool = True) -> subprocess.CompletedProcess:
    exe = docker_cli()
    if exe is None:
        raise ImageError("the docker client is not installed (scripts/install-docker.sh installs Debian's docker.io)")
    try:
        proc = subprocess.run([exe, *args], capture_output=True, timeout=timeout, input=input, text=text)
    except subprocess.TimeoutExpired:
        raise ImageError(f"`docker {' '.join(args[:3])}` did not answer within {timeout:g} s") from None
    if check and proc.returncode != 0:
        err = proc.stderr if text else proc.stderr.decode(errors="replace")
        raise ImageError(f"`docker {' '.join(args[:3])}` failed: {err.strip()[-600:]}")
    return proc


def engine_problem() -> str | None:
    """None when the engine answers; otherwise why the docker runner is not available."""
    if docker_cli() is None:
        return "the docker client is not installed (scripts/install-docker.sh installs Debian's docker.io)"
    try:
        proc = docker("version", "--format", "{{.Server.Version}}", timeout=30, check=False)
    except ImageError as exc:
        return str(exc)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no answer"]
        return f"the docker engine does not answer ({tail[0]}); scripts/install-docker.sh starts it"
    return None


def start_engine(log=print) -> str | None:
    """Install and start the engine where that is possible (scripts/install-docker.sh); None when it answers,
    otherwise why not."""
    script = ROOT / "scripts" / "install-docker.sh"
    log("the docker engine does not answer: scripts/install-docker.sh")
    try:
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"scripts/install-docker.sh failed: {exc}"
    if proc.returncode != 0:
        lines = [ln.removeprefix("install-docker: ") for ln in proc.stderr.strip().splitlines()]
        return "; ".join(lines[-3:]) or "scripts/install-docker.sh failed"
    return None


# --- host facts (Debian packages, shared objects) ---------------------------------------------------------------------
@dataclasses.dataclass
class Package:
    name: str
    version: str
    depends: list[list[str]]  # alternatives per dependency


_host_packages: dict[str, Package] | None = None
_host_lock = threading.Lock()


def host_packages() -> dict[str, Package]:
    """Installed Debian packages of the host (empty where there is no dpkg). Read once; thread-safe
    (the launcher prepares implementations in parallel)."""
    global _host_packages
    with _host_lock:
        if _host_packages is None:
            _host_packages = _read_host_packages()
        return _host_packages


def _read_host_packages() -> dict[str, Package]:
    packages: dict[str, Package] = {}
    if not shutil.which("dpkg-query"):
        return packages
    listing = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${db:Status-Abbrev}\t${Depends}, "
                              "${Pre-Depends}\n"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name, version, status, deps = (line.split("\t") + ["", "", ""])[:4]
        if not status.startswith("ii"):
            continue
        groups = [[re.sub(r"\s*\(.*?\)|:[a-z0-9]+$", "", a.strip()).strip() for a in g.split("|")]
                  for g in deps.split(",") if g.strip()]
        packages[name] = Package(name, version, groups)
    return packages


def _usr(path: str) -> str:
    """The path in a merged-/usr root (Debian 12): /lib/x -> /usr/lib/x."""
    for top in ("/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"):
        if path.startswith(top):
            return "/usr" + path
    return path


def _is_elf(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def shared_libraries(files: list[Path], inside: list[Path]) -> tuple[set[str], list[str]]:
    """The shared objects outside the `inside` trees that `files` load (ldd), and the unresolved names."""
    roots = [str(r.resolve()) + "/" for r in inside]
    found: set[str] = set()
    missing: list[str] = []
    elves = [str(f) for f in files if f.is_file() and not f.is_symlink() and _is_elf(f)]
    for i in range(0, len(elves), 64):
        out = subprocess.run(["ldd", *elves[i:i + 64]], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s+(\S+) => (/\S+) \(", line) or re.match(r"\s+(/\S+) \(", line)
            if m:
                path = m.groups()[-1]
                if not any(os.path.realpath(path).startswith(r) or path.startswith(r) for r in roots):
                    found.add(path)
            elif "=> not found" in line:
                missing.append(line.strip().split()[0])
    # Found by the program itself at run time (libjvm.so, through its launcher): staged with its tree.
    here = {p.name for r in inside for p in r.rglob("*.so*")} if missing else set()
    return found, sorted(set(missing) - here)


def owners(paths: set[str]) -> tuple[dict[str, str], set[str]]:
    """Debian package of each path (tried as given, resolved, and in its /usr or non-/usr spelling), and the rest."""
    if not paths or not shutil.which("dpkg"):
        return {}, set(paths)
    variants: dict[str, str] = {}
    for p in paths:
        for v in {p, os.path.realpath(p), _usr(p), p[4:] if p.startswith("/usr/") else p,
                  _usr(os.path.realpath(p)), os.path.realpath(p).removeprefix("/usr")}:
            variants.setdefault(v, p)
    out = subprocess.run(["dpkg", "-S", *sorted(variants)], capture_output=True, text=True).stdout
    owned: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        if path in variants:
            owned.setdefault(variants[path], pkgs.split(", ")[0].split(":")[0])
    return owned, set(paths) - set(owned)


def depends_closure(direct: set[str], have: set[str]) -> set[str]:
    """`direct` and everything they depend on among the host's installed packages, less those in `have`."""
    pkgs = host_packages()
    todo, seen = [p for p in direct if p not in have], set()
    while todo:
        p = todo.pop()
        if p in seen or p in have or p not in pkgs:
            continue
        seen.add(p)
        for alternatives in pkgs[p].depends:
            if any(a in have or a in seen for a in alternatives):
                continue
            pick = next((a for a in alternatives if a in pkgs), None)
            if pick:
                todo.append(pick)
    return seen


def package_files(names: set[str]) -> list[str]:
    if not names:
        return []
    out = subprocess.run(["dpkg", "-L", *sorted(names)], capture_output=True, text=True).stdout
    return [p for p in out.splitlines() if p.startswith("/") and not p.startswith(PACKAGE_SKIP)]


# --- staging helpers -------------------------------------------------------------------------------------------------
def _place(src: str | Path, dest: Path) -> None:
    """dest as a copy of src: a hard link where possible (nothing staged is ever modified in place)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        if dest.is_dir() and not dest.is_symlink():
            return
        dest.unlink()
    if os.path.islink(src):
        os.symlink(os.readlink(src), dest)
        return
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _copytree(src: Path, dest: Path, ignore=None, symlinks: bool = True) -> None:
    def link(s, d):
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dest, symlinks=symlinks, ignore=ignore, copy_function=link, dirs_exist_ok=True)


def _du(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "kB") else f"{n:.1f} {unit}" if n < 10 else f"{n:.0f} {unit}"
        n /= 1000
    return f"{n:.0f} GB"


def stage_debian(ctx: Path, elves: list[Path], inside: list[Path], needs: set[str], base_pkgs: set[str]) -> dict:
    """debian/ of a build context: the Debian packages the executables and libraries in `elves` link
    (and `needs`), with their dependencies, as installed on the host, less the base image's packages;
    plus each loaded library by the exact path the loader found it at (alternatives, unowned files)."""
    root = ctx / "debian"
    root.mkdir(parents=True, exist_ok=True)
    libs, missing = shared_libraries(elves, inside)
    owned, unowned = owners(libs)
    direct = set(owned.values()) | needs
    pkgs = depends_closure(direct, base_pkgs)
    host = host_packages()
    unknown = sorted(needs - set(host))
    if unknown:
        raise ImageError(f"Debian packages not installed on the host: {', '.join(unknown)}")
    for f in package_files(pkgs):
        if os.path.islink(f) or os.path.isfile(f):
            _place(f, root / _usr(f).lstrip("/"))
    # A library the loader reaches through a symlink chain (/etc/alternatives) or that no package owns.
    for lib in sorted(libs):
        if owned.get(lib) in base_pkgs:
            continue
        hop = lib
        for _ in range(16):
            _place(hop, root / _usr(hop).lstrip("/"))
            if not os.path.islink(hop):
                break
            hop = os.path.join(os.path.dirname(hop), os.readlink(hop))
            hop = os.path.normpath(hop)
    return {"packages": sorted(f"{p}={host[p].version}" for p in pkgs), "unowned": sorted(unowned),
            "unresolved": missing}


# --- what each kind of adapter puts in its image ---------------------------------------------------------------------
@dataclasses.dataclass
class ImageSpec:
    """How one implementation version becomes an image."""

    iv: ImplVersion
    kind: str  # python | node | java | native
    dockerfile: Path
    program: str  # the host program of the matrix command (command[0])
    mapping: dict[str, str]  # host path prefix -> its path in the image, for the command's arguments

    @property
    def repository(self) -> str:
        return f"{REPO}/{self.iv.name.lower()}"

    def tag(self, digest: str) -> str:
        return f"{self.repository}:{re.sub(r'[^A-Za-z0-9_.-]', '_', self.iv.version)[:100]}-{digest}"

    def arguments(self, command: list[str]) -> list[str]:
        """The matrix command's arguments in the image's view (the program is the image's ENTRYPOINT)."""
        out = []
        for arg in command[1:]:
            for host, inside in sorted(self.mapping.items(), key=lambda kv: -len(kv[0])):
                if arg == host or arg.startswith(host.rstrip("/") + "/"):
                    arg = inside + arg[len(host.rstrip("/")):]
                    break
            out.append(arg)
        return out

    def needs_debian(self) -> set[str]:
        if self.kind == "debian-python":
            return {*self.iv.spec.debian, "python3"}
        text = self.dockerfile.read_text()
        m = re.search(rf'^LABEL\s+{re.escape(L_NEEDS)}="([^"]*)"', text, re.M)
        return set(m.group(1).split()) if m else set()


def image_spec(iv: ImplVersion) -> ImageSpec:
    """The image recipe of an implementation version; NotAvailable when it has none."""
    if iv.adapter == "python":
        if iv.spec.debian:
            # Debian's interpreter and packages, as the host has them installed: no pinned CPython.
            return ImageSpec(iv, "debian-python", ROOT / "readers" / "python" / "Dockerfile.debian", "python", {})
        return ImageSpec(iv, "python", ROOT / "readers" / "python" / "Dockerfile", "python", {})
    cmd = iv.command
    if not cmd:
        raise NotAvailable("matrix.yaml gives no command for this adapter")
    command = [_expand(c, iv) for c in cmd]
    build = iv.build
    adapter_dir = ROOT / build.dir if build else Path(command[-1]).parent
    dockerfile = adapter_dir / "Dockerfile"
    prog = os.path.basename(command[0])
    mapping = {str(adapter_dir): "/opt/zc/adapter"}
    if prog == "node":
        kind = "node"
    elif prog == "java":
        kind = "java"
    else:
        kind = "native"
    if not dockerfile.exists() and kind == "node":
        dockerfile = SHARED_NODE_DOCKERFILE  # the JavaScript adapters differ only in their directory
    if not dockerfile.exists():
        raise NotAvailable(f"no image recipe: {dockerfile.relative_to(ROOT)} is missing (docs/containers.md)")
    return ImageSpec(iv, kind, dockerfile, command[0], mapping)


def _stat_id(p: str | Path) -> str:
    st = os.stat(p)
    return f"{os.path.realpath(p)}:{st.st_size}:{int(st.st_mtime)}"


def _file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _venv_home(iv: ImplVersion) -> tuple[Path, str]:
    """The interpreter prefix an environment was made with, and its version (from pyvenv.cfg)."""
    cfg = {}
    for line in (env_dir(iv) / "pyvenv.cfg").read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            cfg[k.strip()] = v.strip()
    home = Path(cfg["home"]).resolve()
    version = cfg.get("version_info") or cfg.get("version") or ""
    return home.parent, version


def _jdk_home() -> Path:
    java = shutil.which("java")
    if not java:
        raise ImageError("java is not on PATH (the Java adapters' JRE is made from the host's JDK)")
    home = Path(java).resolve().parent.parent
    if not (home / "bin" / "jlink").exists():
        raise ImageError(f"the JDK at {home} has no jlink (install a full JDK, e.g. Debian's openjdk-17-jdk-headless)")
    return home


def input_digest(spec: ImageSpec, env: Environment, base_id: str) -> str:
    """The hash of an image's declared inputs: its tag."""
    iv = spec.iv
    h = hashlib.sha256()
    # The command in the image's view: host paths (checkouts, caches) never change a tag.
    for part in (LAYOUT, spec.kind, base_id, spec.dockerfile.read_text(), json.dumps(spec.arguments(env.command))):
        h.update(part.encode() + b"\0")
    if os.path.isfile(TRUST_STORE):
        h.update(_stat_id(TRUST_STORE).encode())
    if spec.kind == "debian-python":
        h.update(python_stamp(iv).encode())  # the lock, the adapter and the Debian packages' versions
    elif spec.kind == "python":
        prefix, version = _venv_home(iv)
        h.update(python_stamp(iv).encode())
        h.update(f"{prefix}:{version}".encode())
        for lib in sorted((prefix / "lib").glob("libpython*.so*")):
            h.update(_stat_id(lib).encode())
    else:
        h.update(adapter_stamp(iv).encode())
        if spec.kind == "native" and os.path.isfile(env.command[0]):
            # The executable as it is now: a build tree shared by several checkouts (the machine-wide
            # cargo target) may hold another checkout's build. (Jars are not hashed: Maven stamps
            # the time into them, so the same sources make other bytes.)
            h.update(_file_digest(env.command[0]).encode())
        if spec.kind == "node":
            h.update(_stat_id(shutil.which("node") or "node").encode())
        elif spec.kind == "java":
            jdk = _jdk_home()
            h.update(str(jdk).encode() + (jdk / "release").read_bytes() + JAVA_MODULES.encode())
    return h.hexdigest()[:16]


def _stage_python(spec: ImageSpec, env: Environment, ctx: Path) -> tuple[list[Path], list[Path]]:
    iv = spec.iv
    prefix, version = _venv_home(iv)
    xy = ".".join(version.split(".")[:2])
    py = ctx / "python"
    (py / "bin").mkdir(parents=True)
    _place(prefix / "bin" / f"python{xy}", py / "bin" / f"python{xy}")
    for lib in (prefix / "lib").glob("libpython*.so*"):
        _place(lib, py / "lib" / lib.name)

    def prune(directory, names):
        skip = {n for n in names if n in PY_PRUNE or n.startswith("config-") or n.endswith((".opt-1.pyc", ".opt-2.pyc"))}
        return skip | {n for n in names if n.startswith("_tkinter")}

    stdlib = prefix / "lib" / f"python{xy}"
    _copytree(stdlib, py / "lib" / f"python{xy}", ignore=prune)
    (py / "lib" / f"python{xy}" / "site-packages").mkdir(exist_ok=True)

    # Byte code compiled in the environment itself (what its first imports would do): the image's
    # copy is then up to date, and the build's own compile step finds nothing to do.
    subprocess.run([str(env_dir(iv) / "bin" / "python"), "-m", "compileall", "-q", "-j", "0",
                    str(env_dir(iv) / "lib")], capture_output=True, timeout=900)
    venv = ctx / "env"
    _copytree(env_dir(iv), venv, ignore=shutil.ignore_patterns(".lock", "*.opt-1.pyc", "*.opt-2.pyc"))
    for name in ("python", "python3", f"python{xy}"):
        link = venv / "bin" / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(f"/opt/zc/python/bin/python{xy}")
    cfg = venv / "pyvenv.cfg"
    lines = ["home = /opt/zc/python/bin" if line.startswith("home") else line
             for line in cfg.read_text().splitlines()]
    cfg.unlink()  # a hard link to the host's file: replaced, never edited
    cfg.write_text("\n".join(lines) + "\n")
    elves = [prefix / "bin" / f"python{xy}", *(prefix / "lib").glob("libpython*.so*"),
             *[p for p in (stdlib / "lib-dynload").glob("*.so") if not p.name.startswith("_tkinter")],
             *[p for p in env_dir(iv).rglob("*.so*") if p.is_file()]]
    return elves, [prefix, env_dir(iv)]


def _stage_debian_python(spec: ImageSpec, env: Environment, ctx: Path) -> tuple[list[Path], list[Path]]:
    """env/: the environment over Debian's /usr/bin/python3 as setup made it; Debian's interpreter and
    packages themselves come into debian/ (ImageSpec.needs_debian), at the paths they have here."""
    iv = spec.iv
    _copytree(env_dir(iv), ctx / "env", ignore=shutil.ignore_patterns(".lock", "__pycache__"))
    cfg = ctx / "env" / "pyvenv.cfg"
    text = cfg.read_text()
    cfg.unlink()  # a hard link to the host's file: replaced, never edited
    cfg.write_text(text)
    python = Path(os.path.realpath(DEBIAN_PYTHON))
    # The packages' extension modules too: what they link (numpy's BLAS, through /etc/alternatives)
    # is found only by following them.
    modules = [Path(f) for f in package_files(set(iv.spec.debian)) if ".so" in Path(f).name and os.path.isfile(f)]
    elves = [python, *modules, *[p for p in env_dir(iv).rglob("*.so*") if p.is_file()]]
    return elves, [env_dir(iv), Path("/usr/lib/python3/dist-packages")]


def _stage_node(spec: ImageSpec, env: Environment, ctx: Path) -> tuple[list[Path], list[Path]]:
    node = shutil.which("node")
    if not node:
        raise ImageError("node is not on PATH")
    _place(os.path.realpath(node), ctx / "node" / "bin" / "node")
    adapter = Path(next(iter(k for k, v in spec.mapping.items() if v == "/opt/zc/adapter")))
    for name in ("package.json", "src", "node_modules"):
        src = adapter / name
        if not src.exists():
            raise ImageError(f"{src} is missing: run zarr-conformance setup {spec.iv.id}")
        if src.is_dir():
            # Dereferenced: node_modules links the shared protocol package from outside this directory.
            _copytree(src, ctx / "adapter" / name, symlinks=False)
        else:
            _place(src, ctx / "adapter" / name)
    return [Path(os.path.realpath(node))], [adapter]


def java_runtime(log=print) -> Path:
    """A JRE for the Java adapters, made with jlink from the host's JDK once per JDK (machine-wide cache)."""
    jdk = _jdk_home()
    key = hashlib.sha256(str(jdk).encode() + (jdk / "release").read_bytes() + JAVA_MODULES.encode()).hexdigest()[:16]
    out = tools_root() / "jre" / key
    if (out / "bin" / "java").exists():
        return out
    log(f"making a JRE with jlink from {jdk} (once per JDK)")
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(jdk / "bin" / "jlink"), "--add-modules", JAVA_MODULES, "--strip-debug",
                           "--no-man-pages", "--no-header-files", "--compress=2", "--output", str(tmp)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ImageError(f"jlink failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
    try:
        tmp.rename(out)
    except OSError:  # made by a concurrent build meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _stage_java(spec: ImageSpec, env: Environment, ctx: Path, log) -> tuple[list[Path], list[Path]]:
    jre = java_runtime(log)
    _copytree(jre, ctx / "jre")
    adapter = next(k for k, v in spec.mapping.items() if v == "/opt/zc/adapter")
    for arg in env.command[1:]:
        if arg.startswith(adapter + "/"):
            if not Path(arg).exists():
                raise ImageError(f"{arg} is missing: run zarr-conformance setup {spec.iv.id}")
            _place(arg, ctx / "adapter" / os.path.relpath(arg, adapter))
    elves = [p for p in jre.rglob("*") if p.is_file() and (p.suffix == ".so" or p.parent.name == "bin")]
    return elves, [jre]


def _stage_native(spec: ImageSpec, env: Environment, ctx: Path) -> tuple[list[Path], list[Path]]:
    prog = Path(env.command[0])
    if not prog.exists():
        raise ImageError(f"{prog} is missing: run zarr-conformance setup {spec.iv.id}")
    if not _is_elf(prog):
        raise ImageError(f"{prog} is not an executable this builder can stage (an ELF binary)")
    _place(prog, ctx / "bin" / prog.name)
    return [prog], []


def stage(spec: ImageSpec, env: Environment, ctx: Path, base_pkgs: set[str], log=print) -> dict:
    """Fill the build context `ctx` for one image; returns what went in."""
    if ctx.exists():
        shutil.rmtree(ctx)
    ctx.mkdir(parents=True)
    if spec.kind == "python":
        elves, inside = _stage_python(spec, env, ctx)
    elif spec.kind == "debian-python":
        elves, inside = _stage_debian_python(spec, env, ctx)
    elif spec.kind == "node":
        elves, inside = _stage_node(spec, env, ctx)
    elif spec.kind == "java":
        elves, inside = _stage_java(spec, env, ctx, log)
    else:
        elves, inside = _stage_native(spec, env, ctx)
    info = stage_debian(ctx, elves, inside, spec.needs_debian(), base_pkgs)
    if os.path.isfile(TRUST_STORE):
        # The host's CA bundle (generated by ca-certificates, so in no package's file list): TLS
        # clients that refuse to start without roots (zarrs' object_store) behave as on the host.
        dest = ctx / "debian" / TRUST_STORE.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(TRUST_STORE, dest)
    info["context_bytes"] = _du(ctx)
    return info


# --- the base image -------------------------------------------------------------------------------------------------
def debian_mirror() -> str | None:
    """The host's Debian mirror (apt's sources), so that debootstrap uses what apt uses here."""
    if os.environ.get("ZC_DEBIAN_MIRROR"):
        return os.environ["ZC_DEBIAN_MIRROR"]
    texts = []
    for p in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.sources")),
              *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        try:
            texts.append(p.read_text())
        except OSError:
            pass
    for text in texts:
        for block in re.split(r"\n\s*\n", text):  # deb822 stanzas
            uris = re.search(r"^URIs:\s*(\S+)", block, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", block, re.M)
            if uris and suites and BASE_SUITE in suites.group(1).split():
                return uris.group(1)
        for m in re.finditer(rf"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+{BASE_SUITE}\s", text, re.M):
            return m.group(1)
    return None


def base_tag() -> str:
    h = hashlib.sha256(json.dumps([BASE_LAYOUT, BASE_SUITE, BASE_VARIANT, BASE_PRUNE]).encode()).hexdigest()[:12]
    return f"{REPO}/base:{BASE_SUITE}-{h}"


def image_id(ref: str) -> str | None:
    proc = docker("image", "inspect", "--format", "{{.Id}}", ref, check=False, timeout=60)
    return proc.stdout.strip() if proc.returncode == 0 else None


def make_base(log=print) -> tuple[str, float]:
    """Debian (minbase) with debootstrap, pruned, imported: (tag, seconds)."""
    tag = base_tag()
    if os.geteuid() != 0:
        raise ImageError("making the base image with debootstrap needs root; or start from an official image "
                         "with --base-image debian:bookworm-slim (docs/containers.md)")
    deboot = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None)
    if not deboot:
        raise ImageError("debootstrap is not installed (scripts/install-docker.sh installs it)")
    mirror = debian_mirror()
    t0 = time.perf_counter()
    work = cache_root() / "images"
    work.mkdir(parents=True, exist_ok=True)
    rootfs = Path(tempfile.mkdtemp(prefix="base-rootfs-", dir=work))
    log(f"making the base image {tag}: debootstrap --variant={BASE_VARIANT} {BASE_SUITE} "
        f"{mirror or '(debootstrap default mirror)'} (a few minutes)")
    try:
        # Downloaded packages are kept machine-wide: making the base again (a pruned engine) fetches nothing.
        debs = tools_root() / "debootstrap-cache"
        debs.mkdir(parents=True, exist_ok=True)
        cmd = [deboot, f"--variant={BASE_VARIANT}", f"--cache-dir={debs}", BASE_SUITE, str(rootfs)] + \
            ([mirror] if mirror else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
            raise ImageError("debootstrap failed: " + " | ".join(tail))
        for rel in BASE_PRUNE:
            d = rootfs / rel
            if d.is_dir():
                for child in d.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run([docker_cli(), "import", "--change", "ENV LANG=C.UTF-8", "--change",
                              f"LABEL {LABEL}.base={BASE_SUITE}", "-", tag], stdin=tar.stdout,
                             capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if imp.returncode != 0:
            raise ImageError(f"docker import failed: {imp.stderr.strip()[-400:]}")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return tag, time.perf_counter() - t0


def resolve_base(base_image: str | None) -> tuple[str, str | None]:
    """(reference, image id or None when the engine does not have it)."""
    ref = base_image or base_tag()
    return ref, image_id(ref)


def base_packages(ref: str, ident: str) -> set[str]:
    """The Debian packages of the base image (cached per image id)."""
    cache = cache_root() / "images" / f"base-packages-{ident.replace(':', '_')[:40]}.json"
    if cache.exists():
        return set(json.loads(cache.read_text()))
    proc = docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", ref, "-c",
                  "dpkg-query -W -f='${Package}\\n'; [ -L /lib ] && echo zc:merged-usr", timeout=120, check=False)
    names = proc.stdout.split()
    if proc.returncode not in (0, 1) or "zc:merged-usr" not in names:
        raise ImageError(f"the base image {ref} is not a Debian with merged /usr (Debian 12 or later is needed: "
                         f"adapters' Debian libraries are copied from this host){': ' + proc.stderr.strip() if proc.stderr.strip() else ''}")
    pkgs = sorted(n for n in names if n != "zc:merged-usr")
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(pkgs))
    return set(pkgs)


# --- state of the images ------------------------------------------------------------------------------------------
@dataclasses.dataclass
class ImageState:
    iv: ImplVersion
    ref: str | None
    status: str  # built | stale | missing | unavailable
    why: str = ""
    size: int = 0
    created: str = ""


def _inspect(refs: list[str]) -> dict[str, dict]:
    if not refs:
        return {}
    proc = docker("image", "inspect", *refs, check=False, timeout=120)
    try:
        found = json.loads(proc.stdout or "[]")
    except ValueError:
        found = []
    out = {}
    for info in found:
        for tag in info.get("RepoTags") or []:
            out[tag] = info
    return out


def _repo_tags() -> set[str]:
    proc = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={REPO}/*", check=False)
    return set(proc.stdout.split())


def debian_drift(label: str) -> str | None:
    """Which Debian package copied into an image has another version on the host now, if any."""
    host = host_packages()
    for item in label.split():
        name, _, version = item.partition("=")
        now = host.get(name)
        if now is None or now.version != version:
            return f"Debian package {name} {version} is now {now.version if now else 'removed'} on the host"
    return None


def image_states(envs: dict[str, Environment], base_image: str | None = None) -> tuple[dict[str, ImageState], dict]:
    """For each environment: its image and whether it can be run. Also {impl id: ImageSpec}."""
    base_ref, base_id = resolve_base(base_image)
    specs, states, wanted = {}, {}, {}
    for impl_id, env in envs.items():
        try:
            specs[impl_id] = image_spec(env.impl)
        except NotAvailable as exc:
            states[impl_id] = ImageState(env.impl, None, "unavailable", str(exc))
            continue
        if base_id is None:
            states[impl_id] = ImageState(env.impl, None, "missing", f"the base image {base_ref} is not built")
            continue
        wanted[impl_id] = specs[impl_id].tag(input_digest(specs[impl_id], env, base_id))
    found = _inspect(list(wanted.values()))
    tags = _repo_tags() if len(found) < len(wanted) else set()
    for impl_id, ref in wanted.items():
        iv = envs[impl_id].impl
        info = found.get(ref)
        if info is None:
            repo, _, tag = ref.rpartition(":")
            version_prefix = tag.rsplit("-", 1)[0] + "-"
            older = [t for t in tags if t.startswith(f"{repo}:{version_prefix}")]
            why = "its inputs changed since it was built" if older else "not built"
            states[impl_id] = ImageState(iv, ref, "stale" if older else "missing", why)
            continue
        labels = (info.get("Config") or {}).get("Labels") or {}
        drift = debian_drift(labels.get(L_DEBIAN, ""))
        states[impl_id] = ImageState(iv, ref, "stale" if drift else "built", drift or "", info.get("Size", 0),
                                     (info.get("Created") or "")[:19].replace("T", " "))
    return states, specs


# --- building -------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Built:
    iv: ImplVersion
    ref: str
    seconds: float  # in all: staging the context and docker build
    staging: float
    size: int
    context: int
    packages: int


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _build(spec: ImageSpec, env: Environment, ref: str, base_ref: str, base_pkgs: set[str], log, status) -> Built:
    iv = spec.iv
    t0 = time.perf_counter()
    ctx = cache_root() / "images" / "context" / iv.id
    status(f"{iv.id}: preparing the build context")
    info = stage(spec, env, ctx, base_pkgs, log)
    staged = time.perf_counter() - t0
    if info["unresolved"]:
        log(f"  {iv.id}: libraries not found on the host either (left out): {', '.join(info['unresolved'][:8])}")
    digest = ref.rsplit("-", 1)[1]
    logs = cache_root() / "images" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{iv.id}.log"
    cmd = [docker_cli(), "build", "--network", "none", "--force-rm", "-f", str(spec.dockerfile), "-t", ref,
           "--build-arg", f"BASE={base_ref}", "--label", f"{L_IMPL}={iv.id}", "--label", f"{L_INPUTS}={digest}",
           "--label", f"{L_KIND}={spec.kind}", "--label", f"{L_DEBIAN}={' '.join(info['packages'])}", str(ctx)]
    status(f"{iv.id}: docker build ({_human(info['context_bytes'])} of inputs, {len(info['packages'])} Debian packages)")
    with open(log_path, "w") as out:
        out.write(" ".join(cmd) + "\n")
        out.flush()
        env_vars = {**os.environ, "DOCKER_BUILDKIT": os.environ.get("DOCKER_BUILDKIT", "0")}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env_vars)
        try:
            for line in proc.stdout:
                out.write(line)
                if line.startswith("Step "):
                    status(f"{iv.id}: {line.strip()[:100]}")
            rc = proc.wait(timeout=BUILD_TIMEOUT)
        except BaseException:
            proc.kill()
            raise
    if rc != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-12:]
        raise ImageError(f"docker build failed (build context kept in {ctx}, log {log_path}): " + " | ".join(tail))
    shutil.rmtree(ctx, ignore_errors=True)
    size = int(docker("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip() or 0)
    return Built(iv, ref, time.perf_counter() - t0, staged, size, info["context_bytes"], len(info["packages"]))


def _drop_superseded(spec: ImageSpec, keep: str, log) -> None:
    """Older images of the same implementation version: superseded by the one just built."""
    repo, _, tag = keep.rpartition(":")
    prefix = f"{repo}:{tag.rsplit('-', 1)[0]}-"
    old = [t for t in _repo_tags() if t.startswith(prefix) and t != keep]
    if old:
        docker("image", "rm", *old, check=False)
        log(f"  removed superseded {', '.join(old)}")
    docker("image", "prune", "-f", "--filter", f"label={L_IMPL}={spec.iv.id}", check=False)


def build_images(ivs: list[ImplVersion], base_image: str | None = None, log=None, force: bool = False) -> int:
    """Build (or find up to date) the base image and every implementation's image; the number that failed."""
    console = _console()
    log = log or (lambda msg: console.print(msg))
    problem = engine_problem()
    if problem:
        problem = start_engine(log) or engine_problem()
    if problem:
        log(f"[red]images: the docker runner is not available[/]: {problem}")
        return len(ivs) or 1
    base_ref, base_id = resolve_base(base_image)
    try:
        if base_id is None:
            if base_image:
                log(f"pulling the base image {base_image}")
                docker("pull", base_image, timeout=BUILD_TIMEOUT)
            else:
                _, secs = make_base(log)
                size = int(docker("image", "inspect", "--format", "{{.Size}}", base_ref).stdout.strip() or 0)
                log(f"[green]built[/] {base_ref} in {secs:.0f} s, {_human(size)}")
            base_ref, base_id = resolve_base(base_image)
        base_pkgs = base_packages(base_ref, base_id)
    except ImageError as exc:
        log(f"[red]images: no base image[/]: {exc}")
        return len(ivs) or 1
    failed = 0
    results: list[Built] = []
    for iv in ivs:
        try:
            env = setup(iv, log=log)
        except NotAvailable as exc:
            log(f"[yellow]not available[/]: {iv.id}: {exc}")
            failed += 1
            continue
        states, specs = image_states({iv.id: env}, base_image)
        st = states[iv.id]
        if st.status == "unavailable":
            log(f"[yellow]no image[/]: {iv.id}: {st.why}")
            failed += 1
            continue
        if st.status == "built" and not force:
            log(f"up to date: {iv.id}: {st.ref} ({_human(st.size)})")
            continue
        if st.status == "stale":
            log(f"rebuilding {iv.id}: {st.why}")
        try:
            with console.status(f"{iv.id}: preparing") as spinner:
                built = _build(specs[iv.id], env, st.ref, base_ref, base_pkgs, log,
                               lambda text: spinner.update(text))
        except (ImageError, OSError) as exc:
            log(f"[red]image failed[/]: {iv.id}: {exc}")
            failed += 1
            continue
        _drop_superseded(specs[iv.id], built.ref, log)
        results.append(built)
        log(f"[green]built[/] {built.ref} in {built.seconds:.0f} s ({built.staging:.0f} s preparing "
            f"{_human(built.context)} of inputs), {_human(built.size)} ({built.packages} Debian packages)")
    if len(results) > 1:
        log(f"{len(results)} images built in {sum(b.seconds for b in results):.0f} s")
    return failed


# --- the command line -----------------------------------------------------------------------------------------------
def images_command(args) -> int:
    from .matrix import load_matrix

    m = load_matrix(args.matrix)
    ivs = m.resolve_impls(args.impls or None, "")
    if args.icmd == "build":
        return 1 if build_images(ivs, base_image=getattr(args, "base_image", None),
                                 force=getattr(args, "force", False)) else 0
    return list_images(ivs, base_image=getattr(args, "base_image", None))


def list_images(ivs: list[ImplVersion], base_image: str | None = None) -> int:
    from rich.table import Table

    console = _console()
    problem = engine_problem()
    if problem:
        console.print(f"[red]the docker runner is not available[/]: {problem}")
        return 1
    base_ref, base_id = resolve_base(base_image)
    console.print(f"base image: {base_ref} " + ("[green]built[/]" if base_id else "[yellow]not built[/]"))
    envs, rows = {}, []
    for iv in ivs:
        try:
            envs[iv.id] = _environment_for_listing(iv)
        except NotAvailable as exc:
            rows.append((iv.id, "", "[yellow]not available[/]", str(exc), ""))
    states, _ = image_states(envs, base_image)
    colour = {"built": "green", "stale": "yellow", "missing": "red", "unavailable": "yellow"}
    for impl_id, st in states.items():
        rows.append((impl_id, st.ref or "", f"[{colour[st.status]}]{st.status}[/]", st.why,
                     _human(st.size) if st.size else ""))
    table = Table("implementation", "image", "state", "why", "size")
    for row in sorted(rows):
        table.add_row(*row)
    console.print(table)
    return 0 if all(st.status == "built" for st in states.values()) and len(states) == len(ivs) else 1


def _environment_for_listing(iv: ImplVersion) -> Environment:
    """The environment as `setup` made it, without building anything (listing must be quick)."""
    if iv.adapter == "python":
        if not (env_dir(iv) / "pyvenv.cfg").exists():
            raise NotAvailable(f"environment not set up: run zarr-conformance setup {iv.id}")
        backend = iv.spec.backend or ""
        return Environment(iv, [str(env_dir(iv) / "bin" / "python"), "-m", "zc_adapter", "--backend", backend], {})
    cmd = iv.command
    if not cmd:
        raise NotAvailable("matrix.yaml gives no command for this adapter")
    return Environment(iv, [_expand(c, iv) for c in cmd], {})
