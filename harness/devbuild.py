"""Development builds: an implementation's adapter with the library replaced by a dev build.

`zarr-conformance ci --target NAME@dev --source PATH` adds the version `dev`
to NAME (harness/ci.py): its spec is the released version's (`base`) plus the
`source`. How the source replaces the released library is the
implementation's `dev` spec in matrix.yaml:

- python: the released version's locked environment, then `pip install SOURCE`
  (a checkout, an sdist or a wheel);
- npm: a copy of the adapter, `npm ci`, then `npm install SOURCE` (a package
  directory or a tarball);
- cargo: a copy of the adapter whose Cargo.toml patches the crate to SOURCE (a
  checkout or a .crate archive), built in a target directory of its own;
- maven: SOURCE (a jar, or a Maven project that is packaged first) installed
  in a repository of its own under a dev version that the adapter's POM
  property takes;
- prefix: the adapter built against the install prefix SOURCE (pkg-config)
  and run with its libraries.

A failed dev build raises NotAvailable with the build's own error: `ci`
answers it with exit status 2.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from .matrix import ROOT, ImplVersion

DEV_VERSION = "0.0.0-dev"  # the version a maven dev build is installed under
SKIP_DIRS = {".git", "node_modules", "target", "__pycache__", ".venv", "build", "dist", ".tox"}


def is_dev(iv: ImplVersion) -> bool:
    return bool(iv.spec.source)


def source_path(iv: ImplVersion) -> Path:
    return Path(iv.spec.source).expanduser().resolve()


def source_digest(iv: ImplVersion) -> str:
    """Changes whenever the dev build's input changes (its tree or its file)."""
    src = source_path(iv)
    h = hashlib.sha256(str(src).encode())
    if src.is_file():
        h.update(src.read_bytes())
    elif src.is_dir():
        for p in sorted(src.rglob("*")):
            if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(src).parts):
                h.update(str(p.relative_to(src)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def dev_root(iv: ImplVersion) -> Path:
    """Where a command adapter's dev build lives: a copy of the directories its build needs."""
    from .environments import cache_root

    return cache_root() / "dev" / iv.id


def check_source(iv: ImplVersion) -> None:
    from .environments import NotAvailable

    if not source_path(iv).exists():
        raise NotAvailable(f"the dev build's source {iv.spec.source} does not exist")
    if iv.impl.dev is None:
        raise NotAvailable(f"matrix.yaml says nothing about dev builds of {iv.name} (no `dev:` section)")
    if (iv.impl.dev.kind == "python") != (iv.adapter == "python"):
        raise NotAvailable(f"the dev spec of {iv.name} (kind {iv.impl.dev.kind}) replaces the library of "
                           f"{'a python' if iv.impl.dev.kind == 'python' else 'a command'} adapter, and "
                           f"{iv.name}@{iv.spec.base or iv.version} uses a {iv.adapter} adapter: base the dev "
                           f"build on another version (--base)")


def prepare_tree(iv: ImplVersion) -> Path:
    """A fresh copy of the adapter's directory (and the ones it names) for a dev build."""
    build = iv.build
    root = dev_root(iv)
    if root.exists():
        shutil.rmtree(root)
    for rel in [build.dir, *iv.impl.dev.alongside]:
        shutil.copytree(ROOT / rel, root / rel, symlinks=True,
                        ignore=shutil.ignore_patterns("node_modules", "target", "build"))
    return root


def unpack(archive: Path, dest: Path) -> Path:
    """A source archive unpacked; the directory that holds its project (one top-level folder is entered)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
    else:
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")
    entries = list(dest.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def _source_dir(iv: ImplVersion) -> Path:
    src = source_path(iv)
    return src if src.is_dir() else unpack(src, dev_root(iv).parent / f"{iv.id}.source")


def before_build(iv: ImplVersion, workdir: Path) -> list[list[str]]:
    """Steps that put the dev build in place before the adapter's own build steps."""
    dev = iv.impl.dev
    if dev.kind == "cargo":
        src = _source_dir(iv)
        with open(workdir / "Cargo.toml", "a", encoding="utf-8") as f:
            f.write(f'\n[patch.crates-io]\n{dev.package} = {{ path = "{src}" }}\n')
        return [["cargo", "update", "-p", dev.package]]
    if dev.kind == "maven":
        group, artifact = dev.package.split(":")
        src = source_path(iv)
        steps = []
        if src.is_dir():  # a Maven project: package it, then take its main jar
            steps.append(["mvn", "-q", "-B", "-f", str(src / "pom.xml"), "package", "-DskipTests"])
        steps.append(["{install_jar}", group, artifact])
        return steps
    return []


def after_build(iv: ImplVersion) -> list[list[str]]:
    """Steps after the adapter's own build: the npm package replaced in its node_modules."""
    if iv.impl.dev.kind == "npm":
        return [["npm", "install", "--no-save", "--no-audit", "--no-fund", str(source_path(iv))]]
    return []


def maven_repo(iv: ImplVersion) -> Path:
    return dev_root(iv).parent / f"{iv.id}.m2"


def install_jar_step(iv: ImplVersion, group: str, artifact: str) -> list[str]:
    """mvn install:install-file of the dev jar into the dev build's own repository."""
    src = source_path(iv)
    if src.is_dir():
        jars = sorted(p for p in (src / "target").glob("*.jar") if not p.name.endswith(("-sources.jar", "-javadoc.jar")))
        jar = jars[0] if jars else src / "target" / "missing.jar"
        pom = ["-DpomFile=" + str(src / "pom.xml")]
    else:
        jar, pom = src, ["-DgeneratePom=true"]
    return ["mvn", "-q", "-B", f"-Dmaven.repo.local={maven_repo(iv)}", "install:install-file", f"-Dfile={jar}",
            f"-DgroupId={group}", f"-DartifactId={artifact}", f"-Dversion={DEV_VERSION}", "-Dpackaging=jar", *pom]


def build_args(iv: ImplVersion, step: list[str]) -> list[str]:
    """The adapter's own build step, told to take the dev build (maven: the dev version)."""
    dev = iv.impl.dev
    if dev.kind == "maven" and step and step[0] == "mvn":
        return [step[0], f"-Dmaven.repo.local={maven_repo(iv)}", f"-D{dev.property}={DEV_VERSION}", *step[1:]]
    return step


def build_env(iv: ImplVersion) -> dict[str, str]:
    if iv.impl.dev.kind != "prefix":
        return {}
    prefix = source_path(iv)
    pc = [prefix / "lib" / "pkgconfig", prefix / "lib64" / "pkgconfig", prefix / "share" / "pkgconfig",
          *sorted((prefix / "lib").glob("*-linux-gnu/pkgconfig"))]
    old = os.environ.get("PKG_CONFIG_PATH")
    return {"PKG_CONFIG_PATH": ":".join([str(p) for p in pc] + ([old] if old else []))}


def run_env(iv: ImplVersion) -> dict[str, str]:
    """What the adapter needs at run time to use the dev build (a prefix's libraries)."""
    if not is_dev(iv) or iv.impl.dev is None or iv.impl.dev.kind != "prefix":
        return {}
    prefix = source_path(iv)
    libs = [prefix / "lib", prefix / "lib64", *sorted((prefix / "lib").glob("*-linux-gnu"))]
    old = os.environ.get("LD_LIBRARY_PATH")
    return {"LD_LIBRARY_PATH": ":".join([str(p) for p in libs] + ([old] if old else []))}
